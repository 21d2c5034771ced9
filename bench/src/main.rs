//! `cluebox-bench`: starts the real intake server (the same code as `cluebox`, SQLite with
//! `synchronous = FULL`) on loopback and measures, from a load generator in the same process:
//!
//! 1. durable report submissions: N connections posting sealed reports as fast as answers come
//!    back, for `--duration` seconds (sustained: 300 for the recorded figures); only
//!    `201 Created` counts, and a 201 means the report was fsynced. It records the rate per
//!    10-second window, every second's commits (a second without one is a stall), p50 to max,
//!    and the peaks of the WAL file and of the process's resident memory;
//! 2. inquiry lookups with the tokens of the reports just filed;
//! 3. lookups of unknown tokens, to compare their latency with known ones (timing oracle).
//!
//! It prints a Markdown section and, with `--write FILE`, replaces the block between
//! `<!-- bench:api -->` and `<!-- /bench:api -->` in that file (docs/BENCHMARKS.md).
//!
//! Run: `cargo run --release -p cluebox-bench -- --duration 300 --write docs/BENCHMARKS.md`

#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use clap::Parser;
use cluebox_bench::{connect, send};
use cluebox_protocol::envelope::{self, REPORT_LIMIT};
use hdrhistogram::Histogram;

/// Load benchmark of the Cluebox intake server.
#[derive(Parser, Debug)]
struct Args {
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds of the sustained submission phase.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Seconds of each lookup phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Bytes of report plaintext (8 KiB pads to the 16 KiB size class).
    #[arg(long, default_value_t = 8192)]
    report_bytes: usize,
    /// Server worker threads.
    #[arg(long, default_value_t = 2)]
    server_threads: usize,
    /// Load-generator threads.
    #[arg(long, default_value_t = 2)]
    client_threads: usize,
    /// Replace the `bench:api` block of this Markdown file with the results.
    #[arg(long)]
    write: Option<std::path::PathBuf>,
}

struct Phase {
    ok: u64,
    errors: u64,
    elapsed: Duration,
    latency: Histogram<u64>,
}

/// What the sustained phase saw besides latencies.
#[derive(Default)]
struct Sustained {
    /// 201s in each second of the phase.
    per_second: Vec<u64>,
    /// The largest WAL file seen, in bytes.
    wal_peak: u64,
    /// The largest resident memory of this process (server and load generator), in bytes.
    rss_peak: u64,
    /// The database file at the end, in bytes.
    db_bytes: u64,
}

/// Samples the WAL size and this process's RSS every 100 ms until `stop` is set.
fn sample(
    wal: std::path::PathBuf,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<(u64, u64)> {
    std::thread::spawn(move || {
        let (mut wal_peak, mut rss_peak) = (0u64, 0u64);
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            wal_peak = wal_peak.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
            rss_peak = rss_peak.max(rss_bytes());
            std::thread::sleep(Duration::from_millis(100));
        }
        (wal_peak, rss_peak)
    })
}

/// This process's resident set size.
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

impl Phase {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    fn ms(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1000.0
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let data = tempfile::tempdir()?;
    let addr = cluebox_bench::start_server(data.path(), args.server_threads)?;
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads)
        .enable_all()
        .build()?;
    let db = data.path().join("data/cluebox.sqlite3");
    let (submit, sustained, lookup, unknown, oracle, sealed_len) =
        client.block_on(run(&args, addr, &db))?;
    let report = render(
        &args, &submit, &sustained, &lookup, &unknown, &oracle, sealed_len,
    );
    println!("{report}");
    if let Some(path) = &args.write {
        cluebox_bench::write_block(path, "api", &report)?;
        println!("(written to {})", path.display());
    }
    Ok(())
}

type Results = (Phase, Sustained, Phase, Phase, (Phase, Phase), usize);

async fn run(args: &Args, addr: SocketAddr, db: &std::path::Path) -> anyhow::Result<Results> {
    // The profile's recipients, as a browser would fetch them.
    let mut conn = connect(addr).await?;
    let (status, body) = send(&mut conn, addr, "GET", "/api/v1/profile", Bytes::new()).await?;
    anyhow::ensure!(status == 200, "profile: {status}");
    let profile: cluebox_protocol::profile::PublicProfile = serde_json::from_slice(&body)?;
    let recipients = profile.recipients.national.clone();

    // A few sealed reports to reuse (the server neither knows nor cares that bodies repeat).
    let plaintext = vec![b'x'; args.report_bytes];
    let sealed: Vec<String> = (0..16)
        .map(|_| {
            STANDARD.encode(envelope::seal(&recipients, &plaintext, REPORT_LIMIT).expect("seal"))
        })
        .collect();
    let sealed_len = STANDARD.decode(&sealed[0])?.len();
    let bodies = Arc::new(sealed);

    // Warm up, then measure submissions, sustained.
    let _ = submissions(
        addr,
        args.connections,
        Duration::from_secs(2),
        bodies.clone(),
    )
    .await?;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = sample(db.with_extension("sqlite3-wal"), stop.clone());
    let (submit, per_second, tokens) = submissions_counted(
        addr,
        args.connections,
        Duration::from_secs(args.duration),
        bodies,
    )
    .await?;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (wal_peak, rss_peak) = sampler.join().expect("sampler");
    let sustained = Sustained {
        per_second,
        wal_peak,
        rss_peak,
        db_bytes: std::fs::metadata(db).map_or(0, |m| m.len()),
    };

    // Lookups of known tokens, then unknown ones.
    let tokens = Arc::new(tokens);
    let lookup = lookups(
        addr,
        args.connections,
        Duration::from_secs(args.seconds),
        tokens.clone(),
        false,
    )
    .await?;
    let unknown = lookups(
        addr,
        args.connections,
        Duration::from_secs(args.seconds.min(5)),
        tokens.clone(),
        true,
    )
    .await?;
    let oracle = timing_oracle(addr, &tokens, 3000).await?;
    Ok((submit, sustained, lookup, unknown, oracle, sealed_len))
}

