//! The sealed envelope: one message, readable by each of its recipients' private keys alone,
//! and, when the sender has a key of its own, provably from that sender.
//!
//! ```text
//! version 2 (written)
//! header   magic "CLBX" | version 0x02 | slot count n | mode (0 anonymous, 1 sender) | salt (16)
//!          n slots of 80 bytes: HPKE enc (32) | HPKE-sealed file key (32 + 16 tag)
//!          key commitment (32)
//! payload  the padded plaintext, ChaCha20-Poly1305 STREAM (big-endian 32-bit counter,
//!          last-block flag) in 64 KiB chunks, each followed by its 16-byte tag
//!
//! version 1 (opened, never written): no mode byte (always anonymous), no key commitment
//! ```
//!
//! A fresh 32-byte file key is wrapped to each recipient with HPKE (RFC 9180, suite
//! DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20-Poly1305): in **base** mode for an
//! anonymous sender (a reporter filing a report), in **auth** mode with the sender's static key
//! otherwise (an office's reply or status, a reporter's follow-up under the key their code
//! derives). Only the holder of that sender key can make a slot that opens in auth mode, so a
//! recipient who checks the expected sender knows who sealed it.
//!
//! Slots are padded with decoys (real HPKE encapsulations to throwaway keys) to a multiple of
//! four and shuffled, so the envelope reveals neither who the recipients are nor, within four,
//! how many. `PRK = HKDF-Extract(SHA-256(header before the commitment), file key)` gives the key
//! commitment and the payload key; the commitment ties the envelope to one file key (no
//! envelope opens to two texts for two recipients), and the payload key binds every header
//! byte to the payload. The full design and its reasons are in `docs/PROTOCOL.md`.
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
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::keys::{Kem, PublicKey, SecretKey};
use crate::padding::{self, PaddingError};

/// The first four bytes of every envelope.
pub const MAGIC: [u8; 4] = *b"CLBX";
/// The envelope format version this crate writes.
pub const VERSION: u8 = 2;
/// The first version, still opened (stored reports and notes) but never written.
pub const VERSION_1: u8 = 1;
/// Salt length in the header.
pub const SALT_LEN: usize = 16;
/// Length of the header before the slots: magic, version, slot count, mode, salt.
pub const PREFIX_LEN: usize = MAGIC.len() + 3 + SALT_LEN;
/// Length of a version 1 header before the slots: magic, version, slot count, salt.
pub const PREFIX_LEN_V1: usize = MAGIC.len() + 2 + SALT_LEN;
/// Length of one recipient slot: the HPKE encapsulated key and the sealed file key.
pub const SLOT_LEN: usize = 32 + FILE_KEY_LEN + TAG_LEN;
/// Length of the key commitment after the slots.
pub const COMMITMENT_LEN: usize = 32;
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

/// Mode byte: the sender has no key (base mode).
pub const MODE_ANONYMOUS: u8 = 0;
/// Mode byte: the slots are sealed with the sender's static key (auth mode).
pub const MODE_SENDER: u8 = 1;

const FILE_KEY_LEN: usize = 32;
const SLOT_INFO_V1: &[u8] = b"cluebox/v1 file key";
const PAYLOAD_INFO_V1: &[u8] = b"cluebox/v1 payload";
const SLOT_INFO: &[u8] = b"cluebox/v2 file key";
const PAYLOAD_INFO: &[u8] = b"cluebox/v2 payload";
const COMMITMENT_INFO: &[u8] = b"cluebox/v2 key commitment";

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
    /// A [`Sealer`] was given more or fewer body bytes than announced.
    #[error("the message is not as long as announced")]
    LengthMismatch,
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
        "sealed message format version {0} is not supported (this build reads versions 1 and {VERSION})"
    )]
    UnsupportedVersion(u8),
    /// The header or the payload has an impossible length.
    #[error("the sealed message is truncated or malformed ({0})")]
    Malformed(&'static str),
    /// None of the slots opens with the given key(s).
    #[error("this message is not addressed to this key (or its header was damaged)")]
    NotARecipient,
    /// The envelope names a sender (auth mode), and no slot opens with the given keys for any
    /// of the trusted senders: either it is not addressed to these keys, or someone else
    /// sealed it.
    #[error(
        "this message is not addressed to this key, or was not sealed by a sender this key trusts"
    )]
    UntrustedSender,
    /// A payload chunk failed authentication, or the key commitment does not match: the
    /// message was modified, truncated, reordered or damaged.
    #[error("the sealed message was modified or damaged (authentication failed)")]
    Tampered,
    /// An [`Opener`] could not write what it opened.
    #[error("cannot write the opened message: {0}")]
    Output(String),
}

