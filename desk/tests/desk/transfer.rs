//! Pull, import and the audit log.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_opens_lists_and_shows_cases_and_is_safe_to_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let (key, office) = keygen(dir.path(), "office.key", Some("s3cret"));
    let api = api(&office).await;
    file(&api, &office, "村主任操纵选举").await;
    file(&api, &office, "强占土地").await;
    let db = dir.path().join("desk.sqlite3");
    let token = api.data.join("demo-desk-token");
    let pull = |passphrase: &'static str| {
        let (db, key, token, base) = (db.clone(), key.clone(), token.clone(), api.base.clone());
        tokio::task::spawn_blocking(move || {
            desk(&db)
                .env("CLUEBOX_DESK_PASSPHRASE", passphrase)
                .args(["pull", "--server", &base, "--token-file"])
                .arg(&token)
                .arg("--key")
                .arg(&key)
                .output()
                .unwrap()
        })
    };
    let out = pull("wrong").await.unwrap();
    assert!(
        !out.status.success() && stderr(&out).contains("wrong passphrase"),
        "{}",
        stderr(&out)
    );
    let out = pull("s3cret").await.unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "pulled 4 new items (0 already stored); opened 4"
    );
    let out = pull("s3cret").await.unwrap();
    assert_eq!(
        stdout(&out).trim(),
        "pulled 0 new items (0 already stored); opened 0"
    );
    // The API knows the desk has them.
    let inbox = api.state.store.inbox(0, 100).await.unwrap();
    assert!(inbox.iter().all(|i| i.acknowledged));

    let out = desk(&db).arg("list").output().unwrap();
    let list = stdout(&out);
    assert_eq!(list.lines().count(), 3, "{list}");
    assert!(
        list.contains("received") && list.contains("village_tyrant"),
        "{list}"
    );
    let case = &inbox[0].case_id;
    let out = desk(&db).args(["show", &case[..8]]).output().unwrap();
    let shown = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(shown.contains("主要问题: 村主任操纵选举"), "{shown}");
    assert!(
        shown.contains("造成的危害或涉及金额: 不清楚 (unclear)"),
        "{shown}"
    );
    assert!(
        shown.contains("“村霸”把持基层政权、操纵选举 [village_tyrant]"),
        "{shown}"
    );
    assert!(shown.contains("补充：村主任操纵选举"), "{shown}");
    let out = desk(&db).args(["show", "zzzzzzzz"]).output().unwrap();
    assert!(!out.status.success() && stderr(&out).contains("no case starts with"));

    let out = desk(&db).args(["audit", "verify"]).output().unwrap();
    assert!(
        stdout(&out).contains("audit log intact"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_a_bundle_twice_changes_nothing_and_the_audit_log_catches_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let (key, office) = keygen(dir.path(), "office.key", None);
    let api = api(&office).await;
    file(&api, &office, "air-gapped").await;
    let bundle = dir.path().join("bundle.json");
    cluebox_api::export::export(
        api.state.store.as_ref(),
        "12337",
        cluebox_api::store::Since::Seq(0),
        &bundle,
    )
    .await
    .unwrap();
    let db = dir.path().join("desk.sqlite3");
    let import = || {
        desk(&db)
            .arg("import")
            .arg(&bundle)
            .arg("--key")
            .arg(&key)
            .output()
            .unwrap()
    };
    assert_eq!(
        stdout(&import()).trim(),
        "imported 2 new items (0 already stored); opened 2"
    );
    assert_eq!(
        stdout(&import()).trim(),
        "imported 0 new items (2 already stored); opened 0"
    );
    let out = desk(&db)
        .arg("import")
        .arg(dir.path().join("office.key"))
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("not a Cluebox export bundle"),
        "{}",
        stderr(&out)
    );

    let verify = || desk(&db).args(["audit", "verify"]).output().unwrap();
    assert!(
        stdout(&verify()).contains("intact: 4 entries"),
        "{}",
        stdout(&verify())
    );
    // Each kind of tampering, on its own copy of the database.
    let tampered = |sql: &str| {
        let copy = dir.path().join(format!("tampered-{}.sqlite3", sql.len()));
        std::fs::copy(&db, &copy).unwrap();
        rusqlite::Connection::open(&copy)
            .unwrap()
            .execute_batch(sql)
            .unwrap();
        let out = desk(&copy).args(["audit", "verify"]).output().unwrap();
        assert!(!out.status.success(), "{sql}: not caught");
        stderr(&out)
    };
    let edited = tampered("UPDATE audit SET detail = 'nothing happened' WHERE id = 2;");
    assert!(
        edited.contains("entry 2") && edited.contains("was edited"),
        "{edited}"
    );
    let removed = tampered("DELETE FROM audit WHERE id = 3;");
    assert!(removed.contains("entry 3 is missing"), "{removed}");
    // An entry copied in at the end (a forged "import", say).
    let inserted = tampered(
        "INSERT INTO audit SELECT 5, at, actor, action, subject, detail, prev_hash, hash FROM audit WHERE id = 1;",
    );
    assert!(
        inserted.contains("entry 5 does not follow entry 4"),
        "{inserted}"
    );
    let reordered = tampered(
        "UPDATE audit SET id = 100 WHERE id = 2; UPDATE audit SET id = 2 WHERE id = 3; UPDATE audit SET id = 3 WHERE id = 100;",
    );
    assert!(reordered.contains("entry 2"), "{reordered}");
}