fn random_b64<const N: usize>() -> String {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("random");
    URL_SAFE_NO_PAD.encode(b)
}

async fn submissions(
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
    bodies: Arc<Vec<String>>,
) -> anyhow::Result<(Phase, Vec<String>)> {
    submissions_counted(addr, connections, duration, bodies)
        .await
        .map(|(phase, _, tokens)| (phase, tokens))
}

/// [`submissions`], also counting the 201s of each second.
async fn submissions_counted(
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
    bodies: Arc<Vec<String>>,
) -> anyhow::Result<(Phase, Vec<u64>, Vec<String>)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    let seconds = usize::try_from(duration.as_secs()).unwrap_or(0) + 2;
    let counts: Arc<Vec<AtomicU64>> = Arc::new((0..seconds).map(|_| AtomicU64::new(0)).collect());
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (bodies, counts) = (bodies.clone(), counts.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = connect(addr).await?;
            let mut hist = Histogram::<u64>::new(3)?;
            let (mut ok, mut errors, mut tokens) = (0u64, 0u64, Vec::new());
            let mut i = c;
            while Instant::now() < deadline {
                let token = random_b64::<32>();
                let body = format!(
                    r#"{{"v":1,"sealed":"{}","lookup_token":"{}","idempotency_key":"{}"}}"#,
                    bodies[i % bodies.len()],
                    token,
                    random_b64::<16>()
                );
                i += 1;
                let sent = Instant::now();
                let (status, _) =
                    send(&mut conn, addr, "POST", "/api/v1/reports", body.into()).await?;
                if status == 201 {
                    hist.record(sent.elapsed().as_micros() as u64)?;
                    ok += 1;
                    if let Some(n) = counts.get(start.elapsed().as_secs() as usize) {
                        n.fetch_add(1, Ordering::Relaxed);
                    }
                    if tokens.len() < 200_000 {
                        tokens.push(token);
                    }
                } else {
                    errors += 1;
                }
            }
            anyhow::Ok((hist, ok, errors, tokens))
        }));
    }
    let mut phase = Phase {
        ok: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latency: Histogram::new(3)?,
    };
    let mut all_tokens = Vec::new();
    for t in tasks {
        let (hist, ok, errors, tokens) = t.await??;
        phase.latency.add(hist)?;
        phase.ok += ok;
        phase.errors += errors;
        all_tokens.extend(tokens);
    }
    phase.elapsed = start.elapsed();
    let whole = usize::try_from(phase.elapsed.as_secs())
        .unwrap_or(0)
        .min(seconds);
    let per_second = counts[..whole]
        .iter()
        .map(|n| n.load(Ordering::Relaxed))
        .collect();
    Ok((phase, per_second, all_tokens))
}

async fn lookups(
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
    tokens: Arc<Vec<String>>,
    unknown: bool,
) -> anyhow::Result<Phase> {
    anyhow::ensure!(!tokens.is_empty(), "no reports were filed");
    let start = Instant::now();
    let deadline = start + duration;
    let expected = if unknown { 404 } else { 200 };
    let mut tasks = Vec::new();
    for c in 0..connections {
        let tokens = tokens.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = connect(addr).await?;
            let mut hist = Histogram::<u64>::new(3)?;
            let (mut ok, mut errors) = (0u64, 0u64);
            let mut i = c * 7919;
            while Instant::now() < deadline {
                let token = if unknown {
                    random_b64::<32>()
                } else {
                    tokens[i % tokens.len()].clone()
                };
                i += 1;
                let body = format!(r#"{{"v":1,"lookup_token":"{token}"}}"#);
                let sent = Instant::now();
                let (status, _) =
                    send(&mut conn, addr, "POST", "/api/v1/inquiries", body.into()).await?;
                if status == expected {
                    hist.record(sent.elapsed().as_micros() as u64)?;
                    ok += 1;
                } else {
                    errors += 1;
                }
            }
            anyhow::Ok((hist, ok, errors))
        }));
    }
    let mut phase = Phase {
        ok: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latency: Histogram::new(3)?,
    };
    for t in tasks {
        let (hist, ok, errors) = t.await??;
        phase.latency.add(hist)?;
        phase.ok += ok;
        phase.errors += errors;
    }
    phase.elapsed = start.elapsed();
    Ok(phase)
}

