//! PDF: exiftool (an independent writer and reader) adds an author, a creator tool and a title
//! to a one-page PDF as an update (so the file holds two revisions of its information and
//! XMP); the cleaned PDF has the same length, its cross-reference table still points at every
//! object, and exiftool finds none of it in either revision.

use cluebox_scrub::{Cleaned, Removed, clean, pdf};

fn exiftool(bytes: &[u8], name: &str, args: &[&str]) -> (Vec<u8>, String) {
    let dir = std::env::temp_dir().join(format!("cluebox-scrub-pdf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("exiftool")
        .args(args)
        .arg(&path)
        .output()
        .expect("exiftool is not installed (./scripts/test.sh installs libimage-exiftool-perl)");
    assert!(out.status.success(), "exiftool {args:?}: {out:?}");
    (
        std::fs::read(&path).unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

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
