//! Underwriting storage: risk assessments, the review queue, decisions, the blocklist and the
//! dashboard's figures. The rules themselves live in the underwriting crate; the flow (who may
//! decide what, four-eyes) in the api crate.

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, OptionalExtension};
use serde::{Deserialize, Serialize};

use domain::review::RiskBand;

use crate::applications::COUNT_CAP;
use crate::db::{parsed, parsed_opt};
use crate::seal::Sealed;
use crate::{Result, Tx, Vault, VaultError};

pub struct NewAssessment<'a> {
    pub application_id: &'a str,
    pub now_ms: i64,
    pub score: i64,
    pub band: RiskBand,
    pub recommendation: &'a str,
    pub four_eyes: bool,
    pub factors_json: &'a str,
    pub rules_json: &'a str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredAssessment {
    pub assessed_at: i64,
    pub score: i64,
    pub band: RiskBand,
    pub recommendation: String,
    pub four_eyes: bool,
    pub factors: serde_json::Value,
}

/// Counts of other applications sharing an identifier, and blocklisted identifiers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IdentityChecks {
    pub duplicate_ein: u32,
    pub duplicate_ssn: u32,
    pub duplicate_bank_account: u32,
    pub duplicate_contact: u32,
    pub blocklisted: Vec<String>,
    /// Entries under the blocklist key exist and this session could not check them (a desk
    /// no admin has enrolled).
    pub blocklist_unchecked: bool,
    pub open_hits: u32,
    pub true_matches: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueSort {
    /// Highest risk first, then oldest.
    #[default]
    Risk,
    /// Oldest submission first.
    Age,
}

