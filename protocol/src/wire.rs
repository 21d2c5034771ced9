//! JSON request and response types of the HTTP API (`/api/v1`), and its error codes.
//!
//! Binary values travel as base64 (standard alphabet with padding for sealed messages and
//! signatures; URL-safe without padding for tokens). Times are Unix seconds (UTC). Every request
//! body carries `v`, the protocol version ([`API_VERSION`]); a server refuses other versions with
//! [`ErrorCode::UnsupportedVersion`].
//!
//! Nothing here knows how the server stores things or how the browser sends them.

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The protocol version of request bodies.
pub const API_VERSION: u16 = 1;

/// Seconds in a day. Every time the server stores, signs or shows is rounded down to a whole
/// day (midnight UTC), so that a seized server cannot line a case up with network records.
pub const DAY: u64 = 86_400;

/// `unix` rounded down to midnight UTC.
pub const fn day_of(unix: u64) -> u64 {
    unix - unix % DAY
}

/// A sealed envelope ([`crate::envelope`]) as it travels in JSON (base64).
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed(pub Vec<u8>);

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed({} bytes)", self.0.len())
    }
}

impl Serialize for Sealed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Sealed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map(Sealed)
            .map_err(|_| serde::de::Error::custom("sealed must be standard base64"))
    }
}

/// The credential a reporter's browser derives from the inquiry code to look up the case.
///
/// It is a bearer secret: its `Debug` is redacted. The server stores only a keyed hash of it.
#[derive(Clone, PartialEq, Eq)]
pub struct LookupToken([u8; 32]);

impl LookupToken {
    /// Wraps 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl Drop for LookupToken {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl fmt::Debug for LookupToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LookupToken(<redacted>)")
    }
}

impl Serialize for LookupToken {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl<'de> Deserialize<'de> for LookupToken {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(text.as_bytes())
            .ok()
            .and_then(|v| <[u8; 32]>::try_from(v).ok())
            .ok_or_else(|| {
                serde::de::Error::custom("lookup_token must be 32 bytes of base64url")
            })?;
        Ok(Self(bytes))
    }
}

/// A client-chosen key that makes a retried upload idempotent: 16 to 64 characters of
/// `A-Z a-z 0-9 - _`. The browser makes one per submission with [`IdempotencyKey::generate`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// A fresh random key (128 bits).
    pub fn generate() -> Self {
        use hpke::rand_core::Rng as _;
        let mut bytes = [0u8; 16];
        crate::rng::system().fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Checks the form of a key.
    pub fn new(text: &str) -> Option<Self> {
        let ok = (16..=64).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(text.to_owned()))
    }

    /// The key's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for IdempotencyKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::new(&text).ok_or_else(|| {
            serde::de::Error::custom("idempotency_key must be 16-64 characters of A-Z a-z 0-9 - _")
        })
    }
}

/// `POST /api/v1/reports`: file a sealed report.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitReport {
    /// Protocol version ([`API_VERSION`]).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1))]
    pub v: u16,
    /// The sealed [`crate::letter::Letter::Report`].
    pub sealed: Sealed,
    /// Derived from the inquiry code ([`crate::derive`]). The reporter's reply key is not
    /// sent: it travels only inside the sealed report, so the server holds nothing derived
    /// from the code but this token's keyed hash.
    pub lookup_token: LookupToken,
    /// Makes retries safe: the same key and body return the first answer again.
    pub idempotency_key: IdempotencyKey,
    /// A solved challenge ([`crate::pow`]); required unless the server's difficulty is 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pow: Option<Pow>,
    /// The report's evidence files, complete uploads in the report's order (at most the
    /// profile's `evidence.max_files`). Filing binds them to the report; the receipt names
    /// their hashes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FiledFile>,
}

/// An evidence file named by a report: a complete upload and the SHA-256 of its sealed bytes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FiledFile {
    /// The upload's id ([`UploadState::upload`]).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{32}$"))]
    pub upload: String,
    /// SHA-256 of the sealed file, lowercase hex.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
    pub sha256: String,
}

