// Browser end-to-end: delivery intervals and settlement, on the mock's market
// (mock-backend.ts) under Playwright's clock. The page's clock starts at
// 09:56:30 UTC (harness.mjs), in Paris (UTC+2): the first open interval is
// 12:15–12:30 local, its book closing at 12:10; the tests move the clock on
// to close it and end it. The market charges a buyer fee of £0.01/kWh and a
// seller fee of £0.005/kWh.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { HOME, dialog, openApp, shot } from "./harness.mjs";

const FEES = { buyer: "0.01", seller: "0.005" };
const HOME_GB = { ...HOME, locale: "en-GB", currency: "GBP" };
/** The first open interval and the next, as the core names them (UTC). */
const FIRST = "2026-06-01T10:15:00Z";
const SECOND = "2026-06-01T10:30:00Z";

const openMarket = () => openApp({ home: HOME_GB, fees: FEES }, { timezoneId: "Europe/Paris" });
const section = (page, heading) => page.locator("section", { has: page.getByRole("heading", { name: heading, exact: true }) });
const sellers = async (page) => (await page.getByRole("listitem").allTextContents()).map((row) => row.split("£")[0]);

/** Buys `amount` kWh of Bob's offer (the first interval's) through the confirmation. */
async function buyFromBob(page, amount) {
  await page.getByRole("button", { name: "Order Book" }).click();
  await page.getByRole("button", { name: /Buy from Bob/ }).click();
  await dialog(page).getByLabel("Amount to buy").fill(amount);
  await dialog(page).getByRole("button", { name: "Confirm Purchase" }).click();
  await page.getByRole("status").getByText(`Bought ${amount} kWh from Bob`, { exact: false }).waitFor();
}

/** Chooses a meter file with `text` through the Meter card's button. */
async function importMeterFile(page, name, text) {
  const [chooser] = await Promise.all([page.waitForEvent("filechooser"), section(page, "Meter").getByRole("button", { name: "Import meter file" }).click()]);
  await chooser.setFiles({ name, mimeType: name.endsWith(".xml") ? "application/xml" : "text/csv", buffer: Buffer.from(text) });
}