/// Who sealed an opened envelope, as far as the envelope proves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A version 1 envelope: nothing is proven about its sender (written before senders could
    /// sign, or by anyone who knows a recipient's public key).
    Unauthenticated,
    /// A version 2 envelope sealed without a sender key (a reporter's first report).
    Anonymous,
    /// A version 2 envelope sealed with this sender key, one of those the opener trusted.
    Sender(PublicKey),
}

/// An opened envelope: the unpadded body and what is known of its sender.
#[derive(Debug)]
pub struct Opened {
    /// The plaintext body.
    pub body: Zeroizing<Vec<u8>>,
    /// Who sealed it.
    pub origin: Origin,
}

/// Seals `body` to every key in `recipients` without a sender key (base mode), padding it to a
/// size class no larger than `limit` (usually [`REPORT_LIMIT`]).
pub fn seal(recipients: &[PublicKey], body: &[u8], limit: usize) -> Result<Vec<u8>, SealError> {
    seal_with_rng(recipients, None, body, limit, &mut crate::rng::system())
}

/// Seals `body` to `recipients` as `sender` (auth mode): a recipient that opens it with
/// [`open_from`] and `sender`'s public key knows that the holder of `sender` sealed it.
pub fn seal_from(
    sender: &SecretKey,
    recipients: &[PublicKey],
    body: &[u8],
    limit: usize,
) -> Result<Vec<u8>, SealError> {
    seal_with_rng(
        recipients,
        Some(sender),
        body,
        limit,
        &mut crate::rng::system(),
    )
}

/// [`seal`] or [`seal_from`] with a caller-provided RNG. Only tests that freeze the wire format
/// should pass anything other than the system RNG: the RNG chooses every secret in the
/// envelope.
pub fn seal_with_rng(
    recipients: &[PublicKey],
    sender: Option<&SecretKey>,
    body: &[u8],
    limit: usize,
    rng: &mut impl CryptoRng,
) -> Result<Vec<u8>, SealError> {
    let (mut sealer, mut out) = Sealer::new(recipients, sender, body.len() as u64, limit, rng)?;
    sealer.push(body, &mut out)?;
    sealer.finish(&mut out)?;
    Ok(out)
}

/// Seals one message a piece at a time, with memory for one chunk whatever its size (an
/// evidence file read slice by slice). Its bytes are exactly those [`seal_with_rng`] makes of
/// the same body with the same RNG; only the body's length must be known at the start, to
/// choose its size class.
pub struct Sealer {
    stream: EncryptorBE32<ChaCha20Poly1305>,
    /// Plaintext waiting for a whole chunk (never more than one chunk).
    pending: Zeroizing<Vec<u8>>,
    /// Body bytes still to come.
    body_left: u64,
    /// Padding bytes still to come (the `0x80` marker and the zeros).
    padding_left: u64,
    /// The padding's first byte, the marker, is still to come.
    marker_due: bool,
}

impl Sealer {
    /// Starts an envelope to `recipients` (as `sender`, if given) for a body of `body_len`
    /// bytes, padded to its size class (no larger than `limit`): the envelope's header, which
    /// comes first, is written to the returned vector.
    pub fn new(
        recipients: &[PublicKey],
        sender: Option<&SecretKey>,
        body_len: u64,
        limit: usize,
        rng: &mut impl CryptoRng,
    ) -> Result<(Self, Vec<u8>), SealError> {
        let class = usize::try_from(body_len)
            .ok()
            .and_then(padding::class_for)
            .filter(|&class| class <= limit)
            .ok_or(PaddingError::TooLarge {
                len: usize::try_from(body_len).unwrap_or(usize::MAX),
                max: padding::max_body(limit),
            })?;
        Self::start(recipients, sender, body_len, class as u64, rng)
    }

