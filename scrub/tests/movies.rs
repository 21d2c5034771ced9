//! MP4 and MOV: exiftool (an independent writer and reader) puts a location, a device, an
//! author, a comment, a creation date and XMP into a small movie; the cleaned movie has the
//! same length and the very same media data and sample tables, and exiftool finds none of it.
//! Cleaning while streaming (the walk fed slice by slice, the plan applied piece by piece, as
//! the browser's worker does) gives the same bytes as cleaning in memory.

use cluebox_scrub::mp4::{self, Need, Walk};
use cluebox_scrub::{Cleaned, Removed, clean};

mod common;
use common::exiftool;

/// The fixture movie with everything a phone (or an editor) writes, by exiftool.
fn tagged(brand: &[u8; 4], name: &str) -> Vec<u8> {
    let (bytes, _) = exiftool(
        &mp4::fixture(brand),
        name,
        &[
            "-q",
            "-overwrite_original",
            "-Keys:GPSCoordinates=23.1291 N, 113.2644 E",
            "-UserData:GPSCoordinates=23.1291 N, 113.2644 E",
            "-Keys:Make=TestCam",
            "-Keys:Model=Phone X",
            "-UserData:Make=TestCam",
            "-Keys:CreationDate=2026:11:20 21:14:03",
            "-UserData:Comment=taken at home",
            "-XMP:Artist=Zhang San",
            "-ItemList:Artist=Zhang San",
        ],
    );
    let (_, report) = exiftool(&bytes, name, &["-a", "-G1", "-s"]);
    for word in [
        "GPSCoordinates",
        "TestCam",
        "Zhang San",
        "taken at home",
        "XMP",
    ] {
        assert!(
            report.contains(word),
            "the fixture carries {word}:\n{report}"
        );
    }
    bytes
}

/// The bytes of the top-level box `kind` (the first one).
fn top_box<'a>(file: &'a [u8], kind: &[u8; 4]) -> &'a [u8] {
    let mut at = 0;
    while at + 8 <= file.len() {
        let size = u32::from_be_bytes(file[at..at + 4].try_into().unwrap()) as usize;
        if &file[at + 4..at + 8] == kind {
            return &file[at..at + size];
        }
        at += size;
    }
    panic!("no {kind:?} box");
}

/// Cleans the way the worker does: the walk reads through `read`, the plan is applied to
/// pieces of `piece` bytes.
fn streamed(file: &[u8], piece: usize) -> Option<(Vec<u8>, Vec<Removed>)> {
    let mut walk = Walk::new(file.len() as u64);
    let plan = loop {
        match walk.need() {
            Need::Read(at, len) => walk.feed(&file[at as usize..at as usize + len]),
            Need::Done(plan) => break plan?,
        }
    };
    let mut out = Vec::new();
    for (i, chunk) in file.chunks(piece).enumerate() {
        let mut chunk = chunk.to_vec();
        plan.apply((i * piece) as u64, &mut chunk);
        out.extend(chunk);
    }
    Some((out, plan.removed))
}

