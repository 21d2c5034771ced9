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

use cluebox_protocol::envelope::{self, CHUNK_LEN, SLOT_GROUP, TAG_LEN};
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
    /// [`FileSource::read`] into `buf` (replacing what it held), so that one buffer serves
    /// every slice of a file.
    async fn read_into(&self, offset: u64, len: usize, buf: &mut Vec<u8>) -> Result<(), ()> {
        *buf = self.read(offset, len).await?;
        Ok(())
    }
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
    pending.reserve(MAX_PIECE + 2 * (CHUNK_LEN + TAG_LEN));
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

    // Seal a piece at a time and send each, the next one sealed while the last one travels
    // and the server writes it (so at most two pieces are held); each is kept until the server
    // has it.
    let mut pieces = Pieces {
        source,
        body: &body,
        size,
        stream: Some(stream),
        pending,
        slice: Vec::new(),
        hasher: Sha256::new(),
        read: 0,
    };
    if let Err(message) = pieces.header(&header.to_prefix()) {
        return failed(message);
    }
    let upload_path = format!("/api/v1/uploads/{upload}");
    let going = Going {
        sealer,
        net,
        id,
        file,
        path: &upload_path,
        total,
        progress,
    };
    let mut piece = PIECE; // file bytes sealed per piece: adapts to how fast pieces go (next_piece)
    let mut sent = 0u64; // sealed bytes the server has
    // The piece in flight and the one being sealed; each is made once, as large as a piece
    // can be.
    let (mut next, mut following) = (
        Vec::with_capacity(MAX_PIECE.min(max_piece as usize)),
        Vec::with_capacity(MAX_PIECE.min(max_piece as usize)),
    );
    if let Err(message) = pieces.next(piece, &mut next).await {
        return failed(message);
    }
    while !next.is_empty() {
        let (delivered, sealed) =
            futures_util::future::join(going.send(sent, &next), pieces.next(piece, &mut following))
                .await;
        let took = match delivered {
            Ok(took) => took,
            Err(answer) => return answer,
        };
        sent += next.len() as u64;
        if let Some(took) = took {
            piece = next_piece(piece, took, max_piece as usize);
        }
        progress(FromWorker::FileProgress {
            id,
            done: sent,
            total,
            waiting: false,
        });
        if let Err(message) = sealed {
            return failed(message);
        }
        std::mem::swap(&mut next, &mut following);
    }
    let reference = FileRef {
        upload,
        sealed_len: total,
        sealed_sha256: pieces.hasher.finalize().into(),
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

/// The sealed file, made a piece at a time from the file (or its cleaned bytes), hashed as it
/// goes.
struct Pieces<'a, S> {
    source: &'a S,
    body: &'a Body,
    /// The file's (cleaned) length.
    size: u64,
    /// `None` once the body is finished.
    stream: Option<envelope::Sealer>,
    /// Sealed bytes not yet handed out (room for a piece and a chunk, made once).
    pending: Vec<u8>,
    /// The slice of the file being sealed (one buffer for every slice).
    slice: Vec<u8>,
    hasher: Sha256,
    /// File bytes sealed so far.
    read: u64,
}

