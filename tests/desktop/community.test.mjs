// Desktop end-to-end in community mode: the real app, switched from the local
// demo to a community market in its settings screen, trading with a neighbour
// who uses the REST API directly, against the community test backend
// (PostgreSQL, @supabase/lite, the realtime test server; tests/community/).
//
// Needs what app.test.mjs needs, and tests/community's npm packages.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startDriver } from "./driver.mjs";
import { button, dialog, label, windowOf } from "./window.mjs";
import { startStand } from "../community/stand.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const shots = join(root, "artifacts", "screenshots");
const home = mkdtempSync(join(tmpdir(), "lumea-desktop-community-"));
let stand;
let driver;
let webdriver;
let session;

const { s, find, click, text, type, screenshot } = windowOf(() => webdriver, () => session, shots);
const toast = (words) => `//*[@role='status']//span[contains(., "${words}")]`;

/** The neighbour: the REST API as any Supabase client calls it. */
async function rest(method, path, { token, body } = {}) {
  const response = await fetch(`${stand.info.rest_url}${path}`, {
    method,
    headers: { apikey: stand.info.anon_key, "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const reply = await response.json();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${JSON.stringify(reply)}`);
  return reply;
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  stand = await startStand();
  // The developer's environment prefills the project; Realtime is the test server's.
  driver = await startDriver({
    LUMEA_DB: join(home, "market.sqlite"),
    XDG_DATA_HOME: join(home, "data"),
    XDG_CONFIG_HOME: join(home, "config"),
    LUMEA_SUPABASE_URL: stand.info.rest_url,
    LUMEA_SUPABASE_ANON_KEY: stand.info.anon_key,
    LUMEA_REALTIME_URL: stand.info.realtime_url,
  });
  webdriver = driver.webdriver;
  session = await driver.launch(process.env.LUMEA_APP);
});

after(async () => {
  if (session) await webdriver("DELETE", s("")).catch(() => {});
  driver?.stop();
  await stand?.stop();
});

async function walkThrough() {
  // Local mode first: the demo neighbourhood.
  await click("//button[normalize-space()='Local demo market']");
  assert.equal(await webdriver("GET", s(`/element/${await find(label("Project URL"))}/property/value`)), stand.info.rest_url);
  await click(dialog(button("New here? Create an account")));
  await type(label("Email"), "erin@example.com");
  await type(label("Password"), "correct-horse-battery");
  await type(label("Name shown to neighbours"), "Erin");
  await screenshot("desktop-community-sign-up");
  await click(dialog(button("Create account")));
  await find(toast("You're trading in the default community as Erin."));
  await find("//button[normalize-space()='default · Online']");

  // Erin lists 2 kWh; it is on the server, where her neighbour sees it.
  await click(button("Sell Energy"));
  await click(dialog(button("Place Sell Order")));
  await type(label("Ask price"), "0.16");
  await type(label("Amount"), "2");
  await click(dialog(button("Place Sell Order")));
  await find(toast("Your sell order of 2 kWh at $0.16/kWh is in the market."));
  await rest("POST", "/auth/v1/signup", { body: { email: "frank@example.com", password: "correct-horse-battery", data: { username: "Frank" } } });
  const frank = await rest("POST", "/auth/v1/token?grant_type=password", { body: { email: "frank@example.com", password: "correct-horse-battery" } });
  const book = await rest("GET", "/rest/v1/open_orders?select=id,username,price,amount&type=eq.sell", { token: frank.access_token });
  assert.deepEqual(book.map((order) => [order.username, Number(order.price), Number(order.amount)]), [["Erin", 0.16, 2]]);

  // Frank buys 1 kWh of it: Erin's app hears of the fill live and her order turns partial.
  await rest("POST", "/rest/v1/rpc/buy_now", { token: frank.access_token, body: { p_order_id: book[0].id, p_amount: "1", p_ref: randomUUID() } });
  await find(toast("Frank bought 1 kWh of your energy at $0.16/kWh ($0.16)."));
  await find("//section[.//h2[normalize-space()='My orders']]//span[normalize-space()='partial']");
  assert.match(await text("//section[.//h2[normalize-space()='Trade history']]//tbody/tr[1]"), /Sold\s*Frank\s*1 kWh\s*\$0\.16\/kWh\s*\$0\.16/);
  await screenshot("desktop-community-trade");

  // Signing out returns to the local demo market.
  await click("//button[normalize-space()='default · Online']");
  await click(dialog(button("Sign out and use the local demo")));
  await find(toast("Signed out. You're back in the local demo market."));
  await find("//button[normalize-space()='Local demo market']");
}

test("the real app in community mode: sign up in settings, sell, a neighbour buys, the fill arrives live, sign out", async () => {
  try {
    await walkThrough();
  } catch (err) {
    if (session) await screenshot("desktop-community-failure").catch(() => {});
    throw err;
  }
});
