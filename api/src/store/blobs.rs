//! The bytes of evidence file uploads: one trait, [`BlobStore`], and its file-system backend
//! ([`FsBlobs`]: one file per upload, fsynced before a piece is acknowledged).
//!
//! Uploads are written strictly in order, a piece at a time, by one request at a time (the
//! caller holds the upload's lock), so the length of what is stored *is* the upload's offset:
//! nothing else records it. A piece that overlaps what is stored (a retry whose answer was
//! lost) must agree with it byte for byte; only its new part is appended. The trait speaks in
//! uploads and offsets, never paths, so an S3-compatible backend (multipart uploads, one part
//! per piece) can follow without touching a handler.
//!
//! Upload ids reach this module already checked ([`UploadId`]: 32 lowercase hex digits), so no
//! request can name a path.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use async_trait::async_trait;

/// An upload's id: 128 random bits as 32 lowercase hex digits (whoever knows it may write to an
/// unfinished upload, so it is never guessable).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UploadId(String);

impl UploadId {
    /// A new random id.
    pub fn random() -> Self {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).expect("the OS random source works");
        UploadId(hex::encode(bytes))
    }

    /// Checks an id from a request.
    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| UploadId(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a piece was not stored.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// No such upload.
    #[error("no such upload")]
    Unknown,
    /// The piece starts after the end of what is stored.
    #[error("the upload is at {stored} bytes; a piece cannot start at {offset}")]
    Gap {
        /// What is stored.
        stored: u64,
        /// Where the piece starts.
        offset: u64,
    },
    /// The piece disagrees with bytes already stored at its offset.
    #[error("the piece differs from the bytes already stored at its offset")]
    Differs,
    /// The disk is full (what was appended of the piece is cut off again).
    #[error("the disk is full")]
    Full,
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Where uploads' bytes live.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Creates an empty upload (durably: it exists after a crash).
    async fn create(&self, id: &UploadId) -> Result<(), BlobError>;

    /// How many bytes of the upload are stored; `None` if there is no such upload.
    async fn stored(&self, id: &UploadId) -> Result<Option<u64>, BlobError>;

    /// Writes `piece` at `offset` (at most the stored length; overlapping bytes must agree)
    /// and makes it durable; returns the new stored length.
    async fn write(&self, id: &UploadId, offset: u64, piece: Vec<u8>) -> Result<u64, BlobError>;

    /// Up to `max` bytes from `offset` (fewer only at the end).
    async fn read(&self, id: &UploadId, offset: u64, max: usize) -> Result<Vec<u8>, BlobError>;

    /// Removes an upload (no error if it is gone already).
    async fn delete(&self, id: &UploadId) -> Result<(), BlobError>;

    /// Every upload stored (to remove those the database no longer names).
    async fn list(&self) -> Result<Vec<UploadId>, BlobError>;
}

/// Uploads as files `<dir>/<id>` (mode 0600 in a 0700 directory), written with `pwrite` and
/// `fsync`.
pub struct FsBlobs {
    dir: PathBuf,
}

impl FsBlobs {
    /// Uses (and creates) `dir`.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(FsBlobs {
            dir: dir.to_owned(),
        })
    }

    fn path(&self, id: &UploadId) -> PathBuf {
        self.dir.join(id.as_str())
    }

    fn open_existing(&self, id: &UploadId, write: bool) -> Result<File, BlobError> {
        OpenOptions::new()
            .read(true)
            .write(write)
            .open(self.path(id))
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => BlobError::Unknown,
                _ => BlobError::Io(e),
            })
    }

    fn sync_dir(&self) -> std::io::Result<()> {
        File::open(&self.dir)?.sync_all()
    }
}

fn full(e: std::io::Error) -> BlobError {
    if e.kind() == std::io::ErrorKind::StorageFull {
        BlobError::Full
    } else {
        BlobError::Io(e)
    }
}

/// Runs blocking file work off the async threads. The work finishes even if the request that
/// asked for it is cancelled (a dropped future cannot leave a piece half-written).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
) -> Result<T, BlobError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| BlobError::Io(std::io::Error::other(e)))?
}

