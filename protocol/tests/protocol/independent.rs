//! Interoperability with an independent implementation of the envelope, written here from
//! `docs/PROTOCOL.md` alone: HPKE from `hpke-rs` (with its RustCrypto provider, a different
//! code base from the `hpke` crate the library uses), STREAM spelled out by hand over
//! ChaCha20-Poly1305 instead of `aead-stream`, and the key commitment from HKDF directly. Each
//! side opens what the other seals, anonymous and sender-sealed, version 2 and version 1.

use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use cluebox_protocol::envelope::{self, OpenError, Origin, REPORT_LIMIT};
use cluebox_protocol::keys::SecretKey;
use hkdf::Hkdf;
use hpke_rs::hpke_types::{AeadAlgorithm, KdfAlgorithm, KemAlgorithm};
use hpke_rs::{Hpke, HpkePrivateKey, HpkePublicKey, Mode};
use hpke_rs_rust_crypto::HpkeRustCrypto;
use sha2::{Digest, Sha256};

const CHUNK: usize = 64 * 1024;

fn hpke(mode: Mode) -> Hpke<HpkeRustCrypto> {
    Hpke::new(
        mode,
        KemAlgorithm::DhKem25519,
        KdfAlgorithm::HkdfSha256,
        AeadAlgorithm::ChaCha20Poly1305,
    )
}

/// Version 2: PRK = HKDF-Extract(SHA-256(header before the commitment), file key); the
/// commitment and the payload key are its expansions.
fn v2_keys(file_key: &[u8], header: &[u8]) -> ([u8; 32], ChaCha20Poly1305) {
    let hk = Hkdf::<Sha256>::new(Some(&Sha256::digest(header)), file_key);
    let (mut commitment, mut key) = ([0u8; 32], [0u8; 32]);
    hk.expand(b"cluebox/v2 key commitment", &mut commitment)
        .unwrap();
    hk.expand(b"cluebox/v2 payload", &mut key).unwrap();
    (commitment, ChaCha20Poly1305::new(&key.into()))
}

fn v1_cipher(file_key: &[u8], header: &[u8]) -> ChaCha20Poly1305 {
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&Sha256::digest(header)), file_key)
        .expand(b"cluebox/v1 payload", &mut key)
        .unwrap();
    ChaCha20Poly1305::new(&key.into())
}

fn stream_nonce(counter: u32, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[7..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    n
}

/// Seals `body` (version 2) to one or two recipients in four slots, with decoys, per the
/// written format. `sender`: the sender's secret and public key (auth mode). `second`: another
/// recipient, given `second_key` as its file key (a dishonest sender when it differs).
fn independent_seal(
    recipient: &[u8; 32],
    sender: Option<(&[u8; 32], &[u8; 32])>,
    second: Option<(&[u8; 32], [u8; 32])>,
    body: &[u8],
) -> Vec<u8> {
    let class = [4096usize, 16384, 65536, 262144]
        .into_iter()
        .find(|&c| c > body.len())
        .unwrap();
    let mut padded = body.to_vec();
    padded.push(0x80);
    padded.resize(class, 0);

    let mut hpke = hpke(if sender.is_some() {
        Mode::Auth
    } else {
        Mode::Base
    });
    let file_key: [u8; 32] = rand_bytes();
    let salt: [u8; 16] = rand_bytes();
    let mut out = b"CLBX".to_vec();
    out.extend_from_slice(&[2, 4, u8::from(sender.is_some())]);
    out.extend_from_slice(&salt);
    let prefix = out.clone();
    let sk_s = sender.map(|(sk, _)| HpkePrivateKey::from(sk.to_vec()));
    for slot in 0..4 {
        let (target, key) = match (slot, second) {
            (2, _) => (HpkePublicKey::from(recipient.to_vec()), file_key),
            (0, Some((pk, key))) => (HpkePublicKey::from(pk.to_vec()), key),
            _ => {
                let (_, decoy_pk) = hpke.generate_key_pair().unwrap().into_keys();
                (decoy_pk, rand_bytes::<32>())
            }
        };
        let (enc, ct) = hpke
            .seal(
                &target,
                b"cluebox/v2 file key",
                &prefix,
                &key,
                None,
                None,
                sk_s.as_ref(),
            )
            .unwrap();
        out.extend_from_slice(&enc);
        out.extend_from_slice(&ct);
    }
    let (commitment, cipher) = v2_keys(&file_key, &out);
    out.extend_from_slice(&commitment);
    let chunks: Vec<&[u8]> = padded.chunks(CHUNK).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let nonce = stream_nonce(i as u32, i + 1 == chunks.len());
        out.extend(
            cipher
                .encrypt(
                    &nonce.into(),
                    Payload {
                        msg: chunk,
                        aad: b"",
                    },
                )
                .unwrap(),
        );
    }
    out
}

