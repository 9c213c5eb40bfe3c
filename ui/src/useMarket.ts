// The market as the UI shows it, kept current by the core's events (never polled).

import { useCallback, useEffect, useRef, useState } from "react";
import type { BookView } from "./bindings/BookView";
import type { EnergyView } from "./bindings/EnergyView";
import type { GridPrices } from "./bindings/GridPrices";
import type { MarketStats } from "./bindings/MarketStats";
import type { OrderView } from "./bindings/OrderView";
import type { TradePrint } from "./bindings/TradePrint";
import type { TradeView } from "./bindings/TradeView";
import { api, MarketError, onMarketEvent } from "./api";
import type { ReasonCode } from "./market/errors";

export const PAGE = 10;

export function isFillOfMyWaitingOrder(trade: TradeView): boolean {
  return (trade.role === "sold" && trade.taker === "buy") || (trade.role === "bought" && trade.taker === "sell");
}
const STATS_HOURS = 24;

export type Market = {
  book: BookView;
  energy: EnergyView;
  stats: MarketStats;
  grid: GridPrices;
  history: TradePrint[];
  orders: OrderView[];
  trades: TradeView[];
};

export type MarketState =
  | { status: "loading" }
  | { status: "failed"; code: ReasonCode }
  | { status: "ready"; market: Market };

export function useMarket(tradePage: number, onFill: (trade: TradeView) => void) {
  const [state, setState] = useState<MarketState>({ status: "loading" });
  const onFillRef = useRef(onFill);
  onFillRef.current = onFill;
  const pageRef = useRef(tradePage);
  pageRef.current = tradePage;

  const load = useCallback(async () => {
    try {
      const [book, energy, stats, grid, history, orders, trades] = await Promise.all([
        api.book(),
        api.energy(),
        api.stats(STATS_HOURS),
        api.gridPrices(),
        api.priceHistory(STATS_HOURS),
        api.myOrders(50, 0),
        api.myTrades(PAGE, pageRef.current * PAGE),
      ]);
      setState({ status: "ready", market: { book, energy, stats, grid, history, orders, trades } });
    } catch (err) {
      setState({ status: "failed", code: err instanceof MarketError ? err.code : "unknown" });
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load, tradePage]);

  useEffect(() => {
    // One refresh per burst of events: an operation commits several at once.
    let pending: ReturnType<typeof setTimeout> | undefined;
    const refresh = () => {
      clearTimeout(pending);
      pending = setTimeout(() => void load(), 30);
    };
    const unsubscribe = onMarketEvent((event) => {
      // A fill of one of my waiting orders: the other side's order came in.
      if (event.type === "trade_executed" && isFillOfMyWaitingOrder(event.trade)) onFillRef.current(event.trade);
      refresh();
    });
    return () => {
      clearTimeout(pending);
      void unsubscribe.then((stop) => stop());
    };
  }, [load]);

  return { state, reload: load };
}
