// Numbers as a household reads them: $ and kWh through Intl.NumberFormat, fed
// the core's exact decimal strings (never a float), and relative times.

const dollars = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 2 });
const unitPrice = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 4 });
const energy = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
const plain = new Intl.NumberFormat("en-US", { maximumFractionDigits: 3 });
const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto", style: "short" });

/** A decimal numeral as the core sends it ("0.16", "-0.05", "1000"). */
type Decimal = string;
// Intl formats decimal strings exactly (ECMA-402 NumberFormat v3).
const exact = (value: Decimal) => value as Intl.StringNumericLiteral;

export const money = (value: Decimal) => dollars.format(exact(value));
export const perKwh = (value: Decimal) => `${unitPrice.format(exact(value))}/kWh`;
export const kwh = (value: Decimal) => `${energy.format(exact(value))} kWh`;
export const tokens = (value: Decimal) => plain.format(exact(value));
export const km = (value: Decimal | null) => (value === null ? "—" : `${plain.format(exact(value))} km`);

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
