//! Taking sealed items in (from `pull` or `import`) and opening them with the office keys.
//!
//! Storing is idempotent: an item is keyed by the API's inbox position, so a repeated pull or a
//! bundle imported twice changes nothing.
//!
//! Each item is opened on its own. One that cannot be opened, or that holds another kind of
//! letter than its inbox kind says, is **quarantined** with its reason ([`Quarantine`]), written
//! to the audit log and counted; it never stops the items after it and is not tried again
//! unless staff ask (`cluebox-desk quarantine retry`, after loading a missing key, say). Anyone
//! can seal a letter to the office's published key, so nothing in an item may block intake.
//!
//! A follow-up opens only if it was sealed with the reply key inside its case's report (the
//! reporter's code derives it): the server cannot slip in a message of its own. Version 1
//! follow-ups, from before follow-ups were sealed that way, open and are marked unauthenticated.

use cluebox_protocol::envelope::{self, OpenError, Origin};
use cluebox_protocol::keys::{PublicKey, SecretKey};
use cluebox_protocol::letter::{Letter, LetterError};
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
    /// Set aside (opening only).
    pub quarantined: u64,
}

/// Why an item was set aside. The names are stored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quarantine {
    /// None of the loaded keys opens it (another office's, or a key not loaded).
    NotAddressed,
    /// A follow-up not sealed with the case's reply key (not from the code's holder).
    UntrustedSender,
    /// Not a well-formed envelope, modified, truncated, or its content is not a letter.
    Damaged,
    /// A report item holding something other than a report, or a follow-up item holding
    /// something other than a follow-up.
    WrongKind,
    /// Written by a newer envelope or letter version than this desk reads.
    UnsupportedVersion,
    /// A follow-up whose case has no opened report here.
    UnknownCase,
}

impl Quarantine {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            Quarantine::NotAddressed => "not_addressed",
            Quarantine::UntrustedSender => "untrusted_sender",
            Quarantine::Damaged => "damaged",
            Quarantine::WrongKind => "wrong_kind",
            Quarantine::UnsupportedVersion => "unsupported_version",
            Quarantine::UnknownCase => "unknown_case",
        }
    }

    /// What it means, for people.
    pub fn meaning(name: &str) -> &'static str {
        match name {
            "not_addressed" => "not addressed to the loaded keys",
            "untrusted_sender" => "not sealed by the holder of the case's inquiry code",
            "damaged" => "damaged or modified",
            "wrong_kind" => "holds another kind of letter than its inbox kind",
            "unsupported_version" => "written by a newer format version",
            "unknown_case" => "a follow-up to a case that has no opened report here",
            _ => "unknown reason",
        }
    }

    fn from_open(e: &OpenError) -> Self {
        match e {
            OpenError::NotARecipient => Quarantine::NotAddressed,
            OpenError::UntrustedSender => Quarantine::UntrustedSender,
            OpenError::UnsupportedVersion(_) => Quarantine::UnsupportedVersion,
            _ => Quarantine::Damaged,
        }
    }
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
        let kind = match e.item.kind {
            InboxKind::Report => "report",
            InboxKind::FollowUp => "follow_up",
        };
        // Bytes that do not match their announced hash are kept, set aside as damaged: they
        // never block the items after them.
        let damaged = (sha != e.item.sealed_sha256).then(|| {
            (
                Quarantine::Damaged.name(),
                "its SHA-256 does not match the one the server announced",
                crate::now(),
            )
        });
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO items (seq, case_id, kind, sealed, sealed_sha256, received_at, source,
                                          quarantine_reason, quarantine_detail, quarantined_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                e.item.seq,
                e.item.case_id,
                kind,
                e.sealed.0,
                sha,
                e.item.received_at,
                source,
                damaged.map(|d| d.0),
                damaged.map(|d| d.1),
                damaged.map(|d| d.2)
            ],
        )?;
        crate::evidence::record(&tx, e.item.seq, &e.item.files)?;
        if inserted == 1 && damaged.is_some() {
            audit::append(
                &tx,
                actor,
                "quarantine",
                &e.item.case_id,
                &format!(
                    "inbox item {}: damaged (hash mismatch in transfer)",
                    e.item.seq
                ),
            )?;
        }
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

