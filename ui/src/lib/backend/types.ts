// Wire types: what the Rust api crate serialises.

import type { FieldIssue } from './errors';
import type {
  AppInfo,
  ApplicationForm,
  ApplicationStatus,
  AddressForm,
  BankForm,
  BusinessForm,
  Enrolment,
  DecisionKind,
  Erasure,
  JobKind,
  JobState,
  MerchantAction,
  MerchantStatus,
  PersonForm,
  ReviewFlag,
  RiskBand,
  Role,
  SessionInfo,
  Stage,
  TermsForm,
  User,
  VaultState,
  AuditEntry,
  AuditReport,
  Summary,
  Cursor,
  Page,
  QueueFilter,
  QueueSort,
  QueueRow,
  QueuePage,
  DayCount,
  Dashboard,
  Note,
  ListVersion,
  ScreeningOutcome,
  HistoryEntry,
  DocumentMeta,
  JobCounts,
  MerchantChange,
  BackupSummary,
  AuditCheckpoint,
  BackupFile,
  RewrapStatus,
  MerchantFilter,
  KeychainStatus,
  Joined,
  TeamCode,
  Topic,
  Changes,
} from './generated';

// Generated from the Rust types (crates/api/tests/wire_types.rs); the rest below is still
// written by hand and kept in step with crates/api.
export type {
  AppInfo,
  ApplicationForm,
  ApplicationStatus,
  AddressForm,
  BankForm,
  BusinessForm,
  Enrolment,
  DecisionKind,
  Erasure,
  JobKind,
  JobState,
  MerchantAction,
  MerchantStatus,
  PersonForm,
  ReviewFlag,
  RiskBand,
  Role,
  SessionInfo,
  Stage,
  TermsForm,
  User,
  VaultState,
  AuditEntry,
  AuditReport,
  Cursor,
  QueueFilter,
  QueueSort,
  QueueRow,
  QueuePage,
  DayCount,
  Dashboard,
  Note,
  ListVersion,
  ScreeningOutcome,
  HistoryEntry,
  DocumentMeta,
  JobCounts,
  MerchantChange,
  BackupSummary,
  AuditCheckpoint,
  BackupFile,
  RewrapStatus,
  MerchantFilter,
  KeychainStatus,
  Joined,
  TeamCode,
  Topic,
  Changes,
};
export { SECOND_APPROVERS } from './generated';
/** The application list's row and page (the api's `views::Summary`, `views::Page`). */
export type ApplicationSummary = Summary;
export type ApplicationPage = Page;


export interface SetupOutput {
  session: SessionInfo;
  recovery_key: string;
}

export interface IssuedPassword {
  user: User;
  one_time_password: string;
}

export interface AuditPage {
  entries: AuditEntry[];
  next_before: number | null;
}

// ---- intake ---------------------------------------------------------------------------------

export interface ApplicationView {
  summary: ApplicationSummary;
  form: ApplicationForm;
  history: HistoryEntry[];
  documents: DocumentMeta[];
  hits: StoredHit[];
  missing: FieldIssue[];
  can_reveal: boolean;
}

export interface ListQuery {
  status?: string | null;
  mcc?: string | null;
  created_from?: string | null;
  created_to?: string | null;
  search?: string | null;
  limit?: number;
  after?: Cursor | null;
}

export interface MccInfo {
  code: string;
  description: string;
  tier: 'standard' | 'high_risk' | 'prohibited';
}

export interface RowError {
  row: number;
  field: string;
  reason: string;
}

/** A row that shares an EIN, SSN/ITIN or bank account with another application. */
export interface RowWarning {
  row: number;
  identifier: 'ein' | 'ssn' | 'bank_account';
  message: string;
  skipped: boolean;
}

export interface ImportReport {
  rows: number;
  imported: number;
  rejected_rows: number;
  errors: RowError[];
  errors_not_listed: number;
  warnings: RowWarning[];
  warnings_not_listed: number;
  skipped_duplicates: number;
}

export interface Progress {
  done: number;
  total: number;
}

// ---- screening ------------------------------------------------------------------------------

export interface Alignment {
  query_token: string;
  list_token: string | null;
  similarity: number;
}

export interface Hit {
  uid: string;
  entry_name: string;
  matched_name: string;
  name_kind: 'primary' | 'aka' | 'fka' | 'nka';
  programs: string[];
  score: number;
  name_score: number;
  alignment: Alignment[];
  adjustments: string[];
  fingerprint: string;
}

