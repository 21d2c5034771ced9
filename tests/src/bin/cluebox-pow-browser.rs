//! `cluebox-pow-browser`: what the proof of work costs a reporter on a slow phone, measured in
//! headless Chromium at a 4x CPU slowdown (DevTools' "mid-tier mobile").
//!
//! The crypto worker solves its challenge in the background from the moment the form loads, so
//! a reporter who types for a minute never waits for it (at the usual difficulty the sample
//! below does not wait either, even clicking straight through). To see the solve's cost it is
//! measured at 3 bits more (8x the expected work, so it cannot hide behind the clicks): each
//! sample opens the form, clicks straight to submit (every field blank), and times the
//! navigation until the receipt shows, with that difficulty and with none. The solve runs in
//! the worker beside the clicks, so the difference of the medians is a lower bound of its time
//! and the difference plus the clicking time an upper bound; the usual difficulty costs an
//! eighth of either. Needs the built portal (`./scripts/test.sh`, or `build_portal` in
//! scripts/tools.sh).
//!
//! Run: `cargo run --release -p cluebox-e2e --bin cluebox-pow-browser -- --write docs/BENCHMARKS.md`

#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use cluebox_e2e::{Browser, Device, Portal};

const SAMPLES: usize = 12;
const SLOWDOWN: f64 = 4.0;

/// (navigation to receipt, navigation to the click on submit).
async fn sample(portal: &Portal, browser: &Browser) -> anyhow::Result<(Duration, Duration)> {
    let started = Instant::now();
    browser.walk_to_submit(&portal.base, "").await?;
    let submit = browser.wait("#submit").await?;
    let clicked = started.elapsed();
    submit.click().await?;
    browser.wait("#inquiry-code").await?;
    Ok((started.elapsed(), clicked))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let write = cluebox_e2e::write_arg();
    let usual = cluebox_api::config::FloodSettings::default().pow_bits;
    let harder = usual + 3;
    let mut medians = Vec::new();
    let mut clicks = Vec::new();
    for bits in [0, harder] {
        let portal = Portal::start_with("12337", |c| {
            c.flood.pow_bits = bits;
            c.flood.submissions_per_client_per_minute = 1000;
        })
        .await?;
        let browser = Browser::start(Device::Phone, &format!("pow-{bits}")).await?;
        browser
            .cdp(
                "Emulation.setCPUThrottlingRate",
                serde_json::json!({ "rate": SLOWDOWN }),
            )
            .await?;
        let mut times = Vec::new();
        for _ in 0..SAMPLES {
            let (total, click) = sample(&portal, &browser).await?;
            times.push(total);
            clicks.push(click);
        }
        println!("difficulty {bits}: {times:?}");
        medians.push(median(times));
        browser.close().await?;
    }
    let (without, with) = (medians[0], medians[1]);
    let clicking = median(clicks);
    let low = with.saturating_sub(without).as_secs_f64();
    let high = low + clicking.as_secs_f64();
    let block = format!(
        "<!-- bench:pow-browser -->\n\
         Headless Chromium (phone viewport) at a {SLOWDOWN}x CPU slowdown, the release build of the \
         portal, {SAMPLES} samples each: navigation to receipt, clicking straight through a blank \
         form (median clicking time {click:.2} s). Median **{without:.2} s without proof of work, \
         {with:.2} s at {harder} bits**, so a {harder}-bit solve takes {low:.2} to {high:.2} s on a \
         slow phone, and the usual {usual} bits (an eighth of the work) **{low8:.2} to {high8:.2} s** \
         (the goal: under 1 s), paid in the background while a reporter types.\n\n\
         Command: `cargo run --release -p cluebox-e2e --bin cluebox-pow-browser -- --write docs/BENCHMARKS.md`\n\
         <!-- /bench:pow-browser -->",
        click = clicking.as_secs_f64(),
        without = without.as_secs_f64(),
        with = with.as_secs_f64(),
        low8 = low / 8.0,
        high8 = high / 8.0,
    );
    println!("{block}");
    if let Some(path) = write {
        cluebox_e2e::write_bench_block(&path, "pow-browser", &block)?;
    }
    Ok(())
}
