// A statement's period: a month (by default this one) or a range of days, read
// in the device's time zone, as the core's range (delivery intervals starting
// in [from, to), RFC 3339), and the name its CSV file is saved under.

/** A month ("2026-06", as <input type="month"> has it), or days from `first` to `last` inclusive ("2026-06-03", as <input type="date">). */
export type Period = { kind: "month"; month: string } | { kind: "days"; first: string; last: string };

const MONTH = /^(\d{4})-(\d{2})$/;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

const two = (n: number) => String(n).padStart(2, "0");

/** The month `now` is in: "2026-06". */
export function monthOf(now: number): string {
  const date = new Date(now);
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}`;
}

/** `now`'s day: "2026-06-01". */
export function dayOf(now: number): string {
  const date = new Date(now);
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}`;
}

/** An instant as the core writes it: "2026-05-31T22:00:00Z". */
const rfc3339 = (at: Date) => at.toISOString().replace(/\.000Z$/, "Z");

/** Local midnight at the start of a day; months and days past their ends roll over, as Date does. */
const midnight = (year: number, month: number, day: number) => new Date(year, month - 1, day);

/** The core's range for a period: from the first local midnight in it to the one after it; null when the period is not one (a day before the first). */
export function periodRange(period: Period): { from: string; to: string } | null {
  if (period.kind === "month") {
    const found = MONTH.exec(period.month);
    if (!found) return null;
    const [year, month] = [Number(found[1]), Number(found[2])];
    if (month < 1 || month > 12) return null;
    return { from: rfc3339(midnight(year, month, 1)), to: rfc3339(midnight(year, month + 1, 1)) };
  }
  const [first, last] = [DAY.exec(period.first), DAY.exec(period.last)];
  if (!first || !last || period.last < period.first) return null;
  const from = midnight(Number(first[1]), Number(first[2]), Number(first[3]));
  const to = midnight(Number(last[1]), Number(last[2]), Number(last[3]) + 1);
  return { from: rfc3339(from), to: rfc3339(to) };
}

/** What the CSV file is saved as: "lumea-statement-2026-06.csv", or "lumea-statement-2026-06-03-to-2026-06-10.csv". */
export function csvFileName(period: Period): string {
  return period.kind === "month" ? `lumea-statement-${period.month}.csv` : `lumea-statement-${period.first}-to-${period.last}.csv`;
}
