#!/usr/bin/env bash
# Sets up this machine and runs Luméa Market on its embedded default.
# Until the desktop app lands (issue 4), that is the engine replaying the
# product guide's market clearing example.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo run --release --locked -- replay tests/fixtures/guide-example.jsonl
