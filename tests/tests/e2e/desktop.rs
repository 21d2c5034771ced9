//! The 12389 profile on a desktop browser: the landing page's QR code, its categories, a category
//! chosen, the report opened by the office key with that category.

use cluebox_e2e::{Browser, Device, Portal};
use cluebox_protocol::letter::Answer;
use fantoccini::Locator;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_12389_report_with_a_category_from_a_desktop() -> anyhow::Result<()> {
    let portal = Portal::start("12389").await?;
    let browser = Browser::start(Device::Desktop, "desktop-12389").await?;
    // The landing page shows desktop visitors the QR code of the form, to move to their phone.
    browser.client.goto(&portal.base).await?;
    browser.wait("#entry-qr svg").await?;
    let shot = browser.screenshot("landing-qr").await?;
    let decoded = std::process::Command::new("zbarimg")
        .args(["-q", "--raw"])
        .arg(&shot)
        .output()?;
    let decoded = String::from_utf8_lossy(&decoded.stdout).trim().to_owned();
    anyhow::ensure!(
        decoded == format!("{}/report", portal.base),
        "the landing QR code reads {decoded:?}"
    );
    browser
        .client
        .goto(&format!("{}/report?lang=en", portal.base))
        .await?;
    browser
        .wait_js("document.querySelector('.step:not([hidden]) h2')?.textContent === 'About you'")
        .await?;
    browser.next_step().await?;
    browser
        .wait("#f-subject-unit")
        .await?
        .send_keys("Example Road Police Station")
        .await?;
    browser.next_step().await?;
    let options = browser
        .client
        .find_all(Locator::Css("#f-matter-category option"))
        .await?;
    anyhow::ensure!(
        options.len() == 10,
        "nine categories and 'none': {}",
        options.len()
    );
    browser
        .wait("#f-matter-category")
        .await?
        .select_by_value("inaction")
        .await?;
    browser.screenshot("matter").await?;
    browser.next_step().await?;
    browser.next_step().await?;
    let review = browser.text(".step:not([hidden])").await?;
    anyhow::ensure!(
        review.contains("recorded as \"unclear\"") && review.contains("laziness and slowness"),
        "{review}"
    );
    // No field lets the browser fill in or remember who the reporter is.
    let remembered = browser
        .client
        .execute(
            "return [...document.querySelectorAll('input, textarea, select')].filter(e => e.autocomplete !== 'off').map(e => e.id);",
            vec![],
        )
        .await?;
    anyhow::ensure!(
        remembered.as_array().is_some_and(|a| a.is_empty()),
        "fields without autocomplete=off: {remembered}"
    );
    browser.wait("#submit").await?.click().await?;
    let code = browser.text("#inquiry-code").await?;
    browser.screenshot("receipt").await?;
    // The saved receipt has a fixed name: no part of the code in the Downloads folder.
    let downloads = tempfile::tempdir()?;
    browser
        .cdp(
            "Browser.setDownloadBehavior",
            serde_json::json!({"behavior": "allow", "downloadPath": downloads.path()}),
        )
        .await?;
    browser
        .wait(".receipt button.secondary")
        .await?
        .click()
        .await?;
    let saved = downloads.path().join("receipt.txt");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !saved.exists() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let names: Vec<String> = std::fs::read_dir(downloads.path())?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    anyhow::ensure!(names == ["receipt.txt"], "downloaded: {names:?}");
    anyhow::ensure!(std::fs::read_to_string(&saved)?.contains(&code));
    let problems = browser.problems().await?;
    anyhow::ensure!(problems.is_empty(), "{problems:?}");

    let reports = portal.opened_reports().await?;
    anyhow::ensure!(reports.len() == 1, "{} reports", reports.len());
    let report = &reports[0];
    anyhow::ensure!(report.profile == "12389" && report.locale == "en");
    anyhow::ensure!(report.answer("matter", "category") == Some(&Answer::Given("inaction".into())));
    anyhow::ensure!(report.answer("subject", "officer") == Some(&Answer::Unclear));
    browser.close().await
}
