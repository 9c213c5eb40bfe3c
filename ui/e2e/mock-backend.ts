// A small in-browser stand-in for the Rust core, for the browser end-to-end
// tests only: it answers the app's commands through Tauri's official IPC mock
// and emits the same events. The real core is tested in the desktop e2e.

import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import type { CommandError } from "../src/bindings/CommandError";
import type { AuthLinkResult } from "../src/bindings/AuthLinkResult";
import type { ErrorCode } from "../src/bindings/ErrorCode";
import type { HomeSettings } from "../src/bindings/HomeSettings";
import type { InvitationView } from "../src/bindings/InvitationView";
import type { MemberAction } from "../src/bindings/MemberAction";
import type { MemberRole } from "../src/bindings/MemberRole";
import type { MemberView } from "../src/bindings/MemberView";
import type { ModeView } from "../src/bindings/ModeView";
import type { MarketEvent } from "../src/bindings/MarketEvent";
import type { OrderView } from "../src/bindings/OrderView";
import type { Setup } from "../src/bindings/Setup";
import type { SettingsChange } from "../src/bindings/SettingsChange";
import type { TradeView } from "../src/bindings/TradeView";
import { checkHome } from "../src/market/home";
import { ENERGY_SCALE, MONEY_SCALE, PRICE_SCALE, checkOrderAmount, checkPrice, checkPurchase, formatSteps, parseSteps, steps } from "../src/market/rules";

/**
 * extraAsks: neighbours' offers to add; failFirst: the code the first command
 * fails with; project: the project the local mode prefills sign-in with (as the
 * last one used, or the developer's environment); home: the home saved before
 * the app starts; setup: the first run's choice ("unset": the app asks; by
 * default "home" with a home, else "demo"); community: start signed in to the
 * community as Alice, an active member with this role (see "Operator console").
 */
/** startedWith: the invitation link the OS started the app with. */
type Config = {
  extraAsks?: number;
  failFirst?: ErrorCode;
  project?: { url: string; anonKey: string };
  home?: HomeSettings;
  setup?: Setup;
  community?: MemberRole;
  startedWith?: string;
};
const config: Config = (window as unknown as { __LUMEA_MOCK_CONFIG__?: Config }).__LUMEA_MOCK_CONFIG__ ?? {};

const e = (s: bigint) => formatSteps(s, ENERGY_SCALE);
const p = (s: bigint) => formatSteps(s, PRICE_SCALE);
const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
let nextId = 1;
const uuid = () => `00000000-0000-4000-8000-${String(nextId++).padStart(12, "0")}`;

const battery = { capacity: 1350n, level: 850n, bids: 0n, asks: 0n, tokensMg: 0n };
const grid = { buy: 2000n, sell: 1000n };

function order(username: string, side: "buy" | "sell", price: string, amount: string, minutes: number, distance: string, mine = false): OrderView {
  return {
    id: uuid(),
    user_id: mine ? "household" : username.toLowerCase(),
    username,
    side,
    price,
    amount,
    filled: "0",
    remaining: amount,
    status: "active",
    created_at: ago(minutes),
    updated_at: ago(minutes),
    expires_at: null,
    distance_km: distance,
    mine,
    pending: false,
  };
}

const orders: OrderView[] = [
  order("Bob", "sell", "0.17", "5", 42, "0.7"),
  order("Erin", "sell", "0.175", "6", 30, "1.2"),
  order("Frank", "sell", "0.185", "4", 12, "1.4"),
  order("Heidi", "sell", "0.19", "8", 5, "1.5"),
  order("Diana", "buy", "0.15", "25", 50, "0.5"),
  order("Grace", "buy", "0.14", "5", 20, "1.5"),
];
for (let n = 0; n < (config.extraAsks ?? 0); n++) {
  orders.push(order(`Neighbour ${n}`, "sell", p(2000n + BigInt(n % 500)), "3", n % 600, "2.1"));
}
orders[0].filled = "10";
orders[0].amount = "15";
orders[0].status = "partial";
const trades: TradeView[] = [];
const history = [
  { at: ago(120), price: "0.16", amount: "10" },
  { at: ago(119), price: "0.17", amount: "10" },
];
let failNext: ErrorCode | null = config.failFirst ?? null;

