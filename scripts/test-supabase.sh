#!/usr/bin/env bash
# The community backend with Supabase's own tooling, on a private PostgreSQL 15
# cluster shaped like a Supabase project's database (logical decoding, pg_cron
# preloaded for the database postgres):
#   1. the platform stand-in (tests/support/platform_stand_in.sql), as the
#      hosted platform already has it;
#   2. `supabase db push --include-seed` (the CLI reads supabase/config.toml and
#      applies supabase/migrations, then supabase/seed.sql);
#   3. `supabase db lint` (plpgsql_check): no error;
#   4. `supabase db advisors --level info`: no WARN or ERROR (the INFO findings
#      are printed);
#   5. pg_prove over supabase/tests/*.sql (each file in a transaction it rolls
#      back, as `supabase test db` runs them), then tests/supabase/
#      scheduled_upkeep.sql (the pg_cron job's command for real; it commits).
# The cluster is stopped and removed on exit. Idempotent; needs no stdin.
#
# Uses need_apt, need_npm_packages and on_exit from scripts/setup.sh. Run it as
# its own process (scripts/test.sh after sourcing setup.sh, or alone): when
# those functions are not defined it sources setup.sh itself, which also makes
# sure of the app's build dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! declare -F need_apt >/dev/null || ! declare -F need_npm_packages >/dev/null || ! declare -F on_exit >/dev/null; then
    source scripts/setup.sh
fi

PG_VERSION=15
PG_BIN="/usr/lib/postgresql/$PG_VERSION/bin"
need_apt "postgresql-$PG_VERSION" "postgresql-$PG_VERSION-cron" "postgresql-$PG_VERSION-pgtap" \
    "postgresql-$PG_VERSION-plpgsql-check" libtap-parser-sourcehandler-pgtap-perl
need_npm_packages tests/supabase
SUPABASE="$PWD/tests/supabase/node_modules/.bin/supabase"
export SUPABASE_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

step() { printf '\n== supabase: %s\n' "$*"; }

# --- A private cluster -----------------------------------------------------------
# initdb refuses to run as root: the cluster then belongs to the user postgres.
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
CLUSTER=$(mktemp -d "${TMPDIR:-/tmp}/lumea-supabase-XXXXXX")
if [ "$(id -u)" = 0 ]; then chown postgres: "$CLUSTER"; fi
stop_cluster() {
    if [ -f "$CLUSTER/data/postmaster.pid" ]; then
        as_pg "$PG_BIN/pg_ctl" -D "$CLUSTER/data" stop -m immediate -w >/dev/null 2>&1 || true
    fi
    rm -rf "$CLUSTER"
}
on_exit stop_cluster

step "a private PostgreSQL $PG_VERSION cluster with pg_cron"
as_pg "$PG_BIN/initdb" -D "$CLUSTER/data" --auth=trust -U postgres -E UTF8 --no-sync --no-instructions >/dev/null
# A free port: the kernel's pick for a socket bound to port 0.
PORT=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
cat >>"$CLUSTER/data/postgresql.conf" <<EOF

# lumea: scripts/test-supabase.sh
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$CLUSTER'
wal_level = logical
fsync = off
timezone = 'UTC'
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
# A small lock table, so that tests/supabase/scheduled_upkeep.sql can show that
# the upkeep never needs more than one community's lock in a transaction.
max_connections = 20
max_locks_per_transaction = 16
EOF
as_pg "$PG_BIN/pg_ctl" -D "$CLUSTER/data" -l "$CLUSTER/postgres.log" -w start >/dev/null
DB_URL="postgresql://postgres@127.0.0.1:$PORT/postgres?sslmode=disable"
psql_db() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@"; }

step "the platform stand-in"
psql_db -f tests/support/platform_stand_in.sql 2>&1 | { grep -v 'is already a member of role' || true; }

step "supabase/config.toml as the CLI reads it"
# Every setting is one the CLI knows: a key of the config.toml its own
# `supabase init` writes (a misspelt key would be ignored without a word).
mkdir "$CLUSTER/template"
(cd "$CLUSTER/template" && "$SUPABASE" init --yes >/dev/null)
node - supabase/config.toml "$CLUSTER/template/supabase/config.toml" <<'EOF'
const fs = require("fs");
// "section.key" for each setting, commented-out ones included (the template lists options that way).
const keys = (file) => {
  const found = new Set();
  let section = "";
  for (const raw of fs.readFileSync(file, "utf8").split("\n")) {
    const line = raw.replace(/^#\s?/, "").trim();
    const header = /^\[([A-Za-z0-9_.]+)\]$/.exec(line);
    if (header) section = header[1];
    const key = /^([A-Za-z0-9_]+)\s*=/.exec(line);
    if (key) found.add(section ? `${section}.${key[1]}` : key[1]);
  }
  return found;
};
const ours = [...keys(process.argv[2])].filter((k) => !/^#/.test(k));
const known = keys(process.argv[3]);
const unknown = ours.filter((k) => !known.has(k));
if (unknown.length > 0) {
  console.error(`supabase/config.toml: settings the CLI does not know: ${unknown.join(", ")}`);
  process.exit(1);
}
console.log(`${ours.length} settings, all known to the CLI`);
EOF
# `supabase status` decodes the whole file into the CLI's typed settings (a
# value of the wrong type fails there) before it looks for Docker, which is not
# needed here: only a failure to read the config counts.
status=$("$SUPABASE" status 2>&1 </dev/null || true)
if grep -qi 'failed to read config\|ConfigParseError' <<<"$status"; then
    echo "$status" >&2
    exit 1
fi

step "supabase db push --include-seed"
"$SUPABASE" db push --db-url "$DB_URL" --include-seed --yes

step "supabase db lint"
"$SUPABASE" db lint --db-url "$DB_URL" --schema public,private --level warning --fail-on error

step "supabase db advisors --level info"
"$SUPABASE" db advisors --db-url "$DB_URL" --level info --output-format json >"$CLUSTER/advisors.json"
node - "$CLUSTER/advisors.json" <<'EOF'
const text = require("fs").readFileSync(process.argv[2], "utf8");
// The findings, as a JSON array or inside the CLI's JSON envelope.
const parsed = text.trim() === "" ? [] : JSON.parse(text);
const findings = Array.isArray(parsed) ? parsed : (parsed.results ?? parsed.data?.results ?? []);
if (!Array.isArray(findings)) throw new Error(`unexpected advisors output: ${text.slice(0, 500)}`);
for (const f of findings) console.log(`${f.level} ${f.name}: ${f.detail}`);
const serious = findings.filter((f) => f.level !== "INFO");
if (serious.length > 0) {
  console.error(`${serious.length} advisor finding(s) above INFO`);
  process.exit(1);
}
console.log(`${findings.length} finding(s), all INFO`);
EOF

step "pgTAP: supabase/tests, then the scheduled upkeep for real"
pg_prove -h 127.0.0.1 -p "$PORT" -U postgres -d postgres supabase/tests/*.sql
pg_prove -h 127.0.0.1 -p "$PORT" -U postgres -d postgres tests/supabase/scheduled_upkeep.sql
