//! The server's own secrets, and the demo keys made on first start.
//!
//! - `receipt-signing.key`: the Ed25519 key that signs filing receipts.
//! - `token-hash.key`: the HMAC key under which lookup tokens are stored. It lives outside the
//!   database, so a copy of the database alone cannot even confirm a guessed token.
//!
//! Both are 32 random bytes (hex) in files of mode 0600, made on first start. Neither opens a
//! report: office private keys never exist here, except the loudly announced demo key that
//! `cluebox` makes when no office key is configured.
//!
//! Secrets never appear in `Debug` output or logs.

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use cluebox_protocol::keys::{PublicKey, SecretKey};
use ed25519_dalek::SigningKey;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

/// The HMAC-SHA256 of a lookup token under the server's token key: what the database stores.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash(pub [u8; 32]);

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(<redacted>)")
    }
}

/// The server's signing key and token key.
pub struct ServerSecrets {
    signing: SigningKey,
    token_key: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for ServerSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerSecrets(<redacted>)")
    }
}

impl ServerSecrets {
    /// Reads the secrets from `dir`, making any that are missing.
    pub fn load_or_create(dir: &Path) -> anyhow::Result<Self> {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the secrets directory {}", dir.display()))?;
        let signing = read_or_create_32(&dir.join("receipt-signing.key"))?;
        let token_key = read_or_create_32(&dir.join("token-hash.key"))?;
        Ok(Self {
            signing: SigningKey::from_bytes(&signing),
            token_key,
        })
    }

    /// Secrets from fixed bytes (tests and benchmarks).
    pub fn from_bytes(signing: [u8; 32], token_key: [u8; 32]) -> Self {
        Self {
            signing: SigningKey::from_bytes(&signing),
            token_key: Zeroizing::new(token_key),
        }
    }

    /// The public half of the receipt signing key.
    pub fn verifying_key(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// [`ServerSecrets::verifying_key`] in base64, as the profile and the pages publish it.
    pub fn verifying_key_base64(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(self.verifying_key())
    }

    /// Signs a receipt message.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer as _;
        self.signing.sign(message).to_bytes()
    }

    /// The stored form of a lookup token.
    pub fn token_hash(&self, token: &[u8; 32]) -> TokenHash {
        let mut mac = <Hmac<Sha256>>::new_from_slice(self.token_key.as_slice())
            .expect("HMAC takes keys of any length");
        mac.update(b"cluebox/v1 token hash\0");
        mac.update(token);
        TokenHash(mac.finalize().into_bytes().into())
    }
}

/// SHA-256 (hex) of a desk bearer token: the form kept in the config.
pub fn desk_token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh desk bearer token (256 bits, base64url).
pub fn new_desk_token() -> Zeroizing<String> {
    use base64::Engine as _;
    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut_slice()).expect("the OS random source works");
    Zeroizing::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_slice()))
}

/// The demo office key: made once in `data_dir`, used only when no office key is configured.
pub fn demo_office_key(data_dir: &Path) -> anyhow::Result<(PublicKey, PathBuf)> {
    let path = data_dir.join("demo-office.key");
    let secret = if path.exists() {
        let text = Zeroizing::new(fs::read_to_string(&path)?);
        SecretKey::from_secret_text(&text)
            .with_context(|| format!("{} is not a valid key file", path.display()))?
    } else {
        let key = SecretKey::generate();
        write_private(&path, key.expose_secret_text().as_bytes())?;
        key
    };
    Ok((secret.public_key(), path))
}

/// The demo desk token: made once in `data_dir`, used only when no desk token is configured.
pub fn demo_desk_token(data_dir: &Path) -> anyhow::Result<(String, PathBuf)> {
    let path = data_dir.join("demo-desk-token");
    let token = if path.exists() {
        Zeroizing::new(fs::read_to_string(&path)?.trim().to_owned())
    } else {
        let token = new_desk_token();
        write_private(&path, token.as_bytes())?;
        token
    };
    Ok((desk_token_hash(&token), path))
}

fn read_or_create_32(path: &Path) -> anyhow::Result<Zeroizing<[u8; 32]>> {
    let mut out = Zeroizing::new([0u8; 32]);
    if path.exists() {
        let text = Zeroizing::new(
            fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?,
        );
        hex::decode_to_slice(text.trim(), out.as_mut_slice())
            .with_context(|| format!("{} must hold 64 hex digits", path.display()))?;
    } else {
        getrandom::fill(out.as_mut_slice()).expect("the OS random source works");
        write_private(path, Zeroizing::new(hex::encode(out.as_slice())).as_bytes())?;
    }
    Ok(out)
}

/// Writes a file readable by its owner only, durably, without ever exposing a partial file.
fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(contents)?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    fs::rename(&tmp, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn secrets_persist_with_private_modes() {
        let dir = tempfile::tempdir().unwrap();
        let a = ServerSecrets::load_or_create(dir.path()).unwrap();
        let b = ServerSecrets::load_or_create(dir.path()).unwrap();
        assert_eq!(a.verifying_key(), b.verifying_key());
        assert_eq!(a.token_hash(&[1; 32]), b.token_hash(&[1; 32]));
        assert_ne!(a.token_hash(&[1; 32]), a.token_hash(&[2; 32]));
        for name in ["receipt-signing.key", "token-hash.key"] {
            let mode = fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        assert_eq!(format!("{a:?}"), "ServerSecrets(<redacted>)");
    }

    #[test]
    fn demo_keys_are_made_once() {
        let dir = tempfile::tempdir().unwrap();
        let (k1, _) = demo_office_key(dir.path()).unwrap();
        let (k2, _) = demo_office_key(dir.path()).unwrap();
        assert_eq!(k1, k2);
        let (t1, path) = demo_desk_token(dir.path()).unwrap();
        let (t2, _) = demo_desk_token(dir.path()).unwrap();
        assert_eq!(t1, t2);
        assert_eq!(
            desk_token_hash(fs::read_to_string(path).unwrap().trim()),
            t1
        );
    }
}
