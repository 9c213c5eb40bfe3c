// Delivery intervals as the household sees them: the intervals open for
// orders, which interval an order or trade is for, where a trade's delivery
// stands, and dated quotes with their fees. Money and energy in exact integer
// steps (rules.ts), never floats; times are compared as instants (milliseconds
// since the epoch), never as strings, for the core may write one instant in
// more than one way.

import type { DeliveryState } from "../bindings/DeliveryState";
import type { IntervalView } from "../bindings/IntervalView";
import type { LevelDepth } from "../bindings/LevelDepth";
import type { OrderView } from "../bindings/OrderView";
import type { TradeView } from "../bindings/TradeView";
import { clockRange, clockTime, kwh, meterFigure } from "./format";
import { ENERGY_SCALE, MONEY_SCALE, PRICE_SCALE, formatSteps, purchaseQuote, saleQuote, steps } from "./rules";

const MINUTE = 60_000;

/** An RFC 3339 time as the instant it names, in milliseconds since the epoch. */
export const instant = (at: string): number => Date.parse(at);

export const sameInstant = (a: string, b: string): boolean => instant(a) === instant(b);

/** When the interval starting at `start` ends. */
export const intervalEnd = (start: string, minutes: number): number => instant(start) + minutes * MINUTE;

/** The core's open intervals, less any whose gate has closed since they were read. */
export const stillOpen = (intervals: IntervalView[], now: number): IntervalView[] => intervals.filter((interval) => instant(interval.closes_at) > now);

/** The chosen interval while it is open; otherwise (none chosen, or it has closed) the first open one; null when none is open. */
export function selectedInterval(open: IntervalView[], chosen: string | null): IntervalView | null {
  return (chosen === null ? undefined : open.find((interval) => sameInstant(interval.start, chosen))) ?? open[0] ?? null;
}

/** The orders for delivery in the interval starting at `start`. Undated orders (legacy) belong to none. */
export const ofInterval = (orders: OrderView[], start: string): OrderView[] =>
  orders.filter((order) => order.interval !== null && sameInstant(order.interval, start));

/** An interval as the market offers it: "Delivery 12:15–12:30 · closes 12:10", in the home's locale and the device's time zone. */
export const intervalLabel = (interval: IntervalView): string => `Delivery ${clockRange(interval.start, interval.end)} · closes ${clockTime(interval.closes_at)}`;

/** Whether two instants fall on the same day in the device's time zone. */
const sameDay = (a: number, b: number) => new Date(a).toDateString() === new Date(b).toDateString();

/** An order's or trade's interval: "12:15–12:30", with the day ("1 Jun, 12:15–12:30") when it is not today's. */
export function intervalSpan(start: string, minutes: number, now: number): string {
  const from = instant(start);
  return clockRange(from, intervalEnd(start, minutes), !sameDay(from, now));
}

/** The depth of some orders (one side of one interval's book), by price level, in the orders' order (best first). */
export function depthOf(orders: OrderView[]): LevelDepth[] {
  const levels = new Map<bigint, { price: string; amount: bigint; orders: number }>();
  for (const order of orders) {
    const price = steps(order.price, PRICE_SCALE);
    const level = levels.get(price) ?? { price: order.price, amount: 0n, orders: 0 };
    level.amount += steps(order.remaining, ENERGY_SCALE);
    level.orders += 1;
    levels.set(price, level);
  }
  return [...levels.values()].map((level) => ({ price: level.price, amount: formatSteps(level.amount, ENERGY_SCALE), orders: level.orders }));
}

export type Delivery = { state: DeliveryState; text: string };

/**
 * Where a trade's delivery stands, for the trade history: nothing for an
 * undated trade; settled once the meters have said what it delivered
 * ("Delivered 0.8 of 1 kWh"); contracted until its interval ends; then
 * awaiting the meter readings.
 */
export function deliveryOf(trade: Pick<TradeView, "interval" | "delivered" | "amount">, minutes: number, now: number): Delivery | null {
  if (trade.interval === null) return null;
  if (trade.delivered !== null) return { state: "settled", text: `Delivered ${meterFigure(trade.delivered)} of ${kwh(trade.amount)}` };
  return now < intervalEnd(trade.interval, minutes) ? { state: "contracted", text: DELIVERY_STATES.contracted } : { state: "awaiting_meter", text: DELIVERY_STATES.awaiting_meter };
}

/** Each delivery state in words. */
export const DELIVERY_STATES: Record<DeliveryState, string> = {
  contracted: "Contracted",
  awaiting_meter: "Awaiting meter",
  settled: "Settled",
};

export type DatedPurchaseQuote = { energyCost: string; fee: string; total: string; savingsVsGrid: string };

/**
 * A purchase for an interval, delivered in full: the energy at its price, the
 * buyer's fee on it (`feeTicks`, $0.0001/kWh), what both come to, and the
 * savings against the grid after the fee. Exact: a tick times a 0.01 kWh step
 * is a whole micro-dollar, as the core's settlement counts it.
 */
export function datedPurchaseQuote(priceTicks: bigint, amount: bigint, feeTicks: bigint, gridBuyTicks: bigint): DatedPurchaseQuote {
  const all = purchaseQuote(priceTicks + feeTicks, amount, gridBuyTicks);
  return {
    energyCost: purchaseQuote(priceTicks, amount, gridBuyTicks).totalCost,
    fee: formatSteps(feeTicks * amount, MONEY_SCALE),
    total: all.totalCost,
    savingsVsGrid: all.savingsVsGrid,
  };
}

export type DatedSaleQuote = { revenue: string; fee: string; proceeds: string; gainVsGrid: string; marginPercent: string };

/**
 * A sale for an interval, delivered in full: the energy at its price, the
 * seller's fee on it, what is left (the proceeds), and the gain and margin
 * against the grid's feed-in price after the fee.
 */
export function datedSaleQuote(priceTicks: bigint, amount: bigint, feeTicks: bigint, gridSellTicks: bigint): DatedSaleQuote {
  const net = saleQuote(priceTicks - feeTicks, amount, gridSellTicks);
  return {
    revenue: saleQuote(priceTicks, amount, gridSellTicks).expectedRevenue,
    fee: formatSteps(feeTicks * amount, MONEY_SCALE),
    proceeds: net.expectedRevenue,
    gainVsGrid: net.gainVsGrid,
    marginPercent: net.marginPercent,
  };
}
