//! The portal's crypto worker, as plain Rust: every [`ToWorker`] request in, one [`FromWorker`]
//! answer out. `main.rs` only wires [`serve`] to the worker's message events and to `fetch`
//! (a [`Transport`]), so all of it is tested natively.
//!
//! Key material (inquiry codes' derived keys) lives here and nowhere else in the browser, in
//! memory only; the page receives receipts and decrypted text, never a key. The worker is also
//! the only browser code that talks to the API, so the page carries no HTTP or JSON code.
//!
//! It trusts the server for nothing it can check: an office reply or status change is shown as
//! the office's only if it was sealed with one of the office keys of the profile (the server's
//! configuration, which the page and worker receive, not its database); follow-ups are sealed
//! with the key the code derives, so the desk can tell they come from the code's holder; and a
//! profile whose Argon2 settings are below the floor is refused.

use std::cell::RefCell;

use std::collections::{BTreeMap, BTreeSet};

#[cfg(feature = "files")]
pub mod files;

#[cfg(feature = "files")]
pub use files::{FileSource, add_file};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cluebox_protocol::code::InquiryCode;
use cluebox_protocol::derive::{ReporterKeys, derive};
use cluebox_protocol::envelope::{self, Origin, REPORT_LIMIT};
use cluebox_protocol::evidence::FileRef;
use cluebox_protocol::keys::PublicKey;
use cluebox_protocol::letter::{
    Answer, FieldAnswer, FollowUpNote, Letter, Note, Report, SectionAnswers,
};
use cluebox_protocol::page::WorkerConfig;
use cluebox_protocol::pow;
use cluebox_protocol::profile::PublicProfile;
use cluebox_protocol::wire::{
    API_VERSION, Challenge, ErrorBody, Filed, FiledFile, FollowUpRequest, IdempotencyKey, Inquiry,
    InquiryRequest, Pow, Sealed, SubmitReport,
};
use cluebox_protocol::worker::{CaseView, FromWorker, OpenedNote, TimelineEntry, ToWorker};

/// One HTTP request to the portal's own origin.
///
/// Not `Send`: the worker is single-threaded, like everything in a browser.
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// Sends `body` (JSON) to `path` and returns the status and the answer's text, or `Err`
    /// when no answer came (offline, connection reset, server unreachable).
    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<(u16, String), ()>;

    /// Lets the worker answer other messages (a slice of proof-of-work is done).
    async fn pause(&self);

    /// Sends a piece of an evidence file (`PATCH path`, `Upload-Offset: offset`) and returns
    /// the status and the answer's text, or `Err` when no answer came.
    async fn put_piece(&self, path: &str, offset: u64, piece: &[u8]) -> Result<(u16, String), ()>;

    /// Waits before trying again after a lost connection (a few seconds, less if the browser
    /// says it is back online).
    async fn wait(&self);

    /// A clock in milliseconds, to size evidence file pieces by how fast they go; `None` keeps
    /// the first size.
    fn now_ms(&self) -> Option<f64> {
        None
    }
}

/// Hashes per slice of proof-of-work between two [`Transport::pause`]s: a few milliseconds.
const POW_SLICE: u64 = 20_000;

/// What the worker remembers between requests.
#[derive(Default)]
pub struct Sealer {
    config: Option<WorkerConfig>,
    /// The keys of the last code used, so the status page derives once per code.
    cached: Option<(String, ReporterKeys)>,
    /// A solved challenge waiting for the next submission.
    pow: Option<Pow>,
    /// A challenge is being solved (by the background solve or a submission).
    solving: bool,
    /// The last submission's body and the proof of work sent with it: a retry of the same body
    /// sends the same one (the server takes it again for the same idempotency key).
    last_sent: Option<(String, Pow)>,
    /// Evidence files by the page's number.
    #[cfg(feature = "files")]
    files: std::collections::HashMap<u32, files::FileState>,
}

