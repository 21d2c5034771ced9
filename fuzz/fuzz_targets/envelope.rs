//! Opening an envelope from outside: any bytes, with a recipient key and a trusted sender, must
//! give an answer (an error or a body), never a panic; the server's shape check likewise.
#![no_main]

use cluebox_protocol::envelope::{self, REPORT_LIMIT};
use cluebox_protocol::keys::SecretKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = SecretKey::from_secret_bytes(&[1; 32]).expect("a valid key");
    let sender = SecretKey::from_secret_bytes(&[2; 32])
        .expect("a valid key")
        .public_key();
    let _ = envelope::open_from(&[&key], &[sender], data);
    for mode in [envelope::MODE_ANONYMOUS, envelope::MODE_SENDER] {
        let _ = envelope::check_shape(data, REPORT_LIMIT, mode);
    }
    let _ = envelope::is_valid_len(data.len(), REPORT_LIMIT);
});
