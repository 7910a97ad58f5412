import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import { READY_ADMIN, fakeBackend } from '../backend/fake';
import AuditPanel from './AuditPanel.svelte';

const noop = () => {};

describe('Audit panel', () => {
  it('exports a date range and says where the file went; a reversed range is refused by field', async () => {
    const backend = fakeBackend({ session: READY_ADMIN });
    render(AuditPanel, { backend, onerror: noop });
    await fireEvent.input(screen.getByLabelText('From'), { target: { value: '2026-11-20' } });
    await fireEvent.input(screen.getByLabelText('To'), { target: { value: '2026-11-01' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Export' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('to: must not be before from');
    await fireEvent.input(screen.getByLabelText('To'), { target: { value: '2026-11-26' } });
    await fireEvent.change(screen.getByLabelText('Format'), { target: { value: 'json' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Export' }));
    expect(await screen.findByTestId('audit-export')).toHaveTextContent(
      'Saved 12 entries to /tmp/desk-test/exports/audit-2026-11-20-2026-11-26.json',
    );
    expect(backend.calls).toContain('exportAudit:2026-11-20:2026-11-26:json');
  });
});
