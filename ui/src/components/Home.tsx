// The home screen: the battery, CO2 tokens, the market at a glance, my orders
// and my trades with their delivery intervals, and the meter's readings.

import { useQuery, useQueryClient, type UseQueryResult } from "@tanstack/react-query";
import { useRef, useState } from "react";
import type { EnergyView } from "../bindings/EnergyView";
import type { MarketStats } from "../bindings/MarketStats";
import type { OrderView } from "../bindings/OrderView";
import type { ReadingView } from "../bindings/ReadingView";
import type { TradeView } from "../bindings/TradeView";
import { api, MarketError } from "../api";
import { deliveryOf, intervalEnd, intervalSpan } from "../market/delivery";
import { refusalDetail, sentence } from "../market/errors";
import { kwh, meterKwh, money, perKwh, since, tokens } from "../market/format";
import { PAGE, VIEW_KEYS, views } from "../queries";
import { codeOf } from "../useCommand";
import { useNow } from "../useMarket";

export function Battery({ energy }: { energy: EnergyView }) {
  const percent = Number(energy.capacity) === 0 ? 0 : Math.round((Number(energy.level) / Number(energy.capacity)) * 100);
  return (
    <section className="card" aria-labelledby="battery-title">
      <h2 id="battery-title">Battery</h2>
      <p className="big">
        {kwh(energy.level)} <span className="muted">of {kwh(energy.capacity)}</span>
      </p>
      <div className="meter" role="meter" aria-label="Battery level" aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}>
        <div className="meter-fill" style={{ width: `${percent}%` }} />
      </div>
      <dl className="figures compact">
        <dt>Room to buy</dt>
        <dd>{kwh(energy.headroom)}</dd>
        <dt>Free to sell</dt>
        <dd>{kwh(energy.sellable)}</dd>
        <dt>Held for my orders</dt>
        <dd>
          {kwh(energy.reserved_for_asks)} to sell · {kwh(energy.reserved_for_bids)} to buy
        </dd>
      </dl>
    </section>
  );
}

export function Tokens({ energy }: { energy: EnergyView }) {
  return (
    <section className="card" aria-labelledby="tokens-title">
      <h2 id="tokens-title">CO2 tokens</h2>
      <p className="big">{tokens(energy.co2_tokens)}</p>
      <p className="muted">1 token for each kg of grid CO2 your community energy replaced.</p>
    </section>
  );
}

export function MarketSummary({ stats }: { stats: MarketStats }) {
  const price = (value: string | null) => (value === null ? "—" : perKwh(value));
  return (
    <section className="card" aria-labelledby="market-title">
      <h2 id="market-title">Market</h2>
      <dl className="figures compact">
        <dt>Best bid</dt>
        <dd>{price(stats.best_bid)}</dd>
        <dt>Best ask</dt>
        <dd>{price(stats.best_ask)}</dd>
        <dt>Spread</dt>
        <dd>{price(stats.spread)}</dd>
        <dt>Last price</dt>
        <dd>{price(stats.last_price)}</dd>
        <dt>24 h volume</dt>
        <dd>{kwh(stats.volume)}</dd>
        <dt>24 h average (VWAP)</dt>
        <dd>{price(stats.vwap)}</dd>
      </dl>
    </section>
  );
}

type MyOrdersProps = { orders: OrderView[]; minutes: number; onMessage: (message: string, tone?: "error") => void };

