// Browser end-to-end of the household's onboarding (harness.mjs, mock-backend.ts):
// the first run's choice, the home form, joining with an invitation, the links
// the system and e-mails open the app with, a forgotten password, and the home
// edited later. A screenshot of each new screen lands in artifacts/screenshots/.

import { test } from "node:test";
import assert from "node:assert/strict";
import { HOME, dialog, openApp, shot } from "./harness.mjs";

const PENDING = "lumea://join?project=https%3A%2F%2Fdemo.supabase.co&key=k&community=default&token=pending-1";
const INVITATION = "LUMEA1-cHJvamVjdD1odHRwcyUzQSUyRiUyRmRlbW8uc3VwYWJhc2UuY28ma2V5PXNiX3B1Ymxpc2hhYmxlX2RlbW8mY29tbXVuaXR5PWRlZmF1bHQmdG9rZW49YWJj";

/** A new household's first start: the first run's welcome. */
async function firstStart(config = {}) {
  const opened = await openApp({ setup: "unset", ...config }, { ready: false });
  await opened.page.getByRole("heading", { name: "Welcome to Luméa" }).waitFor();
  return opened;
}

const focusedId = (page) => page.evaluate(() => document.activeElement?.id ?? "");

/** Fills the home form with a valid home in London, paid in pounds. */
async function fillHome(page, { location = "51.50722, -0.12758" } = {}) {
  await page.getByLabel("Name shown to neighbours").fill("Erin");
  await page.getByLabel("Location").fill(location);
  await page.getByLabel("Battery capacity").fill("13.5");
  await page.getByLabel("Stored now").fill("6");
  await page.getByLabel("Solar panels' peak power (optional)").fill("4.20");
  await page.getByLabel("Language and region").fill("en-GB");
  await page.getByLabel("Currency").selectOption("GBP");
}

/** The join step's sign-up, with the invitation already pasted or prefilled. */
async function signUpHere(page, email = "erin@example.com") {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct-horse-battery");
  await page.getByRole("button", { name: "Create account" }).click();
}

