// The UI's data, one TanStack Query per view of the core. Nothing is polled:
// the core's events say what changed, and only the views an event changes are
// fetched again (viewsChangedBy). A refresh that fails keeps the last good data.
// Two changes have no event: the intervals open for orders move on with the
// clock (the delivery view is read again when the first one's gate closes, see
// useMarket), and a meter file the household imports settles trades (the Meter
// card reads its views again).

import { keepPreviousData, QueryClient, queryOptions } from "@tanstack/react-query";
import type { MarketEvent } from "./bindings/MarketEvent";
import { api } from "./api";

/** Trades per page of the trade history. */
export const PAGE = 10;
/** The window of the market summary and the price history. */
export const STATS_HOURS = 24;
/** My orders shown on the home screen, newest first. */
export const MY_ORDERS = 50;
/** Meter readings shown on the home screen, latest interval first. */
export const METER_READINGS = 8;

export const views = {
  book: queryOptions({ queryKey: ["market", "book"], queryFn: api.book }),
  energy: queryOptions({ queryKey: ["market", "energy"], queryFn: api.energy }),
  stats: queryOptions({ queryKey: ["market", "stats", STATS_HOURS], queryFn: () => api.stats(STATS_HOURS) }),
  grid: queryOptions({ queryKey: ["market", "grid"], queryFn: api.gridPrices }),
  history: queryOptions({ queryKey: ["market", "history", STATS_HOURS], queryFn: () => api.priceHistory(STATS_HOURS) }),
  orders: queryOptions({ queryKey: ["market", "orders", MY_ORDERS], queryFn: () => api.myOrders(MY_ORDERS, 0) }),
  // The page shown stays while the next one loads.
  trades: (page: number) =>
    queryOptions({ queryKey: ["market", "trades", page], queryFn: () => api.myTrades(PAGE, page * PAGE), placeholderData: keepPreviousData }),
  delivery: queryOptions({ queryKey: ["market", "delivery"], queryFn: api.delivery }),
  readings: queryOptions({ queryKey: ["market", "readings", METER_READINGS], queryFn: () => api.meterReadings(METER_READINGS, 0) }),
  statement: (from: string, to: string) => queryOptions({ queryKey: ["market", "statement", from, to], queryFn: () => api.statement(from, to) }),
  mode: queryOptions({ queryKey: ["mode"], queryFn: api.mode }),
};

export type View = keyof typeof views;

/** The household's home: not a view of the market, so no market event fetches it again; saving it does. */
export const homeQuery = queryOptions({ queryKey: ["home"], queryFn: api.homeSettings });

/** The key prefix that names every query of a view (all pages of the trade history). */
export const VIEW_KEYS: Record<View, readonly unknown[]> = {
  book: ["market", "book"],
  energy: ["market", "energy"],
  stats: ["market", "stats"],
  grid: ["market", "grid"],
  history: ["market", "history"],
  orders: ["market", "orders"],
  trades: ["market", "trades"],
  delivery: ["market", "delivery"],
  readings: ["market", "readings"],
  statement: ["market", "statement"],
  mode: ["mode"],
};

const EVERY_VIEW = Object.keys(VIEW_KEYS) as View[];

/**
 * The views an event of the core changes (crates/store and crates/community
 * say when each is sent):
 * - book_changed: the open book, and with it the depth in the stats; my orders
 *   too, for in community mode it is the only event when my offline order is
 *   stored as pending, confirmed or refused.
 * - order_updated: that order's status and amounts, in my orders and the book
 *   (and its depth); in community mode a fill that Realtime reports as a trade
 *   updates my order with no book_changed after it.
 * - trade_executed: the last price, volume and VWAP, the price history, and my
 *   trades and statement when I am a side of it (a trade between neighbours is
 *   "other"). The batteries it moved each have their energy_changed.
 * - energy_changed: the battery and CO2 tokens.
 * - settled: readings were recorded or an interval settled: the readings, what
 *   my trades delivered, the statement, and the CO2 tokens earned on it.
 * - connection_changed: which market is shown, so every view (a switch between
 *   the local and a community market changes them all).
 * - command_refused: my order made offline is gone from my orders.
 * - membership_changed: community mode, the household was approved, suspended
 *   or its role changed, or the community's settings changed: the mode
 *   (membership, role, community name), the grid's prices and delivery rules
 *   (the community's), and what an active member reads and a pending or suspended one doesn't
 *   (the book and its depth, the prints in the figures and the history), with
 *   my orders and trades (a suspension cancels my open orders). The battery is
 *   the household's own and doesn't change.
 * - resync: events were dropped on the way (a receiver fell behind), so
 *   nothing shown can be trusted to be current: every view.
 */
export function viewsChangedBy(event: MarketEvent): View[] {
  switch (event.type) {
    case "book_changed":
      return ["book", "stats", "orders"];
    case "order_updated":
      return ["orders", "book", "stats"];
    case "trade_executed":
      return event.trade.role === "other" ? ["stats", "history"] : ["stats", "history", "trades", "statement"];
    case "energy_changed":
      return ["energy"];
    case "settled":
      return ["readings", "trades", "statement", "energy"];
    case "connection_changed":
    case "resync":
      return EVERY_VIEW;
    case "command_refused":
      return ["orders"];
    case "membership_changed":
      return ["mode", "grid", "delivery", "book", "stats", "history", "orders", "trades"];
  }
}

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // Fresh until an event says otherwise: never refetched on a timer, focus or reconnect.
        staleTime: Infinity,
        refetchOnWindowFocus: false,
        refetchOnReconnect: false,
        // The core is on this device: its answers don't depend on the network
        // (offline, the community market shows its cache), and it has already
        // retried whatever was worth retrying.
        networkMode: "always",
        retry: false,
      },
    },
  });
}
