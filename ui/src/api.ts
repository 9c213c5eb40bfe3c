// The app's commands and events: one typed call per Tauri command of the core.

import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type { BookView } from "./bindings/BookView";
import type { CommandError } from "./bindings/CommandError";
import type { EnergyView } from "./bindings/EnergyView";
import type { ErrorCode } from "./bindings/ErrorCode";
import type { GridPrices } from "./bindings/GridPrices";
import type { GridTransactionView } from "./bindings/GridTransactionView";
import type { MarketEvent } from "./bindings/MarketEvent";
import type { MarketStats } from "./bindings/MarketStats";
import type { ModeView } from "./bindings/ModeView";
import type { OrderView } from "./bindings/OrderView";
import type { Outcome } from "./bindings/Outcome";
import type { Side } from "./bindings/Side";
import type { TradePrint } from "./bindings/TradePrint";
import type { TradeView } from "./bindings/TradeView";
import { isErrorCode } from "./market/errors";

/** A refusal or failure from the core, by its stable code. */
export class MarketError extends Error {
  constructor(readonly code: ErrorCode) {
    super(code);
  }
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (err) {
    // The shell rejects with a CommandError; anything else (or a code newer than this UI) is "unknown".
    const code = (err as Partial<CommandError> | null)?.code;
    throw new MarketError(isErrorCode(code) ? code : "unknown");
  }
}

export const api = {
  book: () => call<BookView>("book"),
  energy: () => call<EnergyView>("energy"),
  stats: (hours: number) => call<MarketStats>("stats", { hours }),
  priceHistory: (hours: number) => call<TradePrint[]>("price_history", { hours }),
  gridPrices: () => call<GridPrices>("grid_prices"),
  placeOrder: (side: Side, price: string, amount: string) =>
    call<Outcome>("place_order", { id: crypto.randomUUID(), side, price, amount }),
  cancelOrder: (id: string) => call<Outcome>("cancel_order", { id }),
  buyNow: (order: string, amount: string) => call<Outcome>("buy_now", { order, amount }),
  buyFromGrid: (amount: string) => call<GridTransactionView>("buy_from_grid", { amount }),
  sellToGrid: (amount: string) => call<GridTransactionView>("sell_to_grid", { amount }),
  myOrders: (limit: number, offset: number) => call<OrderView[]>("my_orders", { open: null, limit, offset }),
  myTrades: (limit: number, offset: number) => call<TradeView[]>("my_trades", { limit, offset }),
  mode: () => call<ModeView>("mode"),
  signIn: (url: string, anonKey: string, email: string, password: string) => call<ModeView>("sign_in", { url, anonKey, email, password }),
  /** `invitation`: the community's invitation link (lumea://join?…) or code (LUMEA1-…), which names the project. */
  signUp: (invitation: string, email: string, password: string, username: string) =>
    call<ModeView>("sign_up", { invitation, email, password, username }),
  /** Signed in without a membership: joins the invitation's community. */
  joinCommunity: (invitation: string, username: string) => call<ModeView>("join_community", { invitation, username }),
  useLocalMode: () => call<ModeView>("use_local_mode"),
};

/** The core's market events, as they are committed. Resolves to an unsubscribe function. */
export function onMarketEvent(handler: (event: MarketEvent) => void): Promise<() => void> {
  return listen<MarketEvent>("market", (event) => handler(event.payload));
}
