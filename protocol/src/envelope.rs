//! The sealed envelope: one message, readable by each of its recipients' private keys alone.
//!
//! ```text
//! header   magic "CLBX" | version 0x01 | slot count n | salt (16 random bytes)
//!          n slots of 80 bytes: HPKE enc (32) | HPKE-sealed file key (32 + 16 tag)
//! payload  the padded plaintext, ChaCha20-Poly1305 STREAM (big-endian 32-bit counter,
//!          last-block flag) in 64 KiB chunks, each followed by its 16-byte tag
//! ```
//!
//! A fresh 32-byte file key is wrapped to each recipient with HPKE (RFC 9180, base mode, suite
//! DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20-Poly1305). Slots are padded with decoys
//! (real HPKE encapsulations to throwaway keys) to a multiple of four and shuffled, so the
//! envelope reveals neither who the recipients are nor, within four, how many. The payload key
//! is `HKDF-SHA256(salt = SHA-256(header), ikm = file key, info = "cluebox/v1 payload")`, which
//! binds every header byte to the payload: a changed slot, salt or count fails the first chunk.
//! The full design and its reasons are in `docs/PROTOCOL.md`.
//!
//! This module never returns unauthenticated plaintext, and never says which slot matched.

use aead_stream::{DecryptorBE32, EncryptorBE32};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
use hkdf::Hkdf;
use hpke::aead::ChaCha20Poly1305 as HpkeChaCha;
use hpke::kdf::HkdfSha256;
use hpke::rand_core::CryptoRng;
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::keys::{Kem, PublicKey, SecretKey};
use crate::padding::{self, PaddingError};

/// The first four bytes of every envelope.
pub const MAGIC: [u8; 4] = *b"CLBX";
/// The envelope format version this crate writes and reads.
pub const VERSION: u8 = 1;
/// Salt length in the header.
pub const SALT_LEN: usize = 16;
/// Length of the header before the slots: magic, version, slot count, salt.
pub const PREFIX_LEN: usize = MAGIC.len() + 2 + SALT_LEN;
/// Length of one recipient slot: the HPKE encapsulated key and the sealed file key.
pub const SLOT_LEN: usize = 32 + FILE_KEY_LEN + TAG_LEN;
/// Slots are padded with decoys to a multiple of this.
pub const SLOT_GROUP: usize = 4;
/// The most recipients (and slots) an envelope may have.
pub const MAX_SLOTS: usize = 16;
/// Plaintext bytes per payload chunk.
pub const CHUNK_LEN: usize = 64 << 10;
/// The AEAD tag length.
pub const TAG_LEN: usize = 16;
/// The largest size class for reports, follow-ups and replies: 256 KiB of padded plaintext.
pub const REPORT_LIMIT: usize = padding::CLASSES[3];

const FILE_KEY_LEN: usize = 32;
const SLOT_INFO: &[u8] = b"cluebox/v1 file key";
const PAYLOAD_INFO: &[u8] = b"cluebox/v1 payload";

/// Why a message could not be sealed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// No recipient was given.
    #[error("a sealed message needs at least one recipient")]
    NoRecipients,
    /// More recipients than [`MAX_SLOTS`].
    #[error("a sealed message can have at most {MAX_SLOTS} recipients, {0} were given")]
    TooManyRecipients(usize),
    /// The message does not fit the allowed size class.
    #[error(transparent)]
    TooLarge(#[from] PaddingError),
}

/// Why an envelope could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The bytes do not start like a Cluebox envelope.
    #[error("this is not a Cluebox sealed message")]
    NotAnEnvelope,
    /// The envelope was written by a newer format version.
    #[error(
        "sealed message format version {0} is not supported (this build reads version {VERSION})"
    )]
    UnsupportedVersion(u8),
    /// The header or the payload has an impossible length.
    #[error("the sealed message is truncated or malformed ({0})")]
    Malformed(&'static str),
    /// None of the slots opens with the given key(s).
    #[error("this message is not addressed to this key (or its header was damaged)")]
    NotARecipient,
    /// A payload chunk failed authentication: the message was modified, truncated, reordered or
    /// damaged.
    #[error("the sealed message was modified or damaged (authentication failed)")]
    Tampered,
}

/// Seals `body` to every key in `recipients`, padding it to a size class no larger than
/// `limit` (usually [`REPORT_LIMIT`]).
pub fn seal(recipients: &[PublicKey], body: &[u8], limit: usize) -> Result<Vec<u8>, SealError> {
    seal_with_rng(recipients, body, limit, &mut crate::rng::system())
}

