//! `desk boarding`: the outbox of jobs sent to the payment platform.

use std::io::Write;

use api::{Code, Error};

use super::{ask_line, runtime, shared, with_session, with_session_asking, Ctx};
use crate::cli::BoardingAction;
use crate::output::Printer;
use crate::prompt::Prompt;

fn print_job(w: &mut dyn Write, j: &api::boarding::JobView) -> std::io::Result<()> {
    writeln!(
        w,
        "{}  {:<9}  {:<10}  step {:<9} attempts {:>3}  {}",
        j.job.id,
        serde_json::to_value(j.job.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        j.job.account_id.as_deref().unwrap_or("-"),
        j.job.step,
        j.job.total_attempts,
        j.job.legal_name
    )?;
    if let Some(kind) = &j.job.error_kind {
        writeln!(
            w,
            "    last error ({kind}{}): {}",
            j.job
                .error_field
                .as_deref()
                .map(|f| format!(", field {f}"))
                .unwrap_or_default(),
            j.error_message.as_deref().unwrap_or("")
        )?;
    }
    Ok(())
}

/// Who sends the outbox, in a line (`None`: nothing worth saying).
fn sender_line(sender: &api::boarding::Sender) -> Option<String> {
    use api::boarding::Sender;
    let at = |t: &time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    match sender {
        Sender::ThisDesk { since } => {
            Some(format!("this desk sends the outbox (since {})", at(since)))
        }
        Sender::OtherDesk { by, since } => Some(format!(
            "{} sends the outbox{}; this desk stands by",
            by.as_deref().unwrap_or("another desk"),
            since
                .map(|t| format!(" (since {})", at(&t)))
                .unwrap_or_default()
        )),
        Sender::Unreachable { since } => Some(format!(
            "the team store could not be asked who sends, since {}",
            at(since)
        )),
        Sender::Nobody => Some("no desk sends the outbox now".to_string()),
        Sender::Idle => None,
    }
}

pub(crate) fn boarding_verb(
    ctx: &Ctx,
    action: BoardingAction,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    use api::boarding as b;
    match action {
        BoardingAction::Status { state } => {
            let o = with_session(ctx, prompt, |slot| {
                b::overview(slot, state.as_deref(), None)
            })?;
            printer.value(out, &o, |w| {
                let c = &o.counts;
                writeln!(
                    w,
                    "platform {}: {} queued, {} retrying, {} need a fix, {} done, {} cancelled",
                    o.platform_url, c.queued, c.retrying, c.needs_fix, c.done, c.cancelled
                )?;
                if let Some(line) = o.sender.as_ref().and_then(sender_line) {
                    writeln!(w, "{line}")?;
                }
                o.jobs.iter().try_for_each(|j| print_job(w, j))
            })
        }
        BoardingAction::Retry { job } => {
            let j = with_session(ctx, prompt, |slot| b::retry(slot, &job))?;
            printer.value(out, &j, |w| print_job(w, &j))
        }
        BoardingAction::Cancel { job } => {
            let j = with_session(ctx, prompt, |slot| b::cancel(slot, &job))?;
            printer.value(out, &j, |w| print_job(w, &j))
        }
        BoardingAction::Fix { job, field } => {
            let j = with_session_asking(ctx, prompt, |slot, prompt| {
                let value = ask_line(prompt, "New value: ", "value")?;
                b::fix_and_resend(slot, &job, &field, &value)
            });
            let j = j?;
            printer.value(out, &j, |w| print_job(w, &j))
        }
        BoardingAction::Drain {
            timeout,
            request_timeout,
        } => {
            let report = with_session(ctx, prompt, |slot| {
                shared(slot, |shared| {
                    let request_timeout = std::time::Duration::from_secs(request_timeout.max(1));
                    let worker = b::Worker::new(
                        shared,
                        b::WorkerConfig {
                            request_timeout,
                            // Outlives a request, and stays short: a drain killed mid-request
                            // keeps its jobs from the desk that takes over only this long.
                            lease: request_timeout + std::time::Duration::from_secs(5),
                            poll: std::time::Duration::from_millis(100),
                            ..Default::default()
                        },
                    );
                    runtime()?.block_on(worker.drain(std::time::Duration::from_secs(timeout)))
                })
            })?;
            printer.value(out, &report, |w| {
                let c = &report.counts;
                writeln!(
                    w,
                    "{} requests in {:.1} s: {} done, {} need a fix, {} still queued or retrying{}",
                    report.requests,
                    report.elapsed_ms as f64 / 1000.0,
                    c.done,
                    c.needs_fix,
                    c.queued + c.retrying,
                    if report.finished { "" } else { " (timed out)" }
                )?;
                if report.requests == 0 {
                    if let Some(line) = sender_line(&report.sender) {
                        writeln!(w, "{line}")?;
                    }
                }
                Ok(())
            })?;
            if report.finished {
                Ok(())
            } else {
                Err(Error::new(
                    Code::Unavailable,
                    "jobs are still waiting to be retried",
                ))
            }
        }
    }
}
