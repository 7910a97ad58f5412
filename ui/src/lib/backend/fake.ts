// An in-memory Backend for component tests: just enough state to walk the sign-in gate.
import { BackendError } from './errors';
import { DEFAULT_FOUR_EYES_SCORE, MASKED_BY_RUST, MIN_PASSWORD_CHARS, SENSITIVE_FIELDS } from './generated';
import type {
  AppInfo,
  ApplicationForm,
  ApplicationSummary,
  ApplicationView,
  AuditCheckpoint,
  Backend,
  DocumentMeta,
  MerchantStatus,
  SessionInfo,
  User,
} from './types';

/** A value as Rust masks it: looked up in the table Rust generated, never worked out here. A
 * test that needs another value adds it to `MASKING_SAMPLES` in crates/api/tests/wire_types.rs. */
export function maskedByRust(value: string): string {
  if (!value) return value;
  const masked = MASKED_BY_RUST[value];
  if (masked === undefined) throw new Error(`fake backend: no masked sample for this value (add it to MASKING_SAMPLES)`);
  return masked;
}

/** Masks `form` field by field as Rust does, on the fields Rust names sensitive. */
function maskForm(form: ApplicationForm): ApplicationForm {
  const m = structuredClone(form);
  for (const path of SENSITIVE_FIELDS) {
    const [section, field] = path.split('.') as [string, string];
    if (section === 'people[*]') {
      for (const p of m.people) (p as unknown as Record<string, string>)[field] = maskedByRust((p as unknown as Record<string, string>)[field]);
    } else {
      const part = (m as unknown as Record<string, Record<string, string>>)[section];
      part[field] = maskedByRust(part[field]);
    }
  }
  return m;
}

export interface FakeOptions {
  /** The users Admin → Users lists. */
  users?: User[];
  queue?: import('./types').QueueRow[];
  vault?: AppInfo['vault'];
  session?: SessionInfo | null;
  appInfoError?: BackendError;
  jobs?: import('./types').BoardingJob[];
  merchants?: import('./types').Merchant[];
  platformDown?: boolean;
  /** The team store cannot be reached: calls are refused as the Rust side refuses them. */
  storeDown?: boolean;
  /** Who sends the outbox (default: this desk). */
  sender?: import('./types').PlatformSender;
  /** Screening hits per application id. */
  hits?: Record<string, import('./types').StoredHit[]>;
  /** Why this desk has no OS keychain (the default fake has one). */
  noKeychain?: string;
  /** Archives already in the backups folder. */
  backups?: import('./types').BackupFile[];
  /** The team store this desk's vault is in (none: a local vault). */
  store?: string | null;
}

/** The join code the fake team's desks show and accept. */
export const FAKE_JOIN_CODE = 'AEAA-BBBB-CCCC-DDDD';

export const READY_ADMIN: SessionInfo = {
  username: 'alice',
  role: 'admin',
  stage: 'ready',
  idle_minutes: 15,
  enrolment: null,
};

const ENROLMENT = { secret: 'JBSWY3DPEHPK3PXP', otpauth_url: 'otpauth://totp/x', qr_svg: '<svg></svg>' };

