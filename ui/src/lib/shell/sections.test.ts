import { describe, expect, it } from 'vitest';
import { SECTIONS, hashFor, sectionForArrow, sectionForShortcut, sectionFromHash } from './sections';

const key = (k: string, code: string, mods: Partial<KeyboardEvent> = {}) => ({
  altKey: false,
  ctrlKey: false,
  metaKey: false,
  key: k,
  code,
  ...mods,
});

describe('sections', () => {
  it('round-trips every section through the URL hash', () => {
    for (const s of SECTIONS) expect(sectionFromHash(hashFor(s.id))).toBe(s.id);
  });

  it('falls back to Applications for an unknown or empty hash', () => {
    expect(sectionFromHash('#/nope')).toBe('applications');
    expect(sectionFromHash('')).toBe('applications');
  });

  it('maps Alt+1..4 to the sections in sidebar order, by physical key', () => {
    expect(sectionForShortcut(key('2', 'Digit2', { altKey: true }))).toBe('review');
    expect(sectionForShortcut(key('™', 'Digit4', { altKey: true }))).toBe('admin');
  });

  it('ignores digits without Alt, and Ctrl/Meta chords', () => {
    expect(sectionForShortcut(key('2', 'Digit2'))).toBeNull();
    expect(sectionForShortcut(key('2', 'Digit2', { altKey: true, ctrlKey: true }))).toBeNull();
    expect(sectionForShortcut(key('9', 'Digit9', { altKey: true }))).toBeNull();
  });

  it('moves with arrows and wraps at both ends', () => {
    expect(sectionForArrow('applications', 'ArrowDown')).toBe('review');
    expect(sectionForArrow('admin', 'ArrowDown')).toBe('applications');
    expect(sectionForArrow('applications', 'ArrowUp')).toBe('admin');
    expect(sectionForArrow('merchants', 'Home')).toBe('applications');
    expect(sectionForArrow('review', 'End')).toBe('admin');
    expect(sectionForArrow('review', 'x')).toBeNull();
  });
});
