import { describe, expect, it } from "vitest";
import type { ModeView } from "../bindings/ModeView";
import { joinedMessage, membershipBanner, signedInMessage } from "./membership";

const mode = (membership: ModeView["membership"], extra: Partial<ModeView> = {}): ModeView => ({
  setup: "home",
  community: true,
  connection: "online",
  project_url: "https://abcd.supabase.co",
  anon_key: "sb_publishable_x",
  email: "erin@example.com",
  username: "Erin",
  community_id: "sunny-street",
  community_name: "Sunny Street",
  membership,
  role: membership === "none" ? null : "member",
  ...extra,
});

describe("what the household reads about its membership", () => {
  it("after joining: trading at once, or waiting for an admin", () => {
    expect(joinedMessage(mode("active"))).toBe("You're trading in Sunny Street as Erin.");
    expect(joinedMessage(mode("pending"))).toBe("You've joined Sunny Street as Erin. An admin will approve you soon.");
  });

  it("names the community by its id until its name is known", () => {
    expect(joinedMessage(mode("active", { community_name: null }))).toBe("You're trading in sunny-street as Erin.");
  });

  it("after signing in, by the membership's status", () => {
    expect(signedInMessage(mode("active"))).toBe("You're trading in Sunny Street as Erin.");
    expect(signedInMessage(mode("pending"))).toMatch(/^You're signed in\. Waiting for an admin of Sunny Street to approve you\./);
    expect(signedInMessage(mode("none", { community_id: null, community_name: null }))).toMatch(/Paste the invitation/);
  });

  it("a banner while the household can't trade, none once it can or in local mode", () => {
    expect(membershipBanner(mode("pending"))).toBe("Waiting for an admin of Sunny Street to approve you. Trading starts once you're approved.");
    expect(membershipBanner(mode("suspended"))).toBe("Your membership of Sunny Street is suspended. Ask an admin of your community.");
    expect(membershipBanner(mode("active"))).toBeNull();
    expect(membershipBanner(mode(null, { community: false, connection: "local" }))).toBeNull();
  });
});
