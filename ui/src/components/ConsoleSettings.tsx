// The console's community settings: the form prefilled with the settings now,
// checked as it is typed with the market's limits; only what changed is sent.

import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import type { SettingsChange } from "../bindings/SettingsChange";
import { api } from "../api";
import { checkSettings, settingsForm, type SettingsForm } from "../market/console";
import { currencySign, priceRange } from "../market/format";
import { Loaded, consoleViews, useAction } from "./ConsoleParts";
import { Field } from "./Field";

export function ConsoleSettings() {
  const settings = useQuery(consoleViews.settings);
  return (
    <Loaded query={settings} what="the community's settings">
      {(current) => <SettingsEditor current={current} />}
    </Loaded>
  );
}

const LABEL: Record<keyof SettingsChange, string> = {
  name: "Community name",
  min_price: "Lowest price",
  max_price: "Highest price",
  grid_buy_price: "Grid price to buy",
  grid_sell_price: "Grid price to sell",
  co2_kg_per_kwh: "Grid CO2",
  open_order_cap: "Open orders per member",
};

/** The decimal fields: their unit and what they mean; read when shown, for money is in the home's currency. */
function numbers(): [Exclude<keyof SettingsChange, "name">, string, string][] {
  const price = `${currencySign()}/kWh`;
  return [
    ["min_price", price, `Orders are priced from the lowest to the highest price; the market allows ${priceRange()}.`],
    ["max_price", price, "The highest price an order may carry."],
    ["grid_buy_price", price, "What a household pays to buy from the grid."],
    ["grid_sell_price", price, "What the grid pays a household for its energy: below its price to buy."],
    ["co2_kg_per_kwh", "kg/kWh", "The CO2 each kWh from the grid emits, from 0 to 2 kg; energy bought from neighbours earns tokens for it."],
    ["open_order_cap", "orders", "The most open orders one member may have at once, from 1 to 10,000."],
  ];
}

function SettingsEditor({ current }: { current: SettingsChange }) {
  const client = useQueryClient();
  const [form, setForm] = useState<SettingsForm>(() => settingsForm(current));
  const { busy, run, outcome } = useAction();
  const { errors, change } = checkSettings(current, form);
  const initial = settingsForm(current);
  const edited = (Object.keys(initial) as (keyof SettingsChange)[]).some((field) => form[field] !== initial[field]);
  const set = (field: keyof SettingsChange) => (value: string) => setForm((all) => ({ ...all, [field]: value }));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (change === null) return;
    const changed = (Object.keys(change) as (keyof SettingsChange)[]).filter((field) => change[field] !== null).map((field) => LABEL[field]);
    void run(
      () => api.updateCommunitySettings(change),
      () => {
        void client.invalidateQueries({ queryKey: consoleViews.settings.queryKey });
        return `Saved: ${changed.join(", ")}. Every member's market follows the new settings.`;
      },
    );
  };

  return (
    <form className="console-form" onSubmit={submit} aria-label="Community settings">
      <div className="field">
        <label htmlFor="setting-name">{LABEL.name}</label>
        <input
          id="setting-name"
          value={form.name}
          autoComplete="off"
          aria-invalid={errors.name ? true : undefined}
          aria-describedby={errors.name ? "setting-name-error" : undefined}
          onChange={(event) => set("name")(event.target.value)}
        />
        {errors.name && (
          <p id="setting-name-error" className="error" role="alert">
            {errors.name}
          </p>
        )}
      </div>
      <div className="console-fields">
        {numbers().map(([field, unit, hint]) => (
          <Field key={field} id={`setting-${field}`} label={LABEL[field]} unit={unit} hint={hint} value={form[field]} onChange={set(field)} error={errors[field]} />
        ))}
      </div>
      {outcome}
      <div className="actions">
        <button type="button" className="button" disabled={busy || !edited} onClick={() => setForm(initial)}>
          Undo changes
        </button>
        <button type="submit" className="button button-primary" disabled={busy || change === null}>
          Save settings
        </button>
      </div>
    </form>
  );
}