/// Opens an envelope (version 1 or 2) with a raw X25519 secret, per the written format; in
/// sender mode, only as from `sender`.
fn independent_open(
    secret: &[u8; 32],
    sender: Option<&[u8; 32]>,
    sealed: &[u8],
) -> Option<Vec<u8>> {
    assert_eq!(&sealed[..4], b"CLBX");
    let version = sealed[4];
    let slots = usize::from(sealed[5]);
    let (prefix_len, mode) = match version {
        1 => (22, 0),
        2 => (23, sealed[6]),
        _ => return None,
    };
    let prefix = &sealed[..prefix_len];
    let slots_end = prefix_len + slots * 80;
    let hpke = hpke(if mode == 1 { Mode::Auth } else { Mode::Base });
    let pk_s = match (mode, sender) {
        (1, Some(pk)) => Some(HpkePublicKey::from(pk.to_vec())),
        (1, None) => return None,
        _ => None,
    };
    let info: &[u8] = if version == 1 {
        b"cluebox/v1 file key"
    } else {
        b"cluebox/v2 file key"
    };
    let sk = HpkePrivateKey::from(secret.to_vec());
    let file_key = sealed[prefix_len..slots_end].chunks(80).find_map(|slot| {
        hpke.open(
            &slot[..32],
            &sk,
            info,
            prefix,
            &slot[32..],
            None,
            None,
            pk_s.as_ref(),
        )
        .ok()
    })?;
    let (cipher, payload_start) = if version == 1 {
        (v1_cipher(&file_key, &sealed[..slots_end]), slots_end)
    } else {
        let (commitment, cipher) = v2_keys(&file_key, &sealed[..slots_end]);
        if commitment[..] != sealed[slots_end..slots_end + 32] {
            return None;
        }
        (cipher, slots_end + 32)
    };
    let chunks: Vec<&[u8]> = sealed[payload_start..].chunks(CHUNK + 16).collect();
    let mut out = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let nonce = stream_nonce(i as u32, i + 1 == chunks.len());
        out.extend(
            cipher
                .decrypt(
                    &nonce.into(),
                    Payload {
                        msg: chunk,
                        aad: b"",
                    },
                )
                .ok()?,
        );
    }
    let end = out.iter().rposition(|&b| b != 0)?;
    (out[end] == 0x80).then(|| {
        out.truncate(end);
        out
    })
}

fn rand_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).unwrap();
    out
}

fn raw(key: &SecretKey) -> [u8; 32] {
    *key.expose_secret_bytes()
}

#[test]
fn independent_implementation_opens_what_we_seal() {
    let office = SecretKey::generate();
    for len in [0usize, 10, 5000, 70_000, 200_000] {
        let body: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let others: Vec<_> = (0..2).map(|_| SecretKey::generate().public_key()).collect();
        let mut recipients = others;
        recipients.insert(1, office.public_key());
        let sealed = envelope::seal(&recipients, &body, REPORT_LIMIT).unwrap();
        let opened = independent_open(&raw(&office), None, &sealed).expect("independent open");
        assert_eq!(opened, body, "body of {len} bytes");
        let stranger = SecretKey::generate();
        assert!(independent_open(&raw(&stranger), None, &sealed).is_none());
    }
}

