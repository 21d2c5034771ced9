#!/usr/bin/env bash
# Runs every check and test Cluebox has, installing missing tools first (the wasm32 target,
# Trunk, wasm-bindgen-cli, wasm-opt, Chromium and chromedriver with CJK fonts, schemathesis). This is the
# README's test command, and what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/tools.sh
source scripts/tools.sh

ensure_rust_targets
ensure_trunk
ensure_wasm_bindgen
ensure_wasm_opt
ensure_browser
ensure_schemathesis
# Trunk builds offline (Trunk.toml), so the crates must be here first.
cargo fetch --locked

say "format"
cargo fmt --all --check

say "lint (host, and the browser crates for wasm32)"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
# The crypto worker is built twice (for the pages, and with evidence files for the picker).
cargo clippy -p cluebox-frontend -p cluebox-sealer --target wasm32-unknown-unknown --features cluebox-frontend/files,cluebox-sealer/files --locked -- -D warnings
cargo clippy -p cluebox-sealer --target wasm32-unknown-unknown --locked -- -D warnings

say "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features --locked

say "wasm32 build of the protocol crate"
cargo build -p cluebox-protocol --target wasm32-unknown-unknown --locked

build_portal

say "weight of the form route's critical path"
cargo run --locked -q -p cluebox-bench --bin cluebox-weight -- --enforce

say "tests (unit and integration)"
cargo test --workspace --all-features --locked --exclude cluebox-e2e

say "API conformance: schemathesis against the real server"
cargo build --locked -q -p cluebox-api --bin cluebox
run_schemathesis

say "Lighthouse: landing page, form and status page (mobile, simulated Slow 4G)"
run_lighthouse

say "fuzzing: every parser of outside bytes, 15 s each (./scripts/fuzz.sh 3600 for longer)"
./scripts/fuzz.sh 15

say "end-to-end tests in headless Chromium (one browser at a time: 2 cores)"
cargo test -p cluebox-e2e --locked --test e2e -- --test-threads=1
