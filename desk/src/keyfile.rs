//! Office key files: `cluebox-desk keygen` writes them, every other command reads them.
//!
//! A key file is text. Unprotected: a comment line naming the public key, then the secret key
//! (`cbxsk1...`). Protected by a passphrase: the same comment, then `cbxenc1:` and base64 of
//! `salt (16) || nonce (12) || ChaCha20-Poly1305(key, secret text)`, where the key is
//! Argon2id(passphrase, salt, m = 64 MiB, t = 3, p = 1). Files are written with mode 0600.
//!
//! A key file readable by anyone but its owner is refused. A passphrase comes from the terminal
//! (typed without echo); `CLUEBOX_DESK_PASSPHRASE` is the fallback for scripts and tests. An
//! empty passphrase is refused.
//!
//! The secret never goes to stdout, logs or error messages.

use std::io::{IsTerminal as _, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit};
use cluebox_protocol::keys::SecretKey;
use zeroize::Zeroizing;

const PROTECTED: &str = "cbxenc1:";

/// The environment variable a passphrase is read from when set (scripts, tests).
pub const PASSPHRASE_ENV: &str = "CLUEBOX_DESK_PASSPHRASE";

/// A passphrase for `path`: `CLUEBOX_DESK_PASSPHRASE` if set, otherwise typed at the terminal
/// (twice when `confirm`); never empty.
pub fn passphrase(path: &Path, confirm: bool) -> anyhow::Result<Zeroizing<String>> {
    let typed = match std::env::var(PASSPHRASE_ENV) {
        Ok(value) => Zeroizing::new(value),
        Err(_) => {
            anyhow::ensure!(
                std::io::stdin().is_terminal() || std::io::stderr().is_terminal(),
                "{} needs a passphrase: run this at a terminal to type it, or set {PASSPHRASE_ENV}",
                path.display()
            );
            let first = Zeroizing::new(rpassword::prompt_password(format!(
                "passphrase for {}: ",
                path.display()
            ))?);
            if confirm {
                let again =
                    Zeroizing::new(rpassword::prompt_password("the same passphrase again: ")?);
                anyhow::ensure!(
                    *first == *again,
                    "the two passphrases differ; nothing was written"
                );
            }
            first
        }
    };
    anyhow::ensure!(
        !typed.trim().is_empty(),
        "the passphrase for {} is empty; an empty passphrase protects nothing",
        path.display()
    );
    Ok(typed)
}

fn passphrase_key(passphrase: &str, salt: &[u8]) -> anyhow::Result<Zeroizing<[u8; 32]>> {
    let params =
        argon2::Params::new(64 * 1024, 3, 1, Some(32)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase.as_bytes(), salt, key.as_mut_slice())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(key)
}

/// Writes a new key file (refusing to overwrite one); returns the key.
pub fn write_new(path: &Path, passphrase: Option<&str>) -> anyhow::Result<SecretKey> {
    let key = SecretKey::generate();
    let secret_line = match passphrase {
        None => Zeroizing::new(key.expose_secret_text().to_string()),
        Some(p) => {
            let mut salt = [0u8; 16];
            let mut nonce = [0u8; 12];
            getrandom::fill(&mut salt)?;
            getrandom::fill(&mut nonce)?;
            let cipher = ChaCha20Poly1305::new(&(*passphrase_key(p, &salt)?).into());
            let sealed = cipher
                .encrypt(&nonce.into(), key.expose_secret_text().as_bytes())
                .map_err(|_| anyhow::anyhow!("encryption failed"))?;
            let mut blob = salt.to_vec();
            blob.extend_from_slice(&nonce);
            blob.extend_from_slice(&sealed);
            Zeroizing::new([PROTECTED, &STANDARD.encode(blob)].concat())
        }
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    writeln!(
        file,
        "# Cluebox office key. Public key: {}",
        key.public_key()
    )?;
    writeln!(file, "{}", secret_line.as_str())?;
    file.sync_all()?;
    Ok(key)
}

/// Reads a key file, asking `passphrase` only if it is protected. Refuses a file that others
/// than its owner may read.
pub fn read(
    path: &Path,
    passphrase: impl FnOnce(&Path) -> anyhow::Result<Zeroizing<String>>,
) -> anyhow::Result<SecretKey> {
    let mode = std::fs::metadata(path)
        .with_context(|| format!("cannot read the key file {}", path.display()))?
        .permissions()
        .mode();
    anyhow::ensure!(
        mode & 0o077 == 0,
        "the key file {} may be read by others (mode {:04o}); make it private with `chmod 600 {}`",
        path.display(),
        mode & 0o7777,
        path.display()
    );
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the key file {}", path.display()))?,
    );
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .with_context(|| format!("{} holds no key", path.display()))?;
    if let Some(b64) = line.strip_prefix(PROTECTED) {
        let passphrase = passphrase(path)?;
        let blob = STANDARD.decode(b64).context("the key file is damaged")?;
        anyhow::ensure!(blob.len() > 28, "the key file is damaged");
        let (salt, rest) = blob.split_at(16);
        let (nonce, sealed) = rest.split_at(12);
        let cipher = ChaCha20Poly1305::new(&(*passphrase_key(&passphrase, salt)?).into());
        let nonce: [u8; 12] = nonce.try_into().expect("12 bytes");
        let secret = Zeroizing::new(cipher.decrypt(&nonce.into(), sealed).map_err(|_| {
            anyhow::anyhow!(
                "wrong passphrase for {} (or the file is damaged)",
                path.display()
            )
        })?);
        let text = std::str::from_utf8(&secret).context("the key file is damaged")?;
        return Ok(SecretKey::from_secret_text(text)?);
    }
    SecretKey::from_secret_text(line)
        .with_context(|| format!("{} does not hold a Cluebox key", path.display()))
}
