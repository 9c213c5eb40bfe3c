#!/usr/bin/env bash
# Reproduces the README's benchmark figures on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

cargo bench --locked --bench engine 2>&1 | grep -E '^engine|time:'
cargo bench --locked --bench throughput 2>&1 | grep -vE '^ *(Compiling|Finished|Running)'
cargo bench --locked --bench store 2>&1 | grep -vE "^ *(Compiling|Finished|Running)"

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
