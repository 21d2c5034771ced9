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

/// A movie with a telemetry track after the video one (its one sample in mdat after the
/// video's): exiftool reads `before` in it with `-ee`; cleaned, it keeps its length and its
/// video sample, loses the track and the sample's bytes, says it removed `removed`, and
/// exiftool finds no GPS in it; streamed cleaning gives the same bytes.
fn check_telemetry(dirty: &[u8], name: &str, before: &[&str], removed_kinds: &[Removed]) {
    let (_, report) = exiftool(dirty, name, &["-ee", "-a", "-u", "-G1", "-s"]);
    for word in before {
        assert!(
            report.contains(word),
            "exiftool reads {word} in the fixture:\n{report}"
        );
    }
    let Cleaned::Cleaned { bytes, removed } = clean(dirty.to_vec()) else {
        panic!("{name} is not cleaned");
    };
    assert_eq!(removed, removed_kinds);
    assert_eq!(bytes.len(), dirty.len(), "nothing moves");
    // The video's sample is untouched; the telemetry's is zeros; its track is a free box.
    let (mdat, clean_mdat) = (top_box(dirty, b"mdat"), top_box(&bytes, b"mdat"));
    assert_eq!(clean_mdat[..8 + 64], mdat[..8 + 64]);
    assert!(mdat[8 + 64..].iter().any(|b| *b != 0));
    assert!(clean_mdat[8 + 64..].iter().all(|b| *b == 0));
    let traks = |f: &[u8]| f.windows(4).filter(|w| *w == b"trak").count();
    assert_eq!((traks(dirty), traks(&bytes)), (2, 1));
    let (_, after) = exiftool(&bytes, name, &["-ee", "-a", "-u", "-G1", "-s"]);
    for word in ["GPS", "HERO", "gpmd", "camm", "2095:"] {
        assert!(
            !after.lines().any(|l| l.contains(word)),
            "exiftool finds {word} in the cleaned {name}:\n{after}"
        );
    }
    assert!(
        after.contains("ImageWidth") && after.contains(": 64"),
        "{after}"
    );
    for piece in [1, 5, 64, 4096] {
        assert_eq!(
            streamed(dirty, piece),
            Some((bytes.clone(), removed.clone())),
            "piece {piece}"
        );
    }
}

#[test]
fn a_gopro_movie_loses_its_telemetry_track_and_samples_and_keeps_its_video() {
    // GoPro-style: the GPS fixes and the camera's name are samples of a timed metadata track
    // (handler meta, samples gpmd), in mdat after the video's.
    check_telemetry(
        &mp4::fixture_with_telemetry(b"mp41"),
        "GX010001.MP4",
        &["GPSLatitude", "23 deg 7", "HERO12 Black"],
        &[
            Removed::Location,
            Removed::Device,
            Removed::Time,
            Removed::Other,
        ],
    );
}

#[test]
fn a_360_camera_movie_loses_its_camera_motion_track_and_its_gps() {
    // Google's camera motion metadata (handler and samples camm), as Street View and
    // 360-degree cameras write it: a GPS fix among the motion samples.
    check_telemetry(
        &mp4::fixture_with_camera_motion(b"mp42"),
        "VID_360.mp4",
        &["GPSLatitude", "23 deg 7", "GPSAltitude"],
        &[Removed::Location, Removed::Time, Removed::Other],
    );
}

/// Where the second `kind` is in `file` (the telemetry track's, in the fixture).
fn second(file: &[u8], kind: &[u8; 4]) -> usize {
    let mut found = file
        .windows(4)
        .enumerate()
        .filter(|(_, w)| w == kind)
        .map(|(i, _)| i);
    found.nth(1).unwrap()
}

/// The telemetry fixture with its second track's `stco` (the one chunk offset) set to `at`.
fn telemetry_at(at: u32) -> Vec<u8> {
    let mut movie = mp4::fixture_with_telemetry(b"mp41");
    let stco = second(&movie, b"stco");
    // type, version and flags, entry count, then the offset.
    movie[stco + 12..stco + 16].copy_from_slice(&at.to_be_bytes());
    movie
}

#[test]
fn telemetry_whose_tables_point_outside_mdat_or_to_another_file_is_not_cleaned() {
    let good = mp4::fixture_with_telemetry(b"mp41");
    let mdat = good.len() - top_box(&good, b"mdat").len();
    let sample = good.len() - (mdat + 8 + 64);
    // Where the sample really is: cleaned. One byte later it runs past mdat; into the movie
    // box, or past the file's end: never zeroed, the reporter is told.
    assert!(matches!(
        clean(telemetry_at((mdat + 8 + 64) as u32)),
        Cleaned::Cleaned { .. }
    ));
    for at in [
        mdat + 8 + 65,
        40,
        mdat + 4,
        good.len() - sample / 2,
        u32::MAX as usize,
    ] {
        let movie = telemetry_at(at as u32);
        assert_eq!(
            clean(movie.clone()),
            Cleaned::NotCleaned(movie),
            "offset {at}"
        );
    }
    // A data reference that says the media is in another file.
    let mut elsewhere = good.clone();
    let url = second(&elsewhere, b"url ");
    elsewhere[url + 7] = 0;
    assert_eq!(clean(elsewhere.clone()), Cleaned::NotCleaned(elsewhere));
    // Sample tables that do not agree: more samples claimed than the chunks hold, and a huge
    // fixed size times a huge count (answered without counting them one by one).
    let stsz = second(&good, b"stsz");
    let mut more = good.clone();
    more[stsz + 12..stsz + 16].copy_from_slice(&2u32.to_be_bytes());
    assert_eq!(clean(more.clone()), Cleaned::NotCleaned(more));
    let mut huge = good.clone();
    huge[stsz + 8..stsz + 12].copy_from_slice(&u32::MAX.to_be_bytes());
    huge[stsz + 12..stsz + 16].copy_from_slice(&u32::MAX.to_be_bytes());
    let stsc = second(&good, b"stsc");
    huge[stsc + 16..stsc + 20].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(clean(huge.clone()), Cleaned::NotCleaned(huge));
    // Every byte flipped in turn: no panic, and nothing moves.
    for at in 0..good.len() {
        let mut flipped = good.clone();
        flipped[at] ^= 0xFF;
        if let Cleaned::Cleaned { bytes, .. } = clean(flipped.clone()) {
            assert_eq!(bytes.len(), flipped.len());
        }
    }
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
