//! `desk gdpr` and `desk retention`: erasure, legal holds, subject exports, AML retention.

use std::io::Write;

use api::Error;

use super::{with_session, write_both, Ctx};
use crate::cli::{GdprAction, RetentionAction};
use crate::output::Printer;
use crate::prompt::Prompt;

pub(crate) fn gdpr_verb(
    ctx: &Ctx,
    action: GdprAction,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    use api::gdpr;
    match action {
        GdprAction::Erase { application_id } => {
            let done = with_session(ctx, prompt, |slot| {
                gdpr::request_erasure(slot, &application_id)
            })?;
            printer.value(out, &done, |w| {
                writeln!(w, "{}: {}", done.outcome, done.message)
            })
        }
        GdprAction::Hold {
            application_id,
            reason,
            lift,
        } => {
            let reason = if lift { None } else { reason };
            with_session(ctx, prompt, |slot| {
                gdpr::set_legal_hold(slot, &application_id, reason.as_deref())
            })?;
            let held = !lift;
            printer.value(out, &serde_json::json!({ "held": held }), |w| {
                writeln!(
                    w,
                    "{application_id} is {}",
                    if held {
                        "on legal hold"
                    } else {
                        "no longer on hold"
                    }
                )
            })
        }
        GdprAction::Export {
            by,
            value,
            out: folder,
        } => {
            let export = with_session(ctx, prompt, |slot| gdpr::subject_export(slot, &by, &value))?;
            let written = write_both(&folder, &export.json, &export.html)?;
            printer.value(out, &written, |w| {
                writeln!(
                    w,
                    "{} application(s) exported to {}",
                    export.applications.len(),
                    written.join(" and ")
                )
            })
        }
    }
}

pub(crate) fn retention_verb(
    ctx: &Ctx,
    action: RetentionAction,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    use api::gdpr;
    match action {
        RetentionAction::Run { dry_run } => {
            let report = with_session(ctx, prompt, |slot| gdpr::retention_run(slot, dry_run))?;
            printer.value(out, &report, |w| {
                for id in &report.due {
                    writeln!(w, "{id}")?;
                }
                writeln!(
                    w,
                    "{} past {} years of retention; {}",
                    report.due.len(),
                    report.retention_years,
                    if report.dry_run {
                        "dry run: nothing erased".to_string()
                    } else {
                        format!("{} erased", report.erased)
                    }
                )
            })
        }
        RetentionAction::Years { years } => {
            let years = with_session(ctx, prompt, |slot| gdpr::set_retention_years(slot, years))?;
            printer.value(out, &years, |w| writeln!(w, "retention: {years} years"))
        }
        RetentionAction::ExportDays { days } => {
            let days = with_session(ctx, prompt, |slot| {
                api::exports::set_export_days(slot, days)
            })?;
            printer.value(out, &days, |w| writeln!(w, "exports are kept {days} days"))
        }
        RetentionAction::BlocklistYears { years } => {
            let years = with_session(ctx, prompt, |slot| {
                api::blocklist::set_blocklist_years(slot, years)
            })?;
            printer.value(out, &years, |w| {
                writeln!(w, "new blocklist entries are kept {years} years")
            })
        }
        RetentionAction::Schedule { state } => {
            let enabled = match state.as_deref() {
                None => None,
                Some("on") => Some(true),
                Some("off") => Some(false),
                Some(_) => return Err(Error::invalid_input("state", "must be on or off")),
            };
            let plan = with_session(ctx, prompt, |slot| match enabled {
                Some(on) => gdpr::set_retention_schedule(slot, on),
                None => gdpr::retention_schedule(slot),
            })?;
            printer.value(out, &plan, |w| {
                writeln!(
                    w,
                    "scheduled purge: {}; retention {} years; exports kept {} days; last run {}",
                    if plan.enabled { "daily" } else { "off" },
                    plan.retention_years,
                    plan.export_days,
                    plan.last_run.as_deref().unwrap_or("never")
                )
            })
        }
    }
}
