//! The plaintext inside an envelope: a report, a reporter's follow-up, or an office's reply or
//! status change.
//!
//! Encoded as one version byte ([`LETTER_VERSION`]) followed by the postcard encoding of
//! [`Letter`], and nothing after it (trailing bytes are refused). Postcard is compact and small
//! in wasm (serde_json costs far more there), and its 1.x wire format is stable; the version
//! byte lets a later schema be read beside this one. Version 1 letters (no sequence numbers, no
//! status letters) are still read: their replies come out with `seq` 0.
//!
//! A report is generic over the hotline profile: sections of fields, each field an [`Answer`].
//! A blank field is [`Answer::Unclear`] (不清楚): an explicit value, never an empty string, so
//! the browser's review step and the desk show it the same way.
//!
//! This module never touches keys: sealing is [`crate::envelope`]'s job.

use serde::{Deserialize, Serialize};

use crate::keys::PublicKey;

/// The plaintext schema version this crate writes (it also reads version 1).
pub const LETTER_VERSION: u8 = 2;

/// Why plaintext could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LetterError {
    /// Written by a newer schema version.
    #[error(
        "message schema version {0} is not supported (this build reads versions 1 and {LETTER_VERSION})"
    )]
    UnsupportedVersion(u8),
    /// The bytes are not a valid letter.
    #[error("the message content is malformed")]
    Malformed,
}

/// Everything that travels sealed (schema version 2; variant order is part of the format).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Letter {
    /// A new report, from the browser form or entered at the desk.
    Report(Report),
    /// A reporter's later message on their case, sealed with the key their code derives.
    FollowUp(Note),
    /// An office's message to the reporter, sealed with the office key to the reporter's key.
    Reply(Reply),
    /// An office's public status change, sealed like a reply, so that the status page can tell
    /// a change the office made from one the server invented.
    Status(StatusNote),
    /// A reporter's later message with evidence files, sealed like [`Letter::FollowUp`] (a
    /// variant of its own so that letters without files keep their bytes).
    FollowUpWithFiles(FollowUpNote),
}

/// Version 1 of the schema, read and never written.
#[derive(Deserialize)]
enum LetterV1 {
    Report(Report),
    FollowUp(Note),
    Reply(Note),
}

impl Letter {
    /// The plaintext bytes (before padding).
    pub fn to_bytes(&self) -> Vec<u8> {
        let out = vec![LETTER_VERSION];
        postcard::to_extend(self, out).expect("writing to a Vec cannot fail")
    }

    /// Reads plaintext bytes: a version byte and exactly one letter.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LetterError> {
        fn whole<T: for<'de> Deserialize<'de>>(rest: &[u8]) -> Result<T, LetterError> {
            match postcard::take_from_bytes::<T>(rest) {
                Ok((value, [])) => Ok(value),
                _ => Err(LetterError::Malformed),
            }
        }
        match bytes.split_first() {
            Some((&LETTER_VERSION, rest)) => whole(rest),
            Some((&1, rest)) => Ok(match whole::<LetterV1>(rest)? {
                LetterV1::Report(r) => Letter::Report(r),
                LetterV1::FollowUp(n) => Letter::FollowUp(n),
                LetterV1::Reply(n) => Letter::Reply(Reply {
                    seq: 0,
                    text: n.text,
                }),
            }),
            Some((&v, _)) => Err(LetterError::UnsupportedVersion(v)),
            None => Err(LetterError::Malformed),
        }
    }

    /// The kind, as the desk and the docs name it: `report`, `follow_up`, `reply`, `status`.
    pub fn kind(&self) -> &'static str {
        match self {
            Letter::Report(_) => "report",
            Letter::FollowUp(_) | Letter::FollowUpWithFiles(_) => "follow_up",
            Letter::Reply(_) => "reply",
            Letter::Status(_) => "status",
        }
    }
}

/// An office's reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The office's count of messages (replies and status changes) on this case, from 1; the
    /// status page notices a repeated or missing one. 0 in version 1 letters.
    pub seq: u32,
    /// The message text.
    pub text: String,
}

/// An office's public status change, as the office signed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusNote {
    /// As in [`Reply::seq`]: one count for both kinds of office message.
    pub seq: u32,
    /// The new status (a key of the profile's status vocabulary).
    pub status: String,
    /// The date of the change (Unix seconds, midnight UTC), as the server shows it.
    pub at: u64,
}

/// A report as the reporter filled it in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The profile the form was rendered from (for example `12337`).
    pub profile: String,
    /// The interface language the reporter used (`zh-CN`, `en`).
    pub locale: String,
    /// The reporter's reply key. The desk seals replies to this key, taken from inside the sealed
    /// report, so a compromised server cannot substitute its own.
    pub reply_key: PublicKey,
    /// The answers, section by section, in profile order.
    pub sections: Vec<SectionAnswers>,
}