/// `POST /api/v1/uploads`: start uploading a sealed evidence file of `length` bytes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUpload {
    /// Protocol version ([`API_VERSION`]).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1))]
    pub v: u16,
    /// The sealed file's length: the length of an evidence file's envelope
    /// ([`crate::envelope::sealed_file_len`]) within the profile's limit (413 above it; the
    /// maximum is the longest sealed file any profile allows).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 4_363_142_455_u64))]
    pub length: u64,
    /// A solved challenge; required unless the server's difficulty is 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pow: Option<Pow>,
}

/// An upload as the server has it: the answer to creating it, to each piece, and to
/// `GET /api/v1/uploads/{upload}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadState {
    /// The upload's id: 32 lowercase hex digits, unguessable; whoever holds it may add to the
    /// upload until it is complete.
    pub upload: String,
    /// Its length, as declared.
    pub length: u64,
    /// How many bytes are stored durably: where the next piece starts.
    pub offset: u64,
    /// The most bytes one piece may carry.
    pub max_piece: u64,
    /// SHA-256 of the sealed file (lowercase hex) once `offset == length`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The day (Unix seconds, midnight UTC) on which an upload that no report names is deleted.
    pub expires_on: u64,
}

/// `GET /api/v1/challenge`: a proof-of-work challenge.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// Opaque, base64url without padding; single use.
    pub challenge: String,
    /// Leading zero bits the solution's hash needs (0: no work needed).
    pub difficulty: u8,
    /// Until when (Unix seconds) a solution is accepted.
    pub expires_at: u64,
}

/// A solved challenge, sent with a report or a follow-up.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pow {
    /// The challenge as [`Challenge::challenge`] gave it.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{1,200}$"))]
    pub challenge: String,
    /// The solution.
    pub nonce: u64,
}

/// The answer to a filed report: `201 Created` (or `200 OK` for a repeated idempotent request).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filed {
    /// The signed acknowledgement of filing, for the reporter to keep.
    pub receipt: crate::receipt::Receipt,
}

/// `POST /api/v1/inquiries`: look a case up by its token.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InquiryRequest {
    /// Protocol version ([`API_VERSION`]).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1))]
    pub v: u16,
    /// Derived from the inquiry code.
    pub lookup_token: LookupToken,
}

/// What a reporter sees of their case.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inquiry {
    /// The current public status (a key of the profile's status vocabulary), as the server
    /// knows it; the status page trusts only the sealed status letters in `timeline`.
    pub status: String,
    /// The day the report was received (Unix seconds, midnight UTC).
    pub received_at: u64,
    /// Public status changes, oldest first.
    pub timeline: Vec<StatusEvent>,
    /// The office's replies, sealed to the reporter's reply key, oldest first.
    pub replies: Vec<SealedItem>,
    /// The reporter's own follow-ups, sealed to the offices, oldest first.
    pub follow_ups: Vec<SealedItem>,
}

/// One public status change.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusEvent {
    /// The new status (a key of the profile's status vocabulary).
    pub status: String,
    /// The day it changed (Unix seconds, midnight UTC).
    pub at: u64,
    /// The office's sealed [`crate::letter::Letter::Status`] saying the same, sealed with the
    /// office key to the reporter's key; absent on changes recorded before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<Sealed>,
}

/// A sealed message with its date.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedItem {
    /// The sealed [`crate::letter::Letter`].
    pub sealed: Sealed,
    /// The day the server received it (Unix seconds, midnight UTC).
    pub at: u64,
}

/// `POST /api/v1/inquiries/follow-ups`: add a sealed message to one's case.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUpRequest {
    /// Protocol version ([`API_VERSION`]).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1))]
    pub v: u16,
    /// Derived from the inquiry code.
    pub lookup_token: LookupToken,
    /// The sealed [`crate::letter::Letter::FollowUp`] (or `FollowUpWithFiles`).
    pub sealed: Sealed,
    /// Makes retries safe.
    pub idempotency_key: IdempotencyKey,
    /// A solved challenge; required unless the server's difficulty is 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pow: Option<Pow>,
    /// Evidence files the follow-up names, as in [`SubmitReport::files`] (each complete, not
    /// yet filed, with this hash; bound to the follow-up atomically).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FiledFile>,
}

