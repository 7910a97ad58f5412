//! GDPR for the data the desk holds (issue 7, in part): subject access export, erasure that
//! respects AML retention and legal holds, and the retention run. AML rules keep KYC records
//! for years after a relationship ends (GDPR Art. 17(3)(b): a legal obligation overrides
//! erasure), so an erasure request is always recorded, and refused with the date it becomes
//! possible while the record is under retention.

use domain::retention::{decide, years_ms, ErasureOutcome as Erasure, Refusal};
use serde::Serialize;
use time::OffsetDateTime;
use vault::audit::Outcome;
use vault::retention::Request;
use vault::{Setting, Vault};

use crate::audit_log::{escape, Export};
use crate::clock::{new_id, now_ms};
use crate::session::{Access, SessionSlot, Unit};
use crate::{Code, Error, Result};

/// Years a record is kept after the relationship ends when no admin has set otherwise.
pub const DEFAULT_RETENTION_YEARS: u32 = 5;

/// The retention period in force (1–10 years).
pub fn retention_years(vault: &Vault) -> u32 {
    crate::settings::read(vault, Setting::RetentionYears)
        .and_then(|v| v.parse().ok())
        .filter(|y| (1..=10).contains(y))
        .unwrap_or(DEFAULT_RETENTION_YEARS)
}

/// Use case (admin): the AML retention period, 1–10 years; audited old → new.
pub fn set_retention_years(slot: &mut SessionSlot, years: u32) -> Result<u32> {
    // The session and role first, before any of the input is looked at.
    slot.require(Access::Admin, "settings.retention_years")?;
    if !(1..=10).contains(&years) {
        return Err(Error::invalid_input(
            "retention years",
            "must be between 1 and 10",
        ));
    }
    let session = slot.require(Access::Admin, "settings.retention_years")?;
    let old = retention_years(session.vault());
    crate::settings::write_audited(
        session,
        Setting::RetentionYears,
        "retention_years",
        &old.to_string(),
        &years.to_string(),
    )?;
    Ok(years)
}

fn date_of(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ms / 1000)
        .map(|t| t.date().to_string())
        .unwrap_or_default()
}

/// What became of an erasure request.
#[derive(Debug, Clone, Serialize)]
pub struct ErasureOutcome {
    pub application_id: String,
    pub outcome: domain::retention::ErasureOutcome,
    /// For a refusal under retention: the first day erasure is possible (`YYYY-MM-DD`).
    pub possible_from: Option<String>,
    pub message: String,
}

/// Decides a request against the facts (`domain::retention::decide`), with the message a
/// person reads.
fn refusal(
    vault: &Vault,
    id: &str,
    now: i64,
) -> Result<std::result::Result<(), (Refusal, String)>> {
    let facts = vault.retention_facts(id)?;
    let years = retention_years(vault);
    Ok(decide(&facts, years, now).map_err(|refusal| {
        let message = match refusal {
            Refusal::Erased => "this record was already erased".to_string(),
            Refusal::Hold => format!(
                "the record is on legal hold ({}); lift the hold first",
                facts.legal_hold.as_deref().unwrap_or("")
            ),
            Refusal::Retention { possible_from } => format!(
                "AML retention keeps this record for {years} years after the relationship ended: erasure is possible from {}",
                date_of(possible_from)
            ),
            Refusal::Active => format!(
                "the relationship is not over (status {}): AML retention runs {years} years from its end",
                facts.status.as_str()
            ),
        };
        (refusal, message)
    }))
}

/// Use case (admin): a data subject asks for erasure of an application's data. Always
/// recorded and audited; refused with the reason (and the date, under retention), or done by
/// crypto-shredding (the row stays as a tombstone; the audit chain stays verifiable).
pub fn request_erasure(slot: &mut SessionSlot, application_id: &str) -> Result<ErasureOutcome> {
    let session = slot.require(Access::Admin, "gdpr.erasure")?;
    let me = session.username().to_string();
    let now = now_ms(OffsetDateTime::now_utc());
    session.write(|w| {
        let (outcome, possible_from, message) = match refusal(w, application_id, now)? {
            Err((refused, message)) => (refused.outcome(), refused.possible_from(), message),
            Ok(()) => {
                w.erase_application(application_id, now)?;
                (
                    Erasure::Erased,
                    None,
                    "erased: its keys are destroyed and the row is a tombstone".to_string(),
                )
            }
        };
        w.record_erasure_request(&Request {
            id: new_id(),
            application_id: application_id.to_string(),
            requested_by: me,
            at: now,
            outcome,
            possible_from,
            source: "request".into(),
        })?;
        w.audit(
            "gdpr.erasure",
            Some(application_id),
            if outcome == Erasure::Erased {
                Outcome::Ok
            } else {
                Outcome::Denied
            },
            Some(&match possible_from {
                Some(from) => format!("{outcome}: possible from {}", date_of(from)),
                None => outcome.to_string(),
            }),
        )?;
        Ok(ErasureOutcome {
            application_id: application_id.to_string(),
            outcome,
            possible_from: possible_from.map(date_of),
            message,
        })
    })
}

