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
    let token = api.token.clone();
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
        "pulled 4 new items (0 already stored); opened 4; quarantined 0"
    );
    let out = pull("s3cret").await.unwrap();
    assert_eq!(
        stdout(&out).trim(),
        "pulled 0 new items (0 already stored); opened 0; quarantined 0"
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
    let out = desk(&db)
        .args(["show", cluebox_desk::cases::short(case)])
        .output()
        .unwrap();
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
    assert!(!out.status.success() && stderr(&out).contains("no case id starts or ends with"));

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
        api.state.blobs.as_ref(),
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
        "imported 2 new items (0 already stored) and 0 evidence files; opened 2; quarantined 0"
    );
    assert_eq!(
        stdout(&import()).trim(),
        "imported 0 new items (2 already stored) and 0 evidence files; opened 0; quarantined 0"
    );
    // A bundle from before evidence files (bare JSON, version 1) is still read.
    let v1 = cluebox_protocol::wire::Bundle {
        bundle_version: 1,
        profile: "12337".into(),
        exported_at: 0,
        entries: api
            .state
            .store
            .export(cluebox_api::store::Since::Seq(0))
            .await
            .unwrap(),
    };
    let old = dir.path().join("old-bundle.json");
    std::fs::write(&old, serde_json::to_vec(&v1).unwrap()).unwrap();
    let out = desk(&dir.path().join("old/desk.sqlite3"))
        .arg("import")
        .arg(&old)
        .arg("--key")
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out).trim(),
        "imported 2 new items (0 already stored) and 0 evidence files; opened 2; quarantined 0",
        "{}",
        stderr(&out)
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

/// Files `sealed` as a report under a fresh code; returns the code's keys.
async fn file_sealed(api: &Api, sealed: Vec<u8>) -> cluebox_protocol::derive::ReporterKeys {
    let keys = derive(&InquiryCode::generate(), &FAST, "cn-12337").unwrap();
    let body = SubmitReport {
        v: API_VERSION,
        sealed: Sealed(sealed),
        lookup_token: keys.lookup_token.clone(),
        idempotency_key: IdempotencyKey::generate(),
        pow: None,
        files: Vec::new(),
    };
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/reports", api.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_item_can_block_the_desk() {
    use cluebox_protocol::keys::SecretKey;
    let dir = tempfile::tempdir().unwrap();
    let (key, office) = keygen(dir.path(), "office.key", None);
    let (other_key, other) = keygen(dir.path(), "other.key", None);
    let api = api(&office).await;
    let to_office = std::slice::from_ref(&office);
    // Anyone can seal to the published office key. Each of these used to stop every later
    // pull (a reply, an unknown letter version) or vanish without a trace (damage).
    let reply = Letter::Reply(Reply {
        seq: 1,
        text: "posing as the office".into(),
    });
    file_sealed(
        &api,
        envelope::seal(to_office, &reply.to_bytes(), REPORT_LIMIT).unwrap(),
    )
    .await;
    let mut future_letter = Letter::FollowUp(Note { text: "x".into() }).to_bytes();
    future_letter[0] = 9;
    file_sealed(
        &api,
        envelope::seal(to_office, &future_letter, REPORT_LIMIT).unwrap(),
    )
    .await;
    let mut damaged = envelope::seal(to_office, b"\x02garbage", REPORT_LIMIT).unwrap();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    file_sealed(&api, damaged).await;
    let not_letter = envelope::seal(to_office, b"\x02\xff\xff", REPORT_LIMIT).unwrap();
    file_sealed(&api, not_letter).await;
    // Sealed to another office's key (or a key this desk has not loaded).
    let stranger = SecretKey::generate();
    let for_other = sample_report_for(&stranger.public_key());
    file_sealed(
        &api,
        envelope::seal(
            std::slice::from_ref(&other),
            &for_other.to_bytes(),
            REPORT_LIMIT,
        )
        .unwrap(),
    )
    .await;
    // A report whose reply key is the all-zero point (a reply sealed to it would be readable
    // by anyone, and used to panic the desk): version 2, Report, "12337", "zh-CN", 32 zeros,
    // no sections.
    let mut zero_key = vec![2u8, 0, 5];
    zero_key.extend_from_slice(b"12337");
    zero_key.push(5);
    zero_key.extend_from_slice(b"zh-CN");
    zero_key.extend_from_slice(&[0; 32]);
    zero_key.push(0);
    file_sealed(
        &api,
        envelope::seal(to_office, &zero_key, REPORT_LIMIT).unwrap(),
    )
    .await;
    // A follow-up on a real case, sealed by someone who does not hold its code.
    let code = file(&api, &office, "真正的举报").await;
    let keys = derive(&code, &FAST, "cn-12337").unwrap();
    let forger = SecretKey::generate();
    let forged = FollowUpRequest {
        v: API_VERSION,
        lookup_token: keys.lookup_token.clone(),
        sealed: Sealed(
            envelope::seal_from(
                &forger,
                to_office,
                &Letter::FollowUp(Note {
                    text: "伪造的补充".into(),
                })
                .to_bytes(),
                REPORT_LIMIT,
            )
            .unwrap(),
        ),
        idempotency_key: IdempotencyKey::generate(),
        pow: None,
        files: Vec::new(),
    };
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/inquiries/follow-ups", api.base))
        .json(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // And a good report after all of them.
    file(&api, &office, "后来的举报").await;

    let db = dir.path().join("desk.sqlite3");
    let out = pull(&db, &key.display().to_string(), &api).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "pulled 11 new items (0 already stored); opened 4; quarantined 7",
        "{}",
        stderr(&out)
    );
    let list = stdout(&desk(&db).arg("list").output().unwrap());
    assert!(list.lines().count() == 3, "both good reports open: {list}");
    let shown = stdout(&desk(&db).args(["quarantine", "list"]).output().unwrap());
    for reason in [
        "wrong_kind",
        "unsupported_version",
        "damaged",
        "not_addressed",
        "untrusted_sender",
    ] {
        assert!(shown.contains(reason), "{reason} in {shown}");
    }
    assert_eq!(shown.matches(" damaged: ").count(), 3, "{shown}");
    let case = api.state.store.inbox(0, 100).await.unwrap()[6]
        .case_id
        .clone();
    let case_shown = stdout(&desk(&db).args(["show", &case]).output().unwrap());
    assert!(
        case_shown.contains("补充：真正的举报") && !case_shown.contains("伪造的补充"),
        "the genuine follow-up opens, the forged one does not: {case_shown}"
    );
    // Not retried forever: the next pull leaves them alone.
    let out = pull(&db, &key.display().to_string(), &api).await;
    assert_eq!(
        stdout(&out).trim(),
        "pulled 0 new items (0 already stored); opened 0; quarantined 0"
    );
    // With the other office's key loaded, a retry opens what was addressed to it.
    let out = desk(&db)
        .arg("--key")
        .arg(format!("{},{}", key.display(), other_key.display()))
        .args(["quarantine", "retry", "--reason", "not_addressed"])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out).trim(),
        "tried 1 item(s) again: opened 1; quarantined 0",
        "{}",
        stderr(&out)
    );
    let audit = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM audit WHERE action = 'quarantine'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap();
    assert_eq!(audit, 8, "seven set aside, one release");
    assert!(stdout(&desk(&db).args(["audit", "verify"]).output().unwrap()).contains("intact"));
}

