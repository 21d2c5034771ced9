//! From an inquiry code to what the reporter's browser needs: a lookup token and a reply key.
//!
//! ```text
//! master = Argon2id(password = canonical code (20 ASCII symbols),
//!                   salt = "cluebox/v1/inquiry/" || hotline salt,
//!                   m, t, p from the profile, 32-byte output)
//! token  = HKDF-SHA256-Expand(master, "cluebox/v1 lookup token", 32)
//! reply  = DeriveKeyPair(HKDF-SHA256-Expand(master, "cluebox/v1 reply key", 32))   (RFC 9180)
//! ```
//!
//! The server sees the token (and stores only a keyed hash of it) and the reply public key. The
//! distinct HKDF labels separate the two, so the token says nothing about the reply key. Argon2id
//! makes each guess of a code cost the attacker the same memory-hard work as the reporter's phone.

use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::code::InquiryCode;
use crate::keys::{PublicKey, SecretKey};
use crate::wire::LookupToken;

const SALT_PREFIX: &[u8] = b"cluebox/v1/inquiry/";
const TOKEN_INFO: &[u8] = b"cluebox/v1 lookup token";
const REPLY_INFO: &[u8] = b"cluebox/v1 reply key";

/// Argon2id cost parameters, recorded in the hotline profile.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Argon2Params {
    /// OWASP's recommended minimum for Argon2id: 19 MiB, 2 passes, 1 lane. About 80-90 ms in
    /// desktop Chromium and 225 ms at a 4x CPU slowdown (a mid-range phone), measured here.
    pub const RECOMMENDED: Self = Self {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };
}

impl Argon2Params {
    /// The weakest settings a page or desk accepts from a profile: at least 7 MiB of memory and
    /// memory times passes of at least 35 MiB, which is the weakest of OWASP's equivalent
    /// Argon2id settings (7 MiB x 5 ... 46 MiB x 1). A server, or whoever edits its profile,
    /// cannot make codes cheap to guess without every page and desk refusing.
    pub const FLOOR_MEMORY_KIB: u32 = 7 * 1024;
    /// See [`Argon2Params::FLOOR_MEMORY_KIB`].
    pub const FLOOR_MEMORY_TIMES_PASSES_KIB: u64 = 35 * 1024;

    /// `Err` with a sentence if these settings are below the floor or not valid for Argon2.
    pub fn check_floor(&self) -> Result<(), DeriveError> {
        if self.memory_kib < Self::FLOOR_MEMORY_KIB
            || u64::from(self.memory_kib) * u64::from(self.iterations)
                < Self::FLOOR_MEMORY_TIMES_PASSES_KIB
            || self.parallelism == 0
        {
            return Err(DeriveError::Params(format!(
                "Argon2id with {} KiB and {} passes is below the floor ({} KiB, and {} KiB x passes)",
                self.memory_kib,
                self.iterations,
                Self::FLOOR_MEMORY_KIB,
                Self::FLOOR_MEMORY_TIMES_PASSES_KIB
            )));
        }
        argon2::Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
            .map(|_| ())
            .map_err(|e| DeriveError::Params(e.to_string()))
    }
}

/// Why keys could not be derived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeriveError {
    /// The profile's Argon2 parameters are outside what Argon2 accepts.
    #[error("the hotline's key-derivation settings are invalid: {0}")]
    Params(String),
}

/// What a reporter's code yields.
pub struct ReporterKeys {
    /// Sent to the server to find the case.
    pub lookup_token: LookupToken,
    /// Opens the office's replies (stays in the browser).
    pub reply_secret: SecretKey,
}

impl ReporterKeys {
    /// The public half of the reply key, sent with the report.
    pub fn reply_public(&self) -> PublicKey {
        self.reply_secret.public_key()
    }
}

