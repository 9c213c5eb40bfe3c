// Desktop end-to-end: the real Luméa app (Rust core, SQLite file) in its real
// webview, driven through tauri-driver and WebKitWebDriver under Xvfb, over
// plain W3C WebDriver. The market file is prepared and finally checked with
// the real `lumea` CLI.
//
// Needs: LUMEA_APP (the app binary), LUMEA_CLI (the lumea binary), TAURI_DRIVER,
// and a display (DISPLAY, e.g. Xvfb). scripts/test.sh provides them.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startDriver } from "./driver.mjs";
import { button, dialog, label, windowOf } from "./window.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const shots = join(root, "artifacts", "screenshots");
const home = mkdtempSync(join(tmpdir(), "lumea-desktop-"));
const db = join(home, "market.sqlite");
let driver;
let webdriver;
let session;

const lumea = (...args) => execFileSync(process.env.LUMEA_CLI, ["--db", db, ...args], { encoding: "utf8" });

const { s, find, click, text, type, screenshot } = windowOf(() => webdriver, () => session, shots);

async function dismissNotices() {
  for (;;) {
    try {
      await webdriver("POST", s(`/element/${await find("//*[@role='status']//button[@aria-label='Dismiss']", { within: 500 })}/click`), {});
    } catch {
      return;
    }
  }
}

let openingInterval;
let pastInterval;

before(async () => {
  mkdirSync(shots, { recursive: true });
  // A fresh market file with the demo neighbourhood, its simulator off so that
  // only this test acts on the market.
  lumea("set", "simulator", "off");
  // The interval of the demo's opening book, read while the app does not hold the file.
  openingInterval = JSON.parse(lumea("book")).asks[0].interval;
  // An interval that has ended: two hours before the opening book's, which is an hour ahead.
  pastInterval = new Date(Date.parse(openingInterval) - 2 * 3600 * 1000).toISOString().replace(".000Z", "Z");
  // Its own data (the log) and config (the window state) directories: no state of another run.
  driver = await startDriver({ LUMEA_DB: db, XDG_DATA_HOME: join(home, "data"), XDG_CONFIG_HOME: join(home, "config") });
  webdriver = driver.webdriver;
  session = await driver.launch(process.env.LUMEA_APP);
});

after(async () => {
  if (session) await webdriver("DELETE", s("")).catch(() => {});
  driver?.stop();
});

