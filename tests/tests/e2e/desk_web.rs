//! The office's web desk in Chromium at 1366x768, against the real server, the real desk and
//! real keys: staff sign in; a report filed from a phone appears on the open new-reports page
//! without anyone reloading or pulling; intake accepts and proposes the assignment, a leader
//! approves it, a conclusion is confirmed by a second account, the reply starts from a
//! template; the reporter's status page shows each step and the reply. No page breaks the
//! Content-Security-Policy. Screenshots of each screen under target/e2e-screenshots/.

use std::time::Duration;

use cluebox_desk::staff::{self, Role, Staff};
use cluebox_desk::web::{self, live};
use cluebox_desk::{db, keyfile};
use cluebox_e2e::{Browser, Device, Portal};

use crate::accessibility::{axe_source, check};
use fantoccini::Locator;
use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};
use fantoccini::key::Key;

const PASSWORD: &str = "a long office passphrase";

/// Signs `login` in at the web desk, after signing out whoever was there.
async fn sign_in(browser: &Browser, desk: &str, login: &str) -> anyhow::Result<()> {
    browser.client.delete_all_cookies().await?;
    browser.client.goto(&format!("{desk}/sign-in")).await?;
    browser.wait("#login").await?.send_keys(login).await?;
    browser.wait("#password").await?.send_keys(PASSWORD).await?;
    browser.tap_and_load("form.signin button").await?;
    browser.wait(".me").await?;
    Ok(())
}

/// Submits the move form for `to` on the open case page, filling `fields` first.
async fn move_to(browser: &Browser, to: &str, fields: &[(&str, &str)]) -> anyhow::Result<()> {
    for (name, value) in fields {
        browser
            .wait(&format!("#move-{to} [name={name}]"))
            .await?
            .send_keys(value)
            .await?;
    }
    browser.tap_and_load(&format!("#move-{to} button")).await?;
    Ok(())
}

/// Presses and releases `key` on whatever has the focus.
async fn press(browser: &Browser, key: Key) -> anyhow::Result<()> {
    let value = char::from(key);
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value })
        .then(KeyAction::Up { value });
    browser.client.perform_actions(keys).await?;
    Ok(())
}

