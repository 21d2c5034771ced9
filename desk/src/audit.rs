//! The audit log: every action appended to a hash chain in the desk database.
//!
//! `hash = SHA-256(prev_hash || JSON [id, at, actor, action, subject, detail])`, the first entry's
//! `prev_hash` being 64 zeros. [`verify`] recomputes the chain and names the first entry that
//! does not fit, so an edited, removed, inserted or reordered entry is caught. (Someone who can
//! rewrite the whole table can rewrite the chain too: export `audit head` somewhere else to pin
//! it.)

use rusqlite::{Connection, params};
use sha2::{Digest as _, Sha256};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn entry_hash(
    prev: &str,
    id: i64,
    at: i64,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
) -> String {
    let body = serde_json::json!([id, at, actor, action, subject, detail]).to_string();
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(body.as_bytes());
    hex::encode(h.finalize())
}

/// Appends an entry (inside the caller's transaction, so the action and its record land together).
pub fn append(
    conn: &Connection,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
) -> anyhow::Result<()> {
    let (last_id, prev): (i64, String) = conn
        .query_row(
            "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap_or((0, GENESIS.to_owned()));
    let id = last_id + 1;
    let at = crate::now() as i64;
    let hash = entry_hash(&prev, id, at, actor, action, subject, detail);
    conn.execute(
        "INSERT INTO audit (id, at, actor, action, subject, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![id, at, actor, action, subject, detail, prev, hash],
    )?;
    Ok(())
}

/// One entry of the log.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its number in the chain.
    pub id: i64,
    /// When (unix seconds).
    pub at: i64,
    /// Who.
    pub actor: String,
    /// What (`transition`, `identity.shown`, `staff.sign_in`, ...).
    pub action: String,
    /// On what (a case id, a login).
    pub subject: String,
    /// The details.
    pub detail: String,
}

/// The newest `limit` entries, newest first.
pub fn newest(conn: &Connection, limit: u32) -> anyhow::Result<Vec<Entry>> {
    let mut stmt = conn.prepare(
        "SELECT id, at, actor, action, subject, detail FROM audit ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], |r| {
        Ok(Entry {
            id: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            subject: r.get(4)?,
            detail: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Checks the chain: `Ok(count)` or the first bad entry, in a sentence.
pub fn verify(conn: &Connection) -> anyhow::Result<Result<u64, String>> {
    let mut stmt = conn.prepare(
        "SELECT id, at, actor, action, subject, detail, prev_hash, hash FROM audit ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    let (mut prev, mut expected_id, mut count) = (GENESIS.to_owned(), 1i64, 0u64);
    while let Some(r) = rows.next()? {
        let (id, at): (i64, i64) = (r.get(0)?, r.get(1)?);
        let (actor, action, subject, detail): (String, String, String, String) =
            (r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?);
        let (prev_hash, hash): (String, String) = (r.get(6)?, r.get(7)?);
        if id != expected_id {
            return Ok(Err(format!(
                "entry {expected_id} is missing (found entry {id} next)"
            )));
        }
        if prev_hash != prev {
            return Ok(Err(format!(
                "entry {id} does not follow entry {} (removed, inserted or reordered)",
                id - 1
            )));
        }
        if entry_hash(&prev, id, at, &actor, &action, &subject, &detail) != hash {
            return Ok(Err(format!("entry {id} ({action} {subject}) was edited")));
        }
        prev = hash;
        expected_id += 1;
        count += 1;
    }
    Ok(Ok(count))
}
