//! Evidence files at the desk: fetched sealed, opened on demand.
//!
//! - `pull` fetches each file an inbox item names, streamed to `files/<upload>.sealed` beside
//!   the database (mode 0600 in a 0700 directory) through a `.part` file, its SHA-256 checked
//!   against the server's listing before it is kept ([`fetch`]); memory stays one piece
//!   whatever the file's size. `import` reads them from an export bundle the same way
//!   ([`receive`]).
//! - Opening a report opens each of its files once, streamed, to authenticate every byte and to
//!   read the sealed header (name, type, size, what the browser removed): the report's own
//!   list (sealed by the reporter) names the uploads and their hashes, so a server cannot swap
//!   a file. A file that cannot be opened is recorded with its reason; the report still opens
//!   ([`open_files`]).
//! - The plaintext is written only when someone asks: [`export`] opens a case's files into a
//!   directory (0700), each file 0600 under its tidied name, never outside that directory.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use cluebox_protocol::envelope::{self, Opener};
use cluebox_protocol::evidence::{Cleaning, FileHeader, FileRef, tidy_name};
use cluebox_protocol::keys::SecretKey;
use cluebox_protocol::wire::InboxFile;
use rusqlite::{Connection, OptionalExtension as _, params};
use sha2::{Digest as _, Sha256};

use crate::remote::Remote;

/// Where the sealed files of the database at `db` live.
pub fn dir_of(db: &Path) -> PathBuf {
    db.parent().unwrap_or_else(|| Path::new(".")).join("files")
}

/// The files directory of an open connection (beside its database file).
pub fn dir_of_conn(conn: &Connection) -> Option<PathBuf> {
    conn.path()
        .filter(|p| !p.is_empty())
        .map(|p| dir_of(Path::new(p)))
}

fn sealed_path(dir: &Path, upload: &str) -> PathBuf {
    dir.join(format!("{upload}.sealed"))
}

fn ensure_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

fn is_upload_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The longest sealed file any profile allows: a server announcing more is not believed (it
/// would fill the desk's disk).
const MAX_SEALED: u64 = envelope::sealed_file_len(
    envelope::MAX_SLOTS,
    cluebox_protocol::evidence::MAX_FILE + 5 + cluebox_protocol::evidence::MAX_HEADER as u64,
);

/// Records the files an inbox item names (inside the transaction that stores the item).
pub fn record(tx: &Connection, seq: u64, files: &[InboxFile]) -> anyhow::Result<()> {
    for (position, file) in files.iter().enumerate() {
        if !is_upload_id(&file.upload) || file.length > MAX_SEALED {
            anyhow::bail!("inbox item {seq} names an impossible upload (id or length)");
        }
        tx.execute(
            "INSERT OR IGNORE INTO files (upload, seq, position, length, sha256) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![file.upload, seq, position as i64, file.length, file.sha256],
        )?;
    }
    Ok(())
}

/// A sealed file being received (fetched from the server or read from an export bundle):
/// written to `<upload>.part`, hashed on the way, kept only if its length and SHA-256 are the
/// ones its inbox item announced.
struct Incoming<'a> {
    dir: &'a Path,
    upload: String,
    length: u64,
    sha256: String,
    part: PathBuf,
    out: File,
    hasher: Sha256,
    got: u64,
}

