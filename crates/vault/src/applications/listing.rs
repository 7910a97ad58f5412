//! The application list: filters, keyset pages (newest first) and a total that is exact for
//! the status filter alone and capped at [`COUNT_CAP`] otherwise.

use super::*;

/// Filters of the application list; all optional, combined with AND.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListFilter {
    pub status: Option<ApplicationStatus>,
    pub mcc: Option<String>,
    /// Created at or after (unix ms).
    pub created_from: Option<i64>,
    /// Created before (unix ms).
    pub created_to: Option<i64>,
    /// Prefix of the legal name or the DBA, any case.
    pub name_prefix: Option<String>,
    /// Exact EIN (normalised digits): looked up through its blind index.
    pub ein_digits: Option<String>,
}

/// Keyset cursor: the last row of the previous page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub created_at: i64,
    pub id: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub items: Vec<Summary>,
    /// How many match. Exact for the status filter alone (kept by triggers); with other
    /// filters it is counted up to [`COUNT_CAP`], and `total_exact` says whether it was reached.
    pub total: i64,
    pub total_exact: bool,
    pub next: Option<Cursor>,
}

/// Beyond this many matches a filtered list says "10,000+" instead of counting every row.
pub const COUNT_CAP: i64 = 10_000;

impl Vault {
    /// A page of applications, newest first, with the total matching the filter.
    pub fn list_applications(
        &self,
        filter: &ListFilter,
        limit: u32,
        after: Option<&Cursor>,
    ) -> Result<Page> {
        // Only fixed fragments go into the SQL; every value is a parameter.
        let mut clauses: Vec<&str> = Vec::new();
        let mut values: Vec<Value<'_>> = Vec::new();
        if let Some(status) = filter.status {
            clauses.push("status = ?");
            values.push(status.as_str().into());
        }
        if let Some(mcc) = &filter.mcc {
            clauses.push("mcc = ?");
            values.push(mcc.as_str().into());
        }
        if let Some(from) = filter.created_from {
            clauses.push("created_at >= ?");
            values.push(from.into());
        }
        if let Some(to) = filter.created_to {
            clauses.push("created_at < ?");
            values.push(to.into());
        }
        if let Some(prefix) = filter.name_prefix.as_deref().map(search_key) {
            if !prefix.is_empty() {
                clauses.push(
                    "((legal_name_key >= ? AND legal_name_key < ?) OR (dba_key >= ? AND dba_key < ?))",
                );
                let end = format!("{prefix}\u{10FFFF}");
                values.extend([
                    Value::from(prefix.clone()),
                    Value::from(end.clone()),
                    Value::from(prefix),
                    Value::from(end),
                ]);
            }
        }
        if let Some(ein) = &filter.ein_digits {
            clauses.push(
                "id IN (SELECT application_id FROM blind_indexes WHERE kind = 'ein' AND digest = ?)",
            );
            values.push(Value::from(
                self.blind_index(IndexKind::Ein.as_str(), ein)?.to_vec(),
            ));
        }
        let filter_sql = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let db = self.db();
        let status_only = filter.mcc.is_none()
            && filter.created_from.is_none()
            && filter.created_to.is_none()
            && filter.ein_digits.is_none()
            && filter
                .name_prefix
                .as_deref()
                .is_none_or(|p| search_key(p).is_empty());
        let (total, total_exact) = if status_only {
            let n: i64 = db
                .query_value(
                    "counting applications",
                    "SELECT CAST(coalesce(sum(n), 0) AS BIGINT) FROM application_counts
                     WHERE CAST(?1 AS TEXT) IS NULL OR status = ?1",
                    args![filter.status.map(ApplicationStatus::as_str)],
                )?
                .unwrap_or(0);
            (n, true)
        } else {
            let n: i64 = db
                .query_value(
                    "counting applications",
                    &format!(
                        "SELECT count(*) FROM (SELECT 1 FROM applications {filter_sql} LIMIT {}) AS capped",
                        COUNT_CAP + 1
                    ),
                    &values,
                )?
                .unwrap_or(0);
            (n.min(COUNT_CAP), n <= COUNT_CAP)
        };

        let mut page_values = values;
        if let Some(c) = after {
            clauses.push("(created_at, id) < (?, ?)");
            page_values.push(c.created_at.into());
            page_values.push(c.id.as_str().into());
        }
        let page_filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let limit = limit.clamp(1, 200);
        page_values.push(i64::from(limit).into());
        let items: Vec<Summary> = db.query_map(
            "listing applications",
            &format!(
                "SELECT {SUMMARY_COLUMNS} FROM applications {page_filter}
                 ORDER BY created_at DESC, id DESC LIMIT ?"
            ),
            &page_values,
            summary_from_row,
        )?;
        let next = (items.len() == limit as usize)
            .then(|| items.last())
            .flatten()
            .map(|s| Cursor {
                created_at: s.created_at,
                id: s.id.clone(),
            });
        Ok(Page {
            items,
            total,
            total_exact,
            next,
        })
    }
}
