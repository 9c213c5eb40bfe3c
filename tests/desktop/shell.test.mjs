// Desktop end-to-end of the shell around the market: what the UI may call
// (capabilities), one instance at a time (a second launch hands over to the
// running window and exits), the log file a household can send, and the
// window's size and place restored from the last run. The real app under tauri-driver, as
// app.test.mjs drives it.
//
// Needs: LUMEA_APP, TAURI_DRIVER, a display, and dbus-daemon (driver.mjs gives
// each test its own session bus, which the single-instance plugin uses).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startDriver } from "./driver.mjs";
import { button, windowOf } from "./window.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const shots = join(root, "artifacts", "screenshots");
const home = mkdtempSync(join(tmpdir(), "lumea-desktop-shell-"));
// The app's identifier (tauri.conf.json) names its directories.
const logFile = join(home, "data", "market.lumea.energy", "logs", "lumea-market.log");
const stateFile = join(home, "config", "market.lumea.energy", ".window-state.json");
let driver;
let webdriver;
let session;

const { s, find, click, text, screenshot } = windowOf(() => webdriver, () => session, shots);
const battery = "//section[.//h2[normalize-space()='Battery']]//p[contains(., 'kWh of')]";

/** Calls a command from the page, as the UI's own code would: its answer, or the refusal's message. */
async function invoke(command, args = {}) {
  return webdriver("POST", s("/execute/async"), {
    script: `const done = arguments[arguments.length - 1];
      window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1]).then(
        (value) => done({ ok: true, value }),
        (error) => done({ ok: false, error: typeof error === "string" ? error : JSON.stringify(error) }),
      );`,
    args: [command, args],
  });
}

async function eventually(check, what, within = 10_000) {
  const until = Date.now() + within;
  while (!check()) {
    if (Date.now() > until) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  // The window as a previous run left it (tauri-plugin-window-state's file; sizes in physical pixels).
  mkdirSync(dirname(stateFile), { recursive: true });
  const left = { width: 1000, height: 700, x: 40, y: 30, prev_x: 40, prev_y: 30, maximized: false, visible: true, decorated: true, fullscreen: false };
  writeFileSync(stateFile, JSON.stringify({ main: left }));
  driver = await startDriver({ LUMEA_DB: join(home, "market.sqlite"), XDG_DATA_HOME: join(home, "data"), XDG_CONFIG_HOME: join(home, "config") });
  webdriver = driver.webdriver;
  session = await driver.launch(process.env.LUMEA_APP);
  // The first run: the demo (the market's figures come with the tests).
  await click(button("Explore the demo"));
});

after(async () => {
  if (session) await webdriver("DELETE", s("")).catch(() => {});
  driver?.stop();
});

test("the UI may call the market's commands and nothing it was not granted", async () => {
  for (const [command, args] of [["book"], ["energy"], ["stats", { hours: 24 }], ["price_history", { hours: 24 }], ["grid_prices"], ["my_orders", { open: null, limit: 5, offset: 0 }], ["my_trades", { limit: 5, offset: 0 }], ["mode"]]) {
    const reply = await invoke(command, args);
    assert.equal(reply.ok, true, `${command}: ${reply.error}`);
  }
  // Plugins the shell uses from Rust only: the page holds none of their permissions.
  for (const [command, args] of [
    ["plugin:log|log", { level: 3, message: "from the page" }],
    ["plugin:notification|notify", { options: { title: "from the page" } }],
    ["plugin:window-state|save_window_state", { flags: 63 }],
  ]) {
    const reply = await invoke(command, args);
    assert.equal(reply.ok, false, `${command} was allowed`);
    assert.match(reply.error, /not allowed/, command);
  }
});

test("a second launch with a lumea:// link hands it to the running window and exits; the first one carries on", async () => {
  await find(battery);
  // As the desktop opens an invitation link with the app (Exec=lumea-app %u).
  const link = "lumea://join?project=https%3A%2F%2Fexample.supabase.co&key=sb_publishable_x&community=sunny&token=t0k3n";
  const second = spawn(process.env.LUMEA_APP, [link], { env: driver.env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  second.stdout.on("data", (chunk) => (output += chunk));
  second.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise((resolve) => second.once("exit", (code, signal) => resolve({ code, signal })));
  const outcome = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve("still running"), 20_000))]);
  if (outcome === "still running") second.kill("SIGKILL");
  assert.deepEqual(outcome, { code: 0, signal: null }, `the second launch: ${output}`);

  // The first instance heard of it, and its window still answers, with the link and the market behind it.
  await eventually(() => existsSync(logFile) && readFileSync(logFile, "utf8").includes("a second launch: focusing the running window"), "the running app logs the second launch");
  // The link reached its UI: the invitation waits for the home to be set up.
  await find("//*[@role='status'][contains(., 'You opened an invitation. Set up your home first')]");
  await screenshot("desktop-shell-invitation-opened");
  // The demo's welcome notice may still cover the form's buttons.
  for (const notice of await webdriver("POST", s("/elements"), { using: "xpath", value: "//*[@role='status']//button[@aria-label='Dismiss']" })) {
    await webdriver("POST", s(`/element/${Object.values(notice)[0]}/click`), {}).catch(() => {});
  }
  await click(button("Back"));
  assert.match(await text(battery), /kWh of 13\.5 kWh/);
  assert.equal((await invoke("energy")).ok, true);
  await screenshot("desktop-shell-after-second-launch");
});

test("the log file is in the platform's log directory", () => {
  assert.match(readFileSync(logFile, "utf8"), /\[lumea_app_lib\]\[INFO\] Luméa Market 0\.1\.0 on .*market\.sqlite/);
});

test("the window came back at the size and place it was left", async () => {
  // Set in before(), as a previous run would have left it. (The state is saved when the window is
  // closed; WebDriver cannot close it that way: wry drops the webview, then the driver ends the app.)
  assert.deepEqual(await webdriver("GET", s("/window/rect")), { x: 40, y: 30, width: 1000, height: 700 });
});
