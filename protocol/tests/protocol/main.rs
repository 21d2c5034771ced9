//! The protocol crate's integration tests: the envelope against RFC 9180's published vectors and
//! an independent HPKE implementation (hpke-rs), the frozen wire format, tampering, and property
//! round trips.

use std::convert::Infallible;

use cluebox_protocol::envelope::{self, OpenError, REPORT_LIMIT};
use cluebox_protocol::keys::{PublicKey, SecretKey};
use cluebox_protocol::letter::{Answer, FieldAnswer, Letter, Note, Report, SectionAnswers};
use cluebox_protocol::padding;
use hpke::rand_core::{TryCryptoRng, TryRng};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

mod independent;
mod rfc9180;

/// A deterministic RNG (SHA-256 in counter mode) so that a sealed envelope can be frozen
/// byte for byte. Tests only.
struct TestRng {
    seed: [u8; 32],
    counter: u64,
    buf: Vec<u8>,
}

impl TestRng {
    fn new(label: &str) -> Self {
        Self {
            seed: Sha256::digest(label.as_bytes()).into(),
            counter: 0,
            buf: Vec::new(),
        }
    }
}

impl TryRng for TestRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for byte in dst {
            if self.buf.is_empty() {
                let mut h = Sha256::new();
                h.update(self.seed);
                h.update(self.counter.to_le_bytes());
                self.counter += 1;
                self.buf = h.finalize().to_vec();
            }
            *byte = self.buf.pop().expect("refilled above");
        }
        Ok(())
    }
}

impl TryCryptoRng for TestRng {}

fn fixture_key(n: u8) -> SecretKey {
    SecretKey::from_secret_bytes(&[n; 32]).unwrap()
}

fn sample_report(reply_key: PublicKey) -> Letter {
    Letter::Report(Report {
        profile: "12337".into(),
        locale: "zh-CN".into(),
        reply_key,
        sections: vec![
            SectionAnswers {
                id: "reported".into(),
                fields: vec![
                    FieldAnswer {
                        id: "name".into(),
                        answer: Answer::Given("某某村委会".into()),
                    },
                    FieldAnswer {
                        id: "position".into(),
                        answer: Answer::Unclear,
                    },
                ],
            },
            SectionAnswers {
                id: "situation".into(),
                fields: vec![FieldAnswer {
                    id: "description".into(),
                    answer: Answer::Given("强揽工程，威胁村民。".into()),
                }],
            },
        ],
    })
}

#[test]
fn wire_format_is_frozen() {
    // Sealing the same letter to the same keys with the same randomness must give the same
    // bytes, and the committed envelope must keep opening: a change here strands every stored
    // report, so it needs a new format version instead.
    let national = fixture_key(1);
    let regional = fixture_key(2);
    let reply = fixture_key(3);
    let letter = sample_report(reply.public_key());
    let sealed = envelope::seal_with_rng(
        &[national.public_key(), regional.public_key()],
        &letter.to_bytes(),
        REPORT_LIMIT,
        &mut TestRng::new("frozen v1"),
    )
    .unwrap();
    assert_eq!(sealed.len(), envelope::sealed_len(4, 4096));
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/envelope-v1.hex");
    if std::env::var_os("CLUEBOX_BLESS").is_some() {
        std::fs::write(path, hex::encode(&sealed) + "\n").unwrap();
    }
    let committed = hex::decode(std::fs::read_to_string(path).unwrap().trim()).unwrap();
    assert_eq!(
        hex::encode(Sha256::digest(&sealed)),
        hex::encode(Sha256::digest(&committed)),
        "the envelope format changed"
    );
    for key in [&national, &regional] {
        let opened = envelope::open(key, &committed).unwrap();
        assert_eq!(Letter::from_bytes(&opened).unwrap(), letter);
    }
    assert_eq!(
        envelope::open(&reply, &committed),
        Err(OpenError::NotARecipient)
    );
}

