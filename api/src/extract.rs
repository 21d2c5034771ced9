//! The extractors of every endpoint, each failure with its own documented JSON error:
//! [`VersionedJson`] for bodies (content type, size, JSON, the protocol version `v`, then the
//! fields), [`Params`] for query strings and [`PathParam`] for path segments (axum's own would
//! answer in plain text).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The most bytes a request body may have: the largest report envelope (16 slots, 256 KiB class)
/// in base64, plus room for the other fields.
pub const MAX_BODY: usize = 400 * 1024;

/// A JSON request body of protocol version [`cluebox_protocol::wire::API_VERSION`].
pub struct VersionedJson<T>(pub T);

#[derive(serde::Deserialize)]
struct VersionOnly {
    v: Option<serde_json::Value>,
}

impl<S: Send + Sync, T: DeserializeOwned + Versioned> FromRequest<S> for VersionedJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(format!(
                    "the request body is larger than {MAX_BODY} bytes"
                ))
            } else {
                ApiError::MalformedJson("the request body could not be read".into())
            }
        })?;
        parse(&bytes).map(VersionedJson)
    }
}

/// A request body that carries the protocol version `v`.
pub trait Versioned {
    /// The body's `v`.
    fn version(&self) -> u16;
}

macro_rules! versioned {
    ($($t:ty),*) => {$(
        impl Versioned for $t {
            fn version(&self) -> u16 {
                self.v
            }
        }
    )*};
}

versioned!(
    cluebox_protocol::wire::SubmitReport,
    cluebox_protocol::wire::InquiryRequest,
    cluebox_protocol::wire::FollowUpRequest,
    cluebox_protocol::wire::AckRequest,
    cluebox_protocol::wire::PostStatus,
    cluebox_protocol::wire::PostReply,
    cluebox_protocol::wire::NewUpload
);

/// Parses a body. The common case (a valid body) is parsed once; only a failure is examined
/// again to tell malformed JSON from an unknown version from a bad field.
pub fn parse<T: DeserializeOwned + Versioned>(bytes: &[u8]) -> Result<T, ApiError> {
    match serde_json::from_slice::<T>(bytes) {
        Ok(body) if body.version() == cluebox_protocol::wire::API_VERSION => Ok(body),
        Ok(body) => Err(ApiError::UnsupportedVersion(body.version().into())),
        Err(e) if e.is_syntax() || e.is_eof() => Err(ApiError::MalformedJson(e.to_string())),
        Err(e) => Err(match serde_json::from_slice::<VersionOnly>(bytes) {
            Ok(VersionOnly { v: None }) => {
                ApiError::InvalidField("missing field `v` (the protocol version)".into())
            }
            Ok(VersionOnly {
                v: Some(serde_json::Value::Number(n)),
            }) if n.as_u64() != Some(cluebox_protocol::wire::API_VERSION.into()) => {
                ApiError::UnsupportedVersion(n.as_u64().unwrap_or(0))
            }
            _ => ApiError::InvalidField(e.to_string()),
        }),
    }
}

/// A query string, or `400 invalid_parameter` in the JSON error shape.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Params(value))
            .map_err(|e| ApiError::InvalidParameter(e.body_text()))
    }
}

/// A path parameter, or `400 invalid_parameter` in the JSON error shape.
pub struct PathParam<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParam<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| PathParam(value))
            .map_err(|e| ApiError::InvalidParameter(e.body_text()))
    }
}

/// The largest position the store can hold (SQLite integers are signed 64-bit).
pub const MAX_POSITION: u64 = i64::MAX as u64;

/// `n` if it is a position the store can hold, otherwise `what` is refused.
pub fn position(n: u64, what: &str) -> Result<u64, ApiError> {
    if n > MAX_POSITION {
        Err(ApiError::InvalidParameter(format!(
            "{what} must be at most {MAX_POSITION}"
        )))
    } else {
        Ok(n)
    }
}
