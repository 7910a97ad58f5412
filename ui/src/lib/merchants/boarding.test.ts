import { describe, expect, it } from 'vitest';
import { healthLine, nextRetry, senderLine, stateLabel, stepLabel } from './boarding';

describe('boarding helpers', () => {
  it('names steps the way an underwriter reads them', () => {
    expect(stepLabel('account')).toBe('Create account');
    expect(stepLabel('person:0')).toBe('Add person 1');
    expect(stepLabel('provided')).toBe('Confirm owners');
    expect(stepLabel('send', 'update')).toBe('Update account');
    expect(stepLabel('new_person:1', 'update')).toBe('Add person 2');
    expect(stepLabel('update_person:person_a', 'update')).toBe('Update person');
    expect(stepLabel('delete_person:person_b', 'update')).toBe('Remove person');
    expect(stepLabel('send', 'reject')).toBe('Terminate account');
    expect(stepLabel('done', 'reject')).toBe('Terminate account');
    expect(stepLabel('delete_account', 'reject')).toBe('Delete account (erasure)');
    expect(stepLabel('done', 'reject', 'gdpr erasure')).toBe('Delete account (erasure)');
    expect(stepLabel('done')).toBe('Done');
    expect(stateLabel({ kind: 'board', state: 'done' })).toBe('Boarded');
    expect(stateLabel({ kind: 'reject', state: 'done' })).toBe('Sent');
    expect(stateLabel({ kind: 'update', state: 'retrying' })).toBe('Retrying');
    expect(stepLabel('weird')).toBe('weird');
  });

  it('shows when a waiting job is retried', () => {
    const now = 1_000_000;
    expect(nextRetry({ state: 'retrying', next_attempt_at: now + 12_400 }, now)).toBe('in 12 s');
    expect(nextRetry({ state: 'retrying', next_attempt_at: now + 180_000 }, now)).toBe('in 3 min');
    expect(nextRetry({ state: 'queued', next_attempt_at: now - 5 }, now)).toBe('now');
    expect(nextRetry({ state: 'needs_fix', next_attempt_at: now + 5000 }, now)).toBe('—');
  });

  it('says since when the platform is down, and nothing when it is up', () => {
    expect(healthLine({ state: 'up' })).toBeNull();
    expect(healthLine(null)).toBeNull();
    const line = healthLine({ state: 'down', since: '2026-11-26T10:00:00Z', failures: 7, retry_at: '2026-11-26T10:01:00Z' }, 'en-GB');
    expect(line).toMatch(/^Platform unavailable since \d\d:\d\d:\d\d \(7 failures; next try \d\d:\d\d:\d\d\)$/);
  });

  it('says which desk sends the outbox, and that the team store is down', () => {
    expect(senderLine(null)).toBeNull();
    expect(senderLine({ state: 'idle' })).toBeNull();
    expect(senderLine({ state: 'this_desk', since: '2026-11-26T10:00:00Z' }, 'en-GB')).toMatch(
      /^This desk sends the outbox \(since \d\d:\d\d:\d\d\)$/,
    );
    expect(senderLine({ state: 'other_desk', by: 'uma at desk 1a2b3c4d', since: '2026-11-26T10:00:00Z' }, 'en-GB')).toMatch(
      /^uma at desk 1a2b3c4d sends the outbox \(since \d\d:\d\d:\d\d\); this desk stands by/,
    );
    expect(senderLine({ state: 'other_desk', by: null, since: null })).toBe(
      'Another desk sends the outbox; this desk stands by and takes over if it stops',
    );
    expect(senderLine({ state: 'unreachable', since: '2026-11-26T10:00:00Z' }, 'en-GB')).toMatch(
      /^Team store unavailable since \d\d:\d\d:\d\d: this desk sends nothing/,
    );
    expect(senderLine({ state: 'nobody' })).toBe('No desk sends the outbox now');
  });
});
