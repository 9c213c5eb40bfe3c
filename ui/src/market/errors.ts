// Every stable code the core sends, as a sentence a household understands.

import type { ErrorCode } from "../bindings/ErrorCode";
import { priceRange } from "./format";

// Keyed by the core's own list of codes (generated from Rust): a code added
// there and missing here, or one here the core no longer has, fails the build.
// A sentence that names money is written when it is read, in the home's currency.
const SENTENCES: Record<ErrorCode, string | (() => string)> = {
  duplicate_order: "That order has already been placed.",
  invalid_price: () => `Enter a price from ${priceRange()} per kWh, with at most 4 decimals.`,
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
  invalid_location: "Enter the location as latitude, longitude in degrees, such as 51.507, -0.128.",
  invalid_setting: "That setting's value is out of range.",
  unknown_user: "There is no household with that name.",
  invalid_interval: "That is not the start of a delivery interval.",
  interval_closed: "That delivery interval's market has closed. Choose a later interval.",
  interval_not_open: "That delivery interval's market is not open yet. Choose an earlier interval.",
  interval_not_ended: "That delivery interval has not ended yet: readings and settlement come after it.",
  invalid_reading: "A meter reading must be 0 to 10,000 kWh with at most 3 decimal places.",
  exceeds_power: "That is more than your inverter can deliver in one interval.",
  invalid_meter_file: "The meter file can't be imported, so none of its readings were recorded.",
  not_available: "In a community, your community's operator imports the meter readings: files can't be imported here.",
  store_in_use: "The market is open in another Luméa window. Close it and try again.",
  storage_failure: "The market could not be saved. Nothing was changed; please try again.",
  offline: "The community market can't be reached. Check your connection; your orders wait and are sent when it's back.",
  server_error: "The community market had a problem. Please try again in a moment.",
  bad_server_answer: "The community market sent an answer the app can't use. Nothing was changed.",
  refused: "The community market refused that.",
  signed_out: "Your session has ended. Sign in again to keep trading.",
  invalid_credentials: "That email and password don't match an account.",
  email_taken: "An account with that email already exists. Sign in instead.",
  weak_password: "Choose a longer password (at least 6 characters).",
  invalid_email: "Enter a valid email address.",
  sign_up_refused: "The community market didn't accept the sign-up.",
  invalid_project: "Check the project URL (https://…) and the anon key.",
  too_many_open_orders: "You have too many open orders. Cancel one before placing another.",
  invalid_side: "An order must be to buy or to sell.",
  invalid_order_id: "That order's id is not valid.",
  invalid_ref: "That purchase's reference is not valid.",
  not_authenticated: "Sign in to trade in the community market.",
  not_member: "You haven't joined a community yet. Paste the invitation your community sent you.",
  membership_pending: "An admin of your community hasn't approved you yet. You'll be able to trade as soon as they do.",
  membership_suspended: "Your membership is suspended. Ask an admin of your community.",
  already_member: "You're already a member of a community on this market.",
  invalid_invitation: "That invitation isn't valid. Check that you pasted the whole link or code.",
  invitation_expired: "This invitation has expired. Ask your community for a new one.",
  invitation_used_up: "This invitation has been used as many times as it allows. Ask your community for a new one.",
  invitation_revoked: "This invitation has been withdrawn. Ask your community for a new one.",
  invalid_invitation_settings: "An invitation must be usable 1 to 1,000 times and expire within 90 days.",
  unknown_invitation: "That invitation no longer exists.",
  username_taken: "Someone in this community already uses that name. Choose another.",
  not_admin: "Only an admin of your community can do that.",
  last_admin: "Your community needs at least one admin. Make someone else an admin first.",
  unknown_member: "That member is no longer in your community.",
  invalid_member_status: "That member's status doesn't allow this any more.",
  invalid_action: "That action isn't available for members.",
  invalid_community: "A community needs an id of lowercase letters, digits, - or _ and a name of 1 to 80 characters.",
  community_exists: "A community with that id already exists.",
  home_change_too_soon: "Your home can be moved once a day. Try again tomorrow.",
  home_not_set: "Set up your home first: your community's market needs its location and battery.",
  invalid_battery: "Enter a battery capacity above 0 and up to 100 kWh, and what it holds now (0 up to the capacity), with at most 2 decimals.",
  invalid_pv_size: "Enter your solar panels' peak power above 0 and up to 100 kWp, with at most 2 decimals, or leave it empty.",
  invalid_locale: "Enter a language and region such as en-GB, or a language such as en.",
  invalid_currency: "Choose a currency by its three-letter code, such as EUR or GBP.",
  invalid_auth_link: "That link has expired or was already used. Ask for a new one.",
  rate_limited: "Too many attempts for now. Wait a minute and try again.",
  email_not_confirmed: "Confirm your email first: open the link we sent you, then sign in.",
  unknown: "Something went wrong. Nothing was changed; please try again.",
};

/** Purchases and grid trades have no 1–100 kWh range: say what does apply. */
const PURCHASE_AMOUNT = "Enter an amount above 0 kWh, with at most 2 decimals.";

export function sentence(code: ErrorCode, context: "order" | "purchase" = "order"): string {
  if (code === "invalid_amount" && context === "purchase") return PURCHASE_AMOUNT;
  // A code from a newer core than this UI still reads as a sentence.
  const text = SENTENCES[isErrorCode(code) ? code : "unknown"];
  return typeof text === "function" ? text() : text;
}

/** How the core's message for a meter file begins (crates/store's Error::MeterFile): the sentence says it already. */
const METER_FILE_PREFIX = "the meter file cannot be imported, nothing was: ";

/**
 * What the core's message adds to the sentence, for the refusals whose message
 * helps: a meter file's, which names the line or element and what is wrong
 * there ("line 3: import_kwh …"). Null for every other refusal.
 */
export function refusalDetail(code: ErrorCode, message: string | null): string | null {
  if (code !== "invalid_meter_file" || !message) return null;
  return message.startsWith(METER_FILE_PREFIX) ? message.slice(METER_FILE_PREFIX.length) : message;
}

/** One of the core's codes; own keys only, so "constructor" or "toString" is none. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && Object.hasOwn(SENTENCES, code);
}
