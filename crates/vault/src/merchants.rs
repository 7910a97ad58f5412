//! Boarded merchants: what the platform last said about each account, our status of it with
//! the reason of its last change, its review flag and our processing limits.

use domain::merchant::{MerchantStatus, ReviewFlag};
use domain::review::RiskBand;
use serde::{Deserialize, Serialize};

use crate::sql::{Row, Value};
use crate::{args, Result, Tx, Vault, VaultError};

/// A boarded merchant as the platform last described it.
#[derive(Debug, Clone, Serialize)]
pub struct Merchant {
    pub application_id: String,
    pub legal_name: String,
    pub account_id: String,
    pub status: MerchantStatus,
    pub charges_enabled: bool,
    pub payouts_enabled: bool,
    /// The platform's `requirements` object (names and codes only).
    pub requirements: serde_json::Value,
    pub capabilities: serde_json::Value,
    pub persons: Vec<(String, usize)>,
    pub open_requirements: i64,
    pub boarded_at: i64,
    pub synced_at: Option<i64>,
    /// Why the merchant is flagged for review (`sanctions_hit`), and since when.
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

/// Filters of the Merchants page.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MerchantFilter {
    #[serde(default)]
    pub status: Option<MerchantStatus>,
    #[serde(default)]
    pub name_prefix: Option<String>,
    #[serde(default)]
    pub in_review: bool,
}

const MERCHANT_COLUMNS: &str = "m.application_id, a.legal_name, m.account_id, m.status,
    m.charges_enabled, m.payouts_enabled, m.requirements, m.capabilities, m.persons,
    m.open_requirements, m.boarded_at, m.synced_at, m.review_reason, m.review_since,
    m.status_reason, m.status_changed_at, m.status_changed_by, m.monthly_cap_cents,
    m.max_ticket_cents, r.score, r.band, a.names";
const MERCHANT_FROM: &str = "FROM merchants m JOIN applications a ON a.id = m.application_id
    LEFT JOIN risk_assessments r ON r.application_id = m.application_id";

/// A merchant with its names still sealed (column 21).
fn merchant_from_row(r: &Row<'_>) -> Result<(Merchant, Option<crate::seal::Sealed>)> {
    let json = |i: usize| -> Result<serde_json::Value> {
        Ok(serde_json::from_str(&r.get::<String>(i)?).unwrap_or_default())
    };
    let merchant = Merchant {
        application_id: r.get(0)?,
        legal_name: r.get(1)?,
        account_id: r.get(2)?,
        status: r.parsed(3, MerchantStatus::parse)?,
        charges_enabled: r.get(4)?,
        payouts_enabled: r.get(5)?,
        requirements: json(6)?,
        capabilities: json(7)?,
        persons: serde_json::from_str(&r.get::<String>(8)?).unwrap_or_default(),
        open_requirements: r.get(9)?,
        boarded_at: r.get(10)?,
        synced_at: r.get(11)?,
        review_reason: r.parsed_opt(12, ReviewFlag::parse)?,
        review_since: r.get(13)?,
        status_reason: r.get(14)?,
        status_changed_at: r.get(15)?,
        status_changed_by: r.get(16)?,
        monthly_cap_cents: r.get(17)?,
        max_ticket_cents: r.get(18)?,
        risk_score: r.get(19)?,
        risk_band: r.parsed_opt(20, RiskBand::parse)?,
    };
    Ok((merchant, r.get(21)?))
}

impl Vault {
    pub fn merchant(&self, application_id: &str) -> Result<Option<Merchant>> {
        Ok(self
            .merchants_where("m.application_id = ?1", application_id.into(), 1)?
            .pop())
    }

    /// Merchants, the ones with open requirements first.
    pub fn merchants(&self, limit: u32) -> Result<Vec<Merchant>> {
        self.merchants_where("CAST(?1 AS TEXT) IS NOT NULL", "".into(), limit)
    }

    /// Merchants whose platform status is worth refreshing (open requirements, or not synced
    /// since `before_ms`), oldest sync first.
    pub fn merchants_to_sync(&self, before_ms: i64, limit: u32) -> Result<Vec<Merchant>> {
        self.merchants_where(
            "(m.open_requirements > 0 OR lower(m.capabilities) LIKE '%pending%')
                 AND COALESCE(m.synced_at, 0) < ?1 AND a.erased_at IS NULL",
            before_ms.into(),
            limit,
        )
    }