/// Use case (admin): put an application on legal hold (`Some(reason)`) or lift it.
pub fn set_legal_hold(
    slot: &mut SessionSlot,
    application_id: &str,
    reason: Option<&str>,
) -> Result<()> {
    // The session and role first, before any of the input is looked at.
    slot.require(Access::Admin, "gdpr.legal_hold")?;
    let reason = match reason {
        Some(r) => {
            let r = domain::intake::clean_text("reason", r, 200)
                .map_err(|e| Error::invalid_input("reason", &e.reason))?;
            if r.trim().chars().count() < 3 {
                return Err(Error::invalid_input("reason", "must say why"));
            }
            Some(r)
        }
        None => None,
    };
    let session = slot.require(Access::Admin, "gdpr.legal_hold")?;
    session.write(|w| {
        w.set_legal_hold(application_id, reason.as_deref())?;
        w.audit(
            if reason.is_some() {
                "gdpr.hold"
            } else {
                "gdpr.hold_lifted"
            },
            Some(application_id),
            Outcome::Ok,
            None,
        )
    })
}

/// What a retention run found (and, unless a dry run, erased).
#[derive(Debug, Clone, Serialize)]
pub struct RetentionReport {
    pub dry_run: bool,
    pub retention_years: u32,
    /// Applications past retention and not on hold.
    pub due: Vec<String>,
    pub erased: usize,
}

/// Use case (admin): erase every record past retention and not on hold (`dry_run`: list them
/// only). Each erasure is recorded and audited as the run's.
pub fn retention_run(slot: &mut SessionSlot, dry_run: bool) -> Result<RetentionReport> {
    let session = slot.require(Access::Admin, "gdpr.retention_run")?;
    let now = now_ms(OffsetDateTime::now_utc());
    // The whole run is one unit: every erasure commits with the run's entry, or none does.
    session.write(|w| {
        let report = purge(w, w.actor(), dry_run, now)?;
        w.audit(
            "gdpr.retention_run",
            None,
            Outcome::Ok,
            Some(&report.summary()),
        )?;
        Ok(report)
    })
}

/// Lists and (unless `dry_run`) erases every record past retention and not on hold, each
/// erasure recorded as `actor`'s retention run.
fn purge(vault: &vault::Tx<'_>, actor: &str, dry_run: bool, now: i64) -> Result<RetentionReport> {
    let years = retention_years(vault);
    let due = vault.retention_candidates(now - years_ms(years))?;
    let mut erased = 0;
    if !dry_run {
        for id in &due {
            // The same rules as a request (a hold set meanwhile, say, still wins).
            if refusal(vault, id, now)?.is_err() {
                continue;
            }
            vault.erase_application(id, now)?;
            vault.record_erasure_request(&Request {
                id: new_id(),
                application_id: id.clone(),
                requested_by: actor.to_string(),
                at: now,
                outcome: Erasure::Erased,
                possible_from: None,
                source: "retention_run".into(),
            })?;
            erased += 1;
        }
    }
    Ok(RetentionReport {
        dry_run,
        retention_years: years,
        due,
        erased,
    })
}

impl RetentionReport {
    fn summary(&self) -> String {
        format!(
            "{} due, {} erased{}",
            self.due.len(),
            self.erased,
            if self.dry_run { " (dry run)" } else { "" }
        )
    }
}

/// Who the scheduled purge acts as in the audit log and the erasure records.
pub const SCHEDULED_ACTOR: &str = "system:retention";
/// The scheduled purge runs at most this often (while the vault is open).
pub const SCHEDULE_EVERY_MS: i64 = 24 * 3_600_000;

/// Whether the scheduled purge is on (it is unless an admin switched it off), and when it last
/// ran.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionSchedule {
    pub enabled: bool,
    pub last_run_at: Option<i64>,
    /// The day of the last run (`YYYY-MM-DD`, UTC).
    pub last_run: Option<String>,
    /// The day of the next run, once the schedule's clock has started.
    pub next_run: Option<String>,
    pub retention_years: u32,
    /// Days a generated export stays in exports/ before it is deleted.
    pub export_days: u32,
    /// Years a new blocklist entry is kept before it is deleted.
    pub blocklist_years: u32,
}

