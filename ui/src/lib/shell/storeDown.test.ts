import { describe, expect, it } from 'vitest';
import { BackendError } from '../backend/errors';
import { storeDownLine } from './storeDown';

describe('team store unavailable line', () => {
  it('says since when the store is down, and nothing for other errors', () => {
    const down = new BackendError(
      'unavailable',
      'team store unavailable since 10:02:03 UTC: nothing was done; this desk reconnects on its own',
    );
    expect(storeDownLine(down)).toBe('Team store unavailable since 10:02:03 UTC — this desk reconnects on its own');
    expect(storeDownLine(new BackendError('unavailable', 'the platform could not be asked'))).toBeNull();
    expect(storeDownLine(new BackendError('conflict', 'team store unavailable'))).toBeNull();
    expect(storeDownLine(null)).toBeNull();
  });
});
