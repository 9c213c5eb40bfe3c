// The operator console's rules: who sees it, what an admin may do to a member
// in each status, an invitation's settings and standing, the community
// settings form checked with the market's limits (exact integers, as rules.ts),
// and the activity table's order. The server checks everything again.

import type { InvitationView } from "../bindings/InvitationView";
import type { MemberAction } from "../bindings/MemberAction";
import type { MemberView } from "../bindings/MemberView";
import type { ModeView } from "../bindings/ModeView";
import type { SettingsChange } from "../bindings/SettingsChange";
import { sentence } from "./errors";
import { ENERGY_SCALE, PRICE_SCALE, checkPrice, formatSteps, parseSteps, steps } from "./rules";

/** Only an active admin of a community runs it; the server refuses anyone else (not_admin). */
export function isConsoleAdmin(mode: ModeView): boolean {
  return mode.community && mode.role === "admin" && mode.membership === "active";
}

/** What an admin can do to a member, in the order its buttons show. */
export function memberActions(member: MemberView): MemberAction[] {
  switch (member.status) {
    case "pending":
      return ["approve"];
    case "active":
      return ["suspend", member.role === "admin" ? "make_member" : "make_admin"];
    case "suspended":
      return ["reinstate"];
    case "none":
      return [];
  }
}

/** Pending members first, for they wait on the admin; otherwise in the server's order. */
export function pendingFirst(members: MemberView[]): MemberView[] {
  return [...members].sort((a, b) => Number(b.status === "pending") - Number(a.status === "pending"));
}

// An invitation's limits (the database's make_invitation).
const MAX_USES = 1000;
const MAX_DAYS = 90;

/** A whole number from `min` to `max`, typed as digits only; null for anything else. */
function whole(text: string, min: number, max: number): number | null {
  const trimmed = text.trim();
  if (!/^\d{1,6}$/.test(trimmed)) return null;
  const value = Number(trimmed);
  return value >= min && value <= max ? value : null;
}

export type InvitationCheck = { uses: number | null; days: number | null };

export function checkInvitation(uses: string, days: string): InvitationCheck {
  return { uses: whole(uses, 1, MAX_USES), days: whole(days, 1, MAX_DAYS) };
}

export type InvitationState = "active" | "revoked" | "expired" | "used_up";

export function invitationState(invitation: InvitationView, now: number = Date.now()): InvitationState {
  if (invitation.revoked_at !== null) return "revoked";
  if (Date.parse(invitation.expires_at) <= now) return "expired";
  return invitation.uses_left === 0 ? "used_up" : "active";
}

// The community's settings: the database's update_community_settings and
// crates/community's console.rs (MAX_OPEN_ORDER_CAP).
const MAX_NAME = 80;
const CO2_SCALE = 3;
const MAX_CO2_GRAMS = 2000n;
const MAX_OPEN_ORDER_CAP = 10_000;

/** The settings form: every field as typed. */
export type SettingsForm = Record<keyof SettingsChange, string>;
export type SettingsErrors = Partial<Record<keyof SettingsChange, string>>;

export const SETTINGS_ERRORS = {
  name: `A community name must be 1 to ${MAX_NAME} characters.`,
  minAboveMax: "The lowest price can't be above the highest price.",
  gridSellNotBelowBuy: "What the grid pays for energy must be below what it charges for it.",
  co2: "Enter from 0 to 2 kg of CO2 per kWh, with at most 3 decimals.",
  cap: "Enter a whole number of open orders from 1 to 10,000.",
};

/** The community's current settings as the form's first values. */
export function settingsForm(current: SettingsChange): SettingsForm {
  return {
    name: current.name ?? "",
    min_price: current.min_price ?? "",
    max_price: current.max_price ?? "",
    grid_buy_price: current.grid_buy_price ?? "",
    grid_sell_price: current.grid_sell_price ?? "",
    co2_kg_per_kwh: current.co2_kg_per_kwh ?? "",
    open_order_cap: current.open_order_cap === null ? "" : String(current.open_order_cap),
  };
}

/** Spaces collapsed and trimmed, as the server cleans a name. */
const cleanName = (text: string) => text.replace(/\s+/g, " ").trim();

