//! Recipient key pairs: the offices' keys and the reporter's reply key.
//!
//! Both are X25519 keys for the HPKE KEM `DHKEM(X25519, HKDF-SHA256)`. A public key has a text
//! form for config files and the profile: Bech32 with the human-readable part `cbxpk`
//! (`cbxpk1...`), so a mistyped or truncated key is refused by its checksum. A secret key's text
//! form uses `cbxsk` and is only reachable through [`SecretKey::expose_secret_text`].
//!
//! A [`SecretKey`] cannot be printed (its `Debug` is redacted), serialized (no `Serialize`) or
//! cloned, and its bytes are wiped when it is dropped (x25519-dalek's `StaticSecret` zeroizes).

use core::fmt;
use core::str::FromStr;

use bech32::{Bech32, Hrp};
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem as _, Serializable};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

/// The HPKE KEM used for every recipient.
pub(crate) type Kem = X25519HkdfSha256;

const PUBLIC_HRP: Hrp = Hrp::parse_unchecked("cbxpk");
const SECRET_HRP: Hrp = Hrp::parse_unchecked("cbxsk");

/// Why a key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not Bech32, or its checksum does not match (a typo or a truncated copy).
    #[error("the key is not valid: {0} (check that it was copied whole)")]
    Encoding(String),
    /// The text is a Bech32 string of another kind (for example a secret key where a public key
    /// was expected).
    #[error("expected a key starting with {expected}1, found one starting with {found}1")]
    WrongKind {
        /// The prefix that was expected.
        expected: &'static str,
        /// The prefix that was found.
        found: String,
    },
    /// The key does not have 32 bytes.
    #[error("a key has 32 bytes, this one has {0}")]
    Length(usize),
    /// The key is one of the few X25519 points of small order (the all-zero key among them):
    /// nothing sealed to it would be secret, so it is never accepted.
    #[error("the key is not a usable X25519 public key (a point of small order)")]
    SmallOrder,
}

/// A recipient's public key (an office, or a reporter's reply key).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(pub(crate) <Kem as hpke::Kem>::PublicKey);

impl PublicKey {
    /// The 32 raw bytes (the X25519 u-coordinate).
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&self.0.to_bytes());
        out
    }

    /// A public key from its 32 raw bytes. Points of small order (all-zero among them) are
    /// refused: a key that came from outside can never make sealing fail later.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let raw: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KeyError::Length(bytes.len()))?;
        // X25519 scalars are multiples of the cofactor 8, so a scalar multiple of a point of
        // small order (and only of one) is the all-zero output, whatever the scalar.
        if x25519_dalek::x25519([9; 32], raw) == [0; 32] {
            return Err(KeyError::SmallOrder);
        }
        <Kem as hpke::Kem>::PublicKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| KeyError::Length(bytes.len()))
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text =
            bech32::encode::<Bech32>(PUBLIC_HRP, &self.to_bytes()).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, KeyError> {
        let bytes = decode_text(s.trim(), PUBLIC_HRP)?;
        Self::from_bytes(&bytes)
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(self)
        } else {
            self.to_bytes().serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            text.parse().map_err(serde::de::Error::custom)
        } else {
            let bytes = <[u8; 32]>::deserialize(deserializer)?;
            Self::from_bytes(&bytes).map_err(serde::de::Error::custom)
        }
    }
}

/// A recipient's private key. Held by the case desk (office keys) or derived in the browser from
/// the inquiry code (the reporter's reply key); never by the intake API.
pub struct SecretKey(pub(crate) <Kem as hpke::Kem>::PrivateKey);

