//! What the portal's pages know of the hotline, delivered inside the page itself.
//!
//! The server writes a [`PageProfile`] into every app page it serves, as the `content` of
//! `<meta name="cluebox-page">` ([`META_NAME`]): a format byte and the
//! [postcard](https://docs.rs/postcard) encoding, in base64url. The page can draw the form the
//! moment its WebAssembly starts, without a second round trip (slow mobile networks), and it
//! carries no JSON parser: postcard's decoder is a small fraction of serde_json's, which
//! `docs/BENCHMARKS.md` measures against the form's weight budget.
//!
//! Only what pages show is here: no recipient keys and no key-derivation settings (the crypto
//! worker fetches `GET /api/v1/profile` for those). The page and the server are built from the
//! same workspace and shipped together; [`FORMAT`] still guards against a page meeting a server
//! of another build, which then reads as a clear error instead of a garbled form.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::profile::{Choice, Localized, Profile, Section};

/// The `name` of the `<meta>` element that carries the encoded profile.
pub const META_NAME: &str = "cluebox-page";

/// The encoding's format byte; bumped whenever [`PageProfile`] changes shape.
pub const FORMAT: u8 = 1;

/// The profile as the reporter-facing pages need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageProfile {
    /// The profile's id (`12337`, `12389`, ...).
    pub id: String,
    /// The hotline's name.
    pub name: Localized,
    /// The hotline's telephone number.
    pub phone: String,
    /// Where letters go.
    pub postal_address: Localized,
    /// One sentence on what the hotline is for.
    pub summary: Localized,
    /// What it accepts.
    pub accepts: Vec<Localized>,
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
}

/// Why an embedded profile could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    /// Not base64url, or empty.
    #[error("the page's profile is not base64url")]
    Encoding,
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
            phone: profile.phone.clone(),
            postal_address: profile.postal_address.clone(),
            summary: profile.summary.clone(),
            accepts: profile.accepts.clone(),
            categories: profile.categories.clone(),
            regions: profile.regions.clone(),
            sections: profile.sections.clone(),
            statuses: profile.statuses.clone(),
            server_key: server_key.to_owned(),
        }
    }

    /// The text the server puts into the page.
    pub fn encode(&self) -> String {
        let mut bytes = vec![FORMAT];
        bytes.extend(postcard::to_allocvec(self).expect("serialising to memory cannot fail"));
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Reads what [`PageProfile::encode`] wrote.
    pub fn decode(text: &str) -> Result<Self, PageError> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| PageError::Encoding)?;
        match bytes.split_first() {
            None => Err(PageError::Encoding),
            Some((&FORMAT, rest)) => postcard::from_bytes(rest).map_err(|_| PageError::Damaged),
            Some((&other, _)) => Err(PageError::Format(other)),
        }
    }

    /// The label of a category, region or status id, in a locale.
    pub fn label<'a>(list: &'a [Choice], id: &str, locale: &str) -> Option<&'a str> {
        Profile::label(list, id, locale)
    }
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
                text.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "safe inside an HTML attribute"
            );
            assert_eq!(PageProfile::decode(&text).unwrap(), page);
            assert_eq!(page.sections, profile.sections);
        }
    }

    #[test]
    fn damage_and_other_formats_are_errors() {
        let page = PageProfile::new(&profiles()[0], "");
        let text = page.encode();
        assert_eq!(PageProfile::decode(""), Err(PageError::Encoding));
        assert_eq!(PageProfile::decode("not base64!"), Err(PageError::Encoding));
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut bytes = b64.decode(&text).unwrap();
        for cut in [1, 2, bytes.len() / 2, bytes.len() - 1] {
            assert_eq!(
                PageProfile::decode(&b64.encode(&bytes[..cut])),
                Err(PageError::Damaged),
                "cut at {cut}"
            );
        }
        bytes[0] = FORMAT + 1;
        assert_eq!(
            PageProfile::decode(&b64.encode(bytes)),
            Err(PageError::Format(FORMAT + 1))
        );
    }
}
