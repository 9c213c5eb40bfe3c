// Confirm a direct purchase from one listed offer, at its price, for delivery
// in the offer's interval: the energy's cost, the buyer's fee, and the total.

import { useState } from "react";
import type { DeliveryRules } from "../bindings/DeliveryRules";
import type { EnergyView } from "../bindings/EnergyView";
import type { GridPrices } from "../bindings/GridPrices";
import type { OrderView } from "../bindings/OrderView";
import { api, MarketError } from "../api";
import { datedPurchaseQuote, intervalSpan } from "../market/delivery";
import { sentence } from "../market/errors";
import { exactMoney, km, kwh, money, perKwh } from "../market/format";
import { ENERGY_SCALE, PRICE_SCALE, checkPurchase, formatSteps, maxPurchase, steps } from "../market/rules";
import { useNow } from "../useMarket";
import { Field } from "./Field";
import { Modal } from "./Modal";

type Props = {
  offer: OrderView;
  energy: EnergyView;
  grid: GridPrices;
  rules: DeliveryRules;
  onBought: (message: string) => void;
  onClose: () => void;
};

export function ConfirmMarketOrderModal({ offer, energy, grid, rules, onBought, onClose }: Props) {
  const [amount, setAmount] = useState("");
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const available = steps(offer.remaining, ENERGY_SCALE);
  const headroom = steps(energy.headroom, ENERGY_SCALE);
  const most = maxPurchase(available, headroom);
  const checked = amount === "" ? null : checkPurchase(amount, available, headroom);
  const quote = checked?.ok
    ? datedPurchaseQuote(steps(offer.price, PRICE_SCALE), checked.steps, steps(rules.buyer_fee, PRICE_SCALE), steps(grid.buy, PRICE_SCALE))
    : null;
  const now = useNow([]);
  const delivery = offer.interval === null ? null : intervalSpan(offer.interval, rules.interval_minutes, now);

  const confirm = async () => {
    if (!checked?.ok) return;
    setBusy(true);
    setFailure(null);
    try {
      const outcome = await api.buyNow(offer.id, amount.trim());
      const trade = outcome.trades[0];
      onBought(
        outcome.pending || !trade
          ? `You're offline: buying ${kwh(amount.trim())} from ${offer.username} is saved and will be sent when the market is back.`
          : `Bought ${kwh(trade.amount)} from ${trade.seller} for ${money(trade.total)}.`,
      );
    } catch (err) {
      setFailure(sentence(err instanceof MarketError ? err.code : "unknown", "purchase"));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal title="Confirm Market Order" description={`Buy energy from ${offer.username} at their ask price.`} onClose={onClose}>
      <dl className="figures seller">
        <dt>Seller</dt>
        <dd>{offer.username}</dd>
        <dt>Distance</dt>
        <dd>{km(offer.distance_km)}</dd>
        <dt>Price</dt>
        <dd>{perKwh(offer.price)}</dd>
        <dt>Available</dt>
        <dd>{kwh(offer.remaining)}</dd>
        {delivery && (
          <>
            <dt>Delivery</dt>
            <dd>{delivery}</dd>
          </>
        )}
      </dl>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void confirm();
        }}
      >
        <Field
          id="purchase-amount"
          label="Amount to buy"
          unit="kWh"
          value={amount}
          onChange={setAmount}
          autoFocus
          hint={`Up to ${kwh(formatSteps(most, ENERGY_SCALE))}: the offer has ${kwh(offer.remaining)} and your battery can take ${kwh(energy.headroom)}.`}
          error={checked && !checked.ok ? sentence(checked.code, "purchase") : null}
        />
        <button type="button" className="link-button" onClick={() => setAmount(formatSteps(most, ENERGY_SCALE))} disabled={most <= 0n}>
          Use the most I can buy
        </button>
        {quote && (
          <dl className="figures" aria-label="What this purchase costs">
            <dt>Energy cost</dt>
            <dd>{exactMoney(quote.energyCost)}</dd>
            <dt>Buyer fee ({perKwh(rules.buyer_fee)})</dt>
            <dd>{exactMoney(quote.fee)}</dd>
            <dt>Total</dt>
            <dd>{exactMoney(quote.total)}</dd>
            <dt>Savings vs grid ({perKwh(grid.buy)})</dt>
            <dd className={quote.savingsVsGrid.startsWith("-") ? "negative" : "positive"}>{exactMoney(quote.savingsVsGrid)}</dd>
          </dl>
        )}
        <p className="banner" role="note">
          This is a direct P2P transaction: you buy from {offer.username} at their ask price{delivery && ` for delivery ${delivery}`}, the energy
          moves from their battery to yours, and both of you are notified. Fees are charged on delivered energy: you pay for what the
          meters say was delivered.
        </p>
        {failure && <p className="error" role="alert">{failure}</p>}
        <div className="actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={!checked?.ok || busy}>
            Confirm Purchase
          </button>
        </div>
      </form>
    </Modal>
  );
}
