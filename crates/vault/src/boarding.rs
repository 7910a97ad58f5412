//! The boarding outbox: one job per approved application, advanced one platform request at a
//! time. Each request's idempotency key is stored before its first attempt and reused on every
//! retry; the job, its step and what the platform answered change in one transaction, so a
//! crash at any point resumes from the step reached without sending anything twice.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::seal::Sealed;
use crate::sql::{Engine, Inserted, Row};
use crate::{args, Result, Tx, Vault, VaultError};

pub use crate::merchants::{Merchant, MerchantFilter};

pub use domain::outbox::{JobKind, JobState, JobStep};

/// One outbox job as the Boarding page shows it (the error message stays sealed here).
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub id: String,
    pub application_id: String,
    pub legal_name: String,
    pub kind: JobKind,
    pub state: JobState,
    pub step: JobStep,
    pub account_id: Option<String>,
    /// Platform person ids and the index of our person each stands for.
    pub persons: Vec<(String, usize)>,
    pub attempts: i64,
    pub total_attempts: i64,
    pub next_attempt_at: i64,
    pub lease_until: i64,
    pub error_kind: Option<String>,
    #[serde(skip)]
    pub error_message: Option<Sealed>,
    pub error_field: Option<String>,
    pub error_param: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
    /// The token of the lease a worker holds; its attempt is recorded only with it.
    #[serde(skip)]
    pub lease_token: Option<String>,
}

/// What went wrong with the last attempt.
pub struct JobError<'a> {
    pub kind: &'a str,
    /// Sealed by the caller with the application's record key; none once the record is
    /// erased (no key is made again for an erased subject).
    pub message: Option<&'a Sealed>,
    pub field: Option<&'a str>,
    pub param: Option<&'a str>,
}

/// Jobs per state, for the status bar and the page header.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JobCounts {
    pub queued: i64,
    pub retrying: i64,
    pub needs_fix: i64,
    pub done: i64,
    pub cancelled: i64,
}

const JOB_COLUMNS: &str = "j.id, j.application_id, a.legal_name, j.kind, j.state, j.step,
    j.account_id, j.persons, j.attempts, j.total_attempts, j.next_attempt_at, j.lease_until,
    j.error_kind, j.error_message, j.error_field, j.error_param, j.created_by, j.created_at,
    j.updated_at, j.finished_at, j.lease_token, a.names";

/// A job with its application's names still sealed (column 21).
fn job_from_row(r: &Row<'_>) -> Result<(Job, Option<Sealed>)> {
    let persons: String = r.get(7)?;
    let job = Job {
        id: r.get(0)?,
        application_id: r.get(1)?,
        legal_name: r.get(2)?,
        kind: r.parsed(3, JobKind::parse)?,
        state: r.parsed(4, JobState::parse)?,
        step: r.parsed(5, JobStep::parse)?,
        account_id: r.get(6)?,
        persons: serde_json::from_str(&persons).unwrap_or_default(),
        attempts: r.get(8)?,
        total_attempts: r.get(9)?,
        next_attempt_at: r.get(10)?,
        lease_until: r.get(11)?,
        error_kind: r.get(12)?,
        error_message: r.get(13)?,
        error_field: r.get(14)?,
        error_param: r.get(15)?,
        created_by: r.get(16)?,
        created_at: r.get(17)?,
        updated_at: r.get(18)?,
        finished_at: r.get(19)?,
        lease_token: r.get(20)?,
    };
    Ok((job, r.get(21)?))
}

/// Zero rows changed by a worker's update: its lease ran out and another worker holds the job.
fn held(n: u64) -> Result<()> {
    if n == 0 {
        return Err(VaultError::Conflict(
            "the job's lease ran out and another worker holds it",
        ));
    }
    Ok(())
}

