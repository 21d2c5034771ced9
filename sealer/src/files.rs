//! Evidence files in the worker: cleaned of identifying metadata ([`cluebox_scrub`]), sealed as
//! a stream to the office keys, uploaded in pieces that resume after a lost connection.
//!
//! Memory stays flat whatever the file's size: the file is read a slice at a time from the
//! page's `File` ([`FileSource`]) and each sealed piece is dropped once the server has it. Only
//! images small enough to clean ([`CLEAN_LIMIT`]) are read whole, since cleaning rewrites
//! their container; videos of any size are cleaned as they stream (their metadata boxes are
//! blanked in place, [`cluebox_scrub::mp4`]), after a walk that reads only their boxes' headers
//! and the movie header. Only one unacknowledged piece is ever held, so after a failure the worker
//! asks the server where the upload stands and sends what it lacks of that piece.

use std::cell::RefCell;

use cluebox_protocol::envelope::{self, SLOT_GROUP};
use cluebox_protocol::evidence::{Cleaning, FileHeader, FileRef, MAX_FILE, MAX_HEADER, Removal};
use cluebox_protocol::wire::{API_VERSION, NewUpload, UploadState};
use cluebox_protocol::worker::FromWorker;
use sha2::{Digest as _, Sha256};

use crate::{Sealer, Transport, http_failure, json, pow_for};

/// The most bytes of an image, a PDF or an Office file read whole to be cleaned (larger ones go
/// as they are, said so).
pub const CLEAN_LIMIT: u64 = 64 << 20;

/// Bytes of file read and sealed per piece sent at first (the server takes up to 4 MiB).
pub const PIECE: usize = 1 << 20;

/// The smallest piece: about 5 s at 50 KB/s, well inside the server's 30 s per request.
pub const MIN_PIECE: usize = 256 << 10;

/// The largest piece whatever the server says it takes (a piece is held in memory until the
/// server has it).
pub const MAX_PIECE: usize = 4 << 20;

/// The size of the next piece after one of `current` bytes took `took_ms` to be acknowledged:
/// double while pieces take under a second (fewer requests and fsyncs on a fast network), halve
/// when one takes over ten (a slow network must get each piece through within the server's
/// deadline), between [`MIN_PIECE`] and `max` (what the server takes), never past
/// [`MAX_PIECE`].
pub fn next_piece(current: usize, took_ms: f64, max: usize) -> usize {
    let max = max.min(MAX_PIECE);
    let next = if took_ms < 1000.0 {
        current.saturating_mul(2)
    } else if took_ms > 10_000.0 {
        current / 2
    } else {
        current
    };
    next.clamp(MIN_PIECE, max.max(MIN_PIECE))
}

/// The page's file, read a slice at a time.
#[allow(async_fn_in_trait)]
pub trait FileSource {
    /// The file's length.
    fn size(&self) -> u64;
    /// Its name as the device gave it.
    fn name(&self) -> String;
    /// Its media type as the browser guessed it.
    fn media_type(&self) -> String;
    /// `len` bytes from `offset` (fewer only at the end); `Err` if the file cannot be read any
    /// more (deleted, permission withdrawn).
    async fn read(&self, offset: u64, len: usize) -> Result<Vec<u8>, ()>;
}

/// What the worker knows of a file.
#[derive(Debug, Clone)]
pub(crate) enum FileState {
    /// Being sealed and uploaded; `dropped` asks it to stop.
    Sending {
        upload: Option<String>,
        dropped: bool,
    },
    /// Stored by the server.
    Ready(FileRef),
}

fn kind_of(source: &impl FileSource, first: &[u8]) -> bool {
    let media = source.media_type();
    matches!(
        media.as_str(),
        "image/jpeg" | "image/png" | "image/webp" | "application/pdf"
    ) || first.starts_with(&[0xff, 0xd8, 0xff])
        || cluebox_scrub::pdf::is_pdf(first)
        || cluebox_scrub::office::is_zip(first)
        || first.starts_with(b"\x89PNG")
        || (first.len() >= 12 && &first[..4] == b"RIFF" && &first[8..12] == b"WEBP")
}

