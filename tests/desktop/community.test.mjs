// Desktop end-to-end in community mode: the real app, switched from the local
// demo to a community market in its settings screen by signing up with an
// invitation code, trading with a neighbour who uses the REST API directly,
// against the community test backend (PostgreSQL, @supabase/lite, the realtime
// test server; tests/community/). The invitations are made in the database,
// as an admin's are (private.make_invitation).
//
// Needs what app.test.mjs needs, and tests/community's npm packages.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startDriver } from "./driver.mjs";
import { button, dialog, label, windowOf } from "./window.mjs";
import { startStand } from "../community/stand.mjs";

// The stand's own PostgreSQL client, from tests/community's packages.
const postgres = createRequire(new URL("../community/stand.mjs", import.meta.url))("postgres");

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const shots = join(root, "artifacts", "screenshots");
const home = mkdtempSync(join(tmpdir(), "lumea-desktop-community-"));
let stand;
let driver;
let webdriver;
let session;

const { s, find, click, text, type, screenshot } = windowOf(() => webdriver, () => session, shots);
const toast = (words) => `//*[@role='status']//span[contains(., "${words}")]`;
const textarea = (name) => `//textarea[@id=//label[normalize-space()='${name}']/@for]`;

/**
 * A new invitation's token for the community "default" (made first if need
 * be): pre-approved, 10 uses, for a day, as an admin would make it.
 */
async function invitationToken() {
  const db = postgres(stand.info.pg_url, { max: 1, onnotice: () => {} });
  try {
    await db`insert into public.communities (id, name) values ('default', 'Default Street') on conflict do nothing`;
    const [row] = await db`select private.make_invitation('default', 'member', 10, now() + interval '1 day', true, null) ->> 'token' as token`;
    return row.token;
  } finally {
    await db.end();
  }
}

/**
 * The code a household pastes, built as crates/community/src/invitation.rs
 * builds it: "LUMEA1-" and the base64url (no padding) of the link's query,
 * form-encoded as the url crate encodes it.
 */
function invitationCode(token) {
  const query = new URLSearchParams([
    ["project", stand.info.rest_url],
    ["key", stand.info.anon_key],
    ["community", "default"],
    ["token", token],
  ]).toString();
  return `LUMEA1-${Buffer.from(query).toString("base64url")}`;
}

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
  // Local mode first: the demo neighbourhood. The developer's environment
  // prefills sign-in's project (under "Project settings"); signing up doesn't
  // use it: the invitation names the project.
  await click("//button[normalize-space()='Local demo market']");
  assert.equal(await webdriver("GET", s(`/element/${await find(label("Project URL"))}/property/value`)), stand.info.rest_url);
  await click(dialog(button("New here? Create an account")));
  await type(textarea("Invitation link or code"), invitationCode(await invitationToken()));
  await type(label("Email"), "erin@example.com");
  await type(label("Password"), "correct-horse-battery");
  await type(label("Name shown to neighbours"), "Erin");
  await screenshot("desktop-community-sign-up");
  await click(dialog(button("Create account")));
  await find(toast("You're trading in Default Street as Erin."));
  await find("//button[normalize-space()='default · Online']");

  // Erin lists 2 kWh; it is on the server, where her neighbour sees it.
  await click(button("Sell Energy"));
  await click(dialog(button("Place Sell Order")));
  await type(label("Ask price"), "0.16");
  await type(label("Amount"), "2");
  await click(dialog(button("Place Sell Order")));
  await find(toast("Your sell order of 2 kWh at $0.16/kWh is in the market."));
  // Frank makes an account and joins with an invitation of his own, as the app would for him.
  await rest("POST", "/auth/v1/signup", { body: { email: "frank@example.com", password: "correct-horse-battery" } });
  const frank = await rest("POST", "/auth/v1/token?grant_type=password", { body: { email: "frank@example.com", password: "correct-horse-battery" } });
  const joined = await rest("POST", "/rest/v1/rpc/join_community", {
    token: frank.access_token,
    body: { p_community: "default", p_token: await invitationToken(), p_display_name: "Frank" },
  });
  assert.equal(joined.status, "active", "a pre-approved invitation makes an active member");
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

test("the real app in community mode: sign up with an invitation code, sell, a neighbour buys, the fill arrives live, sign out", async () => {
  try {
    await walkThrough();
  } catch (err) {
    if (session) await screenshot("desktop-community-failure").catch(() => {});
    throw err;
  }
});
