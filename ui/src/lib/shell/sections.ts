// The app's sections, their order, and the keys that move between them.

export type SectionId = 'applications' | 'review' | 'merchants' | 'admin';

export interface Section {
  id: SectionId;
  label: string;
  /** Alt+<key> jumps straight to the section from anywhere. */
  key: string;
}

export const SECTIONS: readonly Section[] = [
  { id: 'applications', label: 'Applications', key: '1' },
  { id: 'review', label: 'Review queue', key: '2' },
  { id: 'merchants', label: 'Merchants', key: '3' },
  { id: 'admin', label: 'Admin', key: '4' },
];

export const DEFAULT_SECTION: SectionId = 'applications';

/** `#/review` → `review` (a `?filter` after it is the section's own); anything unknown → the
 * default section. */
export function sectionFromHash(hash: string): SectionId {
  const id = hash.replace(/^#\/?/, '').split('?')[0];
  return SECTIONS.find((s) => s.id === id)?.id ?? DEFAULT_SECTION;
}

export function hashFor(id: SectionId, filter?: string): string {
  return filter ? `#/${id}?${filter}` : `#/${id}`;
}

/** Whether the hash asks the section for `filter` (`#/merchants?in_review`). */
export function hashHasFilter(hash: string, filter: string): boolean {
  const query = hash.split('?')[1] ?? '';
  return query.split('&').includes(filter);
}

/** The section an Alt+digit shortcut asks for, or null when the key is not a shortcut. */
export function sectionForShortcut(e: Pick<KeyboardEvent, 'altKey' | 'ctrlKey' | 'metaKey' | 'key' | 'code'>): SectionId | null {
  if (!e.altKey || e.ctrlKey || e.metaKey) return null;
  // `code` survives keyboard layouts where Alt+digit types another character.
  const digit = /^Digit(\d)$/.exec(e.code)?.[1] ?? e.key;
  return SECTIONS.find((s) => s.key === digit)?.id ?? null;
}

/** The section that ArrowUp/ArrowDown/Home/End in the sidebar moves to (wrapping around). */
export function sectionForArrow(current: SectionId, key: string): SectionId | null {
  const i = SECTIONS.findIndex((s) => s.id === current);
  const n = SECTIONS.length;
  switch (key) {
    case 'ArrowDown':
      return SECTIONS[(i + 1) % n].id;
    case 'ArrowUp':
      return SECTIONS[(i - 1 + n) % n].id;
    case 'Home':
      return SECTIONS[0].id;
    case 'End':
      return SECTIONS[n - 1].id;
    default:
      return null;
  }
}