async fn status_is(browser: &Browser, label: &str) -> anyhow::Result<()> {
    browser
        .wait_js(&format!(
            "document.querySelector('h1 .status')?.textContent === '{label}'"
        ))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_office_handles_a_report_in_the_browser() -> anyhow::Result<()> {
    let portal = Portal::start("12337").await?;
    let dir = tempfile::tempdir()?;
    let db_path = dir.path().join("desk.sqlite3");
    let mut conn = db::open(&db_path)?;
    for (login, name, role, region) in [
        ("zhao", "赵受理", Role::Intake, None),
        ("li", "李领导", Role::Leader, None),
        ("wang", "王领导", Role::Leader, None),
        ("gd", "广东承办", Role::Handler, Some("440000")),
        ("shen", "沈审计", Role::Auditor, None),
        ("root", "系统管理员", Role::Admin, None),
    ] {
        let who = Staff {
            login: login.into(),
            name: name.into(),
            role,
            regions: region.into_iter().map(str::to_owned).collect(),
            disabled: false,
        };
        staff::add(&mut conn, "setup", &who, PASSWORD)?;
    }
    let office = keyfile::read(&portal.data.join("demo-office.key"), |_| {
        anyhow::bail!("the demo key has no passphrase")
    })?;
    let desk_state = web::Desk::new(conn, vec![office], cluebox_desk::Profiles::default())?;
    live::start(
        desk_state.clone(),
        live::Pulling {
            remote: cluebox_desk::remote::Remote::connect(&portal.base, &Default::default())?,
            token: portal.desk_token(),
            every: Duration::from_secs(1),
            db: db_path.clone(),
        },
    )?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    // `localhost`: Chromium keeps Secure (`__Host-`) cookies for it over plain HTTP.
    let desk = format!("http://localhost:{}", listener.local_addr()?.port());
    tokio::spawn(web::serve(
        listener,
        desk_state,
        None,
        std::future::pending(),
    ));

    // Intake signs in and leaves the new-reports page open. axe-core checks every screen.
    let axe = axe_source()?;
    let mut found = Vec::new();
    let office_browser = Browser::start(Device::Desktop, "desk-web").await?;
    let b = &office_browser;
    b.client.goto(&format!("{desk}/cases")).await?;
    b.wait("#login").await?;
    b.screenshot("sign-in").await?;
    check(b, &axe, "sign-in", &mut found).await?;
    sign_in(b, &desk, "zhao").await?;
    b.wait_js("location.pathname === '/cases' && document.querySelector('p.empty')")
        .await?;
    b.screenshot("no-reports").await?;
    // By keyboard: the first Tab stops at the skip link, shown while it has the focus; Enter
    // takes the focus past the menu to the page's content.
    press(b, Key::Tab).await?;
    b.wait_js(
        "document.activeElement?.className === 'skip' \
         && document.activeElement.getBoundingClientRect().left >= 0",
    )
    .await?;
    b.screenshot("skip-link").await?;
    press(b, Key::Enter).await?;
    b.wait_js("document.activeElement?.id === 'main'").await?;

    // A reporter files from a phone, under their real name.
    let phone = Browser::start(Device::Phone, "desk-web-reporter").await?;
    phone
        .client
        .goto(&format!("{}/report", portal.base))
        .await?;
    phone
        .wait_js("document.querySelector('.step:not([hidden]) h2')")
        .await?;
    phone.tap("#f-reporter-identity-1").await?;
    phone
        .wait("#f-reporter-name")
        .await?
        .send_keys("王实名")
        .await?;
    for step in 0..4 {
        if step == 2 {
            phone
                .wait("#f-situation-what")
                .await?
                .send_keys("DESK-WEB 村东头赌场")
                .await?;
        }
        phone.next_step().await?;
    }
    phone
        .wait_js("!document.getElementById('submit').hidden")
        .await?;
    phone.wait("#submit").await?.click().await?;
    let code = phone.text("#inquiry-code").await?;
    phone.close().await?;

    // It appears on the open page by itself: the title counts it, the list shows it.
    b.wait_js(
        "document.title.startsWith('(1) ') && document.querySelector('table.cases tbody tr a')",
    )
    .await?;
    b.screenshot("new-report-arrived").await?;
    check(b, &axe, "new reports", &mut found).await?;
    b.tap_and_load("table.cases tbody tr a").await?;
    b.wait("#move-accepted").await?;
    let page = b.visible_text().await?;
    anyhow::ensure!(
        page.contains("DESK-WEB 村东头赌场") && page.contains("不清楚"),
        "{page}"
    );
    b.screenshot("case").await?;
    check(b, &axe, "case", &mut found).await?;
    let case_url = b.client.current_url().await?.to_string();
    // The real name is hidden; the browser will not ask without a reason; with one it shows,
    // and the audit log has who, which case and why.
    anyhow::ensure!(!page.contains("王实名") && page.contains("身份信息已隐藏"));
    b.tap("form.reveal button").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    anyhow::ensure!(
        !b.visible_text().await?.contains("王实名"),
        "shown without a reason"
    );
    b.wait("form.reveal input[name=reason]")
        .await?
        .send_keys("回访前核对身份")
        .await?;
    b.tap_and_load("form.reveal button").await?;
    b.wait_js("document.body.textContent.includes('王实名')")
        .await?;
    b.screenshot("identity-shown-with-a-reason").await?;
    b.client.goto(&case_url).await?;
    b.wait("#move-accepted").await?;
    anyhow::ensure!(!b.visible_text().await?.contains("王实名"), "hidden again");
    // A page on another site posting to the desk (CSRF) changes nothing: the session cookie is
    // SameSite=Strict and the origin is not the desk's.
    let forged = format!(
        "data:text/html;charset=utf-8,<form method=post action='{case_url}/move'>\
         <input name=to value=not_accepted><input name=department value=x>\
         <input name=reason value=x><button id=go>go</button></form>"
    );
    b.client.goto(&forged).await?;
    b.tap_and_load("#go").await?;
    b.client.goto(&case_url).await?;
    status_is(b, "已接收").await?;
    move_to(b, "accepted", &[("note", "线索具体，予以受理")]).await?;
    status_is(b, "已受理").await?;
    // 12337: intake proposes the assignment; a leader approves it.
    move_to(b, "assigned", &[("unit", "城关镇派出所")]).await?;
    b.wait("#waiting").await?;
    b.screenshot("assignment-proposed").await?;
    sign_in(b, &desk, "li").await?;
    b.client.goto(&case_url).await?;
    b.wait("#waiting button[value=approve]").await?;
    b.screenshot("assignment-to-approve").await?;
    check(b, &axe, "approval", &mut found).await?;
    b.tap_and_load("#waiting button[value=approve]").await?;
    status_is(b, "已交办").await?;
    move_to(b, "verifying", &[]).await?;
    status_is(b, "核查中").await?;
    // The leader's conclusion waits for a second account (double verification).
    move_to(b, "concluded", &[("result", "线索属实，已立案侦查")]).await?;
    b.wait("#waiting").await?;
    anyhow::ensure!(
        b.client
            .find_all(Locator::Css("#waiting button"))
            .await?
            .is_empty(),
        "the proposer cannot confirm their own conclusion"
    );
    sign_in(b, &desk, "wang").await?;
    b.client.goto(&case_url).await?;
    b.tap_and_load("#waiting button[value=approve]").await?;
    status_is(b, "已办结").await?;
    // The reply starts from the profile's template.
    b.tap(".templates a:last-of-type").await?;
    b.wait_js("document.querySelector('#reply textarea').value.startsWith('经核查')")
        .await?;
    b.wait("#reply textarea")
        .await?
        .send_keys("属实，已立案侦查。DESK-WEB-REPLY")
        .await?;
    b.screenshot("reply-from-template").await?;
    check(b, &axe, "reply", &mut found).await?;
    b.tap_and_load("#reply button").await?;
    move_to(b, "feedback_given", &[]).await?;
    status_is(b, "已反馈").await?;
    b.screenshot("feedback-given").await?;
    b.client.goto(&format!("{desk}/cases?show=due")).await?;
    b.wait("main h1").await?;
    b.screenshot("deadlines").await?;
    check(b, &axe, "deadlines", &mut found).await?;
    b.client.goto(&format!("{desk}/stats")).await?;
    b.wait("svg.chart").await?;
    b.screenshot("statistics").await?;
    check(b, &axe, "statistics", &mut found).await?;
    b.client.goto(&format!("{desk}/sample")).await?;
    b.tap_and_load("form.draw button").await?;
    b.wait("main section h2").await?;
    b.screenshot("sample").await?;
    check(b, &axe, "sample", &mut found).await?;
    b.client
        .goto(&format!("{desk}/lang/en?back=/stats"))
        .await?;
    b.wait_js(
        "document.documentElement.lang === 'en' && document.body.textContent.includes('By status')",
    )
    .await?;
    b.screenshot("statistics-en").await?;
    check(b, &axe, "statistics in English", &mut found).await?;
    b.client
        .goto(&format!("{desk}/lang/zh?back=/audit"))
        .await?;
    b.wait_js("document.querySelector('p.ok')?.textContent.includes('哈希链完整')")
        .await?;
    b.screenshot("audit").await?;
    let log = b.visible_text().await?;
    anyhow::ensure!(
        log.contains("identity.shown") && log.contains("回访前核对身份") && log.contains("zhao"),
        "{log}"
    );
    check(b, &axe, "audit log", &mut found).await?;
    // Role refusals as staff see them. The report names no region: a Guangdong handler gets
    // the page for no such case; an auditor reads it with nothing to do; an admin reads none.
    sign_in(b, &desk, "gd").await?;
    b.client.goto(&case_url).await?;
    b.wait_js("document.querySelector('h1')?.textContent.startsWith('404')")
        .await?;
    anyhow::ensure!(!b.visible_text().await?.contains("DESK-WEB"));
    b.screenshot("handler-other-region-404").await?;
    check(b, &axe, "404", &mut found).await?;
    sign_in(b, &desk, "shen").await?;
    b.client.goto(&case_url).await?;
    b.wait("section.actions").await?;
    anyhow::ensure!(
        b.client
            .find_all(Locator::Css("main form:not(.reveal)"))
            .await?
            .is_empty(),
        "an auditor gets no form on a case but the one asking to see the identity"
    );
    b.screenshot("auditor-reads-only").await?;
    sign_in(b, &desk, "root").await?;
    b.client.goto(&case_url).await?;
    b.wait_js("document.querySelector('h1')?.textContent.startsWith('403')")
        .await?;
    anyhow::ensure!(!b.visible_text().await?.contains("DESK-WEB"));
    b.client.goto(&format!("{desk}/staff")).await?;
    b.wait("form.account").await?;
    b.screenshot("admin-accounts").await?;
    check(b, &axe, "accounts", &mut found).await?;
    let problems = b.problems().await?;
    anyhow::ensure!(problems.is_empty(), "{problems:?}");
    anyhow::ensure!(found.is_empty(), "axe found:\n{}", found.join("\n"));
    office_browser.close().await?;

    // The reporter's status page shows the feedback step and the office's reply (pushed by
    // the desk's schedule).
    let phone = Browser::start(Device::Phone, "desk-web-status").await?;
    phone
        .client
        .goto(&format!("{}/status", portal.base))
        .await?;
    let mut shown = String::new();
    for _ in 0..30 {
        phone.wait("#code").await?.clear().await?;
        phone.wait("#code").await?.send_keys(&code).await?;
        phone.wait("#look-up").await?.click().await?;
        phone.wait("#current-status").await?;
        shown = phone.visible_text().await?;
        if shown.contains("DESK-WEB-REPLY") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        phone.client.refresh().await?;
    }
    let status = phone.text("#current-status").await?;
    anyhow::ensure!(status == "已反馈", "{status}: {shown}");
    let stages = phone.text("#stages").await?;
    anyhow::ensure!(
        stages.contains("已受理") && stages.contains("已交办") && stages.contains("已办结"),
        "{stages}"
    );
    phone.screenshot("reporter-sees-feedback").await?;
    phone.close().await
}
