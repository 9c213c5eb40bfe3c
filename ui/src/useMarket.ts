// The market as the UI shows it, kept current by the core's events (never polled):
// one query per view (queries.ts), and each event fetches again only the views it changes.

import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useEffectEvent, useState } from "react";
import type { BookView } from "./bindings/BookView";
import type { DeliveryView } from "./bindings/DeliveryView";
import type { EnergyView } from "./bindings/EnergyView";
import type { ErrorCode } from "./bindings/ErrorCode";
import type { GridPrices } from "./bindings/GridPrices";
import type { HomeSettings } from "./bindings/HomeSettings";
import type { MarketStats } from "./bindings/MarketStats";
import type { ModeView } from "./bindings/ModeView";
import type { OrderView } from "./bindings/OrderView";
import type { TradePrint } from "./bindings/TradePrint";
import type { TradeView } from "./bindings/TradeView";
import { onMarketEvent } from "./api";
import { isErrorCode } from "./market/errors";
import { VIEW_KEYS, homeQuery, views, viewsChangedBy, type View } from "./queries";
import { codeOf } from "./useCommand";

export function isFillOfMyWaitingOrder(trade: TradeView): boolean {
  return (trade.role === "sold" && trade.taker === "buy") || (trade.role === "bought" && trade.taker === "sell");
}

export type Market = {
  book: BookView;
  energy: EnergyView;
  stats: MarketStats;
  grid: GridPrices;
  history: TradePrint[];
  orders: OrderView[];
  trades: TradeView[];
  delivery: DeliveryView;
};

export type MarketState =
  | { status: "loading" }
  | { status: "failed"; code: ErrorCode }
  | { status: "ready"; market: Market };

/** One refresh per burst of events: an operation commits several at once. */
const BURST_MS = 30;

type Handlers = {
  /** A fill of one of my waiting orders: the other side's order came in. */
  onFill: (trade: TradeView) => void;
  /** Community mode: a command made offline was refused when it was sent. */
  onRefused: (code: ErrorCode) => void;
  /** A view could not be refreshed; it keeps showing its last good data. */
  onRefreshFailed: (code: ErrorCode) => void;
};

export function useMarket(tradePage: number, handlers: Handlers) {
  const client = useQueryClient();
  const book = useQuery(views.book);
  const energy = useQuery(views.energy);
  const stats = useQuery(views.stats);
  const grid = useQuery(views.grid);
  const history = useQuery(views.history);
  const orders = useQuery(views.orders);
  const trades = useQuery(views.trades(tradePage));
  const delivery = useQuery(views.delivery);

  const onFill = useEffectEvent((trade: TradeView) => handlers.onFill(trade));
  // A code newer than this UI still reads as a refusal.
  const onRefused = useEffectEvent((code: ErrorCode) => handlers.onRefused(isErrorCode(code) ? code : "refused"));
  const onRefreshFailed = useEffectEvent((code: ErrorCode) => handlers.onRefreshFailed(code));

  useEffect(() => {
    let changed = new Set<View>();
    let pending: ReturnType<typeof setTimeout> | undefined;
    const refresh = () => {
      const due = changed;
      changed = new Set();
      for (const view of due) void client.invalidateQueries({ queryKey: VIEW_KEYS[view] });
    };
    const unsubscribe = onMarketEvent((event) => {
      if (event.type === "trade_executed" && isFillOfMyWaitingOrder(event.trade)) onFill(event.trade);
      if (event.type === "command_refused") onRefused(event.code);
      for (const view of viewsChangedBy(event)) changed.add(view);
      clearTimeout(pending);
      pending = setTimeout(refresh, BURST_MS);
    });
    return () => {
      clearTimeout(pending);
      void unsubscribe.then((stop) => stop());
    };
  }, [client]);

  useEffect(() => {
    // A refresh that fails keeps the view's last good data on screen and says why,
    // once per burst. A view that never loaded fails the screen instead (below).
    let failed = new Set<ErrorCode>();
    let pending: ReturnType<typeof setTimeout> | undefined;
    const unsubscribe = client.getQueryCache().subscribe((event) => {
      if (event.type !== "updated" || event.action.type !== "error" || event.query.state.data === undefined) return;
      const code = codeOf(event.action.error);
      // A view this market doesn't have (community mode's meter readings): its card says so, it isn't a failed refresh.
      if (code === "not_available") return;
      failed.add(code);
      clearTimeout(pending);
      pending = setTimeout(() => {
        const codes = failed;
        failed = new Set();
        for (const code of codes) onRefreshFailed(code);
      }, BURST_MS);
    });
    return () => {
      clearTimeout(pending);
      unsubscribe();
    };
  }, [client]);

  // The intervals open for orders move on with the clock, with no event: read
  // again when the first one's gate closes (the core expires its open orders then).
  const closes = delivery.data?.intervals[0]?.closes_at;
  useEffect(() => {
    if (closes === undefined) return;
    const timer = setTimeout(() => void client.invalidateQueries({ queryKey: VIEW_KEYS.delivery }), untilInstant(Date.parse(closes)));
    return () => clearTimeout(timer);
  }, [client, closes]);

  const reload = useCallback(() => client.refetchQueries({ queryKey: ["market"], type: "active" }), [client]);

  const all = [book, energy, stats, grid, history, orders, trades, delivery];
  const missing = all.find((query) => query.data === undefined && query.isError);
  let state: MarketState;
  if (book.data && energy.data && stats.data && grid.data && history.data && orders.data && trades.data && delivery.data) {
    state = {
      status: "ready",
      market: {
        book: book.data,
        energy: energy.data,
        stats: stats.data,
        grid: grid.data,
        history: history.data,
        orders: orders.data,
        trades: trades.data,
        delivery: delivery.data,
      },
    };
  } else if (missing) {
    state = { status: "failed", code: codeOf(missing.error) };
  } else {
    state = { status: "loading" };
  }
  return { state, reload };
}

/** The longest a timer waits (setTimeout's limit is about 24.8 days); a later instant is waited for again. */
const LONGEST_WAIT = 2 ** 31 - 1;

/** Milliseconds from now until `at` (0 if it has passed). */
const untilInstant = (at: number) => Math.min(Math.max(at - Date.now(), 0), LONGEST_WAIT);

/**
 * The time now, kept as state and moved on when the first of `instants`
 * (milliseconds since the epoch) after it comes, so that what depends on it
 * (an interval that has ended, a gate that has closed) is shown again then.
 */
export function useNow(instants: readonly number[]): number {
  const [now, setNow] = useState(() => Date.now());
  const next = instants.reduce((first, at) => (at > now && at < first ? at : first), Infinity);
  useEffect(() => {
    if (next === Infinity) return;
    // Never before `next`, even if the timer fires early: the next instant is then the one after it.
    const timer = setTimeout(() => setNow(Math.max(Date.now(), next)), untilInstant(next));
    return () => clearTimeout(timer);
  }, [next]);
  return now;
}

/** Which market the app shows, for the connection indicator and the settings; null until known. */
export function useMode(): ModeView | null {
  return useQuery(views.mode).data ?? null;
}

/** The household's home; null before it is set up (or until known). */
export function useHome(): HomeSettings | null {
  return useQuery(homeQuery).data ?? null;
}
