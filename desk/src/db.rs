//! The desk's own SQLite database (intranet only): sealed items as received, opened cases,
//! follow-ups, and the audit chain. Migrations are embedded and append-only.
//!
//! It holds opened reports in plaintext, so it is created readable by its owner only: the
//! file (and SQLite's `-wal` and `-shm` files, which copy its mode) 0600, in a directory made
//! 0700 when the desk creates it.

use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use anyhow::Context as _;
use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

/// Opens (creating and migrating) the database.
pub fn open(path: &Path) -> anyhow::Result<Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // Create the file 0600 before SQLite opens it (SQLite would use the umask, often 0644),
    // and tighten an existing one.
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create the desk database {}", path.display()))?;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot make {} private (mode 0600)", path.display()))?;
    }
    let mut conn = Connection::open(path)
        .with_context(|| format!("cannot open the desk database {}", path.display()))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Migrations::new(vec![
        M::up(include_str!("../migrations/0001_init.sql")),
        M::up(include_str!("../migrations/0002_workflow.sql")),
        M::up(include_str!("../migrations/0003_repeats.sql")),
        M::up(include_str!("../migrations/0004_extensions.sql")),
        M::up(include_str!("../migrations/0005_trust.sql")),
        M::up(include_str!("../migrations/0006_staff.sql")),
        M::up(include_str!("../migrations/0007_files.sql")),
        M::up(include_str!("../migrations/0008_sessions.sql")),
        M::up(include_str!("../migrations/0009_procedure.sql")),
    ])
    .to_latest(&mut conn)
    .context("cannot migrate the desk database")?;
    Ok(conn)
}
