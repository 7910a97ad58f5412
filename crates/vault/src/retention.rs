//! What the vault knows for GDPR erasure under AML retention: when a relationship ended, legal
//! holds, erasure (crypto-shredding the application's record key and reducing its row to a
//! tombstone) and the record of every request.

use serde::Serialize;

use domain::intake::ApplicationStatus;

use crate::{args, Result, Tx, Vault, VaultError};

pub use domain::retention::{decide, years_ms, ErasureOutcome, Facts, Refusal};

/// One recorded erasure request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request {
    pub id: String,
    pub application_id: String,
    pub requested_by: String,
    pub at: i64,
    pub outcome: ErasureOutcome,
    pub possible_from: Option<i64>,
    pub source: String,
}

impl Vault {
    pub fn retention_facts(&self, application_id: &str) -> Result<Facts> {
        let db = self.db();
        let (status, submitted_at, legal_hold, erased_at): (ApplicationStatus, Option<i64>, Option<String>, Option<i64>) = db
            .query_row(
                "reading an application",
                "SELECT status, submitted_at, legal_hold, erased_at FROM applications WHERE id = ?1",
                args![application_id],
                |r| Ok((r.parsed(0, |s| s.parse::<ApplicationStatus>().ok())?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?
            .ok_or(VaultError::NotFound("application"))?;
        let ended_at: Option<i64> = match status {
            ApplicationStatus::Declined | ApplicationStatus::Withdrawn => db
                .query_value::<Option<i64>>(
                    "reading the status history",
                    "SELECT max(at) FROM application_history
                     WHERE application_id = ?1 AND to_status = ?2",
                    args![application_id, status.as_str()],
                )?
                .flatten(),
            _ => db
                .query_value::<Option<i64>>(
                    "reading a merchant",
                    "SELECT status_changed_at FROM merchants
                     WHERE application_id = ?1 AND status = 'terminated'",
                    args![application_id],
                )?
                .flatten(),
        };
        Ok(Facts {
            status,
            submitted: submitted_at.is_some(),
            ended_at,
            legal_hold,
            erased_at,
        })
    }

    pub fn erasure_requests(&self, application_id: &str) -> Result<Vec<Request>> {
        let db = self.db();
        // Requests of the same time in the order they were recorded: SQLite's `rowid`, and the
        // team store's identity column of that name (V4).
        let sql = "SELECT id, application_id, requested_by, at, outcome, possible_from, source
                   FROM erasure_requests WHERE application_id = ?1 ORDER BY at, rowid";
        db.query_map(
            "reading erasure requests",
            sql,
            args![application_id],
            |r| {
                Ok(Request {
                    id: r.get(0)?,
                    application_id: r.get(1)?,
                    requested_by: r.get(2)?,
                    at: r.get(3)?,
                    outcome: r.parsed(4, ErasureOutcome::parse)?,
                    possible_from: r.get(5)?,
                    source: r.get(6)?,
                })
            },
        )
    }

    /// Applications whose relationship ended before `ended_before` (or never-submitted drafts
    /// untouched since then), not on hold and not yet erased: the retention run's candidates.
    pub fn retention_candidates(&self, ended_before: i64) -> Result<Vec<String>> {
        self.db().query_map(
            "finding records past retention",
            "SELECT a.id FROM applications a
                 LEFT JOIN merchants m ON m.application_id = a.id
                 WHERE a.erased_at IS NULL AND a.legal_hold IS NULL AND (
                     (a.status IN ('declined', 'withdrawn') AND (SELECT max(h.at)
                         FROM application_history h WHERE h.application_id = a.id
                           AND h.to_status = a.status) < ?1)
                     OR (m.status = 'terminated' AND m.status_changed_at < ?1)
                     OR (a.status = 'draft' AND a.submitted_at IS NULL AND a.updated_at < ?1))
                 ORDER BY a.id",
            args![ended_before],
            |r| r.get(0),
        )
    }
}

/// Changes: only inside a unit of work ([`Vault::write`]).
impl Tx<'_> {
    /// Puts an application on legal hold (`Some(reason)`) or lifts it (`None`).
    pub fn set_legal_hold(&self, application_id: &str, reason: Option<&str>) -> Result<()> {
        let n = self.db().execute(
            "setting a legal hold",
            "UPDATE applications SET legal_hold = ?2 WHERE id = ?1",
            args![application_id, reason],
        )?;
        if n == 0 {
            return Err(VaultError::NotFound("application"));
        }
        Ok(())
    }
    pub fn record_erasure_request(&self, r: &Request) -> Result<()> {
        self.db().execute(
            "recording an erasure request",
            "INSERT INTO erasure_requests (id, application_id, requested_by, at, outcome,
                 possible_from, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            args![
                &r.id,
                &r.application_id,
                &r.requested_by,
                r.at,
                r.outcome.as_str(),
                r.possible_from,
                &r.source
            ],
        )?;
        Ok(())
    }
    /// Erases an application: its record key is destroyed (every sealed part — business,
    /// people, bank account, documents, notes, hits, boarding errors — can never be opened
    /// again), the sealed rows and blind indexes are deleted, decision notes blanked, and the
    /// row kept as a tombstone (id, status, dates, MCC) so the audit chain and counts stay true;
    /// a boarded merchant's platform account is queued for deletion.
    pub fn erase_application(&self, application_id: &str, now_ms: i64) -> Result<()> {
        self.savepoint(|| {
            let db = self.db();
            // Its blocklist entries from before the blocklist key stop being reversible with
            // the index key: re-keyed while the values can still be read.
            let legacy: bool = db
                .query_value(
                    "erasing an application",
                    "SELECT EXISTS (SELECT 1 FROM blocklist WHERE keyed = 0)",
                    &[],
                )?
                .unwrap_or(false);
            if legacy {
                if let Ok(stored) = self.application(application_id) {
                    self.rekey_legacy_blocklist(&stored.form)?;
                }
            }
            let run = |sql: &str| {
                db.execute("erasing an application", sql, args![application_id])
                    .map(|_| ())
            };
            run("DELETE FROM application_people WHERE application_id = ?1")?;
            run("DELETE FROM bank_accounts WHERE application_id = ?1")?;
            run("DELETE FROM documents WHERE application_id = ?1")?;
            run("DELETE FROM blind_indexes WHERE application_id = ?1")?;
            run("DELETE FROM name_tokens WHERE application_id = ?1")?;
            run("DELETE FROM application_notes WHERE application_id = ?1")?;
            run("UPDATE merchant_changes SET previous = NULL WHERE application_id = ?1")?;
            run("DELETE FROM screening_hits WHERE application_id = ?1")?;
            run("UPDATE decisions SET note = '' WHERE application_id = ?1")?;
            run("UPDATE application_history SET note = NULL WHERE application_id = ?1")?;
            // The empty body is bound (`x''` is a blob in SQLite but a bit string in
            // PostgreSQL).
            db.execute(
                "erasing an application",
                "UPDATE applications SET legal_name = '[erased]', legal_name_key = '',
                     dba = '', dba_key = '', names = NULL, body = ?3, erased_at = ?2
                 WHERE id = ?1",
                args![application_id, now_ms, Vec::<u8>::new()],
            )?;
            // A boarded merchant's platform account is deleted too (the outbox carries it).
            self.queue_account_deletion(application_id, now_ms)?;
            self.shred_record(application_id)?;
            self.checkpoint_after_commit();
            Ok(())
        })
    }
}
