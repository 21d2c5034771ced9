//! The reporter's answers and what they become: visibility rules, the "unclear" default, the
//! report's sections, the retry schedule and the receipt file. No DOM here, so it is testable
//! on its own.
//!
//! Nothing is ever written to browser storage: the answers live in memory until the page closes.

use std::collections::HashMap;

use cluebox_protocol::letter::{Answer, SectionAnswers};
use cluebox_protocol::page::PageProfile;
use cluebox_protocol::profile::{Deadlines, Field, FieldKind, Section};
use cluebox_protocol::worker::FiledReceipt;

/// Answers by `section/field`.
pub type Answers = HashMap<String, String>;

/// The key of a field in [`Answers`].
pub fn key(section: &str, field: &str) -> String {
    [section, "/", field].concat()
}

/// The answers a fresh form starts with: the first option of every choice field (for 12337,
/// "anonymous"), the region a poster's link names (`?region=440000`) if the profile has it,
/// blank elsewhere.
pub fn initial_answers(profile: &PageProfile, region: Option<&str>) -> Answers {
    let mut answers = Answers::new();
    let region = region.filter(|r| profile.regions.iter().any(|c| c.id == *r));
    for section in &profile.sections {
        for field in &section.fields {
            let start = match field.kind {
                FieldKind::Choice => field.options.first().map(|o| o.id.as_str()),
                FieldKind::Region => region,
                _ => None,
            };
            if let Some(start) = start {
                answers.insert(key(&section.id, &field.id), start.to_owned());
            }
        }
    }
    answers
}

/// Whether the reporter has given nothing at all: every field they can see blank or still as
/// the form started (a preselected region or choice is not something they typed; what a hidden
/// field holds is not sent).
pub fn nothing_given(profile: &PageProfile, answers: &Answers, initial: &Answers) -> bool {
    profile.sections.iter().all(|s| {
        s.fields.iter().all(|f| {
            let k = key(&s.id, &f.id);
            let v = answers.get(&k).map_or("", String::as_str);
            !visible(s, f, answers)
                || v.trim().is_empty()
                || initial.get(&k).is_some_and(|i| i == v)
        })
    })
}

/// Whether a field is shown, given the other answers of its section.
pub fn visible(section: &Section, field: &Field, answers: &Answers) -> bool {
    field.show_if.as_ref().is_none_or(|cond| {
        answers
            .get(&key(&section.id, &cond.field))
            .is_some_and(|v| v == &cond.equals)
    })
}

/// A field's answer as it will be submitted: hidden or blank fields are "unclear".
pub fn answer(section: &Section, field: &Field, answers: &Answers) -> Answer {
    if !visible(section, field, answers) {
        return Answer::Unclear;
    }
    Answer::from_input(
        answers
            .get(&key(&section.id, &field.id))
            .map_or("", String::as_str),
    )
}

/// The region chosen, if any (it adds that region's office as a recipient).
pub fn chosen_region(profile: &PageProfile, answers: &Answers) -> Option<String> {
    profile.sections.iter().find_map(|section| {
        section
            .fields
            .iter()
            .find(|f| matches!(f.kind, FieldKind::Region))
            .and_then(|f| match answer(section, f, answers) {
                Answer::Given(region) => Some(region),
                Answer::Unclear | Answer::Files(_) => None,
            })
    })
}

/// The answers as the report's sections (hidden and blank fields "unclear").
pub fn sections(profile: &PageProfile, answers: &Answers) -> Vec<SectionAnswers> {
    cluebox_protocol::profile::answers(&profile.sections, |section, field| {
        answer(section, field, answers)
    })
}

/// A report ready to upload, kept across retries so that a retry is the same request (same
/// idempotency key, same bytes) and can never file a second report.
#[derive(Clone)]
pub struct Prepared {
    /// The code to show on the receipt (grouped).
    pub code: String,
    /// The request body, sent as is on every attempt.
    pub body: String,
    /// The evidence files it names.
    pub files: String,
}

/// Seconds to wait before upload attempt `n` (1-based) after a failure: growing to 30 s, then
/// every 30 s for as long as the page is open (an `online` event tries at once).
pub fn backoff_seconds(attempt: u32) -> u32 {
    [1, 2, 4, 8, 15, 30]
        .get(attempt as usize - 1)
        .copied()
        .unwrap_or(30)
}

/// What happens next, as the profile's deadlines put it: `(what, days, date)` with the date
/// (unix seconds, a whole day) counted from `received` (the acceptance deadline, EU-style
/// feedback) or from the latest possible acceptance (contact and handling, which count from
/// acceptance).
pub fn next_steps(deadlines: &Deadlines, received: u64) -> Vec<(Next, u32, u64)> {
    const DAY: u64 = 86_400;
    let at = |from: u64, days: u32| from + u64::from(days) * DAY;
    let accepted_by = at(received, deadlines.acknowledge_days.unwrap_or(0));
    let mut steps = Vec::new();
    if let Some(d) = deadlines.acknowledge_days {
        steps.push((Next::Accept, d, accepted_by));
    }
    if let Some(d) = deadlines.contact_days {
        steps.push((Next::Contact, d, at(accepted_by, d)));
    }
    if let Some(d) = deadlines.handle_days {
        steps.push((Next::Handle, d, at(accepted_by, d)));
    }
    if let Some(d) = deadlines.feedback_days {
        steps.push((Next::Feedback, d, at(received, d)));
    }
    steps
}

