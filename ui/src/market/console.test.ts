import { describe, expect, it } from "vitest";
import type { InvitationView } from "../bindings/InvitationView";
import type { MemberView } from "../bindings/MemberView";
import type { ModeView } from "../bindings/ModeView";
import type { SettingsChange } from "../bindings/SettingsChange";
import {
  SETTINGS_ERRORS,
  checkInvitation,
  checkSettings,
  day,
  invitationState,
  isConsoleAdmin,
  memberActions,
  pendingFirst,
  settingsForm,
  sortActivity,
} from "./console";
import { sentence } from "./errors";

const member = (display_name: string, fields: Partial<MemberView> = {}): MemberView => ({
  membership_id: display_name.toLowerCase(),
  display_name,
  role: "member",
  status: "active",
  joined_at: "2026-05-01T12:00:00Z",
  approved_at: "2026-05-01T12:00:00Z",
  open_orders: 0,
  trades: 0,
  bought: "0",
  sold: "0",
  last_trade_at: null,
  ...fields,
});

describe("who runs the console, and what it can do to a member", () => {
  it("shows only to an active admin of a community", () => {
    const admin = { community: true, role: "admin", membership: "active" } as ModeView;
    expect(isConsoleAdmin(admin)).toBe(true);
    expect(isConsoleAdmin({ ...admin, role: "member" })).toBe(false);
    expect(isConsoleAdmin({ ...admin, membership: "suspended" })).toBe(false);
    expect(isConsoleAdmin({ ...admin, community: false })).toBe(false);
  });

  it("offers the actions that apply to each status", () => {
    expect(memberActions(member("A", { status: "pending" }))).toEqual(["approve"]);
    expect(memberActions(member("B"))).toEqual(["suspend", "make_admin"]);
    expect(memberActions(member("C", { role: "admin" }))).toEqual(["suspend", "make_member"]);
    expect(memberActions(member("D", { status: "suspended" }))).toEqual(["reinstate"]);
  });

  it("lists pending members first, otherwise as the server ordered them", () => {
    const names = pendingFirst([member("Ann"), member("Bo", { status: "pending" }), member("Cy", { status: "suspended" }), member("Di", { status: "pending" })]);
    expect(names.map((m) => m.display_name)).toEqual(["Bo", "Di", "Ann", "Cy"]);
  });
});

describe("invitations", () => {
  it("takes 1 to 1,000 uses and 1 to 90 days, whole numbers only", () => {
    expect(checkInvitation("10", " 7 ")).toEqual({ uses: 10, days: 7 });
    expect(checkInvitation("1000", "90")).toEqual({ uses: 1000, days: 90 });
    for (const [uses, days] of [["0", "7"], ["1001", "7"], ["1.5", "7"], ["10", "0"], ["10", "91"], ["", ""], ["-1", "1e1"]]) {
      const checked = checkInvitation(uses, days);
      expect(checked.uses === null || checked.days === null, `${uses} uses, ${days} days`).toBe(true);
    }
  });

  it("is active until revoked, expired or used up", () => {
    const now = Date.parse("2026-06-01T12:00:00Z");
    const invitation = { revoked_at: null, expires_at: "2026-06-02T12:00:00Z", uses_left: 3 } as InvitationView;
    expect(invitationState(invitation, now)).toBe("active");
    expect(invitationState({ ...invitation, uses_left: 0 }, now)).toBe("used_up");
    expect(invitationState({ ...invitation, expires_at: "2026-06-01T12:00:00Z" }, now)).toBe("expired");
    expect(invitationState({ ...invitation, revoked_at: "2026-05-31T12:00:00Z", uses_left: 0 }, now)).toBe("revoked");
  });
});

