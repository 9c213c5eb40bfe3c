// Desktop end-to-end in community mode: the real app, started by an
// invitation link as the desktop opens one, set up (its home) and signed up on
// its first run, approved and later suspended by an admin through the
// console's functions, trading with a neighbour who uses the REST API directly,
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
let admin;
let driver;
let webdriver;
let session;

const { s, find, click, text, type, screenshot } = windowOf(() => webdriver, () => session, shots);
const toast = (words) => `//*[@role='status']//span[contains(., "${words}")]`;
const textarea = (name) => `//textarea[@id=//label[normalize-space()='${name}']/@for]`;

/**
 * A new invitation's token for the community "default" (made first if need
 * be), for a day, as an admin makes one.
 */
async function invitationToken({ role = "member", preApproved = true } = {}) {
  const db = postgres(stand.info.pg_url, { max: 1, onnotice: () => {} });
  try {
    await db`insert into public.communities (id, name) values ('default', 'Default Street') on conflict do nothing`;
    const [row] = await db`select private.make_invitation('default', ${role}, 10, now() + interval '1 day', ${preApproved}, null) ->> 'token' as token`;
    return row.token;
  } finally {
    await db.end();
  }
}

/**
 * The invitation as the link the operator sends, built as
 * crates/community/src/invitation.rs builds it (form-encoded as the url crate
 * encodes it).
 */
function invitationLink(token) {
  const query = new URLSearchParams([
    ["project", stand.info.rest_url],
    ["key", stand.info.anon_key],
    ["community", "default"],
    ["token", token],
  ]).toString();
  return `lumea://join?${query}`;
}

/** A neighbour through the REST API as any Supabase client: an account, then a membership by invitation. */
async function neighbour(name, token) {
  const email = `${name.toLowerCase()}@example.com`;
  await rest("POST", "/auth/v1/signup", { body: { email, password: "correct-horse-battery" } });
  const session = await rest("POST", "/auth/v1/token?grant_type=password", { body: { email, password: "correct-horse-battery" } });
  const joined = await rest("POST", "/rest/v1/rpc/join_community", {
    token: session.access_token,
    body: { p_community: "default", p_token: token, p_display_name: name },
  });
  return { token: session.access_token, joined };
}

/** What the operator's console does for Ann: an admin action on a member, by name. */
async function manage(admin, name, action) {
  const members = await rest("POST", "/rest/v1/rpc/community_members", { token: admin.token, body: { p_community: "default" } });
  const member = members.find((m) => m.display_name === name);
  assert.ok(member, `${name} is a member: ${JSON.stringify(members)}`);
  return rest("POST", "/rest/v1/rpc/manage_member", { token: admin.token, body: { p_community: "default", p_member: member.membership_id, p_action: action } });
}