#[test]
fn every_recipient_opens_and_others_learn_nothing() {
    let keys: Vec<SecretKey> = (0..5).map(|_| SecretKey::generate()).collect();
    let publics: Vec<PublicKey> = keys.iter().map(SecretKey::public_key).collect();
    let body = b"report body";
    let sealed = envelope::seal(&publics, body, REPORT_LIMIT).unwrap();
    // 5 recipients take two groups of four slots.
    assert_eq!(sealed.len(), envelope::sealed_len(8, 4096));
    for key in &keys {
        assert_eq!(envelope::open(key, &sealed).unwrap().as_slice(), body);
    }
    let outsider = SecretKey::generate();
    assert_eq!(
        envelope::open(&outsider, &sealed),
        Err(OpenError::NotARecipient)
    );
    // Rotation: whichever of several keys is a recipient opens it.
    let opened = envelope::open_with_any(&[&outsider, &keys[3]], &sealed).unwrap();
    assert_eq!(opened.as_slice(), body);
}

#[test]
fn envelopes_do_not_reveal_their_recipients() {
    // One recipient or four: same slot count, same length; the sealed bytes of the same keys
    // differ every time (fresh ephemeral keys and salt), so no slot links two reports.
    let a = SecretKey::generate().public_key();
    let others: Vec<PublicKey> = (0..3).map(|_| SecretKey::generate().public_key()).collect();
    let one = envelope::seal(std::slice::from_ref(&a), b"x", REPORT_LIMIT).unwrap();
    let mut all = others.clone();
    all.push(a.clone());
    let four = envelope::seal(&all, b"x", REPORT_LIMIT).unwrap();
    assert_eq!(one.len(), four.len());
    let again = envelope::seal(std::slice::from_ref(&a), b"x", REPORT_LIMIT).unwrap();
    let slots =
        |s: &[u8]| s[envelope::PREFIX_LEN..envelope::PREFIX_LEN + 4 * envelope::SLOT_LEN].to_vec();
    let (s1, s2) = (slots(&one), slots(&again));
    for i in 0..4 {
        for j in 0..4 {
            let r = i * envelope::SLOT_LEN..(i + 1) * envelope::SLOT_LEN;
            let q = j * envelope::SLOT_LEN..(j + 1) * envelope::SLOT_LEN;
            assert_ne!(s1[r], s2[q]);
        }
    }
    // The recipient's public key bytes appear nowhere in the envelope.
    let pk = a.to_bytes();
    assert!(!one.windows(32).any(|w| w == pk));
}

#[test]
fn every_single_byte_change_is_refused() {
    let key = SecretKey::generate();
    let sealed = envelope::seal(&[key.public_key()], b"evidence", REPORT_LIMIT).unwrap();
    for i in 0..sealed.len() {
        let mut bad = sealed.clone();
        bad[i] ^= 0x01;
        let err = envelope::open(&key, &bad).expect_err("a flipped bit must not open");
        // The first four bytes are the magic; byte 4 the version; 5 the slot count.
        match i {
            0..=3 => assert_eq!(err, OpenError::NotAnEnvelope),
            4 => assert_eq!(err, OpenError::UnsupportedVersion(0)),
            _ => assert!(
                matches!(
                    err,
                    OpenError::Malformed(_) | OpenError::NotARecipient | OpenError::Tampered
                ),
                "byte {i}: {err:?}"
            ),
        }
    }
}

#[test]
fn truncation_extension_and_reordering_are_refused() {
    let key = SecretKey::generate();
    // 100 KiB body: class 256 KiB, four full 64 KiB chunks.
    let body = vec![0x5a; 100 << 10];
    let sealed = envelope::seal(&[key.public_key()], &body, REPORT_LIMIT).unwrap();
    let header = envelope::PREFIX_LEN + 4 * envelope::SLOT_LEN;
    let chunk = envelope::CHUNK_LEN + envelope::TAG_LEN;
    assert_eq!(sealed.len(), header + 4 * chunk);
    assert_eq!(envelope::open(&key, &sealed).unwrap().as_slice(), &body[..]);

    // Cut at a chunk boundary: the new last chunk was not sealed as last.
    assert_eq!(
        envelope::open(&key, &sealed[..header + 3 * chunk]),
        Err(OpenError::Tampered)
    );
    // Cut inside a chunk.
    assert_eq!(
        envelope::open(&key, &sealed[..sealed.len() - 1]),
        Err(OpenError::Tampered)
    );
    // Cut into the header.
    assert!(matches!(
        envelope::open(&key, &sealed[..header]),
        Err(OpenError::Malformed(_))
    ));
    // A chunk appended (a copy of the first).
    let mut longer = sealed.clone();
    longer.extend_from_slice(&sealed[header..header + chunk]);
    assert_eq!(envelope::open(&key, &longer), Err(OpenError::Tampered));
    // Two chunks swapped.
    let mut swapped = sealed.clone();
    let (first, second) = (header..header + chunk, header + chunk..header + 2 * chunk);
    swapped[first.clone()].copy_from_slice(&sealed[second.clone()]);
    swapped[second].copy_from_slice(&sealed[first]);
    assert_eq!(envelope::open(&key, &swapped), Err(OpenError::Tampered));
}

