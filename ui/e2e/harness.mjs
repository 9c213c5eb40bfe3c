// What the browser e2e files share: the built UI served from dist/, the mock
// backend (mock-backend.ts) bundled and injected before the app's own script,
// and Debian's Chromium. Importing this module registers node:test's before
// and after hooks for the importing file, which start and stop them. The
// files run one at a time (npm run e2e): they build the mock into one folder,
// and the printed figures want the machine to themselves.

import { before, after } from "node:test";
import { createServer } from "node:http";
import { readFile, mkdir } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import { extname, join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ui = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(ui, "dist");
const shots = join(ui, "..", "artifacts", "screenshots");
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml" };

let server;
let browser;
let origin;
let mockScript;

before(async () => {
  execFileSync("npx", ["vite", "build", "--config", "e2e/vite.config.ts", "e2e"], { cwd: ui, stdio: "ignore" });
  mockScript = await readFile(join(ui, "node_modules", ".lumea-e2e", "mock-backend.js"), "utf8");
  await mkdir(shots, { recursive: true });
  server = createServer(async (request, response) => {
    const path = new URL(request.url, "http://localhost").pathname;
    const file = join(dist, path === "/" ? "index.html" : path);
    try {
      const body = await readFile(file);
      response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

/**
 * Where the page's clock starts: Playwright's clock (page.clock), which the
 * mock's market reads too. A fixed instant, so the delivery intervals are the
 * same on every run (the first open one is 10:15–10:30 UTC, its book closing
 * at 10:10) and no gate closes in the middle of a test unless the test moves
 * the clock on (page.clock.fastForward). From there it runs as time does.
 */
export const CLOCK_START = "2026-06-01T09:56:30Z";

/**
 * A new page of the app with the mock's `config` (mock-backend.ts's Config);
 * `ready`: wait for the home screen; `clock`: where the page's clock starts
 * (null: the real clock, for the printed figures); `timezoneId`: the device's
 * time zone (the machine's by default).
 */
export async function openApp(config = {}, { ready = true, clock = CLOCK_START, timezoneId } = {}) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 820 }, timezoneId });
  const errors = [];
  page.on("pageerror", (error) => errors.push(error));
  if (clock !== null) await page.clock.install({ time: clock });
  await page.addInitScript(`window.__LUMEA_MOCK_CONFIG__ = ${JSON.stringify(config)};`);
  await page.addInitScript(mockScript);
  await page.goto(origin);
  if (ready) await page.getByRole("heading", { name: "Battery" }).waitFor();
  return { page, errors };
}

/** A home set up, with the demo's $ and en-US: the mock's `home` for a household that can sign up. */
export const HOME = {
  display_name: "Erin",
  location: "51.507, -0.128",
  battery_capacity: "13.5",
  battery_level: "8.5",
  pv_kwp: null,
  locale: "en-US",
  currency: "USD",
};

export const shot = (page, name) => page.screenshot({ path: join(shots, `${name}.png`) });
export const dialog = (page) => page.getByRole("dialog");