/** Waits until nothing matches `xpath`. */
async function gone(xpath) {
  const until = Date.now() + 15_000;
  while ((await webdriver("POST", s("/elements"), { using: "xpath", value: xpath })).length > 0) {
    if (Date.now() > until) throw new Error(`still there: ${xpath}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
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

let link;

before(async () => {
  mkdirSync(shots, { recursive: true });
  stand = await startStand();
  // The community's admin, Ann, who approves and suspends through the console's functions.
  admin = await neighbour("Ann", await invitationToken({ role: "admin" }));
  // Erin's invitation needs an admin's approval; the desktop opens the app with its link.
  link = invitationLink(await invitationToken({ preApproved: false }));
  // Realtime is the test server's; nothing else of the project is configured.
  driver = await startDriver({
    LUMEA_DB: join(home, "market.sqlite"),
    XDG_DATA_HOME: join(home, "data"),
    XDG_CONFIG_HOME: join(home, "config"),
    LUMEA_REALTIME_URL: stand.info.realtime_url,
  });
  webdriver = driver.webdriver;
  session = await driver.launch(process.env.LUMEA_APP, [link]);
});

after(async () => {
  if (session) await webdriver("DELETE", s("")).catch(() => {});
  driver?.stop();
  await stand?.stop();
});

const field = (name) => label(name);

/** Sell Energy → Place Sell Order, as the household does it, for the second open interval
 * (the first may close while the test runs). */
async function placeSellOrder(price, amount) {
  await click(button("Sell Energy"));
  await click(dialog(button("Place Sell Order")));
  await click("(//select[@id='order-interval']/option)[2]");
  await type(label("Ask price"), price);
  await type(label("Amount"), amount);
  await click(dialog(button("Place Sell Order")));
}

async function walkThrough() {
  // Opened by the invitation link: the first run asks for the home first.
  await find("//*[@role='status'][contains(., 'You opened an invitation. Set up your home first')]");
  await type(field("Name shown to neighbours"), "Erin");
  await type(field("Location"), "51.5072° N, 0.1276° W");
  await type(field("Battery capacity"), "13.5");
  await type(field("Stored now"), "8.5");
  await type(field("Language and region"), "en-US");
  await click("//select/option[@value='USD']");
  await screenshot("desktop-home-setup");
  await click(button("Save and continue"));

  // The invitation is filled in: no project, no key to type.
  await find("//h2[normalize-space()='Join your community']");
  assert.equal(await webdriver("GET", s(`/element/${await find(textarea("Invitation link or code"))}/property/value`)), link);
  await type(field("Email"), "erin@example.com");
  await type(field("Password"), "correct-horse-battery");
  await screenshot("desktop-community-sign-up");
  await click(button("Create account"));
  await find(toast("You've joined Default Street as Erin. An admin will approve you soon."));
  await find("//*[contains(@class, 'banner-pending')]");
  await screenshot("desktop-community-pending");

  // Ann approves her (the console's manage_member): Erin's app hears it live.
  await manage(admin, "Erin", "approve");
  await gone("//*[contains(@class, 'banner-pending')]");
  await find("//button[normalize-space()='default · Online']");

  // Erin lists 2 kWh; it is on the server, where her neighbour sees it.
  await placeSellOrder("0.16", "2");
  await find(toast("Your sell order of 2 kWh at $0.16/kWh for delivery"));
  // Frank joins with a pre-approved invitation of his own, as the app would for him.
  const frank = await neighbour("Frank", await invitationToken());
  assert.equal(frank.joined.status, "active", "a pre-approved invitation makes an active member");
  const book = await rest("GET", "/rest/v1/open_orders?select=id,username,price,amount&type=eq.sell", { token: frank.token });
  assert.deepEqual(book.map((order) => [order.username, Number(order.price), Number(order.amount)]), [["Erin", 0.16, 2]]);

  // Frank buys 1 kWh of it: Erin's app hears of the fill live and her order turns partial.
  await rest("POST", "/rest/v1/rpc/buy_now", { token: frank.token, body: { p_order_id: book[0].id, p_amount: "1", p_ref: randomUUID() } });
  await find(toast("Frank bought 1 kWh of your energy at $0.16/kWh ($0.16)."));
  await find("//section[.//h2[normalize-space()='My orders']]//span[normalize-space()='partial']");
  assert.match(await text("//section[.//h2[normalize-space()='Trade history']]//tbody/tr[1]"), /Sold[\s\S]*Frank[\s\S]*1 kWh[\s\S]*\$0\.16\/kWh[\s\S]*\$0\.16[\s\S]*Contracted/);
  await screenshot("desktop-community-trade");

  // Ann suspends her: the banner says so, and her next order is refused with a sentence.
  await manage(admin, "Erin", "suspend");
  await find("//*[contains(@class, 'banner-suspended')]");
  await placeSellOrder("0.17", "1");
  await find(dialog("//*[contains(., 'Your membership is suspended. Ask an admin of your community.')]"));
  // Said once, where it was asked: not again as an offline order's refusal.
  await gone(toast("An order made offline was refused"));
  await screenshot("desktop-community-suspended");
  await webdriver("POST", s("/actions"), { actions: [{ type: "key", id: "keys", actions: [{ type: "keyDown", value: "\uE00C" }, { type: "keyUp", value: "\uE00C" }] }] });

  // Signing out returns to the local demo market.
  await click("//button[normalize-space()='default · Online']");
  await click(dialog(button("Sign out and use the local demo")));
  await find(toast("Signed out. You're back in the local demo market."));
  await find("//button[normalize-space()='Local demo market']");
}

test("the real app in community mode: opened by an invitation link, home set up, pending until approved, a trade, suspended and refused, sign out", async () => {
  try {
    await walkThrough();
  } catch (err) {
    if (session) await screenshot("desktop-community-failure").catch(() => {});
    throw err;
  }
});
