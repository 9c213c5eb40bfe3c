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
let admin; // superuser connection: the operator's bootstrap and the scratch table
let alice; // admin of north
let bob; // member of north
let carol; // member of north
let dave; // admin of south
const clients = [];
const sockets = [];

before(async () => {
  stand = await startStand();
  admin = postgres(stand.info.pg_url, { max: 1, onnotice: () => {} });
  // The operator makes two communities; each first admin joins with the
  // bootstrap invitation, and north's admin invites two neighbours.
  const north = await createCommunity("north", "North");
  const south = await createCommunity("south", "South");
  alice = await signUp("alice@example.com");
  await join(alice, "north", north.token, "Alice");
  dave = await signUp("dave@example.com");
  await join(dave, "south", south.token, "Dave");
  const invitation = await invite(alice, "north", { preApproved: true });
  bob = await signUp("bob@example.com");
  await join(bob, "north", invitation, "Bob");
  carol = await signUp("carol@example.com");
  await join(carol, "north", invitation, "Carol");
  for (const who of [alice, bob, carol, dave]) assert.equal(who.status, "active");
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

/** A user signed up and in; the metadata's community is ignored (a community is joined with an invitation). */
async function signUp(email) {
  const password = "correct-horse-battery";
  const reply = await call("POST", "/auth/v1/signup", { body: { email, password, data: { community_id: "north", lat: "51.2", lng: "4.4" } } });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  const signedIn = await call("POST", "/auth/v1/token?grant_type=password", { body: { email, password } });
  assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
  return { id: signedIn.body.user.id, token: signedIn.body.access_token };
}

/** The operator's bootstrap, as the service runs it: the community and its first admin's invitation. */
async function createCommunity(id, name) {
  const [{ answer }] = await admin`select public.create_community(${id}, ${name}) as answer`;
  return answer;
}

/** An admin's invitation to its community; answers the token. */
async function invite(who, community, { uses = 10, preApproved = false } = {}) {
  const expires = new Date(Date.now() + 24 * 3600 * 1000).toISOString();
  const answer = await rpc("create_invitation", who, { p_community: community, p_uses: uses, p_expires_at: expires, p_pre_approved: preApproved });
  return answer.token;
}

/** Joins with an invitation; keeps the membership's id and status on `who`. */
async function join(who, community, token, name) {
  const answer = await rpc("join_community", who, { p_community: community, p_token: token, p_display_name: name });
  who.membership = answer.membership_id;
  who.status = answer.status;
  return answer;
}

const manage = (who, community, member, action) => rpc("manage_member", who, { p_community: community, p_member: member, p_action: action });

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
/** A household's side of a trade (household_trades' key is the trade and the side). */
const tradeSide = (tradeId, side) => (e) => e.eventType === "INSERT" && e.table === "household_trades" && e.new.trade_id === tradeId && e.new.side === side;
const mentions = (e, text) => JSON.stringify(e).includes(text);

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

  const params = { event: "*", schema: "public", table: "open_orders", filter: "community_id=eq.north" };
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
  // The book holds neither user ids nor coordinates.
  assert.deepEqual(data.columns.map((c) => c.name).sort(), ["amount", "community_id", "created_at", "delivery_start", "expires_at", "filled_amount", "id", "price", "seq", "status", "type", "updated_at", "username"]);
  assert.equal(data.record.username, "Alice");
  assert.equal(data.record.price, 0.16);
  assert.equal(data.record.amount, 5);
  assert.match(data.record.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00$/);
  assert.equal(data.record.expires_at, null);
  // As Supabase's Elixir server re-encodes numbers: a numeric with a fraction part is a float.
  const text = ws.texts[ws.frames.indexOf(insert)];
  assert.match(text, /"amount":5\.0,/);
  assert.match(text, /"filled_amount":0\.0,/);
  assert.match(text, /"seq":\d+,/);
  assert.ok(!text.includes(alice.id), "the book told Alice's user id");

  await rpc("buy_now", bob, { p_order_id: order.id, p_amount: "2", p_ref: randomUUID() });
  const update = await waitFor(ws.frames, (f) => f.event === "postgres_changes" && f.payload.data.type === "UPDATE" && f.payload.data.record.id === order.id, "UPDATE on the wire");
  assert.deepEqual(Object.keys(update.payload.data), ["columns", "commit_timestamp", "errors", "old_record", "record", "schema", "table", "type"]);
  assert.equal(update.payload.data.record.filled_amount, 2);
  assert.equal(update.payload.data.old_record.id, order.id);

  ws.send(JSON.stringify({ topic: "realtime:wire", event: "phx_leave", payload: {}, ref: "4", join_ref: "3" }));
  assert.deepEqual((await waitFor(ws.frames, (f) => f.ref === "4", "leave reply")).payload, { response: {}, status: "ok" });
  await waitFor(ws.frames, (f) => f.event === "phx_close" && f.topic === "realtime:wire", "phx_close after leave");
  await rpc("cancel_order", alice, { p_id: order.id });
});

