import { describe, expect, it } from 'vitest';
import { emptyForm, emptyPerson, fieldId, getPath, isMasked, missingPerStep, newPersonId, pathParts, setPath, stepOf } from './form';

describe('form paths', () => {
  it('read and write the same paths Rust names in its errors', () => {
    const form = emptyForm();
    form.people.push(emptyPerson('a'), emptyPerson('b'));
    setPath(form, 'people[1].address.city', 'Austin');
    setPath(form, 'business.ein', '12-3456789');
    expect(form.people[1].address.city).toBe('Austin');
    expect(getPath(form, 'people[1].address.city')).toBe('Austin');
    expect(getPath(form, 'business.ein')).toBe('12-3456789');
    expect(pathParts('people[12].ssn')).toEqual(['people', 12, 'ssn']);
  });

  it('ignore paths that do not exist instead of throwing', () => {
    const form = emptyForm();
    expect(getPath(form, 'people[3].ssn')).toBeUndefined();
    setPath(form, 'people[3].ssn', 'x');
    expect(form.people).toHaveLength(0);
  });

  it('give each field a stable DOM id and a wizard step', () => {
    expect(fieldId('people[1].address.line1')).toBe('f-people-1-address-line1');
    expect(stepOf('business.address.city')).toBe(0);
    expect(stepOf('people')).toBe(1);
    expect(stepOf('bank.routing_number')).toBe(2);
    expect(stepOf('terms.ip')).toBe(4);
  });

  it('recognise masked values and pick unused person ids', () => {
    expect(isMasked('•••-••-1234')).toBe(true);
    expect(isMasked('123-45-1234')).toBe(false);
    expect(newPersonId([emptyPerson('person2')])).toBe('person3');
  });
});

describe('missingPerStep', () => {
  it('counts each missing field on the step that owns it', () => {
    const counts = missingPerStep([
      { field: 'business.ein' },
      { field: 'business.address.city' },
      { field: 'people[1].ssn' },
      { field: 'bank.routing_number' },
      { field: 'terms.accepted_at' },
    ]);
    expect(counts).toEqual([2, 1, 1, 0, 1]);
  });
});
