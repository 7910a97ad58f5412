// The status bar's "team store unavailable" line, from the refusal a call gets while the team
// store cannot be reached (Rust: `session::store_unavailable`).

import type { BackendError } from '../backend/errors';

/** The line to show, or null when `e` is not the team store being unreachable. */
export function storeDownLine(e: BackendError | null): string | null {
  if (!e || e.code !== 'unavailable' || !/^team store unavailable/.test(e.message)) return null;
  const [what] = e.message.split(': nothing was done');
  return `${what.charAt(0).toUpperCase()}${what.slice(1)} — this desk reconnects on its own`;
}
