import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import { READY_ADMIN, fakeBackend } from '../backend/fake';
import AuditPanel from './AuditPanel.svelte';

const noop = () => {};

describe('Audit panel', () => {
  it('says who signed each entry: a user, the desk for a failed sign-in, nobody before signing began', async () => {
    const backend = fakeBackend({ session: READY_ADMIN });
    render(AuditPanel, { backend, onerror: noop });
    await screen.findByText('vault.create');
    const signers = screen.getAllByTestId('audit-signed-by').map((cell) => cell.textContent);
    expect(signers).toEqual(['alice', 'desk 1a2b3c4d', 'unsigned (before signing began)']);
  });

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

  it('signs a checkpoint, lists it, and verifies against a checkpoint file that names a cut', async () => {
    const backend = fakeBackend({ session: READY_ADMIN });
    render(AuditPanel, { backend, onerror: noop });
    expect(await screen.findByText('No checkpoint yet.')).toBeInTheDocument();
    await fireEvent.click(screen.getByRole('button', { name: 'Sign a checkpoint now' }));
    expect(await screen.findByTestId('audit-checkpoint')).toHaveTextContent(
      'Signed checkpoint saved to /tmp/desk-test/exports/audit-checkpoint-13.jsonl',
    );
    const table = await screen.findByRole('table', { name: 'Signed checkpoints' });
    expect(table).toHaveTextContent('13');
    expect(table).toHaveTextContent('alice');

    await fireEvent.click(screen.getByRole('button', { name: 'Verify the chain' }));
    expect(await screen.findByTestId('audit-report')).toHaveTextContent('1 signed checkpoint(s) hold');
    expect(backend.calls).toContain('verifyAudit:');

    await fireEvent.input(screen.getByLabelText('Also check against a checkpoint file (optional)'), {
      target: { value: ' /elsewhere/cut.jsonl ' },
    });
    await fireEvent.click(screen.getByRole('button', { name: 'Verify the chain' }));
    expect(await screen.findByTestId('audit-report')).toHaveTextContent(
      'Broken at entry 10: entries after 9 were removed: a checkpoint signed by alice',
    );
    expect(backend.calls).toContain('verifyAudit:/elsewhere/cut.jsonl');
  });
});

import DataProtectionPanel from './DataProtectionPanel.svelte';

