#!/usr/bin/env bash
# Regenerates the UI's TypeScript bindings (ui/src/bindings/) from the Rust
# types (ts-rs) and the market's input limits. The test command runs it and
# fails if the committed bindings differ.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked -q -p lumea-market -p lumea-store -p lumea-community -p lumea-core --features ts --lib export_bindings
