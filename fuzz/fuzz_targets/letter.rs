//! Decoding a letter (the plaintext inside an envelope, which anyone can seal to the office):
//! never a panic, and what decodes re-encodes to a letter that decodes the same.
#![no_main]

use cluebox_protocol::letter::Letter;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(letter) = Letter::from_bytes(data) {
        let again = Letter::from_bytes(&letter.to_bytes()).expect("a written letter reads back");
        assert_eq!(again, letter);
    }
});
