// Generated from the Rust types by crates/api/tests/wire_types.rs (ts-rs). Do not edit:
// change the Rust type, then run
//   BOARDING_DESK_UPDATE_GENERATED=1 cargo test -p desk-api --test wire_types

export type Role = "admin" | "lead" | "underwriter" | "auditor";
export type VaultState = "not_created" | "locked" | "keyring_missing";
export type ApplicationStatus = "draft" | "submitted" | "in_review" | "info_requested" | "approved" | "declined" | "boarding" | "boarded" | "boarding_failed" | "withdrawn";
export type ReviewFlag = "sanctions_hit" | "sanctions_match" | "details_changed";
export type AddressForm = { line1: string, line2: string, city: string, state: string, postal_code: string, country: string, };
export type BusinessForm = { legal_name: string, dba: string, 
/**
 * One of [`EntityType::as_str`].
 */
entity_type: string, 
/**
 * Sensitive: sealed, masked when shown.
 */
ein: string, 
/**
 * `YYYY-MM-DD`.
 */
incorporation_date: string, incorporation_state: string, incorporation_country: string, address: AddressForm, 
/**
 * Left blank when the business operates at its registered address.
 */
operating_address: AddressForm, phone: string, email: string, website: string, mcc: string, product_description: string, 
/**
 * Expected monthly card volume, in US dollars.
 */
monthly_volume: string, average_ticket: string, max_ticket: string, 
/**
 * Share of card-present volume, 0–100; the rest is card-not-present.
 */
card_present_percent: string, };
export type PersonForm = { 
/**
 * Stable id of the person within the application (kept across draft saves).
 */
id: string, first_name: string, last_name: string, title: string, 
/**
 * `YYYY-MM-DD`.
 */
dob: string, 
/**
 * Sensitive. US persons give an SSN or an ITIN; others a passport.
 */
ssn: string, itin: string, passport_number: string, passport_country: string, address: AddressForm, email: string, phone: string, 
/**
 * Blank or 0 when the person is not an owner.
 */
ownership_percent: string, 
/**
 * The one person with significant control (CEO, managing member…).
 */
is_control: boolean, };
export type BankForm = { holder_name: string, country: string, routing_number: string, 
/**
 * Sensitive.
 */
account_number: string, 
/**
 * `checking` or `savings`.
 */
account_type: string, 
/**
 * Sensitive; non-US accounts.
 */
iban: string, };
export type TermsForm = { 
/**
 * RFC 3339 timestamp.
 */
accepted_at: string, signer_name: string, ip: string, user_agent: string, };
export type ApplicationForm = { business: BusinessForm, people: Array<PersonForm>, bank: BankForm, terms: TermsForm, };
export type Code = "invalid_input" | "unauthorized" | "forbidden" | "bad_credentials" | "account_locked" | "vault_not_created" | "vault_damaged" | "not_found" | "conflict" | "data_dir_unavailable" | "unavailable" | "sanctions_hits_open" | "sanctions_match" | "internal";
export type FieldIssue = { field: string, reason: string, };
export type Stage = "ready" | "change_password" | "enrol_totp";
export type SessionInfo = { username: string, role: Role, stage: Stage, idle_minutes: number, 
/**
 * Present while the user must enrol an authenticator.
 */
enrolment: Enrolment | null, };
export type AppInfo = { name: string, version: string, data_dir: string, vault: VaultState, 
/**
 * The team store this desk's vault lives in (its password hidden), when it is a team's.
 */
store: string | null, };
export type Enrolment = { 
/**
 * Base32 secret, for typing in by hand.
 */
secret: string, otpauth_url: string, 
/**
 * The URL as a QR code (SVG markup).
 */
qr_svg: string, };
export type KeyStatus = "own" | "legacy" | "none";
export type KeychainStatus = { 
/**
 * Why this desk has no usable OS keychain, when it has none.
 */
unavailable: string | null, 
/**
 * `never` (off by default), `on`, `off` (turned off by an admin) or `forged` (a choice
 * in keyring.json no admin signed: nothing follows from it).
 */
binding: string, 
/**
 * Whether this desk's keychain holds the secret members are bound to.
 */
secret_here: boolean, 
/**
 * Members (users with a key slot; the recovery key is never bound) bound to it.
 */
bound: number, members: number, 
/**
 * Whether the signed-in user's own sign-in is bound.
 */
you_bound: boolean, };
export type Joined = { 
/**
 * The store, its password hidden.
 */
store: string, };
export type TeamCode = { store: string, 
/**
 * The join code: the team's id and its founding admin's fingerprint (not a secret).
 */
code: string, };
export type User = { id: string, username: string, role: Role, disabled: boolean, must_change_password: boolean, totp_enrolled: boolean, created_at: string, 
/**
 * Who added this user (`None` for the vault's founding admin).
 */
created_by: string | null, last_login_at: string | null, 
/**
 * When the account is locked after failed sign-ins, until when (RFC 3339).
 */
locked_until: string | null, 
/**
 * A key pair of their own, the pre-upgrade shared key, or none (issue 16).
 */
keys: KeyStatus, };
export type Outcome = "ok" | "denied" | "failed";
export type AuditEntry = { seq: number, at: string, actor: string, action: string, target: string | null, outcome: string, detail: string | null, 
/**
 * Who signed it: a user, `recovery key`, or a desk (`desk 1a2b3c4d`) for the entries
 * no member writes; none for entries from before signing began.
 */
signed_by: string | null, };
export type AuditReport = { intact: boolean, entries: number, 
/**
 * The first entry where the chain breaks, when it does.
 */
broken_at: number | null, problem: string | null, 
/**
 * Signed checkpoints that remember an entry the log holds, as they remember it.
 */
checkpoints: number, 
/**
 * Checkpoints not taken into account: of another vault, or not signed by a key the
 * keyring registered for their signer.
 */
checkpoints_ignored: number, };
export type JobState = "queued" | "retrying" | "needs_fix" | "done" | "cancelled";
export type JobKind = "board" | "update" | "reject";
export type MerchantStatus = "active" | "restricted" | "suspended" | "terminated";
export type MerchantAction = "restrict" | "suspend" | "reinstate" | "terminate";
export type DecisionKind = "approve" | "decline" | "request_info";
export type RiskBand = "low" | "medium" | "high";
export type Erasure = "erased" | "refused_retention" | "refused_hold" | "refused_active" | "refused_erased";
export type Summary = { id: string, status: ApplicationStatus, legal_name: string, dba: string, entity_type: string, mcc: string, people_count: number, source: string, created_by: string, 
/**
 * Who last changed its form after it was created (`None`: nobody but its creator).
 */
edited_by: string | null, created_at: number, updated_at: number, submitted_at: number | null, version: number, 
/**
 * Screening hits without a disposition.
 */
open_hits: number, 
/**
 * Whether it was ever screened (against any list version).
 */
screened: boolean, };
export type Cursor = { created_at: number, id: string, };
export type Page = { items: Array<Summary>, 
/**
 * How many match: exact for the status filter alone; with other filters counted up to
 * 10,000, and `total_exact` says whether it was reached.
 */
total: number, total_exact: boolean, next: Cursor | null, };
export type QueueSort = "risk" | "age";
export type QueueFilter = { 
/**
 * `submitted`, `in_review` or `info_requested`; none means submitted and in review.
 */
status: string | null, band: RiskBand | null, 
/**
 * A username, or `none` for unassigned.
 */
assignee: string | null, with_hits: boolean, 
/**
 * Only applications waiting for a second approver.
 */
awaiting_second: boolean, name_prefix: string | null, sort: QueueSort, };
export type QueueRow = { id: string, status: string, legal_name: string, dba: string, mcc: string, risk_score: number | null, risk_band: RiskBand | null, assignee: string | null, open_hits: number, submitted_at: number | null, pending_approval_by: string | null, version: number, };
export type QueuePage = { items: Array<QueueRow>, total: number, total_exact: boolean, offset: number, };
export type DayCount = { 
/**
 * `YYYY-MM-DD`.
 */
day: string, approved: number, declined: number, };
export type Dashboard = { by_status: Array<[string, number]>, decisions_by_day: Array<DayCount>, 
/**
 * Median hours from submission to approval or decline, over the last 30 days.
 */
median_hours_to_decision: number | null, open_hits: number, applications_with_open_hits: number, awaiting_second_approval: number, 
/**
 * Boarded merchants flagged for review (a new sanctions hit or a confirmed match).
 */
merchants_in_review: number, };
export type Note = { id: string, author: string, at: number, text: string, };
export type ListVersion = { id: string, source: string, imported_at: number, imported_by: string, entry_count: number, name_count: number, 
/**
 * The files it was read from: name, SHA-256, rows read and rows that named no entry
 * (the screening crate's `ofac::FileInfo`, as stored).
 */
files: { name: string, sha256: string, rows: number, orphans: number }[], active: boolean, };
export type ScreeningOutcome = { 
/**
 * Hits never seen before for this application.
 */
new_hits: number, 
/**
 * Hits without a disposition after this run.
 */
open_hits: number, 
/**
 * Matches already dispositioned as false positives (same entity, same list entry).
 */
suppressed: number, };
export type HistoryEntry = { at: number, actor: string, from: string | null, to: string, note: string | null, };
export type DocumentMeta = { id: string, application_id: string, kind: string, media_type: string, size: number, file_name: string, uploaded_by: string, uploaded_at: number, };
export type JobCounts = { queued: number, retrying: number, needs_fix: number, done: number, cancelled: number, };
export type MerchantChange = { id: string, application_id: string, 
/**
 * The changed field paths (`bank.account_number`, `people[1]`).
 */
fields: Array<string>, material: boolean, 
/**
 * `applied`, `pending`, `accepted` or `rejected`.
 */
state: string, requested_by: string, requested_at: number, decided_by: string | null, decided_at: number | null, };
export type BackupSummary = { vault_id: string, created_at: string, schema_version: number, applications: number, users: number, audit_entries: number, 
/**
 * Size of the archive file.
 */
bytes: number, 
/**
 * After a restore: erasures made after the archive was taken, replayed from the
 * erasure ledger before the vault was handed over.
 */
erasures_replayed: number, 
/**
 * After a restore: audit entries that signed checkpoints beside the archive remember
 * and the archive does not hold (a rollback of at least this many).
 */
audit_entries_behind: number, 
/**
 * After a rollback: who signed the newest such checkpoint, and when.
 */
rolled_back_past: string | null, };
export type AuditCheckpoint = { vault_id: string, seq: number, hash: string, at: string, signer: string, actor: string, signature: string, };
export type BackupFile = { file: string, bytes: number, created_at: string, 
/**
 * Why it is not listed as an archive of this vault, when it is not.
 */
problem: string | null, 
/**
 * Taken before a key rotation: sealed under class keys since replaced.
 */
before_rotation: boolean, 
/**
 * Key slots in it that no longer open the vault (users removed or reset since): each
 * still opens the archive with the password of that time.
 */
stale_slots: number, 
/**
 * The recovery key was replaced since: the old one still opens it.
 */
old_recovery_key: boolean, };
export type RewrapStatus = { 
/**
 * Record keys wait under an earlier generation and a unit runs whenever the session allows.
 */
running: boolean, 
/**
 * Re-wrapped in this run, and still waiting.
 */
done: number, left: number, 
/**
 * When the current or last run started and finished (ms since the epoch).
 */
started_at: number | null, finished_at: number | null, 
/**
 * The last unit's failure, if it stopped on one (it retries).
 */
error: string | null, };
export type MerchantFilter = { status: MerchantStatus | null, name_prefix: string | null, in_review: boolean, };
export type Topic = "queue" | "merchants" | "users" | "settings" | "lists";
export type Changes = { 
/**
 * What may need showing again, each once.
 */
topics: Array<Topic>, 
/**
 * Changes may have been missed (the store was out of reach): show everything again.
 */
resync: boolean, };

