//! Sealed bodies in append-only segment files beside the database, referenced from it by
//! (segment, offset, length).
//!
//! **Why not in SQLite rows**: in WAL mode every byte of a row is written twice, once to the WAL
//! and once more when it is checkpointed into the database file, and a 16 KiB envelope spans
//! five pages of B-tree overflow chain. Under sustained load that doubled traffic is what the
//! checkpoints could not keep up with (the WAL grew to gigabytes, commits stalled for seconds).
//! In a segment file a body is written once, sequentially; SQLite keeps only its small index
//! row. Measured in docs/BENCHMARKS.md.
//!
//! **Durability**: only the writer thread appends. It appends every body of a batch, then
//! `fdatasync`s the segment (and the directory when it started a new file), and only then
//! commits the batch's rows; callers are answered after that commit. So a committed row never
//! points at bytes that are not on disk. Bytes appended by a batch that then failed, or by a
//! process that died before its commit, are never referenced; [`Segments::open`] cuts them off
//! the end of the newest segment.
//!
//! Files are `NNNNNNNN.seg` (decimal, from 1), at most [`SEGMENT_BYTES`] each, mode 0600. Nothing
//! here deletes: retention is the desk's decision, as for the rows.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{FileExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;

/// A segment is closed and the next one started once it holds this many bytes.
pub(super) const SEGMENT_BYTES: u64 = 256 * 1024 * 1024;

/// Where a body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BlobRef {
    pub(super) segment: u32,
    pub(super) offset: u64,
    pub(super) len: u32,
}

/// The writer's side: appends to the newest segment.
pub(super) struct Appender {
    dir: PathBuf,
    segment: u32,
    file: File,
    len: u64,
    /// Files written since the last sync (the current one, and one just closed).
    unsynced: Vec<File>,
    /// A new file was created since the last sync: the directory entry needs a sync too.
    new_file: bool,
}

/// The readers' side: open files, shared.
#[derive(Clone)]
pub(super) struct Reader {
    dir: PathBuf,
    files: Arc<Mutex<HashMap<u32, Arc<File>>>>,
}

/// Opens the segment directory for the writer, cutting off the end of the newest segment
/// beyond `committed_end` (the end of the last body a committed row points at in it).
pub(super) fn open(
    dir: &Path,
    committed: impl Fn(u32) -> anyhow::Result<u64>,
) -> anyhow::Result<(Appender, Reader)> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the segment directory {}", dir.display()))?;
    let newest = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".seg")?
                .parse::<u32>()
                .ok()
        })
        .max();
    let (segment, file, len) = match newest {
        Some(n) => {
            let path = segment_path(dir, n);
            let file = OpenOptions::new()
                .read(true)
                .append(true)
                .open(&path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            let end = committed(n)?;
            let on_disk = file.metadata()?.len();
            anyhow::ensure!(
                end <= on_disk,
                "segment {} is shorter ({on_disk} bytes) than the rows that point into it need \
                 ({end} bytes): the data directory was damaged",
                path.display()
            );
            if on_disk > end {
                // Bodies of batches that never committed.
                file.set_len(end)?;
                file.sync_all()?;
            }
            (n, file, end)
        }
        None => {
            let file = create(dir, 1)?;
            (1, file, 0)
        }
    };
    Ok((
        Appender {
            dir: dir.to_owned(),
            segment,
            file,
            len,
            unsynced: Vec::new(),
            new_file: newest.is_none(),
        },
        Reader {
            dir: dir.to_owned(),
            files: Arc::default(),
        },
    ))
}

fn segment_path(dir: &Path, n: u32) -> PathBuf {
    dir.join(format!("{n:08}.seg"))
}

fn create(dir: &Path, n: u32) -> anyhow::Result<File> {
    let path = segment_path(dir, n);
    OpenOptions::new()
        .read(true)
        .append(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))
}