    /// [`Sealer::new_file`] with the system's random source, without a sender key: how the
    /// browser seals an evidence file.
    pub fn file(
        recipients: &[PublicKey],
        body_len: u64,
        max_body: u64,
    ) -> Result<(Self, Vec<u8>), SealError> {
        Self::new_file(
            recipients,
            None,
            body_len,
            max_body,
            &mut crate::rng::system(),
        )
    }

    /// Starts an evidence file's envelope: as [`Sealer::new`], but padded to
    /// [`padding::file_class`] (Padmé) and refused above `max_body` bytes of body.
    pub fn new_file(
        recipients: &[PublicKey],
        sender: Option<&SecretKey>,
        body_len: u64,
        max_body: u64,
        rng: &mut impl CryptoRng,
    ) -> Result<(Self, Vec<u8>), SealError> {
        if body_len > max_body {
            return Err(SealError::TooLarge(PaddingError::TooLarge {
                len: usize::try_from(body_len).unwrap_or(usize::MAX),
                max: usize::try_from(max_body).unwrap_or(usize::MAX),
            }));
        }
        Self::start(
            recipients,
            sender,
            body_len,
            padding::file_class(body_len),
            rng,
        )
    }

    fn start(
        recipients: &[PublicKey],
        sender: Option<&SecretKey>,
        body_len: u64,
        class: u64,
        rng: &mut impl CryptoRng,
    ) -> Result<(Self, Vec<u8>), SealError> {
        if recipients.is_empty() {
            return Err(SealError::NoRecipients);
        }
        if recipients.len() > MAX_SLOTS {
            return Err(SealError::TooManyRecipients(recipients.len()));
        }
        let slots = recipients.len().div_ceil(SLOT_GROUP) * SLOT_GROUP;

        let mut file_key = Zeroizing::new([0u8; FILE_KEY_LEN]);
        rng.fill_bytes(file_key.as_mut_slice());

        let mut out = Vec::with_capacity(
            PREFIX_LEN
                + slots * SLOT_LEN
                + COMMITMENT_LEN
                + (class as usize).min(CHUNK_LEN)
                + TAG_LEN,
        );
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(slots as u8);
        out.push(if sender.is_some() {
            MODE_SENDER
        } else {
            MODE_ANONYMOUS
        });
        let mut salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        out.extend_from_slice(&salt);
        let prefix = out.clone();
        let mode = match sender {
            Some(sk) => OpModeS::Auth((sk.0.clone(), Kem::sk_to_pk(&sk.0))),
            None => OpModeS::Base,
        };

        // Real recipients first, then decoys; a Fisher-Yates shuffle then mixes them. A decoy
        // is sealed in the same mode as the real slots, so nothing tells them apart.
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
                &mode, &pk, SLOT_INFO, key, &prefix, rng,
            )
            .expect(
                "HPKE sealing to a key of large order cannot fail (PublicKey refuses the others)",
            );
            out.extend_from_slice(&enc.to_bytes());
            out.extend_from_slice(&wrapped);
        }
        let keys = Keys::derive_v2(&file_key, &out);
        out.extend_from_slice(keys.commitment.as_slice());
        let sealer = Sealer {
            stream: EncryptorBE32::from_aead(keys.payload, &Default::default()),
            pending: Zeroizing::new(Vec::with_capacity(CHUNK_LEN)),
            body_left: body_len,
            padding_left: class - body_len,
            marker_due: true,
        };
        Ok((sealer, out))
    }

    /// Takes the next bytes of the body; whole sealed chunks are appended to `out`.
    pub fn push(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<(), SealError> {
        if data.len() as u64 > self.body_left {
            return Err(SealError::LengthMismatch);
        }
        self.body_left -= data.len() as u64;
        while !data.is_empty() {
            let take = data.len().min(CHUNK_LEN - self.pending.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            self.seal_full(out);
        }
        Ok(())
    }

    /// Once the whole body is in, seals up to `most` bytes of its padding into `out` (a large
    /// file's padding, up to a few percent of it, then need not be held at once) and returns
    /// how many are still to come; [`Sealer::finish`] seals those. Refuses a body shorter than
    /// announced.
    pub fn pad(&mut self, most: u64, out: &mut Vec<u8>) -> Result<u64, SealError> {
        if self.body_left != 0 {
            return Err(SealError::LengthMismatch);
        }
        let mut budget = most;
        while self.padding_left > 0 && budget > 0 {
            let room = (CHUNK_LEN - self.pending.len()) as u64;
            let take = room.min(self.padding_left).min(budget) as usize;
            let start = self.pending.len();
            self.pending.resize(start + take, 0);
            if self.marker_due && take > 0 {
                self.pending[start] = 0x80;
                self.marker_due = false;
            }
            self.padding_left -= take as u64;
            budget -= take as u64;
            self.seal_full(out);
        }
        Ok(self.padding_left)
    }

    /// Pads the body and seals the last chunks into `out`; refuses a body shorter than
    /// announced.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), SealError> {
        self.pad(u64::MAX, out)?;
        let last = self
            .stream
            .encrypt_last(self.pending.as_slice())
            .expect("STREAM last chunk");
        out.extend_from_slice(&last);
        Ok(())
    }

    /// Seals the pending chunk if it is whole and more plaintext follows it (the last chunk,
    /// even a whole one, is sealed by [`Sealer::finish`] with the last-block flag).
    fn seal_full(&mut self, out: &mut Vec<u8>) {
        if self.pending.len() == CHUNK_LEN && self.body_left + self.padding_left > 0 {
            let sealed = self
                .stream
                .encrypt_next(self.pending.as_slice())
                .expect("chunk counter cannot overflow");
            out.extend_from_slice(&sealed);
            self.pending.clear();
        }
    }
}

