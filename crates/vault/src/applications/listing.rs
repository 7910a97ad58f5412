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

/// The cursor after a full page (`None` after a short one: the list ends there).
fn next_cursor(items: &[Summary], limit: usize) -> Option<Cursor> {
    (items.len() == limit)
        .then(|| items.last())
        .flatten()
        .map(|s| Cursor {
            created_at: s.created_at,
            id: s.id.clone(),
        })
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
        // Only fixed fragments go into the SQL; every value is a parameter (numbered, so the
        // count can read the same values from another table).
        let mut clauses: Vec<String> = Vec::new();
        let mut values: Vec<Value<'_>> = Vec::new();
        fn at<'v>(values: &mut Vec<Value<'v>>, v: impl Into<Value<'v>>) -> String {
            values.push(v.into());
            format!("?{}", values.len())
        }
        if let Some(status) = filter.status {
            clauses.push(format!("status = {}", at(&mut values, status.as_str())));
        }
        if let Some(mcc) = &filter.mcc {
            clauses.push(format!("mcc = {}", at(&mut values, mcc.as_str())));
        }
        if let Some(from) = filter.created_from {
            clauses.push(format!("created_at >= {}", at(&mut values, from)));
        }
        if let Some(to) = filter.created_to {
            clauses.push(format!("created_at < {}", at(&mut values, to)));
        }
        if let Some(ein) = &filter.ein_digits {
            let digest = self.blind_index(IndexKind::Ein.as_str(), ein)?.to_vec();
            clauses.push(format!(
                "id IN (SELECT application_id FROM blind_indexes WHERE kind = 'ein' AND digest = {})",
                at(&mut values, digest)
            ));
        }
        let names = match filter.name_prefix.as_deref() {
            Some(text) => self.name_query(text)?,
            None => None,
        };
        let name_sql = names
            .as_ref()
            .map(|q| q.clauses("applications.id", |token| at(&mut values, token)));
        let where_of = |clauses: &[String]| {
            if clauses.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", clauses.join(" AND "))
            }
        };
        // With a name search, counted from the rarest token's rows (see `NameClauses`).
        let (count_from, count_where) = match &name_sql {
            Some(sql) => {
                let (from, conditions) = sql.count(&clauses);
                (from, format!("WHERE {conditions}"))
            }
            None => ("applications", where_of(&clauses)),
        };
        if let Some(sql) = &name_sql {
            clauses.push(sql.page.clone());
        }
        let db = self.db();
        let status_only = filter.mcc.is_none()
            && filter.created_from.is_none()
            && filter.created_to.is_none()
            && filter.ein_digits.is_none()
            && names.is_none();
        if let Some(q) = names.as_ref().filter(|q| !q.exact) {
            return self.list_compared(q, &clauses, values, limit, after);
        }
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
                        "SELECT count(*) FROM (SELECT 1 FROM {count_from} {count_where} LIMIT {}) AS capped",
                        COUNT_CAP + 1
                    ),
                    &values,
                )?
                .unwrap_or(0);
            (n.min(COUNT_CAP), n <= COUNT_CAP)
        };

        let mut page_values = values;
        if let Some(c) = after {
            let created = at(&mut page_values, c.created_at);
            let id = at(&mut page_values, c.id.as_str());
            clauses.push(format!("(created_at, id) < ({created}, {id})"));
        }
        let page_filter = where_of(&clauses);
        let limit = limit.clamp(1, 200);
        let limit_at = at(&mut page_values, i64::from(limit));
        let rows = db.query_map(
            "listing applications",
            &format!(
                "SELECT {SUMMARY_COLUMNS} FROM applications {page_filter}
                 ORDER BY created_at DESC, id DESC LIMIT {limit_at}"
            ),
            &page_values,
            summary_from_row,
        )?;
        let items = self.named(rows)?;
        Ok(Page {
            next: next_cursor(&items, limit as usize),
            items,
            total,
            total_exact,
        })
    }

    /// The summaries of `rows` with their names opened.
    pub(crate) fn named(&self, rows: Vec<(Summary, Option<Sealed>)>) -> Result<Vec<Summary>> {
        self.with_names(
            rows,
            |s| &s.id,
            |s, n| (s.legal_name, s.dba) = (n.legal_name, n.dba),
        )
    }

    /// The list when the name tokens do not decide (a word of more than 8 characters): up
    /// to [`COUNT_CAP`] + 1 rows the tokens found, newest first, their names opened and
    /// compared; the total counts what compared equal, exact unless the cap was reached.
    fn list_compared(
        &self,
        query: &NameQuery,
        clauses: &[String],
        mut values: Vec<Value<'_>>,
        limit: u32,
        after: Option<&Cursor>,
    ) -> Result<Page> {
        values.push((COUNT_CAP + 1).into());
        let rows = self.db().query_map(
            "listing applications",
            &format!(
                "SELECT {SUMMARY_COLUMNS} FROM applications WHERE {}
                 ORDER BY created_at DESC, id DESC LIMIT ?{}",
                clauses.join(" AND "),
                values.len()
            ),
            &values,
            summary_from_row,
        )?;
        let capped = rows.len() as i64 > COUNT_CAP;
        let matching: Vec<Summary> = self
            .named(rows)?
            .into_iter()
            .filter(|s| query.matches(&s.legal_name, &s.dba))
            .collect();
        let total = (matching.len() as i64).min(COUNT_CAP);
        let limit = limit.clamp(1, 200) as usize;
        let items: Vec<Summary> = matching
            .into_iter()
            .filter(|s| {
                after.is_none_or(|c| (s.created_at, s.id.as_str()) < (c.created_at, c.id.as_str()))
            })
            .take(limit)
            .collect();
        Ok(Page {
            next: next_cursor(&items, limit),
            items,
            total,
            total_exact: !capped,
        })
    }
}