impl Appender {
    /// Appends `bytes`; durable only after [`Appender::sync`].
    pub(super) fn append(&mut self, bytes: &[u8]) -> anyhow::Result<BlobRef> {
        if self.len > 0 && self.len + bytes.len() as u64 > SEGMENT_BYTES {
            let next = self.segment + 1;
            let file = create(&self.dir, next)?;
            let old = std::mem::replace(&mut self.file, file);
            self.unsynced.push(old);
            self.segment = next;
            self.len = 0;
            self.new_file = true;
        }
        let at = BlobRef {
            segment: self.segment,
            offset: self.len,
            len: u32::try_from(bytes.len()).context("a body over 4 GiB")?,
        };
        // `append` mode: every write lands at the end of the file. A write that fails part-way
        // (a full disk) is cut back off, so that the end stays where `self.len` says and the
        // next body's recorded offset is its real one.
        if let Err(e) = self.file.write_all(bytes) {
            if self.file.set_len(self.len).is_err() {
                // Not even that: then the next body starts after the partial bytes, at the
                // file's real end; no row ever points at them.
                self.len = self.file.metadata()?.len();
            }
            return Err(e.into());
        }
        self.len += bytes.len() as u64;
        Ok(at)
    }

    /// Makes everything appended so far durable (fdatasync; the directory too after a new
    /// file).
    pub(super) fn sync(&mut self) -> anyhow::Result<()> {
        for file in self.unsynced.drain(..) {
            file.sync_data()?;
        }
        self.file.sync_data()?;
        if self.new_file {
            File::open(&self.dir)?.sync_all()?;
            self.new_file = false;
        }
        Ok(())
    }
}

impl Reader {
    /// The body at `at`.
    pub(super) fn read(&self, at: BlobRef) -> std::io::Result<Vec<u8>> {
        let file = {
            let mut files = self
                .files
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match files.get(&at.segment) {
                Some(f) => Arc::clone(f),
                None => {
                    let f = Arc::new(File::open(segment_path(&self.dir, at.segment))?);
                    files.insert(at.segment, Arc::clone(&f));
                    f
                }
            }
        };
        let mut out = vec![0u8; at.len as usize];
        file.read_exact_at(&mut out, at.offset)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_read_back_roll_over_and_uncommitted_tails_are_cut() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, r) = open(dir.path(), |_| Ok(0)).unwrap();
        let a = w.append(b"first").unwrap();
        let b = w.append(&[7u8; 1000]).unwrap();
        w.sync().unwrap();
        assert_eq!(r.read(a).unwrap(), b"first");
        assert_eq!(r.read(b).unwrap(), vec![7u8; 1000]);
        assert_eq!((a.segment, a.offset, b.offset), (1, 0, 5));
        // Reopened with only `a` committed: `b`'s bytes are cut off and the next append
        // starts where `a` ended.
        drop(w);
        let (mut w, r) = open(dir.path(), |_| Ok(5)).unwrap();
        let c = w.append(b"third").unwrap();
        w.sync().unwrap();
        assert_eq!(c.offset, 5);
        assert_eq!(
            r.read(a).unwrap(),
            b"first",
            "earlier bodies are never overwritten"
        );
        assert_eq!(r.read(c).unwrap(), b"third");
        // A segment shorter than its rows need is an error, not silent loss.
        drop(w);
        assert!(open(dir.path(), |_| Ok(1 << 20)).is_err());
    }

    #[test]
    fn a_write_cut_short_by_a_full_disk_leaves_no_bytes_behind() {
        // A 1 MiB file system of its own (needs CAP_SYS_ADMIN, which this machine and CI have).
        let root = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(root.path())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("SKIPPED: cannot mount a small file system here");
            }
            return;
        }
        struct Unmount(PathBuf);
        impl Drop for Unmount {
            fn drop(&mut self) {
                let _ = std::process::Command::new("umount").arg(&self.0).status();
            }
        }
        let _unmount = Unmount(root.path().to_owned());
        let (mut w, r) = open(root.path(), |_| Ok(0)).unwrap();
        let first = w.append(&[1u8; 600 * 1024]).unwrap();
        // Only part of this one fits: the error comes after some bytes were written.
        assert!(w.append(&[2u8; 600 * 1024]).is_err());
        // The next body goes right after the first, and both read back as written.
        let third = w
            .append(&[3u8; 10 * 1024])
            .expect("the cut-off bytes were given back");
        w.sync().unwrap();
        assert_eq!(third.offset, first.offset + u64::from(first.len));
        assert_eq!(r.read(first).unwrap(), vec![1u8; 600 * 1024]);
        assert_eq!(r.read(third).unwrap(), vec![3u8; 10 * 1024]);
    }
}
