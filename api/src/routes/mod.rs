//! The HTTP API under `/api/v1`, one file per resource. Handlers are thin: extract, call the
//! store, map; every failure is an [`crate::error::ApiError`].

use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sha2::{Digest as _, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

pub mod challenge;
pub mod desk;
pub mod health;
pub mod inquiries;
pub mod openapi;
pub mod profile;
pub mod reports;
pub mod uploads;

/// The API routes (the portal's static files are served by [`crate::site`]).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/profile", get(profile::get_profile))
        .route("/api/v1/challenge", get(challenge::challenge))
        .route("/api/v1/reports", post(reports::file_report))
        .route("/api/v1/inquiries", post(inquiries::look_up))
        .route("/api/v1/uploads", post(uploads::create))
        .route(
            "/api/v1/uploads/{upload}",
            get(uploads::status)
                .patch(uploads::piece)
                .delete(uploads::remove)
                .layer(axum::extract::DefaultBodyLimit::max(uploads::MAX_PIECE)),
        )
        .route(
            "/api/v1/inquiries/follow-ups",
            post(inquiries::add_follow_up),
        )
        .route("/api/v1/desk/inbox", get(desk::list_inbox))
        .route("/api/v1/desk/inbox/{seq}", get(desk::fetch_entry))
        .route("/api/v1/desk/acks", post(desk::acknowledge))
        .route("/api/v1/desk/uploads/{upload}", get(desk::fetch_file))
        .route(
            "/api/v1/desk/cases/{case_id}/events",
            post(desk::post_status),
        )
        .route(
            "/api/v1/desk/cases/{case_id}/replies",
            post(desk::post_reply),
        )
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Today (midnight UTC, Unix seconds): the only kind of time the server stores or signs.
pub(crate) fn today() -> u64 {
    cluebox_protocol::wire::day_of(now())
}

/// A JSON body that is already serialized (stored answers of idempotent requests).
pub(crate) fn raw_json(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// SHA-256 over length-prefixed parts: the fingerprint of an idempotent request.
pub(crate) fn request_fingerprint(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().into()
}

/// The server-side check of a sealed message: a well-formed envelope of an allowed size, in
/// the sender mode the endpoint takes (`envelope::MODE_ANONYMOUS` or `MODE_SENDER`).
pub(crate) fn check_envelope(sealed: &[u8], limit: usize, mode: u8) -> Result<(), ApiError> {
    use cluebox_protocol::envelope::{ShapeError, check_shape};
    check_shape(sealed, limit, mode).map_err(|e| match e {
        ShapeError::TooLarge { .. } => ApiError::PayloadTooLarge(e.to_string()),
        _ => ApiError::InvalidEnvelope(e.to_string()),
    })
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(|e| ApiError::Internal(e.into()))
}
