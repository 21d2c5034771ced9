//! `cluebox export`: writes inbox entries to a bundle file for an air-gapped desk, which imports
//! it with `cluebox-desk import` (no network between the two).
//!
//! The bundle holds exactly what `GET /api/v1/desk/inbox/{seq}` and
//! `GET /api/v1/desk/uploads/{id}` would give: sealed bytes and their metadata, nothing
//! readable. It is a tar archive ([`cluebox_protocol::wire::Bundle`], version 2): the entries
//! as JSON first, then each evidence file they name, copied from the blob store a piece at a
//! time (memory stays one piece whatever the files' size) and checked against its recorded
//! SHA-256 on the way.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use cluebox_protocol::wire::{BUNDLE_INDEX, Bundle, bundle_file_path};
use sha2::{Digest as _, Sha256};

use crate::store::blobs::{BlobStore, UploadId};
use crate::store::{Since, Store};

/// Bytes of an evidence file copied at a time.
const PIECE: usize = 1 << 20;

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Inbox entries (reports and follow-ups).
    pub entries: usize,
    /// Evidence files.
    pub files: usize,
    /// The bundle's length in bytes.
    pub bytes: u64,
}

/// Parses `--since`: an inbox position (`42`) or a date (`2026-11-01`, UTC midnight).
pub fn parse_since(text: &str) -> anyhow::Result<Since> {
    if let Ok(seq) = text.parse::<u64>() {
        return Ok(Since::Seq(seq));
    }
    let date = parse_date(text).ok_or_else(|| {
        anyhow::anyhow!("--since takes an inbox position (42) or a date (2026-11-01), not {text:?}")
    })?;
    let at = date.midnight().assume_utc().unix_timestamp();
    Ok(Since::Time(u64::try_from(at).unwrap_or(0)))
}

fn parse_date(text: &str) -> Option<time::Date> {
    let mut parts = text.split('-');
    let (y, m, d) = (
        parts.next()?.parse().ok()?,
        parts.next()?.parse::<u8>().ok()?,
        parts.next()?.parse().ok()?,
    );
    if parts.next().is_some() {
        return None;
    }
    time::Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()
}

/// Writes the bundle to `out` (atomically: a temporary file, fsync, rename).
pub async fn export(
    store: &dyn Store,
    blobs: &dyn BlobStore,
    profile: &str,
    since: Since,
    out: &Path,
) -> anyhow::Result<Written> {
    let entries = store.export(since).await?;
    let bundle = Bundle {
        bundle_version: 2,
        profile: profile.to_owned(),
        exported_at: crate::routes::now(),
        entries,
    };
    let tmp = out.with_extension("partial");
    let file =
        std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let index = serde_json::to_vec(&bundle)?;
    header(&mut w, BUNDLE_INDEX, index.len() as u64)?;
    w.write_all(&index)?;
    pad(&mut w, index.len() as u64)?;
    let mut seen = HashSet::new();
    let files = bundle.entries.iter().flat_map(|e| &e.item.files);
    for file in files.filter(|f| seen.insert(f.upload.clone())) {
        let id = UploadId::parse(&file.upload)
            .with_context(|| format!("the store names an impossible upload {:?}", file.upload))?;
        header(&mut w, &bundle_file_path(&file.upload), file.length)?;
        let mut hasher = Sha256::new();
        let mut at = 0u64;
        while at < file.length {
            let want = PIECE.min(usize::try_from(file.length - at).unwrap_or(PIECE));
            let piece = blobs
                .read(&id, at, want)
                .await
                .with_context(|| format!("cannot read evidence file {}", file.upload))?;
            anyhow::ensure!(
                !piece.is_empty(),
                "evidence file {} is shorter than recorded",
                file.upload
            );
            hasher.update(&piece);
            w.write_all(&piece)?;
            at += piece.len() as u64;
        }
        anyhow::ensure!(
            hex::encode(hasher.finalize()) == file.sha256,
            "evidence file {} no longer has its recorded SHA-256: not exported",
            file.upload
        );
        pad(&mut w, file.length)?;
    }
    // The end of the archive: two empty blocks.
    w.write_all(&[0; 1024])?;
    let file = w.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    let bytes = file.metadata()?.len();
    drop(file);
    std::fs::rename(&tmp, out)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(Written {
        entries: bundle.entries.len(),
        files: seen.len(),
        bytes,
    })
}

/// A tar header (POSIX ustar, made by the `tar` crate) for a regular file of `size` bytes.
fn header(w: &mut impl Write, path: &str, size: u64) -> anyhow::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_path(path)?;
    header.set_size(size);
    header.set_mode(0o600);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    w.write_all(header.as_bytes())?;
    Ok(())
}

/// Zeros to the end of the 512-byte block an entry of `size` bytes ends in.
fn pad(w: &mut impl Write, size: u64) -> anyhow::Result<()> {
    let rest = (512 - size % 512) % 512;
    w.write_all(&vec![0; rest as usize])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_forms() {
        assert_eq!(parse_since("42").unwrap(), Since::Seq(42));
        assert_eq!(parse_since("1970-01-02").unwrap(), Since::Time(86_400));
        assert_eq!(
            parse_since("2026-11-23").unwrap(),
            Since::Time(1_795_392_000)
        );
        assert!(parse_since("yesterday").is_err());
        assert!(parse_since("2026-13-01").is_err());
    }
}
