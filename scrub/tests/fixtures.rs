//! Each format with a fixture carrying a location, a camera serial, an author, times, comments
//! and other blocks: the cleaned file holds none of them, keeps its orientation, and decodes to
//! the very same pixels (the container is rewritten, the image data never touched). Debian's
//! exiftool, an independent reader, confirms it (`./scripts/test.sh` installs it).

use std::io::Cursor;

use cluebox_scrub::{Cleaned, Removed, clean};
use exif::{Field, In, Rational, Tag, Value};
use img_parts::jpeg::{Jpeg, JpegSegment, markers};
use img_parts::{Bytes, ImageEXIF as _};

/// Words that must not survive cleaning.
const SECRETS: [&str; 7] = [
    "SN-0042-SECRET",
    "Zhang San",
    "TestCam",
    "Phone X",
    "2026:11:20",
    "taken at home",
    "xmpmeta",
];

/// A 16x8 test card.
fn pixels() -> (Vec<u8>, u16, u16) {
    let (w, h) = (16u16, 8u16);
    let data = (0..u32::from(w) * u32::from(h))
        .flat_map(|i| [(i * 7) as u8, (i * 13) as u8, (i * 29) as u8])
        .collect();
    (data, w, h)
}

/// EXIF (TIFF structure) with GPS, device, time, author and orientation 6 (rotated 90°).
fn exif_block() -> Vec<u8> {
    let ascii = |s: &str| Value::Ascii(vec![s.as_bytes().to_vec()]);
    let fields = [
        (Tag::Make, In::PRIMARY, ascii("TestCam")),
        (Tag::Model, In::PRIMARY, ascii("Phone X")),
        (Tag::Artist, In::PRIMARY, ascii("Zhang San")),
        (Tag::Orientation, In::PRIMARY, Value::Short(vec![6])),
        (
            Tag::DateTimeOriginal,
            In::PRIMARY,
            ascii("2026:11:20 21:14:03"),
        ),
        (Tag::BodySerialNumber, In::PRIMARY, ascii("SN-0042-SECRET")),
        (Tag::GPSLatitudeRef, In::PRIMARY, ascii("N")),
        (
            Tag::GPSLatitude,
            In::PRIMARY,
            Value::Rational(vec![
                Rational { num: 23, denom: 1 },
                Rational { num: 7, denom: 1 },
                Rational {
                    num: 1234,
                    denom: 100,
                },
            ]),
        ),
    ]
    .map(|(tag, ifd_num, value)| Field {
        tag,
        ifd_num,
        value,
    });
    let mut writer = exif::experimental::Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut out = Cursor::new(Vec::new());
    writer.write(&mut out, false).unwrap();
    out.into_inner()
}

const XMP: &[u8] =
    b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><dc:creator>Zhang San</dc:creator></x:xmpmeta>";

/// The test card as a plain JPEG (no metadata).
fn plain_jpeg() -> Vec<u8> {
    let (data, w, h) = pixels();
    let mut plain = Vec::new();
    jpeg_encoder::Encoder::new(&mut plain, 90)
        .encode(&data, w, h, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    plain
}

/// The test card as a lossless WebP with the EXIF block and, if asked, XMP.
fn dirty_webp(xmp: bool) -> Vec<u8> {
    let (data, w, h) = pixels();
    let mut out = Vec::new();
    let mut encoder = image_webp::WebPEncoder::new(&mut out);
    encoder.set_exif_metadata(exif_block());
    if xmp {
        encoder.set_xmp_metadata(XMP.to_vec());
    }
    encoder
        .encode(
            &data,
            u32::from(w),
            u32::from(h),
            image_webp::ColorType::Rgb8,
        )
        .unwrap();
    out
}

fn cleaned(file: Vec<u8>) -> (Vec<u8>, Vec<Removed>) {
    match clean(file) {
        Cleaned::Cleaned { bytes, removed } => (bytes, removed),
        Cleaned::NotCleaned(_) => panic!("not cleaned"),
    }
}

fn assert_no_secrets(bytes: &[u8]) {
    for secret in SECRETS {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} survived"
        );
    }
}

/// The orientation in the cleaned file's EXIF, and that it is the only field.
fn only_orientation(tiff: &[u8]) -> u32 {
    let exif = exif::Reader::new().read_raw(tiff.to_vec()).unwrap();
    let tags: Vec<Tag> = exif.fields().map(|f| f.tag).collect();
    assert_eq!(tags, [Tag::Orientation], "nothing but the orientation");
    exif.get_field(Tag::Orientation, In::PRIMARY)
        .unwrap()
        .value
        .get_uint(0)
        .unwrap()
}

