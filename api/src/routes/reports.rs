//! `POST /api/v1/reports`: file a sealed report. Answers only after the report is on disk.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use cluebox_protocol::receipt::{Receipt, report_hash, signed_message_with_files};
use cluebox_protocol::wire::{ErrorBody, Filed, SubmitReport};

use super::{check_envelope, now, raw_json, request_fingerprint, to_json, today};
use crate::error::ApiError;
use crate::extract::VersionedJson;
use crate::state::AppState;
use crate::store::{Idempotent, NewReport, UploadId, Written};

/// Files a report and answers with a signed receipt. A retry with the same idempotency key and
/// body answers the first receipt again (200 instead of 201).
#[utoipa::path(post, path = "/api/v1/reports", request_body = SubmitReport, responses(
    (status = 201, body = Filed, description = "Stored durably; keep the receipt"),
    (status = 403, body = ErrorBody, description = "pow_required: no valid, unused proof of work"),
    (status = 429, body = ErrorBody, description = "rate_limited: too many from this address (Retry-After)"),
    (status = 503, body = ErrorBody, description = "unavailable: byte-rate ceiling or daily quota reached (Retry-After)"),
    (status = 507, body = ErrorBody, description = "insufficient_storage: free space below the floor (Retry-After)"),
    (status = 200, body = Filed, description = "A retry: the receipt given the first time"),
    (status = 400, body = ErrorBody, description = "malformed_json, unsupported_version"),
    (status = 409, body = ErrorBody, description = "idempotency_conflict; upload_not_ready: a named upload is not complete, is filed already or has another hash"),
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
    let files = filed_files(&app, &req.files)?;
    let key = format!("report:{}", req.idempotency_key.as_str());
    app.flood.check_pow(req.pow.as_ref(), &key, now())?;
    let sealed_sha256 = report_hash(&req.sealed.0);
    // The day, not the second: the receipt proves the filing date without a time that a
    // seized server could match against network records.
    let received_at = today();
    let file_hashes: Vec<[u8; 32]> = files.iter().map(|(_, sha)| *sha).collect();
    let receipt = Receipt {
        report_hash: sealed_sha256,
        received_at,
        signature: app.secrets.sign(&signed_message_with_files(
            &sealed_sha256,
            received_at,
            &file_hashes,
        )),
        files: file_hashes.clone(),
    };
    let response = to_json(&Filed { receipt })?;
    let token_hash = app.secrets.token_hash(req.lookup_token.as_bytes());
    let idem = Idempotent {
        key,
        request_sha256: request_fingerprint(&[
            &sealed_sha256,
            &token_hash.0,
            file_hashes.as_flattened(),
        ]),
        response: response.clone(),
    };
    let len = req.sealed.0.len();
    app.flood.take_bytes(len, now())?;
    let report = NewReport {
        sealed: req.sealed.0,
        sealed_sha256,
        token_hash,
        received_at,
        files,
    };
    let written = app.store.file_report(report, idem).await;
    Ok(match app.flood.settle(len, written, now())? {
        Written::Created => raw_json(StatusCode::CREATED, response),
        Written::Repeated(first) => raw_json(StatusCode::OK, first),
    })
}

/// The files a report or follow-up names, checked: at most the profile's number, each a
/// well-formed id and hash named once.
pub(crate) fn filed_files(
    app: &AppState,
    files: &[cluebox_protocol::wire::FiledFile],
) -> Result<Vec<(UploadId, [u8; 32])>, ApiError> {
    let max = app.profile.profile.evidence.max_files as usize;
    if files.len() > max {
        return Err(ApiError::InvalidField(format!(
            "a report or follow-up carries at most {max} files"
        )));
    }
    let mut out: Vec<(UploadId, [u8; 32])> = Vec::with_capacity(files.len());
    for file in files {
        let id = UploadId::parse(&file.upload).ok_or_else(|| {
            ApiError::InvalidField("files[].upload must be 32 lowercase hex digits".into())
        })?;
        let mut sha = [0u8; 32];
        hex::decode_to_slice(&file.sha256, &mut sha)
            .map_err(|_| ApiError::InvalidField("files[].sha256 must be 64 hex digits".into()))?;
        if out.iter().any(|(seen, _)| *seen == id) {
            return Err(ApiError::InvalidField("each upload is named once".into()));
        }
        out.push((id, sha));
    }
    Ok(out)
}