fn check(brand: &[u8; 4], name: &str) {
    let dirty = tagged(brand, name);
    let Cleaned::Cleaned { bytes, removed } = clean(dirty.clone()) else {
        panic!("{name} not cleaned");
    };
    assert_eq!(
        removed,
        [
            Removed::Location,
            Removed::Device,
            Removed::Time,
            Removed::Author,
            Removed::Text,
            Removed::Other
        ]
    );
    assert_eq!(bytes.len(), dirty.len(), "nothing moves");
    assert_eq!(top_box(&bytes, b"mdat"), top_box(&dirty, b"mdat"));
    // The sample tables, and the track header from its id to its size (the matrix, which
    // holds the orientation, included); only its times are zeroed.
    for (table, from, to) in [(b"stbl", 0, 64), (b"tkhd", 12 + 4, 84 + 4)] {
        let find = |f: &[u8]| f.windows(4).position(|w| w == table).unwrap();
        let at = find(&dirty);
        assert_eq!(at, find(&bytes));
        assert_eq!(bytes[at + from..at + to], dirty[at + from..at + to]);
    }
    let (_, report) = exiftool(&bytes, name, &["-a", "-u", "-G1", "-s"]);
    for word in [
        "GPS",
        "Make",
        "Model",
        "Artist",
        "Comment",
        "XMP",
        "CreationDate",
        "2026:11:20",
        "2095:",
    ] {
        assert!(
            !report.lines().any(|l| l.contains(word)),
            "exiftool finds {word} in the cleaned {name}:\n{report}"
        );
    }
    // Still a movie exiftool reads to its track and size.
    assert!(
        report.contains("ImageWidth") && report.contains(": 64"),
        "{report}"
    );
    for piece in [1, 7, 4096] {
        assert_eq!(
            streamed(&dirty, piece),
            Some((bytes.clone(), removed.clone())),
            "piece {piece}"
        );
    }
    // Clean again: nothing left to remove, the same bytes.
    assert_eq!(
        clean(bytes.clone()),
        Cleaned::Cleaned {
            bytes,
            removed: vec![]
        }
    );
}

#[test]
fn an_mp4_loses_location_device_time_author_comments_and_xmp_and_keeps_its_media() {
    check(b"isom", "clip.mp4");
}

#[test]
fn a_mov_from_a_phone_is_cleaned_the_same_way() {
    check(b"qt  ", "clip.mov");
}

#[test]
fn a_movie_with_a_timed_metadata_track_is_said_not_cleaned() {
    // GoPro-style: the location is in samples among the video's, which blanking cannot reach.
    let mut movie = mp4::fixture(b"isom");
    let at = movie.windows(4).position(|w| w == b"vide").unwrap();
    movie[at..at + 4].copy_from_slice(b"meta");
    assert_eq!(clean(movie.clone()), Cleaned::NotCleaned(movie));
}

#[test]
fn damaged_cut_and_crafted_movies_never_panic_and_are_never_half_cleaned() {
    let dirty = tagged(b"isom", "cut.mp4");
    for cut in 0..dirty.len() {
        // Cut inside a box, the boxes no longer add up to the file: not cleaned. Cut between
        // boxes, what is left is cleaned like any movie.
        if let Cleaned::Cleaned { bytes, .. } = clean(dirty[..cut].to_vec()) {
            for secret in [b"TestCam".as_slice(), b"Zhang San", b"taken at home"] {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret),
                    "cut at {cut}"
                );
            }
        }
    }
    assert!(matches!(
        clean(dirty[..dirty.len() - 1].to_vec()),
        Cleaned::NotCleaned(_)
    ));
    for at in (0..dirty.len()).step_by(3) {
        let mut flipped = dirty.clone();
        flipped[at] ^= 0xFF;
        if let Cleaned::Cleaned { bytes, .. } = clean(flipped.clone()) {
            assert_eq!(bytes.len(), flipped.len());
        }
    }
    // A 64-bit size, a size of 0 (to the end), boxes pointing past the end.
    let ftyp = &dirty[..top_box(&dirty, b"ftyp").len()];
    let large = [ftyp, &[0, 0, 0, 1], b"free", &24u64.to_be_bytes(), &[0; 8]].concat();
    assert!(matches!(clean(large), Cleaned::Cleaned { .. }));
    let to_end = [ftyp, &[0, 0, 0, 0], b"udta", b"secret"].concat();
    let Cleaned::Cleaned { bytes, removed } = clean(to_end) else {
        panic!("a box to the end is fine");
    };
    assert_eq!(removed, [Removed::Other]);
    assert!(!bytes.windows(6).any(|w| w == b"secret"));
    let past = [ftyp, &[0, 0, 1, 0], b"mdat"].concat();
    assert!(matches!(clean(past), Cleaned::NotCleaned(_)));
}