describe('Data protection panel', () => {
  it('shows an erasure refused for retention with its date, one accepted, a dry run, and a backup', async () => {
    const backend = fakeBackend({ session: READY_ADMIN });
    render(DataProtectionPanel, { backend, onerror: noop });
    const id = screen.getByLabelText('Application id');
    await fireEvent.input(id, { target: { value: 'declined-1' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Request erasure' }));
    expect(await screen.findByTestId('data-protection')).toHaveTextContent('Refused (retention): AML retention keeps this record for 5 years after the relationship ended: erasure is possible from 2031-11-26');
    await fireEvent.input(id, { target: { value: 'draft-1' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Request erasure' }));
    expect(await screen.findByText(/^Erased:/)).toBeInTheDocument();

    await fireEvent.click(screen.getByRole('button', { name: 'Set legal hold' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('reason: must say why');

    await fireEvent.click(screen.getByRole('button', { name: 'List records past retention' }));
    expect(await screen.findByText(/1 record\(s\) past 5 years of retention \(dry run/)).toBeInTheDocument();
    await fireEvent.click(screen.getByRole('button', { name: 'Erase them' }));
    expect(await screen.findByText('Erased 1 record(s) past retention.')).toBeInTheDocument();

    expect(await screen.findByTestId('retention-last-run')).toHaveTextContent('Schedule last ran (or started) 2026-11-25 · next run 2026-11-26');
    await fireEvent.click(screen.getByLabelText(/Erase records past retention automatically/));
    expect(await screen.findByText('The daily purge is off.')).toBeInTheDocument();
    expect(backend.calls).toContain('setRetentionSchedule:false');

    await fireEvent.click(screen.getByRole('button', { name: 'Back up the vault' }));
    expect(await screen.findByText(/Encrypted backup written to \/tmp\/desk-test\/backups\//)).toBeInTheDocument();
    expect(backend.calls).toEqual(expect.arrayContaining(['gdprErase:declined-1', 'retentionRun:true', 'retentionRun:false', 'backupVault']));
  });

  it('lists the backups and marks one taken before a key rotation with what still opens it', async () => {
    const backend = fakeBackend({
      session: READY_ADMIN,
      backups: [
        { file: 'monday.backup', bytes: 2048, created_at: '2026-11-30T01:00:00Z', problem: null, before_rotation: true, stale_slots: 1, old_recovery_key: true },
        { file: 'junk.backup', bytes: 14, created_at: '', problem: 'archive: is not a Boarding Desk backup', before_rotation: false, stale_slots: 0, old_recovery_key: false },
      ],
    });
    render(DataProtectionPanel, { backend, onerror: noop });
    await fireEvent.click(screen.getByRole('button', { name: 'Back up the vault' }));
    await fireEvent.click(screen.getByRole('button', { name: 'List backups' }));
    const table = await screen.findByRole('table', { name: 'Backups' });
    const rows = table.querySelectorAll('tbody tr');
    expect(rows).toHaveLength(3);
    expect(rows[0]).toHaveTextContent('boarding-desk-1.backup');
    expect(rows[0]).toHaveTextContent('current keys');
    expect(rows[1]).toHaveTextContent(
      'BEFORE A KEY ROTATION: still opens with 1 password(s) no longer in use (users removed or reset since) and the replaced recovery key',
    );
    expect(rows[1]).toHaveClass('stale');
    expect(rows[2]).toHaveTextContent('not listed: archive: is not a Boarding Desk backup');
  });
});

describe('Data protection panel: the blocklist', () => {
  it('saves its retention, lists its entries with their basis, never a value', async () => {
    const backend = fakeBackend({ session: READY_ADMIN });
    await backend.decide({ id: 'app-9', version: 1, decision: 'decline', reasons: ['fraud_risk'], note: 'Stolen identity', fields: [], blocklist: true, blocklist_basis: 'card_network_rules', confirmed_hits: [] });
    render(DataProtectionPanel, { backend, onerror: noop });
    const years = await screen.findByLabelText('Keep new blocklist entries for (years)');
    await fireEvent.input(years, { target: { value: '11' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Save blocklist years' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('blocklist years: must be between 1 and 10');
    await fireEvent.input(years, { target: { value: '7' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Save blocklist years' }));
    expect(await screen.findByText('New blocklist entries are kept 7 years.')).toBeInTheDocument();
    await fireEvent.click(screen.getByRole('button', { name: 'Show the blocklist' }));
    const table = await screen.findByRole('table', { name: 'Blocklist' });
    const rows = table.querySelectorAll('tbody tr');
    expect(rows).toHaveLength(3);
    expect(rows[0]).toHaveTextContent("Card networks' rules (MATCH)");
    expect(rows[0]).toHaveTextContent('app-9');
    expect(backend.calls).toContain('setBlocklistYears:7');
  });
});

import RiskPanel from './RiskPanel.svelte';

describe('Risk rules panel', () => {
  it('edits points factor by factor, previews against the queue, proposes, and a second admin confirms', async () => {
    const backend = fakeBackend({ session: READY_ADMIN });
    const { unmount } = render(RiskPanel, { backend, session: READY_ADMIN, onerror: noop });
    const points = await screen.findByLabelText('mcc_high_risk');
    expect(screen.getByText('the MCC is card-brand high-risk: enhanced due diligence')).toBeInTheDocument();

    // A negative weight comes back from Rust as a field error.
    await fireEvent.input(points, { target: { value: '-5' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Propose rules' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('rules.points.mcc_high_risk: must be from 0 to 100 points');

    await fireEvent.input(points, { target: { value: '30' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Preview against the queue' }));
    expect(await screen.findByTestId('rules-preview')).toHaveTextContent('1 of 4 applications in the queue would change band: medium → high: 1');
    await fireEvent.click(screen.getByRole('button', { name: 'Propose rules' }));
    expect(await screen.findByTestId('rules-message')).toHaveTextContent('it applies once another admin confirms it');
    const waiting = screen.getByRole('region', { name: 'Changes waiting for a second admin' });
    expect(waiting).toHaveTextContent('risk rules by alice');
    expect(screen.queryByRole('button', { name: 'Confirm' })).not.toBeInTheDocument();
    unmount();

    // Another admin sees it and confirms.
    const bob = { ...READY_ADMIN, username: 'bob' };
    backend.switchUser('bob');
    render(RiskPanel, { backend, session: bob, onerror: noop });
    await fireEvent.click(await screen.findByRole('button', { name: 'Confirm' }));
    expect(await screen.findByTestId('rules-message')).toHaveTextContent('risk rules confirmed and in force.');
    expect(backend.calls).toContain('decideSetting:risk_rules:true');
  });
});

import SecurityPanel from './SecurityPanel.svelte';

describe('Security panel', () => {
  it('replaces the recovery key and shows the new one once, until the admin hides it', async () => {
    const backend = fakeBackend({ session: READY_ADMIN });
    render(SecurityPanel, { backend, session: READY_ADMIN, onerror: noop });
    expect(screen.queryByTestId('new-recovery-key')).toBeNull();
    await fireEvent.click(screen.getByRole('button', { name: 'Replace the recovery key' }));
    expect(await screen.findByTestId('new-recovery-key')).toHaveTextContent('DDDD-EEEE-FFFF');
    expect(screen.getByRole('status')).toHaveTextContent('the old one no longer opens the vault');
    expect(backend.calls).toContain('rotateRecoveryKey');
    await fireEvent.click(screen.getByRole('button', { name: 'I have written it down' }));
    expect(screen.queryByTestId('new-recovery-key')).toBeNull();
  });

  it('splits the new recovery key among admins and shows each share once', async () => {
    const backend = fakeBackend({ session: READY_ADMIN });
    render(SecurityPanel, { backend, session: READY_ADMIN, onerror: noop });
    await fireEvent.click(screen.getByLabelText('Split it among admins'));
    await fireEvent.input(screen.getByLabelText('any'), { target: { value: '3' } });
    await fireEvent.input(screen.getByLabelText('of'), { target: { value: '5' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Replace the recovery key' }));
    const shares = await screen.findByTestId('new-recovery-shares');
    expect(shares.querySelectorAll('li')).toHaveLength(5);
    expect(screen.getByRole('region', { name: 'New recovery key shares' })).toHaveTextContent('any 3 of the 5 together recover the vault');
    expect(screen.queryByTestId('new-recovery-key')).toBeNull();
    expect(backend.calls).toContain('rotateRecoveryKey:3-of-5');
    await fireEvent.click(screen.getByRole('button', { name: 'Every share is handed out' }));
    expect(screen.queryByTestId('new-recovery-shares')).toBeNull();
  });

  it('binds sign-ins to the keychain with the admin\'s password, refusing a wrong one by field, and unbinds', async () => {
    const backend = fakeBackend({ session: READY_ADMIN });
    render(SecurityPanel, { backend, session: READY_ADMIN, onerror: noop });
    expect(await screen.findByTestId('keychain-status')).toHaveTextContent('Binding: off (the default). Members bound: 0 of 1');
    await fireEvent.input(screen.getByLabelText('Your password'), { target: { value: 'not my password 42' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Bind sign-ins to this keychain' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('password: is not correct');
    expect(screen.getByTestId('keychain-status')).toHaveTextContent('Members bound: 0 of 1');
    await fireEvent.input(screen.getByLabelText('Your password'), { target: { value: 'correct horse battery 42' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Bind sign-ins to this keychain' }));
    expect(await screen.findByRole('status')).toHaveTextContent('bound to this desk\'s keychain');
    expect(screen.getByTestId('keychain-status')).toHaveTextContent('Binding: on. Members bound: 1 of 1 (yours is)');
    expect(screen.getByLabelText('Your password')).toHaveValue('');
    await fireEvent.input(screen.getByLabelText('Your password'), { target: { value: 'correct horse battery 42' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Unbind sign-ins' }));
    expect(await screen.findByTestId('keychain-status')).toHaveTextContent('Binding: off (turned off by an admin). Members bound: 0 of 1');
    expect(backend.calls).toEqual(expect.arrayContaining(['setKeychainBinding:true', 'setKeychainBinding:false']));
  });

  it('says why a desk without a keychain cannot bind, and offers no button that would fail', async () => {
    const backend = fakeBackend({ session: READY_ADMIN, noKeychain: 'no desktop session bus (D-Bus) is running' });
    render(SecurityPanel, { backend, session: READY_ADMIN, onerror: noop });
    expect(await screen.findByTestId('keychain-status')).toHaveTextContent('This desk has no usable keychain: no desktop session bus');
    expect(screen.getByRole('button', { name: 'Bind sign-ins to this keychain' })).toBeDisabled();
  });
});

describe('Data protection panel, exports', () => {
  it('shows how long exports are kept and saves a new number of days, refusing 0 by field', async () => {
    const backend = fakeBackend({ session: READY_ADMIN });
    render(DataProtectionPanel, { backend, onerror: noop });
    const days = await screen.findByLabelText('Delete generated exports after (days)');
    await screen.findByDisplayValue('30');
    await fireEvent.input(days, { target: { value: '0' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Save export days' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('export days: must be between 1 and 365');
    await fireEvent.input(days, { target: { value: '7' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Save export days' }));
    expect(await screen.findByText('Exports are deleted after 7 days.')).toBeInTheDocument();
    expect(backend.calls).toContain('setExportDays:7');
  });
});

import UsersPanel from './UsersPanel.svelte';

describe('Users panel', () => {
  const user = (username: string, keys: 'own' | 'legacy' | 'none') => ({
    id: `id-${username}`,
    username,
    role: 'underwriter' as const,
    disabled: false,
    must_change_password: false,
    totp_enrolled: true,
    created_at: '2026-11-01T00:00:00Z',
    created_by: 'alice',
    last_login_at: null,
    locked_until: null,
    keys,
  });

  it('says who is still on the pre-upgrade shared key and who lost their key pair to a rotation', async () => {
    const backend = fakeBackend({
      session: READY_ADMIN,
      users: [user('uma', 'legacy'), user('vic', 'own'), user('wes', 'none')],
    });
    render(UsersPanel, { backend, onerror: noop });
    const row = (name: string) => screen.findByText(name).then((cell) => cell.closest('tr') as HTMLElement);
    expect(await row('uma')).toHaveTextContent('on the pre-upgrade shared key');
    expect(await row('vic')).not.toHaveTextContent('shared key');
    expect(await row('vic')).not.toHaveTextContent('key pair');
    expect(await row('wes')).toHaveTextContent('no key pair since a key rotation: reset their password');
  });

  it('offers no disable or password reset on the signed-in admin\'s own row (Rust refuses both)', async () => {
    const backend = fakeBackend({ session: READY_ADMIN, users: [user('alice', 'own'), user('vic', 'own')] });
    render(UsersPanel, { backend, onerror: noop, me: 'alice' });
    const row = (name: string) => screen.findByText(name).then((cell) => cell.closest('tr') as HTMLElement);
    const mine = within(await row('alice'));
    expect(mine.queryByRole('button', { name: 'Disable' })).toBeNull();
    expect(mine.queryByRole('button', { name: 'Reset password' })).toBeNull();
    expect(await row('alice')).toHaveTextContent('change your own password instead');
    expect(within(await row('vic')).getByRole('button', { name: 'Reset password' })).toBeInTheDocument();
  });

  it('disabling a user shows the background re-wrap of record keys until it completes', async () => {
    const backend = fakeBackend({ session: READY_ADMIN, users: [user('vic', 'own')] });
    render(UsersPanel, { backend, onerror: noop, pollMs: 5 });
    const row = await screen.findByText('vic').then((cell) => cell.closest('tr') as HTMLElement);
    expect(screen.queryByTestId('rewrap')).toBeNull();
    await fireEvent.click(within(row).getByRole('button', { name: 'Disable' }));
    expect(await screen.findByTestId('rewrap')).toHaveTextContent('re-wrapping record keys under the new class keys — 0 of 10,000');
    expect(await screen.findByText(/Key rotation complete: 10,000 record keys re-wrapped/)).toBeInTheDocument();
    expect(backend.calls).toContain('setUserDisabled:id-vic:true');
  });
});

import TeamPanel from './TeamPanel.svelte';
import { FAKE_JOIN_CODE } from '../backend/fake';

describe('Team panel', () => {
  it('shows a team desk its store and, on request, the join code', async () => {
    const backend = fakeBackend({ session: READY_ADMIN, store: 'postgres://boarding_desk_app@db.example.com/desk' });
    render(TeamPanel, { backend, onerror: noop });
    expect(await screen.findByTestId('team-store')).toHaveTextContent('postgres://boarding_desk_app@db.example.com/desk');
    expect(screen.queryByTestId('join-code')).toBeNull();
    await fireEvent.click(screen.getByRole('button', { name: 'Show the join code' }));
    expect(await screen.findByTestId('join-code')).toHaveTextContent(FAKE_JOIN_CODE);
  });

  it('is absent on a local vault', async () => {
    const backend = fakeBackend({ session: READY_ADMIN });
    render(TeamPanel, { backend, onerror: noop });
    await Promise.resolve();
    expect(backend.calls).toContain('appInfo');
    expect(screen.queryByRole('region', { name: 'Team' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Show the join code' })).toBeNull();
  });
});
