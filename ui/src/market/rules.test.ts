import { describe, expect, it } from "vitest";
import {
  checkOrderAmount,
  checkPrice,
  checkPurchase,
  formatSteps,
  maxPurchase,
  parseSteps,
  purchaseQuote,
  saleQuote,
} from "./rules";

describe("numerals", () => {
  it("parse exactly, and nothing else parses", () => {
    expect(parseSteps("0.1600", 4)).toBe(1600n);
    expect(parseSteps("-12.5", 2)).toBe(-1250n);
    expect(parseSteps("007.50", 2)).toBe(750n);
    for (const bad of ["", "-", "abc", ".5", "5.", "1e3", "NaN", "Infinity", " 1", "+1", "1_000", "1.2.3", "0x10"]) {
      expect(parseSteps(bad, 4), bad).toBeNull();
    }
    expect(parseSteps("0.001", 2)).toBeNull();
  });

  it("print normalised", () => {
    expect(formatSteps(1600n, 4)).toBe("0.16");
    expect(formatSteps(10_000n, 4)).toBe("1");
    expect(formatSteps(-720_000n, 6)).toBe("-0.72");
    expect(formatSteps(1n, 6)).toBe("0.000001");
  });
});

describe("price", () => {
  it("accepts $0.05 to $1.00 with up to 4 decimals", () => {
    expect(checkPrice("0.05")).toEqual({ ok: true, steps: 500n });
    expect(checkPrice(" 1.00 ")).toEqual({ ok: true, steps: 10_000n });
    expect(checkPrice("0.160000")).toEqual({ ok: true, steps: 1600n });
  });

  it("refuses too low, too high, too precise and non-numbers", () => {
    for (const bad of ["0.0499", "1.0001", "0", "-0.16", "0.12345", "abc", ""]) {
      expect(checkPrice(bad), bad).toEqual({ ok: false, code: "invalid_price" });
    }
  });
});

describe("order amount", () => {
  it("is 1 to 100 kWh with up to 2 decimals", () => {
    expect(checkOrderAmount("1", "sell", null)).toEqual({ ok: true, steps: 100n });
    expect(checkOrderAmount("100", "buy", null)).toEqual({ ok: true, steps: 10_000n });
    for (const bad of ["0.99", "100.01", "1.234", "0", "-5", "x", ""]) {
      expect(checkOrderAmount(bad, "sell", null), bad).toEqual({ ok: false, code: "invalid_amount" });
    }
  });

  it("is limited by the battery: stored energy to sell, headroom to buy", () => {
    expect(checkOrderAmount("8.51", "sell", 850n)).toEqual({ ok: false, code: "insufficient_energy" });
    expect(checkOrderAmount("8.5", "sell", 850n)).toEqual({ ok: true, steps: 850n });
    expect(checkOrderAmount("5.01", "buy", 500n)).toEqual({ ok: false, code: "exceeds_battery" });
  });
});

describe("purchase (smart validation)", () => {
  // The product guide's battery: 13.5 kWh capacity at 8.5 kWh leaves 5 kWh of room.
  const headroom = 500n;

  it("is above 0, within the offer, then within the battery", () => {
    expect(checkPurchase("4.5", 1000n, headroom)).toEqual({ ok: true, steps: 450n });
    expect(checkPurchase("0", 1000n, headroom)).toEqual({ ok: false, code: "invalid_amount" });
    expect(checkPurchase("1.001", 1000n, headroom)).toEqual({ ok: false, code: "invalid_amount" });
    expect(checkPurchase("10.01", 1000n, headroom)).toEqual({ ok: false, code: "exceeds_available" });
    expect(checkPurchase("5.01", 1000n, headroom)).toEqual({ ok: false, code: "exceeds_battery" });
  });

  it("offers the smaller of what is left and what fits", () => {
    expect(maxPurchase(1000n, headroom)).toBe(500n);
    expect(maxPurchase(300n, headroom)).toBe(300n);
  });
});

describe("figures", () => {
  it("a purchase shows its cost and the savings against the grid", () => {
    expect(purchaseQuote(1600n, 500n, 2000n)).toEqual({ totalCost: "0.8", savingsVsGrid: "0.2" });
    expect(purchaseQuote(2500n, 100n, 2000n).savingsVsGrid).toBe("-0.05");
    expect(purchaseQuote(1700n, 300n, 2000n).totalCost).toBe("0.51");
  });

  it("a sale shows revenue, gain over feed-in and the margin, as the core computes them", () => {
    expect(saleQuote(1600n, 1000n, 1000n)).toEqual({ expectedRevenue: "1.6", gainVsGrid: "0.6", marginPercent: "60" });
    expect(saleQuote(1234n, 100n, 1000n).marginPercent).toBe("23.4");
    expect(saleQuote(1001n, 100n, 1000n).marginPercent).toBe("0.1");
    // One decimal place, half to even like rust_decimal: 1/0.3 % = 33.33… → 33.3; 0.0625 over 0.1 is −37.5%, kept.
    expect(saleQuote(1001n, 100n, 3000n).marginPercent).toBe("-66.6");
    expect(saleQuote(625n, 100n, 1000n).marginPercent).toBe("-37.5");
    expect(saleQuote(1000n, 100n, 1000n).marginPercent).toBe("0");
    expect(saleQuote(500n, 100n, 1000n).marginPercent).toBe("-50");
  });
});
