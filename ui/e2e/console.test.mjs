// Browser end-to-end of the operator console, in Debian's Chromium against
// the mock backend (mock-backend.ts, "Operator console"): shown to active
// admins only; members approved, suspended after a confirm step, the last
// admin kept; invitations created (link, code and QR code shown once) and
// revoked; settings checked before anything is sent; activity sorted. A
// screenshot of each tab lands in artifacts/screenshots/.

import { test } from "node:test";
import assert from "node:assert/strict";
import { dialog, openApp, shot } from "./harness.mjs";

const CONSOLE = { name: "Community console" };

/** The app as Alice, an active admin of Default Street, with the console open on `tab`. */
async function openConsole(tab = "Members") {
  const opened = await openApp({ community: "admin" });
  await opened.page.getByRole("button", CONSOLE).click();
  await dialog(opened.page).getByRole("heading", { name: "Community console · Default Street" }).waitFor();
  if (tab !== "Members") await opened.page.getByRole("tab", { name: tab }).click();
  return { ...opened, panel: opened.page.getByRole("tabpanel", { name: new RegExp(`^${tab}`) }) };
}

const names = (panel) => panel.getByRole("rowheader").allTextContents();
const row = (panel, name) => panel.getByRole("row").filter({ has: panel.page().getByRole("rowheader", { name, exact: true }) });

test("the console shows to an active admin only", async () => {
  const local = await openApp();
  await local.page.getByRole("button", { name: /Market settings/ }).waitFor();
  assert.equal(await local.page.getByRole("button", CONSOLE).count(), 0, "not in the local demo");
  await local.page.close();

  const member = await openApp({ community: "member" });
  await member.page.getByRole("button", { name: "Online. Market settings" }).waitFor();
  assert.equal(await member.page.getByRole("button", CONSOLE).count(), 0, "not for a member");
  assert.deepEqual(member.errors, []);
  await member.page.close();

  const admin = await openApp({ community: "admin" });
  await admin.page.getByRole("button", CONSOLE).waitFor();
  // Suspended, an admin runs nothing: the server would refuse it (not_admin).
  await admin.page.evaluate(() => window.lumeaMock.setMembership("suspended"));
  await admin.page.getByRole("button", CONSOLE).waitFor({ state: "detached" });
  assert.deepEqual(admin.errors, []);
  await admin.page.close();
});

