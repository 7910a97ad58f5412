// The application form on the UI side: empty values, reading and writing fields by the same
// paths Rust uses in its errors (`business.address.city`, `people[1].ssn`), and which wizard
// step owns a field.
import type { AddressForm, ApplicationForm, PersonForm } from '../backend/types';

export function emptyAddress(country = 'US'): AddressForm {
  return { line1: '', line2: '', city: '', state: '', postal_code: '', country };
}

export function emptyPerson(id: string): PersonForm {
  return {
    id,
    first_name: '',
    last_name: '',
    title: '',
    dob: '',
    ssn: '',
    itin: '',
    passport_number: '',
    passport_country: '',
    address: emptyAddress(),
    email: '',
    phone: '',
    ownership_percent: '',
    is_control: false,
  };
}

export function emptyForm(): ApplicationForm {
  return {
    business: {
      legal_name: '',
      dba: '',
      entity_type: '',
      ein: '',
      incorporation_date: '',
      incorporation_state: '',
      incorporation_country: 'US',
      address: emptyAddress(),
      operating_address: emptyAddress(''),
      phone: '',
      email: '',
      website: '',
      mcc: '',
      product_description: '',
      monthly_volume: '',
      average_ticket: '',
      max_ticket: '',
      card_present_percent: '',
    },
    people: [],
    bank: {
      holder_name: '',
      country: 'US',
      routing_number: '',
      account_number: '',
      account_type: 'checking',
      iban: '',
    },
    terms: { accepted_at: '', signer_name: '', ip: '', user_agent: '' },
  };
}

/** `people[1].address.city` → ['people', 1, 'address', 'city']. */
export function pathParts(path: string): (string | number)[] {
  const parts: (string | number)[] = [];
  for (const piece of path.split('.')) {
    const m = /^([a-z_0-9]+)\[(\d+)\]$/.exec(piece);
    if (m) parts.push(m[1], Number(m[2]));
    else parts.push(piece);
  }
  return parts;
}

export function getPath(form: ApplicationForm, path: string): unknown {
  let cur: unknown = form;
  for (const part of pathParts(path)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[part];
  }
  return cur;
}

export function setPath(form: ApplicationForm, path: string, value: unknown): void {
  const parts = pathParts(path);
  let cur: Record<string | number, unknown> = form as unknown as Record<string, unknown>;
  for (const part of parts.slice(0, -1)) {
    const next = cur[part];
    if (next === null || typeof next !== 'object') return;
    cur = next as Record<string | number, unknown>;
  }
  cur[parts[parts.length - 1]] = value;
}

/** A DOM id for a field path: `people[1].ssn` → `f-people-1-ssn`. */
export function fieldId(path: string): string {
  return 'f-' + path.replace(/\[(\d+)\]/g, '-$1').replace(/\./g, '-');
}

export const STEPS = ['Business', 'People', 'Bank', 'Documents', 'Review & submit'] as const;

/** Which wizard step shows the field (terms are on the review step). */
export function stepOf(path: string): number {
  if (path.startsWith('business')) return 0;
  if (path.startsWith('people')) return 1;
  if (path.startsWith('bank')) return 2;
  return 4;
}

/** How many "still missing" problems each wizard step holds (its badge). */
export function missingPerStep(missing: { field: string }[]): number[] {
  return STEPS.map((_, i) => missing.filter((m) => stepOf(m.field) === i).length);
}

/** The most people an application holds (four owners of 25% and a control person). */
export const MAX_PEOPLE = 5;

/** A masked value as Rust returns it: keep it untouched to keep the stored value. */
export function isMasked(value: string): boolean {
  return value.includes('•');
}

export const ENTITY_TYPES: [string, string][] = [
  ['sole_proprietorship', 'Sole proprietorship'],
  ['single_member_llc', 'Single-member LLC'],
  ['multi_member_llc', 'Multi-member LLC'],
  ['private_corporation', 'Private corporation'],
  ['public_corporation', 'Public corporation'],
  ['partnership', 'Partnership'],
  ['non_profit', 'Non-profit'],
  ['government_entity', 'Government entity'],
];

export const DOCUMENT_KINDS: [string, string][] = [
  ['government_id', 'Government ID'],
  ['voided_check', 'Voided check'],
  ['articles', 'Articles of incorporation'],
  ['bank_statement', 'Bank statement'],
  ['processing_statements', 'Processing statements'],
];

export function labelOf(pairs: [string, string][], key: string): string {
  return pairs.find(([k]) => k === key)?.[1] ?? key;
}