/** Each field normalised ("0.10" and "0.1" are one price), or null where it breaks a rule. */
function normalised(form: SettingsForm) {
  const price = (text: string) => {
    const checked = checkPrice(text);
    return checked.ok ? formatSteps(checked.steps, PRICE_SCALE) : null;
  };
  const name = cleanName(form.name);
  const grams = parseSteps(form.co2_kg_per_kwh.trim(), CO2_SCALE);
  return {
    name: name.length > 0 && [...name].length <= MAX_NAME ? name : null,
    min_price: price(form.min_price),
    max_price: price(form.max_price),
    grid_buy_price: price(form.grid_buy_price),
    grid_sell_price: price(form.grid_sell_price),
    co2_kg_per_kwh: grams !== null && grams >= 0n && grams <= MAX_CO2_GRAMS ? formatSteps(grams, CO2_SCALE) : null,
    open_order_cap: whole(form.open_order_cap, 1, MAX_OPEN_ORDER_CAP),
  };
}

export type SettingsCheck = { errors: SettingsErrors; change: SettingsChange | null };

const ticks = (price: string | null) => (price === null ? null : steps(price, PRICE_SCALE));

/**
 * The form checked with the market's rules: the errors by field, and the
 * change to send, with only the fields that differ from `current` (null where
 * the form is invalid or changes nothing).
 */
export function checkSettings(current: SettingsChange, form: SettingsForm): SettingsCheck {
  const value = normalised(form);
  const errors: SettingsErrors = {};
  if (value.name === null) errors.name = SETTINGS_ERRORS.name;
  for (const field of ["min_price", "max_price", "grid_buy_price", "grid_sell_price"] as const) {
    // Read now: it names the home's currency.
    if (value[field] === null) errors[field] = sentence("invalid_price");
  }
  // Compared only where both are prices: a field that isn't one has its own error.
  const [min, max, buy, sell] = [value.min_price, value.max_price, value.grid_buy_price, value.grid_sell_price].map(ticks);
  if (min !== null && max !== null && min > max) errors.max_price = SETTINGS_ERRORS.minAboveMax;
  if (buy !== null && sell !== null && sell >= buy) errors.grid_sell_price = SETTINGS_ERRORS.gridSellNotBelowBuy;
  if (value.co2_kg_per_kwh === null) errors.co2_kg_per_kwh = SETTINGS_ERRORS.co2;
  if (value.open_order_cap === null) errors.open_order_cap = SETTINGS_ERRORS.cap;
  if (Object.keys(errors).length > 0) return { errors, change: null };

  const was = normalised(settingsForm(current));
  const fields = Object.keys(value) as (keyof SettingsChange)[];
  const change = Object.fromEntries(fields.map((field) => [field, value[field] === was[field] ? null : value[field]])) as SettingsChange;
  return { errors, change: fields.some((field) => change[field] !== null) ? change : null };
}

const calendar = new Intl.DateTimeFormat("en-US", { dateStyle: "medium" });

/** A member's or an invitation's date: "Jun 1, 2026", in the device's time zone. */
export const day = (iso: string) => calendar.format(new Date(iso));

/** The activity table's columns, by the member's field each shows. */
export type ActivityColumn = "display_name" | "open_orders" | "trades" | "bought" | "sold" | "last_trade_at";
export type ActivitySort = { column: ActivityColumn; descending: boolean };

const byName = new Intl.Collator("en", { sensitivity: "base", numeric: true });
const sign = (n: number | bigint) => (n > 0 ? 1 : n < 0 ? -1 : 0);

function compare(a: MemberView, b: MemberView, column: Exclude<ActivityColumn, "last_trade_at">): number {
  switch (column) {
    case "display_name":
      return byName.compare(a.display_name, b.display_name);
    case "open_orders":
    case "trades":
      return a[column] - b[column];
    case "bought":
    case "sold":
      // kWh as the core's decimal strings: compared as whole steps, never as floats.
      return sign(steps(a[column], ENERGY_SCALE) - steps(b[column], ENERGY_SCALE));
  }
}

/** The members in the table's order; members who never traded come last either way. */
export function sortActivity(members: MemberView[], { column, descending }: ActivitySort): MemberView[] {
  const direction = descending ? -1 : 1;
  return [...members].sort((a, b) => {
    if (column !== "last_trade_at") return direction * compare(a, b, column);
    if (a.last_trade_at === null || b.last_trade_at === null) return Number(a.last_trade_at === null) - Number(b.last_trade_at === null);
    return direction * sign(Date.parse(a.last_trade_at) - Date.parse(b.last_trade_at));
  });
}
