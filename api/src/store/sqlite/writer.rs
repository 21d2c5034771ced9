//! The writer thread (group commit) and the checkpoint thread of the SQLite store.
//!
//! The writer owns the only read-write connection and the segment appender. It takes every
//! request waiting on its channel (up to [`MAX_BATCH`]), runs each in a savepoint of one
//! transaction (appending sealed bodies to the segment as it goes), syncs the segment, commits
//! once (one fsync of the WAL for the batch), and only then answers each caller. Nothing is
//! answered before it is durable.
//!
//! Case ids: 16 hex digits of a sequence number, then 16 random hex digits. The sequence keeps
//! the id index and the by-case inbox index growing at their ends (each report would otherwise
//! dirty random pages of both, written twice, which measured as most of the write traffic once
//! the database outgrew its cache); the random half keeps ids unguessable.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc;

use rusqlite::{Connection, OptionalExtension as _, params};
use tokio::sync::oneshot;

use super::case_for_token;
use super::segments::Appender;
use crate::store::{Idempotent, NewFollowUp, NewReport, StoreError, UploadId, Written};

/// The most requests one commit carries.
const MAX_BATCH: usize = 512;

pub(super) enum Op {
    FileReport(NewReport, Idempotent),
    FollowUp {
        follow_up: NewFollowUp,
        max_per_case: u32,
        idem: Idempotent,
    },
    Ack {
        seqs: Vec<u64>,
        at: u64,
    },
    Status {
        case_id: String,
        status: String,
        at: u64,
        sealed: Vec<u8>,
        idem: Idempotent,
    },
    Reply {
        case_id: String,
        sealed: Vec<u8>,
        at: u64,
        idem: Idempotent,
    },
    CreateUpload {
        id: UploadId,
        length: u64,
        day: u64,
    },
    CompleteUpload {
        id: UploadId,
        sha256: [u8; 32],
    },
    ForgetUpload(UploadId),
}

pub(super) enum Done {
    Written(Written),
    Count(u64),
}

pub(super) struct Job {
    pub(super) op: Op,
    pub(super) reply: oneshot::Sender<Result<Done, StoreError>>,
}

/// Whether a failed batch failed because the disk is full (SQLite's or the segment's write).
fn is_disk_full(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<rusqlite::Error>()
            .and_then(rusqlite::Error::sqlite_error_code)
            == Some(rusqlite::ErrorCode::DiskFull)
            || cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::StorageFull)
    })
}

/// What the writer thread owns besides its connection.
pub(super) struct WriterState {
    pub(super) segments: Appender,
    /// The sequence number of the next case.
    pub(super) next_case: u64,
}

pub(super) fn writer_loop(
    mut conn: Connection,
    mut state: WriterState,
    rx: mpsc::Receiver<Job>,
    progress: &WalProgress,
) {
    while let Ok(first) = rx.recv() {
        finish_checkpoint(&conn, progress);
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let outcome = apply_batch(&mut conn, &mut state, &batch);
        match outcome {
            Ok(results) => {
                for (job, result) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(result);
                }
            }
            Err(err) => {
                let full = is_disk_full(&err);
                let message = format!("{err:#}");
                for job in batch {
                    let _ = job.reply.send(Err(if full {
                        StoreError::Full
                    } else {
                        StoreError::Database(anyhow::anyhow!("commit failed: {message}"))
                    }));
                }
            }
        }
    }
}

/// How far the checkpointer has got, shared with the writer.
#[derive(Default)]
pub(super) struct WalProgress {
    /// Frames in the WAL at the last checkpoint.
    pub(super) frames: AtomicI64,
    /// Frames of those already copied into the database.
    pub(super) copied: AtomicI64,
}

/// The writer finishes a checkpoint itself (see [`writer_loop`]) once the WAL holds more than
/// this many frames (64 MiB of 4 KiB pages) and the checkpointer has left at most
/// [`FINISH_BELOW_FRAMES`] to copy.
const FINISH_ABOVE_FRAMES: i64 = 64 * 1024 * 1024 / 4096;
/// See [`FINISH_ABOVE_FRAMES`]: 4 MiB, a few milliseconds of copying.
const FINISH_BELOW_FRAMES: i64 = 4 * 1024 * 1024 / 4096;