#[async_trait]
impl BlobStore for FsBlobs {
    async fn create(&self, id: &UploadId) -> Result<(), BlobError> {
        let path = self.path(id);
        let this = FsBlobs {
            dir: self.dir.clone(),
        };
        blocking(move || {
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                options.mode(0o600);
            }
            options
                .open(&path)
                .map_err(full)?
                .sync_all()
                .map_err(full)?;
            this.sync_dir().map_err(full)
        })
        .await
    }

    async fn stored(&self, id: &UploadId) -> Result<Option<u64>, BlobError> {
        let path = self.path(id);
        blocking(move || match std::fs::metadata(&path) {
            Ok(meta) => Ok(Some(meta.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        })
        .await
    }

    async fn write(&self, id: &UploadId, offset: u64, piece: Vec<u8>) -> Result<u64, BlobError> {
        let mut file = self.open_existing(id, true)?;
        blocking(move || {
            let stored = file.metadata()?.len();
            if offset > stored {
                return Err(BlobError::Gap { stored, offset });
            }
            // What overlaps must be what is there.
            let overlap = (stored - offset).min(piece.len() as u64) as usize;
            if overlap > 0 {
                let mut there = vec![0u8; overlap];
                file.seek(SeekFrom::Start(offset))?;
                file.read_exact(&mut there)?;
                if there != piece[..overlap] {
                    return Err(BlobError::Differs);
                }
            }
            let new = &piece[overlap..];
            if new.is_empty() {
                return Ok(stored);
            }
            file.seek(SeekFrom::Start(stored))?;
            let written = file.write_all(new).and_then(|()| file.sync_data());
            if let Err(e) = written {
                // Cut back to what was acknowledged, so the stored length stays the offset.
                let _ = file.set_len(stored);
                let _ = file.sync_data();
                return Err(full(e));
            }
            Ok(stored + new.len() as u64)
        })
        .await
    }

    async fn read(&self, id: &UploadId, offset: u64, max: usize) -> Result<Vec<u8>, BlobError> {
        let mut file = self.open_existing(id, false)?;
        blocking(move || {
            file.seek(SeekFrom::Start(offset))?;
            let mut out = Vec::with_capacity(max);
            file.take(max as u64).read_to_end(&mut out)?;
            Ok(out)
        })
        .await
    }

    async fn delete(&self, id: &UploadId) -> Result<(), BlobError> {
        let path = self.path(id);
        blocking(move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        })
        .await
    }

    async fn list(&self) -> Result<Vec<UploadId>, BlobError> {
        let dir = self.dir.clone();
        blocking(move || {
            let mut ids = Vec::new();
            for entry in std::fs::read_dir(&dir)? {
                if let Some(id) = entry?.file_name().to_str().and_then(UploadId::parse) {
                    ids.push(id);
                }
            }
            Ok(ids)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_lowercase_hex_digits_and_nothing_else() {
        let id = UploadId::random();
        assert_eq!(UploadId::parse(id.as_str()), Some(id));
        for bad in [
            "",
            "../../../../etc/passwd",
            "0123456789abcdef0123456789ABCDEF",
            "0123456789abcdef0123456789abcde",
            "0123456789abcdef0123456789abcdef0",
            "0123456789abcdef0123456789abcde/",
        ] {
            assert_eq!(UploadId::parse(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn pieces_append_in_order_retries_agree_and_gaps_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobs::open(&dir.path().join("uploads")).unwrap();
        let id = UploadId::random();
        assert_eq!(blobs.stored(&id).await.unwrap(), None);
        assert!(matches!(
            blobs.write(&id, 0, vec![1]).await,
            Err(BlobError::Unknown)
        ));
        blobs.create(&id).await.unwrap();
        assert_eq!(blobs.stored(&id).await.unwrap(), Some(0));
        assert_eq!(blobs.write(&id, 0, b"hello ".to_vec()).await.unwrap(), 6);
        // The same piece again (its answer was lost): nothing changes.
        assert_eq!(blobs.write(&id, 0, b"hello ".to_vec()).await.unwrap(), 6);
        // Overlapping and agreeing: only the new part is added.
        assert_eq!(blobs.write(&id, 3, b"lo world".to_vec()).await.unwrap(), 11);
        assert!(matches!(
            blobs.write(&id, 0, b"HELLO".to_vec()).await,
            Err(BlobError::Differs)
        ));
        assert!(matches!(
            blobs.write(&id, 12, b"!".to_vec()).await,
            Err(BlobError::Gap {
                stored: 11,
                offset: 12
            })
        ));
        assert_eq!(blobs.read(&id, 6, 100).await.unwrap(), b"world");
        assert_eq!(blobs.list().await.unwrap(), vec![id.clone()]);
        blobs.delete(&id).await.unwrap();
        blobs.delete(&id).await.unwrap();
        assert_eq!(blobs.stored(&id).await.unwrap(), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("uploads"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }
}
