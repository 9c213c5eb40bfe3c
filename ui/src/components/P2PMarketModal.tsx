// The order book of one delivery interval: offers (asks, lowest price first)
// and bids (highest first), live as the book changes. Clicking an offer opens
// its confirmation. Undated (legacy) orders are in no interval's book.

import { useVirtualizer } from "@tanstack/react-virtual";
import { useMemo, useRef, useState, type KeyboardEvent } from "react";
import type { BookView } from "../bindings/BookView";
import type { OrderView } from "../bindings/OrderView";
import { depthOf, ofInterval } from "../market/delivery";
import { km, kwh, perKwh, since } from "../market/format";
import { DepthChart } from "./DepthChart";
import { IntervalPicker, type IntervalChoice } from "./IntervalPicker";
import { Modal } from "./Modal";

type Tab = "asks" | "bids";

type Props = {
  book: BookView;
  interval: IntervalChoice;
  initialTab?: Tab;
  onBuy: (offer: OrderView) => void;
  onPlaceSellOrder: () => void;
  onPlaceBuyOrder: () => void;
  onClose: () => void;
};

export function P2PMarketModal({ book, interval, initialTab = "asks", onBuy, onPlaceSellOrder, onPlaceBuyOrder, onClose }: Props) {
  const [tab, setTab] = useState<Tab>(initialTab);
  const start = interval.selected?.start ?? null;
  // The selected interval's book, and its depth (the stats' depth is the whole book's).
  const shown = useMemo(() => {
    const asks = start === null ? [] : ofInterval(book.asks, start);
    const bids = start === null ? [] : ofInterval(book.bids, start);
    return { asks, bids, askDepth: depthOf(asks), bidDepth: depthOf(bids) };
  }, [book, start]);
  const tabs: [Tab, string, number][] = [
    ["asks", "Sell Orders", shown.asks.length],
    ["bids", "Buy Orders", shown.bids.length],
  ];
  const onTabKey = (event: KeyboardEvent) => {
    if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      const next: Tab = tab === "asks" ? "bids" : "asks";
      setTab(next);
      document.getElementById(`tab-${next}`)?.focus();
    }
  };
  const orders = tab === "asks" ? shown.asks : shown.bids;

  return (
    <Modal title="P2P Energy Market" description="Offers and bids from your neighbours for one delivery interval, best prices first." onClose={onClose} wide>
      <IntervalPicker id="market-interval" choice={interval} />
      <DepthChart asks={shown.askDepth} bids={shown.bidDepth} />
      <div className="tabs" role="tablist" aria-label="Order book" onKeyDown={onTabKey}>
        {tabs.map(([key, label, count]) => (
          <button
            key={key}
            id={`tab-${key}`}
            role="tab"
            type="button"
            className="tab"
            aria-selected={tab === key}
            aria-controls={`panel-${key}`}
            tabIndex={tab === key ? 0 : -1}
            onClick={() => setTab(key)}
          >
            {label} <span className="count">{count}</span>
          </button>
        ))}
        <span className="spacer" />
        {tab === "asks" ? (
          <button type="button" className="button" onClick={onPlaceSellOrder} disabled={start === null}>
            Place Sell Order
          </button>
        ) : (
          <button type="button" className="button" onClick={onPlaceBuyOrder} disabled={start === null}>
            Place Buy Order
          </button>
        )}
      </div>
      <div id={`panel-${tab}`} role="tabpanel" aria-labelledby={`tab-${tab}`}>
        <OrderList orders={orders} side={tab} onBuy={onBuy} />
      </div>
    </Modal>
  );
}

const ROW_HEIGHT = 48;

function OrderList({ orders, side, onBuy }: { orders: OrderView[]; side: Tab; onBuy: (offer: OrderView) => void }) {
  const scroller = useRef<HTMLDivElement>(null);
  // Only the rows in view are rendered: a book of 10,000 orders scrolls as smoothly as one of ten.
  // The rule only says that the React Compiler would leave this list uncompiled; the app uses no compiler.
  // eslint-disable-next-line react-hooks/incompatible-library -- TanStack Virtual's virtualizer is mutable by design
  const virtualizer = useVirtualizer({ count: orders.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 8 });
  if (orders.length === 0) {
    return (
      <p className="empty">
        {side === "asks" ? "No offers for this interval right now. Check back at midday, when solar homes sell their surplus." : "No bids for this interval right now."}
      </p>
    );
  }
  const now = Date.now();
  return (
    <div className="order-list">
      <div className="order-row order-head" aria-hidden="true">
        <span>{side === "asks" ? "Seller" : "Buyer"}</span>
        <span>Price</span>
        <span>Available</span>
        <span>Distance</span>
        <span>Placed</span>
      </div>
      <div ref={scroller} className="order-scroller">
        <div
          role="list"
          aria-label={side === "asks" ? "Sell orders, lowest price first" : "Buy orders, highest price first"}
          style={{ height: virtualizer.getTotalSize(), position: "relative" }}
        >
          {virtualizer.getVirtualItems().map((item) => {
            const order = orders[item.index];
            const who = order.mine ? "You" : order.username;
            const summary = `${who}: ${kwh(order.remaining)} at ${perKwh(order.price)}, ${km(order.distance_km)} away, placed ${since(order.created_at, now)}`;
            const cells = (
              <>
                <span>{who}</span>
                <span>{perKwh(order.price)}</span>
                <span>{kwh(order.remaining)}</span>
                <span>{km(order.distance_km)}</span>
                <span>{since(order.created_at, now)}</span>
              </>
            );
            return (
              <div
                key={order.id}
                role="listitem"
                aria-posinset={item.index + 1}
                aria-setsize={orders.length}
                style={{ position: "absolute", top: 0, left: 0, right: 0, height: ROW_HEIGHT, transform: `translateY(${item.start}px)` }}
              >
                {side === "asks" && !order.mine ? (
                  <button type="button" className="order-row order-clickable" aria-label={`Buy from ${summary}`} onClick={() => onBuy(order)}>
                    {cells}
                  </button>
                ) : (
                  <div className="order-row" aria-label={summary}>
                    {cells}
                  </div>
                )}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