test("a sell order for the interval chosen: only its book is shown, and its interval reaches place_order", async () => {
  const { page, errors } = await openMarket();
  await page.getByRole("button", { name: "Order Book" }).click();
  const picker = dialog(page).getByLabel("Delivery interval");
  const options = await picker.locator("option").allTextContents();
  assert.equal(options.length, 8, "the next two hours of 15-minute intervals");
  assert.equal(options[0], "Delivery 12:15–12:30 · closes 12:10");
  assert.equal(options[1], "Delivery 12:30–12:45 · closes 12:25");
  assert.equal(await picker.inputValue(), FIRST, "the first open interval by default");
  // The first interval's offers; the next interval's (Ivan) and an undated one (Olga) are not among them.
  assert.deepEqual(await sellers(page), ["Bob", "Erin", "Frank", "Heidi"]);
  await shot(page, "delivery-interval-selector");
  await picker.selectOption(SECOND);
  await dialog(page).getByRole("button", { name: /Buy from Ivan/ }).waitFor();
  assert.deepEqual(await sellers(page), ["Ivan"]);
  assert.doesNotMatch(await dialog(page).textContent(), /Olga/, "undated orders are in no interval's book");
  await page.getByRole("tab", { name: /Buy Orders/ }).click();
  await dialog(page).getByText("No bids for this interval right now.").waitFor();
  await page.getByRole("tab", { name: /Sell Orders/ }).click();

  await dialog(page).getByRole("button", { name: "Place Sell Order" }).click();
  const form = dialog(page);
  await form.getByRole("heading", { name: "Place Sell Order" }).waitFor();
  assert.equal(await form.getByLabel("Delivery interval").inputValue(), SECOND, "the interval chosen in the market");
  await form.getByLabel("Ask price").fill("0.16");
  await form.getByLabel("Amount").fill("5");
  // £0.80 less the seller's fee of 5 × £0.005, and the margin after it.
  assert.match(await form.textContent(), /Expected revenue£0\.80Seller fee \(£0\.005\/kWh\)−£0\.025Expected proceeds£0\.775Profit margin vs grid \(£0\.10\/kWh\)55% · £0\.275/);
  await form.getByText("Fees are charged on delivered energy", { exact: false }).waitFor();
  await shot(page, "delivery-place-sell-order");
  await form.getByRole("button", { name: "Place Sell Order" }).click();
  await page.getByRole("status").getByText("Your sell order of 5 kWh at £0.16/kWh for delivery 12:30–12:45 is in the market.").waitFor();

  const sent = await page.evaluate(() => window.lumeaMock.sent("place_order"));
  assert.equal(sent.length, 1);
  assert.deepEqual({ side: sent[0].side, price: sent[0].price, amount: sent[0].amount, interval: sent[0].interval }, { side: "sell", price: "0.16", amount: "5", interval: SECOND });
  const row = section(page, "My orders").getByRole("row", { name: /Sell/ });
  await row.getByRole("cell", { name: "12:30–12:45" }).waitFor();
  await row.getByRole("cell", { name: "active" }).waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test("buying now from an offer of the interval: the quote shows the buyer's fee and the total", async () => {
  const { page, errors } = await openMarket();
  await page.getByRole("button", { name: "Order Book" }).click();
  await page.getByRole("button", { name: /Buy from Bob/ }).click();
  const confirm = dialog(page);
  await confirm.getByRole("heading", { name: "Confirm Market Order" }).waitFor();
  assert.match(await confirm.textContent(), /Price£0\.17\/kWhAvailable5 kWhDelivery12:15–12:30/);
  await confirm.getByLabel("Amount to buy").fill("3");
  // 3 kWh at £0.17 is £0.51, plus 3 × £0.01: £0.54, against the grid's 3 × £0.20.
  assert.match(await confirm.textContent(), /Energy cost£0\.51Buyer fee \(£0\.01\/kWh\)£0\.03Total£0\.54Savings vs grid \(£0\.20\/kWh\)£0\.06/);
  assert.match(await confirm.getByRole("note").textContent(), /for delivery 12:15–12:30.*Fees are charged on delivered energy/s);
  await shot(page, "delivery-confirm-with-fee");
  await confirm.getByRole("button", { name: "Confirm Purchase" }).click();
  await page.getByRole("status").getByText("Bought 3 kWh from Bob for £0.51.").waitFor();
  const [purchase] = await page.evaluate(() => window.lumeaMock.sent("buy_now"));
  assert.equal(purchase.amount, "3");
  const trade = section(page, "Trade history").getByRole("row", { name: /Bought/ });
  await trade.getByRole("cell", { name: "12:15–12:30" }).waitFor();
  await trade.getByRole("cell", { name: "Contracted" }).waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test("the gate closing: my order of the interval expires and the interval leaves the selector", async () => {
  const { page, errors } = await openMarket();
  await page.getByRole("button", { name: "Sell Energy" }).click();
  await dialog(page).getByRole("button", { name: "Place Sell Order" }).click();
  assert.equal(await dialog(page).getByLabel("Delivery interval").inputValue(), FIRST);
  await dialog(page).getByLabel("Ask price").fill("0.18");
  await dialog(page).getByLabel("Amount").fill("2");
  await dialog(page).getByRole("button", { name: "Place Sell Order" }).click();
  await page.getByRole("status").getByText(/for delivery 12:15–12:30 is in the market/).waitFor();
  const battery = section(page, "Battery");
  await battery.getByText("2 kWh to sell", { exact: false }).waitFor();

  await page.getByRole("button", { name: "Order Book" }).click();
  const picker = dialog(page).getByLabel("Delivery interval");
  assert.equal(await picker.inputValue(), FIRST);
  // 12:10 in Paris: the first interval's book closes, with the market modal open.
  await page.clock.fastForward("14:00");
  await page.waitForFunction((first) => ![...document.querySelectorAll("#market-interval option")].some((o) => o.value === first), FIRST);
  assert.equal(await picker.inputValue(), SECOND, "the next interval is the first open one now");
  assert.equal((await picker.locator("option").allTextContents())[0], "Delivery 12:30–12:45 · closes 12:25");
  assert.deepEqual(await sellers(page), ["Ivan"]);
  await shot(page, "delivery-gate-closed");
  await page.keyboard.press("Escape");

  const mine = section(page, "My orders").getByRole("row", { name: /Sell/ });
  await mine.getByRole("cell", { name: "expired" }).waitFor();
  assert.equal(await mine.getByRole("button", { name: "Cancel" }).count(), 0);
  // What the order held is free again.
  await battery.getByText("0 kWh to sell", { exact: false }).waitFor();
  // A new order goes to the interval open now.
  await page.getByRole("button", { name: "Sell Energy" }).click();
  await dialog(page).getByRole("button", { name: "Place Sell Order" }).click();
  assert.equal(await dialog(page).getByLabel("Delivery interval").inputValue(), SECOND);
  assert.deepEqual(errors, []);
  await page.close();
});

test("a meter file imported settles the interval's trade; a bad one is refused with its line, and nothing imported", async () => {
  const { page, errors } = await openMarket();
  const meter = section(page, "Meter");
  // The meter has reported two intervals already, the later one revised.
  const rows = meter.getByRole("row");
  assert.equal(await rows.count(), 3);
  assert.match(await rows.nth(1).textContent(), /^11:30–11:45revised0\.3 kWh1\.85 kWh$/);
  assert.match(await rows.nth(2).textContent(), /^11:15–11:300\.4 kWh2\.1 kWh$/);

  await buyFromBob(page, "3");
  // 12:31 in Paris: the interval has ended, and its trade awaits the meter.
  await page.clock.fastForward("35:00");
  const trade = section(page, "Trade history").getByRole("row", { name: /Bought/ });
  await trade.getByRole("cell", { name: "Awaiting meter" }).waitFor();

  const bad = `interval_start,import_kwh,export_kwh\n${FIRST},2.5,0\n2026-06-01T10:00:00Z,abc,1\n`;
  await importMeterFile(page, "bad.csv", bad);
  const refusal = meter.getByRole("alert");
  await refusal.getByText("The meter file can't be imported, so none of its readings were recorded.").waitFor();
  assert.match(await refusal.textContent(), /recorded\.line 3: import_kwh "abc" is not 0 to 10,000 kWh with at most 3 decimals$/);
  await shot(page, "meter-file-refused");
  assert.equal((await page.evaluate(() => window.lumeaMock.readings())).length, 2, "nothing imported");
  assert.equal(await rows.count(), 3);
  await trade.getByRole("cell", { name: "Awaiting meter" }).waitFor();

  // A file of the future is refused too: its interval hasn't ended.
  await importMeterFile(page, "later.csv", `interval_start,import_kwh,export_kwh\n2026-06-01T10:45:00Z,1,0\n`);
  await refusal.getByText("That delivery interval has not ended yet", { exact: false }).waitFor();

  const good = `interval_start,import_kwh,export_kwh\n${FIRST},2.5,0\n2026-06-01T10:00:00Z,0.2,1\n`;
  await importMeterFile(page, "meter.csv", good);
  await page.getByRole("status").getByText("Imported 2 readings.").waitFor();
  assert.equal(await refusal.count(), 0);
  await meter.getByRole("row", { name: /12:15–12:30/ }).waitFor();
  assert.match(await rows.nth(1).textContent(), /^12:15–12:302\.5 kWh0 kWh$/);
  assert.equal(await rows.count(), 5);
  // Delivered: the 2.5 kWh the meter says came in, of 3 kWh contracted.
  await trade.getByText("Delivered 2.5 of 3 kWh").waitFor();
  await trade.getByText("settled").waitFor();
  await shot(page, "meter-imported");

  // A Green Button file revises the 12:00 interval: 250 Wh imported.
  const greenButton = `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi">
  <entry><content><espi:ReadingType><espi:flowDirection>1</espi:flowDirection><espi:powerOfTenMultiplier>0</espi:powerOfTenMultiplier><espi:uom>72</espi:uom></espi:ReadingType></content></entry>
  <entry><content><espi:IntervalBlock><espi:IntervalReading><espi:timePeriod><espi:duration>900</espi:duration><espi:start>1780308000</espi:start></espi:timePeriod><espi:value>250</espi:value></espi:IntervalReading></espi:IntervalBlock></content></entry>
</feed>`;
  await importMeterFile(page, "green-button.xml", greenButton);
  await page.getByRole("status").getByText("Imported 1 reading.").waitFor();
  const revised = meter.getByRole("row", { name: /12:00–12:15/ }).filter({ hasText: "revised" });
  await revised.waitFor();
  assert.equal(await revised.textContent(), "12:00–12:15revised0.25 kWh0 kWh");
  assert.equal(await rows.count(), 5);
  assert.deepEqual(errors, []);
  await page.close();
});

test("the statement: lines, totals, the CSV downloaded, and printed alone", async () => {
  const { page, errors } = await openMarket();
  await buyFromBob(page, "3");
  await page.getByRole("button", { name: "Sell Energy" }).click();
  await dialog(page).getByRole("button", { name: "Place Sell Order" }).click();
  await dialog(page).getByLabel("Ask price").fill("0.18");
  await dialog(page).getByLabel("Amount").fill("2");
  await dialog(page).getByRole("button", { name: "Place Sell Order" }).click();
  await page.getByRole("status").getByText(/Your sell order of 2 kWh/).waitFor();
  await page.evaluate(() => window.lumeaMock.neighbourBuysFromMe("1.5"));
  await page.getByRole("status").getByText("Alice bought 1.5 kWh of your energy", { exact: false }).waitFor();
  await page.clock.fastForward("35:00");
  // Import 2.5 kWh (of 3 bought) and export 1.2 kWh (of 1.5 sold).
  await importMeterFile(page, "meter.csv", `interval_start,import_kwh,export_kwh\n${FIRST},2.5,1.2\n`);
  await page.getByRole("status").getByText("Imported 1 reading.").waitFor();

  await page.getByRole("button", { name: "Statements" }).click();
  const statement = dialog(page);
  assert.equal(await statement.getByLabel("Month", { exact: true }).inputValue(), "2026-06", "this month by default");
  await statement.getByRole("heading", { name: "Statement for June 2026" }).waitFor();
  const lines = statement.getByRole("table", { name: "Trades in this period" }).getByRole("row");
  await lines.nth(2).waitFor();
  assert.match(await lines.nth(1).textContent(), /^1 Jun, 12:15–12:30BobBought3 kWh2\.5 kWh£0\.17\/kWh£0\.425£0\.025Settled$/);
  assert.match(await lines.nth(2).textContent(), /^1 Jun, 12:15–12:30AliceSold1\.5 kWh1\.2 kWh£0\.18\/kWh£0\.216£0\.006Settled$/);
  const totals = await statement.getByRole("definition").allTextContents();
  const terms = await statement.getByRole("term").allTextContents();
  const figure = (term) => totals[terms.indexOf(term)];
  // Paid 0.425 + 0.025; received 0.216 − 0.006; the grid's share from the three readings of the month.
  assert.equal(figure("Paid, fees included"), "£0.45");
  assert.equal(figure("Received, fees deducted"), "£0.21");
  assert.equal(figure("Fees"), "£0.031");
  assert.equal(figure("Grid import not covered"), "0.7 kWh × £0.20/kWh = £0.14");
  assert.equal(figure("Export not sold, fed in"), "3.95 kWh × £0.10/kWh = £0.395");
  assert.equal(figure("Net cost"), "-£0.015");
  assert.equal(figure("With the grid alone"), "£0.125");
  assert.equal(figure("Savings"), "£0.14");
  assert.equal(figure("CO2 avoided"), "0.918 kg");
  await shot(page, "statement-modal");

  const [download] = await Promise.all([page.waitForEvent("download"), statement.getByRole("button", { name: "Download CSV" }).click()]);
  assert.equal(download.suggestedFilename(), "lumea-statement-2026-06.csv");
  const csv = (await readFile(await download.path(), "utf8")).split("\n");
  assert.equal(csv[0], "interval_start,side,counterparty,contracted_kwh,delivered_kwh,price_per_kwh,energy_value,fee,state,revision");
  assert.equal(csv[1], "2026-06-01T10:15:00Z,bought,Bob,3,2.5,0.17,0.425,0.025,settled,1");
  assert.equal(csv[2], "2026-06-01T10:15:00Z,sold,Alice,1.5,1.2,0.18,0.216,0.006,settled,1");
  for (const row of ["paid,0.45", "received,0.21", "fees,0.031", "net_cost,-0.015", "savings,0.14", "co2_kg,0.9175", "period,2026-05-31T22:00:00Z to 2026-06-30T22:00:00Z"]) {
    assert.ok(csv.includes(row), row);
  }
  const [range] = await page.evaluate(() => window.lumeaMock.sent("statement_csv"));
  assert.deepEqual(range, { from: "2026-05-31T22:00:00Z", to: "2026-06-30T22:00:00Z" });

  // Print: the statement alone, without the screen behind it or the controls.
  await page.evaluate(() => {
    window.printed = 0;
    window.print = () => (window.printed += 1);
  });
  await statement.getByRole("button", { name: "Print" }).click();
  assert.equal(await page.evaluate(() => window.printed), 1);
  await page.emulateMedia({ media: "print" });
  assert.equal(await page.locator("#root").isVisible(), false);
  assert.equal(await statement.getByRole("button", { name: "Download CSV" }).isVisible(), false);
  assert.equal(await statement.getByRole("table", { name: "Trades in this period" }).isVisible(), true);
  assert.equal(await statement.getByRole("heading", { name: "Statement for June 2026" }).isVisible(), true);
  await shot(page, "statement-print");
  await page.emulateMedia({ media: "screen" });

  // A range of days without trades.
  await statement.getByLabel("Custom range").check();
  await statement.getByLabel("From", { exact: true }).fill("2026-06-02");
  await statement.getByLabel("To", { exact: true }).fill("2026-06-05");
  await statement.getByRole("heading", { name: "Statement from 2 Jun 2026 to 5 Jun 2026" }).waitFor();
  await statement.getByText("No trades for delivery in this period.").waitFor();
  await statement.getByLabel("To", { exact: true }).fill("2026-06-01");
  await statement.getByText("Choose a range that ends on or after the day it starts.").waitFor();
  assert.equal(await statement.getByRole("button", { name: "Download CSV" }).isDisabled(), true);
  assert.deepEqual(errors, []);
  await page.close();
});

test("community mode: readings and statements come from the community; a meter file is its operator's to import", async () => {
  const { page, errors } = await openApp({ community: "member" });
  const meter = section(page, "Meter");
  await importMeterFile(page, "meter.csv", "interval_start,import_kwh,export_kwh\n2026-06-01T09:00:00Z,1,0\n");
  await meter.getByRole("alert").getByText("In a community, your community's operator imports the meter readings: files can't be imported here.").waitFor();
  await page.getByRole("button", { name: "Statements" }).click();
  await dialog(page).getByRole("button", { name: "Download CSV" }).waitFor();
  // Not a failed refresh: no toast says so.
  assert.equal(await page.getByText("Couldn't refresh the market", { exact: false }).count(), 0);
  assert.doesNotMatch(await page.content(), /not_available/);
  assert.deepEqual(errors, []);
  await page.close();
});