/** A change of the risk rules or the screening threshold waiting for a second admin. */
export interface PendingSetting {
  /** `risk_rules`, `screening_threshold`, or `list.sdn` / `list.consolidated` (a list version). */
  key: string;
  value: string;
  changes: string;
  proposed_by: string;
  proposed_at: number;
}

/** What a proposed rule set would do to the queue. */
export interface RulesPreview {
  in_queue: number;
  would_change: number;
  moves: [string, string, number][];
  changes: string;
}

/** Both files of the sanctions reports export. */
export interface SavedReports {
  reports: number;
  json: string;
  html: string;
}

export interface StoredHit {
  id: string;
  application_id: string;
  subject: string;
  list_uid: string;
  score: number;
  detail: Hit & { subject: string };
  screened_at: number;
  disposition: 'true_match' | 'false_positive' | null;
  disposition_note: string | null;
  disposed_by: string | null;
  disposed_at: number | null;
  /** The list entry the hit names, as the list publishes it (absent once no list has it). */
  entry?: ListEntry;
}

/** A sanctions list entry (OFAC's parsed record) with its places of birth pulled out. */
export interface ListEntry {
  uid: string;
  ent_num: number;
  kind: string;
  programs: string[];
  names: { text: string; kind: string }[];
  dobs: string[];
  places_of_birth: string[];
  countries: string[];
  /** The list's addresses for the entry (absent in versions stored before they were kept). */
  addresses?: string[];
  ids: { kind: string; number: string; country: string | null }[];
  remarks: string;
}

/** The background re-screen: a run in progress, or the last one. */
export interface RescreenStatus {
  running: boolean;
  done: number;
  total: number;
  with_new_hits: number;
  new_hits: number;
  started_at: number | null;
  finished_at: number | null;
  error: string | null;
}

// ---- review -----------------------------------------------------------------------------------

export interface QueueQuery {
  status?: string | null;
  band?: string | null;
  assignee?: string | null;
  with_hits?: boolean;
  awaiting_second?: boolean;
  name_prefix?: string | null;
  sort?: 'risk' | 'age';
  mine?: boolean;
  limit?: number;
  offset?: number;
}

export interface Factor {
  code: string;
  points: number;
  detail: string;
}

export interface StoredAssessment {
  assessed_at: number;
  score: number;
  band: RiskBand;
  recommendation: 'approve' | 'enhanced_due_diligence' | 'decline';
  four_eyes: boolean;
  factors: Factor[];
}

export interface Decision {
  id: string;
  kind: 'approve' | 'second_approval' | 'decline' | 'request_info';
  reasons: { codes: string[]; fields: string[] };
  note: string;
  actor: string;
  at: number;
}

export interface ReviewView {
  row: QueueRow;
  assessment: StoredAssessment | null;
  decisions: Decision[];
  notes: Note[];
  approve_reasons: string[];
  decline_reasons: string[];
  request_info_reasons: string[];
}

export interface DecideInput {
  id: string;
  version: number;
  decision: DecisionKind;
  reasons: string[];
  note: string;
  fields: string[];
  blocklist: boolean;
  /** With `blocklist`: the legal basis the entries are kept on. */
  blocklist_basis?: BlocklistBasis | null;
  /** For a second approval: false-positive dispositions recorded after the first approval,
   * each confirmed by the second approver. */
  confirmed_hits: string[];
}

export interface DecideOutcome {
  status: ApplicationStatus;
  awaiting_second_approval: boolean;
}

/** Everything the UI asks of Rust. The Tauri implementation is in tauri.ts; tests pass fakes. */
/** The platform as the boarding worker experiences it. */
export type PlatformHealth =
  | { state: 'up' }
  | { state: 'down'; since: string; failures: number; retry_at: string };

/** Who sends the outbox: one desk's worker sends for the whole vault (the team). */
export type PlatformSender =
  | { state: 'this_desk'; since: string }
  | { state: 'other_desk'; by: string | null; since: string | null }
  | { state: 'unreachable'; since: string }
  | { state: 'idle' }
  | { state: 'nobody' };

/** The status bar's platform line. */
export interface PlatformStatus {
  health: PlatformHealth | null;
  sender: PlatformSender | null;
  waiting: number;
  needs_fix: number;
}

