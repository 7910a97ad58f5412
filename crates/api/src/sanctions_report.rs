//! Sanctions reports: for every hit confirmed as a true match, the record a compliance officer
//! files with the regulator (OFAC: a report of blocked or rejected dealings within 10 business
//! days). Who — the person or business as we hold it; which list entry — list, entity id,
//! programs, the entry's names, dates and places of birth, identifiers, remarks; what we did and
//! when — declined or suspended/terminated, by whom; and the due date.
//!
//! Admins and auditors only (it holds KYC values); every export is audited without them.

use serde::Serialize;
use time::{Date, OffsetDateTime, Weekday};
use vault::audit::Outcome;
use vault::Vault;

use crate::audit_log::escape;
use crate::audit_log::Export;
use crate::session::{Access, SessionSlot};
use crate::Result;

/// Business days a report is due in, from the day the match was confirmed.
pub const DUE_BUSINESS_DAYS: u32 = 10;

/// One confirmed match, ready to file.
#[derive(Debug, Clone, Serialize)]
pub struct SanctionsReport {
    pub application_id: String,
    pub hit_id: String,
    /// Who: the subject's path in the form (`people[0]`, `business`), the name, date of birth
    /// and address as we hold them, and the business it belongs to.
    pub subject: serde_json::Value,
    /// Which list entry: `sdn:10278`, the list, the entity number, programs, names (with
    /// aliases), dates and places of birth, addresses, countries, identifiers, remarks.
    pub list_uid: String,
    pub entry: Option<serde_json::Value>,
    pub score: f64,
    pub confirmed_by: Option<String>,
    pub confirmed_at: Option<i64>,
    pub confirmation_note: Option<String>,
    /// What we did: the decline (kind, reasons, by, at) and the merchant's status changes.
    pub actions: Vec<serde_json::Value>,
    /// The confirmation date plus [`DUE_BUSINESS_DAYS`] weekdays (`YYYY-MM-DD`). Federal
    /// holidays are not counted out: file earlier when one falls in between.
    pub due: Option<String>,
}

/// `from` plus `days` weekdays.
pub fn add_business_days(from: Date, days: u32) -> Date {
    let mut d = from;
    let mut left = days;
    while left > 0 {
        d = d.next_day().unwrap_or(d);
        if !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) {
            left -= 1;
        }
    }
    d
}

fn reports_of(vault: &Vault, id: &str) -> Result<Vec<SanctionsReport>> {
    let stored = vault.application(id).ok();
    let summary = vault.application_summary(id)?;
    let decisions = vault.decisions(id)?;
    let merchant = vault.merchant(id)?;
    let mut actions: Vec<serde_json::Value> = decisions
        .iter()
        .filter(|d| d.kind == "decline" || d.kind == "request_info")
        .map(|d| {
            serde_json::json!({
                "what": d.kind, "reasons": d.reasons, "by": d.actor, "at": d.at,
            })
        })
        .collect();
    if let Some(m) = &merchant {
        actions.push(serde_json::json!({
            "what": format!("merchant {}", m.status),
            "reasons": m.status_reason,
            "by": m.status_changed_by,
            "at": m.status_changed_at,
        }));
    }
    let hits = crate::checks::hits_with_entries(vault, id)?;
    Ok(hits
        .into_iter()
        .filter(|h| h.disposition.as_deref() == Some("true_match"))
        .map(|h| {
            let subject = stored.as_ref().map_or(serde_json::Value::Null, |s| {
                subject_as_held(&s.form, &h.subject)
            });
            let due = h.disposed_at.and_then(|ms| {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                    .ok()
                    .map(|t| add_business_days(t.date(), DUE_BUSINESS_DAYS).to_string())
            });
            SanctionsReport {
                application_id: id.to_string(),
                hit_id: h.id,
                subject: serde_json::json!({
                    "path": h.subject,
                    "business": summary.legal_name,
                    "as_held": subject,
                }),
                list_uid: h.list_uid,
                entry: h.entry,
                score: h.score,
                confirmed_by: h.disposed_by,
                confirmed_at: h.disposed_at,
                confirmation_note: h.disposition_note,
                actions: actions.clone(),
                due,
            }
        })
        .collect())
}

