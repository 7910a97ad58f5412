//! The api's view and query types: what the window and the CLI receive and send. They are the
//! api's, not the vault's — a store fills its own rows and the api turns them into these, so
//! the faces never depend on how (or where) the data is stored. Each is generated into the
//! window's `generated.ts` (`crates/api/tests/wire_types.rs`).

use domain::intake::ApplicationStatus;
use domain::merchant::{MerchantStatus, ReviewFlag};
use domain::outbox::{JobKind, JobState, JobStep};
use domain::review::RiskBand;
use domain::Role;
use serde::{Deserialize, Serialize};

/// A view mirroring a store row field by field, with the conversion from it (each field
/// through `From`, so a nested view converts too).
macro_rules! view {
    (
        $(#[$meta:meta])*
        pub struct $name:ident from $row:path {
            $( $(#[$fmeta:meta])* pub $field:ident: $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl From<$row> for $name {
            fn from(row: $row) -> Self {
                Self { $( $field: row.$field.into(), )* }
            }
        }
    };
}

/// Rows of a store as views, in order.
pub(crate) fn all<A, B: From<A>>(rows: Vec<A>) -> Vec<B> {
    rows.into_iter().map(B::from).collect()
}

// ---- applications ------------------------------------------------------------------------

view! {
    /// What a list row shows: no sealed value.
    pub struct Summary from vault::applications::Summary {
        pub id: String,
        pub status: ApplicationStatus,
        pub legal_name: String,
        pub dba: String,
        pub entity_type: String,
        pub mcc: String,
        pub people_count: i64,
        pub source: String,
        pub created_by: String,
        /// Who last changed its form after it was created (`None`: nobody but its creator).
        pub edited_by: Option<String>,
        pub created_at: i64,
        pub updated_at: i64,
        pub submitted_at: Option<i64>,
        pub version: i64,
        /// Screening hits without a disposition.
        pub open_hits: i64,
        /// Whether it was ever screened (against any list version).
        pub screened: bool,
    }
}

/// Keyset cursor of the application list: the last row of the previous page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Cursor {
    pub created_at: i64,
    pub id: String,
}

impl From<vault::applications::Cursor> for Cursor {
    fn from(c: vault::applications::Cursor) -> Self {
        Cursor {
            created_at: c.created_at,
            id: c.id,
        }
    }
}

impl From<Cursor> for vault::applications::Cursor {
    fn from(c: Cursor) -> Self {
        vault::applications::Cursor {
            created_at: c.created_at,
            id: c.id,
        }
    }
}

/// A page of the application list, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct Page {
    pub items: Vec<Summary>,
    /// How many match: exact for the status filter alone; with other filters counted up to
    /// 10,000, and `total_exact` says whether it was reached.
    pub total: i64,
    pub total_exact: bool,
    pub next: Option<Cursor>,
}

impl From<vault::applications::Page> for Page {
    fn from(p: vault::applications::Page) -> Self {
        Page {
            items: all(p.items),
            total: p.total,
            total_exact: p.total_exact,
            next: p.next.map(Cursor::from),
        }
    }
}

view! {
    /// One status change of an application.
    pub struct HistoryEntry from vault::applications::HistoryEntry {
        pub at: i64,
        pub actor: String,
        pub from: Option<String>,
        pub to: String,
        pub note: Option<String>,
    }
}

view! {
    /// A document's metadata (the file name opened; the content is fetched on its own).
    pub struct DocumentMeta from vault::applications::DocumentMeta {
        pub id: String,
        pub application_id: String,
        pub kind: String,
        pub media_type: String,
        pub size: i64,
        pub file_name: String,
        pub uploaded_by: String,
        pub uploaded_at: i64,
    }
}

// ---- the review queue and the dashboard ----------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum QueueSort {
    /// Highest risk first, then oldest.
    #[default]
    Risk,
    /// Oldest submission first.
    Age,
}

/// Filters of the review queue; all optional, combined with AND.
#[derive(Debug, Clone, Default, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct QueueFilter {
    /// `submitted`, `in_review` or `info_requested`; none means submitted and in review.
    pub status: Option<String>,
    pub band: Option<RiskBand>,
    /// A username, or `none` for unassigned.
    pub assignee: Option<String>,
    pub with_hits: bool,
    /// Only applications waiting for a second approver.
    pub awaiting_second: bool,
    pub name_prefix: Option<String>,
    pub sort: QueueSort,
}

