import { describe, expect, it } from 'vitest';
import { BackendError, ERROR_CODES, titleFor, toBackendError } from './errors';

describe('toBackendError', () => {
  it('keeps the code and message Rust sent', () => {
    const err = toBackendError({ code: 'data_dir_unavailable', message: 'not a directory' });
    expect(err).toBeInstanceOf(BackendError);
    expect(err.code).toBe('data_dir_unavailable');
    expect(err.message).toBe('not a directory');
  });

  it('treats an unknown code as internal rather than trusting it', () => {
    expect(toBackendError({ code: 'weird', message: 'x' }).code).toBe('internal');
  });

  it('maps a plain string rejection (missing or forbidden command) to ipc', () => {
    const err = toBackendError('Command app_infox not found');
    expect(err.code).toBe('ipc');
    expect(err.message).toContain('not found');
  });

  it('keeps the per-field problems of a form error, dropping malformed ones', () => {
    const err = toBackendError({
      code: 'invalid_input',
      message: '2 fields need attention',
      fields: [{ field: 'business.ein', reason: 'must be 9 digits' }, { field: 3 }],
    });
    expect(err.fields).toEqual([{ field: 'business.ein', reason: 'must be 9 digits' }]);
    expect(toBackendError({ code: 'conflict', message: 'x' }).fields).toEqual([]);
  });

  it('never throws on odd values', () => {
    expect(toBackendError(undefined).code).toBe('ipc');
    expect(toBackendError({ code: 1, message: 2 }).code).toBe('ipc');
  });
});

describe('titleFor', () => {
  it('gives each code its own heading', () => {
    const titles = new Set(ERROR_CODES.map(titleFor));
    expect(titles.size).toBe(ERROR_CODES.length);
  });
});

describe('codes generated from Rust', () => {
  it('every code Rust can return is known and has its own heading', () => {
    for (const code of ERROR_CODES) {
      expect(titleFor(code).length).toBeGreaterThan(0);
      expect(toBackendError({ code, message: 'x' }).code).toBe(code);
    }
    // `unavailable` (the platform could not be asked) was missing from the hand-written list.
    expect(titleFor('unavailable')).not.toBe(titleFor('internal'));
  });
});
