import { describe, expect, it } from "vitest";
import type { IntervalView } from "../bindings/IntervalView";
import type { OrderView } from "../bindings/OrderView";
import {
  datedPurchaseQuote,
  datedSaleQuote,
  deliveryOf,
  depthOf,
  intervalEnd,
  intervalLabel,
  intervalSpan,
  ofInterval,
  sameInstant,
  selectedInterval,
  stillOpen,
} from "./delivery";
import { writeFiguresAs } from "./format";

// The unit tests read times in Europe/Paris (vite.config.ts): 10:15Z is 12:15 there.
const at = (time: string) => Date.parse(`2026-06-01T${time}Z`);
const interval = (start: string, end: string, closes: string): IntervalView => ({
  start: `2026-06-01T${start}:00Z`,
  end: `2026-06-01T${end}:00Z`,
  closes_at: `2026-06-01T${closes}:00Z`,
});
const OPEN = [interval("10:15", "10:30", "10:10"), interval("10:30", "10:45", "10:25"), interval("10:45", "11:00", "10:40")];

const order = (id: string, price: string, remaining: string, interval: string | null): OrderView => ({
  id,
  user_id: "u",
  username: "Bob",
  side: "sell",
  price,
  amount: remaining,
  filled: "0",
  remaining,
  status: "active",
  created_at: "2026-06-01T09:00:00Z",
  updated_at: "2026-06-01T09:00:00Z",
  expires_at: null,
  interval,
  distance_km: null,
  mine: false,
  pending: false,
});

describe("delivery intervals", () => {
  it("are instants, whichever way the core writes them", () => {
    expect(sameInstant("2026-06-01T10:15:00Z", "2026-06-01T12:15:00+02:00")).toBe(true);
    expect(sameInstant("2026-06-01T10:15:00Z", "2026-06-01T10:15:00.000Z")).toBe(true);
    expect(sameInstant("2026-06-01T10:15:00Z", "2026-06-01T10:30:00Z")).toBe(false);
    expect(intervalEnd("2026-06-01T10:15:00Z", 15)).toBe(at("10:30:00"));
  });

  it("read as the market offers them, in the home's locale and the device's zone", () => {
    writeFiguresAs({ locale: "en-GB", currency: "GBP" });
    expect(intervalLabel(OPEN[0])).toBe("Delivery 12:15–12:30 · closes 12:10");
    writeFiguresAs(null);
    expect(intervalLabel(OPEN[0])).toMatch(/^Delivery 12:15\s–\s12:30\sPM · closes 12:10\sPM$/);
  });

  it("say the day only when it isn't today", () => {
    writeFiguresAs({ locale: "en-GB", currency: "GBP" });
    expect(intervalSpan("2026-06-01T10:15:00Z", 15, at("09:00:00"))).toBe("12:15–12:30");
    expect(intervalSpan("2026-05-31T10:15:00Z", 15, at("09:00:00"))).toBe("31 May, 12:15–12:30");
    writeFiguresAs(null);
  });

  it("leave the selector when their gate closes, and the first open one is the default", () => {
    expect(stillOpen(OPEN, at("10:09:59"))).toHaveLength(3);
    expect(stillOpen(OPEN, at("10:10:00")).map((i) => i.start)).toEqual([OPEN[1].start, OPEN[2].start]);
    expect(selectedInterval(OPEN, null)).toBe(OPEN[0]);
    expect(selectedInterval(OPEN, "2026-06-01T12:30:00+02:00")).toBe(OPEN[1]);
    // The chosen one has closed: back to the first open one.
    expect(selectedInterval(OPEN.slice(1), OPEN[0].start)).toBe(OPEN[1]);
    expect(selectedInterval([], null)).toBeNull();
  });

  it("hold their own orders only, never undated ones", () => {
    const orders = [order("a", "0.17", "5", "2026-06-01T10:15:00Z"), order("b", "0.18", "2", "2026-06-01T12:15:00+02:00"), order("c", "0.16", "1", null), order("d", "0.15", "1", "2026-06-01T10:30:00Z")];
    expect(ofInterval(orders, "2026-06-01T10:15:00Z").map((o) => o.id)).toEqual(["a", "b"]);
    expect(ofInterval(orders, "2026-06-01T11:00:00Z")).toEqual([]);
  });

  it("have a depth of their own, summed exactly by price level", () => {
    const orders = [order("a", "0.17", "0.1", "x"), order("b", "0.1700", "0.2", "x"), order("c", "0.18", "4", "x")];
    expect(depthOf(orders)).toEqual([
      { price: "0.17", amount: "0.3", orders: 2 },
      { price: "0.18", amount: "4", orders: 1 },
    ]);
  });
});

