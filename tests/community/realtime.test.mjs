// The Realtime stand-in, driven by the OFFICIAL client (@supabase/realtime-js)
// and by a bare WebSocket for the exact wire shapes, over the whole test stand
// (private PostgreSQL, @supabase/lite, the project's migrations).
//
//   cd tests/community && npm install && npm test
//   (or: node --test --test-force-exit realtime.test.mjs)

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import WebSocket from "ws";
import postgres from "postgres";
import { RealtimeClient } from "@supabase/realtime-js";
import { startStand } from "./stand.mjs";

let stand;
let admin; // superuser connection, for the scratch table
let alice;
let bob;
let carol;
const clients = [];
const sockets = [];

before(async () => {
  stand = await startStand();
  admin = postgres(stand.info.pg_url, { max: 1, onnotice: () => {} });
  alice = await signUp("alice@example.com", "Alice");
  bob = await signUp("bob@example.com", "Bob");
  carol = await signUp("carol@example.com", "Carol");
});

after(async () => {
  // (The client's disconnect() leaves a 10 s timer behind: npm test passes
  // --test-force-exit so that it does not hold the run.)
  for (const client of clients) {
    await client.removeAllChannels().catch(() => {});
    await client.disconnect();
  }
  for (const ws of sockets) ws.terminate();
  await admin?.end();
  await stand?.stop();
});

// --- REST helpers (lite) --------------------------------------------------------

