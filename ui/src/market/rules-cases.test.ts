// The case table shared with the Rust rules (tests/fixtures/rules-cases.json):
// the same inputs must give the same steps, reason codes and figures on both
// sides, or the inline feedback would say one thing and the core another.
// Numbers are strings: decimals as the core prints them, steps as integers.

import { describe, expect, it } from "vitest";
import table from "../../../tests/fixtures/rules-cases.json";
import type { ErrorCode } from "../bindings/ErrorCode";
import { isErrorCode } from "./errors";
import {
  ENERGY_SCALE,
  PRICE_SCALE,
  checkOrderAmount,
  checkPrice,
  checkPurchase,
  purchaseQuote,
  saleQuote,
  steps,
  type Checked,
} from "./rules";

type Expected = { steps: string } | { reason: ErrorCode };
type Cases = {
  price: ({ input: string } & Expected)[];
  order_amount: ({ input: string; side: "buy" | "sell"; limit: string | null } & Expected)[];
  purchase: ({ input: string; available: string; headroom: string } & Expected)[];
  purchase_quote: { price: string; amount: string; grid_buy: string; total_cost: string; savings_vs_grid: string }[];
  sale_quote: { price: string; amount: string; grid_sell: string; expected_revenue: string; gain_vs_grid: string; margin_percent: string }[];
};

const INTEGER = /^\d+$/;
const DECIMAL = /^-?(0|[1-9]\d*)(\.\d*[1-9])?$/; // normalised: no leading or trailing zeros, no "-0"

/** The table as typed, after checking that it has the agreed shape. */
function load(raw: unknown): Cases {
  const cases = raw as Cases;
  expect(Object.keys(cases).sort()).toEqual(["order_amount", "price", "purchase", "purchase_quote", "sale_quote"]);
  for (const list of [cases.price, cases.order_amount, cases.purchase]) {
    for (const row of list) {
      expect(typeof row.input).toBe("string");
      // Exactly one outcome: steps (an integer string) or a known reason code.
      expect("steps" in row !== "reason" in row, JSON.stringify(row)).toBe(true);
      if ("steps" in row) expect(row.steps).toMatch(INTEGER);
      else expect(isErrorCode(row.reason), row.reason).toBe(true);
    }
  }
  for (const row of cases.order_amount) {
    expect(["buy", "sell"]).toContain(row.side);
    if (row.limit !== null) expect(row.limit).toMatch(INTEGER);
  }
  for (const row of cases.purchase) {
    expect(row.available).toMatch(INTEGER);
    expect(row.headroom).toMatch(INTEGER);
  }
  for (const row of [...cases.purchase_quote, ...cases.sale_quote]) {
    for (const value of Object.values(row)) expect(value).toMatch(DECIMAL);
  }
  for (const row of cases.sale_quote) expect(row.margin_percent).toMatch(/^-?\d+(\.\d)?$/);
  return cases;
}

const cases = load(table);

const expected = (row: Expected): Checked => ("steps" in row ? { ok: true, steps: BigInt(row.steps) } : { ok: false, code: row.reason });
const price = (text: string) => steps(text, PRICE_SCALE);
const energy = (text: string) => steps(text, ENERGY_SCALE);

describe("shared rule cases", () => {
  it("cover every outcome the rules have", () => {
    const outcomes = (rows: Expected[]) => new Set(rows.map((row) => ("steps" in row ? "ok" : row.reason)));
    expect(outcomes(cases.price)).toEqual(new Set(["ok", "invalid_price"]));
    expect(outcomes(cases.order_amount)).toEqual(new Set(["ok", "invalid_amount", "insufficient_energy", "exceeds_battery"]));
    expect(outcomes(cases.purchase)).toEqual(new Set(["ok", "invalid_amount", "exceeds_available", "exceeds_battery"]));
    expect(cases.sale_quote.some((row) => row.gain_vs_grid.startsWith("-"))).toBe(true);
    expect(cases.purchase_quote.some((row) => row.savings_vs_grid.startsWith("-"))).toBe(true);
  });

  it.each(cases.price)("price $input", (row) => {
    expect(checkPrice(row.input)).toEqual(expected(row));
  });

  it.each(cases.order_amount)("order amount $input to $side within $limit", (row) => {
    expect(checkOrderAmount(row.input, row.side, row.limit === null ? null : BigInt(row.limit))).toEqual(expected(row));
  });

  it.each(cases.purchase)("purchase $input of $available with room for $headroom", (row) => {
    expect(checkPurchase(row.input, BigInt(row.available), BigInt(row.headroom))).toEqual(expected(row));
  });

  it.each(cases.purchase_quote)("purchase of $amount kWh at $price against the grid's $grid_buy", (row) => {
    expect(purchaseQuote(price(row.price), energy(row.amount), price(row.grid_buy))).toEqual({
      totalCost: row.total_cost,
      savingsVsGrid: row.savings_vs_grid,
    });
  });

  it.each(cases.sale_quote)("sale of $amount kWh at $price against the grid's $grid_sell", (row) => {
    expect(saleQuote(price(row.price), energy(row.amount), price(row.grid_sell))).toEqual({
      expectedRevenue: row.expected_revenue,
      gainVsGrid: row.gain_vs_grid,
      marginPercent: row.margin_percent,
    });
  });
});