/// Derives the lookup token and reply key from a code. `hotline_salt` is the profile's salt, so
/// one code yields unrelated keys on different hotlines.
pub fn derive(
    code: &InquiryCode,
    params: &Argon2Params,
    hotline_salt: &str,
) -> Result<ReporterKeys, DeriveError> {
    let argon = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            Some(32),
        )
        .map_err(|e| DeriveError::Params(e.to_string()))?,
    );
    let mut salt = Vec::with_capacity(SALT_PREFIX.len() + hotline_salt.len());
    salt.extend_from_slice(SALT_PREFIX);
    salt.extend_from_slice(hotline_salt.as_bytes());
    let mut master = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(code.canonical().as_slice(), &salt, master.as_mut_slice())
        .map_err(|e| DeriveError::Params(e.to_string()))?;

    let hk = Hkdf::<Sha256>::from_prk(master.as_slice()).expect("32 bytes is a valid PRK");
    let mut token = [0u8; 32];
    hk.expand(TOKEN_INFO, &mut token)
        .expect("32-byte HKDF output");
    let mut reply_ikm = Zeroizing::new([0u8; 32]);
    hk.expand(REPLY_INFO, reply_ikm.as_mut_slice())
        .expect("32-byte HKDF output");
    Ok(ReporterKeys {
        lookup_token: LookupToken::from_bytes(token),
        reply_secret: SecretKey::derive(reply_ikm.as_slice()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Cheap parameters so property tests run many cases; the construction is the same.
    const FAST: Argon2Params = Argon2Params {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn known_answer() {
        // Frozen: changing the derivation would strand every existing case. The expected values
        // were computed independently (argon2-cffi, Python's cryptography HKDF and pyhpke's
        // DeriveKeyPair), not by this code.
        let code = InquiryCode::parse("0000-0000-0000-0000-0000").unwrap();
        let keys = derive(&code, &Argon2Params::RECOMMENDED, "cn-12337").unwrap();
        assert_eq!(
            hex::encode(keys.lookup_token.as_bytes()),
            include_str!("../tests/vectors/derive-kat-token.hex").trim()
        );
        assert_eq!(
            hex::encode(keys.reply_public().to_bytes()),
            include_str!("../tests/vectors/derive-kat-reply-key.hex").trim()
        );
    }

    #[test]
    fn the_floor() {
        Argon2Params::RECOMMENDED.check_floor().unwrap();
        for (m, t) in [
            (47_104, 1),
            (19_456, 2),
            (12_288, 3),
            (9_216, 4),
            (7_168, 5),
        ] {
            let p = Argon2Params {
                memory_kib: m,
                iterations: t,
                parallelism: 1,
            };
            p.check_floor().unwrap();
        }
        for (m, t) in [(64, 1), (7_168, 4), (4_096, 100), (19_456, 1)] {
            let p = Argon2Params {
                memory_kib: m,
                iterations: t,
                parallelism: 1,
            };
            assert!(p.check_floor().is_err(), "{m} KiB x {t}");
        }
    }

    #[test]
    fn bad_params_are_an_error_not_a_panic() {
        let code = InquiryCode::generate();
        let bad = Argon2Params {
            memory_kib: 1,
            iterations: 0,
            parallelism: 0,
        };
        assert!(matches!(
            derive(&code, &bad, "x"),
            Err(DeriveError::Params(_))
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn deterministic_and_domain_separated(seed in any::<[u8; 12]>(), salt in "[a-z0-9-]{1,12}") {
            let text: String = seed.iter().chain(&seed[..7]).map(|b| char::from(crate::code::ALPHABET[usize::from(b & 31)])).collect();
            let mut with_check = text.clone();
            // Find the check symbol by trying all 32 (parse tells which is valid).
            let code = (0..32).find_map(|i| {
                with_check.truncate(19);
                with_check.push(char::from(crate::code::ALPHABET[i]));
                InquiryCode::parse(&with_check).ok()
            }).unwrap();
            let a = derive(&code, &FAST, &salt).unwrap();
            let b = derive(&code, &FAST, &salt).unwrap();
            prop_assert_eq!(a.lookup_token.as_bytes(), b.lookup_token.as_bytes());
            prop_assert_eq!(a.reply_public(), b.reply_public());
            // The token and the reply key's secret are unrelated outputs.
            prop_assert_ne!(a.lookup_token.as_bytes(), &*a.reply_secret.expose_secret_bytes());
            // Another hotline gives other keys for the same code.
            let other = derive(&code, &FAST, &format!("{salt}x")).unwrap();
            prop_assert_ne!(a.lookup_token.as_bytes(), other.lookup_token.as_bytes());
            prop_assert_ne!(a.reply_public(), other.reply_public());
        }
    }
}
