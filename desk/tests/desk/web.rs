//! The web desk (`cluebox-desk serve`) over HTTP against a real API, real keys and real staff
//! accounts: sign-in, sessions, CSRF and origin checks, roles by URL, the hidden identity
//! section, and every action attributed to the signed-in account.

use std::path::{Path, PathBuf};

use super::{Api, api, desk, file_full, keygen, pull, stderr, stdout};

/// The web desk on a loopback port, over the desk database `db`, sealing with `key`; pulling
/// from `api` every second if given.
async fn web_desk(db: &Path, key: &Path, api: Option<&Api>) -> String {
    web_desk_with(db, key, api, cluebox_desk::web::Limits::default()).await
}

/// [`web_desk`] with other connection limits.
async fn web_desk_with(
    db: &Path,
    key: &Path,
    api: Option<&Api>,
    limits: cluebox_desk::web::Limits,
) -> String {
    let office =
        cluebox_desk::keyfile::read(key, |_| anyhow::bail!("the test key has no passphrase"))
            .unwrap();
    let desk = cluebox_desk::web::Desk::new(
        cluebox_desk::db::open(db).unwrap(),
        vec![office],
        cluebox_desk::Profiles::default(),
    )
    .unwrap();
    if let Some(api) = api {
        cluebox_desk::web::live::start(
            desk.clone(),
            cluebox_desk::web::live::Pulling {
                remote: cluebox_desk::remote::Remote::connect(&api.base, &Default::default())
                    .unwrap(),
                token: std::fs::read_to_string(&api.token).unwrap(),
                every: std::time::Duration::from_secs(1),
                db: db.to_owned(),
            },
        )
        .unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(cluebox_desk::web::serve_with(
        listener,
        desk,
        None,
        limits,
        std::future::pending(),
    ));
    base
}

/// A browser of one member of staff: its session cookie and the CSRF token of its pages.
struct Staffer {
    http: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The session cookie a response sets, if any.
fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("__Host-cluebox-desk="))
        .map(|v| v.split(';').next().unwrap_or("").to_owned())
}

/// Posts the sign-in form as the desk's own page would, with `cookie` if given.
async fn try_sign_in(
    base: &str,
    login: &str,
    password: &str,
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut req = client()
        .post(format!("{base}/sign-in"))
        .header("origin", base)
        .header("sec-fetch-site", "same-origin")
        .form(&[("login", login), ("password", password)]);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.unwrap()
}

impl Staffer {
    async fn sign_in(base: &str, login: &str) -> Staffer {
        let res = try_sign_in(base, login, &password(login), None).await;
        assert_eq!(res.status(), 303, "{login} signs in");
        let cookie = session_cookie(&res).expect("a session cookie");
        let set = res.headers()["set-cookie"].to_str().unwrap().to_owned();
        for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(set.contains(attribute), "{set}");
        }
        let mut me = Staffer {
            http: client(),
            base: base.to_owned(),
            cookie,
            csrf: String::new(),
        };
        let (_, page) = me.get("/").await;
        assert!(page.is_empty(), "/ redirects");
        me.csrf = me.token().await;
        me
    }

    /// The CSRF token from any page (the sign-out form carries it).
    async fn token(&self) -> String {
        let (status, page) = self.get("/audit").await;
        let page = if status == 200 {
            page
        } else {
            self.get("/staff").await.1 + &self.get("/cases").await.1
        };
        let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
        page[at..at + page[at..].find('"').unwrap()].to_owned()
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    /// Posts a form from the desk's own page, with the session's CSRF token.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let mut form = vec![("csrf", self.csrf.as_str())];
        form.extend_from_slice(fields);
        self.post_raw(path, &form, &self.base).await
    }

    /// Posts exactly `form`, claiming to come from `origin`.
    async fn post_raw(&self, path: &str, form: &[(&str, &str)], origin: &str) -> (u16, String) {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("origin", origin)
            .form(form)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }
}

fn password(login: &str) -> String {
    format!("{login} has a long passphrase")
}

