// Every stable reason code the core sends, as a sentence a household understands.

import type { Reason } from "../bindings/Reason";

export type ReasonCode = Reason | "store_in_use" | "storage_failure" | "unknown";

const SENTENCES: Record<ReasonCode, string> = {
  duplicate_order: "That order has already been placed.",
  invalid_price: "Enter a price from $0.05 to $1.00 per kWh, with at most 4 decimals.",
  invalid_amount: "Enter an amount from 1 to 100 kWh, with at most 2 decimals.",
  invalid_expiry: "The expiry time must be in the future.",
  unknown_order: "That offer is no longer in the market.",
  not_owner: "Only the household that placed an order can cancel it.",
  not_open: "That order is no longer open.",
  self_trade: "You can't buy your own offer.",
  exceeds_available: "That is more than the offer has left.",
  exceeds_battery: "Your battery can't take that much energy.",
  insufficient_energy: "Your battery doesn't hold that much energy to sell.",
  invalid_username: "A name must be 1 to 40 characters.",
  invalid_location: "That location is not on the map.",
  invalid_setting: "That setting's value is out of range.",
  unknown_user: "There is no household with that name.",
  store_in_use: "The market is open in another Luméa window. Close it and try again.",
  storage_failure: "The market could not be saved. Nothing was changed; please try again.",
  unknown: "Something went wrong. Nothing was changed; please try again.",
};

/** Purchases and grid trades have no 1–100 kWh range: say what does apply. */
const PURCHASE_AMOUNT = "Enter an amount above 0 kWh, with at most 2 decimals.";

export function sentence(code: ReasonCode, context: "order" | "purchase" = "order"): string {
  if (code === "invalid_amount" && context === "purchase") return PURCHASE_AMOUNT;
  return SENTENCES[code] ?? SENTENCES.unknown;
}

export function isReasonCode(code: unknown): code is ReasonCode {
  return typeof code === "string" && code in SENTENCES;
}