/// Copies the WAL back into the database without ever blocking the writer (PASSIVE
/// checkpoints): continuously while it is behind, every 25 ms once it has caught up. Publishes
/// its progress for the writer.
///
/// Why not RESTART: a RESTART checkpoint holds every writer back until the whole WAL is copied,
/// which measured here as seconds without a single commit after a few minutes of load. Why the
/// writer helps: SQLite can start the WAL over only when *every* frame has been copied when a
/// write transaction begins; a checkpointer on its own thread is always a few frames behind a
/// writer that never pauses, so the WAL would only grow. The writer copies the last few frames
/// itself between two batches, and the next batch starts the WAL from the beginning.
pub(super) fn checkpoint_loop(conn: Connection, stop: mpsc::Receiver<()>, progress: &WalProgress) {
    let mut pause = std::time::Duration::ZERO;
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(pause) {
        let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
        });
        match result {
            Ok((frames, copied)) => {
                progress.frames.store(frames, Ordering::Relaxed);
                progress.copied.store(copied, Ordering::Relaxed);
                // Caught up (or nearly): rest; behind: go on at once.
                pause = if frames - copied <= FINISH_BELOW_FRAMES {
                    std::time::Duration::from_millis(25)
                } else {
                    std::time::Duration::ZERO
                };
            }
            Err(e) => {
                tracing::warn!(error = %e, "WAL checkpoint failed");
                pause = std::time::Duration::from_millis(250);
            }
        }
    }
}

/// Called by the writer between batches: copies the WAL's last frames when the checkpointer
/// has done the rest, so the next write transaction can start the WAL over.
fn finish_checkpoint(conn: &Connection, progress: &WalProgress) {
    let frames = progress.frames.load(Ordering::Relaxed);
    let copied = progress.copied.load(Ordering::Relaxed);
    if frames > FINISH_ABOVE_FRAMES && frames - copied <= FINISH_BELOW_FRAMES {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "WAL checkpoint in the writer failed");
        }
        // Until the checkpointer looks again, do not try twice.
        progress.frames.store(0, Ordering::Relaxed);
    }
}

/// Runs every job of a batch in one transaction, each in its own savepoint; syncs the
/// segment before the commit.
fn apply_batch(
    conn: &mut Connection,
    state: &mut WriterState,
    batch: &[Job],
) -> anyhow::Result<Vec<Result<Done, StoreError>>> {
    let mut tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        let mut sp = tx.savepoint()?;
        let result = apply(&sp, state, &job.op);
        if result.is_ok() {
            sp.commit()?;
        } else {
            sp.rollback()?;
        }
        results.push(result);
    }
    // The bodies first: no committed row may point at bytes that are not on disk.
    state.segments.sync()?;
    tx.commit()?;
    Ok(results)
}

/// Appends `sealed` to the segment and inserts its inbox row.
fn insert_inbox(
    tx: &Connection,
    state: &mut WriterState,
    case_id: &str,
    kind: &str,
    sealed: &[u8],
    sha256: &[u8; 32],
    received_at: u64,
) -> Result<(), StoreError> {
    let at = state
        .segments
        .append(sealed)
        .map_err(StoreError::Database)?;
    tx.prepare_cached(
        "INSERT INTO inbox (case_id, kind, sealed, sealed_sha256, received_at, blob_segment, blob_offset, blob_len)
         VALUES (?1, ?2, x'', ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            case_id,
            kind,
            sha256.as_slice(),
            received_at,
            at.segment,
            at.offset,
            at.len
        ])
    })
    .map_err(|e| StoreError::Database(e.into()))?;
    Ok(())
}

fn new_case_id(sequence: u64) -> String {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).expect("the OS random source works");
    format!("{sequence:016x}{}", hex::encode(random))
}

/// Binds the uploads `files` names to the inbox item `seq`, in order: each must be complete,
/// unfiled and have its hash, or [`StoreError::UploadNotReady`] (and the transaction is undone).
fn bind_files(tx: &Connection, seq: i64, files: &[(UploadId, [u8; 32])]) -> Result<(), StoreError> {
    let mut bind = tx
        .prepare_cached(
            "UPDATE uploads SET inbox_seq = ?1, position = ?2
             WHERE id = ?3 AND inbox_seq IS NULL AND sha256 = ?4",
        )
        .map_err(|e| StoreError::Database(e.into()))?;
    for (position, (upload, sha256)) in files.iter().enumerate() {
        let bound = bind
            .execute(params![
                seq,
                position as i64,
                upload.as_str(),
                sha256.as_slice()
            ])
            .map_err(|e| StoreError::Database(e.into()))?;
        if bound != 1 {
            return Err(StoreError::UploadNotReady(upload.as_str().to_owned()));
        }
    }
    Ok(())
}