/// A step of the procedure with a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Acceptance is decided.
    Accept,
    /// The office contacts the reporter (counted from acceptance).
    Contact,
    /// Handling is concluded (counted from acceptance).
    Handle,
    /// The reporter gets feedback (counted from receipt).
    Feedback,
}

/// What the receipt shows and saves.
#[derive(Clone)]
pub struct Done {
    /// The grouped code.
    pub code: String,
    /// The signed acknowledgement.
    pub receipt: FiledReceipt,
}

/// The receipt as a text file the reporter can keep and verify later.
pub fn receipt_text(
    title: &str,
    hotline: &str,
    done: &Done,
    server_key: &str,
    received: &str,
    lines: [&str; 3],
) -> String {
    [
        title,
        "\n",
        hotline,
        "\n\n",
        lines[0],
        ": ",
        &done.code,
        "\n",
        lines[1],
        ": ",
        received,
        " (",
        &done.receipt.received_at.to_string(),
        ")\n",
        lines[2],
        ": ",
        &done.receipt.report_hash,
        "\n",
        "signature (Ed25519): ",
        &done.receipt.signature,
        "\n",
        "server key: ",
        server_key,
        "\n",
        "signed message: \"cluebox/v1 receipt\" 0x00 || SHA-256 || received_at (u64 big-endian)\n",
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> PageProfile {
        let profile = toml::from_str(include_str!("../../profiles/12337.toml")).unwrap();
        PageProfile::new(&profile, "")
    }

    #[test]
    fn blanks_and_hidden_fields_are_unclear() {
        let p = doc();
        let mut a = initial_answers(&p, None);
        assert_eq!(
            a.get("reporter/identity").map(String::as_str),
            Some("anonymous")
        );
        // Typed while "real name" was chosen, then switched back to anonymous: not submitted.
        a.insert("reporter/identity".into(), "real_name".into());
        a.insert("reporter/name".into(), "张三".into());
        a.insert("situation/what".into(), "  ".into());
        let real = sections(&p, &a);
        assert_eq!(real[0].fields[1].answer, Answer::Given("张三".into()));
        a.insert("reporter/identity".into(), "anonymous".into());
        let s = sections(&p, &a);
        assert_eq!(
            s[0].fields[1].answer,
            Answer::Unclear,
            "hidden when anonymous"
        );
        let situation = s.iter().find(|s| s.id == "situation").unwrap();
        assert!(
            situation.fields.iter().all(|f| f.answer == Answer::Unclear),
            "blank is unclear"
        );
    }

    #[test]
    fn the_region_chooses_extra_recipients() {
        let p = doc();
        let mut a = initial_answers(&p, None);
        assert_eq!(chosen_region(&p, &a), None);
        a.insert("reported/region".into(), "440000".into());
        assert_eq!(chosen_region(&p, &a).as_deref(), Some("440000"));
    }

    #[test]
    fn retries_back_off_and_never_stop() {
        let waits: Vec<u32> = (1..=20).map(backoff_seconds).collect();
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!((waits[0], waits[19]), (1, 30));
    }

    #[test]
    fn a_posters_region_is_preselected_when_the_profile_has_it() {
        let p = doc();
        let a = initial_answers(&p, Some("440000"));
        assert_eq!(chosen_region(&p, &a).as_deref(), Some("440000"));
        assert_eq!(
            chosen_region(&p, &initial_answers(&p, Some("999999"))),
            None
        );
        assert!(
            nothing_given(&p, &a, &a),
            "a preselected region is not an answer"
        );
        let mut typed = a.clone();
        typed.insert("situation/what".into(), "赌场".into());
        assert!(!nothing_given(&p, &typed, &a));
        typed.insert("situation/what".into(), "   ".into());
        assert!(nothing_given(&p, &typed, &a));
        // Typed while "real name" was chosen, then hidden again: not sent, so nothing given.
        typed.insert("reporter/mobile".into(), "138".into());
        assert!(nothing_given(&p, &typed, &a));
        typed.insert("reporter/identity".into(), "real_name".into());
        assert!(!nothing_given(&p, &typed, &a));
    }

    #[test]
    fn next_steps_follow_the_profiles_deadlines() {
        let p = doc();
        let received = 1_700_006_400; // a whole day
        let steps = next_steps(&p.deadlines, received);
        assert_eq!(
            steps,
            [
                (Next::Accept, 3, received + 3 * 86_400),
                (Next::Contact, 30, received + 33 * 86_400)
            ]
        );
    }
}