impl QueueFilter {
    /// The store's filter; `band_scores` is the score range of `band` under the rules in force.
    pub(crate) fn to_store(&self, band_scores: Option<(i64, i64)>) -> vault::review::QueueFilter {
        vault::review::QueueFilter {
            status: self.status.clone(),
            band: self.band,
            assignee: self.assignee.clone(),
            with_hits: self.with_hits,
            awaiting_second: self.awaiting_second,
            name_prefix: self.name_prefix.clone(),
            sort: match self.sort {
                QueueSort::Risk => vault::review::QueueSort::Risk,
                QueueSort::Age => vault::review::QueueSort::Age,
            },
            band_scores,
        }
    }
}

view! {
    /// One row of the review queue.
    pub struct QueueRow from vault::review::QueueRow {
        pub id: String,
        pub status: String,
        pub legal_name: String,
        pub dba: String,
        pub mcc: String,
        pub risk_score: Option<i64>,
        pub risk_band: Option<RiskBand>,
        pub assignee: Option<String>,
        pub open_hits: i64,
        pub submitted_at: Option<i64>,
        pub pending_approval_by: Option<String>,
        pub version: i64,
    }
}

/// A page of the review queue.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct QueuePage {
    pub items: Vec<QueueRow>,
    pub total: i64,
    pub total_exact: bool,
    pub offset: u32,
}

impl From<vault::review::QueuePage> for QueuePage {
    fn from(p: vault::review::QueuePage) -> Self {
        QueuePage {
            items: all(p.items),
            total: p.total,
            total_exact: p.total_exact,
            offset: p.offset,
        }
    }
}

view! {
    /// Approvals and declines of one day (UTC).
    pub struct DayCount from vault::review::DayCount {
        /// `YYYY-MM-DD`.
        pub day: String,
        pub approved: i64,
        pub declined: i64,
    }
}

/// The dashboard's figures.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct Dashboard {
    pub by_status: Vec<(String, i64)>,
    pub decisions_by_day: Vec<DayCount>,
    /// Median hours from submission to approval or decline, over the last 30 days.
    pub median_hours_to_decision: Option<f64>,
    pub open_hits: i64,
    pub applications_with_open_hits: i64,
    pub awaiting_second_approval: i64,
    /// Boarded merchants flagged for review (a new sanctions hit or a confirmed match).
    pub merchants_in_review: i64,
}

impl From<vault::review::Dashboard> for Dashboard {
    fn from(d: vault::review::Dashboard) -> Self {
        Dashboard {
            by_status: d.by_status,
            decisions_by_day: all(d.decisions_by_day),
            median_hours_to_decision: d.median_hours_to_decision,
            open_hits: d.open_hits,
            applications_with_open_hits: d.applications_with_open_hits,
            awaiting_second_approval: d.awaiting_second_approval,
            merchants_in_review: d.merchants_in_review,
        }
    }
}

view! {
    /// An internal note on an application.
    pub struct Note from vault::review::Note {
        pub id: String,
        pub author: String,
        pub at: i64,
        pub text: String,
    }
}

view! {
    /// The last risk assessment of an application, with its factors.
    pub struct Assessment from vault::review::StoredAssessment {
        pub assessed_at: i64,
        pub score: i64,
        pub band: RiskBand,
        pub recommendation: String,
        pub four_eyes: bool,
        /// Each factor: code, points, reason.
        #[ts(type = "{ code: string, points: number, detail: string }[]")]
        pub factors: serde_json::Value,
    }
}

view! {
    /// A recorded decision with its reason codes.
    pub struct DecisionRecord from vault::review::Decision {
        pub id: String,
        pub kind: String,
        /// The reason codes and, for a request for information, the fields it names.
        #[ts(type = "{ codes: string[], fields: string[] }")]
        pub reasons: serde_json::Value,
        pub note: String,
        pub actor: String,
        pub at: i64,
    }
}

// ---- screening -----------------------------------------------------------------------------

view! {
    /// A version of a sanctions list, as loaded.
    pub struct ListVersion from vault::screening::ListVersion {
        pub id: String,
        pub source: String,
        pub imported_at: i64,
        pub imported_by: String,
        pub entry_count: i64,
        pub name_count: i64,
        /// The files it was read from: name, SHA-256, rows read and rows that named no entry
        /// (the screening crate's `ofac::FileInfo`, as stored).
        #[ts(type = "{ name: string, sha256: string, rows: number, orphans: number }[]")]
        pub files: serde_json::Value,
        pub active: bool,
    }
}