fn sample_report_for(reply_key: &PublicKey) -> Letter {
    Letter::Report(Report {
        profile: "12337".into(),
        locale: "zh-CN".into(),
        reply_key: reply_key.clone(),
        sections: vec![],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reporter_text_cannot_drive_a_terminal_or_a_spreadsheet() {
    let dir = tempfile::tempdir().unwrap();
    let (key, office) = keygen(dir.path(), "office.key", None);
    let api = api(&office).await;
    // An OSC 52 clipboard write, a screen clear, colours, a C1 CSI and a direction override.
    let attack = "说明\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[2J\u{1b}[31m红\u{9b}0m\u{202e}gpj.exe";
    file(&api, &office, attack).await;
    // A category answer that a spreadsheet would run, with a line break.
    let formula = "=HYPERLINK(\"http://evil.example\",\"点我\")\nnext,row";
    let letter = Letter::Report(Report {
        profile: "12337".into(),
        locale: "zh-CN".into(),
        reply_key: cluebox_protocol::keys::SecretKey::generate().public_key(),
        sections: vec![SectionAnswers {
            id: "situation".into(),
            fields: vec![FieldAnswer {
                id: "category".into(),
                answer: Answer::Given(formula.into()),
            }],
        }],
    });
    file_sealed(
        &api,
        envelope::seal(
            std::slice::from_ref(&office),
            &letter.to_bytes(),
            REPORT_LIMIT,
        )
        .unwrap(),
    )
    .await;
    let db = dir.path().join("desk.sqlite3");
    let out = pull(&db, &key.display().to_string(), &api).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let case = api.state.store.inbox(0, 10).await.unwrap()[0]
        .case_id
        .clone();
    let run = |a: &[&str]| desk(&db).args(a).output().unwrap().stdout;
    for output in [run(&["show", &case]), run(&["list"]), run(&["stats"])] {
        let text = String::from_utf8(output).unwrap();
        assert!(
            !text
                .chars()
                .any(|c| matches!(c, '\u{1b}' | '\u{7}' | '\u{9b}' | '\u{202e}')),
            "a control character reached the terminal: {text:?}"
        );
    }
    let shown = String::from_utf8(run(&["show", &case])).unwrap();
    assert!(
        shown.contains("\\u{1b}]52;c;ZXZpbA=="),
        "shown, visibly: {shown}"
    );
    let csv = String::from_utf8(run(&["stats", "--csv"])).unwrap();
    assert!(
        csv.contains(
            "category,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"点我\"\")\nnext,row\",1"
        ),
        "the formula is neutralised and the cell quoted: {csv}"
    );
    assert!(!csv.contains(",=HYPERLINK"), "{csv}");
}
