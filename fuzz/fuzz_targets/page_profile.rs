//! Decoding what a page carries (the profile, percent-escaped postcard; the worker's
//! configuration, base64url postcard): never a panic, and what decodes encodes back.
#![no_main]

use cluebox_protocol::page::{PageProfile, WorkerConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(page) = PageProfile::decode(text) {
            assert_eq!(
                PageProfile::decode(&page.encode()).expect("reads back"),
                page
            );
        }
        if let Ok(config) = WorkerConfig::decode(text) {
            assert_eq!(
                WorkerConfig::decode(&config.encode()).expect("reads back"),
                config
            );
        }
    }
});
