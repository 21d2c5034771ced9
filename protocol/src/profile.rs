//! The hotline profile: what a hotline accepts, the form's sections and fields, its categories,
//! regions, status vocabulary, deadlines and key-derivation settings.
//!
//! Profiles are data files (TOML) an operator edits, not code; `profiles/12337.toml` and
//! `profiles/12389.toml` ship with Cluebox. The API reads one at start and serves it as JSON,
//! together with the recipient keys and its signing key ([`PublicProfile`]); the browser renders
//! the form from it and the desk reads labels and deadlines from it. Every text a person reads
//! is [`Localized`] (Simplified Chinese first, English).
//!
//! This module only describes and checks a profile; it never reads files.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::derive::Argon2Params;
use crate::keys::PublicKey;

/// A text in Simplified Chinese and English.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Localized {
    /// Simplified Chinese (the default language).
    pub zh: String,
    /// English.
    pub en: String,
}

impl Localized {
    /// The text for a locale: English for `en*`, Chinese otherwise.
    pub fn get(&self, locale: &str) -> &str {
        if locale.starts_with("en") {
            &self.en
        } else {
            &self.zh
        }
    }
}

/// A hotline profile.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Short identifier (`12337`), also written into every report.
    pub id: String,
    /// The hotline's name.
    pub name: Localized,
    /// Who runs it.
    pub operator: Localized,
    /// The telephone number for reports by phone.
    pub phone: String,
    /// The postal address for reports by letter.
    pub postal_address: Localized,
    /// One paragraph: what the hotline is for.
    pub summary: Localized,
    /// What it accepts.
    pub accepts: Vec<Localized>,
    /// What it does not accept, and where those reports go instead.
    pub not_accepted: Vec<Redirect>,
    /// Notices shown before the form and on its first screen (the duty to report truthfully,
    /// real names). What Cluebox itself guarantees (sealing on the phone, no addresses kept,
    /// blanks mean "unclear") the portal says on its own; do not repeat it here.
    pub notices: Vec<Localized>,
    /// The number to call in an emergency (`110`, `112`), named on the form's first screen.
    #[serde(default)]
    pub emergency_phone: Option<String>,
    /// Other ways to report beyond the form, the phone and the letter (a mailbox, an email
    /// address, a reception office), shown on the landing page and on pages without scripts.
    #[serde(default)]
    pub channels: Vec<Channel>,
    /// The acceptance categories.
    pub categories: Vec<Choice>,
    /// The regions; choosing one adds that region's office as a recipient.
    pub regions: Vec<Choice>,
    /// The form, section by section.
    pub sections: Vec<Section>,
    /// The public status vocabulary, in procedure order; the first is the status of a new case.
    pub statuses: Vec<Choice>,
    /// Deadlines of the procedure.
    pub deadlines: Deadlines,
    /// Limits on evidence files.
    #[serde(default)]
    pub evidence: Evidence,
    /// How the office runs the procedure: approvals and reply templates. Only the case desk
    /// reads it, from its profile files; it is never served (not in `/api/v1/profile`).
    #[serde(default, skip_serializing)]
    pub procedure: Procedure,
    /// Argon2id cost of deriving keys from an inquiry code.
    pub argon2: Argon2Params,
    /// Per-hotline salt for that derivation (never change it once reports exist).
    pub argon2_salt: String,
}

/// Another way to report.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    /// What it is ("举报信箱", "Email").
    pub label: Localized,
    /// The address or where to find it.
    pub text: Localized,
    /// A link for it: `mailto:`, `tel:` or `https:` only.
    #[serde(default)]
    pub link: Option<String>,
}

/// Something not accepted, and where to go instead.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redirect {
    /// What is not accepted.
    pub what: Localized,
    /// Where it goes instead.
    pub instead: Localized,
}

/// An option with a stable id and a label.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// Stable id, stored in reports.
    pub id: String,
    /// What people read.
    pub label: Localized,
}

