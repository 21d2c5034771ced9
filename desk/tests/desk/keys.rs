//! Office keys: files, modes, passphrases.

use super::*;

#[test]
fn keygen_writes_a_private_file_and_prints_the_public_key() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let (path, pk) = keygen(dir.path(), "office.key", None);
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(&pk.to_string()) && text.contains("cbxsk1"));
    // Never overwritten.
    let out = desk(&dir.path().join("x"))
        .args(["keygen", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("must not exist"), "{}", stderr(&out));
    // Protected by a passphrase: no secret in the file.
    let (protected, _) = keygen(dir.path(), "protected.key", Some("correct horse"));
    let text = std::fs::read_to_string(&protected).unwrap();
    assert!(text.contains("cbxenc1:") && !text.contains("cbxsk1"));
}

#[test]
fn key_files_others_can_read_and_empty_passphrases_are_refused_and_the_database_is_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = keygen(dir.path(), "office.key", None);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let db = dir.path().join("desk-data/cases.sqlite3");
    let out = desk(&db)
        .arg("--key")
        .arg(&path)
        .args(["quarantine", "retry"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("may be read by others (mode 0644)"),
        "{}",
        stderr(&out)
    );
    // An empty passphrase protects nothing.
    let out = desk(&db)
        .env("CLUEBOX_DESK_PASSPHRASE", "   ")
        .args(["keygen", "--out"])
        .arg(dir.path().join("empty.key"))
        .output()
        .unwrap();
    assert!(
        !out.status.success() && stderr(&out).contains("empty passphrase"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("empty.key").exists());
    // No terminal and no variable: a protected key cannot be read, and says why.
    let (protected, _) = keygen(dir.path(), "protected.key", Some("correct horse"));
    let out = desk(&db)
        .arg("--key")
        .arg(&protected)
        .args(["quarantine", "retry"])
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("needs a passphrase"),
        "{}",
        stderr(&out)
    );
    // The database (plaintext reports) is made 0600 in a directory made 0700.
    let out = desk(&db).arg("list").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(db.parent().unwrap()), 0o700);
    for suffix in ["-wal", "-shm"] {
        let side = db.with_file_name(format!("cases.sqlite3{suffix}"));
        if side.exists() {
            assert_eq!(mode(&side), 0o600, "{suffix}");
        }
    }
}
