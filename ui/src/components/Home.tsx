// The home screen: the battery, CO2 tokens, the market at a glance, my orders
// and my trades.

import { useState } from "react";
import type { EnergyView } from "../bindings/EnergyView";
import type { MarketStats } from "../bindings/MarketStats";
import type { OrderView } from "../bindings/OrderView";
import type { TradeView } from "../bindings/TradeView";
import { api, MarketError } from "../api";
import { sentence } from "../market/errors";
import { kwh, money, perKwh, since, tokens } from "../market/format";
import { PAGE } from "../queries";

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

export function MyOrders({ orders, onMessage }: { orders: OrderView[]; onMessage: (message: string, tone?: "error") => void }) {
  const [busy, setBusy] = useState<string | null>(null);
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

export function TradeHistory({ trades, page, onPage }: { trades: TradeView[]; page: number; onPage: (page: number) => void }) {
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
            </tr>
          </thead>
          <tbody>
            {trades.map((trade) => (
              <tr key={trade.id}>
                <td>{since(trade.created_at)}</td>
                <td>{trade.role === "bought" ? "Bought" : "Sold"}</td>
                <td>{trade.role === "bought" ? trade.seller : trade.buyer}</td>
                <td>{kwh(trade.amount)}</td>
                <td>{perKwh(trade.price)}</td>
                <td>{money(trade.total)}</td>
              </tr>
            ))}
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
