//! Use cases of the Audit page (admins and auditors) and key rotation (admins).

pub use crate::views::{AuditCheckpoint as Checkpoint, AuditEntry as Entry, AuditReport as Report};
use std::path::Path;

use serde::Serialize;
use time::OffsetDateTime;
use vault::audit::Outcome;

use crate::session::{Access, SessionSlot};
use crate::Result;

#[derive(Debug, Clone, Serialize)]
pub struct AuditPage {
    pub entries: Vec<Entry>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_before: Option<i64>,
}

/// Use case (admins, auditors): checks the chain, every signature, the vault's own signed
/// checkpoints and, when given, a file of checkpoints kept elsewhere (beside a backup, or one
/// an auditor exported): the report names the first entry that does not hold.
pub fn verify_audit(slot: &mut SessionSlot, checkpoints: Option<&Path>) -> Result<Report> {
    slot.require(Access::Oversight, "audit.verify")?;
    let extra = match checkpoints {
        None => Vec::new(),
        Some(path) if path.as_os_str().is_empty() => Vec::new(),
        Some(path) if !path.is_file() => {
            return Err(crate::Error::invalid_input(
                "checkpoints",
                "is not a file of audit checkpoints",
            ))
        }
        Some(path) => vault::checkpoint::read_file(path)?,
    };
    let session = slot.require(Access::Oversight, "audit.verify")?;
    let report = session.vault().verify_audit_with(&extra)?;
    let outcome = if report.intact {
        Outcome::Ok
    } else {
        Outcome::Failed
    };
    session.audit("audit.verify", None, outcome, report.problem.as_deref())?;
    Ok(report.into())
}

/// Use case (admins, auditors): the signed checkpoints the vault keeps, newest first.
pub fn list_checkpoints(slot: &mut SessionSlot) -> Result<Vec<Checkpoint>> {
    let session = slot.require(Access::Oversight, "audit.checkpoints")?;
    Ok(crate::views::all(session.vault().checkpoints()?))
}

/// Use case (admins, auditors): signs a checkpoint of the log as it stands now (with an
/// `audit.checkpoint` entry it covers) and returns it as a one-line file to keep away from the
/// data folder: `audit verify` given that file later names any entry removed or replaced.
pub fn sign_checkpoint(slot: &mut SessionSlot) -> Result<(Checkpoint, Export)> {
    let session = slot.require(Access::Oversight, "audit.checkpoint")?;
    let signed = session
        .vault()
        .sign_checkpoint(session.username(), OffsetDateTime::now_utc())?;
    let line = serde_json::to_string(&signed)
        .map_err(|_| crate::Error::internal("the checkpoint could not be written"))?;
    let export = Export {
        file_name: format!("audit-checkpoint-{}.jsonl", signed.seq),
        rows: 1,
        content: (line + "\n").into_bytes(),
    };
    Ok((signed.into(), export))
}

pub fn list_audit(slot: &mut SessionSlot, before: Option<i64>, limit: u32) -> Result<AuditPage> {
    let session = slot.require(Access::Oversight, "audit.list")?;
    let limit = limit.clamp(1, 500);
    let entries: Vec<Entry> = crate::views::all(session.vault().audit_entries(limit, before)?);
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

/// A file an export produced: its suggested name and content.
#[derive(Debug, Clone, Serialize)]
pub struct Export {
    pub file_name: String,
    pub rows: usize,
    #[serde(skip)]
    pub content: Vec<u8>,
}

/// A CSV cell a spreadsheet will not run as a formula (`=`, `+`, `-`, `@` lead with a quote).
/// Text made safe for an HTML export.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub fn csv_cell(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// A date `YYYY-MM-DD` for an export range.
fn export_date(field: &str, text: &str) -> Result<time::Date> {
    time::Date::parse(
        text.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| crate::Error::invalid_input(field, "must be a date YYYY-MM-DD"))
}

/// Use case (admins and auditors): the audit log between two dates (inclusive, UTC) as CSV or
/// JSON, oldest first. Audit entries never hold KYC values, so the file holds none either.
/// Audited (`audit.export`, with the range and the row count).
pub fn export_audit(slot: &mut SessionSlot, from: &str, to: &str, format: &str) -> Result<Export> {
    // The session and role first, before any of the input is looked at.
    slot.require(Access::Oversight, "audit.export")?;
    let from_date = export_date("from", from)?;
    let to_date = export_date("to", to)?;
    if to_date < from_date {
        return Err(crate::Error::invalid_input("to", "must not be before from"));
    }
    if !matches!(format, "csv" | "json") {
        return Err(crate::Error::invalid_input("format", "must be csv or json"));
    }
    let session = slot.require(Access::Oversight, "audit.export")?;
    // RFC 3339 UTC timestamps compare as text.
    let rows = session.vault().audit_between(
        &format!("{from_date}T00:00:00"),
        &format!("{}T00:00:00", to_date.next_day().unwrap_or(to_date)),
    )?;
    let content = if format == "json" {
        serde_json::to_vec_pretty(&rows).map_err(|e| crate::Error::internal(e.to_string()))?
    } else {
        let mut w = csv::Writer::from_writer(Vec::new());
        let fail = |e: csv::Error| crate::Error::internal(e.to_string());
        w.write_record([
            "seq",
            "at",
            "actor",
            "action",
            "target",
            "outcome",
            "detail",
            "signed_by",
        ])
        .map_err(fail)?;
        for e in &rows {
            let seq = e.seq.to_string();
            w.write_record([
                seq.as_str(),
                &e.at,
                &csv_cell(&e.actor),
                &e.action,
                &csv_cell(e.target.as_deref().unwrap_or("")),
                &e.outcome,
                &csv_cell(e.detail.as_deref().unwrap_or("")),
                &csv_cell(e.signed_by.as_deref().unwrap_or("")),
            ])
            .map_err(fail)?;
        }
        w.into_inner()
            .map_err(|e| crate::Error::internal(e.to_string()))?
    };
    session.audit(
        "audit.export",
        None,
        Outcome::Ok,
        Some(&format!(
            "{from_date}..{to_date}: {} entries as {format}",
            rows.len()
        )),
    )?;
    Ok(Export {
        file_name: format!("audit-{from_date}-{to_date}.{format}"),
        rows: rows.len(),
        content,
    })
}

/// Writes an export into `<data folder>/exports/` (folder 0700, file 0600) and returns where.
pub fn save_export(dir: &crate::DataDir, export: &Export) -> Result<std::path::PathBuf> {
    let folder = dir.path().join("exports");
    let fail = |_| crate::Error::invalid_input("file", "the export could not be written");
    std::fs::create_dir_all(&folder).map_err(fail)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700)).map_err(fail)?;
    }
    let path = folder.join(&export.file_name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    options
        .open(&path)
        .and_then(|mut f| f.write_all(&export.content))
        .map_err(fail)?;
    Ok(path)
}
