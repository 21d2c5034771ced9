//! The procedure as an office runs it, on top of [`crate::workflow`]'s moves: moves that wait
//! for approval, contacts with real-name reporters, follow-up visits, and the rules a move must
//! meet. The web desk and the command line use these same functions.
//!
//! - **Approvals.** A profile may say that assignments (批办) need a leader's approval, that
//!   conclusions do, and that a conclusion stands only when a second account confirms it
//!   (double verification). Such a move is proposed ([`propose`]), waits (one per case), and
//!   happens only when someone allowed approves it ([`decide`]), in the same transaction. The
//!   account that proposed it can never approve it.
//! - **Feedback given** needs a reply sealed to the reporter after the conclusion, or, for a
//!   real-name report, a contact recorded after it ([`record_contact`]).
//! - **Visited** needs a follow-up visit recorded ([`record_visit`]) with its outcome.

use cluebox_protocol::keys::SecretKey;
use cluebox_protocol::profile::Procedure;
use rusqlite::{Connection, OptionalExtension as _, Transaction, params};

use crate::audit;
use crate::staff::{Action, Role, Staff};
use crate::workflow::{self, Details};

/// Who must approve a move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Approval {
    /// A leader.
    pub leader: bool,
    /// A second account (not the one that proposed it).
    pub second: bool,
}

/// Who must approve a move to `to` proposed by `by`, under `procedure`; `None` when it may
/// happen at once. A leader's own assignment or conclusion is its own approval; double
/// verification always needs a second account.
pub fn approval(procedure: &Procedure, to: &str, by: &Staff) -> Option<Approval> {
    let leader = match to {
        "assigned" => procedure.approve_assignment,
        "concluded" => procedure.approve_conclusion,
        _ => false,
    };
    let second = to == "concluded" && procedure.double_verification;
    ((leader && by.role != Role::Leader) || second).then_some(Approval {
        leader,
        second: true,
    })
}

/// A move waiting for approval.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Its number.
    pub id: i64,
    /// The case.
    pub case_id: String,
    /// The state it would move to.
    pub to: String,
    /// What was proposed with it.
    pub details: Details,
    /// Who proposed it.
    pub proposed_by: String,
    /// When (unix seconds).
    pub proposed_at: u64,
}

fn details_json(d: &Details) -> String {
    serde_json::json!({
        "note": d.note, "unit": d.unit, "department": d.department, "reason": d.reason,
        "result": d.result,
    })
    .to_string()
}

fn details_of(json: &str) -> Details {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
    Details {
        note: text("note").unwrap_or_default(),
        unit: text("unit"),
        department: text("department"),
        reason: text("reason"),
        result: text("result"),
    }
}

/// Proposes a move that needs approval. It must be one the procedure allows now, with the
/// details it needs; a case has at most one proposal waiting.
pub fn propose(
    conn: &mut Connection,
    case_id: &str,
    to: &str,
    d: &Details,
    by: &str,
) -> anyhow::Result<i64> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let from: String = tx.query_row(
        "SELECT status FROM cases WHERE case_id = ?1",
        [case_id],
        |r| r.get(0),
    )?;
    anyhow::ensure!(
        workflow::allowed(&from, to),
        "a case that is {from} cannot become {to}"
    );
    if let Some(what) = workflow::missing(to, d) {
        anyhow::bail!("{to} needs --{what}");
    }
    anyhow::ensure!(
        pending_in(&tx, case_id)?.is_none(),
        "this case already has a move waiting for approval"
    );
    tx.execute(
        "INSERT INTO approvals (case_id, to_status, detail, proposed_by, proposed_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![case_id, to, details_json(d), by, crate::now()],
    )?;
    let id = tx.last_insert_rowid();
    audit::append(
        &tx,
        by,
        "approval.proposed",
        case_id,
        &format!("{from} -> {to} (approval {id})"),
    )?;
    tx.commit()?;
    Ok(id)
}

fn pending_in(conn: &Connection, case_id: &str) -> anyhow::Result<Option<Pending>> {
    Ok(conn
        .query_row(
            "SELECT id, to_status, detail, proposed_by, proposed_at FROM approvals WHERE case_id = ?1 AND state = 'pending'",
            [case_id],
            |r| {
                Ok(Pending {
                    id: r.get(0)?,
                    case_id: case_id.to_owned(),
                    to: r.get(1)?,
                    details: details_of(&r.get::<_, String>(2)?),
                    proposed_by: r.get(3)?,
                    proposed_at: r.get(4)?,
                })
            },
        )
        .optional()?)
}

/// The move waiting for approval on a case, if any.
pub fn pending(conn: &Connection, case_id: &str) -> anyhow::Result<Option<Pending>> {
    pending_in(conn, case_id)
}

