//! `cluebox-bench`: starts the real intake server (the same code as `cluebox`, SQLite with
//! `synchronous = FULL`) on loopback and measures, from a load generator in the same process:
//!
//! 1. durable report submissions: N connections posting sealed reports as fast as answers come
//!    back; only `201 Created` counts, and a 201 means the report was fsynced;
//! 2. inquiry lookups with the tokens of the reports just filed;
//! 3. lookups of unknown tokens, to compare their latency with known ones (timing oracle).
//!
//! It prints a Markdown section and, with `--write FILE`, replaces the block between
//! `<!-- bench:api -->` and `<!-- /bench:api -->` in that file (docs/BENCHMARKS.md).
//!
//! Run: `cargo run --release -p cluebox-bench -- --write docs/BENCHMARKS.md`

#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use clap::Parser;
use cluebox_protocol::envelope::{self, REPORT_LIMIT};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Load benchmark of the Cluebox intake server.
#[derive(Parser, Debug)]
struct Args {
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds of each measured phase.
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
    let addr = start_server(data.path(), args.server_threads)?;
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads)
        .enable_all()
        .build()?;
    let (submit, lookup, unknown, oracle, sealed_len) = client.block_on(run(&args, addr))?;
    let report = render(&args, &submit, &lookup, &unknown, &oracle, sealed_len);
    println!("{report}");
    if let Some(path) = &args.write {
        cluebox_bench::write_block(path, "api", &report)?;
        println!("(written to {})", path.display());
    }
    Ok(())
}

/// The real server on its own runtime and threads, on a free loopback port.
fn start_server(data: &std::path::Path, threads: usize) -> anyhow::Result<SocketAddr> {
    let config = cluebox_api::config::Config {
        data_dir: data.join("data"),
        site_dir: data.join("no-site"),
        log: "warn".into(),
        ..Default::default()
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
            .expect("server runtime");
        runtime.block_on(async move {
            let state = cluebox_api::build_state(&config).expect("server state");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send((listener.local_addr().expect("addr"), state.clone()))
                .expect("send");
            cluebox_api::launch(listener, state, std::future::pending())
                .await
                .expect("serve");
        });
    });
    let (addr, _state) = rx
        .recv_timeout(Duration::from_secs(30))
        .context("server did not start")?;
    Ok(addr)
}

async fn run(
    args: &Args,
    addr: SocketAddr,
) -> anyhow::Result<(Phase, Phase, Phase, (Phase, Phase), usize)> {
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

    // Warm up, then measure submissions.
    let _ = submissions(
        addr,
        args.connections,
        Duration::from_secs(2),
        bodies.clone(),
    )
    .await?;
    let (submit, tokens) = submissions(
        addr,
        args.connections,
        Duration::from_secs(args.seconds),
        bodies,
    )
    .await?;

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
    Ok((submit, lookup, unknown, oracle, sealed_len))
}

type Conn = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> anyhow::Result<Conn> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

async fn send(
    conn: &mut Conn,
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Bytes,
) -> anyhow::Result<(u16, Bytes)> {
    conn.ready().await?;
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
        .header("content-type", "application/json")
        .body(Full::new(body))?;
    let res = conn.send_request(req).await?;
    let status = res.status().as_u16();
    let body = res.into_body().collect().await?.to_bytes();
    Ok((status, body))
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
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for c in 0..connections {
        let bodies = bodies.clone();
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
                    tokens.push(token);
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
    Ok((phase, all_tokens))
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
    lookup: &Phase,
    unknown: &Phase,
    (oracle_known, oracle_unknown): &(Phase, Phase),
    sealed_len: usize,
) -> String {
    let row = |name: &str, p: &Phase, target: &str| {
        format!(
            "| {name} | {:.0}/s | {:.1} ms | {:.1} ms | {:.1} ms | {} | {target} |",
            p.rate(),
            p.ms(0.5),
            p.ms(0.99),
            p.latency.max() as f64 / 1000.0,
            p.errors
        )
    };
    format!(
        "<!-- bench:api -->\n\
         Machine: {machine}. Server and load generator in one process on loopback: server {st} \
         worker threads, client {ct}; {conns} keep-alive connections; {secs} s per phase after a \
         2 s warm-up. Reports: {rb} bytes of plaintext, sealed to the demo office key \
         ({sealed} bytes sealed, the 16 KiB class). SQLite WAL, `synchronous = FULL`: a 201 means fsynced.\n\n\
         | phase | rate | p50 | p99 | max | errors | target |\n\
         |---|---|---|---|---|---|---|\n\
         {r1}\n{r2}\n{r3}\n\n\
         Timing of a single lookup with no other load (one connection, known and unknown tokens \
         alternating, {n} each), which is what a timing attacker sees:\n\n\
         | token | p50 | p90 | p99 |\n|---|---|---|---|\n\
         | known (200) | {k50:.3} ms | {k90:.3} ms | {k99:.3} ms |\n\
         | unknown (404) | {u50:.3} ms | {u90:.3} ms | {u99:.3} ms |\n\n\
         Command: `cargo run --release -p cluebox-bench -- --write docs/BENCHMARKS.md`\n\
         <!-- /bench:api -->",
        machine = machine(),
        st = args.server_threads,
        ct = args.client_threads,
        conns = args.connections,
        secs = args.seconds,
        rb = args.report_bytes,
        sealed = sealed_len,
        r1 = row(
            "durable submissions (201)",
            submit,
            ">= 5,000/s, p99 < 50 ms"
        ),
        r2 = row("lookups, known token (200)", lookup, ">= 20,000/s"),
        r3 = row("lookups, unknown token (404)", unknown, "(saturated)"),
        n = oracle_known.ok,
        k50 = oracle_known.ms(0.5),
        k90 = oracle_known.ms(0.9),
        k99 = oracle_known.ms(0.99),
        u50 = oracle_unknown.ms(0.5),
        u90 = oracle_unknown.ms(0.9),
        u99 = oracle_unknown.ms(0.99),
    )
}
