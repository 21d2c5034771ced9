//! What the Cluebox browser form, the intake API and the case desk agree on.
//!
//! This crate is the single source of truth for everything that crosses a boundary:
//!
//! - [`envelope`]: sealing a message to one or more recipient keys (HPKE over X25519 wraps a
//!   per-message key; the padded payload is ChaCha20-Poly1305 in the STREAM construction) and
//!   opening it with one private key.
//! - [`evidence`]: evidence files: the header sealed before a file's bytes, and how a report
//!   names its files.
//! - [`keys`]: recipient key pairs and their text form (`cbxpk1...`).
//! - [`code`]: the reporter's inquiry code (95 random bits and a check symbol).
//! - [`mod@derive`]: from an inquiry code to the lookup token and the reporter's reply key (Argon2id).
//! - [`letter`]: the plaintext inside an envelope (a report, a follow-up, a reply).
//! - [`padding`]: the size classes that hide a message's length.
//! - [`profile`]: the hotline profile (form sections, categories, regions, statuses, deadlines).
//! - [`page`]: the profile as the portal's pages receive it, inside the page (postcard).
//! - [`wire`]: the JSON request and response types of the HTTP API and its error codes.
//! - [`receipt`]: the signed acknowledgement of filing.
//! - [`pow`]: the proof of work that makes a flood of anonymous submissions expensive.
//! - [`worker`]: messages between the portal page and its crypto worker.
//!
//! It must never depend on a server runtime, a database or anything that does not build for
//! `wasm32-unknown-unknown`: the browser compiles it too. The format is written down in
//! `docs/PROTOCOL.md` and frozen by tests.
//!
//! ```
//! use cluebox_protocol::{envelope, keys::SecretKey, letter::{Letter, Note}};
//!
//! let office = SecretKey::generate();
//! let letter = Letter::FollowUp(Note { text: "新的线索".into() });
//! let sealed = envelope::seal(&[office.public_key()], &letter.to_bytes(), envelope::REPORT_LIMIT)?;
//! let opened = Letter::from_bytes(&envelope::open(&office, &sealed)?)?;
//! assert_eq!(opened, letter);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod code;
pub mod derive;
pub mod envelope;
pub mod evidence;
pub mod keys;
pub mod letter;
pub mod padding;
pub mod page;
pub mod pow;
pub mod profile;
#[cfg(feature = "qr")]
pub mod qr;
pub mod receipt;
pub mod wire;
pub mod worker;

pub(crate) mod rng;

#[cfg(feature = "openapi")]
mod openapi;
