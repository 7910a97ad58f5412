// The `{ code, message }` errors that Rust returns, and what the UI tells a person for each code.

/** Codes from `api::Code`, plus `ipc` for a call that never reached Rust properly. */
export type ErrorCode =
  | 'invalid_input'
  | 'unauthorized'
  | 'forbidden'
  | 'bad_credentials'
  | 'account_locked'
  | 'vault_not_created'
  | 'vault_damaged'
  | 'not_found'
  | 'conflict'
  | 'data_dir_unavailable'
  | 'internal'
  | 'ipc';

export const ERROR_CODES: readonly ErrorCode[] = [
  'invalid_input',
  'unauthorized',
  'forbidden',
  'bad_credentials',
  'account_locked',
  'vault_not_created',
  'vault_damaged',
  'not_found',
  'conflict',
  'data_dir_unavailable',
  'internal',
  'ipc',
];
const KNOWN = ERROR_CODES;

export class BackendError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'BackendError';
    this.code = code;
  }
}

/** Turns whatever `invoke` rejected with into a BackendError; never throws. */
export function toBackendError(raw: unknown): BackendError {
  if (raw instanceof BackendError) return raw;
  if (typeof raw === 'object' && raw !== null && 'code' in raw && 'message' in raw) {
    const { code, message } = raw as { code: unknown; message: unknown };
    if (typeof code === 'string' && typeof message === 'string') {
      const known = (KNOWN as readonly string[]).includes(code);
      return new BackendError(known ? (code as ErrorCode) : 'internal', message);
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
    case 'internal':
      return 'Something went wrong inside Boarding Desk';
    case 'ipc':
      return 'The window could not reach Boarding Desk';
  }
}