const open = (o: OrderView) => o.status === "active" || o.status === "partial";
const book = () => ({
  asks: orders.filter((o) => o.side === "sell" && open(o)).sort((a, b) => Number(steps(a.price, 4) - steps(b.price, 4))),
  bids: orders.filter((o) => o.side === "buy" && open(o)).sort((a, b) => Number(steps(b.price, 4) - steps(a.price, 4))),
});
const depth = (side: OrderView[]) => {
  const levels = new Map<string, { price: string; amount: bigint; orders: number }>();
  for (const o of side) {
    const level = levels.get(o.price) ?? { price: o.price, amount: 0n, orders: 0 };
    level.amount += steps(o.remaining, ENERGY_SCALE);
    level.orders += 1;
    levels.set(o.price, level);
  }
  return [...levels.values()].map((l) => ({ price: l.price, amount: e(l.amount), orders: l.orders }));
};
const energy = () => ({
  capacity: e(battery.capacity),
  level: e(battery.level),
  reserved_for_bids: e(battery.bids),
  reserved_for_asks: e(battery.asks),
  headroom: e(battery.capacity - battery.level - battery.bids),
  sellable: e(battery.level - battery.asks),
  co2_tokens: formatSteps(battery.tokensMg, 6),
});

class Refusal extends Error {
  constructor(readonly code: ErrorCode) {
    super(code);
  }
}
const refuse = (code: ErrorCode): never => {
  throw new Refusal(code);
};
let home: HomeSettings | null = config.home ?? null;
const localMode: ModeView = {
  setup: config.setup ?? (home ? "home" : "demo"),
  community: false,
  connection: "local",
  project_url: config.project?.url ?? null,
  anon_key: config.project?.anonKey ?? null,
  email: null,
  username: null,
  community_id: null,
  community_name: null,
  membership: null,
  role: null,
};
let mode = localMode;

/** The invitation's project, community and standing, as the core and the server would answer. */
const INVITATION_PROJECT = { url: "https://demo.supabase.co", anonKey: "sb_publishable_demo" };
function redeem(invitation: string): Pick<ModeView, "community_id" | "community_name" | "membership" | "role"> {
  const text = invitation.trim();
  // The core reads a link or a code; anything else it refuses before asking the server.
  if (!text.startsWith("lumea://join?") && !text.startsWith("LUMEA1-")) refuse("invalid_invitation");
  // What the server would say of its token.
  if (text.includes("bad")) refuse("invalid_invitation");
  if (text.includes("expired")) refuse("invitation_expired");
  if (text.includes("used")) refuse("invitation_used_up");
  return { community_id: "default", community_name: "Default Street", membership: text.includes("pending") ? "pending" : "active", role: "member" };
}
/** Signed up where email is confirmed first: the account the confirmation link signs in. */
let awaitingConfirmation: Pick<ModeView, "email" | "username" | "community_id" | "community_name" | "membership" | "role"> | null = null;
/** Where the last password reset link was sent. */
let resetFor: string | null = null;

/** Signed in to a community's market, as the core is once it opens it. */
async function enter(account: Partial<ModeView>, project = { url: mode.project_url ?? INVITATION_PROJECT.url, anonKey: mode.anon_key ?? INVITATION_PROJECT.anonKey }) {
  mode = { ...mode, community: true, connection: "online", project_url: project.url, anon_key: project.anonKey, ...account };
  await announce({ type: "connection_changed", connection: "online" });
  return mode;
}
/** An account that has joined the mock's community and trades. */
const ALICE = { username: "Alice", community_id: "default", community_name: "Default Street", membership: "active" as const, role: "member" as const };

/** Names taken in the mock's community. */
const TAKEN = new Set(["bob", "erin #2"]);

const announce = async (...events: MarketEvent[]) => {
  for (const event of events) await emit("market", event);
};

/** Commands answered, by name, for the tests that check which views an event refetches. */
const calls = new Map<string, number>();