test("the book, orders and trades reach the right subscribers, through their RLS", async () => {
  const bobs = await listen(realtimeClient(bob.token), "bob-market", [
    { table: "open_orders", filter: "community_id=eq.north" },
    { table: "household_trades", filter: `user_id=eq.${bob.id}` },
    { table: "trade_prints" },
  ]);
  const alices = await listen(realtimeClient(alice.token), "alice-market", [{ table: "market_orders" }, { table: "household_trades" }]);
  const carols = await listen(realtimeClient(carol.token), "carol-trades", [{ table: "household_trades" }]);
  // Dave, of the community south, listens to everything a member may.
  const daves = await listen(realtimeClient(dave.token), "dave-all", [
    { table: "open_orders" },
    { table: "market_orders" },
    { table: "household_trades" },
    { table: "trade_prints" },
  ]);
  assert.deepEqual(bobs.statuses, ["SUBSCRIBED"]);

  // Alice lists 5 kWh: Bob sees it in the book, by name only; Alice sees her order.
  const ask = await sell(alice, "0.16", "5");
  const inserted = await waitFor(bobs.events, change("INSERT", "open_orders", ask.id), "Bob's INSERT");
  assert.equal(inserted.schema, "public");
  assert.equal(inserted.errors, null);
  assert.deepEqual(inserted.old, {});
  const { id, username, community_id, type, price, amount, filled_amount, status } = inserted.new;
  assert.deepEqual({ id, username, community_id, type, price, amount, filled_amount, status }, {
    id: ask.id, username: "Alice", community_id: "north", type: "sell", price: 0.16, amount: 5, filled_amount: 0, status: "active",
  });
  assert.ok(!("user_id" in inserted.new) && !("location_lat" in inserted.new) && !("location_lng" in inserted.new));
  const own = await waitFor(alices.events, change("INSERT", "market_orders", ask.id), "Alice's own order");
  assert.equal(own.new.user_id, alice.id);

  // Bob buys 2 kWh: the book's UPDATE reaches him; each party hears its own side
  // of the trade, naming the other by display name; Bob hears the anonymous print.
  const ref = randomUUID();
  await rpc("buy_now", bob, { p_order_id: ask.id, p_amount: "2", p_ref: ref });
  const updated = await waitFor(bobs.events, change("UPDATE", "open_orders", ask.id), "Bob's UPDATE");
  assert.equal(updated.new.filled_amount, 2);
  assert.equal(updated.new.status, "partial");
  assert.equal(updated.old.id, ask.id);
  const bought = await waitFor(bobs.events, tradeSide(ref, "buy"), "Bob's side of the trade");
  const { user_id: buyer, counterpart, order_id, other_order_id, taker } = bought.new;
  assert.deepEqual({ buyer, counterpart, order_id, other_order_id, taker, price: bought.new.price, amount: bought.new.amount },
    { buyer: bob.id, counterpart: "Alice", order_id: null, other_order_id: ask.id, taker: "buy", price: 0.16, amount: 2 });
  const sold = await waitFor(alices.events, tradeSide(ref, "sell"), "Alice's side of the trade");
  assert.deepEqual([sold.new.user_id, sold.new.counterpart, sold.new.order_id, sold.new.other_order_id], [alice.id, "Bob", ask.id, null]);
  assert.ok(!mentions(bought, alice.id), "Bob heard Alice's user id");
  assert.ok(!mentions(sold, bob.id), "Alice heard Bob's user id");
  const print = await waitFor(bobs.events, (e) => e.table === "trade_prints" && e.eventType === "INSERT" && e.new.seq === bought.new.seq, "Bob's print");
  assert.deepEqual(Object.keys(print.new).sort(), ["amount", "community_id", "price", "seq", "traded_at"]);
  assert.deepEqual([print.new.community_id, print.new.price, print.new.amount], ["north", 0.16, 2]);

  // Alice cancels: she sees it on her order; the order leaves Bob's book with its key alone.
  await rpc("cancel_order", alice, { p_id: ask.id });
  await waitFor(alices.events, (e) => change("UPDATE", "market_orders", ask.id)(e) && e.new.status === "cancelled", "Alice's cancel UPDATE");
  const removed = await waitFor(bobs.events, change("DELETE", "open_orders", ask.id), "Bob's DELETE");
  assert.deepEqual(removed.old, { id: ask.id });

  // Carol sells, Alice buys: a trade between Alice and Carol, none of Bob's business but its print.
  const carolsAsk = await sell(carol, "0.2", "3");
  const between = randomUUID();
  await rpc("buy_now", alice, { p_order_id: carolsAsk.id, p_amount: "1", p_ref: between });
  await waitFor(alices.events, tradeSide(between, "buy"), "Alice's side of the trade with Carol");
  await waitFor(carols.events, tradeSide(between, "sell"), "Carol's side of the trade with Alice");
  await waitFor(bobs.events, (e) => e.table === "trade_prints" && e.new?.price === 0.2, "the print of Alice and Carol's trade");

  // Changes arrive in commit order: once Bob has this later order, he would have had the others.
  const later = await sell(alice, "0.3", "1");
  await waitFor(bobs.events, change("INSERT", "open_orders", later.id), "Bob's INSERT of a later order");
  assert.ok(!bobs.events.some((e) => e.table === "household_trades" && e.new.trade_id === between), "Bob got a trade between Alice and Carol");
  assert.ok(!bobs.events.some(tradeSide(ref, "sell")), "Bob got Alice's side of their trade");
  assert.ok(!alices.events.some(tradeSide(ref, "buy")), "Alice got Bob's side of their trade");
  assert.ok(!carols.events.some((e) => e.new.trade_id === ref), "Carol got a trade between Alice and Bob");
  assert.ok(!alices.events.some((e) => e.table === "market_orders" && e.new.user_id !== alice.id), "Alice got another household's order");
  // Bob did see Carol's order being filled, in the book of his community.
  assert.ok(bobs.events.some((e) => change("UPDATE", "open_orders", carolsAsk.id)(e) && e.new.filled_amount === 1));

  // Dave, in another community, heard nothing of north's but deletes (key only):
  // once his own order reached him, north's changes before it would have.
  const davesAsk = await sell(dave, "0.25", "2");
  await waitFor(daves.events, change("INSERT", "open_orders", davesAsk.id), "Dave's own book entry");
  await waitFor(daves.events, change("INSERT", "market_orders", davesAsk.id), "Dave's own order");
  for (const e of daves.events) {
    if (e.eventType === "DELETE") assert.deepEqual(Object.keys(e.old), ["id"]);
    else assert.equal(e.new.community_id, "south", `Dave heard north's ${e.table}: ${JSON.stringify(e)}`);
    for (const who of [alice, bob, carol]) assert.ok(!mentions(e, who.id), `Dave heard a user id of north: ${JSON.stringify(e)}`);
  }
  await rpc("cancel_order", dave, { p_id: davesAsk.id });
});

