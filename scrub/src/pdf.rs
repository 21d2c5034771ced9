//! PDF: the document information dictionaries (author, the software that made the file, dates,
//! title, subject, keywords) and the XMP metadata streams are blanked in place.
//!
//! Blanking keeps every byte's position, so the cross-reference tables' offsets stay right and
//! the document opens as before: an information dictionary's contents become spaces (an empty
//! `<< >>`), a metadata stream's bytes become spaces (its `/Length` unchanged). Every revision's
//! dictionary is blanked, not only the latest (an editor that appends an update leaves the old
//! one in the file). A file whose information dictionary sits inside a compressed object stream
//! cannot be blanked this way and is not cleaned (the reporter is told).
//!
//! Own code rather than a PDF crate: those parse and rewrite the whole document (and weigh far
//! more in the browser's worker); this needs only to find a few objects by their references.

use crate::Removed;

/// Whether a file starting with `first` is a PDF.
pub fn is_pdf(first: &[u8]) -> bool {
    first.starts_with(b"%PDF-")
}

/// Cleans a whole PDF held in memory: `None` when it cannot be cleaned.
pub fn clean(file: &[u8]) -> Option<(Vec<u8>, Vec<Removed>)> {
    // Blanking can change how a crafted file reads (a stream whose end was damaged runs into
    // the next object, one object named as both information and metadata).
    crate::settle(file, clean_once)
}

/// One round of [`clean`].
fn clean_once(file: &[u8]) -> Option<(Vec<u8>, Vec<Removed>)> {
    // Each step reads what the step before left (not the original).
    let mut out = file.to_vec();
    let mut removed = Vec::new();
    let mut blanks = Vec::new();
    for (n, g) in references(&out, b"/Info") {
        let found = objects(&out, n, g);
        if found.is_empty() {
            return None; // in an object stream: cannot be blanked in place
        }
        for body in found {
            let (start, end) = dictionary(&out, body)?;
            removed.extend(info_kinds(&out[start..end]));
            blanks.push((start, end));
        }
    }
    for (start, end) in blanks {
        out[start..end].fill(b' ');
    }
    let mut streams = Vec::new();
    for (n, g) in references(&out, b"/Metadata") {
        for body in objects(&out, n, g) {
            let (dict_start, dict_end) = dictionary(&out, body)?;
            let (start, end) = stream_data(&out, dict_end)?;
            let held: Vec<u8> = out[start..end]
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            let empty: Vec<u8> = [EMPTY_XMP_HEAD, EMPTY_XMP_TAIL]
                .concat()
                .into_iter()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            if !held.is_empty() && held != empty {
                removed.push(Removed::Other);
                removed.extend(xmp_kinds(&out[start..end]));
            }
            let compressed = find(&out[dict_start..dict_end], b"/Filter").is_some();
            streams.push((start, end, compressed));
        }
    }
    for (start, end, compressed) in streams {
        // An uncompressed packet becomes an empty one padded with spaces (readers then find
        // valid, empty XMP); a compressed one becomes spaces.
        let data = &mut out[start..end];
        data.fill(b' ');
        if !compressed && data.len() >= EMPTY_XMP_HEAD.len() + EMPTY_XMP_TAIL.len() {
            data[..EMPTY_XMP_HEAD.len()].copy_from_slice(EMPTY_XMP_HEAD);
            let tail = data.len() - EMPTY_XMP_TAIL.len();
            data[tail..].copy_from_slice(EMPTY_XMP_TAIL);
        }
    }
    removed.sort();
    removed.dedup();
    Some((out, removed))
}

/// An empty XMP packet, written around the padding that replaces a metadata stream.
const EMPTY_XMP_HEAD: &[u8] = b"<?xpacket begin=\"\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"/>";
const EMPTY_XMP_TAIL: &[u8] = b"<?xpacket end=\"w\"?>";

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | 0)
}

fn is_delimiter(b: u8) -> bool {
    is_space(b) || b"()<>[]{}/%".contains(&b)
}

/// Every `key N G R` in the file (`N G` pairs, each once).
fn references(file: &[u8], key: &[u8]) -> Vec<(u64, u64)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = find(&file[from..], key).map(|p| p + from) {
        from = at + key.len();
        // `/Info` but not `/InfoX`.
        if file.get(from).is_some_and(|b| !is_delimiter(*b)) {
            continue;
        }
        let mut cursor = from;
        let (Some(n), Some(g)) = (number(file, &mut cursor), number(file, &mut cursor)) else {
            continue;
        };
        skip_space(file, &mut cursor);
        if file.get(cursor) == Some(&b'R') && !found.contains(&(n, g)) {
            found.push((n, g));
        }
    }
    found
}