/// Opens an anonymous envelope (a report, or any version 1 envelope) with one private key and
/// returns the unpadded body. An envelope that names a sender needs [`open_from`].
pub fn open(key: &SecretKey, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    open_with_any(&[key], sealed)
}

/// [`open`] with whichever of `keys` the envelope is addressed to (for example an office's old
/// and new key during rotation).
pub fn open_with_any(keys: &[&SecretKey], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    open_from(keys, &[], sealed).map(|opened| opened.body)
}

/// Opens an envelope with whichever of `keys` it is addressed to. An envelope sealed with a
/// sender key opens only if that sender is one of `senders`, and [`Opened::origin`] says which;
/// an anonymous or version 1 envelope opens whatever `senders` holds, and says so.
pub fn open_from(
    keys: &[&SecretKey],
    senders: &[PublicKey],
    sealed: &[u8],
) -> Result<Opened, OpenError> {
    let header = Header::parse(sealed)?;
    let (file_key, origin) = header.unwrap_file_key(keys, senders)?;
    let payload = &sealed[header.len..];
    let cipher = match header.version {
        VERSION_1 => Keys::payload_v1(&file_key, &sealed[..header.len]),
        _ => {
            let keys = Keys::derive_v2(&file_key, &sealed[..header.len - COMMITMENT_LEN]);
            let stored = &sealed[header.len - COMMITMENT_LEN..header.len];
            if !bool::from(keys.commitment.as_slice().ct_eq(stored)) {
                return Err(OpenError::Tampered);
            }
            keys.payload
        }
    };
    let mut stream = DecryptorBE32::from_aead(cipher, &Default::default());
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
    Ok(Opened { body: out, origin })
}