#[derive(Debug, Clone, Default, Deserialize)]
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
    /// The score range `[from, to)` of `band` under the rules in force (set by the api crate);
    /// without it the stored band is compared.
    #[serde(skip)]
    pub band_scores: Option<(i64, i64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueRow {
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

#[derive(Debug, Clone, Serialize)]
pub struct QueuePage {
    pub items: Vec<QueueRow>,
    pub total: i64,
    pub total_exact: bool,
    pub offset: u32,
}

pub struct NewDecision<'a> {
    pub id: &'a str,
    pub application_id: &'a str,
    /// `approve`, `second_approval`, `decline`, `request_info`.
    pub kind: &'a str,
    pub reasons_json: &'a str,
    pub note: &'a str,
    pub actor: &'a str,
    pub now_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub id: String,
    pub kind: String,
    pub reasons: serde_json::Value,
    pub note: String,
    pub actor: String,
    pub at: i64,
}

/// An internal note on an application (opened).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    pub id: String,
    pub author: String,
    pub at: i64,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayCount {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub approved: i64,
    pub declined: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
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

fn queue_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<QueueRow> {
    Ok(QueueRow {
        id: r.get(0)?,
        status: r.get(1)?,
        legal_name: r.get(2)?,
        dba: r.get(3)?,
        mcc: r.get(4)?,
        risk_score: r.get(5)?,
        risk_band: parsed_opt(r, 6, RiskBand::parse)?,
        assignee: r.get(7)?,
        open_hits: r.get(8)?,
        submitted_at: r.get(9)?,
        pending_approval_by: r.get(10)?,
        version: r.get(11)?,
    })
}

const QUEUE_COLUMNS: &str = "id, status, legal_name, dba, mcc, risk_score, risk_band, assignee, \
     open_hits, submitted_at, pending_approval_by, version";

impl Vault {
    pub fn assessment(&self, application_id: &str) -> Result<Option<StoredAssessment>> {
        self.conn()
            .prepare_cached(
                "SELECT assessed_at, score, band, recommendation, four_eyes, factors
                 FROM risk_assessments WHERE application_id = ?1",
            )
            .and_then(|mut s| {
                s.query_row([application_id], |r| {
                    let factors: String = r.get(5)?;
                    Ok(StoredAssessment {
                        assessed_at: r.get(0)?,
                        score: r.get(1)?,
                        band: parsed(r, 2, RiskBand::parse)?,
                        recommendation: r.get(3)?,
                        four_eyes: r.get(4)?,
                        factors: serde_json::from_str(&factors).unwrap_or(serde_json::Value::Null),
                    })
                })
                .optional()
            })
            .map_err(VaultError::storage("reading a risk assessment"))
    }

    /// Duplicates through blind indexes, blocklist matches and screening state of one
    /// application: what the risk rules need beyond the form. Without its form, entries under
    /// the blocklist key are not checked (and `blocklist_unchecked` says so when there are any).
    pub fn identity_checks(
        &self,
        application_id: &str,
        form: Option<&domain::intake::ApplicationForm>,
    ) -> Result<IdentityChecks> {
        let conn = self.conn();
        let mut checks = IdentityChecks::default();
        // Per identifier, how many other applications share it — counted up to 100, so a value
        // thousands share (a platform's support number) costs no more than a rare one.
        let mut stmt = conn
            .prepare_cached(
                "SELECT b.kind, (SELECT count(*) FROM (SELECT 1 FROM blind_indexes o
                     WHERE o.kind = b.kind AND o.digest = b.digest
                       AND o.application_id <> b.application_id LIMIT 100))
                 FROM blind_indexes b WHERE b.application_id = ?1",
            )
            .map_err(VaultError::storage("checking duplicates"))?;
        let rows = stmt
            .query_map([application_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
            .map_err(VaultError::storage("checking duplicates"))?;
        for (kind, n) in rows {
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            let slot = match kind.as_str() {
                "ein" => &mut checks.duplicate_ein,
                "ssn" => &mut checks.duplicate_ssn,
                "bank_account" => &mut checks.duplicate_bank_account,
                _ => &mut checks.duplicate_contact,
            };
            *slot = (*slot).max(n);
        }
        let mut stmt = conn
            .prepare_cached(
                "SELECT DISTINCT b.kind FROM blind_indexes b
                 JOIN blocklist l ON l.kind = b.kind AND l.digest = b.digest AND l.keyed = 0
                 WHERE b.application_id = ?1 ORDER BY b.kind",
            )
            .map_err(VaultError::storage("checking the blocklist"))?;
        let mut blocklisted: Vec<String> = stmt
            .query_map([application_id], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(VaultError::storage("checking the blocklist"))?;
        let (keyed, checked) = self.keyed_blocklist_matches(form)?;
        blocklisted.extend(keyed);
        blocklisted.sort();
        blocklisted.dedup();
        checks.blocklisted = blocklisted;
        checks.blocklist_unchecked = !checked;
        let (open, true_matches): (i64, i64) = conn
            .prepare_cached(
                "SELECT coalesce(sum(disposition IS NULL), 0),
                        coalesce(sum(disposition = 'true_match'), 0)
                 FROM screening_hits WHERE application_id = ?1",
            )
            .and_then(|mut s| s.query_row([application_id], |r| Ok((r.get(0)?, r.get(1)?))))
            .map_err(VaultError::storage("counting screening hits"))?;
        checks.open_hits = u32::try_from(open).unwrap_or(u32::MAX);
        checks.true_matches = u32::try_from(true_matches).unwrap_or(u32::MAX);
        Ok(checks)
    }

    /// A page of the review queue, sorted and filtered in SQL.
    pub fn queue(&self, filter: &QueueFilter, limit: u32, offset: u32) -> Result<QueuePage> {
        let mut clauses: Vec<&str> = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        match filter.status.as_deref() {
            Some(s @ ("submitted" | "in_review" | "info_requested")) => {
                clauses.push("status = ?");
                values.push(Value::Text(s.into()));
            }
            Some(_) => {
                return Err(VaultError::invalid(
                    "status",
                    "must be submitted, in_review or info_requested",
                ))
            }
            None => clauses.push("in_queue = 1"),
        }
        if let Some(band) = filter.band {
            match filter.band_scores {
                Some((from, to)) => {
                    clauses.push("risk_score >= ? AND risk_score < ?");
                    values.push(Value::Integer(from));
                    values.push(Value::Integer(to));
                }
                None => {
                    clauses.push("risk_band = ?");
                    values.push(Value::Text(band.as_str().into()));
                }
            }
        }
        match filter.assignee.as_deref() {
            None => {}
            Some("none") => clauses.push("assignee IS NULL"),
            Some(user) => {
                clauses.push("assignee = ?");
                values.push(Value::Text(user.to_string()));
            }
        }
        if filter.with_hits {
            clauses.push("open_hits > 0");
        }
        if filter.awaiting_second {
            clauses.push("pending_approval_by IS NOT NULL");
        }
        if let Some(prefix) = filter
            .name_prefix
            .as_deref()
            .map(crate::applications::search_key)
            .filter(|p| !p.is_empty())
        {
            clauses.push(
                "((legal_name_key >= ? AND legal_name_key < ?) OR (dba_key >= ? AND dba_key < ?))",
            );
            let end = format!("{prefix}\u{10FFFF}");
            values.extend([
                Value::Text(prefix.clone()),
                Value::Text(end.clone()),
                Value::Text(prefix),
                Value::Text(end),
            ]);
        }
        let where_sql = format!("WHERE {}", clauses.join(" AND "));
        // Hits and pending second approvals are rare: read them from their partial indexes
        // rather than filtering a band's tens of thousands of rows (the planner's own pick).
        let from = if filter.with_hits {
            "applications INDEXED BY applications_queue_with_hits"
        } else if filter.awaiting_second {
            "applications INDEXED BY applications_awaiting_second"
        } else {
            "applications"
        };
        let order = match filter.sort {
            // SQLite sorts NULL (not yet scored) last in descending order.
            QueueSort::Risk => "ORDER BY risk_score DESC, submitted_at, id",
            QueueSort::Age => "ORDER BY submitted_at, id",
        };
        let conn = self.conn();
        let n: i64 = conn
            .prepare_cached(&format!(
                "SELECT count(*) FROM (SELECT 1 FROM {from} {where_sql} LIMIT {})",
                COUNT_CAP + 1
            ))
            .and_then(|mut s| s.query_row(params_from_iter(values.iter()), |r| r.get(0)))
            .map_err(VaultError::storage("counting the queue"))?;
        let limit = limit.clamp(1, 200);
        let mut page_values = values;
        page_values.push(Value::Integer(i64::from(limit)));
        page_values.push(Value::Integer(i64::from(offset)));
        let items = conn
            .prepare_cached(&format!(
                "SELECT {QUEUE_COLUMNS} FROM {from} {where_sql} {order} LIMIT ? OFFSET ?"
            ))
            .and_then(|mut s| {
                s.query_map(params_from_iter(page_values.iter()), queue_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(VaultError::storage("reading the queue"))?;
        Ok(QueuePage {
            items,
            total: n.min(COUNT_CAP),
            total_exact: n <= COUNT_CAP,
            offset,
        })
    }

    pub fn queue_row(&self, id: &str) -> Result<QueueRow> {
        self.conn()
            .prepare_cached(&format!(
                "SELECT {QUEUE_COLUMNS} FROM applications WHERE id = ?1"
            ))
            .and_then(|mut s| s.query_row([id], queue_row).optional())
            .map_err(VaultError::storage("reading an application"))?
            .ok_or(VaultError::NotFound("application"))
    }

    pub fn decisions(&self, application_id: &str) -> Result<Vec<Decision>> {
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT id, kind, reasons, note, actor, at FROM decisions
                 WHERE application_id = ?1 ORDER BY at, rowid",
            )
            .map_err(VaultError::storage("reading decisions"))?;
        stmt.query_map([application_id], |r| {
            let reasons: String = r.get(2)?;
            Ok(Decision {
                id: r.get(0)?,
                kind: r.get(1)?,
                reasons: serde_json::from_str(&reasons).unwrap_or(serde_json::Value::Null),
                note: r.get(3)?,
                actor: r.get(4)?,
                at: r.get(5)?,
            })
        })
        .and_then(Iterator::collect)
        .map_err(VaultError::storage("reading decisions"))
    }

    /// The application's notes, oldest first (none once its key is shredded).
    pub fn notes(&self, application_id: &str) -> Result<Vec<Note>> {
        let Some(key) = self.existing_record_key(application_id)? else {
            return Ok(Vec::new());
        };
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT id, author, at, body FROM application_notes
                 WHERE application_id = ?1 ORDER BY at, rowid",
            )
            .map_err(VaultError::storage("reading notes"))?;
        let rows = stmt
            .query_map([application_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Sealed>(3)?,
                ))
            })
            .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
            .map_err(VaultError::storage("reading notes"))?;
        rows.into_iter()
            .map(|(id, author, at, sealed)| {
                let text = key.open(&format!("note:{id}"), &sealed)?;
                Ok(Note {
                    id,
                    author,
                    at,
                    text: String::from_utf8_lossy(&text).into_owned(),
                })
            })
            .collect()
    }

    pub fn dashboard(&self, since_ms: i64) -> Result<Dashboard> {
        let conn = self.conn();
        let by_status: Vec<(String, i64)> = conn
            .prepare_cached("SELECT status, n FROM application_counts WHERE n > 0 ORDER BY status")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(VaultError::storage("reading counts"))?;
        let decisions_by_day: Vec<DayCount> = conn
            .prepare_cached(
                "SELECT date(at / 1000, 'unixepoch') AS day,
                        sum(to_status = 'approved'), sum(to_status = 'declined')
                 FROM application_history
                 WHERE at >= ?1 AND to_status IN ('approved', 'declined')
                 GROUP BY day ORDER BY day",
            )
            .and_then(|mut s| {
                s.query_map([since_ms], |r| {
                    Ok(DayCount {
                        day: r.get(0)?,
                        approved: r.get(1)?,
                        declined: r.get(2)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(VaultError::storage("reading decisions per day"))?;
        let mut hours: Vec<f64> = conn
            .prepare_cached(
                "SELECT (h.at - a.submitted_at) / 3600000.0 FROM application_history h
                 JOIN applications a ON a.id = h.application_id
                 WHERE h.at >= ?1 AND h.to_status IN ('approved', 'declined')
                   AND a.submitted_at IS NOT NULL",
            )
            .and_then(|mut s| {
                s.query_map([since_ms], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<f64>>>()
            })
            .map_err(VaultError::storage("reading decision times"))?;
        hours.sort_by(f64::total_cmp);
        let median_hours_to_decision = (!hours.is_empty()).then(|| hours[hours.len() / 2]);
        let (open_hits, with_hits, awaiting): (i64, i64, i64) = conn
            .query_row(
                "SELECT coalesce(sum(open_hits), 0), coalesce(sum(open_hits > 0), 0),
                        coalesce(sum(pending_approval_by IS NOT NULL), 0)
                 FROM applications WHERE status IN ('submitted', 'in_review', 'info_requested')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(VaultError::storage("reading open hits"))?;
        Ok(Dashboard {
            by_status,
            decisions_by_day,
            median_hours_to_decision,
            open_hits,
            applications_with_open_hits: with_hits,
            awaiting_second_approval: awaiting,
            merchants_in_review: self.merchants_in_review()?,
        })
    }
}

/// Changes: only inside a unit of work ([`Vault::write`]).
impl Tx<'_> {
    pub fn store_assessment(&self, a: &NewAssessment<'_>) -> Result<()> {
        let conn = self.conn();
        conn.prepare_cached(
            "INSERT INTO risk_assessments (application_id, assessed_at, score, band,
                 recommendation, four_eyes, factors, rules)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (application_id) DO UPDATE SET assessed_at = excluded.assessed_at,
                 score = excluded.score, band = excluded.band,
                 recommendation = excluded.recommendation, four_eyes = excluded.four_eyes,
                 factors = excluded.factors, rules = excluded.rules",
        )
        .and_then(|mut s| {
            s.execute(params![
                a.application_id,
                a.now_ms,
                a.score,
                a.band.as_str(),
                a.recommendation,
                a.four_eyes,
                a.factors_json,
                a.rules_json
            ])
        })
        .and_then(|_| {
            conn.prepare_cached(
                "UPDATE applications SET risk_score = ?2, risk_band = ?3 WHERE id = ?1",
            )?
            .execute(params![a.application_id, a.score, a.band.as_str()])
        })
        .map_err(VaultError::storage("storing a risk assessment"))?;
        Ok(())
    }
    /// Assigns an application (to `assignee`, or nobody) if it is still at `version`.
    pub fn assign(&self, id: &str, version: i64, assignee: Option<&str>) -> Result<i64> {
        let n = self
            .conn()
            .execute(
                "UPDATE applications SET assignee = ?3, version = version + 1
                 WHERE id = ?1 AND version = ?2",
                params![id, version, assignee],
            )
            .map_err(VaultError::storage("assigning an application"))?;
        if n == 0 {
            self.application_summary(id)?;
            return Err(VaultError::Conflict(
                "the application was changed by someone else meanwhile: reload it",
            ));
        }
        Ok(version + 1)
    }
    /// Sets or clears the first approver awaiting a second one, if still at `version`.
    pub fn set_pending_approval(&self, id: &str, version: i64, by: Option<&str>) -> Result<i64> {
        let n = self
            .conn()
            .execute(
                "UPDATE applications SET pending_approval_by = ?3, version = version + 1
                 WHERE id = ?1 AND version = ?2",
                params![id, version, by],
            )
            .map_err(VaultError::storage("recording an approval"))?;
        if n == 0 {
            return Err(VaultError::Conflict(
                "the application was changed by someone else meanwhile: reload it",
            ));
        }
        Ok(version + 1)
    }
    pub fn add_decision(&self, d: &NewDecision<'_>) -> Result<()> {
        self.conn()
            .execute(
                "INSERT INTO decisions (id, application_id, kind, reasons, note, actor, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    d.id,
                    d.application_id,
                    d.kind,
                    d.reasons_json,
                    d.note,
                    d.actor,
                    d.now_ms
                ],
            )
            .map_err(VaultError::storage("recording a decision"))?;
        Ok(())
    }
    /// Adds an internal note, sealed with the application's record key.
    pub fn add_note(
        &self,
        id: &str,
        application_id: &str,
        author: &str,
        at: i64,
        text: &str,
    ) -> Result<()> {
        let key = self
            .existing_record_key(application_id)?
            .ok_or(VaultError::NotFound("application"))?;
        let body = key.seal(&format!("note:{id}"), text.as_bytes())?;
        self.conn()
            .prepare_cached(
                "INSERT INTO application_notes (id, application_id, author, at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut s| s.execute(params![id, application_id, author, at, body]))
            .map_err(VaultError::storage("storing a note"))?;
        Ok(())
    }
}