test("members: pending households first with their count, and approving one", async () => {
  const { page, panel, errors } = await openConsole();
  await page.getByRole("tab", { name: "Members 2 waiting" }).waitFor();
  await panel.getByText("2 households are waiting for your approval.").waitFor();
  assert.deepEqual(await names(panel), ["Carol", "Dave", "Alice (you)", "Bob", "Erin", "Frank"]);
  assert.match(await row(panel, "Carol").textContent(), /MemberWaiting for approval.*—Approve$/);
  assert.match(await row(panel, "Bob").textContent(), /MemberActive.*SuspendMake admin$/);
  assert.match(await row(panel, "Frank").textContent(), /MemberSuspended.*Reinstate$/);
  assert.match(await row(panel, "Alice (you)").textContent(), /AdminActive.*SuspendMake member$/);

  await panel.getByRole("button", { name: "Approve Carol" }).click();
  await panel.getByRole("status").getByText("Carol is approved and can trade now.").waitFor();
  // The cache tells its views a moment after the notice shows.
  await row(panel, "Carol").getByText("Active").waitFor();
  assert.match(await row(panel, "Carol").textContent(), /MemberActive.*SuspendMake admin$/);
  await page.getByRole("tab", { name: "Members 1 waiting" }).waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test("suspending a member asks first, and can be taken back", async () => {
  const { page, panel, errors } = await openConsole();
  await panel.getByRole("button", { name: "Suspend Bob" }).click();
  const ask = panel.getByRole("group", { name: /^Suspend Bob\?/ });
  await ask.waitFor();
  // The safe answer has the focus.
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Keep active");
  await shot(page, "console-members");
  await ask.getByRole("button", { name: "Keep active" }).click();
  await ask.waitFor({ state: "detached" });
  assert.equal(await page.evaluate(() => window.lumeaMock.calls().manage_member ?? 0), 0, "nothing sent before the confirmation");

  await panel.getByRole("button", { name: "Suspend Bob" }).click();
  await panel.getByRole("button", { name: "Yes, suspend" }).click();
  await panel.getByRole("status").getByText("Bob is suspended: their open orders are cancelled, and they can't trade until reinstated.").waitFor();
  await row(panel, "Bob").getByText("Suspended").waitFor();
  assert.match(await row(panel, "Bob").textContent(), /MemberSuspended.*Reinstate$/);
  await panel.getByRole("button", { name: "Reinstate Bob" }).click();
  await panel.getByRole("status").getByText("Bob is reinstated and can trade again.").waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test("the last admin can't step down: the refusal reads as a sentence", async () => {
  const { page, panel, errors } = await openConsole();
  await panel.getByRole("button", { name: "Make member Alice" }).click();
  await panel.getByRole("alert").getByText("Your community needs at least one admin. Make someone else an admin first.").waitFor();
  assert.doesNotMatch(await page.content(), /last_admin/);

  // With a second admin, Alice may step down; then the console is no longer hers.
  await panel.getByRole("button", { name: "Make admin Bob" }).click();
  await panel.getByRole("status").getByText("Bob is now an admin of the community.").waitFor();
  await panel.getByRole("button", { name: "Make member Alice" }).click();
  await dialog(page).waitFor({ state: "detached" });
  assert.equal(await page.getByRole("button", CONSOLE).count(), 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test("an invitation is created with its link, code and QR code, shown once", async () => {
  const { page, panel, errors } = await openConsole("Invitations");
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
  const create = panel.getByRole("button", { name: "Create invitation" });
  await panel.getByLabel("Households it admits").fill("0");
  await panel.getByText("An invitation must be usable 1 to 1,000 times and expire within 90 days.").waitFor();
  assert.equal(await create.isDisabled(), true);
  await panel.getByLabel("Households it admits").fill("25");
  await panel.getByLabel("Valid for").fill("14");
  await panel.getByLabel("Approve households who join with it at once").check();
  await create.click();

  const fresh = panel.getByRole("region", { name: "New invitation" });
  await fresh.getByRole("note").getByText("Shown only this once.").waitFor();
  const link = await fresh.getByLabel("Invitation link").inputValue();
  const code = await fresh.getByLabel("Invitation code").inputValue();
  assert.match(link, /^lumea:\/\/join\?project=https%3A%2F%2Fdemo\.supabase\.co&key=sb_publishable_demo&community=default&token=tok-/);
  assert.match(code, /^LUMEA1-[A-Za-z0-9_-]+$/);
  assert.match(await fresh.textContent(), /25 uses · valid until .* · pre-approved/);

  const qr = fresh.getByRole("img", { name: "QR code of the invitation link, to scan with a phone" });
  assert.match(await qr.getAttribute("src"), /^data:image\/svg\+xml;charset=utf-8,/);
  await page.waitForFunction(() => document.querySelector("img.qr")?.naturalWidth > 0, null, { timeout: 5000 });
  assert.equal(await page.evaluate(() => window.qrScriptRan), undefined, "the SVG is an image: its script never runs");

  await fresh.getByRole("button", { name: "Copy link" }).click();
  await fresh.getByText("The link is copied.").waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link);
  await fresh.getByRole("button", { name: "Copy code" }).click();
  await fresh.getByText("The code is copied.").waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), code);

  // Listed without its secrets, newest first.
  const first = panel.getByRole("row").nth(1);
  await first.getByText("25").waitFor();
  assert.match(await first.textContent(), /^just nowAlice25.*Pre-approvedActiveRevoke$/);
  assert.doesNotMatch(await panel.getByRole("table").textContent(), /tok-|LUMEA1-/);
  await shot(page, "console-invitations");
  assert.deepEqual(errors, []);
  await page.close();
});

test("an invitation is revoked after a confirm step; revoked and expired ones can't be", async () => {
  const { page, panel, errors } = await openConsole("Invitations");
  const rows = panel.getByRole("row");
  await rows.nth(1).waitFor();
  const states = (await rows.allTextContents()).slice(1).map((text) => text.match(/(Active|Revoked|Expired)/)[1]);
  assert.deepEqual(states, ["Active", "Revoked", "Expired"]);
  assert.equal(await panel.getByRole("button", { name: "Revoke" }).count(), 1, "only the active one");

  await panel.getByRole("button", { name: "Revoke" }).click();
  await panel.getByRole("button", { name: "Keep it" }).click();
  await panel.getByRole("button", { name: "Revoke" }).click();
  await panel.getByRole("group", { name: /^Revoke this invitation\?/ }).getByRole("button", { name: "Yes, revoke" }).click();
  await panel.getByRole("status").getByText("The invitation is revoked: nobody can join with it any more. Households who already joined stay.").waitFor();
  await rows.nth(1).getByText("Revoked").waitFor();
  assert.equal(await panel.getByRole("button", { name: "Revoke" }).count(), 0);
  assert.equal(await page.evaluate(() => window.lumeaMock.calls().revoke_invitation), 1);
  assert.deepEqual(errors, []);
  await page.close();
});

test("settings: prefilled, checked before sending, and only the changes sent", async () => {
  const { page, panel, errors } = await openConsole("Settings");
  const field = (label) => panel.getByLabel(label, { exact: true });
  const save = panel.getByRole("button", { name: "Save settings" });
  await field("Lowest price").waitFor();
  const values = await Promise.all(["Community name", "Lowest price", "Highest price", "Grid price to buy", "Grid price to sell", "Grid CO2", "Open orders per member"].map((label) => field(label).inputValue()));
  assert.deepEqual(values, ["Default Street", "0.05", "1", "0.2", "0.1", "0.367", "20"]);
  assert.equal(await save.isDisabled(), true, "nothing to save yet");

  await field("Lowest price").fill("0.5");
  await field("Highest price").fill("0.4");
  await panel.getByText("The lowest price can't be above the highest price.").waitFor();
  await field("Grid price to sell").fill("0.2");
  await panel.getByText("What the grid pays for energy must be below what it charges for it.").waitFor();
  await field("Open orders per member").fill("0");
  await panel.getByText("Enter a whole number of open orders from 1 to 10,000.").waitFor();
  assert.equal(await save.isDisabled(), true);
  await shot(page, "console-settings");
  await field("Highest price").press("Enter");
  await page.waitForTimeout(200);
  assert.equal(await page.evaluate(() => window.lumeaMock.calls().update_community_settings ?? 0), 0, "an invalid form sends nothing");

  await field("Community name").fill("Sunny  Row");
  await field("Highest price").fill("0.60");
  await field("Grid price to sell").fill("0.1000");
  await field("Open orders per member").fill("50");
  await save.click();
  await panel.getByRole("status").getByText("Saved: Community name, Lowest price, Highest price, Open orders per member.", { exact: false }).waitFor();
  const sent = await page.evaluate(() => window.lumeaMock.settingsSent());
  assert.deepEqual(sent, [{ name: "Sunny Row", min_price: "0.5", max_price: "0.6", grid_buy_price: null, grid_sell_price: null, co2_kg_per_kwh: null, open_order_cap: 50 }]);
  // The core announces the change; the console's title follows the new name.
  await dialog(page).getByRole("heading", { name: "Community console · Sunny Row" }).waitFor();
  // Saved and fetched again: nothing left to send.
  await panel.locator("button:disabled", { hasText: "Save settings" }).waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test("activity: each member's figures, sorted by any column", async () => {
  const { page, panel, errors } = await openConsole("Activity");
  const table = panel.getByRole("table", { name: "Activity by member" });
  await table.waitFor();
  assert.deepEqual(await names(table), ["Alice", "Bob", "Carol (pending)", "Dave (pending)", "Erin", "Frank (suspended)"]);
  assert.match(await row(table, "Bob").textContent(), /^Bob293\.5 kWh120 kWh30 min\. ago$/);
  assert.match(await row(table, "Carol (pending)").textContent(), /00 kWh0 kWh—$/);

  const sold = table.getByRole("columnheader", { name: "Sold" });
  await sold.getByRole("button").click();
  assert.equal(await sold.getAttribute("aria-sort"), "descending");
  // As numbers: 120 > 45 > 9.5, where text would put 9.5 first.
  assert.deepEqual((await names(table)).slice(0, 3), ["Bob", "Erin", "Alice"]);
  await sold.getByRole("button").click();
  assert.equal(await sold.getAttribute("aria-sort"), "ascending");
  assert.deepEqual((await names(table)).slice(-3), ["Alice", "Erin", "Bob"]);

  await table.getByRole("button", { name: "Last trade" }).click();
  assert.deepEqual(await names(table), ["Bob", "Alice", "Erin", "Frank (suspended)", "Carol (pending)", "Dave (pending)"]);
  await shot(page, "console-activity");

  // The tabs go by arrow keys too.
  await page.getByRole("tab", { name: "Activity" }).focus();
  await page.keyboard.press("ArrowRight");
  await page.getByRole("tab", { name: /^Members/, selected: true }).waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});