describe("community settings", () => {
  const current: SettingsChange = {
    name: "Default Street",
    min_price: "0.05",
    max_price: "1",
    grid_buy_price: "0.2",
    grid_sell_price: "0.1",
    co2_kg_per_kwh: "0.367",
    open_order_cap: 20,
  };
  const form = settingsForm(current);
  const unchanged: SettingsChange = { name: null, min_price: null, max_price: null, grid_buy_price: null, grid_sell_price: null, co2_kg_per_kwh: null, open_order_cap: null };

  it("sends nothing when nothing changed, however the numbers are written", () => {
    expect(checkSettings(current, form)).toEqual({ errors: {}, change: null });
    expect(checkSettings(current, { ...form, min_price: "0.0500", max_price: "1.00", name: "  Default   Street " }).change).toBeNull();
  });

  it("sends only the changed fields, normalised", () => {
    expect(checkSettings(current, { ...form, max_price: "0.50", open_order_cap: "50" })).toEqual({
      errors: {},
      change: { ...unchanged, max_price: "0.5", open_order_cap: 50 },
    });
    expect(checkSettings(current, { ...form, name: "Sunny  Row", co2_kg_per_kwh: "0" }).change).toEqual({ ...unchanged, name: "Sunny Row", co2_kg_per_kwh: "0" });
  });

  it("holds the market's limits, field by field", () => {
    const errors = (fields: Partial<typeof form>) => checkSettings(current, { ...form, ...fields }).errors;
    expect(errors({ min_price: "0.04" })).toEqual({ min_price: sentence("invalid_price") });
    expect(errors({ grid_buy_price: "1.0001" })).toEqual({ grid_buy_price: sentence("invalid_price") });
    expect(errors({ grid_buy_price: "0.12345" })).toEqual({ grid_buy_price: sentence("invalid_price") });
    expect(errors({ co2_kg_per_kwh: "2.001" })).toEqual({ co2_kg_per_kwh: SETTINGS_ERRORS.co2 });
    expect(errors({ co2_kg_per_kwh: "0.1234" })).toEqual({ co2_kg_per_kwh: SETTINGS_ERRORS.co2 });
    expect(errors({ co2_kg_per_kwh: "-0.1" })).toEqual({ co2_kg_per_kwh: SETTINGS_ERRORS.co2 });
    expect(errors({ open_order_cap: "0" })).toEqual({ open_order_cap: SETTINGS_ERRORS.cap });
    expect(errors({ open_order_cap: "10001" })).toEqual({ open_order_cap: SETTINGS_ERRORS.cap });
    expect(errors({ open_order_cap: "2.5" })).toEqual({ open_order_cap: SETTINGS_ERRORS.cap });
    expect(errors({ name: "   " })).toEqual({ name: SETTINGS_ERRORS.name });
    expect(errors({ name: "x".repeat(81) })).toEqual({ name: SETTINGS_ERRORS.name });
    expect(errors({ open_order_cap: "10000", co2_kg_per_kwh: "2", name: "x".repeat(80) })).toEqual({});
  });

  it("keeps the lowest price at most the highest, and the grid's buying price below its selling price", () => {
    expect(checkSettings(current, { ...form, min_price: "0.5", max_price: "0.4" })).toEqual({ errors: { max_price: SETTINGS_ERRORS.minAboveMax }, change: null });
    expect(checkSettings(current, { ...form, min_price: "0.4", max_price: "0.4" }).errors).toEqual({});
    expect(checkSettings(current, { ...form, grid_sell_price: "0.2" }).errors).toEqual({ grid_sell_price: SETTINGS_ERRORS.gridSellNotBelowBuy });
    expect(checkSettings(current, { ...form, grid_buy_price: "0.09" }).errors).toEqual({ grid_sell_price: SETTINGS_ERRORS.gridSellNotBelowBuy });
    // A price that isn't one is its own error, not compared.
    expect(checkSettings(current, { ...form, min_price: "abc" }).errors).toEqual({ min_price: sentence("invalid_price") });
  });
});

describe("dates", () => {
  it("reads as a day", () => {
    expect(day("2026-06-01T12:00:00Z")).toMatch(/^(May 31|Jun 1|Jun 2), 2026$/);
  });
});

describe("the activity table", () => {
  const members = [
    member("bob", { sold: "120", bought: "3.5", trades: 9, open_orders: 2, last_trade_at: "2026-06-01T10:00:00Z" }),
    member("Alice", { sold: "9.5", bought: "30", trades: 12, open_orders: 0, last_trade_at: "2026-06-01T11:00:00Z" }),
    member("Carol", { sold: "45", bought: "0", trades: 1, open_orders: 5, last_trade_at: null }),
  ];
  const order = (column: Parameters<typeof sortActivity>[1]["column"], descending = false) =>
    sortActivity(members, { column, descending }).map((m) => m.display_name);

  it("sorts kWh as numbers, not as text", () => {
    expect(order("sold")).toEqual(["Alice", "Carol", "bob"]);
    expect(order("sold", true)).toEqual(["bob", "Carol", "Alice"]);
    expect(order("bought", true)).toEqual(["Alice", "bob", "Carol"]);
  });

  it("sorts names regardless of case, and counts", () => {
    expect(order("display_name")).toEqual(["Alice", "bob", "Carol"]);
    expect(order("trades", true)).toEqual(["Alice", "bob", "Carol"]);
    expect(order("open_orders")).toEqual(["Alice", "bob", "Carol"]);
  });

  it("puts members who never traded last, either way", () => {
    expect(order("last_trade_at")).toEqual(["bob", "Alice", "Carol"]);
    expect(order("last_trade_at", true)).toEqual(["Alice", "bob", "Carol"]);
  });
});
