//! Removes what identifies a person or a place from an evidence file before it is sealed:
//! location, the device and its serial numbers, times, authors, comments and embedded
//! thumbnails. It runs in the browser's crypto worker, so the server and the office only ever
//! receive the cleaned bytes; the reporter is told what was removed, or that a type could not
//! be cleaned.
//!
//! The container is rewritten losslessly (the image data is copied byte for byte, never
//! decoded): JPEG, PNG and WebP, read and written with the `img-parts` crate, their EXIF read
//! with `kamadak-exif`. What stays: the image data, colour information (ICC profiles, PNG's
//! colour chunks, JPEG's JFIF and Adobe segments) and the orientation, written back as an EXIF
//! block holding nothing else, so photos do not turn sideways. Videos (MP4, MOV, 3GP) have
//! their metadata boxes blanked in place ([`mp4`]), which works while the file streams; PDFs
//! their information dictionaries and XMP streams ([`pdf`]); Word, Excel and PowerPoint files
//! their properties parts ([`office`]). Every other type is returned unchanged and marked
//! [`Cleaned::NotCleaned`].

pub mod mp4;
pub mod office;
pub mod pdf;

use std::io::Cursor;

use exif::{Context, Field, In, Tag, Value};
use img_parts::jpeg::{Jpeg, JpegSegment, markers};
use img_parts::png::{Png, PngChunk};
use img_parts::riff::{RiffChunk, RiffContent};
use img_parts::webp::{CHUNK_EXIF, CHUNK_VP8X, CHUNK_XMP, WebP};
use img_parts::{Bytes, ImageEXIF as _};

/// What kind of metadata was found and removed (what the reporter is told).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Removed {
    /// GPS position, direction, altitude.
    Location,
    /// Camera or phone make and model, serial numbers, the software that wrote it.
    Device,
    /// When it was taken or changed.
    Time,
    /// Author, owner, copyright.
    Author,
    /// Free text: comments, descriptions, PNG text chunks.
    Text,
    /// An embedded preview (it may show what a crop removed).
    Thumbnail,
    /// Other metadata blocks (XMP, IPTC, maker notes, vendor segments).
    Other,
}

/// The outcome for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cleaned {
    /// Rewritten without its metadata; `removed` says what kinds were there (empty: nothing
    /// was found).
    Cleaned {
        /// The cleaned file.
        bytes: Vec<u8>,
        /// What was removed, each kind once, in order.
        removed: Vec<Removed>,
    },
    /// A type this crate cannot clean (or a file that is not what its type says): the bytes
    /// are unchanged, and the reporter decides whether to send them.
    NotCleaned(Vec<u8>),
}

/// Runs one round of cleaning, `once`, until the file stops changing (at most four rounds), so
/// that a cleaned file cleans to itself even when blanking or rewriting changes how a crafted
/// file reads; `None` if it does not settle (then the file is said not cleaned).
pub(crate) fn settle(
    file: &[u8],
    once: impl Fn(&[u8]) -> Option<(Vec<u8>, Vec<Removed>)>,
) -> Option<(Vec<u8>, Vec<Removed>)> {
    let (mut out, mut removed) = once(file)?;
    for _ in 0..3 {
        let (next, more) = once(&out)?;
        if next == out {
            removed.sort();
            removed.dedup();
            return Some((out, removed));
        }
        removed.extend(more);
        out = next;
    }
    None
}

/// Cleans `file`, recognising its type by its first bytes (never by its name).
pub fn clean(file: Vec<u8>) -> Cleaned {
    let outcome = if file.starts_with(&[0xFF, 0xD8, 0xFF]) {
        clean_jpeg(&file)
    } else if file.starts_with(b"\x89PNG\r\n\x1a\n") {
        clean_png(&file)
    } else if file.len() >= 12 && &file[..4] == b"RIFF" && &file[8..12] == b"WEBP" {
        clean_webp(&file)
    } else if office::is_zip(&file) {
        // Office files: the properties parts replaced, every other part copied as it is.
        return match office::clean(&file) {
            Some((bytes, removed)) => Cleaned::Cleaned { bytes, removed },
            None => Cleaned::NotCleaned(file),
        };
    } else if pdf::is_pdf(&file) {
        // Blanked in place: the same length, every offset still right.
        return match pdf::clean(&file) {
            Some((bytes, removed)) => Cleaned::Cleaned { bytes, removed },
            None => Cleaned::NotCleaned(file),
        };
    } else if mp4::is_mp4(&file) {
        // Its own walk checked the boxes add up to the file; the media data is untouched.
        return match mp4::clean(&file) {
            Some((bytes, removed)) => Cleaned::Cleaned { bytes, removed },
            None => Cleaned::NotCleaned(file),
        };
    } else {
        None
    };
    // A cleaned file must still be a whole image: a container the parser accepted but could
    // not follow to its image data (a damaged or crafted file) is not handed over as cleaned.
    match outcome.filter(|(bytes, _)| still_an_image(bytes)) {
        Some((bytes, mut removed)) => {
            removed.sort();
            removed.dedup();
            Cleaned::Cleaned { bytes, removed }
        }
        None => Cleaned::NotCleaned(file),
    }
}

