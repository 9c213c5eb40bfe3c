#!/usr/bin/env bash
# Installs what Luméa Market needs and is missing on a Debian/Ubuntu machine.
# Idempotent: installs nothing that is already there. Sourced by run.sh and test.sh.
set -euo pipefail

MIN_RUST="1.88"

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

# Core: the market library, the lumea CLI and their tests.
need_apt build-essential pkg-config ca-certificates
need_rust
# App: Tauri 2 on Linux (WebKitGTK) and Node.js for the UI.
need_apt file libssl-dev libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev \
    librsvg2-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev libxdo-dev
need_node
need_npm_packages ui