    /// How many merchants are flagged for review.
    pub fn merchants_in_review(&self) -> Result<i64> {
        Ok(self
            .db()
            .query_value::<i64>(
                "counting merchants in review",
                "SELECT count(*) FROM merchants WHERE review_reason IS NOT NULL",
                &[],
            )?
            .unwrap_or(0))
    }

    /// `arg` is bound as `?1` of `filter`, with its own type (an id, a time).
    fn merchants_where(&self, filter: &str, arg: Value<'_>, limit: u32) -> Result<Vec<Merchant>> {
        let rows = self.db().query_map(
            "reading merchants",
            &format!(
                "SELECT {MERCHANT_COLUMNS} {MERCHANT_FROM}
                 WHERE {filter}
                 ORDER BY m.review_reason IS NOT NULL DESC, m.open_requirements > 0 DESC, COALESCE(m.synced_at, 0), m.application_id
                 LIMIT ?2"
            ),
            args![arg, limit],
            merchant_from_row,
        )?;
        self.named_merchants(rows)
    }

    fn named_merchants(
        &self,
        rows: Vec<(Merchant, Option<crate::seal::Sealed>)>,
    ) -> Result<Vec<Merchant>> {
        self.with_names(
            rows,
            |m| &m.application_id,
            |m, n| m.legal_name = n.legal_name,
        )
    }

    /// A page of merchants for the Merchants page: filtered by status, "flagged for review" and
    /// a name search; flagged first, then the newest boarded. Returns the page and the total.
    pub fn merchants_page(
        &self,
        filter: &MerchantFilter,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<Merchant>, i64)> {
        // Numbered placeholders (`?N`), so the statement reads the same on PostgreSQL.
        let mut clauses = vec!["1 = 1".to_string()];
        let mut values: Vec<Value<'_>> = Vec::new();
        if let Some(status) = &filter.status {
            values.push(status.as_str().into());
            clauses.push(format!("m.status = ?{}", values.len()));
        }
        if filter.in_review {
            clauses.push("m.review_reason IS NOT NULL".into());
        }
        let names = match filter.name_prefix.as_deref() {
            Some(text) => self.name_query(text)?,
            None => None,
        };
        if let Some(q) = &names {
            let sql = q.clauses("m.application_id", |token| {
                values.push(token.into());
                format!("?{}", values.len())
            });
            clauses.push(sql.page);
        }
        let filter_sql = clauses.join(" AND ");
        let db = self.db();
        // Names are sealed: the store cannot sort by them. Flagged first, then newest boarded.
        let order =
            "ORDER BY m.review_reason IS NOT NULL DESC, m.boarded_at DESC, m.application_id";
        if let Some(q) = names.as_ref().filter(|q| !q.exact) {
            let cap = crate::applications::COUNT_CAP;
            let mut capped = values.clone();
            capped.push((cap + 1).into());
            let rows = db.query_map(
                "reading merchants",
                &format!(
                    "SELECT {MERCHANT_COLUMNS} {MERCHANT_FROM} WHERE {filter_sql} {order}
                     LIMIT ?{}",
                    capped.len()
                ),
                &capped,
                merchant_from_row,
            )?;
            let matching: Vec<Merchant> = self
                .named_merchants(rows)?
                .into_iter()
                .filter(|m| q.matches(&m.legal_name, ""))
                .collect();
            let total = matching.len() as i64;
            let page = matching
                .into_iter()
                .skip(offset as usize)
                .take(limit.clamp(1, 200) as usize)
                .collect();
            return Ok((page, total));
        }
        let total: i64 = db
            .query_value(
                "counting merchants",
                &format!("SELECT count(*) {MERCHANT_FROM} WHERE {filter_sql}"),
                &values,
            )?
            .unwrap_or(0);
        let mut paged = values.clone();
        paged.push(i64::from(limit.clamp(1, 200)).into());
        paged.push(i64::from(offset).into());
        let (limit_at, offset_at) = (values.len() + 1, values.len() + 2);
        let rows = db.query_map(
            "reading merchants",
            &format!(
                "SELECT {MERCHANT_COLUMNS} {MERCHANT_FROM} WHERE {filter_sql} {order}
                 LIMIT ?{limit_at} OFFSET ?{offset_at}"
            ),
            &paged,
            merchant_from_row,
        )?;
        Ok((self.named_merchants(rows)?, total))
    }
}

