// Desktop app figures: cold start to interactive and idle memory of the real
// app (release build), started through tauri-driver under a display. Prints
// figures; asserts no time. scripts/bench.sh runs it with LUMEA_APP (the
// release binary) and TAURI_DRIVER set.
//
// "Interactive" is the moment the Home shows the battery from the Rust core
// and the Buy Energy button can be clicked: the page has loaded, the SQLite
// file is open (migrated and seeded on a first run) and one IPC round trip
// has answered. The time includes starting WebKitWebDriver, so it is an upper
// bound of what a household sees.

import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDriver } from "../tests/desktop/driver.mjs";

const runs = Number(process.env.RUNS ?? 5);
const idleSeconds = Number(process.env.IDLE_SECONDS ?? 10);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(session, xpath) {
  for (;;) {
    try {
      return await driver.webdriver("POST", `/session/${session}/element`, { using: "xpath", value: xpath });
    } catch {
      await sleep(5);
    }
  }
}

/** The app process and its descendants (WebKit's web and network processes). */
function processTree(rootPid) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  const tree = [];
  const queue = [rootPid];
  while (queue.length) {
    const pid = queue.shift();
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** Proportional set size in kB: shared pages (WebKit's libraries) counted once across processes. */
function pssKb(pid) {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  return Number(/^Pss:\s+(\d+) kB/m.exec(rollup)[1]);
}

function appPid() {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0")[0] === process.env.LUMEA_APP) return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  throw new Error("the app process was not found");
}

async function startOnce({ measureMemory }) {
  const started = performance.now();
  const sessionId = await driver.launch(process.env.LUMEA_APP);
  await waitFor(sessionId, "//section[.//h2[normalize-space()='Battery']]//p[contains(., 'kWh of')]");
  await waitFor(sessionId, "//button[normalize-space()='Buy Energy' and not(@disabled)]");
  const interactiveMs = performance.now() - started;
  let memory;
  if (measureMemory) {
    await sleep(idleSeconds * 1000);
    const pids = processTree(appPid());
    const perProcess = pids.map((pid) => {
      const name = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
      return { pid, name, pssKb: pssKb(pid) };
    });
    memory = { total: perProcess.reduce((sum, p) => sum + p.pssKb, 0), perProcess };
  }
  await driver.webdriver("DELETE", `/session/${sessionId}`);
  return { interactiveMs, memory };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const home = mkdtempSync(join(tmpdir(), "lumea-app-bench-"));
const driver = await startDriver({ LUMEA_DB: join(home, "market.sqlite"), XDG_DATA_HOME: join(home, "data"), XDG_CONFIG_HOME: join(home, "config") });
try {
  const first = [];
  const again = [];
  let memory;
  for (let run = 0; run < runs; run++) {
    for (const file of ["market.sqlite", "market.sqlite-wal", "market.sqlite-shm"]) rmSync(join(home, file), { force: true });
    first.push((await startOnce({ measureMemory: false })).interactiveMs);
    const warm = await startOnce({ measureMemory: run === runs - 1 });
    again.push(warm.interactiveMs);
    memory ??= warm.memory;
  }
  const ms = (values) => `median ${median(values).toFixed(0)} ms (runs: ${values.map((v) => v.toFixed(0)).join(", ")})`;
  console.log(`app start to interactive, first run (empty file: migrate and seed the demo): ${ms(first)}`);
  console.log(`app start to interactive, existing market file: ${ms(again)}`);
  console.log(`idle memory after ${idleSeconds} s (PSS, app + WebKit processes): ${(memory.total / 1024).toFixed(1)} MB`);
  for (const p of memory.perProcess) console.log(`  ${p.name} (pid ${p.pid}): ${(p.pssKb / 1024).toFixed(1)} MB`);
} finally {
  driver.stop();
  rmSync(home, { recursive: true, force: true });
}
