//! Office Open XML files (Word, Excel and PowerPoint: docx, xlsx, pptx and their macro and
//! template kinds): the document properties parts, where the author, the last editor, the
//! company, the manager, the application and the dates live, are replaced by empty ones.
//!
//! The package is a zip archive: every other part is copied as it is, still compressed (the
//! `zip` crate's raw copy, so no deflate code is needed in the browser's worker), and the three
//! properties parts (`docProps/core.xml`, `app.xml`, `custom.xml`) are written anew, stored,
//! holding their root element and nothing else, so every reference to them stays valid.
//!
//! Photos inside the document (`word/media/image1.jpeg` and the like: Word, Excel and
//! PowerPoint keep a pasted photo's bytes, its location and camera included) are cleaned as
//! photos are ([`crate::clean`]) and stored anew; an image part that cannot be cleaned makes the
//! whole file "not cleaned", so the reporter is warned rather than told it is clean. Reading
//! them needs inflating (the `zip` crate's flate2 reader, miniz_oxide: pure Rust).
//!
//! People named inside the document's own XML parts are removed too (`unname`): the authors
//! of tracked changes and comments and their initials and dates (Word's `w:author`,
//! `w:initials`, `w:date`, emptied or, for times, dropped), the people list (`word/people.xml`: names, user and provider ids),
//! Excel's comment authors and persons, PowerPoint's comment authors. Each such part is parsed
//! with quick-xml and written back event by event, changing only those attributes and the text
//! of Excel's `<author>` elements; every other part is copied untouched. What the document
//! says in its own text is the reporter's to edit, not ours.

use std::io::{Cursor, Read as _, Write as _};

use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesStart, Event};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::Removed;

/// The properties parts, what each held, and what replaces it.
const PARTS: [(&str, &[Removed], &str); 3] = [
    (
        "docProps/core.xml",
        &[Removed::Author, Removed::Time, Removed::Other],
        concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n",
            "<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" ",
            "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" ",
            "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"/>"
        ),
    ),
    (
        "docProps/app.xml",
        &[Removed::Device, Removed::Other],
        concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n",
            "<Properties xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties\"/>"
        ),
    ),
    (
        "docProps/custom.xml",
        &[Removed::Other],
        concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n",
            "<Properties xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/custom-properties\"/>"
        ),
    ),
];

/// The largest image inside an Office file that is cleaned (a larger one makes the file "not
/// cleaned"): the whole file is at most the worker's limit for files read whole anyway.
const IMAGE_LIMIT: u64 = 64 << 20;

/// Whether a part's name is a photo's (JPEG, PNG or WebP: the types with location and device
/// data that [`crate::clean`] removes).
fn is_image(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".jpg", ".jpeg", ".jpe", ".png", ".webp"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// The largest XML part that is searched for names (a larger one makes the file "not cleaned").
const XML_LIMIT: u64 = 64 << 20;

/// Whether a part is one of the document's own XML parts, where names can be.
fn is_content_xml(name: &str) -> bool {
    (name.starts_with("word/") || name.starts_with("xl/") || name.starts_with("ppt/"))
        && name.ends_with(".xml")
}

/// Attributes that name a person or say when they acted, by element and attribute (local
/// names): `(true, _)` emptied (names and ids: some are required, and an empty string is still
/// valid), `(false, _)` dropped (times: optional, and an empty one is not a valid time).
fn personal(element: &str, attribute: &str) -> Option<(bool, Removed)> {
    match (element, attribute) {
        (_, "author" | "initials" | "displayName" | "userId" | "providerId")
        | ("cmAuthor" | "author", "name") => Some((true, Removed::Author)),
        // Word's tracked changes and comments (w:date), PowerPoint's and Excel's comments.
        (_, "date") | ("cm", "dt") | ("threadedComment", "dT") => Some((false, Removed::Time)),
        _ => None,
    }
}

/// One XML part without the people it names: `Some(None)` when it names none (copy it as it
/// is), `None` when it is not well-formed XML.
pub(crate) fn unname(xml: &[u8]) -> Option<Option<(Vec<u8>, Vec<Removed>)>> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut writer = quick_xml::Writer::new(Vec::with_capacity(xml.len()));
    let mut removed = Vec::new();
    // How deep inside an element whose text is a person's name (Excel's `<author>`).
    let mut in_author = 0usize;
    loop {
        let event = reader.read_event().ok()?;
        match event {
            Event::Eof => break,
            Event::Start(start) => {
                if in_author > 0 || start.local_name().as_ref() == "author" {
                    in_author += 1;
                }
                match strip(&start, &mut removed)? {
                    Some(new) => writer.write_event(Event::Start(new)).ok()?,
                    None => writer.write_event(Event::Start(start)).ok()?,
                }
            }
            Event::Empty(start) => match strip(&start, &mut removed)? {
                Some(new) => writer.write_event(Event::Empty(new)).ok()?,
                None => writer.write_event(Event::Empty(start)).ok()?,
            },
            Event::End(end) => {
                in_author = in_author.saturating_sub(1);
                writer.write_event(Event::End(end)).ok()?;
            }
            // A name between `<author>` and `</author>`: left out.
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) if in_author > 0 => {
                removed.push(Removed::Author);
            }
            other => writer.write_event(other).ok()?,
        }
    }
    if removed.is_empty() {
        return Some(None);
    }
    removed.sort();
    removed.dedup();
    Some(Some((writer.into_inner(), removed)))
}