/// Opens every stored item that is neither opened nor quarantined, each on its own: what
/// cannot be opened is quarantined with its reason (see the module docs).
pub fn open_pending(
    conn: &mut Connection,
    keys: &[SecretKey],
    actor: &str,
) -> anyhow::Result<Counts> {
    let pending: Vec<(u64, String, String, Vec<u8>, u64)> = conn
        .prepare(
            "SELECT seq, case_id, kind, sealed, received_at FROM items
             WHERE opened_at IS NULL AND quarantine_reason IS NULL ORDER BY seq",
        )?
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    let refs: Vec<&SecretKey> = keys.iter().collect();
    let mut counts = Counts::default();
    for (seq, case_id, kind, sealed, received_at) in pending {
        let item = Item {
            seq,
            case_id: &case_id,
            kind: &kind,
            sealed: &sealed,
            received_at,
        };
        let tx = conn.transaction()?;
        match open_one(&tx, &refs, &item, actor)? {
            Ok(()) => counts.new += 1,
            Err((reason, detail)) => {
                tx.execute(
                    "UPDATE items SET quarantine_reason = ?2, quarantine_detail = ?3, quarantined_at = ?4
                     WHERE seq = ?1",
                    params![seq, reason.name(), detail, crate::now()],
                )?;
                audit::append(
                    &tx,
                    actor,
                    "quarantine",
                    &case_id,
                    &format!("inbox item {seq}: {} ({detail})", reason.name()),
                )?;
                counts.quarantined += 1;
            }
        }
        tx.commit()?;
    }
    Ok(counts)
}

/// One stored item.
struct Item<'a> {
    seq: u64,
    case_id: &'a str,
    kind: &'a str,
    sealed: &'a [u8],
    received_at: u64,
}

/// Opens one item inside `tx`: `Ok(Ok(()))` opened, `Ok(Err(..))` to quarantine, `Err` only for
/// a failure of the desk's own database.
fn open_one(
    tx: &Connection,
    keys: &[&SecretKey],
    item: &Item<'_>,
    actor: &str,
) -> anyhow::Result<Result<(), (Quarantine, String)>> {
    let reject = |reason: Quarantine, detail: String| Ok(Err((reason, detail)));
    // A follow-up must come from the reply key sealed inside its case's report.
    let sender: Option<PublicKey> = if item.kind == "follow_up" {
        let key: Option<String> = tx
            .query_row(
                "SELECT reply_key FROM cases WHERE case_id = ?1",
                [item.case_id],
                |r| r.get(0),
            )
            .optional()?;
        match key.map(|k| k.parse::<PublicKey>()) {
            Some(Ok(key)) => Some(key),
            Some(Err(e)) => {
                return reject(Quarantine::Damaged, format!("its case's reply key: {e}"));
            }
            None => {
                return reject(
                    Quarantine::UnknownCase,
                    "no opened report for its case".into(),
                );
            }
        }
    } else {
        None
    };
    let senders: Vec<PublicKey> = sender.iter().cloned().collect();
    let opened = match envelope::open_from(keys, &senders, item.sealed) {
        Ok(opened) => opened,
        Err(e) => return reject(Quarantine::from_open(&e), e.to_string()),
    };
    let letter = match Letter::from_bytes(&opened.body) {
        Ok(letter) => letter,
        Err(e @ LetterError::UnsupportedVersion(_)) => {
            return reject(Quarantine::UnsupportedVersion, e.to_string());
        }
        Err(e) => return reject(Quarantine::Damaged, e.to_string()),
    };
    if letter.kind() != item.kind {
        return reject(
            Quarantine::WrongKind,
            format!("a {} in a {} item", letter.kind(), item.kind),
        );
    }
    let follow_up = letter.follow_up().is_some();
    let authenticated = match (follow_up, &opened.origin) {
        (true, Origin::Sender(_)) => true,
        (true, Origin::Unauthenticated) => false,
        (true, Origin::Anonymous) => {
            return reject(
                Quarantine::UntrustedSender,
                "a follow-up sealed without the code's key".into(),
            );
        }
        _ => false,
    };
    match &letter {
        Letter::Report(report) => {
            tx.execute(
                "INSERT OR IGNORE INTO cases (case_id, profile, locale, reply_key, report_json, received_at, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'received')",
                params![
                    item.case_id,
                    report.profile,
                    report.locale,
                    report.reply_key.to_string(),
                    serde_json::to_string(&report.sections)?,
                    item.received_at
                ],
            )?;
            let refs: Vec<cluebox_protocol::evidence::FileRef> = report
                .sections
                .iter()
                .flat_map(|s| &s.fields)
                .filter_map(|f| match &f.answer {
                    cluebox_protocol::letter::Answer::Files(refs) => Some(refs.clone()),
                    _ => None,
                })
                .flatten()
                .collect();
            crate::evidence::open_files(tx, keys, item.seq, item.case_id, &refs)?;
        }
        Letter::FollowUp(_) | Letter::FollowUpWithFiles(_) => {
            let (text, files) = letter.follow_up().unwrap_or_default();
            tx.execute(
                "INSERT OR IGNORE INTO follow_ups (seq, case_id, text, received_at, authenticated)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    item.seq,
                    item.case_id,
                    text,
                    item.received_at,
                    authenticated
                ],
            )?;
            // Its own sealed list names its files, as a report's does.
            crate::evidence::open_files(tx, keys, item.seq, item.case_id, files)?;
        }
        Letter::Reply(_) | Letter::Status(_) => unreachable!("kinds were compared above"),
    }
    tx.execute(
        "UPDATE items SET opened_at = ?2 WHERE seq = ?1",
        params![item.seq, crate::now()],
    )?;
    if matches!(letter, Letter::Report(_)) {
        let repeats = crate::repeats::flag(tx, item.case_id)?;
        if repeats > 0 {
            audit::append(
                tx,
                actor,
                "flag",
                item.case_id,
                &format!("{repeats} possible repeat(s)"),
            )?;
        }
    }
    let what = match (&letter, authenticated) {
        (Letter::Report(_), _) => "report",
        (_, true) => "follow-up",
        (_, false) => "follow-up, unauthenticated (version 1)",
    };
    audit::append(
        tx,
        actor,
        "open",
        item.case_id,
        &format!("{what} (inbox item {})", item.seq),
    )?;
    Ok(Ok(()))
}

