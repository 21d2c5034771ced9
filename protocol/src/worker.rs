//! Messages between the portal's page and its crypto worker (`sealer/`), as JSON.
//!
//! The page keeps the form light: it never holds an inquiry code's keys and never runs Argon2,
//! HPKE or ChaCha20 itself. The worker derives, seals and opens off the main thread, so the page
//! never freezes, and the crypto code is not on the form's critical path (it loads in the
//! background while the reporter reads the first step).
//!
//! The worker answers every request with the same `id`.

use serde::{Deserialize, Serialize};

use crate::letter::SectionAnswers;
use crate::wire::StatusEvent;

/// From the page to the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToWorker {
    /// The profile document exactly as `GET /api/v1/profile` returned it (recipient keys,
    /// Argon2 settings). Sent once, before anything else.
    Init {
        /// The JSON text.
        profile_json: String,
    },
    /// Make a new inquiry code and derive its keys (Argon2id): answers [`FromWorker::Code`].
    NewCode {
        /// Correlates the answer.
        id: u32,
    },
    /// Seal a report with the keys of a code from [`ToWorker::NewCode`]: answers
    /// [`FromWorker::Report`].
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
    },
    /// Derive the keys of a typed code: answers [`FromWorker::Body`] with the inquiry request.
    Lookup {
        /// Correlates the answer.
        id: u32,
        /// The code as typed (already checked by the page).
        code: String,
    },
    /// Open what an inquiry returned, with the code's reply key: answers [`FromWorker::Case`].
    OpenCase {
        /// Correlates the answer.
        id: u32,
        /// The code.
        code: String,
        /// The `POST /api/v1/inquiries` answer, as JSON text.
        inquiry_json: String,
    },
    /// Seal a follow-up message: answers [`FromWorker::Body`] with the follow-up request.
    FollowUp {
        /// Correlates the answer.
        id: u32,
        /// The code.
        code: String,
        /// The message.
        text: String,
    },
}

/// From the worker to the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FromWorker {
    /// The worker has started and takes requests.
    Ready,
    /// A new inquiry code (its keys stay in the worker).
    Code {
        /// The request's id.
        id: u32,
        /// The code, grouped for display.
        code: String,
    },
    /// A sealed report, ready to upload.
    Report {
        /// The request's id.
        id: u32,
        /// The `POST /api/v1/reports` body (JSON), to send as is on every attempt.
        body: String,
    },
    /// A request body to send as is.
    Body {
        /// The request's id.
        id: u32,
        /// JSON.
        body: String,
    },
    /// A case, opened.
    Case {
        /// The request's id.
        id: u32,
        /// What the reporter may read.
        case: CaseView,
    },
    /// The request failed.
    Failed {
        /// The request's id.
        id: u32,
        /// Why, in a sentence.
        message: String,
    },
}

/// A case as the status page shows it, replies and follow-ups decrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseView {
    /// Current public status id.
    pub status: String,
    /// When the report was received.
    pub received_at: u64,
    /// Public status changes.
    pub timeline: Vec<StatusEvent>,
    /// The office's replies.
    pub replies: Vec<OpenedNote>,
    /// The reporter's follow-ups.
    pub follow_ups: Vec<OpenedNote>,
}

/// A decrypted message with its date; `text` is `None` if it could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenedNote {
    /// When the server received it.
    pub at: u64,
    /// The text.
    pub text: Option<String>,
}
