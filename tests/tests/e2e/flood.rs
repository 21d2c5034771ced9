//! A flood while a real person reports: a botnet (many loopback addresses) posting the largest
//! reports it can, with and without solving the proof of work, while a phone files a report in
//! Chromium. The real report gets through, the flood stores no more than the daily quota, and
//! the server keeps answering.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use cluebox_e2e::{Browser, Device, Portal};
use cluebox_protocol::envelope::{self, REPORT_LIMIT};
use cluebox_protocol::wire::Challenge;

/// How long the flood lasts; the real report is filed in its middle.
const FLOOD: Duration = Duration::from_secs(60);
const QUOTA: u64 = 48 << 20;

#[derive(Default)]
struct Tally {
    created: AtomicU64,
    refused: AtomicU64,
    other: AtomicU64,
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).unwrap();
    b
}

/// One bot: posts the largest reports it can from a new address each time; with `solve`, it
/// solves each challenge first (one attacker core), otherwise it sends none.
async fn bot(
    base: String,
    body: Arc<String>,
    solve: bool,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
    first: u8,
) {
    let mut n = 0u32;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let source: IpAddr = [127, 1, first, (n % 250) as u8 + 1].into();
        let Ok(http) = reqwest::Client::builder()
            .local_address(source)
            .timeout(Duration::from_secs(20))
            .build()
        else {
            continue;
        };
        let pow = if solve {
            let Ok(res) = http.get(format!("{base}/api/v1/challenge")).send().await else {
                continue;
            };
            let Ok(c) = res.json::<Challenge>().await else {
                continue;
            };
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&c.challenge)
                .unwrap();
            let d = c.difficulty;
            let nonce = tokio::task::spawn_blocking(move || {
                cluebox_protocol::pow::solve(&bytes, d, 0, u64::MAX)
            })
            .await
            .unwrap();
            nonce.map(|nonce| {
                format!(
                    r#","pow":{{"challenge":"{}","nonce":{nonce}}}"#,
                    c.challenge
                )
            })
        } else {
            None
        };
        let json = format!(
            r#"{{"v":1,"sealed":"{}","lookup_token":"{}","idempotency_key":"{}"{}}}"#,
            body,
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random::<32>()),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random::<16>()),
            pow.unwrap_or_default()
        );
        let res = http
            .post(format!("{base}/api/v1/reports"))
            .header("content-type", "application/json")
            .body(json)
            .send()
            .await;
        match res.map(|r| r.status().as_u16()) {
            Ok(201) => tally.created.fetch_add(1, Ordering::Relaxed),
            Ok(403 | 429 | 503 | 507) => tally.refused.fetch_add(1, Ordering::Relaxed),
            _ => tally.other.fetch_add(1, Ordering::Relaxed),
        };
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_cannot_drown_a_real_report_or_fill_the_disk() -> anyhow::Result<()> {
    let portal = Portal::start_with("12337", |config| {
        config.flood.daily_storage_bytes = QUOTA;
    })
    .await?;
    let profile = portal.state.profile.clone();
    // The largest report there is: a 256 KiB size class, sealed once and sent again and again
    // (the server cannot tell).
    let sealed = envelope::seal(
        &profile.recipients.national,
        &vec![b'x'; REPORT_LIMIT - 1],
        REPORT_LIMIT,
    )?;
    let body = Arc::new(base64::engine::general_purpose::STANDARD.encode(&sealed));
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let mut bots = Vec::new();
    for (i, solve) in [true, false, false, false].into_iter().enumerate() {
        bots.push(tokio::spawn(bot(
            portal.base.clone(),
            body.clone(),
            solve,
            stop.clone(),
            tally.clone(),
            i as u8,
        )));
    }
    // The server keeps answering: a health probe every half second, slowest answer kept.
    let probe = {
        let (base, stop) = (portal.base.clone(), stop.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut slowest = Duration::ZERO;
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let ok = http
                    .get(format!("{base}/healthz"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200);
                assert!(ok, "healthz failed during the flood");
                slowest = slowest.max(started.elapsed());
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            slowest
        })
    };
    let started = Instant::now();
    tokio::time::sleep(FLOOD / 3).await;

    // A real reporter on a phone, in the middle of the flood.
    let browser = Browser::start(Device::Phone, "flood").await?;
    browser
        .walk_to_submit(&portal.base, "FLOOD-REAL-REPORT 赌场夜里营业")
        .await?;
    browser.wait("#submit").await?.click().await?;
    let code = browser.text("#inquiry-code").await?;
    anyhow::ensure!(code.len() == 24, "{code}");
    browser.screenshot("receipt-during-flood").await?;

    if let Some(rest) = FLOOD.checked_sub(started.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    stop.store(true, Ordering::Relaxed);
    let slowest = probe.await?;
    for bot in bots {
        let _ = tokio::time::timeout(Duration::from_secs(30), bot).await;
    }
    let stored = portal.state.store.stored_since(0).await?;
    let (created, refused, other) = (
        tally.created.load(Ordering::Relaxed),
        tally.refused.load(Ordering::Relaxed),
        tally.other.load(Ordering::Relaxed),
    );
    #[allow(clippy::print_stdout)]
    {
        println!(
            "flood: {created} stored, {refused} refused, {other} other; {stored} bytes stored; slowest health answer {slowest:?}"
        );
    }
    anyhow::ensure!(
        refused > created,
        "the flood was mostly refused: {created} stored, {refused} refused"
    );
    anyhow::ensure!(
        stored <= QUOTA,
        "{stored} bytes stored against a quota of {QUOTA}"
    );
    anyhow::ensure!(
        slowest < Duration::from_secs(2),
        "the server stalled: {slowest:?}"
    );
    // The real report is among what was stored (the flood's bodies are not letters: the desk
    // would set them aside).
    let office = cluebox_protocol::keys::SecretKey::from_secret_text(&std::fs::read_to_string(
        portal.data.join("demo-office.key"),
    )?)?;
    let mut found = false;
    for item in portal.state.store.inbox(0, 1000).await? {
        let Some(entry) = portal.state.store.inbox_entry(item.seq).await? else {
            continue;
        };
        let Ok(body) = envelope::open(&office, &entry.sealed.0) else {
            continue;
        };
        if let Ok(cluebox_protocol::letter::Letter::Report(r)) =
            cluebox_protocol::letter::Letter::from_bytes(&body)
        {
            found |= r.answer("situation", "what").is_some_and(|a| {
                matches!(a, cluebox_protocol::letter::Answer::Given(t) if t.contains("FLOOD-REAL-REPORT"))
            });
        }
    }
    anyhow::ensure!(found, "the real report is among what was stored");
    browser.close().await
}
