// A form's command to the core: busy while it runs, and its refusal as the
// sentence the form shows, unless the form handles that code itself.

import { useState } from "react";
import type { ErrorCode } from "./bindings/ErrorCode";
import { MarketError } from "./api";
import { sentence } from "./market/errors";

export const codeOf = (err: unknown): ErrorCode => (err instanceof MarketError ? err.code : "unknown");

export function useCommand() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  /** `refused`: true when it has handled the code, so no sentence is shown. */
  const run = async <T>(action: () => Promise<T>, done: (result: T) => void, refused?: (code: ErrorCode) => boolean) => {
    setBusy(true);
    setError(null);
    try {
      done(await action());
    } catch (err) {
      const code = codeOf(err);
      if (!refused?.(code)) setError(sentence(code));
    } finally {
      setBusy(false);
    }
  };

  return { run, busy, error, clearError: () => setError(null) };
}