/// A quarantined item, as `quarantine list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// The inbox position.
    pub seq: u64,
    /// The case it was filed under.
    pub case_id: String,
    /// `report` or `follow_up`.
    pub kind: String,
    /// The reason's name ([`Quarantine::name`]).
    pub reason: String,
    /// The error in detail.
    pub detail: String,
    /// When it was set aside.
    pub at: u64,
}

/// Every quarantined item, oldest first.
pub fn quarantined(conn: &Connection) -> anyhow::Result<Vec<Quarantined>> {
    Ok(conn
        .prepare(
            "SELECT seq, case_id, kind, quarantine_reason, coalesce(quarantine_detail, ''), quarantined_at
             FROM items WHERE quarantine_reason IS NOT NULL ORDER BY seq",
        )?
        .query_map([], |r| {
            Ok(Quarantined {
                seq: r.get(0)?,
                case_id: r.get(1)?,
                kind: r.get(2)?,
                reason: r.get(3)?,
                detail: r.get(4)?,
                at: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// Returns quarantined items (all, or those with `reason`) to the queue, so that the next
/// [`open_pending`] tries them again; returns how many.
pub fn release(conn: &Connection, reason: Option<&str>, actor: &str) -> anyhow::Result<u64> {
    let n = conn.execute(
        "UPDATE items SET quarantine_reason = NULL, quarantine_detail = NULL, quarantined_at = NULL
         WHERE quarantine_reason IS NOT NULL AND (?1 IS NULL OR quarantine_reason = ?1)",
        params![reason],
    )? as u64;
    audit::append(
        conn,
        actor,
        "quarantine",
        "items",
        &format!(
            "{n} item(s) released for another try ({})",
            reason.unwrap_or("all reasons")
        ),
    )?;
    Ok(n)
}

/// The case whose id ends with `part` (the short id the desk shows: [`crate::cases::short`])
/// or starts with it, at least 6 characters, unambiguous.
pub fn find_case(conn: &Connection, part: &str) -> anyhow::Result<String> {
    anyhow::ensure!(
        part.len() >= 6 && part.chars().all(|c| c.is_ascii_alphanumeric()),
        "give at least 6 characters of the case id (letters and digits)"
    );
    let mut stmt = conn.prepare(
        "SELECT case_id FROM cases WHERE case_id LIKE '%' || ?1 OR case_id LIKE ?1 || '%' LIMIT 2",
    )?;
    let found: Vec<String> = stmt
        .query_map([part], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => anyhow::bail!("no case id starts or ends with {part}"),
        _ => {
            anyhow::bail!("more than one case id starts or ends with {part}; give more characters")
        }
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
