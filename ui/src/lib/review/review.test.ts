import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import { READY_ADMIN, fakeBackend } from '../backend/fake';
import type { QueueRow } from '../backend/types';
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
});