/// What kind of sealed item the desk receives.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InboxKind {
    /// A new report (opens a case).
    Report,
    /// A reporter's follow-up on an existing case.
    FollowUp,
}

/// One item of the desk's inbox, without its sealed bytes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxItem {
    /// Position in the inbox; strictly increasing, the desk's cursor.
    pub seq: u64,
    /// The case this item belongs to (a server-chosen random id, unrelated to the code).
    pub case_id: String,
    /// Report or follow-up.
    pub kind: InboxKind,
    /// The day the server stored it (Unix seconds, midnight UTC).
    pub received_at: u64,
    /// SHA-256 of the sealed bytes (hex), to check the transfer.
    pub sealed_sha256: String,
    /// Whether a desk has acknowledged storing it.
    pub acknowledged: bool,
    /// Its evidence files, in its order (`GET /api/v1/desk/uploads/{upload}` fetches each).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<InboxFile>,
}

/// An evidence file of an inbox item.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxFile {
    /// The upload's id.
    pub upload: String,
    /// The sealed file's length.
    pub length: u64,
    /// SHA-256 of the sealed file, lowercase hex.
    pub sha256: String,
}

/// `GET /api/v1/desk/inbox?after=SEQ&limit=N`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxPage {
    /// Items with `seq > after`, oldest first.
    pub items: Vec<InboxItem>,
    /// Pass as `after` to get the next page; equal to `after` when nothing is new.
    pub next_after: u64,
}

/// `GET /api/v1/desk/inbox/{seq}`: one item with its sealed bytes. Also the unit of an export
/// bundle.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxEntry {
    /// The item.
    #[serde(flatten)]
    pub item: InboxItem,
    /// The sealed letter.
    pub sealed: Sealed,
}

/// `POST /api/v1/desk/acks`: the desk has stored these items.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AckRequest {
    /// Protocol version ([`API_VERSION`]).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1))]
    pub v: u16,
    /// The inbox positions stored (at most 10,000, each at most 2^63 - 1).
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::positions))]
    pub seqs: Vec<u64>,
}

/// The answer to [`AckRequest`].
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckResult {
    /// Items newly acknowledged (already acknowledged ones are not counted again).
    pub acknowledged: u64,
}

/// `POST /api/v1/desk/cases/{case_id}/events`: a public status change.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostStatus {
    /// Protocol version ([`API_VERSION`]).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1))]
    pub v: u16,
    /// The new status, from the profile's vocabulary.
    pub status: String,
    /// The day the desk made the change (Unix seconds, a multiple of 86400: midnight UTC);
    /// shown to the reporter.
    #[cfg_attr(
        feature = "openapi",
        schema(
            multiple_of = 86400,
            minimum = 0,
            maximum = 9_223_372_036_854_400_000_i64
        )
    )]
    pub at: u64,
    /// The same change as a sealed [`crate::letter::Letter::Status`], sealed with the office
    /// key to the reporter's key, so the status page can check it came from the office.
    pub sealed: Sealed,
    /// Makes retries safe.
    pub idempotency_key: IdempotencyKey,
}

/// `POST /api/v1/desk/cases/{case_id}/replies`: a reply sealed to the reporter's key.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostReply {
    /// Protocol version ([`API_VERSION`]).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1))]
    pub v: u16,
    /// The sealed [`crate::letter::Letter::Reply`].
    pub sealed: Sealed,
    /// Makes retries safe.
    pub idempotency_key: IdempotencyKey,
}

/// What the desk's posts answer.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posted {
    /// When the server stored it.
    pub at: u64,
}

