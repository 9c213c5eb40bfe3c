// The household's home as the setup form checks it, mirroring the Rust core
// (crates/market/src/home.rs and names.rs): the same fields are refused with
// the same codes, so the inline hints say what the core will say. The core
// checks everything again and answers with the home as it stores it.

import type { ErrorCode } from "../bindings/ErrorCode";
import type { HomeSettings } from "../bindings/HomeSettings";
import { ENERGY_SCALE, formatSteps, parseSteps } from "./rules";

export type HomeField = keyof HomeSettings;

/** The problems of a form, each at its field, in the form's order. */
export type HomeProblems = Partial<Record<HomeField, ErrorCode>>;

const MAX_DISPLAY_NAME = 40;
/** 100 kWh, in 0.01 kWh steps: several stacked home units. */
const MAX_BATTERY = 10_000n;
/** 100 kWp, in 0.01 kWp steps (the same scale as energy). */
const MAX_PV = 10_000n;

// Every kind of space reads as one plain space; what shows nothing (controls,
// bidi, zero-width, tags) is removed. The lists are names.rs's, by code point.
const SPACES = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000]);
const isSpace = (c: number) => SPACES.has(c) || (c >= 0x2000 && c <= 0x200a);
const INVISIBLE: [number, number][] = [
  [0x00, 0x1f], [0x7f, 0x9f], [0xad, 0xad], [0x34f, 0x34f], [0x61c, 0x61c], [0x115f, 0x1160], [0x17b4, 0x17b5], [0x180b, 0x180f],
  [0x200b, 0x200f], [0x202a, 0x202e], [0x2060, 0x206f], [0x2800, 0x2800], [0x3164, 0x3164], [0xfe00, 0xfe0f], [0xfeff, 0xfeff],
  [0xffa0, 0xffa0], [0xfff0, 0xfffb], [0xe0000, 0xe007f],
];
const isInvisible = (c: number) => INVISIBLE.some(([low, high]) => c >= low && c <= high);

/** A display name as neighbours read it, or null when not 1 to 40 characters remain. */
export function displayName(text: string): string | null {
  let name = "";
  for (const char of text) {
    const c = isSpace(char.codePointAt(0)!) ? " " : char;
    if (isInvisible(c.codePointAt(0)!) || (c === " " && (name === "" || name.endsWith(" ")))) continue;
    name += c;
  }
  name = name.replace(/ +$/, "");
  const length = [...name].length;
  return length >= 1 && length <= MAX_DISPLAY_NAME ? name : null;
}

const NUMERAL = /^-?\d+(\.\d+)?$/;

/** A signed decimal, or an unsigned one with its hemisphere letter after it ("0.1276W"). */
function degrees(text: string, positive: string, negative: string): number | null {
  const upper = text.toUpperCase();
  const sign = upper.endsWith(positive) ? 1 : upper.endsWith(negative) ? -1 : null;
  const number = (sign === null ? upper : upper.slice(0, -1)).replace(/°+$/, "");
  if (!NUMERAL.test(number) || (sign !== null && number.startsWith("-"))) return null;
  return (sign ?? 1) * Number(number);
}

/** Thousandths of a degree, rounded half away from zero as Rust's f64::round. */
const thousandths = (value: number) => Math.sign(value) * Math.round(Math.abs(value) * 1000);

/**
 * "latitude, longitude" as people type or paste it ("51.5072, -0.1276",
 * "51.5072 -0.1276", "51.5072° N, 0.1276° W"), coarsened to 3 decimals
 * (about 100 m) as the core stores it: "51.507, -0.128"; null when off the map.
 */
export function coarseLocation(text: string): string | null {
  const parts = text.split(/[,; ]/).filter((part) => part !== "");
  let pair: [number | null, number | null];
  if (parts.length === 2) pair = [degrees(parts[0], "N", "S"), degrees(parts[1], "E", "W")];
  // Each hemisphere letter a word of its own: "51.5072 N, 0.1276 W".
  else if (parts.length === 4) pair = [degrees(parts[0] + parts[1], "N", "S"), degrees(parts[2] + parts[3], "E", "W")];
  else return null;
  const [lat, lng] = pair;
  if (lat === null || lng === null || Math.abs(lat) > 90 || Math.abs(lng) > 180) return null;
  const show = (value: number) => (thousandths(value) / 1000).toFixed(3);
  return `${show(lat)}, ${show(lng)}`;
}

