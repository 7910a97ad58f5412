import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import { READY_ADMIN, fakeBackend } from '../backend/fake';
import type { QueueRow, StoredHit } from '../backend/types';
import ReviewQueuePage from './ReviewQueuePage.svelte';
import { emptyForm } from '../applications/form';

const noop = () => {};

function row(id: string, name: string, score: number, band: QueueRow['risk_band']): QueueRow {
  return {
    id, status: 'submitted', legal_name: name, dba: '', mcc: '5967', risk_score: score, risk_band: band,
    assignee: null, open_hits: score > 60 ? 1 : 0, submitted_at: Date.now() - 3 * 86_400_000, pending_approval_by: null, version: 3,
  };
}

describe('Review queue', () => {
  it('is empty with a dashboard when nothing waits', async () => {
    render(ReviewQueuePage, { backend: fakeBackend({ session: READY_ADMIN }), session: READY_ADMIN, onerror: noop });
    expect(await screen.findByText('The review queue is empty')).toBeInTheDocument();
    expect(screen.getByRole('img', { name: 'Applications by status' })).toBeInTheDocument();
    expect(screen.getByText('5.5 h')).toBeInTheDocument();
  });

  it('shows what another desk changed without a reload, quietly, keeping the row the underwriter is on', async () => {
    const queue: QueueRow[] = [row('a', 'Risky Telesales LLC', 85, 'high'), row('b', 'Quiet Books', 10, 'low')];
    const backend = fakeBackend({ session: READY_ADMIN, queue });
    render(ReviewQueuePage, { backend, session: READY_ADMIN, onerror: noop });
    await screen.findByText('Quiet Books');
    await fireEvent.keyDown(window, { key: 'j' });
    expect(document.querySelector('[data-row="1"]')).toHaveTextContent('Quiet Books');
    expect(document.querySelector('[data-row="1"]')).toHaveClass('selected');

    // Another desk's change to the merchants only: the queue is not read again.
    backend.announce({ topics: ['merchants'], resync: false });
    queue.unshift(row('c', 'Fresh Kiosk Co', 92, 'high'));
    await new Promise((r) => setTimeout(r, 0));
    expect(screen.queryByText('Fresh Kiosk Co')).not.toBeInTheDocument();

    backend.announce({ topics: ['queue'], resync: false });
    expect(await screen.findByText('Fresh Kiosk Co')).toBeInTheDocument();
    expect(backend.calls.filter((c) => c === 'reviewQueue:risk:quiet')).toHaveLength(1);
    expect(backend.calls.filter((c) => c === 'reviewQueue:risk')).toHaveLength(1);
    // The selection followed the row, not the position.
    expect(document.querySelector('[data-row="2"]')).toHaveTextContent('Quiet Books');
    expect(document.querySelector('[data-row="2"]')).toHaveClass('selected');
  });

  it('moves with j/k, opens with Enter, shows the score breakdown and records a decision', async () => {
    const queue: QueueRow[] = [];
    const backend = fakeBackend({ session: READY_ADMIN, queue });
    const draft = emptyForm();
    draft.business.legal_name = 'Risky Telesales LLC';
    const saved = await backend.saveDraft(null, null, draft);
    queue.push(row(saved.summary.id, 'Risky Telesales LLC', 85, 'high'), row('b', 'Quiet Books', 10, 'low'));
    render(ReviewQueuePage, { backend, session: READY_ADMIN, onerror: noop });
    await screen.findByText('Risky Telesales LLC');
    expect(screen.getAllByText('3 d')[0].closest('td')).toHaveClass('overdue');
    await fireEvent.keyDown(window, { key: 'j' });
    expect(document.querySelector('[data-row="1"]')).toHaveClass('selected');
    await fireEvent.keyDown(window, { key: 'k' });
    await fireEvent.keyDown(window, { key: 'Enter' });
    const score = await screen.findByRole('region', { name: 'Risk score' });
    expect(within(score).getByText('mcc_high_risk')).toBeInTheDocument();
    expect(within(score).getByTestId('risk-score')).toHaveTextContent('85 · high');

    await fireEvent.click(screen.getByRole('button', { name: 'Take for review' }));
    const form = await screen.findByRole('form', { name: 'Decision' });
    await fireEvent.keyDown(window, { key: 'd' });
    await fireEvent.click(within(form).getByLabelText('fraud risk'));
    await fireEvent.input(within(form).getByLabelText(/Note/), { target: { value: 'Stolen card testing pattern' } });
    await fireEvent.click(within(form).getByRole('button', { name: 'Record decision' }));
    expect(await screen.findByText('Decision recorded: declined.')).toBeInTheDocument();
    expect(backend.calls).toContain('decide:decline:fraud_risk');

    // Internal notes: typed letters stay in the note (no a/d/r shortcut fires), and the note lists.
    const box = screen.getByLabelText('New note');
    await fireEvent.input(box, { target: { value: 'Called the owner; volumes confirmed' } });
    await fireEvent.keyDown(box, { key: 'a' });
    await fireEvent.click(screen.getByRole('button', { name: 'Add note' }));
    expect(await screen.findByTestId('note')).toHaveTextContent('alice — Called the owner; volumes confirmed');
    expect(backend.calls.filter((c) => c.startsWith('decide:'))).toHaveLength(1);
  });

  it('a decline onto the blocklist asks for the legal basis and sends it', async () => {
    const queue: QueueRow[] = [];
    const backend = fakeBackend({ session: READY_ADMIN, queue });
    const draft = emptyForm();
    draft.business.legal_name = 'Blocked Goods LLC';
    const saved = await backend.saveDraft(null, null, draft);
    queue.push({ ...row(saved.summary.id, 'Blocked Goods LLC', 40, 'medium'), status: 'in_review', assignee: 'alice' });
    render(ReviewQueuePage, { backend, session: READY_ADMIN, onerror: noop });
    await fireEvent.click(await screen.findByText('Blocked Goods LLC'));
    const form = await screen.findByRole('form', { name: 'Decision' });
    await fireEvent.keyDown(window, { key: 'd' });
    await fireEvent.click(within(form).getByLabelText('fraud risk'));
    await fireEvent.click(within(form).getByLabelText(/Add its EIN, SSNs and bank account to the blocklist/));
    await fireEvent.input(within(form).getByLabelText(/Note/), { target: { value: 'Stolen identity reported' } });
    await fireEvent.click(within(form).getByRole('button', { name: 'Record decision' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('blocklist basis: say on which legal basis');
    const basis = within(form).getByLabelText(/Legal basis for keeping them/) as HTMLSelectElement;
    await fireEvent.change(basis, { target: { value: 'aml_record_keeping' } });
    await fireEvent.click(within(form).getByRole('button', { name: 'Record decision' }));
    expect(await screen.findByText('Decision recorded: declined.')).toBeInTheDocument();
    expect(backend.calls).toContain('decide:decline:fraud_risk:blocklist:aml_record_keeping');
  });

  it('with a confirmed match: a red badge, Approve disabled with the reason, decline preselected, the list entry shown', async () => {
    const queue: QueueRow[] = [];
    const draft = emptyForm();
    draft.business.legal_name = 'Listed Owner LLC';
    const hits: Record<string, StoredHit[]> = {};
    const backend = fakeBackend({ session: READY_ADMIN, queue, hits });
    const saved = await backend.saveDraft(null, null, draft);
    const id = saved.summary.id;
    queue.push({ ...row(id, 'Listed Owner LLC', 100, 'high'), status: 'in_review', assignee: 'alice' });
    hits[id] = [
      {
        id: 'h1', application_id: id, subject: 'people[0]', list_uid: 'sdn:10278', score: 0.97,
        detail: {
          uid: 'sdn:10278', entry_name: 'LOGAN MOREY, Elvis Angus', matched_name: 'LOGAN MOREY, Elvis Angus', name_kind: 'primary',
          programs: ['SDNT'], score: 0.97, name_score: 0.95, alignment: [], adjustments: [], fingerprint: 'f', subject: 'people[0]',
        },
        screened_at: 1, disposition: 'true_match', disposition_note: 'Passport matches', disposed_by: 'uma', disposed_at: 2,
        entry: {
          uid: 'sdn:10278', ent_num: 10278, kind: 'individual', programs: ['SDNT'],
          names: [{ text: 'LOGAN MOREY, Elvis Angus', kind: 'primary' }, { text: 'MOREY, Elvis', kind: 'aka' }],
          dobs: ['28 Jul 1963'], places_of_birth: ['Belize'], countries: ['Belize'], ids: [], remarks: 'DOB 28 Jul 1963; POB Belize',
        },
      },
    ];
    render(ReviewQueuePage, { backend, session: READY_ADMIN, onerror: noop });
    await fireEvent.click(await screen.findByText('Listed Owner LLC'));
    const badge = await screen.findByTestId('confirmed-match');
    expect(badge).toHaveTextContent('Confirmed match — sdn:10278');
    expect(screen.queryByText('no open hits')).not.toBeInTheDocument();
    const card = screen.getByLabelText('List entry sdn:10278');
    expect(card).toHaveTextContent('28 Jul 1963');
    expect(card).toHaveTextContent('Belize');
    expect(card).toHaveTextContent('MOREY, Elvis');
    expect(card).toHaveTextContent('SDNT');

    const form = await screen.findByRole('form', { name: 'Decision' });
    const approve = within(form).getByLabelText('Approve (a)');
    expect(approve).toBeDisabled();
    expect(screen.getByTestId('approve-blocked')).toHaveTextContent('Confirmed sanctions match (sdn:10278)');
    expect(within(form).getByLabelText('Decline (d)')).toBeChecked();
    expect(within(form).getByLabelText('sanctions match')).toBeChecked();
    // The a shortcut does not pick Approve either.
    await fireEvent.keyDown(window, { key: 'a' });
    expect(within(form).getByLabelText('Decline (d)')).toBeChecked();

    await fireEvent.click(screen.getByRole('button', { name: 'Export sanctions report' }));
    expect(await screen.findByText(/Sanctions report saved/)).toBeInTheDocument();
    expect(backend.calls).toContain(`exportSanctionsReports:${id}`);
  });
});
