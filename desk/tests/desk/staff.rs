//! Staff accounts from the command line: no default account, the first admin made by a
//! command, passwords refused when short, roles checked, every change audited.

use super::{desk, stderr, stdout};

#[test]
fn accounts_are_made_listed_and_disabled_by_command_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.sqlite3");
    let run = |args: &[&str], password: Option<&str>| {
        let mut cmd = desk(&db);
        if let Some(p) = password {
            cmd.env("CLUEBOX_DESK_STAFF_PASSWORD", p);
        }
        cmd.args(args).output().unwrap()
    };
    // A fresh desk has no account at all.
    let listed = run(&["staff", "list"], None);
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert_eq!(stdout(&listed), "", "no default account");

    let admin = run(
        &[
            "staff",
            "add",
            "admin1",
            "--name",
            "王管理",
            "--role",
            "admin",
        ],
        Some("a long admin passphrase"),
    );
    assert!(admin.status.success(), "{}", stderr(&admin));
    let short = run(
        &["staff", "add", "li", "--name", "李", "--role", "leader"],
        Some("short"),
    );
    assert!(!short.status.success() && stderr(&short).contains("12 characters"));
    let no_role = run(
        &["staff", "add", "li", "--name", "李", "--role", "boss"],
        Some("a long enough password"),
    );
    assert!(!no_role.status.success() && stderr(&no_role).contains("no role"));
    let handler = run(
        &[
            "staff", "add", "zhang", "--name", "张", "--role", "handler", "--region", "440000",
        ],
        Some("another long password"),
    );
    assert!(handler.status.success(), "{}", stderr(&handler));

    let listed = stdout(&run(&["staff", "list"], None));
    assert!(
        listed.contains("admin1\tadmin") && listed.contains("zhang\thandler\t440000"),
        "{listed}"
    );
    assert!(
        !listed.contains("passphrase") && !listed.contains("argon2"),
        "{listed}"
    );

    assert!(run(&["staff", "disable", "zhang"], None).status.success());
    assert!(stdout(&run(&["staff", "list"], None)).contains("disabled"));
    assert!(!run(&["staff", "disable", "nobody"], None).status.success());

    let audit = run(&["audit", "verify"], None);
    assert!(
        audit.status.success() && stdout(&audit).contains("3 entries"),
        "two additions and a disabling: {}",
        stdout(&audit)
    );
}
