//! `cluebox-weight`: the weight of the form route's critical path, as served.
//!
//! The critical path is the form page and every file it names (stylesheet, JS glue,
//! WebAssembly). Each is requested from the real server's router (`cluebox_api::router`, built
//! on `dist/` with a non-demo configuration, so no demo banner), with
//! `Accept-Encoding: br, gzip` (the brotli column) and `gzip` (the gzip column), and counted as a
//! browser receives it: the status line, every header and the body. The status and poster pages
//! are measured the same way; files no page names (the crypto worker, loaded by the running app
//! in the background, prefetched by the status page) are listed separately.
//!
//! Run after the pages are built (`build_portal` in scripts/tools.sh; scripts/test.sh does it):
//! `cargo run --release -p cluebox-bench --bin cluebox-weight -- --write docs/BENCHMARKS.md`
//! Exits non-zero when the budget (115 KB brotli as served, headers included) is exceeded and
//! `--enforce` is given.

#![allow(clippy::print_stdout)]

use std::path::PathBuf;

use clap::Parser;

/// The budget for the form route's critical path, brotli bytes.
const BUDGET: usize = 115_000;

/// Measures the portal's critical path.
#[derive(Parser)]
struct Args {
    /// Trunk's output directory.
    #[arg(long, default_value = "dist")]
    dist: PathBuf,
    /// Replace the `bench:weight` block of this Markdown file with the results.
    #[arg(long)]
    write: Option<PathBuf>,
    /// Fail when over budget.
    #[arg(long)]
    enforce: bool,
}

/// A row of the tables: name, raw file, gzip as served, brotli as served.
type Row = (String, usize, usize, usize);

/// Bytes on the wire for `GET /path` with `encoding` accepted: status line, headers, body;
/// and the body's length without compression.
async fn served(app: &axum::Router, path: &str, encoding: &str) -> anyhow::Result<(usize, usize)> {
    use tower::ServiceExt as _;
    let request = axum::http::Request::get(path)
        .header("accept-encoding", encoding)
        .body(axum::body::Body::empty())?;
    let response = app.clone().oneshot(request).await?;
    anyhow::ensure!(response.status() == 200, "{path}: {}", response.status());
    let headers: usize = response
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + 2 + value.len() + 2)
        .sum();
    let compressed = response.headers().contains_key("content-encoding");
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    let raw = if compressed && encoding.starts_with("br") {
        let mut out = Vec::new();
        std::io::Read::read_to_end(
            &mut brotli::Decompressor::new(body.as_ref(), 4096),
            &mut out,
        )?;
        out.len()
    } else if compressed {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(body.as_ref()), &mut out)?;
        out.len()
    } else {
        body.len()
    };
    // "HTTP/1.1 200 OK\r\n", the headers, the blank line, the body.
    Ok((17 + headers + 2 + body.len(), raw))
}

async fn row(app: &axum::Router, name: &str, path: &str) -> anyhow::Result<Row> {
    let (br, raw) = served(app, path, "br, gzip").await?;
    let (gz, _) = served(app, path, "gzip").await?;
    Ok((name.to_owned(), raw, gz, br))
}

fn table(rows: &[Row]) -> String {
    rows.iter()
        .map(|(n, raw, gz, br)| format!("| {n} | {raw} | {gz} | {br} |"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    // A deployment's configuration: one office key, a desk token, secrets outside the data.
    let config = cluebox_api::config::Config {
        data_dir: dir.path().join("data"),
        secrets_dir: Some(dir.path().join("secrets")),
        site_dir: args.dist.clone(),
        recipients: Some(cluebox_protocol::profile::Recipients {
            national: vec![cluebox_protocol::keys::SecretKey::generate().public_key()],
            regions: Default::default(),
        }),
        desk_token_hashes: vec!["00".repeat(32)],
        ..Default::default()
    };
    let app = cluebox_api::router(cluebox_api::build_state(&config)?);
    let mut names: Vec<String> = std::fs::read_dir(&args.dist)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    // Each app page as the server sends it, and every file it names.
    let mut pages = Vec::new();
    for page in ["report.html", "status.html", "poster.html"] {
        let path = args.dist.join(page);
        let html = std::fs::read_to_string(&path).map_err(|e| {
            anyhow::anyhow!(
                "{}: {e} (run scripts/test.sh or build_portal first)",
                path.display()
            )
        })?;
        let route = format!("/{}", page.trim_end_matches(".html"));
        let mut rows = vec![row(&app, &format!("{route} (the page)"), &route).await?];
        // Files the page loads itself (not its prefetches: those are background work).
        let fetched = html
            .lines()
            .filter(|l| !l.contains("rel=\"prefetch\""))
            .collect::<String>();
        for name in names
            .iter()
            .filter(|n| n.as_str() != page && fetched.contains(n.as_str()))
        {
            rows.push(row(&app, name, &format!("/{name}")).await?);
        }
        pages.push(rows);
    }
    let mut background = Vec::new();
    for n in names
        .iter()
        .filter(|n| !n.ends_with(".html") && !pages.iter().flatten().any(|r| &r.0 == *n))
    {
        background.push(row(&app, n, &format!("/{n}")).await?);
    }
    let sum = |rows: &[Row]| {
        (
            rows.iter().map(|r| r.3).sum::<usize>(),
            rows.iter().map(|r| r.2).sum::<usize>(),
        )
    };
    let (total, total_gz) = sum(&pages[0]);
    let (status_total, _) = sum(&pages[1]);
    let (poster_total, _) = sum(&pages[2]);
    let verdict = if total <= BUDGET { "within" } else { "OVER" };
    let block = format!(
        "<!-- bench:weight -->\n\
         Form route critical path (`/report`): **{total} bytes brotli as served** (status line, headers and body; {total_gz} with gzip), budget {BUDGET}: {verdict} budget. \
         The page carries the 12337 profile (`<meta name=\"cluebox-page\">`) and the crypto worker's configuration, so nothing else is fetched before the form shows.\n\n\
         | file | raw body | gzip, as served | brotli, as served |\n|---|---|---|---|\n{}\n\n\
         Status page (`/status`), its own bundle: {status_total} bytes brotli.\n\n\
         | file | raw body | gzip, as served | brotli, as served |\n|---|---|---|---|\n{}\n\n\
         Poster page for admins (`/poster`, with the QR encoder), its own bundle: {poster_total} bytes brotli.\n\n\
         | file | raw body | gzip, as served | brotli, as served |\n|---|---|---|---|\n{}\n\n\
         Loaded later by the running app, on no page's critical path: the crypto worker in the background, and the evidence files picker (`cluebox-files`, its loader and stylesheet) when the form's step with a files field first shows:\n\n\
         | file | raw body | gzip, as served | brotli, as served |\n|---|---|---|---|\n{}\n\n\
         Command: `./scripts/test.sh` builds the pages; then `cargo run --release -p cluebox-bench --bin cluebox-weight -- --write docs/BENCHMARKS.md`\n\
         <!-- /bench:weight -->",
        table(&pages[0]),
        table(&pages[1]),
        table(&pages[2]),
        table(&background),
    );
    println!("{block}");
    if let Some(path) = &args.write {
        cluebox_bench::write_block(path, "weight", &block)?;
    }
    if args.enforce && total > BUDGET {
        anyhow::bail!(
            "the form route's critical path is {total} bytes brotli, over the {BUDGET} budget"
        );
    }
    Ok(())
}