fn schedule(vault: &Vault) -> RetentionSchedule {
    let last_run_at: Option<i64> =
        crate::settings::read(vault, Setting::RetentionLastRun).and_then(|v| v.parse().ok());
    RetentionSchedule {
        enabled: crate::settings::read(vault, Setting::RetentionSchedule).as_deref() != Some("off"),
        last_run: last_run_at.map(date_of),
        next_run: last_run_at.map(|at| date_of(at + SCHEDULE_EVERY_MS)),
        last_run_at,
        retention_years: retention_years(vault),
        export_days: crate::exports::export_days(vault),
        blocklist_years: crate::blocklist::blocklist_years(vault),
    }
}

/// Use case (any signed-in role): the retention settings in force.
pub fn retention_schedule(slot: &mut SessionSlot) -> Result<RetentionSchedule> {
    let session = slot.require(Access::SignedIn, "settings.view")?;
    Ok(schedule(session.vault()))
}

/// Use case (admin): switch the daily scheduled purge on or off; audited old → new.
pub fn set_retention_schedule(slot: &mut SessionSlot, enabled: bool) -> Result<RetentionSchedule> {
    let session = slot.require(Access::Admin, "settings.retention_schedule")?;
    let old = schedule(session.vault()).enabled;
    let word = |on: bool| if on { "daily" } else { "off" };
    crate::settings::write_audited(
        session,
        Setting::RetentionSchedule,
        "retention_schedule",
        word(old),
        word(enabled),
    )?;
    Ok(schedule(session.vault()))
}

/// The scheduled purge, for the shell's timer: when the vault is open, the schedule on and the
/// last run a day or more ago, erases what is past retention (as [`SCHEDULED_ACTOR`], audited)
/// and returns the report; otherwise `None`. The first time it is asked (a new vault, an
/// upgraded or restored one) it only starts the clock: nothing is erased before admins have had
/// a day to see the next run, set holds or switch it off. `now` is passed in so tests can move
/// the clock.
pub fn scheduled_retention(
    slot: &mut SessionSlot,
    now: OffsetDateTime,
) -> Result<Option<RetentionReport>> {
    // Erasure is an admin's: the daily purge runs only while an admin is signed in.
    let Some(session) = slot.background_as(Access::Admin) else {
        return Ok(None);
    };
    let actor = crate::session::on_behalf(SCHEDULED_ACTOR, session.username());
    let actor = actor.as_str();
    let vault = session.vault();
    let plan = schedule(vault);
    let now = now_ms(now);
    let ran_at = |w: &Unit<'_>| {
        w.settings()
            .set(Setting::RetentionLastRun, &now.to_string())
    };
    match plan.last_run_at {
        _ if !plan.enabled => return Ok(None),
        None => {
            crate::session::write_as(vault, actor, |w| {
                ran_at(w)?;
                w.audit(
                    "gdpr.retention_schedule",
                    None,
                    Outcome::Ok,
                    Some("started: the first purge runs in a day"),
                )
            })?;
            return Ok(None);
        }
        Some(last) if now - last < SCHEDULE_EVERY_MS => return Ok(None),
        Some(_) => {}
    }
    let report = crate::session::write_as(vault, actor, |w| {
        let report = purge(w, actor, false, now)?;
        ran_at(w)?;
        w.audit(
            "gdpr.retention_run",
            None,
            Outcome::Ok,
            Some(&format!("scheduled: {}", report.summary())),
        )?;
        Ok(report)
    })?;
    Ok(Some(report))
}

/// A subject access export: the JSON of everything held, and a readable HTML summary.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectExport {
    pub applications: Vec<String>,
    pub json: Export,
    pub html: Export,
}

