//! The portal's release build in a real browser: it starts (Debian's wasm-opt 108 once produced
//! a module that died at start), it fills, seals, submits and shows the code, and the status
//! page finds the case.

use cluebox_e2e::{Browser, Device, Portal};
use cluebox_protocol::code::InquiryCode;
use cluebox_protocol::letter::Answer;

async fn no_problems(browser: &Browser, base: &str) -> anyhow::Result<()> {
    // Mobile first: nothing wider than the screen.
    let wide = browser
        .client
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .await?;
    anyhow::ensure!(
        wide.as_i64() <= Some(0),
        "the page scrolls sideways by {wide} px"
    );
    let problems = browser.problems().await?;
    anyhow::ensure!(
        problems.is_empty(),
        "console errors or CSP violations: {problems:?}"
    );
    for url in browser.requested_urls().await? {
        anyhow::ensure!(url.starts_with(base), "a request left the origin: {url}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_build_starts_and_files_a_report_from_a_phone() -> anyhow::Result<()> {
    let portal = Portal::start("12337").await?;
    let browser = Browser::start(Device::Phone, "portal-phone").await?;
    let c = &browser.client;
    c.goto(&format!("{}/report", portal.base)).await?;
    // The app started: the first step's heading, and the no-WebAssembly block is gone.
    browser
        .wait_js("document.querySelector('.step:not([hidden]) h2')?.textContent === '举报人信息'")
        .await?;
    browser
        .wait_js("!document.getElementById('fallback')")
        .await?;
    browser.screenshot("step-1").await?;
    no_problems(&browser, &portal.base).await?;

    browser.next_step().await?;
    browser
        .wait_js(
            "document.querySelector('.step:not([hidden]) h2')?.textContent.includes('被举报人')",
        )
        .await?;
    browser
        .wait("#f-reported-name")
        .await?
        .send_keys("MARKER-某村委会主任")
        .await?;
    browser
        .wait("#f-reported-region")
        .await?
        .select_by_value("440000")
        .await?;
    browser.screenshot("step-2").await?;
    no_problems(&browser, &portal.base).await?;
    browser.next_step().await?;
    browser
        .wait("#f-situation-category")
        .await?
        .select_by_value("market_bully")
        .await?;
    browser
        .wait("#f-situation-what")
        .await?
        .send_keys("MARKER-强揽工程，威胁村民")
        .await?;
    browser.next_step().await?;
    browser.next_step().await?;
    // The review step shows blanks as unclear.
    browser
        .wait_js("document.querySelector('.step:not([hidden]) h2')?.textContent === '核对并提交'")
        .await?;
    let review = browser.text(".step:not([hidden])").await?;
    anyhow::ensure!(
        review.contains("不清楚"),
        "blanks read as unclear: {review}"
    );
    anyhow::ensure!(
        review.contains("广东省") && review.contains("MARKER-某村委会主任"),
        "{review}"
    );
    browser.screenshot("review").await?;
    no_problems(&browser, &portal.base).await?;
    browser.wait("#submit").await?.click().await?;
    let code = browser.text("#inquiry-code").await?;
    browser.screenshot("receipt").await?;
    no_problems(&browser, &portal.base).await?;
    let parsed = InquiryCode::parse(&code).map_err(|e| anyhow::anyhow!("{e}: {code}"))?;
    no_problems(&browser, &portal.base).await?;

    // Exactly one report arrived, and the demo office key opens what was typed.
    let reports = portal.opened_reports().await?;
    anyhow::ensure!(reports.len() == 1, "{} reports", reports.len());
    let report = &reports[0];
    anyhow::ensure!(
        report.answer("reported", "name") == Some(&Answer::Given("MARKER-某村委会主任".into()))
    );
    anyhow::ensure!(report.answer("reported", "region") == Some(&Answer::Given("440000".into())));
    anyhow::ensure!(
        report.answer("situation", "category") == Some(&Answer::Given("market_bully".into()))
    );
    anyhow::ensure!(report.answer("umbrella", "officials") == Some(&Answer::Unclear));
    anyhow::ensure!(
        report.answer("reporter", "name") == Some(&Answer::Unclear),
        "anonymous"
    );

    // The status page finds it by the code.
    c.goto(&format!("{}/status", portal.base)).await?;
    browser
        .wait("#code")
        .await?
        .send_keys(&parsed.expose_grouped().to_lowercase())
        .await?;
    browser
        .wait_js("document.querySelector('#code-check.ok')")
        .await?;
    browser.wait("#look-up").await?.click().await?;
    let status = browser.text("#current-status").await?;
    anyhow::ensure!(status == "已接收", "status: {status}");
    browser.screenshot("status").await?;
    no_problems(&browser, &portal.base).await?;
    browser.close().await
}