/// Where each `N G obj` starts its body (just after `obj`), however many revisions hold it.
fn objects(file: &[u8], n: u64, g: u64) -> Vec<usize> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = find(&file[from..], b"obj").map(|p| p + from) {
        from = at + 3;
        if file.get(from).is_some_and(|b| !is_delimiter(*b)) {
            continue; // `objects`, `endobj` is fine below
        }
        // Back over `G`, spaces, `N`, and a delimiter before it.
        let mut cursor = at;
        let back_number = |cursor: &mut usize| -> Option<u64> {
            while *cursor > 0 && is_space(file[*cursor - 1]) {
                *cursor -= 1;
            }
            let end = *cursor;
            while *cursor > 0 && file[*cursor - 1].is_ascii_digit() {
                *cursor -= 1;
            }
            std::str::from_utf8(&file[*cursor..end]).ok()?.parse().ok()
        };
        let (Some(found_g), Some(found_n)) = (back_number(&mut cursor), back_number(&mut cursor))
        else {
            continue;
        };
        if (found_n, found_g) == (n, g) && (cursor == 0 || is_delimiter(file[cursor - 1])) {
            found.push(from);
        }
    }
    found
}

/// The inside of the dictionary that starts at or after `at` (between its `<<` and `>>`).
fn dictionary(file: &[u8], mut at: usize) -> Option<(usize, usize)> {
    skip_space(file, &mut at);
    if !file.get(at..)?.starts_with(b"<<") {
        return None;
    }
    let start = at + 2;
    let mut depth = 1;
    let mut i = start;
    while i < file.len() {
        match file[i] {
            b'(' => i = literal_string_end(file, i)?,
            b'<' if file.get(i + 1) == Some(&b'<') => {
                depth += 1;
                i += 1;
            }
            b'<' => i += find(&file[i..], b">")?,
            b'>' if file.get(i + 1) == Some(&b'>') => {
                depth -= 1;
                if depth == 0 {
                    return Some((start, i));
                }
                i += 1;
            }
            b'%' => i += file[i..].iter().position(|b| matches!(b, b'\r' | b'\n'))?,
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index of the `)` that closes the literal string opening at `open`.
fn literal_string_end(file: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0;
    let mut i = open;
    while i < file.len() {
        match file[i] {
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The data of the stream whose dictionary ends (its `>>`) at `dict_end`.
fn stream_data(file: &[u8], dict_end: usize) -> Option<(usize, usize)> {
    let mut at = dict_end + 2;
    skip_space(file, &mut at);
    if !file.get(at..)?.starts_with(b"stream") {
        return None;
    }
    at += 6;
    // The keyword is followed by CRLF or LF.
    if file.get(at) == Some(&b'\r') {
        at += 1;
    }
    if file.get(at) == Some(&b'\n') {
        at += 1;
    }
    let end = at + find(&file[at..], b"endstream")?;
    Some((at, end))
}

fn skip_space(file: &[u8], at: &mut usize) {
    while file.get(*at).is_some_and(|b| is_space(*b)) {
        *at += 1;
    }
}

fn number(file: &[u8], at: &mut usize) -> Option<u64> {
    skip_space(file, at);
    let start = *at;
    while file.get(*at).is_some_and(u8::is_ascii_digit) {
        *at += 1;
    }
    std::str::from_utf8(&file[start..*at]).ok()?.parse().ok()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// What an information dictionary's keys tell of.
fn info_kinds(dict: &[u8]) -> Vec<Removed> {
    let has = |key: &[u8]| find(dict, key).is_some();
    let mut kinds = Vec::new();
    if has(b"/Author") {
        kinds.push(Removed::Author);
    }
    if has(b"/Creator") || has(b"/Producer") {
        kinds.push(Removed::Device);
    }
    if has(b"/CreationDate") || has(b"/ModDate") {
        kinds.push(Removed::Time);
    }
    if has(b"/Title") || has(b"/Subject") || has(b"/Keywords") {
        kinds.push(Removed::Text);
    }
    if dict.contains(&b'/') {
        kinds.push(Removed::Other);
    }
    kinds
}

/// What an XMP packet (when not compressed) tells of.
fn xmp_kinds(xmp: &[u8]) -> Vec<Removed> {
    let has = |word: &[u8]| {
        xmp.windows(word.len())
            .any(|w| w.eq_ignore_ascii_case(word))
    };
    let mut kinds = Vec::new();
    if has(b"gps") {
        kinds.push(Removed::Location);
    }
    if has(b"creatortool") || has(b"producer") {
        kinds.push(Removed::Device);
    }
    if has(b"date") {
        kinds.push(Removed::Time);
    }
    if has(b"dc:creator") {
        kinds.push(Removed::Author);
    }
    if has(b"dc:title") || has(b"dc:description") {
        kinds.push(Removed::Text);
    }
    kinds
}

/// A one-page PDF for tests, with an information dictionary (an author, a creator, dates) and
/// an XMP metadata stream; its cross-reference table is exact.
#[cfg(feature = "fixtures")]
pub fn fixture() -> Vec<u8> {
    let xmp = "<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description xmlns:dc='http://purl.org/dc/elements/1.1/'><dc:creator><rdf:Seq><rdf:li>Zhang San</rdf:li></rdf:Seq></dc:creator></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end='w'?>";
    let content = "BT /F1 24 Tf 72 720 Td (Evidence) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R /Metadata 6 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len() + 1),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        format!("<< /Type /Metadata /Subtype /XML /Length {} >>\nstream\n{xmp}\nendstream", xmp.len() + 1),
        "<< /Author (Zhang San \\(home\\)) /Creator (TestCam Scanner) /Producer (Phone X) /CreationDate (D:20261120211403+08'00') /Title (taken at home) >>".to_owned(),
    ];
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 7 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}
