//! Per-request limits, as middleware in front of every route: an early 413 from a declared
//! length, a deadline for reading the body, and one for the whole request.
//!
//! - A client over its per-client rate limit for reports, follow-ups or lookups
//!   ([`crate::flood`]) is answered 429 before its body is read or parsed, so a flood costs the
//!   server as little as possible.
//! - A `Content-Length` above [`crate::extract::MAX_BODY`] is answered 413 before a byte of the
//!   body is read (and so before hyper would send `100 Continue`).
//! - A body is read in full here, under `body_timeout_secs`: a client that trickles its body
//!   gets 408 `request_timeout` when the time is up, whatever its pace. Handlers then read it
//!   from memory. All bodies being read at once share `max_buffered_body_bytes`; a request
//!   that would go over it is answered 503 before its body is read, so a crowd of stalled
//!   uploads cannot take the server's memory.
//! - A request that takes longer than `request_timeout_secs` in all is answered 503
//!   `unavailable` with `Retry-After`; a write it started still completes, and a retry with the
//!   same idempotency key gets its answer.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use http_body_util::BodyExt as _;

use crate::error::ApiError;
use crate::extract::MAX_BODY;
use crate::state::AppState;

/// The middleware.
pub async fn request_limits(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let limits = &app.limits;
    if let Some(kind) = crate::flood::kind_of(req.method(), req.uri().path()) {
        let client =
            crate::flood::Client::of(req.headers(), req.extensions(), app.flood.settings());
        if let Err(e) = app.flood.admit(client.0, kind) {
            return e.into_response();
        }
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    // Pieces of evidence files are larger than any JSON body.
    let max_body = if req.method() == axum::http::Method::PATCH
        && req.uri().path().starts_with("/api/v1/uploads/")
    {
        crate::routes::uploads::MAX_PIECE
    } else {
        MAX_BODY
    };
    if declared.is_some_and(|n| n > max_body as u64) {
        return too_large(max_body);
    }
    let request_timeout = Duration::from_secs(limits.request_timeout_secs);
    let body_timeout = Duration::from_secs(limits.body_timeout_secs);
    let work = async move {
        let has_body = declared.is_some_and(|n| n > 0)
            || req
                .headers()
                .contains_key(axum::http::header::TRANSFER_ENCODING);
        let req = if has_body {
            // The declared length, or the most a body may have when it is not declared.
            let reserve = declared.map_or(max_body as u64, |n| n.min(max_body as u64));
            let kib = u32::try_from(reserve.div_ceil(1024))
                .unwrap_or(u32::MAX)
                .max(1);
            let Ok(_budget) = Arc::clone(&app.body_budget).try_acquire_many_owned(kib) else {
                return ApiError::Overloaded(1).into_response();
            };
            let (parts, body) = req.into_parts();
            let limited = http_body_util::Limited::new(body, max_body);
            match tokio::time::timeout(body_timeout, limited.collect()).await {
                Err(_) => return ApiError::RequestTimeout.into_response(),
                Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
                    return too_large(max_body);
                }
                Ok(Err(_)) => {
                    return ApiError::MalformedJson("the request body could not be read".into())
                        .into_response();
                }
                Ok(Ok(collected)) => Request::from_parts(parts, Body::from(collected.to_bytes())),
            }
        } else {
            req
        };
        next.run(req).await
    };
    match tokio::time::timeout(request_timeout, work).await {
        Ok(response) => response,
        Err(_) => ApiError::Unavailable.into_response(),
    }
}

fn too_large(max: usize) -> Response {
    ApiError::PayloadTooLarge(format!("the request body is larger than {max} bytes"))
        .into_response()
}
