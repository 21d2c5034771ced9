#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets/) for SECONDS each (default 20; the test command
# uses 15). cargo-fuzz and libFuzzer on the stable toolchain: RUSTC_BOOTSTRAP lets rustc take the
# sanitizer flags cargo-fuzz passes (the toolchain ships the sanitizer runtimes). New inputs go
# to target/fuzz-corpus/ (not committed); fuzz/seeds/ starts each run. A crash stops the run
# with the input saved under fuzz/artifacts/: once fixed, copy it to fuzz/regressions/<target>/.
#
# A longer run, say an hour per target:  ./scripts/fuzz.sh 3600
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/tools.sh
source scripts/tools.sh
ensure_cargo_fuzz
seconds="${1:-20}"
export RUSTC_BOOTSTRAP=1
cd fuzz
cargo fuzz build -O
for target in envelope letter code page_profile json_bodies scrub; do
    say "fuzz $target for ${seconds}s"
    corpus="../target/fuzz-corpus/$target"
    mkdir -p "$corpus"
    cargo fuzz run -O "$target" "$corpus" "seeds/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 2>&1 | grep -E '^#[0-9]+.*DONE|stat::number_of_executed_units|ERROR|panicked' || true
    # libFuzzer exits non-zero on a crash; the pipe above hides it, so look for the artifact.
    if compgen -G "artifacts/$target/crash-*" >/dev/null; then
        echo "fuzz target $target crashed: see fuzz/artifacts/$target/" >&2
        exit 1
    fi
done
