// The market's input rules and the figures the UI shows, in exact integer
// arithmetic, mirroring the Rust core (crates/market/src/units.rs, rules.rs and
// energy.rs); tests/fixtures/rules-cases.json holds the cases both sides run.
// The core checks everything again; these give instant, inline feedback.

import type { ErrorCode } from "../bindings/ErrorCode";
import { ENERGY_SCALE, MAX_ENERGY, MAX_ORDER, MAX_PRICE, MIN_ORDER, MIN_PRICE, MONEY_SCALE, PRICE_SCALE } from "../bindings/limits";

// The limits come from the Rust rules (generated); the components import them from here.
export { ENERGY_SCALE, MAX_ORDER, MAX_PRICE, MIN_ORDER, MIN_PRICE, MONEY_SCALE, PRICE_SCALE };

const NUMERAL = /^-?\d+(\.\d+)?$/;

/** A plain decimal numeral as whole `scale`-decimal steps; null for anything else or too many decimals. */
export function parseSteps(text: string, scale: number): bigint | null {
  if (!NUMERAL.test(text)) return null;
  const negative = text.startsWith("-");
  const [whole, fraction = ""] = (negative ? text.slice(1) : text).split(".");
  const significant = fraction.replace(/0+$/, "");
  if (significant.length > scale) return null;
  const steps = BigInt(whole + significant.padEnd(scale, "0"));
  return negative ? -steps : steps;
}

/** Whole `scale`-decimal steps as a normalised decimal string ("0.16", "4.5", "-0.72"). */
export function formatSteps(steps: bigint, scale: number): string {
  const negative = steps < 0n;
  const digits = (negative ? -steps : steps).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale).replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction ? "." + fraction : ""}`;
}

export type Checked = { ok: true; steps: bigint } | { ok: false; code: ErrorCode };

const fail = (code: ErrorCode): Checked => ({ ok: false, code });

export function checkPrice(text: string): Checked {
  const ticks = parseSteps(text.trim(), PRICE_SCALE);
  if (ticks === null || ticks < MIN_PRICE || ticks > MAX_PRICE) return fail("invalid_price");
  return { ok: true, steps: ticks };
}

/**
 * The amount of a new order: 1–100 kWh with at most 2 decimals, and within what
 * the battery allows (`limit`: sellable energy for an ask, headroom for a bid).
 */
export function checkOrderAmount(text: string, side: "buy" | "sell", limit: bigint | null): Checked {
  const steps = parseSteps(text.trim(), ENERGY_SCALE);
  if (steps === null || steps < MIN_ORDER || steps > MAX_ORDER) return fail("invalid_amount");
  if (limit !== null && steps > limit) return fail(side === "sell" ? "insufficient_energy" : "exceeds_battery");
  return { ok: true, steps };
}

/** A purchase: more than 0 with at most 2 decimals, at most what is left and what the battery can take. */
export function checkPurchase(text: string, available: bigint, headroom: bigint): Checked {
  const steps = parseSteps(text.trim(), ENERGY_SCALE);
  if (steps === null || steps <= 0n || steps > MAX_ENERGY) return fail("invalid_amount");
  if (steps > available) return fail("exceeds_available");
  if (steps > headroom) return fail("exceeds_battery");
  return { ok: true, steps };
}

/** The most a household can buy of an offer: what is left, or what its battery takes. */
export function maxPurchase(available: bigint, headroom: bigint): bigint {
  return available < headroom ? available : headroom;
}

export type PurchaseQuote = { totalCost: string; savingsVsGrid: string };

export function purchaseQuote(priceTicks: bigint, steps: bigint, gridBuyTicks: bigint): PurchaseQuote {
  const cost = priceTicks * steps;
  return { totalCost: formatSteps(cost, MONEY_SCALE), savingsVsGrid: formatSteps(gridBuyTicks * steps - cost, MONEY_SCALE) };
}

export type SaleQuote = { expectedRevenue: string; gainVsGrid: string; marginPercent: string };

/** Integer division rounded half to even, as rust_decimal's `round_dp` does. */
function divideHalfEven(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  const twice = 2n * (numerator % denominator);
  const sign = numerator < 0n ? -1n : 1n;
  const excess = (twice < 0n ? -twice : twice) - denominator;
  if (excess > 0n || (excess === 0n && quotient % 2n !== 0n)) return quotient + sign;
  return quotient;
}

export function saleQuote(priceTicks: bigint, steps: bigint, gridSellTicks: bigint): SaleQuote {
  const revenue = priceTicks * steps;
  const tenthsOfPercent = divideHalfEven((priceTicks - gridSellTicks) * 1000n, gridSellTicks);
  return {
    expectedRevenue: formatSteps(revenue, MONEY_SCALE),
    gainVsGrid: formatSteps(revenue - gridSellTicks * steps, MONEY_SCALE),
    marginPercent: formatSteps(tenthsOfPercent, 1),
  };
}

/** Parses a decimal string the core sent (always well-formed) into steps. */
export function steps(text: string, scale: number): bigint {
  const parsed = parseSteps(text, scale);
  if (parsed === null) throw new Error(`not a decimal from the core: ${text}`);
  return parsed;
}