export function fakeBackend(
  opts: FakeOptions = {},
): Backend & { calls: string[]; switchUser(username: string): void; announce(changes: import('./types').Changes): void } {
  let vault = opts.vault ?? 'locked';
  let store = opts.store ?? null;
  let session: SessionInfo | null = opts.session === undefined ? null : opts.session;
  const users: User[] = opts.users ?? [];
  const calls: string[] = [];
  const listeners = new Set<(changes: import('./types').Changes) => void>();
  const checkpoints: AuditCheckpoint[] = [];
  let rewrap: import('./types').RewrapStatus = { running: false, done: 0, left: 0, started_at: null, finished_at: null, error: null };
  const backups: import('./types').BackupFile[] = [...(opts.backups ?? [])];
  const notes: import('./types').Note[] = [];
  const pendingSettings: import('./types').PendingSetting[] = [];
  const changes: import('./types').MerchantChange[] = [];
  const blocklist: import('./types').BlocklistEntry[] = [];
  let keychain: import('./types').KeychainStatus = {
    unavailable: opts.noKeychain ?? null,
    binding: 'never',
    secret_here: false,
    bound: 0,
    members: 1 + (opts.users?.length ?? 0),
    you_bound: false,
  };
  const addToBlocklist = (id: string, reason: string, basis: string | null | undefined, by: string) => {
    if (!basis) throw new BackendError('invalid_input', 'blocklist basis: say on which legal basis the identifiers are kept', [{ field: 'blocklist basis', reason: 'say on which legal basis the identifiers are kept' }]);
    for (const kind of ['ein', 'ssn', 'bank_account']) {
      blocklist.unshift({ kind, application_id: id, reason, legal_basis: basis, added_by: by, added_at: clock, retain_until: clock + schedule.blocklist_years * 365 * 86_400_000, keyed: true });
    }
  };
  const schedule: import('./types').RetentionSchedule = { enabled: true, last_run_at: 1, last_run: '2026-11-25', next_run: '2026-11-26', retention_years: 5, export_days: 30, blocklist_years: 5 };
  const apps = new Map<string, { summary: ApplicationSummary; form: ApplicationForm; documents: DocumentMeta[] }>();
  let clock = 1_780_000_000_000;
  let lists: import('./types').ListVersion[] = [];
  const queue: import('./types').QueueRow[] = opts.queue ?? [];
  const jobs: import('./types').BoardingJob[] = opts.jobs ?? [];
  let platform: import('./types').PlatformSettings = {
    url: 'http://127.0.0.1:12111',
    key_hint: 'sk_test_…dbox',
    rate_per_second: 25,
    is_sandbox: true,
  };
  const masked = maskForm;
  const viewOf = (id: string): ApplicationView => {
    const app = apps.get(id);
    if (!app) throw new BackendError('not_found', 'application not found');
    const missing = [];
    if (!app.form.business.legal_name) missing.push({ field: 'business.legal_name', reason: 'is required' });
    if (app.form.people.length === 0) missing.push({ field: 'people', reason: 'add the owners and the control person' });
    return { summary: { ...app.summary }, form: masked(app.form), history: [], documents: [...app.documents], hits: structuredClone(opts.hits?.[id] ?? []), missing, can_reveal: true };
  };
  const needSession = () => {
    if (!session || session.stage !== 'ready') throw new BackendError('unauthorized', 'sign in first');
    return session;
  };
  return {
    calls,
    /** Another desk changed something: what Rust's `desk-changed` event says. */
    announce: (changes) => {
      for (const listener of [...listeners]) listener(changes);
    },
    onChanged: (handler) => {
      listeners.add(handler);
      return () => listeners.delete(handler);
    },
    /** Another user of the same role signs in (tests of four-eyes flows). */
    switchUser: (username: string) => {
      if (session) session = { ...session, username };
    },
    appInfo: async () => {
      calls.push('appInfo');
      if (opts.appInfoError) throw opts.appInfoError;
      return { name: 'Boarding Desk', version: '9.8.7', data_dir: '/tmp/desk-test', vault, store };
    },
    sessionInfo: async () => session,
    sessionTouch: async () => session,
    setupVault: async (username, password) => {
      calls.push('setupVault');
      if (password.length < MIN_PASSWORD_CHARS) throw new BackendError('invalid_input', `password: must be at least ${MIN_PASSWORD_CHARS} characters`);
      vault = 'locked';
      session = { ...READY_ADMIN, username, stage: 'enrol_totp', enrolment: ENROLMENT };
      return { session, recovery_key: 'AAAA-BBBB-CCCC' };
    },
    createTeam: async (url, username, password) => {
      calls.push('createTeam');
      if (!url.startsWith('postgres')) throw new BackendError('invalid_input', 'team store URL: is not a postgres:// URL');
      if (password.length < MIN_PASSWORD_CHARS) throw new BackendError('invalid_input', `password: must be at least ${MIN_PASSWORD_CHARS} characters`);
      vault = 'locked';
      store = url;
      session = { ...READY_ADMIN, username, stage: 'enrol_totp', enrolment: ENROLMENT };
      return { session, recovery_key: 'AAAA-BBBB-CCCC' };
    },
    joinTeam: async (url, code) => {
      calls.push('joinTeam');
      if (code.replace(/[\s-]/g, '').toUpperCase() !== FAKE_JOIN_CODE.replace(/-/g, ''))
        throw new BackendError('invalid_input', 'join code: does not name this team\'s founding admin');
      vault = 'locked';
      store = url;
      return { store: url };
    },
    teamJoinCode: async () => {
      if (needSession().role !== 'admin') throw new BackendError('forbidden', 'admins only');
      if (!store) throw new BackendError('conflict', 'this vault is a local one: there is no team to join');
      return { store, code: FAKE_JOIN_CODE };
    },
    signIn: async (username, password, code) => {
      calls.push('signIn');
      if (password !== 'correct horse battery 42' || code !== '123456')
        throw new BackendError('bad_credentials', 'wrong username, password or authenticator code');
      session = { ...READY_ADMIN, username };
      return session;
    },
    confirmTotp: async (code) => {
      if (code !== '123456') throw new BackendError('invalid_input', 'authenticator code: does not match');
      session = { ...needSessionAny(), stage: 'ready', enrolment: null };
      return session;
    },
    changePassword: async () => {
      session = { ...needSessionAny(), stage: 'enrol_totp', enrolment: ENROLMENT };
      return session;
    },
    lock: async () => {
      calls.push('lock');
      session = null;
    },
    setIdleMinutes: async (m) => m,
    listUsers: async () => {
      needSession();
      return users;
    },
    createUser: async () => {
      throw new BackendError('internal', 'not in the fake');
    },
    setUserDisabled: async (userId, disabled) => {
      needSession();
      calls.push(`setUserDisabled:${userId}:${disabled}`);
      // Like Rust: disabling rotates the class keys; 10,000 record keys then wait.
      if (disabled) rewrap = { running: true, done: 0, left: 10_000, started_at: clock, finished_at: null, error: null };
      return null;
    },
    rewrapStatus: async () => {
      needSession();
      const now = { ...rewrap };
      // The background unit of 5,000 runs between two polls.
      if (rewrap.running) {
        rewrap = { ...rewrap, done: rewrap.done + 5_000, left: rewrap.left - 5_000 };
        if (rewrap.left <= 0) rewrap = { ...rewrap, left: 0, running: false, finished_at: clock };
      }
      return now;
    },
    resetUserPassword: async () => {
      throw new BackendError('internal', 'not in the fake');
    },
    resetUserTotp: async () => {
      throw new BackendError('internal', 'not in the fake');
    },
    unlockUser: async () => {
      throw new BackendError('internal', 'not in the fake');
    },
    verifyAudit: async (file) => {
      needSession();
      calls.push(`verifyAudit:${file ?? ''}`);
      if (file === '/elsewhere/cut.jsonl')
        return {
          intact: false,
          entries: 9,
          broken_at: 10,
          problem: 'entries after 9 were removed: a checkpoint signed by alice at 2026-12-02T00:00:00Z remembers entry 11',
          checkpoints: 0,
          checkpoints_ignored: 0,
        };
      return { intact: true, entries: 12, broken_at: null, problem: null, checkpoints: checkpoints.length, checkpoints_ignored: 0 };
    },
    listCheckpoints: async () => {
      needSession();
      return [...checkpoints].reverse();
    },
    signCheckpoint: async () => {
      const me = needSession();
      if (me.role !== 'admin' && me.role !== 'auditor') throw new BackendError('forbidden', 'admins and auditors only');
      const seq = 12 + checkpoints.length + 1;
      checkpoints.push({ vault_id: 'v-1', seq, hash: 'ab'.repeat(32), at: '2026-12-02T00:00:00Z', signer: 'slot', actor: me.username, signature: 'sig' });
      return { path: `/tmp/desk-test/exports/audit-checkpoint-${seq}.jsonl`, rows: 1 };
    },
    listAudit: async () => {
      needSession();
      return {
        entries: [
          { seq: 3, at: '2026-12-02T00:02:00Z', actor: 'alice', action: 'auth.sign_in', target: null, outcome: 'ok', detail: null, signed_by: 'alice' },
          { seq: 2, at: '2026-12-02T00:01:00Z', actor: 'anonymous', action: 'auth.sign_in', target: 'alice', outcome: 'failed', detail: 'password', signed_by: 'desk 1a2b3c4d' },
          { seq: 1, at: '2026-12-02T00:00:00Z', actor: 'alice', action: 'vault.create', target: null, outcome: 'ok', detail: null, signed_by: null },
        ],
        next_before: null,
      };
    },
    rotateKey: async () => undefined,
    rotateRecoveryKey: async (split) => {
      needSession();
      calls.push(`rotateRecoveryKey${split ? `:${split[0]}-of-${split[1]}` : ''}`);
      if (split && (split[0] < 2 || split[1] < split[0] || split[1] > 16))
        throw new BackendError('invalid_input', 'split: must be M of N with 2 <= M <= N <= 16', [{ field: 'split', reason: 'must be M of N with 2 <= M <= N <= 16' }]);
      if (split) return { recovery_key: null, shares: Array.from({ length: split[1] }, (_, i) => `SHARE-${i + 1}`), threshold: split[0] };
      return { recovery_key: 'DDDD-EEEE-FFFF', shares: [], threshold: null };
    },
    keychainStatus: async () => {
      needSession();
      return { ...keychain };
    },
    setKeychainBinding: async (on, password) => {
      needSession();
      calls.push(`setKeychainBinding:${on}`);
      if (password !== 'correct horse battery 42')
        throw new BackendError('invalid_input', 'password: is not correct', [{ field: 'password', reason: 'is not correct' }]);
      if (on && keychain.unavailable) throw new BackendError('unavailable', `this desk's OS keychain: ${keychain.unavailable}`);
      if (!on && keychain.binding !== 'on') throw new BackendError('conflict', 'the keychain binding is not on');
      keychain = { ...keychain, binding: on ? 'on' : 'off', secret_here: on, you_bound: on, bound: on ? keychain.bound + 1 : Math.max(0, keychain.bound - 1) };
      return { ...keychain };
    },
    saveDraft: async (id, version, form) => {
      needSession();
      calls.push('saveDraft');
      // A few of Rust's rules, enough to exercise the UI's error handling.
      const fields = [];
      if (form.business.ein && !form.business.ein.includes('•') && form.business.ein.replace(/\D/g, '').length !== 9)
        fields.push({ field: 'business.ein', reason: 'must be 9 digits' });
      form.people.forEach((p, i) => {
        if (p.ssn && !p.ssn.includes('•') && p.ssn.replace(/\D/g, '').length !== 9)
          fields.push({ field: `people[${i}].ssn`, reason: 'must be 9 digits' });
      });
      if (fields.length > 0) throw new BackendError('invalid_input', `${fields.length} fields need attention`, fields);
      const existing = id ? apps.get(id) : undefined;
      if (id && !existing) throw new BackendError('not_found', 'application not found');
      if (existing && existing.summary.version !== version)
        throw new BackendError('conflict', 'the application was changed by someone else meanwhile: reload it');
      const kept = structuredClone(form);
      if (existing) {
        if (kept.business.ein.includes('•')) kept.business.ein = existing.form.business.ein;
        if (kept.bank.account_number.includes('•')) kept.bank.account_number = existing.form.bank.account_number;
        for (const p of kept.people) {
          const old = existing.form.people.find((o) => o.id === p.id);
          if (p.ssn.includes('•') && old) p.ssn = old.ssn;
        }
      }
      const newId = id ?? `app-${apps.size + 1}`;
      clock += 1000;
      const summary: ApplicationSummary = existing
        ? { ...existing.summary, legal_name: kept.business.legal_name, dba: kept.business.dba, version: existing.summary.version + 1, updated_at: clock }
        : {
            id: newId, status: 'draft', legal_name: kept.business.legal_name, dba: kept.business.dba, entity_type: kept.business.entity_type,
            mcc: kept.business.mcc, people_count: kept.people.length, source: 'wizard', created_by: needSession().username, edited_by: null,
            created_at: clock, updated_at: clock, submitted_at: null, version: 1, open_hits: 0, screened: false,
          };
      apps.set(newId, { summary, form: kept, documents: existing?.documents ?? [] });
      return viewOf(newId);
    },
    getApplication: async (id) => viewOf(id),
    submitApplication: async (id) => {
      const app = apps.get(id);
      if (!app) throw new BackendError('not_found', 'application not found');
      app.summary = { ...app.summary, status: 'submitted', version: app.summary.version + 1 };
      return viewOf(id);
    },
    withdrawApplication: async (id) => {
      const app = apps.get(id);
      if (!app) throw new BackendError('not_found', 'application not found');
      app.summary = { ...app.summary, status: 'withdrawn', version: app.summary.version + 1 };
      return viewOf(id);
    },
    revealField: async (id, field) => {
      calls.push(`reveal:${field}`);
      const app = apps.get(id);
      if (!app) throw new BackendError('not_found', 'application not found');
      if (field === 'business.ein') return app.form.business.ein;
      const m = /^people\[(\d+)\]\.ssn$/.exec(field);
      if (m) return app.form.people[Number(m[1])]?.ssn ?? '';
      throw new BackendError('invalid_input', 'field: is not a sensitive field of the form');
    },
    listApplications: async (query) => {
      needSession();
      const all = [...apps.values()]
        .map((a) => a.summary)
        .filter((s) => !query.status || s.status === query.status)
        .filter((s) => !query.search || s.legal_name.toLowerCase().startsWith(query.search.toLowerCase()))
        .reverse();
      return { items: all.slice(0, query.limit ?? 50), total: all.length, total_exact: true, next: null };
    },
    checkApplication: async (form) => {
      const issues = [];
      if (form.business.ein && !form.business.ein.includes('•') && form.business.ein.replace(/\D/g, '').length !== 9)
        issues.push({ field: 'business.ein', reason: 'must be 9 digits' });
      return issues;
    },
    mccCodes: async () => [{ code: '5734', description: 'Computer Software Stores', tier: 'standard' }],
    addDocument: async (applicationId, kind, fileName, content) => {
      const app = apps.get(applicationId);
      if (!app) throw new BackendError('not_found', 'application not found');
      const meta: DocumentMeta = {
        id: `doc-${app.documents.length + 1}`, application_id: applicationId, kind, media_type: 'image/png',
        size: content.length, file_name: fileName, uploaded_by: 'alice', uploaded_at: clock,
      };
      app.documents.push(meta);
      return meta;
    },
    documentContent: async () => new Uint8Array([0x89, 0x50, 0x4e, 0x47]).buffer,
    deleteDocument: async () => undefined,
    importApplications: async (fileName, content, onProgress, skipDuplicates = false) => {
      calls.push(`import:${fileName}:${content.length}${skipDuplicates ? ':skip' : ''}`);
      onProgress({ done: 1, total: 3 });
      onProgress({ done: 3, total: 3 });
      const warning = { row: 3, identifier: 'ein' as const, message: 'possible duplicate of application a-1 (same EIN)', skipped: skipDuplicates };
      return {
        rows: 3, imported: skipDuplicates ? 1 : 2, rejected_rows: 1,
        errors: [{ row: 2, field: 'ein', reason: 'has a prefix the IRS does not assign' }], errors_not_listed: 0,
        warnings: [warning], warnings_not_listed: 0, skipped_duplicates: skipDuplicates ? 1 : 0,
      };
    },
    seedDemo: async (count, onProgress) => {
      onProgress({ done: count, total: count });
      return { rows: count, imported: count, rejected_rows: 0, errors: [], errors_not_listed: 0, warnings: [], warnings_not_listed: 0, skipped_duplicates: 0 };
    },
    importLists: async (dir) => {
      calls.push(`importLists:${dir}`);
      if (!dir.startsWith('/')) throw new BackendError('invalid_input', 'lists: cannot be read as a folder');
      // Like Rust: the first version is active at once; a replacement waits for a second admin.
      const replacing = lists.some((l) => l.active);
      const added: import('./types').ListVersion = { id: `l${lists.length + 1}`, source: 'sdn', imported_at: clock, imported_by: 'alice', entry_count: 17, name_count: 40, files: [], active: !replacing };
      lists = [added, ...lists];
      return [added];
    },
    listVersions: async () => lists,
    screenName: async () => [],
    screenApplication: async () => ({ new_hits: 0, open_hits: 0, suppressed: 0 }),
    rescreenStatus: async () => {
      needSessionAny();
      // Lists loaded: the background run has screened the two applications in play.
      return lists.length
        ? { running: false, done: 2, total: 2, with_new_hits: 1, new_hits: 1, started_at: clock, finished_at: clock, error: null }
        : { running: false, done: 0, total: 0, with_new_hits: 0, new_hits: 0, started_at: null, finished_at: null, error: null };
    },
    disposeHit: async (hitId, disposition) => {
      calls.push(`disposeHit:${hitId}:${disposition}`);
    },
    reviewQueue: async (query, quiet) => {
      needSession();
      calls.push(`reviewQueue:${query.sort ?? 'risk'}${quiet ? ':quiet' : ''}`);
      const items = queue.filter((r) => !query.band || r.risk_band === query.band);
      return { items, total: items.length, total_exact: true, offset: 0 };
    },
    reviewView: async (id) => {
      const row = queue.find((r) => r.id === id);
      if (!row) throw new BackendError('not_found', 'application not found');
      return {
        row,
        assessment: {
          assessed_at: clock, score: row.risk_score ?? 0, band: row.risk_band ?? 'low', recommendation: 'enhanced_due_diligence',
          four_eyes: (row.risk_score ?? 0) >= DEFAULT_FOUR_EYES_SCORE,
          factors: [{ code: 'mcc_high_risk', points: 25, detail: 'MCC 5967 is card-brand high-risk: enhanced due diligence' }],
        },
        decisions: [],
        notes: notes.filter((n) => n.id.startsWith(`${id}:`)),
        approve_reasons: ['meets_policy', 'edd_completed', 'low_risk'],
        decline_reasons: ['sanctions_match', 'fraud_risk', 'policy_other'],
        request_info_reasons: ['missing_document'],
      };
    },
    assignToMe: async (id) => {
      const row = queue.find((r) => r.id === id);
      if (!row) throw new BackendError('not_found', 'application not found');
      row.assignee = needSession().username;
      row.status = 'in_review';
      row.version += 1;
      return row;
    },
    addNote: async (id, text) => {
      const me = needSession();
      if (text.trim().length < 2) throw new BackendError('invalid_input', 'note: must not be empty');
      notes.push({ id: `${id}:${notes.length}`, author: me.username, at: clock, text });
      calls.push(`addNote:${id}`);
      return notes.filter((n) => n.id.startsWith(`${id}:`));
    },
    nextInQueue: async () => queue.find((r) => !r.assignee) ?? null,
    decide: async (input) => {
      calls.push(`decide:${input.decision}:${input.reasons.join(',')}${input.blocklist ? `:blocklist:${input.blocklist_basis}` : ''}`);
      if (input.note.length < 5) throw new BackendError('invalid_input', 'note: must say why, in at least 5 characters');
      if (input.blocklist && input.decision === 'decline') addToBlocklist(input.id, 'declined', input.blocklist_basis, needSession().username);
      return { status: input.decision === 'approve' ? 'approved' : 'declined', awaiting_second_approval: false };
    },
    riskSettings: async () => [{ points: { mcc_high_risk: 25 }, four_eyes_score: DEFAULT_FOUR_EYES_SCORE }, 0.88],
    setRiskRules: async (json) => {
      calls.push('setRiskRules');
      let parsed: { points?: Record<string, number> };
      try {
        parsed = JSON.parse(json);
      } catch {
        throw new BackendError('invalid_input', 'rules: expected value at line 1 column 1');
      }
      const bad = Object.entries(parsed.points ?? {}).filter(([, v]) => v < 0);
      if (bad.length) throw new BackendError('invalid_input', `rules.points.${bad[0][0]}: must be from 0 to 100 points`, bad.map(([k]) => ({ field: `rules.points.${k}`, reason: 'must be from 0 to 100 points' })));
      const p = { key: 'risk_rules' as const, value: json, changes: 'points.mcc_high_risk 25 -> 30', proposed_by: needSession().username, proposed_at: clock };
      pendingSettings.push(p);
      return p;
    },
    previewRiskRules: async () => ({ in_queue: 4, would_change: 1, moves: [['medium', 'high', 1]], changes: 'points.mcc_high_risk 25 -> 30' }),
    riskFactors: async () => [
      ['mcc_high_risk', 'the MCC is card-brand high-risk: enhanced due diligence'],
      ['card_not_present', 'a high share of card-not-present sales'],
    ],
    setScreeningThreshold: async (value) => {
      if (value < 0.7 || value > 0.99) throw new BackendError('invalid_input', 'threshold: must be between 0.70 and 0.99');
      const p = { key: 'screening_threshold' as const, value: String(value), changes: `0.88 -> ${value}`, proposed_by: needSession().username, proposed_at: clock };
      pendingSettings.push(p);
      return p;
    },
    pendingSettings: async () => [...pendingSettings],
    decideSetting: async (key, confirm) => {
      const i = pendingSettings.findIndex((p) => p.key === key);
      if (i < 0) throw new BackendError('not_found', 'no change of that setting waits');
      if (confirm && pendingSettings[i].proposed_by === needSession().username)
        throw new BackendError('forbidden', 'a change is confirmed by an admin other than the one who proposed it');
      calls.push(`decideSetting:${key}:${confirm}`);
      pendingSettings.splice(i, 1);
      return [...pendingSettings];
    },
    boardingOverview: async (filter) => {
      needSessionAny();
      calls.push(`boardingOverview:${filter ?? 'all'}`);
      const count = (st: string) => jobs.filter((j) => j.state === st).length;
      return {
        counts: { queued: count('queued'), retrying: count('retrying'), needs_fix: count('needs_fix'), done: count('done'), cancelled: count('cancelled') },
        jobs: jobs.filter((j) => !filter || j.state === filter),
        health: opts.platformDown
          ? { state: 'down', since: '2026-11-26T10:00:00Z', failures: 7, retry_at: '2026-11-26T10:01:00Z' }
          : { state: 'up' },
        sender: opts.sender ?? { state: 'this_desk', since: '2026-11-26T09:00:00Z' },
        platform_url: platform.url,
      };
    },
    platformStatus: async () => {
      needSessionAny();
      calls.push('platformStatus');
      if (opts.storeDown)
        throw new BackendError(
          'unavailable',
          'team store unavailable since 10:02:03 UTC: nothing was done; this desk reconnects on its own',
        );
      return {
        health: opts.platformDown
          ? { state: 'down', since: '2026-11-26T10:00:00Z', failures: 7, retry_at: '2026-11-26T10:01:00Z' }
          : { state: 'up' },
        sender: opts.sender ?? { state: 'this_desk', since: '2026-11-26T09:00:00Z' },
        waiting: jobs.filter((j) => j.state === 'queued' || j.state === 'retrying').length,
        needs_fix: jobs.filter((j) => j.state === 'needs_fix').length,
      };
    },
    boardingRetry: async (id) => {
      const job = jobs.find((j) => j.id === id);
      if (!job) throw new BackendError('not_found', 'no boarding job for that id');
      calls.push(`boardingRetry:${id}`);
      job.state = 'queued';
      return job;
    },
    boardingCancel: async (id) => {
      const job = jobs.find((j) => j.id === id);
      if (!job) throw new BackendError('not_found', 'no boarding job for that id');
      calls.push(`boardingCancel:${id}`);
      job.state = 'cancelled';
      return job;
    },
    boardingFix: async (id, field, value) => {
      const job = jobs.find((j) => j.id === id);
      if (!job) throw new BackendError('not_found', 'no boarding job for that id');
      if (field !== job.error_field) throw new BackendError('invalid_input', 'field: only the field the platform named can be corrected here');
      if (!value.includes('@')) throw new BackendError('invalid_input', `${field}: must be an email address`);
      calls.push(`boardingFix:${id}:${field}`);
      job.state = 'queued';
      job.error_kind = null;
      return job;
    },
    platformSettings: async () => platform,
    setPlatform: async (url, secretKey, rate) => {
      if (!/^https:\/\/|^http:\/\/127\.0\.0\.1/.test(url)) throw new BackendError('invalid_input', 'url: must be an https:// address');
      calls.push(`setPlatform:${url}:${secretKey ? 'new-key' : 'same-key'}:${rate}`);
      platform = { url, key_hint: secretKey ? `sk_live_…${secretKey.slice(-4)}` : platform.key_hint, rate_per_second: rate, is_sandbox: false };
      return platform;
    },
    testPlatform: async () => ({ ok: !opts.platformDown, url: platform.url, latency_ms: 12, message: opts.platformDown ? 'cannot reach the platform' : 'connected' }),
    restoreBackup: async (file, username, password, code, recoveryKey) => {
      if (vault !== 'not_created') throw new BackendError('conflict', 'this data folder already holds a vault: restore into a new one');
      if (!file.endsWith('.backup')) throw new BackendError('invalid_input', 'archive: is not a Boarding Desk backup');
      if (!recoveryKey && (password !== 'correct horse battery 42' || !/^\d{6}$/.test(code ?? '')))
        throw new BackendError('bad_credentials', 'wrong username, password or authenticator code');
      calls.push(`restoreBackup:${username ?? 'recovery'}`);
      vault = 'locked';
      return { vault_id: 'v1', created_at: '2026-11-26T04:00:00Z', schema_version: 11, applications: 3, users: 2, audit_entries: 40, bytes: 1000, erasures_replayed: 1,
        // An older archive than the newest checkpoint beside it: a rollback, said.
        audit_entries_behind: file.includes('monday') ? 5 : 0, rolled_back_past: file.includes('monday') ? 'alice at 2026-11-27T04:00:00Z' : null };
    },
    merchantsPage: async (query) => {
      needSessionAny();
      calls.push(`merchantsPage:${query.filter.status ?? 'all'}:${query.filter.name_prefix ?? ''}:${query.filter.in_review}:${query.offset}`);
      const prefix = (query.filter.name_prefix ?? '').trim().toLowerCase();
      const all = (opts.merchants ?? []).filter(
        (m) =>
          (!query.filter.status || m.status === query.filter.status) &&
          (!query.filter.in_review || m.review_reason !== null) &&
          m.legal_name.toLowerCase().startsWith(prefix),
      );
      return { items: all.slice(query.offset, query.offset + query.limit), total: all.length, offset: query.offset };
    },
    syncMerchant: async (id) => {
      const m = (opts.merchants ?? []).find((x) => x.application_id === id);
      if (!m) throw new BackendError('not_found', 'no boarded merchant');
      calls.push(`syncMerchant:${id}`);
      return m;
    },
    merchantAction: async (input) => {
      if (needSession().role !== 'admin') throw new BackendError('forbidden', 'admins only');
      const m = (opts.merchants ?? []).find((x) => x.application_id === input.id);
      if (!m) throw new BackendError('not_found', 'no boarded merchant');
      if (input.note.trim().length < 5) throw new BackendError('invalid_input', 'note: must say why, in at least 5 characters');
      const to: MerchantStatus = ({ restrict: 'restricted', suspend: 'suspended', reinstate: 'active', terminate: 'terminated' } as const)[input.action];
      m.status = to;
      m.status_reason = input.reason;
      calls.push(`merchantAction:${input.id}:${input.action}:${input.reason}:${input.blocklist}${input.blocklist ? `:${input.blocklist_basis}` : ''}`);
      if (input.blocklist) addToBlocklist(input.id, `terminated: ${input.reason}`, input.blocklist_basis, needSession().username);
      return { merchant: m, job_id: 'mj-1', blocklisted: input.blocklist ? 3 : 0 };
    },
    exportAudit: async (from, to, format) => {
      const me = needSession();
      if (me.role !== 'admin' && me.role !== 'auditor') throw new BackendError('forbidden', 'admins and auditors only');
      if (to < from) throw new BackendError('invalid_input', 'to: must not be before from');
      calls.push(`exportAudit:${from}:${to}:${format}`);
      return { path: `/tmp/desk-test/exports/audit-${from}-${to}.${format}`, rows: 12 };
    },
    exportMerchants: async (format) => {
      needSession();
      calls.push(`exportMerchants:${format}`);
      return { path: `/tmp/desk-test/exports/merchants.${format}`, rows: (opts.merchants ?? []).length };
    },
    gdprErase: async (id) => {
      if (needSession().role !== 'admin') throw new BackendError('forbidden', 'admins only');
      calls.push(`gdprErase:${id}`);
      return id === 'draft-1'
        ? { application_id: id, outcome: 'erased', possible_from: null, message: 'erased: its keys are destroyed and the row is a tombstone' }
        : { application_id: id, outcome: 'refused_retention', possible_from: '2031-11-26', message: 'AML retention keeps this record for 5 years after the relationship ended: erasure is possible from 2031-11-26' };
    },
    gdprHold: async (id, reason) => {
      if (reason !== null && reason.trim().length < 3) throw new BackendError('invalid_input', 'reason: must say why');
      calls.push(`gdprHold:${id}:${reason ?? 'lift'}`);
    },
    gdprExport: async (by, value) => {
      calls.push(`gdprExport:${by}`);
      if (!value.trim()) throw new BackendError('not_found', 'the vault holds nothing under that identifier');
      return { applications: ['a1'], json: '/tmp/desk-test/exports/subject-a1.json', html: '/tmp/desk-test/exports/subject-a1.html' };
    },
    exportSanctionsReports: async (id) => {
      const me = needSession();
      if (me.role !== 'admin' && me.role !== 'auditor') throw new BackendError('forbidden', 'admins and auditors only');
      calls.push(`exportSanctionsReports:${id ?? 'all'}`);
      return { reports: 1, json: '/tmp/desk-test/exports/sanctions-report.json', html: '/tmp/desk-test/exports/sanctions-report.html' };
    },
    retentionRun: async (dryRun) => {
      calls.push(`retentionRun:${dryRun}`);
      return { dry_run: dryRun, retention_years: 5, due: ['old-1'], erased: dryRun ? 0 : 1 };
    },
    retentionSchedule: async () => ({ ...schedule }),
    setExportDays: async (days) => {
      needSession();
      if (!(days >= 1 && days <= 365)) throw new BackendError('invalid_input', 'export days: must be between 1 and 365');
      calls.push(`setExportDays:${days}`);
      schedule.export_days = days;
      return days;
    },
    setBlocklistYears: async (years) => {
      if (needSession().role !== 'admin') throw new BackendError('forbidden', 'admins only');
      if (!(years >= 1 && years <= 10)) throw new BackendError('invalid_input', 'blocklist years: must be between 1 and 10');
      calls.push(`setBlocklistYears:${years}`);
      schedule.blocklist_years = years;
      return years;
    },
    listBlocklist: async () => {
      const role = needSession().role;
      if (role !== 'admin' && role !== 'auditor') throw new BackendError('forbidden', 'admins and auditors only');
      return { entries: [...blocklist], years: schedule.blocklist_years, can_add: true };
    },
    setRetentionSchedule: async (enabled) => {
      if (needSession().role !== 'admin') throw new BackendError('forbidden', 'admins only');
      calls.push(`setRetentionSchedule:${enabled}`);
      schedule.enabled = enabled;
      return { ...schedule };
    },
    setRetentionYears: async (years) => {
      if (years < 1 || years > 10) throw new BackendError('invalid_input', 'retention years: must be between 1 and 10');
      calls.push(`setRetentionYears:${years}`);
      return years;
    },
    backupVault: async () => {
      calls.push('backupVault');
      backups.unshift({ file: 'boarding-desk-1.backup', bytes: 4096, created_at: '2026-12-02T01:00:00Z', problem: null, before_rotation: false, stale_slots: 0, old_recovery_key: false });
      return { path: '/tmp/desk-test/backups/boarding-desk-1.backup', rows: 3 };
    },
    listBackups: async () => {
      const me = needSession();
      if (me.role !== 'admin') throw new BackendError('forbidden', 'admins only');
      return [...backups];
    },
    setMerchantLimits: async (input) => {
      const m = (opts.merchants ?? []).find((x) => x.application_id === input.id);
      if (!m) throw new BackendError('not_found', 'no boarded merchant');
      calls.push(`setMerchantLimits:${input.id}:${input.monthly_cap}:${input.max_ticket}`);
      m.monthly_cap_cents = input.monthly_cap ? Math.round(Number(input.monthly_cap.replaceAll(',', '')) * 100) : null;
      m.max_ticket_cents = input.max_ticket ? Math.round(Number(input.max_ticket.replaceAll(',', '')) * 100) : null;
      return m;
    },
    editMerchant: async (input) => {
      const me = needSession();
      if (me.role !== 'admin') throw new BackendError('forbidden', 'admins only');
      if (input.note.trim().length < 5) throw new BackendError('invalid_input', 'note: must say why, in at least 5 characters');
      const m = (opts.merchants ?? []).find((x) => x.application_id === input.id);
      const app = apps.get(input.id);
      if (!m || !app) throw new BackendError('not_found', 'no boarded merchant');
      if (changes.some((c) => c.application_id === input.id && c.state === 'pending'))
        throw new BackendError('conflict', 'a change of this merchant is waiting for review');
      const f = input.form;
      const fields: string[] = [];
      if (f.business.website !== app.form.business.website) fields.push('business.website');
      if (!f.business.ein.includes('•') && f.business.ein !== app.form.business.ein) fields.push('business.ein');
      if (!f.bank.account_number.includes('•') && f.bank.account_number !== app.form.bank.account_number) fields.push('bank');
      if (f.people.length !== app.form.people.length) fields.push('people');
      if (fields.length === 0) throw new BackendError('invalid_input', 'form: nothing changed');
      const material = fields.some((x) => x !== 'business.website');
      const change: import('./types').MerchantChange = {
        id: `mc-${changes.length + 1}`,
        application_id: input.id,
        fields,
        material,
        state: material ? 'pending' : 'applied',
        requested_by: me.username,
        requested_at: clock++,
        decided_by: null,
        decided_at: null,
      };
      changes.unshift(change);
      if (material) m.review_reason = 'details_changed';
      calls.push(`editMerchant:${input.id}:${fields.join(',')}`);
      return { change, platform_updates: material ? 0 : 1 };
    },
    merchantChanges: async (id) => {
      const me = needSession();
      const pending = changes.find((c) => c.application_id === id && c.state === 'pending') ?? null;
      return {
        pending,
        blockers: [],
        duplicates: 0,
        risk_score: 12,
        risk_band: 'low',
        can_decide: pending !== null && me.role !== 'auditor' && pending.requested_by !== me.username,
        history: changes.filter((c) => c.application_id === id),
      };
    },
    decideMerchantChange: async (input, accept) => {
      const me = needSession();
      if (me.role === 'auditor') throw new BackendError('forbidden', 'auditors read only');
      if (input.note.trim().length < 5) throw new BackendError('invalid_input', 'note: must say why, in at least 5 characters');
      const c = changes.find((x) => x.application_id === input.id && x.state === 'pending');
      if (!c) throw new BackendError('not_found', 'no change of this merchant waits for review');
      if (accept && c.requested_by === me.username)
        throw new BackendError('forbidden', 'a change is accepted by someone other than its author');
      c.state = accept ? 'accepted' : 'rejected';
      c.decided_by = me.username;
      const m = (opts.merchants ?? []).find((x) => x.application_id === input.id);
      if (m) m.review_reason = null;
      calls.push(`decideMerchantChange:${input.id}:${accept}`);
      const pending = null;
      return { pending, blockers: [], duplicates: 0, risk_score: 12, risk_band: 'low', can_decide: false, history: changes.filter((x) => x.application_id === input.id) };
    },
    reviewDashboard: async () => ({
      by_status: [['submitted', queue.length]],
      decisions_by_day: [{ day: '2026-11-25', approved: 2, declined: 1 }],
      median_hours_to_decision: 5.5,
      open_hits: 1,
      applications_with_open_hits: 1,
      awaiting_second_approval: 0,
      merchants_in_review: 0,
    }),
  };

  function needSessionAny(): SessionInfo {
    if (!session) throw new BackendError('unauthorized', 'sign in first');
    return session;
  }
}
