import { describe, expect, it } from "vitest";
import type { MarketEvent } from "./bindings/MarketEvent";
import type { TradeView } from "./bindings/TradeView";
import { VIEW_KEYS, views, viewsChangedBy } from "./queries";

const trade = (role: TradeView["role"]): TradeView => ({
  id: "t",
  buy_order: null,
  sell_order: "s",
  buyer_id: "b",
  seller_id: "s",
  buyer: "Bea",
  seller: "Sam",
  price: "0.16",
  amount: "1",
  total: "0.16",
  created_at: "2026-06-01T12:00:00Z",
  role,
  taker: "buy",
  interval: "2026-06-01T12:15:00Z",
  delivered: null,
});

const changed = (event: MarketEvent) => [...viewsChangedBy(event)].sort();

describe("what each event of the core refreshes", () => {
  it("the book and its depth, and my orders, on a book change", () => {
    expect(changed({ type: "book_changed" })).toEqual(["book", "orders", "stats"]);
  });

  it("my orders and the book on an order update", () => {
    expect(changed({ type: "order_updated", id: "o", user_id: "u", status: "partial", filled: "1", remaining: "4" })).toEqual(["book", "orders", "stats"]);
  });

  it("the figures and the history on any trade, my trades and statement only on mine", () => {
    expect(changed({ type: "trade_executed", trade: trade("other") })).toEqual(["history", "stats"]);
    expect(changed({ type: "trade_executed", trade: trade("bought") })).toEqual(["history", "statement", "stats", "trades"]);
    expect(changed({ type: "trade_executed", trade: trade("sold") })).toEqual(["history", "statement", "stats", "trades"]);
  });

  it("only the battery on an energy change", () => {
    expect(changed({ type: "energy_changed", user_id: "household" })).toEqual(["energy"]);
  });

  it("what a settlement changes: readings, deliveries, the statement and the tokens", () => {
    expect(changed({ type: "settled" })).toEqual(["energy", "readings", "statement", "trades"]);
  });

  it("everything when the market shown changes", () => {
    expect(changed({ type: "connection_changed", connection: "online" })).toEqual(Object.keys(VIEW_KEYS).sort());
  });

  it("everything when events were dropped on the way", () => {
    expect(changed({ type: "resync" })).toEqual(Object.keys(VIEW_KEYS).sort());
  });

  it("my orders when an offline order is refused", () => {
    expect(changed({ type: "command_refused", id: "c", code: "self_trade" })).toEqual(["orders"]);
  });

  it("the mode and what a member reads when the membership changes", () => {
    expect(changed({ type: "membership_changed" })).toEqual(["book", "delivery", "grid", "history", "mode", "orders", "stats", "trades"]);
  });

  it("each view's prefix names its queries", () => {
    for (const [view, prefix] of Object.entries(VIEW_KEYS)) {
      const options =
        view === "trades" ? views.trades(3) : view === "statement" ? views.statement("2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z") : views[view as Exclude<keyof typeof views, "trades" | "statement">];
      expect(options.queryKey.slice(0, prefix.length), view).toEqual(prefix);
    }
  });
});
