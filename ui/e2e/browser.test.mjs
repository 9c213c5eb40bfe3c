// Browser end-to-end: the built UI in Debian's Chromium, its Tauri IPC mocked
// by @tauri-apps/api/mocks (see mock-backend.ts). Every flow of the product
// guide, keyboard use, live updates and error sentences; a screenshot of each
// modal lands in artifacts/screenshots/. Figures for a 10,000-order book are
// printed, not asserted.

import { test } from "node:test";
import assert from "node:assert/strict";
import { HOME, dialog, openApp, shot } from "./harness.mjs";

test("home shows the battery, tokens, the market and the two buttons", async () => {
  const { page, errors } = await openApp();
  await assert.doesNotReject(page.getByText("8.5 kWh").first().waitFor());
  assert.match(await page.getByRole("meter", { name: "Battery level" }).getAttribute("aria-valuenow"), /^63$/);
  const market = page.locator("section", { has: page.getByRole("heading", { name: "Market" }) });
  assert.match(await market.textContent(), /Best bid\$0\.15\/kWhBest ask\$0\.17\/kWh/);
  assert.match(await market.textContent(), /Last price\$0\.17\/kWh/);
  await page.getByRole("button", { name: "Buy Energy" }).waitFor();
  await page.getByRole("button", { name: "Sell Energy" }).waitFor();
  await shot(page, "home");
  assert.deepEqual(errors, []);
  await page.close();
});

test("buy from the community: options, offers lowest first, smart validation, purchase", async () => {
  const { page } = await openApp();
  await page.getByRole("button", { name: "Buy Energy" }).click();
  await dialog(page).getByRole("heading", { name: "Buy from Grid" }).waitFor();
  assert.match(await dialog(page).textContent(), /View and purchase from existing market sell orders placed by your neighbors\./);
  await shot(page, "buy-options-modal");
  await page.getByRole("button", { name: "View Market Offers" }).click();
  await page.getByRole("tab", { name: /Sell Orders/ }).waitFor();
  const sellers = await page.getByRole("listitem").allTextContents();
  assert.deepEqual(sellers.map((row) => row.split("$")[0]), ["Bob", "Erin", "Frank", "Heidi"]);
  assert.match(sellers[0], /\$0\.17\/kWh5 kWh0\.7 km/);
  await shot(page, "p2p-market-modal");
  await page.getByRole("tab", { name: /Buy Orders/ }).click();
  const buyers = await page.getByRole("listitem").allTextContents();
  assert.deepEqual(buyers.map((row) => row.split("$")[0]), ["Diana", "Grace"]);
  await page.getByRole("tab", { name: /Sell Orders/ }).click();
  await page.getByRole("button", { name: /Buy from Bob/ }).click();
  const confirm = dialog(page);
  await confirm.getByRole("heading", { name: "Confirm Market Order" }).waitFor();
  assert.match(await confirm.textContent(), /SellerBobDistance0\.7 kmPrice\$0\.17\/kWhAvailable5 kWh/);
  assert.match(await confirm.getByRole("note").textContent(), /direct P2P transaction/);
  const amount = confirm.getByLabel("Amount to buy");
  await amount.fill("5.01");
  await confirm.getByText("That is more than the offer has left.").waitFor();
  await amount.fill("5");
  assert.equal(await confirm.getByRole("button", { name: "Confirm Purchase" }).isEnabled(), true);
  await amount.fill("3");
  assert.match(await confirm.textContent(), /Energy cost\$0\.51Buyer fee \(\$0\.00\/kWh\)\$0\.00Total\$0\.51Savings vs grid \(\$0\.20\/kWh\)\$0\.09/);
  await shot(page, "confirm-market-order-modal");
  await confirm.getByRole("button", { name: "Confirm Purchase" }).click();
  await page.getByRole("status").getByText("Bought 3 kWh from Bob for $0.51.").waitFor();
  await page.getByText("11.5 kWh").first().waitFor();
  await page.getByRole("cell", { name: "Bought" }).waitFor();
  await page.close();
});

test("the battery limits a purchase: too much is refused inline and cannot be confirmed", async () => {
  const { page } = await openApp();
  await page.getByRole("button", { name: "Order Book" }).click();
  await page.getByRole("button", { name: /Buy from Heidi/ }).click();
  const amount = dialog(page).getByLabel("Amount to buy");
  await amount.fill("6");
  await dialog(page).getByText("Your battery can't take that much energy.").waitFor();
  assert.equal(await dialog(page).getByRole("button", { name: "Confirm Purchase" }).isDisabled(), true);
  await dialog(page).getByRole("button", { name: "Use the most I can buy" }).click();
  assert.equal(await amount.inputValue(), "5");
  await page.close();
});

