//! Use cases of the Audit page (admins and auditors) and key rotation (admins).

use serde::Serialize;
use time::OffsetDateTime;
use vault::audit::Outcome;
pub use vault::audit::{Entry, Report};

use crate::session::{Access, SessionSlot};
use crate::Result;

#[derive(Debug, Clone, Serialize)]
pub struct AuditPage {
    pub entries: Vec<Entry>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_before: Option<i64>,
}

pub fn verify_audit(slot: &mut SessionSlot) -> Result<Report> {
    let session = slot.require(Access::Oversight, "audit.verify")?;
    let report = session.vault().verify_audit()?;
    let outcome = if report.intact {
        Outcome::Ok
    } else {
        Outcome::Failed
    };
    session.audit("audit.verify", None, outcome, report.problem.as_deref())?;
    Ok(report)
}

pub fn list_audit(slot: &mut SessionSlot, before: Option<i64>, limit: u32) -> Result<AuditPage> {
    let session = slot.require(Access::Oversight, "audit.list")?;
    let limit = limit.clamp(1, 500);
    let entries = session.vault().audit_entries(limit, before)?;
    let next_before = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    Ok(AuditPage {
        entries,
        next_before,
    })
}

pub fn rotate_key(slot: &mut SessionSlot) -> Result<()> {
    let session = slot.require(Access::Admin, "vault.rotate_key")?;
    let actor = session.username().to_string();
    session
        .vault()
        .rotate_db_key(&actor, OffsetDateTime::now_utc())?;
    Ok(())
}