/// How long an envelope's header is (everything before its first payload chunk), from at
/// least its first [`PREFIX_LEN`] bytes: what a reader of a stream reads before [`Opener::new`].
pub fn header_len(start: &[u8]) -> Result<usize, OpenError> {
    if start.len() < MAGIC.len() || start[..MAGIC.len()] != MAGIC {
        return Err(OpenError::NotAnEnvelope);
    }
    let (version, count) = match (start.get(4), start.get(5)) {
        (Some(&v), Some(&c)) => (v, usize::from(c)),
        _ => return Err(OpenError::Malformed("header is cut short")),
    };
    if count == 0 || count > MAX_SLOTS || count % SLOT_GROUP != 0 {
        return Err(OpenError::Malformed("impossible recipient slot count"));
    }
    match version {
        VERSION_1 => Ok(PREFIX_LEN_V1 + count * SLOT_LEN),
        VERSION => Ok(PREFIX_LEN + count * SLOT_LEN + COMMITMENT_LEN),
        other => Err(OpenError::UnsupportedVersion(other)),
    }
}

/// Opens one envelope a piece at a time, with memory for one chunk whatever its size (an
/// evidence file written to disk as it arrives), and removes the padding as it goes: a run of
/// zeros is held back as a count until a later byte shows it is part of the body.
///
/// Each chunk is authenticated before its plaintext is written, but only [`Opener::finish`]
/// proves the message was not cut short: on any error, delete what was written.
pub struct Opener {
    stream: DecryptorBE32<ChaCha20Poly1305>,
    /// Sealed bytes waiting for a whole chunk and one byte more (so the last chunk is known).
    pending: Vec<u8>,
    unpad: Unpad,
}

/// Removes the padding from a stream of plaintext.
#[derive(Default)]
struct Unpad {
    /// The last non-zero plaintext byte, not yet written (the padding marker, at the end).
    held: Option<u8>,
    /// Zeros after it (or, before any non-zero byte, from the start), not yet written.
    zeros: u64,
}

impl Opener {
    /// Opens the header (exactly [`header_len`] bytes) with whichever of `keys` it is addressed
    /// to, checking the sender as [`open_from`] does.
    pub fn new(
        keys: &[&SecretKey],
        senders: &[PublicKey],
        header: &[u8],
    ) -> Result<(Self, Origin), OpenError> {
        let parsed = Header::parse_header(header)?;
        if parsed.len != header.len() {
            return Err(OpenError::Malformed("not exactly one header"));
        }
        let (file_key, origin) = parsed.unwrap_file_key(keys, senders)?;
        let cipher = match parsed.version {
            VERSION_1 => Keys::payload_v1(&file_key, header),
            _ => {
                let keys = Keys::derive_v2(&file_key, &header[..parsed.len - COMMITMENT_LEN]);
                let stored = &header[parsed.len - COMMITMENT_LEN..];
                if !bool::from(keys.commitment.as_slice().ct_eq(stored)) {
                    return Err(OpenError::Tampered);
                }
                keys.payload
            }
        };
        let opener = Opener {
            stream: DecryptorBE32::from_aead(cipher, &Default::default()),
            pending: Vec::with_capacity(CHUNK_LEN + TAG_LEN),
            unpad: Unpad::default(),
        };
        Ok((opener, origin))
    }

    /// Takes the next sealed bytes; the body they complete is written to `out`.
    pub fn push(
        &mut self,
        mut sealed: &[u8],
        out: &mut impl std::io::Write,
    ) -> Result<(), OpenError> {
        const WHOLE: usize = CHUNK_LEN + TAG_LEN;
        while !sealed.is_empty() {
            if self.pending.len() == WHOLE {
                // More follows, so this chunk is not the last.
                let plain = self
                    .stream
                    .decrypt_next(self.pending.as_slice())
                    .map_err(|_| OpenError::Tampered)?;
                self.pending.clear();
                self.unpad.write(&Zeroizing::new(plain), out)?;
            }
            let take = sealed.len().min(WHOLE - self.pending.len());
            self.pending.extend_from_slice(&sealed[..take]);
            sealed = &sealed[take..];
        }
        Ok(())
    }

    /// Opens the last chunk and checks the padding: only now is the body known to be whole.
    pub fn finish(self, out: &mut impl std::io::Write) -> Result<(), OpenError> {
        let Opener {
            stream,
            pending,
            mut unpad,
        } = self;
        if pending.len() < TAG_LEN {
            return Err(OpenError::Malformed(
                "shorter than its header and one chunk",
            ));
        }
        let plain = stream
            .decrypt_last(pending.as_slice())
            .map_err(|_| OpenError::Tampered)?;
        unpad.write(&Zeroizing::new(plain), out)?;
        match unpad.held {
            Some(0x80) => Ok(()),
            _ => Err(OpenError::Tampered),
        }
    }
}