impl SecretKey {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let (sk, _) = Kem::gen_keypair_with_rng(&mut crate::rng::system());
        Self(sk)
    }

    /// The key deterministically derived from 32 bytes of keying material (RFC 9180
    /// `DeriveKeyPair`). The material must itself be secret and uniformly random.
    pub(crate) fn derive(ikm: &[u8]) -> Self {
        let (sk, _) = Kem::derive_keypair(ikm);
        Self(sk)
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(Kem::sk_to_pk(&self.0))
    }

    /// Reads a secret key from its 32 raw bytes.
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != 32 {
            return Err(KeyError::Length(bytes.len()));
        }
        <Kem as hpke::Kem>::PrivateKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| KeyError::Length(bytes.len()))
    }

    /// Reads a secret key from its text form (`cbxsk1...`).
    pub fn from_secret_text(text: &str) -> Result<Self, KeyError> {
        let bytes = Zeroizing::new(decode_text(text.trim(), SECRET_HRP)?);
        Self::from_secret_bytes(&bytes)
    }

    /// The 32 raw secret bytes. Whoever calls this is responsible for where they go.
    pub fn expose_secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&self.0.to_bytes());
        out
    }

    /// The secret text form (`cbxsk1...`), for writing a key file. Whoever calls this is
    /// responsible for where it goes.
    pub fn expose_secret_text(&self) -> Zeroizing<String> {
        let bytes = self.expose_secret_bytes();
        Zeroizing::new(
            bech32::encode::<Bech32>(SECRET_HRP, bytes.as_slice())
                .expect("32 bytes always fit in a Bech32 string"),
        )
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(<redacted>, public: {})", self.public_key())
    }
}

fn decode_text(text: &str, expected: Hrp) -> Result<Vec<u8>, KeyError> {
    let (hrp, data) = bech32::decode(text).map_err(|e| KeyError::Encoding(e.to_string()))?;
    if hrp != expected {
        return Err(KeyError::WrongKind {
            expected: if expected == PUBLIC_HRP {
                "cbxpk"
            } else {
                "cbxsk"
            },
            found: hrp.to_lowercase(),
        });
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_key_text_round_trips_and_checksums() {
        let sk = SecretKey::generate();
        let pk = sk.public_key();
        let text = pk.to_string();
        assert!(text.starts_with("cbxpk1"), "{text}");
        assert_eq!(text.parse::<PublicKey>().unwrap(), pk);
        // A single changed character is refused by the checksum.
        let mut broken = text.clone().into_bytes();
        let i = text.len() - 3;
        broken[i] = if broken[i] == b'q' { b'p' } else { b'q' };
        assert!(
            String::from_utf8(broken)
                .unwrap()
                .parse::<PublicKey>()
                .is_err()
        );
    }

    #[test]
    fn secret_text_round_trips_and_is_not_a_public_key() {
        let sk = SecretKey::generate();
        let text = sk.expose_secret_text();
        let back = SecretKey::from_secret_text(&text).unwrap();
        assert_eq!(back.public_key(), sk.public_key());
        assert!(matches!(
            text.parse::<PublicKey>(),
            Err(KeyError::WrongKind { .. })
        ));
    }

    #[test]
    fn debug_never_shows_secret_material() {
        let sk = SecretKey::generate();
        let shown = format!("{sk:?}");
        let secret_text = sk.expose_secret_text();
        assert!(shown.contains("redacted"));
        assert!(!shown.contains(secret_text.as_str()));
        assert!(!shown.contains(&hex::encode(*sk.expose_secret_bytes())));
    }

    #[test]
    fn small_order_points_are_refused() {
        // The X25519 points of order 1, 2, 4 and 8, and non-canonical encodings of them
        // (RFC 7748 section 6.1; the list libsodium refuses).
        let small = [
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0100000000000000000000000000000000000000000000000000000000000000",
            "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
            "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        ];
        for hex_key in small {
            let bytes = hex::decode(hex_key).unwrap();
            assert_eq!(
                PublicKey::from_bytes(&bytes),
                Err(KeyError::SmallOrder),
                "{hex_key}"
            );
            let text = bech32::encode::<Bech32>(PUBLIC_HRP, &bytes).unwrap();
            assert!(text.parse::<PublicKey>().is_err());
            assert!(postcard::from_bytes::<PublicKey>(&bytes).is_err());
        }
        let good = SecretKey::generate().public_key();
        assert_eq!(PublicKey::from_bytes(&good.to_bytes()), Ok(good));
    }

    #[test]
    fn json_and_postcard_forms() {
        let pk = SecretKey::generate().public_key();
        let json = serde_json::to_string(&pk).unwrap();
        assert_eq!(json, format!("\"{pk}\""));
        assert_eq!(serde_json::from_str::<PublicKey>(&json).unwrap(), pk);
        let bin = postcard::to_allocvec(&pk).unwrap();
        assert_eq!(bin, pk.to_bytes());
        assert_eq!(postcard::from_bytes::<PublicKey>(&bin).unwrap(), pk);
    }
}
