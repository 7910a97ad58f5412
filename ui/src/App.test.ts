import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { afterEach, describe, expect, it } from 'vitest';
import App from './App.svelte';
import { BackendError } from './lib/backend/errors';
import { FAKE_JOIN_CODE, READY_ADMIN, fakeBackend as fake } from './lib/backend/fake';
import type { BoardingJob } from './lib/backend/types';

/** Signed in and ready: the shell itself. */
const fakeBackend = () => fake({ vault: 'locked', session: READY_ADMIN });

afterEach(() => history.replaceState(null, '', '#/'));

function boardingJob(id: string): BoardingJob {
  return {
    id, application_id: `app-${id}`, legal_name: `Shop ${id}`, kind: 'board', state: 'queued', step: 'account',
    account_id: null, persons: [], attempts: 0, total_attempts: 0, next_attempt_at: 0, lease_until: 0, error_kind: null,
    error_field: null, error_param: null, created_by: 'uma', created_at: 0, updated_at: 0, finished_at: null,
    error_message: null,
  };
}

describe('App shell', () => {
  it('shows the sidebar sections, the header and the default page', async () => {
    render(App, { backend: fakeBackend() });
    const nav = await screen.findByRole('navigation', { name: 'Sections' });
    const labels = Array.from(nav.querySelectorAll('a')).map((a) => a.textContent?.replace(/Alt \d/, '').trim());
    expect(labels).toEqual(['Applications', 'Review queue', 'Merchants', 'Admin']);
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Applications');
    expect(screen.getByText('No applications yet')).toBeInTheDocument();
    expect(screen.getByLabelText('Signed-in user')).toHaveTextContent('alice · admin');
  });

  it('shows version, vault state and data folder from the backend in the status bar', async () => {
    render(App, { backend: fakeBackend() });
    expect(await screen.findByTestId('app-version')).toHaveTextContent('Boarding Desk 9.8.7');
    expect(screen.getByTestId('vault-state')).toHaveTextContent('Vault: unlocked');
    expect(screen.getByText('Data: /tmp/desk-test')).toBeInTheDocument();
  });

  it('shows the platform in the status bar: up, then an outage with what is waiting', async () => {
    const { unmount } = render(App, { backend: fakeBackend() });
    expect(await screen.findByTestId('platform-status')).toHaveTextContent('Platform: up');
    unmount();

    const waiting = { ...boardingJob('a'), state: 'retrying' as const };
    const fixing = { ...boardingJob('b'), state: 'needs_fix' as const };
    const backend = fake({ vault: 'locked', session: READY_ADMIN, platformDown: true, jobs: [waiting, fixing] });
    render(App, { backend });
    const line = await screen.findByTestId('platform-status');
    expect(line).toHaveTextContent(/^Platform unavailable since .+ \(7 failures; next try .+\) · 1 waiting for the platform · 1 need a fix$/);
    expect(backend.calls).toContain('platformStatus');
  });

  it('says in the status bar since when the team store is unavailable', async () => {
    render(App, { backend: fake({ vault: 'locked', session: READY_ADMIN, storeDown: true }) });
    const line = await screen.findByTestId('store-down');
    expect(line).toHaveTextContent('Team store unavailable since 10:02:03 UTC — this desk reconnects on its own');
    expect(line).toHaveAttribute('role', 'alert');
    expect(screen.queryByTestId('platform-status')).toBeNull();
  });

  it('shows no platform line before sign-in', async () => {
    render(App, { backend: fake({ vault: 'locked', session: null }) });
    await screen.findByTestId('vault-state');
    expect(screen.queryByTestId('platform-status')).toBeNull();
  });

  it('navigates when a sidebar item is clicked and marks it current', async () => {
    render(App, { backend: fakeBackend() });
    await fireEvent.click(await screen.findByRole('link', { name: /Merchants/ }));
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Merchants');
    expect(await screen.findByRole('heading', { name: 'Boarding' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: /Merchants/ })).toHaveAttribute('aria-current', 'page');
    expect(window.location.hash).toBe('#/merchants');
  });

  it('jumps to a section with Alt+digit from anywhere', async () => {
    render(App, { backend: fakeBackend() });
    await screen.findByRole('navigation', { name: 'Sections' });
    await fireEvent.keyDown(window, { key: '4', code: 'Digit4', altKey: true });
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Admin');
    await fireEvent.keyDown(window, { key: '2', code: 'Digit2', altKey: true });
    expect(screen.getByText('The review queue is empty')).toBeInTheDocument();
  });

  it('moves through the sidebar with arrow keys, keeping focus on the current item', async () => {
    render(App, { backend: fakeBackend() });
    const first = await screen.findByRole('link', { name: /Applications/ });
    first.focus();
    await fireEvent.keyDown(first, { key: 'ArrowDown' });
    const review = screen.getByRole('link', { name: /Review queue/ });
    expect(review).toHaveAttribute('aria-current', 'page');
    expect(document.activeElement).toBe(review);
    expect(first).toHaveAttribute('tabindex', '-1');
  });

  it('opens the section named in the URL hash', async () => {
    history.replaceState(null, '', '#/admin');
    render(App, { backend: fakeBackend() });
    expect(await screen.findByRole('heading', { level: 1, name: 'Admin' })).toBeInTheDocument();
  });

  it('shows a Rust error with its code and a heading for that code', async () => {
    const backend = fake({ appInfoError: new BackendError('data_dir_unavailable', 'data folder /x is not a directory') });
    render(App, { backend });
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveAttribute('data-code', 'data_dir_unavailable');
    expect(alert).toHaveTextContent('The data folder cannot be used');
    expect(alert).toHaveTextContent('data folder /x is not a directory');
    expect(screen.getByTestId('status-error')).toHaveTextContent('data_dir_unavailable');
  });
});

