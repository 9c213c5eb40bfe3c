#!/usr/bin/env bash
# Sets up this machine and runs every test: the core (unit, property, replay,
# store, crash), the community backend on PostgreSQL and over HTTP, community
# mode's app cores against it with realtime, the UI
# (Vitest, then the built UI in Chromium), and the real desktop app through
# tauri-driver and WebKitWebDriver under Xvfb. Benchmarks are built and run
# once in a quick smoke mode (figures: scripts/bench.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

# Chromium for the browser suite; the real app's driver and display below.
need_apt chromium
need_postgres

step() { printf '\n== %s\n' "$*"; }

# The community tests' backend: a private PostgreSQL, @supabase/lite, the realtime test server.
need_community_stand

step "core: cargo test"
cargo test --locked --all-targets
cargo test --locked --doc

step "community backend over HTTP (@supabase/lite on PostgreSQL)"
need_npm_packages tests/http
(cd tests/http && npm test)

step "the realtime test server, checked by the official @supabase/realtime-js client"
(cd tests/community && npm test)

step "UI types are the ones the Rust views generate (ts-rs)"
cargo test --locked --features ts --lib export_bindings -q
if [ -d .git ] && ! git diff --quiet -- ui/src/bindings; then
    git --no-pager diff --stat -- ui/src/bindings
    echo "ui/src/bindings is out of date: run cargo test --features ts --lib export_bindings and commit it" >&2
    exit 1
fi

step "UI: Vitest, type check and build, browser e2e in Chromium"
(cd ui && npm test && npm run build && npm run e2e)

step "desktop app: build, then drive it under Xvfb"
cargo build --locked --bin lumea
cargo build --locked -p lumea-app --features custom-protocol
TARGET_DIR=$(cargo_target_dir)
need_desktop_driver
LUMEA_APP="$TARGET_DIR/debug/lumea-app" LUMEA_CLI="$TARGET_DIR/debug/lumea" node --test tests/desktop/

step "all tests passed"