/// Answers one request. The page's first one is [`ToWorker::Configure`]; before it, anything
/// that needs the profile is refused (the worker never fetches it itself).
///
/// The sealer is borrowed only between awaits, so requests may overlap.
pub async fn serve(
    sealer: &RefCell<Sealer>,
    net: &impl Transport,
    request: ToWorker,
) -> FromWorker {
    let id = request.id();
    let failed = |message: String| FromWorker::Failed { id, message };
    match request {
        ToWorker::Configure { id, config } => {
            match WorkerConfig::decode(&config)
                .map_err(|e| e.to_string())
                .and_then(|c| sealer.borrow_mut().configure(c))
            {
                Ok(()) => FromWorker::Configured { id },
                Err(e) => failed(e),
            }
        }
        ToWorker::NewCode { id } => match sealer.borrow_mut().new_code() {
            Ok(code) => FromWorker::Code { id, code },
            Err(e) => failed(e),
        },
        ToWorker::SealReport {
            id,
            code,
            locale,
            region,
            sections,
            files,
        } => match sealer.borrow_mut().seal_report(
            &code,
            locale,
            region.as_deref(),
            sections,
            &files,
        ) {
            Ok(body) => FromWorker::Sealed { id, body },
            Err(e) => failed(e),
        },
        ToWorker::Upload { id, body } => {
            match send_with_pow(sealer, net, "/api/v1/reports", &body).await {
                Ok((200..=299, text)) => match serde_json::from_str::<Filed>(&text) {
                    Ok(filed) => FromWorker::Filed {
                        id,
                        receipt: (&filed.receipt).into(),
                    },
                    Err(e) => failed(e.to_string()),
                },
                answer => http_failure(id, answer),
            }
        }
        ToWorker::Inquire { id, code } => {
            let body = match sealer.borrow_mut().lookup_body(&code) {
                Ok(body) => body,
                Err(e) => return failed(e),
            };
            match net.call("POST", "/api/v1/inquiries", Some(body)).await {
                Ok((200, text)) => match sealer.borrow_mut().open_case(&code, &text) {
                    Ok(case) => FromWorker::Case { id, case },
                    Err(e) => failed(e),
                },
                Ok((404, _)) => FromWorker::NotFound { id },
                answer => http_failure(id, answer),
            }
        }
        ToWorker::SealFollowUp {
            id,
            code,
            text,
            files,
        } => match sealer.borrow_mut().follow_up_body(&code, text, &files) {
            Ok(body) => FromWorker::Sealed { id, body },
            Err(e) => failed(e),
        },
        ToWorker::AddFile { .. } => failed("no file came with the request".into()),
        #[cfg(feature = "files")]
        ToWorker::DropFile { id, file } => files::drop_file(sealer, net, id, file).await,
        #[cfg(not(feature = "files"))]
        ToWorker::DropFile { .. } => failed("this worker does not take files".into()),
        ToWorker::SendFollowUp { id, body } => {
            match send_with_pow(sealer, net, "/api/v1/inquiries/follow-ups", &body).await {
                Ok((200..=299, _)) => FromWorker::Sent { id },
                answer => http_failure(id, answer),
            }
        }
    }
}

/// Solves a challenge ahead of the next submission, in slices, so the reporter never waits for
/// it (the worker calls this at start and after each submission).
pub async fn presolve(sealer: &RefCell<Sealer>, net: &impl Transport) {
    let idle = sealer.borrow().pow.is_none() && !sealer.borrow().solving;
    if idle && let Some(pow) = solve_fresh(sealer, net).await {
        sealer.borrow_mut().pow = Some(pow);
    }
}

/// Fetches a challenge and solves it; `None` if the server asks for no work or cannot be
/// reached.
async fn solve_fresh(sealer: &RefCell<Sealer>, net: &impl Transport) -> Option<Pow> {
    // Unconfigured (the page's configuration was refused): nothing will be sent, so no work.
    let wanted = sealer.borrow().config.as_ref().map(|c| c.pow_bits);
    if matches!(wanted, None | Some(0)) {
        return None;
    }
    sealer.borrow_mut().solving = true;
    let pow = async {
        let (200, text) = net.call("GET", "/api/v1/challenge", None).await.ok()? else {
            return None;
        };
        let challenge: Challenge = serde_json::from_str(&text).ok()?;
        if challenge.difficulty == 0 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(&challenge.challenge).ok()?;
        let mut from = 0u64;
        loop {
            if let Some(nonce) = pow::solve(&bytes, challenge.difficulty, from, POW_SLICE) {
                break Some(Pow {
                    challenge: challenge.challenge,
                    nonce,
                });
            }
            from += POW_SLICE;
            net.pause().await;
        }
    }
    .await;
    sealer.borrow_mut().solving = false;
    pow
}

