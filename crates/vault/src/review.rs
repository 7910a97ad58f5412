//! Underwriting storage: risk assessments, the review queue, decisions, the blocklist and the
//! dashboard's figures. The rules themselves live in the underwriting crate; the flow (who may
//! decide what, four-eyes) in the api crate.

use serde::{Deserialize, Serialize};

use domain::review::RiskBand;

use crate::applications::names::{open_text, seal_text};
use crate::applications::COUNT_CAP;
use crate::seal::Sealed;
use crate::sql::{Engine, Row, Value};
use crate::{args, Result, Tx, Vault, VaultError};

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

/// A queue row with its names still sealed (column 12).
fn queue_row(r: &Row<'_>) -> Result<(QueueRow, Option<Sealed>)> {
    let row = QueueRow {
        id: r.get(0)?,
        status: r.get(1)?,
        legal_name: r.get(2)?,
        dba: r.get(3)?,
        mcc: r.get(4)?,
        risk_score: r.get(5)?,
        risk_band: r.parsed_opt(6, RiskBand::parse)?,
        assignee: r.get(7)?,
        open_hits: r.get(8)?,
        submitted_at: r.get(9)?,
        pending_approval_by: r.get(10)?,
        version: r.get(11)?,
    };
    Ok((row, r.get(12)?))
}

const QUEUE_COLUMNS: &str = "id, status, legal_name, dba, mcc, risk_score, risk_band, assignee, \
     open_hits, submitted_at, pending_approval_by, version, names";

/// The field a decision's note is sealed as.
fn decision_field(id: &str) -> String {
    format!("decision-note:{id}")
}

/// Binds `value` and returns its numbered placeholder (`?N`: PostgreSQL has no bare `?`).
fn bind<'a>(values: &mut Vec<Value<'a>>, value: impl Into<Value<'a>>) -> String {
    values.push(value.into());
    format!("?{}", values.len())
}

impl Vault {
    pub fn assessment(&self, application_id: &str) -> Result<Option<StoredAssessment>> {
        self.db().query_row(
            "reading a risk assessment",
            "SELECT assessed_at, score, band, recommendation, four_eyes, factors
             FROM risk_assessments WHERE application_id = ?1",
            args![application_id],
            |r| {
                let factors: String = r.get(5)?;
                Ok(StoredAssessment {
                    assessed_at: r.get(0)?,
                    score: r.get(1)?,
                    band: r.parsed(2, RiskBand::parse)?,
                    recommendation: r.get(3)?,
                    four_eyes: r.get(4)?,
                    factors: serde_json::from_str(&factors).unwrap_or(serde_json::Value::Null),
                })
            },
        )
    }

