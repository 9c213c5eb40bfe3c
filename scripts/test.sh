#!/usr/bin/env bash
# Sets up this machine and runs every test. Benchmarks are built and run once
# in a quick smoke mode (their figures come from scripts/bench.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo test --locked --all-targets
cargo test --locked --doc
