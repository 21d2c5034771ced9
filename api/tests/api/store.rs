//! The SQLite store on its own: what its migrations leave on disk, and its pool under abuse.

use cluebox_api::store::Store as _;
use cluebox_api::store::sqlite::SqliteStore;

use super::files_under;

/// A database as the first release wrote it: a case with its reporter's reply key and times to
/// the second.
fn first_release_db(path: &std::path::Path, reply_key: &[u8; 32]) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.execute_batch(include_str!("../../migrations/0001_init.sql"))
        .unwrap();
    conn.pragma_update(None, "user_version", 1).unwrap();
    conn.execute(
        "INSERT INTO cases (id, token_hash, reply_key, received_at) VALUES ('c1', ?1, ?2, 1790012345)",
        rusqlite::params![[5u8; 32].as_slice(), reply_key.as_slice()],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO inbox (case_id, kind, sealed, sealed_sha256, received_at, acked_at)
         VALUES ('c1', 'report', x'00', x'00', 1790012345, 1790012399)",
        [],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO outbox (case_id, kind, status, at) VALUES ('c1', 'status', 'accepted', 1790099999)",
        [],
    )
    .unwrap();
}

#[tokio::test]
async fn migrating_removes_reply_keys_from_the_file_and_rounds_times_to_the_day() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluebox.sqlite3");
    // A key with a recognisable pattern, easy to find in raw pages.
    let reply_key: [u8; 32] = std::array::from_fn(|i| 0xA0 ^ i as u8);
    first_release_db(&path, &reply_key);
    let in_files = || {
        files_under(dir.path()).into_iter().any(|f| {
            std::fs::read(&f)
                .unwrap()
                .windows(32)
                .any(|w| w == reply_key.as_slice())
        })
    };
    assert!(in_files(), "the check can fail: the old file holds the key");

    let store = SqliteStore::open(&path).unwrap();
    let items = store.inbox(0, 10).await.unwrap();
    assert_eq!(
        items[0].received_at, 1_789_948_800,
        "rounded down to midnight UTC"
    );
    drop(store);
    assert!(
        !in_files(),
        "the reply key is gone from the database file, its WAL and its free pages"
    );
    let conn = rusqlite::Connection::open(&path).unwrap();
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('cases')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(columns, ["id", "token_hash", "received_at"]);
    let times: Vec<i64> = conn
        .prepare(
            "SELECT received_at FROM cases UNION ALL SELECT received_at FROM inbox
             UNION ALL SELECT acked_at FROM inbox UNION ALL SELECT at FROM outbox",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(times.iter().all(|t| t % 86_400 == 0), "{times:?}");
}