fn add_staff(db: &Path, login: &str, role: &str, region: Option<&str>) {
    let mut args = vec!["staff", "add", login, "--name", login, "--role", role];
    if let Some(r) = region {
        args.extend(["--region", r]);
    }
    // As the admin, root (the desk's operator makes root itself, the first account).
    let out = desk(db)
        .env("CLUEBOX_DESK_AS", "root")
        .env("CLUEBOX_DESK_PASSWORD", password("root"))
        .env("CLUEBOX_DESK_STAFF_PASSWORD", password(login))
        .args(&args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

fn status_of(db: &Path, case: &str) -> String {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row("SELECT status FROM cases WHERE case_id = ?1", [case], |r| {
            r.get(0)
        })
        .unwrap()
}

/// The case ids in the desk, with the region each report names.
fn case_of_region(db: &Path, region: &str) -> String {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(
            "SELECT case_id FROM cases WHERE report_json LIKE ?1",
            [format!("%\"{region}\"%")],
            |r| r.get(0),
        )
        .unwrap()
}

/// The id of the move waiting for approval on `case`.
fn waiting_approval(db: &Path, case: &str) -> String {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(
            "SELECT id FROM approvals WHERE case_id = ?1 AND state = 'pending'",
            [case],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
        .to_string()
}

fn audited(db: &Path, actor: &str, action: &str, subject: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT detail FROM audit WHERE actor = ?1 AND action = ?2 AND subject = ?3")
        .unwrap();
    stmt.query_map([actor, action, subject], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

struct Office {
    _dir: tempfile::TempDir,
    api: Api,
    office: cluebox_protocol::keys::PublicKey,
    db: PathBuf,
    base: String,
    guangdong: String,
    beijing: String,
}

/// A desk with two pulled reports (a real-name one about Guangdong, an anonymous one about
/// Beijing), five accounts (intake zhao, handler gd for Guangdong, leader li, auditor shen,
/// admin root) and its web desk running.
async fn office() -> Office {
    let dir = tempfile::tempdir().unwrap();
    let (key, office) = keygen(dir.path(), "office.key", None);
    let api = api(&office).await;
    file_full(
        &api,
        &office,
        "赌场在村东头 <script>alert(1)</script>",
        &[
            ("identity", "real_name"),
            ("name", "张三丰"),
            ("mobile", "13800138000"),
        ],
        Some("440000"),
    )
    .await;
    file_full(
        &api,
        &office,
        "北京的事",
        &[("identity", "anonymous")],
        Some("110000"),
    )
    .await;
    let db = dir.path().join("desk.sqlite3");
    let pulled = pull(&db, key.to_str().unwrap(), &api).await;
    assert!(pulled.status.success(), "{}", stderr(&pulled));
    add_staff(&db, "root", "admin", None);
    add_staff(&db, "zhao", "intake", None);
    add_staff(&db, "gd", "handler", Some("440000"));
    add_staff(&db, "li", "leader", None);
    add_staff(&db, "shen", "auditor", None);
    let base = web_desk(&db, &key, Some(&api)).await;
    Office {
        api,
        office,
        guangdong: case_of_region(&db, "440000"),
        beijing: case_of_region(&db, "110000"),
        _dir: dir,
        db,
        base,
    }
}

#[tokio::test]
async fn sign_in_sessions_csrf_and_origin_hold() {
    let o = office().await;
    // Not signed in: every page sends to the sign-in page.
    let res = client()
        .get(format!("{}/cases", o.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/sign-in");
    let page = client()
        .get(format!("{}/sign-in", o.base))
        .send()
        .await
        .unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'")
            && csp.contains("script-src 'self';")
            && !csp.contains("unsafe"),
        "{csp}"
    );
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(page.text().await.unwrap().contains("登录案件台"));

    // A wrong password, and an unknown login, read the same.
    let wrong = try_sign_in(&o.base, "zhao", "not the password at all", None).await;
    assert_eq!(wrong.status(), 401);
    assert!(session_cookie(&wrong).is_none());
    assert!(wrong.text().await.unwrap().contains("登录名或密码不对"));
    let unknown = try_sign_in(&o.base, "nobody", "not the password at all", None).await;
    assert_eq!(unknown.status(), 401);
    // A sign-in posted from another site is refused before the password is looked at.
    let forged = client()
        .post(format!("{}/sign-in", o.base))
        .header("origin", "https://evil.example")
        .form(&[("login", "zhao"), ("password", &password("zhao"))])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    // Session fixation: a cookie planted before sign-in is replaced, and never signed in.
    let planted = "__Host-cluebox-desk=planted-by-an-attacker";
    let res = try_sign_in(&o.base, "zhao", &password("zhao"), Some(planted)).await;
    assert_eq!(res.status(), 303);
    let issued = session_cookie(&res).unwrap();
    assert_ne!(issued, planted);
    let attacker = Staffer {
        http: client(),
        base: o.base.clone(),
        cookie: planted.to_owned(),
        csrf: String::new(),
    };
    assert_eq!(attacker.get("/cases").await.0, 303);

    let zhao = Staffer::sign_in(&o.base, "zhao").await;
    let (status, list) = zhao.get("/cases").await;
    assert_eq!(status, 200);
    assert!(
        list.contains("<title>(2) 新举报"),
        "two new reports in the title"
    );
    // CSRF: a change without the token, with another token, or from another origin does
    // nothing.
    let accept = [("to", "accepted")];
    let path = format!("/cases/{}/move", o.guangdong);
    assert_eq!(zhao.post_raw(&path, &accept, &o.base).await.0, 400);
    let other = [("csrf", "a-token-from-another-session"), ("to", "accepted")];
    assert_eq!(zhao.post_raw(&path, &other, &o.base).await.0, 403);
    let mut forged = vec![("csrf", zhao.csrf.as_str())];
    forged.extend_from_slice(&accept);
    assert_eq!(
        zhao.post_raw(&path, &forged, "https://evil.example")
            .await
            .0,
        403
    );
    assert_eq!(status_of(&o.db, &o.guangdong), "received");
    // With both, it is done, and attributed to the account.
    assert_eq!(zhao.post(&path, &accept).await.0, 303);
    assert_eq!(status_of(&o.db, &o.guangdong), "accepted");
    assert_eq!(
        audited(&o.db, "zhao", "transition", &o.guangdong),
        ["received -> accepted"]
    );

    // The language switch.
    let en = Staffer {
        cookie: format!("{}; cluebox-desk-lang=en", zhao.cookie),
        http: client(),
        base: o.base.clone(),
        csrf: String::new(),
    };
    assert!(en.get("/cases?show=all").await.1.contains("All cases"));

    // Signing out ends the session on the server, not only in the browser.
    assert_eq!(zhao.post("/sign-out", &[]).await.0, 303);
    assert_eq!(zhao.get("/cases").await.0, 303);

    // Disabling an account signs it out at once.
    let gd = Staffer::sign_in(&o.base, "gd").await;
    assert_eq!(gd.get("/cases").await.0, 200);
    let out = desk(&o.db)
        .env("CLUEBOX_DESK_AS", "root")
        .env("CLUEBOX_DESK_PASSWORD", password("root"))
        .args(["staff", "disable", "gd"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(gd.get("/cases").await.0, 303);
}

#[tokio::test]
async fn each_role_sees_and_does_only_its_own_work() {
    let o = office().await;
    let (gd_case, bj_case) = (o.guangdong.as_str(), o.beijing.as_str());
    let case = |id: &str| format!("/cases/{id}");
    let mv = |id: &str| format!("/cases/{id}/move");

    // Intake: reads both, the real name hidden; accepts; cannot assign.
    let zhao = Staffer::sign_in(&o.base, "zhao").await;
    let (status, page) = zhao.get(&case(gd_case)).await;
    assert_eq!(status, 200);
    assert!(!page.contains("张三丰") && !page.contains("13800138000"));
    assert!(page.contains("身份信息已隐藏"));
    assert!(
        page.contains("&lt;script&gt;") && !page.contains("<script>"),
        "reporter text is escaped"
    );
    assert_eq!(
        page.matches("<script").count(),
        page.matches("<script src=\"/desk.js\" defer>").count(),
        "no inline script"
    );
    assert!(page.contains("不清楚"), "a blank reads as unclear");
    // Showing the identity needs a reason, and is audited with it.
    let reveal = format!("/cases/{gd_case}/identity");
    let (status, page) = zhao.post(&reveal, &[("reason", " ")]).await;
    assert_eq!(status, 400);
    assert!(!page.contains("张三丰"));
    let (status, page) = zhao.post(&reveal, &[("reason", "回访前核对电话")]).await;
    assert_eq!(status, 200);
    assert!(page.contains("张三丰") && page.contains("13800138000"));
    assert_eq!(
        audited(&o.db, "zhao", "identity.shown", gd_case),
        ["回访前核对电话"]
    );
    assert_eq!(zhao.post(&mv(gd_case), &[("to", "accepted")]).await.0, 303);
    // A step the procedure does not allow is refused with a sentence.
    let (status, page) = zhao.post(&mv(bj_case), &[("to", "archived")]).await;
    assert_eq!(status, 400);
    assert!(page.contains("不能进入"), "{page}");
    // 12337: intake proposes the assignment (批办); a leader, and only a leader, approves it.
    let li = Staffer::sign_in(&o.base, "li").await;
    let (status, page) = li.post(&mv(gd_case), &[("to", "assigned")]).await;
    assert_eq!(status, 400);
    assert!(page.contains("承办单位"));
    let assign = [("to", "assigned"), ("unit", "天河区扫黑办")];
    assert_eq!(zhao.post(&mv(gd_case), &assign).await.0, 303);
    assert_eq!(
        status_of(&o.db, gd_case),
        "accepted",
        "waiting for approval"
    );
    let (_, page) = li.get(&case(gd_case)).await;
    assert!(page.contains("待审批") && page.contains("天河区扫黑办") && page.contains("批准"));
    let approval = waiting_approval(&o.db, gd_case);
    let approve = [("approval", approval.as_str()), ("decision", "approve")];
    let decide = format!("/cases/{gd_case}/decide");
    assert_eq!(
        zhao.post(&decide, &approve).await.0,
        403,
        "not the proposer"
    );
    let gd = Staffer::sign_in(&o.base, "gd").await;
    assert_eq!(gd.post(&decide, &approve).await.0, 403, "not a handler");
    assert_eq!(li.post(&decide, &approve).await.0, 303);
    assert_eq!(status_of(&o.db, gd_case), "assigned");
    assert_eq!(li.post(&decide, &approve).await.0, 409, "decided once");

    // Handler of Guangdong: Beijing's case does not exist for them, by any URL.
    let (_, list) = gd.get("/cases?show=all").await;
    assert!(list.contains(&case(gd_case)) && !list.contains(&case(bj_case)));
    assert_eq!(gd.get(&case(bj_case)).await.0, 404);
    assert_eq!(gd.post(&mv(bj_case), &[("to", "accepted")]).await.0, 404);
    let reply = [("text", "已收到，正在核查。")];
    assert_eq!(
        gd.post(&format!("/cases/{bj_case}/reply"), &reply).await.0,
        404
    );
    assert_eq!(status_of(&o.db, bj_case), "received");
    assert_eq!(gd.get("/cases/no-such-case").await.0, 404);
    assert_eq!(gd.get("/audit").await.0, 403);
    // Their own case: verifies and replies; the reply is sealed and queued for the reporter.
    assert_eq!(gd.post(&mv(gd_case), &[("to", "verifying")]).await.0, 303);
    assert_eq!(
        gd.post(&format!("/cases/{gd_case}/reply"), &reply).await.0,
        303
    );
    let queued: i64 = rusqlite::Connection::open(&o.db)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM outbox WHERE case_id = ?1 AND kind = 'reply'",
            [gd_case],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(queued, 1);
    assert_eq!(audited(&o.db, "gd", "reply", gd_case).len(), 1);

    // Auditor: reads everything and the audit log, changes nothing.
    let shen = Staffer::sign_in(&o.base, "shen").await;
    let (status, page) = shen.get(&case(gd_case)).await;
    assert_eq!(status, 200);
    assert!(!page.contains("/move\"") && !page.contains("/reply\""));
    let conclude = [("to", "concluded"), ("result", "属实")];
    assert_eq!(shen.post(&mv(gd_case), &conclude).await.0, 403);
    assert_eq!(
        shen.post(&format!("/cases/{gd_case}/reply"), &reply)
            .await
            .0,
        403
    );
    let (status, log) = shen.get("/audit").await;
    assert_eq!(status, 200);
    assert!(log.contains("哈希链完整"), "the chain verifies");
    assert!(log.contains("identity.shown") && log.contains("回访前核对电话"));
    assert_eq!(status_of(&o.db, gd_case), "verifying");

    // Statistics count only what the reader may see; the sample is drawn by a leader.
    let (status, stats) = gd.get("/stats").await;
    assert_eq!(status, 200);
    assert!(
        stats.contains("<svg") && stats.contains("广东省") && !stats.contains("北京市"),
        "{stats}"
    );
    let (_, stats) = li.get("/stats").await;
    assert!(stats.contains("广东省") && stats.contains("北京市"));
    let month = cluebox_desk::cases::day(cluebox_desk::now())[..7].to_owned();
    let draw = [("month", month.as_str()), ("count", "5")];
    assert_eq!(zhao.post("/sample", &draw).await.0, 403);
    assert_eq!(
        li.post("/sample", &[("month", "2026-13"), ("count", "5")])
            .await
            .0,
        400
    );
    assert_eq!(li.post("/sample", &draw).await.0, 303);
    let (status, page) = zhao.get("/sample").await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("{month} · ")) && page.contains("seed "),
        "{page}"
    );
    assert_eq!(audited(&o.db, "li", "sample", &month).len(), 1);

    // Admin: accounts only, no case content.
    let root = Staffer::sign_in(&o.base, "root").await;
    assert_eq!(root.get("/cases").await.0, 403);
    let (status, page) = root.get(&case(gd_case)).await;
    assert_eq!(status, 403);
    assert!(!page.contains("赌场"));
    assert_eq!(root.get("/audit").await.0, 403);
    assert_eq!(root.get("/stats").await.0, 403);
    let (status, accounts) = root.get("/staff").await;
    assert_eq!(status, 200);
    assert!(accounts.contains("zhao") && accounts.contains("承办"));
    assert!(!accounts.contains("argon2"));
    // Accounts are made, re-passworded and disabled by an admin in the browser, and audited.
    let newbie = [
        ("login", "xin"),
        ("name", "新同事"),
        ("role", "handler"),
        ("regions", "440000"),
        ("password", "xin has a long passphrase"),
    ];
    assert_eq!(
        li.post("/staff", &newbie).await.0,
        403,
        "a leader makes no account"
    );
    let mut short = newbie.to_vec();
    short[4] = ("password", "short");
    let (status, page) = root.post("/staff", &short).await;
    assert_eq!(status, 400);
    assert!(page.contains("12 characters"), "{page}");
    let mut no_region = newbie.to_vec();
    no_region[3] = ("regions", "");
    assert_eq!(root.post("/staff", &no_region).await.0, 400);
    assert_eq!(root.post("/staff", &newbie).await.0, 303);
    assert_eq!(
        root.post("/staff", &newbie).await.0,
        400,
        "the login is taken"
    );
    let xin = Staffer::sign_in(&o.base, "xin").await;
    assert_eq!(xin.get(&case(gd_case)).await.0, 200);
    let reset = [("password", "xin's brand new passphrase")];
    assert_eq!(root.post("/staff/xin/password", &reset).await.0, 303);
    assert_eq!(
        try_sign_in(&o.base, "xin", &password("xin"), None)
            .await
            .status(),
        401,
        "the old password no longer works"
    );
    assert_eq!(root.post("/staff/xin/disable", &[]).await.0, 303);
    assert_eq!(xin.get(&case(gd_case)).await.0, 303, "signed out at once");
    assert_eq!(root.post("/staff/root/disable", &[]).await.0, 400);
    assert_eq!(audited(&o.db, "root", "staff.add", "xin").len(), 1);
    assert_eq!(audited(&o.db, "root", "staff.disable", "xin").len(), 1);
}

/// Reads server-sent events until one says `count` is `want`.
async fn count_reaches(events: &mut reqwest::Response, seen: &mut String, want: usize) {
    let wanted = format!("event: count\ndata: {want}\n");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while !seen.contains(&wanted) {
        let chunk = tokio::time::timeout_at(deadline, events.chunk())
            .await
            .unwrap_or_else(|_| panic!("no count of {want} within 20 s: {seen}"))
            .unwrap()
            .expect("the event stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn new_reports_arrive_on_their_own_and_open_pages_are_told() {
    let o = office().await;
    let zhao = Staffer::sign_in(&o.base, "zhao").await;
    let gd = Staffer::sign_in(&o.base, "gd").await;
    let listen = |who: &Staffer| {
        who.http
            .get(format!("{}/events", o.base))
            .header("cookie", &who.cookie)
            .send()
    };
    let (mut zhao_events, mut gd_events) =
        (listen(&zhao).await.unwrap(), listen(&gd).await.unwrap());
    assert_eq!(zhao_events.headers()["content-type"], "text/event-stream");
    let (mut zhao_seen, mut gd_seen) = (String::new(), String::new());
    count_reaches(&mut zhao_events, &mut zhao_seen, 2).await;
    count_reaches(&mut gd_events, &mut gd_seen, 1).await;

    // A reporter files about Guangdong: nobody runs pull; the scheduled pull brings it in and
    // both pages hear of it (the handler counts only their region's).
    file_full(
        &o.api,
        &o.office,
        "又一个赌场",
        &[("identity", "anonymous")],
        Some("440000"),
    )
    .await;
    count_reaches(&mut zhao_events, &mut zhao_seen, 3).await;
    count_reaches(&mut gd_events, &mut gd_seen, 2).await;
    let (_, list) = zhao.get("/cases?show=new").await;
    assert!(list.contains("<title>(3) 新举报"));
    assert!(list.contains("data-live=\"new\"") && list.contains("src=\"/desk.js\""));

    // Accepting one tells the others too; and the status letter goes out by the same schedule.
    assert_eq!(
        zhao.post(&format!("/cases/{}/move", o.beijing), &[("to", "accepted")])
            .await
            .0,
        303
    );
    count_reaches(&mut zhao_events, &mut zhao_seen, 2).await;
    let pushed = async {
        for _ in 0..100 {
            let unsent: i64 = rusqlite::Connection::open(&o.db)
                .unwrap()
                .query_row(
                    "SELECT count(*) FROM outbox WHERE pushed_at IS NULL",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            if unsent == 0 {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        false
    };
    assert!(pushed.await, "the status letter was pushed by the schedule");
    // A signed-out session's stream ends.
    assert_eq!(zhao.post("/sign-out", &[]).await.0, 303);
    assert_eq!(listen(&zhao).await.unwrap().status(), 303);
}

#[tokio::test]
async fn conclusions_are_verified_twice_and_feedback_needs_the_reporter_told() {
    let o = office().await;
    let gd_case = o.guangdong.as_str();
    let mv = format!("/cases/{gd_case}/move");
    let decide = format!("/cases/{gd_case}/decide");
    add_staff(&o.db, "gd2", "handler", Some("440000"));
    let (zhao, li, gd) = (
        Staffer::sign_in(&o.base, "zhao").await,
        Staffer::sign_in(&o.base, "li").await,
        Staffer::sign_in(&o.base, "gd").await,
    );
    assert_eq!(zhao.post(&mv, &[("to", "accepted")]).await.0, 303);
    // A leader's own assignment is its own approval.
    let assign = [("to", "assigned"), ("unit", "天河区扫黑办")];
    assert_eq!(li.post(&mv, &assign).await.0, 303);
    assert_eq!(status_of(&o.db, gd_case), "assigned");
    assert_eq!(gd.post(&mv, &[("to", "verifying")]).await.0, 303);
    // A reply before the conclusion does not count as feedback on it.
    let reply = format!("/cases/{gd_case}/reply");
    assert_eq!(gd.post(&reply, &[("text", "正在核查。")]).await.0, 303);

    // Double verification: the handler's conclusion waits for a second account.
    let conclude = [("to", "concluded"), ("result", "线索属实，已立案")];
    assert_eq!(gd.post(&mv, &conclude).await.0, 303);
    assert_eq!(status_of(&o.db, gd_case), "verifying");
    let approval = waiting_approval(&o.db, gd_case);
    let confirm = [("approval", approval.as_str()), ("decision", "approve")];
    assert_eq!(
        gd.post(&decide, &confirm).await.0,
        403,
        "not by its proposer"
    );
    // Nothing else moves while it waits.
    let (status, page) = gd.post(&mv, &[("to", "concluded"), ("result", "x")]).await;
    assert_eq!(status, 409, "{page}");
    // Refusing needs a reason; a refused proposal leaves the case where it was.
    let refuse = [("approval", approval.as_str()), ("decision", "refuse")];
    let gd2 = Staffer::sign_in(&o.base, "gd2").await;
    assert_eq!(gd2.post(&decide, &refuse).await.0, 400);
    let refuse = [
        ("approval", approval.as_str()),
        ("decision", "refuse"),
        ("reason", "证据不足，补充核查"),
    ];
    assert_eq!(gd2.post(&decide, &refuse).await.0, 303);
    assert_eq!(status_of(&o.db, gd_case), "verifying");
    assert_eq!(gd.post(&mv, &conclude).await.0, 303);
    let approval = waiting_approval(&o.db, gd_case);
    let confirm = [("approval", approval.as_str()), ("decision", "approve")];
    assert_eq!(gd2.post(&decide, &confirm).await.0, 303);
    assert_eq!(status_of(&o.db, gd_case), "concluded");
    assert_eq!(audited(&o.db, "gd2", "approval.approved", gd_case).len(), 1);
    assert_eq!(audited(&o.db, "gd2", "approval.refused", gd_case).len(), 1);

    // Feedback given needs the reporter told after the conclusion: a reply from a template.
    let (status, page) = gd.post(&mv, &[("to", "feedback_given")]).await;
    assert_eq!(status, 409);
    assert!(page.contains("feedback given needs a reply"), "{page}");
    let (_, page) = gd.get(&format!("/cases/{gd_case}?template=2")).await;
    assert!(page.contains(">经核查，您反映的问题</textarea>"), "{page}");
    // The composer offers the templates for the case's status: concluded, the result only.
    let offered: Vec<&str> = page
        .match_indices("?template=")
        .map(|(at, _)| &page[at + 10..at + 11])
        .collect();
    assert_eq!(offered, ["2"], "{page}");
    assert_eq!(
        gd.post(&reply, &[("text", "经核查，您反映的问题属实，已立案。")])
            .await
            .0,
        303
    );
    assert_eq!(gd.post(&mv, &[("to", "feedback_given")]).await.0, 303);
    // No template is for "feedback given": the composer offers them all.
    let (_, page) = gd.get(&format!("/cases/{gd_case}")).await;
    let offered: Vec<&str> = page
        .match_indices("?template=")
        .map(|(at, _)| &page[at + 10..at + 11])
        .collect();
    assert_eq!(offered, ["0", "1", "2"], "{page}");

    // A contact with the real-name reporter, then the follow-up visit and its outcome.
    let contact = format!("/cases/{gd_case}/contact");
    let bad_day = [("on", "yesterday"), ("what", "phone"), ("text", "已告知")];
    assert_eq!(gd.post(&contact, &bad_day).await.0, 400);
    let today = cluebox_desk::cases::day(cluebox_desk::now());
    let called = [
        ("on", today.as_str()),
        ("what", "phone"),
        ("text", "已电话告知结果"),
    ];
    assert_eq!(gd.post(&contact, &called).await.0, 303);
    let (status, _) = gd.post(&mv, &[("to", "visited")]).await;
    assert_eq!(status, 409, "visited needs the visit recorded");
    let visit = format!("/cases/{gd_case}/visit");
    let satisfied = [("on", today.as_str()), ("what", "satisfied"), ("text", "")];
    assert_eq!(gd.post(&visit, &satisfied).await.0, 303);
    assert_eq!(gd.post(&mv, &[("to", "visited")]).await.0, 303);
    let (_, page) = gd.get(&format!("/cases/{gd_case}")).await;
    assert!(
        page.contains("电话联系") && page.contains("回访：满意"),
        "{page}"
    );
    // An anonymous reporter cannot be "contacted" outside Cluebox.
    let bj_contact = format!("/cases/{}/contact", o.beijing);
    assert_eq!(zhao.post(&bj_contact, &called).await.0, 409);
}

#[tokio::test]
async fn the_command_line_follows_the_same_accounts_roles_and_approvals() {
    let o = office().await;
    let dir = o.db.parent().unwrap().to_owned();
    let key = dir.join("office.key");
    let as_ = |login: &str, args: &[&str]| {
        desk(&o.db)
            .env("CLUEBOX_DESK_AS", login)
            .env("CLUEBOX_DESK_PASSWORD", password(login))
            .arg("--key")
            .arg(&key)
            .args(args)
            .output()
            .unwrap()
    };
    let (gd_case, bj_case) = (o.guangdong.as_str(), o.beijing.as_str());
    // --actor no longer names anyone once accounts exist.
    let out = desk(&o.db)
        .arg("--key")
        .arg(&key)
        .args(["transition", gd_case, "--to", "accepted"])
        .output()
        .unwrap();
    assert!(stderr(&out).contains("--as LOGIN"), "{}", stderr(&out));
    // A handler of Guangdong: Beijing's case is no case; their own shows without the name.
    let out = as_("gd", &["show", bj_case]);
    assert!(stderr(&out).contains("no case"), "{}", stderr(&out));
    let out = as_("gd", &["list"]);
    assert!(
        stdout(&out).contains(cluebox_desk::cases::short(gd_case))
            && !stdout(&out).contains(cluebox_desk::cases::short(bj_case)),
        "{}",
        stdout(&out)
    );
    let out = as_("gd", &["transition", gd_case, "--to", "accepted"]);
    assert!(stderr(&out).contains("may not"), "{}", stderr(&out));
    // Intake accepts and proposes the assignment; the leader decides; all under their logins.
    assert!(
        as_("zhao", &["transition", gd_case, "--to", "accepted"])
            .status
            .success()
    );
    let out = as_(
        "zhao",
        &[
            "transition",
            gd_case,
            "--to",
            "assigned",
            "--unit",
            "天河区扫黑办",
        ],
    );
    assert!(
        stdout(&out).contains("waits for approval"),
        "{}",
        stderr(&out)
    );
    assert_eq!(status_of(&o.db, gd_case), "accepted");
    let approval = waiting_approval(&o.db, gd_case);
    let out = as_("zhao", &["decide", &approval]);
    assert!(stderr(&out).contains("may not"), "{}", stderr(&out));
    let out = as_("li", &["decide", &approval]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(status_of(&o.db, gd_case), "assigned");
    assert_eq!(audited(&o.db, "li", "approval.approved", gd_case).len(), 1);
    let out = as_("gd", &["show", gd_case, "--identity-reason", "回访"]);
    assert!(stdout(&out).contains("张三丰"), "{}", stderr(&out));
    assert_eq!(audited(&o.db, "gd", "identity.shown", gd_case), ["回访"]);
    let out = as_("root", &["show", gd_case]);
    assert!(!out.status.success() && !stdout(&out).contains("赌场"));
}

#[tokio::test]
async fn slow_and_surplus_connections_are_cut_and_the_desk_keeps_serving() {
    use std::time::Duration;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = keygen(dir.path(), "office.key", None);
    let office = cluebox_desk::keyfile::read(&key, |_| anyhow::bail!("no passphrase")).unwrap();
    let desk = cluebox_desk::web::Desk::new(
        cluebox_desk::db::open(&dir.path().join("desk.sqlite3")).unwrap(),
        vec![office],
        cluebox_desk::Profiles::default(),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = cluebox_desk::web::Limits {
        max_connections: 8,
        header_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    tokio::spawn(cluebox_desk::web::serve_with(
        listener,
        desk,
        None,
        limits,
        std::future::pending(),
    ));
    // Reads until the server closes the connection (or 6 s pass); what it sent.
    async fn until_closed(c: &mut tokio::net::TcpStream) -> Option<String> {
        let mut got = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(6), c.read_to_end(&mut got)).await;
        read.ok()
            .map(|_| String::from_utf8_lossy(&got).into_owned())
    }

    // Half a request head, then nothing: cut after the header timeout.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /sign-in HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(
        until_closed(&mut slow).await.is_some(),
        "a trickled head is cut"
    );
    // A body announced and never sent: 408 at the request deadline.
    let mut stalled = tokio::net::TcpStream::connect(addr).await.unwrap();
    stalled
        .write_all(
            b"POST /sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nlogin=",
        )
        .await
        .unwrap();
    let answer = until_closed(&mut stalled).await.expect("answered");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // Eight connections hold every slot; a ninth is closed at once, not queued.
    let mut idle = Vec::new();
    for _ in 0..8 {
        idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut surplus = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut byte = [0u8; 1];
    let closed = tokio::time::timeout(Duration::from_millis(800), surplus.read(&mut byte)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "over the cap is closed at once: {closed:?}"
    );
    // The idle ones are cut by the header timeout, and the desk serves again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let page = reqwest::get(format!("http://{addr}/sign-in"))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    drop(idle);
}

/// A desk with one pulled report carrying one evidence file, `name` holding `content`; the
/// accounts root (admin), zhao (intake) and gd (handler for Guangdong; the report names no
/// region); its web desk running with `limits`. The directory (kept alive), the database,
/// the web desk's address and the case id.
async fn desk_with_a_file(
    name: &str,
    content: &[u8],
    limits: cluebox_desk::web::Limits,
) -> (tempfile::TempDir, PathBuf, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let (key, office) = keygen(dir.path(), "office.key", None);
    let api = api(&office).await;
    let refs = vec![super::evidence::upload(&api, &office, name, content).await];
    super::evidence::file_with(&api, &office, &refs).await;
    let db = dir.path().join("desk.sqlite3");
    let pulled = pull(&db, key.to_str().unwrap(), &api).await;
    assert!(pulled.status.success(), "{}", stderr(&pulled));
    add_staff(&db, "root", "admin", None);
    add_staff(&db, "zhao", "intake", None);
    add_staff(&db, "gd", "handler", Some("440000"));
    let base = web_desk_with(&db, &key, None, limits).await;
    let case: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT case_id FROM cases", [], |r| r.get(0))
        .unwrap();
    (dir, db, base, case)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_files_download_to_readers_of_the_case_streamed_and_audited() {
    let photo: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let (_dir, db, base, case) =
        desk_with_a_file("现场 照片.jpg", &photo, Default::default()).await;
    let path = format!("/cases/{case}/files/1");

    // The case page links the file; the link downloads it, opened, whole, as an attachment.
    let zhao = Staffer::sign_in(&base, "zhao").await;
    let (status, page) = zhao.get(&format!("/cases/{case}")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("href=\"{path}\" download")),
        "{page}"
    );
    let download = |who: &Staffer, path: &str| {
        who.http
            .get(format!("{base}{path}"))
            .header("cookie", &who.cookie)
            .send()
    };
    let res = download(&zhao, &path).await.unwrap();
    assert_eq!(res.status(), 200);
    let header = |name: &str| res.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "application/octet-stream");
    assert_eq!(header("content-length"), "3000000");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(
        header("content-disposition"),
        "attachment; filename=\"evidence-1\"; \
         filename*=UTF-8''%E7%8E%B0%E5%9C%BA%20%E7%85%A7%E7%89%87.jpg"
    );
    assert!(
        res.bytes().await.unwrap() == photo,
        "the file as the reporter attached it"
    );
    assert_eq!(
        audited(&db, "zhao", "file.opened", &case),
        ["1: 现场 照片.jpg"]
    );

    // A browser that goes away after the first bytes stops the opening; the desk serves on.
    let mut res = download(&zhao, &path).await.unwrap();
    assert!(res.chunk().await.unwrap().is_some());
    drop(res);
    let again = download(&zhao, &path).await.unwrap().bytes().await.unwrap();
    assert!(again == photo);

    // No such file; another region's handler (404, as for no case); an admin (403); nobody
    // signed in (to the sign-in page). None of them is recorded as having opened it.
    for missing in ["/files/2", "/files/0", "/files/99999999999999999999"] {
        let res = download(&zhao, &format!("/cases/{case}{missing}"))
            .await
            .unwrap();
        assert!(
            res.status() == 404 || res.status() == 400,
            "{missing}: {}",
            res.status()
        );
    }
    let gd = Staffer::sign_in(&base, "gd").await;
    assert_eq!(download(&gd, &path).await.unwrap().status(), 404);
    let root = Staffer::sign_in(&base, "root").await;
    assert_eq!(download(&root, &path).await.unwrap().status(), 403);
    let res = client().get(format!("{base}{path}")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(audited(&db, "zhao", "file.opened", &case).len(), 3);
    assert!(audited(&db, "gd", "file.opened", &case).is_empty());
    assert!(audited(&db, "root", "file.opened", &case).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_whose_reader_stops_reading_is_cut_off() {
    // Larger than what the socket buffers and the channel hold between the desk and a reader
    // (about 4 MB here).
    let video: Vec<u8> = (0..16_000_000u32).map(|i| (i % 241) as u8).collect();
    let limits = cluebox_desk::web::Limits {
        stalled_download: std::time::Duration::from_secs(2),
        ..Default::default()
    };
    let (_dir, _db, base, case) = desk_with_a_file("录像.mp4", &video, limits).await;
    let zhao = Staffer::sign_in(&base, "zhao").await;
    let download = || {
        zhao.http
            .get(format!("{base}/cases/{case}/files/1"))
            .header("cookie", &zhao.cookie)
            .send()
    };
    // A reader that takes the first bytes and then nothing for longer than the limit gets the
    // rest of what was already sent, then the connection ends short of the file.
    let mut res = download().await.unwrap();
    let mut got = res.chunk().await.unwrap().map_or(0, |c| c.len());
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let rest = loop {
        match res.chunk().await {
            Ok(Some(c)) => got += c.len(),
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    assert!(
        rest.is_err() && got < video.len(),
        "cut off after {got} of {} bytes: {rest:?}",
        video.len()
    );
    // One that keeps reading gets it all.
    let whole = download().await.unwrap().bytes().await.unwrap();
    assert!(whole == video);
}
