import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import { READY_ADMIN, fakeBackend } from '../backend/fake';
import type { BoardingJob, Merchant, MerchantStatus, ReviewFlag, SessionInfo } from '../backend/types';
import MerchantsPage from './MerchantsPage.svelte';

const noop = () => {};
const ADMIN_FIELDS = {
  status_reason: null, status_changed_at: null, status_changed_by: null, monthly_cap_cents: null, max_ticket_cents: null,
  risk_score: 12, risk_band: 'low' as const,
};

function job(id: string, state: BoardingJob['state'], extra: Partial<BoardingJob> = {}): BoardingJob {
  return {
    id, application_id: `app-${id}`, legal_name: `Shop ${id}`, kind: 'board', state, step: 'account', account_id: null,
    persons: [], attempts: 1, total_attempts: 3, next_attempt_at: Date.now() + 20_000, lease_until: 0, error_kind: null,
    error_field: null, error_param: null, created_by: 'uma', created_at: 0, updated_at: 0, finished_at: null,
    error_message: null, ...extra,
  };
}

describe('Boarding page', () => {
  it('shows the outage, each job with its step and next retry, and fixes a refused field', async () => {
    const jobs = [
      job('a', 'retrying', { error_kind: 'network', error_message: 'connection refused' }),
      job('b', 'needs_fix', { error_kind: 'rejected', error_field: 'business.email', error_param: 'email', error_message: 'Invalid email address' }),
    ];
    const backend = fakeBackend({ session: READY_ADMIN, jobs, platformDown: true });
    render(MerchantsPage, { backend, session: READY_ADMIN, onerror: noop });
    expect(await screen.findByTestId('platform-down')).toHaveTextContent(/Platform unavailable since/);
    const rows = await screen.findAllByTestId('boarding-job');
    expect(rows).toHaveLength(2);
    expect(within(rows[0]).getByText('Create account')).toBeInTheDocument();
    expect(within(rows[0]).getByText(/^in \d+ s$/)).toBeInTheDocument();

    const input = screen.getByLabelText('New value for business.email');
    await fireEvent.input(input, { target: { value: 'nope' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Fix and resend' }));
    expect(await screen.findByText(/business.email: must be an email address/)).toBeInTheDocument();
    await fireEvent.input(input, { target: { value: 'owner@shop.com' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Fix and resend' }));
    await screen.findByText(/0 need a fix/);
    expect(backend.calls).toContain('boardingFix:b:business.email');
  });

  it('says which desk sends, and alerts when the team store cannot be asked', async () => {
    const other = fakeBackend({
      session: READY_ADMIN,
      jobs: [job('a', 'queued')],
      sender: { state: 'other_desk', by: 'uma at desk 1a2b3c4d', since: '2026-11-26T10:00:00Z' },
    });
    const first = render(MerchantsPage, { backend: other, session: READY_ADMIN, onerror: noop });
    const line = await screen.findByTestId('platform-sender');
    expect(line).toHaveTextContent(/^uma at desk 1a2b3c4d sends the outbox .*this desk stands by/);
    expect(line).not.toHaveAttribute('role', 'alert');
    first.unmount();

    const down = fakeBackend({
      session: READY_ADMIN,
      jobs: [job('a', 'queued')],
      sender: { state: 'unreachable', since: '2026-11-26T10:00:00Z' },
    });
    render(MerchantsPage, { backend: down, session: READY_ADMIN, onerror: noop });
    const alert = await screen.findByTestId('platform-sender');
    expect(alert).toHaveTextContent(/^Team store unavailable since \d\d:\d\d:\d\d/);
    expect(alert).toHaveAttribute('role', 'alert');
  });

  it('hides the actions from auditors', async () => {
    const auditor: SessionInfo = { ...READY_ADMIN, username: 'ann', role: 'auditor' };
    const backend = fakeBackend({ session: auditor, jobs: [job('a', 'retrying')] });
    render(MerchantsPage, { backend, session: auditor, onerror: noop });
    await screen.findAllByTestId('boarding-job');
    expect(screen.queryByRole('button', { name: 'Retry now' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Cancel' })).toBeNull();
  });

  it('shows a merchant boarded at another desk without a reload', async () => {
    const merchants: Merchant[] = [];
    const backend = fakeBackend({ session: READY_ADMIN, merchants });
    render(MerchantsPage, { backend, session: READY_ADMIN, onerror: noop });
    await fireEvent.click(await screen.findByRole('tab', { name: 'Boarded merchants' }));
    await new Promise((r) => setTimeout(r, 0));
    merchants.push({
      application_id: 'm9', legal_name: 'Harbour Books LLC', account_id: 'acct_9', status: 'active', charges_enabled: true,
      payouts_enabled: true, capabilities: {}, open_requirements: 0, boarded_at: 0, synced_at: 0, review_reason: null,
      review_since: null, open: [], ...ADMIN_FIELDS,
    });
    expect(screen.queryByText('Harbour Books LLC')).not.toBeInTheDocument();
    backend.announce({ topics: ['merchants'], resync: false });
    expect(await screen.findByText('Harbour Books LLC')).toBeInTheDocument();
  });

  it('lists merchants with platform requirements mapped to our fields', async () => {
    const merchants: Merchant[] = [
      {
        application_id: 'm1', legal_name: 'Corner Cafe LLC', account_id: 'acct_1', status: 'active', charges_enabled: false,
        payouts_enabled: false, capabilities: { card_payments: 'inactive' }, open_requirements: 1, boarded_at: 0, synced_at: 0,
        review_reason: null, review_since: null, ...ADMIN_FIELDS,
        open: [{ requirement: 'external_account', field: 'bank.account_number', kind: 'error', reason: 'verification_failed_other: no_account' }],
      },
    ];
    const backend = fakeBackend({ session: READY_ADMIN, merchants });
    render(MerchantsPage, { backend, session: READY_ADMIN, onerror: noop });
    await fireEvent.click(await screen.findByRole('tab', { name: 'Boarded merchants' }));
    const req = await screen.findByTestId('requirement');
    expect(req).toHaveTextContent('bank.account_number');
    expect(req).toHaveTextContent('no_account');
    expect(screen.getByTestId('charges')).toHaveTextContent('Charges disabled');
    expect(screen.queryByTestId('merchant-review')).toBeNull();
  });

  it('marks a merchant a re-screen flagged for review', async () => {
    const flagged: Merchant = {
      application_id: 'm2', legal_name: 'Harbour Books LLC', account_id: 'acct_2', status: 'active', charges_enabled: true,
      payouts_enabled: true, capabilities: {}, open_requirements: 0, boarded_at: 0, synced_at: 0,
      review_reason: 'sanctions_hit', review_since: 1, open: [], ...ADMIN_FIELDS,
    };
    render(MerchantsPage, { backend: fakeBackend({ session: READY_ADMIN, merchants: [flagged] }), session: READY_ADMIN, onerror: noop });
    await fireEvent.click(await screen.findByRole('tab', { name: 'Boarded merchants' }));
    expect(await screen.findByTestId('merchant-review')).toHaveTextContent('Under review: new sanctions hit');
  });

  it('lets an admin suspend with a reason and note, then terminate onto the blocklist; others see no controls', async () => {
    const m: Merchant = {
      application_id: 'm3', legal_name: 'Night Owl Vapes LLC', account_id: 'acct_3', status: 'active', charges_enabled: true,
      payouts_enabled: true, capabilities: {}, open_requirements: 0, boarded_at: 0, synced_at: 0,
      review_reason: null, review_since: null, open: [], ...ADMIN_FIELDS,
    };
    const backend = fakeBackend({ session: READY_ADMIN, merchants: [m] });
    render(MerchantsPage, { backend, session: READY_ADMIN, onerror: noop });
    await fireEvent.click(await screen.findByRole('tab', { name: 'Boarded merchants' }));
    await fireEvent.click(await screen.findByRole('button', { name: 'Suspend…' }));
    expect(screen.getByText(/Card payments are switched off/)).toBeInTheDocument();
    await fireEvent.change(screen.getByLabelText('Reason'), { target: { value: 'chargeback_rate' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Confirm: suspend' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('note: must say why');
    await fireEvent.input(screen.getByLabelText(/^Note/), { target: { value: 'Chargebacks at 3% this month' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Confirm: suspend' }));
    expect(await screen.findByTestId('merchant-status')).toHaveTextContent('suspended');
    expect(backend.calls).toContain('merchantAction:m3:suspend:chargeback_rate:false');
    expect(screen.queryByRole('button', { name: 'Suspend…' })).toBeNull();

    await fireEvent.click(screen.getByRole('button', { name: 'Terminate…' }));
    await fireEvent.input(screen.getByLabelText(/^Note/), { target: { value: 'Confirmed card testing' } });
    await fireEvent.click(screen.getByLabelText(/Add its EIN/));
    await fireEvent.change(screen.getByLabelText(/Legal basis for keeping them/), { target: { value: 'card_network_rules' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Confirm: terminate' }));
    expect(await screen.findByText(/3 identifiers added to the blocklist/)).toBeInTheDocument();
    expect(backend.calls).toContain('merchantAction:m3:terminate:fraud:true:card_network_rules');
    await fireEvent.click(screen.getByRole('button', { name: 'Export CSV' }));
    expect(await screen.findByTestId('merchants-export')).toHaveTextContent('Saved 1 merchants (no identifiers) to /tmp/desk-test/exports/merchants.csv');

    const underwriter = { ...READY_ADMIN, username: 'uma', role: 'underwriter' as const };
    const limited: Merchant = { ...m, application_id: 'm4', status: 'active', status_reason: 'chargeback_rate', status_changed_by: null, monthly_cap_cents: 5_000_000, synced_at: Date.UTC(2026, 10, 26, 9, 30) };
    render(MerchantsPage, { backend: fakeBackend({ session: underwriter, merchants: [limited] }), session: underwriter, onerror: noop });
    await fireEvent.click((await screen.findAllByRole('tab', { name: 'Boarded merchants' }))[1]);
    const seen = (await screen.findAllByTestId('merchant')).find((x) => !x.textContent?.includes('terminated'));
    expect(screen.queryByRole('button', { name: 'Suspend…' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Edit details…' })).toBeNull();
    expect(within(seen!).getByTestId('merchant-limits')).toHaveTextContent(
      'Monthly cap 50,000.00 · max ticket no limit · last change: chargeback rate · last sync 2026-11-26 09:30 UTC',
    );
  });

  it('searches by name, filters by status and review flag, and pages', async () => {
    const make = (i: number, status: MerchantStatus, review: ReviewFlag | null): Merchant => ({
      application_id: `m${i}`, legal_name: `${i % 2 ? 'Alder' : 'Birch'} Shop ${String(i).padStart(2, '0')} LLC`, account_id: `acct_${i}`, status,
      charges_enabled: true, payouts_enabled: true, capabilities: {}, open_requirements: 0, boarded_at: 0, synced_at: 0,
      review_reason: review, review_since: null, open: [], ...ADMIN_FIELDS,
    });
    const merchants = Array.from({ length: 25 }, (_, i) => make(i, i === 3 ? 'suspended' : 'active', i === 4 ? 'sanctions_hit' : null));
    const backend = fakeBackend({ session: READY_ADMIN, merchants });
    render(MerchantsPage, { backend, session: READY_ADMIN, onerror: noop });
    await fireEvent.click(await screen.findByRole('tab', { name: 'Boarded merchants' }));
    expect(await screen.findByTestId('merchants-pager')).toHaveTextContent('1–20 of 25');
    expect(screen.getAllByTestId('merchant-risk')[0]).toHaveTextContent('risk 12 low');
    await fireEvent.click(screen.getByRole('button', { name: 'Next' }));
    expect(await screen.findByText(/21–25 of 25/)).toBeInTheDocument();

    await fireEvent.input(screen.getByLabelText('Search by name'), { target: { value: 'alder' } });
    expect(await screen.findByText(/1–12 of 12/)).toBeInTheDocument();
    await fireEvent.change(screen.getByLabelText('Status'), { target: { value: 'suspended' } });
    expect(await screen.findByText(/1–1 of 1/)).toBeInTheDocument();
    await fireEvent.change(screen.getByLabelText('Status'), { target: { value: '' } });
    await fireEvent.input(screen.getByLabelText('Search by name'), { target: { value: '' } });
    await fireEvent.click(screen.getByLabelText(/Flagged for review only/));
    expect(await screen.findByText(/1–1 of 1/)).toBeInTheDocument();
    expect(screen.getByTestId('merchant-review')).toBeInTheDocument();
    await fireEvent.input(screen.getByLabelText('Search by name'), { target: { value: 'zzz' } });
    expect(await screen.findByText('No merchant matches')).toBeInTheDocument();
  });
});
