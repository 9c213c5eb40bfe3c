// Buy from or sell to the grid: a fixed price, instant.

import { useState } from "react";
import { api, MarketError } from "../api";
import { sentence } from "../market/errors";
import { kwh, money, perKwh } from "../market/format";
import { ENERGY_SCALE, checkPurchase, steps } from "../market/rules";
import { Field } from "./Field";

type Props = {
  direction: "buy" | "sell";
  price: string;
  /** Headroom to buy, or sellable energy to sell (kWh). */
  limit: string;
  onDone: (message: string) => void;
};

export function GridTrade({ direction, price, limit, onDone }: Props) {
  const [amount, setAmount] = useState("");
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const limitSteps = steps(limit, ENERGY_SCALE);
  // The battery is the only limit here; a refusal names the battery rule of its direction.
  const checked = amount === "" ? null : checkPurchase(amount, limitSteps, limitSteps);
  const error =
    checked && !checked.ok
      ? sentence(checked.code === "exceeds_available" || checked.code === "exceeds_battery"
          ? direction === "buy" ? "exceeds_battery" : "insufficient_energy"
          : checked.code, "purchase")
      : null;
  const id = `grid-${direction}-amount`;

  const submit = async () => {
    if (!checked?.ok) return;
    setBusy(true);
    setFailure(null);
    try {
      const done = direction === "buy" ? await api.buyFromGrid(amount.trim()) : await api.sellToGrid(amount.trim());
      onDone(`${direction === "buy" ? "Bought" : "Sold"} ${kwh(done.amount)} ${direction === "buy" ? "from" : "to"} the grid for ${money(done.total)}.`);
    } catch (err) {
      setFailure(sentence(err instanceof MarketError ? err.code : "unknown", "purchase"));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="grid-trade"
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
    >
      <Field
        id={id}
        label={`Amount to ${direction} at ${perKwh(price)}`}
        value={amount}
        onChange={setAmount}
        unit="kWh"
        error={error}
        hint={direction === "buy" ? `Your battery can take up to ${kwh(limit)}.` : `You can sell up to ${kwh(limit)}.`}
      />
      {failure && <p className="error" role="alert">{failure}</p>}
      <button type="submit" className="button" disabled={!checked?.ok || busy}>
        {direction === "buy" ? "Buy from Grid" : "Sell to Grid"}
      </button>
    </form>
  );
}