/// Whether `by` may decide on `p` (`Err` says why not, in a sentence). `needs` is
/// [`approval`] for the proposer. The caller also checks that `by` may work on the case's
/// region ([`crate::staff::may`]).
pub fn may_decide(p: &Pending, needs: Approval, by: &Staff) -> Result<(), String> {
    if by.login == p.proposed_by {
        return Err("the account that proposed a move cannot approve it".into());
    }
    if needs.leader && by.role != Role::Leader {
        return Err("this move needs a leader's approval".into());
    }
    if !matches!(by.role, Role::Leader | Role::Handler) {
        return Err(format!(
            "the {} role does not confirm moves",
            by.role.as_str()
        ));
    }
    Ok(())
}

/// Whether `who` may move (or propose moving) a case of `region` to `to`. A move that needs
/// approval may be proposed by whoever prepares it: an assignment by intake, a conclusion by
/// its handler.
pub fn may_move(
    who: &Staff,
    procedure: &Procedure,
    to: &str,
    region: Option<&str>,
) -> Result<(), String> {
    if approval(procedure, to, who).is_some() && to == "assigned" {
        return crate::staff::may(who, Action::Accept, region)
            .or_else(|_| crate::staff::may(who, Action::Approve, region));
    }
    crate::staff::may(who, workflow::permission(to), region)
}

/// Whether `who` may approve or refuse the waiting move `p` on a case of `region`: a leader
/// where one must approve, otherwise a second account that works on the case; never the
/// proposer. `Ok(Err(why))` when not.
pub fn may_decide_on(
    conn: &Connection,
    procedure: &Procedure,
    p: &Pending,
    who: &Staff,
    region: Option<&str>,
) -> anyhow::Result<Result<(), String>> {
    let Some(proposer) = crate::staff::get(conn, &p.proposed_by)? else {
        return Ok(Err(
            "the account that proposed this move no longer exists".into()
        ));
    };
    let needs = approval(procedure, &p.to, &proposer).unwrap_or(Approval {
        leader: false,
        second: true,
    });
    let permission = if needs.leader {
        Action::Approve
    } else {
        Action::Handle
    };
    Ok(crate::staff::may(who, permission, region).and_then(|()| may_decide(p, needs, who)))
}

/// Approves (making the move, sealed and queued like any other) or refuses (with a reason)
/// the waiting move `id`. The caller has checked [`may_decide`].
pub fn decide(
    conn: &mut Connection,
    office: &SecretKey,
    id: i64,
    approve: bool,
    reason: &str,
    by: &str,
) -> anyhow::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let case_id: String = tx
        .query_row(
            "SELECT case_id FROM approvals WHERE id = ?1 AND state = 'pending'",
            [id],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| anyhow::anyhow!("approval {id} is not waiting (decided already?)"))?;
    let p = pending_in(&tx, &case_id)?.expect("the row just read");
    anyhow::ensure!(
        approve || !reason.trim().is_empty(),
        "refusing a proposal needs a reason"
    );
    tx.execute(
        "UPDATE approvals SET state = ?2, decided_by = ?3, decided_at = ?4, reason = ?5 WHERE id = ?1",
        params![
            id,
            if approve { "approved" } else { "refused" },
            by,
            crate::now(),
            reason.trim()
        ],
    )?;
    if approve {
        let mut details = p.details.clone();
        details.note = format!(
            "{} [proposed by {}, approved by {by}]",
            details.note, p.proposed_by
        )
        .trim_start()
        .to_owned();
        workflow::move_in(&tx, office, &case_id, &p.to, &details, by)?;
    }
    audit::append(
        &tx,
        by,
        if approve {
            "approval.approved"
        } else {
            "approval.refused"
        },
        &case_id,
        &format!(
            "approval {id}: {} by {}; {}",
            p.to,
            p.proposed_by,
            reason.trim()
        ),
    )?;
    tx.commit()?;
    Ok(())
}

/// Why a move to `to` cannot happen yet under the procedure's rules, in a sentence; `None`
/// when it can. (Checked inside every move's transaction.)
pub fn unmet(tx: &Transaction<'_>, case_id: &str, to: &str) -> anyhow::Result<Option<String>> {
    if pending_in(tx, case_id)?.is_some() {
        return Ok(Some(
            "this case has a move waiting for approval: approve or refuse it first".into(),
        ));
    }
    match to {
        "feedback_given" => {
            let told: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM outbox WHERE case_id = ?1 AND kind = 'reply' AND id > (SELECT COALESCE(MAX(id), 0) FROM outbox WHERE case_id = ?1 AND kind = 'status' AND status = 'concluded'))
                     OR EXISTS (SELECT 1 FROM contacts WHERE case_id = ?1 AND recorded_at >= (SELECT COALESCE(MAX(at), 0) FROM events WHERE case_id = ?1 AND to_status = 'concluded'))",
                [case_id],
                |r| r.get(0),
            )?;
            Ok((!told).then(|| {
                "feedback given needs a reply sealed to the reporter after the conclusion, or \
                 for a real-name report a contact recorded after it"
                    .to_owned()
            }))
        }
        "visited" => {
            let visited: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM visits WHERE case_id = ?1)",
                [case_id],
                |r| r.get(0),
            )?;
            Ok((!visited).then(|| "visited needs the follow-up visit recorded first".to_owned()))
        }
        _ => Ok(None),
    }
}

