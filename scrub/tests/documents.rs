//! PDF: exiftool (an independent writer and reader) adds an author, a creator tool and a title
//! to a one-page PDF as an update (so the file holds two revisions of its information and
//! XMP); the cleaned PDF has the same length, its cross-reference table still points at every
//! object, and exiftool finds none of it in either revision.

use cluebox_scrub::{Cleaned, Removed, clean, pdf};

mod common;
use common::exiftool;

/// Every object the cross-reference table names starts at its offset.
fn xref_points_at_objects(file: &[u8]) {
    let text = String::from_utf8_lossy(file);
    let at = text.rfind("startxref").unwrap();
    let xref: usize = text[at + 9..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let table = &text[xref..];
    let mut lines = table.lines().skip(2);
    for n in 1.. {
        let Some(line) = lines.next() else { break };
        if !line.ends_with(" n ") && !line.ends_with(" n") {
            break;
        }
        let offset: usize = line[..10].parse().unwrap();
        assert!(
            text[offset..].starts_with(&format!("{n} 0 obj")),
            "object {n} at {offset}"
        );
    }
}

#[test]
fn a_pdf_loses_its_author_creator_dates_and_xmp_in_every_revision() {
    let fixture = pdf::fixture();
    xref_points_at_objects(&fixture);
    let (dirty, _) = exiftool(
        &fixture,
        "scan.pdf",
        &[
            "-q",
            "-overwrite_original",
            "-PDF:Author=Li Si",
            "-PDF:Creator=TestCam Scanner",
            "-XMP-dc:Creator=Li Si",
            "-XMP-pdf:Producer=Phone X",
        ],
    );
    assert!(dirty.len() > fixture.len(), "exiftool appended an update");
    let (_, before) = exiftool(&dirty, "scan.pdf", &["-a", "-G1", "-s"]);
    assert!(
        before.contains("Li Si") && before.contains("TestCam"),
        "{before}"
    );

    let Cleaned::Cleaned { bytes, removed } = clean(dirty.clone()) else {
        panic!("not cleaned");
    };
    assert_eq!(bytes.len(), dirty.len(), "nothing moves");
    for kind in [
        Removed::Device,
        Removed::Time,
        Removed::Author,
        Removed::Text,
    ] {
        assert!(removed.contains(&kind), "{kind:?} in {removed:?}");
    }
    xref_points_at_objects(&bytes);
    for secret in [
        b"Zhang San".as_slice(),
        b"Li Si",
        b"TestCam",
        b"Phone X",
        b"taken at home",
        b"20261120",
    ] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret),
            "{} survived",
            String::from_utf8_lossy(secret)
        );
    }
    // The page is untouched.
    assert!(bytes.windows(8).any(|w| w == b"Evidence"));
    let (_, after) = exiftool(&bytes, "clean.pdf", &["-a", "-u", "-G1", "-s"]);
    for word in [
        "Author",
        "Creator",
        "Producer",
        "Title",
        "CreateDate",
        "Li Si",
        "Zhang",
    ] {
        assert!(
            !after.lines().any(|l| l.contains(word)),
            "exiftool finds {word}:\n{after}"
        );
    }
    assert!(
        after.contains("PageCount") && after.contains(": 1"),
        "{after}"
    );
    assert!(!after.contains("Warning"), "{after}");
    // Clean again: nothing left, the same bytes.
    let again = clean(bytes.clone());
    assert!(
        again
            == Cleaned::Cleaned {
                bytes,
                removed: vec![]
            },
        "cleaning again changes nothing"
    );
}

#[test]
fn damaged_and_crafted_pdfs_never_panic() {
    let file = pdf::fixture();
    for cut in 0..file.len() {
        let _ = clean(file[..cut].to_vec());
    }
    for at in 0..file.len() {
        let mut flipped = file.clone();
        flipped[at] ^= 0xFF;
        let _ = clean(flipped);
    }
    // An information dictionary that is not in the file as an object (it would be inside a
    // compressed object stream): said not cleaned.
    let hidden = b"%PDF-1.7\ntrailer\n<< /Info 9 0 R >>\n".to_vec();
    assert_eq!(clean(hidden.clone()), Cleaned::NotCleaned(hidden));
}

/// A small Word document (deflated, as Word writes it) whose properties name an author, a last
/// editor, a company, a manager and the application, with dates.
fn docx() -> Vec<u8> {
    docx_with(&[])
}

