//! Reading cases: `list` (one line per case) and `show` (every field, "unclear" where the
//! reporter left a blank, the follow-ups).
//!
//! Every reporter-written string goes through [`crate::text`] before it is printed.

use std::fmt::Write as _;

use crate::text;

use cluebox_protocol::letter::{Answer, SectionAnswers};
use cluebox_protocol::profile::{Field, FieldKind, Profile};
use rusqlite::Connection;

/// The short id the desk shows for a case: its last 8 characters. Server case ids start with
/// a sequence number (so their index grows at its end) and end with random digits, so the end
/// is what tells cases apart; `find_case` accepts it.
pub fn short(id: &str) -> &str {
    id.get(id.len().saturating_sub(8)..).unwrap_or(id)
}

/// One line per case.
pub fn list(rows: &[crate::reports::CaseRow]) -> String {
    let mut out =
        String::from("CASE      RECEIVED          STATUS          PROFILE  NAME  CATEGORY\n");
    for c in rows {
        let _ = writeln!(
            out,
            "{:<9} {:<17} {:<15} {:<8} {:<5} {}",
            text::line(short(&c.id)),
            day(c.received_at),
            text::line(&c.status),
            text::line(&c.profile),
            if c.real_name() { "real" } else { "anon" },
            text::line(c.answer("category").unwrap_or("unclear"))
        );
    }
    out
}

/// The section of a report that identifies the reporter (both built-in profiles call it
/// `reporter`): hidden until someone states why they need to see it.
pub const IDENTITY_SECTION: &str = "reporter";
/// The field in it that says whether the report is anonymous or under a real name; always shown.
pub const IDENTITY_CHOICE: &str = "identity";