/// Whether `bytes` parse again as an image of their type with its image data: a JPEG with a
/// scan, a PNG with its header, data and end, a WebP with an image chunk.
fn still_an_image(bytes: &[u8]) -> bool {
    let b = || Bytes::copy_from_slice(bytes);
    if bytes.starts_with(&[0xFF, 0xD8]) {
        Jpeg::from_bytes(b()).is_ok_and(|j| {
            j.segments()
                .iter()
                .any(|s| s.marker() == markers::SOS && s.has_entropy())
        })
    } else if bytes.starts_with(b"\x89PNG") {
        Png::from_bytes(b()).is_ok_and(|p| {
            [b"IHDR", b"IDAT", b"IEND"]
                .iter()
                .all(|kind| p.chunks().iter().any(|c| &&c.kind() == kind))
        })
    } else {
        WebP::from_bytes(b()).is_ok_and(|w| {
            w.chunks()
                .iter()
                .any(|c| matches!(&c.id(), b"VP8 " | b"VP8L" | b"ANMF"))
        })
    }
}

/// What an EXIF block holds, and its orientation (1 when absent or odd).
fn read_exif(tiff: &[u8], removed: &mut Vec<Removed>) -> u16 {
    let Ok(exif) = exif::Reader::new().read_raw(tiff.to_vec()) else {
        removed.push(Removed::Other);
        return 1;
    };
    let mut orientation = 1;
    for field in exif.fields() {
        if field.ifd_num == In::THUMBNAIL {
            removed.push(Removed::Thumbnail);
        }
        let kind = match field.tag {
            Tag::Orientation if field.ifd_num == In::PRIMARY => {
                orientation = field
                    .value
                    .get_uint(0)
                    .and_then(|o| u16::try_from(o).ok())
                    .filter(|o| (1..=8).contains(o))
                    .unwrap_or(1);
                continue;
            }
            t if t.context() == Context::Gps => Removed::Location,
            Tag::Make
            | Tag::Model
            | Tag::BodySerialNumber
            | Tag::LensSerialNumber
            | Tag::LensMake
            | Tag::LensModel
            | Tag::Software
            | Tag::ImageUniqueID => Removed::Device,
            Tag::DateTime | Tag::DateTimeOriginal | Tag::DateTimeDigitized => Removed::Time,
            Tag::Artist | Tag::Copyright | Tag::CameraOwnerName => Removed::Author,
            Tag::ImageDescription | Tag::UserComment => Removed::Text,
            _ => Removed::Other,
        };
        removed.push(kind);
    }
    orientation
}

/// A TIFF-structured EXIF block holding the orientation and nothing else (`None` for the
/// upright default, which needs no block).
fn orientation_only(orientation: u16) -> Option<Vec<u8>> {
    if orientation == 1 {
        return None;
    }
    let field = Field {
        tag: Tag::Orientation,
        ifd_num: In::PRIMARY,
        value: Value::Short(vec![orientation]),
    };
    let mut writer = exif::experimental::Writer::new();
    writer.push_field(&field);
    let mut out = Cursor::new(Vec::new());
    writer.write(&mut out, false).ok()?;
    Some(out.into_inner())
}

/// JPEG: keeps JFIF (APP0), ICC profiles (APP2 `ICC_PROFILE`), Adobe's colour-transform marker
/// (APP14) and every non-APP segment with the image data; drops EXIF and XMP (APP1), MPF and
/// FlashPix (other APP2), IPTC (APP13), every other APPn and comments.
fn clean_jpeg(file: &[u8]) -> Option<(Vec<u8>, Vec<Removed>)> {
    let mut jpeg = Jpeg::from_bytes(Bytes::copy_from_slice(file)).ok()?;
    let mut removed = Vec::new();
    let orientation = match jpeg.exif() {
        Some(tiff) => read_exif(&tiff, &mut removed),
        None => 1,
    };
    jpeg.segments_mut().retain(|segment| {
        let marker = segment.marker();
        let contents = segment.contents();
        let keep = match marker {
            markers::APP0 => contents.starts_with(b"JFIF\0") || contents.starts_with(b"JFXX\0"),
            markers::APP2 => contents.starts_with(b"ICC_PROFILE\0"),
            markers::APP14 => contents.starts_with(b"Adobe"),
            markers::APP1..=markers::APP15 => false,
            markers::COM => false,
            _ => true,
        };
        // EXIF was already read field by field above.
        let exif = marker == markers::APP1 && contents.starts_with(b"Exif\0\0");
        if !keep && !exif {
            removed.push(if marker == markers::COM {
                Removed::Text
            } else {
                Removed::Other
            });
        }
        keep
    });
    if let Some(tiff) = orientation_only(orientation) {
        // Right after JFIF's APP0 if there is one, else first (img-parts' own `set_exif`
        // inserts at a fixed index, which a short segment list does not have).
        let at = usize::from(
            jpeg.segments()
                .first()
                .is_some_and(|s| s.marker() == markers::APP0),
        );
        let contents = [b"Exif\0\0".as_slice(), &tiff].concat();
        jpeg.segments_mut().insert(
            at,
            JpegSegment::new_with_contents(markers::APP1, Bytes::from(contents)),
        );
    }
    Some((jpeg.encoder().bytes().to_vec(), removed))
}

