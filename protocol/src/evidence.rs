//! Evidence files: what travels inside a file's envelope, and how a report names its files.
//!
//! A file is sealed on its own, as a stream ([`crate::envelope::Sealer::new_file`]), to the same
//! office keys as its report, and uploaded in pieces before the report is filed. Its plaintext
//! is a small header followed by the file's bytes:
//!
//! ```text
//! plaintext = FILE_VERSION (1 byte) || header length (u32, big-endian) || postcard(FileHeader) || file bytes
//! ```
//!
//! so the file's name, type and what the browser removed from it travel sealed, never in
//! clear; the server sees an upload's length (a Padmé class, [`crate::padding::file_class`])
//! and nothing else. The report lists its files ([`crate::letter::Answer::Files`]) by upload id
//! and the SHA-256 of the sealed bytes, so the desk knows which uploads belong to it and that
//! none was swapped; the filing receipt names the same hashes.

use serde::{Deserialize, Serialize};

/// The version byte of a file's plaintext.
pub const FILE_VERSION: u8 = 1;

/// The largest header (name, type, removals) a file may carry.
pub const MAX_HEADER: usize = 4096;

/// The longest file name kept (in characters); longer names are cut, keeping the extension.
pub const MAX_NAME_CHARS: usize = 120;

/// The default largest evidence file, in bytes of file (2 GiB).
pub const DEFAULT_MAX_FILE: u64 = 2 << 30;

/// The largest file any profile may allow (4 GiB).
pub const MAX_FILE: u64 = 4 << 30;

/// What a file's envelope says about the file before its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHeader {
    /// The file's name as the reporter's device gave it (no directories).
    pub name: String,
    /// Its media type as the browser guessed it (`image/jpeg`), or empty.
    pub media_type: String,
    /// Its length in bytes, after metadata removal.
    pub size: u64,
    /// What was removed before sealing (see [`Removal`]), or why nothing was.
    pub cleaning: Cleaning,
}

/// Whether a file was cleaned of identifying metadata before sealing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cleaning {
    /// Cleaned; these kinds of metadata were found and removed (empty: none was there).
    Cleaned(Vec<Removal>),
    /// Sent as chosen: the type is not one the browser can clean, or cleaning failed.
    NotCleaned,
}

/// A kind of identifying metadata removed from a file (variant order is part of the format).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Removal {
    /// GPS position.
    Location,
    /// Camera or phone make, model, serial number, lens, software.
    Device,
    /// When it was taken or made.
    Time,
    /// Author, owner, company, copyright.
    Author,
    /// Comments, descriptions, keywords and other text.
    Text,
    /// Embedded preview images (which can keep what the main image lost).
    Thumbnail,
    /// Anything else the format carried (maker notes, editing history, XMP).
    Other,
}

impl Removal {
    /// A stable name (`location`, `device`, ...), as the desk and the docs use it.
    pub fn as_str(self) -> &'static str {
        match self {
            Removal::Location => "location",
            Removal::Device => "device",
            Removal::Time => "time",
            Removal::Author => "author",
            Removal::Text => "text",
            Removal::Thumbnail => "thumbnail",
            Removal::Other => "other",
        }
    }
}

/// How a report names one of its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    /// The upload's id on the server.
    pub upload: String,
    /// The sealed file's length.
    pub sealed_len: u64,
    /// SHA-256 of the sealed file.
    pub sealed_sha256: [u8; 32],
}

impl FileRef {
    /// References as text: `upload:sealed_len:sha256` (SHA-256 in lowercase hex), `;` between
    /// them. How the files picker hands stored files to the form, and the form to its worker
    /// (the form's bundle then carries no code for the binary form).
    pub fn list_to_text(refs: &[FileRef]) -> String {
        refs.iter()
            .map(|r| {
                let sha: String = r.sealed_sha256.iter().map(|b| format!("{b:02x}")).collect();
                [r.upload.as_str(), ":", &r.sealed_len.to_string(), ":", &sha].concat()
            })
            .collect::<Vec<_>>()
            .join(";")
    }

