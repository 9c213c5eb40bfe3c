// The home form's checks against the Rust core's own cases
// (crates/market/src/home.rs) and the display names both it and Postgres clean
// (tests/fixtures/display-names.json).

import { describe, expect, it } from "vitest";
import names from "../../../tests/fixtures/display-names.json";
import type { HomeSettings } from "../bindings/HomeSettings";
import { checkHome, coarseLocation, displayName, languageTag, regionCurrency } from "./home";

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
  it("gives the home as the core stores it: coarse and normalised", () => {
    expect(checkHome(form())).toEqual({
      ok: true,
      home: {
        display_name: "Ada",
        location: "51.507, -0.128",
        battery_capacity: "13.5",
        battery_level: "6.75",
        pv_kwp: "4.2",
        locale: "en-GB",
        currency: "GBP",
      },
    });
  });

  it("reads locations as people paste them", () => {
    for (const text of ["51.5072, -0.1276", "51.5072 -0.1276", "51.5072;-0.1276", "51.5072° N, 0.1276° W", "51.5072N 0.1276W"]) {
      expect(coarseLocation(text), text).toBe("51.507, -0.128");
    }
    expect(coarseLocation("33.87 S, 151.21 E")).toBe("-33.870, 151.210");
    // Half a thousandth rounds away from zero, as the core's f64::round.
    expect(coarseLocation("30.2675, -0.0005")).toBe("30.268, -0.001");
    for (const text of ["", "51.5", "91, 0", "0, 181", "-51.5 N, 0", "London", "1e2, 3", "NaN, 0", "1, 2, 3"]) {
      expect(coarseLocation(text), text).toBeNull();
    }
  });

  it("no battery is both fields empty; one without the other is refused", () => {
    const none = checkHome(form({ battery_capacity: null, battery_level: " ", pv_kwp: null }));
    expect(none.ok && [none.home.battery_capacity, none.home.battery_level, none.home.pv_kwp]).toEqual([null, null, null]);
    expect(problems({ battery_level: null })).toEqual({ battery_level: "invalid_battery" });
    expect(problems({ battery_capacity: "" })).toEqual({ battery_capacity: "invalid_battery" });
  });

  it("refuses each field with the core's code, at that field", () => {
    expect(problems({ display_name: "\u200B" })).toEqual({ display_name: "invalid_username" });
    expect(problems({ battery_capacity: "0" })).toEqual({ battery_capacity: "invalid_battery" });
    expect(problems({ battery_capacity: "100.01" })).toEqual({ battery_capacity: "invalid_battery" });
    expect(problems({ battery_level: "13.51" })).toEqual({ battery_level: "invalid_battery" });
    expect(problems({ battery_level: "1.001" })).toEqual({ battery_level: "invalid_battery" });
    for (const pv of ["0", "4.125", "101", "-1", "four"]) expect(problems({ pv_kwp: pv }), pv).toEqual({ pv_kwp: "invalid_pv_size" });
    for (const locale of ["", "e", "english", "en-", "en-GBR", "en-G1"]) expect(problems({ locale }), locale).toEqual({ locale: "invalid_locale" });
    for (const currency of ["", "gbp", "GB", "GBPX", "€"]) expect(problems({ currency }), currency).toEqual({ currency: "invalid_currency" });
    // Every field that is wrong, in the form's order.
    expect(Object.keys(problems({ location: "x", currency: "x" }))).toEqual(["location", "currency"]);
  });

  it("takes a script and a numeric region in a locale", () => {
    for (const [text, tag] of [["EN", "en"], ["zh-hant-tw", "zh-Hant-TW"], ["es-419", "es-419"], ["de_CH", "de-CH"]]) {
      expect(languageTag(text)).toBe(tag);
    }
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