test("a member hears its own membership change: approval, then suspension; nobody else does", async () => {
  const erin = await signUp("erin@example.com");
  const invitation = await invite(alice, "north", { uses: 1, preApproved: false });
  await join(erin, "north", invitation, "Erin");
  assert.equal(erin.status, "pending");

  const erins = await listen(realtimeClient(erin.token), "erin-membership", [
    { table: "memberships" },
    { table: "open_orders", filter: "community_id=eq.north" },
  ]);
  const bobs = await listen(realtimeClient(bob.token), "bob-memberships", [
    { table: "memberships", filter: "community_id=eq.north" },
    { table: "open_orders", filter: "community_id=eq.north" },
  ]);
  // The admin who approves her does not hear her row either: admins read members through community_members.
  const alices = await listen(realtimeClient(alice.token), "alice-memberships", [{ table: "memberships" }]);
  const daves = await listen(realtimeClient(dave.token), "dave-memberships", [
    { table: "memberships" },
    { table: "memberships", filter: "community_id=eq.north" },
    { table: "memberships", filter: `id=eq.${erin.membership}` },
  ]);

  // Pending, Erin hears nothing of the book (Bob's copy shows the change was delivered).
  const before = await sell(alice, "0.17", "1");
  await waitFor(bobs.events, change("INSERT", "open_orders", before.id), "Bob's INSERT before the approval");

  // Approved: her own row's UPDATE, old and new status.
  await manage(alice, "north", erin.membership, "approve");
  const approved = await waitFor(erins.events, (e) => change("UPDATE", "memberships", erin.membership)(e) && e.new.status === "active", "Erin's approval");
  assert.equal(approved.old.status, "pending");
  assert.deepEqual([approved.new.user_id, approved.new.community_id, approved.new.display_name, approved.new.role], [erin.id, "north", "Erin", "member"]);
  assert.ok(approved.new.approved_at);

  // Active, she hears the book, and her own order goes into it.
  const after = await sell(alice, "0.18", "1");
  await waitFor(erins.events, change("INSERT", "open_orders", after.id), "Erin's INSERT once active");
  const erinsAsk = await sell(erin, "0.19", "1");
  await waitFor(bobs.events, change("INSERT", "open_orders", erinsAsk.id), "Bob's INSERT of Erin's order");

  // Suspended: her own row's UPDATE; her open order leaves the book (key only) and she hears the book no more.
  await manage(alice, "north", erin.membership, "suspend");
  const suspended = await waitFor(erins.events, (e) => change("UPDATE", "memberships", erin.membership)(e) && e.new.status === "suspended", "Erin's suspension");
  assert.equal(suspended.old.status, "active");
  const gone = await waitFor(bobs.events, change("DELETE", "open_orders", erinsAsk.id), "Erin's order leaving Bob's book");
  assert.deepEqual(gone.old, { id: erinsAsk.id });
  const later = await sell(alice, "0.2", "1");
  await waitFor(bobs.events, change("INSERT", "open_orders", later.id), "Bob's INSERT after the suspension");

  // Each subscriber now gets a change of its own row: any of Erin's it was to hear would have come first.
  const listeners = [["Alice", alice, alices], ["Bob", bob, bobs], ["Dave", dave, daves], ["Erin", erin, erins]];
  const seen = listeners.map(([, , channel]) => channel.events.length);
  await admin`update public.memberships set updated_at = now() where id in ${admin(listeners.map(([, who]) => who.membership))}`;
  for (const [i, [name, who, channel]] of listeners.entries()) {
    await waitFor(channel.events, (e, at) => at >= seen[i] && change("UPDATE", "memberships", who.membership)(e), `${name}'s own row`);
    const memberships = channel.events.filter((e) => e.table === "memberships");
    assert.ok(memberships.every((e) => e.new.id === who.membership && e.new.user_id === who.id), `${name} heard another member's row: ${JSON.stringify(memberships)}`);
  }
  assert.ok(!erins.events.some(change("INSERT", "open_orders", before.id)), "Erin heard the book while pending");
  assert.ok(!erins.events.some(change("INSERT", "open_orders", later.id)), "Erin heard the book while suspended");
  for (const id of [after.id, before.id, later.id]) await rpc("cancel_order", alice, { p_id: id });
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
  const channel = await listen(client, "bob-tokens", [{ table: "open_orders", filter: "community_id=eq.north" }]);

  // A new access token for the same session (as a refresh gives, but signed
  // here: lite's refresh within the same second returns the very same token).
  const claims = JSON.parse(Buffer.from(bob.token.split(".")[1], "base64url"));
  const renewed = signJwt({ ...claims, iat: claims.iat + 1, exp: claims.exp + 60 }, stand.info.jwt_secret);
  await client.setAuth(renewed);
  const order = await sell(alice, "0.17", "2");
  await waitFor(channel.events, change("INSERT", "open_orders", order.id), "INSERT after the token change");
  assert.equal(channel.state, "joined");
  assert.ok(!channel.system.some((m) => m.status === "error"));

  // Joining with a token signed by someone else, or an expired one, is refused.
  const now = Math.floor(Date.now() / 1000);
  const forged = signJwt({ sub: bob.id, role: "authenticated", exp: now + 600 }, "not-the-secret");
  const expired = signJwt({ sub: bob.id, role: "authenticated", exp: now - 10 }, stand.info.jwt_secret);
  for (const [token, reason] of [[forged, /JwtSignatureError/], [expired, /Token has expired/]]) {
    const refused = realtimeClient(token).channel(`refused-${randomUUID()}`);
    refused.on("postgres_changes", { event: "*", schema: "public", table: "open_orders" }, () => {});
    const [status, err] = await new Promise((resolve) => refused.subscribe((s, e) => resolve([s, e])));
    assert.equal(status, "CHANNEL_ERROR");
    assert.match(err.message, reason);
  }

  // A bad token on a joined channel: a system error, then the server closes the channel.
  const closing = await listen(realtimeClient(bob.token), "bob-closing", [{ table: "household_trades" }]);
  await closing.socket.setAuth(forged);
  await waitFor(closing.statuses, (s) => s === "CLOSED", "CLOSED after a bad token");
  assert.equal(closing.system.at(-1).status, "error");
  assert.match(closing.system.at(-1).message, /signature/i);
});