export interface FieldDef {
  /** Path after the section prefix (`legal_name`, `address.city`). */
  key: string;
  label: string;
  hint?: string;
  type?: 'text' | 'date' | 'email' | 'tel' | 'url';
  sensitive?: boolean;
  wide?: boolean;
}

export const BUSINESS_FIELDS: FieldDef[] = [
  { key: 'legal_name', label: 'Legal name', wide: true },
  { key: 'dba', label: 'Doing business as (DBA)', wide: true },
  { key: 'ein', label: 'EIN', hint: '12-3456789', sensitive: true },
  { key: 'incorporation_date', label: 'Date of incorporation', hint: 'YYYY-MM-DD' },
  { key: 'incorporation_state', label: 'State of incorporation', hint: 'e.g. DE' },
  { key: 'incorporation_country', label: 'Country of incorporation', hint: 'ISO code, e.g. US' },
  { key: 'phone', label: 'Business phone', hint: '+14155550100', type: 'tel' },
  { key: 'email', label: 'Business email', type: 'email' },
  { key: 'website', label: 'Website', hint: 'https://…', type: 'url', wide: true },
  { key: 'product_description', label: 'What the business sells', wide: true },
  { key: 'monthly_volume', label: 'Expected monthly card volume (USD)' },
  { key: 'average_ticket', label: 'Average ticket (USD)' },
  { key: 'max_ticket', label: 'Maximum ticket (USD)' },
  { key: 'card_present_percent', label: 'Card-present share (%)', hint: '0–100; the rest is card-not-present' },
];

export const ADDRESS_FIELDS: FieldDef[] = [
  { key: 'line1', label: 'Address line 1', wide: true },
  { key: 'line2', label: 'Address line 2', wide: true },
  { key: 'city', label: 'City' },
  { key: 'state', label: 'State', hint: 'e.g. CA' },
  { key: 'postal_code', label: 'ZIP / postal code' },
  { key: 'country', label: 'Country', hint: 'ISO code, e.g. US' },
];

export const PERSON_FIELDS: FieldDef[] = [
  { key: 'first_name', label: 'First name' },
  { key: 'last_name', label: 'Last name' },
  { key: 'title', label: 'Title', hint: 'required for the control person' },
  { key: 'dob', label: 'Date of birth', hint: 'YYYY-MM-DD' },
  { key: 'ownership_percent', label: 'Ownership (%)', hint: 'blank if not an owner' },
  { key: 'email', label: 'Email', type: 'email' },
  { key: 'phone', label: 'Phone', type: 'tel', hint: '+14155550100' },
  { key: 'ssn', label: 'SSN', hint: '123-45-6789', sensitive: true },
  { key: 'itin', label: 'ITIN', hint: 'instead of an SSN', sensitive: true },
  { key: 'passport_number', label: 'Passport number', hint: 'non-US persons', sensitive: true },
  { key: 'passport_country', label: 'Passport country', hint: 'ISO code' },
];

export const BANK_FIELDS: FieldDef[] = [
  { key: 'holder_name', label: 'Account holder name', wide: true },
  { key: 'country', label: 'Bank country', hint: 'ISO code, e.g. US' },
  { key: 'routing_number', label: 'Routing number', hint: '9 digits (ABA)' },
  { key: 'account_number', label: 'Account number', sensitive: true },
  { key: 'iban', label: 'IBAN', hint: 'non-US accounts', sensitive: true },
];

export const TERMS_FIELDS: FieldDef[] = [
  { key: 'accepted_at', label: 'Terms accepted at', hint: '2026-01-31T14:05:00Z' },
  { key: 'signer_name', label: 'Accepted by' },
  { key: 'ip', label: 'IP address of acceptance' },
  { key: 'user_agent', label: 'Browser (user agent) of acceptance', wide: true },
];

/** A short id for a new person (Rust fills one in if blank, but the UI needs keys now). */
export function newPersonId(existing: PersonForm[]): string {
  let n = existing.length + 1;
  while (existing.some((p) => p.id === `person${n}`)) n++;
  return `person${n}`;
}

export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

export const STATUS_LABELS: Record<string, string> = {
  draft: 'Draft',
  submitted: 'Submitted',
  in_review: 'In review',
  info_requested: 'Info requested',
  approved: 'Approved',
  declined: 'Declined',
  boarding: 'Boarding',
  boarded: 'Boarded',
  boarding_failed: 'Boarding failed',
  withdrawn: 'Withdrawn',
};
