// The household's home: the name neighbours read, where it is, its battery
// and solar panels, and how figures are written. Set up on the first run and
// edited in the settings. Each field says what is wrong with it once the
// household has tried to save; the core checks it all again.

import { useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent, type ReactNode } from "react";
import type { ErrorCode } from "../bindings/ErrorCode";
import type { HomeSettings } from "../bindings/HomeSettings";
import { api } from "../api";
import { sentence } from "../market/errors";
import { figuresExample } from "../market/format";
import { CURRENCIES, checkHome, deviceLocale, languageTag, regionCurrency, type HomeField, type HomeProblems } from "../market/home";
import { VIEW_KEYS, homeQuery } from "../queries";
import { useCommand } from "../useCommand";
import { Field, FormError } from "./Field";
import { Modal } from "./Modal";

type Form = Record<HomeField, string> & { noBattery: boolean };

function startForm(home: HomeSettings | null): Form {
  if (home) {
    const { battery_capacity, battery_level, pv_kwp } = home;
    return { ...home, battery_capacity: battery_capacity ?? "", battery_level: battery_level ?? "", pv_kwp: pv_kwp ?? "", noBattery: battery_capacity === null };
  }
  const locale = deviceLocale();
  return { display_name: "", location: "", battery_capacity: "", battery_level: "", pv_kwp: "", locale, currency: regionCurrency(locale), noBattery: false };
}

/** The fields in the form's order: the first wrong one gets the focus. */
const FIELDS: HomeField[] = ["display_name", "location", "battery_capacity", "battery_level", "pv_kwp", "locale", "currency"];

/** The core's refusals that are about one field. */
const FIELD_OF: Partial<Record<ErrorCode, HomeField>> = {
  invalid_username: "display_name",
  invalid_location: "location",
  home_change_too_soon: "location",
  invalid_battery: "battery_capacity",
  invalid_pv_size: "pv_kwp",
  invalid_locale: "locale",
  invalid_currency: "currency",
};

const idOf = (field: HomeField) => `home-${field.replace(/_/g, "-")}`;
const focus = (field: HomeField) => document.getElementById(idOf(field))?.focus();

const currencyName = new Intl.DisplayNames(["en"], { type: "currency" });

type Props = {
  initial: HomeSettings | null;
  submitLabel: string;
  onSaved: (home: HomeSettings) => void;
  autoFocus?: boolean;
  /** More actions beside saving (the first run's Back). */
  children?: ReactNode;
};

