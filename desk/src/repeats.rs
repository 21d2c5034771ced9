//! Repeat detection: a newly opened report that names the same person or unit as an earlier
//! case, or describes the same thing in much the same words, is flagged with that case, so that
//! nobody investigates twice and repeated submissions are visible. Staff then link them (or not).
//!
//! Similarity of descriptions is the Jaccard index of their character bigrams (it works for
//! Chinese without word segmentation); 0.5 or more flags a candidate.

use std::collections::HashSet;

use cluebox_protocol::letter::{Answer, SectionAnswers};
use rusqlite::{Connection, params};

use crate::audit;

/// The threshold for "similar description".
pub const SIMILAR: f64 = 0.5;

fn given<'a>(sections: &'a [SectionAnswers], section: &str, field: &str) -> Option<&'a str> {
    sections
        .iter()
        .find(|s| s.id == section)?
        .fields
        .iter()
        .find(|f| f.id == field)
        .and_then(|f| match &f.answer {
            Answer::Given(v) => Some(v.trim()),
            Answer::Unclear | Answer::Files(_) => None,
        })
        .filter(|v| !v.is_empty())
}

fn normalise(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && !c.is_ascii_punctuation())
        .flat_map(char::to_lowercase)
        .collect()
}

fn bigrams(text: &str) -> HashSet<(char, char)> {
    let chars: Vec<char> = normalise(text).chars().collect();
    chars.windows(2).map(|w| (w[0], w[1])).collect()
}

/// Jaccard similarity of two texts' character bigrams.
pub fn similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (bigrams(a), bigrams(b));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    a.intersection(&b).count() as f64 / a.union(&b).count() as f64
}

/// Why two reports look like the same matter, if they do.
pub fn reason(new: &[SectionAnswers], old: &[SectionAnswers]) -> Option<String> {
    for (section, field, what) in [
        ("reported", "name", "same reported person or unit"),
        ("subject", "unit", "same unit"),
    ] {
        if let (Some(a), Some(b)) = (given(new, section, field), given(old, section, field))
            && normalise(a) == normalise(b)
        {
            return Some(format!("{what}: {a}"));
        }
    }
    for (section, field) in [("situation", "what"), ("matter", "what")] {
        if let (Some(a), Some(b)) = (given(new, section, field), given(old, section, field)) {
            let s = similarity(a, b);
            if s >= SIMILAR {
                return Some(format!("similar description ({:.0}% alike)", s * 100.0));
            }
        }
    }
    None
}

/// Flags earlier cases that `case_id` may repeat; returns how many.
pub fn flag(conn: &Connection, case_id: &str) -> anyhow::Result<usize> {
    let json: String = conn.query_row(
        "SELECT report_json FROM cases WHERE case_id = ?1",
        [case_id],
        |r| r.get(0),
    )?;
    let new: Vec<SectionAnswers> = serde_json::from_str(&json)?;
    let mut stmt = conn.prepare("SELECT case_id, report_json FROM cases WHERE case_id != ?1")?;
    let others: Vec<(String, String)> = stmt
        .query_map([case_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut flagged = 0;
    for (other, json) in others {
        let old: Vec<SectionAnswers> = serde_json::from_str(&json)?;
        if let Some(why) = reason(&new, &old) {
            conn.execute(
                "INSERT OR IGNORE INTO repeat_flags (case_id, candidate, reason) VALUES (?1, ?2, ?3)",
                params![case_id, other, why],
            )?;
            flagged += 1;
        }
    }
    Ok(flagged)
}

/// Records that staff consider two cases the same matter.
pub fn link(conn: &mut Connection, case_id: &str, other: &str, actor: &str) -> anyhow::Result<()> {
    anyhow::ensure!(case_id != other, "a case cannot be linked to itself");
    let tx = conn.transaction()?;
    for (a, b) in [(case_id, other), (other, case_id)] {
        tx.execute(
            "INSERT OR IGNORE INTO links (case_id, other, at, actor) VALUES (?1, ?2, ?3, ?4)",
            params![a, b, crate::now(), actor],
        )?;
    }
    audit::append(
        &tx,
        actor,
        "link",
        case_id,
        &format!("same matter as {other}"),
    )?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cluebox_protocol::letter::FieldAnswer;

    fn report(name: Option<&str>, what: &str) -> Vec<SectionAnswers> {
        let field = |id: &str, v: Option<&str>| FieldAnswer {
            id: id.into(),
            answer: v.map_or(Answer::Unclear, |v| Answer::Given(v.into())),
        };
        vec![
            SectionAnswers {
                id: "reported".into(),
                fields: vec![field("name", name)],
            },
            SectionAnswers {
                id: "situation".into(),
                fields: vec![field("what", Some(what))],
            },
        ]
    }

    #[test]
    fn same_name_or_similar_words_are_repeats() {
        let a = report(
            Some("王某某"),
            "王某某强揽村里的修路工程，威胁不同意的村民。",
        );
        assert!(
            reason(&report(Some(" 王某某 "), "完全不同的事情"), &a)
                .unwrap()
                .contains("same reported person")
        );
        let b = report(None, "王某某强揽村里修路工程，还威胁不同意的村民！");
        assert!(reason(&b, &a).unwrap().contains("similar description"));
        let c = report(Some("李某"), "镇上的赌场每天晚上开门营业。");
        assert_eq!(reason(&c, &a), None);
        // Blanks ("unclear") never match each other.
        assert_eq!(reason(&report(None, ""), &report(None, "")), None);
    }
}
