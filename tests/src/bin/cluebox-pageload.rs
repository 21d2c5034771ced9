//! `cluebox-pageload`: how soon a reporter on a slow phone can use the portal, measured in
//! headless Chromium with DevTools' "Slow 4G" network (150 ms round trip, 1.6 Mbit/s down,
//! 750 kbit/s up) and a 4x CPU slowdown, each load cold (the browser cache emptied first).
//!
//! For `/report`: the moment the form's first step is drawn with its fields and the loading
//! block is gone (usable). For `/status`: the moment a lookup can run, the crypto worker configured
//! (`data-sealer="ready"`). For both: main-thread long tasks (the longest, and how many exceed
//! 200 ms) and the bytes the browser received (every response's `transferSize`: headers and
//! compressed bodies, the page included). Needs the built portal (`./scripts/test.sh`, or
//! `build_portal` in scripts/tools.sh).
//!
//! Run: `cargo run --release -p cluebox-e2e --bin cluebox-pageload -- --write docs/BENCHMARKS.md`

#![allow(clippy::print_stdout)]

use cluebox_e2e::{Browser, Device, Portal};
use serde_json::{Value, json};

const SAMPLES: usize = 10;
const SLOWDOWN: f64 = 4.0;

/// Installed before any page script: records when the page became usable and every long task.
const WATCH: &str = r#"
window.__cbx_load = { usable: null, tasks: [] };
try {
  new PerformanceObserver(list => {
    for (const e of list.getEntries()) window.__cbx_load.tasks.push([e.startTime, e.duration]);
  }).observe({ type: 'longtask', buffered: true });
} catch (e) {}
(function watch() {
  const ready = location.pathname === '/status'
    ? !!document.documentElement && document.documentElement.dataset.sealer === 'ready'
    : !document.getElementById('fallback') && document.querySelector('.step:not([hidden]) h2')
      && document.querySelector('.step:not([hidden]) :is(input, select, textarea)');
  if (ready && document.body) { window.__cbx_load.usable = performance.now(); return; }
  requestAnimationFrame(watch);
})();
"#;

/// One cold load: (usable ms, longest task ms, tasks over 200 ms, bytes received).
async fn sample(browser: &Browser, url: &str) -> anyhow::Result<(f64, f64, usize, u64)> {
    browser.cdp("Network.clearBrowserCache", json!({})).await?;
    browser.client.goto("about:blank").await?;
    browser.client.goto(url).await?;
    if let Err(e) = browser
        .wait_js("window.__cbx_load && window.__cbx_load.usable !== null")
        .await
    {
        let state = browser
            .client
            .execute("return [document.documentElement.outerHTML.slice(0, 300), String(window.__cbx_load && window.__cbx_load.usable)];", vec![])
            .await?;
        anyhow::bail!(
            "{e}: {state} {:?} {:?}",
            browser.problems().await?,
            browser.console_warnings().await?
        );
    }
    // Long tasks are reported a moment after they end.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let v: Value = browser
        .client
        .execute(
            "const l = window.__cbx_load; \
             const bytes = performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource')) \
               .filter(e => e.startTime <= l.usable).reduce((s, e) => s + (e.transferSize || 0), 0); \
             const files = performance.getEntriesByType('resource').filter(e => /\\.(wasm|js)$/.test(e.name)) \
               .map(e => [e.name.split('/').pop().slice(0, 24), Math.round(e.startTime), Math.round(e.responseEnd)]); \
             return { usable: l.usable, tasks: l.tasks, bytes, files };",
            vec![],
        )
        .await?;
    let timed: Vec<[f64; 2]> = serde_json::from_value(v["tasks"].clone())?;
    // Where the time goes, for whoever reads the run: each long task (start, duration) and
    // each script's and module's fetch (start, end), in ms from navigation.
    println!(
        "  usable at {:.0} ms; long tasks {:?}; fetched {}",
        v["usable"].as_f64().unwrap_or_default(),
        timed
            .iter()
            .map(|[start, duration]| (start.round() as u64, duration.round() as u64))
            .collect::<Vec<_>>(),
        v["files"]
    );
    let tasks: Vec<f64> = timed.iter().map(|t| t[1]).collect();
    let longest = tasks.iter().copied().fold(0.0, f64::max);
    let over = tasks.iter().filter(|t| **t > 200.0).count();
    Ok((
        v["usable"].as_f64().unwrap_or_default(),
        longest,
        over,
        v["bytes"].as_u64().unwrap_or_default(),
    ))
}

fn percentile(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let write = cluebox_e2e::write_arg();
    let portal = Portal::start("12337").await?;
    let browser = Browser::start(Device::Phone, "pageload").await?;
    browser
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": WATCH }),
        )
        .await?;
    browser.cdp("Network.enable", json!({})).await?;
    // DevTools' "Slow 4G" preset.
    browser
        .cdp(
            "Network.emulateNetworkConditions",
            json!({ "offline": false, "latency": 150, "downloadThroughput": 1.6 * 1024.0 * 1024.0 / 8.0 * 0.9, "uploadThroughput": 750.0 * 1024.0 / 8.0 * 0.9 }),
        )
        .await?;
    browser
        .cdp(
            "Emulation.setCPUThrottlingRate",
            json!({ "rate": SLOWDOWN }),
        )
        .await?;
    let mut rows = Vec::new();
    for (page, what) in [("/status", "lookup possible"), ("/report", "form usable")] {
        let url = format!("{}{page}", portal.base);
        let mut usable = Vec::new();
        let mut longest = Vec::new();
        let mut over = 0;
        let mut bytes = Vec::new();
        for _ in 0..SAMPLES {
            let (u, l, o, b) = sample(&browser, &url).await?;
            usable.push(u / 1000.0);
            longest.push(l);
            over += usize::from(o > 0);
            bytes.push(b as f64);
        }
        println!("{page}: usable {usable:?} s, longest tasks {longest:?} ms, bytes {bytes:?}");
        rows.push(format!(
            "| `{page}` | {what} | {:.2} s | {:.2} s | {:.2} s | {:.0} ms | {over} of {SAMPLES} | {:.0} |",
            percentile(&usable, 0.5),
            percentile(&usable, 0.75),
            percentile(&usable, 1.0),
            percentile(&longest, 1.0),
            percentile(&bytes, 0.5),
        ));
    }
    browser.close().await?;
    let block = format!(
        "<!-- bench:pageload -->\n\
         Headless Chromium (phone viewport), DevTools \"Slow 4G\" (150 ms round trip, 1.6 Mbit/s) and a \
         {SLOWDOWN}x CPU slowdown, {SAMPLES} cold loads each (cache emptied), the release build of the portal \
         served by the real server (demo mode, so with its banner):\n\n\
         | page | measured until | p50 | p75 | max | longest main-thread task | loads with a task over 200 ms | bytes received (median, headers included) |\n\
         |---|---|---|---|---|---|---|---|\n{}\n\n\
         Command: `cargo run --release -p cluebox-e2e --bin cluebox-pageload -- --write docs/BENCHMARKS.md`\n\
         <!-- /bench:pageload -->",
        rows.join("\n")
    );
    println!("{block}");
    if let Some(path) = write {
        cluebox_e2e::write_bench_block(&path, "pageload", &block)?;
    }
    Ok(())
}
