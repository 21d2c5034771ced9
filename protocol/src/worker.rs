//! Messages between the portal's pages and their crypto worker (`sealer/`), as postcard bytes
//! ([`encode`], [`decode`]), the same small decoder the pages already carry for [`crate::page`].
//!
//! The page keeps the form light: it never holds an inquiry code's keys and never runs Argon2,
//! HPKE or ChaCha20 itself, and it has no HTTP or JSON code either. The worker fetches the
//! sealing settings (`GET /api/v1/profile`), derives, seals, opens and talks to the API off the
//! main thread, so the page never freezes, and none of that code is on the form's critical path
//! (it loads in the background while the reporter reads the first step).
//!
//! The worker answers every request with the same `id`.

use serde::{Deserialize, Serialize};

use crate::letter::SectionAnswers;
use crate::receipt::Receipt;

/// A message as bytes.
pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    postcard::to_allocvec(message).expect("serialising to memory cannot fail")
}

/// A message from bytes; `None` if they are not one.
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Option<T> {
    postcard::from_bytes(bytes).ok()
}

/// From the page to the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToWorker {
    /// The page's [`crate::page::WorkerConfig`], as the server wrote it into the page: the
    /// first message after [`FromWorker::Ready`]; answers [`FromWorker::Configured`]. Until
    /// then every other request is refused.
    Configure {
        /// Correlates the answer.
        id: u32,
        /// [`crate::page::WorkerConfig::encode`]'s text.
        config: String,
    },
    /// Make a new inquiry code and derive its keys (Argon2id): answers [`FromWorker::Code`].
    NewCode {
        /// Correlates the answer.
        id: u32,
    },
    /// Seal a report with the keys of a code from [`ToWorker::NewCode`]: answers
    /// [`FromWorker::Sealed`] with the `POST /api/v1/reports` body.
    SealReport {
        /// Correlates the answer.
        id: u32,
        /// The code [`FromWorker::Code`] gave.
        code: String,
        /// The interface language.
        locale: String,
        /// The region chosen (adds its office's keys), if any.
        region: Option<String>,
        /// The answers, hidden and blank fields already "unclear".
        sections: Vec<SectionAnswers>,
        /// Evidence files to name in fields (from [`FromWorker::FileReady`]), as
        /// [`crate::evidence::fields_to_text`] writes them (the form never decodes them): the
        /// worker puts [`crate::letter::Answer::Files`] into those fields.
        files: String,
    },
    /// Clean, seal and upload an evidence file (the page's `File` travels with this message,
    /// as its second part): answers [`FromWorker::FileProgress`] as it goes, then
    /// [`FromWorker::FileReady`], [`FromWorker::Http`] (refused) or [`FromWorker::Failed`].
    /// Lost connections are waited out and the upload resumes where the server stands.
    AddFile {
        /// Correlates the answers.
        id: u32,
        /// The page's number for the file (what [`ToWorker::DropFile`] names).
        file: u32,
        /// The region chosen so far (adds its office's keys), if any.
        region: Option<String>,
    },
    /// Stop uploading a file, or forget a finished one (its upload is deleted): answers
    /// [`FromWorker::Sent`].
    DropFile {
        /// Correlates the answer.
        id: u32,
        /// The page's number for the file.
        file: u32,
    },
    /// Send a sealed report (`POST /api/v1/reports`): answers [`FromWorker::Filed`] or
    /// [`FromWorker::Http`]. The page sends the same body on every retry, so its idempotency
    /// key makes a retry after a lost answer harmless.
    Upload {
        /// Correlates the answer.
        id: u32,
        /// The body [`FromWorker::Sealed`] gave.
        body: String,
    },
    /// Send a sealed follow-up (`POST /api/v1/inquiries/follow-ups`): answers
    /// [`FromWorker::Sent`] or [`FromWorker::Http`]. Retries resend the same body.
    SendFollowUp {
        /// Correlates the answer.
        id: u32,
        /// The body [`FromWorker::Sealed`] gave.
        body: String,
    },
    /// Look a typed code up and open what the office sent: answers [`FromWorker::Case`],
    /// [`FromWorker::NotFound`] or [`FromWorker::Http`].
    Inquire {
        /// Correlates the answer.
        id: u32,
        /// The code as typed (already checked by the page).
        code: String,
    },
    /// Seal a follow-up message: answers [`FromWorker::Sealed`] with the
    /// `POST /api/v1/inquiries/follow-ups` body.
    SealFollowUp {
        /// Correlates the answer.
        id: u32,
        /// The code.
        code: String,
        /// The message.
        text: String,
        /// The stored files it carries ([`crate::evidence::FileRef::list_to_text`]; empty for
        /// none).
        files: String,
    },
}

impl ToWorker {
    /// The request's id.
    pub fn id(&self) -> u32 {
        match self {
            ToWorker::NewCode { id }
            | ToWorker::Configure { id, .. }
            | ToWorker::SealReport { id, .. }
            | ToWorker::Upload { id, .. }
            | ToWorker::SendFollowUp { id, .. }
            | ToWorker::Inquire { id, .. }
            | ToWorker::SealFollowUp { id, .. }
            | ToWorker::AddFile { id, .. }
            | ToWorker::DropFile { id, .. } => *id,
        }
    }
}

