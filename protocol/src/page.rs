//! What the portal's pages know of the hotline, delivered inside the page itself.
//!
//! The server writes a [`PageProfile`] into every app page it serves, as the `content` of
//! `<meta name="cluebox-page">` ([`META_NAME`]): a format byte and the
//! [postcard](https://docs.rs/postcard) encoding, percent-escaped. The page can draw the form
//! the moment its WebAssembly starts, without a second round trip (slow mobile networks), and
//! it carries no JSON parser: postcard's decoder is a small fraction of serde_json's, which
//! `docs/BENCHMARKS.md` measures against the form's weight budget.
//!
//! Why percent-escaping and not base64: postcard stores strings as their UTF-8 bytes, so the
//! profile's Chinese and English text can stay text, and brotli compresses text far better
//! than base64 of it (2.6 KB against 4.0 KB for the 12337 profile). Every byte that is not part
//! of a printable character, and `%"&'<>`, becomes `%XX`; the page reverses that with the
//! `percent-encoding` crate's decoder.
//!
//! Only what the pages' own code shows is here (each byte is on the form's critical path); the
//! static text of the form's first screen (notices, scope) is HTML the server writes into the
//! page, like the fallback. What
//! the crypto worker needs (recipient keys, key-derivation settings, the proof-of-work
//! difficulty) is a second, smaller element, `<meta name="cluebox-worker">` ([`WorkerConfig`],
//! base64url of postcard): the page hands it to the worker as it starts, so the worker needs
//! no request of its own before it can seal or look a code up. The page and the server are built from the
//! same workspace and shipped together; [`FORMAT`] still guards against a page meeting a server
//! of another build, which then reads as a clear error instead of a garbled form.

use serde::{Deserialize, Serialize};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::derive::Argon2Params;
use crate::profile::{
    Choice, Deadlines, Evidence, Localized, Profile, PublicProfile, Recipients, Section,
};

/// The `name` of the `<meta>` element that carries the crypto worker's [`WorkerConfig`].
pub const WORKER_META_NAME: &str = "cluebox-worker";

/// The `name` of the `<meta>` element that carries the encoded profile.
pub const META_NAME: &str = "cluebox-page";

/// The encoding's format byte; bumped whenever [`PageProfile`] changes shape.
pub const FORMAT: u8 = 3;

/// The profile as the reporter-facing pages need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageProfile {
    /// The profile's id (`12337`, `12389`, ...).
    pub id: String,
    /// The hotline's name.
    pub name: Localized,
    /// Categories of the acceptance scope.
    pub categories: Vec<Choice>,
    /// Regions (each may add a regional office as recipient).
    pub regions: Vec<Choice>,
    /// The form's steps.
    pub sections: Vec<Section>,
    /// The public status vocabulary.
    pub statuses: Vec<Choice>,
    /// The server's Ed25519 receipt key (base64), printed on saved receipts.
    pub server_key: String,
    /// The procedure's deadlines, shown as dates on the receipt and the status page.
    pub deadlines: Deadlines,
    /// Limits on evidence files, checked before any upload.
    pub evidence: Evidence,
}

/// Why an embedded profile could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    /// Empty: the page was not served by the Cluebox server.
    #[error("the page carries no profile")]
    Empty,
    /// Written by a server of another build.
    #[error("the page's profile has format {0}, this page reads format {FORMAT}")]
    Format(u8),
    /// Truncated or garbled.
    #[error("the page's profile is damaged")]
    Damaged,
}

impl PageProfile {
    /// The page's view of `profile`, with the server's receipt key.
    pub fn new(profile: &Profile, server_key: &str) -> Self {
        PageProfile {
            id: profile.id.clone(),
            name: profile.name.clone(),
            categories: profile.categories.clone(),
            regions: profile.regions.clone(),
            sections: profile.sections.clone(),
            statuses: profile.statuses.clone(),
            server_key: server_key.to_owned(),
            deadlines: profile.deadlines,
            evidence: profile.evidence,
        }
    }

    /// The text the server puts into the page (safe inside a double-quoted HTML attribute).
    pub fn encode(&self) -> String {
        let mut bytes = vec![FORMAT];
        bytes.extend(postcard::to_allocvec(self).expect("serialising to memory cannot fail"));
        escape(&bytes)
    }

    /// Reads what [`PageProfile::encode`] wrote.
    pub fn decode(text: &str) -> Result<Self, PageError> {
        let bytes: Vec<u8> = percent_encoding::percent_decode_str(text).collect();
        match bytes.split_first() {
            None => Err(PageError::Empty),
            Some((&FORMAT, rest)) => postcard::from_bytes(rest).map_err(|_| PageError::Damaged),
            Some((&other, _)) => Err(PageError::Format(other)),
        }
    }
}

/// What the crypto worker needs to seal reports and open a case: the part of
/// [`PublicProfile`] that is not text for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerConfig {
    /// The profile's id, written into every report.
    pub profile: String,
    /// The status of a new case (the profile's first).
    pub first_status: String,
    /// Argon2id cost of deriving keys from an inquiry code.
    pub argon2: Argon2Params,
    /// The hotline's salt for that derivation.
    pub argon2_salt: String,
    /// Who reports are sealed to, and whose replies count as the office's.
    pub recipients: Recipients,
    /// The largest padded size class the server accepts.
    pub max_class: usize,
    /// The usual proof-of-work difficulty.
    pub pow_bits: u8,
}

