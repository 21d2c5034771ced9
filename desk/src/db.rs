//! The desk's own SQLite database (intranet only): sealed items as received, opened cases,
//! follow-ups, and the audit chain. Migrations are embedded and append-only.

use std::path::Path;

use anyhow::Context as _;
use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

/// Opens (creating and migrating) the database.
pub fn open(path: &Path) -> anyhow::Result<Connection> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
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
    ])
    .to_latest(&mut conn)
    .context("cannot migrate the desk database")?;
    Ok(conn)
}
