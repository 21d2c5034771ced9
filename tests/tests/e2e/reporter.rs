//! The reporter's journey as a frightened first-time reporter lives it (issue #13), in real
//! Chromium: no false error while the page loads, plain words when scripts are off or the page
//! cannot start, reassurance on the form's first screen, problems shown on leaving a field and
//! listed at the top, a form with nothing in it asks once, a code that never wraps inside a
//! group, a receipt that cannot be left before the code is saved, a status page that sets the
//! current status apart and shows what is ahead, a poster's region preselected, English for an
//! English browser, a 404 page, and a console with nothing in it.

use std::time::Duration;

use cluebox_e2e::{Browser, Device, Portal};
use serde_json::json;

/// Samples, every frame until the app starts, what the loading page shows.
const PAINTS: &str = r#"
window.__cbx_paints = [];
(function sample() {
  const f = document.getElementById('fallback');
  if (f) window.__cbx_paints.push(f.innerText);
  if (f || !document.body) requestAnimationFrame(sample);
})();
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loading_shows_a_calm_line_and_never_a_false_error() -> anyhow::Result<()> {
    let portal = Portal::start("12337").await?;
    let browser = Browser::start(Device::Phone, "first-paint").await?;
    browser
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": PAINTS }),
        )
        .await?;
    // A slow network (about Slow 3G), so the loading state lasts many frames.
    browser.cdp("Network.enable", json!({})).await?;
    browser
        .cdp(
            "Network.emulateNetworkConditions",
            json!({ "offline": false, "latency": 400, "downloadThroughput": 60_000, "uploadThroughput": 30_000 }),
        )
        .await?;
    browser
        .client
        .goto(&format!("{}/report", portal.base))
        .await?;
    browser
        .wait_js("!document.getElementById('fallback')")
        .await?;
    let paints: Vec<String> = serde_json::from_value(
        browser
            .client
            .execute("return window.__cbx_paints;", vec![])
            .await?,
    )?;
    anyhow::ensure!(
        !paints.is_empty(),
        "no frame painted before the app started"
    );
    anyhow::ensure!(
        paints.iter().any(|p| p.contains("正在打开举报表")),
        "the loading line was shown: {paints:?}"
    );
    anyhow::ensure!(
        paints
            .iter()
            .all(|p| !p.contains("WebAssembly") && !p.contains("更换或更新浏览器")),
        "an error was painted while loading: {paints:?}"
    );
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_scripts_or_webassembly_each_page_says_what_is_off() -> anyhow::Result<()> {
    let portal = Portal::start("12337").await?;
    let browser = Browser::start(Device::Phone, "no-scripts").await?;
    browser
        .cdp(
            "Emulation.setScriptExecutionDisabled",
            json!({ "value": true }),
        )
        .await?;
    for (page, words) in [
        ("/report", "在线举报表单需要它"),
        ("/status", "查询进度需要它"),
        ("/poster", "生成二维码海报需要它"),
    ] {
        browser
            .client
            .goto(&format!("{}{page}", portal.base))
            .await?;
        let text = browser.visible_text().await?;
        anyhow::ensure!(
            text.contains("JavaScript") && text.contains(words),
            "{page}: {text}"
        );
        anyhow::ensure!(
            !text.contains("正在打开"),
            "{page}: no endless loading line"
        );
        anyhow::ensure!(!text.contains("WebAssembly"), "{page}: {text}");
        if page != "/poster" {
            anyhow::ensure!(
                text.contains("12337") && text.contains("来信地址"),
                "{text}"
            );
        }
        anyhow::ensure!(text.contains("返回首页"), "a link home: {text}");
        browser.screenshot(&page[1..]).await?;
    }
    browser
        .cdp(
            "Emulation.setScriptExecutionDisabled",
            json!({ "value": false }),
        )
        .await?;
    // Scripts on, but the WebAssembly cannot be fetched: the failure is detected and said.
    browser.cdp("Network.enable", json!({})).await?;
    browser
        .cdp("Network.setBlockedURLs", json!({ "urls": ["*.wasm"] }))
        .await?;
    browser
        .client
        .goto(&format!("{}/report", portal.base))
        .await?;
    browser
        .wait_js("!document.getElementById('boot-failed').hidden")
        .await?;
    let text = browser.visible_text().await?;
    anyhow::ensure!(
        text.contains("WebAssembly") && text.contains("12337") && !text.contains("正在打开"),
        "{text}"
    );
    browser.screenshot("wasm-blocked").await?;
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_screen_reassures_and_problems_show_on_leaving_a_field() -> anyhow::Result<()> {
    let portal = Portal::start("12337").await?;
    let browser = Browser::start(Device::Phone, "first-screen").await?;
    let c = &browser.client;
    c.goto(&format!("{}/report", portal.base)).await?;
    browser.wait(".assure-box").await?;
    let first = browser.text(".assure-box").await?;
    for needle in [
        "在您的手机上加密",
        "不清楚",
        "不记录您的 IP",
        "默认匿名",
        "110",
        "如实举报",
    ] {
        anyhow::ensure!(
            first.contains(needle),
            "{needle} on the first screen: {first}"
        );
    }
    // The reassurance is within the first screen of a phone.
    let top = c
        .execute(
            "return document.querySelector('.assure-box').getBoundingClientRect().top;",
            vec![],
        )
        .await?;
    anyhow::ensure!(top.as_f64() < Some(400.0), "reassurance at {top} px");
    // Input borders and unfinished progress segments stand out from the page at 3:1 or more
    // (WCAG 1.4.11, non-text contrast).
    let contrast = c
        .execute(
            "const rgb = s => s.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number); \
             const lum = c => { const [r, g, b] = rgb(c).map(v => { v /= 255; \
               return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }); \
               return 0.2126 * r + 0.7152 * g + 0.0722 * b; }; \
             const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); \
               return (x + 0.05) / (y + 0.05); }; \
             const page = getComputedStyle(document.documentElement).backgroundColor; \
             const card = getComputedStyle(document.querySelector('label.radio')).backgroundColor; \
             const border = getComputedStyle(document.querySelector('label.radio')).borderTopColor; \
             const todo = getComputedStyle(document.querySelector('.steps li.todo')).backgroundColor; \
             return [ratio(border, card), ratio(border, page), ratio(todo, page)];",
            vec![],
        )
        .await?;
    let ratios: Vec<f64> = serde_json::from_value(contrast)?;
    anyhow::ensure!(
        ratios.iter().all(|r| *r >= 3.0),
        "contrast ratios {ratios:?}"
    );
    // What the hotline accepts, one tap away.
    browser.wait(".scope summary").await?.click().await?;
    anyhow::ensure!(browser.text(".scope").await?.contains("政法干警"));
    browser.screenshot("first-screen").await?;

    // Real name: a mobile number half typed shows no error until the field is left.
    browser.tap("#f-reporter-identity-1").await?;
    browser
        .wait("#f-reporter-mobile")
        .await?
        .send_keys("138")
        .await?;
    let shown = c
        .execute(
            "return document.getElementById('f-reporter-mobile-err').innerText;",
            vec![],
        )
        .await?;
    anyhow::ensure!(
        shown.as_str() == Some(""),
        "an error on the first keystrokes: {shown}"
    );
    browser.tap("#f-reporter-name").await?;
    browser
        .wait_js("document.getElementById('f-reporter-mobile-err').innerText.includes('11 位')")
        .await?;
    // Moving on lists the problem at the top, linked to its field.
    browser.next_step().await?;
    browser
        .wait_js("document.activeElement && document.activeElement.id === 'error-summary'")
        .await?;
    let summary = browser.text("#error-summary").await?;
    anyhow::ensure!(summary.contains("手机"), "{summary}");
    browser.tap("#error-summary a").await?;
    browser
        .wait_js("document.activeElement && document.activeElement.id === 'f-reporter-mobile'")
        .await?;
    browser.screenshot("error-summary").await?;
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_report_asks_once_and_the_receipt_keeps_the_reporter_until_the_code_is_saved()
-> anyhow::Result<()> {
    let portal = Portal::start("12337").await?;
    let browser = Browser::start(Device::Phone, "receipt").await?;
    let c = &browser.client;
    browser.walk_to_submit(&portal.base, "").await?;
    // The review step folds the blanks into one line per section.
    let review = browser.text(".step:not([hidden])").await?;
    anyhow::ensure!(review.contains("项未填"), "{review}");
    anyhow::ensure!(
        c.execute(
            "return getComputedStyle(document.querySelector('p.unclear')).fontStyle;",
            vec![]
        )
        .await?
        .as_str()
            == Some("normal"),
        "no synthetic italic on Chinese text"
    );
    browser.wait("#submit").await?.click().await?;
    browser.wait("#confirm-empty").await?;
    browser
        .wait_js("document.activeElement && document.activeElement.id === 'confirm-empty-title'")
        .await?;
    browser.screenshot("confirm-empty").await?;
    anyhow::ensure!(
        portal.state.store.inbox(0, 10).await?.is_empty(),
        "nothing sent before the answer"
    );
    browser.tap("#empty-submit").await?;
    browser.wait("#inquiry-code").await?;
    let receipt = browser.text(".receipt").await?;
    anyhow::ensure!(
        receipt.contains("接下来")
            && receipt.contains("决定是否受理")
            && receipt.contains("30 日内"),
        "{receipt}"
    );
    // The digest is behind "details".
    let digest_shown = c
        .execute(
            "return document.querySelector('.hash').getClientRects().length > 0;",
            vec![],
        )
        .await?;
    anyhow::ensure!(digest_shown == json!(false), "the digest is folded away");

    // The code's groups never break, at 390 px and at 320 px.
    let one_line = "return [...document.querySelectorAll('#inquiry-code .grp')].every(g => g.getClientRects().length === 1);";
    anyhow::ensure!(c.execute(one_line, vec![]).await? == json!(true), "390 px");
    browser.screenshot("receipt-390").await?;
    browser
        .cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 320, "height": 640, "deviceScaleFactor": 1, "mobile": true }),
        )
        .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    anyhow::ensure!(c.execute(one_line, vec![]).await? == json!(true), "320 px");
    browser.screenshot("receipt-320").await?;

    // Leaving needs the confirmation first.
    let before = c.current_url().await?;
    browser.wait("#go-status").await?.click().await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    anyhow::ensure!(
        c.current_url().await? == before,
        "left without saving the code"
    );
    browser
        .wait_js("document.activeElement && document.activeElement.id === 'code-saved'")
        .await?;
    browser.wait("#code-saved").await?.click().await?;
    browser.wait("#go-status").await?.click().await?;
    browser.wait_js("location.pathname === '/status'").await?;
    anyhow::ensure!(portal.state.store.inbox(0, 10).await?.len() == 1);
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_sets_the_current_status_apart_and_shows_what_is_ahead()
-> anyhow::Result<()> {
    let portal = Portal::start("12337").await?;
    let browser = Browser::start(Device::Phone, "status-page").await?;
    let c = &browser.client;
    browser.walk_to_submit(&portal.base, "status page").await?;
    browser.wait("#submit").await?.click().await?;
    let code = browser.text("#inquiry-code").await?;
    browser.wait("#code-saved").await?.click().await?;
    c.goto(&format!("{}/status", portal.base)).await?;
    // The disabled button says why.
    browser.wait("#look-up").await?;
    anyhow::ensure!(browser.text("#look-up-why").await?.contains("20 位"));
    browser.wait("#code").await?.send_keys(&code).await?;
    browser.wait("#look-up").await?.click().await?;
    browser.wait("#current-status").await?;
    let card = browser.text(".current-card").await?;
    anyhow::ensure!(card.contains("已接收") && card.contains("自 "), "{card}");
    let stages = browser.text("#stages").await?;
    anyhow::ensure!(
        stages.contains("已受理") && stages.contains("期限") && stages.contains("还剩 3 天"),
        "{stages}"
    );
    // The code is masked once the case is shown, with a toggle.
    anyhow::ensure!(
        c.execute(
            "return document.getElementById('code').classList.contains('masked');",
            vec![]
        )
        .await?
            == json!(true)
    );
    browser.screenshot("status-masked").await?;
    browser.wait("#toggle-code").await?.click().await?;
    anyhow::ensure!(
        c.execute(
            "return document.getElementById('code').classList.contains('masked');",
            vec![]
        )
        .await?
            == json!(false)
    );
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_posters_region_is_preselected_and_an_english_browser_reads_english() -> anyhow::Result<()>
{
    let portal = Portal::start("12337").await?;
    let browser = Browser::start(Device::Phone, "region-english").await?;
    let c = &browser.client;
    c.goto(&format!("{}/report?region=440000", portal.base))
        .await?;
    browser.wait(".step:not([hidden]) h2").await?;
    browser.next_step().await?;
    let region = c
        .execute(
            "return document.getElementById('f-reported-region').value;",
            vec![],
        )
        .await?;
    anyhow::ensure!(region == json!("440000"), "{region}");
    anyhow::ensure!(
        browser.text("html").await?.contains("举报"),
        "Chinese by default"
    );

    browser.cdp("Network.enable", json!({})).await?;
    browser
        .cdp(
            "Network.setUserAgentOverride",
            json!({ "userAgent": "Mozilla/5.0 (Linux; Android 14) Chrome/120 Mobile", "acceptLanguage": "en-GB,en" }),
        )
        .await?;
    c.goto(&format!("{}/report", portal.base)).await?;
    browser
        .wait_js("document.documentElement.lang === 'en' && document.querySelector('.step:not([hidden]) h2')?.textContent === 'About you'")
        .await?;
    // The switch still wins (and is the same control on every page).
    browser.wait("#lang-switch").await?.click().await?;
    browser
        .wait_js("document.documentElement.lang === 'zh-CN'")
        .await?;
    browser.screenshot("switched").await?;
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_page_is_a_page_and_the_console_stays_clean() -> anyhow::Result<()> {
    let portal = Portal::start("12337").await?;
    let browser = Browser::start(Device::Desktop, "clean-console").await?;
    let c = &browser.client;
    c.goto(&format!("{}/no/such/page", portal.base)).await?;
    let title = c.title().await?;
    anyhow::ensure!(title.contains("找不到"), "{title}");
    let lang = c
        .execute("return document.documentElement.lang;", vec![])
        .await?;
    anyhow::ensure!(lang == json!("zh-CN"));
    anyhow::ensure!(
        c.find(fantoccini::Locator::Css("a[href='/']"))
            .await
            .is_ok()
    );
    browser.screenshot("404").await?;
    browser.console_warnings().await?; // the 404's own status line

    for page in ["/", "/en/", "/report", "/status", "/poster"] {
        c.goto(&format!("{}{page}", portal.base)).await?;
        if page != "/" && page != "/en/" {
            browser
                .wait_js("!document.getElementById('fallback')")
                .await?;
        }
        // Let the worker start and late warnings (unused preloads) arrive.
        tokio::time::sleep(Duration::from_millis(3500)).await;
        let warnings = browser.console_warnings().await?;
        anyhow::ensure!(warnings.is_empty(), "{page}: {warnings:#?}");
        anyhow::ensure!(browser.problems().await?.is_empty(), "{page}");
    }
    browser.close().await
}
