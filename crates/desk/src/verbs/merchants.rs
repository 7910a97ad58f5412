//! `desk merchants`: boarded merchants, their actions, limits and reviewed edits.

use std::io::Write;

use api::Error;

use super::{runtime, shared, with_session, Ctx};
use crate::cli::MerchantsAction;
use crate::output::Printer;
use crate::prompt::Prompt;

pub(crate) fn merchants_verb(
    ctx: &Ctx,
    action: MerchantsAction,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    use api::boarding as b;
    let print = |w: &mut dyn Write, m: &api::merchants::MerchantView| -> std::io::Result<()> {
        writeln!(
            w,
            "{}  {}  {:<10} charges {}  {}",
            m.merchant.application_id,
            m.merchant.account_id,
            m.merchant.status,
            if m.merchant.charges_enabled {
                "on "
            } else {
                "off"
            },
            m.merchant.legal_name
        )?;
        for o in &m.open {
            writeln!(
                w,
                "    {:<20} {} → {}{}",
                o.kind,
                o.requirement,
                o.field.as_deref().unwrap_or("?"),
                o.reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            )?;
        }
        Ok(())
    };
    match action {
        MerchantsAction::List => {
            let list = with_session(ctx, prompt, api::merchants::merchants)?;
            printer.value(out, &list, |w| list.iter().try_for_each(|m| print(w, m)))
        }
        MerchantsAction::Sync { application_id } => {
            let m = with_session(ctx, prompt, |slot| {
                shared(slot, |shared| {
                    runtime()?.block_on(b::sync_merchant(&shared, &application_id))
                })
            })?;
            printer.value(out, &m, |w| print(w, &m))
        }
        MerchantsAction::Act {
            application_id,
            action,
            reason,
            note,
            blocklist,
        } => {
            let done = with_session(ctx, prompt, |slot| {
                api::merchants::act(
                    slot,
                    api::merchants::ActionInput {
                        id: application_id,
                        action,
                        reason,
                        note,
                        blocklist: blocklist.is_some(),
                        blocklist_basis: blocklist,
                    },
                )
            })?;
            printer.value(out, &done, |w| {
                print(w, &done.merchant)?;
                writeln!(w, "queued for the platform as job {}", done.job_id)?;
                if done.blocklisted > 0 {
                    writeln!(w, "{} identifiers added to the blocklist", done.blocklisted)?;
                }
                Ok(())
            })
        }
        MerchantsAction::Export { format } => {
            let export = with_session(ctx, prompt, |slot| api::merchants::export(slot, &format))?;
            out.write_all(&export.content)
                .map_err(|e| Error::internal(format!("cannot write output: {}", e.kind())))?;
            Ok(())
        }
        MerchantsAction::Limits {
            application_id,
            monthly_cap,
            max_ticket,
        } => {
            let m = with_session(ctx, prompt, |slot| {
                api::merchants::set_limits(
                    slot,
                    api::merchants::LimitsInput {
                        id: application_id,
                        monthly_cap,
                        max_ticket,
                    },
                )
            })?;
            printer.value(out, &m, |w| print(w, &m))
        }
        MerchantsAction::Edit {
            application_id,
            file,
            note,
        } => {
            let json = std::fs::read_to_string(&file)
                .map_err(|_| Error::invalid_input("file", "cannot be read as text"))?;
            let form = parse_form(&json)?;
            let done = with_session(ctx, prompt, |slot| {
                let version = api::intake::get_application(slot, &application_id)?
                    .summary
                    .version;
                api::merchant_changes::edit(
                    slot,
                    api::merchant_changes::EditInput {
                        id: application_id,
                        version,
                        form,
                        note,
                    },
                )
            })?;
            printer.value(out, &done, |w| {
                writeln!(
                    w,
                    "{} ({}): {}",
                    if done.change.material {
                        "material change, waiting for review"
                    } else {
                        "minor change, sent to the platform"
                    },
                    done.change.id,
                    done.change.fields.join(", ")
                )
            })
        }
        MerchantsAction::Changes { application_id } => {
            let view = with_session(ctx, prompt, |slot| {
                api::merchant_changes::changes(slot, &application_id)
            })?;
            printer.value(out, &view, |w| print_changes(w, &view))
        }
        MerchantsAction::Accept {
            application_id,
            note,
        } => decide_change(ctx, prompt, printer, out, application_id, note, true),
        MerchantsAction::Reject {
            application_id,
            note,
        } => decide_change(ctx, prompt, printer, out, application_id, note, false),
    }
}

/// `desk merchants accept|reject ID --note …`.
fn decide_change(
    ctx: &Ctx,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
    id: String,
    note: String,
    accept: bool,
) -> Result<(), Error> {
    let input = api::merchant_changes::DecideInput { id, note };
    let view = with_session(ctx, prompt, |slot| {
        api::merchant_changes::decide(slot, input, accept)
    })?;
    printer.value(out, &view, |w| print_changes(w, &view))
}

/// An application form from JSON: the form itself or a whole application view holding it. A
/// parse error names the line and column only (serde would quote the offending value).
fn parse_form(json: &str) -> Result<api::domain::intake::ApplicationForm, Error> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| {
        Error::invalid_input(
            "file",
            &format!("is not JSON (line {}, column {})", e.line(), e.column()),
        )
    })?;
    let form = match value.get("form") {
        Some(form) => form.clone(),
        None => value,
    };
    serde_json::from_value(form).map_err(|_| {
        Error::invalid_input(
            "file",
            "is not an application form (see `desk application show ID --json`)",
        )
    })
}

fn print_changes(
    w: &mut dyn Write,
    view: &api::merchant_changes::ChangesView,
) -> std::io::Result<()> {
    match &view.pending {
        Some(c) => {
            writeln!(
                w,
                "waiting for review: {} (by {}): {}",
                c.id,
                c.requested_by,
                c.fields.join(", ")
            )?;
            for b in &view.blockers {
                writeln!(w, "  blocked: {b}")?;
            }
        }
        None => writeln!(w, "no change waiting for review")?,
    }
    for c in &view.history {
        writeln!(
            w,
            "{}  {:<8} {}  {}",
            c.id,
            c.state,
            c.decided_by.as_deref().unwrap_or(&c.requested_by),
            c.fields.join(", ")
        )?;
    }
    Ok(())
}
