//! Reading cases for management: filters, deadlines, the monthly follow-up sample, statistics.
//!
//! Everything here reads the desk database; only [`sample`] writes (its draw goes into the
//! audit log with its seed, so anyone can redo it).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use cluebox_protocol::letter::{Answer, SectionAnswers};
use cluebox_protocol::profile::Deadlines;
use rusqlite::Connection;
use sha2::{Digest as _, Sha256};

use crate::audit;

const DAY: u64 = 86_400;

/// A case as these reports see it.
#[derive(Debug, Clone)]
pub struct CaseRow {
    /// Case id.
    pub id: String,
    /// Hotline profile.
    pub profile: String,
    /// Current state.
    pub status: String,
    /// When the report arrived.
    pub received_at: u64,
    /// When it was accepted, if it was.
    pub accepted_at: Option<u64>,
    /// The handling unit, if assigned.
    pub unit: Option<String>,
    /// Days added to the handling deadlines (`delay`).
    pub extension_days: u64,
    /// The answers.
    pub sections: Vec<SectionAnswers>,
}

impl CaseRow {
    /// An answer by field id (the first section that has it).
    pub fn answer(&self, field: &str) -> Option<&str> {
        self.sections
            .iter()
            .flat_map(|s| &s.fields)
            .find(|f| f.id == field)
            .and_then(|f| match &f.answer {
                Answer::Given(v) => Some(v.as_str()),
                Answer::Unclear | Answer::Files(_) => None,
            })
    }

    /// The region the report names (the `region` field of the built-in profiles), which decides
    /// which handlers see the case.
    pub fn region(&self) -> Option<&str> {
        self.answer("region")
    }

    /// Whether the reporter gave their real name.
    pub fn real_name(&self) -> bool {
        self.answer("identity") == Some("real_name")
    }

    /// The next deadline this case has to meet, with what it is for, if any.
    pub fn next_deadline(&self, d: &Deadlines) -> Option<(u64, &'static str)> {
        let order = crate::workflow::MAIN_LINE;
        let reached = |state: &str| {
            let pos = |s: &str| order.iter().position(|o| *o == s);
            match (pos(&self.status), pos(state)) {
                (Some(now), Some(goal)) => now >= goal,
                _ => self.status == "not_accepted" || self.status == "archived",
            }
        };
        let mut due = Vec::new();
        if let Some(days) = d.acknowledge_days
            && !reached("accepted")
        {
            due.push((self.received_at + u64::from(days) * DAY, "acknowledge"));
        }
        if let (Some(days), Some(accepted)) = (d.contact_days, self.accepted_at)
            && !reached("feedback_given")
        {
            due.push((
                accepted + (u64::from(days) + self.extension_days) * DAY,
                "contact the reporter",
            ));
        }
        if let (Some(days), Some(accepted)) = (d.handle_days, self.accepted_at)
            && !reached("concluded")
        {
            due.push((
                accepted + (u64::from(days) + self.extension_days) * DAY,
                "conclude handling",
            ));
        }
        if let Some(days) = d.feedback_days
            && !reached("feedback_given")
        {
            due.push((self.received_at + u64::from(days) * DAY, "give feedback"));
        }
        due.into_iter().min()
    }
}

const CASE_COLUMNS: &str = "SELECT case_id, profile, status, received_at, accepted_at, unit, report_json, extension_days FROM cases";

fn case_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(CaseRow, String)> {
    Ok((
        CaseRow {
            id: r.get(0)?,
            profile: r.get(1)?,
            status: r.get(2)?,
            received_at: r.get(3)?,
            accepted_at: r.get(4)?,
            unit: r.get(5)?,
            extension_days: r.get(7)?,
            sections: Vec::new(),
        },
        r.get(6)?,
    ))
}

fn with_answers((mut row, json): (CaseRow, String)) -> anyhow::Result<CaseRow> {
    row.sections = serde_json::from_str(&json)?;
    Ok(row)
}

/// Every case.
pub fn cases(conn: &Connection) -> anyhow::Result<Vec<CaseRow>> {
    let mut stmt = conn.prepare(&format!("{CASE_COLUMNS} ORDER BY received_at, case_id"))?;
    let rows = stmt.query_map([], case_row)?;
    rows.map(|row| with_answers(row?)).collect()
}

/// One case, by its full id.
pub fn case(conn: &Connection, case_id: &str) -> anyhow::Result<Option<CaseRow>> {
    use rusqlite::OptionalExtension as _;
    conn.query_row(
        &format!("{CASE_COLUMNS} WHERE case_id = ?1"),
        [case_id],
        case_row,
    )
    .optional()?
    .map(with_answers)
    .transpose()
}

