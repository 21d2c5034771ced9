//! `cluebox-pow`: what the proof of work costs a client that floods, natively (the fastest
//! place to solve it): SHA-256 attempts per second on one core, and the time to solve a
//! challenge at the usual difficulty and at the most the server asks under load.
//!
//! Run: `cargo run --release -p cluebox-bench --bin cluebox-pow -- --write docs/BENCHMARKS.md`

#![allow(clippy::print_stdout)]

use std::time::Instant;

use clap::Parser;

/// Proof-of-work cost benchmark.
#[derive(Parser, Debug)]
struct Args {
    /// Challenges solved per difficulty.
    #[arg(long, default_value_t = 200)]
    challenges: u32,
    /// Replace the `bench:pow` block of this Markdown file with the results.
    #[arg(long)]
    write: Option<std::path::PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let usual = cluebox_api::config::FloodSettings::default();
    let mut rows = Vec::new();
    let mut rate = 0.0;
    for bits in [usual.pow_bits, usual.pow_bits + 3] {
        let mut times = Vec::new();
        let mut tries = 0u64;
        for _ in 0..args.challenges {
            let mut challenge = [0u8; 42];
            getrandom::fill(&mut challenge)?;
            let started = Instant::now();
            let nonce = cluebox_protocol::pow::solve(&challenge, bits, 0, u64::MAX)
                .ok_or_else(|| anyhow::anyhow!("no solution"))?;
            times.push(started.elapsed().as_secs_f64());
            tries += nonce + 1;
        }
        let total: f64 = times.iter().sum();
        rate = tries as f64 / total;
        times.sort_by(f64::total_cmp);
        let pick = |q: f64| times[((times.len() - 1) as f64 * q) as usize] * 1000.0;
        rows.push(format!(
            "| {bits} | {:.0} ms | {:.0} ms | {:.0} ms |",
            total / times.len() as f64 * 1000.0,
            pick(0.5),
            pick(0.9)
        ));
    }
    let max_bits = usual.pow_bits + usual.pow_max_extra_bits;
    let block = format!(
        "<!-- bench:pow -->\n\
         One core of this machine, native code: {rate:.2} million SHA-256 attempts per second. \
         Time to solve one challenge ({n} challenges per row):\n\n\
         | difficulty (bits) | mean | p50 | p90 |\n|---|---|---|---|\n{rows}\n\n\
         At the most the server asks under load ({max_bits} bits) a solution takes about \
         {max:.1} s of one core here, so a flooding client gets about {per_core:.1} accepted \
         submissions per minute per core, before the per-address limit ({per_client} a minute) \
         and the byte ceiling.\n\n\
         Command: `cargo run --release -p cluebox-bench --bin cluebox-pow -- --write docs/BENCHMARKS.md`\n\
         <!-- /bench:pow -->",
        rate = rate / 1e6,
        n = args.challenges,
        rows = rows.join("\n"),
        max = f64::from(1u32 << max_bits) / rate,
        per_core = 60.0 * rate / f64::from(1u32 << max_bits),
        per_client = usual.submissions_per_client_per_minute,
    );
    println!("{block}");
    if let Some(path) = &args.write {
        cluebox_bench::write_block(path, "pow", &block)?;
    }
    Ok(())
}