export function HomeForm({ initial, submitLabel, onSaved, autoFocus, children }: Props) {
  const client = useQueryClient();
  const [form, setForm] = useState(() => startForm(initial));
  // Problems show once the household has tried to save, then change as it types.
  const [tried, setTried] = useState(false);
  const [refused, setRefused] = useState<{ field: HomeField; code: ErrorCode } | null>(null);
  const { run, busy, error } = useCommand();

  const home: HomeSettings = {
    display_name: form.display_name,
    location: form.location,
    battery_capacity: form.noBattery ? null : form.battery_capacity,
    battery_level: form.noBattery ? null : form.battery_level,
    pv_kwp: form.pv_kwp.trim() === "" ? null : form.pv_kwp,
    locale: form.locale,
    currency: form.currency,
  };
  const checked = checkHome(home);
  const problems: HomeProblems = checked.ok ? {} : { ...checked.problems };
  // Empty, the core reads "no battery": that takes the box ticked.
  if (!form.noBattery && form.battery_capacity.trim() === "" && form.battery_level.trim() === "") problems.battery_capacity = "invalid_battery";

  const errorAt = (field: HomeField) => {
    const code = (tried ? problems[field] : undefined) ?? (refused?.field === field ? refused.code : undefined);
    return code ? sentence(code) : null;
  };
  const set = (field: HomeField) => (value: string) => {
    setForm((current) => ({ ...current, [field]: value }));
    if (refused?.field === field) setRefused(null);
  };
  const field = (name: HomeField, label: string, hint: string, extra: { unit?: string; autoComplete?: string; autoFocus?: boolean } = {}) => (
    <Field id={idOf(name)} label={label} hint={hint} value={form[name]} onChange={set(name)} error={errorAt(name)} type={extra.unit ? undefined : "text"} {...extra} />
  );

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTried(true);
    const wrong = FIELDS.find((name) => problems[name]);
    if (wrong) {
      focus(wrong);
      return;
    }
    void run(
      () => api.saveHome(home),
      (saved) => {
        client.setQueryData(homeQuery.queryKey, saved);
        // The first run's choice is "home" now, and no market event says so.
        void client.invalidateQueries({ queryKey: VIEW_KEYS.mode });
        onSaved(saved);
      },
      (code) => {
        const at = FIELD_OF[code];
        if (at) {
          setRefused({ field: at, code });
          focus(at);
        }
        return at !== undefined;
      },
    );
  };

  const example = figuresExample({ locale: languageTag(form.locale) ?? form.locale, currency: form.currency });
  const currencies = CURRENCIES.includes(form.currency) ? CURRENCIES : [form.currency, ...CURRENCIES];
  const currencyError = errorAt("currency");

  return (
    <form className="home-form" onSubmit={submit} aria-busy={busy} noValidate>
      <fieldset>
        <legend>Your household</legend>
        {field("display_name", "Name shown to neighbours", "1 to 40 characters, such as your first name or your street.", { autoComplete: "nickname", autoFocus })}
        {field(
          "location",
          "Location",
          "Latitude, longitude in degrees, as a map app shows them: 51.5072, -0.1276. Luméa keeps it to about 100 m, and neighbours only see how far away you are.",
        )}
      </fieldset>
      <fieldset>
        <legend>Battery and solar panels</legend>
        <label className="check">
          <input type="checkbox" checked={form.noBattery} onChange={(event) => setForm((current) => ({ ...current, noBattery: event.target.checked }))} />I have no battery
        </label>
        {!form.noBattery && (
          <div className="field-pair">
            {field("battery_capacity", "Battery capacity", "Above 0 and up to 100 kWh.", { unit: "kWh" })}
            {field("battery_level", "Stored now", "What the battery holds at the moment.", { unit: "kWh" })}
          </div>
        )}
        {field("pv_kwp", "Solar panels' peak power (optional)", "Up to 100 kWp. Leave it empty if you have none or don't know.", { unit: "kWp" })}
      </fieldset>
      <fieldset>
        <legend>Figures</legend>
        <div className="field-pair">
          {field("locale", "Language and region", "A tag such as en-GB or de-DE: how numbers are written.", { autoComplete: "off" })}
          <div className="field">
            <label htmlFor={idOf("currency")}>Currency</label>
            <select
              id={idOf("currency")}
              value={form.currency}
              aria-describedby={`${idOf("currency")}-hint${currencyError ? ` ${idOf("currency")}-error` : ""}`}
              aria-invalid={currencyError ? true : undefined}
              onChange={(event) => set("currency")(event.target.value)}
            >
              {currencies.map((code) => (
                <option key={code} value={code}>
                  {code} · {currencyName.of(code) ?? code}
                </option>
              ))}
            </select>
            <p id={`${idOf("currency")}-hint`} className="hint">
              {example ? `Money and energy will look like ${example}.` : "The money your community trades in."}
            </p>
            {currencyError && (
              <p id={`${idOf("currency")}-error`} className="error" role="alert">
                {currencyError}
              </p>
            )}
          </div>
        </div>
      </fieldset>
      <FormError message={error} />
      <div className="actions">
        {children}
        <button type="submit" className="button button-primary" disabled={busy}>
          {submitLabel}
        </button>
      </div>
    </form>
  );
}

/** The settings' "Your home": the same form, for a home set up or still to set up. */
export function HomeModal({ home, onSaved, onClose }: { home: HomeSettings | null; onSaved: (home: HomeSettings) => void; onClose: () => void }) {
  return (
    <Modal title="Your home" description="Your name, where your home is, its battery and how Luméa writes figures." onClose={onClose}>
      <HomeForm initial={home} submitLabel="Save your home" onSaved={onSaved} autoFocus />
    </Modal>
  );
}
