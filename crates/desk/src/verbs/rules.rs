//! `desk rules`: risk rules, the screening threshold and changes waiting for a second admin.

use std::io::Write;
use std::path::Path;

use api::Error;

use super::{with_session, Ctx};
use crate::cli::RulesAction;
use crate::output::Printer;
use crate::prompt::Prompt;

pub(crate) fn rules(
    ctx: &Ctx,
    action: RulesAction,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    match action {
        RulesAction::Show => {
            let (rules, threshold) = with_session(ctx, prompt, api::review::settings)?;
            let value = serde_json::json!({ "rules": rules, "screening_threshold": threshold });
            printer.value(out, &value, |w| {
                writeln!(
                    w,
                    "{}",
                    serde_json::to_string_pretty(&value).unwrap_or_default()
                )
            })
        }
        RulesAction::Set { file } => {
            let json = read_rules_file(&file)?;
            let p = with_session(ctx, prompt, |slot| api::review::set_rules(slot, &json))?;
            printer.value(out, &p, |w| print_proposal(w, &p))
        }
        RulesAction::Preview { file } => {
            let json = read_rules_file(&file)?;
            let p = with_session(ctx, prompt, |slot| api::review::preview_rules(slot, &json))?;
            printer.value(out, &p, |w| {
                writeln!(
                    w,
                    "{} of {} applications in the queue would change band",
                    p.would_change, p.in_queue
                )?;
                for (from, to, n) in &p.moves {
                    writeln!(w, "  {from} -> {to}: {n}")?;
                }
                writeln!(w, "changes: {}", p.changes)
            })
        }
        RulesAction::Factors => {
            let f = with_session(ctx, prompt, api::review::factors)?;
            printer.value(out, &f, |w| {
                for (code, what) in &f {
                    writeln!(w, "{code:<28} {what}")?;
                }
                Ok(())
            })
        }
        RulesAction::Threshold { value } => {
            let p = with_session(ctx, prompt, |slot| {
                api::screening::set_threshold(slot, value)
            })?;
            printer.value(out, &p, |w| print_proposal(w, &p))
        }
        RulesAction::Pending => {
            let all = with_session(ctx, prompt, api::settings::pending_changes)?;
            printer.value(out, &all, |w| {
                if all.is_empty() {
                    return writeln!(w, "no change waits for a second admin");
                }
                for p in &all {
                    writeln!(w, "{} by {}: {}", p.key, p.proposed_by, p.changes)?;
                }
                Ok(())
            })
        }
        RulesAction::Confirm { key } => {
            let p = with_session(ctx, prompt, |slot| {
                api::settings::confirm_change(slot, &key)
            })?;
            printer.value(out, &p, |w| {
                writeln!(w, "{} confirmed and in force: {}", p.key, p.changes)
            })
        }
        RulesAction::Withdraw { key } => {
            with_session(ctx, prompt, |slot| {
                api::settings::withdraw_change(slot, &key)
            })?;
            printer.value(out, &serde_json::json!({ "withdrawn": key }), |w| {
                writeln!(w, "the proposed change of {key} is withdrawn")
            })
        }
    }
}

fn read_rules_file(file: &Path) -> Result<String, Error> {
    let meta = std::fs::metadata(file)
        .map_err(|_| Error::invalid_input("file", "cannot be read as text"))?;
    if meta.len() > 64 * 1024 {
        return Err(Error::invalid_input("file", "must be at most 64 KB"));
    }
    std::fs::read_to_string(file)
        .map_err(|_| Error::invalid_input("file", "cannot be read as text"))
}

fn print_proposal(w: &mut dyn Write, p: &api::settings::PendingSetting) -> std::io::Result<()> {
    writeln!(
        w,
        "proposed ({}): it applies once another admin confirms with `desk rules confirm {}`",
        p.changes, p.key
    )
}