/// What exiftool reads from a file: its tag names (`-G1 -s`), one per line.
fn exiftool(bytes: &[u8], name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("cluebox-scrub-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("exiftool")
        .args(["-a", "-u", "-G1", "-s"])
        .arg(&path)
        .output()
        .expect("exiftool is not installed (./scripts/test.sh installs libimage-exiftool-perl)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn assert_exiftool_finds_nothing(bytes: &[u8], name: &str) {
    let report = exiftool(bytes, name);
    for word in [
        "GPS",
        "Serial",
        "Make",
        "Model",
        "Artist",
        "Creator",
        "DateTimeOriginal",
        "Comment",
    ] {
        assert!(
            !report.lines().any(|l| l.contains(word)),
            "exiftool finds {word} in the cleaned {name}:\n{report}"
        );
    }
    assert!(report.contains("Orientation"), "{report}");
}

#[test]
fn jpeg_loses_exif_xmp_iptc_and_comments_and_keeps_orientation_and_pixels() {
    let mut jpeg = Jpeg::from_bytes(Bytes::from(plain_jpeg())).unwrap();
    jpeg.set_exif(Some(Bytes::from(exif_block())));
    let mut xmp = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    xmp.extend_from_slice(XMP);
    let extra = [
        (markers::APP1, xmp),
        (markers::APP13, b"Photoshop 3.0\0Zhang San".to_vec()),
        (markers::COM, b"taken at home".to_vec()),
        (markers::APP11, b"vendor block".to_vec()),
    ];
    for (marker, contents) in extra {
        jpeg.segments_mut().insert(
            2,
            JpegSegment::new_with_contents(marker, Bytes::from(contents)),
        );
    }
    let dirty = jpeg.encoder().bytes().to_vec();
    assert!(
        exiftool(&dirty, "dirty.jpg").contains("GPSLatitude"),
        "the fixture has a location"
    );

    let (clean_bytes, removed) = cleaned(dirty.clone());
    assert_no_secrets(&clean_bytes);
    for kind in [
        Removed::Location,
        Removed::Device,
        Removed::Time,
        Removed::Author,
        Removed::Text,
        Removed::Other,
    ] {
        assert!(removed.contains(&kind), "{kind:?} in {removed:?}");
    }
    let after = Jpeg::from_bytes(Bytes::from(clean_bytes.clone())).unwrap();
    assert_eq!(only_orientation(&after.exif().unwrap()), 6);
    let decode = |b: &[u8]| jpeg_decoder::Decoder::new(b).decode().unwrap();
    assert_eq!(decode(&clean_bytes), decode(&dirty), "the same pixels");
    assert_exiftool_finds_nothing(&clean_bytes, "clean.jpg");
}

#[test]
fn png_loses_text_time_and_exif_chunks_and_keeps_pixels() {
    let (data, w, h) = pixels();
    let mut dirty = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut dirty, u32::from(w), u32::from(h));
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder
            .add_text_chunk("Author".into(), "Zhang San".into())
            .unwrap();
        encoder
            .add_ztxt_chunk("Comment".into(), "taken at home".into())
            .unwrap();
        encoder
            .add_itxt_chunk("Source".into(), "TestCam Phone X".into())
            .unwrap();
        let mut writer = encoder.write_header().unwrap();
        writer
            .write_chunk(png::chunk::ChunkType(*b"eXIf"), &exif_block())
            .unwrap();
        writer
            .write_chunk(
                png::chunk::ChunkType(*b"tIME"),
                &[0x07, 0xEA, 11, 20, 21, 14, 3],
            )
            .unwrap();
        writer.write_image_data(&data).unwrap();
    }
    let (clean_bytes, removed) = cleaned(dirty.clone());
    assert_no_secrets(&clean_bytes);
    assert!(removed.contains(&Removed::Location) && removed.contains(&Removed::Text));
    assert!(removed.contains(&Removed::Time));
    let after = img_parts::png::Png::from_bytes(Bytes::from(clean_bytes.clone())).unwrap();
    let kinds: Vec<[u8; 4]> = after.chunks().iter().map(|c| c.kind()).collect();
    assert_eq!(kinds, [*b"IHDR", *b"eXIf", *b"IDAT", *b"IEND"]);
    assert_eq!(only_orientation(&after.exif().unwrap()), 6);
    let decode = |b: &[u8]| {
        let mut reader = png::Decoder::new(b).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        reader.next_frame(&mut buf).unwrap();
        buf
    };
    assert_eq!(decode(&clean_bytes), decode(&dirty));
    assert_exiftool_finds_nothing(&clean_bytes, "clean.png");
}

