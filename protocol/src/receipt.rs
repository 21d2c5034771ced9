//! The acknowledgement of filing: the server's Ed25519 signature over a report's hash and the
//! time it was received.
//!
//! ```text
//! message = "cluebox/v1 receipt" || 0x00 || SHA-256(sealed report) || received_at (u64, big-endian)
//! ```
//!
//! A report filed with evidence files has the files' hashes signed too, in a message of its
//! own domain:
//!
//! ```text
//! message = "cluebox/v1 receipt with files" || 0x00 || SHA-256(sealed report) || received_at (u64, big-endian)
//!           || number of files (u32, big-endian) || SHA-256(sealed file) for each, in the report's order
//! ```
//!
//! The reporter keeps the receipt (it holds nothing secret) and can later show that this exact
//! sealed report was filed at that time, by checking the signature against the server key
//! published in the profile. Signing lives in the API; this module only builds the message and,
//! with the `receipt` feature, verifies.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

const DOMAIN: &[u8] = b"cluebox/v1 receipt\0";
const DOMAIN_FILES: &[u8] = b"cluebox/v1 receipt with files\0";

/// A signed acknowledgement of filing.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// SHA-256 of the sealed report, as lowercase hex.
    #[serde(with = "hex_32")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "64 hex digits"))]
    pub report_hash: [u8; 32],
    /// When the server had the report durably stored (Unix seconds).
    pub received_at: u64,
    /// SHA-256 of each sealed evidence file filed with the report, as lowercase hex, in the
    /// report's order; absent when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "hex_32_list")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub files: Vec<[u8; 32]>,
    /// Ed25519 signature over [`signed_message`] (with `files`, [`signed_message_with_files`]),
    /// base64.
    #[serde(with = "base64_64")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Byte))]
    pub signature: [u8; 64],
}

/// The hash a receipt names.
pub fn report_hash(sealed: &[u8]) -> [u8; 32] {
    Sha256::digest(sealed).into()
}

/// The exact bytes the server signs.
pub fn signed_message(report_hash: &[u8; 32], received_at: u64) -> Vec<u8> {
    let mut msg = Vec::with_capacity(DOMAIN.len() + 40);
    msg.extend_from_slice(DOMAIN);
    msg.extend_from_slice(report_hash);
    msg.extend_from_slice(&received_at.to_be_bytes());
    msg
}

/// The exact bytes the server signs for a report filed with evidence files (without any,
/// [`signed_message`]).
pub fn signed_message_with_files(
    report_hash: &[u8; 32],
    received_at: u64,
    files: &[[u8; 32]],
) -> Vec<u8> {
    if files.is_empty() {
        return signed_message(report_hash, received_at);
    }
    let mut msg = Vec::with_capacity(DOMAIN_FILES.len() + 44 + 32 * files.len());
    msg.extend_from_slice(DOMAIN_FILES);
    msg.extend_from_slice(report_hash);
    msg.extend_from_slice(&received_at.to_be_bytes());
    msg.extend_from_slice(&(files.len() as u32).to_be_bytes());
    for file in files {
        msg.extend_from_slice(file);
    }
    msg
}

/// Why a receipt does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    /// The server key is not a valid Ed25519 public key.
    #[error("the server signing key is not valid")]
    BadKey,
    /// The signature does not match this hash, time and key.
    #[error("the receipt's signature does not match (wrong server key or altered receipt)")]
    BadSignature,
    /// The receipt names another report.
    #[error("the receipt is for a different report")]
    OtherReport,
}

#[cfg(feature = "receipt")]
impl Receipt {
    /// Checks the signature with the server's Ed25519 public key.
    pub fn verify(&self, server_key: &[u8; 32]) -> Result<(), ReceiptError> {
        use ed25519_dalek::{Signature, VerifyingKey};
        let key = VerifyingKey::from_bytes(server_key).map_err(|_| ReceiptError::BadKey)?;
        let sig = Signature::from_bytes(&self.signature);
        let message = signed_message_with_files(&self.report_hash, self.received_at, &self.files);
        key.verify_strict(&message, &sig)
            .map_err(|_| ReceiptError::BadSignature)
    }