impl Unpad {
    /// Writes `plain`, holding back its last non-zero byte and the zeros after it.
    fn write(&mut self, plain: &[u8], out: &mut impl std::io::Write) -> Result<(), OpenError> {
        let fail = |e: std::io::Error| OpenError::Output(e.to_string());
        let Some(last) = plain.iter().rposition(|&b| b != 0) else {
            self.zeros += plain.len() as u64;
            return Ok(());
        };
        // A later non-zero byte: what was held back is body (zeros before the first non-zero
        // byte too), written in pieces so a long run costs no memory.
        if let Some(held) = self.held.take() {
            out.write_all(&[held]).map_err(fail)?;
        }
        let zeros = [0u8; 4096];
        while self.zeros > 0 {
            let n = self.zeros.min(zeros.len() as u64) as usize;
            out.write_all(&zeros[..n]).map_err(fail)?;
            self.zeros -= n as u64;
        }
        out.write_all(&plain[..last]).map_err(fail)?;
        self.held = Some(plain[last]);
        self.zeros = (plain.len() - last - 1) as u64;
        Ok(())
    }
}

/// The length of a (version 2) envelope with `slots` slots and a padded plaintext of `class`
/// bytes.
pub const fn sealed_len(slots: usize, class: usize) -> usize {
    PREFIX_LEN + slots * SLOT_LEN + COMMITMENT_LEN + class + class.div_ceil(CHUNK_LEN) * TAG_LEN
}

/// Whether `len` is the length of some well-formed (version 2) envelope whose size class is at
/// most `limit`: the check a server can make without any key.
pub fn is_valid_len(len: usize, limit: usize) -> bool {
    (1..=MAX_SLOTS / SLOT_GROUP).any(|groups| {
        padding::CLASSES
            .iter()
            .filter(|&&class| class <= limit)
            .any(|&class| sealed_len(groups * SLOT_GROUP, class) == len)
    })
}

/// The length of a (version 2) evidence file's envelope with `slots` slots and a body of
/// `body_len` bytes (padded to [`padding::file_class`]).
pub const fn sealed_file_len(slots: usize, body_len: u64) -> u64 {
    let class = padding::file_class(body_len);
    (PREFIX_LEN + slots * SLOT_LEN + COMMITMENT_LEN) as u64
        + class
        + class.div_ceil(CHUNK_LEN as u64) * TAG_LEN as u64
}

/// Whether `len` is the length of some well-formed (version 2) evidence file's envelope whose
/// body is at most `max_body` bytes: the check a server makes on an upload's declared length,
/// without any key.
pub fn is_valid_file_len(len: u64, max_body: u64) -> bool {
    (1..=MAX_SLOTS / SLOT_GROUP).any(|groups| file_len_fits(len, groups * SLOT_GROUP, max_body))
}

/// The payload key and, for version 2, the key commitment.
struct Keys {
    payload: ChaCha20Poly1305,
    commitment: Zeroizing<[u8; COMMITMENT_LEN]>,
}

impl Keys {
    /// `PRK = HKDF-Extract(salt = SHA-256(header before the commitment), IKM = file key)`;
    /// the commitment and the payload key are two expansions of it.
    fn derive_v2(file_key: &[u8; FILE_KEY_LEN], header: &[u8]) -> Self {
        let salt = Sha256::digest(header);
        let hk = Hkdf::<Sha256>::new(Some(&salt), file_key);
        let mut commitment = Zeroizing::new([0u8; COMMITMENT_LEN]);
        let mut key = Zeroizing::new([0u8; 32]);
        hk.expand(COMMITMENT_INFO, commitment.as_mut_slice())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        hk.expand(PAYLOAD_INFO, key.as_mut_slice())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        Keys {
            payload: ChaCha20Poly1305::new(&(*key).into()),
            commitment,
        }
    }

