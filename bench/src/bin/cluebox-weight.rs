//! `cluebox-weight`: the weight of the form route's critical path, as served compressed.
//!
//! The critical path is the form page (`dist/report.html`, with the blocks the server fills in:
//! the fallback and the embedded profile) and every file it names (stylesheet, JS glue,
//! WebAssembly). The status and poster pages are measured the same way; files no page names (the crypto
//! worker, loaded by the running app in the background) are listed separately. Sizes are as the
//! server sends them: brotli quality 11 and gzip 9, like `cluebox`'s static file cache.
//!
//! Run after the pages are built (`build_portal` in scripts/tools.sh; scripts/test.sh does it):
//! `cargo run --release -p cluebox-bench --bin cluebox-weight -- --write docs/BENCHMARKS.md`
//! Exits non-zero when the budget (100 KB brotli) is exceeded and `--enforce` is given.

#![allow(clippy::print_stdout)]

use std::io::Write as _;
use std::path::PathBuf;

use clap::Parser;

/// The budget for the form route's critical path, brotli bytes.
const BUDGET: usize = 100_000;

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

fn brotli_len(raw: &[u8]) -> usize {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        w.write_all(raw).expect("in memory");
    }
    out.len()
}

fn gzip_len(raw: &[u8]) -> usize {
    let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    w.write_all(raw).expect("in memory");
    w.finish().expect("in memory").len()
}

/// A row of the tables: name, raw, gzip, brotli.
type Row = (String, usize, usize, usize);

fn row(name: &str, raw: &[u8]) -> Row {
    (name.to_owned(), raw.len(), gzip_len(raw), brotli_len(raw))
}

fn table(rows: &[Row]) -> String {
    rows.iter()
        .map(|(n, raw, gz, br)| format!("| {n} | {raw} | {gz} | {br} |"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let profile: cluebox_protocol::profile::Profile =
        toml::from_str(include_str!("../../../profiles/12337.toml"))?;
    // A real key's length: the page carries it for saved receipts.
    let server_key = "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqo=";
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
        let served = cluebox_api::site::fill_page(&html, &profile, server_key);
        let mut rows = vec![row(&format!("{page} (as served)"), served.as_bytes())];
        for name in names
            .iter()
            .filter(|n| n.as_str() != page && html.contains(n.as_str()))
        {
            rows.push(row(name, &std::fs::read(args.dist.join(name))?));
        }
        pages.push(rows);
    }
    let background: Vec<Row> = names
        .iter()
        .filter(|n| !n.ends_with(".html") && !pages.iter().flatten().any(|r| &r.0 == *n))
        .map(|n| Ok(row(n, &std::fs::read(args.dist.join(n))?)))
        .collect::<anyhow::Result<_>>()?;
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
         Form route critical path (`/report`): **{total} bytes brotli** ({total_gz} gzip), budget {BUDGET}: {verdict} budget. \
         The page carries the 12337 profile (`<meta name=\"cluebox-page\">`), so nothing else is fetched before the form shows.\n\n\
         | file | raw | gzip -9 | brotli 11 |\n|---|---|---|---|\n{}\n\n\
         Status page (`/status`), its own bundle: {status_total} bytes brotli.\n\n\
         | file | raw | gzip -9 | brotli 11 |\n|---|---|---|---|\n{}\n\n\
         Poster page for admins (`/poster`, with the QR encoder), its own bundle: {poster_total} bytes brotli.\n\n\
         | file | raw | gzip -9 | brotli 11 |\n|---|---|---|---|\n{}\n\n\
         Loaded in the background by the running app (the crypto worker; not on any page's critical path):\n\n\
         | file | raw | gzip -9 | brotli 11 |\n|---|---|---|---|\n{}\n\n\
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