async function handle(cmd: string, args: Record<string, unknown>): Promise<unknown> {
  calls.set(cmd, (calls.get(cmd) ?? 0) + 1);
  if (failNext) {
    const code = failNext;
    failNext = null;
    refuse(code);
  }
  switch (cmd) {
    case "book":
      return book();
    case "energy":
      return energy();
    case "grid_prices":
      return { buy: p(grid.buy), sell: p(grid.sell) };
    case "price_history":
      return history;
    case "stats": {
      const { asks, bids } = book();
      return {
        best_bid: bids[0]?.price ?? null,
        best_ask: asks[0]?.price ?? null,
        spread: asks[0] && bids[0] ? p(steps(asks[0].price, 4) - steps(bids[0].price, 4)) : null,
        last_price: history.at(-1)?.price ?? null,
        volume: "20",
        vwap: "0.165",
        asks: depth(asks),
        bids: depth(bids),
      };
    }
    case "my_orders":
      return orders.filter((o) => o.mine).reverse();
    case "my_trades":
      return trades.slice().reverse().slice(Number(args.offset), Number(args.offset) + Number(args.limit));
    case "place_order": {
      const side = args.side as "buy" | "sell";
      const price = checkPrice(String(args.price));
      if (!price.ok) return refuse(price.code);
      const limit = side === "sell" ? battery.level - battery.asks : battery.capacity - battery.level - battery.bids;
      const amount = checkOrderAmount(String(args.amount), side, limit);
      if (!amount.ok) return refuse(amount.code);
      const placed = order("You", side, p(price.steps), e(amount.steps), 0, "0", true);
      placed.id = String(args.id);
      orders.push(placed);
      if (side === "sell") battery.asks += amount.steps;
      else battery.bids += amount.steps;
      await announce({ type: "book_changed" }, { type: "energy_changed", user_id: "household" });
      return { trades: [], orders: [], pending: false };
    }
    case "cancel_order": {
      const target = orders.find((o) => o.id === args.id) ?? refuse("unknown_order");
      if (!open(target)) refuse("not_open");
      target.status = "cancelled";
      const left = steps(target.remaining, ENERGY_SCALE);
      if (target.side === "sell") battery.asks -= left;
      else battery.bids -= left;
      await announce({ type: "book_changed" }, { type: "energy_changed", user_id: "household" });
      return { trades: [], orders: [], pending: false };
    }
    case "buy_now": {
      const offer = orders.find((o) => o.id === args.order && o.side === "sell") ?? refuse("unknown_order");
      if (!open(offer)) refuse("not_open");
      const headroom = battery.capacity - battery.level - battery.bids;
      const amount = checkPurchase(String(args.amount), steps(offer.remaining, ENERGY_SCALE), headroom);
      if (!amount.ok) return refuse(amount.code);
      const remaining = steps(offer.remaining, ENERGY_SCALE) - amount.steps;
      offer.remaining = e(remaining);
      offer.filled = e(steps(offer.filled, ENERGY_SCALE) + amount.steps);
      offer.status = remaining === 0n ? "filled" : "partial";
      battery.level += amount.steps;
      battery.tokensMg += amount.steps * 3670n;
      const trade: TradeView = {
        id: uuid(),
        buy_order: null,
        sell_order: offer.id,
        buyer_id: "household",
        seller_id: offer.user_id,
        buyer: "You",
        seller: offer.username,
        price: offer.price,
        amount: e(amount.steps),
        total: formatSteps(steps(offer.price, PRICE_SCALE) * amount.steps, MONEY_SCALE),
        created_at: new Date().toISOString(),
        role: "bought",
        taker: "buy",
      };
      trades.push(trade);
      history.push({ at: trade.created_at, price: trade.price, amount: trade.amount });
      await announce({ type: "trade_executed", trade }, { type: "book_changed" }, { type: "energy_changed", user_id: "household" });
      return { trades: [trade], orders: [], pending: false };
    }
    case "buy_from_grid":
    case "sell_to_grid": {
      const buying = cmd === "buy_from_grid";
      const limit = buying ? battery.capacity - battery.level - battery.bids : battery.level - battery.asks;
      const amount = checkPurchase(String(args.amount), limit, limit);
      if (!amount.ok) return refuse(amount.code === "invalid_amount" ? "invalid_amount" : buying ? "exceeds_battery" : "insufficient_energy");
      battery.level += buying ? amount.steps : -amount.steps;
      const price = buying ? grid.buy : grid.sell;
      await announce({ type: "energy_changed", user_id: "household" });
      return { id: uuid(), direction: buying ? "buy" : "sell", amount: e(amount.steps), price: p(price), total: formatSteps(price * amount.steps, MONEY_SCALE), created_at: new Date().toISOString() };
    }
    case "mode":
      return mode;
    case "sign_in": {
      if (args.password !== "correct-horse-battery") return refuse("invalid_credentials");
      const email = String(args.email);
      // new@…: an account that has not joined a community yet.
      const member = email.startsWith("new@") ? { username: null, community_id: null, community_name: null, membership: "none" as const, role: null } : ALICE;
      return enter({ email, ...member }, { url: String(args.url), anonKey: String(args.anonKey) });
    }
    case "sign_up": {
      const joined = redeem(String(args.invitation));
      // The core sends the home's location with the sign-up: the one set up, never the demo's.
      if (home === null) return refuse("home_not_set");
      if (args.password !== "correct-horse-battery") return refuse("weak_password");
      const username = String(args.username).trim();
      if (TAKEN.has(username.toLowerCase())) return refuse("username_taken");
      const email = String(args.email);
      // confirm@…: the project confirms email first; the core keeps the invitation for the first sign-in.
      if (email.startsWith("confirm@")) {
        awaitingConfirmation = { email, username, ...joined };
        return refuse("email_not_confirmed");
      }
      return enter({ email, username, ...joined }, INVITATION_PROJECT);
    }
    case "join_community": {
      if (!mode.community) return refuse("signed_out");
      if (mode.membership !== "none") return refuse("already_member");
      const joined = redeem(String(args.invitation));
      const username = String(args.username).trim();
      if (TAKEN.has(username.toLowerCase())) return refuse("username_taken");
      mode = { ...mode, username, ...joined };
      await announce({ type: "connection_changed", connection: mode.connection });
      return mode;
    }
    case "use_local_mode":
      mode = { ...localMode, setup: mode.setup };
      await announce({ type: "connection_changed", connection: "local" });
      return mode;
    case "home_settings":
      return home;
    case "save_home": {
      const checked = checkHome(args.home as HomeSettings);
      // The core stops at the first field that is wrong.
      if (!checked.ok) return refuse(Object.values(checked.problems)[0]);
      const reopens = home?.location !== checked.home.location || home.battery_capacity !== checked.home.battery_capacity || home.battery_level !== checked.home.battery_level;
      home = checked.home;
      mode = { ...mode, setup: "home" };
      // In a community, a moved home or a corrected battery opens its market again.
      if (mode.community && reopens) await announce({ type: "connection_changed", connection: mode.connection });
      return home;
    }
    case "opened_links": {
      const links = { invitation: config.startedWith ?? null, auth: null };
      config.startedWith = undefined;
      return links;
    }
    case "explore_demo":
      if (mode.setup === "unset") mode = { ...mode, setup: "demo" };
      return mode;
    case "request_password_reset": {
      if (mode.project_url === null) return refuse("invalid_project");
      const email = String(args.email).trim();
      if (!/^[^@\s]+@[^@\s]+$/.test(email)) return refuse("invalid_email");
      resetFor = email;
      return null;
    }
    case "set_new_password":
      if (!mode.community) return refuse("not_authenticated");
      return String(args.password).length < 6 ? refuse("weak_password") : null;
    default:
      return consoleCommand(cmd, args);
  }
}