test("sell to the community: validation, margin and revenue, the order, then cancel", async () => {
  const { page } = await openApp();
  await page.getByRole("button", { name: "Sell Energy" }).click();
  assert.match(await dialog(page).textContent(), /Place your energy for sale on the P2P market\. Set your ask price and quantity\./);
  await shot(page, "sell-options-modal");
  await dialog(page).getByRole("button", { name: "Place Sell Order" }).click();
  const form = dialog(page);
  await form.getByRole("heading", { name: "Place Sell Order" }).waitFor();
  const submit = form.getByRole("button", { name: "Place Sell Order" });
  await form.getByLabel("Ask price").fill("0.04");
  await form.getByText("Enter a price from $0.05 to $1.00 per kWh, with at most 4 decimals.").waitFor();
  await form.getByLabel("Ask price").fill("0.16");
  await form.getByLabel("Amount").fill("0.5");
  await form.getByText("Enter an amount from 1 to 100 kWh, with at most 2 decimals.").waitFor();
  assert.equal(await submit.isDisabled(), true);
  await form.getByLabel("Amount").fill("9");
  await form.getByText("Your battery doesn't hold that much energy to sell.").waitFor();
  await form.getByLabel("Amount").fill("5");
  assert.match(await form.textContent(), /Expected revenue\$0\.80Seller fee \(\$0\.00\/kWh\)−\$0\.00Expected proceeds\$0\.80Profit margin vs grid \(\$0\.10\/kWh\)60% · \$0\.30/);
  await shot(page, "place-sell-order-modal");
  await submit.click();
  await page.getByRole("status").getByText(/Your sell order of 5 kWh at \$0\.16\/kWh for delivery .+ is in the market\./).waitFor();
  const mine = page.locator("section", { has: page.getByRole("heading", { name: "My orders" }) });
  await mine.getByRole("cell", { name: "active" }).waitFor();
  await page.getByText("3.5 kWh", { exact: false }).first().waitFor();
  await mine.getByRole("button", { name: "Cancel" }).click();
  await mine.getByRole("cell", { name: "cancelled" }).waitFor();
  await page.close();
});

test("a buy order from the order book, and a neighbour's offer appearing live", async () => {
  const { page } = await openApp();
  await page.getByRole("button", { name: "Order Book" }).click();
  await page.getByRole("tab", { name: /Buy Orders/ }).click();
  await page.getByRole("button", { name: "Place Buy Order" }).click();
  const form = dialog(page);
  await form.getByLabel("Bid price").fill("0.12");
  await form.getByLabel("Amount").fill("5.5");
  await form.getByText("Your battery can't take that much energy.").waitFor();
  await form.getByLabel("Amount").fill("4");
  assert.match(await form.textContent(), /Energy cost at most\$0\.48Buyer fee \(\$0\.00\/kWh\) at most\$0\.00Total at most\$0\.48Savings vs grid \(\$0\.20\/kWh\) at least\$0\.32/);
  await shot(page, "place-buy-order-modal");
  await form.getByRole("button", { name: "Place Buy Order" }).click();
  await page.getByRole("status").getByText(/Your buy order of 4 kWh/).waitFor();
  await page.getByRole("button", { name: "Order Book" }).click();
  await page.evaluate(() => window.lumeaMock.neighbourOffers("Zoe", "0.165", "2"));
  await page.getByRole("button", { name: /Buy from Zoe: 2 kWh at \$0\.165\/kWh/ }).waitFor();
  const first = await page.getByRole("listitem").first().textContent();
  assert.match(first, /^Zoe/);
  await page.close();
});

test("a fill of my order shows a toast; the grid buys and sells at fixed prices", async () => {
  const { page } = await openApp();
  await page.getByRole("button", { name: "Sell Energy" }).click();
  await dialog(page).getByRole("button", { name: "Place Sell Order" }).click();
  await dialog(page).getByLabel("Ask price").fill("0.18");
  await dialog(page).getByLabel("Amount").fill("2");
  await dialog(page).getByRole("button", { name: "Place Sell Order" }).click();
  await page.evaluate(() => window.lumeaMock.neighbourBuysFromMe("1.5"));
  await page.getByRole("status").getByText("Alice bought 1.5 kWh of your energy at $0.18/kWh ($0.27).").waitFor();
  await page.getByRole("button", { name: "Buy Energy" }).click();
  await dialog(page).getByLabel(/Amount to buy at/).fill("1");
  await dialog(page).getByRole("button", { name: "Buy from Grid" }).click();
  await page.getByRole("status").getByText("Bought 1 kWh from the grid for $0.20.").waitFor();
  await page.getByRole("button", { name: "Sell Energy" }).click();
  await dialog(page).getByLabel(/Amount to sell at/).fill("100");
  await dialog(page).getByText("Your battery doesn't hold that much energy to sell.").waitFor();
  await page.close();
});