describe('sign-in gate', () => {
  it('restores a backup into a fresh data folder instead of creating a vault, then asks to sign in', async () => {
    const backend = fake({ vault: 'not_created', session: null });
    render(App, { backend });
    await fireEvent.click(await screen.findByText('Restore from a backup instead'));
    await fireEvent.input(screen.getByLabelText('Backup file'), { target: { value: '/tmp/old.zip' } });
    await fireEvent.input(screen.getByLabelText("An admin's username in the backup"), { target: { value: 'alice' } });
    await fireEvent.input(screen.getByLabelText("That admin's password"), { target: { value: 'correct horse battery 42' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Restore backup' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('archive: is not a Boarding Desk backup');
    await fireEvent.input(screen.getByLabelText('Backup file'), { target: { value: '/tmp/monday.backup' } });
    await fireEvent.input(screen.getByLabelText("That admin's password"), { target: { value: 'correct horse battery 42' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Restore backup' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('wrong username, password or authenticator code');
    await fireEvent.input(screen.getByLabelText("That admin's password"), { target: { value: 'correct horse battery 42' } });
    await fireEvent.input(screen.getByLabelText("That admin's authenticator code"), { target: { value: '123456' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Restore backup' }));
    expect(await screen.findByText(/Backup restored: 3 applications, 2 users, 40 audit entries/)).toBeInTheDocument();
    expect(screen.getByText(/1 erasure\(s\) made after this backup were applied again/)).toBeInTheDocument();
    expect(screen.getByText(/A rollback: the archive lacks 5 audit entries that a signed checkpoint beside it remembers \(the newest signed by alice at 2026-11-27T04:00:00Z\)/)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeInTheDocument();
    expect(backend.calls).toContain('restoreBackup:alice');
  });

  it('offers set-up on a fresh data folder, shows the recovery key once, then enrols the authenticator', async () => {
    const backend = fake({ vault: 'not_created', session: null });
    render(App, { backend });
    await fireEvent.input(await screen.findByLabelText('Admin username'), { target: { value: 'alice' } });
    await fireEvent.input(screen.getByLabelText('Password'), { target: { value: 'correct horse battery 42' } });
    await fireEvent.input(screen.getByLabelText('Confirm password'), { target: { value: 'correct horse battery 42' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Create vault' }));
    expect(await screen.findByTestId('recovery-key')).toHaveTextContent('AAAA-BBBB-CCCC');
    const cont = screen.getByRole('button', { name: 'Continue' });
    expect(cont).toBeDisabled();
    await fireEvent.click(screen.getByLabelText(/I have stored the recovery key/));
    await fireEvent.click(cont);
    await fireEvent.input(await screen.findByLabelText('Code from your authenticator'), { target: { value: '123456' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Confirm' }));
    expect(await screen.findByRole('navigation', { name: 'Sections' })).toBeInTheDocument();
    expect(screen.queryByTestId('recovery-key')).toBeNull();
  });

  it('creates a team on a store instead of a local vault', async () => {
    const backend = fake({ vault: 'not_created', session: null });
    render(App, { backend });
    await fireEvent.click(await screen.findByLabelText(/On a team store/));
    const create = screen.getByRole('form', { name: 'Create the vault' });
    expect(within(create).getByTestId('team-sealed')).toHaveTextContent('only ciphertext');
    await fireEvent.input(within(create).getByLabelText('Team store URL'), { target: { value: 'postgres://boarding_desk_app@db.example.com/desk' } });
    await fireEvent.input(screen.getByLabelText('Admin username'), { target: { value: 'alice' } });
    await fireEvent.input(screen.getByLabelText('Password'), { target: { value: 'correct horse battery 42' } });
    await fireEvent.input(screen.getByLabelText('Confirm password'), { target: { value: 'correct horse battery 42' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Create team' }));
    expect(await screen.findByTestId('recovery-key')).toHaveTextContent('AAAA-BBBB-CCCC');
    expect(backend.calls).toContain('createTeam');
    expect(backend.calls).not.toContain('setupVault');
  });

  it('joins a team with the join code, refusing a wrong one by field, then asks to sign in', async () => {
    const backend = fake({ vault: 'not_created', session: null });
    render(App, { backend });
    await fireEvent.click(await screen.findByText('Join a team instead'));
    const form = screen.getByRole('form', { name: 'Join a team' });
    await fireEvent.input(within(form).getByLabelText('Team store URL'), { target: { value: 'postgres://boarding_desk_app@db.example.com/desk' } });
    await fireEvent.input(within(form).getByLabelText('Join code'), { target: { value: 'ZZZZ-ZZZZ' } });
    await fireEvent.click(within(form).getByRole('button', { name: 'Join team' }));
    expect(await within(form).findByRole('alert')).toHaveTextContent('join code: does not name this team');
    await fireEvent.input(within(form).getByLabelText('Join code'), { target: { value: FAKE_JOIN_CODE.toLowerCase() } });
    await fireEvent.click(within(form).getByRole('button', { name: 'Join team' }));
    expect(await screen.findByText(/This desk joined the team on postgres:\/\/boarding_desk_app@db.example.com\/desk/)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeInTheDocument();
  });

  it('checks the password confirmation before calling Rust', async () => {
    const backend = fake({ vault: 'not_created', session: null });
    render(App, { backend });
    await fireEvent.input(await screen.findByLabelText('Admin username'), { target: { value: 'alice' } });
    await fireEvent.input(screen.getByLabelText('Password'), { target: { value: 'correct horse battery 42' } });
    await fireEvent.input(screen.getByLabelText('Confirm password'), { target: { value: 'correct horse batterx 42' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Create vault' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('confirm password: does not match');
    expect(backend.calls).not.toContain('setupVault');
  });

  it('shows the Rust code and message when sign-in fails, and clears the password', async () => {
    const backend = fake({ vault: 'locked', session: null });
    render(App, { backend });
    await fireEvent.input(await screen.findByLabelText('Username'), { target: { value: 'alice' } });
    await fireEvent.input(screen.getByLabelText('Password'), { target: { value: 'wrong password!' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveAttribute('data-code', 'bad_credentials');
    expect(alert).toHaveTextContent('Sign-in failed');
    expect(screen.getByLabelText('Password')).toHaveValue('');
  });

  it('locks from the header and returns to sign-in', async () => {
    const backend = fakeBackend();
    render(App, { backend });
    await fireEvent.click(await screen.findByRole('button', { name: 'Lock' }));
    expect(await screen.findByRole('form', { name: 'Sign in' })).toBeInTheDocument();
    expect(screen.getByRole('status')).toHaveTextContent('Locked');
    expect(screen.getByRole('heading', { level: 1, name: '' })).toBeInTheDocument();
    expect(backend.calls).toContain('lock');
    expect(screen.queryByRole('navigation', { name: 'Sections' })).toBeNull();
  });

  it('returns to sign-in when Rust reports the session gone', async () => {
    const backend = fakeBackend();
    render(App, { backend, pollMs: 50 });
    await screen.findByRole('navigation', { name: 'Sections' });
    await backend.lock();
    expect(await screen.findByRole('form', { name: 'Sign in' }, { timeout: 2000 })).toBeInTheDocument();
    expect(screen.getByRole('status')).toHaveTextContent('inactivity');
  });
});
