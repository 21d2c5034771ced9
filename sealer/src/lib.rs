//! The portal's crypto worker, as plain functions: every [`ToWorker`] request in, a
//! [`FromWorker`] answer out. `main.rs` only wires this to the worker's message events, so all
//! of it is tested natively.
//!
//! Key material (inquiry codes' derived keys) lives here and nowhere else in the browser, in
//! memory only; the page receives request bodies and decrypted text, never a key.

use cluebox_protocol::code::InquiryCode;
use cluebox_protocol::derive::{ReporterKeys, derive};
use cluebox_protocol::envelope::{self, REPORT_LIMIT};
use cluebox_protocol::letter::{Letter, Note, Report};
use cluebox_protocol::profile::PublicProfile;
use cluebox_protocol::wire::{
    API_VERSION, FollowUpRequest, IdempotencyKey, Inquiry, InquiryRequest, Sealed, SealedItem,
    SubmitReport,
};
use cluebox_protocol::worker::{CaseView, FromWorker, OpenedNote, ToWorker};

/// What the worker remembers between requests.
#[derive(Default)]
pub struct Sealer {
    profile: Option<PublicProfile>,
    /// The keys of the last code used, so the status page derives once per code.
    cached: Option<(String, ReporterKeys)>,
}

impl Sealer {
    /// Handles one request; `None` for requests that need no answer (`Init`).
    pub fn handle(&mut self, request: ToWorker) -> Option<FromWorker> {
        let id = match &request {
            ToWorker::Init { .. } => 0,
            ToWorker::NewCode { id }
            | ToWorker::SealReport { id, .. }
            | ToWorker::Lookup { id, .. }
            | ToWorker::OpenCase { id, .. }
            | ToWorker::FollowUp { id, .. } => *id,
        };
        match self.try_handle(request) {
            Ok(answer) => answer,
            Err(message) => Some(FromWorker::Failed { id, message }),
        }
    }

    fn try_handle(&mut self, request: ToWorker) -> Result<Option<FromWorker>, String> {
        match request {
            ToWorker::Init { profile_json } => {
                self.profile =
                    Some(serde_json::from_str(&profile_json).map_err(|e| e.to_string())?);
                Ok(None)
            }
            ToWorker::NewCode { id } => {
                let code = InquiryCode::generate().expose_grouped().to_string();
                self.keys(&code)?;
                Ok(Some(FromWorker::Code { id, code }))
            }
            ToWorker::SealReport {
                id,
                code,
                locale,
                region,
                sections,
            } => {
                let profile = self.profile()?.clone();
                let keys = self.keys(&code)?;
                let letter = Letter::Report(Report {
                    profile: profile.profile.id.clone(),
                    locale,
                    reply_key: keys.reply_public(),
                    sections,
                });
                let recipients = profile.recipients.for_region(region.as_deref());
                let sealed = envelope::seal(
                    &recipients,
                    &letter.to_bytes(),
                    REPORT_LIMIT.min(profile.max_class),
                )
                .map_err(|e| e.to_string())?;
                let body = SubmitReport {
                    v: API_VERSION,
                    sealed: Sealed(sealed),
                    lookup_token: keys.lookup_token.clone(),
                    reply_key: keys.reply_public(),
                    idempotency_key: IdempotencyKey::generate(),
                };
                Ok(Some(FromWorker::Report {
                    id,
                    body: json(&body)?,
                }))
            }
            ToWorker::Lookup { id, code } => {
                let keys = self.keys(&code)?;
                let body = InquiryRequest {
                    v: API_VERSION,
                    lookup_token: keys.lookup_token.clone(),
                };
                Ok(Some(FromWorker::Body {
                    id,
                    body: json(&body)?,
                }))
            }
            ToWorker::OpenCase {
                id,
                code,
                inquiry_json,
            } => {
                let inquiry: Inquiry =
                    serde_json::from_str(&inquiry_json).map_err(|e| e.to_string())?;
                let keys = self.keys(&code)?;
                let open = |items: &[SealedItem]| {
                    items
                        .iter()
                        .map(|item| OpenedNote {
                            at: item.at,
                            text: open_note(keys, item),
                        })
                        .collect()
                };
                let case = CaseView {
                    status: inquiry.status,
                    received_at: inquiry.received_at,
                    replies: open(&inquiry.replies),
                    follow_ups: open(&inquiry.follow_ups),
                    timeline: inquiry.timeline,
                };
                Ok(Some(FromWorker::Case { id, case }))
            }
            ToWorker::FollowUp { id, code, text } => {
                let mut recipients = self.profile()?.recipients.national.clone();
                let keys = self.keys(&code)?;
                // Also sealed to the reporter's own key, so the status page can show it again.
                recipients.push(keys.reply_public());
                let letter = Letter::FollowUp(Note { text });
                let sealed = envelope::seal(&recipients, &letter.to_bytes(), REPORT_LIMIT)
                    .map_err(|e| e.to_string())?;
                let body = FollowUpRequest {
                    v: API_VERSION,
                    lookup_token: keys.lookup_token.clone(),
                    sealed: Sealed(sealed),
                    idempotency_key: IdempotencyKey::generate(),
                };
                Ok(Some(FromWorker::Body {
                    id,
                    body: json(&body)?,
                }))
            }
        }
    }

