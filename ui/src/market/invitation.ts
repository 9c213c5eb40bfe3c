// An invitation as the household pastes it: the link a community's admin
// shares (lumea://join?project=…&key=…&community=…&token=…) or the same query
// as one code ("LUMEA1-" + base64url, no padding). The core reads and checks
// it (crates/community/src/invitation.rs); the UI reads only the project it
// names, to prefill sign-in once the email is confirmed.

const LINK_PREFIX = "lumea://join?";
const CODE_PREFIX = "LUMEA1-";

/** The query of a link or code, or null when the text is neither. */
function queryOf(text: string): string | null {
  const trimmed = text.trim();
  if (trimmed.startsWith(LINK_PREFIX)) return trimmed.slice(LINK_PREFIX.length);
  if (!trimmed.startsWith(CODE_PREFIX)) return null;
  const code = trimmed.slice(CODE_PREFIX.length);
  if (!/^[A-Za-z0-9_-]*$/.test(code)) return null;
  try {
    const binary = atob(code.replace(/-/g, "+").replace(/_/g, "/"));
    return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
}

/** The project an invitation names, or null when the text isn't one. */
export function invitationProject(text: string): { url: string; anonKey: string } | null {
  const query = queryOf(text);
  if (query === null) return null;
  const params = new URLSearchParams(query);
  const url = params.get("project")?.trim();
  const anonKey = params.get("key")?.trim();
  return url && anonKey ? { url, anonKey } : null;
}
