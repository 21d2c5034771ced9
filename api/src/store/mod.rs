//! Storage: one trait, [`Store`], that handlers use; backends implement it.
//!
//! The default backend is SQLite ([`sqlite::SqliteStore`]). The trait speaks in the server's own
//! terms (sealed bytes, token hashes, cursors), never SQL, so a PostgreSQL backend can follow
//! without touching a handler. Every write is durable (fsync) before its method returns.
//!
//! Nothing here ever deletes: requests only add. Retention is the desk's decision.
//! Nothing here ever sees plaintext, a lookup token (only its keyed hash), anything else derived
//! from an inquiry code, a time finer than a day, or a client address.

use async_trait::async_trait;
use cluebox_protocol::wire::{InboxEntry, InboxItem, SealedItem, StatusEvent};

use crate::secrets::TokenHash;

pub mod blobs;
pub mod sqlite;

pub use blobs::UploadId;

/// The most status changes, replies and follow-ups a lookup returns (each, the newest).
pub const MAX_SHOWN: u32 = 200;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The idempotency key was used before for a different request.
    #[error("idempotency key reused for a different request")]
    IdempotencyConflict,
    /// The case does not exist.
    #[error("unknown case")]
    UnknownCase,
    /// The store is shutting down.
    #[error("the store is not accepting writes")]
    Unavailable,
    /// The disk is full.
    #[error("the disk is full")]
    Full,
    /// The case has the most follow-ups a case may have.
    #[error("the case has {0} follow-ups already")]
    TooManyFollowUps(u32),
    /// A named upload is not complete, is filed already, or has another hash.
    #[error("upload {0} is not complete, is filed already, or has other bytes")]
    UploadNotReady(String),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] anyhow::Error),
}

/// A report to file. The store gives it its case id.
#[derive(Debug, Clone)]
pub struct NewReport {
    /// The sealed report.
    pub sealed: Vec<u8>,
    /// SHA-256 of `sealed`.
    pub sealed_sha256: [u8; 32],
    /// Keyed hash of the lookup token: the only value derived from the inquiry code that the
    /// server ever stores.
    pub token_hash: TokenHash,
    /// The day it arrived (midnight UTC).
    pub received_at: u64,
    /// Its evidence files: complete, unfiled uploads and their sealed bytes' SHA-256, in order.
    pub files: Vec<(UploadId, [u8; 32])>,
}

/// A reporter's follow-up to add to the case of its token.
#[derive(Debug, Clone)]
pub struct NewFollowUp {
    /// Keyed hash of the lookup token (finds the case).
    pub token: TokenHash,
    /// The sealed follow-up.
    pub sealed: Vec<u8>,
    /// The day it arrived (midnight UTC).
    pub received_at: u64,
    /// Its evidence files, as [`NewReport::files`].
    pub files: Vec<(UploadId, [u8; 32])>,
}

/// An evidence file upload as the store records it (its bytes are in the blob store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The declared length.
    pub length: u64,
    /// The day it was started (midnight UTC).
    pub created_day: u64,
    /// SHA-256 of its bytes, once complete.
    pub sha256: Option<[u8; 32]>,
    /// Whether a report names it.
    pub filed: bool,
}

/// A write that may be retried: the key, a hash of the request, and the answer to give.
#[derive(Debug, Clone)]
pub struct Idempotent {
    /// The client's idempotency key, scoped by the kind of request.
    pub key: String,
    /// SHA-256 over the request's meaningful content.
    pub request_sha256: [u8; 32],
    /// The JSON answer to store and to return on a retry.
    pub response: String,
}

/// What an idempotent write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// Stored now; the answer is the one given.
    Created,
    /// Stored earlier under the same key and request; this is the answer given then.
    Repeated(String),
}

/// What a reporter's lookup finds.
#[derive(Debug, Clone)]
pub struct CaseView {
    /// When the report was received.
    pub received_at: u64,
    /// Public status changes, oldest first.
    pub timeline: Vec<StatusEvent>,
    /// Sealed replies from the office.
    pub replies: Vec<SealedItem>,
    /// The reporter's sealed follow-ups.
    pub follow_ups: Vec<SealedItem>,
}

/// Where an export starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// Items after this inbox position.
    Seq(u64),
    /// Items received at or after this time (Unix seconds).
    Time(u64),
}

/// The storage of the intake server.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Files a report, opening its case. Idempotent on `idem.key`.
    async fn file_report(&self, report: NewReport, idem: Idempotent)
    -> Result<Written, StoreError>;

    /// Adds a reporter's sealed follow-up (and binds its files) to the case of its token.
    /// Idempotent on `idem.key`. [`StoreError::UnknownCase`] if no case has this token;
    /// [`StoreError::TooManyFollowUps`] if it has `max_per_case` already;
    /// [`StoreError::UploadNotReady`] as for a report, and then nothing is added.
    async fn add_follow_up(
        &self,
        follow_up: NewFollowUp,
        max_per_case: u32,
        idem: Idempotent,
    ) -> Result<Written, StoreError>;

    /// The reporter's view of the case of `token`, if any: its newest [`MAX_SHOWN`] status
    /// changes, replies and follow-ups each. Takes the same work whether or not the case exists.
    async fn inquiry(&self, token: TokenHash) -> Result<Option<CaseView>, StoreError>;

    /// Bytes of sealed items received on or after `day` (the daily quota after a restart).
    async fn stored_since(&self, day: u64) -> Result<u64, StoreError>;

    /// Inbox items after `after`, oldest first, at most `limit`.
    async fn inbox(&self, after: u64, limit: u32) -> Result<Vec<InboxItem>, StoreError>;

    /// One inbox item with its sealed bytes.
    async fn inbox_entry(&self, seq: u64) -> Result<Option<InboxEntry>, StoreError>;

    /// Marks items as stored by a desk; returns how many were newly marked.
    async fn acknowledge(&self, seqs: Vec<u64>, at: u64) -> Result<u64, StoreError>;

    /// Records a public status change and the office's sealed status letter. Idempotent on
    /// `idem.key`.
    async fn post_status(
        &self,
        case_id: String,
        status: String,
        at: u64,
        sealed: Vec<u8>,
        idem: Idempotent,
    ) -> Result<Written, StoreError>;

    /// Records a sealed reply. Idempotent on `idem.key`.
    async fn post_reply(
        &self,
        case_id: String,
        sealed: Vec<u8>,
        at: u64,
        idem: Idempotent,
    ) -> Result<Written, StoreError>;

    /// Every inbox entry since a position or time, oldest first (for `cluebox export`).
    async fn export(&self, since: Since) -> Result<Vec<InboxEntry>, StoreError>;

    /// Records a new upload of `length` bytes, started on `day`.
    async fn create_upload(&self, id: UploadId, length: u64, day: u64) -> Result<(), StoreError>;

    /// An upload, if the store knows it.
    async fn upload(&self, id: UploadId) -> Result<Option<Upload>, StoreError>;

    /// Records that an upload is complete, with its bytes' hash.
    async fn complete_upload(&self, id: UploadId, sha256: [u8; 32]) -> Result<(), StoreError>;

    /// Forgets an upload no report names; `false` if a report names it (or it is unknown).
    async fn forget_upload(&self, id: UploadId) -> Result<bool, StoreError>;

    /// Uploads no report names that were started before `day`.
    async fn unfiled_before(&self, day: u64) -> Result<Vec<UploadId>, StoreError>;
}