impl<'a> Incoming<'a> {
    fn start(dir: &'a Path, upload: String, length: u64, sha256: String) -> anyhow::Result<Self> {
        ensure_dir(dir)?;
        let part = dir.join(format!("{upload}.part"));
        let out = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&part)?;
        Ok(Self {
            dir,
            upload,
            length,
            sha256,
            part,
            out,
            hasher: Sha256::new(),
            got: 0,
        })
    }

    fn write(&mut self, piece: &[u8]) -> anyhow::Result<()> {
        self.got += piece.len() as u64;
        anyhow::ensure!(
            self.got <= self.length,
            "evidence file {} is longer than announced",
            self.upload
        );
        self.hasher.update(piece);
        self.out.write_all(piece)?;
        Ok(())
    }

    /// Keeps the file if it is whole and unchanged (and marks it fetched), else removes it.
    fn finish(self, conn: &Connection) -> anyhow::Result<()> {
        self.out.sync_all()?;
        drop(self.out);
        if self.got != self.length || hex::encode(self.hasher.finalize()) != self.sha256 {
            let _ = std::fs::remove_file(&self.part);
            anyhow::bail!(
                "evidence file {} arrived damaged (its length or SHA-256 is not the announced one); pull again",
                self.upload
            );
        }
        std::fs::rename(&self.part, sealed_path(self.dir, &self.upload))?;
        File::open(self.dir)?.sync_all()?;
        conn.execute(
            "UPDATE files SET fetched = 1 WHERE upload = ?1",
            [&self.upload],
        )?;
        Ok(())
    }
}

/// Fetches every recorded file not fetched yet; returns how many were fetched.
pub async fn fetch(
    conn: &Connection,
    remote: &Remote,
    token: &str,
    dir: &Path,
) -> anyhow::Result<u64> {
    let wanted: Vec<(String, u64, String)> = conn
        .prepare(
            "SELECT upload, length, sha256 FROM files WHERE fetched = 0 ORDER BY seq, position",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let http = remote.http();
    let mut fetched = 0;
    for (upload, length, sha256) in wanted {
        let mut incoming = Incoming::start(dir, upload, length, sha256)?;
        let mut response = http
            .get(remote.url(&format!("/api/v1/desk/uploads/{}", incoming.upload)))
            .bearer_auth(token)
            .send()
            .await
            .map_err(crate::sync::connection_error)?
            .error_for_status()
            .with_context(|| format!("the API refused evidence file {}", incoming.upload))?;
        while let Some(piece) = response
            .chunk()
            .await
            .map_err(crate::sync::connection_error)?
        {
            incoming.write(&piece)?;
        }
        incoming.finish(conn)?;
        fetched += 1;
    }
    Ok(fetched)
}

/// Receives the sealed file of `upload` from `from` (an export bundle's entry): `Ok(false)` if
/// it was already here. A file no stored inbox item names is refused.
pub fn receive(
    conn: &Connection,
    dir: &Path,
    upload: &str,
    mut from: impl std::io::Read,
) -> anyhow::Result<bool> {
    let row: Option<(u64, String, bool)> = conn
        .query_row(
            "SELECT length, sha256, fetched FROM files WHERE upload = ?1",
            [upload],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((length, sha256, fetched)) = row else {
        anyhow::bail!("the bundle carries a file ({upload:?}) that none of its reports names");
    };
    if fetched {
        return Ok(false);
    }
    let mut incoming = Incoming::start(dir, upload.to_owned(), length, sha256)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            break;
        }
        incoming.write(&buf[..n])?;
    }
    incoming.finish(conn)?;
    Ok(true)
}

/// A writer that keeps a file's sealed header (the first bytes of its plaintext) and passes the
/// rest on.
struct Split<W> {
    prefix: Vec<u8>,
    want: Option<usize>,
    rest: W,
    written: u64,
}

impl<W: Write> Split<W> {
    fn new(rest: W) -> Self {
        Split {
            prefix: Vec::new(),
            want: None,
            rest,
            written: 0,
        }
    }
}

impl<W: Write> Write for Split<W> {
    fn write(&mut self, mut buf: &[u8]) -> std::io::Result<usize> {
        let len = buf.len();
        loop {
            let want = match self.want {
                Some(n) => n,
                None if self.prefix.len() >= 5 => {
                    let n = FileHeader::prefix_len(&self.prefix).map_err(std::io::Error::other)?;
                    self.want = Some(n);
                    n
                }
                None => 5,
            };
            if self.prefix.len() >= want {
                break;
            }
            if buf.is_empty() {
                return Ok(len);
            }
            let take = (want - self.prefix.len()).min(buf.len());
            self.prefix.extend_from_slice(&buf[..take]);
            buf = &buf[take..];
        }
        self.rest.write_all(buf)?;
        self.written += buf.len() as u64;
        Ok(len)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.rest.flush()
    }
}

