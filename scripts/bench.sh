#!/usr/bin/env bash
# Reproduces the README's benchmark figures on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
need_postgres

cargo bench --locked --bench engine 2>&1 | grep -E '^engine|time:'
cargo bench --locked --bench throughput 2>&1 | grep -vE '^ *(Compiling|Finished|Running)'
cargo bench --locked --bench store 2>&1 | grep -vE "^ *(Compiling|Finished|Running)"
cargo bench --locked --bench postgres 2>&1 | grep -vE "^ *(Compiling|Finished|Running)|NOTICE"
cargo bench --locked --bench settlement 2>&1 | grep -vE "^ *(Compiling|Finished|Running)|NOTICE"
need_community_stand
cargo bench --locked --bench community 2>&1 | grep -vE "^ *(Compiling|Finished|Running)|^\[stand\]"

cargo build --release --locked
lumea=$(cargo_target_dir)/release/lumea
work=$(mktemp -d)
on_exit 'rm -rf "$work"'
"$lumea" generate --commands 1000000 > "$work/commands.jsonl"
lines=$(wc -l < "$work/commands.jsonl")
start=$(date +%s.%N)
"$lumea" replay "$work/commands.jsonl" > "$work/events.jsonl"
end=$(date +%s.%N)
awk -v n="$lines" -v s="$start" -v e="$end" -v ev="$(wc -l < "$work/events.jsonl")" \
    'BEGIN { printf "lumea replay: %d command lines in %.2f s = %.0f lines/s (%d event lines written)\n", n, e - s, n / (e - s), ev }'

# The desktop app: the shipped build (profile dist: release, stripped, LTO),
# its size, and start-up and idle memory under a virtual display.
(cd ui && npm run build)
cargo build --locked --profile dist -p lumea-app --features custom-protocol
app=$(cargo_target_dir)/dist/lumea-app
printf 'app binary (UI embedded, stripped): %.1f MB; compressed (xz -9, as a package would ship it): %.1f MB\n' \
    "$(stat -c %s "$app" | awk '{print $1 / 1048576}')" "$(xz -9 -c "$app" | wc -c | awk '{print $1 / 1048576}')"
need_desktop_driver
LUMEA_APP="$app" node benches/app.mjs