/// The screened subject at `path` as the form holds it: a person's name, date of birth,
/// nationality and address, or the business's names, tax id and address.
fn subject_as_held(form: &domain::intake::ApplicationForm, path: &str) -> serde_json::Value {
    let index = path
        .strip_prefix("people[")
        .and_then(|r| r.split(']').next())
        .and_then(|n| n.parse::<usize>().ok());
    match index.and_then(|i| form.people.get(i)) {
        Some(p) => serde_json::json!({
            "first_name": p.first_name,
            "last_name": p.last_name,
            "dob": p.dob,
            "passport_country": p.passport_country,
            "address": p.address,
            "title": p.title,
        }),
        None => serde_json::json!({
            "legal_name": form.business.legal_name,
            "dba": form.business.dba,
            "ein": form.business.ein,
            "address": form.business.address,
        }),
    }
}

/// Use case (admins, auditors): every confirmed match's report.
pub fn reports(slot: &mut SessionSlot) -> Result<Vec<SanctionsReport>> {
    let session = slot.require(Access::Oversight, "sanctions.reports")?;
    let vault = session.vault();
    let mut out = Vec::new();
    for id in vault.applications_with_confirmed_matches()? {
        out.extend(reports_of(vault, &id)?);
    }
    Ok(out)
}

/// The reports as two files to file: JSON (every field) and an escaped HTML page.
#[derive(Debug, Clone, Serialize)]
pub struct ReportExport {
    pub reports: usize,
    pub json: Export,
    pub html: Export,
}

/// Use case (admins, auditors): export every confirmed match's report (or one application's),
/// audited with the count, never the names.
pub fn export(slot: &mut SessionSlot, application_id: Option<&str>) -> Result<ReportExport> {
    let session = slot.require(Access::Oversight, "sanctions.report_export")?;
    let vault = session.vault();
    let ids = match application_id {
        Some(id) => {
            vault.application_summary(id)?;
            vec![id.to_string()]
        }
        None => vault.applications_with_confirmed_matches()?,
    };
    let mut reports = Vec::new();
    for id in &ids {
        reports.extend(reports_of(vault, id)?);
    }
    let now = OffsetDateTime::now_utc();
    let doc = serde_json::json!({
        "generated_at": now.to_string(),
        "generated_by": session.username(),
        "due_business_days": DUE_BUSINESS_DAYS,
        "reports": reports,
    });
    let json =
        serde_json::to_vec_pretty(&doc).map_err(|e| crate::Error::internal(e.to_string()))?;
    let html = html(&reports, session.username(), now);
    session.audit(
        "sanctions.report_export",
        application_id,
        Outcome::Ok,
        Some(&format!("{} report(s)", reports.len())),
    )?;
    let stamp = now.date();
    let tag = application_id.unwrap_or("all");
    Ok(ReportExport {
        reports: reports.len(),
        json: Export {
            file_name: format!("sanctions-report-{stamp}-{tag}.json"),
            rows: reports.len(),
            content: json,
        },
        html: Export {
            file_name: format!("sanctions-report-{stamp}-{tag}.html"),
            rows: reports.len(),
            content: html.into_bytes(),
        },
    })
}

fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        serde_json::Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join("; "),
        serde_json::Value::Object(m) => m
            .values()
            .map(text)
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

