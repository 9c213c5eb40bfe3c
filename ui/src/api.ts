// The app's commands and events: one typed call per Tauri command of the core.

import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type { AuthLinkResult } from "./bindings/AuthLinkResult";
import type { BookView } from "./bindings/BookView";
import type { CommandError } from "./bindings/CommandError";
import type { DeliveryView } from "./bindings/DeliveryView";
import type { EnergyView } from "./bindings/EnergyView";
import type { ErrorCode } from "./bindings/ErrorCode";
import type { GridPrices } from "./bindings/GridPrices";
import type { GridTransactionView } from "./bindings/GridTransactionView";
import type { HomeSettings } from "./bindings/HomeSettings";
import type { InvitationView } from "./bindings/InvitationView";
import type { MarketEvent } from "./bindings/MarketEvent";
import type { MarketStats } from "./bindings/MarketStats";
import type { MemberAction } from "./bindings/MemberAction";
import type { MemberView } from "./bindings/MemberView";
import type { ModeView } from "./bindings/ModeView";
import type { OpenedLinks } from "./bindings/OpenedLinks";
import type { OrderView } from "./bindings/OrderView";
import type { Outcome } from "./bindings/Outcome";
import type { ReadingView } from "./bindings/ReadingView";
import type { SettingsChange } from "./bindings/SettingsChange";
import type { Side } from "./bindings/Side";
import type { Statement } from "./bindings/Statement";
import type { TradePrint } from "./bindings/TradePrint";
import type { TradeView } from "./bindings/TradeView";
import { isErrorCode } from "./market/errors";

/** A refusal or failure from the core, by its stable code; `detail`: the core's own message, for the few refusals whose details help (a meter file's line). */
export class MarketError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail: string | null = null,
  ) {
    super(code);
  }
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (err) {
    // The shell rejects with a CommandError; anything else (or a code newer than this UI) is "unknown".
    const { code, message } = (err as Partial<CommandError> | null) ?? {};
    throw new MarketError(isErrorCode(code) ? code : "unknown", typeof message === "string" ? message : null);
  }
}

export const api = {
  book: () => call<BookView>("book"),
  energy: () => call<EnergyView>("energy"),
  stats: (hours: number) => call<MarketStats>("stats", { hours }),
  priceHistory: (hours: number) => call<TradePrint[]>("price_history", { hours }),
  gridPrices: () => call<GridPrices>("grid_prices"),
  /** The delivery rules (interval length, gate closure, fees) and the intervals open for orders now. */
  delivery: () => call<DeliveryView>("delivery"),
  /** Always dated: `interval` is the start of the delivery interval it is for (RFC 3339). */
  placeOrder: (side: Side, price: string, amount: string, interval: string) =>
    call<Outcome>("place_order", { id: crypto.randomUUID(), side, price, amount, interval }),
  cancelOrder: (id: string) => call<Outcome>("cancel_order", { id }),
  buyNow: (order: string, amount: string) => call<Outcome>("buy_now", { order, amount }),
  buyFromGrid: (amount: string) => call<GridTransactionView>("buy_from_grid", { amount }),
  sellToGrid: (amount: string) => call<GridTransactionView>("sell_to_grid", { amount }),
  myOrders: (limit: number, offset: number) => call<OrderView[]>("my_orders", { open: null, limit, offset }),
  myTrades: (limit: number, offset: number) => call<TradeView[]>("my_trades", { limit, offset }),
  // Local mode only: the community market answers not_available.
  /** My current meter readings, latest interval first. */
  meterReadings: (limit: number, offset: number) => call<ReadingView[]>("meter_readings", { limit, offset }),
  /** A meter file's text (CSV or Green Button XML), imported whole or not at all: how many readings it held. */
  importMeterFile: (contents: string) => call<number>("import_meter_file", { contents }),
  /** My statement for the delivery intervals starting in [from, to) (RFC 3339). */
  statement: (from: string, to: string) => call<Statement>("statement", { from, to }),
  /** The same statement as CSV text, for download. */
  statementCsv: (from: string, to: string) => call<string>("statement_csv", { from, to }),
  mode: () => call<ModeView>("mode"),
  signIn: (url: string, anonKey: string, email: string, password: string) => call<ModeView>("sign_in", { url, anonKey, email, password }),
  /** `invitation`: the community's invitation link (lumea://join?…) or code (LUMEA1-…), which names the project. */
  signUp: (invitation: string, email: string, password: string, username: string) =>
    call<ModeView>("sign_up", { invitation, email, password, username }),
  /** Signed in without a membership: joins the invitation's community. */
  joinCommunity: (invitation: string, username: string) => call<ModeView>("join_community", { invitation, username }),
  useLocalMode: () => call<ModeView>("use_local_mode"),
  /** The saved home; null before it is set up. */
  homeSettings: () => call<HomeSettings | null>("home_settings"),
  /** The home as the core stores it, its location coarsened to 3 decimals. */
  saveHome: (home: HomeSettings) => call<HomeSettings>("save_home", { home }),
  /** The first run's "Explore the demo". */
  exploreDemo: () => call<ModeView>("explore_demo"),
  /** The links the OS started the app with (kept by the shell until asked, once). */
  openedLinks: () => call<OpenedLinks>("opened_links"),
  /** E-mails a lumea://auth/callback link to choose a new password; the project is the one last used. */
  requestPasswordReset: (email: string) => call<null>("request_password_reset", { email }),
  /** Signed in by a recovery link: the account's new password. */
  setNewPassword: (password: string) => call<null>("set_new_password", { password }),

  // Operator console: for a community's active admins; the server refuses anyone else (not_admin).
  communityMembers: () => call<MemberView[]>("community_members"),
  /** `member`: its membership_id. */
  manageMember: (member: string, action: MemberAction) => call<MemberView>("manage_member", { member, action }),
  /** The new invitation carries its link, code and QR code: the only time they are shown. */
  createInvitation: (uses: number, days: number, preApproved: boolean) => call<InvitationView>("create_invitation", { uses, days, preApproved }),
  communityInvitations: () => call<InvitationView[]>("community_invitations"),
  /** `invitation`: its invitation_id. */
  revokeInvitation: (invitation: string) => call<InvitationView>("revoke_invitation", { invitation }),
  /** Every field set: the community's settings now. */
  communitySettings: () => call<SettingsChange>("community_settings"),
  /** Null fields are left as they are. */
  updateCommunitySettings: (change: SettingsChange) => call<null>("update_community_settings", { change }),
};

/** Each payload of a Tauri event, as it comes. Resolves to an unsubscribe function. */
const subscribe =
  <T>(name: string) =>
  (handler: (payload: T) => void): Promise<() => void> =>
    listen<T>(name, (event) => handler(event.payload));

/** The core's market events, as they are committed. */
export const onMarketEvent = subscribe<MarketEvent>("market");
/** The system opened the app with an invitation link (lumea://join?…). */
export const onInvitationOpened = subscribe<string>("invitation-opened");
/** The app handled a lumea://auth/callback link from an e-mail: what it finished, or why it couldn't. */
export const onAuthLink = subscribe<AuthLinkResult>("auth-link");