/// [`seal`] with a caller-provided RNG. Only tests that freeze the wire format should pass
/// anything other than the system RNG: the RNG chooses every secret in the envelope.
pub fn seal_with_rng(
    recipients: &[PublicKey],
    body: &[u8],
    limit: usize,
    rng: &mut impl CryptoRng,
) -> Result<Vec<u8>, SealError> {
    if recipients.is_empty() {
        return Err(SealError::NoRecipients);
    }
    if recipients.len() > MAX_SLOTS {
        return Err(SealError::TooManyRecipients(recipients.len()));
    }
    let padded = Zeroizing::new(padding::pad(body, limit)?);
    let slots = recipients.len().div_ceil(SLOT_GROUP) * SLOT_GROUP;

    let mut file_key = Zeroizing::new([0u8; FILE_KEY_LEN]);
    rng.fill_bytes(file_key.as_mut_slice());

    let chunks = padded.len().div_ceil(CHUNK_LEN);
    let mut out =
        Vec::with_capacity(PREFIX_LEN + slots * SLOT_LEN + padded.len() + chunks * TAG_LEN);
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(slots as u8);
    let mut salt = [0u8; SALT_LEN];
    rng.fill_bytes(&mut salt);
    out.extend_from_slice(&salt);
    let prefix = out.clone();

    // Real recipients first, then decoys; a Fisher-Yates shuffle then mixes them.
    let mut order: Vec<Option<&PublicKey>> = recipients.iter().map(Some).collect();
    order.resize(slots, None);
    shuffle(&mut order, rng);
    for recipient in order {
        let decoy;
        let (pk, key) = match recipient {
            Some(pk) => (pk.0.clone(), file_key.as_slice()),
            None => {
                let (_, throwaway) = Kem::gen_keypair_with_rng(rng);
                let mut random = Zeroizing::new([0u8; FILE_KEY_LEN]);
                rng.fill_bytes(random.as_mut_slice());
                decoy = random;
                (throwaway, decoy.as_slice())
            }
        };
        let (enc, wrapped) = hpke::single_shot_seal_with_rng::<HpkeChaCha, HkdfSha256, Kem>(
            &OpModeS::Base,
            &pk,
            SLOT_INFO,
            key,
            &prefix,
            rng,
        )
        .expect("HPKE sealing to a valid X25519 key cannot fail");
        out.extend_from_slice(&enc.to_bytes());
        out.extend_from_slice(&wrapped);
    }

    let mut stream = EncryptorBE32::from_aead(payload_cipher(&file_key, &out), &Default::default());
    let mut rest = padded.as_slice();
    while rest.len() > CHUNK_LEN {
        let (chunk, tail) = rest.split_at(CHUNK_LEN);
        let sealed = stream
            .encrypt_next(chunk)
            .expect("chunk counter cannot overflow");
        out.extend_from_slice(&sealed);
        rest = tail;
    }
    let sealed = stream.encrypt_last(rest).expect("STREAM last chunk");
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens an envelope with one private key and returns the unpadded body.
pub fn open(key: &SecretKey, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    open_with_any(&[key], sealed)
}

/// Opens an envelope with whichever of `keys` it is addressed to (for example an office's old
/// and new key during rotation).
pub fn open_with_any(keys: &[&SecretKey], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    let header = Header::parse(sealed)?;
    let file_key = header
        .unwrap_file_key(keys)
        .ok_or(OpenError::NotARecipient)?;
    let payload = &sealed[header.len..];
    let mut stream = DecryptorBE32::from_aead(
        payload_cipher(&file_key, &sealed[..header.len]),
        &Default::default(),
    );
    let mut out = Zeroizing::new(Vec::with_capacity(payload.len()));
    let mut rest = payload;
    while rest.len() > CHUNK_LEN + TAG_LEN {
        let (chunk, tail) = rest.split_at(CHUNK_LEN + TAG_LEN);
        let plain = stream
            .decrypt_next(chunk)
            .map_err(|_| OpenError::Tampered)?;
        out.extend_from_slice(&plain);
        rest = tail;
    }
    let plain = stream.decrypt_last(rest).map_err(|_| OpenError::Tampered)?;
    out.extend_from_slice(&plain);
    padding::unpad(&mut out).map_err(|_| OpenError::Tampered)?;
    Ok(out)
}

/// The length of an envelope with `slots` slots and a padded plaintext of `class` bytes.
pub const fn sealed_len(slots: usize, class: usize) -> usize {
    PREFIX_LEN + slots * SLOT_LEN + class + class.div_ceil(CHUNK_LEN) * TAG_LEN
}

/// Whether `len` is the length of some well-formed envelope whose size class is at most
/// `limit`: the check a server can make without any key.
pub fn is_valid_len(len: usize, limit: usize) -> bool {
    (1..=MAX_SLOTS / SLOT_GROUP).any(|groups| {
        padding::CLASSES
            .iter()
            .filter(|&&class| class <= limit)
            .any(|&class| sealed_len(groups * SLOT_GROUP, class) == len)
    })
}

/// A parsed envelope header (no secrets).
#[derive(Debug, Clone, Copy)]
struct Header<'a> {
    prefix: &'a [u8],
    slots: &'a [u8],
    len: usize,
}

