#!/usr/bin/env bash
# The fast first step of the test command: formatting, lints, type checks and
# unit tests, Rust and UI. Installs nothing (scripts/test.sh sets a machine up);
# run it before every commit.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "rustfmt"
cargo fmt --all --check

step "lumea-market on its own: no IO, no clock (a workspace build unifies features and could hide a leak)"
cargo check --locked -q -p lumea-market
leaks=$(cargo tree --locked -p lumea-market -e normal --prefix none --format '{p}' |
    awk '{print $1}' | grep -xE 'sqlx|tokio|reqwest|tungstenite|tokio-tungstenite|clap|tauri' || true)
if [ -n "$leaks" ]; then
    echo "lumea-market must not depend on: $leaks" >&2
    exit 1
fi

step "clippy, warnings denied"
cargo clippy --locked -q --workspace --all-targets -- -D warnings

step "Rust unit tests"
cargo test --locked -q --workspace --exclude lumea-app --lib

step "UI: type check, ESLint, Vitest"
(cd ui && npm run typecheck && npm run lint && npm test)
