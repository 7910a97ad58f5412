// The one way a panel runs a backend call: clear the last error, run, and on failure either
// hand `unauthorized` to the shell (the session is gone) or show the error on the panel.

import { toBackendError, type BackendError } from '../backend/errors';

/** Runs `f`; returns whether it succeeded. */
export async function guarded(
  f: () => Promise<unknown>,
  show: (e: BackendError | null) => void,
  onerror: (e: BackendError) => void,
): Promise<boolean> {
  show(null);
  try {
    await f();
    return true;
  } catch (raw) {
    const e = toBackendError(raw);
    if (e.code === 'unauthorized') onerror(e);
    else show(e);
    return false;
  }
}
