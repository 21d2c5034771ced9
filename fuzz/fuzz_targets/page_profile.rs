//! Decoding the profile a page carries (percent-escaped postcard): never a panic.
#![no_main]

use cluebox_protocol::page::PageProfile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(page) = PageProfile::decode(text) {
            assert_eq!(
                PageProfile::decode(&page.encode()).expect("reads back"),
                page
            );
        }
    }
});