    /// Reads [`FileRef::list_to_text`]'s text; `None` if any entry is damaged.
    pub fn list_from_text(text: &str) -> Option<Vec<FileRef>> {
        if text.is_empty() {
            return Some(Vec::new());
        }
        text.split(';')
            .map(|entry| {
                let mut parts = entry.split(':');
                let (upload, len, sha) = (parts.next()?, parts.next()?, parts.next()?);
                let hex_id = |t: &str, n: usize| {
                    t.len() == n && t.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                };
                if parts.next().is_some() || !hex_id(upload, 32) || !hex_id(sha, 64) {
                    return None;
                }
                let mut sealed_sha256 = [0u8; 32];
                for (i, byte) in sealed_sha256.iter_mut().enumerate() {
                    *byte = u8::from_str_radix(&sha[2 * i..2 * i + 2], 16).ok()?;
                }
                Some(FileRef {
                    upload: upload.to_owned(),
                    sealed_len: len.parse().ok()?,
                    sealed_sha256,
                })
            })
            .collect()
    }
}

/// A form's evidence files by field, as text: `section/field=REFS` for each field, `|` between
/// fields, REFS as [`FileRef::list_to_text`]. The picker leaves it on the page and the form
/// hands it to its worker as it is.
pub fn fields_to_text(fields: &[(String, String, Vec<FileRef>)]) -> String {
    fields
        .iter()
        .filter(|(_, _, refs)| !refs.is_empty())
        .map(|(section, field, refs)| {
            [
                section.as_str(),
                "/",
                field,
                "=",
                &FileRef::list_to_text(refs),
            ]
            .concat()
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// Reads [`fields_to_text`]'s text; `None` if any part is damaged.
pub fn fields_from_text(text: &str) -> Option<Vec<(String, String, Vec<FileRef>)>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split('|')
        .map(|part| {
            let (name, refs) = part.split_once('=')?;
            let (section, field) = name.split_once('/')?;
            Some((
                section.to_owned(),
                field.to_owned(),
                FileRef::list_from_text(refs)?,
            ))
        })
        .collect()
}

/// Why a file's plaintext could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// A newer format.
    #[error(
        "evidence file format version {0} is not supported (this build reads version {FILE_VERSION})"
    )]
    UnsupportedVersion(u8),
    /// The header is not a valid header.
    #[error("the evidence file's header is malformed")]
    Malformed,
    /// The header is longer than [`MAX_HEADER`].
    #[error("the evidence file's header is too long")]
    HeaderTooLong,
}

impl FileHeader {
    /// A header for a file named `name` (directories and control characters dropped, cut to
    /// [`MAX_NAME_CHARS`]).
    pub fn new(name: &str, media_type: &str, size: u64, cleaning: Cleaning) -> Self {
        FileHeader {
            name: tidy_name(name),
            media_type: media_type
                .chars()
                .filter(|c| !c.is_control())
                .take(100)
                .collect(),
            size,
            cleaning,
        }
    }

    /// The bytes that come before the file's own: version, length and header.
    pub fn to_prefix(&self) -> Vec<u8> {
        let header = postcard::to_allocvec(self).expect("writing to a Vec cannot fail");
        let mut out = Vec::with_capacity(5 + header.len());
        out.push(FILE_VERSION);
        out.extend_from_slice(&(header.len() as u32).to_be_bytes());
        out.extend_from_slice(&header);
        out
    }

    /// How many bytes of plaintext the prefix takes, from at least its first five bytes.
    pub fn prefix_len(start: &[u8]) -> Result<usize, EvidenceError> {
        match start {
            [FILE_VERSION, a, b, c, d, ..] => {
                let len = u32::from_be_bytes([*a, *b, *c, *d]) as usize;
                if len > MAX_HEADER {
                    return Err(EvidenceError::HeaderTooLong);
                }
                Ok(5 + len)
            }
            [v, ..] if *v != FILE_VERSION => Err(EvidenceError::UnsupportedVersion(*v)),
            _ => Err(EvidenceError::Malformed),
        }
    }

    /// Reads the prefix (exactly [`FileHeader::prefix_len`] bytes).
    pub fn from_prefix(prefix: &[u8]) -> Result<Self, EvidenceError> {
        let len = Self::prefix_len(prefix)?;
        if prefix.len() != len {
            return Err(EvidenceError::Malformed);
        }
        match postcard::take_from_bytes::<FileHeader>(&prefix[5..]) {
            Ok((header, [])) => Ok(header),
            _ => Err(EvidenceError::Malformed),
        }
    }

    /// The whole plaintext's length: prefix and file.
    pub fn body_len(&self) -> u64 {
        self.to_prefix().len() as u64 + self.size
    }
}

