import { describe, expect, it } from 'vitest';
import { REASONS, actionsFor, money } from './admin';

describe('merchant administration helpers', () => {
  it('offers only the moves Rust allows from each status', () => {
    expect(actionsFor('active')).toEqual(['restrict', 'suspend', 'terminate']);
    expect(actionsFor('restricted')).toEqual(['suspend', 'reinstate', 'terminate']);
    expect(actionsFor('suspended')).toEqual(['reinstate', 'terminate']);
    expect(actionsFor('terminated')).toEqual([]);
  });

  it('has reason codes for every action and formats limits', () => {
    for (const list of Object.values(REASONS)) expect(list).toContain('other');
    expect(money(150_000)).toBe('1,500.00');
    expect(money(null)).toBe('no limit');
  });
});