    fn profile(&self) -> Result<&PublicProfile, String> {
        self.profile
            .as_ref()
            .ok_or_else(|| "the worker has no profile yet".to_owned())
    }

    fn keys(&mut self, code: &str) -> Result<&ReporterKeys, String> {
        let code = InquiryCode::parse(code).map_err(|e| e.to_string())?;
        let canonical = code.expose_grouped().to_string();
        if self.cached.as_ref().is_none_or(|(c, _)| *c != canonical) {
            let profile = self.profile()?;
            let keys = derive(&code, &profile.profile.argon2, &profile.profile.argon2_salt)
                .map_err(|e| e.to_string())?;
            self.cached = Some((canonical, keys));
        }
        Ok(&self.cached.as_ref().expect("set above").1)
    }
}

fn open_note(keys: &ReporterKeys, item: &SealedItem) -> Option<String> {
    match Letter::from_bytes(&envelope::open(&keys.reply_secret, &item.sealed.0).ok()?).ok()? {
        Letter::Reply(note) | Letter::FollowUp(note) => Some(note.text),
        Letter::Report(_) => None,
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cluebox_protocol::derive::Argon2Params;
    use cluebox_protocol::keys::SecretKey;
    use cluebox_protocol::letter::{Answer, FieldAnswer, SectionAnswers};
    use cluebox_protocol::profile::{Profile, PublicProfile, Recipients};
    use cluebox_protocol::wire::{Inquiry, SealedItem};

    fn sealer(office: &SecretKey, region: &SecretKey) -> Sealer {
        let mut profile: Profile = toml_profile();
        // Cheap Argon2 for tests; the construction is the same.
        profile.argon2 = Argon2Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        let doc = PublicProfile {
            profile,
            recipients: Recipients {
                national: vec![office.public_key()],
                regions: [("440000".to_owned(), vec![region.public_key()])].into(),
            },
            server_key: String::new(),
            max_class: REPORT_LIMIT,
        };
        let mut s = Sealer::default();
        let init = ToWorker::Init {
            profile_json: serde_json::to_string(&doc).unwrap(),
        };
        assert_eq!(s.handle(init), None);
        s
    }

    fn toml_profile() -> Profile {
        toml::from_str(include_str!("../../profiles/12337.toml")).unwrap()
    }

    #[test]
    fn a_report_is_sealed_to_the_national_and_regional_offices() {
        let (office, region, stranger) = (
            SecretKey::generate(),
            SecretKey::generate(),
            SecretKey::generate(),
        );
        let mut s = sealer(&office, &region);
        let Some(FromWorker::Code { id: 1, code }) = s.handle(ToWorker::NewCode { id: 1 }) else {
            panic!()
        };
        InquiryCode::parse(&code).unwrap();
        let sections = vec![SectionAnswers {
            id: "situation".into(),
            fields: vec![FieldAnswer {
                id: "what".into(),
                answer: Answer::Given("线索".into()),
            }],
        }];
        let request = ToWorker::SealReport {
            id: 2,
            code: code.clone(),
            locale: "zh-CN".into(),
            region: Some("440000".into()),
            sections: sections.clone(),
        };
        let Some(FromWorker::Report { id: 2, body }) = s.handle(request) else {
            panic!()
        };
        let submit: SubmitReport = serde_json::from_str(&body).unwrap();
        for key in [&office, &region] {
            let Letter::Report(r) =
                Letter::from_bytes(&envelope::open(key, &submit.sealed.0).unwrap()).unwrap()
            else {
                panic!()
            };
            assert_eq!(r.sections, sections);
            assert_eq!(r.reply_key, submit.reply_key);
        }
        assert!(envelope::open(&stranger, &submit.sealed.0).is_err());
        // The lookup for the same code uses the same token.
        let Some(FromWorker::Body { body, .. }) = s.handle(ToWorker::Lookup { id: 3, code }) else {
            panic!()
        };
        let lookup: InquiryRequest = serde_json::from_str(&body).unwrap();
        assert_eq!(lookup.lookup_token, submit.lookup_token);
    }

    #[test]
    fn replies_and_own_follow_ups_open_others_do_not() {
        let (office, region) = (SecretKey::generate(), SecretKey::generate());
        let mut s = sealer(&office, &region);
        let Some(FromWorker::Code { code, .. }) = s.handle(ToWorker::NewCode { id: 1 }) else {
            panic!()
        };
        let Some(FromWorker::Body { body, .. }) = s.handle(ToWorker::FollowUp {
            id: 2,
            code: code.clone(),
            text: "补充".into(),
        }) else {
            panic!()
        };
        let follow: FollowUpRequest = serde_json::from_str(&body).unwrap();
        assert!(
            envelope::open(&office, &follow.sealed.0).is_ok(),
            "the office reads follow-ups"
        );
        let reply_key = s.keys(&code).unwrap().reply_public();
        let reply = Letter::Reply(Note {
            text: "已受理".into(),
        });
        let sealed_reply = envelope::seal(&[reply_key], &reply.to_bytes(), REPORT_LIMIT).unwrap();
        let junk = envelope::seal(&[office.public_key()], &reply.to_bytes(), REPORT_LIMIT).unwrap();
        let inquiry = Inquiry {
            status: "accepted".into(),
            received_at: 1,
            timeline: vec![],
            replies: vec![
                SealedItem {
                    sealed: Sealed(sealed_reply),
                    at: 2,
                },
                SealedItem {
                    sealed: Sealed(junk),
                    at: 3,
                },
            ],
            follow_ups: vec![SealedItem {
                sealed: follow.sealed,
                at: 4,
            }],
        };
        let request = ToWorker::OpenCase {
            id: 3,
            code,
            inquiry_json: serde_json::to_string(&inquiry).unwrap(),
        };
        let Some(FromWorker::Case { case, .. }) = s.handle(request) else {
            panic!()
        };
        assert_eq!(case.replies[0].text.as_deref(), Some("已受理"));
        assert_eq!(case.replies[1].text, None, "not sealed to this code");
        assert_eq!(case.follow_ups[0].text.as_deref(), Some("补充"));
    }

    #[test]
    fn failures_are_answers_not_panics() {
        let mut s = Sealer::default();
        let Some(FromWorker::Failed { id: 7, message }) = s.handle(ToWorker::NewCode { id: 7 })
        else {
            panic!()
        };
        assert!(message.contains("no profile"));
        let (office, region) = (SecretKey::generate(), SecretKey::generate());
        let mut s = sealer(&office, &region);
        let Some(FromWorker::Failed { id: 8, .. }) = s.handle(ToWorker::Lookup {
            id: 8,
            code: "not a code".into(),
        }) else {
            panic!()
        };
    }
}