/// SHA-256 of a request's parameters, hex: a stored key is only ever sent with these.
pub fn fingerprint(method_path_body: &str) -> String {
    let digest = Sha256::digest(method_path_body.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl Vault {
    pub fn job(&self, id: &str) -> Result<Job> {
        let row = self
            .db()
            .query_row(
                "reading a boarding job",
                &format!(
                    "SELECT {JOB_COLUMNS} FROM boarding_jobs j
                     JOIN applications a ON a.id = j.application_id WHERE j.id = ?1"
                ),
                args![id],
                job_from_row,
            )?
            .ok_or(VaultError::NotFound("boarding job"))?;
        Ok(self.named_jobs(vec![row])?.remove(0))
    }

    fn named_jobs(&self, rows: Vec<(Job, Option<Sealed>)>) -> Result<Vec<Job>> {
        self.with_names(
            rows,
            |j| &j.application_id,
            |j, n| j.legal_name = n.legal_name,
        )
    }

    pub fn board_job_of(&self, application_id: &str) -> Result<Option<Job>> {
        let id: Option<String> = self.db().query_value(
            "reading a boarding job",
            "SELECT id FROM boarding_jobs WHERE application_id = ?1 AND kind = 'board'",
            args![application_id],
        )?;
        id.map(|id| self.job(&id)).transpose()
    }

    pub fn job_payload(&self, id: &str) -> Result<Option<Sealed>> {
        self.db()
            .query_value::<Option<Sealed>>(
                "reading a boarding job",
                "SELECT payload FROM boarding_jobs WHERE id = ?1",
                args![id],
            )?
            .ok_or(VaultError::NotFound("boarding job"))
    }

    /// Jobs for the Boarding page: unfinished first (needs-fix, retrying, queued), then the
    /// latest finished, at most `limit`.
    pub fn jobs(&self, state: Option<JobState>, limit: u32) -> Result<Vec<Job>> {
        let rows = self.db().query_map(
            "listing boarding jobs",
            &format!(
                "SELECT {JOB_COLUMNS} FROM boarding_jobs j
                 JOIN applications a ON a.id = j.application_id
                 WHERE CAST(?1 AS TEXT) IS NULL OR j.state = ?1
                 ORDER BY CASE j.state WHEN 'needs_fix' THEN 0 WHEN 'retrying' THEN 1
                     WHEN 'queued' THEN 2 ELSE 3 END, j.updated_at DESC, j.id
                 LIMIT ?2"
            ),
            args![state.map(JobState::as_str), limit],
            job_from_row,
        )?;
        self.named_jobs(rows)
    }

    pub fn job_counts(&self) -> Result<JobCounts> {
        let mut counts = JobCounts::default();
        let rows = self.db().query_map(
            "counting boarding jobs",
            "SELECT state, COUNT(*) FROM boarding_jobs GROUP BY state",
            &[],
            |r| Ok((r.get::<String>(0)?, r.get::<i64>(1)?)),
        )?;
        for (state, n) in rows {
            let state = JobState::parse(&state).ok_or(VaultError::VaultDamaged(
                "a boarding job has a kind, state or step this version does not know",
            ))?;
            match state {
                JobState::Queued => counts.queued = n,
                JobState::Retrying => counts.retrying = n,
                JobState::NeedsFix => counts.needs_fix = n,
                JobState::Done => counts.done = n,
                JobState::Cancelled => counts.cancelled = n,
            }
        }
        Ok(counts)
    }

    /// When the next job falls due (for the worker's sleep), if any is waiting.
    pub fn next_due_at(&self) -> Result<Option<i64>> {
        // The later of the two times, written as a CASE (SQLite's two-argument MAX is not
        // PostgreSQL's, which has GREATEST instead); both columns are NOT NULL.
        Ok(self
            .db()
            .query_value::<Option<i64>>(
                "reading boarding jobs",
                "SELECT MIN(CASE WHEN next_attempt_at > lease_until THEN next_attempt_at
                     ELSE lease_until END) FROM boarding_jobs
                 WHERE state IN ('queued', 'retrying')",
                &[],
            )?
            .flatten())
    }
}

/// Changes: only inside a unit of work ([`Vault::write`]).
impl Tx<'_> {
    /// Queues the boarding of an approved application (call inside the approval's
    /// transaction). One board job per application: a second call is a conflict. Refused
    /// (`SanctionsHitsOpen` / `SanctionsMatch`) while the application has a hit without a
    /// disposition or a confirmed match — the second line of defence behind the approval.
    pub fn enqueue_boarding(
        &self,
        job_id: &str,
        application_id: &str,
        actor: &str,
        now_ms: i64,
    ) -> Result<()> {
        self.sanctions_clear(application_id)?;
        self.enqueue_job(
            job_id,
            application_id,
            JobKind::Board,
            &JobStep::Account,
            None,
            None,
            actor,
            now_ms,
        )
    }
    /// Queues an update or reject request for a boarded merchant's account.
    #[allow(clippy::too_many_arguments)]
    pub fn enqueue_job(
        &self,
        job_id: &str,
        application_id: &str,
        kind: JobKind,
        step: &JobStep,
        account_id: Option<&str>,
        payload: Option<&Sealed>,
        actor: &str,
        now_ms: i64,
    ) -> Result<()> {
        let inserted = self.db().insert(
            "queueing a boarding job",
            "INSERT INTO boarding_jobs (id, application_id, kind, state, step, account_id,
                 payload, next_attempt_at, created_by, created_at, updated_at)
             VALUES (?1, ?2, ?3, 'queued', ?4, ?5, ?6, ?7, ?8, ?7, ?7)",
            args![
                job_id,
                application_id,
                kind.as_str(),
                step.to_string(),
                account_id,
                payload,
                now_ms,
                actor
            ],
        )?;
        match inserted {
            Inserted::Rows(_) => Ok(()),
            Inserted::Duplicate => Err(VaultError::Conflict(
                "this application already has a boarding job",
            )),
        }
    }
    /// At an erasure (GDPR): the merchant's account on the platform goes too. Its unfinished
    /// jobs are cancelled — their parameters are sealed under the record key the erasure
    /// destroys, so they could never be sent, and the delete would wait behind them — and a
    /// `reject` job with the `delete_account` step is queued, in the erasure's unit. It needs no
    /// parameters and no record key. Returns the job's id; `None` when the application was
    /// never boarded.
    pub(crate) fn queue_account_deletion(
        &self,
        application_id: &str,
        now_ms: i64,
    ) -> Result<Option<String>> {
        // `now_ms` is the erasure's time: the cancelled jobs finish then. A worker holding one
        // of them loses its lease: what it sends back changes nothing.
        self.db().execute(
            "cancelling a merchant's jobs",
            "UPDATE boarding_jobs SET state = 'cancelled', updated_at = ?2, finished_at = ?2,
                 lease_until = 0, lease_token = NULL
             WHERE application_id = ?1 AND state IN ('queued', 'retrying', 'needs_fix')",
            args![application_id, now_ms],
        )?;
        // The merchant's account; else one a board job created before its merchant row (an
        // archive taken while it was under way, its erasure replayed).
        // (COALESCE, not `UNION ALL … LIMIT 1`: PostgreSQL does not promise a union's order.)
        let account: Option<String> = self
            .db()
            .query_value::<Option<String>>(
                "reading a merchant",
                "SELECT COALESCE(
                     (SELECT account_id FROM merchants WHERE application_id = ?1),
                     (SELECT account_id FROM boarding_jobs
                      WHERE application_id = ?1 AND account_id IS NOT NULL
                      ORDER BY created_at DESC LIMIT 1))",
                args![application_id],
            )?
            .flatten();
        let Some(account) = account else {
            return Ok(None);
        };
        let id = format!("mj-{}", uuid::Uuid::now_v7());
        // Due at once on the worker's clock (an erasure replayed at a restore carries the time
        // it was first made).
        let due = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
        self.enqueue_job(
            &id,
            application_id,
            JobKind::Reject,
            &JobStep::DeleteAccount,
            Some(&account),
            None,
            "gdpr erasure",
            due,
        )?;
        Ok(Some(id))
    }
    /// Takes the next due job that nobody holds, leasing it until `lease_until_ms` (another
    /// worker on the same vault skips it; a crashed worker's lease simply runs out).
    pub fn lease_due_job(&self, now_ms: i64, lease_until_ms: i64) -> Result<Option<Job>> {
        self.in_unit()?;
        let token = uuid::Uuid::new_v4().to_string();
        // One statement: two workers on two connections can never lease the same job.
        let db = self.db();
        // SQLite is told which index finds the due jobs; PostgreSQL has no `INDEXED BY` (its
        // planner picks the partial index itself). SQLite's exclusivity comes from its single
        // writer; on PostgreSQL (READ COMMITTED) it rests on the UPDATE re-checking `state` and
        // `lease_until` on the row it locks, so a second worker finds none: `FOR UPDATE SKIP
        // LOCKED` on the inner SELECT would let it take the next due job instead.
        let due_index = match db.engine() {
            Engine::Sqlite => "INDEXED BY boarding_due",
            Engine::Postgres => "",
        };
        // The NOT EXISTS below: one merchant's jobs go in the order they were queued: none
        // overtakes an earlier one that is unfinished (a suspend never lands after the
        // reinstate that followed it). (Said here, not in the SQL: the apostrophe of an SQL
        // comment would read as a quote to the placeholder rewriting for PostgreSQL.)
        let id: Option<String> = db.query_value(
            "leasing a boarding job",
            &format!(
                "UPDATE boarding_jobs SET lease_until = ?2, lease_token = ?3
                 WHERE id = (
                     SELECT id FROM boarding_jobs j {due_index}
                     WHERE state IN ('queued', 'retrying') AND next_attempt_at <= ?1
                         AND lease_until <= ?1
                         AND NOT EXISTS (SELECT 1 FROM boarding_jobs e
                             WHERE e.application_id = j.application_id
                               AND e.state IN ('queued', 'retrying', 'needs_fix')
                               AND (e.created_at < j.created_at
                                    OR (e.created_at = j.created_at AND e.id < j.id)))
                     ORDER BY next_attempt_at LIMIT 1)
                   AND state IN ('queued', 'retrying') AND lease_until <= ?1
                 RETURNING id"
            ),
            args![now_ms, lease_until_ms, &token],
        )?;
        id.map(|id| self.job(&id)).transpose()
    }
    /// Gives a leased job back untouched (the breaker is open, the session locked…).
    pub fn release_job(&self, id: &str, lease: &str, next_attempt_ms: i64) -> Result<()> {
        let n = self.db().execute(
            "releasing a boarding job",
            "UPDATE boarding_jobs SET lease_until = 0, lease_token = NULL,
                 next_attempt_at = CASE WHEN next_attempt_at > ?2 THEN next_attempt_at ELSE ?2 END
             WHERE id = ?1 AND lease_token = ?3",
            args![id, next_attempt_ms, lease],
        )?;
        held(n)
    }
    /// The idempotency key of a job's step, created (and stored) on first use. A stored key
    /// is only ever sent with the parameters it was first stored with.
    pub fn request_key(
        &self,
        job_id: &str,
        step: &JobStep,
        fingerprint: &str,
        new_key: &str,
        now_ms: i64,
    ) -> Result<String> {
        let existing: Option<(String, String)> = self.db().query_row(
            "reading an idempotency key",
            "SELECT idempotency_key, fingerprint FROM boarding_requests
             WHERE job_id = ?1 AND step = ?2",
            args![job_id, step.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        match existing {
            Some((key, f)) if f == fingerprint => Ok(key),
            Some(_) => Err(VaultError::Conflict(
                "the request changed since it was first sent: resend it after a correction",
            )),
            None => {
                self.db().execute(
                    "storing an idempotency key",
                    "INSERT INTO boarding_requests (job_id, step, idempotency_key,
                         fingerprint, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    args![job_id, step.to_string(), new_key, fingerprint, now_ms],
                )?;
                Ok(new_key.to_string())
            }
        }
    }
    /// Forgets the key of a step whose parameters were corrected after the platform refused
    /// them (a refused request created nothing; the corrected one gets a new key).
    pub fn forget_request_key(&self, job_id: &str, step: &JobStep) -> Result<()> {
        self.db().execute(
            "forgetting an idempotency key",
            "DELETE FROM boarding_requests WHERE job_id = ?1 AND step = ?2",
            args![job_id, step.to_string()],
        )?;
        Ok(())
    }
    /// The step went through: move to `next_step` (due now) with what the platform returned.
    pub fn advance_job(
        &self,
        id: &str,
        lease: &str,
        next_step: &JobStep,
        account_id: Option<&str>,
        persons: &[(String, usize)],
        now_ms: i64,
    ) -> Result<()> {
        let done = *next_step == JobStep::Done;
        // `CAST(?5 …)`: PostgreSQL would type a bare parameter in a CASE with no ELSE as text.
        let n = self.db().execute(
            "advancing a boarding job",
            "UPDATE boarding_jobs SET step = ?2, account_id = COALESCE(?3, account_id),
                 persons = ?4, attempts = 0, total_attempts = total_attempts + 1,
                 state = CASE WHEN ?6 = 1 THEN 'done' ELSE 'queued' END,
                 next_attempt_at = ?5, lease_until = 0, lease_token = NULL, error_kind = NULL,
                 error_message = NULL, error_field = NULL, error_param = NULL,
                 updated_at = ?5, finished_at = CASE WHEN ?6 = 1 THEN CAST(?5 AS BIGINT) END
             WHERE id = ?1 AND lease_token = ?7 AND state IN ('queued', 'retrying')",
            args![
                id,
                next_step.to_string(),
                account_id,
                serde_json::to_string(persons).unwrap_or_else(|_| "[]".into()),
                now_ms,
                done,
                lease
            ],
        )?;
        held(n)
    }
    /// The attempt failed in a way worth retrying at `next_attempt_ms`.
    pub fn retry_job_later(
        &self,
        id: &str,
        lease: &str,
        error: &JobError<'_>,
        next_attempt_ms: i64,
        now_ms: i64,
    ) -> Result<()> {
        self.set_job_error(id, Some(lease), "retrying", error, next_attempt_ms, now_ms)
    }
    /// The platform refused the request as it stands: a person must correct it. `lease` is
    /// the worker's (`None`: a person or a test stops the job, whoever holds it).
    pub fn job_needs_fix(
        &self,
        id: &str,
        lease: Option<&str>,
        error: &JobError<'_>,
        now_ms: i64,
    ) -> Result<()> {
        self.set_job_error(id, lease, "needs_fix", error, now_ms, now_ms)
    }
    fn set_job_error(
        &self,
        id: &str,
        lease: Option<&str>,
        state: &str,
        e: &JobError<'_>,
        next_ms: i64,
        now_ms: i64,
    ) -> Result<()> {
        let n = self.db().execute(
            "recording a boarding attempt",
            "UPDATE boarding_jobs SET state = ?2, attempts = attempts + 1,
                 total_attempts = total_attempts + 1, next_attempt_at = ?3, lease_until = 0,
                 lease_token = NULL, error_kind = ?4, error_message = ?5, error_field = ?6,
                 error_param = ?7, updated_at = ?8
             WHERE id = ?1 AND (CAST(?9 AS TEXT) IS NULL OR lease_token = ?9)
                 AND state IN ('queued', 'retrying', 'needs_fix')",
            args![id, state, next_ms, e.kind, e.message, e.field, e.param, now_ms, lease],
        )?;
        held(n)
    }
    /// Retry now (or resume a cancelled or refused job). A board job resumes only while its
    /// application is clear of sanctions hits.
    pub fn requeue_job(&self, id: &str, now_ms: i64) -> Result<()> {
        let job = self.job(id)?;
        if job.kind == JobKind::Board {
            self.sanctions_clear(&job.application_id)?;
        }
        if job.step != JobStep::DeleteAccount && self.is_erased(&job.application_id)? {
            return Err(VaultError::Conflict(
                "the merchant's record was erased: this job can never be sent",
            ));
        }
        let n = self.db().execute(
            "requeueing a boarding job",
            "UPDATE boarding_jobs SET state = 'queued', next_attempt_at = ?2, lease_until = 0,
                 lease_token = NULL, updated_at = ?2
             WHERE id = ?1 AND state IN ('queued', 'retrying', 'needs_fix', 'cancelled')",
            args![id, now_ms],
        )?;
        if n == 0 {
            return Err(VaultError::Conflict(
                "the job is finished: there is nothing to retry",
            ));
        }
        Ok(())
    }
    pub fn cancel_job(&self, id: &str, now_ms: i64) -> Result<()> {
        if self.job(id)?.step == JobStep::DeleteAccount {
            return Err(VaultError::Conflict(
                "an erasure's deletion of the platform account is not cancelled: retry it once the platform allows it",
            ));
        }
        self.cancel_unsendable(id, now_ms)
    }
    /// Cancels a job that can never be sent (its record was erased): not a delete.
    pub fn cancel_unsendable(&self, id: &str, now_ms: i64) -> Result<()> {
        let n = self.db().execute(
            "cancelling a boarding job",
            "UPDATE boarding_jobs SET state = 'cancelled', lease_until = 0, lease_token = NULL,
                 updated_at = ?2, finished_at = ?2
             WHERE id = ?1 AND state IN ('queued', 'retrying', 'needs_fix')",
            args![id, now_ms],
        )?;
        if n == 0 {
            return Err(VaultError::Conflict(
                "only an unfinished job can be cancelled",
            ));
        }
        Ok(())
    }
}

impl Vault {
    /// Whether the application was erased (its row is a tombstone).
    pub fn is_erased(&self, application_id: &str) -> Result<bool> {
        Ok(self
            .db()
            .query_value::<bool>(
                "reading an application",
                "SELECT erased_at IS NOT NULL FROM applications WHERE id = ?1",
                args![application_id],
            )?
            .unwrap_or(false))
    }
}
