//! The handling procedure (12337 and 12389): received, accepted or not accepted, assigned to a
//! unit, verifying, concluded, feedback given, follow-up visit, archived.
//!
//! Each transition records who, when, the note and its details in the intranet (`events`), and
//! appends to the audit log. What the reporter may see is exactly [`PublicChange`]: the new status
//! and its day, queued in `outbox` for the API together with the same change sealed as a status
//! letter. Notes, units, departments, reasons, results and names stay here.
//!
//! Every reply and status letter is sealed **with the office key** to the reporter's key read
//! from inside their report, and numbered per case, so the status page can tell the office's
//! messages from anything the server makes up, and notice one that is withheld or replayed.

use cluebox_protocol::envelope::{self, REPORT_LIMIT};
use cluebox_protocol::keys::{PublicKey, SecretKey};
use cluebox_protocol::letter::{Letter, Reply, StatusNote};
use cluebox_protocol::wire::{IdempotencyKey, day_of};
use rusqlite::{Connection, Transaction, params};

use crate::audit;

/// The states, in procedure order.
pub const STATES: [&str; 9] = [
    "received",
    "accepted",
    "not_accepted",
    "assigned",
    "verifying",
    "concluded",
    "feedback_given",
    "visited",
    "archived",
];

/// The procedure's main line, in order (every state but `not_accepted`).
pub const MAIN_LINE: [&str; 8] = [
    "received",
    "accepted",
    "assigned",
    "verifying",
    "concluded",
    "feedback_given",
    "visited",
    "archived",
];

/// Which states may follow which.
pub fn allowed(from: &str, to: &str) -> bool {
    matches!(
        (from, to),
        ("received", "accepted" | "not_accepted")
            | ("accepted", "assigned")
            | ("assigned", "verifying")
            | ("verifying", "concluded")
            | ("concluded", "feedback_given")
            | ("feedback_given", "visited" | "archived")
            | ("visited", "archived")
            | ("not_accepted", "archived")
    )
}

/// What a transition needs besides the target state. Stays in the intranet.
#[derive(Debug, Default, Clone)]
pub struct Details {
    /// Free text, for the file.
    pub note: String,
    /// `assigned`: the unit handling it.
    pub unit: Option<String>,
    /// `not_accepted`: the competent department it is passed to.
    pub department: Option<String>,
    /// `not_accepted`: why.
    pub reason: Option<String>,
    /// `concluded`: the result of verification.
    pub result: Option<String>,
}

/// The details a move to `to` needs: `unit` to assign, `department` and `reason` to pass a
/// report on as not accepted, `result` to conclude.
pub fn needs(to: &str) -> &'static [&'static str] {
    match to {
        "not_accepted" => &["department", "reason"],
        "assigned" => &["unit"],
        "concluded" => &["result"],
        _ => &[],
    }
}

/// The first detail a move to `to` needs that `d` lacks (a name from [`needs`]).
pub fn missing(to: &str, d: &Details) -> Option<&'static str> {
    needs(to).iter().copied().find(|what| {
        let value = match *what {
            "unit" => &d.unit,
            "department" => &d.department,
            "reason" => &d.reason,
            _ => &d.result,
        };
        value.as_deref().is_none_or(|v| v.trim().is_empty())
    })
}

/// What a member of staff must be allowed ([`crate::staff::may`]) to move a case to `to`:
/// intake accepts or passes on; a leader assigns (批办) and archives; the handling unit verifies,
/// concludes, gives feedback and visits.
pub fn permission(to: &str) -> crate::staff::Action {
    use crate::staff::Action;
    match to {
        "accepted" | "not_accepted" => Action::Accept,
        "assigned" | "archived" => Action::Approve,
        _ => Action::Handle,
    }
}

/// The only part of a transition the reporter sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicChange {
    /// The new status id.
    pub status: String,
    /// The day (Unix seconds, midnight UTC).
    pub at: u64,
}