/// A step of the form.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// Stable id, stored in reports.
    pub id: String,
    /// The step's title.
    pub title: Localized,
    /// A sentence under the title.
    #[serde(default)]
    pub intro: Option<Localized>,
    /// The fields, in order.
    pub fields: Vec<Field>,
}

/// One field. Every field is optional: a blank is submitted as "unclear".
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// Stable id, stored in reports.
    pub id: String,
    /// The label.
    pub label: Localized,
    /// A hint under the field.
    #[serde(default)]
    pub hint: Option<Localized>,
    /// What kind of input.
    pub kind: FieldKind,
    /// The options of a [`FieldKind::Choice`] field (the first is the default); empty for
    /// every other kind.
    #[serde(default)]
    pub options: Vec<Choice>,
    /// The most characters accepted.
    #[serde(default = "default_max_len")]
    pub max_len: u32,
    /// Show the field only when another field of the same section has this value.
    #[serde(default)]
    pub show_if: Option<ShowIf>,
}

fn default_max_len() -> u32 {
    500
}

/// A condition on another field of the same section.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowIf {
    /// The other field's id.
    pub field: String,
    /// The value (option id) that shows this field.
    pub equals: String,
}

/// Kinds of input. A plain name in the profile file (`kind = "mobile"`), so that every
/// encoding of a profile, including the pages' compact one ([`crate::page`]), reads it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// One line of text.
    Text,
    /// Several lines.
    LongText,
    /// A date (`YYYY-MM-DD`) or a rough time in words.
    When,
    /// An 18-digit resident identity number (GB 11643 check digit).
    IdNumber,
    /// A mobile number (11 digits, starting with 1).
    Mobile,
    /// One of the profile's categories.
    Category,
    /// One of the profile's regions.
    Region,
    /// One of the field's own [`Field::options`].
    Choice,
    /// Evidence files (photos, video, audio, documents), any number up to the profile's
    /// [`Evidence`] limits, each sealed and uploaded on its own.
    Files,
}

/// The procedure's deadlines, in days. Absent means the profile sets none. (Absent fields are
/// still written, as `null`: the pages' postcard encoding has no way to skip one.)
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadlines {
    /// Acknowledge receipt and decide acceptance within this many days of receipt (12337 and
    /// 12389: 3; EU directive style: 7); a received report past it is overdue.
    #[serde(default)]
    pub acknowledge_days: Option<u32>,
    /// Contact the reporter within this many days of acceptance (12337: 30).
    #[serde(default)]
    pub contact_days: Option<u32>,
    /// Conclude handling within this many days of acceptance (12389: 30).
    #[serde(default)]
    pub handle_days: Option<u32>,
    /// Give feedback within this many days of receipt (EU directive style: 90).
    #[serde(default)]
    pub feedback_days: Option<u32>,
}

/// How the office runs the procedure, for the case desk.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Procedure {
    /// Assigning a case to a unit (批办) needs a leader's approval: staff propose it, a leader
    /// approves or refuses it.
    #[serde(default)]
    pub approve_assignment: bool,
    /// A conclusion needs a leader's approval.
    #[serde(default)]
    pub approve_conclusion: bool,
    /// A conclusion stands only when a second account confirms it (12337's double
    /// verification).
    #[serde(default)]
    pub double_verification: bool,
    /// Reply texts staff start from, by the status they suit.
    #[serde(default)]
    pub templates: Vec<ReplyTemplate>,
}

/// A reply text staff start from.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyTemplate {
    /// The status it suits (a status id of the profile).
    pub status: String,
    /// Its name in the desk's list.
    pub label: Localized,
    /// The text.
    pub text: Localized,
}

/// Limits on evidence files ([`FieldKind::Files`]), for one report or follow-up.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// The largest file, in bytes (default 2 GiB, at most 4 GiB).
    #[serde(default = "default_max_file_bytes")]
    pub max_file_bytes: u64,
    /// The most files one report or follow-up carries (default 20).
    #[serde(default = "default_max_files")]
    pub max_files: u32,
}