/// A proof of work for `body`: the one sent with it before (a retry), the presolved one, or a
/// fresh one.
async fn pow_for(sealer: &RefCell<Sealer>, net: &impl Transport, body: &str) -> Option<Pow> {
    if let Some((sent, pow)) = &sealer.borrow().last_sent
        && sent == body
    {
        return Some(pow.clone());
    }
    // A background solve in progress: wait for it rather than start a second one.
    while sealer.borrow().solving {
        net.pause().await;
    }
    let ready = sealer.borrow_mut().pow.take();
    match ready {
        Some(pow) => Some(pow),
        None => solve_fresh(sealer, net).await,
    }
}

/// Posts `body` with a proof of work added; if the server refuses the proof (expired, say),
/// once more with a fresh one.
async fn send_with_pow(
    sealer: &RefCell<Sealer>,
    net: &impl Transport,
    path: &str,
    body: &str,
) -> Result<(u16, String), ()> {
    let mut answer = Err(());
    for attempt in 0..2 {
        if attempt == 1 {
            sealer.borrow_mut().last_sent = None;
        }
        let pow = pow_for(sealer, net, body).await;
        let with_pow = match (&pow, serde_json::from_str::<serde_json::Value>(body)) {
            (Some(pow), Ok(mut value)) => {
                value["pow"] = serde_json::to_value(pow).map_err(|_| ())?;
                value.to_string()
            }
            _ => body.to_owned(),
        };
        if let Some(pow) = pow {
            sealer.borrow_mut().last_sent = Some((body.to_owned(), pow));
        }
        answer = net.call("POST", path, Some(with_pow)).await;
        let refused = matches!(&answer, Ok((403, text)) if text.contains("pow_required"));
        if !refused {
            break;
        }
    }
    answer
}

/// The answer for a request the API did not take: its status and JSON error, if any.
fn http_failure(id: u32, answer: Result<(u16, String), ()>) -> FromWorker {
    let Ok((status, text)) = answer else {
        return FromWorker::Http {
            id,
            status: 0,
            code: String::new(),
            message: String::new(),
        };
    };
    let (code, message) = match serde_json::from_str::<ErrorBody>(&text) {
        Ok(body) => (
            serde_json::to_value(body.error.code)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            body.error.message,
        ),
        // A proxy's error page, a gateway timeout.
        Err(_) => (String::new(), String::new()),
    };
    FromWorker::Http {
        id,
        status,
        code,
        message,
    }
}

impl Sealer {
    /// Takes the page's configuration; refuses Argon2 settings below the floor, so a server
    /// cannot make inquiry codes cheap to guess.
    pub fn configure(&mut self, config: WorkerConfig) -> Result<(), String> {
        config.argon2.check_floor().map_err(|e| e.to_string())?;
        self.config = Some(config);
        Ok(())
    }

    /// Takes a `GET /api/v1/profile` document (what the server's page config is made from).
    pub fn set_profile(&mut self, json: &str) -> Result<(), String> {
        let profile: PublicProfile = serde_json::from_str(json).map_err(|e| e.to_string())?;
        self.configure(WorkerConfig::new(&profile))
    }

    fn new_code(&mut self) -> Result<String, String> {
        let code = InquiryCode::generate().expose_grouped().to_string();
        self.keys(&code)?;
        Ok(code)
    }

