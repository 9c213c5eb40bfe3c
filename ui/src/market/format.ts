// Numbers as a household reads them, through Intl.NumberFormat, fed the core's
// exact decimal strings (never a float), relative times, and times of day
// (Intl.DateTimeFormat, in the device's time zone). Money and times are in the
// home's currency and locale once it is set up; before that (the demo) in $
// and en-US.

import { MAX_PRICE, MIN_PRICE, PRICE_SCALE, formatSteps } from "./rules";

/** How figures are written: a BCP 47 locale and an ISO 4217 currency. */
export type Figures = { locale: string; currency: string };

const DEMO: Figures = { locale: "en-US", currency: "USD" };

function formatters({ locale, currency }: Figures) {
  const cash = (decimals: number) => new Intl.NumberFormat(locale, { style: "currency", currency, minimumFractionDigits: 2, maximumFractionDigits: decimals });
  const number = (decimals: number) => new Intl.NumberFormat(locale, { maximumFractionDigits: decimals });
  const time = (options: Intl.DateTimeFormatOptions) => new Intl.DateTimeFormat(locale, options);
  return {
    key: `${locale} ${currency}`,
    money: cash(2),
    exactMoney: cash(6),
    unitPrice: cash(4),
    energy: number(2),
    plain: number(3),
    clock: time({ hour: "numeric", minute: "2-digit" }),
    dayClock: time({ month: "short", day: "numeric", hour: "numeric", minute: "2-digit" }),
    day: time({ day: "numeric", month: "short", year: "numeric" }),
    month: time({ month: "long", year: "numeric" }),
  };
}

let figures = formatters(DEMO);

/**
 * Writes figures as the home says from now on; null: as the demo does. A
 * locale or currency this browser's Intl refuses keeps the demo's. The caller
 * renders what it shows again.
 */
export function writeFiguresAs(home: Figures | null) {
  const wanted = home ?? DEMO;
  if (`${wanted.locale} ${wanted.currency}` === figures.key) return;
  figures = figuresOr(wanted) ?? formatters(DEMO);
}

function figuresOr(wanted: Figures): ReturnType<typeof formatters> | null {
  try {
    return formatters(wanted);
  } catch {
    return null;
  }
}

/** How money and energy will look with these figures, for the home form; null when Intl refuses them. */
export function figuresExample(wanted: Figures): string | null {
  const example = figuresOr(wanted);
  return example && `${example.money.format(exact("1234.5"))} · ${example.energy.format(exact("4.5"))} kWh`;
}

/** A decimal numeral as the core sends it ("0.16", "-0.05", "1000"). */
type Decimal = string;
// Intl formats decimal strings exactly (ECMA-402 NumberFormat v3).
const exact = (value: Decimal) => value as Intl.StringNumericLiteral;
const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto", style: "short" });

export const money = (value: Decimal) => figures.money.format(exact(value));
/** Money to the micro-dollar, as fees and settlements count it: "$0.025", "$0.80". */
export const exactMoney = (value: Decimal) => figures.exactMoney.format(exact(value));
export const perKwh = (value: Decimal) => `${figures.unitPrice.format(exact(value))}/kWh`;
export const kwh = (value: Decimal) => `${figures.energy.format(exact(value))} kWh`;
export const kwp = (value: Decimal) => `${figures.energy.format(exact(value))} kWp`;
export const tokens = (value: Decimal) => figures.plain.format(exact(value));
/** Energy as meters count it, to the Wh: "0.805 kWh". */
export const meterKwh = (value: Decimal) => `${figures.plain.format(exact(value))} kWh`;
/** The number alone, as meterKwh writes it: "0.805". */
export const meterFigure = (value: Decimal) => figures.plain.format(exact(value));
export const km = (value: Decimal | null) => (value === null ? "—" : `${figures.plain.format(exact(value))} km`);
/** The currency's sign for a unit ("$", "£", "CHF"). */
export const currencySign = () => figures.money.formatToParts(0).find((part) => part.type === "currency")?.value ?? "";
/** The range of an order's price: "$0.05 to $1.00". */
export const priceRange = () => `${money(formatSteps(MIN_PRICE, PRICE_SCALE))} to ${money(formatSteps(MAX_PRICE, PRICE_SCALE))}`;

/** An instant as the core sends it (RFC 3339). */
type Instant = string;

/** A time of day: "12:15" (en-GB), "12:15 PM" (en-US). */
export const clockTime = (at: Instant) => figures.clock.format(new Date(at));
/** From one time to another: "12:15–12:30"; with the day, "1 Jun, 12:15–12:30". */
export const clockRange = (from: Instant | number, to: Instant | number, withDay = false) =>
  (withDay ? figures.dayClock : figures.clock).formatRange(new Date(from), new Date(to));
/** A day: "1 Jun 2026". */
export const writtenDay = (at: Instant | number) => figures.day.format(new Date(at));
/** A month: "June 2026". */
export const writtenMonth = (at: Instant | number) => figures.month.format(new Date(at));

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["day", 86_400],
  ["hour", 3_600],
  ["minute", 60],
];

/** "just now", "3 min. ago", "2 hr. ago", "yesterday". */
export function since(iso: string, now: number = Date.now()): string {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return relative.format(Math.trunc(seconds / size), unit);
  }
  return "just now";
}
