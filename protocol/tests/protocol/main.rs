//! The protocol crate's integration tests: the envelope against RFC 9180's published vectors and
//! an independent HPKE implementation (hpke-rs), the frozen wire format, tampering, and property
//! round trips.

use std::convert::Infallible;

use cluebox_protocol::envelope::{self, OpenError, Origin, REPORT_LIMIT};
use cluebox_protocol::keys::{PublicKey, SecretKey};
use cluebox_protocol::letter::{Answer, FieldAnswer, Letter, Reply, Report, SectionAnswers};
use cluebox_protocol::padding;
use hpke::rand_core::{TryCryptoRng, TryRng};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

mod fuzz_inputs;
mod independent;
mod rfc9180;
mod streaming;

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

/// Seals `letter` with a fixed RNG and compares it with (or, with `CLUEBOX_BLESS` set, writes)
/// a committed vector; returns the committed bytes.
fn frozen(name: &str, sealed: &[u8]) -> Vec<u8> {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("CLUEBOX_BLESS").is_some() {
        std::fs::write(&path, hex::encode(sealed) + "\n").unwrap();
    }
    let committed = hex::decode(std::fs::read_to_string(&path).unwrap().trim()).unwrap();
    assert_eq!(
        hex::encode(Sha256::digest(sealed)),
        hex::encode(Sha256::digest(&committed)),
        "the envelope format changed ({name})"
    );
    committed
}

#[test]
fn wire_format_is_frozen() {
    // Sealing the same letter to the same keys with the same randomness must give the same
    // bytes, and the committed envelopes must keep opening: a change here strands every stored
    // report, so it needs a new format version instead.
    let national = fixture_key(1);
    let regional = fixture_key(2);
    let reply = fixture_key(3);
    let letter = sample_report(reply.public_key());
    let sealed = envelope::seal_with_rng(
        &[national.public_key(), regional.public_key()],
        None,
        &letter.to_bytes(),
        REPORT_LIMIT,
        &mut TestRng::new("frozen v2"),
    )
    .unwrap();
    assert_eq!(sealed.len(), envelope::sealed_len(4, 4096));
    let committed = frozen("envelope-v2.hex", &sealed);
    for key in [&national, &regional] {
        let opened = envelope::open_from(&[key], &[], &committed).unwrap();
        assert_eq!(opened.origin, Origin::Anonymous);
        assert_eq!(Letter::from_bytes(&opened.body).unwrap(), letter);
    }
    assert_eq!(
        envelope::open(&reply, &committed),
        Err(OpenError::NotARecipient)
    );

    // An office reply, sealed with the office key: only that sender verifies.
    let answer = Letter::Reply(Reply {
        seq: 1,
        text: "已受理。".into(),
    });
    let sealed = envelope::seal_with_rng(
        &[reply.public_key()],
        Some(&national),
        &answer.to_bytes(),
        REPORT_LIMIT,
        &mut TestRng::new("frozen v2 sender"),
    )
    .unwrap();
    let committed = frozen("envelope-v2-sender.hex", &sealed);
    let opened = envelope::open_from(&[&reply], &[national.public_key()], &committed).unwrap();
    assert_eq!(opened.origin, Origin::Sender(national.public_key()));
    assert_eq!(Letter::from_bytes(&opened.body).unwrap(), answer);
}

#[test]
fn version_1_envelopes_still_open_and_say_they_are_unauthenticated() {
    // Written by the first release (sealed with TestRng "frozen v1"); never written again.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/envelope-v1.hex");
    let committed = hex::decode(std::fs::read_to_string(path).unwrap().trim()).unwrap();
    assert_eq!(committed[4], envelope::VERSION_1);
    let letter = sample_report(fixture_key(3).public_key());
    for key in [fixture_key(1), fixture_key(2)] {
        // Whatever senders the opener trusts, a version 1 envelope proves no sender.
        let opened =
            envelope::open_from(&[&key], &[fixture_key(9).public_key()], &committed).unwrap();
        assert_eq!(opened.origin, Origin::Unauthenticated);
        assert_eq!(Letter::from_bytes(&opened.body).unwrap(), letter);
    }
}

