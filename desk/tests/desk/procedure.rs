//! The handling procedure: transitions, replies, deadlines, delays, samples, repeats, intake.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transitions_and_replies_reach_the_reporter_and_bad_steps_are_refused() {
    use cluebox_protocol::wire::{Inquiry, InquiryRequest};
    let dir = tempfile::tempdir().unwrap();
    let (key, office) = keygen(dir.path(), "office.key", None);
    let api = api(&office).await;
    let code = file(&api, &office, "需要答复").await;
    let db = dir.path().join("desk.sqlite3");
    let token = api.token.clone();
    let run = |args: Vec<String>| {
        let (db, key, token, base) = (db.clone(), key.clone(), token.clone(), api.base.clone());
        tokio::task::spawn_blocking(move || {
            desk(&db)
                .env("CLUEBOX_DESK_SERVER", base)
                .env("CLUEBOX_DESK_TOKEN_FILE", token)
                .arg("--key")
                .arg(key)
                .args(args)
                .output()
                .unwrap()
        })
    };
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let out = run(args(&["pull"])).await.unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let case = api.state.store.inbox(0, 10).await.unwrap()[0]
        .case_id
        .clone();

    // Steps the procedure does not allow, with a sentence saying what is allowed.
    let out = run(args(&["transition", &case, "--to", "concluded"]))
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot become concluded")
            && stderr(&out).contains("accepted, not_accepted"),
        "{}",
        stderr(&out)
    );
    let out = run(args(&[
        "transition",
        &case,
        "--to",
        "not_accepted",
        "--reason",
        "out of scope",
    ]))
    .await
    .unwrap();
    assert!(
        stderr(&out).contains("not_accepted needs --department"),
        "{}",
        stderr(&out)
    );

    let out = run(args(&[
        "transition",
        &case,
        "--to",
        "accepted",
        "--note",
        "INTRANET-ONLY note",
    ]))
    .await
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("is now accepted; sent 1 change(s)"),
        "{}",
        stdout(&out)
    );
    let out = run(args(&[
        "reply",
        &case,
        "--text",
        "已受理，我们会在三十日内与您联系。",
    ]))
    .await
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    // The reporter sees the status and opens the reply with the code's key; the note never left.
    let keys = derive(&code, &FAST, "cn-12337").unwrap();
    let inquiry: Inquiry = reqwest::Client::new()
        .post(format!("{}/api/v1/inquiries", api.base))
        .json(&InquiryRequest {
            v: API_VERSION,
            lookup_token: keys.lookup_token.clone(),
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(inquiry.status, "accepted");
    assert!(inquiry.timeline[0].at > 0);
    // Sealed with the office key: it opens as the office's, numbered after the status letter.
    let opened = envelope::open_from(
        &[&keys.reply_secret],
        std::slice::from_ref(&office),
        &inquiry.replies[0].sealed.0,
    )
    .unwrap();
    assert_eq!(opened.origin, envelope::Origin::Sender(office.clone()));
    assert_eq!(
        Letter::from_bytes(&opened.body).unwrap(),
        Letter::Reply(Reply {
            seq: 2,
            text: "已受理，我们会在三十日内与您联系。".into()
        })
    );
    // The status change carries the same change, sealed by the office.
    let event = &inquiry.timeline[0];
    assert_eq!(event.at % 86_400, 0, "a whole day");
    let status = envelope::open_from(
        &[&keys.reply_secret],
        std::slice::from_ref(&office),
        &event.sealed.as_ref().unwrap().0,
    )
    .unwrap();
    assert_eq!(
        Letter::from_bytes(&status.body).unwrap(),
        Letter::Status(StatusNote {
            seq: 1,
            status: "accepted".into(),
            at: event.at
        })
    );
    let api_files = std::fs::read_dir(&api.data).unwrap().count();
    assert!(api_files > 0);
    for entry in std::fs::read_dir(&api.data).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(13).any(|w| w == b"INTRANET-ONLY"),
                "the note reached {}",
                path.display()
            );
        }
    }
    let out = desk(&db).args(["audit", "verify"]).output().unwrap();
    assert!(stdout(&out).contains("intact"), "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_sample_and_stats() {
    let dir = tempfile::tempdir().unwrap();
    let (key, office) = keygen(dir.path(), "office.key", None);
    let api = api(&office).await;
    file_as(&api, &office, "real name one", true).await;
    file_as(&api, &office, "anonymous one", false).await;
    let db = dir.path().join("desk.sqlite3");
    let out = pull(&db, &key.display().to_string(), &api).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let inbox = api.state.store.inbox(0, 10).await.unwrap();
    let (real, anon) = (inbox[0].case_id.clone(), inbox[2].case_id.clone());
    let run = |a: &[&str]| desk(&db).arg("--key").arg(&key).args(a).output().unwrap();

    // 12337: contact the reporter within 30 days of acceptance.
    assert!(
        run(&["transition", &anon, "--to", "accepted"])
            .status
            .success()
    );
    assert_eq!(
        stdout(&run(&["overdue"])).lines().count(),
        1,
        "nothing late yet"
    );
    let soon = stdout(&run(&["overdue", "--within", "31"]));
    assert!(
        soon.contains(cluebox_desk::cases::short(&anon)) && soon.contains("contact the reporter"),
        "{soon}"
    );
    // 12337 and 12389 decide acceptance within 3 days of receipt: the case not yet accepted
    // has that deadline, and no contact deadline yet.
    let real_line = soon
        .lines()
        .find(|l| l.contains(cluebox_desk::cases::short(&real)))
        .unwrap_or_default();
    assert!(
        real_line.contains("acknowledge") && !real_line.contains("contact"),
        "not accepted: acceptance due, no contact deadline yet: {soon}"
    );

    // Filters.
    let real_only = stdout(&run(&["list", "--real-name"]));
    assert!(
        real_only.contains(cluebox_desk::cases::short(&real))
            && !real_only.contains(cluebox_desk::cases::short(&anon)),
        "{real_only}"
    );
    let accepted = stdout(&run(&["list", "--status", "accepted"]));
    assert!(
        accepted.contains(cluebox_desk::cases::short(&anon))
            && !accepted.contains(cluebox_desk::cases::short(&real)),
        "{accepted}"
    );

    // Conclude the real-name case this month, then draw the follow-up sample twice with one seed.
    for (to, extra) in [
        ("accepted", vec![]),
        ("assigned", vec!["--unit", "县公安局"]),
        ("verifying", vec![]),
        ("concluded", vec!["--result", "属实，已立案"]),
    ] {
        let mut args = vec!["transition", real.as_str(), "--to", to];
        args.extend(extra);
        let out = run(&args);
        assert!(out.status.success(), "{to}: {}", stderr(&out));
    }
    let month = cluebox_desk::cases::date(cluebox_desk::now())[..7].to_owned();
    let first = stdout(&run(&[
        "sample", "--month", &month, "--count", "5", "--seed", "abc",
    ]));
    let again = stdout(&run(&[
        "sample", "--month", &month, "--count", "5", "--seed", "abc",
    ]));
    assert_eq!(first, again, "the same seed draws the same cases");
    assert!(
        first.starts_with("seed abc: 1 of 5 drawn") && first.contains(&real),
        "{first}"
    );
    assert!(
        stdout(&run(&["list", "--unit", "县公安局"])).contains(cluebox_desk::cases::short(&real))
    );
    let shown = stdout(&run(&["show", &real]));
    assert!(
        shown.contains("== History") && shown.contains("tester: verifying -> concluded"),
        "{shown}"
    );
    let out = run(&["sample", "--month", "2026-13", "--count", "1"]);
    assert!(stderr(&out).contains("YYYY-MM"), "{}", stderr(&out));

    let csv = stdout(&run(&["stats", "--csv"]));
    assert!(csv.starts_with("what,key,count\n"), "{csv}");
    assert!(
        csv.contains("status,concluded,1") && csv.contains("status,accepted,1"),
        "{csv}"
    );
    assert!(
        csv.contains("category,village_tyrant,2") && csv.contains("overdue,no,2"),
        "{csv}"
    );
    assert!(stdout(&run(&["audit", "verify"])).contains("intact"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_report_is_flagged_and_can_be_linked() {
    let dir = tempfile::tempdir().unwrap();
    let (key, office) = keygen(dir.path(), "office.key", None);
    let api = api(&office).await;
    file(&api, &office, "村主任王某操纵换届选举，威胁不投票的村民").await;
    file(
        &api,
        &office,
        "村主任王某操纵换届选举，还威胁不投票的村民！",
    )
    .await;
    file(&api, &office, "镇上的赌场天天开门").await;
    let db = dir.path().join("desk.sqlite3");
    let out = pull(&db, &key.display().to_string(), &api).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let inbox = api.state.store.inbox(0, 10).await.unwrap();
    let (first, second, third) = (
        inbox[0].case_id.clone(),
        inbox[2].case_id.clone(),
        inbox[4].case_id.clone(),
    );
    let show = |case: &str| stdout(&desk(&db).args(["show", case]).output().unwrap());
    let shown = show(&second);
    assert!(
        shown.contains("Possible repeats")
            && shown.contains(cluebox_desk::cases::short(&first))
            && shown.contains("similar description"),
        "{shown}"
    );
    assert!(
        !show(&third).contains("Possible repeats"),
        "unrelated reports are not flagged"
    );
    let out = desk(&db).args(["link", &second, &first]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(show(&second).contains("[linked]"));
    let out = desk(&db).args(["link", &second, &second]).output().unwrap();
    assert!(
        stderr(&out).contains("cannot be linked to itself"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&desk(&db).args(["audit", "verify"]).output().unwrap()).contains("intact"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_report_is_sealed_like_the_browsers_and_its_code_works() {
    use cluebox_protocol::wire::{Inquiry, InquiryRequest};
    let dir = tempfile::tempdir().unwrap();
    let (key, office) = keygen(dir.path(), "office.key", None);
    // The server asks for a proof of work, as a real one does: the desk solves it.
    let api = serve_api(&office, None, test_flood(14)).await;
    let db = dir.path().join("desk.sqlite3");
    let (db2, base, key2) = (db.clone(), api.base.clone(), key.clone());
    let out = tokio::task::spawn_blocking(move || {
        desk(&db2)
            .env("CLUEBOX_DESK_ACTOR", "接线员小李")
            .arg("--key")
            .arg(&key2)
            .args(["intake", "--server", &base, "--channel", "phone"])
            .args([
                "--field",
                "reported/name=某砂场老板",
                "--field",
                "situation/what=夜间非法采砂",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let code = text
        .lines()
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_owned();
    let code = InquiryCode::parse(&code).unwrap();
    // The caller's code finds the case (the API's Argon2 settings are the profile's).
    let profile = api.state.profile.profile.clone();
    let keys = derive(&code, &profile.argon2, &profile.argon2_salt).unwrap();
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/inquiries", api.base))
        .json(&InquiryRequest {
            v: API_VERSION,
            lookup_token: keys.lookup_token.clone(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Inquiry>().await.unwrap().status, "received");
    // It arrives with the next pull, channel and recorder noted, blanks unclear.
    let out = pull(&db, &key.display().to_string(), &api).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let case = api.state.store.inbox(0, 10).await.unwrap()[0]
        .case_id
        .clone();
    let shown = stdout(&desk(&db).args(["show", &case]).output().unwrap());
    assert!(
        shown.contains("某砂场老板")
            && shown.contains("channel: phone")
            && shown.contains("接线员小李"),
        "{shown}"
    );
    assert!(shown.contains("职务及工作单位: 不清楚"), "{shown}");
    // Bad input is refused before anything is filed.
    let out = desk(&db)
        .arg("--key")
        .arg(&key)
        .args(["intake", "--server", &api.base, "--channel", "fax"])
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("--channel takes one of"),
        "{}",
        stderr(&out)
    );
    let (db2, base, key2) = (db.clone(), api.base.clone(), key.clone());
    let out = tokio::task::spawn_blocking(move || {
        desk(&db2)
            .arg("--key")
            .arg(&key2)
            .args([
                "intake",
                "--server",
                &base,
                "--channel",
                "letter",
                "--field",
                "nope/x=1",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        stderr(&out).contains("has no field nope/x"),
        "{}",
        stderr(&out)
    );
    assert_eq!(api.state.store.inbox(0, 10).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_intake_refuses_a_server_that_names_other_keys() {
    // A seized server, or a man in the middle, serves a profile with its own key: intake must
    // not seal what staff type (the caller's identity included) to it.
    let dir = tempfile::tempdir().unwrap();
    let (key, office) = keygen(dir.path(), "office.key", None);
    let (_, impostor) = keygen(dir.path(), "impostor.key", None);
    let api = api(&impostor).await;
    let db = dir.path().join("desk.sqlite3");
    let intake = |extra: Vec<String>| {
        let (db, base, key) = (db.clone(), api.base.clone(), key.clone());
        tokio::task::spawn_blocking(move || {
            desk(&db)
                .arg("--key")
                .arg(&key)
                .args(["intake", "--server", &base, "--channel", "phone"])
                .args(["--field", "reporter/name=张三"])
                .args(extra)
                .output()
                .unwrap()
        })
    };
    let out = intake(vec![]).await.unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("disagrees")
            && err.contains(&format!("the server lists national key {impostor}"))
            && err.contains(&format!("this desk holds national key {office}")),
        "{err}"
    );
    // A regional key the server does not list is named too.
    let regional = cluebox_protocol::keys::SecretKey::generate().public_key();
    let out = intake(vec![format!("--region-key=440000={regional}")])
        .await
        .unwrap();
    assert!(
        stderr(&out).contains(&format!("this desk holds region 440000 key {regional}")),
        "{}",
        stderr(&out)
    );
    assert!(
        api.state.store.inbox(0, 10).await.unwrap().is_empty(),
        "nothing was filed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_keys_delays_and_a_separate_push() {
    use cluebox_protocol::wire::{Inquiry, InquiryRequest};
    let dir = tempfile::tempdir().unwrap();
    let (old_key, old) = keygen(dir.path(), "old.key", None);
    let (new_key, new) = keygen(dir.path(), "new.key", None);
    let api = api(&old).await;
    file(&api, &old, "sealed to the old key").await;
    let code = file(&api, &new, "sealed to the new key").await;
    let db = dir.path().join("desk.sqlite3");
    let token = api.token.clone();
    let keys = format!("{},{}", old_key.display(), new_key.display());
    let out = pull(&db, &keys, &api).await;
    assert_eq!(
        stdout(&out).trim(),
        "pulled 4 new items (0 already stored); opened 4; quarantined 0",
        "{}",
        stderr(&out)
    );
    let case = api.state.store.inbox(0, 10).await.unwrap()[2]
        .case_id
        .clone();
    let run = |a: &[&str]| {
        desk(&db)
            .arg("--key")
            .arg(&new_key)
            .args(a)
            .output()
            .unwrap()
    };

    // Refusals: an empty reply; a delay before acceptance or without a reason.
    assert!(stderr(&run(&["reply", &case, "--text", "  "])).contains("the reply is empty"));
    let out = run(&[
        "delay",
        &case,
        "--days",
        "15",
        "--reason",
        "r",
        "--message",
        "m",
    ]);
    assert!(
        stderr(&out).contains("only a case being handled can be delayed"),
        "{}",
        stderr(&out)
    );
    assert!(
        run(&["transition", &case, "--to", "accepted"])
            .status
            .success()
    );
    let out = run(&[
        "delay",
        &case,
        "--days",
        "15",
        "--reason",
        " ",
        "--message",
        "m",
    ]);
    assert!(stderr(&out).contains("needs --reason"), "{}", stderr(&out));
    // Without --server, changes wait in the queue; push sends them.
    let out = run(&[
        "delay",
        &case,
        "--days",
        "15",
        "--reason",
        "需要调取监控",
        "--message",
        "因需调取录像，办理期限延长 15 天。",
    ]);
    assert!(
        stdout(&out).contains("queued; run `cluebox-desk push`"),
        "{}",
        stdout(&out)
    );
    // 30 days to contact the reporter, plus 15: not due within 40 days, due within 46.
    assert!(
        !stdout(&run(&["overdue", "--within", "40"])).contains(cluebox_desk::cases::short(&case))
    );
    assert!(
        stdout(&run(&["overdue", "--within", "46"])).contains(cluebox_desk::cases::short(&case))
    );
    let (db3, base) = (db.clone(), api.base.clone());
    let out = tokio::task::spawn_blocking(move || {
        desk(&db3)
            .args(["push", "--server", &base, "--token-file"])
            .arg(&token)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        stdout(&out).trim(),
        "sent 2 change(s) to the API",
        "{}",
        stderr(&out)
    );
    // The reporter reads why it takes longer.
    let keys = derive(&code, &FAST, "cn-12337").unwrap();
    let inquiry: Inquiry = reqwest::Client::new()
        .post(format!("{}/api/v1/inquiries", api.base))
        .json(&InquiryRequest {
            v: API_VERSION,
            lookup_token: keys.lookup_token.clone(),
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(inquiry.status, "accepted");
    let told = envelope::open_from(
        &[&keys.reply_secret],
        &[old.clone(), new.clone()],
        &inquiry.replies[0].sealed.0,
    )
    .unwrap();
    assert_eq!(
        Letter::from_bytes(&told.body).unwrap(),
        Letter::Reply(Reply {
            seq: 2,
            text: "因需调取录像，办理期限延长 15 天。".into()
        })
    );
    assert!(stdout(&run(&["audit", "verify"])).contains("intact"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_needs_the_reporter_told_and_visits_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (key, office) = keygen(dir.path(), "office.key", None);
    let api = api(&office).await;
    file_as(&api, &office, "实名反映", true).await;
    let db = dir.path().join("desk.sqlite3");
    assert!(
        pull(&db, key.to_str().unwrap(), &api)
            .await
            .status
            .success()
    );
    let case = api.state.store.inbox(0, 10).await.unwrap()[0]
        .case_id
        .clone();
    let run = |args: &[&str]| {
        desk(&db)
            .arg("--key")
            .arg(&key)
            .args(args)
            .output()
            .unwrap()
    };
    for (to, extra) in [
        ("accepted", vec![]),
        ("assigned", vec!["--unit", "县公安局"]),
        ("verifying", vec![]),
        ("concluded", vec!["--result", "属实"]),
    ] {
        let mut args = vec!["transition", case.as_str(), "--to", to];
        args.extend(extra);
        let out = run(&args);
        assert!(out.status.success(), "{to}: {}", stderr(&out));
    }
    let out = run(&["transition", &case, "--to", "feedback_given"]);
    assert!(
        !out.status.success() && stderr(&out).contains("needs a reply"),
        "{}",
        stderr(&out)
    );
    let out = run(&["visit", &case, "--outcome", "satisfied"]);
    assert!(
        stderr(&out).contains("comes after feedback"),
        "{}",
        stderr(&out)
    );
    let out = run(&["contact", &case, "--channel", "fax", "--outcome", "x"]);
    assert!(stderr(&out).contains("phone, sms"), "{}", stderr(&out));
    let out = run(&[
        "contact",
        &case,
        "--channel",
        "phone",
        "--outcome",
        "已电话告知",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&["transition", &case, "--to", "feedback_given"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&["transition", &case, "--to", "visited"]);
    assert!(stderr(&out).contains("visit recorded"), "{}", stderr(&out));
    let out = run(&[
        "visit",
        &case,
        "--outcome",
        "not_satisfied",
        "--note",
        "嫌慢",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        run(&["transition", &case, "--to", "visited"])
            .status
            .success()
    );
    let stats = stdout(&run(&["stats"]));
    assert!(
        stats.contains("== visit") && stats.contains("not_satisfied"),
        "{stats}"
    );
    let shown = stdout(&run(&["audit", "verify"]));
    assert!(shown.contains("intact"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_name_is_shown_on_the_command_line_only_with_a_reason_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (key, office) = keygen(dir.path(), "office.key", None);
    let api = api(&office).await;
    file_full(
        &api,
        &office,
        "实名",
        &[("identity", "real_name"), ("name", "李四光")],
        None,
    )
    .await;
    let db = dir.path().join("desk.sqlite3");
    assert!(
        pull(&db, key.to_str().unwrap(), &api)
            .await
            .status
            .success()
    );
    let case = api.state.store.inbox(0, 10).await.unwrap()[0]
        .case_id
        .clone();
    let shown = stdout(&desk(&db).args(["show", &case]).output().unwrap());
    assert!(
        !shown.contains("李四光") && shown.contains("identity is hidden"),
        "{shown}"
    );
    let out = desk(&db)
        .args(["show", &case, "--identity-reason", " "])
        .output()
        .unwrap();
    assert!(!out.status.success() && !stdout(&out).contains("李四光"));
    let out = desk(&db)
        .args(["show", &case, "--identity-reason", "核实身份"])
        .output()
        .unwrap();
    assert!(stdout(&out).contains("李四光"), "{}", stderr(&out));
    let audit = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT actor || ' ' || detail FROM audit WHERE action = 'identity.shown'",
            [],
            |r| r.get::<_, String>(0),
        )
        .unwrap();
    assert_eq!(audit, "tester 核实身份");
}
