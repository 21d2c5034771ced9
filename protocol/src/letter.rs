//! The plaintext inside an envelope: a report, a reporter's follow-up, or an office's reply.
//!
//! Encoded as one version byte ([`LETTER_VERSION`]) followed by the postcard encoding of
//! [`Letter`]. Postcard is compact and small in wasm (serde_json costs far more there), and its
//! 1.x wire format is stable; the version byte lets a later schema be read beside this one.
//!
//! A report is generic over the hotline profile: sections of fields, each field an [`Answer`].
//! A blank field is [`Answer::Unclear`] (不清楚): an explicit value, never an empty string, so
//! the browser's review step and the desk show it the same way.
//!
//! This module never touches keys: sealing is [`crate::envelope`]'s job.

use serde::{Deserialize, Serialize};

use crate::keys::PublicKey;

/// The plaintext schema version this crate writes and reads.
pub const LETTER_VERSION: u8 = 1;

/// Why plaintext could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LetterError {
    /// Written by a newer schema version.
    #[error(
        "message schema version {0} is not supported (this build reads version {LETTER_VERSION})"
    )]
    UnsupportedVersion(u8),
    /// The bytes are not a valid letter.
    #[error("the message content is malformed")]
    Malformed,
}

/// Everything that travels sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Letter {
    /// A new report, from the browser form or entered at the desk.
    Report(Report),
    /// A reporter's later message on their case.
    FollowUp(Note),
    /// An office's message to the reporter, sealed to the reporter's reply key.
    Reply(Note),
}

impl Letter {
    /// The plaintext bytes (before padding).
    pub fn to_bytes(&self) -> Vec<u8> {
        let out = vec![LETTER_VERSION];
        postcard::to_extend(self, out).expect("writing to a Vec cannot fail")
    }

    /// Reads plaintext bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LetterError> {
        match bytes.split_first() {
            Some((&LETTER_VERSION, rest)) => {
                postcard::from_bytes(rest).map_err(|_| LetterError::Malformed)
            }
            Some((&v, _)) => Err(LetterError::UnsupportedVersion(v)),
            None => Err(LetterError::Malformed),
        }
    }
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
    fn versions_and_garbage() {
        let bytes = Letter::Reply(Note {
            text: "已受理".into(),
        })
        .to_bytes();
        assert_eq!(bytes[0], LETTER_VERSION);
        let mut newer = bytes.clone();
        newer[0] = 2;
        assert_eq!(
            Letter::from_bytes(&newer),
            Err(LetterError::UnsupportedVersion(2))
        );
        assert_eq!(Letter::from_bytes(&[]), Err(LetterError::Malformed));
        assert_eq!(
            Letter::from_bytes(&[LETTER_VERSION, 9, 9]),
            Err(LetterError::Malformed)
        );
    }
}
