//! `POST /api/v1/inquiries` (a reporter looks up their case) and
//! `POST /api/v1/inquiries/follow-ups` (a reporter adds a sealed message).
//!
//! A lookup for an unknown token does the same database work as for a known one and answers
//! 404; the token is compared as a keyed hash, in constant time.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use cluebox_protocol::receipt::report_hash;
use cluebox_protocol::wire::{ErrorBody, FollowUpRequest, Inquiry, InquiryRequest, Posted};

use super::{check_envelope, now, raw_json, request_fingerprint, to_json, today};
use crate::error::ApiError;
use crate::extract::VersionedJson;
use crate::state::AppState;
use crate::store::{Idempotent, Written};

/// The status, timeline, replies and follow-ups of the case behind a lookup token.
#[utoipa::path(post, path = "/api/v1/inquiries", request_body = InquiryRequest, responses(
    (status = 200, body = Inquiry),
    (status = 404, body = ErrorBody, description = "not_found: no case has this token"),
    (status = 429, body = ErrorBody, description = "rate_limited: too many lookups from this address (Retry-After)"),
    (status = 400, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
))]
pub async fn look_up(
    State(app): State<AppState>,
    VersionedJson(req): VersionedJson<InquiryRequest>,
) -> Result<Json<Inquiry>, ApiError> {
    let token = app.secrets.token_hash(req.lookup_token.as_bytes());
    let view = app
        .store
        .inquiry(token)
        .await?
        .ok_or(ApiError::NotFound("no case has this inquiry code"))?;
    let status = view
        .timeline
        .last()
        .map(|e| e.status.clone())
        .unwrap_or_else(|| app.profile.profile.statuses[0].id.clone());
    Ok(Json(Inquiry {
        status,
        received_at: view.received_at,
        timeline: view.timeline,
        replies: view.replies,
        follow_ups: view.follow_ups,
    }))
}

/// Adds a sealed follow-up message to the case behind a lookup token.
#[utoipa::path(post, path = "/api/v1/inquiries/follow-ups", request_body = FollowUpRequest, responses(
    (status = 201, body = Posted), (status = 200, body = Posted, description = "a retry"),
    (status = 403, body = ErrorBody, description = "pow_required"),
    (status = 429, body = ErrorBody, description = "rate_limited: too many from this address, or the case has the most follow-ups one case takes"),
    (status = 503, body = ErrorBody), (status = 507, body = ErrorBody),
    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "idempotency_conflict; upload_not_ready: a named upload is not complete, is filed already or has another hash"), (status = 413, body = ErrorBody),
    (status = 400, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
))]
pub async fn add_follow_up(
    State(app): State<AppState>,
    VersionedJson(req): VersionedJson<FollowUpRequest>,
) -> Result<Response, ApiError> {
    // Sealed with the key the code derives, so the desk can tell it came from the code's holder.
    check_envelope(
        &req.sealed.0,
        app.profile.max_class,
        cluebox_protocol::envelope::MODE_SENDER,
    )?;
    let files = super::reports::filed_files(&app, &req.files)?;
    let key = format!("follow_up:{}", req.idempotency_key.as_str());
    app.flood.check_pow(req.pow.as_ref(), &key, now())?;
    let at = today();
    let token = app.secrets.token_hash(req.lookup_token.as_bytes());
    let response = to_json(&Posted { at })?;
    let file_hashes: Vec<[u8; 32]> = files.iter().map(|(_, sha)| *sha).collect();
    let idem = Idempotent {
        key,
        request_sha256: request_fingerprint(&[
            &report_hash(&req.sealed.0),
            &token.0,
            file_hashes.as_flattened(),
        ]),
        response: response.clone(),
    };
    let len = req.sealed.0.len();
    app.flood.take_bytes(len, now())?;
    let max = app.flood.settings().max_follow_ups_per_case;
    let written = app
        .store
        .add_follow_up(
            crate::store::NewFollowUp {
                token,
                sealed: req.sealed.0,
                received_at: at,
                files,
            },
            max,
            idem,
        )
        .await;
    match app.flood.settle(len, written, now()) {
        Ok(Written::Created) => Ok(raw_json(StatusCode::CREATED, response)),
        Ok(Written::Repeated(first)) => Ok(raw_json(StatusCode::OK, first)),
        Err(crate::store::StoreError::UnknownCase) => {
            Err(ApiError::NotFound("no case has this inquiry code"))
        }
        Err(e) => Err(e.into()),
    }
}
