//! What the fixture tests share.

/// exiftool (Debian's, an independent writer and reader) run with `args` on a copy of `bytes`
/// named `name`: the file as it left it, and what it printed.
pub(crate) fn exiftool(bytes: &[u8], name: &str, args: &[&str]) -> (Vec<u8>, String) {
    let dir = std::env::temp_dir().join(format!("cluebox-scrub-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("exiftool")
        .args(args)
        .arg(&path)
        .output()
        .expect("exiftool is not installed (./scripts/test.sh installs libimage-exiftool-perl)");
    assert!(out.status.success(), "exiftool {args:?}: {out:?}");
    (
        std::fs::read(&path).unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}