view! {
    /// What one screening run changed for an application.
    pub struct ScreeningOutcome from vault::screening::ScreeningOutcome {
        /// Hits never seen before for this application.
        pub new_hits: usize,
        /// Hits without a disposition after this run.
        pub open_hits: i64,
        /// Matches already dispositioned as false positives (same entity, same list entry).
        pub suppressed: usize,
    }
}

view! {
    /// A screening hit with its explanation and, when a stored list version still has it,
    /// the list entry it names (filled by the api for the screens and reports).
    pub struct StoredHit from vault::screening::StoredHit {
        pub id: String,
        pub application_id: String,
        pub subject: String,
        pub list_uid: String,
        pub score: f64,
        /// The screening crate's explanation (matched name, alignment, adjustments).
        #[ts(type = "unknown")]
        pub detail: serde_json::Value,
        pub screened_at: i64,
        pub disposition: Option<String>,
        pub disposition_note: Option<String>,
        pub disposed_by: Option<String>,
        pub disposed_at: Option<i64>,
        /// The list entry as the list publishes it (names, dates and places of birth,
        /// programs, identifiers, remarks).
        #[serde(skip_serializing_if = "Option::is_none")]
        #[ts(type = "unknown")]
        pub entry: Option<serde_json::Value>,
    }
}

// ---- boarded merchants and the outbox ----------------------------------------------------------

/// Filters of the Merchants page.
#[derive(Debug, Clone, Default, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct MerchantFilter {
    pub status: Option<MerchantStatus>,
    pub name_prefix: Option<String>,
    pub in_review: bool,
}

impl From<&MerchantFilter> for vault::merchants::MerchantFilter {
    fn from(f: &MerchantFilter) -> Self {
        vault::merchants::MerchantFilter {
            status: f.status,
            name_prefix: f.name_prefix.clone(),
            in_review: f.in_review,
        }
    }
}

view! {
    /// A boarded merchant as the platform last described it, with our status and limits.
    pub struct Merchant from vault::merchants::Merchant {
        pub application_id: String,
        pub legal_name: String,
        pub account_id: String,
        pub status: MerchantStatus,
        pub charges_enabled: bool,
        pub payouts_enabled: bool,
        /// The platform's `requirements` object (names and codes only).
        #[ts(type = "unknown")]
        pub requirements: serde_json::Value,
        #[ts(type = "Record<string, string>")]
        pub capabilities: serde_json::Value,
        /// Platform person ids and the index of our person each stands for.
        pub persons: Vec<(String, usize)>,
        pub open_requirements: i64,
        pub boarded_at: i64,
        pub synced_at: Option<i64>,
        /// Why the merchant is flagged for review, and since when.
        pub review_reason: Option<ReviewFlag>,
        pub review_since: Option<i64>,
        /// The reason code of the last status change, when and by whom.
        pub status_reason: Option<String>,
        pub status_changed_at: Option<i64>,
        pub status_changed_by: Option<String>,
        /// Our processing limits, in cents.
        pub monthly_cap_cents: Option<i64>,
        pub max_ticket_cents: Option<i64>,
        /// The application's last risk assessment.
        pub risk_score: Option<i64>,
        pub risk_band: Option<RiskBand>,
    }
}

view! {
    /// One outbox job (its last error is opened by the api beside it).
    pub struct Job from vault::boarding::Job {
        pub id: String,
        pub application_id: String,
        pub legal_name: String,
        pub kind: JobKind,
        pub state: JobState,
        /// `account`, `person:N`, `provided`, `send`, `new_person:N`, `update_person:ID`…
        pub step: JobStep,
        pub account_id: Option<String>,
        pub persons: Vec<(String, usize)>,
        pub attempts: i64,
        pub total_attempts: i64,
        pub next_attempt_at: i64,
        pub lease_until: i64,
        pub error_kind: Option<String>,
        pub error_field: Option<String>,
        pub error_param: Option<String>,
        pub created_by: String,
        pub created_at: i64,
        pub updated_at: i64,
        pub finished_at: Option<i64>,
    }
}

view! {
    /// Jobs per state, for the status bar and the page header.
    pub struct JobCounts from vault::boarding::JobCounts {
        pub queued: i64,
        pub retrying: i64,
        pub needs_fix: i64,
        pub done: i64,
        pub cancelled: i64,
    }
}