impl Default for Evidence {
    fn default() -> Self {
        Evidence {
            max_file_bytes: default_max_file_bytes(),
            max_files: default_max_files(),
        }
    }
}

fn default_max_file_bytes() -> u64 {
    crate::evidence::DEFAULT_MAX_FILE
}

fn default_max_files() -> u32 {
    20
}

/// Why a profile is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("profile {profile}: {problem}")]
pub struct ProfileError {
    /// The profile's id.
    pub profile: String,
    /// What is wrong, in a sentence.
    pub problem: String,
}

impl Profile {
    /// Checks what serde cannot: unique ids, a category and region list where fields use them, a
    /// status vocabulary, sensible Argon2 settings.
    pub fn validate(&self) -> Result<(), ProfileError> {
        let fail = |problem: String| {
            Err(ProfileError {
                profile: self.id.clone(),
                problem,
            })
        };
        if self.id.is_empty() || self.sections.is_empty() || self.statuses.is_empty() {
            return fail("needs an id, at least one section and at least one status".into());
        }
        for (what, ids) in [
            (
                "section",
                self.sections
                    .iter()
                    .map(|s| s.id.as_str())
                    .collect::<Vec<_>>(),
            ),
            (
                "category",
                self.categories.iter().map(|c| c.id.as_str()).collect(),
            ),
            (
                "region",
                self.regions.iter().map(|c| c.id.as_str()).collect(),
            ),
            (
                "status",
                self.statuses.iter().map(|c| c.id.as_str()).collect(),
            ),
        ] {
            if let Some(dup) = first_duplicate(&ids) {
                return fail(format!("{what} id {dup:?} is used twice"));
            }
        }
        for section in &self.sections {
            let ids: Vec<&str> = section.fields.iter().map(|f| f.id.as_str()).collect();
            if let Some(dup) = first_duplicate(&ids) {
                return fail(format!(
                    "field id {dup:?} is used twice in section {:?}",
                    section.id
                ));
            }
            for field in &section.fields {
                let needs = match field.kind {
                    FieldKind::Category if self.categories.is_empty() => Some("categories"),
                    FieldKind::Region if self.regions.is_empty() => Some("regions"),
                    _ => None,
                };
                if let Some(list) = needs {
                    return fail(format!("field {:?} needs a list of {list}", field.id));
                }
                match (field.kind, field.options.is_empty()) {
                    (FieldKind::Choice, true) => {
                        return fail(format!("choice field {:?} has no options", field.id));
                    }
                    (kind, false) if kind != FieldKind::Choice => {
                        return fail(format!(
                            "field {:?} has options but is not a choice field",
                            field.id
                        ));
                    }
                    _ => {}
                }
                if let Some(cond) = &field.show_if
                    && !ids.contains(&cond.field.as_str())
                {
                    return fail(format!(
                        "field {:?} depends on {:?}, which is not in its section",
                        field.id, cond.field
                    ));
                }
            }
        }
        if let Some(t) = self
            .procedure
            .templates
            .iter()
            .find(|t| !self.statuses.iter().any(|s| s.id == t.status))
        {
            return fail(format!(
                "reply template {:?} names the status {:?}, which the profile does not have",
                t.label.zh, t.status
            ));
        }
        if self.evidence.max_file_bytes == 0
            || self.evidence.max_file_bytes > crate::evidence::MAX_FILE
            || self.evidence.max_files == 0
            || self.evidence.max_files > 100
        {
            return fail(format!(
                "evidence limits must be 1 byte to {} bytes per file and 1 to 100 files",
                crate::evidence::MAX_FILE
            ));
        }
        if let Err(e) = self.argon2.check_floor() {
            return fail(e.to_string());
        }
        if self.argon2_salt.is_empty() {
            return fail("the Argon2 salt is empty".into());
        }
        for channel in &self.channels {
            if let Some(link) = &channel.link
                && !["mailto:", "tel:", "https:"]
                    .iter()
                    .any(|scheme| link.starts_with(scheme))
            {
                return fail(format!(
                    "channel link {link:?} must start with mailto:, tel: or https:"
                ));
            }
        }
        Ok(())
    }

