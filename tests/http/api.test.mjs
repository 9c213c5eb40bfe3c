// The community backend over HTTP, the way the app will call it: sign-up and
// sign-in (GoTrue API), reads and RPC calls (PostgREST API) with user JWTs,
// served by @supabase/lite on the real PostgreSQL with the project's migration.
//
// Needs a PostgreSQL at LUMEA_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres).
// @supabase/lite's quirks, handled here: it creates its auth tables on its
// first start, before our SQL, and reads the schema only at start (so it is
// restarted after the migration); it reports a raised exception as
// "PostgresError: <message>" where PostgREST sends the message alone.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { randomUUID } from "node:crypto";
import postgres from "postgres";

const here = dirname(fileURLToPath(import.meta.url));
const supabase = join(here, "..", "..", "supabase");
const adminUrl = process.env.LUMEA_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const database = `lumea_http_${randomUUID().replaceAll("-", "")}`;
const databaseUrl = `${adminUrl.slice(0, adminUrl.lastIndexOf("/"))}/${database}`;
const apikey = "sb_publishable_lumeatests";
const project = mkdtempSync(join(tmpdir(), "lumea-lite-"));
let api;
let server;

function freePort() {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function startLite() {
  const child = spawn(join(here, "node_modules", ".bin", "lite"), ["start", "--no-admin"], { cwd: project, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lite did not start:\n${output}`)), 60_000);
    const listen = (chunk) => {
      output += chunk;
      if (output.includes("Server running")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on("data", listen);
    child.stderr.on("data", listen);
    child.once("exit", (code) => reject(new Error(`lite exited (${code}):\n${output}`)));
  });
  return child;
}

async function stopLite() {
  if (!server || server.exitCode !== null) return;
  const exited = new Promise((resolve) => server.once("exit", resolve));
  server.kill();
  await exited;
}

/** One HTTP call; `token` is a user's JWT, none for anon. */
async function call(method, path, { token, body } = {}) {
  const response = await fetch(`${api}${path}`, {
    method,
    headers: {
      apikey,
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

const rpc = (name, token, body) => call("POST", `/rest/v1/rpc/${name}`, { token, body });

/** The reason code of a refused call, as the app reads it. */
function reason(reply) {
  assert.ok(reply.status >= 400, `expected a refusal, got ${reply.status} ${JSON.stringify(reply.body)}`);
  return String(reply.body.message).replace(/^PostgresError: /, "");
}

async function signUp(email, username) {
  const reply = await call("POST", "/auth/v1/signup", { body: { email, password: "correct-horse-battery", data: { username } } });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  const signedIn = await call("POST", "/auth/v1/token?grant_type=password", { body: { email, password: "correct-horse-battery" } });
  assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
  return { id: signedIn.body.user.id, token: signedIn.body.access_token };
}

before(async () => {
  const admin = postgres(adminUrl, { onnotice: () => {} });
  await admin.unsafe(`create database ${database}`);
  await admin.end();
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  mkdirSync(join(project, "supabase"));
  writeFileSync(
    join(project, "supabase", "config.toml"),
    `[api]\nport = ${port}\n\n[db]\ndriver = "postgres"\nurl = "${databaseUrl}"\n\n` +
      `[auth]\nenabled = true\njwt_secret = "lumea-http-tests-${randomUUID()}"\nenable_signup = true\n` +
      `publishable_key = "${apikey}"\nsecret_key = "sb_secret_lumeatests"\n\n[auth.email]\nenable_confirmations = false\n`,
  );
  server = await startLite();
  await stopLite();
  const db = postgres(databaseUrl, { onnotice: () => {} });
  await db.unsafe(readFileSync(join(here, "..", "support", "platform_stand_in.sql"), "utf8"));
  for (const migration of readdirSync(join(supabase, "migrations")).sort()) {
    await db.unsafe(readFileSync(join(supabase, "migrations", migration), "utf8"));
  }
  await db.end();
  server = await startLite();
});

after(async () => {
  await stopLite();
  const admin = postgres(adminUrl, { onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${database} with (force)`);
  await admin.end();
  rmSync(project, { recursive: true, force: true });
});

test("households trade over the API: sign up, sell, see the book, buy now, history, cancel, refusals", async () => {
  const alice = await signUp("alice@example.com", "Alice");
  const bob = await signUp("bob@example.com", "Bob");

  // Alice lists 5 kWh; her name comes from her profile (the functions take no name at all).
  const ask = randomUUID();
  const placed = await rpc("place_order", alice.token, { p_id: ask, p_type: "sell", p_price: "0.16", p_amount: "5" });
  assert.equal(placed.status, 200, JSON.stringify(placed.body));
  assert.equal(placed.body.username, "Alice");
  assert.equal(placed.body.status, "active");

  // Bob sees it in his community's book.
  const book = await call("GET", "/rest/v1/market_orders?select=id,username,type,price,amount,filled_amount&status=in.(active,partial)&order=price.asc", { token: bob.token });
  assert.equal(book.status, 200);
  assert.deepEqual(book.body.map((order) => [order.id, order.username, order.type, Number(order.price)]), [[ask, "Alice", "sell", 0.16]]);

  // Bob buys 2 kWh of it directly; sending the same purchase again changes nothing.
  const ref = randomUUID();
  const bought = await rpc("buy_now", bob.token, { p_order_id: ask, p_amount: "2", p_ref: ref });
  assert.equal(bought.status, 200, JSON.stringify(bought.body));
  assert.equal(bought.body.id, ref);
  assert.equal(bought.body.buy_order_id, null);
  assert.equal(Number(bought.body.price), 0.16);
  assert.equal((await rpc("buy_now", bob.token, { p_order_id: ask, p_amount: "2", p_ref: ref })).body.id, ref);

  // Both see the trade in their history; the ask is partly filled.
  for (const who of [alice, bob]) {
    const trades = await call("GET", "/rest/v1/trades?select=id,amount,buyer_id,seller_id", { token: who.token });
    assert.deepEqual(trades.body.map((trade) => [trade.id, Number(trade.amount), trade.buyer_id, trade.seller_id]), [[ref, 2, bob.id, alice.id]]);
  }
  const mine = await call("GET", `/rest/v1/market_orders?select=filled_amount,status&id=eq.${ask}`, { token: alice.token });
  assert.deepEqual(mine.body.map((order) => [Number(order.filled_amount), order.status]), [[2, "partial"]]);

  // Refusals carry the engine's reason codes.
  assert.equal(reason(await rpc("place_order", bob.token, { p_id: randomUUID(), p_type: "buy", p_price: "0.04", p_amount: "1" })), "invalid_price");
  assert.equal(reason(await rpc("place_order", bob.token, { p_id: randomUUID(), p_type: "buy", p_price: "0.2", p_amount: "0.5" })), "invalid_amount");
  assert.equal(reason(await rpc("buy_now", bob.token, { p_order_id: ask, p_amount: "4", p_ref: randomUUID() })), "exceeds_available");
  assert.equal(reason(await rpc("buy_now", alice.token, { p_order_id: ask, p_amount: "1", p_ref: randomUUID() })), "self_trade");
  assert.equal(reason(await rpc("cancel_order", bob.token, { p_id: ask })), "not_owner");

  // Writing around the functions is refused, and anon gets nothing.
  const forged = await call("POST", "/rest/v1/trades", {
    token: bob.token,
    body: { community_id: "default", sell_order_id: ask, buyer_id: bob.id, seller_id: alice.id, price: "0.01", amount: "3" },
  });
  assert.ok(forged.status >= 400, `a forged trade was accepted: ${forged.status}`);
  // (@supabase/lite answers a refused PATCH with 204 and no body; the order itself shows nothing changed.)
  await call("PATCH", `/rest/v1/market_orders?id=eq.${ask}`, { token: alice.token, body: { filled_amount: "0", price: "0.99", status: "active" } });
  const untouched = await call("GET", `/rest/v1/market_orders?select=filled_amount,price,status&id=eq.${ask}`, { token: alice.token });
  assert.deepEqual(untouched.body.map((order) => [Number(order.filled_amount), Number(order.price), order.status]), [[2, 0.16, "partial"]]);
  const anonBook = await call("GET", "/rest/v1/market_orders?select=id");
  assert.ok(anonBook.status >= 400 || anonBook.body.length === 0, "anon read the book");
  assert.ok((await rpc("place_order", undefined, { p_id: randomUUID(), p_type: "buy", p_price: "0.2", p_amount: "1" })).status >= 400, "anon placed an order");

  // Alice cancels what is left; the order stays in her history, gone from Bob's view.
  const cancelled = await rpc("cancel_order", alice.token, { p_id: ask });
  assert.equal(cancelled.body.status, "cancelled");
  assert.equal((await call("GET", `/rest/v1/market_orders?select=id&id=eq.${ask}`, { token: alice.token })).body.length, 1);
  assert.equal((await call("GET", `/rest/v1/market_orders?select=id&id=eq.${ask}`, { token: bob.token })).body.length, 0);
  const after = await call("GET", `/rest/v1/market_orders?select=filled_amount,price&id=eq.${ask}`, { token: alice.token });
  assert.deepEqual(after.body.map((order) => [Number(order.filled_amount), Number(order.price)]), [[2, 0.16]]);
});