/// Seals `letter_for(seq)` with `office` to the case's reply key, taking the case's next office
/// message number, inside `tx`.
fn seal_office_letter(
    tx: &Transaction<'_>,
    case_id: &str,
    office: &SecretKey,
    letter_for: impl FnOnce(u32) -> Letter,
) -> anyhow::Result<Vec<u8>> {
    let (key, seq): (String, u32) = tx.query_row(
        "UPDATE cases SET office_seq = office_seq + 1 WHERE case_id = ?1 RETURNING reply_key, office_seq",
        [case_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let key: PublicKey = key.parse()?;
    Ok(envelope::seal_from(
        office,
        &[key],
        &letter_for(seq).to_bytes(),
        REPORT_LIMIT,
    )?)
}

/// Moves a case to `to`, or says in a sentence why the procedure does not allow it.
///
/// `office` seals the status letter (the desk's first key).
pub fn transition(
    conn: &mut Connection,
    office: &SecretKey,
    case_id: &str,
    to: &str,
    d: &Details,
    actor: &str,
) -> anyhow::Result<PublicChange> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let public = move_in(&tx, office, case_id, to, d, actor)?;
    tx.commit()?;
    Ok(public)
}

/// [`transition`] inside the caller's transaction (an approval and the move it approves land
/// together). The case's state is read inside it, so two moves at once cannot both pass.
pub fn move_in(
    tx: &Transaction<'_>,
    office: &SecretKey,
    case_id: &str,
    to: &str,
    d: &Details,
    actor: &str,
) -> anyhow::Result<PublicChange> {
    anyhow::ensure!(
        STATES.contains(&to),
        "{to:?} is not a state; states: {}",
        STATES.join(", ")
    );
    let from: String = tx.query_row(
        "SELECT status FROM cases WHERE case_id = ?1",
        [case_id],
        |r| r.get(0),
    )?;
    anyhow::ensure!(
        allowed(&from, to),
        "a case that is {from} cannot become {to}; next steps from {from}: {}",
        STATES
            .iter()
            .filter(|s| allowed(&from, s))
            .copied()
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(what) = missing(to, d) {
        anyhow::bail!("{to} needs --{what}");
    }
    if let Some(why) = crate::procedure::unmet(tx, case_id, to)? {
        anyhow::bail!("{why}");
    }
    let at = crate::now();
    let day = day_of(at);
    let detail = serde_json::json!({
        "unit": d.unit, "department": d.department, "reason": d.reason, "result": d.result,
    })
    .to_string();
    tx.execute(
        "INSERT INTO events (case_id, at, actor, from_status, to_status, note, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![case_id, at, actor, from, to, d.note, detail],
    )?;
    tx.execute(
        "UPDATE cases SET status = ?2 WHERE case_id = ?1",
        params![case_id, to],
    )?;
    if to == "accepted" {
        tx.execute(
            "UPDATE cases SET accepted_at = ?2 WHERE case_id = ?1",
            params![case_id, at],
        )?;
    }
    if let Some(unit) = &d.unit {
        tx.execute(
            "UPDATE cases SET unit = ?2 WHERE case_id = ?1",
            params![case_id, unit],
        )?;
    }
    let public = PublicChange {
        status: to.to_owned(),
        at: day,
    };
    let sealed = seal_office_letter(tx, case_id, office, |seq| {
        Letter::Status(StatusNote {
            seq,
            status: public.status.clone(),
            at: public.at,
        })
    })?;
    tx.execute(
        "INSERT INTO outbox (case_id, kind, status, sealed, at, idempotency_key) VALUES (?1, 'status', ?2, ?3, ?4, ?5)",
        params![case_id, public.status, sealed, public.at, IdempotencyKey::generate().as_str()],
    )?;
    audit::append(tx, actor, "transition", case_id, &format!("{from} -> {to}"))?;
    Ok(public)
}

/// Seals a reply with `office` to the reporter's key (the one inside their report) and queues
/// it.
pub fn reply(
    conn: &mut Connection,
    office: &SecretKey,
    case_id: &str,
    text: &str,
    actor: &str,
) -> anyhow::Result<()> {
    anyhow::ensure!(!text.trim().is_empty(), "the reply is empty");
    let tx = conn.transaction()?;
    let sealed = seal_office_letter(&tx, case_id, office, |seq| {
        Letter::Reply(Reply {
            seq,
            text: text.trim().to_owned(),
        })
    })?;
    tx.execute(
        "INSERT INTO outbox (case_id, kind, sealed, at, idempotency_key) VALUES (?1, 'reply', ?2, ?3, ?4)",
        params![case_id, sealed, day_of(crate::now()), IdempotencyKey::generate().as_str()],
    )?;
    audit::append(
        &tx,
        actor,
        "reply",
        case_id,
        &format!(
            "{} characters, sealed to the reporter",
            text.chars().count()
        ),
    )?;
    tx.commit()?;
    Ok(())
}

/// Extends a case's handling deadline by `days` and tells the reporter, in a reply sealed to
/// their key, why it takes longer (12389: special cases within the 30 days).
pub fn delay(
    conn: &mut Connection,
    office: &SecretKey,
    case_id: &str,
    days: u64,
    reason: &str,
    message: &str,
    actor: &str,
) -> anyhow::Result<()> {
    let status: String = conn.query_row(
        "SELECT status FROM cases WHERE case_id = ?1",
        [case_id],
        |r| r.get(0),
    )?;
    anyhow::ensure!(
        ["accepted", "assigned", "verifying"].contains(&status.as_str()),
        "only a case being handled can be delayed; this one is {status}"
    );
    anyhow::ensure!((1..=365).contains(&days), "--days takes 1 to 365");
    anyhow::ensure!(
        !reason.trim().is_empty(),
        "a delay needs --reason (kept in the intranet)"
    );
    reply(conn, office, case_id, message, actor)?;
    let tx = conn.transaction()?;
    tx.execute(
        "UPDATE cases SET extension_days = extension_days + ?2 WHERE case_id = ?1",
        params![case_id, days],
    )?;
    tx.execute(
        "INSERT INTO events (case_id, at, actor, from_status, to_status, note, detail) VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)",
        params![case_id, crate::now(), actor, status, reason, serde_json::json!({ "extended_days": days }).to_string()],
    )?;
    audit::append(
        &tx,
        actor,
        "delay",
        case_id,
        &format!("{days} more days; the reporter was told"),
    )?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_procedure_moves_forward_only() {
        let path = MAIN_LINE;
        for w in path.windows(2) {
            assert!(allowed(w[0], w[1]), "{} -> {}", w[0], w[1]);
            assert!(!allowed(w[1], w[0]), "{} -> {} backwards", w[1], w[0]);
        }
        assert!(allowed("received", "not_accepted") && allowed("not_accepted", "archived"));
        assert!(!allowed("received", "concluded"));
        assert!(!allowed("archived", "received"));
    }
}
