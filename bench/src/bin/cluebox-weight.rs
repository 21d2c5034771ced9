//! `cluebox-weight`: the weight of the form route's critical path, as served compressed.
//!
//! The critical path is the form page (`dist/app.html`, with the block the server fills in) and
//! every file it names (stylesheet, JS glue, WebAssembly). Files it does not name (the crypto
//! worker, loaded by the running app in the background) are listed separately. Sizes are as the
//! server sends them: brotli quality 11 and gzip 9, like `cluebox`'s static file cache.
//!
//! Run after `trunk build --release`:
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

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let page = std::fs::read_to_string(args.dist.join("app.html")).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e} (run `trunk build --release` first)",
            args.dist.join("app.html").display()
        )
    })?;
    let profile: cluebox_protocol::profile::Profile =
        toml::from_str(include_str!("../../../profiles/12337.toml"))?;
    let served = page.replace(
        cluebox_api::site::FALLBACK_PLACEHOLDER,
        &cluebox_api::landing::fallback(&profile),
    );

    let mut critical = vec![("app.html (as served)".to_owned(), served.into_bytes())];
    let mut background = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(&args.dist)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n != "app.html")
        .collect();
    names.sort();
    for name in names {
        let bytes = std::fs::read(args.dist.join(&name))?;
        if page.contains(&name) {
            critical.push((name, bytes));
        } else {
            background.push((name, bytes));
        }
    }
    let row =
        |(name, raw): &(String, Vec<u8>)| (name.clone(), raw.len(), gzip_len(raw), brotli_len(raw));
    let critical: Vec<_> = critical.iter().map(row).collect();
    let background: Vec<_> = background.iter().map(row).collect();
    let total: usize = critical.iter().map(|r| r.3).sum();
    let total_gz: usize = critical.iter().map(|r| r.2).sum();
    let table = |rows: &[(String, usize, usize, usize)]| {
        rows.iter()
            .map(|(n, raw, gz, br)| format!("| {n} | {raw} | {gz} | {br} |"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let verdict = if total <= BUDGET { "within" } else { "OVER" };
    let block = format!(
        "<!-- bench:weight -->\n\
         Form route critical path (`/report`): **{total} bytes brotli** ({total_gz} gzip), budget {BUDGET}: {verdict} budget.\n\n\
         | file | raw | gzip -9 | brotli 11 |\n|---|---|---|---|\n{}\n\n\
         Loaded in the background by the running app (not on the critical path):\n\n\
         | file | raw | gzip -9 | brotli 11 |\n|---|---|---|---|\n{}\n\n\
         Command: `trunk build --release && cargo run --release -p cluebox-bench --bin cluebox-weight -- --write docs/BENCHMARKS.md`\n\
         <!-- /bench:weight -->",
        table(&critical),
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
