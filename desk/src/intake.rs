//! Taking sealed items in (from `pull` or `import`) and opening them with the office keys.
//!
//! Storing is idempotent: an item is keyed by the API's inbox position and checked against its
//! SHA-256, so a repeated pull or a bundle imported twice changes nothing. Items that none of
//! the loaded keys opens (another office's) stay stored, unopened.

use cluebox_protocol::envelope;
use cluebox_protocol::keys::SecretKey;
use cluebox_protocol::letter::Letter;
use cluebox_protocol::wire::{InboxEntry, InboxKind};
use rusqlite::{Connection, OptionalExtension as _, params};
use sha2::{Digest as _, Sha256};

use crate::audit;

/// What a store or open did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Newly stored or opened.
    pub new: u64,
    /// Already there.
    pub known: u64,
}

/// Stores entries in one transaction, with one audit entry.
pub fn store(
    conn: &mut Connection,
    entries: &[InboxEntry],
    source: &str,
    actor: &str,
) -> anyhow::Result<Counts> {
    let tx = conn.transaction()?;
    let mut counts = Counts::default();
    for e in entries {
        let sha = hex::encode(Sha256::digest(&e.sealed.0));
        anyhow::ensure!(
            sha == e.item.sealed_sha256,
            "item {} arrived damaged (its SHA-256 does not match); nothing was stored",
            e.item.seq
        );
        let kind = match e.item.kind {
            InboxKind::Report => "report",
            InboxKind::FollowUp => "follow_up",
        };
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO items (seq, case_id, kind, sealed, sealed_sha256, received_at, source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![e.item.seq, e.item.case_id, kind, e.sealed.0, sha, e.item.received_at, source],
        )?;
        if inserted == 1 {
            counts.new += 1
        } else {
            counts.known += 1
        }
    }
    audit::append(
        &tx,
        actor,
        source,
        "items",
        &format!("{} new, {} already stored", counts.new, counts.known),
    )?;
    tx.commit()?;
    Ok(counts)
}

/// Opens every stored, unopened item that one of `keys` can open.
pub fn open_pending(
    conn: &mut Connection,
    keys: &[SecretKey],
    actor: &str,
) -> anyhow::Result<Counts> {
    let pending: Vec<(u64, String, Vec<u8>, u64)> = conn
        .prepare("SELECT seq, case_id, sealed, received_at FROM items WHERE opened_at IS NULL ORDER BY seq")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    let refs: Vec<&SecretKey> = keys.iter().collect();
    let mut counts = Counts::default();
    for (seq, case_id, sealed, received_at) in pending {
        let Ok(plain) = envelope::open_with_any(&refs, &sealed) else {
            counts.known += 1;
            continue;
        };
        let letter = Letter::from_bytes(&plain)?;
        let tx = conn.transaction()?;
        match &letter {
            Letter::Report(report) => {
                tx.execute(
                    "INSERT OR IGNORE INTO cases (case_id, profile, locale, reply_key, report_json, received_at, status)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'received')",
                    params![
                        case_id,
                        report.profile,
                        report.locale,
                        report.reply_key.to_string(),
                        serde_json::to_string(&report.sections)?,
                        received_at
                    ],
                )?;
            }
            Letter::FollowUp(note) => {
                tx.execute(
                    "INSERT OR IGNORE INTO follow_ups (seq, case_id, text, received_at) VALUES (?1, ?2, ?3, ?4)",
                    params![seq, case_id, note.text, received_at],
                )?;
            }
            Letter::Reply(_) => {
                anyhow::bail!("item {seq} is an office reply, not something a reporter sends")
            }
        }
        tx.execute(
            "UPDATE items SET opened_at = ?2 WHERE seq = ?1",
            params![seq, crate::now()],
        )?;
        if matches!(letter, Letter::Report(_)) {
            let repeats = crate::repeats::flag(&tx, &case_id)?;
            if repeats > 0 {
                audit::append(
                    &tx,
                    actor,
                    "flag",
                    &case_id,
                    &format!("{repeats} possible repeat(s)"),
                )?;
            }
        }
        let what = if matches!(letter, Letter::Report(_)) {
            "report"
        } else {
            "follow-up"
        };
        audit::append(
            &tx,
            actor,
            "open",
            &case_id,
            &format!("{what} (inbox item {seq})"),
        )?;
        tx.commit()?;
        counts.new += 1;
    }
    Ok(counts)
}

/// The case whose id starts with `prefix` (at least 6 characters, unambiguous).
pub fn find_case(conn: &Connection, prefix: &str) -> anyhow::Result<String> {
    anyhow::ensure!(
        prefix.len() >= 6,
        "give at least 6 characters of the case id"
    );
    let mut stmt =
        conn.prepare("SELECT case_id FROM cases WHERE case_id LIKE ?1 || '%' LIMIT 2")?;
    let found: Vec<String> = stmt
        .query_map([prefix], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => anyhow::bail!("no case starts with {prefix}"),
        _ => anyhow::bail!("more than one case starts with {prefix}; give more characters"),
    }
}

/// A meta value.
pub fn meta(conn: &Connection, key: &str) -> anyhow::Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

/// Sets a meta value.
pub fn set_meta(conn: &Connection, key: &str, value: &str) -> anyhow::Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}