mockIPC(
  async (cmd, args) => {
    try {
      return await handle(cmd, (args ?? {}) as Record<string, unknown>);
    } catch (err) {
      // The real shell rejects with a plain {code, message} object, not an Error; so does this.
      if (err instanceof Refusal) {
        const rejection: CommandError = { code: err.code, message: err.code };
        throw rejection;
      }
      throw err;
    }
  },
  { shouldMockEvents: true },
);

/** Controls for the tests: what a neighbour or a failing backend would do. */
(window as unknown as { lumeaMock: unknown }).lumeaMock = {
  neighbourOffers: async (username: string, price: string, amount: string) => {
    orders.push(order(username, "sell", price, amount, 0, "0.9"));
    await announce({ type: "book_changed" });
  },
  neighbourBuysFromMe: async (amount: string) => {
    const mine = orders.find((o) => o.mine && o.side === "sell" && open(o));
    if (!mine) return;
    const bought = steps(amount, ENERGY_SCALE);
    mine.remaining = e(steps(mine.remaining, ENERGY_SCALE) - bought);
    mine.filled = e(steps(mine.filled, ENERGY_SCALE) + bought);
    mine.status = mine.remaining === "0" ? "filled" : "partial";
    battery.level -= bought;
    battery.asks -= bought;
    const trade: TradeView = {
      id: uuid(), buy_order: uuid(), sell_order: mine.id, buyer_id: "alice", seller_id: "household", buyer: "Alice", seller: "You",
      price: mine.price, amount, total: formatSteps(steps(mine.price, PRICE_SCALE) * bought, MONEY_SCALE), created_at: new Date().toISOString(), role: "sold", taker: "buy",
    };
    trades.push(trade);
    await announce({ type: "trade_executed", trade }, { type: "book_changed" }, { type: "energy_changed", user_id: "household" });
  },
  /** The meter reports solar energy stored, as the core's record_generation does. */
  generate: async (amount: string) => {
    battery.level += steps(amount, ENERGY_SCALE);
    await announce({ type: "energy_changed", user_id: "household" });
  },
  /** An admin approves, suspends or reinstates this household: the core hears it and says so. */
  setMembership: async (membership: NonNullable<ModeView["membership"]>) => {
    mode = { ...mode, membership };
    await announce({ type: "membership_changed" });
  },
  /** The system opens the app with an invitation link, as a click on it in a browser or a mail does. */
  openInvitation: (link: string) => emit("invitation-opened", link),
  /**
   * The household opens the link of an e-mail: "confirmed" signs in the account
   * that signed up before confirming, "recovery" the one a reset link was sent
   * to; "used" is a link that no longer works.
   */
  openAuthLink: async (link: "confirmed" | "recovery" | "used") => {
    let result: AuthLinkResult = { kind: null, error: "invalid_auth_link" };
    if (link === "confirmed" && awaitingConfirmation) {
      await enter(awaitingConfirmation, INVITATION_PROJECT);
      awaitingConfirmation = null;
      result = { kind: "confirmed", error: null };
    } else if (link === "recovery" && resetFor) {
      await enter({ email: resetFor, ...ALICE });
      result = { kind: "recovery", error: null };
    }
    await emit("auth-link", result);
  },
  failNext: (code: ErrorCode) => {
    failNext = code;
  },
  announce,
  calls: () => Object.fromEntries(calls),
  resetCalls: () => calls.clear(),
};