export interface BoardingJob {
  id: string;
  application_id: string;
  legal_name: string;
  kind: JobKind;
  state: JobState;
  step: string;
  account_id: string | null;
  persons: [string, number][];
  attempts: number;
  total_attempts: number;
  next_attempt_at: number;
  lease_until: number;
  error_kind: string | null;
  error_field: string | null;
  error_param: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  error_message: string | null;
}

export interface BoardingOverview {
  counts: JobCounts;
  jobs: BoardingJob[];
  health: PlatformHealth | null;
  sender: PlatformSender | null;
  platform_url: string;
}

export interface PlatformSettings {
  url: string;
  key_hint: string;
  rate_per_second: number;
  is_sandbox: boolean;
}

export interface ConnectionTest {
  ok: boolean;
  url: string;
  latency_ms: number;
  message: string;
}

export interface OpenRequirement {
  requirement: string;
  field: string | null;
  kind: 'error' | 'past_due' | 'currently_due' | 'pending_verification';
  reason: string | null;
}

export interface Merchant {
  application_id: string;
  legal_name: string;
  account_id: string;
  status: MerchantStatus;
  charges_enabled: boolean;
  payouts_enabled: boolean;
  capabilities: Record<string, string>;
  open_requirements: number;
  boarded_at: number;
  synced_at: number | null;
  /** `sanctions_hit` (a re-screen found one), `sanctions_match` (confirmed) or `details_changed`
   * (a material edit waits for review), else null. */
  review_reason: ReviewFlag | null;
  review_since: number | null;
  status_reason: string | null;
  status_changed_at: number | null;
  status_changed_by: string | null;
  monthly_cap_cents: number | null;
  max_ticket_cents: number | null;
  risk_score: number | null;
  risk_band: RiskBand | null;
  open: OpenRequirement[];
}

export interface MerchantQuery {
  filter: MerchantFilter;
  offset: number;
  limit: number;
}

export interface MerchantPage {
  items: Merchant[];
  total: number;
  offset: number;
}

export interface MerchantActionInput {
  id: string;
  action: MerchantAction;
  reason: string;
  note: string;
  blocklist: boolean;
  /** With `blocklist`: the legal basis the entries are kept on. */
  blocklist_basis?: BlocklistBasis | null;
}

/** Why an identifier may stay on the blocklist after its subject is erased. */
export type BlocklistBasis = 'fraud_prevention' | 'aml_record_keeping' | 'card_network_rules';

export const BLOCKLIST_BASES: { value: BlocklistBasis; label: string }[] = [
  { value: 'fraud_prevention', label: 'Fraud prevention (legitimate interest)' },
  { value: 'aml_record_keeping', label: 'AML record keeping (legal obligation)' },
  { value: 'card_network_rules', label: "Card networks' rules (MATCH)" },
];

/** A blocklist entry as admins and auditors see it: never a value or a digest. */
export interface BlocklistEntry {
  kind: string;
  application_id: string | null;
  reason: string;
  /** One of BlocklistBasis, or `unrecorded` (an entry from before bases were recorded). */
  legal_basis: string;
  added_by: string;
  added_at: number;
  retain_until: number | null;
  /** Under the blocklist key (false: a blind-index digest from before it). */
  keyed: boolean;
}

export interface BlocklistPage {
  entries: BlocklistEntry[];
  /** Years a new entry is kept. */
  years: number;
  /** Whether this desk can add entries. */
  can_add: boolean;
}

export interface MerchantEditInput {
  id: string;
  version: number;
  form: ApplicationForm;
  note: string;
}

export interface MerchantEditOutcome {
  change: MerchantChange;
  platform_updates: number;
}

export interface MerchantChanges {
  pending: MerchantChange | null;
  blockers: string[];
  duplicates: number;
  risk_score: number | null;
  risk_band: string | null;
  can_decide: boolean;
  history: MerchantChange[];
}

export interface MerchantActionOutcome {
  merchant: Merchant;
  job_id: string;
  blocklisted: number;
}

/** An export Rust wrote into the data folder's exports/ folder. */
export interface SavedExport {
  path: string;
  rows: number;
}

export interface ErasureOutcome {
  application_id: string;
  outcome: Erasure;
  possible_from: string | null;
  message: string;
}

export interface RetentionReport {
  dry_run: boolean;
  retention_years: number;
  due: string[];
  erased: number;
}

