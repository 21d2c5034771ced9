//! `/api/v1/uploads`: sealed evidence files, uploaded a piece at a time and resumable (the shape
//! of tus 1.0's core protocol, in this API's JSON).
//!
//! `POST` starts an upload of a declared length (checked to be a sealed file's length within the
//! profile's limit; a proof of work, like a report). `PATCH` adds a piece at `Upload-Offset`,
//! answered only once the piece is on disk (fsync); after a lost connection `GET` tells where
//! the upload stands and the client goes on from there; a piece sent again is harmless when its
//! bytes agree with those stored. When the last byte arrives the server checks the envelope's
//! shape and records the SHA-256 of the sealed bytes; a report then names the upload and that
//! hash. Uploads no report names are deleted after [`EXPIRE_DAYS`] days ([`sweep`]).
//!
//! One piece of an upload is written at a time; the write runs in its own task that holds the
//! upload's lock, so a client that hangs up mid-write can neither leave a piece half-written nor
//! the lock held.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use cluebox_protocol::envelope::{self, PREFIX_LEN};
use cluebox_protocol::evidence::{MAX_FILE, MAX_HEADER};
use cluebox_protocol::wire::{DAY, ErrorBody, NewUpload, UploadState};
use sha2::{Digest as _, Sha256};

use super::{now, today};
use crate::error::ApiError;
use crate::extract::{PathParam, VersionedJson};
use crate::state::AppState;
use crate::store::UploadId;
use crate::store::blobs::BlobError;

/// The most bytes one piece may carry (4 MiB).
pub const MAX_PIECE: usize = 4 << 20;

/// Days an upload that no report names is kept (from the day it was started).
pub const EXPIRE_DAYS: u64 = 2;

/// The media type of a piece (tus's); `application/octet-stream` is taken too.
pub const PIECE_TYPE: &str = "application/offset+octet-stream";

/// The longest upload any profile allows: a sealed file of [`MAX_FILE`] bytes with the most
/// recipients (the schema's maximum for `length`).
pub const MAX_UPLOAD_LEN: u64 =
    envelope::sealed_file_len(envelope::MAX_SLOTS, MAX_FILE + 5 + MAX_HEADER as u64);

/// Uploads with a piece being written.
#[derive(Default)]
pub struct Busy(Mutex<HashSet<UploadId>>);

/// The running SHA-256 of uploads' stored bytes (how many it has taken, and its state), kept
/// as pieces are written so that completing a large upload does not read it all again. Only
/// an upload followed from its first byte by this process has one; any other (this process
/// restarted mid-upload) is hashed from the blob store when it completes.
#[derive(Default)]
pub struct Hashing(Mutex<HashMap<UploadId, (u64, Sha256)>>);

impl Hashing {
    fn take(&self, id: &UploadId) -> Option<(u64, Sha256)> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id)
    }

    fn put(&self, id: UploadId, hashed: u64, hasher: Sha256) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id, (hashed, hasher));
    }

    /// How many uploads have a running hash (for tests: none is left behind).
    pub fn len(&self) -> usize {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// No upload has a running hash.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Takes `piece`, just written at `offset` (the upload now `stored` bytes long), into the
/// upload's running hash when it continues where the hash stands; otherwise the hash is
/// dropped and the upload is hashed whole when it completes.
async fn hash_piece(app: &AppState, id: &UploadId, offset: u64, piece: Bytes, stored: u64) {
    let running = match app.uploads_hashing.take(id) {
        Some(running) => Some(running),
        None if offset == 0 => Some((0, Sha256::new())),
        None => None,
    };
    let Some((hashed, mut hasher)) = running else {
        return;
    };
    let end = offset + piece.len() as u64;
    if hashed == stored {
        // Nothing new (a piece sent again).
        app.uploads_hashing.put(id.clone(), hashed, hasher);
        return;
    }
    if hashed < offset || hashed > end || end != stored {
        return;
    }
    let hashed = tokio::task::spawn_blocking(move || {
        hasher.update(&piece[(hashed - offset) as usize..]);
        hasher
    })
    .await;
    if let Ok(hasher) = hashed {
        app.uploads_hashing.put(id.clone(), end, hasher);
    }
}

/// An upload's lock; released when dropped.
struct Held(Arc<crate::state::App>, UploadId);

impl Drop for Held {
    fn drop(&mut self) {
        self.0
            .uploads_busy
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.1);
    }
}