/// `start` without its personal attributes ([`personal`]), or `None` when it has none; the
/// outer `None` when its attributes cannot be read.
fn strip(
    start: &BytesStart<'_>,
    removed: &mut Vec<Removed>,
) -> Option<Option<BytesStart<'static>>> {
    let element = start.local_name().as_ref().to_owned();
    let mut any = false;
    for attr in start.attributes() {
        let attr = attr.ok()?;
        any |= personal(&element, attr.key.local_name().as_ref()).is_some();
    }
    if !any {
        return Some(None);
    }
    let mut out = BytesStart::new(start.name().as_ref().to_owned());
    for attr in start.attributes() {
        let attr = attr.ok()?;
        match personal(&element, attr.key.local_name().as_ref()) {
            Some((keep, kind)) => {
                if !attr.value.is_empty() {
                    removed.push(kind);
                }
                if keep {
                    out.push_attribute(Attribute {
                        key: attr.key,
                        value: "".into(),
                    });
                }
            }
            None => out.push_attribute(attr),
        }
    }
    Some(Some(out))
}

/// Whether a file starting with `first` is a zip archive (an Office file is one; [`clean`]
/// tells the rest apart).
pub fn is_zip(first: &[u8]) -> bool {
    first.starts_with(b"PK\x03\x04")
}

/// Cleans a whole Office file held in memory: `None` when it is not an Office Open XML package
/// or cannot be read as one.
pub fn clean(file: &[u8]) -> Option<(Vec<u8>, Vec<Removed>)> {
    // Rewriting a crafted archive can change how it reads (entries the reader and the writer
    // see differently).
    crate::settle(file, clean_once)
}

/// One round of [`clean`].
fn clean_once(file: &[u8]) -> Option<(Vec<u8>, Vec<Removed>)> {
    let mut archive = ZipArchive::new(Cursor::new(file)).ok()?;
    archive.index_for_name("[Content_Types].xml")?;
    let mut out = ZipWriter::new(Cursor::new(Vec::with_capacity(file.len())));
    let mut removed = Vec::new();
    for i in 0..archive.len() {
        let part = archive.by_index_raw(i).ok()?;
        let replacement = PARTS.iter().find(|(name, ..)| *name == part.name());
        match replacement {
            Some((name, held, empty)) => {
                if part.size() > empty.len() as u64 {
                    removed.extend_from_slice(held);
                }
                drop(part);
                let stored =
                    SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
                out.start_file(*name, stored).ok()?;
                out.write_all(empty.as_bytes()).ok()?;
            }
            None if is_image(part.name()) => {
                drop(part);
                let mut part = archive.by_index(i).ok()?;
                if part.size() > IMAGE_LIMIT {
                    return None;
                }
                let name = part.name().to_owned();
                let mut image = Vec::with_capacity(part.size() as usize);
                (&mut part)
                    .take(IMAGE_LIMIT + 1)
                    .read_to_end(&mut image)
                    .ok()?;
                drop(part);
                let photo = image.starts_with(&[0xFF, 0xD8, 0xFF])
                    || image.starts_with(b"\x89PNG")
                    || (image.len() >= 12 && &image[..4] == b"RIFF" && &image[8..12] == b"WEBP");
                let cleaned = match photo.then(|| crate::clean(image)) {
                    Some(crate::Cleaned::Cleaned { bytes, removed: r }) => {
                        removed.extend(r);
                        bytes
                    }
                    // A photo that cannot be cleaned: the file is not clean.
                    Some(crate::Cleaned::NotCleaned(_)) => return None,
                    // Named like an image but not one of these: copied as it is.
                    None => {
                        out.raw_copy_file(archive.by_index_raw(i).ok()?).ok()?;
                        continue;
                    }
                };
                let stored =
                    SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
                out.start_file(name, stored).ok()?;
                out.write_all(&cleaned).ok()?;
            }
            None if is_content_xml(part.name()) => {
                drop(part);
                let mut part = archive.by_index(i).ok()?;
                if part.size() > XML_LIMIT {
                    return None;
                }
                let name = part.name().to_owned();
                let mut xml = Vec::with_capacity(part.size() as usize);
                (&mut part).take(XML_LIMIT + 1).read_to_end(&mut xml).ok()?;
                drop(part);
                match unname(&xml)? {
                    None => out.raw_copy_file(archive.by_index_raw(i).ok()?).ok()?,
                    Some((bytes, r)) => {
                        removed.extend(r);
                        let deflated = SimpleFileOptions::default()
                            .compression_method(CompressionMethod::Deflated);
                        out.start_file(name, deflated).ok()?;
                        out.write_all(&bytes).ok()?;
                    }
                }
            }
            None => out.raw_copy_file(part).ok()?,
        }
    }
    removed.sort();
    removed.dedup();
    Some((out.finish().ok()?.into_inner(), removed))
}
