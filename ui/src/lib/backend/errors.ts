// The `{ code, message }` errors that Rust returns, and what the UI tells a person for each code.

import { CODES, type Code } from './generated';

/** Codes from `api::Code` (generated from Rust), plus `ipc` for a call that never reached Rust
 * properly. */
export type ErrorCode = Code | 'ipc';

export const ERROR_CODES: readonly ErrorCode[] = [...CODES, 'ipc'];
const KNOWN = ERROR_CODES;

export type { FieldIssue } from './generated';
import type { FieldIssue } from './generated';

export class BackendError extends Error {
  readonly code: ErrorCode;
  /** For `invalid_input` about a form: every failing field. */
  readonly fields: FieldIssue[];

  constructor(code: ErrorCode, message: string, fields: FieldIssue[] = []) {
    super(message);
    this.name = 'BackendError';
    this.code = code;
    this.fields = fields;
  }
}

function fieldIssues(raw: unknown): FieldIssue[] {
  if (!Array.isArray(raw)) return [];
  return raw.filter(
    (f): f is FieldIssue =>
      typeof f === 'object' && f !== null && typeof f.field === 'string' && typeof f.reason === 'string',
  );
}

/** Turns whatever `invoke` rejected with into a BackendError; never throws. */
export function toBackendError(raw: unknown): BackendError {
  if (raw instanceof BackendError) return raw;
  if (typeof raw === 'object' && raw !== null && 'code' in raw && 'message' in raw) {
    const { code, message, fields } = raw as { code: unknown; message: unknown; fields?: unknown };
    if (typeof code === 'string' && typeof message === 'string') {
      const known = (KNOWN as readonly string[]).includes(code);
      return new BackendError(known ? (code as ErrorCode) : 'internal', message, fieldIssues(fields));
    }
  }
  // Tauri rejects with a plain string when a command is missing or not permitted.
  const text = typeof raw === 'string' ? raw : raw instanceof Error ? raw.message : 'unknown error';
  return new BackendError('ipc', text);
}

/** A heading a person understands for each code; the Rust message is shown beneath it. */
export function titleFor(code: ErrorCode): string {
  switch (code) {
    case 'invalid_input':
      return 'Please check what you entered';
    case 'unauthorized':
      return 'Please sign in';
    case 'forbidden':
      return 'Your role may not do this';
    case 'bad_credentials':
      return 'Sign-in failed';
    case 'account_locked':
      return 'Account locked';
    case 'vault_not_created':
      return 'No vault yet';
    case 'vault_damaged':
      return 'The vault cannot be opened';
    case 'not_found':
      return 'Not found';
    case 'conflict':
      return 'That is not possible right now';
    case 'data_dir_unavailable':
      return 'The data folder cannot be used';
    case 'sanctions_hits_open':
      return 'Sanctions hits must be dispositioned first';
    case 'sanctions_match':
      return 'Confirmed sanctions match: it cannot be approved';
    case 'unavailable':
      return 'The payment platform could not be reached';
    case 'internal':
      return 'Something went wrong inside Boarding Desk';
    case 'ipc':
      return 'The window could not reach Boarding Desk';
  }
}