/// The ways staff contact a reporter outside Cluebox.
pub const CHANNELS: [&str; 4] = ["phone", "sms", "in_person", "letter"];
/// What a follow-up visit found.
pub const VISIT_OUTCOMES: [&str; 3] = ["satisfied", "not_satisfied", "unreachable"];

/// Records a contact with a real-name reporter: the day, the channel, what came of it.
pub fn record_contact(
    conn: &mut Connection,
    case_id: &str,
    on_day: u64,
    channel: &str,
    outcome: &str,
    by: &str,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        CHANNELS.contains(&channel),
        "the channel is one of {}",
        CHANNELS.join(", ")
    );
    anyhow::ensure!(
        !outcome.trim().is_empty(),
        "a contact needs its outcome (what was said)"
    );
    let row =
        crate::reports::case(conn, case_id)?.ok_or_else(|| anyhow::anyhow!("no case {case_id}"))?;
    anyhow::ensure!(
        row.real_name(),
        "only a real-name reporter can be contacted outside Cluebox; reply to an anonymous one"
    );
    anyhow::ensure!(
        on_day <= crate::now(),
        "a contact is recorded after it happened"
    );
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO contacts (case_id, on_day, channel, outcome, recorded_by, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![case_id, cluebox_protocol::wire::day_of(on_day), channel, outcome.trim(), by, crate::now()],
    )?;
    audit::append(&tx, by, "contact", case_id, channel)?;
    tx.commit()?;
    Ok(())
}

/// Records a follow-up visit (回访): the day, satisfied / not satisfied / unreachable, a note.
/// The case must have had its feedback.
pub fn record_visit(
    conn: &mut Connection,
    case_id: &str,
    on_day: u64,
    outcome: &str,
    note: &str,
    by: &str,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        VISIT_OUTCOMES.contains(&outcome),
        "the outcome is one of {}",
        VISIT_OUTCOMES.join(", ")
    );
    let row =
        crate::reports::case(conn, case_id)?.ok_or_else(|| anyhow::anyhow!("no case {case_id}"))?;
    anyhow::ensure!(
        matches!(
            row.status.as_str(),
            "feedback_given" | "visited" | "archived"
        ),
        "a follow-up visit comes after feedback; this case is {}",
        row.status
    );
    anyhow::ensure!(
        on_day <= crate::now(),
        "a visit is recorded after it happened"
    );
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO visits (case_id, on_day, outcome, note, recorded_by, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![case_id, cluebox_protocol::wire::day_of(on_day), outcome, note.trim(), by, crate::now()],
    )?;
    audit::append(&tx, by, "visit", case_id, outcome)?;
    tx.commit()?;
    Ok(())
}

/// A recorded contact or visit, for the case page.
#[derive(Debug, Clone)]
pub struct Record {
    /// `contact` or `visit`.
    pub kind: &'static str,
    /// The day it happened.
    pub on_day: u64,
    /// The channel (contacts) or outcome id (visits).
    pub what: String,
    /// The outcome text (contacts) or note (visits).
    pub text: String,
    /// Who recorded it.
    pub by: String,
}

/// A case's contacts and visits, oldest first.
pub fn records(conn: &Connection, case_id: &str) -> anyhow::Result<Vec<Record>> {
    let mut out = Vec::new();
    for (kind, sql) in [
        (
            "contact",
            "SELECT on_day, channel, outcome, recorded_by FROM contacts WHERE case_id = ?1 ORDER BY id",
        ),
        (
            "visit",
            "SELECT on_day, outcome, note, recorded_by FROM visits WHERE case_id = ?1 ORDER BY id",
        ),
    ] {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map([case_id], |r| {
            Ok(Record {
                kind,
                on_day: r.get(0)?,
                what: r.get(1)?,
                text: r.get(2)?,
                by: r.get(3)?,
            })
        })?;
        for row in rows {
            out.push(row?);
        }
    }
    out.sort_by_key(|r| r.on_day);
    Ok(out)
}

/// Each visited case's latest visit outcome, by case id.
pub fn latest_visits(
    conn: &Connection,
) -> anyhow::Result<std::collections::HashMap<String, String>> {
    let mut stmt = conn.prepare(
        "SELECT case_id, outcome FROM visits v WHERE id = (SELECT MAX(id) FROM visits w WHERE w.case_id = v.case_id)",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