/// From the worker to the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FromWorker {
    /// The worker's code has started: the page sends [`ToWorker::Configure`] next.
    Ready,
    /// The configuration is taken: the worker can seal and look codes up.
    Configured {
        /// The request's id.
        id: u32,
    },
    /// A new inquiry code (its keys stay in the worker).
    Code {
        /// The request's id.
        id: u32,
        /// The code, grouped for display.
        code: String,
    },
    /// A sealed report or follow-up, ready to send.
    Sealed {
        /// The request's id.
        id: u32,
        /// The request body (JSON), to send as is on every attempt.
        body: String,
    },
    /// The report is filed: the server's signed acknowledgement.
    Filed {
        /// The request's id.
        id: u32,
        /// The receipt, ready to show and save.
        receipt: FiledReceipt,
    },
    /// A case, opened.
    Case {
        /// The request's id.
        id: u32,
        /// What the reporter may read.
        case: CaseView,
    },
    /// No report has this code.
    NotFound {
        /// The request's id.
        id: u32,
    },
    /// The follow-up is stored.
    Sent {
        /// The request's id.
        id: u32,
    },
    /// The API did not take the request.
    Http {
        /// The request's id.
        id: u32,
        /// The HTTP status; 0 when no answer came (offline, connection reset).
        status: u16,
        /// The stable error code of the JSON error (`rate_limited`, ...), if there was one.
        code: String,
        /// The server's sentence, if any.
        message: String,
    },
    /// A file is on its way: how many of its sealed bytes the server has.
    FileProgress {
        /// The request's id.
        id: u32,
        /// Sealed bytes stored by the server so far.
        done: u64,
        /// The sealed file's length.
        total: u64,
        /// Waiting for the connection to come back.
        waiting: bool,
    },
    /// A file is cleaned, sealed and stored by the server.
    FileReady {
        /// The request's id.
        id: u32,
        /// What was removed from it before sealing.
        cleaning: crate::evidence::Cleaning,
        /// How a report names it ([`ToWorker::SealReport`]'s `files`).
        reference: crate::evidence::FileRef,
    },
    /// The request failed in the worker.
    Failed {
        /// The request's id.
        id: u32,
        /// Why, in a sentence.
        message: String,
    },
}

impl FromWorker {
    /// The id of the request this answers (`None` for [`FromWorker::Ready`]).
    pub fn id(&self) -> Option<u32> {
        match self {
            FromWorker::Ready => None,
            FromWorker::Code { id, .. }
            | FromWorker::Sealed { id, .. }
            | FromWorker::Filed { id, .. }
            | FromWorker::Case { id, .. }
            | FromWorker::NotFound { id }
            | FromWorker::Configured { id }
            | FromWorker::Sent { id }
            | FromWorker::Http { id, .. }
            | FromWorker::FileProgress { id, .. }
            | FromWorker::FileReady { id, .. }
            | FromWorker::Failed { id, .. } => Some(*id),
        }
    }
}

/// A filing receipt ([`Receipt`]) as the page shows and saves it, its binary parts already in
/// text: the worker does the encoding, so the form's bundle carries no hex or base64 code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiledReceipt {
    /// When the server had the report durably stored (Unix seconds).
    pub received_at: u64,
    /// SHA-256 of the sealed report, lowercase hex.
    pub report_hash: String,
    /// The server's Ed25519 signature, base64.
    pub signature: String,
    /// SHA-256 of each sealed evidence file the receipt signs, lowercase hex.
    pub files: Vec<String>,
}

impl From<&Receipt> for FiledReceipt {
    fn from(receipt: &Receipt) -> Self {
        use base64::Engine as _;
        FiledReceipt {
            received_at: receipt.received_at,
            report_hash: hex::encode(receipt.report_hash),
            signature: base64::engine::general_purpose::STANDARD.encode(receipt.signature),
            files: receipt.files.iter().map(hex::encode).collect(),
        }
    }
}

/// A case as the status page shows it, replies and follow-ups decrypted and every office
/// message checked against the office keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseView {
    /// The current status id: the latest change the office confirmed (the first status of the
    /// profile if none is confirmed yet).
    pub status: String,
    /// The day the report was received.
    pub received_at: u64,
    /// Public status changes, each marked confirmed or not.
    pub timeline: Vec<TimelineEntry>,
    /// The office's replies; only those that verify carry their text.
    pub replies: Vec<OpenedNote>,
    /// The reporter's follow-ups.
    pub follow_ups: Vec<OpenedNote>,
    /// Whether an office message was missing or repeated (its numbers have a gap or a repeat):
    /// the server withheld or replayed something.
    pub irregular: bool,
}

/// One public status change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// The status id.
    pub status: String,
    /// The day of the change.
    pub at: u64,
    /// Whether the office's sealed status letter confirms it (sealed with an office key, same
    /// status, same day).
    pub confirmed: bool,
}

/// A decrypted message with its date. `text` is `None` when it could not be opened or does not
/// verify as coming from its sender: such a message is never shown as the office's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenedNote {
    /// The day the server received it.
    pub at: u64,
    /// The text.
    pub text: Option<String>,
}
