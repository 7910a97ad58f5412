import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { READY_ADMIN, fakeBackend } from '../backend/fake';
import type { StoredHit } from '../backend/types';
import HitsPanel from './HitsPanel.svelte';
import ListsPanel from './ListsPanel.svelte';

const noop = () => {};

const HIT: StoredHit = {
  id: 'h1',
  application_id: 'a1',
  subject: 'people[0]',
  list_uid: 'sdn:10278',
  score: 0.97,
  detail: {
    subject: 'people[0]',
    uid: 'sdn:10278',
    entry_name: 'LOGAN MOREY, Elvis Angus',
    matched_name: 'LOGAN MOREY, Elvis Angus',
    name_kind: 'primary',
    programs: ['SDNT'],
    score: 0.97,
    name_score: 0.92,
    alignment: [
      { query_token: 'elvis', list_token: 'elvis', similarity: 1 },
      { query_token: 'morey', list_token: 'morey', similarity: 1 },
    ],
    adjustments: ['date of birth 1963 matches the listed one (+0.05)'],
    fingerprint: 'abc',
  },
  screened_at: 1,
  disposition: null,
  disposition_note: null,
  disposed_by: null,
  disposed_at: null,
};

describe('Sanctions lists panel', () => {
  it('shows the error Rust gives for a bad folder, then the loaded version', async () => {
    const backend = fakeBackend({ session: READY_ADMIN });
    render(ListsPanel, { backend, onerror: noop });
    expect(await screen.findByText(/No list loaded yet/)).toBeInTheDocument();
    const input = screen.getByLabelText('Folder with OFAC files');
    await fireEvent.input(input, { target: { value: 'relative/path' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Import lists' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('cannot be read as a folder');
    await fireEvent.input(input, { target: { value: '/data/ofac' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Import lists' }));
    expect(await screen.findByText(/Loaded SDN \(17 entries, 40 names\)/)).toBeInTheDocument();
    expect(screen.getByRole('cell', { name: 'active' })).toBeInTheDocument();
    expect(await screen.findByTestId('rescreen-status')).toHaveTextContent(/Last re-screen finished .+: 2 screened, 1 with new hits/);

    // A second load would replace the active version: it waits for another admin.
    await fireEvent.click(screen.getByRole('button', { name: 'Import lists' }));
    expect(await screen.findByText(/SDN replaces the active version once another admin confirms it/)).toBeInTheDocument();
  });
});

describe('Hits panel', () => {
  it('explains a hit and records a disposition with its note', async () => {
    const backend = fakeBackend({ session: READY_ADMIN });
    const onchange = vi.fn();
    render(HitsPanel, { backend, applicationId: 'a1', hits: [HIT], screened: true, canWrite: true, onchange, onerror: noop });
    expect(screen.getByText('open hits')).toBeInTheDocument();
    expect(screen.getByText('elvis ≈ elvis (1.00)')).toBeInTheDocument();
    expect(screen.getByText(/1963 matches/)).toBeInTheDocument();
    await fireEvent.click(screen.getByRole('button', { name: 'Disposition LOGAN MOREY, Elvis Angus' }));
    await fireEvent.input(screen.getByLabelText(/Why/), { target: { value: 'Different DOB and passport' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Record false positive' }));
    expect(backend.calls).toContain('disposeHit:h1:false_positive');
    expect(onchange).toHaveBeenCalled();
  });

  it('offers no disposition to read-only roles', () => {
    render(HitsPanel, { backend: fakeBackend(), applicationId: 'a1', hits: [HIT], screened: true, canWrite: false, onchange: noop, onerror: noop });
    expect(screen.queryByRole('button', { name: /Disposition/ })).toBeNull();
  });
});

describe('Risk rules panel', () => {
  it('keeps the raw JSON for export/import, proposes it and the threshold, and shows Rust refusing bad JSON', async () => {
    const { default: RiskPanel } = await import('../admin/RiskPanel.svelte');
    const backend = fakeBackend({ session: READY_ADMIN });
    render(RiskPanel, { backend, session: READY_ADMIN, onerror: noop });
    const box = (await screen.findByLabelText('Rule set (JSON)')) as HTMLTextAreaElement;
    await screen.findByDisplayValue(/mcc_high_risk/);
    expect(box.value).toContain('"four_eyes_score": 60');
    await fireEvent.click(screen.getByRole('button', { name: 'Propose this JSON' }));
    expect(await screen.findByText(/Proposed \(points.mcc_high_risk 25 -> 30\)/)).toBeInTheDocument();
    await fireEvent.input(screen.getByLabelText(/hit threshold/), { target: { value: '0.9' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Propose threshold' }));
    expect(await screen.findByText('Hit threshold proposed (0.88 -> 0.9): it applies once another admin confirms it.')).toBeInTheDocument();
    await fireEvent.input(box, { target: { value: '{ not json' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Propose this JSON' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('rules: expected value');
  });
});