test("keyboard only: open, move focus inside the dialog, Escape closes and focus returns", async () => {
  const { page } = await openApp();
  const buy = page.getByRole("button", { name: "Buy Energy" });
  await buy.focus();
  await page.keyboard.press("Enter");
  await dialog(page).waitFor();
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => !!document.activeElement?.closest("[role=dialog]")), true, "focus stays in the dialog");
  }
  await page.keyboard.press("Escape");
  await dialog(page).waitFor({ state: "detached" });
  // Radix gives focus back to what opened the dialog, in the next tick.
  await page.waitForFunction(() => document.activeElement?.textContent === "Buy Energy", null, { timeout: 2000 });
  await page.close();
});

test("a failure from the core reads as a sentence, never a raw code", async () => {
  const { page } = await openApp();
  await page.getByRole("button", { name: "Order Book" }).click();
  await page.getByRole("button", { name: /Buy from Bob/ }).click();
  await dialog(page).getByLabel("Amount to buy").fill("1");
  await page.evaluate(() => window.lumeaMock.failNext("storage_failure"));
  await dialog(page).getByRole("button", { name: "Confirm Purchase" }).click();
  await dialog(page).getByText("The market could not be saved. Nothing was changed; please try again.").waitFor();
  assert.doesNotMatch(await page.content(), /storage_failure/);
  await page.close();
});

test("figures: a book of 10,000 offers opens and scrolls (printed, not asserted)", async () => {
  // The real clock: the page's own frames are measured.
  const { page } = await openApp({ extraAsks: 10_000 }, { clock: null });
  const opened = await page.evaluate(async () => {
    const start = performance.now();
    [...document.querySelectorAll("button")].find((b) => b.textContent === "Order Book").click();
    await new Promise((resolve) => {
      const check = () => (document.querySelector(".order-scroller") ? resolve() : requestAnimationFrame(check));
      check();
    });
    await new Promise((resolve) => requestAnimationFrame(() => resolve()));
    return performance.now() - start;
  });
  const frames = await page.evaluate(async () => {
    const scroller = document.querySelector(".order-scroller");
    const times = [];
    let last = performance.now();
    for (let i = 0; i < 120; i++) {
      scroller.scrollTop += 400;
      await new Promise((resolve) => requestAnimationFrame(() => resolve()));
      const now = performance.now();
      times.push(now - last);
      last = now;
    }
    times.sort((a, b) => a - b);
    return { median: times[60], p95: times[114], rows: document.querySelectorAll(".order-scroller [role=listitem]").length };
  });
  await shot(page, "p2p-market-10000-orders");
  console.log(
    `figures: 10,004 offers: market modal open to first paint ${opened.toFixed(0)} ms; ` +
      `scrolling frame time median ${frames.median.toFixed(1)} ms, p95 ${frames.p95.toFixed(1)} ms; ${frames.rows} rows in the DOM`,
  );
  assert.ok(frames.rows < 100, "only the visible rows are rendered");
  await page.close();
});