// Operator console -------------------------------------------------------------
// The admins' commands, refused as the server refuses them (community_members,
// manage_member, make_invitation, revoke_invitation and update_community_settings
// in the communities migration). The household is Alice, the only active admin
// when it starts as one.

const daysAgo = (days: number) => ago(days * 24 * 60);

function member(display_name: string, role: MemberRole, status: MemberView["status"], joined: number, activity: Partial<MemberView> = {}): MemberView {
  return {
    membership_id: uuid(),
    display_name,
    role,
    status,
    joined_at: daysAgo(joined),
    approved_at: status === "pending" ? null : daysAgo(joined),
    open_orders: 0,
    trades: 0,
    bought: "0",
    sold: "0",
    last_trade_at: null,
    ...activity,
  };
}

const members: MemberView[] = [
  member("Alice", config.community ?? "member", "active", 60, { open_orders: 1, trades: 12, bought: "30", sold: "9.5", last_trade_at: ago(90) }),
  member("Bob", "member", "active", 45, { open_orders: 2, trades: 9, bought: "3.5", sold: "120", last_trade_at: ago(30) }),
  member("Carol", "member", "pending", 1),
  member("Dave", "member", "pending", 0),
  member("Erin", "member", "active", 30, { trades: 1, sold: "45", last_trade_at: daysAgo(2) }),
  member("Frank", "member", "suspended", 20, { trades: 3, bought: "12.25", last_trade_at: daysAgo(6) }),
];