test("after the server drops every socket, the client reconnects, rejoins and gets later changes", async () => {
  const client = realtimeClient(bob.token);
  const channel = await listen(client, "bob-drop", [{ table: "open_orders", filter: "community_id=eq.north" }]);
  stand.dropRealtime();
  await waitFor(channel.statuses, (s, i) => s === "SUBSCRIBED" && i > 0, "a second SUBSCRIBED", 15_000);
  const order = await sell(alice, "0.18", "1");
  await waitFor(channel.events, change("INSERT", "open_orders", order.id), "INSERT after the reconnect");
});

test("after a PostgreSQL restart, changes committed afterwards arrive", async () => {
  const channel = await listen(realtimeClient(bob.token), "bob-restart", [{ table: "open_orders", filter: "community_id=eq.north" }]);
  await stand.restartPostgres();
  const order = await sell(alice, "0.19", "1");
  await waitFor(channel.events, change("INSERT", "open_orders", order.id), "INSERT after the restart", 10_000);
  assert.equal(channel.state, "joined");
});

test("the client's default protocol (vsn 2.0.0, array frames) works too", async () => {
  const client = realtimeClient(bob.token, { vsn: "2.0.0" });
  const channel = await listen(client, "bob-v2", [{ table: "open_orders", event: "INSERT", filter: "type=in.(sell,buy)" }]);
  const order = await sell(alice, "0.21", "4");
  const inserted = await waitFor(channel.events, change("INSERT", "open_orders", order.id), "INSERT over vsn 2.0.0");
  assert.equal(inserted.new.price, 0.21);
});