/// PNG chunks that describe the image itself; everything else but the image data goes.
const PNG_KEEP: [&[u8; 4]; 14] = [
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT",
    b"bKGD", b"pHYs", b"acTL", b"fcTL",
];

/// PNG: keeps the chunks that describe or hold the image (and animation frames); drops text
/// (`tEXt`, `iTXt`, `zTXt`), `eXIf`, `tIME` and every other ancillary chunk.
fn clean_png(file: &[u8]) -> Option<(Vec<u8>, Vec<Removed>)> {
    let mut png = Png::from_bytes(Bytes::copy_from_slice(file)).ok()?;
    let mut removed = Vec::new();
    let orientation = match png.exif() {
        Some(tiff) => read_exif(&tiff, &mut removed),
        None => 1,
    };
    png.chunks_mut().retain(|chunk| {
        let kind = chunk.kind();
        let keep = PNG_KEEP.contains(&&kind) || &kind == b"fdAT";
        if !keep && &kind != b"eXIf" {
            removed.push(match &kind {
                b"tEXt" | b"iTXt" | b"zTXt" => Removed::Text,
                b"tIME" => Removed::Time,
                _ => Removed::Other,
            });
        }
        keep
    });
    if let Some(tiff) = orientation_only(orientation) {
        // Before the first IDAT, as the PNG 1.6 extension asks.
        let at = png
            .chunks()
            .iter()
            .position(|c| &c.kind() == b"IDAT")
            .unwrap_or_else(|| png.chunks().len().min(1));
        png.chunks_mut()
            .insert(at, PngChunk::new(*b"eXIf", Bytes::from(tiff)));
    }
    Some((png.encoder().bytes().to_vec(), removed))
}

/// The VP8X flag bits of the EXIF and XMP chunks.
const VP8X_EXIF: u8 = 0x08;
const VP8X_XMP: u8 = 0x04;

/// WebP: drops the EXIF and XMP chunks (and clears their flags in the VP8X header, which
/// `img-parts` leaves set), then writes back an orientation-only EXIF chunk when needed.
fn clean_webp(file: &[u8]) -> Option<(Vec<u8>, Vec<Removed>)> {
    let mut webp = WebP::from_bytes(Bytes::copy_from_slice(file)).ok()?;
    let has_image = webp
        .chunks()
        .iter()
        .any(|c| matches!(&c.id(), b"VP8 " | b"VP8L" | b"VP8X"));
    if !has_image {
        return None;
    }
    let mut removed = Vec::new();
    let mut orientation = 1;
    for chunk in webp.chunks_by_id(CHUNK_EXIF) {
        let data = chunk.content().data()?;
        // The container asks for bare TIFF data; some writers put JPEG's "Exif\0\0" first.
        let tiff = data.strip_prefix(b"Exif\0\0").unwrap_or(data);
        orientation = read_exif(tiff, &mut removed);
    }
    if webp.has_chunk(CHUNK_XMP) {
        removed.push(Removed::Other);
    }
    webp.remove_chunks_by_id(CHUNK_EXIF);
    webp.remove_chunks_by_id(CHUNK_XMP);
    let exif = orientation_only(orientation);
    if let Some(at) = webp.chunks().iter().position(|c| c.id() == CHUNK_VP8X) {
        let mut header = webp.chunks()[at].content().data()?.to_vec();
        let flags = header.first_mut()?;
        *flags &= !(VP8X_EXIF | VP8X_XMP);
        if exif.is_some() {
            *flags |= VP8X_EXIF;
        }
        webp.chunks_mut()[at] = RiffChunk::new(CHUNK_VP8X, RiffContent::Data(Bytes::from(header)));
        if let Some(tiff) = exif {
            // The EXIF chunk goes after the image data, as the container's layout asks.
            webp.chunks_mut().push(RiffChunk::new(
                CHUNK_EXIF,
                RiffContent::Data(Bytes::from(tiff)),
            ));
        }
    }
    // A simple-format WebP (no VP8X) cannot carry metadata, so an orientation there was not
    // honoured by viewers anyway and is not written back.
    Some((webp.encoder().bytes().to_vec(), removed))
}