async function walkThrough() {
  // The first run asks first: the demo neighbourhood, as the market file holds it.
  await find("//h2[normalize-space()='Welcome to Luméa']");
  await screenshot("desktop-first-run");
  await click(button("Explore the demo"));
  await find("//h2[normalize-space()='Battery']");
  assert.match(await text("//section[.//h2[normalize-space()='Battery']]"), /8\.5 kWh of 13\.5 kWh/);
  await screenshot("desktop-home");

  // A refused input, then a valid sell order, for the interval of the demo's opening book.
  await click(button("Sell Energy"));
  await click(dialog(button("Place Sell Order")));
  await click(`//select[@id='order-interval']/option[@value='${openingInterval}']`);
  await type(label("Ask price"), "0.04");
  assert.equal(await text(dialog("//p[@role='alert']")), "Enter a price from $0.05 to $1.00 per kWh, with at most 4 decimals.");
  await type(label("Ask price"), "0.16");
  await type(label("Amount"), "5");
  assert.match(await text(dialog("//dl")), /Expected revenue\s*\$0\.80/);
  await screenshot("desktop-place-sell-order");
  await click(dialog(button("Place Sell Order")));
  await find("//*[@role='status']//span[contains(., 'Your sell order of 5 kWh at $0.16/kWh for delivery')]");

  // It is in the book, lowest ask first.
  await click(button("Order Book"));
  // The book follows the core's events, which may land just after the notice: wait for the new order.
  await find("//*[@role='listitem'][starts-with(normalize-space(), 'You')]");
  assert.match(await text("(//*[@role='listitem'])[1]"), /^You\s*\$0\.16\/kWh\s*5 kWh/);
  await screenshot("desktop-order-book");

  // Buy part of Bob's ask through the confirmation: a contract for the interval, with the fee (none in the demo).
  await click("//button[starts-with(@aria-label, 'Buy from Bob')]");
  await find(dialog("//h2[normalize-space()='Confirm Market Order']"));
  await type(label("Amount to buy"), "2");
  assert.match(
    await text(dialog("//dl[@aria-label='What this purchase costs']")),
    /Energy cost\s*\$0\.34\s*Buyer fee \(\$0\.00\/kWh\)\s*\$0\.00\s*Total\s*\$0\.34\s*Savings vs grid \(\$0\.20\/kWh\)\s*\$0\.06/,
  );
  await screenshot("desktop-confirm-market-order");
  await click(dialog(button("Confirm Purchase")));
  await find("//*[@role='status']//span[contains(., 'Bought 2 kWh from Bob for $0.34.')]");

  // The history has the contract; the battery holds 8.5 kWh still: the 2 kWh arrive during the interval.
  await find("//section[.//h2[normalize-space()='Trade history']]//tbody/tr[1][contains(., 'Bob')]");
  assert.match(await text("//section[.//h2[normalize-space()='Trade history']]//tbody/tr[1]"), /Bought[\s\S]*Bob[\s\S]*2 kWh[\s\S]*\$0\.17\/kWh[\s\S]*\$0\.34[\s\S]*Contracted/);
  assert.match(await text("//section[.//h2[normalize-space()='Battery']]"), /8\.5 kWh of 13\.5 kWh/);

  // Cancel the sell order, once the notices that cover it are dismissed as a household would.
  await dismissNotices();
  await click("//section[.//h2[normalize-space()='My orders']]" + button("Cancel"));
  await find("//section[.//h2[normalize-space()='My orders']]//span[normalize-space()='cancelled']");
  await screenshot("desktop-after-cancel");
  await dismissNotices();

  // A buy order below every ask rests in the book, holding room in the battery.
  await click(button("Order Book"));
  await click("//*[@role='tab'][contains(., 'Buy Orders')]");
  await click(dialog(button("Place Buy Order")));
  await type(label("Bid price"), "0.15");
  await type(label("Amount"), "2");
  await click(dialog(button("Place Buy Order")));
  await find("//*[@role='status']//span[contains(., 'Your buy order of 2 kWh at $0.15/kWh for delivery')]");
  await click(button("Order Book"));
  await click("//*[@role='tab'][contains(., 'Buy Orders')]");
  // Diana bid $0.15 earlier: at one price, the earlier order comes first.
  await find("//*[@role='listitem'][starts-with(normalize-space(), 'You')]");
  assert.match(await text("(//*[@role='listitem'])[1]"), /^Diana\s*\$0\.15\/kWh/);
  assert.match(await text("(//*[@role='listitem'])[2]"), /^You\s*\$0\.15\/kWh\s*2 kWh/);
  await webdriver("POST", s("/actions"), { actions: [{ type: "key", id: "keyboard", actions: [{ type: "keyDown", value: "\uE00C" }, { type: "keyUp", value: "\uE00C" }] }] });
  await dismissNotices();

  // The grid at its fixed prices: 1 kWh in (the last room left), then 1.5 kWh out.
  await click(button("Buy Energy"));
  await type("//input[@id=//label[starts-with(normalize-space(), 'Amount to buy at')]/@for]", "1");
  await click(dialog(button("Buy from Grid")));
  await find("//*[@role='status']//span[contains(., 'Bought 1 kWh from the grid for $0.20.')]");
  await click(button("Sell Energy"));
  await type("//input[@id=//label[starts-with(normalize-space(), 'Amount to sell at')]/@for]", "1.5");
  await click(dialog(button("Sell to Grid")));
  await find("//*[@role='status']//span[contains(., 'Sold 1.5 kWh to the grid for $0.15.')]");
  // 8.5 + 1 − 1.5 kWh.
  await find("//section[.//h2[normalize-space()='Battery']]//p[contains(., '8 kWh of 13.5 kWh')]");
  await screenshot("desktop-after-grid");

  // A meter file of the household's own meter for an interval that has ended, through the Meter card.
  const meter = join(home, "meter.csv");
  writeFileSync(meter, `interval_start,import_kwh,export_kwh\n${pastInterval},0.5,1.25\n`);
  await webdriver("POST", s(`/element/${await find("//input[@type='file'][@aria-label='Meter file']")}/value`), { text: meter });
  await find("//*[@role='status']//span[contains(., 'Imported 1 reading.')]");
  await find("//section[.//h2[normalize-space()='Meter']]//td[contains(., '1.25')]");
  await dismissNotices();

  // This month's statement: the contract with Bob, not delivered yet.
  await click(button("Statements"));
  await find(dialog("//table[@aria-label='Trades in this period']"));
  assert.match(await text(dialog("//table[@aria-label='Trades in this period']//tbody/tr[1]")), /Bob[\s\S]*2 kWh[\s\S]*Contracted/i);
  await screenshot("desktop-statement");
  await webdriver("POST", s("/actions"), { actions: [{ type: "key", id: "keyboard", actions: [{ type: "keyDown", value: "\uE00C" }, { type: "keyUp", value: "\uE00C" }] }] });

  // The app's file holds all of it, consistently.
  await webdriver("DELETE", s(""));
  session = undefined;
  let verified;
  for (let tries = 0; ; tries++) {
    try {
      verified = JSON.parse(lumea("verify"));
      break;
    } catch (err) {
      // The app lets go of its file as it exits.
      if (tries > 50) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  assert.deepEqual(verified, { verified: true });
  assert.deepEqual(
    JSON.parse(lumea("orders")).map((order) => [order.side, order.price, order.amount, order.status]),
    [["buy", "0.15", "2", "active"], ["sell", "0.16", "5", "cancelled"]],
  );
  assert.equal(JSON.parse(lumea("energy")).level, "8");
  const trades = JSON.parse(lumea("trades"));
  assert.equal(trades.length, 1);
  assert.equal(trades[0].seller, "Bob");
  assert.equal(trades[0].amount, "2");
}

test("the real app: sell, see it in the book, buy part of an ask, history, cancel, a refused input, a buy order, the grid", async () => {
  try {
    await walkThrough();
  } catch (err) {
    // What the window showed when it went wrong, for the CI artifacts.
    if (session) await screenshot("desktop-failure").catch(() => {});
    throw err;
  }
});
