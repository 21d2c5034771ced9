//! Staff accounts from the command line: no default account, the first admin made by a
//! command, passwords refused when short, roles checked, every change audited.

use super::{desk, stderr, stdout};

#[test]
fn accounts_are_made_listed_and_disabled_by_command_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.sqlite3");
    // Signed in as admin1 (ignored until the desk has its first account).
    let run = |args: &[&str], password: Option<&str>| {
        let mut cmd = desk(&db);
        cmd.env("CLUEBOX_DESK_AS", "admin1")
            .env("CLUEBOX_DESK_PASSWORD", "a long admin passphrase");
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

    // Once accounts exist, the command line needs one, with its password and its role.
    let anonymous = desk(&db).args(["staff", "list"]).output().unwrap();
    assert!(
        !anonymous.status.success() && stderr(&anonymous).contains("--as LOGIN"),
        "{}",
        stderr(&anonymous)
    );
    let wrong = desk(&db)
        .env("CLUEBOX_DESK_AS", "admin1")
        .env("CLUEBOX_DESK_PASSWORD", "not the password")
        .args(["staff", "list"])
        .output()
        .unwrap();
    assert!(
        stderr(&wrong).contains("wrong login or password"),
        "{}",
        stderr(&wrong)
    );
    let audit = run(&["audit", "verify"], None);
    assert!(
        stderr(&audit).contains("admin role may not do this"),
        "an admin reads no audit log: {}",
        stderr(&audit)
    );
    assert!(stderr(&run(&["list"], None)).contains("reads no case"));
    let auditor = run(
        &["staff", "add", "shen", "--name", "沈", "--role", "auditor"],
        Some("an auditor's long password"),
    );
    assert!(auditor.status.success(), "{}", stderr(&auditor));
    let as_auditor = |args: &[&str]| {
        desk(&db)
            .env("CLUEBOX_DESK_AS", "shen")
            .env("CLUEBOX_DESK_PASSWORD", "an auditor's long password")
            .args(args)
            .output()
            .unwrap()
    };
    let refused = as_auditor(&["staff", "add", "x", "--name", "x", "--role", "admin"]);
    assert!(!refused.status.success(), "an auditor makes no account");
    let audit = as_auditor(&["audit", "verify"]);
    assert!(
        audit.status.success() && stdout(&audit).contains("intact"),
        "{}",
        stderr(&audit)
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let by: Vec<String> = conn
        .prepare("SELECT actor || ' ' || action FROM audit WHERE action LIKE 'staff.%' AND action NOT LIKE 'staff.sign_in%' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        by,
        [
            "tester staff.add",
            "admin1 staff.add",
            "admin1 staff.disable",
            "admin1 staff.add"
        ],
        "the first admin by the desk's operator, the rest under the admin's login"
    );
}
