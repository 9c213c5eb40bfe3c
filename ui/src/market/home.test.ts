// The home form's checks against the cases the Rust core runs too
// (tests/fixtures/home-cases.json) and the display names both it and Postgres
// clean (tests/fixtures/display-names.json).

import { describe, expect, it } from "vitest";
import names from "../../../tests/fixtures/display-names.json";
import cases from "../../../tests/fixtures/home-cases.json";
import type { HomeSettings } from "../bindings/HomeSettings";
import { checkHome, displayName, regionCurrency } from "./home";

type Case = { why: string; change: Partial<HomeSettings>; home?: HomeSettings; code?: string };

const form = (change: Partial<HomeSettings> = {}): HomeSettings => ({
  display_name: "  Ada ",
  location: "51.50722, -0.12758",
  battery_capacity: "13.5",
  battery_level: "6.75",
  pv_kwp: "4.20",
  locale: "en_gb",
  currency: "GBP",
  ...change,
});

const problems = (change: Partial<HomeSettings>) => {
  const checked = checkHome(form(change));
  return checked.ok ? {} : checked.problems;
};

describe("the home form", () => {
  it("stores or refuses the shared cases as the core does", () => {
    expect(cases.cases.length).toBeGreaterThanOrEqual(40);
    for (const { why, change, home, code } of cases.cases as Case[]) {
      const checked = checkHome({ ...(cases.base as HomeSettings), ...change });
      // The core answers the first wrong field's code; the form marks every wrong field, in its order.
      expect(checked.ok ? { home: checked.home } : { code: Object.values(checked.problems)[0] }, why).toEqual(home ? { home } : { code });
    }
  });

  it("marks each wrong field at that field, in the form's order", () => {
    expect(problems({ battery_level: null })).toEqual({ battery_level: "invalid_battery" });
    expect(problems({ battery_capacity: "" })).toEqual({ battery_capacity: "invalid_battery" });
    expect(Object.keys(problems({ location: "x", currency: "x" }))).toEqual(["location", "currency"]);
  });

  it("suggests the currency of the locale's region", () => {
    expect(regionCurrency("en-GB")).toBe("GBP");
    expect(regionCurrency("de-CH")).toBe("CHF");
    expect(regionCurrency("fr-FR")).toBe("EUR");
    expect(regionCurrency("en")).toBe("EUR");
  });
});

describe("display names", () => {
  it("clean as the core and Postgres clean them", () => {
    for (const { why, input, name } of names.cases) expect(displayName(input), why).toBe(name);
  });
});