    fn seal_report(
        &mut self,
        code: &str,
        locale: String,
        region: Option<&str>,
        mut sections: Vec<SectionAnswers>,
        files: &str,
    ) -> Result<String, String> {
        let profile = self.config()?.clone();
        // Each field's files, as the report names them; all of them, for the server.
        let mut named = Vec::new();
        let fields = cluebox_protocol::evidence::fields_from_text(files)
            .ok_or("the files named are damaged")?;
        for (section_id, field_id, refs) in fields {
            named.extend(refs.iter().map(|r| FiledFile {
                upload: r.upload.clone(),
                sha256: hex_lower(&r.sealed_sha256),
            }));
            let section = match sections.iter_mut().find(|s| s.id == section_id) {
                Some(section) => section,
                None => {
                    sections.push(SectionAnswers {
                        id: section_id,
                        fields: Vec::new(),
                    });
                    sections.last_mut().expect("just pushed")
                }
            };
            let answer = Answer::Files(refs);
            match section.fields.iter_mut().find(|f| f.id == field_id) {
                Some(existing) => existing.answer = answer,
                None => section.fields.push(FieldAnswer {
                    id: field_id,
                    answer,
                }),
            }
        }
        let keys = self.keys(code)?;
        let letter = Letter::Report(Report {
            profile: profile.profile.clone(),
            locale,
            reply_key: keys.reply_public(),
            sections,
        });
        let recipients = profile.recipients.for_region(region);
        let sealed = envelope::seal(
            &recipients,
            &letter.to_bytes(),
            REPORT_LIMIT.min(profile.max_class),
        )
        .map_err(|e| e.to_string())?;
        json(&SubmitReport {
            v: API_VERSION,
            sealed: Sealed(sealed),
            lookup_token: keys.lookup_token.clone(),
            idempotency_key: IdempotencyKey::generate(),
            pow: None,
            files: named,
        })
    }

    fn lookup_body(&mut self, code: &str) -> Result<String, String> {
        let keys = self.keys(code)?;
        json(&InquiryRequest {
            v: API_VERSION,
            lookup_token: keys.lookup_token.clone(),
        })
    }

    fn open_case(&mut self, code: &str, inquiry_json: &str) -> Result<CaseView, String> {
        let inquiry: Inquiry = serde_json::from_str(inquiry_json).map_err(|e| e.to_string())?;
        let profile = self.config()?;
        let first_status = profile.first_status.clone();
        let office = office_keys(profile);
        let keys = self.keys(code)?;
        let mut numbers = Numbers::default();
        let replies = inquiry
            .replies
            .iter()
            .map(|item| OpenedNote {
                at: item.at,
                text: match open_office(keys, &office, &item.sealed.0) {
                    Some((sender, Letter::Reply(reply))) if numbers.fresh(&sender, reply.seq) => {
                        Some(reply.text)
                    }
                    _ => None,
                },
            })
            .collect();
        let timeline: Vec<TimelineEntry> = inquiry
            .timeline
            .iter()
            .map(|event| {
                let letter = event
                    .sealed
                    .as_ref()
                    .and_then(|sealed| open_office(keys, &office, &sealed.0));
                let confirmed = match letter {
                    Some((sender, Letter::Status(note))) => {
                        note.status == event.status
                            && note.at == event.at
                            && numbers.fresh(&sender, note.seq)
                    }
                    _ => false,
                };
                TimelineEntry {
                    status: event.status.clone(),
                    at: event.at,
                    confirmed,
                }
            })
            .collect();
        let own = [keys.reply_public()];
        let follow_ups = inquiry
            .follow_ups
            .iter()
            .map(|item| OpenedNote {
                at: item.at,
                text: match envelope::open_from(&[&keys.reply_secret], &own, &item.sealed.0) {
                    Ok(opened) if matches!(opened.origin, Origin::Sender(_)) => {
                        match Letter::from_bytes(&opened.body) {
                            Ok(letter) => letter.follow_up().map(|(text, _)| text.to_owned()),
                            _ => None,
                        }
                    }
                    _ => None,
                },
            })
            .collect();
        let status = timeline
            .iter()
            .rev()
            .find(|e| e.confirmed)
            .map_or(first_status, |e| e.status.clone());
        Ok(CaseView {
            status,
            received_at: inquiry.received_at,
            timeline,
            replies,
            follow_ups,
            irregular: numbers.irregular(),
        })
    }