/// Opens a sealed file into `out` (the file's own bytes, header stripped); returns its header.
/// Any error means `out` must be discarded.
fn open_into(sealed: &Path, keys: &[&SecretKey], out: impl Write) -> anyhow::Result<FileHeader> {
    let mut file = File::open(sealed)?;
    let mut start = vec![0u8; envelope::PREFIX_LEN];
    file.read_exact(&mut start)?;
    let header_len = envelope::header_len(&start)?;
    let mut header = start;
    header.resize(header_len, 0);
    file.read_exact(&mut header[envelope::PREFIX_LEN..])?;
    let (mut opener, _) = Opener::new(keys, &[], &header)?;
    let mut split = Split::new(out);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        opener.push(&buf[..n], &mut split)?;
    }
    opener.finish(&mut split)?;
    split.flush()?;
    let parsed = FileHeader::from_prefix(&split.prefix)?;
    anyhow::ensure!(
        parsed.size == split.written,
        "the file is {} bytes, its header says {}",
        split.written,
        parsed.size
    );
    Ok(parsed)
}

/// Opens the files a report names (inside the transaction that opens the report): checks each
/// against the report's own list and records its header, or why it cannot be opened. Only
/// this item's rows are written: a crafted report that names another item's upload changes
/// nothing of that item.
pub fn open_files(
    tx: &Connection,
    keys: &[&SecretKey],
    seq: u64,
    case_id: &str,
    refs: &[FileRef],
) -> anyhow::Result<()> {
    let dir = dir_of_conn(tx);
    for (position, reference) in refs.iter().enumerate() {
        let sha = hex::encode(reference.sealed_sha256);
        let row: Option<(u64, String, bool)> = tx
            .query_row(
                "SELECT seq, sha256, fetched FROM files WHERE upload = ?1",
                [&reference.upload],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let outcome: Result<FileHeader, String> = match (&row, &dir) {
            _ if !is_upload_id(&reference.upload) => {
                Err("the report names an impossible upload id".into())
            }
            (None, _) => {
                tx.execute(
                    "INSERT INTO files (upload, seq, position, length, sha256) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![reference.upload, seq, position as i64, reference.sealed_len, sha],
                )?;
                Err("the server did not deliver this file with the report".into())
            }
            (Some((item, _, _)), _) if *item != seq => {
                Err("the server delivered this file with another item".into())
            }
            (Some((_, stored, _)), _) if *stored != sha => Err(
                "the file the server delivered is not the one the report names (another SHA-256)"
                    .into(),
            ),
            (Some((_, _, false)), _) => Err("not fetched yet; pull again".into()),
            (Some(_), None) => Err("the desk database has no directory for files".into()),
            (Some(_), Some(dir)) => {
                open_into(&sealed_path(dir, &reference.upload), keys, std::io::sink())
                    .map_err(|e| format!("cannot be opened: {e:#}"))
            }
        };
        let (name, media_type, size, cleaning, problem) = match outcome {
            Ok(h) => (
                Some(h.name),
                Some(h.media_type),
                Some(h.size),
                Some(describe(&h.cleaning)),
                None,
            ),
            Err(problem) => (None, None, None, None, Some(problem)),
        };
        tx.execute(
            "UPDATE files SET case_id = ?2, position = ?3, name = ?4, media_type = ?5, size = ?6,
                              cleaning = ?7, problem = ?8
             WHERE upload = ?1 AND seq = ?9",
            params![
                reference.upload,
                case_id,
                position as i64,
                name,
                media_type,
                size,
                cleaning,
                problem,
                seq
            ],
        )?;
    }
    Ok(())
}

/// What a file's cleaning says, in words.
pub fn describe(cleaning: &Cleaning) -> String {
    match cleaning {
        Cleaning::Cleaned(removed) if removed.is_empty() => "cleaned (nothing to remove)".into(),
        Cleaning::Cleaned(removed) => format!(
            "removed: {}",
            removed
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Cleaning::NotCleaned => "not cleaned (type the browser cannot clean)".into(),
    }
}

/// A case's file as `show` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFile {
    /// The upload id.
    pub upload: String,
    /// Its name, if it opened.
    pub name: Option<String>,
    /// Its media type.
    pub media_type: Option<String>,
    /// Its size in bytes.
    pub size: Option<u64>,
    /// What was removed, in words.
    pub cleaning: Option<String>,
    /// Why it cannot be opened.
    pub problem: Option<String>,
}

/// A case's files, in the report's order.
pub fn of_case(conn: &Connection, case_id: &str) -> anyhow::Result<Vec<CaseFile>> {
    Ok(conn
        .prepare(
            "SELECT upload, name, media_type, size, cleaning, problem FROM files
             WHERE case_id = ?1 ORDER BY seq, position",
        )?
        .query_map([case_id], |r| {
            Ok(CaseFile {
                upload: r.get(0)?,
                name: r.get(1)?,
                media_type: r.get(2)?,
                size: r.get(3)?,
                cleaning: r.get(4)?,
                problem: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// File `n` (counted from 1) of a case, if it opened when the report did, and where its sealed
/// copy is.
pub fn sealed_file(
    conn: &Connection,
    case_id: &str,
    n: usize,
) -> anyhow::Result<Option<(CaseFile, PathBuf)>> {
    let dir = dir_of_conn(conn).context("the desk database has no directory for files")?;
    Ok(of_case(conn, case_id)?
        .into_iter()
        .nth(n.wrapping_sub(1))
        .filter(|f| f.name.is_some())
        .map(|f| {
            let path = sealed_path(&dir, &f.upload);
            (f, path)
        }))
}

/// Opens the sealed file at `sealed` into `out`, streamed (the file's own bytes, its header
/// stripped). Any error means what `out` got must be discarded.
pub fn open_sealed(sealed: &Path, keys: &[SecretKey], out: impl Write) -> anyhow::Result<()> {
    let refs: Vec<&SecretKey> = keys.iter().collect();
    open_into(sealed, &refs, out).map(drop)
}

/// Opens a case's files into `out` (created 0700 if missing): `NN-name` each, mode 0600, never
/// overwriting; returns the paths written.
pub fn export(
    conn: &Connection,
    keys: &[SecretKey],
    case_id: &str,
    out: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    let dir = dir_of_conn(conn).context("the desk database has no directory for files")?;
    let refs: Vec<&SecretKey> = keys.iter().collect();
    ensure_dir(out)?;
    let mut written = Vec::new();
    for (n, file) in of_case(conn, case_id)?.into_iter().enumerate() {
        let Some(name) = file.name.as_deref() else {
            continue;
        };
        // The name was tidied in the browser; tidy again (the desk trusts nothing it is sent).
        let mut target = out.join(format!("{:02}-{}", n + 1, tidy_name(name)));
        let mut k = 2;
        while target.exists() {
            target = out.join(format!("{:02}-{k}-{}", n + 1, tidy_name(name)));
            k += 1;
        }
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&target)
            .with_context(|| format!("cannot create {}", target.display()))?;
        let mut writer = std::io::BufWriter::new(created);
        let result =
            open_into(&sealed_path(&dir, &file.upload), &refs, &mut writer).and_then(|_| {
                Ok(writer
                    .into_inner()
                    .map_err(|e| e.into_error())?
                    .sync_all()?)
            });
        if let Err(e) = result {
            let _ = std::fs::remove_file(&target);
            return Err(e.context(format!("evidence file {} of case {case_id}", n + 1)));
        }
        written.push(target);
    }
    Ok(written)
}
