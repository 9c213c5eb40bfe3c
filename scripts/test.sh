#!/usr/bin/env bash
# Sets up this machine and runs every test: first the fast check (format,
# lints, type checks, unit tests: scripts/check.sh) and the supply chain (cargo
# deny), then the crates (property, replay, store, crash, contract), the
# community backend on PostgreSQL (Rust, pgTAP, the Supabase CLI) and over HTTP, community
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

step "fast check: rustfmt, clippy, the market crate alone, unit tests, tsc, ESLint, Vitest"
bash scripts/check.sh

step "supply chain: cargo deny (licences, bans, sources, advisories), offline"
need_cargo_tool cargo-deny 0.20.2
CARGO_DENY="${LUMEA_TOOLS:-$HOME/.cache/lumea-tools}/bin/cargo-deny" bash scripts/deny.sh

# The community tests' backend: a private PostgreSQL, @supabase/lite, the realtime test server.
need_community_stand

step "crates and CLI: cargo test"
cargo test --locked --workspace --exclude lumea-app --all-targets
cargo test --locked --workspace --exclude lumea-app --doc

step "the session in a real Secret Service: GNOME Keyring on a private D-Bus session bus"
need_apt gnome-keyring dbus-daemon dbus-bin
# Its keyring files in a temporary directory, never the developer's.
keyrings=$(mktemp -d)
on_exit "rm -rf $keyrings"
# --unlock returns before the daemon owns its bus name: wait for it, or the
# first request would start a second, locked one.
XDG_DATA_HOME="$keyrings" dbus-run-session -- bash -c '
    printf lumea-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    for _ in $(seq 50); do
        dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
            org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets | grep -q "boolean true" && break
        sleep 0.1
    done
    cargo test --locked -q --test keychain -- --ignored'

step "community backend with the Supabase CLI (db push, lint, advisors) and pgTAP, on a private cluster with pg_cron"
bash scripts/test-supabase.sh

step "community backend over HTTP (@supabase/lite on PostgreSQL)"
need_npm_packages tests/http
(cd tests/http && npm test)

step "the realtime test server, checked by the official @supabase/realtime-js client"
(cd tests/community && npm test)

step "UI types and limits are the ones the Rust crates generate (ts-rs)"
bash scripts/bindings.sh
if [ -d .git ] && [ -n "$(git status --porcelain -- ui/src/bindings)" ]; then
    git --no-pager status --short -- ui/src/bindings
    echo "ui/src/bindings is out of date: run scripts/bindings.sh and commit it" >&2
    exit 1
fi

step "UI: build, browser e2e in Chromium"
(cd ui && npm run build && npm run e2e)

step "desktop app: build, then drive it under Xvfb"
cargo build --locked --bin lumea
cargo build --locked -p lumea-app --features custom-protocol
TARGET_DIR=$(cargo_target_dir)
need_desktop_driver
LUMEA_APP="$TARGET_DIR/debug/lumea-app" LUMEA_CLI="$TARGET_DIR/debug/lumea" node --test tests/desktop/

step "all tests passed"