fn removals(removed: &[cluebox_scrub::Removed]) -> Vec<Removal> {
    let mut out: Vec<Removal> = removed
        .iter()
        .map(|r| match r {
            cluebox_scrub::Removed::Location => Removal::Location,
            cluebox_scrub::Removed::Device => Removal::Device,
            cluebox_scrub::Removed::Time => Removal::Time,
            cluebox_scrub::Removed::Author => Removal::Author,
            cluebox_scrub::Removed::Text => Removal::Text,
            cluebox_scrub::Removed::Thumbnail => Removal::Thumbnail,
            cluebox_scrub::Removed::Other => Removal::Other,
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The file's bytes, cleaned when it is an image this worker can clean.
enum Body {
    /// Read whole and cleaned.
    Cleaned(Vec<u8>, Vec<Removal>),
    /// Streamed from the file, the plan's patches applied on the way.
    Patched(cluebox_scrub::mp4::Plan),
    /// Streamed from the file as it is.
    AsIs,
}

/// How to clean a movie, walking its boxes through `source`; `None` if it cannot be cleaned.
async fn plan_movie(source: &impl FileSource) -> Option<cluebox_scrub::mp4::Plan> {
    use cluebox_scrub::mp4::{Need, Walk};
    let mut walk = Walk::new(source.size());
    loop {
        match walk.need() {
            Need::Read(offset, len) => walk.feed(&source.read(offset, len).await.ok()?),
            Need::Done(plan) => return plan,
        }
    }
}

/// Cleans, seals and uploads one file; answers [`FromWorker::FileReady`] or why not.
/// `progress` is told how far the upload is after each piece and while it waits.
pub async fn add_file(
    sealer: &RefCell<Sealer>,
    net: &impl Transport,
    id: u32,
    file: u32,
    region: Option<String>,
    source: &impl FileSource,
    progress: &impl Fn(FromWorker),
) -> FromWorker {
    let failed = |message: String| FromWorker::Failed { id, message };
    let recipients = match sealer.borrow().config() {
        Ok(config) => config.recipients.for_region(region.as_deref()),
        Err(e) => return failed(e),
    };
    if source.size() > MAX_FILE {
        return failed(format!("the file is larger than {MAX_FILE} bytes"));
    }
    sealer.borrow_mut().files.insert(
        file,
        FileState::Sending {
            upload: None,
            dropped: false,
        },
    );
    let Ok(first) = source.read(0, 16).await else {
        return failed("the file could not be read".into());
    };
    let body = if source.size() <= CLEAN_LIMIT && kind_of(source, &first) {
        match source.read(0, source.size() as usize).await {
            Ok(bytes) => match cluebox_scrub::clean(bytes) {
                cluebox_scrub::Cleaned::Cleaned { bytes, removed } => {
                    Body::Cleaned(bytes, removals(&removed))
                }
                cluebox_scrub::Cleaned::NotCleaned(_) => Body::AsIs,
            },
            Err(()) => return failed("the file could not be read".into()),
        }
    } else if cluebox_scrub::mp4::is_mp4(&first) {
        plan_movie(source).await.map_or(Body::AsIs, Body::Patched)
    } else {
        Body::AsIs
    };
    let (size, cleaning) = match &body {
        Body::Cleaned(bytes, removed) => (bytes.len() as u64, Cleaning::Cleaned(removed.clone())),
        Body::Patched(plan) => (source.size(), Cleaning::Cleaned(removals(&plan.removed))),
        Body::AsIs => (source.size(), Cleaning::NotCleaned),
    };
    let header = FileHeader::new(&source.name(), &source.media_type(), size, cleaning.clone());
    let max_body = MAX_FILE + 5 + MAX_HEADER as u64;
    let (stream, mut pending) =
        match envelope::Sealer::file(&recipients, header.body_len(), max_body) {
            Ok(started) => started,
            Err(e) => return failed(e.to_string()),
        };
    let slots = recipients.len().div_ceil(SLOT_GROUP) * SLOT_GROUP;
    let total = envelope::sealed_file_len(slots, header.body_len());

    // Start the upload (with a proof of work, like a report).
    let (upload, max_piece) = loop {
        let pow = pow_for(sealer, net, "").await;
        let body = json(&NewUpload {
            v: API_VERSION,
            length: total,
            pow,
        });
        let Ok(body) = body else {
            return failed("the upload could not be described".into());
        };
        match net.call("POST", "/api/v1/uploads", Some(body)).await {
            Ok((201, text)) => match serde_json::from_str::<UploadState>(&text) {
                Ok(state) => break (state.upload, state.max_piece),
                Err(e) => return failed(e.to_string()),
            },
            Ok((403, text)) if text.contains("pow_required") => continue,
            Ok((status, text)) if status != 503 && status < 500 => {
                return http_failure(id, Ok((status, text)));
            }
            _ => {
                if dropped(sealer, file) {
                    return FromWorker::Sent { id };
                }
                progress(FromWorker::FileProgress {
                    id,
                    done: 0,
                    total,
                    waiting: true,
                });
                net.wait().await;
            }
        }
    };
    if let Some(FileState::Sending { upload: slot, .. }) = sealer.borrow_mut().files.get_mut(&file)
    {
        *slot = Some(upload.clone());
    }

    // Seal a piece at a time; send each; keep it until the server has it.
    let mut stream = Some(stream);
    let mut hasher = Sha256::new();
    if let Some(s) = stream.as_mut()
        && s.push(&header.to_prefix(), &mut pending).is_err()
    {
        return failed("the file's header could not be sealed".into());
    }
    hasher.update(&pending);
    let mut sent = 0u64; // sealed bytes the server has
    let mut piece = PIECE; // file bytes sealed per piece: adapts to how fast pieces go (next_piece)
    let mut read = 0u64; // file bytes sealed
    loop {
        while pending.len() < piece
            && let Some(s) = stream.as_mut()
        {
            let before = pending.len();
            if read < size {
                let take = piece.min((size - read) as usize);
                let chunk = match &body {
                    Body::Cleaned(bytes, _) => bytes[read as usize..read as usize + take].to_vec(),
                    Body::AsIs | Body::Patched(_) => match source.read(read, take).await {
                        Ok(mut chunk) if chunk.len() == take => {
                            if let Body::Patched(plan) = &body {
                                plan.apply(read, &mut chunk);
                            }
                            chunk
                        }
                        _ => return failed("the file could not be read to its end".into()),
                    },
                };
                if s.push(&chunk, &mut pending).is_err() {
                    return failed("the file changed while it was read".into());
                }
                read += take as u64;
            } else if let Some(s) = stream.take()
                && s.finish(&mut pending).is_err()
            {
                return failed("the file changed while it was read".into());
            }
            hasher.update(&pending[before..]);
        }
        if pending.is_empty() {
            break;
        }
        let piece_len = pending.len().min(piece);
        let started = net.now_ms();
        // Send this piece until the server has it, resuming from where it stands.
        let mut at = sent;
        while at < sent + piece_len as u64 {
            if dropped(sealer, file) {
                let _ = net
                    .call("DELETE", &format!("/api/v1/uploads/{upload}"), None)
                    .await;
                return FromWorker::Sent { id };
            }
            let from = (at - sent) as usize;
            let answer = net
                .put_piece(
                    &format!("/api/v1/uploads/{upload}"),
                    at,
                    &pending[from..piece_len],
                )
                .await;
            match answer {
                Ok((200, text)) => match serde_json::from_str::<UploadState>(&text) {
                    Ok(state) => at = state.offset,
                    Err(e) => return failed(e.to_string()),
                },
                Ok((409, _)) | Err(()) | Ok((500..=599, _)) | Ok((408 | 429, _)) => {
                    progress(FromWorker::FileProgress {
                        id,
                        done: at,
                        total,
                        waiting: true,
                    });
                    net.wait().await;
                    // Where does the server stand?
                    if let Ok((200, text)) = net
                        .call("GET", &format!("/api/v1/uploads/{upload}"), None)
                        .await
                        && let Ok(state) = serde_json::from_str::<UploadState>(&text)
                    {
                        if state.offset < sent || state.offset > sent + piece_len as u64 {
                            return failed("the server lost part of the upload".into());
                        }
                        at = state.offset;
                    }
                }
                other => return http_failure(id, other),
            }
        }
        sent += piece_len as u64;
        pending.drain(..piece_len);
        if let (Some(started), Some(now)) = (started, net.now_ms()) {
            piece = next_piece(piece, now - started, max_piece as usize);
        }
        progress(FromWorker::FileProgress {
            id,
            done: sent,
            total,
            waiting: false,
        });
    }
    let reference = FileRef {
        upload,
        sealed_len: total,
        sealed_sha256: hasher.finalize().into(),
    };
    sealer
        .borrow_mut()
        .files
        .insert(file, FileState::Ready(reference.clone()));
    FromWorker::FileReady {
        id,
        cleaning,
        reference,
    }
}

fn dropped(sealer: &RefCell<Sealer>, file: u32) -> bool {
    matches!(
        sealer.borrow().files.get(&file),
        Some(FileState::Sending { dropped: true, .. }) | None
    )
}

/// Stops a file being sent, or forgets a finished one (deleting its upload).
pub async fn drop_file(
    sealer: &RefCell<Sealer>,
    net: &impl Transport,
    id: u32,
    file: u32,
) -> FromWorker {
    let state = sealer.borrow().files.get(&file).cloned();
    match state {
        Some(FileState::Sending { upload, .. }) => {
            sealer.borrow_mut().files.insert(
                file,
                FileState::Sending {
                    upload,
                    dropped: true,
                },
            );
        }
        Some(FileState::Ready(reference)) => {
            sealer.borrow_mut().files.remove(&file);
            let _ = net
                .call(
                    "DELETE",
                    &format!("/api/v1/uploads/{}", reference.upload),
                    None,
                )
                .await;
        }
        None => {}
    }
    FromWorker::Sent { id }
}
