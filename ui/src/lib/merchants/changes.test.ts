import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import { READY_ADMIN, fakeBackend } from '../backend/fake';
import type { Merchant, SessionInfo } from '../backend/types';
import { emptyForm } from '../applications/form';
import MerchantsPage from './MerchantsPage.svelte';

const noop = () => {};

describe('Editing a boarded merchant', () => {
  it('lets an admin change the bank account; the change waits for someone else, who accepts it', async () => {
    // One fake for both users: the admin edits, then an underwriter signs in on it.
    const merchants: Merchant[] = [];
    const shared = fakeBackend({ session: READY_ADMIN, merchants });
    const form = emptyForm();
    form.business.legal_name = 'Lantern Tea LLC';
    form.bank.account_number = '000123456789';
    const id = (await shared.saveDraft(null, null, form)).summary.id;
    merchants.push({
      application_id: id, legal_name: 'Lantern Tea LLC', account_id: 'acct_9', status: 'active',
      charges_enabled: true, payouts_enabled: true, capabilities: {}, open_requirements: 0, boarded_at: 0, synced_at: 0,
      review_reason: null, review_since: null, status_reason: null, status_changed_at: null, status_changed_by: null,
      monthly_cap_cents: null, max_ticket_cents: null, risk_score: 12, risk_band: 'low', open: [],
    });

    const page = render(MerchantsPage, { backend: shared, session: READY_ADMIN, onerror: noop });
    await fireEvent.click(await screen.findByRole('tab', { name: 'Boarded merchants' }));
    await fireEvent.click(await screen.findByRole('button', { name: 'Edit details…' }));
    expect(await screen.findByRole('heading', { name: /Edit merchant details: Lantern Tea LLC/ })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: /4\. Documents/ })).toBeDisabled();
    await fireEvent.click(screen.getByRole('button', { name: /3\. Bank/ }));
    const account = screen.getByLabelText('Account number') as HTMLInputElement;
    expect(account.value).toContain('•');
    await fireEvent.input(account, { target: { value: '000987654321' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Continue' }));
    await fireEvent.click(await screen.findByRole('button', { name: 'Save changes' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('note: must say why');
    await fireEvent.input(screen.getByLabelText(/^Why/), { target: { value: 'New bank letter received' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Save changes' }));
    expect(await screen.findByTestId('merchant-edited')).toHaveTextContent('Changes saved.');
    expect(shared.calls).toContain(`editMerchant:${id}:bank`);
    expect(await screen.findByTestId('merchant-review')).toHaveTextContent('Under review: details changed');
    const box = await screen.findByRole('group', { name: 'Change waiting for review' });
    expect(within(box).getByTestId('changed-fields')).toHaveTextContent('bank');
    expect(within(box).getByText(/You made this change/)).toBeInTheDocument();
    expect(within(box).queryByRole('button', { name: 'Accept change' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Edit details…' })).toBeNull();
    page.unmount();

    await shared.signIn('uma', 'correct horse battery 42', '123456');
    const uma: SessionInfo = { ...READY_ADMIN, username: 'uma', role: 'underwriter' };
    render(MerchantsPage, { backend: shared, session: uma, onerror: noop });
    await fireEvent.click(await screen.findByRole('tab', { name: 'Boarded merchants' }));
    const review = await screen.findByRole('group', { name: 'Change waiting for review' });
    await fireEvent.input(within(review).getByLabelText('Decision note'), { target: { value: 'Bank letter checked' } });
    await fireEvent.click(within(review).getByRole('button', { name: 'Accept change' }));
    await expect.poll(() => shared.calls).toContain(`decideMerchantChange:${id}:true`);
    await expect.poll(() => screen.queryByRole('group', { name: 'Change waiting for review' })).toBeNull();
  });
});
