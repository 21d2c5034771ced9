//! The one error type of every handler, mapped once to HTTP.
//!
//! Which to use when: handlers and extractors return [`ApiError`]; the store returns
//! [`crate::store::StoreError`], which converts into [`ApiError::Internal`] (logged once, here,
//! with no request data) unless it is a conflict the client can act on. Every 4xx and 5xx body has
//! the shape `{"error":{"code":"...","message":"..."}}` with a stable code from
//! [`cluebox_protocol::wire::ErrorCode`]. A 5xx never says what went wrong inside.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cluebox_protocol::wire::{ErrorBody, ErrorCode, ErrorDetail};

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON.
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    /// A field is missing, unknown or of the wrong type.
    #[error("{0}")]
    InvalidField(String),
    /// A query or path parameter is missing or not valid.
    #[error("{0}")]
    InvalidParameter(String),
    /// Not `application/json`.
    #[error("send the request body as application/json")]
    UnsupportedMediaType,
    /// Too large.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Unknown protocol version.
    #[error("protocol version {0} is not supported; this server speaks version {v}", v = cluebox_protocol::wire::API_VERSION)]
    UnsupportedVersion(u64),
    /// Not a well-formed sealed envelope.
    #[error("{0}")]
    InvalidEnvelope(String),
    /// Missing or wrong desk token.
    #[error("a valid desk token is required")]
    Unauthorized,
    /// No such thing.
    #[error("{0}")]
    NotFound(&'static str),
    /// Method not allowed.
    #[error("this method is not allowed here")]
    MethodNotAllowed,
    /// An idempotency key reused for another request.
    #[error("this idempotency key was already used for a different request")]
    IdempotencyConflict,
    /// Overloaded or shutting down.
    #[error("the server is busy; please try again in a moment")]
    Unavailable,
    /// The body did not arrive within the body timeout.
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    /// This client sent too many requests of this kind; wait this many seconds.
    #[error("too many requests from this address; please try again in {0} seconds")]
    RateLimited(u64),
    /// The server takes no more submissions for now (byte-rate ceiling, daily quota); wait this
    /// many seconds.
    #[error("the server is taking no more reports for now; please try again in {0} seconds")]
    Overloaded(u64),
    /// Free space is below the floor.
    #[error("the server is short of storage; please try again later")]
    InsufficientStorage,
    /// The proof of work is missing or not valid.
    #[error("{0}")]
    PowRequired(String),
    /// A case has as many follow-ups as one case may have.
    #[error(
        "this case already has {0} follow-ups, the most one case takes; please call the hotline"
    )]
    TooManyFollowUps(u32),
    /// An upload's piece does not start where the upload stands (`offset`), or differs from
    /// what is stored.
    #[error("{message}")]
    OffsetMismatch {
        /// Where the upload stands.
        offset: u64,
        /// What is wrong.
        message: String,
    },
    /// A report names an upload it cannot take.
    #[error("{0}")]
    UploadNotReady(String),
    /// Anything else: logged, never shown.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    fn parts(&self) -> (StatusCode, ErrorCode) {
        match self {
            Self::MalformedJson(_) => (StatusCode::BAD_REQUEST, ErrorCode::MalformedJson),
            Self::InvalidField(_) => (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidField),
            Self::InvalidParameter(_) => (StatusCode::BAD_REQUEST, ErrorCode::InvalidParameter),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
            ),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge),
            Self::UnsupportedVersion(_) => (StatusCode::BAD_REQUEST, ErrorCode::UnsupportedVersion),
            Self::InvalidEnvelope(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidEnvelope)
            }
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, ErrorCode::MethodNotAllowed),
            Self::IdempotencyConflict => (StatusCode::CONFLICT, ErrorCode::IdempotencyConflict),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable),
            Self::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, ErrorCode::RequestTimeout),
            Self::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited),
            Self::Overloaded(_) => (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable),
            Self::InsufficientStorage => (
                StatusCode::INSUFFICIENT_STORAGE,
                ErrorCode::InsufficientStorage,
            ),
            Self::PowRequired(_) => (StatusCode::FORBIDDEN, ErrorCode::PowRequired),
            Self::TooManyFollowUps(_) => (StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited),
            Self::OffsetMismatch { .. } => (StatusCode::CONFLICT, ErrorCode::OffsetMismatch),
            Self::UploadNotReady(_) => (StatusCode::CONFLICT, ErrorCode::UploadNotReady),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        let retry_after = match &self {
            Self::RateLimited(secs) | Self::Overloaded(secs) => Some(*secs),
            Self::Unavailable => Some(5),
            Self::InsufficientStorage => Some(60),
            _ => None,
        };
        let message = match &self {
            Self::Internal(err) => {
                // The one place internal errors are logged. `{:#}` shows the cause chain; store
                // errors never carry request data.
                tracing::error!(error = format!("{err:#}"), "internal error");
                "something went wrong on the server; please try again later".to_owned()
            }
            other => other.to_string(),
        };
        let mut response = (
            status,
            Json(ErrorBody {
                error: ErrorDetail { code, message },
            }),
        )
            .into_response();
        let headers = response.headers_mut();
        match status {
            StatusCode::UNAUTHORIZED => {
                headers.insert(
                    "www-authenticate",
                    axum::http::HeaderValue::from_static("Bearer"),
                );
            }
            StatusCode::REQUEST_TIMEOUT => {
                headers.insert(
                    axum::http::header::CONNECTION,
                    axum::http::HeaderValue::from_static("close"),
                );
            }
            _ => {}
        }
        if let Self::OffsetMismatch { offset, .. } = &self {
            headers.insert("upload-offset", (*offset).into());
        }
        if let Some(secs) = retry_after {
            headers.insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(err: crate::store::StoreError) -> Self {
        match err {
            crate::store::StoreError::IdempotencyConflict => Self::IdempotencyConflict,
            crate::store::StoreError::UnknownCase => Self::NotFound("no such case"),
            crate::store::StoreError::Unavailable => Self::Unavailable,
            crate::store::StoreError::Full => Self::InsufficientStorage,
            crate::store::StoreError::TooManyFollowUps(n) => Self::TooManyFollowUps(n),
            crate::store::StoreError::UploadNotReady(id) => Self::UploadNotReady(format!(
                "upload {id} is not complete, is filed already, or its hash is not the one given"
            )),
            crate::store::StoreError::Database(e) => Self::Internal(e),
        }
    }
}

/// The JSON error for a status that no handler produced (axum's 404 and 405 fallbacks).
pub fn for_status(status: StatusCode) -> Response {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed.into_response(),
        _ => ApiError::NotFound("nothing here").into_response(),
    }
}