    fn follow_up_body(&mut self, code: &str, text: String, files: &str) -> Result<String, String> {
        let files = if files.is_empty() {
            Vec::new()
        } else {
            FileRef::list_from_text(files).ok_or("the files named are damaged")?
        };
        let mut recipients = self.config()?.recipients.national.clone();
        let keys = self.keys(code)?;
        // Also sealed to the reporter's own key, so the status page can show it again; sealed
        // with it too, so the desk knows it comes from the code's holder.
        recipients.push(keys.reply_public());
        let named = files
            .iter()
            .map(|r| FiledFile {
                upload: r.upload.clone(),
                sha256: hex_lower(&r.sealed_sha256),
            })
            .collect();
        let letter = if files.is_empty() {
            Letter::FollowUp(Note { text })
        } else {
            Letter::FollowUpWithFiles(FollowUpNote { text, files })
        };
        let sealed = envelope::seal_from(
            &keys.reply_secret,
            &recipients,
            &letter.to_bytes(),
            REPORT_LIMIT,
        )
        .map_err(|e| e.to_string())?;
        json(&FollowUpRequest {
            v: API_VERSION,
            lookup_token: keys.lookup_token.clone(),
            sealed: Sealed(sealed),
            idempotency_key: IdempotencyKey::generate(),
            pow: None,
            files: named,
        })
    }

    fn config(&self) -> Result<&WorkerConfig, String> {
        self.config
            .as_ref()
            .ok_or_else(|| "the worker has no configuration yet".to_owned())
    }

    fn keys(&mut self, code: &str) -> Result<&ReporterKeys, String> {
        let code = InquiryCode::parse(code).map_err(|e| e.to_string())?;
        let canonical = code.expose_grouped().to_string();
        if self.cached.as_ref().is_none_or(|(c, _)| *c != canonical) {
            let config = self.config()?;
            let keys =
                derive(&code, &config.argon2, &config.argon2_salt).map_err(|e| e.to_string())?;
            self.cached = Some((canonical, keys));
        }
        Ok(&self.cached.as_ref().expect("set above").1)
    }
}

/// Every office key of the profile (national and regional): the senders whose replies and
/// status letters are the office's.
fn office_keys(profile: &WorkerConfig) -> Vec<PublicKey> {
    let mut keys = profile.recipients.national.clone();
    for key in profile.recipients.regions.values().flatten() {
        if !keys.contains(key) {
            keys.push(key.clone());
        }
    }
    keys
}

/// Opens an office message: `Some` only if it was sealed with one of `office` and holds a
/// letter.
fn open_office(
    keys: &ReporterKeys,
    office: &[PublicKey],
    sealed: &[u8],
) -> Option<(PublicKey, Letter)> {
    let opened = envelope::open_from(&[&keys.reply_secret], office, sealed).ok()?;
    let Origin::Sender(sender) = opened.origin else {
        return None;
    };
    Some((sender, Letter::from_bytes(&opened.body).ok()?))
}

/// The numbers of the office messages seen, per sending key: a repeated number is a replay, a
/// missing one a message withheld.
#[derive(Default)]
struct Numbers {
    seen: BTreeMap<[u8; 32], BTreeSet<u32>>,
    repeated: bool,
}

impl Numbers {
    /// Records `seq` from `sender`; `false` if it was seen before (the repeat is not shown).
    fn fresh(&mut self, sender: &PublicKey, seq: u32) -> bool {
        let fresh = seq > 0 && self.seen.entry(sender.to_bytes()).or_default().insert(seq);
        self.repeated |= !fresh;
        fresh
    }

    /// Whether a number repeated or one is missing (each sender's run is 1, 2, ..., n).
    fn irregular(&self) -> bool {
        self.repeated
            || self.seen.values().any(|seqs| {
                seqs.iter()
                    .enumerate()
                    .any(|(i, &seq)| seq as usize != i + 1)
            })
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;

/// Lowercase hex (the worker carries no hex crate of its own).
fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| {
            [
                DIGITS[usize::from(b >> 4)] as char,
                DIGITS[usize::from(b & 15)] as char,
            ]
        })
        .collect()
}
