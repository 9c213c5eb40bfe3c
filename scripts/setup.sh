#!/usr/bin/env bash
# Installs what Luméa Market needs and is missing on a Debian/Ubuntu machine.
# Idempotent: installs nothing that is already there. Sourced by run.sh and test.sh.
set -euo pipefail

# The workspace's rust-version (Cargo.toml): Tauri 2's crates need it.
MIN_RUST="1.90"

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# need_apt PACKAGE...: installs the Debian packages that are not installed yet.
need_apt() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "setup: installing ${missing[*]} (apt)"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
}

version_at_least() { # version_at_least HAVE WANT
    [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

need_rust() {
    [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
    if ! command -v cargo >/dev/null 2>&1; then
        echo "setup: installing the Rust toolchain (rustup, stable)"
        need_apt curl ca-certificates
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    local have
    have=$(rustc --version | awk '{print $2}')
    if ! version_at_least "$have" "$MIN_RUST"; then
        if command -v rustup >/dev/null 2>&1; then
            rustup toolchain install stable --profile minimal && rustup default stable
        else
            echo "setup: rustc $have is older than $MIN_RUST; install a newer toolchain with rustup" >&2
            exit 1
        fi
    fi
    # The fast check (scripts/check.sh) formats and lints.
    if command -v rustup >/dev/null 2>&1; then
        local component
        for component in rustfmt clippy; do
            rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
        done
    fi
}

# need_cargo_tool NAME VERSION: a pinned cargo-installed tool in a cache outside
# the clone; prints nothing when it is there. Tools get no --version check:
# cargo's own install record says which version is installed.
need_cargo_tool() {
    local tools="${LUMEA_TOOLS:-$HOME/.cache/lumea-tools}"
    if [ ! -x "$tools/bin/$1" ] || ! grep -qF "\"$1 $2 " "$tools/.crates.toml" 2>/dev/null; then
        echo "setup: installing $1 $2"
        cargo install "$1" --version "=$2" --locked --root "$tools"
    fi
}

# need_node: Node.js 20+ and npm for the web UI (Debian 12 ships 18; NodeSource
# is not reachable here, so an older Node is reported, not replaced).
need_node() {
    command -v node >/dev/null 2>&1 || need_apt nodejs npm
    local have
    have=$(node --version | tr -d v)
    if ! version_at_least "$have" "20"; then
        echo "setup: Node.js $have is older than 20; install Node.js 20 or newer" >&2
        exit 1
    fi
}

# need_npm_packages DIR: DIR's npm packages, as its lockfile pins them. npm
# install, not npm ci: the registry mirror lacks some other-platform
# @tauri-apps/cli builds that npm ci insists on; npm install honours the
# lockfile as it is.
need_npm_packages() {
    if [ ! -f "$1/node_modules/.package-lock.json" ] || [ "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]; then
        echo "setup: installing the npm packages of $1"
        (cd "$1" && npm install --no-audit --no-fund --loglevel=error)
    fi
}

# on_exit COMMAND: runs COMMAND when the script exits, after those added before.
on_exit() {
    LUMEA_ON_EXIT="${LUMEA_ON_EXIT:-}$1;"
    trap "$LUMEA_ON_EXIT" EXIT
}

# cargo_target_dir: where cargo puts its builds (CARGO_TARGET_DIR or the workspace's target/).
cargo_target_dir() {
    cargo metadata --format-version 1 --no-deps |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))'
}

# need_postgres: a PostgreSQL for the community backend's tests and benchmark.
# They use LUMEA_PG_URL, by default the local cluster as postgres over
# 127.0.0.1 with trust auth, as on the project's machines; started if down.
need_postgres() {
    if [ -z "${LUMEA_PG_URL:-}" ] && ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
        need_apt postgresql
        as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start
        for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
    fi
}

# need_community_stand: what tests/community/stand.mjs runs on: PostgreSQL's
# server binaries with wal2json for logical decoding (its own private cluster),
# and its npm packages (@supabase/lite, the realtime test server's, the official
# realtime-js client that checks it).
need_community_stand() {
    local version
    version=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n1)
    need_apt "postgresql-${version:-15}" "postgresql-${version:-15}-wal2json"
    need_npm_packages tests/community
}

# need_desktop_driver: what drives the real app (a virtual display, the WebKit
# WebDriver, and tauri-driver, pinned, in a cache outside the clone); exports
# TAURI_DRIVER and, when no display is set, starts Xvfb on a free one.
need_desktop_driver() {
    need_apt xvfb xauth webkit2gtk-driver dbus-daemon
    need_cargo_tool tauri-driver 2.1.0
    export TAURI_DRIVER="${LUMEA_TOOLS:-$HOME/.cache/lumea-tools}/bin/tauri-driver"
    if [ -z "${DISPLAY:-}" ]; then
        # Xvfb picks a free display itself and writes its number once it is ready.
        local display_file
        display_file=$(mktemp)
        Xvfb -displayfd 5 -screen 0 1280x800x24 -nolisten tcp 5>"$display_file" 2>/dev/null &
        on_exit "kill $! 2>/dev/null || true; rm -f $display_file"
        for _ in $(seq 100); do [ -s "$display_file" ] && break; sleep 0.1; done
        [ -s "$display_file" ] || { echo "Xvfb did not start" >&2; exit 1; }
        export DISPLAY=":$(head -n1 "$display_file")"
    fi
}

# Core: the market library, the lumea CLI and their tests.
need_apt build-essential pkg-config ca-certificates
need_rust
# App: Tauri 2 on Linux (WebKitGTK) and Node.js for the UI.
need_apt file libssl-dev libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev \
    librsvg2-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev libxdo-dev
need_node
need_npm_packages ui