    /// A report's sections in profile order, every field answered by `answer` (see [`answers`]).
    pub fn answers(
        &self,
        answer: impl Fn(&Section, &Field) -> crate::letter::Answer,
    ) -> Vec<crate::letter::SectionAnswers> {
        answers(&self.sections, answer)
    }

    /// The label of a category, region or status id, in a locale.
    pub fn label<'a>(list: &'a [Choice], id: &str, locale: &str) -> Option<&'a str> {
        list.iter()
            .find(|c| c.id == id)
            .map(|c| c.label.get(locale))
    }
}

/// A report's sections in the order of `sections`, every field answered by `answer` (the
/// browser form and the desk's intake both build reports this way).
pub fn answers(
    sections: &[Section],
    answer: impl Fn(&Section, &Field) -> crate::letter::Answer,
) -> Vec<crate::letter::SectionAnswers> {
    sections
        .iter()
        .map(|section| crate::letter::SectionAnswers {
            id: section.id.clone(),
            fields: section
                .fields
                .iter()
                .map(|field| crate::letter::FieldAnswer {
                    id: field.id.clone(),
                    answer: answer(section, field),
                })
                .collect(),
        })
        .collect()
}

fn first_duplicate<'a>(ids: &[&'a str]) -> Option<&'a str> {
    let mut seen = std::collections::BTreeSet::new();
    ids.iter().copied().find(|id| !seen.insert(*id))
}

/// What `GET /api/v1/profile` answers: the profile plus what the deployment adds.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicProfile {
    /// The hotline profile.
    pub profile: Profile,
    /// Who reports are sealed to.
    pub recipients: Recipients,
    /// The server's Ed25519 public key for filing receipts (base64).
    pub server_key: String,
    /// The largest padded size class the server accepts for reports and follow-ups, in bytes.
    pub max_class: usize,
    /// The usual proof-of-work difficulty (leading zero bits) of reports and follow-ups; under
    /// load a challenge may ask for more ([`crate::wire::Challenge::difficulty`]). 0: none.
    #[serde(default)]
    pub pow_bits: u8,
}

/// Recipient keys: every report goes to the national keys and to the chosen region's keys.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipients {
    /// Keys every report is sealed to (the national office; old and new during rotation).
    pub national: Vec<PublicKey>,
    /// Keys added when the reporter chooses a region, by region id.
    #[serde(default)]
    pub regions: BTreeMap<String, Vec<PublicKey>>,
}

impl Recipients {
    /// The keys for a report about `region` (national first, no duplicates).
    pub fn for_region(&self, region: Option<&str>) -> Vec<PublicKey> {
        let mut keys = self.national.clone();
        if let Some(extra) = region.and_then(|r| self.regions.get(r)) {
            for key in extra {
                if !keys.contains(key) {
                    keys.push(key.clone());
                }
            }
        }
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SecretKey;

    #[test]
    fn a_profile_below_the_argon2_floor_is_refused() {
        let mut profile: Profile =
            toml::from_str(include_str!("../../profiles/12337.toml")).unwrap();
        profile.validate().unwrap();
        profile.argon2.memory_kib = 1024;
        let err = profile.validate().unwrap_err().to_string();
        assert!(err.contains("below the floor"), "{err}");
    }

    #[test]
    fn recipients_for_region() {
        let n = SecretKey::generate().public_key();
        let r = SecretKey::generate().public_key();
        let recipients = Recipients {
            national: vec![n.clone()],
            regions: BTreeMap::from([("440000".to_string(), vec![r.clone(), n.clone()])]),
        };
        assert_eq!(recipients.for_region(None), vec![n.clone()]);
        assert_eq!(recipients.for_region(Some("110000")), vec![n.clone()]);
        assert_eq!(recipients.for_region(Some("440000")), vec![n, r]);
    }
}
