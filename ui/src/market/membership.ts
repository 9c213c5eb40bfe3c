// What the household reads about its membership of a community: after signing
// up, joining or signing in, and in the banner while it can't trade.

import type { ModeView } from "../bindings/ModeView";

/** The community by its name, as the server gave it; its id before that. */
export function communityName(mode: ModeView): string {
  return mode.community_name ?? mode.community_id ?? "your community";
}

const asName = (mode: ModeView) => (mode.username ? ` as ${mode.username}` : "");

/** Just signed up or joined with an invitation. */
export function joinedMessage(mode: ModeView): string {
  switch (mode.membership) {
    case "pending":
      return `You've joined ${communityName(mode)}${asName(mode)}. An admin will approve you soon.`;
    case "suspended":
      return `Your membership of ${communityName(mode)} is suspended. Ask an admin of your community.`;
    default:
      return `You're trading in ${communityName(mode)}${asName(mode)}.`;
  }
}

/** Just signed in with an existing account. */
export function signedInMessage(mode: ModeView): string {
  switch (mode.membership) {
    case "none":
      return "You're signed in. Paste the invitation your community sent you to join it.";
    case "pending":
    case "suspended":
      return `You're signed in. ${membershipBanner(mode)}`;
    default:
      return `You're trading in ${communityName(mode)}${asName(mode)}.`;
  }
}

/** Community mode, while the household can't trade: why; null when it can (or in local mode). */
export function membershipBanner(mode: ModeView): string | null {
  if (!mode.community) return null;
  switch (mode.membership) {
    case "pending":
      return `Waiting for an admin of ${communityName(mode)} to approve you. Trading starts once you're approved.`;
    case "suspended":
      return `Your membership of ${communityName(mode)} is suspended. Ask an admin of your community.`;
    case "none":
      return "You're signed in but haven't joined a community yet. Paste the invitation your community sent you.";
    default:
      return null;
  }
}
