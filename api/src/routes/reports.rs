//! `POST /api/v1/reports`: file a sealed report. Answers only after the report is on disk.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use cluebox_protocol::receipt::{Receipt, report_hash, signed_message};
use cluebox_protocol::wire::{ErrorBody, Filed, SubmitReport};

use super::{check_envelope, raw_json, request_fingerprint, to_json, today};
use crate::error::ApiError;
use crate::extract::VersionedJson;
use crate::state::AppState;
use crate::store::{Idempotent, NewReport, Written};

/// Files a report and answers with a signed receipt. A retry with the same idempotency key and
/// body answers the first receipt again (200 instead of 201).
#[utoipa::path(post, path = "/api/v1/reports", request_body = SubmitReport, responses(
    (status = 201, body = Filed, description = "Stored durably; keep the receipt"),
    (status = 200, body = Filed, description = "A retry: the receipt given the first time"),
    (status = 400, body = ErrorBody, description = "malformed_json, unsupported_version"),
    (status = 409, body = ErrorBody, description = "idempotency_conflict"),
    (status = 413, body = ErrorBody, description = "payload_too_large"),
    (status = 415, body = ErrorBody, description = "unsupported_media_type"),
    (status = 422, body = ErrorBody, description = "invalid_field, invalid_envelope"),
))]
pub async fn file_report(
    State(app): State<AppState>,
    VersionedJson(req): VersionedJson<SubmitReport>,
) -> Result<Response, ApiError> {
    check_envelope(
        &req.sealed.0,
        app.profile.max_class,
        cluebox_protocol::envelope::MODE_ANONYMOUS,
    )?;
    let sealed_sha256 = report_hash(&req.sealed.0);
    // The day, not the second: the receipt proves the filing date without a time that a
    // seized server could match against network records.
    let received_at = today();
    let receipt = Receipt {
        report_hash: sealed_sha256,
        received_at,
        signature: app
            .secrets
            .sign(&signed_message(&sealed_sha256, received_at)),
    };
    let response = to_json(&Filed { receipt })?;
    let token_hash = app.secrets.token_hash(req.lookup_token.as_bytes());
    let idem = Idempotent {
        key: format!("report:{}", req.idempotency_key.as_str()),
        request_sha256: request_fingerprint(&[&sealed_sha256, &token_hash.0]),
        response: response.clone(),
    };
    let report = NewReport {
        sealed: req.sealed.0,
        sealed_sha256,
        token_hash,
        received_at,
    };
    Ok(match app.store.file_report(report, idem).await? {
        Written::Created => raw_json(StatusCode::CREATED, response),
        Written::Repeated(first) => raw_json(StatusCode::OK, first),
    })
}
