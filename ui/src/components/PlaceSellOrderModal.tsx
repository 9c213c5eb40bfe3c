// Place a limit order: an ask ("Place Sell Order") or its counterpart, a bid
// ("Place Buy Order"). Inline errors; submit stays disabled while invalid.

import { useState } from "react";
import type { EnergyView } from "../bindings/EnergyView";
import type { GridPrices } from "../bindings/GridPrices";
import type { Side } from "../bindings/Side";
import { api, MarketError } from "../api";
import { sentence } from "../market/errors";
import { currencySign, kwh, money, perKwh, priceRange } from "../market/format";
import { ENERGY_SCALE, PRICE_SCALE, checkOrderAmount, checkPrice, purchaseQuote, saleQuote, steps } from "../market/rules";
import { Field } from "./Field";
import { Modal } from "./Modal";

type Props = {
  side: Side;
  energy: EnergyView;
  grid: GridPrices;
  onPlaced: (message: string) => void;
  onClose: () => void;
};

export function PlaceSellOrderModal(props: Omit<Props, "side">) {
  return <PlaceOrderModal side="sell" {...props} />;
}

export function PlaceBuyOrderModal(props: Omit<Props, "side">) {
  return <PlaceOrderModal side="buy" {...props} />;
}

function PlaceOrderModal({ side, energy, grid, onPlaced, onClose }: Props) {
  const [price, setPrice] = useState("");
  const [amount, setAmount] = useState("");
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const selling = side === "sell";
  const limit = selling ? energy.sellable : energy.headroom;
  const checkedPrice = price === "" ? null : checkPrice(price);
  const checkedAmount = amount === "" ? null : checkOrderAmount(amount, side, steps(limit, ENERGY_SCALE));
  const valid = checkedPrice?.ok && checkedAmount?.ok;

  const submit = async () => {
    if (!valid) return;
    setBusy(true);
    setFailure(null);
    try {
      const outcome = await api.placeOrder(side, price.trim(), amount.trim());
      const traded = outcome.trades.length;
      onPlaced(
        outcome.pending
          ? `You're offline: your ${selling ? "sell" : "buy"} order is saved and will be sent when the market is back.`
          : traded > 0
          ? `Your ${selling ? "sell" : "buy"} order traded at once (${traded} ${traded === 1 ? "trade" : "trades"}); the rest, if any, is in the market.`
          : `Your ${selling ? "sell" : "buy"} order of ${kwh(amount.trim())} at ${perKwh(price.trim())} is in the market.`,
      );
    } catch (err) {
      setFailure(sentence(err instanceof MarketError ? err.code : "unknown"));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      title={selling ? "Place Sell Order" : "Place Buy Order"}
      description={
        selling
          ? "Set your ask price and quantity. Neighbours can buy it until you cancel it."
          : "Set the most you will pay per kWh. It trades with offers at or below it, at their price."
      }
      onClose={onClose}
    >
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <Field
          id="order-price"
          label={selling ? "Ask price" : "Bid price"}
          unit={`${currencySign()}/kWh`}
          value={price}
          onChange={setPrice}
          autoFocus
          hint={`From ${priceRange()} per kWh.`}
          error={checkedPrice && !checkedPrice.ok ? sentence(checkedPrice.code) : null}
        />
        <Field
          id="order-amount"
          label="Amount"
          unit="kWh"
          value={amount}
          onChange={setAmount}
          hint={selling ? `From 1 to 100 kWh; you have ${kwh(limit)} to sell.` : `From 1 to 100 kWh; your battery can take ${kwh(limit)}.`}
          error={checkedAmount && !checkedAmount.ok ? sentence(checkedAmount.code) : null}
        />
        {valid && checkedPrice.ok && checkedAmount.ok && (
          <Figures side={side} priceTicks={checkedPrice.steps} amount={checkedAmount.steps} grid={grid} />
        )}
        {failure && <p className="error" role="alert">{failure}</p>}
        <div className="actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={!valid || busy}>
            {selling ? "Place Sell Order" : "Place Buy Order"}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function Figures({ side, priceTicks, amount, grid }: { side: Side; priceTicks: bigint; amount: bigint; grid: GridPrices }) {
  if (side === "sell") {
    const quote = saleQuote(priceTicks, amount, steps(grid.sell, PRICE_SCALE));
    return (
      <dl className="figures" aria-label="What this order brings">
        <dt>Expected revenue</dt>
        <dd>{money(quote.expectedRevenue)}</dd>
        <dt>Profit margin vs grid ({perKwh(grid.sell)})</dt>
        <dd className={quote.marginPercent.startsWith("-") ? "negative" : "positive"}>
          {quote.marginPercent}% · {money(quote.gainVsGrid)}
        </dd>
      </dl>
    );
  }
  const quote = purchaseQuote(priceTicks, amount, steps(grid.buy, PRICE_SCALE));
  return (
    <dl className="figures" aria-label="What this order costs at most">
      <dt>Total cost at most</dt>
      <dd>{money(quote.totalCost)}</dd>
      <dt>Savings vs grid ({perKwh(grid.buy)}) at least</dt>
      <dd className={quote.savingsVsGrid.startsWith("-") ? "negative" : "positive"}>{money(quote.savingsVsGrid)}</dd>
    </dl>
  );
}
