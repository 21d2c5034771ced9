//! Cleaning an evidence file's metadata (a crafted photo handed to a reporter): never a panic,
//! and a cleaned file cleans again to itself.
#![no_main]

use cluebox_scrub::{Cleaned, clean};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Cleaned::Cleaned { bytes, .. } = clean(data.to_vec()) {
        match clean(bytes.clone()) {
            Cleaned::Cleaned { bytes: again, .. } => assert_eq!(again, bytes, "idempotent"),
            Cleaned::NotCleaned(_) => panic!("a cleaned file no longer parses"),
        }
    }
});
