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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_for_longer_than_the_old_give_up_time_the_report_waits_and_then_goes()
-> anyhow::Result<()> {
    use serde_json::json;
    let mut portal = Portal::start("12337").await?;
    let addr = portal.base.trim_start_matches("http://").parse()?;
    let browser = Browser::start(Device::Phone, "offline").await?;
    browser.walk_to_submit(&portal.base, "offline").await?;
    browser
        .wait_js("document.documentElement.dataset.sealer === 'ready'")
        .await?;
    // The phone loses its connection: the page hears it is offline (DevTools' emulation, which
    // does not reach the worker's requests) and nothing answers (the server is stopped).
    browser.cdp("Network.enable", json!({})).await?;
    let offline = |on: bool| json!({ "offline": on, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 });
    browser
        .cdp("Network.emulateNetworkConditions", offline(true))
        .await?;
    portal.stop().await;
    browser.tap("#submit").await?;
    browser
        .wait_js("document.querySelector('.status.warning')?.textContent.includes('网络已断开')")
        .await?;
    // Longer than the old schedule's 1 + 2 + 4 + 8 + 15 s before it gave up.
    tokio::time::sleep(std::time::Duration::from_secs(35)).await;
    let state = browser
        .client
        .execute(
            "const s = document.getElementById('submit').getBoundingClientRect(); \
             return [document.querySelector('.nav .status')?.textContent || '', \
                     s.top >= 0 && s.bottom <= window.innerHeight];",
            vec![],
        )
        .await?;
    anyhow::ensure!(
        state[0].as_str().is_some_and(|t| t.contains("网络已断开")),
        "still waiting for the connection: {state}"
    );
    anyhow::ensure!(state[1] == json!(true), "the submit button stays on screen");
    browser.screenshot("offline-waiting").await?;
    // The connection returns: the `online` event sends it at once.
    let data = portal.data.clone();
    let restarted = Portal::start_on("12337", &data, addr).await?;
    browser
        .cdp("Network.emulateNetworkConditions", offline(false))
        .await?;
    browser.text("#inquiry-code").await?;
    anyhow::ensure!(restarted.state.store.inbox(0, 10).await?.len() == 1);
    browser.close().await
}
