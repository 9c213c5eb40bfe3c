#!/usr/bin/env bash
# cargo deny check (licences, bans, sources, advisories), offline, against the
# RustSec snapshot in ../shared/advisory-db (LUMEA_ADVISORY_DB picks another).
# cargo-deny wants its database as a git checkout under the name it derives
# from the default URL, so a copy of the snapshot is laid out as one.
set -euo pipefail
cd "$(dirname "$0")/.."
snapshot="${LUMEA_ADVISORY_DB:-../shared/advisory-db}"
db="target/advisory-dbs/advisory-db-3157b0e258782691"
if [ ! -f "$snapshot/SNAPSHOT" ]; then
    echo "no RustSec snapshot at $snapshot (set LUMEA_ADVISORY_DB)" >&2
    exit 1
fi
if ! cmp -s "$snapshot/SNAPSHOT" "$db/SNAPSHOT" 2>/dev/null; then
    rm -rf "$db"
    mkdir -p "$db"
    cp -R "$snapshot"/. "$db"/
    chmod -R u+w "$db"
    git -C "$db" init -q
    git -C "$db" add -A
    git -C "$db" -c user.name=lumea -c user.email=ci@lumea.invalid commit -q -m "RustSec snapshot"
fi
"${CARGO_DENY:-cargo-deny}" --offline check
