#!/usr/bin/env bash
# Runs every check and test Cluebox has, installing missing tools first. This is the README's
# test command, and what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/tools.sh
source scripts/tools.sh

ensure_rust_targets

say "format"
cargo fmt --all --check

say "lint"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

say "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features --locked

say "wasm32 build of the protocol crate"
cargo build -p cluebox-protocol --target wasm32-unknown-unknown --locked

say "tests"
cargo test --workspace --all-features --locked
