//! Edits of a boarded merchant's details and their review (see migration 0012).

use domain::intake::{ApplicationForm, ApplicationStatus};
use serde::Serialize;

use crate::seal::Sealed;
use crate::sql::Row;
use crate::{args, Result, Tx, Vault, VaultError};

/// One recorded edit. `previous` (the sealed form before a material change) is not exposed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MerchantChange {
    pub id: String,
    pub application_id: String,
    /// The changed field paths (`bank.account_number`, `people[1]`), never their values.
    pub fields: Vec<String>,
    pub material: bool,
    /// `applied`, `pending`, `accepted` or `rejected`.
    pub state: String,
    pub requested_by: String,
    pub requested_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
}

/// A change to record.
pub struct NewChange<'a> {
    pub id: &'a str,
    pub application_id: &'a str,
    pub fields: &'a [String],
    /// The form before a material change (sealed here); `None` for a minor one.
    pub previous: Option<&'a ApplicationForm>,
    pub requested_by: &'a str,
    pub now_ms: i64,
}

fn change_from_row(r: &Row<'_>) -> Result<MerchantChange> {
    Ok(MerchantChange {
        id: r.get(0)?,
        application_id: r.get(1)?,
        fields: serde_json::from_str(&r.get::<String>(2)?).unwrap_or_default(),
        material: r.get::<i64>(3)? == 1,
        state: r.get(4)?,
        requested_by: r.get(5)?,
        requested_at: r.get(6)?,
        decided_by: r.get(7)?,
        decided_at: r.get(8)?,
    })
}

const COLUMNS: &str = "id, application_id, fields, material, state, requested_by, requested_at,
    decided_by, decided_at";

impl Vault {
    /// The merchant's change waiting for review, if any.
    pub fn pending_merchant_change(&self, application_id: &str) -> Result<Option<MerchantChange>> {
        self.db().query_row(
            "reading a merchant change",
            &format!(
                "SELECT {COLUMNS} FROM merchant_changes
                 WHERE application_id = ?1 AND state = 'pending'"
            ),
            args![application_id],
            change_from_row,
        )
    }

    /// The merchant's recorded edits, newest first.
    pub fn merchant_changes(&self, application_id: &str) -> Result<Vec<MerchantChange>> {
        // `rowid`: SQLite's own; the team schema has an identity column of that name.
        self.db().query_map(
            "reading merchant changes",
            &format!(
                "SELECT {COLUMNS} FROM merchant_changes WHERE application_id = ?1
                 ORDER BY requested_at DESC, rowid DESC"
            ),
            args![application_id],
            change_from_row,
        )
    }

    /// The form before a pending change (to put back on rejection, or to compare).
    pub fn merchant_change_previous(&self, change_id: &str) -> Result<ApplicationForm> {
        let (application_id, sealed): (String, Option<Sealed>) = self
            .db()
            .query_row(
                "reading a merchant change",
                "SELECT application_id, previous FROM merchant_changes WHERE id = ?1",
                args![change_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .ok_or(VaultError::NotFound("merchant change"))?;
        let sealed = sealed.ok_or(VaultError::NotFound("previous details"))?;
        let key = self
            .existing_record_key(&application_id)?
            .ok_or(VaultError::NotFound("application"))?;
        let json = key.open(&format!("merchant_change:{change_id}"), &sealed)?;
        serde_json::from_slice(&json).map_err(|_| VaultError::Conflict("damaged previous details"))
    }
}

/// Changes: only inside a unit of work ([`Vault::write`]).
impl Tx<'_> {
    /// Records an edit: `applied` when minor, `pending` (with the sealed previous form) when
    /// material — a conflict while another change of the merchant waits for review.
    pub fn record_merchant_change(&self, change: &NewChange<'_>) -> Result<()> {
        let previous = match change.previous {
            Some(form) => {
                let key = self
                    .existing_record_key(change.application_id)?
                    .ok_or(VaultError::NotFound("application"))?;
                let json = serde_json::to_vec(form)
                    .map_err(|_| VaultError::Conflict("a form that cannot be encoded"))?;
                Some(key.seal(&format!("merchant_change:{}", change.id), &json)?)
            }
            None => None,
        };
        if change.previous.is_some()
            && self
                .pending_merchant_change(change.application_id)?
                .is_some()
        {
            return Err(VaultError::Conflict(
                "another change of this merchant is waiting for review: accept or reject it first",
            ));
        }
        self.db().execute(
            "recording a merchant change",
            "INSERT INTO merchant_changes (id, application_id, fields, material, previous,
                 state, requested_by, requested_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            args![
                change.id,
                change.application_id,
                serde_json::to_string(change.fields).unwrap_or_else(|_| "[]".into()),
                i64::from(previous.is_some()),
                previous.as_ref(),
                if previous.is_some() {
                    "pending"
                } else {
                    "applied"
                },
                change.requested_by,
                change.now_ms,
            ],
        )?;
        Ok(())
    }
    /// Closes a pending change as `accepted` or `rejected` (a conflict if it is no longer
    /// pending: someone decided it meanwhile). The previous form is dropped either way.
    pub fn decide_merchant_change(
        &self,
        change_id: &str,
        state: &str,
        by: &str,
        now_ms: i64,
    ) -> Result<()> {
        if !matches!(state, "accepted" | "rejected") {
            return Err(VaultError::Conflict("a change is accepted or rejected"));
        }
        let n = self.db().execute(
            "deciding a merchant change",
            "UPDATE merchant_changes SET state = ?2, decided_by = ?3, decided_at = ?4,
                 previous = NULL
             WHERE id = ?1 AND state = 'pending'",
            args![change_id, state, by, now_ms],
        )?;
        if n == 0 {
            return Err(VaultError::Conflict(
                "the change was decided meanwhile: reload the merchant",
            ));
        }
        Ok(())
    }
    /// Replaces which platform person stands for which of our people (after an edit).
    pub fn set_merchant_persons(
        &self,
        application_id: &str,
        persons: &[(String, usize)],
    ) -> Result<()> {
        self.db().execute(
            "updating a merchant's persons",
            "UPDATE merchants SET persons = ?2 WHERE application_id = ?1",
            args![
                application_id,
                serde_json::to_string(persons).unwrap_or_else(|_| "[]".into())
            ],
        )?;
        Ok(())
    }
}

/// Changes: only inside a unit of work ([`Vault::write`]).
impl Tx<'_> {
    /// Replaces a boarded merchant's form (at `expected_version`), re-deriving its indexes.
    pub fn edit_boarded_application(
        &self,
        id: &str,
        expected_version: i64,
        form: &ApplicationForm,
        actor: &str,
        now_ms: i64,
    ) -> Result<i64> {
        self.replace_form(id, expected_version, form, actor, now_ms, |s| {
            (s == ApplicationStatus::Boarded)
                .then_some(())
                .ok_or("only a boarded merchant's details are edited here")
        })
    }
}