async function call(method, path, { token, body } = {}) {
  const response = await fetch(`${stand.info.rest_url}${path}`, {
    method,
    headers: {
      apikey: stand.info.anon_key,
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function rpc(name, who, body) {
  const reply = await call("POST", `/rest/v1/rpc/${name}`, { token: who.token, body });
  assert.equal(reply.status, 200, `${name}: ${JSON.stringify(reply.body)}`);
  return reply.body;
}

async function signUp(email, username) {
  const password = "correct-horse-battery";
  const reply = await call("POST", "/auth/v1/signup", { body: { email, password, data: { username } } });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  const signedIn = await call("POST", "/auth/v1/token?grant_type=password", { body: { email, password } });
  assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
  return { id: signedIn.body.user.id, token: signedIn.body.access_token };
}

const sell = (who, price, amount) => rpc("place_order", who, { p_id: randomUUID(), p_type: "sell", p_price: price, p_amount: amount });

// --- Realtime helpers (official client) -------------------------------------------

/** The official client, as an app would make it; Node 20 has no global WebSocket. */
function realtimeClient(token, options = {}) {
  const endpoint = stand.info.realtime_url.replace(/\/websocket$/, "");
  const client = new RealtimeClient(endpoint, { transport: WebSocket, params: { apikey: stand.info.anon_key }, vsn: "1.0.0", ...options });
  if (token) client.setAuth(token);
  clients.push(client);
  return client;
}

/**
 * A channel listening to the given tables; resolves once SUBSCRIBED. Every
 * change received is kept in `events`; `statuses` keeps every status reported.
 */
async function listen(client, name, tables) {
  const channel = client.channel(name);
  channel.events = [];
  channel.statuses = [];
  channel.system = [];
  for (const { table, filter, event = "*" } of tables) {
    channel.on("postgres_changes", { event, schema: "public", table, ...(filter ? { filter } : {}) }, (payload) => channel.events.push(payload));
  }
  channel.on("system", {}, (payload) => channel.system.push(payload));
  await new Promise((resolve, reject) => {
    channel.subscribe((status, err) => {
      channel.statuses.push(status);
      if (status === "SUBSCRIBED") resolve();
      else if (channel.statuses.filter((s) => s === "SUBSCRIBED").length === 0) reject(err ?? new Error(status));
    });
  });
  return channel;
}

/** Waits until `list` holds an item matching `predicate`, and returns it. */
async function waitFor(list, predicate, what, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = list.find(predicate);
    if (found) return found;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; got ${JSON.stringify(list, null, 1).slice(0, 2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const change = (type, table, id) => (e) => e.eventType === type && e.table === table && (e.new?.id ?? e.old?.id) === id;

function signJwt(claims, secret) {
  const part = (obj) => Buffer.from(JSON.stringify(obj)).toString("base64url");
  const unsigned = `${part({ alg: "HS256", typ: "JWT" })}.${part(claims)}`;
  return `${unsigned}.${createHmac("sha256", secret).update(unsigned).digest("base64url")}`;
}

// --- The wire, seen with a bare WebSocket ----------------------------------------------

/** A raw vsn 1.0.0 socket; `frames` keeps every message the server sent. */
async function rawSocket(query = `apikey=${stand.info.anon_key}&vsn=1.0.0`) {
  const ws = new WebSocket(`${stand.info.realtime_url}?${query}`);
  sockets.push(ws);
  ws.frames = [];
  ws.texts = [];
  ws.on("message", (data) => {
    ws.texts.push(data.toString());
    ws.frames.push(JSON.parse(data.toString()));
  });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("unexpected-response", (req, res) => {
      req.destroy();
      reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode }));
    });
    ws.once("error", reject);
  });
  return ws;
}

test("the wire: refused without apikey, heartbeat, join reply, system message, change payloads", async () => {
  await assert.rejects(rawSocket("vsn=1.0.0"), (err) => err.status === 401);

  const ws = await rawSocket();
  ws.send(JSON.stringify({ topic: "phoenix", event: "heartbeat", payload: {}, ref: "1" }));
  assert.deepEqual(await waitFor(ws.frames, (f) => f.ref === "1", "heartbeat reply"), { event: "phx_reply", payload: { response: {}, status: "ok" }, ref: "1", topic: "phoenix" });

  ws.send(JSON.stringify({ topic: "realtime:nowhere", event: "access_token", payload: { access_token: bob.token }, ref: "2" }));
  assert.deepEqual((await waitFor(ws.frames, (f) => f.ref === "2", "unmatched reply")).payload, { response: { reason: "unmatched topic" }, status: "error" });

  const params = { event: "*", schema: "public", table: "market_orders", filter: "community_id=eq.default" };
  ws.send(JSON.stringify({
    topic: "realtime:wire",
    event: "phx_join",
    payload: { config: { broadcast: { ack: false, self: false }, presence: { key: "", enabled: false }, postgres_changes: [params], private: false }, access_token: bob.token },
    ref: "3",
    join_ref: "3",
  }));
  const joined = await waitFor(ws.frames, (f) => f.ref === "3", "join reply");
  assert.equal(joined.payload.status, "ok");
  const [sub] = joined.payload.response.postgres_changes;
  assert.ok(Number.isInteger(sub.id));
  assert.deepEqual({ ...sub, id: 0 }, { ...params, id: 0 });
  const system = await waitFor(ws.frames, (f) => f.event === "system", "system message");
  assert.deepEqual(system, {
    event: "system",
    payload: { channel: "wire", extension: "postgres_changes", message: "Subscribed to PostgreSQL", status: "ok" },
    ref: null,
    topic: "realtime:wire",
  });

  const order = await sell(alice, "0.16", "5");
  const insert = await waitFor(ws.frames, (f) => f.event === "postgres_changes" && f.payload.data.record?.id === order.id, "INSERT on the wire");
  assert.deepEqual(Object.keys(insert), ["event", "payload", "ref", "topic"]);
  assert.equal(insert.ref, null);
  assert.deepEqual(insert.payload.ids, [sub.id]);
  const { data } = insert.payload;
  assert.deepEqual(Object.keys(data), ["columns", "commit_timestamp", "errors", "record", "schema", "table", "type"]);
  assert.equal(data.type, "INSERT");
  assert.equal(data.errors, null);
  assert.match(data.commit_timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(data.columns.find((c) => c.name === "price"), { name: "price", type: "numeric" });
  assert.deepEqual(data.columns.find((c) => c.name === "created_at"), { name: "created_at", type: "timestamptz" });
  assert.equal(data.record.price, 0.16);
  assert.equal(data.record.amount, 5);
  assert.match(data.record.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00$/);
  assert.equal(data.record.expires_at, null);
  // As Supabase's Elixir server re-encodes numbers: a numeric with a fraction part is a float.
  const text = ws.texts[ws.frames.indexOf(insert)];
  assert.match(text, /"amount":5\.0,/);
  assert.match(text, /"filled_amount":0\.0,/);
  assert.match(text, /"seq":\d+,/);

  await rpc("buy_now", bob, { p_order_id: order.id, p_amount: "2", p_ref: randomUUID() });
  const update = await waitFor(ws.frames, (f) => f.event === "postgres_changes" && f.payload.data.type === "UPDATE" && f.payload.data.record.id === order.id, "UPDATE on the wire");
  assert.deepEqual(Object.keys(update.payload.data), ["columns", "commit_timestamp", "errors", "old_record", "record", "schema", "table", "type"]);
  assert.equal(update.payload.data.record.filled_amount, 2);
  assert.equal(update.payload.data.old_record.id, order.id);

  ws.send(JSON.stringify({ topic: "realtime:wire", event: "phx_leave", payload: {}, ref: "4", join_ref: "3" }));
  assert.deepEqual((await waitFor(ws.frames, (f) => f.ref === "4", "leave reply")).payload, { response: {}, status: "ok" });
  await waitFor(ws.frames, (f) => f.event === "phx_close" && f.topic === "realtime:wire", "phx_close after leave");
});

test("orders and trades reach the right subscribers, through their RLS", async () => {
  const bobClient = realtimeClient(bob.token);
  const aliceClient = realtimeClient(alice.token);
  const carolClient = realtimeClient(carol.token);
  const bobs = await listen(bobClient, "bob-market", [{ table: "market_orders", filter: "community_id=eq.default" }, { table: "trades" }]);
  const alices = await listen(aliceClient, "alice-market", [{ table: "market_orders" }, { table: "trades" }]);
  const carols = await listen(carolClient, "carol-trades", [{ table: "trades" }]);
  assert.deepEqual(bobs.statuses, ["SUBSCRIBED"]);

  // Alice lists 5 kWh: Bob sees the new order with its fields as the app reads them.
  const ask = await sell(alice, "0.16", "5");
  const inserted = await waitFor(bobs.events, change("INSERT", "market_orders", ask.id), "Bob's INSERT");
  assert.equal(inserted.schema, "public");
  assert.equal(inserted.errors, null);
  assert.deepEqual(inserted.old, {});
  const { id, username, type, price, amount, filled_amount, status, user_id } = inserted.new;
  assert.deepEqual({ id, username, type, price, amount, filled_amount, status, user_id }, {
    id: ask.id, username: "Alice", type: "sell", price: 0.16, amount: 5, filled_amount: 0, status: "active", user_id: alice.id,
  });

  // Bob buys 2 kWh: the order's UPDATE reaches him, the trade reaches both parties.
  const ref = randomUUID();
  await rpc("buy_now", bob, { p_order_id: ask.id, p_amount: "2", p_ref: ref });
  const updated = await waitFor(bobs.events, change("UPDATE", "market_orders", ask.id), "Bob's UPDATE");
  assert.equal(updated.new.filled_amount, 2);
  assert.equal(updated.new.status, "partial");
  assert.equal(updated.old.id, ask.id);
  for (const [who, channel] of [["Bob", bobs], ["Alice", alices]]) {
    const trade = await waitFor(channel.events, change("INSERT", "trades", ref), `${who}'s trade`);
    assert.deepEqual([trade.new.buyer_id, trade.new.seller_id, trade.new.amount, trade.new.price, trade.new.buy_order_id], [bob.id, alice.id, 2, 0.16, null]);
  }

  // Alice cancels: she sees it; Bob may no longer see the order, so he gets nothing.
  await rpc("cancel_order", alice, { p_id: ask.id });
  await waitFor(alices.events, (e) => change("UPDATE", "market_orders", ask.id)(e) && e.new.status === "cancelled", "Alice's cancel UPDATE");

  // Carol sells, Alice buys: a trade between Alice and Carol, none of Bob's business.
  const carolsAsk = await sell(carol, "0.2", "3");
  const between = randomUUID();
  await rpc("buy_now", alice, { p_order_id: carolsAsk.id, p_amount: "1", p_ref: between });
  await waitFor(alices.events, change("INSERT", "trades", between), "Alice's trade with Carol");
  await waitFor(carols.events, change("INSERT", "trades", between), "Carol's trade with Alice");

  // Changes arrive in commit order: once Bob has this later order, he would have had the others.
  const later = await sell(alice, "0.3", "1");
  await waitFor(bobs.events, change("INSERT", "market_orders", later.id), "Bob's INSERT of a later order");
  assert.ok(!bobs.events.some((e) => e.table === "market_orders" && e.new?.status === "cancelled"), "Bob got the cancelled order");
  assert.ok(!bobs.events.some(change("INSERT", "trades", between)), "Bob got a trade between Alice and Carol");
  assert.ok(!carols.events.some(change("INSERT", "trades", ref)), "Carol got a trade between Alice and Bob");
  // Bob did see Carol's order being filled, in the book of his community.
  assert.ok(bobs.events.some((e) => change("UPDATE", "market_orders", carolsAsk.id)(e) && e.new.filled_amount === 1));
});

test("a delete reaches every subscriber of the table, with the primary key only", async () => {
  await admin.unsafe(`
    create table public.rt_scratch (id uuid primary key, owner uuid not null, note text);
    -- The whole old row is in the WAL, yet with RLS on only the key may go out.
    alter table public.rt_scratch replica identity full;
    alter table public.rt_scratch enable row level security;
    create policy "own rows" on public.rt_scratch for select to authenticated using (owner = (select auth.uid()));
    grant select on public.rt_scratch to authenticated;
    alter publication supabase_realtime add table public.rt_scratch;`);
  const bobs = await listen(realtimeClient(bob.token), "bob-scratch", [{ table: "rt_scratch" }]);
  const alices = await listen(realtimeClient(alice.token), "alice-scratch", [{ table: "rt_scratch" }]);

  const row = randomUUID();
  await admin`insert into public.rt_scratch values (${row}, ${alice.id}, 'secret')`;
  const inserted = await waitFor(alices.events, change("INSERT", "rt_scratch", row), "Alice's INSERT");
  assert.deepEqual(inserted.new, { id: row, owner: alice.id, note: "secret" });
  await admin`delete from public.rt_scratch where id = ${row}`;
  for (const [who, channel] of [["Alice", alices], ["Bob", bobs]]) {
    const deleted = await waitFor(channel.events, change("DELETE", "rt_scratch", row), `${who}'s DELETE`);
    assert.deepEqual(deleted.old, { id: row });
    assert.deepEqual(deleted.new, {});
  }
  // RLS kept the insert from Bob.
  assert.ok(!bobs.events.some(change("INSERT", "rt_scratch", row)));
});

test("tokens: a new token keeps the channel; a bad one is refused at join and closes a joined channel", async () => {
  const client = realtimeClient(bob.token);
  const channel = await listen(client, "bob-tokens", [{ table: "market_orders", filter: "community_id=eq.default" }]);

  // A new access token for the same session (as a refresh gives, but signed
  // here: lite's refresh within the same second returns the very same token).
  const claims = JSON.parse(Buffer.from(bob.token.split(".")[1], "base64url"));
  const renewed = signJwt({ ...claims, iat: claims.iat + 1, exp: claims.exp + 60 }, stand.info.jwt_secret);
  await client.setAuth(renewed);
  const order = await sell(alice, "0.17", "2");
  await waitFor(channel.events, change("INSERT", "market_orders", order.id), "INSERT after the token change");
  assert.equal(channel.state, "joined");
  assert.ok(!channel.system.some((m) => m.status === "error"));

  // Joining with a token signed by someone else, or an expired one, is refused.
  const now = Math.floor(Date.now() / 1000);
  const forged = signJwt({ sub: bob.id, role: "authenticated", exp: now + 600 }, "not-the-secret");
  const expired = signJwt({ sub: bob.id, role: "authenticated", exp: now - 10 }, stand.info.jwt_secret);
  for (const [token, reason] of [[forged, /JwtSignatureError/], [expired, /Token has expired/]]) {
    const refused = realtimeClient(token).channel(`refused-${randomUUID()}`);
    refused.on("postgres_changes", { event: "*", schema: "public", table: "market_orders" }, () => {});
    const [status, err] = await new Promise((resolve) => refused.subscribe((s, e) => resolve([s, e])));
    assert.equal(status, "CHANNEL_ERROR");
    assert.match(err.message, reason);
  }

  // A bad token on a joined channel: a system error, then the server closes the channel.
  const closing = await listen(realtimeClient(bob.token), "bob-closing", [{ table: "trades" }]);
  await closing.socket.setAuth(forged);
  await waitFor(closing.statuses, (s) => s === "CLOSED", "CLOSED after a bad token");
  assert.equal(closing.system.at(-1).status, "error");
  assert.match(closing.system.at(-1).message, /signature/i);
});

test("after the server drops every socket, the client reconnects, rejoins and gets later changes", async () => {
  const client = realtimeClient(bob.token);
  const channel = await listen(client, "bob-drop", [{ table: "market_orders", filter: "community_id=eq.default" }]);
  stand.dropRealtime();
  await waitFor(channel.statuses, (s, i) => s === "SUBSCRIBED" && i > 0, "a second SUBSCRIBED", 15_000);
  const order = await sell(alice, "0.18", "1");
  await waitFor(channel.events, change("INSERT", "market_orders", order.id), "INSERT after the reconnect");
});

test("after a PostgreSQL restart, changes committed afterwards arrive", async () => {
  const channel = await listen(realtimeClient(bob.token), "bob-restart", [{ table: "market_orders", filter: "community_id=eq.default" }]);
  await stand.restartPostgres();
  const order = await sell(alice, "0.19", "1");
  await waitFor(channel.events, change("INSERT", "market_orders", order.id), "INSERT after the restart", 10_000);
  assert.equal(channel.state, "joined");
});

test("the client's default protocol (vsn 2.0.0, array frames) works too", async () => {
  const client = realtimeClient(bob.token, { vsn: "2.0.0" });
  const channel = await listen(client, "bob-v2", [{ table: "market_orders", event: "INSERT", filter: "type=in.(sell,buy)" }]);
  const order = await sell(alice, "0.21", "4");
  const inserted = await waitFor(channel.events, change("INSERT", "market_orders", order.id), "INSERT over vsn 2.0.0");
  assert.equal(inserted.new.price, 0.21);
});