function invitation(created: number, expires: number, fields: Partial<InvitationView> = {}): InvitationView {
  return {
    invitation_id: uuid(), role: "member", pre_approved: false, uses_left: 5, expires_at: daysAgo(-expires), created_at: daysAgo(created),
    revoked_at: null, made_by: "Alice", link: null, code: null, qr_svg: null, ...fields,
  };
}

/** Newest first, as community_invitations answers; none keeps its token. */
const invitations: InvitationView[] = [
  invitation(2, 5, { uses_left: 4 }),
  invitation(5, 2, { revoked_at: daysAgo(1), pre_approved: true }),
  invitation(12, -3, { uses_left: 2, made_by: null }),
];

/** The community's own settings; its grid prices are the mock's `grid`, its name the mode's. */
const community = { min: 500n, max: 10000n, co2Grams: 367n, cap: 20 };
/** Every change update_community_settings was sent, for the tests. */
const settingsSent: SettingsChange[] = [];

/** A QR code's look, not a real one; with a script no real one has, to show that the image never runs it. */
function qrSvg(token: string): string {
  const cells = [...token].map((c, i) => (c.charCodeAt(0) % 2 ? `M${(i * 3) % 21} ${Math.floor(i / 7) + 8}h1v1h-1z` : "")).join("");
  return `<?xml version="1.0" standalone="yes"?><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 21 21" width="240" height="240"><rect width="21" height="21" fill="#fff"/><path fill="#000" d="M0 0h7v7h-7zM14 0h7v7h-7zM0 14h7v7h-7z${cells}"/><script>window.qrScriptRan = true;</script></svg>`;
}

async function hearOwnMembership(changed: MemberView) {
  // The core hears its own membership change through Realtime and says so.
  if (changed.display_name !== mode.username) return;
  mode = { ...mode, role: changed.role, membership: changed.status };
  await announce({ type: "membership_changed" });
}

async function manageMember(id: unknown, action: MemberAction): Promise<MemberView> {
  const target = members.find((m) => m.membership_id === id) ?? refuse("unknown_member");
  const keepAnAdmin = () => {
    const others = members.some((m) => m !== target && m.role === "admin" && m.status === "active");
    if (target.role === "admin" && target.status === "active" && !others) refuse("last_admin");
  };
  if (action === "approve" && target.status === "pending") {
    Object.assign(target, { status: "active", approved_at: new Date().toISOString() });
  } else if (action === "reinstate" && target.status === "suspended") {
    Object.assign(target, { status: "active", approved_at: target.approved_at ?? new Date().toISOString() });
  } else if (action === "suspend" && (target.status === "pending" || target.status === "active")) {
    keepAnAdmin();
    // A suspension cancels the member's open orders.
    Object.assign(target, { status: "suspended", open_orders: 0 });
  } else if (action === "make_admin" && target.role === "member" && target.status === "active") {
    target.role = "admin";
  } else if (action === "make_member" && target.role === "admin") {
    keepAnAdmin();
    target.role = "member";
  } else {
    refuse(["approve", "reinstate", "suspend", "make_admin", "make_member"].includes(action) ? "invalid_member_status" : "invalid_action");
  }
  await hearOwnMembership(target);
  return target;
}

