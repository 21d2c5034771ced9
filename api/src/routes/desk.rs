//! `/api/v1/desk/...`: what the intranet case desk uses, behind a bearer token whose SHA-256 is
//! in the server config (the tokens themselves are never stored here).
//!
//! The desk lists new sealed items after a cursor, fetches each, acknowledges what it stored,
//! and posts public status changes and sealed replies. Nothing here deletes anything.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use cluebox_protocol::envelope::MODE_SENDER;
use cluebox_protocol::receipt::report_hash;
use cluebox_protocol::wire::{
    AckRequest, AckResult, DAY, ErrorBody, InboxEntry, InboxPage, PostReply, PostStatus, Posted,
};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use super::{check_envelope, raw_json, request_fingerprint, to_json, today};
use crate::error::ApiError;
use crate::extract::{Params, PathParam, VersionedJson, position};
use crate::state::AppState;
use crate::store::{Idempotent, Written};

/// Proof that the request carried a valid desk token.
pub struct DeskAuth;

impl FromRequestParts<AppState> for DeskAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        let hash: [u8; 32] = Sha256::digest(token.trim().as_bytes()).into();
        // Compare with every configured hash, without stopping early.
        let mut ok = subtle::Choice::from(0);
        for known in &app.desk_token_hashes {
            ok |= known.ct_eq(&hash);
        }
        if bool::from(ok) {
            Ok(DeskAuth)
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

/// Query of the inbox listing.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// List items after this position (default 0: from the start).
    #[serde(default)]
    #[param(
        minimum = 0,
        maximum = 9_223_372_036_854_775_807_i64,
        default = 0,
        required = false
    )]
    pub after: u64,
    /// At most this many.
    #[serde(default = "default_limit")]
    #[param(minimum = 1, maximum = 1000, default = 100, required = false)]
    pub limit: u32,
}

fn default_limit() -> u32 {
    100
}

/// Sealed reports and follow-ups after a cursor, oldest first, without their bytes.
#[utoipa::path(get, path = "/api/v1/desk/inbox", params(InboxQuery), security(("desk_token" = [])), responses(
    (status = 200, body = InboxPage), (status = 401, body = ErrorBody),
))]
pub async fn list_inbox(
    _auth: DeskAuth,
    State(app): State<AppState>,
    Params(q): Params<InboxQuery>,
) -> Result<Json<InboxPage>, ApiError> {
    let after = position(q.after, "after")?;
    let limit = q.limit;
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::InvalidParameter(
            "limit must be between 1 and 1000".into(),
        ));
    }
    let items = app.store.inbox(after, limit).await?;
    let next_after = items.last().map_or(after, |i| i.seq);
    Ok(Json(InboxPage { items, next_after }))
}

/// One inbox item with its sealed bytes.
#[utoipa::path(get, path = "/api/v1/desk/inbox/{seq}", params(("seq" = i64, Path, minimum = 0)), security(("desk_token" = [])), responses(
    (status = 200, body = InboxEntry), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
))]
pub async fn fetch_entry(
    _auth: DeskAuth,
    State(app): State<AppState>,
    PathParam(seq): PathParam<u64>,
) -> Result<Json<InboxEntry>, ApiError> {
    app.store
        .inbox_entry(position(seq, "the inbox position")?)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound("no inbox item at this position"))
}

/// Query of a file download.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FileQuery {
    /// Start at this byte (to resume a download; default 0).
    #[serde(default)]
    #[param(
        minimum = 0,
        maximum = 9_223_372_036_854_775_807_i64,
        default = 0,
        required = false
    )]
    pub offset: u64,
}

/// A filed evidence file's sealed bytes, streamed (from `offset`).
#[utoipa::path(get, path = "/api/v1/desk/uploads/{upload}", params(("upload" = String, Path), FileQuery), security(("desk_token" = [])), responses(
    (status = 200, content_type = "application/octet-stream", body = Vec<u8>, description = "The sealed file from offset"),
    (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody, description = "no filed upload has this id"),
))]
pub async fn fetch_file(
    _auth: DeskAuth,
    State(app): State<AppState>,
    PathParam(id): PathParam<String>,
    Params(q): Params<FileQuery>,
) -> Result<Response, ApiError> {
    use axum::response::IntoResponse as _;
    let not_found = ApiError::NotFound("no filed upload has this id");
    let id = crate::store::UploadId::parse(&id)
        .ok_or(ApiError::NotFound("no filed upload has this id"))?;
    let upload = app.store.upload(id.clone()).await?.ok_or(not_found)?;
    if !upload.filed {
        return Err(ApiError::NotFound("no filed upload has this id"));
    }
    let start = q.offset.min(upload.length);
    let blobs = std::sync::Arc::clone(&app.blobs);
    let stream = futures_util::stream::try_unfold(start, move |at| {
        let blobs = std::sync::Arc::clone(&blobs);
        let id = id.clone();
        async move {
            if at >= upload.length {
                return Ok(None);
            }
            let piece = blobs
                .read(&id, at, 1 << 20)
                .await
                .map_err(std::io::Error::other)?;
            if piece.is_empty() {
                return Err(std::io::Error::other("the upload ended early"));
            }
            let next = at + piece.len() as u64;
            Ok::<_, std::io::Error>(Some((Bytes::from(piece), next)))
        }
    });
    let mut response = axum::body::Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(
        axum::http::header::CONTENT_LENGTH,
        (upload.length - start).into(),
    );
    Ok(response)
}

