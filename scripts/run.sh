#!/usr/bin/env bash
# Sets up this machine and runs the Luméa desktop app on its embedded default:
# the local market in a SQLite file with the demo neighbourhood alive.
# LUMEA_DB=FILE picks another market file.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
(cd ui && npm run build)
cargo run --release --locked -p lumea-app --features custom-protocol