fn hold(app: &AppState, id: &UploadId) -> Option<Held> {
    let mut busy = app
        .uploads_busy
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    busy.insert(id.clone())
        .then(|| Held(Arc::clone(&app.0), id.clone()))
}

/// The largest body (header and file) a sealed file of this profile may carry.
fn max_body(app: &AppState) -> u64 {
    app.profile.profile.evidence.max_file_bytes + 5 + MAX_HEADER as u64
}

fn state_of(
    id: &UploadId,
    length: u64,
    offset: u64,
    sha256: Option<[u8; 32]>,
    day: u64,
) -> UploadState {
    UploadState {
        upload: id.as_str().to_owned(),
        length,
        offset,
        max_piece: MAX_PIECE as u64,
        sha256: sha256.map(hex::encode),
        expires_on: day + EXPIRE_DAYS * DAY,
    }
}

fn answer(status: StatusCode, state: &UploadState) -> Response {
    let mut response = (status, Json(state)).into_response();
    let headers = response.headers_mut();
    headers.insert("upload-offset", state.offset.into());
    headers.insert("upload-length", state.length.into());
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

fn parse_id(text: &str) -> Result<UploadId, ApiError> {
    UploadId::parse(text).ok_or(ApiError::NotFound("no such upload"))
}

fn blob_error(e: BlobError) -> ApiError {
    match e {
        BlobError::Unknown => ApiError::NotFound("no such upload"),
        BlobError::Full => ApiError::InsufficientStorage,
        BlobError::Gap { stored, offset } => ApiError::OffsetMismatch {
            offset: stored,
            message: format!("the upload is at {stored} bytes; a piece cannot start at {offset}"),
        },
        BlobError::Differs => ApiError::OffsetMismatch {
            offset: 0,
            message: "the piece differs from the bytes already stored at its offset".into(),
        },
        BlobError::Io(e) => ApiError::Internal(e.into()),
    }
}

/// Starts an upload.
#[utoipa::path(post, path = "/api/v1/uploads", request_body = NewUpload, responses(
    (status = 201, body = UploadState, description = "Started: send pieces from offset 0"),
    (status = 400, body = ErrorBody, description = "malformed_json, unsupported_version"),
    (status = 403, body = ErrorBody, description = "pow_required"),
    (status = 413, body = ErrorBody, description = "payload_too_large: longer than the profile allows"),
    (status = 415, body = ErrorBody, description = "unsupported_media_type"),
    (status = 422, body = ErrorBody, description = "invalid_field: not a sealed file's length"),
    (status = 429, body = ErrorBody, description = "rate_limited"),
    (status = 507, body = ErrorBody, description = "insufficient_storage"),
))]
pub async fn create(
    State(app): State<AppState>,
    VersionedJson(req): VersionedJson<NewUpload>,
) -> Result<Response, ApiError> {
    let max = max_body(&app);
    if req.length > MAX_UPLOAD_LEN {
        return Err(ApiError::InvalidField(format!(
            "length is at most {MAX_UPLOAD_LEN} (a sealed file of {MAX_FILE} bytes)"
        )));
    }
    if req.length > envelope::sealed_file_len(envelope::MAX_SLOTS, max) {
        return Err(ApiError::PayloadTooLarge(format!(
            "the file is too large: this hotline takes files of at most {} bytes",
            app.profile.profile.evidence.max_file_bytes
        )));
    }
    if !envelope::is_valid_file_len(req.length, max) {
        return Err(ApiError::InvalidField(
            "length is not the length of a sealed evidence file".into(),
        ));
    }
    if app.flood.low_space() {
        return Err(ApiError::InsufficientStorage);
    }
    let id = UploadId::random();
    app.flood
        .check_pow(req.pow.as_ref(), &format!("upload:{}", id.as_str()), now())?;
    let day = today();
    app.store.create_upload(id.clone(), req.length, day).await?;
    app.blobs.create(&id).await.map_err(blob_error)?;
    Ok(answer(
        StatusCode::CREATED,
        &state_of(&id, req.length, 0, None, day),
    ))
}