impl<S: FileSource> Pieces<'_, S> {
    /// Seals the file's header (its name, type and what was removed), the body's first bytes.
    fn header(&mut self, prefix: &[u8]) -> Result<(), String> {
        if let Some(s) = self.stream.as_mut()
            && s.push(prefix, &mut self.pending).is_err()
        {
            return Err("the file's header could not be sealed".into());
        }
        self.hasher.update(&self.pending);
        Ok(())
    }

    /// The next `piece` sealed bytes into `out` (fewer at the end, none after it).
    ///
    /// Every buffer is made once and reused: pieces of changing sizes, each allocated afresh,
    /// left the worker's WebAssembly memory at 160 MiB after a 1 GiB file (it never shrinks).
    async fn next(&mut self, piece: usize, out: &mut Vec<u8>) -> Result<(), String> {
        while self.pending.len() < piece
            && let Some(s) = self.stream.as_mut()
        {
            let before = self.pending.len();
            if self.read < self.size {
                let take = piece.min((self.size - self.read) as usize);
                let at = self.read;
                let pushed = match self.body {
                    Body::Cleaned(bytes, _) => {
                        s.push(&bytes[at as usize..at as usize + take], &mut self.pending)
                    }
                    Body::AsIs | Body::Patched(_) => {
                        let read = self.source.read_into(at, take, &mut self.slice).await;
                        if read.is_err() || self.slice.len() != take {
                            return Err("the file could not be read to its end".into());
                        }
                        if let Body::Patched(plan) = self.body {
                            plan.apply(at, &mut self.slice);
                        }
                        s.push(&self.slice, &mut self.pending)
                    }
                };
                if pushed.is_err() {
                    return Err("the file changed while it was read".into());
                }
                self.read += take as u64;
            } else {
                // The padding, a piece at a time, then the last chunk.
                let Ok(left) = s.pad(piece as u64, &mut self.pending) else {
                    return Err("the file changed while it was read".into());
                };
                if left == 0
                    && let Some(s) = self.stream.take()
                    && s.finish(&mut self.pending).is_err()
                {
                    return Err("the file changed while it was read".into());
                }
            }
            self.hasher.update(&self.pending[before..]);
        }
        let take = self.pending.len().min(piece);
        out.clear();
        out.extend_from_slice(&self.pending[..take]);
        self.pending.drain(..take);
        Ok(())
    }
}

/// One upload under way: where its pieces go and whom to tell.
struct Going<'a, T, P> {
    sealer: &'a RefCell<Sealer>,
    net: &'a T,
    /// The request's and the file's numbers.
    id: u32,
    file: u32,
    /// `/api/v1/uploads/{upload}`.
    path: &'a str,
    /// The sealed file's length.
    total: u64,
    progress: &'a P,
}

impl<T: Transport, P: Fn(FromWorker)> Going<'_, T, P> {
    /// Sends `piece` (the sealed bytes from `sent`) until the server has it, resuming from where
    /// the server stands after a failure: how long it took in milliseconds (if the transport has
    /// a clock), or the answer to give the page (the file was dropped, or it cannot go).
    async fn send(&self, sent: u64, piece: &[u8]) -> Result<Option<f64>, FromWorker> {
        let (id, total) = (self.id, self.total);
        let started = self.net.now_ms();
        let end = sent + piece.len() as u64;
        let mut at = sent;
        while at < end {
            if dropped(self.sealer, self.file) {
                let _ = self.net.call("DELETE", self.path, None).await;
                return Err(FromWorker::Sent { id });
            }
            let from = (at - sent) as usize;
            match self.net.put_piece(self.path, at, &piece[from..]).await {
                Ok((200, text)) => match serde_json::from_str::<UploadState>(&text) {
                    Ok(state) => at = state.offset,
                    Err(e) => {
                        return Err(FromWorker::Failed {
                            id,
                            message: e.to_string(),
                        });
                    }
                },
                Ok((409, _)) | Err(()) | Ok((500..=599, _)) | Ok((408 | 429, _)) => {
                    (self.progress)(FromWorker::FileProgress {
                        id,
                        done: at,
                        total,
                        waiting: true,
                    });
                    self.net.wait().await;
                    // Where does the server stand?
                    if let Ok((200, text)) = self.net.call("GET", self.path, None).await
                        && let Ok(state) = serde_json::from_str::<UploadState>(&text)
                    {
                        if state.offset < sent || state.offset > end {
                            return Err(FromWorker::Failed {
                                id,
                                message: "the server lost part of the upload".into(),
                            });
                        }
                        at = state.offset;
                    }
                }
                other => return Err(http_failure(id, other)),
            }
        }
        Ok(match (started, self.net.now_ms()) {
            (Some(started), Some(now)) => Some(now - started),
            _ => None,
        })
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