test("the settings screen switches between the local demo and a community market", async () => {
  const { page, errors } = await openApp();
  const indicator = page.getByRole("button", { name: /Market settings/ });
  assert.equal(await indicator.textContent(), "Local demo market");
  await indicator.click();
  await dialog(page).getByLabel("Project URL").fill("https://abc.supabase.co");
  await dialog(page).getByLabel("Anon key").fill("sb_publishable_key");
  await dialog(page).getByLabel("Email").fill("alice@example.com");
  await dialog(page).getByLabel("Password").fill("wrong");
  await dialog(page).getByRole("button", { name: "Sign in" }).click();
  await dialog(page).getByText("That email and password don't match an account.").waitFor();
  await dialog(page).getByLabel("Password").fill("correct-horse-battery");
  await shot(page, "settings-sign-in");
  await dialog(page).getByRole("button", { name: "Sign in" }).click();
  await page.getByText("You're trading in Default Street as Alice.").waitFor();
  await page.getByRole("button", { name: "Online. Market settings" }).waitFor();
  assert.equal(await indicator.textContent(), "default · Online");

  assert.equal(await page.locator(".banner-membership").count(), 0, "an active member sees no membership banner");

  await indicator.click();
  await dialog(page).getByText("alice@example.com").waitFor();
  assert.match(await dialog(page).textContent(), /CommunityDefault StreetMembershipActiveHouseholdAlice/);
  await dialog(page).getByRole("button", { name: "Sign out and use the local demo" }).click();
  await page.getByText("Signed out. You're back in the local demo market.").waitFor();
  await page.getByRole("button", { name: "Local demo market. Market settings" }).waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

const INVITATION = "LUMEA1-cHJvamVjdD1odHRwcyUzQSUyRiUyRmRlbW8uc3VwYWJhc2UuY28ma2V5PXNiX3B1Ymxpc2hhYmxlX2RlbW8mY29tbXVuaXR5PWRlZmF1bHQmdG9rZW49YWJj";

/** Opens the settings from the local demo and fills the sign-up form. */
async function signUp(page, { invitation = INVITATION, email = "erin@example.com", username = "Erin" } = {}) {
  await page.getByRole("button", { name: "Local demo market. Market settings" }).click();
  await dialog(page).getByRole("button", { name: "New here? Create an account" }).click();
  await dialog(page).getByLabel("Invitation link or code").fill(invitation);
  await dialog(page).getByLabel("Email").fill(email);
  await dialog(page).getByLabel("Password").fill("correct-horse-battery");
  await dialog(page).getByLabel("Name shown to neighbours").fill(username);
}

test("sign in keeps a prefilled project under Project settings", async () => {
  const { page, errors } = await openApp({ project: { url: "https://abc.supabase.co", anonKey: "sb_publishable_key" } });
  await page.getByRole("button", { name: /Market settings/ }).click();
  const url = dialog(page).getByLabel("Project URL");
  assert.equal(await url.isVisible(), false, "the prefilled project is tucked away");
  await dialog(page).getByText("Project settings").click();
  assert.equal(await url.inputValue(), "https://abc.supabase.co");
  assert.equal(await dialog(page).getByLabel("Anon key").inputValue(), "sb_publishable_key");
  // Emptied and closed again, the project opens up when the form is sent, so the browser can point at it.
  await url.fill("");
  await dialog(page).getByText("Project settings").click();
  await dialog(page).getByLabel("Email").fill("alice@example.com");
  await dialog(page).getByLabel("Password").fill("correct-horse-battery");
  await dialog(page).getByRole("button", { name: "Sign in" }).click();
  await url.waitFor({ state: "visible" });
  await url.fill("https://abc.supabase.co");
  await dialog(page).getByRole("button", { name: "Sign in" }).click();
  await page.getByText("You're trading in Default Street as Alice.").waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test("sign up with an invitation code: no project to type, trading at once", async () => {
  // Signing up sends the home's location: it is set up first.
  const { page, errors } = await openApp({ home: HOME });
  await signUp(page);
  const form = await dialog(page).textContent();
  assert.doesNotMatch(form, /Project URL|Anon key|Community/, "the invitation names the project and the community");
  await shot(page, "settings-sign-up");
  await dialog(page).getByRole("button", { name: "Create account" }).click();
  await page.getByRole("status").getByText("You're trading in Default Street as Erin.").waitFor();
  assert.equal(await page.getByRole("button", { name: "Online. Market settings" }).textContent(), "default · Online");
  assert.equal(await page.locator(".banner-membership").count(), 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test("a pending membership shows its banner until an admin approves, and a suspension shows its own", async () => {
  // Signing up sends the home's location: it is set up first.
  const { page, errors } = await openApp({ home: HOME });
  await signUp(page, { invitation: "lumea://join?project=https%3A%2F%2Fdemo.supabase.co&key=k&community=default&token=pending-1" });
  await dialog(page).getByRole("button", { name: "Create account" }).click();
  await page.getByRole("status").getByText("You've joined Default Street as Erin. An admin will approve you soon.").waitFor();
  const pending = page.getByText("Waiting for an admin of Default Street to approve you. Trading starts once you're approved.");
  await pending.waitFor();
  await page.getByRole("button", { name: "Online. Market settings" }).waitFor();
  await shot(page, "membership-pending");

  // An admin approves: the core hears it and announces membership_changed.
  await page.evaluate(() => window.lumeaMock.setMembership("active"));
  await pending.waitFor({ state: "detached" });
  assert.equal(await page.locator(".banner-membership").count(), 0);

  await page.evaluate(() => window.lumeaMock.setMembership("suspended"));
  await page.getByText("Your membership of Default Street is suspended. Ask an admin of your community.").waitFor();
  await shot(page, "membership-suspended");
  assert.deepEqual(errors, []);
  await page.close();
});

test("an invitation that no longer works, or isn't one, reads as a sentence", async () => {
  // Signing up sends the home's location: it is set up first.
  const { page, errors } = await openApp({ home: HOME });
  await signUp(page, { invitation: "LUMEA1-expired-token" });
  const create = dialog(page).getByRole("button", { name: "Create account" });
  await create.click();
  await dialog(page).getByRole("alert").getByText("This invitation has expired. Ask your community for a new one.").waitFor();
  await shot(page, "settings-invitation-expired");
  await dialog(page).getByLabel("Invitation link or code").fill("https://abc.supabase.co");
  await create.click();
  await dialog(page).getByText("That invitation isn't valid. Check that you pasted the whole link or code.").waitFor();
  await dialog(page).getByLabel("Invitation link or code").fill(INVITATION);
  await dialog(page).getByLabel("Name shown to neighbours").fill("Bob");
  await create.click();
  await dialog(page).getByText("Someone in this community already uses that name. Choose another.").waitFor();
  assert.doesNotMatch(await page.content(), /invitation_expired|invalid_invitation|username_taken/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("where email is confirmed first, sign-up says so and sign-in is ready with the invitation's project", async () => {
  // Signing up sends the home's location: it is set up first.
  const { page, errors } = await openApp({ home: HOME });
  await signUp(page, { email: "confirm@example.com" });
  await dialog(page).getByRole("button", { name: "Create account" }).click();
  await dialog(page).getByText("Check your email: open the link we sent to confirm@example.com on this device. It opens Luméa and finishes signing you in.", { exact: false }).waitFor();
  await dialog(page).getByRole("button", { name: "Sign in" }).waitFor();
  assert.equal(await dialog(page).getByLabel("Email").inputValue(), "confirm@example.com");
  // The invitation's project, prefilled and so tucked away.
  assert.equal(await dialog(page).getByLabel("Project URL").isVisible(), false);
  await dialog(page).getByText("Project settings").click();
  assert.equal(await dialog(page).getByLabel("Project URL").inputValue(), "https://demo.supabase.co");
  assert.equal(await dialog(page).getByLabel("Anon key").inputValue(), "sb_publishable_demo");
  await shot(page, "settings-check-email");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a household signed in without a membership joins with an invitation", async () => {
  const { page, errors } = await openApp();
  await page.getByRole("button", { name: /Market settings/ }).click();
  await dialog(page).getByLabel("Project URL").fill("https://demo.supabase.co");
  await dialog(page).getByLabel("Anon key").fill("sb_publishable_demo");
  await dialog(page).getByLabel("Email").fill("new@example.com");
  await dialog(page).getByLabel("Password").fill("correct-horse-battery");
  await dialog(page).getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("status").getByText("You're signed in. Paste the invitation your community sent you to join it.").waitFor();
  await page.getByText("You're signed in but haven't joined a community yet.", { exact: false }).waitFor();
  await page.getByRole("button", { name: "Paste an invitation" }).click();
  await dialog(page).getByLabel("Invitation link or code").fill("LUMEA1-pending-2");
  await dialog(page).getByLabel("Name shown to neighbours").fill("Nadia");
  await shot(page, "settings-join-community");
  await dialog(page).getByRole("button", { name: "Join community" }).click();
  await page.getByRole("status").getByText("You've joined Default Street as Nadia. An admin will approve you soon.").waitFor();
  await page.getByText("Waiting for an admin of Default Street to approve you.", { exact: false }).waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

/** Commands the app sends after `event`, once its refetches have settled. */
async function callsAfter(page, event, expected) {
  await page.evaluate(() => window.lumeaMock.resetCalls());
  await page.evaluate((e) => window.lumeaMock.announce(e), event);
  // Wait for what should come, then a while longer for anything that should not.
  await page.waitForFunction(
    (want) => Object.entries(want).every(([cmd, n]) => (window.lumeaMock.calls()[cmd] ?? 0) >= n),
    expected,
    { timeout: 5000 },
  );
  await page.waitForTimeout(300);
  return page.evaluate(() => window.lumeaMock.calls());
}

const trade = (role, taker) => ({
  id: "t-1", buy_order: null, sell_order: "s-1", buyer_id: "household", seller_id: "bob", buyer: "You", seller: "Bob",
  price: "0.17", amount: "1", total: "0.17", created_at: new Date().toISOString(), role, taker, interval: null, delivered: null,
});

test("an event refetches only the views it changes, once per burst", async () => {
  const { page, errors } = await openApp();
  await page.getByRole("button", { name: /Market settings/ }).waitFor();
  await page.waitForTimeout(300);
  assert.deepEqual(await callsAfter(page, { type: "energy_changed", user_id: "household" }, { energy: 1 }), { energy: 1 });
  assert.deepEqual(await callsAfter(page, { type: "book_changed" }, { book: 1, stats: 1, my_orders: 1 }), { book: 1, stats: 1, my_orders: 1 });
  const order = { type: "order_updated", id: "o-1", user_id: "bob", status: "partial", filled: "1", remaining: "4" };
  assert.deepEqual(await callsAfter(page, order, { book: 1, stats: 1, my_orders: 1 }), { book: 1, stats: 1, my_orders: 1 });
  // A trade between neighbours moves the figures and the history, not my trades.
  const theirs = { type: "trade_executed", trade: { ...trade("other", "buy"), buyer: "Alice", buyer_id: "alice" } };
  assert.deepEqual(await callsAfter(page, theirs, { stats: 1, price_history: 1 }), { stats: 1, price_history: 1 });
  // Approved, suspended or new settings: the mode, the community's grid prices and delivery rules, and what only an active member reads.
  const member = { mode: 1, grid_prices: 1, delivery: 1, book: 1, stats: 1, price_history: 1, my_orders: 1, my_trades: 1 };
  assert.deepEqual(await callsAfter(page, { type: "membership_changed" }, member), member);
  const all = { book: 1, energy: 1, stats: 1, grid_prices: 1, price_history: 1, my_orders: 1, my_trades: 1, delivery: 1, meter_readings: 1, mode: 1 };
  assert.deepEqual(await callsAfter(page, { type: "connection_changed", connection: "local" }, all), all);

  // What a purchase announces, at once: each view it changes is fetched once.
  await page.evaluate(() => window.lumeaMock.resetCalls());
  await page.evaluate((t) => window.lumeaMock.announce({ type: "trade_executed", trade: t }, { type: "book_changed" }, { type: "energy_changed", user_id: "household" }), trade("bought", "buy"));
  await page.waitForFunction(() => Object.keys(window.lumeaMock.calls()).length === 6, null, { timeout: 5000 });
  await page.waitForTimeout(300);
  assert.deepEqual(await page.evaluate(() => window.lumeaMock.calls()), { book: 1, stats: 1, my_orders: 1, energy: 1, price_history: 1, my_trades: 1 });
  assert.deepEqual(errors, []);
  await page.close();
});

test("a refresh that fails keeps the last figures on screen and says why", async () => {
  const { page, errors } = await openApp();
  const battery = page.locator("section", { has: page.getByRole("heading", { name: "Battery" }) });
  await battery.getByText("8.5 kWh of 13.5 kWh").waitFor();
  await page.evaluate(() => window.lumeaMock.failNext("storage_failure"));
  await page.evaluate(() => window.lumeaMock.generate("1"));
  await page.getByRole("status").getByText(/Couldn't refresh the market, so it shows the last figures received\. The market could not be saved\./).waitFor();
  // The battery still shows its last good figures, and the rest of the screen is there.
  assert.match(await battery.textContent(), /8\.5 kWh of 13\.5 kWh/);
  await page.getByRole("button", { name: "Buy Energy" }).waitFor();
  assert.equal(await page.getByRole("alert").count(), 0, "no failure banner replaces the screen");
  // The next change comes through.
  await page.evaluate(() => window.lumeaMock.generate("0.5"));
  await battery.getByText("10 kWh of 13.5 kWh").waitFor();
  assert.doesNotMatch(await page.content(), /storage_failure/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("the first load failing shows the sentence and Try again loads the market", async () => {
  const { page } = await openApp({ failFirst: "store_in_use" }, { ready: false });
  await page.getByRole("alert").getByText("The market is open in another Luméa window. Close it and try again.").waitFor();
  await page.getByRole("button", { name: "Try again" }).click();
  await page.getByRole("heading", { name: "Battery" }).waitFor();
  await page.getByText("8.5 kWh").first().waitFor();
  await page.close();
});
