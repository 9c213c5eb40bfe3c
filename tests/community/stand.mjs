// The community backend for tests, in one process: a private PostgreSQL 15
// cluster (logical decoding on), @supabase/lite serving the Supabase REST and
// Auth APIs on it with the project's migrations, and the Realtime stand-in.
//
//   node tests/community/stand.mjs
//
// prints one JSON line on stdout ({rest_url, realtime_url, anon_key,
// jwt_secret, pg_url}), then reads commands on stdin, one a line, and answers
// each with "ok <command>" or "error <command> <message>":
//   stop-rest, start-rest, restart-postgres, drop-realtime, quit.
// On EOF, quit or SIGTERM it stops everything and removes its files. Logs go
// to stderr. LUMEA_STAND_JWT_EXPIRY sets lite's access-token lifetime (seconds);
// LUMEA_STAND_CONFIRM_EMAIL=1 makes sign-up wait for the e-mail's link.
//
// Also importable: startStand() returns the same handles to a node test.

import { execFileSync, spawn } from "node:child_process";
import { chownSync, realpathSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import postgres from "postgres";
import { startRealtime } from "./realtime-server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const supabaseDir = join(here, "..", "..", "supabase");
const PG_BIN = process.env.LUMEA_PG_BIN ?? "/usr/lib/postgresql/15/bin";
const ANON_KEY = "sb_publishable_lumeatests";
const SECRET_KEY = "sb_secret_lumeatests";

function defaultLog(line) {
  process.stderr.write(`[stand] ${line}\n`);
}

export async function startStand({ log = defaultLog } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "lumea-stand-"));
  const dataDir = join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  // initdb refuses to run as root: the cluster then belongs to user postgres.
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]));
    const gid = Number(execFileSync("id", ["-g", "postgres"]));
    chownSync(dir, uid, gid);
  }
  const pgTool = (tool, args) => {
    const [cmd, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", join(PG_BIN, tool), ...args]] : [join(PG_BIN, tool), args];
    return execFileSync(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] }).toString();
  };
  const pgCtl = (...args) => pgTool("pg_ctl", ["-D", dataDir, "-l", join(dir, "postgres.log"), ...args]);

  let lite = null;
  let realtime = null;
  let pgStarted = false;
  let watchdog = null;

  const stand = {
    dir,
    info: null,
    async stopRest() {
      if (!lite || lite.exitCode !== null || lite.signalCode !== null) return;
      const exited = new Promise((resolve) => lite.once("exit", resolve));
      lite.kill("SIGTERM");
      await exited;
      lite = null;
    },
    async startRest() {
      if (lite) return;
      lite = await startLite(liteDir, liteBin, log);
      writeFileSync(join(dir, "lite.pid"), String(lite.pid));
    },
    async restartPostgres() {
      pgCtl("restart", "-m", "fast", "-w");
      // The realtime server and (mostly) lite reconnect by themselves; wait
      // until the REST API answers again so the caller can go on at once.
      // lite sometimes keeps a broken pool (CI, under load): it is restarted
      // then, as Supabase's PostgREST reconnects by itself.
      // A restarted lite has been seen to keep failing too, under load: up to three restarts.
      for (let restarts = 0; ; restarts++) {
        try {
          await waitForRest(stand.info.rest_url, restarts === 0 ? 15_000 : 30_000);
          return;
        } catch (err) {
          if (restarts === 3) throw err;
          log(`restart-postgres: ${err.message}; restarting lite`);
          await stand.stopRest();
          await stand.startRest();
        }
      }
    },
    dropRealtime() {
      realtime.dropAll();
    },
    async stop() {
      await stand.stopRest().catch((err) => log(`stopping lite: ${err.message}`));
      if (realtime) await realtime.close().catch((err) => log(`stopping realtime: ${err.message}`));
      realtime = null;
      if (pgStarted) {
        try {
          pgCtl("stop", "-m", "immediate", "-w");
        } catch (err) {
          log(`pg_ctl stop: ${err.stderr ?? err.message}`);
        }
        pgStarted = false;
      }
      if (watchdog) {
        try {
          process.kill(watchdog.pid, "SIGKILL");
        } catch {}
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };

  const liteDir = join(dir, "lite");
  const liteBin = join(here, "node_modules", ".bin", "lite");
  try {
    // --- PostgreSQL -------------------------------------------------------------
    pgTool("initdb", ["-D", dataDir, "--auth=trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--no-instructions"]);
    const pgPort = await freePort();
    appendFileSync(join(dataDir, "postgresql.conf"), [
      "",
      "# lumea test stand",
      `port = ${pgPort}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      "wal_level = logical",
      "max_replication_slots = 10",
      "max_wal_senders = 10",
      "fsync = off",
      "timezone = 'UTC'",
      "",
    ].join("\n"));
    watchdog = startWatchdog(dir, dataDir, asRoot);
    pgCtl("start", "-w");
    pgStarted = true;
    const pgUrl = `postgres://postgres@127.0.0.1:${pgPort}/postgres`;

    // --- @supabase/lite, as tests/http/api.test.mjs starts it ---------------
    // It creates its auth tables on its first start, and reads the schema only
    // at start: start, stop, apply our SQL, start again.
    const restPort = await freePort();
    const jwtSecret = `lumea-stand-${randomBytes(24).toString("hex")}`;
    const jwtExpiry = process.env.LUMEA_STAND_JWT_EXPIRY;
    if (jwtExpiry !== undefined && !/^[1-9][0-9]*$/.test(jwtExpiry)) {
      throw new Error(`LUMEA_STAND_JWT_EXPIRY must be a number of seconds, got "${jwtExpiry}"`);
    }
    // LUMEA_STAND_CONFIRM_EMAIL=1: e-mail is confirmed first (lite prints each e-mail; tests read the token from auth.users).
    const confirmEmail = process.env.LUMEA_STAND_CONFIRM_EMAIL === "1";
    mkdirSync(join(liteDir, "supabase"), { recursive: true });
    writeFileSync(
      join(liteDir, "supabase", "config.toml"),
      `[api]\nport = ${restPort}\n\n[db]\ndriver = "postgres"\nurl = "${pgUrl}"\n\n` +
        `[auth]\nenabled = true\njwt_secret = "${jwtSecret}"\n` +
        (jwtExpiry ? `jwt_expiry = ${jwtExpiry}\n` : "") +
        `enable_signup = true\npublishable_key = "${ANON_KEY}"\nsecret_key = "${SECRET_KEY}"\n` +
        // The app's e-mail links come back to it (lumea://auth/callback), as a hosted project is set up.
        `site_url = "http://127.0.0.1:${restPort}"\nadditional_redirect_urls = ["lumea://auth/callback"]\n\n` +
        `[auth.email]\nenable_confirmations = ${confirmEmail}\n`,
    );
    await stand.startRest();
    await stand.stopRest();
    const db = postgres(pgUrl, { max: 1, onnotice: () => {} });
    try {
      await db.unsafe(readFileSync(join(here, "..", "support", "platform_stand_in.sql"), "utf8"));
      const migrations = readdirSync(join(supabaseDir, "migrations")).filter((f) => f.endsWith(".sql")).sort();
      for (const file of migrations) {
        await db.unsafe(readFileSync(join(supabaseDir, "migrations", file), "utf8"));
      }
    } finally {
      await db.end();
    }
    await stand.startRest();

    // --- Realtime ------------------------------------------------------------
    realtime = await startRealtime({ pgUrl, jwtSecret, port: await freePort(), log: (line) => log(`realtime: ${line}`) });

    stand.info = {
      rest_url: `http://127.0.0.1:${restPort}`,
      realtime_url: realtime.url,
      anon_key: ANON_KEY,
      jwt_secret: jwtSecret,
      pg_url: pgUrl,
    };
    return stand;
  } catch (err) {
    await stand.stop();
    throw err;
  }
}

async function startLite(cwd, bin, log) {
  const child = spawn(bin, ["start", "--no-admin"], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  // lite is chatty (it prints every NOTICE): its output is shown only with
  // LUMEA_STAND_VERBOSE=1, or when it fails to start.
  const verbose = process.env.LUMEA_STAND_VERBOSE === "1";
  const echo = (chunk) => {
    output += chunk;
    if (verbose) for (const line of String(chunk).split("\n")) if (line.trim()) log(`lite: ${line}`);
  };
  child.stdout.on("data", echo);
  child.stderr.on("data", echo);
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lite did not start:\n${output}`)), 60_000);
    const check = () => {
      if (output.includes("Server running")) {
        clearTimeout(timer);
        child.stdout.off("data", check);
        child.stderr.off("data", check);
        child.off("exit", failed);
        resolve();
      }
    };
    const failed = (code) => {
      clearTimeout(timer);
      reject(new Error(`lite exited (${code}):\n${output}`));
    };
    child.stdout.on("data", check);
    child.stderr.on("data", check);
    child.once("exit", failed);
  });
  return child;
}

/**
 * Waits until lite answers a REST read (it reconnects to PostgreSQL on its own).
 * communities is a table of the schema lite read at its start: anon gets no
 * row of it (RLS) or a refusal, and either answer (below 500) comes from
 * PostgreSQL, so it is up.
 */
async function waitForRest(restUrl, within) {
  const deadline = Date.now() + within;
  for (;;) {
    try {
      const res = await fetch(`${restUrl}/rest/v1/communities?select=id`, { headers: { apikey: ANON_KEY } });
      await res.arrayBuffer();
      if (res.status < 500) return;
    } catch {}
    if (Date.now() > deadline) throw new Error("lite did not answer after the PostgreSQL restart");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * If this process is killed outright (SIGKILL gives no chance to clean up), a
 * detached shell notices and stops lite and PostgreSQL and removes the files.
 */
function startWatchdog(dir, dataDir, asRoot) {
  const pgCtl = `${asRoot ? "runuser -u postgres -- " : ""}${join(PG_BIN, "pg_ctl")}`;
  const script = `
    while kill -0 ${process.pid} 2>/dev/null; do sleep 0.5; done
    [ -f '${dir}/lite.pid' ] && kill "$(cat '${dir}/lite.pid')" 2>/dev/null
    [ -f '${dataDir}/postmaster.pid' ] && ${pgCtl} -D '${dataDir}' stop -m immediate >/dev/null 2>&1
    rm -rf '${dir}'`;
  const child = spawn("sh", ["-c", script], { detached: true, stdio: "ignore" });
  child.unref();
  return child;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
    probe.on("error", reject);
  });
}

// --- The command-line stand, for the Rust tests ---------------------------------

async function main() {
  let stand;
  let stopping = null;
  const stopAll = (code, answer) => {
    stopping ??= (async () => {
      if (stand) await stand.stop();
      if (answer) process.stdout.write(answer);
      process.exit(code);
    })();
    return stopping;
  };
  process.on("SIGTERM", () => stopAll(0));
  process.on("SIGINT", () => stopAll(0));

  try {
    stand = await startStand();
  } catch (err) {
    defaultLog(`failed to start: ${err.stack ?? err}`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify(stand.info)}\n`);

  const commands = {
    "stop-rest": () => stand.stopRest(),
    "start-rest": () => stand.startRest(),
    "restart-postgres": () => stand.restartPostgres(),
    "drop-realtime": () => stand.dropRealtime(),
  };
  const lines = createInterface({ input: process.stdin });
  for await (const raw of lines) {
    const command = raw.trim();
    if (!command) continue;
    // Answered once everything is stopped and removed.
    if (command === "quit") await stopAll(0, "ok quit\n");
    try {
      if (!commands[command]) throw new Error("unknown command");
      await commands[command]();
      process.stdout.write(`ok ${command}\n`);
    } catch (err) {
      defaultLog(`${command}: ${err.stack ?? err}`);
      process.stdout.write(`error ${command} ${String(err.message ?? err).replace(/\s+/g, " ")}\n`);
    }
  }
  await stopAll(0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  main();
}