/// The desk has stored these items.
#[utoipa::path(post, path = "/api/v1/desk/acks", request_body = AckRequest, security(("desk_token" = [])), responses(
    (status = 200, body = AckResult), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody),
))]
pub async fn acknowledge(
    _auth: DeskAuth,
    State(app): State<AppState>,
    VersionedJson(req): VersionedJson<AckRequest>,
) -> Result<Json<AckResult>, ApiError> {
    if req.seqs.len() > 10_000 {
        return Err(ApiError::InvalidField(
            "acknowledge at most 10000 items at once".into(),
        ));
    }
    if req.seqs.iter().any(|&s| s > crate::extract::MAX_POSITION) {
        return Err(ApiError::InvalidField(format!(
            "seqs must be at most {}",
            crate::extract::MAX_POSITION
        )));
    }
    let acknowledged = app.store.acknowledge(req.seqs, today()).await?;
    Ok(Json(AckResult { acknowledged }))
}

/// A public status change, shown to the reporter with its date.
#[utoipa::path(post, path = "/api/v1/desk/cases/{case_id}/events", request_body = PostStatus,
    params(("case_id" = String, Path)), security(("desk_token" = [])), responses(
    (status = 201, body = Posted), (status = 200, body = Posted, description = "a retry"),
    (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    (status = 413, body = ErrorBody),
    (status = 422, body = ErrorBody, description = "invalid_field: a status outside the profile's vocabulary, or a time that is not a whole day; invalid_envelope"),
))]
pub async fn post_status(
    _auth: DeskAuth,
    State(app): State<AppState>,
    PathParam(case_id): PathParam<String>,
    VersionedJson(req): VersionedJson<PostStatus>,
) -> Result<Response, ApiError> {
    if !app
        .profile
        .profile
        .statuses
        .iter()
        .any(|s| s.id == req.status)
    {
        return Err(ApiError::InvalidField(format!(
            "status {:?} is not in the profile's status vocabulary",
            req.status
        )));
    }
    if req.at % DAY != 0 {
        return Err(ApiError::InvalidField(
            "at must be a whole day (a multiple of 86400: midnight UTC)".into(),
        ));
    }
    check_envelope(&req.sealed.0, app.profile.max_class, MODE_SENDER)?;
    let response = to_json(&Posted { at: req.at })?;
    let idem = Idempotent {
        key: format!("status:{case_id}:{}", req.idempotency_key.as_str()),
        request_sha256: request_fingerprint(&[
            req.status.as_bytes(),
            &req.at.to_be_bytes(),
            &report_hash(&req.sealed.0),
        ]),
        response: response.clone(),
    };
    written(
        app.store
            .post_status(case_id, req.status, req.at, req.sealed.0, idem)
            .await?,
        response,
    )
}

/// A reply sealed to the reporter's reply key.
#[utoipa::path(post, path = "/api/v1/desk/cases/{case_id}/replies", request_body = PostReply,
    params(("case_id" = String, Path)), security(("desk_token" = [])), responses(
    (status = 201, body = Posted), (status = 200, body = Posted, description = "a retry"),
    (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
))]
pub async fn post_reply(
    _auth: DeskAuth,
    State(app): State<AppState>,
    PathParam(case_id): PathParam<String>,
    VersionedJson(req): VersionedJson<PostReply>,
) -> Result<Response, ApiError> {
    check_envelope(&req.sealed.0, app.profile.max_class, MODE_SENDER)?;
    let at = today();
    let response = to_json(&Posted { at })?;
    let idem = Idempotent {
        key: format!("reply:{case_id}:{}", req.idempotency_key.as_str()),
        request_sha256: request_fingerprint(&[&report_hash(&req.sealed.0)]),
        response: response.clone(),
    };
    written(
        app.store
            .post_reply(case_id, req.sealed.0, at, idem)
            .await?,
        response,
    )
}

fn written(written: Written, response: String) -> Result<Response, ApiError> {
    Ok(match written {
        Written::Created => raw_json(StatusCode::CREATED, response),
        Written::Repeated(first) => raw_json(StatusCode::OK, first),
    })
}
