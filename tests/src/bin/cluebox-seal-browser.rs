//! `cluebox-seal-browser`: a large evidence file attached in the real form in headless Chromium,
//! sealed by the crypto worker a piece at a time and uploaded over loopback to the real server
//! (fsynced pieces), without a CPU slowdown and at a 4x one.
//!
//! Measured, per run: the wall time from choosing the file to the form showing it stored (the
//! worker seals and uploads at once, so this is sealing and uploading together: the sealing rate
//! is at least this), the browser's memory growth (the summed proportional set size of every
//! Chromium process, sampled every 50 ms, peak minus before) and the server's (this process's)
//! resident memory before and at its peak. The file is sparse zeros on disk: reading it costs
//! the browser nothing, sealing costs what any bytes cost.
//!
//! Run: `cargo run --release -p cluebox-e2e --bin cluebox-seal-browser -- --write docs/BENCHMARKS.md`
//! (`--mib N` for another size; 1024 by default).

#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use cluebox_e2e::{Browser, Device, Portal};
use serde_json::json;

/// This process's resident memory, in bytes.
fn own_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

struct Run {
    slowdown: f64,
    seconds: f64,
    browser_before: u64,
    browser_peak: u64,
    server_before: u64,
    server_peak: u64,
    /// Seconds the page's main thread was busy (tasks), and in scripts, while the file went.
    main_busy: f64,
    main_script: f64,
}

async fn run(portal: &Portal, file: &std::path::Path, slowdown: f64) -> anyhow::Result<Run> {
    let browser = Browser::start(Device::Desktop, "seal-bench").await?;
    let c = &browser.client;
    let input = browser.files_step(&portal.base).await?;
    // Let the picker's worker start and the page settle before the baseline.
    tokio::time::sleep(Duration::from_secs(2)).await;
    browser
        .cdp(
            "Emulation.setCPUThrottlingRate",
            json!({ "rate": slowdown }),
        )
        .await?;
    browser.cdp("Performance.enable", json!({})).await?;
    let main_before = main_thread(&browser).await?;
    let browser_before = browser.memory();
    let server_before = own_rss();
    let (mut browser_peak, mut server_peak) = (browser_before, server_before);
    let started = Instant::now();
    input.send_keys(&file.to_string_lossy()).await?;
    loop {
        browser_peak = browser_peak.max(browser.memory());
        server_peak = server_peak.max(own_rss());
        // One script per look (each WebDriver script runs on the page's main thread, which the
        // figures count), memory twice as often.
        tokio::time::sleep(Duration::from_millis(50)).await;
        browser_peak = browser_peak.max(browser.memory());
        let state = c
            .execute(
                "return document.querySelector('.file.stored') ? 'stored' \
                 : (document.querySelector('.file.failed .what')?.textContent || null);",
                vec![],
            )
            .await?;
        if state == json!("stored") {
            break;
        }
        anyhow::ensure!(state.is_null(), "the upload failed: {state}");
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(1800),
            "not stored after 30 minutes"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let main_after = main_thread(&browser).await?;
    browser.close().await?;
    Ok(Run {
        slowdown,
        seconds,
        browser_before,
        browser_peak,
        server_before,
        server_peak,
        main_busy: main_after.0 - main_before.0,
        main_script: main_after.1 - main_before.1,
    })
}

/// The page's main thread so far, from DevTools' Performance metrics: seconds spent in tasks,
/// and in scripts among them.
async fn main_thread(browser: &Browser) -> anyhow::Result<(f64, f64)> {
    let metrics = browser.cdp("Performance.getMetrics", json!({})).await?;
    let metric = |name: &str| {
        metrics["metrics"]
            .as_array()
            .and_then(|all| all.iter().find(|m| m["name"] == name))
            .and_then(|m| m["value"].as_f64())
            .unwrap_or(0.0)
    };
    Ok((metric("TaskDuration"), metric("ScriptDuration")))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let write = cluebox_e2e::write_arg();
    let args: Vec<String> = std::env::args().collect();
    let mib: u64 = args
        .iter()
        .position(|a| a == "--mib")
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse())
        .transpose()?
        .unwrap_or(1024);
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("recording.bin");
    std::fs::File::create(&file)?.set_len(mib << 20)?;
    // The byte-rate ceiling protects a real server from a flood; here it would measure itself.
    let portal = Portal::start_with("12337", |c| {
        c.flood.max_submission_bytes_per_sec = 0;
        c.flood.min_free_bytes = 32 << 20;
    })
    .await?;
    let mut rows = Vec::new();
    for slowdown in [1.0, 4.0] {
        let r = run(&portal, &file, slowdown).await?;
        let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
        println!(
            "{mib} MiB at {}x: {:.1} s, {:.1} MiB/s; browser {:.0} -> {:.0} MiB; server {:.0} -> {:.0} MiB; page main thread busy {:.1} s (scripts {:.1} s)",
            r.slowdown,
            r.seconds,
            mib as f64 / r.seconds,
            mb(r.browser_before),
            mb(r.browser_peak),
            mb(r.server_before),
            mb(r.server_peak),
            r.main_busy,
            r.main_script
        );
        rows.push(format!(
            "| {}x | {:.1} s | {:.1} MiB/s | {:.0} MiB | +{:.0} MiB | {:.0} MiB | {:.0} MiB | {:.1} s |",
            r.slowdown,
            r.seconds,
            mib as f64 / r.seconds,
            mb(r.browser_before),
            mb(r.browser_peak.saturating_sub(r.browser_before)),
            mb(r.server_before),
            mb(r.server_peak),
            r.main_busy,
        ));
    }
    let block = format!(
        "<!-- bench:seal-browser -->\n\
         A {mib} MiB file attached in the form in headless Chromium (desktop), cleaned (not a \
         type that can be), sealed by the crypto worker in pieces (1 MiB at first, doubling to \
         4 MiB while each is acknowledged within a second; the next one sealed while the last \
         one uploads) and uploaded over loopback to the real server, each piece fsynced before \
         its answer. Wall time from choosing the \
         file to the form showing it stored (sealing and uploading together); Chromium's memory \
         as the summed proportional set size of all its processes, sampled every 50 ms; the \
         server's resident memory (the benchmark's own process); the page's main thread's busy \
         time (DevTools' TaskDuration) while the file went:\n\n\
         | CPU slowdown | wall time | sealed and uploaded | browser before | browser growth (peak) | server before | server peak | page main thread busy |\n\
         |---|---|---|---|---|---|---|---|\n{}\n\n\
         Command: `cargo run --release -p cluebox-e2e --bin cluebox-seal-browser -- --write docs/BENCHMARKS.md`\n\
         <!-- /bench:seal-browser -->",
        rows.join("\n")
    );
    println!("{block}");
    if let Some(path) = write {
        cluebox_e2e::write_bench_block(&path, "seal-browser", &block)?;
    }
    Ok(())
}
