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