impl Report {
    /// The answer to one field, if the section and field exist.
    pub fn answer(&self, section: &str, field: &str) -> Option<&Answer> {
        self.sections
            .iter()
            .find(|s| s.id == section)?
            .fields
            .iter()
            .find(|f| f.id == field)
            .map(|f| &f.answer)
    }
}

/// The answers of one section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionAnswers {
    /// The section id from the profile.
    pub id: String,
    /// The fields of the section.
    pub fields: Vec<FieldAnswer>,
}

/// The answer to one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldAnswer {
    /// The field id from the profile.
    pub id: String,
    /// What the reporter gave.
    pub answer: Answer,
}

/// A field's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer {
    /// Left blank: shown as "unclear" (不清楚).
    Unclear,
    /// The text typed, or the id of the option chosen.
    Given(String),
    /// Evidence files, each sealed and uploaded on its own (added in schema version 2 after
    /// the first release: older desks read such a report as malformed and set it aside).
    Files(Vec<crate::evidence::FileRef>),
}

impl Answer {
    /// Blank or whitespace-only input is [`Answer::Unclear`]; anything else is kept as typed
    /// (trimmed).
    pub fn from_input(input: &str) -> Self {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            Self::Unclear
        } else {
            Self::Given(trimmed.to_owned())
        }
    }
}

/// A free-text message on a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// The message text.
    pub text: String,
}

/// A reporter's follow-up with evidence files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpNote {
    /// The message text (may be empty when files say it all).
    pub text: String,
    /// The files, as a report's [`Answer::Files`] names them.
    pub files: Vec<crate::evidence::FileRef>,
}

impl Letter {
    /// A follow-up's text and files (none for a [`Letter::FollowUp`]); `None` for other kinds.
    pub fn follow_up(&self) -> Option<(&str, &[crate::evidence::FileRef])> {
        match self {
            Letter::FollowUp(note) => Some((&note.text, &[])),
            Letter::FollowUpWithFiles(note) => Some((&note.text, &note.files)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SecretKey;
    use proptest::prelude::*;

    fn answer() -> impl Strategy<Value = Answer> {
        prop_oneof![Just(Answer::Unclear), ".{0,40}".prop_map(Answer::Given)]
    }

    proptest! {
        #[test]
        fn report_round_trip(
            profile in "[0-9a-z]{1,8}",
            fields in proptest::collection::vec(("[a-z_]{1,12}", answer()), 0..12),
        ) {
            let report = Report {
                profile,
                locale: "zh-CN".into(),
                reply_key: SecretKey::generate().public_key(),
                sections: vec![SectionAnswers {
                    id: "situation".into(),
                    fields: fields.into_iter().map(|(id, answer)| FieldAnswer { id, answer }).collect(),
                }],
            };
            let letter = Letter::Report(report);
            prop_assert_eq!(Letter::from_bytes(&letter.to_bytes()).unwrap(), letter);
        }
    }

    #[test]
    fn blank_input_is_unclear() {
        assert_eq!(Answer::from_input("  \n"), Answer::Unclear);
        assert_eq!(Answer::from_input(" 张三 "), Answer::Given("张三".into()));
    }

    #[test]
    fn version_one_still_reads() {
        // A version 1 reply: version byte, variant 2 (Reply), the text's length and bytes.
        let mut v1 = vec![1, 2, 9];
        v1.extend_from_slice("已受理".as_bytes());
        assert_eq!(
            Letter::from_bytes(&v1),
            Ok(Letter::Reply(Reply {
                seq: 0,
                text: "已受理".into()
            }))
        );
        // Version 1 had no status letters.
        assert_eq!(
            Letter::from_bytes(&[1, 3, 1, 1, b'x', 0]),
            Err(LetterError::Malformed)
        );
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = Letter::FollowUp(Note { text: "x".into() }).to_bytes();
        assert!(Letter::from_bytes(&bytes).is_ok());
        bytes.push(0);
        assert_eq!(Letter::from_bytes(&bytes), Err(LetterError::Malformed));
    }

    #[test]
    fn versions_and_garbage() {
        let bytes = Letter::Reply(Reply {
            seq: 1,
            text: "已受理".into(),
        })
        .to_bytes();
        assert_eq!(bytes[0], LETTER_VERSION);
        let mut newer = bytes.clone();
        newer[0] = 3;
        assert_eq!(
            Letter::from_bytes(&newer),
            Err(LetterError::UnsupportedVersion(3))
        );
        assert_eq!(Letter::from_bytes(&[]), Err(LetterError::Malformed));
        assert_eq!(
            Letter::from_bytes(&[LETTER_VERSION, 9, 9]),
            Err(LetterError::Malformed)
        );
    }
}