    /// Checks the signature and that the receipt names exactly this sealed report.
    pub fn verify_for(&self, sealed: &[u8], server_key: &[u8; 32]) -> Result<(), ReceiptError> {
        if report_hash(sealed) != self.report_hash {
            return Err(ReceiptError::OtherReport);
        }
        self.verify(server_key)
    }
}

mod hex_32 {
    use super::*;

    pub(super) fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out)
            .map_err(|_| serde::de::Error::custom("expected 64 hex digits"))?;
        Ok(out)
    }
}

mod hex_32_list {
    use super::*;

    pub(super) fn serialize<S: Serializer>(v: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(hex::encode))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
        Vec::<String>::deserialize(d)?
            .into_iter()
            .map(|text| {
                let mut out = [0u8; 32];
                hex::decode_to_slice(text, &mut out)
                    .map_err(|_| serde::de::Error::custom("expected 64 hex digits"))?;
                Ok(out)
            })
            .collect()
    }
}

mod base64_64 {
    use super::*;

    pub(super) fn serialize<S: Serializer>(v: &[u8; 64], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 64], D::Error> {
        let text = String::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .ok()
            .and_then(|v| <[u8; 64]>::try_from(v).ok())
            .ok_or_else(|| serde::de::Error::custom("expected a 64-byte base64 signature"))
    }
}

#[cfg(all(test, feature = "receipt"))]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    #[test]
    fn sign_verify_and_refuse_alterations() {
        let server = SigningKey::from_bytes(&[9; 32]);
        let sealed = b"sealed bytes";
        let hash = report_hash(sealed);
        let at = 1_790_000_000;
        let receipt = Receipt {
            report_hash: hash,
            received_at: at,
            files: Vec::new(),
            signature: server.sign(&signed_message(&hash, at)).to_bytes(),
        };
        let key = server.verifying_key().to_bytes();
        receipt.verify_for(sealed, &key).unwrap();
        assert_eq!(
            receipt.verify_for(b"other", &key),
            Err(ReceiptError::OtherReport)
        );
        let mut later = receipt.clone();
        later.received_at += 1;
        assert_eq!(later.verify(&key), Err(ReceiptError::BadSignature));
        let json = serde_json::to_string(&receipt).unwrap();
        assert_eq!(serde_json::from_str::<Receipt>(&json).unwrap(), receipt);
        assert!(json.contains(&hex::encode(hash)));
        assert!(!json.contains("files"), "{json}");
    }

    #[test]
    fn a_receipt_with_files_signs_their_hashes_and_order() {
        let server = SigningKey::from_bytes(&[9; 32]);
        let key = server.verifying_key().to_bytes();
        let hash = report_hash(b"sealed report");
        let files = vec![[1u8; 32], [2u8; 32]];
        let at = 1_790_000_000;
        let receipt = Receipt {
            report_hash: hash,
            received_at: at,
            files: files.clone(),
            signature: server
                .sign(&signed_message_with_files(&hash, at, &files))
                .to_bytes(),
        };
        receipt.verify(&key).unwrap();
        let json = serde_json::to_string(&receipt).unwrap();
        assert!(json.contains(&"01".repeat(32)), "{json}");
        assert_eq!(serde_json::from_str::<Receipt>(&json).unwrap(), receipt);
        for altered in [
            vec![[2u8; 32], [1u8; 32]],
            vec![[1u8; 32]],
            Vec::new(),
            vec![[1u8; 32], [2u8; 32], [3u8; 32]],
        ] {
            let mut other = receipt.clone();
            other.files = altered;
            assert_eq!(other.verify(&key), Err(ReceiptError::BadSignature));
        }
    }
}
