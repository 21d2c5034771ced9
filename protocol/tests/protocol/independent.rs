//! Interoperability with an independent implementation of the envelope, written here from
//! `docs/PROTOCOL.md` alone: HPKE from `hpke-rs` (with its RustCrypto provider, a different
//! code base from the `hpke` crate the library uses) and STREAM spelled out by hand over
//! ChaCha20-Poly1305 instead of `aead-stream`. Each side opens what the other seals.

use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use cluebox_protocol::envelope::{self, REPORT_LIMIT};
use cluebox_protocol::keys::SecretKey;
use hkdf::Hkdf;
use hpke_rs::hpke_types::{AeadAlgorithm, KdfAlgorithm, KemAlgorithm};
use hpke_rs::{Hpke, HpkePrivateKey, HpkePublicKey, Mode};
use hpke_rs_rust_crypto::HpkeRustCrypto;
use sha2::{Digest, Sha256};

const CHUNK: usize = 64 * 1024;

fn hpke() -> Hpke<HpkeRustCrypto> {
    Hpke::new(
        Mode::Base,
        KemAlgorithm::DhKem25519,
        KdfAlgorithm::HkdfSha256,
        AeadAlgorithm::ChaCha20Poly1305,
    )
}

fn payload_cipher(file_key: &[u8], header: &[u8]) -> ChaCha20Poly1305 {
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

/// Seals `body` to one recipient, with three decoy slots, per the written format.
fn independent_seal(recipient: &[u8; 32], body: &[u8]) -> Vec<u8> {
    let class = [4096usize, 16384, 65536, 262144]
        .into_iter()
        .find(|&c| c > body.len())
        .unwrap();
    let mut padded = body.to_vec();
    padded.push(0x80);
    padded.resize(class, 0);

    let mut hpke = hpke();
    let file_key: [u8; 32] = rand_bytes();
    let salt: [u8; 16] = rand_bytes();
    let mut out = b"CLBX".to_vec();
    out.extend_from_slice(&[1, 4]);
    out.extend_from_slice(&salt);
    let prefix = out.clone();
    let pk = HpkePublicKey::from(recipient.to_vec());
    for slot in 0..4 {
        let (target, key) = if slot == 2 {
            (pk.clone(), file_key.to_vec())
        } else {
            let (_, decoy_pk) = hpke.generate_key_pair().unwrap().into_keys();
            (decoy_pk, rand_bytes::<32>().to_vec())
        };
        let (enc, ct) = hpke
            .seal(
                &target,
                b"cluebox/v1 file key",
                &prefix,
                &key,
                None,
                None,
                None,
            )
            .unwrap();
        out.extend_from_slice(&enc);
        out.extend_from_slice(&ct);
    }
    let cipher = payload_cipher(&file_key, &out);
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

/// Opens an envelope with a raw X25519 secret, per the written format.
fn independent_open(secret: &[u8; 32], sealed: &[u8]) -> Option<Vec<u8>> {
    assert_eq!(&sealed[..5], b"CLBX\x01");
    let slots = usize::from(sealed[5]);
    let prefix = &sealed[..22];
    let header_len = 22 + slots * 80;
    let hpke = hpke();
    let sk = HpkePrivateKey::from(secret.to_vec());
    let file_key = sealed[22..header_len].chunks(80).find_map(|slot| {
        hpke.open(
            &slot[..32],
            &sk,
            b"cluebox/v1 file key",
            prefix,
            &slot[32..],
            None,
            None,
            None,
        )
        .ok()
    })?;
    let cipher = payload_cipher(&file_key, &sealed[..header_len]);
    let chunks: Vec<&[u8]> = sealed[header_len..].chunks(CHUNK + 16).collect();
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

#[test]
fn independent_implementation_opens_what_we_seal() {
    let office = SecretKey::generate();
    for len in [0usize, 10, 5000, 70_000, 200_000] {
        let body: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let others: Vec<_> = (0..2).map(|_| SecretKey::generate().public_key()).collect();
        let mut recipients = others;
        recipients.insert(1, office.public_key());
        let sealed = envelope::seal(&recipients, &body, REPORT_LIMIT).unwrap();
        let opened =
            independent_open(&office.expose_secret_bytes(), &sealed).expect("independent open");
        assert_eq!(opened, body, "body of {len} bytes");
        let stranger = SecretKey::generate();
        assert!(independent_open(&stranger.expose_secret_bytes(), &sealed).is_none());
    }
}

#[test]
fn we_open_what_the_independent_implementation_seals() {
    let office = SecretKey::generate();
    for len in [0usize, 4095, 4096, 65_535, 150_000] {
        let body: Vec<u8> = (0..len).map(|i| (i * 13 % 253) as u8).collect();
        let sealed = independent_seal(&office.public_key().to_bytes(), &body);
        assert!(envelope::is_valid_len(sealed.len(), REPORT_LIMIT));
        let opened = envelope::open(&office, &sealed).expect("we open it");
        assert_eq!(opened.as_slice(), &body[..], "body of {len} bytes");
    }
}