    /// Version 1: `HKDF-SHA256(salt = SHA-256(header), ikm = file key, "cluebox/v1 payload")`.
    fn payload_v1(file_key: &[u8; FILE_KEY_LEN], header: &[u8]) -> ChaCha20Poly1305 {
        let salt = Sha256::digest(header);
        let mut key = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(&salt), file_key)
            .expand(PAYLOAD_INFO_V1, key.as_mut_slice())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        ChaCha20Poly1305::new(&(*key).into())
    }
}

/// A parsed envelope header (no secrets).
#[derive(Debug, Clone, Copy)]
struct Header<'a> {
    version: u8,
    mode: u8,
    prefix: &'a [u8],
    slots: &'a [u8],
    /// Bytes before the payload (including the commitment in version 2).
    len: usize,
}

impl<'a> Header<'a> {
    fn parse(sealed: &'a [u8]) -> Result<Self, OpenError> {
        let header = Self::parse_header(sealed)?;
        if sealed.len() < header.len + TAG_LEN {
            return Err(OpenError::Malformed(
                "shorter than its header and one chunk",
            ));
        }
        Ok(header)
    }

    /// The header alone (the payload may follow or not).
    fn parse_header(sealed: &'a [u8]) -> Result<Self, OpenError> {
        if sealed.len() < MAGIC.len() || sealed[..MAGIC.len()] != MAGIC {
            return Err(OpenError::NotAnEnvelope);
        }
        let version = *sealed
            .get(4)
            .ok_or(OpenError::Malformed("header is cut short"))?;
        let (prefix_len, mode, tail) = match version {
            VERSION_1 => (PREFIX_LEN_V1, MODE_ANONYMOUS, 0),
            VERSION => {
                let mode = *sealed
                    .get(6)
                    .ok_or(OpenError::Malformed("header is cut short"))?;
                if mode > MODE_SENDER {
                    return Err(OpenError::Malformed("unknown sender mode"));
                }
                (PREFIX_LEN, mode, COMMITMENT_LEN)
            }
            other => return Err(OpenError::UnsupportedVersion(other)),
        };
        if sealed.len() < prefix_len {
            return Err(OpenError::Malformed("header is cut short"));
        }
        let count = usize::from(sealed[5]);
        if count == 0 || count > MAX_SLOTS || count % SLOT_GROUP != 0 {
            return Err(OpenError::Malformed("impossible recipient slot count"));
        }
        let slots_end = prefix_len + count * SLOT_LEN;
        let len = slots_end + tail;
        if sealed.len() < len {
            return Err(OpenError::Malformed("header is cut short"));
        }
        Ok(Self {
            version,
            mode,
            prefix: &sealed[..prefix_len],
            slots: &sealed[prefix_len..slots_end],
            len,
        })
    }

    /// Tries every slot with every key (and, in sender mode, every trusted sender), without
    /// stopping early, so that the time taken does not say which slot (if any) matched.
    fn unwrap_file_key(
        &self,
        keys: &[&SecretKey],
        senders: &[PublicKey],
    ) -> Result<(Zeroizing<[u8; FILE_KEY_LEN]>, Origin), OpenError> {
        let info = if self.version == VERSION_1 {
            SLOT_INFO_V1
        } else {
            SLOT_INFO
        };
        let modes: Vec<(OpModeR<'_, Kem>, Option<&PublicKey>)> = if self.mode == MODE_SENDER {
            senders
                .iter()
                .map(|s| (OpModeR::Auth(s.0.clone()), Some(s)))
                .collect()
        } else {
            vec![(OpModeR::Base, None)]
        };
        let mut found: Option<(Zeroizing<[u8; FILE_KEY_LEN]>, Option<&PublicKey>)> = None;
        for slot in self.slots.chunks_exact(SLOT_LEN) {
            let Ok(enc) = <Kem as hpke::Kem>::EncappedKey::from_bytes(&slot[..32]) else {
                continue;
            };
            for key in keys {
                for (mode, sender) in &modes {
                    let opened = hpke::single_shot_open::<HpkeChaCha, HkdfSha256, Kem>(
                        mode,
                        &key.0,
                        &enc,
                        info,
                        &slot[32..],
                        self.prefix,
                    );
                    if let Ok(bytes) = opened {
                        let bytes = Zeroizing::new(bytes);
                        if found.is_none() && bytes.len() == FILE_KEY_LEN {
                            let mut k = Zeroizing::new([0u8; FILE_KEY_LEN]);
                            k.copy_from_slice(&bytes);
                            found = Some((k, *sender));
                        }
                    }
                }
            }
        }
        match found {
            Some((key, sender)) => {
                let origin = match (self.version, sender) {
                    (VERSION_1, _) => Origin::Unauthenticated,
                    (_, Some(pk)) => Origin::Sender(pk.clone()),
                    (_, None) => Origin::Anonymous,
                };
                Ok((key, origin))
            }
            None if self.mode == MODE_SENDER => Err(OpenError::UntrustedSender),
            None => Err(OpenError::NotARecipient),
        }
    }
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
        /// The length given.
        len: usize,
        /// The largest accepted.
        max: usize,
    },
    /// Not a well-formed envelope (magic, version, mode, slot count or length).
    #[error("{0}")]
    Invalid(&'static str),
}