impl WorkerConfig {
    /// The worker's part of `public`.
    pub fn new(public: &PublicProfile) -> Self {
        WorkerConfig {
            profile: public.profile.id.clone(),
            first_status: public
                .profile
                .statuses
                .first()
                .map(|s| s.id.clone())
                .unwrap_or_default(),
            argon2: public.profile.argon2,
            argon2_salt: public.profile.argon2_salt.clone(),
            recipients: public.recipients.clone(),
            max_class: public.max_class,
            pow_bits: public.pow_bits,
        }
    }

    /// The text the server puts into the page: base64url (no padding) of [`FORMAT`] and the
    /// postcard encoding (keys are 32 raw bytes there, which base64 carries better than
    /// percent-escaping).
    pub fn encode(&self) -> String {
        let mut bytes = vec![FORMAT];
        bytes.extend(postcard::to_allocvec(self).expect("serialising to memory cannot fail"));
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Reads what [`WorkerConfig::encode`] wrote.
    pub fn decode(text: &str) -> Result<Self, PageError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| PageError::Damaged)?;
        match bytes.split_first() {
            None => Err(PageError::Empty),
            Some((&FORMAT, rest)) => postcard::from_bytes(rest).map_err(|_| PageError::Damaged),
            Some((&other, _)) => Err(PageError::Format(other)),
        }
    }
}

/// Percent-escapes `bytes`, leaving printable characters (of any script) as they are.
fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 4);
    let push_escaped = |out: &mut String, raw: &[u8]| {
        for b in raw {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    };
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() || matches!(c, '%' | '"' | '&' | '\'' | '<' | '>' | '\u{feff}') {
                push_escaped(&mut out, c.encode_utf8(&mut [0; 4]).as_bytes());
            } else {
                out.push(c);
            }
        }
        push_escaped(&mut out, chunk.invalid());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profiles() -> Vec<Profile> {
        [
            include_str!("../../profiles/12337.toml"),
            include_str!("../../profiles/12389.toml"),
            include_str!("../../profiles/eu-whistleblowing.toml"),
        ]
        .iter()
        .map(|text| toml::from_str(text).expect("shipped profiles parse"))
        .collect()
    }

    #[test]
    fn every_shipped_profile_round_trips() {
        for profile in profiles() {
            let page = PageProfile::new(&profile, "c2VydmVyIGtleQ");
            let text = page.encode();
            assert!(
                !text.contains(['"', '&', '\'', '<', '>']) && !text.contains(char::is_control),
                "safe inside an HTML attribute"
            );
            assert!(
                text.contains(&profile.sections[0].title.zh),
                "text stays text"
            );
            assert_eq!(PageProfile::decode(&text).unwrap(), page);
            assert_eq!(page.sections, profile.sections);
        }
    }

    #[test]
    fn damage_and_other_formats_are_errors() {
        let page = PageProfile::new(&profiles()[0], "");
        let mut bytes: Vec<u8> = percent_encoding::percent_decode_str(&page.encode()).collect();
        assert_eq!(PageProfile::decode(""), Err(PageError::Empty));
        assert_eq!(
            PageProfile::decode(&format!("%{FORMAT:02X}garbage")),
            Err(PageError::Damaged)
        );
        for cut in [1, 2, bytes.len() / 2, bytes.len() - 1] {
            assert_eq!(
                PageProfile::decode(&escape(&bytes[..cut])),
                Err(PageError::Damaged),
                "cut at {cut}"
            );
        }
        bytes[0] = FORMAT + 1;
        assert_eq!(
            PageProfile::decode(&escape(&bytes)),
            Err(PageError::Format(FORMAT + 1))
        );
    }

    #[test]
    fn the_worker_config_round_trips_and_refuses_damage() {
        let key = crate::keys::SecretKey::generate().public_key();
        let public = PublicProfile {
            profile: profiles()[0].clone(),
            recipients: Recipients {
                national: vec![key.clone()],
                regions: [("440000".to_owned(), vec![key])].into(),
            },
            server_key: String::new(),
            max_class: 65_536,
            pow_bits: 18,
        };
        let config = WorkerConfig::new(&public);
        assert_eq!(config.first_status, "received");
        let text = config.encode();
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(WorkerConfig::decode(&text).unwrap(), config);
        assert_eq!(WorkerConfig::decode(""), Err(PageError::Empty));
        assert_eq!(WorkerConfig::decode("!!"), Err(PageError::Damaged));
        assert_eq!(
            WorkerConfig::decode(&text[..text.len() / 2]),
            Err(PageError::Damaged)
        );
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_survive_escaping(bytes: Vec<u8>) {
            let text = escape(&bytes);
            proptest::prop_assert!(!text.contains(['"', '&', '\'', '<', '>']));
            proptest::prop_assert!(!text.contains(char::is_control));
            let back: Vec<u8> = percent_encoding::percent_decode_str(&text).collect();
            proptest::prop_assert_eq!(back, bytes);
        }
    }
}