impl<'a> Header<'a> {
    fn parse(sealed: &'a [u8]) -> Result<Self, OpenError> {
        if sealed.len() < MAGIC.len() || sealed[..MAGIC.len()] != MAGIC {
            return Err(OpenError::NotAnEnvelope);
        }
        if sealed.len() < PREFIX_LEN {
            return Err(OpenError::Malformed("header is cut short"));
        }
        if sealed[4] != VERSION {
            return Err(OpenError::UnsupportedVersion(sealed[4]));
        }
        let count = usize::from(sealed[5]);
        if count == 0 || count > MAX_SLOTS || count % SLOT_GROUP != 0 {
            return Err(OpenError::Malformed("impossible recipient slot count"));
        }
        let len = PREFIX_LEN + count * SLOT_LEN;
        if sealed.len() < len + TAG_LEN {
            return Err(OpenError::Malformed(
                "shorter than its header and one chunk",
            ));
        }
        Ok(Self {
            prefix: &sealed[..PREFIX_LEN],
            slots: &sealed[PREFIX_LEN..len],
            len,
        })
    }

    /// Tries every slot with every key, without stopping early, so that the time taken does not
    /// say which slot (if any) matched.
    fn unwrap_file_key(&self, keys: &[&SecretKey]) -> Option<Zeroizing<[u8; FILE_KEY_LEN]>> {
        let mut found: Option<Zeroizing<[u8; FILE_KEY_LEN]>> = None;
        for slot in self.slots.chunks_exact(SLOT_LEN) {
            let Ok(enc) = <Kem as hpke::Kem>::EncappedKey::from_bytes(&slot[..32]) else {
                continue;
            };
            for key in keys {
                let opened = hpke::single_shot_open::<HpkeChaCha, HkdfSha256, Kem>(
                    &OpModeR::Base,
                    &key.0,
                    &enc,
                    SLOT_INFO,
                    &slot[32..],
                    self.prefix,
                );
                if let Ok(bytes) = opened {
                    let bytes = Zeroizing::new(bytes);
                    if found.is_none() && bytes.len() == FILE_KEY_LEN {
                        let mut k = Zeroizing::new([0u8; FILE_KEY_LEN]);
                        k.copy_from_slice(&bytes);
                        found = Some(k);
                    }
                }
            }
        }
        found
    }
}

fn payload_cipher(file_key: &[u8; FILE_KEY_LEN], header: &[u8]) -> ChaCha20Poly1305 {
    let salt = Sha256::digest(header);
    let mut key = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(&salt), file_key)
        .expand(PAYLOAD_INFO, key.as_mut_slice())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    ChaCha20Poly1305::new(&(*key).into())
}

fn shuffle<T>(items: &mut [T], rng: &mut impl CryptoRng) {
    for i in (1..items.len()).rev() {
        // Rejection sampling for an unbiased index in 0..=i.
        let bound = (i + 1) as u32;
        let zone = u32::MAX - u32::MAX % bound;
        let j = loop {
            let r = rng.next_u32();
            if r < zone {
                break (r % bound) as usize;
            }
        };
        items.swap(i, j);
    }
}

/// Why bytes cannot be a sealed envelope, as far as can be told without a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShapeError {
    /// Longer than the largest envelope of the allowed size classes.
    #[error("the sealed message is {len} bytes; at most {max} bytes are accepted")]
    TooLarge {
        /// The length found.
        len: usize,
        /// The longest acceptable envelope.
        max: usize,
    },
    /// Not an envelope this version writes, or not of an allowed length.
    #[error("{0}")]
    Invalid(&'static str),
}

/// The checks a server makes on sealed bytes without any key: magic, version, and a length
/// that some slot count and size class (up to `limit`) produce.
pub fn check_shape(sealed: &[u8], limit: usize) -> Result<(), ShapeError> {
    let max = sealed_len(MAX_SLOTS, limit);
    if sealed.len() > max {
        return Err(ShapeError::TooLarge {
            len: sealed.len(),
            max,
        });
    }
    if sealed.len() < PREFIX_LEN || sealed[..MAGIC.len()] != MAGIC {
        return Err(ShapeError::Invalid("this is not a Cluebox sealed message"));
    }
    if sealed[4] != VERSION {
        return Err(ShapeError::Invalid(
            "the sealed message has an unsupported format version",
        ));
    }
    let slots = usize::from(sealed[5]);
    let fits = slots > 0
        && slots <= MAX_SLOTS
        && slots % SLOT_GROUP == 0
        && padding::CLASSES
            .iter()
            .any(|&class| class <= limit && sealed_len(slots, class) == sealed.len());
    if !fits {
        return Err(ShapeError::Invalid(
            "the sealed message does not have the length of any size class",
        ));
    }
    Ok(())
}
