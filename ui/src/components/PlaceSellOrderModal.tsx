// Place a limit order for a delivery interval: an ask ("Place Sell Order") or
// its counterpart, a bid ("Place Buy Order"). Inline errors; submit stays
// disabled while invalid. The figures count the fee on delivered energy.

import { useState } from "react";
import type { DeliveryRules } from "../bindings/DeliveryRules";
import type { EnergyView } from "../bindings/EnergyView";
import type { GridPrices } from "../bindings/GridPrices";
import type { Side } from "../bindings/Side";
import { api, MarketError } from "../api";
import { datedPurchaseQuote, datedSaleQuote } from "../market/delivery";
import { sentence } from "../market/errors";
import { clockRange, currencySign, exactMoney, kwh, perKwh, priceRange } from "../market/format";
import { ENERGY_SCALE, PRICE_SCALE, checkOrderAmount, checkPrice, steps } from "../market/rules";
import { Field } from "./Field";
import { IntervalPicker, type IntervalChoice } from "./IntervalPicker";
import { Modal } from "./Modal";

type Props = {
  side: Side;
  energy: EnergyView;
  grid: GridPrices;
  rules: DeliveryRules;
  interval: IntervalChoice;
  onPlaced: (message: string) => void;
  onClose: () => void;
};

export function PlaceSellOrderModal(props: Omit<Props, "side">) {
  return <PlaceOrderModal side="sell" {...props} />;
}

export function PlaceBuyOrderModal(props: Omit<Props, "side">) {
  return <PlaceOrderModal side="buy" {...props} />;
}

function PlaceOrderModal({ side, energy, grid, rules, interval, onPlaced, onClose }: Props) {
  const [price, setPrice] = useState("");
  const [amount, setAmount] = useState("");
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const selling = side === "sell";
  const limit = selling ? energy.sellable : energy.headroom;
  const checkedPrice = price === "" ? null : checkPrice(price);
  const checkedAmount = amount === "" ? null : checkOrderAmount(amount, side, steps(limit, ENERGY_SCALE));
  const selected = interval.selected;
  const valid = checkedPrice?.ok && checkedAmount?.ok && selected !== null;

  const submit = async () => {
    if (!valid) return;
    setBusy(true);
    setFailure(null);
    try {
      // Only dated orders: always for the interval shown.
      const outcome = await api.placeOrder(side, price.trim(), amount.trim(), selected.start);
      const traded = outcome.trades.length;
      const delivery = clockRange(selected.start, selected.end);
      onPlaced(
        outcome.pending
          ? `You're offline: your ${selling ? "sell" : "buy"} order for ${delivery} is saved and will be sent when the market is back.`
          : traded > 0
          ? `Your ${selling ? "sell" : "buy"} order for ${delivery} traded at once (${traded} ${traded === 1 ? "trade" : "trades"}); the rest, if any, is in the market.`
          : `Your ${selling ? "sell" : "buy"} order of ${kwh(amount.trim())} at ${perKwh(price.trim())} for delivery ${delivery} is in the market.`,
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
          ? "Set your ask price and quantity for one delivery interval. Neighbours can buy it until you cancel it or its market closes."
          : "Set the most you will pay per kWh for one delivery interval. It trades with offers at or below it, at their price."
      }
      onClose={onClose}
    >
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <IntervalPicker id="order-interval" choice={interval} />
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
          <Figures side={side} priceTicks={checkedPrice.steps} amount={checkedAmount.steps} grid={grid} rules={rules} />
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

type FiguresProps = { side: Side; priceTicks: bigint; amount: bigint; grid: GridPrices; rules: DeliveryRules };

function Figures({ side, priceTicks, amount, grid, rules }: FiguresProps) {
  if (side === "sell") {
    const quote = datedSaleQuote(priceTicks, amount, steps(rules.seller_fee, PRICE_SCALE), steps(grid.sell, PRICE_SCALE));
    return (
      <>
        <dl className="figures" aria-label="What this order brings">
          <dt>Expected revenue</dt>
          <dd>{exactMoney(quote.revenue)}</dd>
          <dt>Seller fee ({perKwh(rules.seller_fee)})</dt>
          <dd>−{exactMoney(quote.fee)}</dd>
          <dt>Expected proceeds</dt>
          <dd>{exactMoney(quote.proceeds)}</dd>
          <dt>Profit margin vs grid ({perKwh(grid.sell)})</dt>
          <dd className={quote.marginPercent.startsWith("-") ? "negative" : "positive"}>
            {quote.marginPercent}% · {exactMoney(quote.gainVsGrid)}
          </dd>
        </dl>
        <p className="hint">Fees are charged on delivered energy: you're paid for what your meter says you delivered.</p>
      </>
    );
  }
  const quote = datedPurchaseQuote(priceTicks, amount, steps(rules.buyer_fee, PRICE_SCALE), steps(grid.buy, PRICE_SCALE));
  return (
    <>
      <dl className="figures" aria-label="What this order costs at most">
        <dt>Energy cost at most</dt>
        <dd>{exactMoney(quote.energyCost)}</dd>
        <dt>Buyer fee ({perKwh(rules.buyer_fee)}) at most</dt>
        <dd>{exactMoney(quote.fee)}</dd>
        <dt>Total at most</dt>
        <dd>{exactMoney(quote.total)}</dd>
        <dt>Savings vs grid ({perKwh(grid.buy)}) at least</dt>
        <dd className={quote.savingsVsGrid.startsWith("-") ? "negative" : "positive"}>{exactMoney(quote.savingsVsGrid)}</dd>
      </dl>
      <p className="hint">Fees are charged on delivered energy: you pay for what your meter says was delivered.</p>
    </>
  );
}
