//! The writer thread (group commit) and the checkpoint thread of the SQLite store.
//!
//! The writer owns the only read-write connection. It takes every request waiting on its
//! channel (up to [`MAX_BATCH`]), runs each in a savepoint of one transaction, commits once
//! (one fsync for the batch), and only then answers each caller. Nothing is answered before it
//! is durable.

use std::sync::mpsc;

use rusqlite::{Connection, OptionalExtension as _, params};
use tokio::sync::oneshot;

use super::case_for_token;
use crate::secrets::TokenHash;
use crate::store::{Idempotent, NewReport, StoreError, Written};

/// The most requests one commit carries.
const MAX_BATCH: usize = 512;

pub(super) enum Op {
    FileReport(NewReport, Idempotent),
    FollowUp {
        token: TokenHash,
        sealed: Vec<u8>,
        at: u64,
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
}

pub(super) enum Done {
    Written(Written),
    Count(u64),
}

pub(super) struct Job {
    pub(super) op: Op,
    pub(super) reply: oneshot::Sender<Result<Done, StoreError>>,
}

pub(super) fn writer_loop(mut conn: Connection, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let outcome = apply_batch(&mut conn, &batch);
        match outcome {
            Ok(results) => {
                for (job, result) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(result);
                }
            }
            Err(err) => {
                let message = format!("{err:#}");
                for job in batch {
                    let _ = job.reply.send(Err(StoreError::Database(anyhow::anyhow!(
                        "commit failed: {message}"
                    ))));
                }
            }
        }
    }
}

/// Copies the WAL back into the database every 250 ms without blocking the writer (PASSIVE).
/// If sustained load keeps the WAL from ever being fully copied and it passes 256 MiB, one
/// RESTART checkpoint briefly holds new writers back so it can start over.
pub(super) fn checkpoint_loop(conn: Connection, stop: mpsc::Receiver<()>) {
    const RESTART_ABOVE_PAGES: i64 = 256 * 1024 * 1024 / 4096;
    while let Err(mpsc::RecvTimeoutError::Timeout) =
        stop.recv_timeout(std::time::Duration::from_millis(250))
    {
        let frames = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            row.get::<_, i64>(1)
        });
        match frames {
            Ok(frames) if frames > RESTART_ABOVE_PAGES => {
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "WAL restart checkpoint failed");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
        }
    }
}

/// Runs every job of a batch in one transaction, each in its own savepoint.
fn apply_batch(
    conn: &mut Connection,
    batch: &[Job],
) -> anyhow::Result<Vec<Result<Done, StoreError>>> {
    let mut tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        let mut sp = tx.savepoint()?;
        let result = apply(&sp, &job.op);
        if result.is_ok() {
            sp.commit()?;
        } else {
            sp.rollback()?;
        }
        results.push(result);
    }
    tx.commit()?;
    Ok(results)
}

fn apply(tx: &Connection, op: &Op) -> Result<Done, StoreError> {
    let db = |e: rusqlite::Error| StoreError::Database(e.into());
    match op {
        Op::FileReport(report, idem) => idempotent(tx, idem, || {
            let inserted = tx
                .execute(
                    "INSERT INTO cases (id, token_hash, received_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (token_hash) DO NOTHING",
                    params![
                        report.case_id,
                        report.token_hash.0.as_slice(),
                        report.received_at
                    ],
                )
                .map_err(db)?;
            if inserted == 0 {
                // Another case already has this token: the same inquiry code filed twice under
                // different idempotency keys.
                return Err(StoreError::IdempotencyConflict);
            }
            tx.execute(
                "INSERT INTO inbox (case_id, kind, sealed, sealed_sha256, received_at)
                 VALUES (?1, 'report', ?2, ?3, ?4)",
                params![
                    report.case_id,
                    report.sealed,
                    report.sealed_sha256.as_slice(),
                    report.received_at
                ],
            )
            .map_err(db)?;
            Ok(())
        }),
        Op::FollowUp {
            token,
            sealed,
            at,
            idem,
        } => idempotent(tx, idem, || {
            let (case_id, _) = case_for_token(tx, token)
                .map_err(db)?
                .ok_or(StoreError::UnknownCase)?;
            let sha = cluebox_protocol::receipt::report_hash(sealed);
            tx.execute(
                "INSERT INTO inbox (case_id, kind, sealed, sealed_sha256, received_at)
                 VALUES (?1, 'follow_up', ?2, ?3, ?4)",
                params![case_id, sealed, sha.as_slice(), at],
            )
            .map_err(db)?;
            Ok(())
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
        .query_row(
            "SELECT request_sha256, response FROM idempotency WHERE key = ?1",
            params![idem.key],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(db)?;
    if let Some((hash, response)) = seen {
        return if hash == idem.request_sha256 {
            Ok(Done::Written(Written::Repeated(response)))
        } else {
            Err(StoreError::IdempotencyConflict)
        };
    }
    write()?;
    tx.execute(
        "INSERT INTO idempotency (key, request_sha256, response) VALUES (?1, ?2, ?3)",
        params![idem.key, idem.request_sha256.as_slice(), idem.response],
    )
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