/// A file name safe to show and to write: its last path component, without control
/// characters, at most [`MAX_NAME_CHARS`] characters (the extension kept); `file` if nothing
/// is left.
pub fn tidy_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    let clean = clean.trim().trim_start_matches('.').trim();
    if clean.is_empty() {
        return "file".to_owned();
    }
    let chars: Vec<char> = clean.chars().collect();
    if chars.len() <= MAX_NAME_CHARS {
        return clean.to_owned();
    }
    let ext: String = match clean.rfind('.') {
        Some(dot) if clean.len() - dot <= 10 => clean[dot..].to_owned(),
        _ => String::new(),
    };
    let keep = MAX_NAME_CHARS - ext.chars().count();
    chars[..keep].iter().collect::<String>() + &ext
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_header_round_trips_and_is_measured_from_its_first_bytes() {
        let header = FileHeader::new(
            "IMG_0001.jpg",
            "image/jpeg",
            1234,
            Cleaning::Cleaned(vec![Removal::Location, Removal::Device]),
        );
        let prefix = header.to_prefix();
        assert_eq!(FileHeader::prefix_len(&prefix[..5]), Ok(prefix.len()));
        assert_eq!(FileHeader::from_prefix(&prefix), Ok(header.clone()));
        assert_eq!(header.body_len(), prefix.len() as u64 + 1234);
        let mut newer = prefix.clone();
        newer[0] = 2;
        assert_eq!(
            FileHeader::prefix_len(&newer),
            Err(EvidenceError::UnsupportedVersion(2))
        );
        let mut long = prefix;
        long[1..5].copy_from_slice(&(MAX_HEADER as u32 + 1).to_be_bytes());
        assert_eq!(
            FileHeader::prefix_len(&long),
            Err(EvidenceError::HeaderTooLong)
        );
    }

    #[test]
    fn names_lose_directories_control_characters_and_length_but_keep_the_extension() {
        assert_eq!(tidy_name("../../etc/passwd"), "passwd");
        assert_eq!(tidy_name("C:\\Users\\x\\photo.jpg"), "photo.jpg");
        assert_eq!(tidy_name("a\u{202e}gpj.exe"), "agpj.exe");
        assert_eq!(tidy_name("..."), "file");
        assert_eq!(tidy_name(""), "file");
        assert_eq!(tidy_name(".hidden"), "hidden");
        let long = format!("{}.mp4", "证".repeat(300));
        let tidy = tidy_name(&long);
        assert_eq!(tidy.chars().count(), MAX_NAME_CHARS);
        assert!(tidy.ends_with(".mp4"));
    }

    #[test]
    fn references_as_text_round_trip_and_damage_is_refused() {
        let refs = vec![
            FileRef {
                upload: "0123456789abcdef0123456789abcdef".into(),
                sealed_len: 4_360,
                sealed_sha256: [0xab; 32],
            },
            FileRef {
                upload: "f".repeat(32),
                sealed_len: 1 << 33,
                sealed_sha256: [7; 32],
            },
        ];
        let text = FileRef::list_to_text(&refs);
        assert_eq!(FileRef::list_from_text(&text), Some(refs.clone()));
        let fields = vec![
            ("situation".to_owned(), "evidence".to_owned(), refs),
            ("matter".to_owned(), "more".to_owned(), Vec::new()),
        ];
        let text = fields_to_text(&fields);
        assert_eq!(fields_from_text(&text), Some(fields[..1].to_vec()));
        assert_eq!(fields_from_text("situation=x"), None);
        assert_eq!(FileRef::list_from_text(""), Some(vec![]));
        for bad in [
            ";",
            "../x:1:00",
            &text.replace(":4360:", ":-1:"),
            &text.replace('f', "F"),
            &[text.as_str(), ":9"].concat(),
        ] {
            assert_eq!(FileRef::list_from_text(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn any_text_as_references_never_panics(text in ".{0,300}") {
            let _ = FileRef::list_from_text(&text);
            let _ = fields_from_text(&text);
        }

        #[test]
        fn any_bytes_as_a_prefix_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = FileHeader::prefix_len(&bytes);
            let _ = FileHeader::from_prefix(&bytes);
        }

        #[test]
        fn a_tidy_name_is_short_flat_and_stable(name in ".{0,400}") {
            let tidy = tidy_name(&name);
            prop_assert!(!tidy.is_empty());
            prop_assert!(tidy.chars().count() <= MAX_NAME_CHARS);
            prop_assert!(!tidy.contains('/') && !tidy.contains('\\'));
            prop_assert!(!tidy.chars().any(char::is_control));
            prop_assert!(tidy != "." && tidy != "..");
        }
    }
}