/// Where an upload stands.
#[utoipa::path(get, path = "/api/v1/uploads/{upload}", params(("upload" = String, Path, description = "The upload's id")), responses(
    (status = 200, body = UploadState), (status = 404, body = ErrorBody),
))]
pub async fn status(
    State(app): State<AppState>,
    PathParam(id): PathParam<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let upload = app
        .store
        .upload(id.clone())
        .await?
        .ok_or(ApiError::NotFound("no such upload"))?;
    let offset = app
        .blobs
        .stored(&id)
        .await
        .map_err(blob_error)?
        .ok_or(ApiError::NotFound("no such upload"))?;
    Ok(answer(
        StatusCode::OK,
        &state_of(
            &id,
            upload.length,
            offset,
            upload.sha256,
            upload.created_day,
        ),
    ))
}

/// Adds a piece.
#[utoipa::path(patch, path = "/api/v1/uploads/{upload}",
    params(
        ("upload" = String, Path, description = "The upload's id"),
        ("Upload-Offset" = u64, Header, description = "Where this piece starts"),
    ),
    request_body(content = String, content_type = "application/octet-stream", description = "The piece's bytes (also taken as application/offset+octet-stream, tus's type)"),
    responses(
        (status = 200, body = UploadState, description = "Stored durably; the next piece starts at offset"),
        (status = 400, body = ErrorBody, description = "invalid_parameter: no Upload-Offset"),
        (status = 404, body = ErrorBody, description = "not_found"),
        (status = 409, body = ErrorBody, description = "offset_mismatch: GET the upload and go on from its offset"),
        (status = 413, body = ErrorBody, description = "payload_too_large: past the declared length or over max_piece"),
        (status = 415, body = ErrorBody, description = "unsupported_media_type"),
        (status = 422, body = ErrorBody, description = "invalid_envelope: the complete file is not a sealed file (deleted)"),
        (status = 503, body = ErrorBody, description = "unavailable: byte-rate ceiling or daily quota"),
        (status = 507, body = ErrorBody, description = "insufficient_storage"),
    ))]
pub async fn piece(
    State(app): State<AppState>,
    PathParam(id): PathParam<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !media.eq_ignore_ascii_case(PIECE_TYPE)
        && !media.eq_ignore_ascii_case("application/octet-stream")
    {
        return Err(ApiError::UnsupportedMediaType);
    }
    let offset = headers
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            ApiError::InvalidParameter("Upload-Offset must be the piece's offset in bytes".into())
        })?;
    if body.len() > MAX_PIECE {
        return Err(ApiError::PayloadTooLarge(format!(
            "a piece carries at most {MAX_PIECE} bytes"
        )));
    }
    let upload = app
        .store
        .upload(id.clone())
        .await?
        .ok_or(ApiError::NotFound("no such upload"))?;
    if offset.saturating_add(body.len() as u64) > upload.length {
        return Err(ApiError::PayloadTooLarge(format!(
            "the piece goes past the upload's length of {} bytes",
            upload.length
        )));
    }
    if app.flood.low_space() {
        return Err(ApiError::InsufficientStorage);
    }
    let Some(held) = hold(&app, &id) else {
        let stored = app.blobs.stored(&id).await.ok().flatten().unwrap_or(0);
        return Err(ApiError::OffsetMismatch {
            offset: stored,
            message: "another piece of this upload is being written; ask where it stands".into(),
        });
    };
    let len = body.len();
    app.flood.take_bytes(len, now())?;
    // The write, and the check of a completed upload, run on their own: a client that hangs up
    // cancels neither, and the lock goes with them.
    let work = tokio::spawn({
        let app = app.clone();
        async move {
            let _held = held;
            let stored = app.blobs.write(&id, offset, body.to_vec()).await;
            if let Ok(stored) = stored {
                hash_piece(&app, &id, offset, body, stored).await;
            }
            let stored = match stored {
                Ok(stored) => stored,
                Err(e) => {
                    app.flood.give_back(len);
                    return Err(match e {
                        BlobError::Differs => ApiError::OffsetMismatch {
                            offset: app.blobs.stored(&id).await.ok().flatten().unwrap_or(0),
                            message:
                                "the piece differs from the bytes already stored at its offset"
                                    .into(),
                        },
                        other => blob_error(other),
                    });
                }
            };
            let mut sha256 = upload.sha256;
            if stored == upload.length && sha256.is_none() {
                sha256 = Some(complete(&app, &id, upload.length).await?);
            }
            Ok(state_of(
                &id,
                upload.length,
                stored,
                sha256,
                upload.created_day,
            ))
        }
    });
    let state = work
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("upload task failed: {e}")))??;
    Ok(answer(StatusCode::OK, &state))
}

