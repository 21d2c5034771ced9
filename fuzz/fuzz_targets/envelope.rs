//! Opening an envelope from outside: any bytes, with a recipient key and a trusted sender, must
//! give an answer (an error or a body), never a panic; the server's shape check likewise. Opened
//! a piece at a time (`Opener`), the answer must be the same as in one go.
#![no_main]

use cluebox_protocol::envelope::{self, REPORT_LIMIT};
use cluebox_protocol::keys::SecretKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = SecretKey::from_secret_bytes(&[1; 32]).expect("a valid key");
    let sender = SecretKey::from_secret_bytes(&[2; 32])
        .expect("a valid key")
        .public_key();
    let whole = envelope::open_from(&[&key], std::slice::from_ref(&sender), data);
    let pieces = open_in_pieces(&key, &sender, data);
    match (whole, pieces) {
        (Ok(a), Ok((body, origin))) => assert!(*a.body == body && a.origin == origin),
        (Err(_), Err(())) => {}
        (a, b) => panic!("one go and pieces disagree: {:?} / {:?}", a.is_ok(), b.is_ok()),
    }
    for mode in [envelope::MODE_ANONYMOUS, envelope::MODE_SENDER] {
        let _ = envelope::check_shape(data, REPORT_LIMIT, mode);
    }
    let _ = envelope::is_valid_len(data.len(), REPORT_LIMIT);
});

fn open_in_pieces(
    key: &SecretKey,
    sender: &cluebox_protocol::keys::PublicKey,
    data: &[u8],
) -> Result<(Vec<u8>, envelope::Origin), ()> {
    let len = envelope::header_len(data).map_err(|_| ())?;
    let header = data.get(..len).ok_or(())?;
    let (mut opener, origin) =
        envelope::Opener::new(&[key], std::slice::from_ref(sender), header).map_err(|_| ())?;
    let mut out = Vec::new();
    for piece in data[len..].chunks(4099) {
        opener.push(piece, &mut out).map_err(|_| ())?;
    }
    opener.finish(&mut out).map_err(|_| ())?;
    Ok((out, origin))
}
