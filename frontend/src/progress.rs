//! The stages of a case as the status page shows them: those passed (with their day), the
//! current one, and those still ahead with the profile's deadlines as dates. No DOM here, so it
//! is testable on its own.

use cluebox_protocol::profile::{Choice, Deadlines};
use cluebox_protocol::worker::CaseView;

const DAY: u64 = 86_400;

/// Where a stage stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// Reached on this day (unix seconds).
    Done(u64),
    /// The case is here, since this day.
    Current(u64),
    /// Still ahead, due by this day if the profile sets a deadline for it.
    Ahead(Option<u64>),
}

/// One stage: the status id and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The status id (its label comes from the profile).
    pub id: String,
    /// Where it stands.
    pub mark: Mark,
}

/// The branch that ends a case early: shown only when the case took it.
const NOT_ACCEPTED: &str = "not_accepted";

/// The stages of `case` in the profile's order, counting only status changes the office
/// confirmed.
pub fn stages(statuses: &[Choice], deadlines: &Deadlines, case: &CaseView) -> Vec<Stage> {
    let reached = |id: &str| -> Option<u64> {
        if statuses.first().is_some_and(|s| s.id == id) {
            return Some(case.received_at);
        }
        case.timeline
            .iter()
            .filter(|e| e.confirmed && e.status == id)
            .map(|e| e.at)
            .next_back()
    };
    let position = |id: &str| statuses.iter().position(|s| s.id == id);
    let current = position(&case.status).unwrap_or(0);
    let accepted_at = reached("accepted");
    let at = |from: u64, days: Option<u32>| days.map(|d| from + u64::from(d) * DAY);
    let acceptance_due = at(case.received_at, deadlines.acknowledge_days);
    let from_acceptance = accepted_at.or(acceptance_due).unwrap_or(case.received_at);
    let due = |id: &str| match id {
        "accepted" => acceptance_due,
        "concluded" => at(from_acceptance, deadlines.handle_days),
        "feedback_given" => at(from_acceptance, deadlines.contact_days)
            .or_else(|| at(case.received_at, deadlines.feedback_days)),
        _ => None,
    };
    let mut out = Vec::new();
    for (i, status) in statuses.iter().enumerate() {
        let id = status.id.as_str();
        if id == NOT_ACCEPTED && case.status != NOT_ACCEPTED {
            continue;
        }
        let mark = if i == current {
            Mark::Current(reached(id).unwrap_or(case.received_at))
        } else if i < current {
            match reached(id) {
                Some(day) => Mark::Done(day),
                // Skipped on the way (not every case passes every stage).
                None => continue,
            }
        } else if case.status == NOT_ACCEPTED {
            // Nothing follows a report that was not accepted.
            break;
        } else {
            Mark::Ahead(due(id))
        };
        out.push(Stage {
            id: id.to_owned(),
            mark,
        });
    }
    out
}

/// Whole days from `today` to `due` (negative when past).
pub fn days_left(today: u64, due: u64) -> i64 {
    (due / DAY) as i64 - (today / DAY) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use cluebox_protocol::profile::Profile;
    use cluebox_protocol::worker::TimelineEntry;

    fn profile() -> Profile {
        toml::from_str(include_str!("../../profiles/12337.toml")).unwrap()
    }

    fn case(status: &str, timeline: &[(&str, u64, bool)]) -> CaseView {
        CaseView {
            status: status.into(),
            received_at: 100 * DAY,
            timeline: timeline
                .iter()
                .map(|(s, at, confirmed)| TimelineEntry {
                    status: (*s).into(),
                    at: *at,
                    confirmed: *confirmed,
                })
                .collect(),
            replies: vec![],
            follow_ups: vec![],
            irregular: false,
        }
    }

    #[test]
    fn a_new_case_shows_what_is_ahead_with_due_dates() {
        let p = profile();
        let s = stages(&p.statuses, &p.deadlines, &case("received", &[]));
        assert_eq!(s[0].mark, Mark::Current(100 * DAY));
        assert_eq!(s[1].id, "accepted");
        assert_eq!(s[1].mark, Mark::Ahead(Some(103 * DAY)), "3 days to accept");
        let feedback = s.iter().find(|s| s.id == "feedback_given").unwrap();
        assert_eq!(
            feedback.mark,
            Mark::Ahead(Some(133 * DAY)),
            "30 days from the latest acceptance"
        );
        assert!(
            s.iter().all(|s| s.id != NOT_ACCEPTED),
            "the branch is hidden"
        );
    }

    #[test]
    fn deadlines_count_from_the_confirmed_acceptance() {
        let p = profile();
        let c = case(
            "accepted",
            &[
                ("accepted", 101 * DAY, true),
                ("assigned", 102 * DAY, false),
            ],
        );
        let s = stages(&p.statuses, &p.deadlines, &c);
        assert_eq!(s[0].mark, Mark::Done(100 * DAY));
        assert_eq!(s[1].mark, Mark::Current(101 * DAY));
        assert_eq!(
            s[2].mark,
            Mark::Ahead(None),
            "an unconfirmed change counts for nothing"
        );
        let feedback = s.iter().find(|s| s.id == "feedback_given").unwrap();
        assert_eq!(feedback.mark, Mark::Ahead(Some(131 * DAY)));
        assert_eq!(days_left(120 * DAY + 5, 131 * DAY), 11);
        assert_eq!(days_left(135 * DAY, 131 * DAY), -4);
    }

    #[test]
    fn a_case_not_accepted_ends_there() {
        let p = profile();
        let c = case("not_accepted", &[("not_accepted", 102 * DAY, true)]);
        let s = stages(&p.statuses, &p.deadlines, &c);
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(s[1].mark, Mark::Current(102 * DAY));
    }
}
