//! Sealing and opening a piece at a time (evidence files): the same bytes as sealing in one
//! go, whatever the slices, and the same refusals of truncated or damaged envelopes.

use cluebox_protocol::envelope::{self, OpenError, Opener, Origin, SealError, Sealer};
use cluebox_protocol::padding;

use super::{TestRng, fixture_key};

/// A body of `len` bytes with runs of zeros, ending in a zero run when `len` allows (the
/// padding filter must not take body zeros for padding), and once ending in 0x80 0x00.
fn body(len: usize) -> Vec<u8> {
    let mut b: Vec<u8> = (0..len)
        .map(|i| {
            if (i / 1000) % 3 == 0 {
                0
            } else {
                (i * 31 % 251) as u8
            }
        })
        .collect();
    if len >= 2 && len.is_multiple_of(2) {
        b[len - 2] = 0x80;
        b[len - 1] = 0;
    }
    b
}

fn seal_in_slices(body: &[u8], slice: usize, sender: bool, label: &str) -> Vec<u8> {
    let office = fixture_key(1).public_key();
    let me = fixture_key(3);
    let (mut sealer, mut out) = Sealer::new(
        &[office],
        sender.then_some(&me),
        body.len() as u64,
        padding::CLASSES[6],
        &mut TestRng::new(label),
    )
    .unwrap();
    for piece in body.chunks(slice.max(1)) {
        sealer.push(piece, &mut out).unwrap();
    }
    sealer.finish(&mut out).unwrap();
    out
}

fn open_in_slices(sealed: &[u8], slice: usize) -> Result<(Vec<u8>, Origin), OpenError> {
    let key = fixture_key(1);
    let senders = [fixture_key(3).public_key()];
    let len = envelope::header_len(&sealed[..envelope::PREFIX_LEN])?;
    let (mut opener, origin) = Opener::new(&[&key], &senders, &sealed[..len])?;
    let mut out = Vec::new();
    for piece in sealed[len..].chunks(slice.max(1)) {
        opener.push(piece, &mut out)?;
    }
    opener.finish(&mut out)?;
    Ok((out, origin))
}

#[test]
fn the_same_bytes_as_sealing_in_one_go_whatever_the_slices() {
    let chunk = envelope::CHUNK_LEN;
    for (len, slice) in [
        (0, 1),
        (1, 1),
        (4095, 1000),
        (4096, 7),
        (chunk - 1, 65_535),
        (chunk, chunk),
        (chunk + 1, 4096),
        (3 * chunk, 100_000),
        ((1 << 20) - 1, 333_333),
        ((2 << 20) + 5, chunk + 3),
    ] {
        let b = body(len);
        let label = format!("stream {len}");
        let whole = envelope::seal_with_rng(
            &[fixture_key(1).public_key()],
            None,
            &b,
            padding::CLASSES[6],
            &mut TestRng::new(&label),
        )
        .unwrap();
        let pieces = seal_in_slices(&b, slice, false, &label);
        assert!(whole == pieces, "{len} bytes in slices of {slice}");
        // Opened in one go, and a piece at a time with other slices.
        assert!(*envelope::open(&fixture_key(1), &whole).unwrap() == b);
        for open_slice in [1 + len % 997, 65_552, 1 << 20] {
            if len > 100_000 && open_slice == 1 + len % 997 && open_slice < 64 {
                continue; // byte by byte through megabytes: slow, and nothing new
            }
            let (opened, origin) = open_in_slices(&whole, open_slice).unwrap();
            assert!(opened == b, "{len} bytes opened in slices of {open_slice}");
            assert_eq!(origin, Origin::Anonymous);
        }
    }
}

#[test]
fn a_sender_is_proven_as_in_one_go() {
    let b = body(200_000);
    let sealed = seal_in_slices(&b, 10_000, true, "sender");
    let (opened, origin) = open_in_slices(&sealed, 50_000).unwrap();
    assert!(opened == b);
    assert_eq!(origin, Origin::Sender(fixture_key(3).public_key()));
}

#[test]
fn a_body_of_another_length_than_announced_is_refused() {
    let office = [fixture_key(1).public_key()];
    let (mut sealer, mut out) = Sealer::new(
        &office,
        None,
        10,
        padding::CLASSES[0],
        &mut TestRng::new("len"),
    )
    .unwrap();
    assert_eq!(
        sealer.push(&[1; 11], &mut out),
        Err(SealError::LengthMismatch)
    );
    sealer.push(&[1; 9], &mut out).unwrap();
    assert_eq!(sealer.finish(&mut out), Err(SealError::LengthMismatch));
    assert!(matches!(
        Sealer::new(
            &office,
            None,
            5000,
            padding::CLASSES[0],
            &mut TestRng::new("big")
        ),
        Err(SealError::TooLarge(_))
    ));
}

