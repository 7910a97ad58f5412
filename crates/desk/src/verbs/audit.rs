//! `desk audit`: verify, list and export the audit log.

use std::io::Write;

use api::{Code, Error};

use super::{with_session, Ctx};
use crate::cli::AuditAction;
use crate::output::Printer;
use crate::prompt::Prompt;

pub(crate) fn audit(
    ctx: &Ctx,
    action: AuditAction,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    match action {
        AuditAction::Verify { checkpoints } => {
            let report = with_session(ctx, prompt, |slot| {
                api::audit_log::verify_audit(slot, checkpoints.as_deref())
            })?;
            printer.value(out, &report, |w| match report.broken_at {
                None => writeln!(
                    w,
                    "intact: {} entries, every link checks out; {} signed checkpoint(s) hold{}",
                    report.entries,
                    report.checkpoints,
                    match report.checkpoints_ignored {
                        0 => String::new(),
                        n =>
                            format!(", {n} ignored (another vault's, or not authentically signed)"),
                    }
                ),
                Some(at) => writeln!(
                    w,
                    "BROKEN at entry {at}: {}",
                    report.problem.as_deref().unwrap_or("")
                ),
            })?;
            if report.intact {
                Ok(())
            } else {
                Err(Error::new(Code::Conflict, "the audit chain is broken"))
            }
        }
        AuditAction::Checkpoint { out: file } => {
            let (signed, export) = with_session(ctx, prompt, api::audit_log::sign_checkpoint)?;
            match &file {
                Some(path) => {
                    let mut f = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .map_err(|_| Error::invalid_input("out", "cannot be opened for writing"))?;
                    f.write_all(&export.content)
                        .and_then(|()| f.sync_all())
                        .map_err(|_| Error::invalid_input("out", "cannot be written"))?;
                    printer.value(out, &signed, |w| {
                        writeln!(
                            w,
                            "signed a checkpoint of entry {} and added it to {}",
                            signed.seq,
                            path.display()
                        )
                    })
                }
                None => out
                    .write_all(&export.content)
                    .map_err(|e| Error::internal(format!("cannot write output: {}", e.kind()))),
            }
        }
        AuditAction::Checkpoints => {
            let list = with_session(ctx, prompt, api::audit_log::list_checkpoints)?;
            printer.value(out, &list, |w| {
                for c in &list {
                    writeln!(w, "{:>6} {} {:<16} {}", c.seq, c.at, c.actor, c.hash)?;
                }
                Ok(())
            })
        }
        AuditAction::List { limit } => {
            let page = with_session(ctx, prompt, |slot| {
                api::audit_log::list_audit(slot, None, limit)
            })?;
            printer.value(out, &page.entries, |w| {
                for e in &page.entries {
                    writeln!(
                        w,
                        "{:>6} {} {:<16} {:<22} {:<16} {:<7} signed by {}",
                        e.seq,
                        e.at,
                        e.actor,
                        e.action,
                        e.target.as_deref().unwrap_or("-"),
                        e.outcome,
                        e.signed_by
                            .as_deref()
                            .unwrap_or("nobody (before signing began)")
                    )?;
                }
                Ok(())
            })
        }
        AuditAction::Export { from, to, format } => {
            let export = with_session(ctx, prompt, |slot| {
                api::audit_log::export_audit(slot, &from, &to, &format)
            })?;
            out.write_all(&export.content)
                .map_err(|e| Error::internal(format!("cannot write output: {}", e.kind())))?;
            Ok(())
        }
    }
}
