//! Exactly one report, whatever the reporter's fingers or network do: a double click on submit,
//! and a submit made while the server is unreachable (retried until it is back).

use cluebox_e2e::{Browser, Device, Portal};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_click_files_one_report() -> anyhow::Result<()> {
    let portal = Portal::start("12337").await?;
    let browser = Browser::start(Device::Desktop, "double-click").await?;
    browser.walk_to_submit(&portal.base, "double click").await?;
    browser
        .client
        .execute(
            "const b = document.getElementById('submit'); b.click(); b.click();",
            vec![],
        )
        .await?;
    browser.text("#inquiry-code").await?;
    browser.screenshot("receipt").await?;
    let inbox = portal.state.store.inbox(0, 100).await?;
    anyhow::ensure!(
        inbox.len() == 1,
        "{} reports from a double click",
        inbox.len()
    );
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submit_while_the_server_is_down_is_retried_and_files_one_report() -> anyhow::Result<()> {
    let mut portal = Portal::start("12337").await?;
    let addr = portal.base.trim_start_matches("http://").parse()?;
    let browser = Browser::start(Device::Phone, "server-down").await?;
    browser.walk_to_submit(&portal.base, "retry").await?;
    // Let the worker load before the server goes away (it is fetched in the background).
    browser
        .wait_js("document.documentElement.dataset.sealer === 'ready'")
        .await?;
    portal.stop().await;
    browser.wait("#submit").await?.click().await?;
    // The page says it will retry, and keeps the answers.
    browser
        .wait_js("document.querySelector('.status.warning')")
        .await?;
    browser.screenshot("retrying").await?;
    let data = portal.data.clone();
    let restarted = Portal::start_on("12337", &data, addr).await?;
    let code = browser.text("#inquiry-code").await?;
    browser.screenshot("receipt").await?;
    anyhow::ensure!(code.len() == 24, "{code}");
    let inbox = restarted.state.store.inbox(0, 100).await?;
    anyhow::ensure!(inbox.len() == 1, "{} reports after retries", inbox.len());
    browser.close().await
}