#[test]
fn cut_short_reordered_or_damaged_streams_are_refused() {
    let chunk = envelope::CHUNK_LEN + envelope::TAG_LEN;
    let sealed = seal_in_slices(&body(3 * envelope::CHUNK_LEN), 50_000, false, "damage");
    let header = envelope::header_len(&sealed).unwrap();
    // The last chunk dropped: every chunk so far authentic, but the end is missing.
    assert_eq!(
        open_in_slices(&sealed[..sealed.len() - chunk], 4096).unwrap_err(),
        OpenError::Tampered
    );
    // Two chunks swapped.
    let mut swapped = sealed.clone();
    let (a, b) = (header, header + chunk);
    let first = sealed[a..a + chunk].to_vec();
    swapped.copy_within(b..b + chunk, a);
    swapped[b..b + chunk].copy_from_slice(&first);
    assert_eq!(
        open_in_slices(&swapped, 4096).unwrap_err(),
        OpenError::Tampered
    );
    // A flipped byte in the payload, and in the header.
    for at in [header + 10, 30] {
        let mut flipped = sealed.clone();
        flipped[at] ^= 1;
        assert!(open_in_slices(&flipped, 4096).is_err(), "byte {at}");
    }
    // Only the header: no chunk at all.
    assert!(open_in_slices(&sealed[..header], 4096).is_err());
    assert_eq!(
        envelope::header_len(b"CLBX\x09\x04").unwrap_err(),
        OpenError::UnsupportedVersion(9)
    );
}

#[test]
fn an_evidence_file_is_padded_to_its_padme_class_and_its_length_checks_out() {
    let office = fixture_key(1);
    for len in [0usize, 1, 4095, 4096, 65_536, 200_001, 1_000_000] {
        let content = body(len);
        let (mut sealer, mut out) = Sealer::new_file(
            &[office.public_key()],
            None,
            len as u64,
            10 << 20,
            &mut TestRng::new("file"),
        )
        .unwrap();
        sealer.push(&content, &mut out).unwrap();
        sealer.finish(&mut out).unwrap();
        assert_eq!(
            out.len() as u64,
            envelope::sealed_file_len(4, len as u64),
            "{len}"
        );
        assert!(envelope::is_valid_file_len(out.len() as u64, 10 << 20));
        envelope::check_file_start(&out[..envelope::PREFIX_LEN], out.len() as u64, 10 << 20)
            .unwrap();
        // One byte more or less is no file's length; a smaller limit refuses it.
        assert!(!envelope::is_valid_file_len(out.len() as u64 + 1, 10 << 20));
        assert!(!envelope::is_valid_file_len(out.len() as u64 - 1, 10 << 20));
        assert_eq!(open_in_slices(&out, 7777).unwrap().0, content);
        if len > 4095 {
            assert!(!envelope::is_valid_file_len(out.len() as u64, 4095));
        }
    }
    // Over the limit: refused before anything is sealed.
    assert!(matches!(
        Sealer::new_file(
            &[office.public_key()],
            None,
            11 << 20,
            10 << 20,
            &mut TestRng::new("file"),
        ),
        Err(SealError::TooLarge(_))
    ));
}

#[test]
fn padding_sealed_a_little_at_a_time_makes_the_same_file() {
    // The worker seals a large file's padding a piece at a time (Sealer::pad) so that it need
    // not hold it all at once; the bytes must be exactly those of finishing at once.
    let office = fixture_key(1);
    for (len, step) in [
        (200_001usize, 1000u64),
        (1_000_000, 65_536),
        (3, 7),
        (0, 100_000),
    ] {
        let content = body(len);
        let start = || {
            Sealer::new_file(
                &[office.public_key()],
                None,
                len as u64,
                10 << 20,
                &mut TestRng::new("pad"),
            )
            .unwrap()
        };
        let (mut whole, mut expected) = start();
        whole.push(&content, &mut expected).unwrap();
        whole.finish(&mut expected).unwrap();

        let (mut stepwise, mut out) = start();
        // Padding before the body is all in is refused.
        if len > 0 {
            assert!(matches!(
                stepwise.pad(step, &mut out),
                Err(SealError::LengthMismatch)
            ));
        }
        stepwise.push(&content, &mut out).unwrap();
        let mut rounds = 0;
        let mut left = u64::MAX;
        while left > 0 {
            let before = out.len();
            let next = stepwise.pad(step, &mut out).unwrap();
            assert!(next < left || next == 0, "padding goes down");
            // Never more than the step and one sealed chunk at a time.
            assert!(
                (out.len() - before) as u64
                    <= step + (envelope::CHUNK_LEN + envelope::TAG_LEN) as u64
            );
            left = next;
            rounds += 1;
        }
        stepwise.finish(&mut out).unwrap();
        assert_eq!(out, expected, "{len} in steps of {step}");
        assert_eq!(open_in_slices(&out, 4096).unwrap().0, content);
        assert!(rounds >= 1);
    }
}

#[test]
fn a_file_sealed_with_a_sender_or_another_version_fails_the_servers_check() {
    let sealed = seal_in_slices(&body(5000), 1000, true, "sender");
    assert!(
        envelope::check_file_start(
            &sealed[..envelope::PREFIX_LEN],
            sealed.len() as u64,
            1 << 20
        )
        .is_err()
    );
    let mut junk = vec![0u8; envelope::PREFIX_LEN];
    junk[..4].copy_from_slice(b"CLBX");
    junk[4] = 9;
    assert!(envelope::check_file_start(&junk, 10_000, 1 << 20).is_err());
}