/// An export bundle (`cluebox export`): inbox entries for an air-gapped desk.
///
/// Version 2 (written now) is a POSIX tar archive: its first entry, [`BUNDLE_INDEX`], is this
/// structure as JSON; then one entry per evidence file the entries name, at
/// [`bundle_file_path`], holding the sealed file (its length and SHA-256 are the ones its
/// [`InboxFile`] gives). Version 1 was this JSON alone (no files); desks still read it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    /// Bundle format version (2 inside an archive, 1 for a bare JSON bundle).
    pub bundle_version: u16,
    /// The hotline profile id the entries belong to.
    pub profile: String,
    /// When it was written.
    pub exported_at: u64,
    /// The entries, oldest first.
    pub entries: Vec<InboxEntry>,
}

/// The first entry of a version 2 export bundle: the [`Bundle`] as JSON.
pub const BUNDLE_INDEX: &str = "bundle.json";

/// Where a version 2 export bundle holds the sealed bytes of the upload `upload`.
pub fn bundle_file_path(upload: &str) -> String {
    format!("files/{upload}.sealed")
}

/// The body of every error response: `{"error":{"code":"...","message":"..."}}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// A stable code and a sentence for people.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable, for programs.
    pub code: ErrorCode,
    /// For people; may change.
    pub message: String,
}

/// Every error the API answers with. The snake_case names are stable.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// 400: the body is not valid JSON.
    MalformedJson,
    /// 422: the JSON is well formed but a field is missing, unknown or of the wrong type.
    InvalidField,
    /// 400: a query or path parameter is missing or not valid.
    InvalidParameter,
    /// 415: the request body is not `application/json`.
    UnsupportedMediaType,
    /// 413: the body or the sealed message exceeds the allowed size class.
    PayloadTooLarge,
    /// 400: the request's `v` is not a version this server speaks.
    UnsupportedVersion,
    /// 422: the sealed message is not a well-formed envelope of an allowed size.
    InvalidEnvelope,
    /// 401: a desk token is missing or wrong.
    Unauthorized,
    /// 404: no such resource (also: an unknown lookup token).
    NotFound,
    /// 405: the method is not allowed on this path.
    MethodNotAllowed,
    /// 409: an idempotency key was reused for a different request.
    IdempotencyConflict,
    /// 408: the request body did not arrive in time.
    RequestTimeout,
    /// 429: too many requests; try again later.
    RateLimited,
    /// 503: the server is overloaded or shutting down; try again later.
    Unavailable,
    /// 507: the server is short of storage; try again later.
    InsufficientStorage,
    /// 403: the proof of work is missing, wrong, expired or already used; fetch a new challenge.
    PowRequired,
    /// 409: an upload's piece does not start where the upload stands, or differs from the bytes
    /// stored at its offset; `GET` the upload for its offset.
    OffsetMismatch,
    /// 409: a report names an upload that is not complete, is filed already, or whose sealed
    /// bytes have another hash.
    UploadNotReady,
    /// 500: something went wrong on the server (details are only in its log).
    Internal,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_shape_is_stable() {
        let body = ErrorBody {
            error: ErrorDetail {
                code: ErrorCode::PayloadTooLarge,
                message: "too big".into(),
            },
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"error":{"code":"payload_too_large","message":"too big"}}"#
        );
    }

    #[test]
    fn tokens_are_redacted_and_checked() {
        let token = LookupToken::from_bytes([7; 32]);
        assert_eq!(format!("{token:?}"), "LookupToken(<redacted>)");
        let json = serde_json::to_string(&token).unwrap();
        assert_eq!(serde_json::from_str::<LookupToken>(&json).unwrap(), token);
        assert!(serde_json::from_str::<LookupToken>("\"AAAA\"").is_err());
    }

    #[test]
    fn idempotency_keys() {
        let key = IdempotencyKey::generate();
        assert_eq!(IdempotencyKey::new(key.as_str()), Some(key.clone()));
        assert_eq!(key.as_str().len(), 22);
        assert!(IdempotencyKey::new("short").is_none());
        assert!(IdempotencyKey::new("has spaces in it, sixteen+").is_none());
        assert!(serde_json::from_str::<IdempotencyKey>("\"x\"").is_err());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let json =
            r#"{"v":1,"lookup_token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","extra":1}"#;
        assert!(serde_json::from_str::<InquiryRequest>(json).is_err());
    }
}
