//! Reading a typed inquiry code, and keys pasted as text: never a panic; a code that parses
//! shows as a grouped code that parses to the same code.
#![no_main]

use cluebox_protocol::code::{InquiryCode, check_as_typed};
use cluebox_protocol::keys::{PublicKey, SecretKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        let _ = PublicKey::from_bytes(data);
        return;
    };
    if let Ok(code) = InquiryCode::parse(text) {
        let shown = code.expose_grouped();
        assert_eq!(
            InquiryCode::parse(&shown).expect("a shown code reads back"),
            code
        );
    }
    let _ = check_as_typed(text);
    let _ = text.parse::<PublicKey>();
    let _ = SecretKey::from_secret_text(text);
});