#[test]
fn a_sender_sealed_envelope_opens_only_for_its_sender() {
    let office = SecretKey::generate();
    let forger = SecretKey::generate();
    let reporter = SecretKey::generate();
    let body = Letter::Reply(Reply {
        seq: 2,
        text: "请携带原件到办公室面谈。".into(),
    })
    .to_bytes();
    let genuine =
        envelope::seal_from(&office, &[reporter.public_key()], &body, REPORT_LIMIT).unwrap();
    let forged =
        envelope::seal_from(&forger, &[reporter.public_key()], &body, REPORT_LIMIT).unwrap();
    let anonymous = envelope::seal(&[reporter.public_key()], &body, REPORT_LIMIT).unwrap();
    let trusted = [SecretKey::generate().public_key(), office.public_key()];

    let opened = envelope::open_from(&[&reporter], &trusted, &genuine).unwrap();
    assert_eq!(opened.origin, Origin::Sender(office.public_key()));
    assert_eq!(opened.body.as_slice(), &body[..]);
    assert_eq!(
        envelope::open_from(&[&reporter], &trusted, &forged).unwrap_err(),
        OpenError::UntrustedSender
    );
    // An anonymous envelope opens, and says it is anonymous: a reader that wants a sender
    // refuses it by looking at the origin.
    assert_eq!(
        envelope::open_from(&[&reporter], &trusted, &anonymous)
            .unwrap()
            .origin,
        Origin::Anonymous
    );
    // Without a trusted sender, a sender-sealed envelope does not open at all.
    assert_eq!(
        envelope::open(&reporter, &genuine).unwrap_err(),
        OpenError::UntrustedSender
    );
    // Its length is that of any other envelope of its class.
    assert_eq!(genuine.len(), anonymous.len());
    assert_eq!(genuine[6], envelope::MODE_SENDER);
    assert_eq!(anonymous[6], envelope::MODE_ANONYMOUS);
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
        // The first four bytes are the magic; byte 4 the version; 5 the slot count; 6 the mode.
        match i {
            0..=3 => assert_eq!(err, OpenError::NotAnEnvelope),
            4 => assert_eq!(err, OpenError::UnsupportedVersion(3)),
            _ => assert!(
                matches!(
                    err,
                    OpenError::Malformed(_)
                        | OpenError::NotARecipient
                        | OpenError::UntrustedSender
                        | OpenError::Tampered
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
    let header = envelope::PREFIX_LEN + 4 * envelope::SLOT_LEN + envelope::COMMITMENT_LEN;
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
    future[4] = 3;
    assert_eq!(
        envelope::open(&key, &future),
        Err(OpenError::UnsupportedVersion(3))
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
    // The desk answers to the key inside the report, as the office; only the reporter opens
    // it, and only as the office's.
    let answer = Letter::Reply(Reply {
        seq: 1,
        text: "已受理，正在核查。".into(),
    });
    let sealed_reply = envelope::seal_from(
        &office,
        std::slice::from_ref(&r.reply_key),
        &answer.to_bytes(),
        REPORT_LIMIT,
    )
    .unwrap();
    let opened = envelope::open_from(&[&reply], &[office.public_key()], &sealed_reply).unwrap();
    assert_eq!(Letter::from_bytes(&opened.body).unwrap(), answer);
    assert_eq!(
        envelope::open_from(&[&office], &[office.public_key()], &sealed_reply).unwrap_err(),
        OpenError::UntrustedSender
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

#[test]
fn derivation_known_answers_with_their_inputs() {
    // Computed independently (argon2-cffi, Python's hmac and cryptography's X25519, RFC 9180
    // DeriveKeyPair written out), inputs included, so another implementation can check each
    // step: the check symbol, Argon2id, both HKDF expansions, the key pair.
    use cluebox_protocol::code::InquiryCode;
    use cluebox_protocol::derive::{Argon2Params, derive};
    let text = include_str!("../vectors/derive.json");
    let doc: serde_json::Value = serde_json::from_str(text).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 3);
    for v in vectors {
        let s = |k: &str| v[k].as_str().unwrap().to_owned();
        let n = |k: &str| u32::try_from(v[k].as_u64().unwrap()).unwrap();
        let code = InquiryCode::parse(&s("canonical")).expect("the check symbol is right");
        assert_eq!(*code.expose_grouped(), s("code"));
        let params = Argon2Params {
            memory_kib: n("memory_kib"),
            iterations: n("iterations"),
            parallelism: n("parallelism"),
        };
        let keys = derive(&code, &params, &s("hotline_salt")).unwrap();
        assert_eq!(
            hex::encode(keys.lookup_token.as_bytes()),
            s("lookup_token_hex")
        );
        // The vector's secret is DeriveKeyPair's output; the key holds it clamped (RFC 7748).
        let mut secret: [u8; 32] = hex::decode(s("reply_secret_hex"))
            .unwrap()
            .try_into()
            .unwrap();
        secret[0] &= 248;
        secret[31] = (secret[31] & 127) | 64;
        assert_eq!(*keys.reply_secret.expose_secret_bytes(), secret);
        assert_eq!(
            hex::encode(keys.reply_public().to_bytes()),
            s("reply_public_hex")
        );
    }
}