/**
 * A language tag as formatting needs it: a language, then optionally a script
 * and a region ("en", "en-GB", "zh-Hant-TW", "es-419"), in the usual case;
 * null for anything else.
 */
export function languageTag(text: string): string | null {
  const [language, ...rest] = text.trim().split(/[-_]/);
  if (!/^[A-Za-z]{2,3}$/.test(language)) return null;
  const tag = [language.toLowerCase()];
  if (rest.length > 0 && /^[A-Za-z]{4}$/.test(rest[0])) {
    const script = rest.shift()!;
    tag.push(script[0].toUpperCase() + script.slice(1).toLowerCase());
  }
  if (rest.length === 1 && /^([A-Za-z]{2}|\d{3})$/.test(rest[0])) tag.push(rest[0].toUpperCase());
  else if (rest.length > 0) return null;
  return tag.join("-");
}

const blank = (field: string | null) => (field === null || field.trim() === "" ? null : field.trim());

/** Checks the form field by field; the home as the core would store it when nothing is wrong. */
export function checkHome(form: HomeSettings): { ok: true; home: HomeSettings } | { ok: false; problems: HomeProblems } {
  const problems: HomeProblems = {};
  const name = displayName(form.display_name);
  if (name === null) problems.display_name = "invalid_username";
  const location = coarseLocation(form.location);
  if (location === null) problems.location = "invalid_location";

  // Both empty: no battery. Otherwise a capacity of up to 100 kWh and a level within it.
  const capacityText = blank(form.battery_capacity);
  const levelText = blank(form.battery_level);
  const capacity = capacityText === null ? null : parseSteps(capacityText, ENERGY_SCALE);
  const level = levelText === null ? null : parseSteps(levelText, ENERGY_SCALE);
  if (capacityText !== null || levelText !== null) {
    if (capacity === null || capacity <= 0n || capacity > MAX_BATTERY) problems.battery_capacity = "invalid_battery";
    else if (level === null || level < 0n || level > capacity) problems.battery_level = "invalid_battery";
  }

  const pvText = blank(form.pv_kwp);
  const pv = pvText === null ? null : parseSteps(pvText, ENERGY_SCALE);
  if (pvText !== null && (pv === null || pv <= 0n || pv > MAX_PV)) problems.pv_kwp = "invalid_pv_size";

  const locale = languageTag(form.locale);
  if (locale === null) problems.locale = "invalid_locale";
  const currency = form.currency.trim();
  if (!/^[A-Z]{3}$/.test(currency)) problems.currency = "invalid_currency";

  if (name === null || location === null || locale === null || Object.keys(problems).length > 0) return { ok: false, problems };
  // Printed as the core prints a decimal: "4.20" comes back "4.2".
  const decimal = (steps: bigint | null) => (steps === null ? null : formatSteps(steps, ENERGY_SCALE));
  return {
    ok: true,
    home: {
      display_name: name,
      location,
      battery_capacity: decimal(capacity),
      battery_level: decimal(level),
      pv_kwp: decimal(pv),
      locale,
      currency,
    },
  };
}

/** The currency most homes in a region pay in; the euro for any region not listed. */
const CURRENCY_OF_REGION: Record<string, string> = {
  GB: "GBP",
  US: "USD",
  CH: "CHF",
  SE: "SEK",
  NO: "NOK",
  DK: "DKK",
  PL: "PLN",
  CZ: "CZK",
  HU: "HUF",
  CA: "CAD",
  AU: "AUD",
  NZ: "NZD",
  JP: "JPY",
  IN: "INR",
  ZA: "ZAR",
  BR: "BRL",
  MX: "MXN",
};

/** The currencies the form offers. */
export const CURRENCIES = ["EUR", ...Object.values(CURRENCY_OF_REGION)].sort();

/** This device's language, as the form starts with it: "en-US" when it has none the core takes. */
export function deviceLocale(): string {
  return languageTag(navigator.language) ?? languageTag(navigator.language.split("-")[0]) ?? "en-US";
}

/** The currency a locale's region suggests. */
export function regionCurrency(locale: string): string {
  const region = languageTag(locale)?.split("-").find((part) => /^[A-Z]{2}$/.test(part));
  return (region && CURRENCY_OF_REGION[region]) || "EUR";
}