/// Use case (admin): everything the vault holds about a business or person — found by
/// application id, or by EIN, SSN/ITIN or email through the blind indexes — unmasked (it is the
/// subject's own data), with history, decisions, hits, notes, the merchant's platform state,
/// erasure requests and the audit entries that name the application. Audited.
pub fn subject_export(slot: &mut SessionSlot, by: &str, value: &str) -> Result<SubjectExport> {
    // The session and role first, before any of the input is looked at.
    slot.require(Access::Admin, "gdpr.subject_export")?;
    let kind = match by {
        "application" => None,
        "ein" => Some(domain::intake::IndexKind::Ein),
        "ssn" => Some(domain::intake::IndexKind::Ssn),
        "email" => Some(domain::intake::IndexKind::Email),
        _ => {
            return Err(Error::invalid_input(
                "by",
                "must be application, ein, ssn or email",
            ))
        }
    };
    let session = slot.require(Access::Admin, "gdpr.subject_export")?;
    let vault = session.vault();
    let ids = match kind {
        None => {
            vault.application_summary(value.trim())?;
            vec![value.trim().to_string()]
        }
        Some(kind) => {
            let normalised = if kind == domain::intake::IndexKind::Email {
                value.trim().to_lowercase()
            } else {
                value.chars().filter(char::is_ascii_digit).collect()
            };
            vault.applications_with(kind, &normalised)?
        }
    };
    if ids.is_empty() {
        return Err(Error::new(
            Code::NotFound,
            "the vault holds nothing under that identifier",
        ));
    }
    let mut records = Vec::new();
    for id in &ids {
        let summary = vault.application_summary(id)?;
        let form = match vault.application(id) {
            Ok(stored) => Some(stored.form),
            Err(_) => None, // erased: only the tombstone remains
        };
        let m = vault.merchant(id)?;
        records.push(serde_json::json!({
            "application_id": id,
            "summary": summary,
            "form": form,
            "history": vault.application_history(id)?,
            "decisions": vault.decisions(id)?,
            "screening_hits": vault.screening_hits(id).unwrap_or_default(),
            "notes": vault.notes(id)?,
            "documents": vault.documents(id).unwrap_or_default(),
            "merchant": m,
            // Edits of the merchant's details; a change still waiting for review also holds
            // the details before it.
            "merchant_changes": vault.merchant_changes(id)?,
            "details_before_pending_change": match vault.pending_merchant_change(id)? {
                Some(c) => vault.merchant_change_previous(&c.id).ok(),
                None => None,
            },
            "erasure_requests": vault.erasure_requests(id)?,
            "audit": vault.audit_for(id)?,
        }));
    }
    let now = OffsetDateTime::now_utc();
    let doc = serde_json::json!({
        "generated_at": now.to_string(),
        "generated_by": session.username(),
        "looked_up_by": by,
        "records": records,
    });
    let json = serde_json::to_vec_pretty(&doc).map_err(|e| Error::internal(e.to_string()))?;
    let mut html = String::from(
        "<!doctype html><meta charset=\"utf-8\"><title>Subject access export</title>\
         <h1>Subject access export</h1>",
    );
    html.push_str(&format!(
        "<p>Generated {} by {}. The JSON file beside this one holds every field.</p>",
        escape(&now.date().to_string()),
        escape(session.username())
    ));
    for r in &records {
        let s = &r["summary"];
        html.push_str(&format!(
            "<h2>{}</h2><p>Application {} · status {} · MCC {}</p>",
            escape(s["legal_name"].as_str().unwrap_or("")),
            escape(r["application_id"].as_str().unwrap_or("")),
            escape(s["status"].as_str().unwrap_or("")),
            escape(s["mcc"].as_str().unwrap_or(""))
        ));
        if let Some(people) = r["form"]["people"].as_array() {
            html.push_str("<h3>People</h3><ul>");
            for p in people {
                html.push_str(&format!(
                    "<li>{} {} — {}</li>",
                    escape(p["first_name"].as_str().unwrap_or("")),
                    escape(p["last_name"].as_str().unwrap_or("")),
                    escape(p["title"].as_str().unwrap_or(""))
                ));
            }
            html.push_str("</ul>");
        }
        html.push_str("<h3>History</h3><ul>");
        for h in r["history"].as_array().into_iter().flatten() {
            html.push_str(&format!(
                "<li>{} → {}</li>",
                escape(&h["at"].to_string()),
                escape(h["to"].as_str().unwrap_or(""))
            ));
        }
        html.push_str("</ul>");
        html.push_str(&format!(
            "<p>{} decisions, {} audit entries name this application.</p>",
            r["decisions"].as_array().map_or(0, Vec::len),
            r["audit"].as_array().map_or(0, Vec::len)
        ));
    }
    session.audit(
        "gdpr.subject_export",
        ids.first().map(String::as_str),
        Outcome::Ok,
        Some(&format!("{} application(s), looked up by {by}", ids.len())),
    )?;
    let stamp = now.date();
    Ok(SubjectExport {
        applications: ids.clone(),
        json: Export {
            file_name: format!("subject-{stamp}-{}.json", &ids[0]),
            rows: ids.len(),
            content: json,
        },
        html: Export {
            file_name: format!("subject-{stamp}-{}.html", &ids[0]),
            rows: ids.len(),
            content: html.into_bytes(),
        },
    })
}