#[test]
fn size_classes_and_limits() {
    let key = SecretKey::generate().public_key();
    for (len, class) in [(0, 4096), (4095, 4096), (4096, 16384), (70_000, 262_144)] {
        let sealed =
            envelope::seal(std::slice::from_ref(&key), &vec![1; len], REPORT_LIMIT).unwrap();
        assert_eq!(sealed.len(), envelope::sealed_len(4, class), "body {len}");
        assert!(envelope::is_valid_len(sealed.len(), REPORT_LIMIT));
        assert!(!envelope::is_valid_len(sealed.len() + 1, REPORT_LIMIT));
    }
    assert!(matches!(
        envelope::seal(
            std::slice::from_ref(&key),
            &vec![1; REPORT_LIMIT],
            REPORT_LIMIT
        ),
        Err(envelope::SealError::TooLarge(_))
    ));
    assert!(!envelope::is_valid_len(
        envelope::sealed_len(4, padding::CLASSES[4]),
        REPORT_LIMIT
    ));
    assert_eq!(
        envelope::seal(&[], b"", REPORT_LIMIT),
        Err(envelope::SealError::NoRecipients)
    );
    let many = vec![key; 17];
    assert_eq!(
        envelope::seal(&many, b"", REPORT_LIMIT),
        Err(envelope::SealError::TooManyRecipients(17))
    );
}

#[test]
fn garbage_is_refused_clearly() {
    let key = SecretKey::generate();
    assert_eq!(envelope::open(&key, b""), Err(OpenError::NotAnEnvelope));
    assert_eq!(
        envelope::open(&key, b"PK\x03\x04 a zip file"),
        Err(OpenError::NotAnEnvelope)
    );
    let mut future = envelope::seal(&[key.public_key()], b"x", REPORT_LIMIT).unwrap();
    future[4] = 2;
    assert_eq!(
        envelope::open(&key, &future),
        Err(OpenError::UnsupportedVersion(2))
    );
    // The messages are sentences a desk user can act on.
    assert!(
        OpenError::Tampered
            .to_string()
            .contains("modified or damaged")
    );
}

#[test]
fn letters_through_envelopes() {
    let office = SecretKey::generate();
    let reply = SecretKey::generate();
    let report = sample_report(reply.public_key());
    let sealed = envelope::seal(&[office.public_key()], &report.to_bytes(), REPORT_LIMIT).unwrap();
    let opened = Letter::from_bytes(&envelope::open(&office, &sealed).unwrap()).unwrap();
    let Letter::Report(r) = &opened else {
        panic!("not a report")
    };
    assert_eq!(r.answer("reported", "position"), Some(&Answer::Unclear));
    // The desk answers to the key inside the report; only the reporter opens it.
    let answer = Letter::Reply(Note {
        text: "已受理，正在核查。".into(),
    });
    let sealed_reply = envelope::seal(
        std::slice::from_ref(&r.reply_key),
        &answer.to_bytes(),
        REPORT_LIMIT,
    )
    .unwrap();
    assert_eq!(
        Letter::from_bytes(&envelope::open(&reply, &sealed_reply).unwrap()).unwrap(),
        answer
    );
    assert_eq!(
        envelope::open(&office, &sealed_reply),
        Err(OpenError::NotARecipient)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn seal_open_round_trip(
        body in proptest::collection::vec(any::<u8>(), 0..140_000),
        recipients in 1usize..=6,
        pick in any::<prop::sample::Index>(),
    ) {
        let keys: Vec<SecretKey> = (0..recipients).map(|_| SecretKey::generate()).collect();
        let publics: Vec<PublicKey> = keys.iter().map(SecretKey::public_key).collect();
        let sealed = envelope::seal(&publics, &body, REPORT_LIMIT).unwrap();
        prop_assert!(envelope::is_valid_len(sealed.len(), REPORT_LIMIT));
        let key = &keys[pick.index(recipients)];
        let opened = envelope::open(key, &sealed).unwrap();
        prop_assert_eq!(opened.as_slice(), &body[..]);
    }
}