test("first run: set up the home, paste an invitation, sign up, and wait for an admin's approval", async () => {
  const { page, errors } = await firstStart();
  assert.equal(await page.getByRole("button", { name: /Market settings/ }).count(), 0, "no market yet, so no indicator");
  assert.equal(await page.getByRole("heading", { name: "Battery" }).count(), 0);
  assert.equal(await focusedId(page), "first-run-title", "the welcome starts at its heading");
  await shot(page, "first-run");

  await page.getByRole("button", { name: "Set up my home" }).click();
  await page.getByRole("heading", { name: "Your home" }).waitFor();
  assert.equal(await focusedId(page), "first-run-title");
  await fillHome(page, { location: "London" });
  // Nothing is said before the household tries to save.
  assert.equal(await page.getByRole("alert").count(), 0);
  await page.getByRole("button", { name: "Save and continue" }).click();
  const where = page.getByText("Enter the location as latitude, longitude in degrees, such as 51.507, -0.128.");
  await where.waitFor();
  assert.equal(await focusedId(page), "home-location", "the wrong field gets the focus");
  assert.equal(await page.getByRole("alert").count(), 1, "only the wrong field says so");
  await shot(page, "home-setup");
  await page.getByLabel("Location").fill("51.50722, -0.12758");
  await where.waitFor({ state: "detached" });
  await page.getByRole("button", { name: "Save and continue" }).click();

  await page.getByRole("heading", { name: "Join your community" }).waitFor();
  await page.getByText("Step 2 of 2").waitFor();
  assert.equal(await page.getByLabel("Name shown to neighbours").inputValue(), "Erin", "the name comes from the home");
  await page.getByText("your membership waits for an admin of your community to approve it, unless your invitation was pre-approved", { exact: false }).waitFor();
  await page.getByLabel("Invitation link or code").fill(PENDING);
  await shot(page, "join-community");
  await signUpHere(page);

  await page.getByRole("status").getByText("You've joined Default Street as Erin. An admin will approve you soon.").waitFor();
  await page.getByText("Waiting for an admin of Default Street to approve you. Trading starts once you're approved.").waitFor();
  // The market, in the home's pounds.
  const market = page.locator("section", { has: page.getByRole("heading", { name: "Market" }) });
  assert.match(await market.textContent(), /Best bid£0\.15\/kWhBest ask£0\.17\/kWh/);
  await page.getByRole("button", { name: "Online. Market settings" }).click();
  const home = dialog(page).locator("section", { has: page.getByRole("heading", { name: "Your home" }) });
  assert.match(await home.textContent(), /NameErinLocation51\.507, -0\.128Battery6 kWh of 13\.5 kWhSolar panels4\.2 kWpFiguresen-GB · GBP/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("first run by keyboard: exploring the demo opens the market in $", async () => {
  const { page, errors } = await firstStart();
  await page.keyboard.press("Tab");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Explore the demo");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Battery" }).waitFor();
  await page.getByRole("status").getByText("You're exploring the demo neighbourhood.", { exact: false }).waitFor();
  assert.equal(await page.getByRole("button", { name: /Market settings/ }).textContent(), "Local demo market");
  const market = page.locator("section", { has: page.getByRole("heading", { name: "Market" }) });
  assert.match(await market.textContent(), /Best bid\$0\.15\/kWh/);
  assert.equal(await page.getByRole("heading", { name: "Welcome to Luméa" }).count(), 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test("an invitation the app is opened with: the home first, then the sign-up prefilled; signed in, the join form", async () => {
  const { page, errors } = await firstStart();
  await page.evaluate((link) => window.lumeaMock.openInvitation(link), PENDING);
  await page.getByRole("heading", { name: "Your home" }).waitFor();
  await page.getByText("You opened an invitation. Set up your home first", { exact: false }).waitFor();
  await fillHome(page);
  await page.getByRole("button", { name: "Save and continue" }).click();
  await page.getByRole("heading", { name: "Join your community" }).waitFor();
  assert.equal(await page.getByLabel("Invitation link or code").inputValue(), PENDING);
  // Another one, opened meanwhile, replaces it.
  await page.evaluate((link) => window.lumeaMock.openInvitation(link), INVITATION);
  await page.waitForFunction((link) => document.getElementById("invitation")?.value === link, INVITATION);
  assert.deepEqual(errors, []);
  await page.close();

  // Signed in without a membership: the settings' join form, with it.
  const signedIn = await openApp({ project: { url: "https://demo.supabase.co", anonKey: "sb_publishable_demo" } });
  await signedIn.page.getByRole("button", { name: /Market settings/ }).click();
  await dialog(signedIn.page).getByLabel("Email").fill("new@example.com");
  await dialog(signedIn.page).getByLabel("Password").fill("correct-horse-battery");
  await dialog(signedIn.page).getByRole("button", { name: "Sign in" }).click();
  await signedIn.page.getByRole("button", { name: "Paste an invitation" }).waitFor();
  await signedIn.page.evaluate((link) => window.lumeaMock.openInvitation(link), PENDING);
  await dialog(signedIn.page).getByRole("button", { name: "Join community" }).waitFor();
  assert.equal(await dialog(signedIn.page).getByLabel("Invitation link or code").inputValue(), PENDING);
  assert.deepEqual(signedIn.errors, []);
  await signedIn.page.close();
});

test("an invitation the app was started with is taken once the first run shows", async () => {
  const { page, errors } = await openApp({ setup: "unset", startedWith: PENDING }, { ready: false });
  await page.getByRole("heading", { name: "Your home" }).waitFor();
  await page.getByText("You opened an invitation. Set up your home first", { exact: false }).waitFor();
  await fillHome(page);
  await page.getByRole("button", { name: "Save and continue" }).click();
  assert.equal(await page.getByLabel("Invitation link or code").inputValue(), PENDING);
  assert.deepEqual(errors, []);
  await page.close();
});

test("email confirmed first: check your email, then its link signs in; a used link says so", async () => {
  const { page, errors } = await firstStart();
  await page.getByRole("button", { name: "Set up my home" }).click();
  await fillHome(page);
  await page.getByRole("button", { name: "Save and continue" }).click();
  await page.getByLabel("Invitation link or code").fill(INVITATION);
  await signUpHere(page, "confirm@example.com");
  await page.getByText("Check your email: open the link we sent to confirm@example.com on this device. It opens Luméa and finishes signing you in.", { exact: false }).waitFor();
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  await shot(page, "check-email");

  await page.evaluate(() => window.lumeaMock.openAuthLink("confirmed"));
  await page.getByRole("status").getByText("Your email is confirmed. You're trading in Default Street as Erin.").waitFor();
  await page.getByRole("heading", { name: "Battery" }).waitFor();
  await page.getByRole("button", { name: "Online. Market settings" }).waitFor();

  await page.evaluate(() => window.lumeaMock.openAuthLink("used"));
  await page.getByRole("status").getByText("That link has expired or was already used. Ask for a new one.").waitFor();
  assert.doesNotMatch(await page.content(), /invalid_auth_link|email_not_confirmed/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("forgot password: a link by e-mail, then a new password once it signs in", async () => {
  const { page, errors } = await openApp({ project: { url: "https://demo.supabase.co", anonKey: "sb_publishable_demo" } });
  await page.getByRole("button", { name: /Market settings/ }).click();
  await dialog(page).getByLabel("Email").fill("alice@example.com");
  await dialog(page).getByRole("button", { name: "Forgot password?" }).click();
  assert.equal(await dialog(page).getByLabel("Password").count(), 0);
  assert.equal(await dialog(page).getByLabel("Email").inputValue(), "alice@example.com");
  await dialog(page).getByRole("button", { name: "Send the link" }).click();
  await dialog(page).getByText("If an account exists for alice@example.com, we sent it a link to choose a new password.", { exact: false }).waitFor();
  await dialog(page).getByRole("button", { name: "Sign in" }).waitFor();
  await shot(page, "forgot-password");

  await page.evaluate(() => window.lumeaMock.openAuthLink("recovery"));
  const form = dialog(page);
  await form.getByRole("heading", { name: "Choose a new password" }).waitFor();
  await form.getByLabel("New password").fill("short");
  await form.getByRole("button", { name: "Save the new password" }).click();
  await form.getByText("Choose a longer password (at least 6 characters).").waitFor();
  await form.getByLabel("New password").fill("correct-horse-battery-staple");
  await shot(page, "new-password");
  await form.getByRole("button", { name: "Save the new password" }).click();
  await page.getByRole("status").getByText("Your new password is saved.").waitFor();
  await dialog(page).waitFor({ state: "detached" });
  await page.getByRole("button", { name: "Online. Market settings" }).waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test("signing up needs the home: the settings say so and lead to it", async () => {
  const { page, errors } = await openApp();
  await page.getByRole("button", { name: /Market settings/ }).click();
  await dialog(page).getByRole("button", { name: "New here? Create an account" }).click();
  await dialog(page).getByLabel("Invitation link or code").fill(INVITATION);
  await dialog(page).getByLabel("Name shown to neighbours").fill("Erin");
  await signUpHere(dialog(page));
  await dialog(page).getByText("Set up your home first: your community's market needs its location and battery.").waitFor();
  await dialog(page).getByRole("button", { name: "Set up my home" }).click();
  await dialog(page).getByRole("heading", { name: "Your home" }).waitFor();
  assert.equal(await focusedId(page), "home-display-name");
  assert.deepEqual(errors, []);
  await page.close();
});

test("the home is edited in the settings: its refusals at their fields, and money in its currency", async () => {
  const { page, errors } = await openApp({ home: HOME });
  await page.getByRole("button", { name: /Market settings/ }).click();
  await dialog(page).getByRole("button", { name: "Edit your home" }).click();
  const form = dialog(page);
  await form.getByRole("heading", { name: "Your home" }).waitFor();
  assert.equal(await form.getByLabel("Location").inputValue(), "51.507, -0.128");
  assert.equal(await form.getByLabel("Battery capacity").inputValue(), "13.5");

  await form.getByLabel("I have no battery").check();
  assert.equal(await form.getByLabel("Battery capacity").count(), 0, "no battery, no battery fields");
  await form.getByLabel("Solar panels' peak power (optional)").fill("4.125");
  await form.getByLabel("Language and region").fill("de-DE");
  await form.getByLabel("Currency").selectOption("EUR");
  await form.getByText("Money and energy will look like 1.234,50 € · 4,5 kWh.").waitFor();
  await form.getByRole("button", { name: "Save your home" }).click();
  await form.getByText("Enter your solar panels' peak power above 0 and up to 100 kWp, with at most 2 decimals, or leave it empty.").waitFor();
  await form.getByLabel("Solar panels' peak power (optional)").fill("");
  await shot(page, "home-settings");

  // A refusal only the core knows, at its field.
  await page.evaluate(() => window.lumeaMock.failNext("home_change_too_soon"));
  await form.getByRole("button", { name: "Save your home" }).click();
  await form.getByText("Your home can be moved once a day. Try again tomorrow.").waitFor();
  assert.equal(await focusedId(page), "home-location");
  await form.getByRole("button", { name: "Save your home" }).click();
  await page.getByRole("status").getByText("Your home is saved.").waitFor();
  await dialog(page).waitFor({ state: "detached" });

  const market = page.locator("section", { has: page.getByRole("heading", { name: "Market" }) });
  assert.match(await market.textContent(), /Best bid0,15\s€\/kWh/);
  await page.getByRole("button", { name: /Market settings/ }).click();
  const home = dialog(page).locator("section", { has: page.getByRole("heading", { name: "Your home" }) });
  assert.match(await home.textContent(), /BatteryNo batterySolar panels—Figuresde-DE · EUR/);
  assert.deepEqual(errors, []);
  await page.close();
});