fn html(reports: &[SanctionsReport], by: &str, now: OffsetDateTime) -> String {
    let mut h = String::from(
        "<!doctype html><meta charset=\"utf-8\"><title>Sanctions reports</title>\
         <h1>Sanctions reports: confirmed matches</h1>",
    );
    h.push_str(&format!(
        "<p>Generated {} by {}. Each report is due within {DUE_BUSINESS_DAYS} business days of the confirmation. The JSON file beside this one holds every field.</p>",
        escape(&now.date().to_string()),
        escape(by)
    ));
    for r in reports {
        let e = r.entry.clone().unwrap_or_default();
        let names: Vec<String> = e["names"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|n| text(&n["text"]))
            .collect();
        h.push_str(&format!(
            "<section><h2>{} — {}</h2><table>",
            escape(&text(&r.subject["business"])),
            escape(&r.list_uid)
        ));
        let row = |h: &mut String, k: &str, v: &str| {
            h.push_str(&format!(
                "<tr><th>{}</th><td>{}</td></tr>",
                escape(k),
                escape(v)
            ));
        };
        row(&mut h, "Application", &r.application_id);
        row(&mut h, "Subject", &text(&r.subject["path"]));
        row(&mut h, "As we hold it", &text(&r.subject["as_held"]));
        row(&mut h, "List entry", &r.list_uid);
        row(&mut h, "Entity number", &text(&e["ent_num"]));
        row(&mut h, "Programs", &text(&e["programs"]));
        row(&mut h, "Names", &names.join("; "));
        row(&mut h, "Dates of birth", &text(&e["dobs"]));
        row(&mut h, "Places of birth", &text(&e["places_of_birth"]));
        row(&mut h, "Addresses", &text(&e["addresses"]));
        row(&mut h, "Countries", &text(&e["countries"]));
        row(&mut h, "Remarks", &text(&e["remarks"]));
        row(
            &mut h,
            "Confirmed",
            &format!(
                "by {} at {} — {}",
                r.confirmed_by.as_deref().unwrap_or("?"),
                r.confirmed_at.map(fmt_ms).unwrap_or_default(),
                r.confirmation_note.as_deref().unwrap_or("")
            ),
        );
        for a in &r.actions {
            row(
                &mut h,
                "Action",
                &format!(
                    "{} ({}) by {} at {}",
                    text(&a["what"]),
                    text(&a["reasons"]),
                    text(&a["by"]),
                    a["at"].as_i64().map(fmt_ms).unwrap_or_default()
                ),
            );
        }
        row(&mut h, "Due", r.due.as_deref().unwrap_or(""));
        h.push_str("</table></section>");
    }
    h
}

fn fmt_ms(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|t| format!("{} {:02}:{:02} UTC", t.date(), t.hour(), t.minute()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn ten_business_days_skip_weekends() {
        // Tuesday 1 December 2026 + 10 weekdays = Tuesday 15 December.
        assert_eq!(
            add_business_days(date!(2026 - 12 - 01), 10),
            date!(2026 - 12 - 15)
        );
        // Friday + 1 = Monday.
        assert_eq!(
            add_business_days(date!(2026 - 12 - 04), 1),
            date!(2026 - 12 - 07)
        );
        // A Saturday confirmation: 10 weekdays from the next Monday on.
        assert_eq!(
            add_business_days(date!(2026 - 12 - 05), 10),
            date!(2026 - 12 - 18)
        );
    }

    #[test]
    fn the_html_escapes_what_it_shows() {
        let r = SanctionsReport {
            application_id: "a1".into(),
            hit_id: "h1".into(),
            subject: serde_json::json!({"path": "people[0]", "business": "<script>x</script>", "as_held": {}}),
            list_uid: "sdn:1".into(),
            entry: Some(serde_json::json!({"remarks": "a & b <i>"})),
            score: 0.99,
            confirmed_by: Some("uma".into()),
            confirmed_at: Some(0),
            confirmation_note: Some("\"quoted\"".into()),
            actions: vec![],
            due: Some("1970-01-15".into()),
        };
        let page = html(&[r], "alice", OffsetDateTime::UNIX_EPOCH);
        assert!(!page.contains("<script>x"), "names are escaped: {page}");
        assert!(page.contains("&lt;script&gt;") && page.contains("a &amp; b &lt;i&gt;"));
        assert!(page.contains("&quot;quoted&quot;"));
    }
}
