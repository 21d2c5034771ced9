//! The whole journey on a phone: landing page in both languages, a 12337 report with blanks,
//! the desk pulls and opens it (typed text matches, blanks are unclear, and the server's data and
//! logs hold none of it), accepts and replies; the status page shows the status, its date and
//! the decrypted reply; the reporter's follow-up reaches the desk; a mistyped code is caught
//! before any request.

use cluebox_desk::remote::Remote;
use cluebox_desk::{db, intake, keyfile, sync, workflow};
use cluebox_e2e::{Browser, Device, Portal};
use cluebox_protocol::letter::Answer;
use fantoccini::Locator;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_desk_reply_follow_up_on_a_phone() -> anyhow::Result<()> {
    let portal = Portal::start("12337").await?;
    let browser = Browser::start(Device::Phone, "journey-phone").await?;
    let c = &browser.client;

    // Landing page: switch to English and back.
    c.goto(&portal.base).await?;
    browser
        .wait_js("document.documentElement.lang === 'zh-CN'")
        .await?;
    browser.screenshot("landing-zh").await?;
    c.find(Locator::Css("header a[lang=en]"))
        .await?
        .click()
        .await?;
    browser.wait_js("document.documentElement.lang === 'en' && document.body.textContent.includes('What we accept')").await?;
    browser.screenshot("landing-en").await?;
    c.find(Locator::Css("header a[lang=zh-CN]"))
        .await?
        .click()
        .await?;
    browser
        .wait_js("document.documentElement.lang === 'zh-CN'")
        .await?;
    c.find(Locator::Css("a.button.primary"))
        .await?
        .click()
        .await?;

    // The form, in the app: language switch there too.
    browser
        .wait_js("document.querySelector('.step:not([hidden]) h2')?.textContent === '举报人信息'")
        .await?;
    browser.wait("#lang-switch").await?.click().await?;
    browser
        .wait_js("document.querySelector('.step:not([hidden]) h2')?.textContent === 'About you'")
        .await?;
    browser.wait("#lang-switch").await?.click().await?;
    browser
        .wait_js("document.querySelector('.step:not([hidden]) h2')?.textContent === '举报人信息'")
        .await?;
    browser.next_step().await?;
    browser
        .wait("#f-reported-position")
        .await?
        .send_keys("JOURNEY-MARKER-镇长")
        .await?;
    browser.next_step().await?;
    browser
        .wait("#f-situation-where")
        .await?
        .send_keys("JOURNEY-MARKER-河边砂场")
        .await?;
    browser.next_step().await?;
    browser.next_step().await?;
    browser.wait("#submit").await?.click().await?;
    let code = browser.text("#inquiry-code").await?;
    browser.screenshot("receipt").await?;

    // The desk pulls and opens it.
    let desk_dir = tempfile::tempdir()?;
    let mut desk = db::open(&desk_dir.path().join("desk.sqlite3"))?;
    let office = keyfile::read(&portal.data.join("demo-office.key"), |_| {
        anyhow::bail!("the demo key has no passphrase")
    })?;
    let remote = Remote::connect(&portal.base, &Default::default())?;
    sync::pull(&mut desk, &remote, &portal.desk_token(), "officer").await?;
    intake::open_pending(&mut desk, std::slice::from_ref(&office), "officer")?;
    let report = &portal.opened_reports().await?[0];
    anyhow::ensure!(
        report.answer("reported", "position") == Some(&Answer::Given("JOURNEY-MARKER-镇长".into()))
    );
    anyhow::ensure!(
        report.answer("situation", "where")
            == Some(&Answer::Given("JOURNEY-MARKER-河边砂场".into()))
    );
    anyhow::ensure!(report.answer("reported", "name") == Some(&Answer::Unclear));
    anyhow::ensure!(report.answer("situation", "what") == Some(&Answer::Unclear));
    let case_id: String = desk.query_row("SELECT case_id FROM cases", [], |r| r.get(0))?;
    let shown =
        cluebox_desk::cases::show(&desk, &case_id, &cluebox_desk::Profiles::default(), false)?;
    anyhow::ensure!(
        shown.contains("JOURNEY-MARKER-镇长") && shown.contains("不清楚"),
        "{shown}"
    );
    // The server's data directory holds none of the typed text.
    for file in walk(&portal.data) {
        let bytes = std::fs::read(&file)?;
        anyhow::ensure!(
            !bytes.windows(14).any(|w| w == b"JOURNEY-MARKER"),
            "typed text in {}",
            file.display()
        );
    }

    let logs = cluebox_e2e::captured_logs();
    anyhow::ensure!(logs.contains("/api/v1/desk"), "the access log was captured");
    anyhow::ensure!(
        !logs.contains("JOURNEY-MARKER") && !logs.contains(&code),
        "typed text or the code in the logs"
    );
    anyhow::ensure!(
        !logs.contains("/api/v1/reports"),
        "no log line for a report: with its timestamp it would link the case to network records"
    );

    // The desk accepts and replies.
    workflow::transition(
        &mut desk,
        &office,
        &case_id,
        "accepted",
        &workflow::Details::default(),
        "officer",
    )?;
    workflow::reply(
        &mut desk,
        &office,
        &case_id,
        "已受理，正在核查。",
        "officer",
    )?;
    sync::push(&desk, &remote, &portal.desk_token()).await?;

    // The status page: a mistyped code is caught before any request; the right one shows all.
    c.goto(&format!("{}/status", portal.base)).await?;
    browser.wait("#code").await?;
    let wrong = mistype(&code);
    browser.wait("#code").await?.send_keys(&wrong).await?;
    browser
        .wait_js("document.querySelector('#code-check.error')?.textContent.includes('错字')")
        .await?;
    let disabled = browser.wait("#look-up").await?.attr("disabled").await?;
    anyhow::ensure!(
        disabled.is_some(),
        "look-up stays disabled for a mistyped code"
    );
    let inquiries = browser
        .client
        .execute("return performance.getEntriesByType('resource').filter(e => e.name.includes('/api/v1/inquiries')).length;", vec![])
        .await?;
    anyhow::ensure!(
        inquiries.as_i64() == Some(0),
        "no lookup was sent for a mistyped code"
    );
    browser.screenshot("typo").await?;
    browser.wait("#code").await?.clear().await?;
    browser.wait("#code").await?.send_keys(&code).await?;
    browser.wait("#look-up").await?.click().await?;
    let status = browser.text("#current-status").await?;
    anyhow::ensure!(status == "已受理", "{status}");
    let replies = browser.text("#replies").await?;
    anyhow::ensure!(replies.contains("已受理，正在核查。"), "{replies}");
    let timeline = browser.text(".timeline").await?;
    anyhow::ensure!(
        timeline.matches(char::is_numeric).count() > 8,
        "dates in the history: {timeline}"
    );
    browser.screenshot("status").await?;

    // A follow-up from the reporter reaches the desk.
    browser
        .wait("#follow-up")
        .await?
        .send_keys("补充：JOURNEY-FOLLOW-UP")
        .await?;
    browser.wait("#send-follow-up").await?.click().await?;
    browser
        .wait_js("document.querySelector('#follow-ups')?.textContent.includes('JOURNEY-FOLLOW-UP')")
        .await?;
    browser.screenshot("follow-up").await?;
    sync::pull(&mut desk, &remote, &portal.desk_token(), "officer").await?;
    let opened = intake::open_pending(&mut desk, std::slice::from_ref(&office), "officer")?;
    anyhow::ensure!(opened.quarantined == 0, "{opened:?}");
    let shown =
        cluebox_desk::cases::show(&desk, &case_id, &cluebox_desk::Profiles::default(), false)?;
    anyhow::ensure!(
        shown.contains("补充：JOURNEY-FOLLOW-UP") && !shown.contains("unauthenticated"),
        "the follow-up arrives, proven to come from the code's holder: {shown}"
    );

    // The office concludes and sends its result: the status page reads it as the result.
    for (to, details) in [
        (
            "assigned",
            workflow::Details {
                unit: Some("某县公安局".into()),
                ..Default::default()
            },
        ),
        ("verifying", workflow::Details::default()),
        (
            "concluded",
            workflow::Details {
                result: Some("线索属实".into()),
                ..Default::default()
            },
        ),
    ] {
        workflow::transition(&mut desk, &office, &case_id, to, &details, "officer")?;
    }
    workflow::reply(
        &mut desk,
        &office,
        &case_id,
        "经核查，反映的问题属实，已依法处理。",
        "officer",
    )?;
    sync::push(&desk, &remote, &portal.desk_token()).await?;
    c.refresh().await?;
    browser.wait("#code").await?.send_keys(&code).await?;
    browser.tap("#look-up").await?;
    browser
        .wait_js("document.getElementById('current-status')?.textContent === '已办结'")
        .await?;
    let result = browser.text("#result").await?;
    anyhow::ensure!(
        result.contains("办理结果") && result.contains("反映的问题属实"),
        "{result}"
    );
    let stages = browser.text("#stages").await?;
    anyhow::ensure!(
        stages.contains("已交办") && stages.contains("已反馈"),
        "passed and ahead: {stages}"
    );
    browser.screenshot("result").await?;

    let problems = browser.problems().await?;
    anyhow::ensure!(problems.is_empty(), "{problems:?}");
    browser.close().await
}

/// The code with one character changed (a typo the check symbol must catch).
fn mistype(code: &str) -> String {
    let mut chars: Vec<char> = code.chars().collect();
    chars[2] = if chars[2] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
