//! `cluebox-ingest`: how fast the real server takes evidence files, durably. It starts the
//! server (the same code as `cluebox`) on loopback, seals one file of `--file-mib` to the
//! profile's office key, and has `--connections` clients upload it again and again for
//! `--duration` seconds, a `--piece-mib` piece per `PATCH` as the browser does; each piece is
//! answered only after it is fsynced. Each complete upload is checked (its SHA-256 recorded by
//! the server) and deleted, so the disk does not fill. It reports MiB/s of sealed bytes stored,
//! per-piece latency (p50, p99, max), completed files, and the process's resident memory
//! before and after (flat: pieces are never held beyond one request).
//!
//! Run: `cargo run --release -p cluebox-bench --bin cluebox-ingest -- --duration 300 --write docs/BENCHMARKS.md`

#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use cluebox_bench::{connect, send, send_with};
use cluebox_protocol::evidence::{Cleaning, FileHeader};
use hdrhistogram::Histogram;

/// Evidence file ingest benchmark.
#[derive(Parser, Debug)]
struct Args {
    /// Seconds to upload for (300 for the recorded figures).
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Clients uploading at once.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// The file's size in MiB.
    #[arg(long, default_value_t = 64)]
    file_mib: usize,
    /// MiB per piece.
    #[arg(long, default_value_t = 1)]
    piece_mib: usize,
    /// Server worker threads.
    #[arg(long, default_value_t = 2)]
    server_threads: usize,
    /// Replace the `bench:ingest` block of this Markdown file with the results.
    #[arg(long)]
    write: Option<std::path::PathBuf>,
}

/// Resident memory of this process (server and clients), in MiB.
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

struct Totals {
    bytes: u64,
    files: u64,
    latency: Histogram<u64>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let data = tempfile::tempdir()?;
    let addr = cluebox_bench::start_server(data.path(), args.server_threads)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut conn = connect(addr).await?;
        let (status, body) = send(&mut conn, addr, "GET", "/api/v1/profile", Bytes::new()).await?;
        anyhow::ensure!(status == 200, "profile: {status}");
        let profile: cluebox_protocol::profile::PublicProfile = serde_json::from_slice(&body)?;
        let size = (args.file_mib << 20) as u64;
        let header = FileHeader::new("video.mp4", "video/mp4", size, Cleaning::NotCleaned);
        let (mut sealer, mut sealed) = cluebox_protocol::envelope::Sealer::file(
            &profile.recipients.national,
            header.body_len(),
            u64::MAX,
        )?;
        sealer.push(&header.to_prefix(), &mut sealed)?;
        let chunk = vec![0x5au8; 1 << 20];
        for _ in 0..args.file_mib {
            sealer.push(&chunk, &mut sealed)?;
        }
        sealer.finish(&mut sealed)?;
        let sealed = Bytes::from(sealed);
        let rss_before = rss_mib();
        let deadline = Instant::now() + Duration::from_secs(args.duration);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..args.connections {
            let sealed = sealed.clone();
            let piece = args.piece_mib << 20;
            tasks.push(tokio::spawn(async move {
                let mut totals = Totals {
                    bytes: 0,
                    files: 0,
                    latency: Histogram::<u64>::new(3)?,
                };
                let mut conn = connect(addr).await?;
                while Instant::now() < deadline {
                    let body = serde_json::to_vec(&serde_json::json!({"v": 1, "length": sealed.len()}))?;
                    let (status, answer) =
                        send(&mut conn, addr, "POST", "/api/v1/uploads", body.into()).await?;
                    anyhow::ensure!(status == 201, "start: {status} {answer:?}");
                    let state: cluebox_protocol::wire::UploadState = serde_json::from_slice(&answer)?;
                    let path = format!("/api/v1/uploads/{}", state.upload);
                    let mut at = 0;
                    while at < sealed.len() && Instant::now() < deadline {
                        let end = (at + piece).min(sealed.len());
                        let offset = at.to_string();
                        let t = Instant::now();
                        let (status, answer) = send_with(
                            &mut conn,
                            addr,
                            "PATCH",
                            &path,
                            &[
                                ("content-type", "application/offset+octet-stream"),
                                ("upload-offset", &offset),
                            ],
                            sealed.slice(at..end),
                        )
                        .await?;
                        anyhow::ensure!(status == 200, "piece: {status} {answer:?}");
                        totals.latency.record(t.elapsed().as_micros() as u64)?;
                        totals.bytes += (end - at) as u64;
                        at = end;
                    }
                    if at == sealed.len() {
                        totals.files += 1;
                    }
                    let (status, _) = send(&mut conn, addr, "DELETE", &path, Bytes::new()).await?;
                    anyhow::ensure!(status == 204, "delete: {status}");
                }
                Ok::<_, anyhow::Error>(totals)
            }));
        }
        let mut all = Totals {
            bytes: 0,
            files: 0,
            latency: Histogram::<u64>::new(3)?,
        };
        for task in tasks {
            let t = task.await??;
            all.bytes += t.bytes;
            all.files += t.files;
            all.latency.add(&t.latency)?;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let rss_after = rss_mib();
        let ms = |q: f64| all.latency.value_at_quantile(q) as f64 / 1000.0;
        let block = format!(
            "<!-- bench:ingest -->\n\
             Evidence file ingest on this machine: the real server on loopback, {conns} clients each \
             uploading a sealed {mib} MiB file in {piece} MiB pieces (each answered after fsync), \
             deleting it once complete and starting again, for {secs:.0} s.\n\n\
             | stored | files completed | per piece p50 | p99 | max | resident memory before / after |\n\
             |---|---|---|---|---|---|\n\
             | {rate:.1} MiB/s ({total:.0} MiB) | {files} | {p50:.1} ms | {p99:.1} ms | {max:.1} ms | {before:.0} / {after:.0} MiB |\n\n\
             The memory figure is the whole process (server and clients; the clients hold the one \
             sealed file, {sealed_mib:.0} MiB): the server holds at most a piece per request, so memory does not grow with what is stored.\n\n\
             Command: `cargo run --release -p cluebox-bench --bin cluebox-ingest -- --duration {secs:.0} --write docs/BENCHMARKS.md`\n\
             <!-- /bench:ingest -->",
            conns = args.connections,
            mib = args.file_mib,
            piece = args.piece_mib,
            secs = elapsed,
            rate = all.bytes as f64 / elapsed / f64::from(1 << 20),
            total = all.bytes as f64 / f64::from(1 << 20),
            files = all.files,
            p50 = ms(0.5),
            p99 = ms(0.99),
            max = all.latency.max() as f64 / 1000.0,
            before = rss_before,
            after = rss_after,
            sealed_mib = sealed.len() as f64 / f64::from(1 << 20),
        );
        println!("{block}");
        if let Some(path) = &args.write {
            cluebox_bench::write_block(path, "ingest", &block)?;
        }
        Ok(())
    })
}
