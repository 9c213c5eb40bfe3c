#!/usr/bin/env bash
# Reproduces the README's benchmark figures on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

cargo bench --locked --bench engine 2>&1 | grep -E '^engine|time:'
cargo bench --locked --bench throughput 2>&1 | grep -vE '^ *(Compiling|Finished|Running)'
cargo bench --locked --bench store 2>&1 | grep -vE "^ *(Compiling|Finished|Running)"
cargo bench --locked --bench postgres 2>&1 | grep -vE "^ *(Compiling|Finished|Running)|NOTICE"

cargo build --release --locked
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
./target/release/lumea generate --commands 1000000 > "$work/commands.jsonl"
lines=$(wc -l < "$work/commands.jsonl")
start=$(date +%s.%N)
./target/release/lumea replay "$work/commands.jsonl" > "$work/events.jsonl"
end=$(date +%s.%N)
awk -v n="$lines" -v s="$start" -v e="$end" -v ev="$(wc -l < "$work/events.jsonl")" \
    'BEGIN { printf "lumea replay: %d command lines in %.2f s = %.0f lines/s (%d event lines written)\n", n, e - s, n / (e - s), ev }'

# The desktop app: the shipped build (profile dist: release, stripped, LTO),
# its size, and start-up and idle memory under a virtual display.
(cd ui && npm run build)
cargo build --locked --profile dist -p lumea-app --features custom-protocol
app=$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')/dist/lumea-app
printf 'app binary (UI embedded, stripped): %.1f MB; compressed (xz -9, as a package would ship it): %.1f MB\n' \
    "$(stat -c %s "$app" | awk '{print $1 / 1048576}')" "$(xz -9 -c "$app" | wc -c | awk '{print $1 / 1048576}')"
TOOLS="${LUMEA_TOOLS:-$HOME/.cache/lumea-tools}"
[ -x "$TOOLS/bin/tauri-driver" ] || cargo install tauri-driver --version "=2.1.0" --locked --root "$TOOLS"
need_apt xvfb xauth webkit2gtk-driver
if [ -z "${DISPLAY:-}" ]; then
    Xvfb :97 -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
    xvfb_pid=$!
    trap 'kill $xvfb_pid; rm -rf "$work"' EXIT
    export DISPLAY=:97
    sleep 1
fi
LUMEA_APP="$app" TAURI_DRIVER="$TOOLS/bin/tauri-driver" node benches/app.mjs