/// The server-side check of an upload: a current-version envelope whose length is exactly that
/// of some slot count and size class (up to `limit`), in the `mode` the endpoint expects
/// ([`MODE_ANONYMOUS`] for reports, [`MODE_SENDER`] for follow-ups and office messages).
pub fn check_shape(sealed: &[u8], limit: usize, mode: u8) -> Result<(), ShapeError> {
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
            "the sealed message has an unsupported format version (this server takes version 2)",
        ));
    }
    if sealed[6] != mode {
        return Err(ShapeError::Invalid(if mode == MODE_SENDER {
            "this message must be sealed with its sender's key (envelope mode 1)"
        } else {
            "a report is sealed without a sender key (envelope mode 0)"
        }));
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

/// The server-side check of a complete evidence file upload, from its first [`PREFIX_LEN`]
/// bytes and its length: a current-version anonymous envelope whose slot count and length fit
/// a [`padding::file_class`] of a body of at most `max_body` bytes.
pub fn check_file_start(start: &[u8], len: u64, max_body: u64) -> Result<(), ShapeError> {
    if start.len() < PREFIX_LEN || start[..MAGIC.len()] != MAGIC {
        return Err(ShapeError::Invalid("this is not a Cluebox sealed file"));
    }
    if start[4] != VERSION {
        return Err(ShapeError::Invalid(
            "the sealed file has an unsupported format version (this server takes version 2)",
        ));
    }
    if start[6] != MODE_ANONYMOUS {
        return Err(ShapeError::Invalid(
            "an evidence file is sealed without a sender key (envelope mode 0)",
        ));
    }
    let slots = usize::from(start[5]);
    let fits = slots > 0
        && slots <= MAX_SLOTS
        && slots % SLOT_GROUP == 0
        && file_len_fits(len, slots, max_body);
    if !fits {
        return Err(ShapeError::Invalid(
            "the sealed file does not have the length of any size class for its slots",
        ));
    }
    Ok(())
}

/// Whether `len` is a file envelope's length with exactly `slots` slots.
fn file_len_fits(len: u64, slots: usize, max_body: u64) -> bool {
    const WHOLE: u64 = (CHUNK_LEN + TAG_LEN) as u64;
    let fixed = (PREFIX_LEN + slots * SLOT_LEN + COMMITMENT_LEN) as u64;
    let Some(rest) = len.checked_sub(fixed) else {
        return false;
    };
    // rest = class + ceil(class / CHUNK_LEN) * TAG_LEN: undo it.
    let (whole, part) = (rest / WHOLE, rest % WHOLE);
    let class = whole * CHUNK_LEN as u64 + part.saturating_sub(TAG_LEN as u64);
    class >= padding::FILE_MIN_CLASS
        && class <= padding::file_class(max_body)
        && padding::file_class(class - 1) == class
        && class + class.div_ceil(CHUNK_LEN as u64) * TAG_LEN as u64 == rest
}