/// One connection, no other load: known and unknown tokens alternately, so their latencies are
/// measured under the same conditions. This is what a timing attacker could observe.
async fn timing_oracle(
    addr: SocketAddr,
    tokens: &[String],
    rounds: usize,
) -> anyhow::Result<(Phase, Phase)> {
    let mut conn = connect(addr).await?;
    let mut known = Phase {
        ok: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latency: Histogram::new(3)?,
    };
    let mut unknown = Phase {
        ok: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latency: Histogram::new(3)?,
    };
    for i in 0..rounds * 2 {
        let (token, expected, phase) = if i % 2 == 0 {
            (tokens[i % tokens.len()].clone(), 200, &mut known)
        } else {
            (random_b64::<32>(), 404, &mut unknown)
        };
        let body = format!(r#"{{"v":1,"lookup_token":"{token}"}}"#);
        let sent = Instant::now();
        let (status, _) = send(&mut conn, addr, "POST", "/api/v1/inquiries", body.into()).await?;
        let took = sent.elapsed();
        phase.elapsed += took;
        if status == expected {
            phase.latency.record(took.as_micros() as u64)?;
            phase.ok += 1;
        } else {
            phase.errors += 1;
        }
    }
    Ok((known, unknown))
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cores} cores ({cpu}), {mem_gib:.0} GiB RAM, Linux {}",
        kernel.trim()
    )
}

fn render(
    args: &Args,
    submit: &Phase,
    sustained: &Sustained,
    lookup: &Phase,
    unknown: &Phase,
    (oracle_known, oracle_unknown): &(Phase, Phase),
    sealed_len: usize,
) -> String {
    let row = |name: &str, p: &Phase, target: &str| {
        format!(
            "| {name} | {:.0}/s | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {} | {target} |",
            p.rate(),
            p.ms(0.5),
            p.ms(0.99),
            p.ms(0.999),
            p.latency.max() as f64 / 1000.0,
            p.errors
        )
    };
    let windows: Vec<String> = sustained
        .per_second
        .chunks(10)
        .map(|w| format!("{:.0}", w.iter().sum::<u64>() as f64 / w.len() as f64))
        .collect();
    let slowest = sustained.per_second.iter().min().copied().unwrap_or(0);
    let stalls = sustained.per_second.iter().filter(|&&n| n == 0).count();
    let mib = |b: u64| b as f64 / 1024.0 / 1024.0;
    format!(
        "<!-- bench:api -->\n\
         Machine: {machine}. Server and load generator in one process on loopback: server {st} \
         worker threads, client {ct}; {conns} keep-alive connections. Submissions: {dur} s \
         sustained after a 2 s warm-up; lookups {secs} s per phase. Reports: {rb} bytes of \
         plaintext, sealed to the demo office key ({sealed} bytes sealed, the 16 KiB class). \
         SQLite WAL, `synchronous = FULL`: a 201 means fsynced.\n\n\
         | phase | rate | p50 | p99 | p99.9 | max | errors | target |\n\
         |---|---|---|---|---|---|---|---|\n\
         {r1}\n{r2}\n{r3}\n\n\
         Submissions per second, each 10-second window in order: {windows}.\n\n\
         Slowest second: {slowest} commits; seconds without a commit: {stalls}. Peak WAL file: \
         {wal:.0} MiB (target at most 512 MiB); peak resident memory of the process (server \
         and load generator together): {rss:.0} MiB; database at the end: {db:.0} MiB.\n\n\
         Timing of a single lookup with no other load (one connection, known and unknown tokens \
         alternating, {n} each), which is what a timing attacker sees:\n\n\
         | token | p50 | p90 | p99 |\n|---|---|---|---|\n\
         | known (200) | {k50:.3} ms | {k90:.3} ms | {k99:.3} ms |\n\
         | unknown (404) | {u50:.3} ms | {u90:.3} ms | {u99:.3} ms |\n\n\
         Command: `cargo run --release -p cluebox-bench -- --duration {dur} --write docs/BENCHMARKS.md`\n\
         <!-- /bench:api -->",
        machine = machine(),
        st = args.server_threads,
        ct = args.client_threads,
        conns = args.connections,
        dur = args.duration,
        secs = args.seconds,
        rb = args.report_bytes,
        sealed = sealed_len,
        r1 = row(
            "durable submissions (201), sustained",
            submit,
            ">= 5,000/s, p99 <= 50 ms, max <= 500 ms"
        ),
        r2 = row("lookups, known token (200)", lookup, ">= 20,000/s"),
        r3 = row("lookups, unknown token (404)", unknown, "(saturated)"),
        windows = windows.join(", "),
        wal = mib(sustained.wal_peak),
        rss = mib(sustained.rss_peak),
        db = mib(sustained.db_bytes),
        n = oracle_known.ok,
        k50 = oracle_known.ms(0.5),
        k90 = oracle_known.ms(0.9),
        k99 = oracle_known.ms(0.99),
        u50 = oracle_unknown.ms(0.5),
        u90 = oracle_unknown.ms(0.9),
        u99 = oracle_unknown.ms(0.99),
    )
}
