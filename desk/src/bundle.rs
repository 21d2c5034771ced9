//! Export bundles (`cluebox export` on the server, `cluebox-desk import` here): how an
//! air-gapped desk receives reports, follow-ups and their evidence files without a network.
//!
//! A bundle is a tar archive ([`cluebox_protocol::wire::Bundle`], version 2): its first entry is
//! the inbox entries as JSON, stored as `pull` stores them; each evidence file follows, read as
//! a stream into the desk's files directory and kept only if its length and SHA-256 are the ones
//! its report announced ([`crate::evidence::receive`]). A bare JSON bundle (version 1, written
//! before files existed) is still read. Importing a bundle twice changes nothing.

use std::fs::File;
use std::io::{Read as _, Seek as _};
use std::path::Path;

use anyhow::Context as _;
use cluebox_protocol::wire::{BUNDLE_INDEX, Bundle};
use rusqlite::Connection;

use crate::intake::{self, Counts};

/// The largest index (the entries as JSON) read from an archive: a server's bundle of many
/// days' reports fits, a crafted archive cannot make the desk read gigabytes into memory.
const MAX_INDEX: u64 = 1 << 30;

/// What an import stored.
#[derive(Debug)]
pub struct Imported {
    /// Inbox entries, new and already stored.
    pub entries: Counts,
    /// Evidence files received (those already here are not counted).
    pub files: u64,
}

/// Imports the bundle at `path` into the desk's database (and its files directory).
pub fn import(conn: &mut Connection, path: &Path, actor: &str) -> anyhow::Result<Imported> {
    let mut file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut first = [0u8; 1];
    let n = file.read(&mut first)?;
    file.rewind()?;
    if n == 1 && first[0] == b'{' {
        let mut text = Vec::new();
        file.read_to_end(&mut text)?;
        let bundle = parse(&text, 1)?;
        let entries = intake::store(conn, &bundle.entries, "import", actor)?;
        return Ok(Imported { entries, files: 0 });
    }
    let not_a_bundle = "this is not a Cluebox export bundle";
    let mut archive = tar::Archive::new(file);
    let mut items = archive.entries().context(not_a_bundle)?;
    let mut index = items.next().context(not_a_bundle)?.context(not_a_bundle)?;
    anyhow::ensure!(
        index.path().ok().as_deref() == Some(Path::new(BUNDLE_INDEX)),
        "{not_a_bundle} (its first entry is not {BUNDLE_INDEX})"
    );
    anyhow::ensure!(
        index.size() <= MAX_INDEX,
        "the bundle's index is larger than {MAX_INDEX} bytes"
    );
    let mut text = Vec::new();
    index.read_to_end(&mut text)?;
    let bundle = parse(&text, 2)?;
    let entries = intake::store(conn, &bundle.entries, "import", actor)?;
    let dir = crate::evidence::dir_of_conn(conn)
        .context("the desk database has no directory for evidence files")?;
    let mut files = 0;
    for item in items {
        let item = item.context("the bundle is damaged")?;
        let name = item.path()?.to_string_lossy().into_owned();
        let upload = name
            .strip_prefix("files/")
            .and_then(|n| n.strip_suffix(".sealed"))
            .with_context(|| format!("the bundle holds an unexpected entry {name:?}"))?
            .to_owned();
        if crate::evidence::receive(conn, &dir, &upload, item)? {
            files += 1;
        }
    }
    Ok(Imported { entries, files })
}

fn parse(text: &[u8], version: u16) -> anyhow::Result<Bundle> {
    let bundle: Bundle =
        serde_json::from_slice(text).context("this is not a Cluebox export bundle")?;
    anyhow::ensure!(
        bundle.bundle_version == version,
        "bundle version {} is not supported here",
        bundle.bundle_version
    );
    Ok(bundle)
}
