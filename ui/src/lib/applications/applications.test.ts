import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import { READY_ADMIN, fakeBackend } from '../backend/fake';
import ApplicationsPage from './ApplicationsPage.svelte';

const admin = () => fakeBackend({ vault: 'locked', session: READY_ADMIN });
const noop = () => {};

async function type(label: string | RegExp, value: string) {
  const input = screen.getByLabelText(label);
  await fireEvent.input(input, { target: { value } });
  await fireEvent.blur(input);
}

describe('Applications', () => {
  it('starts empty and offers a new application and import to writers', async () => {
    render(ApplicationsPage, { backend: admin(), session: READY_ADMIN, onerror: noop });
    expect(await screen.findByText('No applications yet')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'New application' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Import' })).toBeInTheDocument();
  });

  it('hides writing actions from auditors (Rust refuses them as well)', async () => {
    const auditor = { ...READY_ADMIN, role: 'auditor' as const };
    render(ApplicationsPage, { backend: fakeBackend({ session: auditor }), session: auditor, onerror: noop });
    await screen.findByText('No applications yet');
    expect(screen.queryByRole('button', { name: 'New application' })).toBeNull();
  });

  it('saves a draft per step, shows field errors from Rust at the field, and masks saved values', async () => {
    const backend = admin();
    render(ApplicationsPage, { backend, session: READY_ADMIN, onerror: noop });
    await fireEvent.click(await screen.findByRole('button', { name: 'New application' }));
    await type('Legal name', '<script>alert(1)</script> Coffee');
    await type('EIN', '12-345');
    await fireEvent.click(screen.getByRole('button', { name: 'Save and continue' }));
    const ein = screen.getByLabelText('EIN');
    await waitFor(() => expect(ein).toHaveAttribute('aria-invalid', 'true'));
    expect(screen.getByText('must be 9 digits')).toBeInTheDocument();
    expect(backend.calls.filter((c) => c === 'saveDraft')).toHaveLength(1);

    await type('EIN', '12-3456789');
    await fireEvent.click(screen.getByRole('button', { name: 'Save and continue' }));
    expect(await screen.findByText(/A sole proprietorship|Add every beneficial owner/)).toBeInTheDocument();
    // The title shows the name as text, never as markup.
    expect(screen.getByRole('heading', { level: 2 })).toHaveTextContent('<script>alert(1)</script> Coffee');
    expect(document.querySelector('script')).toBeNull();

    await fireEvent.click(screen.getByRole('button', { name: /1\. Business/ }));
    const saved = (await screen.findByLabelText('EIN')) as HTMLInputElement;
    expect(saved.value).toBe('••-•••6789');
    expect(screen.getByText(/Saved and masked/)).toBeInTheDocument();
  });

  it('adds people with labelled fields and lists what is missing on the review step', async () => {
    render(ApplicationsPage, { backend: admin(), session: READY_ADMIN, onerror: noop });
    await fireEvent.click(await screen.findByRole('button', { name: 'New application' }));
    await fireEvent.click(screen.getByRole('button', { name: 'Save and continue' }));
    await fireEvent.click(await screen.findByRole('button', { name: 'Add person' }));
    expect(screen.getByLabelText('SSN (person 1)')).toBeInTheDocument();
    expect(screen.getByLabelText('Control person (person 1)')).toBeInTheDocument();
    await fireEvent.click(screen.getByRole('button', { name: /5\. Review/ }));
    const missing = await screen.findByRole('status', { name: 'Still missing' });
    expect(within(missing).getByText('business.legal_name')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Submit for review' })).toBeDisabled();
  });

  it('imports a file with a progress bar and lists rejected rows by field', async () => {
    const backend = admin();
    render(ApplicationsPage, { backend, session: READY_ADMIN, onerror: noop });
    await fireEvent.click(await screen.findByRole('button', { name: 'Import' }));
    const input = screen.getByLabelText('Import file') as HTMLInputElement;
    const file = new File(['legal_name\nx\n'], 'batch.csv', { type: 'text/csv' });
    await fireEvent.change(input, { target: { files: [file] } });
    await fireEvent.click(screen.getByRole('button', { name: 'Import' }));
    expect(await screen.findByText('Imported 2 of 3 applications; 1 rejected.')).toBeInTheDocument();
    expect(screen.getByRole('progressbar')).toHaveAttribute('value', '3');
    const rejected = screen.getByRole('table', { name: 'Rejected rows' });
    expect(within(rejected).getByText('ein')).toBeInTheDocument();
    expect(backend.calls).toContain('import:batch.csv:13');
    const dupes = screen.getByRole('table', { name: 'Possible duplicates' });
    expect(within(dupes).getByText('possible duplicate of application a-1 (same EIN)')).toBeInTheDocument();

    // Asked to skip possible duplicates: the report says how many were skipped.
    await fireEvent.click(screen.getByLabelText('Skip possible duplicates'));
    await fireEvent.click(screen.getByRole('button', { name: 'Import' }));
    expect(await screen.findByText('Imported 1 of 3 applications; 1 rejected; 1 skipped as possible duplicates.')).toBeInTheDocument();
    expect(backend.calls).toContain('import:batch.csv:13:skip');
  });
});