view! {
    /// One recorded edit of a merchant's details: the changed field paths, never their values.
    pub struct MerchantChange from vault::merchant_changes::MerchantChange {
        pub id: String,
        pub application_id: String,
        /// The changed field paths (`bank.account_number`, `people[1]`).
        pub fields: Vec<String>,
        pub material: bool,
        /// `applied`, `pending`, `accepted` or `rejected`.
        pub state: String,
        pub requested_by: String,
        pub requested_at: i64,
        pub decided_by: Option<String>,
        pub decided_at: Option<i64>,
    }
}

// ---- the audit log and backups --------------------------------------------------------------

view! {
    /// One entry of the hash-chained audit log.
    pub struct AuditEntry from vault::audit::Entry {
        pub seq: i64,
        pub at: String,
        pub actor: String,
        pub action: String,
        pub target: Option<String>,
        pub outcome: String,
        pub detail: Option<String>,
        /// Who signed it: a user, `recovery key`, or a desk (`desk 1a2b3c4d`) for the entries
        /// no member writes; none for entries from before signing began.
        pub signed_by: Option<String>,
    }
}

view! {
    /// A signed checkpoint of the audit log: "the log held entry `seq`, with chain hash `hash`".
    pub struct AuditCheckpoint from vault::checkpoint::Checkpoint {
        pub vault_id: String,
        pub seq: i64,
        pub hash: String,
        pub at: String,
        pub signer: String,
        pub actor: String,
        pub signature: String,
    }
}

view! {
    /// What verifying the audit chain found.
    pub struct AuditReport from vault::audit::Report {
        pub intact: bool,
        pub entries: i64,
        /// The first entry where the chain breaks, when it does.
        pub broken_at: Option<i64>,
        pub problem: Option<String>,
        /// Signed checkpoints that remember an entry the log holds, as they remember it.
        pub checkpoints: i64,
        /// Checkpoints not taken into account: of another vault, or not signed by a key the
        /// keyring registered for their signer.
        pub checkpoints_ignored: i64,
    }
}

view! {
    /// What a backup archive holds (checked again after a restore).
    pub struct BackupSummary from vault::backup::Summary {
        pub vault_id: String,
        pub created_at: String,
        pub schema_version: i64,
        pub applications: i64,
        pub users: i64,
        pub audit_entries: i64,
        /// Size of the archive file.
        pub bytes: u64,
        /// After a restore: erasures made after the archive was taken, replayed from the
        /// erasure ledger before the vault was handed over.
        pub erasures_replayed: usize,
        /// After a restore: audit entries that signed checkpoints beside the archive remember
        /// and the archive does not hold (a rollback of at least this many).
        pub audit_entries_behind: i64,
        /// After a rollback: who signed the newest such checkpoint, and when.
        pub rolled_back_past: Option<String>,
    }
}

view! {
    /// A backup archive in a folder, described from its clear header and compared with the
    /// vault's keys now (no key is opened to list it).
    pub struct BackupFile from vault::archives::Archive {
        pub file: String,
        pub bytes: u64,
        pub created_at: String,
        /// Why it is not listed as an archive of this vault, when it is not.
        pub problem: Option<String>,
        /// Taken before a key rotation: sealed under class keys since replaced.
        pub before_rotation: bool,
        /// Key slots in it that no longer open the vault (users removed or reset since): each
        /// still opens the archive with the password of that time.
        pub stale_slots: usize,
        /// The recovery key was replaced since: the old one still opens it.
        pub old_recovery_key: bool,
    }
}

// ---- users ---------------------------------------------------------------------------------

pub use vault::KeyStatus;

view! {
    /// A user as the admin pages show it. No secret in it.
    pub struct User from vault::User {
        pub id: String,
        pub username: String,
        pub role: Role,
        pub disabled: bool,
        pub must_change_password: bool,
        pub totp_enrolled: bool,
        pub created_at: String,
        /// Who added this user (`None` for the vault's founding admin).
        pub created_by: Option<String>,
        pub last_login_at: Option<String>,
        /// When the account is locked after failed sign-ins, until when (RFC 3339).
        pub locked_until: Option<String>,
        /// A key pair of their own, the pre-upgrade shared key, or none (issue 16).
        pub keys: vault::KeyStatus,
    }
}
