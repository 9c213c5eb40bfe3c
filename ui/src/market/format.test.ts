import { describe, expect, it } from "vitest";
import {
  clockRange,
  clockTime,
  currencySign,
  exactMoney,
  figuresExample,
  km,
  kwh,
  meterKwh,
  money,
  perKwh,
  priceRange,
  since,
  tokens,
  writeFiguresAs,
  writtenDay,
  writtenMonth,
} from "./format";
import { isErrorCode, refusalDetail, sentence } from "./errors";

describe("formatting", () => {
  it("shows dollars and kWh from exact decimal strings", () => {
    expect(money("0.51")).toBe("$0.51");
    expect(money("-0.05")).toBe("-$0.05");
    expect(money("1234.5")).toBe("$1,234.50");
    expect(perKwh("0.16")).toBe("$0.16/kWh");
    expect(perKwh("0.1234")).toBe("$0.1234/kWh");
    expect(kwh("4.5")).toBe("4.5 kWh");
    expect(kwh("1000")).toBe("1,000 kWh");
    expect(tokens("1.101")).toBe("1.101");
    expect(km("0.7")).toBe("0.7 km");
    expect(km(null)).toBe("—");
  });

  it("writes money in the home's currency and locale once it is set up, and the demo's $ again without one", () => {
    writeFiguresAs({ locale: "en-GB", currency: "GBP" });
    expect([money("1234.5"), perKwh("0.1234"), currencySign(), priceRange()]).toEqual(["£1,234.50", "£0.1234/kWh", "£", "£0.05 to £1.00"]);
    writeFiguresAs({ locale: "de-DE", currency: "EUR" });
    expect([money("1234.5"), kwh("4.5"), km("0.7")]).toEqual(["1.234,50\u00a0€", "4,5 kWh", "0,7 km"]);
    writeFiguresAs(null);
    expect([money("1234.5"), currencySign(), priceRange()]).toEqual(["$1,234.50", "$", "$0.05 to $1.00"]);
  });

  it("shows the home form how figures will look, or nothing for what Intl refuses", () => {
    expect(figuresExample({ locale: "en-GB", currency: "GBP" })).toBe("£1,234.50 · 4.5 kWh");
    expect(figuresExample({ locale: "en-GB", currency: "" })).toBeNull();
    // Refused, the figures stay the demo's.
    writeFiguresAs({ locale: "en-GB", currency: "" });
    expect(money("1")).toBe("$1.00");
  });

  it("writes fees and settlements to the micro-dollar, at least to the cent", () => {
    expect([exactMoney("0.025"), exactMoney("0.8"), exactMoney("-0.015"), exactMoney("0.000001"), exactMoney("0")]).toEqual(["$0.025", "$0.80", "-$0.015", "$0.000001", "$0.00"]);
  });

  it("writes meter energy to the Wh", () => {
    expect(meterKwh("0.805")).toBe("0.805 kWh");
    expect(meterKwh("1234.5")).toBe("1,234.5 kWh");
  });

  it("writes times of day in the home's locale, in the device's time zone (Europe/Paris here)", () => {
    expect(clockTime("2026-06-01T10:10:00Z")).toMatch(/^12:10\sPM$/);
    writeFiguresAs({ locale: "en-GB", currency: "GBP" });
    expect([clockTime("2026-06-01T10:10:00Z"), clockRange("2026-06-01T10:15:00Z", "2026-06-01T10:30:00Z")]).toEqual(["12:10", "12:15–12:30"]);
    expect(clockRange("2026-06-01T10:15:00Z", "2026-06-01T10:30:00Z", true)).toBe("1 Jun, 12:15–12:30");
    expect([writtenDay("2026-06-01T10:15:00Z"), writtenMonth("2026-06-01T10:15:00Z")]).toEqual(["1 Jun 2026", "June 2026"]);
    writeFiguresAs({ locale: "de-DE", currency: "EUR" });
    expect(clockRange("2026-06-01T10:15:00Z", "2026-06-01T10:30:00Z")).toBe("12:15–12:30 Uhr");
    writeFiguresAs(null);
  });

  it("says how long ago in words", () => {
    const now = Date.parse("2026-06-01T12:00:00Z");
    expect(since("2026-06-01T11:59:40Z", now)).toBe("just now");
    expect(since("2026-06-01T11:57:00Z", now)).toBe("3 min. ago");
    expect(since("2026-06-01T10:00:00Z", now)).toBe("2 hr. ago");
    expect(since("2026-05-31T12:00:00Z", now)).toBe("yesterday");
  });
});

describe("reason codes", () => {
  it("every code has a sentence, never the raw code", () => {
    for (const code of ["invalid_price", "exceeds_battery", "insufficient_energy", "self_trade", "storage_failure"] as const) {
      expect(isErrorCode(code)).toBe(true);
      expect(sentence(code)).not.toContain("_");
    }
    expect(sentence("invalid_amount", "purchase")).toContain("above 0 kWh");
    expect(isErrorCode("drop table")).toBe(false);
    // Only the codes themselves, not what every object inherits.
    for (const inherited of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      expect(isErrorCode(inherited), inherited).toBe(false);
    }
    expect(isErrorCode(undefined)).toBe(false);
    expect(isErrorCode({ code: "invalid_price" })).toBe(false);
  });

  it("a meter file's refusal keeps where and what from the core's message, not its repeat of the sentence", () => {
    const message = 'the meter file cannot be imported, nothing was: line 3: import_kwh "abc" is not 0 to 10,000 kWh with at most 3 decimals';
    expect(refusalDetail("invalid_meter_file", message)).toBe('line 3: import_kwh "abc" is not 0 to 10,000 kWh with at most 3 decimals');
    expect(refusalDetail("invalid_meter_file", "IntervalReading 5 (entry 4): duration 60")).toBe("IntervalReading 5 (entry 4): duration 60");
    expect(refusalDetail("invalid_meter_file", null)).toBeNull();
    expect(refusalDetail("interval_not_ended", "the interval has not ended")).toBeNull();
    expect(sentence("invalid_meter_file")).toBe("The meter file can't be imported, so none of its readings were recorded.");
    expect(sentence("not_available")).toBe("In a community, your community's operator imports the meter readings: files can't be imported here.");
  });
});
