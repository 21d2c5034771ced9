//! The fuzz targets' seeds and any past crash (`fuzz/seeds/`, `fuzz/regressions/`), replayed on
//! every test run through the same functions the targets call, without the fuzzer.

use cluebox_protocol::code::{InquiryCode, check_as_typed};
use cluebox_protocol::envelope::{self, REPORT_LIMIT};
use cluebox_protocol::keys::{PublicKey, SecretKey};
use cluebox_protocol::letter::Letter;
use cluebox_protocol::page::{PageProfile, WorkerConfig};

fn inputs(target: &str) -> Vec<Vec<u8>> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz");
    ["seeds", "regressions"]
        .iter()
        .filter_map(|kind| std::fs::read_dir(format!("{root}/{kind}/{target}")).ok())
        .flatten()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect()
}

#[test]
fn envelope_inputs() {
    let key = SecretKey::from_secret_bytes(&[1; 32]).unwrap();
    let sender = SecretKey::from_secret_bytes(&[2; 32]).unwrap().public_key();
    let all = inputs("envelope");
    assert!(all.len() >= 3);
    let mut opened = 0;
    for data in all {
        let whole = envelope::open_from(&[&key], std::slice::from_ref(&sender), &data);
        // A piece at a time, the same answer (the fuzz target checks this on every input).
        let pieces = envelope::header_len(&data).and_then(|len| {
            let header = data
                .get(..len)
                .ok_or(envelope::OpenError::Malformed("cut short"))?;
            let (mut opener, origin) =
                envelope::Opener::new(&[&key], std::slice::from_ref(&sender), header)?;
            let mut out = Vec::new();
            for piece in data[len..].chunks(4099) {
                opener.push(piece, &mut out)?;
            }
            opener.finish(&mut out).map(|()| (out, origin))
        });
        match (&whole, &pieces) {
            (Ok(a), Ok((body, origin))) => assert!(*a.body == *body && a.origin == *origin),
            (Err(_), Err(_)) => {}
            _ => panic!("one go and pieces disagree"),
        }
        if whole.is_ok() {
            opened += 1;
        }
        let _ = envelope::check_shape(&data, REPORT_LIMIT, envelope::MODE_ANONYMOUS);
    }
    assert!(
        opened >= 2,
        "the committed envelopes open with the 0x01 key"
    );
}

#[test]
fn letter_inputs() {
    for data in inputs("letter") {
        if let Ok(letter) = Letter::from_bytes(&data) {
            assert_eq!(Letter::from_bytes(&letter.to_bytes()).unwrap(), letter);
        }
    }
}

#[test]
fn code_inputs() {
    for data in inputs("code") {
        let Ok(text) = std::str::from_utf8(&data) else {
            let _ = PublicKey::from_bytes(&data);
            continue;
        };
        if let Ok(code) = InquiryCode::parse(text) {
            assert_eq!(InquiryCode::parse(&code.expose_grouped()).unwrap(), code);
        }
        let _ = check_as_typed(text);
        let _ = text.parse::<PublicKey>();
    }
}

#[test]
fn page_profile_inputs() {
    for data in inputs("page_profile") {
        let Ok(text) = std::str::from_utf8(&data) else {
            continue;
        };
        if let Ok(page) = PageProfile::decode(text) {
            assert_eq!(PageProfile::decode(&page.encode()).unwrap(), page);
        }
        if let Ok(config) = WorkerConfig::decode(text) {
            assert_eq!(WorkerConfig::decode(&config.encode()).unwrap(), config);
        }
    }
}