/// Changes: only inside a unit of work ([`Vault::write`]).
impl Tx<'_> {
    /// Records a boarded merchant (or refreshes what the platform says about it).
    #[allow(clippy::too_many_arguments)]
    pub fn upsert_merchant(
        &self,
        application_id: &str,
        account_id: &str,
        charges_enabled: bool,
        payouts_enabled: bool,
        requirements: &serde_json::Value,
        capabilities: &serde_json::Value,
        persons: &[(String, usize)],
        open_requirements: i64,
        now_ms: i64,
    ) -> Result<()> {
        self.db().execute(
            "recording a merchant",
            "INSERT INTO merchants (application_id, account_id, charges_enabled,
                 payouts_enabled, requirements, capabilities, persons, open_requirements,
                 boarded_at, synced_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
             ON CONFLICT (application_id) DO UPDATE SET charges_enabled = excluded.charges_enabled,
                 payouts_enabled = excluded.payouts_enabled,
                 requirements = excluded.requirements, capabilities = excluded.capabilities,
                 open_requirements = excluded.open_requirements, synced_at = excluded.synced_at",
            args![
                application_id,
                account_id,
                charges_enabled,
                payouts_enabled,
                requirements.to_string(),
                capabilities.to_string(),
                serde_json::to_string(persons).unwrap_or_else(|_| "[]".into()),
                open_requirements,
                now_ms
            ],
        )?;
        Ok(())
    }
    /// Flags a boarded merchant for review with `reason`, keeping the first flag's time (no-op
    /// for an application that is not a merchant, or one already flagged for that reason).
    /// Returns whether anything changed.
    pub fn flag_merchant_for_review(
        &self,
        application_id: &str,
        reason: ReviewFlag,
        now_ms: i64,
    ) -> Result<bool> {
        let n = self.db().execute(
            "flagging a merchant for review",
            "UPDATE merchants SET review_reason = ?2, review_since = COALESCE(review_since, ?3)
             WHERE application_id = ?1 AND (review_reason IS NULL OR review_reason <> ?2)",
            args![application_id, reason.as_str(), now_ms],
        )?;
        Ok(n == 1)
    }
    /// Moves a merchant from `from` to `to` (a conflict if someone changed it meanwhile).
    pub fn set_merchant_status(
        &self,
        application_id: &str,
        from: MerchantStatus,
        to: MerchantStatus,
        reason: &str,
        actor: &str,
        now_ms: i64,
    ) -> Result<()> {
        let n = self.db().execute(
            "changing a merchant's status",
            "UPDATE merchants SET status = ?3, status_reason = ?4, status_changed_at = ?5,
                 status_changed_by = ?6
             WHERE application_id = ?1 AND status = ?2",
            args![
                application_id,
                from.as_str(),
                to.as_str(),
                reason,
                now_ms,
                actor
            ],
        )?;
        if n == 0 {
            return Err(VaultError::Conflict(
                "the merchant changed meanwhile: reload and try again",
            ));
        }
        Ok(())
    }
    /// Sets our processing limits (cents; `None` for no limit).
    pub fn set_merchant_limits(
        &self,
        application_id: &str,
        monthly_cap_cents: Option<i64>,
        max_ticket_cents: Option<i64>,
    ) -> Result<()> {
        let n = self.db().execute(
            "setting a merchant's limits",
            "UPDATE merchants SET monthly_cap_cents = ?2, max_ticket_cents = ?3
             WHERE application_id = ?1",
            args![application_id, monthly_cap_cents, max_ticket_cents],
        )?;
        if n == 0 {
            return Err(VaultError::NotFound("merchant"));
        }
        Ok(())
    }
    /// Clears a merchant's review flag; returns whether one was set.
    pub fn clear_merchant_review(&self, application_id: &str) -> Result<bool> {
        let n = self.db().execute(
            "clearing a merchant's review flag",
            "UPDATE merchants SET review_reason = NULL, review_since = NULL
             WHERE application_id = ?1 AND review_reason IS NOT NULL",
            args![application_id],
        )?;
        Ok(n == 1)
    }
}
