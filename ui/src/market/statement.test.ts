import { describe, expect, it } from "vitest";
import { csvFileName, dayOf, monthOf, periodRange } from "./statement";

// The unit tests read times in Europe/Paris (vite.config.ts): UTC+2 in summer, +1 in winter.
describe("a statement's period", () => {
  it("is this month by default, in the device's time zone", () => {
    expect(monthOf(Date.parse("2026-06-01T09:56:30Z"))).toBe("2026-06");
    // Already July in Paris.
    expect(monthOf(Date.parse("2026-06-30T22:30:00Z"))).toBe("2026-07");
    expect(dayOf(Date.parse("2026-06-30T22:30:00Z"))).toBe("2026-07-01");
  });

  it("a month runs from its first local midnight to the next month's", () => {
    expect(periodRange({ kind: "month", month: "2026-06" })).toEqual({ from: "2026-05-31T22:00:00Z", to: "2026-06-30T22:00:00Z" });
    // Across the change to winter time, and the year's end.
    expect(periodRange({ kind: "month", month: "2026-10" })).toEqual({ from: "2026-09-30T22:00:00Z", to: "2026-10-31T23:00:00Z" });
    expect(periodRange({ kind: "month", month: "2026-12" })).toEqual({ from: "2026-11-30T23:00:00Z", to: "2026-12-31T23:00:00Z" });
  });

  it("a range of days includes its last day", () => {
    expect(periodRange({ kind: "days", first: "2026-06-03", last: "2026-06-10" })).toEqual({ from: "2026-06-02T22:00:00Z", to: "2026-06-10T22:00:00Z" });
    expect(periodRange({ kind: "days", first: "2026-06-03", last: "2026-06-03" })).toEqual({ from: "2026-06-02T22:00:00Z", to: "2026-06-03T22:00:00Z" });
    expect(periodRange({ kind: "days", first: "2026-06-30", last: "2026-07-01" })?.to).toBe("2026-07-01T22:00:00Z");
  });

  it("is none when it isn't one", () => {
    expect(periodRange({ kind: "days", first: "2026-06-10", last: "2026-06-03" })).toBeNull();
    expect(periodRange({ kind: "days", first: "", last: "2026-06-03" })).toBeNull();
    expect(periodRange({ kind: "month", month: "" })).toBeNull();
    expect(periodRange({ kind: "month", month: "2026-13" })).toBeNull();
  });

  it("names the CSV file", () => {
    expect(csvFileName({ kind: "month", month: "2026-06" })).toBe("lumea-statement-2026-06.csv");
    expect(csvFileName({ kind: "days", first: "2026-06-03", last: "2026-06-10" })).toBe("lumea-statement-2026-06-03-to-2026-06-10.csv");
  });
});