/** The daily scheduled purge (the app runs it while the vault is open). */
export interface RetentionSchedule {
  enabled: boolean;
  last_run_at: number | null;
  last_run: string | null;
  next_run: string | null;
  retention_years: number;
  /** Days a generated export stays in exports/ before it is deleted. */
  export_days: number;
  /** Years a new blocklist entry is kept before it is deleted. */
  blocklist_years: number;
}

export interface SavedSubject {
  applications: string[];
  json: string;
  html: string;
}

export interface LimitsInput {
  id: string;
  monthly_cap: string;
  max_ticket: string;
}

export interface Backend {
  appInfo(): Promise<AppInfo>;
  sessionInfo(): Promise<SessionInfo | null>;
  sessionTouch(): Promise<SessionInfo | null>;
  setupVault(username: string, password: string): Promise<SetupOutput>;
  /** With an admin's username, password and current authenticator code, or the recovery key. */
  restoreBackup(
    file: string,
    username: string | null,
    password: string | null,
    code: string | null,
    recoveryKey: string | null,
  ): Promise<BackupSummary>;
  signIn(username: string, password: string, code: string | null): Promise<SessionInfo>;
  confirmTotp(code: string): Promise<SessionInfo>;
  changePassword(current: string | null, newPassword: string): Promise<SessionInfo>;
  lock(): Promise<void>;
  setIdleMinutes(minutes: number): Promise<number>;
  listUsers(): Promise<User[]>;
  createUser(username: string, role: Role): Promise<IssuedPassword>;
  setUserDisabled(userId: string, disabled: boolean): Promise<IssuedPassword | null>;
  resetUserPassword(userId: string): Promise<IssuedPassword>;
  resetUserTotp(userId: string): Promise<User>;
  unlockUser(userId: string): Promise<User>;
  /** Checks the chain, the vault's checkpoints and, when given, a file of checkpoints. */
  verifyAudit(checkpoints: string | null): Promise<AuditReport>;
  listCheckpoints(): Promise<AuditCheckpoint[]>;
  /** Signs a checkpoint of the log now; saved as a one-line file to keep elsewhere. */
  signCheckpoint(): Promise<SavedExport>;
  listAudit(before: number | null): Promise<AuditPage>;
  rotateKey(): Promise<void>;
  /** Replaces the recovery key; the new one (or, split M-of-N, its shares) is shown once. */
  rotateRecoveryKey(split: [number, number] | null): Promise<{ recovery_key: string | null; shares: string[]; threshold: number | null }>;
  /** Whether sign-ins are bound to desks' OS keychains, and how far (admin). */
  keychainStatus(): Promise<KeychainStatus>;
  /** Binds (or unbinds) sign-ins; the admin's own password, checked by Rust, seals theirs anew. */
  setKeychainBinding(on: boolean, password: string): Promise<KeychainStatus>;
  /** Set-up on a team store: the founding desk and its first admin. */
  createTeam(url: string, username: string, password: string): Promise<SetupOutput>;
  /** Set-up: this desk joins the team, trusting the founder the join code names. */
  joinTeam(url: string, code: string): Promise<Joined>;
  /** Admin: the code a new desk joins this team with. */
  teamJoinCode(): Promise<TeamCode>;
  saveDraft(id: string | null, version: number | null, form: ApplicationForm): Promise<ApplicationView>;
  getApplication(id: string): Promise<ApplicationView>;
  submitApplication(id: string, version: number): Promise<ApplicationView>;
  withdrawApplication(id: string, version: number): Promise<ApplicationView>;
  revealField(id: string, field: string): Promise<string>;
  listApplications(query: ListQuery): Promise<ApplicationPage>;
  checkApplication(form: ApplicationForm): Promise<FieldIssue[]>;
  mccCodes(): Promise<MccInfo[]>;
  addDocument(applicationId: string, kind: string, fileName: string, content: Uint8Array): Promise<DocumentMeta>;
  documentContent(id: string): Promise<ArrayBuffer>;
  deleteDocument(id: string): Promise<void>;
  importApplications(
    fileName: string,
    content: Uint8Array,
    onProgress: (p: Progress) => void,
    skipDuplicates?: boolean,
  ): Promise<ImportReport>;
  seedDemo(count: number, onProgress: (p: Progress) => void): Promise<ImportReport>;
  importLists(dir: string): Promise<ListVersion[]>;
  listVersions(): Promise<ListVersion[]>;
  screenName(name: string, birthYear: number | null, country: string | null): Promise<Hit[]>;
  screenApplication(id: string): Promise<ScreeningOutcome>;
  rescreenStatus(): Promise<RescreenStatus>;
  disposeHit(hitId: string, disposition: 'true_match' | 'false_positive', note: string): Promise<void>;
  /** `quiet`: a refresh because of a change another desk made, not the user's activity. */
  reviewQueue(query: QueueQuery, quiet?: boolean): Promise<QueuePage>;
  reviewView(id: string, quiet?: boolean): Promise<ReviewView>;
  assignToMe(id: string, takeOver: boolean): Promise<QueueRow>;
  nextInQueue(): Promise<QueueRow | null>;
  decide(input: DecideInput): Promise<DecideOutcome>;
  addNote(id: string, text: string): Promise<Note[]>;
  reviewDashboard(quiet?: boolean): Promise<Dashboard>;
  /**
   * What another desk, or this desk's own background work, changed (topic names only: the
   * page asks for the data again). Returns the function that stops listening.
   */
  onChanged(handler: (changes: Changes) => void): () => void;
  riskSettings(): Promise<[Record<string, unknown>, number]>;
  /** Proposes a rule set; it applies once another admin confirms it. */
  setRiskRules(json: string): Promise<PendingSetting>;
  previewRiskRules(json: string): Promise<RulesPreview>;
  riskFactors(): Promise<[string, string][]>;
  /** Proposes a hit threshold; it applies once another admin confirms it. */
  setScreeningThreshold(value: number): Promise<PendingSetting>;
  pendingSettings(): Promise<PendingSetting[]>;
  decideSetting(key: string, confirm: boolean): Promise<PendingSetting[]>;
  boardingOverview(filter: JobState | null): Promise<BoardingOverview>;
  platformStatus(): Promise<PlatformStatus>;
  boardingRetry(id: string): Promise<BoardingJob>;
  boardingCancel(id: string): Promise<BoardingJob>;
  boardingFix(id: string, field: string, value: string): Promise<BoardingJob>;
  platformSettings(): Promise<PlatformSettings>;
  setPlatform(url: string, secretKey: string | null, ratePerSecond: number): Promise<PlatformSettings>;
  testPlatform(): Promise<ConnectionTest>;
  merchantsPage(query: MerchantQuery): Promise<MerchantPage>;
  syncMerchant(id: string): Promise<Merchant>;
  merchantAction(input: MerchantActionInput): Promise<MerchantActionOutcome>;
  exportAudit(from: string, to: string, format: 'csv' | 'json'): Promise<SavedExport>;
  exportMerchants(format: 'csv' | 'json'): Promise<SavedExport>;
  gdprErase(id: string): Promise<ErasureOutcome>;
  gdprHold(id: string, reason: string | null): Promise<void>;
  gdprExport(by: 'application' | 'ein' | 'ssn' | 'email', value: string): Promise<SavedSubject>;
  /** Admins and auditors: every confirmed match's sanctions report (or one application's), saved under exports/. */
  exportSanctionsReports(id: string | null): Promise<SavedReports>;
  retentionRun(dryRun: boolean): Promise<RetentionReport>;
  retentionSchedule(): Promise<RetentionSchedule>;
  setRetentionSchedule(enabled: boolean): Promise<RetentionSchedule>;
  setExportDays(days: number): Promise<number>;
  setBlocklistYears(years: number): Promise<number>;
  listBlocklist(offset: number): Promise<BlocklistPage>;
  setRetentionYears(years: number): Promise<number>;
  backupVault(): Promise<SavedExport>;
  /** The archives in the data folder's backups/, marked when taken before a key rotation. */
  listBackups(): Promise<BackupFile[]>;
  /** Where the background re-wrap of record keys after a key rotation stands (admins). */
  rewrapStatus(): Promise<RewrapStatus>;
  setMerchantLimits(input: LimitsInput): Promise<Merchant>;
  editMerchant(input: MerchantEditInput): Promise<MerchantEditOutcome>;
  merchantChanges(id: string): Promise<MerchantChanges>;
  decideMerchantChange(input: { id: string; note: string }, accept: boolean): Promise<MerchantChanges>;
}
