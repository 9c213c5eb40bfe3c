#!/usr/bin/env bash
# Sets up this machine and runs every test: the core (unit, property, replay,
# store, crash), the community backend on PostgreSQL, the UI (Vitest, then the built UI in Chromium), and the real
# desktop app through tauri-driver and WebKitWebDriver under Xvfb. Benchmarks
# are built and run once in a quick smoke mode (figures: scripts/bench.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

# Test-only tools: a virtual display, the WebKit WebDriver, Chromium for the
# browser suite, and tauri-driver (pinned) in a cache outside the clone.
need_apt xvfb xauth webkit2gtk-driver chromium
TOOLS="${LUMEA_TOOLS:-$HOME/.cache/lumea-tools}"
TAURI_DRIVER_VERSION="2.1.0"
if ! "$TOOLS/bin/tauri-driver" --version 2>/dev/null | grep -q "$TAURI_DRIVER_VERSION"; then
    echo "setup: installing tauri-driver $TAURI_DRIVER_VERSION"
    cargo install tauri-driver --version "=$TAURI_DRIVER_VERSION" --locked --root "$TOOLS"
fi

# The community backend's tests need a PostgreSQL (15 or newer). They use
# LUMEA_PG_URL, by default the local cluster as postgres over 127.0.0.1 with
# trust auth, as on the project's machines; start it if it is down.
if [ -z "${LUMEA_PG_URL:-}" ] && ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    need_apt postgresql
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start
    for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
fi

step() { printf '\n== %s\n' "$*"; }

step "core: cargo test"
cargo test --locked --all-targets
cargo test --locked --doc

step "community backend over HTTP (@supabase/lite on PostgreSQL)"
need_npm_packages tests/http
(cd tests/http && npm test)

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
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
if [ -z "${DISPLAY:-}" ]; then
    # Xvfb picks a free display itself and writes its number once it is ready.
    display_file=$(mktemp)
    Xvfb -displayfd 5 -screen 0 1280x800x24 -nolisten tcp 5>"$display_file" 2>/dev/null &
    xvfb_pid=$!
    trap 'kill $xvfb_pid 2>/dev/null || true; rm -f "$display_file"' EXIT
    for _ in $(seq 100); do [ -s "$display_file" ] && break; sleep 0.1; done
    [ -s "$display_file" ] || { echo "Xvfb did not start" >&2; exit 1; }
    export DISPLAY=":$(head -n1 "$display_file")"
fi
LUMEA_APP="$TARGET_DIR/debug/lumea-app" LUMEA_CLI="$TARGET_DIR/debug/lumea" TAURI_DRIVER="$TOOLS/bin/tauri-driver" \
    node --test tests/desktop/

step "all tests passed"