/// Every field of a case, with labels from its profile, and its follow-ups. The reporter's
/// identity section shows only whether the report is anonymous, unless `reveal` (the caller
/// has recorded why in the audit log).
pub fn show(
    conn: &Connection,
    case_id: &str,
    profiles: &crate::Profiles,
    reveal: bool,
) -> anyhow::Result<String> {
    let (profile_id, locale, json, at, status): (String, String, String, u64, String) = conn.query_row(
        "SELECT profile, locale, report_json, received_at, status FROM cases WHERE case_id = ?1",
        [case_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    let sections: Vec<SectionAnswers> = serde_json::from_str(&json)?;
    let profile = profiles.get(&profile_id);
    let mut out = String::new();
    writeln!(
        out,
        "Case {case_id}  (profile {}, reported in {})",
        text::line(&profile_id),
        text::line(&locale)
    )?;
    writeln!(out, "Received: {}   Status: {status}", day(at))?;
    for section in &sections {
        let def = profile
            .as_ref()
            .and_then(|p| p.sections.iter().find(|s| s.id == section.id));
        writeln!(
            out,
            "\n== {}",
            def.map_or_else(|| text::line(&section.id), |d| text::line(&d.title.zh))
        )?;
        let hidden = section.id == IDENTITY_SECTION && !reveal;
        for field in section
            .fields
            .iter()
            .filter(|f| !hidden || f.id == IDENTITY_CHOICE)
        {
            let fdef = def.and_then(|d| d.fields.iter().find(|f| f.id == field.id));
            let label = fdef.map_or_else(|| text::line(&field.id), |f| text::line(&f.label.zh));
            let value = match &field.answer {
                Answer::Unclear => "不清楚 (unclear)".to_owned(),
                Answer::Given(v) => text::block(&display(profile.as_ref(), fdef, v)),
                Answer::Files(refs) if refs.is_empty() => "不清楚 (unclear)".to_owned(),
                Answer::Files(_) => files(conn, case_id)?,
            };
            writeln!(out, "{label}: {value}")?;
        }
        if hidden
            && section
                .fields
                .iter()
                .any(|f| f.id == IDENTITY_CHOICE && f.answer == Answer::Given("real_name".into()))
        {
            writeln!(
                out,
                "(the real-name reporter's identity is hidden: show CASE --identity-reason \"why\" \
                 shows it and records the reason in the audit log)"
            )?;
        }
    }
    let history = history(conn, case_id)?;
    if !history.is_empty() {
        writeln!(out, "\n== History")?;
        for e in history {
            let step = if e.from == e.to {
                format!("{} (extended)", e.to)
            } else {
                format!("{} -> {}", e.from, e.to)
            };
            let note = if e.note.is_empty() {
                String::new()
            } else {
                format!(": {}", e.note)
            };
            writeln!(
                out,
                "[{}] {}: {}{}",
                date(e.at),
                text::line(&e.actor),
                text::line(&step),
                text::block(&note)
            )?;
        }
    }
    let flags = repeats(conn, case_id)?;
    if !flags.is_empty() {
        writeln!(out, "\n== Possible repeats")?;
        for f in flags {
            let mark = if f.linked { " [linked]" } else { "" };
            writeln!(out, "{} ({}){mark}", short(&f.other), text::line(&f.reason))?;
        }
    }
    let follow_ups = follow_ups(conn, case_id)?;
    if !follow_ups.is_empty() {
        writeln!(out, "\n== Follow-ups")?;
        for f in follow_ups {
            let mark = if f.authenticated {
                ""
            } else {
                " [unauthenticated: an older follow-up, not proven to come from the code's holder]"
            };
            writeln!(out, "[{}]{mark} {}", day(f.at), text::block(&f.text))?;
        }
    }
    Ok(out)
}

/// One step of a case's history (`events`).
#[derive(Debug, Clone)]
pub struct Event {
    /// When (unix seconds).
    pub at: u64,
    /// Who (a staff login, or the command line's `--actor`).
    pub actor: String,
    /// The state before.
    pub from: String,
    /// The state after (the same as `from` for a deadline extension).
    pub to: String,
    /// The note given with it.
    pub note: String,
}

/// A case's history, oldest first.
pub fn history(conn: &Connection, case_id: &str) -> anyhow::Result<Vec<Event>> {
    let mut stmt = conn.prepare(
        "SELECT at, actor, from_status, to_status, note FROM events WHERE case_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([case_id], |r| {
        Ok(Event {
            at: r.get(0)?,
            actor: r.get(1)?,
            from: r.get(2)?,
            to: r.get(3)?,
            note: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Another case that may be the same matter.
#[derive(Debug, Clone)]
pub struct Repeat {
    /// Its case id.
    pub other: String,
    /// Why it was flagged.
    pub reason: String,
    /// Whether staff linked the two.
    pub linked: bool,
}

/// A case's possible repeats.
pub fn repeats(conn: &Connection, case_id: &str) -> anyhow::Result<Vec<Repeat>> {
    let mut stmt = conn.prepare(
        "SELECT candidate, reason, EXISTS (SELECT 1 FROM links l WHERE l.case_id = f.case_id AND l.other = f.candidate)
         FROM repeat_flags f WHERE case_id = ?1 ORDER BY candidate",
    )?;
    let rows = stmt.query_map([case_id], |r| {
        Ok(Repeat {
            other: r.get(0)?,
            reason: r.get(1)?,
            linked: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A follow-up the reporter sent.
#[derive(Debug, Clone)]
pub struct FollowUp {
    /// The day it arrived.
    pub at: u64,
    /// Its text.
    pub text: String,
    /// Whether it is proven to come from the code's holder (v2 and later).
    pub authenticated: bool,
}

/// A case's follow-ups, oldest first.
pub fn follow_ups(conn: &Connection, case_id: &str) -> anyhow::Result<Vec<FollowUp>> {
    let mut stmt = conn.prepare(
        "SELECT received_at, text, authenticated FROM follow_ups WHERE case_id = ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map([case_id], |r| {
        Ok(FollowUp {
            at: r.get(0)?,
            text: r.get(1)?,
            authenticated: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// An option id with its label, when the field is a list.
fn display(profile: Option<&Profile>, field: Option<&Field>, value: &str) -> String {
    match option_label(profile, field, value, "zh") {
        Some(l) => format!("{l} [{value}]"),
        None => value.to_owned(),
    }
}

/// The label of an answer that is an option id (a category, a region or a choice), in `locale`
/// (`zh` or `en`).
pub fn option_label(
    profile: Option<&Profile>,
    field: Option<&Field>,
    value: &str,
    locale: &str,
) -> Option<String> {
    match (profile, field.map(|f| (f.kind, f))) {
        (Some(p), Some((FieldKind::Category, _))) => Profile::label(&p.categories, value, locale),
        (Some(p), Some((FieldKind::Region, _))) => Profile::label(&p.regions, value, locale),
        (_, Some((FieldKind::Choice, f))) => Profile::label(&f.options, value, locale),
        _ => None,
    }
    .map(str::to_owned)
}

/// `YYYY-MM-DD` UTC: the server's times are whole days.
pub fn day(unix: u64) -> String {
    date(unix)[..10].to_owned()
}

/// The midnight (UTC) of a `YYYY-MM-DD` day, in unix seconds.
pub fn parse_day(text: &str) -> anyhow::Result<u64> {
    let bad = || anyhow::anyhow!("a day is written YYYY-MM-DD, not {text:?}");
    let mut parts = text.trim().splitn(3, '-');
    let mut next = || {
        parts
            .next()
            .and_then(|p| p.parse::<i32>().ok())
            .ok_or_else(bad)
    };
    let (y, m, d) = (next()?, next()?, next()?);
    let month = u8::try_from(m)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
        .ok_or_else(bad)?;
    let date = u8::try_from(d)
        .ok()
        .and_then(|d| time::Date::from_calendar_date(y, month, d).ok())
        .ok_or_else(bad)?;
    u64::try_from(date.midnight().assume_utc().unix_timestamp()).map_err(|_| bad())
}

/// `YYYY-MM-DD HH:MM` UTC.
pub fn date(unix: u64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(i64::try_from(unix).unwrap_or(i64::MAX))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// A case's evidence files, one line each: name, type, size, what was removed, or the problem.
fn files(conn: &Connection, case_id: &str) -> anyhow::Result<String> {
    let list = crate::evidence::of_case(conn, case_id)?;
    let mut out = format!(
        "{} file(s) (cluebox-desk files CASE --out DIR opens them)",
        list.len()
    );
    for (n, f) in list.iter().enumerate() {
        match (&f.name, &f.problem) {
            (Some(name), _) => {
                let _ = write!(
                    out,
                    "\n  {}. {}  ({}, {} bytes; {})",
                    n + 1,
                    text::line(name),
                    text::line(f.media_type.as_deref().unwrap_or("")),
                    f.size.unwrap_or(0),
                    f.cleaning.as_deref().unwrap_or("")
                );
            }
            (None, problem) => {
                let _ = write!(
                    out,
                    "\n  {}. (upload {}) {}",
                    n + 1,
                    text::line(&f.upload),
                    text::line(problem.as_deref().unwrap_or("not opened"))
                );
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn days_are_read_back() {
        assert_eq!(super::parse_day("2026-11-23").unwrap(), 1_795_392_000);
        assert_eq!(
            super::day(super::parse_day("2024-02-29").unwrap()),
            "2024-02-29"
        );
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "yesterday",
            "2026-1",
            "1969-12-31",
            "",
        ] {
            assert!(super::parse_day(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(super::date(0), "1970-01-01 00:00");
        assert_eq!(super::date(1_795_392_000 + 3_660), "2026-11-23 01:01");
    }
}
