import { describe, expect, it } from "vitest";
import { invitationProject } from "./invitation";

// The Rust side's own example (crates/community/src/invitation.rs): the query
// is form-encoded, the code is its base64url with no padding.
const query = new URLSearchParams([
  ["project", "https://abcd.supabase.co"],
  ["key", "sb_publishable_x+y/z="],
  ["community", "sunny-street"],
  ["token", "Zm9v-YmFy_"],
]).toString();
const link = `lumea://join?${query}`;
const code = `LUMEA1-${btoa(query).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;

describe("the project an invitation names", () => {
  it("is read from a link and from the same invitation as a code", () => {
    const project = { url: "https://abcd.supabase.co", anonKey: "sb_publishable_x+y/z=" };
    expect(link.startsWith("lumea://join?project=https%3A%2F%2Fabcd.supabase.co&key=sb_publishable_x%2By%2Fz%3D")).toBe(true);
    expect(invitationProject(link)).toEqual(project);
    expect(invitationProject(`  ${code}\n`)).toEqual(project);
  });

  it("is none for anything else", () => {
    for (const text of ["", "https://abcd.supabase.co", "lumea://join", "LUMEA1-%%%", "LUMEA1-", link.replace(/key=[^&]*&/, "")]) {
      expect(invitationProject(text), text).toBeNull();
    }
  });
});
