#!/usr/bin/env bash
# Builds what is needed and starts the Cluebox portal with embedded defaults: SQLite under
# ./data, the 12337 profile, demo keys made on first start (with a loud warning), on
# http://127.0.0.1:8080. This is the README's run command. Arguments go to `cluebox`
# (for example `./scripts/run.sh --config cluebox.toml`).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/tools.sh
source scripts/tools.sh

ensure_rust_targets
if [ -d frontend ]; then
    ensure_trunk
    ensure_wasm_bindgen
    ensure_wasm_opt
    build_portal
fi
say "building and starting the server"
exec cargo run --release --locked -p cluebox-api --bin cluebox -- "$@"
