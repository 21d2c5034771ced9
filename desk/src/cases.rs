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

/// Every field of a case, with labels from its profile, and its follow-ups.
pub fn show(
    conn: &Connection,
    case_id: &str,
    profiles: &crate::Profiles,
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
        for field in &section.fields {
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
    }
    let mut stmt = conn.prepare(
        "SELECT at, actor, from_status, to_status, note FROM events WHERE case_id = ?1 ORDER BY id",
    )?;
    let history: Vec<(u64, String, String, String, String)> = stmt
        .query_map([case_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    if !history.is_empty() {
        writeln!(out, "\n== History")?;
        for (at, actor, from, to, note) in history {
            let step = if from == to {
                format!("{to} (extended)")
            } else {
                format!("{from} -> {to}")
            };
            let note = if note.is_empty() {
                String::new()
            } else {
                format!(": {note}")
            };
            writeln!(
                out,
                "[{}] {}: {}{}",
                date(at),
                text::line(&actor),
                text::line(&step),
                text::block(&note)
            )?;
        }
    }
    let mut stmt = conn.prepare(
        "SELECT candidate, reason, EXISTS (SELECT 1 FROM links l WHERE l.case_id = f.case_id AND l.other = f.candidate)
         FROM repeat_flags f WHERE case_id = ?1 ORDER BY candidate",
    )?;
    let flags: Vec<(String, String, bool)> = stmt
        .query_map([case_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    if !flags.is_empty() {
        writeln!(out, "\n== Possible repeats")?;
        for (other, why, linked) in flags {
            let mark = if linked { " [linked]" } else { "" };
            writeln!(out, "{} ({}){mark}", short(&other), text::line(&why))?;
        }
    }
    let mut stmt = conn.prepare(
        "SELECT received_at, text, authenticated FROM follow_ups WHERE case_id = ?1 ORDER BY seq",
    )?;
    let follow_ups: Vec<(u64, String, bool)> = stmt
        .query_map([case_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    if !follow_ups.is_empty() {
        writeln!(out, "\n== Follow-ups")?;
        for (at, note, authenticated) in follow_ups {
            let mark = if authenticated {
                ""
            } else {
                " [unauthenticated: an older follow-up, not proven to come from the code's holder]"
            };
            writeln!(out, "[{}]{mark} {}", day(at), text::block(&note))?;
        }
    }
    Ok(out)
}

/// An option id with its label, when the field is a list.
fn display(profile: Option<&Profile>, field: Option<&Field>, value: &str) -> String {
    let label = match (profile, field.map(|f| (f.kind, f))) {
        (Some(p), Some((FieldKind::Category, _))) => Profile::label(&p.categories, value, "zh"),
        (Some(p), Some((FieldKind::Region, _))) => Profile::label(&p.regions, value, "zh"),
        (_, Some((FieldKind::Choice, f))) => Profile::label(&f.options, value, "zh"),
        _ => None,
    };
    match label {
        Some(l) => format!("{l} [{value}]"),
        None => value.to_owned(),
    }
}

/// `YYYY-MM-DD` UTC: the server's times are whole days.
pub fn day(unix: u64) -> String {
    date(unix)[..10].to_owned()
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
    fn dates() {
        assert_eq!(super::date(0), "1970-01-01 00:00");
        assert_eq!(super::date(1_795_392_000 + 3_660), "2026-11-23 01:01");
    }
}
