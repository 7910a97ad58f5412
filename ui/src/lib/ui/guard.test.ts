import { describe, expect, it, vi } from 'vitest';
import { BackendError } from '../backend/errors';
import { guarded } from './guard';

describe('guarded', () => {
  it('clears, runs, shows a field error, and hands unauthorized to the shell', async () => {
    const show = vi.fn();
    const onerror = vi.fn();
    expect(await guarded(async () => 1, show, onerror)).toBe(true);
    expect(show).toHaveBeenCalledWith(null);
    expect(await guarded(async () => Promise.reject(new BackendError('invalid_input', 'x: bad')), show, onerror)).toBe(false);
    expect(show).toHaveBeenLastCalledWith(expect.objectContaining({ code: 'invalid_input' }));
    expect(await guarded(async () => Promise.reject(new BackendError('unauthorized', 'sign in')), show, onerror)).toBe(false);
    expect(onerror).toHaveBeenCalledWith(expect.objectContaining({ code: 'unauthorized' }));
  });
});