#[test]
fn webp_loses_exif_and_xmp_with_their_header_flags_and_keeps_pixels() {
    let dirty = dirty_webp(true);
    let (clean_bytes, removed) = cleaned(dirty.clone());
    assert_no_secrets(&clean_bytes);
    assert!(removed.contains(&Removed::Location) && removed.contains(&Removed::Other));
    let webp = img_parts::webp::WebP::from_bytes(Bytes::from(clean_bytes.clone())).unwrap();
    assert!(!webp.has_chunk(img_parts::webp::CHUNK_XMP));
    let flags = webp
        .chunk_by_id(img_parts::webp::CHUNK_VP8X)
        .unwrap()
        .content()
        .data()
        .unwrap()[0];
    assert_eq!(flags & 0x04, 0, "the XMP flag is cleared");
    assert_eq!(
        flags & 0x08,
        0x08,
        "the EXIF flag stays for the orientation"
    );
    let exif = webp
        .chunk_by_id(img_parts::webp::CHUNK_EXIF)
        .unwrap()
        .content()
        .data()
        .unwrap();
    assert_eq!(only_orientation(exif), 6);
    let decode = |b: &[u8]| {
        let mut decoder = image_webp::WebPDecoder::new(Cursor::new(b)).unwrap();
        let mut buf = vec![0; decoder.output_buffer_size().unwrap()];
        decoder.read_image(&mut buf).unwrap();
        buf
    };
    assert_eq!(decode(&clean_bytes), decode(&dirty));
    assert_exiftool_finds_nothing(&clean_bytes, "clean.webp");
}

#[test]
fn upright_photos_get_no_exif_at_all() {
    let (clean_bytes, removed) = cleaned(plain_jpeg());
    assert!(removed.is_empty(), "{removed:?}");
    let after = Jpeg::from_bytes(Bytes::from(clean_bytes)).unwrap();
    assert!(after.exif().is_none());
}

#[test]
fn other_types_and_damaged_files_are_returned_unchanged_and_said_so() {
    let docx = b"PK\x03\x04\x14\0\0\0docProps/core.xml<dc:creator>Zhang San</dc:creator>".to_vec();
    assert_eq!(clean(docx.clone()), Cleaned::NotCleaned(docx));
    for damaged in [
        vec![0xFF, 0xD8, 0xFF],
        b"\x89PNG\r\n\x1a\nnot a png".to_vec(),
        b"RIFF\x04\0\0\0WEBP".to_vec(),
        vec![],
    ] {
        assert_eq!(clean(damaged.clone()), Cleaned::NotCleaned(damaged));
    }
}

#[test]
fn truncated_and_flipped_files_never_panic() {
    let mut jpeg = Jpeg::from_bytes(Bytes::from(plain_jpeg())).unwrap();
    jpeg.set_exif(Some(Bytes::from(exif_block())));
    let jpeg = jpeg.encoder().bytes().to_vec();
    let webp = dirty_webp(false);
    for file in [jpeg, webp] {
        for cut in 0..file.len() {
            let _ = clean(file[..cut].to_vec());
        }
        for at in 0..file.len() {
            let mut flipped = file.clone();
            flipped[at] ^= 0xFF;
            let _ = clean(flipped);
        }
    }
}

#[test]
fn the_fuzz_seeds_and_past_crashes_clean_and_clean_again_to_themselves() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut seen = 0;
    for kind in ["seeds", "regressions"] {
        let Ok(dir) = std::fs::read_dir(root.join(kind).join("scrub")) else {
            continue;
        };
        for entry in dir {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "md") {
                continue;
            }
            seen += 1;
            if let Cleaned::Cleaned { bytes, .. } = clean(std::fs::read(&path).unwrap()) {
                assert_no_secrets(&bytes);
                assert_eq!(
                    clean(bytes.clone()),
                    Cleaned::Cleaned {
                        bytes,
                        removed: vec![]
                    }
                );
            }
        }
    }
    assert!(seen >= 3, "the seeds are there");
}
