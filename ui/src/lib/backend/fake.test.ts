import { describe, expect, it } from 'vitest';
import { maskedByRust } from './fake';
import { MASKED_BY_RUST, SENSITIVE_FIELDS } from './generated';

describe('the fake backend masks as Rust does, without its own copy of the rule', () => {
  it('looks masked values up in the table Rust generated', () => {
    expect(maskedByRust('12-3456789')).toBe('••-•••6789');
    expect(maskedByRust('000123456789')).toBe(MASKED_BY_RUST['000123456789']);
    expect(maskedByRust('')).toBe('');
    expect(SENSITIVE_FIELDS).toContain('people[*].itin');
    expect(SENSITIVE_FIELDS).toContain('bank.iban');
  });

  it('refuses a value Rust has not masked, rather than guessing', () => {
    expect(() => maskedByRust('999-99-9999')).toThrow(/MASKING_SAMPLES/);
  });
});
