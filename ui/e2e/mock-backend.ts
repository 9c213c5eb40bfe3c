// A small in-browser stand-in for the Rust core, for the browser end-to-end
// tests only: it answers the app's commands through Tauri's official IPC mock
// and emits the same events. The real core is tested in the desktop e2e.

import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import type { CommandError } from "../src/bindings/CommandError";
import type { ErrorCode } from "../src/bindings/ErrorCode";
import type { ModeView } from "../src/bindings/ModeView";
import type { MarketEvent } from "../src/bindings/MarketEvent";
import type { OrderView } from "../src/bindings/OrderView";
import type { TradeView } from "../src/bindings/TradeView";
import { ENERGY_SCALE, MONEY_SCALE, PRICE_SCALE, checkOrderAmount, checkPrice, checkPurchase, formatSteps, steps } from "../src/market/rules";

/**
 * extraAsks: neighbours' offers to add; failFirst: the code the first command
 * fails with; project: the project the local mode prefills sign-in with (as the
 * last one used, or the developer's environment).
 */
type Config = { extraAsks?: number; failFirst?: ErrorCode; project?: { url: string; anonKey: string } };
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
const localMode: ModeView = {
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
      const member = email.startsWith("new@")
        ? { username: null, community_id: null, community_name: null, membership: "none" as const, role: null }
        : { username: "Alice", community_id: "default", community_name: "Default Street", membership: "active" as const, role: "member" as const };
      mode = { ...mode, community: true, connection: "online", project_url: String(args.url), anon_key: String(args.anonKey), email, ...member };
      await announce({ type: "connection_changed", connection: "online" });
      return mode;
    }
    case "sign_up": {
      const joined = redeem(String(args.invitation));
      if (args.password !== "correct-horse-battery") return refuse("weak_password");
      const username = String(args.username).trim();
      if (TAKEN.has(username.toLowerCase())) return refuse("username_taken");
      const email = String(args.email);
      // confirm@…: the project confirms email first; the core keeps the invitation for the first sign-in.
      if (email.startsWith("confirm@")) return refuse("email_not_confirmed");
      mode = { ...mode, community: true, connection: "online", project_url: INVITATION_PROJECT.url, anon_key: INVITATION_PROJECT.anonKey, email, username, ...joined };
      await announce({ type: "connection_changed", connection: "online" });
      return mode;
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
      mode = localMode;
      await announce({ type: "connection_changed", connection: "local" });
      return mode;
    default:
      return refuse("unknown");
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
  failNext: (code: ErrorCode) => {
    failNext = code;
  },
  announce,
  calls: () => Object.fromEntries(calls),
  resetCalls: () => calls.clear(),
};