/// A photo as a phone takes it: a JPEG that exiftool gave a location, a camera and a time.
fn phone_photo() -> Vec<u8> {
    let (w, h) = (16u16, 8u16);
    let pixels: Vec<u8> = (0..u32::from(w) * u32::from(h))
        .flat_map(|i| [(i * 7) as u8, (i * 13) as u8, (i * 29) as u8])
        .collect();
    let mut plain = Vec::new();
    jpeg_encoder::Encoder::new(&mut plain, 90)
        .encode(&pixels, w, h, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    let (tagged, _) = exiftool(
        &plain,
        "pasted.jpg",
        &[
            "-q",
            "-overwrite_original",
            "-GPSLatitude=23.1291",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=113.2644",
            "-GPSLongitudeRef=E",
            "-Make=TestCam",
            "-Model=Phone X",
            "-SerialNumber=SN-4711",
            "-DateTimeOriginal=2026:11:20 21:14:03",
        ],
    );
    tagged
}

/// [`docx`] with `media` parts (name, bytes) added, deflated as Word does.
fn docx_with(media: &[(&str, &[u8])]) -> Vec<u8> {
    docx_of(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>合同扫描件 evidence</w:t></w:r></w:p></w:body></w:document>"#,
        media,
    )
}

/// A docx whose `word/document.xml` is `document`, with `extra` parts added.
fn docx_of(document: &str, media: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let parts = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/><Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/></Relationships>"#,
        ),
        ("word/document.xml", document),
        (
            "docProps/core.xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>Zhang San</dc:creator><cp:lastModifiedBy>Li Si</cp:lastModifiedBy><dcterms:created xsi:type="dcterms:W3CDTF">2026-11-20T21:14:03Z</dcterms:created></cp:coreProperties>"#,
        ),
        (
            "docProps/app.xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Application>TestCam Office</Application><Company>Phone X Trading Co</Company><Manager>Wang Wu</Manager></Properties>"#,
        ),
    ];
    for (name, text) in parts {
        zip.start_file(name, deflated).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    for (name, bytes) in media {
        zip.start_file(*name, deflated).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A part of an Office file, decompressed, as bytes.
fn part_bytes(file: &[u8], name: &str) -> Vec<u8> {
    use std::io::Read as _;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(file)).unwrap();
    let mut bytes = Vec::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    bytes
}

#[test]
fn a_photo_pasted_into_a_word_file_loses_its_location_and_camera() {
    let photo = phone_photo();
    let (_, before) = exiftool(&photo, "pasted.jpg", &["-a", "-G1", "-s"]);
    for word in ["GPSLatitude", "TestCam", "SN-4711"] {
        assert!(before.contains(word), "the photo carries {word}:\n{before}");
    }
    let dirty = docx_with(&[
        ("word/media/image1.jpeg", &photo),
        // Not a photo, though named like one: copied as it is.
        ("word/media/image2.png", b"not an image at all"),
    ]);
    let Cleaned::Cleaned { bytes, removed } = clean(dirty.clone()) else {
        panic!("not cleaned");
    };
    assert!(
        removed.contains(&Removed::Location) && removed.contains(&Removed::Device),
        "{removed:?}"
    );
    let inside = part_bytes(&bytes, "word/media/image1.jpeg");
    let (_, after) = exiftool(&inside, "inside.jpg", &["-a", "-u", "-G1", "-s"]);
    for word in ["GPS", "TestCam", "Phone X", "SN-4711", "2026:11:20"] {
        assert!(!after.contains(word), "exiftool finds {word}:\n{after}");
    }
    // Still the same picture.
    let decode = |jpeg: &[u8]| jpeg_decoder::Decoder::new(jpeg).decode().unwrap();
    assert_eq!(decode(&inside), decode(&photo));
    assert_eq!(
        part_bytes(&bytes, "word/media/image2.png"),
        b"not an image at all"
    );
    assert_eq!(
        part(&bytes, "word/document.xml"),
        part(&dirty, "word/document.xml")
    );
    // Cleaning again changes nothing.
    assert!(
        clean(bytes.clone())
            == Cleaned::Cleaned {
                bytes,
                removed: vec![]
            }
    );

    // A damaged photo inside cannot be cleaned: the file is said not cleaned.
    let mut damaged = photo.clone();
    damaged.truncate(photo.len() / 2);
    let dirty = docx_with(&[("word/media/image1.jpg", &damaged)]);
    assert!(matches!(clean(dirty), Cleaned::NotCleaned(_)));
}

/// A part of an Office file, decompressed.
fn part(file: &[u8], name: &str) -> String {
    String::from_utf8(part_bytes(file, name)).unwrap()
}

#[test]
fn a_word_file_loses_its_author_editor_company_and_dates_and_keeps_its_text() {
    let dirty = docx();
    let (_, before) = exiftool(&dirty, "contract.docx", &["-a", "-G1", "-s"]);
    for word in [
        "Zhang San",
        "Li Si",
        "Phone X Trading",
        "Wang Wu",
        "TestCam",
    ] {
        assert!(
            before.contains(word),
            "the fixture carries {word}:\n{before}"
        );
    }
    let Cleaned::Cleaned { bytes, removed } = clean(dirty.clone()) else {
        panic!("not cleaned");
    };
    assert_eq!(
        removed,
        [
            Removed::Device,
            Removed::Time,
            Removed::Author,
            Removed::Other
        ]
    );
    let (_, after) = exiftool(&bytes, "contract.docx", &["-a", "-u", "-G1", "-s"]);
    for word in [
        "Zhang San",
        "Li Si",
        "Phone X",
        "Wang Wu",
        "TestCam",
        "Creator",
        "LastModifiedBy",
        "Company",
        "2026",
    ] {
        assert!(
            !after
                .lines()
                .any(|l| l.contains(word) && !l.contains("[System]")),
            "exiftool finds {word}:\n{after}"
        );
    }
    assert!(after.contains("DOCX"), "still a Word document:\n{after}");
    // The document's own parts are the same bytes, still compressed as they were.
    assert_eq!(
        part(&bytes, "word/document.xml"),
        part(&dirty, "word/document.xml")
    );
    assert!(bytes.len() < dirty.len() + 1024);
    let again = clean(bytes.clone());
    assert!(
        again
            == Cleaned::Cleaned {
                bytes,
                removed: vec![]
            },
        "cleaning again changes nothing"
    );
    // Any other zip is not an Office file: not cleaned.
    let mut plain = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    plain
        .start_file("notes.txt", zip::write::SimpleFileOptions::default())
        .unwrap();
    std::io::Write::write_all(&mut plain, b"Zhang San").unwrap();
    let plain = plain.finish().unwrap().into_inner();
    assert_eq!(clean(plain.clone()), Cleaned::NotCleaned(plain));
}

#[test]
fn the_people_named_inside_an_office_file_are_removed_and_its_text_kept() {
    const W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{W}"><w:body><w:p><w:ins w:id="1" w:author="Zhang San" w:date="2026-11-20T21:14:00Z"><w:r><w:t>新增条款 author="not a name" &amp; more</w:t></w:r></w:ins><w:del w:id="2" w:author="Li Si" w:date="2026-11-21T08:00:00Z"><w:r><w:delText>旧条款</w:delText></w:r></w:del></w:p></w:body></w:document>"#
    );
    let comments = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:comments xmlns:w="{W}"><w:comment w:id="0" w:author="Wang Wu" w:date="2026-11-22T09:30:00Z" w:initials="WW"><w:p><w:r><w:t>请核实</w:t></w:r></w:p></w:comment></w:comments>"#
    );
    let people = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w15:people xmlns:w15="http://schemas.microsoft.com/office/word/2012/wordml"><w15:person w15:author="Zhang San"><w15:presenceInfo w15:providerId="AD" w15:userId="S::zhangsan@corp.example"/></w15:person></w15:people>"#;
    let excel = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><comments xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><authors><author>Zhang San</author></authors><commentList><comment ref="A1" authorId="0"><text><r><t>金额有误</t></r></text></comment></commentList></comments>"#;
    let slides = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:cmAuthorLst xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"><p:cmAuthor id="0" name="Li Si" initials="LS" lastIdx="1" clrIdx="0"/></p:cmAuthorLst>"#;
    let dirty = docx_of(
        &document,
        &[
            ("word/comments.xml", comments.as_bytes()),
            ("word/people.xml", people.as_bytes()),
            ("xl/comments1.xml", excel.as_bytes()),
            ("ppt/commentAuthors.xml", slides.as_bytes()),
        ],
    );
    let Cleaned::Cleaned { bytes, removed } = clean(dirty) else {
        panic!("not cleaned");
    };
    assert!(
        removed.contains(&Removed::Author) && removed.contains(&Removed::Time),
        "{removed:?}"
    );
    let parts = [
        "word/document.xml",
        "word/comments.xml",
        "word/people.xml",
        "xl/comments1.xml",
        "ppt/commentAuthors.xml",
    ];
    for name in parts {
        let text = part(&bytes, name);
        for gone in [
            "Zhang San",
            "Li Si",
            "Wang Wu",
            "WW",
            "LS",
            "zhangsan@",
            "2026-11-2",
        ] {
            assert!(!text.contains(gone), "{gone} left in {name}: {text}");
        }
    }
    // The document's own words stay, escapes and all; required attributes stay, empty.
    let document = part(&bytes, "word/document.xml");
    assert!(
        document.contains(r#"<w:t>新增条款 author="not a name" &amp; more</w:t>"#)
            && document.contains("<w:delText>旧条款</w:delText>")
            && document.contains(r#"<w:ins w:id="1" w:author="">"#),
        "{document}"
    );
    assert!(part(&bytes, "word/comments.xml").contains("请核实"));
    assert!(part(&bytes, "xl/comments1.xml").contains("<author></author>"));
    assert!(part(&bytes, "xl/comments1.xml").contains("金额有误"));
    // Cleaning the cleaned file changes nothing.
    let Cleaned::Cleaned { bytes: again, .. } = clean(bytes.clone()) else {
        panic!("not cleaned the second time");
    };
    assert_eq!(again, bytes);
    // A part that is not well-formed XML makes the file "not cleaned", not half cleaned.
    let broken = docx_of(&document.replace("</w:body>", ""), &[]);
    assert!(matches!(clean(broken), Cleaned::NotCleaned(_)));
}