describe("a trade's delivery", () => {
  const trade = { interval: "2026-06-01T10:15:00Z", delivered: null, amount: "1" };

  it("says nothing for an undated trade", () => {
    expect(deliveryOf({ ...trade, interval: null }, 15, at("09:00:00"))).toBeNull();
  });

  it("is contracted until its interval ends, then awaits the meter", () => {
    expect(deliveryOf(trade, 15, at("10:29:59"))).toEqual({ state: "contracted", text: "Contracted" });
    expect(deliveryOf(trade, 15, at("10:30:00"))).toEqual({ state: "awaiting_meter", text: "Awaiting meter" });
  });

  it("is settled once the meters say what it delivered, to the Wh", () => {
    expect(deliveryOf({ ...trade, delivered: "0.805" }, 15, at("11:00:00"))).toEqual({ state: "settled", text: "Delivered 0.805 of 1 kWh" });
    // Settled is settled, even before the end (a correction cannot come before it, but the state is the core's).
    expect(deliveryOf({ ...trade, delivered: "1" }, 15, at("10:00:00"))?.state).toBe("settled");
    expect(deliveryOf({ ...trade, delivered: "0" }, 15, at("11:00:00"))?.text).toBe("Delivered 0 of 1 kWh");
  });
});

describe("dated quotes with their fees", () => {
  it("a purchase: the energy, the buyer's fee on it, and the total, to the micro-dollar", () => {
    // 3 kWh at $0.17 with a $0.01 fee, against the grid's $0.20.
    expect(datedPurchaseQuote(1700n, 300n, 100n, 2000n)).toEqual({ energyCost: "0.51", fee: "0.03", total: "0.54", savingsVsGrid: "0.06" });
    // No fee: the total is the energy.
    expect(datedPurchaseQuote(1700n, 300n, 0n, 2000n)).toEqual({ energyCost: "0.51", fee: "0", total: "0.51", savingsVsGrid: "0.09" });
    // $0.0001/kWh on 0.01 kWh: one micro-dollar, never rounded away.
    expect(datedPurchaseQuote(1234n, 1n, 1n, 2000n)).toEqual({ energyCost: "0.001234", fee: "0.000001", total: "0.001235", savingsVsGrid: "0.000765" });
    // A fee can make the grid cheaper.
    expect(datedPurchaseQuote(1990n, 100n, 50n, 2000n).savingsVsGrid).toBe("-0.004");
  });

  it("a sale: the revenue, less the seller's fee, and the margin after it", () => {
    // 5 kWh at $0.16 with a $0.005 fee, against the grid's feed-in $0.10.
    expect(datedSaleQuote(1600n, 500n, 50n, 1000n)).toEqual({ revenue: "0.8", fee: "0.025", proceeds: "0.775", gainVsGrid: "0.275", marginPercent: "55" });
    expect(datedSaleQuote(1600n, 500n, 0n, 1000n)).toEqual({ revenue: "0.8", fee: "0", proceeds: "0.8", gainVsGrid: "0.3", marginPercent: "60" });
    expect(datedSaleQuote(1005n, 100n, 10n, 1000n)).toMatchObject({ proceeds: "0.0995", gainVsGrid: "-0.0005", marginPercent: "-0.5" });
  });
});