fn deadlines(profiles: &crate::Profiles, profile: &str) -> Deadlines {
    profiles
        .get(profile)
        .map(|p| p.deadlines)
        .unwrap_or_default()
}

/// Cases that are late, or due within `within_days`, soonest first: one line each.
pub fn overdue(
    conn: &Connection,
    profiles: &crate::Profiles,
    now: u64,
    within_days: u64,
    include: impl Fn(&CaseRow) -> bool,
) -> anyhow::Result<String> {
    let mut rows: Vec<(u64, &'static str, CaseRow)> = cases(conn)?
        .into_iter()
        .filter(|c| include(c))
        .filter_map(|c| {
            c.next_deadline(&deadlines(profiles, &c.profile))
                .map(|(due, what)| (due, what, c))
        })
        .filter(|(due, _, _)| *due <= now + within_days * DAY)
        .collect();
    rows.sort_by_key(|(due, _, c)| (*due, c.id.clone()));
    let mut out = String::from("CASE      DUE               LATE  TO DO\n");
    for (due, what, c) in rows {
        let late = if due < now {
            format!("{}d", (now - due).div_ceil(DAY))
        } else {
            "-".into()
        };
        writeln!(
            out,
            "{:<9} {:<17} {:<5} {what}",
            crate::cases::short(&c.id),
            crate::cases::date(due),
            late
        )?;
    }
    Ok(out)
}

/// The monthly follow-up visit draw: `count` real-name cases concluded in `month` (`YYYY-MM`),
/// chosen by SHA-256(seed || case id). The same seed gives the same draw; the draw and its seed
/// go into the audit log.
pub fn sample(
    conn: &Connection,
    month: &str,
    count: usize,
    seed: &str,
    actor: &str,
) -> anyhow::Result<Vec<String>> {
    let (start, end) = month_bounds(month)?;
    let mut stmt = conn.prepare(
        "SELECT DISTINCT case_id FROM events WHERE to_status = 'concluded' AND at >= ?1 AND at < ?2",
    )?;
    let concluded: Vec<String> = stmt
        .query_map([start, end], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let all = cases(conn)?;
    let mut eligible: Vec<(String, String)> = all
        .iter()
        .filter(|c| c.real_name() && concluded.contains(&c.id))
        .map(|c| {
            (
                hex::encode(Sha256::digest(format!("{seed}\0{}", c.id))),
                c.id.clone(),
            )
        })
        .collect();
    eligible.sort();
    let drawn: Vec<String> = eligible.into_iter().take(count).map(|(_, id)| id).collect();
    audit::append(
        conn,
        actor,
        "sample",
        month,
        &format!(
            "seed {seed}; {count} asked; drawn: {}",
            if drawn.is_empty() {
                "none".into()
            } else {
                drawn.join(" ")
            }
        ),
    )?;
    Ok(drawn)
}

/// A draw of the monthly sample, as the audit log keeps it.
#[derive(Debug, Clone)]
pub struct Draw {
    /// The month drawn (`YYYY-MM`).
    pub month: String,
    /// When (unix seconds).
    pub at: i64,
    /// Who drew.
    pub by: String,
    /// The seed and what was asked and drawn, as recorded.
    pub detail: String,
    /// The cases drawn.
    pub cases: Vec<String>,
}

/// Every sample draw, newest first (read back from the audit log, where [`sample`] writes it).
pub fn draws(conn: &Connection) -> anyhow::Result<Vec<Draw>> {
    let mut stmt = conn.prepare(
        "SELECT subject, at, actor, detail FROM audit WHERE action = 'sample' ORDER BY id DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        let detail: String = r.get(3)?;
        let cases = detail
            .split_once("drawn: ")
            .map(|(_, d)| {
                d.split(' ')
                    .filter(|c| *c != "none" && !c.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Draw {
            month: r.get(0)?,
            at: r.get(1)?,
            by: r.get(2)?,
            detail,
            cases,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Unix seconds of the first instant of `YYYY-MM` and of the next month (UTC).
pub fn month_bounds(month: &str) -> anyhow::Result<(u64, u64)> {
    let (y, m) = month
        .split_once('-')
        .and_then(|(y, m)| Some((y.parse::<i64>().ok()?, m.parse::<u32>().ok()?)))
        .filter(|(_, m)| (1..=12).contains(m))
        .ok_or_else(|| anyhow::anyhow!("--month takes YYYY-MM, not {month:?}"))?;
    let first = |y: i64, m: u32| -> anyhow::Result<u64> {
        let month = time::Month::try_from(u8::try_from(m)?)?;
        let date = time::Date::from_calendar_date(i32::try_from(y)?, month, 1)?;
        Ok(u64::try_from(
            date.midnight().assume_utc().unix_timestamp(),
        )?)
    };
    let next = if m == 12 {
        first(y + 1, 1)?
    } else {
        first(y, m + 1)?
    };
    Ok((first(y, m)?, next))
}

/// Case counts by group (`category`, `region`, `month`, `status`, `overdue`, `visit`), then by
/// key.
pub type Counts = BTreeMap<&'static str, BTreeMap<String, u64>>;

/// Counts the cases `include` keeps: by category, region, month received, status, whether
/// overdue, and the latest follow-up visit's outcome (`none` before a visit). The command
/// line's `stats` and the web desk's statistics page both count with this.
pub fn counts(
    conn: &Connection,
    profiles: &crate::Profiles,
    now: u64,
    include: impl Fn(&CaseRow) -> bool,
) -> anyhow::Result<Counts> {
    let visits = crate::procedure::latest_visits(conn)?;
    let mut groups = Counts::new();
    for c in cases(conn)?.into_iter().filter(|c| include(c)) {
        let mut add = |what: &'static str, key: String| {
            *groups.entry(what).or_default().entry(key).or_default() += 1
        };
        add(
            "category",
            c.answer("category").unwrap_or("unclear").to_owned(),
        );
        add("region", c.region().unwrap_or("unclear").to_owned());
        add("month", crate::cases::day(c.received_at)[..7].to_owned());
        add("status", c.status.clone());
        let late = c
            .next_deadline(&deadlines(profiles, &c.profile))
            .is_some_and(|(due, _)| due < now);
        add("overdue", if late { "yes" } else { "no" }.to_owned());
        add(
            "visit",
            visits.get(&c.id).cloned().unwrap_or_else(|| "none".into()),
        );
    }
    Ok(groups)
}

/// Counts by category, region, month, status, overdue and visit outcome: a table, or CSV
/// (`what,key,count`).
pub fn stats(
    conn: &Connection,
    profiles: &crate::Profiles,
    now: u64,
    csv: bool,
    include: impl Fn(&CaseRow) -> bool,
) -> anyhow::Result<String> {
    let groups = counts(conn, profiles, now, include)?;
    if csv {
        let header = vec!["what".into(), "key".into(), "count".into()];
        let rows = groups.iter().flat_map(|(what, counts)| {
            counts.iter().map(|(key, n)| {
                vec![
                    std::borrow::Cow::Borrowed(*what),
                    std::borrow::Cow::Borrowed(key.as_str()),
                    std::borrow::Cow::Owned(n.to_string()),
                ]
            })
        });
        return crate::text::csv(std::iter::once(header).chain(rows));
    }
    let mut out = String::new();
    for (what, counts) in &groups {
        writeln!(out, "== {what}")?;
        for (key, n) in counts {
            writeln!(out, "  {:<24} {n}", crate::text::line(key))?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(status: &str, accepted_at: Option<u64>, extension_days: u64) -> CaseRow {
        CaseRow {
            id: "c".repeat(32),
            profile: "x".into(),
            status: status.into(),
            received_at: 1_000 * DAY,
            accepted_at,
            unit: None,
            extension_days,
            sections: vec![],
        }
    }

    #[test]
    fn eu_style_deadlines_acknowledge_then_feedback() {
        let eu = Deadlines {
            acknowledge_days: Some(7),
            feedback_days: Some(90),
            ..Deadlines::default()
        };
        assert_eq!(
            case("received", None, 0).next_deadline(&eu),
            Some((1_007 * DAY, "acknowledge"))
        );
        let accepted = case("accepted", Some(1_002 * DAY), 0);
        assert_eq!(
            accepted.next_deadline(&eu),
            Some((1_090 * DAY, "give feedback"))
        );
        assert_eq!(
            case("feedback_given", Some(1_002 * DAY), 0).next_deadline(&eu),
            None
        );
    }

    #[test]
    fn handling_deadlines_count_from_acceptance_and_extensions() {
        let d12389 = Deadlines {
            handle_days: Some(30),
            ..Deadlines::default()
        };
        assert_eq!(case("received", None, 0).next_deadline(&d12389), None);
        assert_eq!(
            case("verifying", Some(1_000 * DAY), 0).next_deadline(&d12389),
            Some((1_030 * DAY, "conclude handling"))
        );
        assert_eq!(
            case("verifying", Some(1_000 * DAY), 15).next_deadline(&d12389),
            Some((1_045 * DAY, "conclude handling"))
        );
        assert_eq!(
            case("concluded", Some(1_000 * DAY), 0).next_deadline(&d12389),
            None
        );
        assert_eq!(case("not_accepted", None, 0).next_deadline(&d12389), None);
    }
}