/** Rules the window shows before asking Rust (Rust still decides). */
export const MIN_PASSWORD_CHARS = 12;
export const SECOND_APPROVERS: readonly Role[] = ['admin', 'lead'];
export const DEFAULT_FOUR_EYES_SCORE = 60;
export const CODES: readonly Code[] = ['invalid_input', 'unauthorized', 'forbidden', 'bad_credentials', 'account_locked', 'vault_not_created', 'vault_damaged', 'not_found', 'conflict', 'data_dir_unavailable', 'unavailable', 'sanctions_hits_open', 'sanctions_match', 'internal'];

/** The sensitive fields Rust masks (`people[*]`: every person). */
export const SENSITIVE_FIELDS: readonly string[] = ['business.ein', 'people[*].ssn', 'people[*].itin', 'people[*].passport_number', 'bank.account_number', 'bank.iban'];
/** Sample values as Rust masks them, for the fake backend's fixtures. */
export const MASKED_BY_RUST: Readonly<Record<string, string>> = {
  '12-3456789': '••-•••6789',
  '536-22-1234': '•••-••-1234',
  '912-70-1234': '•••-••-1234',
  '000123456789': '••••••••6789',
  '000987654321': '••••••••4321',
  'GB82 WEST 1234 5698 7654 32': '•••• •••• •••• •••• ••54 32',
  'X1234567': '••••4567',
};