export function MyOrders({ orders, minutes, onMessage }: MyOrdersProps) {
  const [busy, setBusy] = useState<string | null>(null);
  const now = useNow([]);
  const cancel = async (order: OrderView) => {
    setBusy(order.id);
    try {
      await api.cancelOrder(order.id);
      onMessage(`Cancelled your ${order.side === "sell" ? "sell" : "buy"} order at ${perKwh(order.price)}.`);
    } catch (err) {
      onMessage(sentence(err instanceof MarketError ? err.code : "unknown"), "error");
    } finally {
      setBusy(null);
    }
  };
  return (
    <section className="card wide" aria-labelledby="orders-title">
      <h2 id="orders-title">My orders</h2>
      {orders.length === 0 ? (
        <p className="empty">You have no orders yet. Sell your surplus or bid for energy from the buttons above.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Side</th>
              <th scope="col">Delivery</th>
              <th scope="col">Price</th>
              <th scope="col">Amount</th>
              <th scope="col">Filled</th>
              <th scope="col">Status</th>
              <th scope="col">Placed</th>
              <th scope="col">
                <span className="visually-hidden">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {orders.map((order) => (
              <tr key={order.id}>
                <td>{order.side === "sell" ? "Sell" : "Buy"}</td>
                <td>{order.interval && intervalSpan(order.interval, minutes, now)}</td>
                <td>{perKwh(order.price)}</td>
                <td>{kwh(order.amount)}</td>
                <td>{kwh(order.filled)}</td>
                <td>
                  <span className={`status status-${order.status}`}>{order.status}</span>
                  {order.pending && <span className="status status-pending">pending</span>}
                </td>
                <td>{since(order.created_at)}</td>
                <td>
                  {(order.status === "active" || order.status === "partial") && (
                    <button type="button" className="link-button" disabled={busy === order.id} onClick={() => void cancel(order)}>
                      Cancel
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

type TradeHistoryProps = { trades: TradeView[]; minutes: number; page: number; onPage: (page: number) => void };

export function TradeHistory({ trades, minutes, page, onPage }: TradeHistoryProps) {
  // Shown again when a contracted trade's interval ends: it then awaits the meter.
  const now = useNow(trades.flatMap((trade) => (trade.interval !== null && trade.delivered === null ? [intervalEnd(trade.interval, minutes)] : [])));
  return (
    <section className="card wide" aria-labelledby="trades-title">
      <h2 id="trades-title">Trade history</h2>
      {trades.length === 0 && page === 0 ? (
        <p className="empty">No trades yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Trade</th>
              <th scope="col">With</th>
              <th scope="col">Amount</th>
              <th scope="col">Price</th>
              <th scope="col">Total</th>
              <th scope="col">Delivery</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {trades.map((trade) => {
              const delivery = deliveryOf(trade, minutes, now);
              return (
                <tr key={trade.id}>
                  <td>{since(trade.created_at)}</td>
                  <td>{trade.role === "bought" ? "Bought" : "Sold"}</td>
                  <td>{trade.role === "bought" ? trade.seller : trade.buyer}</td>
                  <td>{kwh(trade.amount)}</td>
                  <td>{perKwh(trade.price)}</td>
                  <td>{money(trade.total)}</td>
                  <td>{trade.interval && intervalSpan(trade.interval, minutes, now)}</td>
                  <td>
                    {delivery && delivery.text}
                    {delivery?.state === "settled" && <span className="status status-settled">settled</span>}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <nav className="pager" aria-label="Trade history pages">
        <button type="button" className="button" disabled={page === 0} onClick={() => onPage(page - 1)}>
          Newer
        </button>
        <span>Page {page + 1}</span>
        <button type="button" className="button" disabled={trades.length < PAGE} onClick={() => onPage(page + 1)}>
          Older
        </button>
      </nav>
    </section>
  );
}

/** The household's meter: its latest readings, and a meter file to import (local mode only). */
export function Meter({ minutes, onMessage }: { minutes: number; onMessage: (message: string) => void }) {
  const readings = useQuery(views.readings);
  const client = useQueryClient();
  const input = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<{ text: string; detail: string | null } | null>(null);
  const now = useNow([]);
  const unavailable = readings.isError && codeOf(readings.error) === "not_available";

  const importFile = async (file: File) => {
    setBusy(true);
    setRefusal(null);
    try {
      const count = await api.importMeterFile(await file.text());
      onMessage(`Imported ${count} ${count === 1 ? "reading" : "readings"}.`);
      // The readings settle trades: what they delivered, and the statement's figures.
      for (const view of ["readings", "trades", "statement"] as const) void client.invalidateQueries({ queryKey: VIEW_KEYS[view] });
    } catch (err) {
      const code = codeOf(err);
      // The core's message names the file's line or element, and what is wrong there.
      setRefusal({ text: sentence(code), detail: refusalDetail(code, err instanceof MarketError ? err.detail : null) });
    } finally {
      setBusy(false);
      // The same file can be chosen again once it is corrected.
      if (input.current) input.current.value = "";
    }
  };

  return (
    <section className="card wide" aria-labelledby="meter-title">
      <h2 id="meter-title">Meter</h2>
      {unavailable ? (
        <p className="empty">{sentence("not_available")}</p>
      ) : (
        <>
          <MeterReadings readings={readings} minutes={minutes} now={now} />
          <div className="actions meter-actions">
            <input
              ref={input}
              type="file"
              accept=".csv,.xml,text/csv,application/xml"
              className="visually-hidden"
              tabIndex={-1}
              aria-label="Meter file"
              onChange={(event) => {
                const file = event.target.files?.[0];
                if (file) void importFile(file);
              }}
            />
            <span className="hint spacer">A CSV or Green Button (XML) file from your meter or utility. It is imported whole or not at all.</span>
            <button type="button" className="button" disabled={busy} onClick={() => input.current?.click()}>
              Import meter file
            </button>
          </div>
          {refusal && (
            <div className="error meter-refusal" role="alert">
              <p>{refusal.text}</p>
              {refusal.detail && <p className="detail">{refusal.detail}</p>}
            </div>
          )}
        </>
      )}
    </section>
  );
}

function MeterReadings({ readings, minutes, now }: { readings: UseQueryResult<ReadingView[]>; minutes: number; now: number }) {
  if (readings.data === undefined) {
    if (!readings.isError) return <p className="loading">Loading the meter readings…</p>;
    return (
      <div className="banner banner-error" role="alert">
        <p>Couldn't load the meter readings. {sentence(codeOf(readings.error))}</p>
        <button type="button" className="button" onClick={() => void readings.refetch()}>
          Try again
        </button>
      </div>
    );
  }
  if (readings.data.length === 0) return <p className="empty">No meter readings yet. Import a file from your meter to settle your trades.</p>;
  return (
    <table aria-label="Latest meter readings">
      <thead>
        <tr>
          <th scope="col">Interval</th>
          <th scope="col">Import</th>
          <th scope="col">Export</th>
        </tr>
      </thead>
      <tbody>
        {readings.data.map((reading) => (
          <tr key={reading.interval_start}>
            <td>
              {intervalSpan(reading.interval_start, minutes, now)}
              {reading.revisions > 1 && (
                <span className="status status-revised" title={`${reading.revisions} readings of this interval: the latest counts.`}>
                  revised
                </span>
              )}
            </td>
            <td>{meterKwh(reading.import)}</td>
            <td>{meterKwh(reading.export)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
