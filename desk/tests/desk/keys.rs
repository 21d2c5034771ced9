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
