//! axe-core (installed by scripts/tools.sh from npm, an independent checker) on every page and
//! every state of the reporter's journey, in Chinese and in English: 0 violations.

use std::time::Duration;

use cluebox_e2e::{Browser, Device, Portal, workspace};
use serde_json::Value;

/// axe's source, or a clear error when the scripts have not installed it.
pub(crate) fn axe_source() -> anyhow::Result<String> {
    let path = workspace().join(".tools/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e} (./scripts/test.sh installs axe-core)",
            path.display()
        )
    })
}

/// Runs axe on the current page; the violations as "rule: target (summary)" lines.
async fn violations(browser: &Browser, axe: &str) -> anyhow::Result<Vec<String>> {
    browser.client.execute(axe, vec![]).await?;
    let result: Value = browser
        .client
        .execute(
            "return axe.run(document).then(r => r.violations.map(v => \
               v.id + ': ' + v.nodes.map(n => n.target.join(' ') + ' (' + n.failureSummary + ')').join('; ')));",
            vec![],
        )
        .await?;
    Ok(serde_json::from_value(result)?)
}

/// Runs axe on the page as it is now; each violation goes into `found`, named by `state`.
pub(crate) async fn check(
    browser: &Browser,
    axe: &str,
    state: &str,
    found: &mut Vec<String>,
) -> anyhow::Result<()> {
    tokio::time::sleep(Duration::from_millis(200)).await;
    for v in violations(browser, axe).await? {
        found.push(format!("{state}: {v}"));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_and_step_has_no_axe_violations() -> anyhow::Result<()> {
    let axe = axe_source()?;
    let portal = Portal::start("12337").await?;
    let browser = Browser::start(Device::Phone, "axe").await?;
    let c = &browser.client;
    let mut found = Vec::new();
    for page in ["/", "/en/", "/no/such/page"] {
        c.goto(&format!("{}{page}", portal.base)).await?;
        check(&browser, &axe, page, &mut found).await?;
    }
    for page in ["/poster", "/status"] {
        c.goto(&format!("{}{page}", portal.base)).await?;
        browser
            .wait_js("!document.getElementById('fallback')")
            .await?;
        check(&browser, &axe, page, &mut found).await?;
    }
    // Every step of the form, its error summary, the empty-report question, the receipt.
    c.goto(&format!("{}/report", portal.base)).await?;
    browser.wait(".step:not([hidden]) h2").await?;
    browser.tap(".scope summary").await?;
    check(&browser, &axe, "step 1", &mut found).await?;
    browser.tap("#f-reporter-identity-1").await?;
    browser
        .wait("#f-reporter-mobile")
        .await?
        .send_keys("12")
        .await?;
    browser.next_step().await?;
    browser.wait("#error-summary").await?;
    check(&browser, &axe, "step 1 with an error", &mut found).await?;
    browser.tap("#f-reporter-identity-0").await?;
    for step in 2..=5 {
        browser.next_step().await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        check(&browser, &axe, &format!("step {step}"), &mut found).await?;
    }
    browser.tap("#submit").await?;
    browser.wait("#confirm-empty").await?;
    check(&browser, &axe, "empty-report question", &mut found).await?;
    browser.tap("#empty-submit").await?;
    let code = browser.text("#inquiry-code").await?;
    check(&browser, &axe, "receipt", &mut found).await?;
    browser.tap("#lang-switch").await?;
    check(&browser, &axe, "receipt in English", &mut found).await?;
    browser.tap("#code-saved").await?;
    // The status page with a case shown.
    c.goto(&format!("{}/status", portal.base)).await?;
    browser.wait("#code").await?.send_keys(&code).await?;
    browser.tap("#look-up").await?;
    browser.wait("#current-status").await?;
    check(&browser, &axe, "status with a case", &mut found).await?;
    anyhow::ensure!(found.is_empty(), "axe found:\n{}", found.join("\n"));
    browser.close().await
}