#[test]
fn we_open_what_the_independent_implementation_seals() {
    let office = SecretKey::generate();
    for len in [0usize, 4095, 4096, 65_535, 150_000] {
        let body: Vec<u8> = (0..len).map(|i| (i * 13 % 253) as u8).collect();
        let sealed = independent_seal(&office.public_key().to_bytes(), None, None, &body);
        assert!(envelope::is_valid_len(sealed.len(), REPORT_LIMIT));
        envelope::check_shape(&sealed, REPORT_LIMIT, envelope::MODE_ANONYMOUS).unwrap();
        let opened = envelope::open_from(&[&office], &[], &sealed).expect("we open it");
        assert_eq!(opened.body.as_slice(), &body[..], "body of {len} bytes");
        assert_eq!(opened.origin, Origin::Anonymous);
    }
}

#[test]
fn sender_sealed_envelopes_interoperate_both_ways() {
    let (office, reporter, forger) = (
        SecretKey::generate(),
        SecretKey::generate(),
        SecretKey::generate(),
    );
    let body = "已受理，正在核查。".as_bytes();
    // Ours, opened independently as from the office, and refused as from anyone else.
    let ours = envelope::seal_from(&office, &[reporter.public_key()], body, REPORT_LIMIT).unwrap();
    let office_pk = office.public_key().to_bytes();
    assert_eq!(
        independent_open(&raw(&reporter), Some(&office_pk), &ours).as_deref(),
        Some(body)
    );
    assert!(
        independent_open(
            &raw(&reporter),
            Some(&forger.public_key().to_bytes()),
            &ours
        )
        .is_none()
    );
    // Theirs, opened by us.
    let theirs = independent_seal(
        &reporter.public_key().to_bytes(),
        Some((&raw(&office), &office_pk)),
        None,
        body,
    );
    envelope::check_shape(&theirs, REPORT_LIMIT, envelope::MODE_SENDER).unwrap();
    let opened = envelope::open_from(&[&reporter], &[office.public_key()], &theirs).unwrap();
    assert_eq!(opened.origin, Origin::Sender(office.public_key()));
    assert_eq!(opened.body.as_slice(), body);
    assert_eq!(
        envelope::open_from(&[&reporter], &[forger.public_key()], &theirs).unwrap_err(),
        OpenError::UntrustedSender
    );
}

#[test]
fn the_key_commitment_stops_one_envelope_opening_under_two_file_keys() {
    // A dishonest sender gives the second recipient another file key. The first recipient
    // opens the envelope; the second is refused by the commitment before any payload is read
    // (without it, a crafted payload that authenticates under both keys could show each
    // recipient a different text).
    let (a, b) = (SecretKey::generate(), SecretKey::generate());
    let sealed = independent_seal(
        &a.public_key().to_bytes(),
        None,
        Some((&b.public_key().to_bytes(), rand_bytes())),
        b"one text for a",
    );
    assert_eq!(
        envelope::open(&a, &sealed).unwrap().as_slice(),
        b"one text for a"
    );
    assert_eq!(envelope::open(&b, &sealed), Err(OpenError::Tampered));
}

#[test]
fn the_first_release_envelope_opens_independently() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/envelope-v1.hex");
    let committed = hex::decode(std::fs::read_to_string(path).unwrap().trim()).unwrap();
    let national = SecretKey::from_secret_bytes(&[1; 32]).unwrap();
    let ours = envelope::open(&national, &committed).unwrap();
    let theirs = independent_open(&raw(&national), None, &committed).unwrap();
    assert_eq!(ours.as_slice(), &theirs[..]);
}