/// Checks a complete upload's envelope and records its hash; a file that is not a sealed file
/// is deleted.
async fn complete(app: &AppState, id: &UploadId, length: u64) -> Result<[u8; 32], ApiError> {
    let start = app
        .blobs
        .read(id, 0, PREFIX_LEN)
        .await
        .map_err(blob_error)?;
    if let Err(e) = envelope::check_file_start(&start, length, max_body(app)) {
        forget(app, id).await?;
        return Err(ApiError::InvalidEnvelope(format!(
            "{e}; the upload is deleted"
        )));
    }
    let sha256: [u8; 32] = match app.uploads_hashing.take(id) {
        Some((hashed, hasher)) if hashed == length => hasher.finalize().into(),
        _ => hash_stored(app, id, length).await?,
    };
    app.store.complete_upload(id.clone(), sha256).await?;
    Ok(sha256)
}

/// The SHA-256 of an upload's `length` stored bytes, read from the blob store.
async fn hash_stored(app: &AppState, id: &UploadId, length: u64) -> Result<[u8; 32], ApiError> {
    let mut hasher = Sha256::new();
    let mut at = 0u64;
    while at < length {
        let piece = app.blobs.read(id, at, 1 << 20).await.map_err(blob_error)?;
        if piece.is_empty() {
            return Err(ApiError::Internal(anyhow::anyhow!("an upload ended early")));
        }
        at += piece.len() as u64;
        hasher = tokio::task::spawn_blocking(move || {
            hasher.update(&piece);
            hasher
        })
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    }
    Ok(hasher.finalize().into())
}

async fn forget(app: &AppState, id: &UploadId) -> Result<bool, ApiError> {
    let forgotten = app.store.forget_upload(id.clone()).await?;
    if forgotten {
        app.uploads_hashing.take(id);
        app.blobs.delete(id).await.map_err(blob_error)?;
    }
    Ok(forgotten)
}

/// Deletes an upload no report names (a reporter removed the file).
#[utoipa::path(delete, path = "/api/v1/uploads/{upload}", params(("upload" = String, Path, description = "The upload's id")), responses(
    (status = 204, description = "Deleted"),
    (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody, description = "upload_not_ready: a report names it; it stays"),
))]
pub async fn remove(
    State(app): State<AppState>,
    PathParam(id): PathParam<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    if app.store.upload(id.clone()).await?.is_none() {
        return Err(ApiError::NotFound("no such upload"));
    }
    if forget(&app, &id).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::UploadNotReady(
            "a report names this upload; it stays".into(),
        ))
    }
}

/// Deletes uploads no report names once they are [`EXPIRE_DAYS`] old, and files in the blob
/// store the database does not name (a crash between the two); returns how many went.
pub async fn sweep(app: &AppState, today: u64) -> anyhow::Result<usize> {
    let mut gone = 0;
    let expired = app
        .store
        .unfiled_before(today.saturating_sub((EXPIRE_DAYS - 1) * DAY))
        .await?;
    for id in expired {
        if forget(app, &id).await.map_err(|e| anyhow::anyhow!("{e}"))? {
            gone += 1;
        }
    }
    for id in app.blobs.list().await? {
        if app.store.upload(id.clone()).await?.is_none() {
            app.blobs.delete(&id).await?;
            gone += 1;
        }
    }
    Ok(gone)
}

/// Runs [`sweep`] at start and every hour.
pub async fn sweep_forever(app: AppState) {
    loop {
        match sweep(&app, today()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(uploads = n, "expired uploads deleted"),
            Err(e) => tracing::warn!(error = format!("{e:#}"), "sweeping uploads failed"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_schemas_maximum_length_is_the_longest_sealed_file() {
        assert_eq!(super::MAX_UPLOAD_LEN, 4_363_142_455);
    }
}