function createInvitation(uses: unknown, days: unknown, preApproved: unknown): InvitationView {
  const within = (n: unknown, max: number) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= max;
  if (!within(uses, 1000) || !within(days, 90) || typeof preApproved !== "boolean") refuse("invalid_invitation_settings");
  const made = invitation(0, Number(days), { uses_left: Number(uses), pre_approved: Boolean(preApproved), created_at: new Date().toISOString() });
  invitations.unshift(made);
  const token = `tok-${made.invitation_id.slice(-6)}`;
  const query = `project=${encodeURIComponent(INVITATION_PROJECT.url)}&key=${INVITATION_PROJECT.anonKey}&community=default&token=${token}`;
  const code = `LUMEA1-${btoa(query).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
  // The token is shown this once: the list keeps only what the server keeps.
  return { ...made, link: `lumea://join?${query}`, code, qr_svg: qrSvg(token) };
}

async function updateSettings(change: SettingsChange): Promise<null> {
  settingsSent.push(change);
  const price = (text: string | null, was: bigint) => {
    if (text === null) return was;
    const checked = checkPrice(text);
    return checked.ok ? checked.steps : refuse("invalid_setting");
  };
  const name = change.name === null ? mode.community_name : change.name.trim();
  const [min, max] = [price(change.min_price, community.min), price(change.max_price, community.max)];
  const [buy, sell] = [price(change.grid_buy_price, grid.buy), price(change.grid_sell_price, grid.sell)];
  const co2 = change.co2_kg_per_kwh === null ? community.co2Grams : parseSteps(change.co2_kg_per_kwh, 3);
  const cap = change.open_order_cap ?? community.cap;
  if (!name || name.length > 80 || min > max || co2 === null || co2 < 0n || co2 > 2000n || !Number.isInteger(cap) || cap < 1 || cap > 10_000) refuse("invalid_setting");
  Object.assign(community, { min, max, co2Grams: co2, cap });
  Object.assign(grid, { buy, sell });
  mode = { ...mode, community_name: name };
  // New settings reach every member's market as a membership change.
  await announce({ type: "membership_changed" });
  return null;
}

/** The console's commands, by name. */
const CONSOLE: Record<string, (args: Record<string, unknown>) => unknown> = {
  community_members: () =>
    [...members].sort((a, b) => Number(b.status === "pending") - Number(a.status === "pending") || a.display_name.localeCompare(b.display_name)),
  manage_member: (args) => manageMember(args.member, args.action as MemberAction),
  create_invitation: (args) => createInvitation(args.uses, args.days, args.preApproved),
  community_invitations: () => invitations,
  revoke_invitation: (args) => {
    const target = invitations.find((i) => i.invitation_id === args.invitation) ?? refuse("unknown_invitation");
    target.revoked_at ??= new Date().toISOString();
    return target;
  },
  community_settings: (): SettingsChange => ({
    name: mode.community_name,
    min_price: p(community.min),
    max_price: p(community.max),
    grid_buy_price: p(grid.buy),
    grid_sell_price: p(grid.sell),
    co2_kg_per_kwh: formatSteps(community.co2Grams, 3),
    open_order_cap: community.cap,
  }),
  update_community_settings: (args) => updateSettings(args.change as SettingsChange),
};

async function consoleCommand(cmd: string, args: Record<string, unknown>): Promise<unknown> {
  if (!Object.hasOwn(CONSOLE, cmd)) return refuse("unknown");
  // The server's caller_admin: an active admin of this community, or nobody.
  if (!mode.community || mode.role !== "admin" || mode.membership !== "active") return refuse("not_admin");
  // A copy, as the real IPC's JSON is: the UI's cache never shares the mock's objects.
  return structuredClone(await CONSOLE[cmd](args));
}

if (config.community) {
  // A household trading in a community has set its home up.
  home ??= { display_name: "Alice", location: "51.507, -0.128", battery_capacity: "13.5", battery_level: "8.5", pv_kwp: "4", locale: "en-US", currency: "USD" };
  mode = { ...localMode, setup: "home", email: "alice@example.com", project_url: INVITATION_PROJECT.url, anon_key: INVITATION_PROJECT.anonKey, ...ALICE, community: true, connection: "online", role: config.community };
}

Object.assign((window as unknown as { lumeaMock: object }).lumeaMock, {
  /** The changes update_community_settings was sent, in order. */
  settingsSent: () => settingsSent,
});