    /// Duplicates through blind indexes, blocklist matches and screening state of one
    /// application: what the risk rules need beyond the form. Without its form, entries under
    /// the blocklist key are not checked (and `blocklist_unchecked` says so when there are any).
    pub fn identity_checks(
        &self,
        application_id: &str,
        form: Option<&domain::intake::ApplicationForm>,
    ) -> Result<IdentityChecks> {
        let db = self.db();
        let mut checks = IdentityChecks::default();
        // Per identifier, how many other applications share it — counted up to 100, so a value
        // thousands share (a platform's support number) costs no more than a rare one.
        let rows = db.query_map(
            "checking duplicates",
            "SELECT b.kind, (SELECT count(*) FROM (SELECT 1 FROM blind_indexes o
                 WHERE o.kind = b.kind AND o.digest = b.digest
                   AND o.application_id <> b.application_id LIMIT 100) AS shared)
             FROM blind_indexes b WHERE b.application_id = ?1",
            args![application_id],
            |r| Ok((r.get::<String>(0)?, r.get::<i64>(1)?)),
        )?;
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
        let mut blocklisted: Vec<String> = db.query_map(
            "checking the blocklist",
            "SELECT DISTINCT b.kind FROM blind_indexes b
             JOIN blocklist l ON l.kind = b.kind AND l.digest = b.digest AND l.keyed = 0
             WHERE b.application_id = ?1 ORDER BY b.kind",
            args![application_id],
            |r| r.get(0),
        )?;
        let (keyed, checked) = self.keyed_blocklist_matches(form)?;
        blocklisted.extend(keyed);
        blocklisted.sort();
        blocklisted.dedup();
        checks.blocklisted = blocklisted;
        checks.blocklist_unchecked = !checked;
        let (open, true_matches): (i64, i64) = db
            .query_row(
                "counting screening hits",
                "SELECT count(CASE WHEN disposition IS NULL THEN 1 END),
                        count(CASE WHEN disposition = 'true_match' THEN 1 END)
                 FROM screening_hits WHERE application_id = ?1",
                args![application_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .ok_or(VaultError::NotFound("screening hit counts"))?;
        checks.open_hits = u32::try_from(open).unwrap_or(u32::MAX);
        checks.true_matches = u32::try_from(true_matches).unwrap_or(u32::MAX);
        Ok(checks)
    }

    /// A page of the review queue, sorted and filtered in SQL.
    pub fn queue(&self, filter: &QueueFilter, limit: u32, offset: u32) -> Result<QueuePage> {
        self.queue_page(filter, limit, offset, true)
    }

    /// The first `limit` rows of the queue `filter` selects, uncounted: "next in queue" needs
    /// no total, and counting the unassigned rows of a large queue reads every one of them.
    pub fn queue_head(&self, filter: &QueueFilter, limit: u32) -> Result<Vec<QueueRow>> {
        Ok(self.queue_page(filter, limit, 0, false)?.items)
    }

    fn queue_page(
        &self,
        filter: &QueueFilter,
        limit: u32,
        offset: u32,
        counted: bool,
    ) -> Result<QueuePage> {
        let db = self.db();
        let mut clauses: Vec<String> = Vec::new();
        let mut values: Vec<Value<'_>> = Vec::new();
        match filter.status.as_deref() {
            Some(s @ ("submitted" | "in_review" | "info_requested")) => {
                clauses.push(format!("status = {}", bind(&mut values, s)));
            }
            Some(_) => {
                return Err(VaultError::invalid(
                    "status",
                    "must be submitted, in_review or info_requested",
                ))
            }
            None => clauses.push("in_queue = 1".to_string()),
        }
        if let Some(band) = filter.band {
            match filter.band_scores {
                Some((from, to)) => {
                    let from = bind(&mut values, from);
                    let to = bind(&mut values, to);
                    clauses.push(format!("risk_score >= {from} AND risk_score < {to}"));
                }
                None => {
                    clauses.push(format!("risk_band = {}", bind(&mut values, band.as_str())));
                }
            }
        }
        match filter.assignee.as_deref() {
            None => {}
            Some("none") => clauses.push("assignee IS NULL".to_string()),
            Some(user) => {
                clauses.push(format!("assignee = {}", bind(&mut values, user)));
            }
        }
        if filter.with_hits {
            clauses.push("open_hits > 0".to_string());
        }
        if filter.awaiting_second {
            clauses.push("pending_approval_by IS NOT NULL".to_string());
        }
        let names = match filter.name_prefix.as_deref() {
            Some(text) => self.name_query(text)?,
            None => None,
        };
        let name_sql = names
            .as_ref()
            .map(|q| q.clauses("applications.id", |token| bind(&mut values, token)));
        let count_sql = name_sql.as_ref().map(|sql| sql.count(&clauses));
        if let Some(sql) = &name_sql {
            clauses.push(sql.page.clone());
        }
        let where_sql = format!("WHERE {}", clauses.join(" AND "));
        // Hits and pending second approvals are rare: read them from their partial indexes
        // rather than filtering a band's tens of thousands of rows (the planner's own pick).
        // `INDEXED BY` is SQLite's; PostgreSQL's planner weighs the partial indexes itself.
        let from = match db.engine() {
            Engine::Sqlite if filter.with_hits => {
                "applications INDEXED BY applications_queue_with_hits"
            }
            Engine::Sqlite if filter.awaiting_second => {
                "applications INDEXED BY applications_awaiting_second"
            }
            _ => "applications",
        };
        let order = match filter.sort {
            // SQLite sorts NULL (not yet scored) last in descending order. `NULLS LAST` and
            // `NULLS FIRST` (SQLite's own order, so its queue indexes still serve the sort)
            // make PostgreSQL, which sorts NULL first in descending order, agree.
            QueueSort::Risk => "ORDER BY risk_score DESC NULLS LAST, submitted_at NULLS FIRST, id",
            QueueSort::Age => "ORDER BY submitted_at NULLS FIRST, id",
        };
        if let Some(q) = names.as_ref().filter(|q| !q.exact) {
            return self.queue_compared(
                q,
                &format!("{from} {where_sql} {order}"),
                values,
                limit,
                offset,
            );
        }
        // With a name search, counted from the rarest token's rows (see `NameClauses`).
        let (count_from, count_where) = match count_sql {
            Some((from, conditions)) => (from, format!("WHERE {conditions}")),
            None => (from, where_sql.clone()),
        };
        let n: i64 = if counted {
            db.query_value::<i64>(
                "counting the queue",
                &format!(
                    "SELECT count(*) FROM (SELECT 1 FROM {count_from} {count_where} LIMIT {}) AS capped",
                    COUNT_CAP + 1
                ),
                &values,
            )?
            .unwrap_or(0)
        } else {
            0
        };
        let limit = limit.clamp(1, 200);
        let mut page_values = values;
        let limit_at = bind(&mut page_values, i64::from(limit));
        let offset_at = bind(&mut page_values, i64::from(offset));
        let items = db.query_map(
            "reading the queue",
            &format!(
                "SELECT {QUEUE_COLUMNS} FROM {from} {where_sql} {order} \
                 LIMIT {limit_at} OFFSET {offset_at}"
            ),
            &page_values,
            queue_row,
        )?;
        let items = self.named_rows(items)?;
        let n = if counted { n } else { items.len() as i64 };
        Ok(QueuePage {
            items,
            total: n.min(COUNT_CAP),
            total_exact: n <= COUNT_CAP,
            offset,
        })
    }

    pub fn queue_row(&self, id: &str) -> Result<QueueRow> {
        let row = self
            .db()
            .query_row(
                "reading an application",
                &format!("SELECT {QUEUE_COLUMNS} FROM applications WHERE id = ?1"),
                args![id],
                queue_row,
            )?
            .ok_or(VaultError::NotFound("application"))?;
        Ok(self.named_rows(vec![row])?.remove(0))
    }

    /// Queue rows with their names opened.
    fn named_rows(&self, rows: Vec<(QueueRow, Option<Sealed>)>) -> Result<Vec<QueueRow>> {
        self.with_names(
            rows,
            |r| &r.id,
            |r, n| (r.legal_name, r.dba) = (n.legal_name, n.dba),
        )
    }

    /// The queue when the name tokens do not decide (a word of more than 8 characters): up
    /// to [`COUNT_CAP`] + 1 rows the tokens found, in the queue's order, their names opened and
    /// compared, and the page cut from those that compared equal.
    fn queue_compared(
        &self,
        query: &crate::applications::NameQuery,
        from_where_order: &str,
        mut values: Vec<Value<'_>>,
        limit: u32,
        offset: u32,
    ) -> Result<QueuePage> {
        let cap = bind(&mut values, COUNT_CAP + 1);
        let rows = self.db().query_map(
            "reading the queue",
            &format!("SELECT {QUEUE_COLUMNS} FROM {from_where_order} LIMIT {cap}"),
            &values,
            queue_row,
        )?;
        let capped = rows.len() as i64 > COUNT_CAP;
        let matching: Vec<QueueRow> = self
            .named_rows(rows)?
            .into_iter()
            .filter(|r| query.matches(&r.legal_name, &r.dba))
            .collect();
        let total = (matching.len() as i64).min(COUNT_CAP);
        let items = matching
            .into_iter()
            .skip(offset as usize)
            .take(limit.clamp(1, 200) as usize)
            .collect();
        Ok(QueuePage {
            items,
            total,
            total_exact: !capped,
            offset,
        })
    }

    pub fn decisions(&self, application_id: &str) -> Result<Vec<Decision>> {
        let key = self.existing_record_key(application_id)?;
        let db = self.db();
        let rows = db.query_map(
            "reading decisions",
            // Ties of `at` in the order written: SQLite's `rowid`, and the team store's
            // identity column of that name (V4).
            "SELECT id, kind, reasons, note, actor, at FROM decisions
             WHERE application_id = ?1 ORDER BY at, rowid",
            args![application_id],
            |r| {
                let reasons: String = r.get(2)?;
                Ok(Decision {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    reasons: serde_json::from_str(&reasons).unwrap_or(serde_json::Value::Null),
                    note: r.get(3)?,
                    actor: r.get(4)?,
                    at: r.get(5)?,
                })
            },
        )?;
        rows.into_iter()
            .map(|mut d| {
                d.note = open_text(key.as_ref(), &decision_field(&d.id), d.note)?;
                Ok(d)
            })
            .collect()
    }

    /// The application's notes, oldest first (none once its key is shredded).
    pub fn notes(&self, application_id: &str) -> Result<Vec<Note>> {
        let Some(key) = self.existing_record_key(application_id)? else {
            return Ok(Vec::new());
        };
        let db = self.db();
        let rows = db.query_map(
            "reading notes",
            "SELECT id, author, at, body FROM application_notes
             WHERE application_id = ?1 ORDER BY at, rowid",
            args![application_id],
            |r| {
                Ok((
                    r.get::<String>(0)?,
                    r.get::<String>(1)?,
                    r.get::<i64>(2)?,
                    r.get::<Sealed>(3)?,
                ))
            },
        )?;
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
        let db = self.db();
        let by_status: Vec<(String, i64)> = db.query_map(
            "reading counts",
            "SELECT status, n FROM application_counts WHERE n > 0 ORDER BY status",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        // The UTC day of an epoch-milliseconds time, `YYYY-MM-DD`, as each engine writes it.
        let day = match db.engine() {
            Engine::Sqlite => "date(at / 1000, 'unixepoch')",
            Engine::Postgres => "to_char(to_timestamp(at / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        };
        let decisions_by_day: Vec<DayCount> = db.query_map(
            "reading decisions per day",
            &format!(
                "SELECT {day} AS day,
                        count(CASE WHEN to_status = 'approved' THEN 1 END),
                        count(CASE WHEN to_status = 'declined' THEN 1 END)
                 FROM application_history
                 WHERE at >= ?1 AND to_status IN ('approved', 'declined')
                 GROUP BY day ORDER BY day"
            ),
            args![since_ms],
            |r| {
                Ok(DayCount {
                    day: r.get(0)?,
                    approved: r.get(1)?,
                    declined: r.get(2)?,
                })
            },
        )?;
        let mut hours: Vec<f64> = db.query_map(
            "reading decision times",
            "SELECT CAST((h.at - a.submitted_at) / 3600000.0 AS DOUBLE PRECISION)
             FROM application_history h
             JOIN applications a ON a.id = h.application_id
             WHERE h.at >= ?1 AND h.to_status IN ('approved', 'declined')
               AND a.submitted_at IS NOT NULL",
            args![since_ms],
            |r| r.get(0),
        )?;
        hours.sort_by(f64::total_cmp);
        let median_hours_to_decision = (!hours.is_empty()).then(|| hours[hours.len() / 2]);
        let (open_hits, with_hits, awaiting): (i64, i64, i64) = db
            .query_row(
                "reading open hits",
                "SELECT coalesce(CAST(sum(open_hits) AS BIGINT), 0),
                        count(CASE WHEN open_hits > 0 THEN 1 END),
                        count(CASE WHEN pending_approval_by IS NOT NULL THEN 1 END)
                 FROM applications WHERE status IN ('submitted', 'in_review', 'info_requested')",
                &[],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?
            .ok_or(VaultError::NotFound("open hit counts"))?;
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
        let db = self.db();
        db.execute(
            "storing a risk assessment",
            "INSERT INTO risk_assessments (application_id, assessed_at, score, band,
                 recommendation, four_eyes, factors, rules)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (application_id) DO UPDATE SET assessed_at = excluded.assessed_at,
                 score = excluded.score, band = excluded.band,
                 recommendation = excluded.recommendation, four_eyes = excluded.four_eyes,
                 factors = excluded.factors, rules = excluded.rules",
            args![
                a.application_id,
                a.now_ms,
                a.score,
                a.band.as_str(),
                a.recommendation,
                a.four_eyes,
                a.factors_json,
                a.rules_json
            ],
        )?;
        db.execute(
            "storing a risk assessment",
            "UPDATE applications SET risk_score = ?2, risk_band = ?3 WHERE id = ?1",
            args![a.application_id, a.score, a.band.as_str()],
        )?;
        Ok(())
    }
    /// Assigns an application (to `assignee`, or nobody) if it is still at `version`.
    pub fn assign(&self, id: &str, version: i64, assignee: Option<&str>) -> Result<i64> {
        let n = self.db().execute(
            "assigning an application",
            "UPDATE applications SET assignee = ?3, version = version + 1
             WHERE id = ?1 AND version = ?2",
            args![id, version, assignee],
        )?;
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
        let n = self.db().execute(
            "recording an approval",
            "UPDATE applications SET pending_approval_by = ?3, version = version + 1
             WHERE id = ?1 AND version = ?2",
            args![id, version, by],
        )?;
        if n == 0 {
            return Err(VaultError::Conflict(
                "the application was changed by someone else meanwhile: reload it",
            ));
        }
        Ok(version + 1)
    }
    pub fn add_decision(&self, d: &NewDecision<'_>) -> Result<()> {
        let key = self
            .existing_record_key(d.application_id)?
            .ok_or(VaultError::NotFound("application"))?;
        let note = seal_text(&key, &decision_field(d.id), d.note)?;
        self.db().execute(
            "recording a decision",
            "INSERT INTO decisions (id, application_id, kind, reasons, note, actor, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            args![
                d.id,
                d.application_id,
                d.kind,
                d.reasons_json,
                note,
                d.actor,
                d.now_ms
            ],
        )?;
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
        self.db().execute(
            "storing a note",
            "INSERT INTO application_notes (id, application_id, author, at, body)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            args![id, application_id, author, at, &body],
        )?;
        Ok(())
    }
}