fn apply(tx: &Connection, state: &mut WriterState, op: &Op) -> Result<Done, StoreError> {
    let db = |e: rusqlite::Error| StoreError::Database(e.into());
    match op {
        Op::FileReport(report, idem) => idempotent(tx, idem, || {
            let sequence = state.next_case;
            state.next_case += 1;
            let case_id = new_case_id(sequence);
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO cases (id, token_hash, received_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (token_hash) DO NOTHING",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        case_id,
                        report.token_hash.0.as_slice(),
                        report.received_at
                    ])
                })
                .map_err(db)?;
            if inserted == 0 {
                // Another case already has this token: the same inquiry code filed twice under
                // different idempotency keys.
                return Err(StoreError::IdempotencyConflict);
            }
            insert_inbox(
                tx,
                state,
                &case_id,
                "report",
                &report.sealed,
                &report.sealed_sha256,
                report.received_at,
            )?;
            bind_files(tx, tx.last_insert_rowid(), &report.files)
        }),
        Op::FollowUp {
            follow_up,
            max_per_case,
            idem,
        } => idempotent(tx, idem, || {
            let NewFollowUp {
                token,
                sealed,
                received_at: at,
                files,
            } = follow_up;
            let (case_id, _) = case_for_token(tx, token)
                .map_err(db)?
                .ok_or(StoreError::UnknownCase)?;
            let count: u32 = tx
                .prepare_cached(
                    "SELECT count(*) FROM inbox WHERE case_id = ?1 AND kind = 'follow_up'",
                )
                .and_then(|mut stmt| stmt.query_row(params![case_id], |r| r.get(0)))
                .map_err(db)?;
            if count >= *max_per_case {
                return Err(StoreError::TooManyFollowUps(count));
            }
            let sha = cluebox_protocol::receipt::report_hash(sealed);
            insert_inbox(tx, state, &case_id, "follow_up", sealed, &sha, *at)?;
            bind_files(tx, tx.last_insert_rowid(), files)
        }),
        Op::Ack { seqs, at } => {
            let mut stmt = tx
                .prepare_cached(
                    "UPDATE inbox SET acked_at = ?2 WHERE seq = ?1 AND acked_at IS NULL",
                )
                .map_err(db)?;
            let mut count = 0u64;
            for seq in seqs {
                count += stmt.execute(params![seq, at]).map_err(db)? as u64;
            }
            Ok(Done::Count(count))
        }
        Op::Status {
            case_id,
            status,
            at,
            sealed,
            idem,
        } => idempotent(tx, idem, || {
            ensure_case(tx, case_id)?;
            tx.execute(
                "INSERT INTO outbox (case_id, kind, status, sealed, at) VALUES (?1, 'status', ?2, ?3, ?4)",
                params![case_id, status, sealed, at],
            )
            .map_err(db)?;
            Ok(())
        }),
        Op::Reply {
            case_id,
            sealed,
            at,
            idem,
        } => idempotent(tx, idem, || {
            ensure_case(tx, case_id)?;
            tx.execute(
                "INSERT INTO outbox (case_id, kind, sealed, at) VALUES (?1, 'reply', ?2, ?3)",
                params![case_id, sealed, at],
            )
            .map_err(db)?;
            Ok(())
        }),
        Op::CreateUpload { id, length, day } => {
            tx.prepare_cached("INSERT INTO uploads (id, length, created_day) VALUES (?1, ?2, ?3)")
                .and_then(|mut stmt| stmt.execute(params![id.as_str(), length, day]))
                .map_err(db)?;
            Ok(Done::Count(1))
        }
        Op::CompleteUpload { id, sha256 } => {
            let n = tx
                .prepare_cached(
                    "UPDATE uploads SET sha256 = ?2 WHERE id = ?1 AND inbox_seq IS NULL",
                )
                .and_then(|mut stmt| stmt.execute(params![id.as_str(), sha256.as_slice()]))
                .map_err(db)?;
            Ok(Done::Count(n as u64))
        }
        Op::ForgetUpload(id) => {
            let n = tx
                .prepare_cached("DELETE FROM uploads WHERE id = ?1 AND inbox_seq IS NULL")
                .and_then(|mut stmt| stmt.execute(params![id.as_str()]))
                .map_err(db)?;
            Ok(Done::Count(n as u64))
        }
    }
}

/// Runs `write` unless the idempotency key was seen: same request, the earlier answer; another
/// request, a conflict.
fn idempotent(
    tx: &Connection,
    idem: &Idempotent,
    write: impl FnOnce() -> Result<(), StoreError>,
) -> Result<Done, StoreError> {
    let db = |e: rusqlite::Error| StoreError::Database(e.into());
    let seen: Option<(Vec<u8>, String)> = tx
        .prepare_cached("SELECT request_sha256, response FROM idempotency WHERE key = ?1")
        .and_then(|mut stmt| {
            stmt.query_row(params![idem.key], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .map_err(db)?;
    if let Some((hash, response)) = seen {
        return if hash == idem.request_sha256 {
            Ok(Done::Written(Written::Repeated(response)))
        } else {
            Err(StoreError::IdempotencyConflict)
        };
    }
    write()?;
    tx.prepare_cached(
        "INSERT INTO idempotency (key, request_sha256, response) VALUES (?1, ?2, ?3)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            idem.key,
            idem.request_sha256.as_slice(),
            idem.response
        ])
    })
    .map_err(db)?;
    Ok(Done::Written(Written::Created))
}

fn ensure_case(tx: &Connection, case_id: &str) -> Result<(), StoreError> {
    let exists = tx
        .query_row(
            "SELECT 1 FROM cases WHERE id = ?1",
            params![case_id],
            |_| Ok(()),
        )
        .optional()
        .map_err(|e| StoreError::Database(e.into()))?;
    exists.ok_or(StoreError::UnknownCase)
}
