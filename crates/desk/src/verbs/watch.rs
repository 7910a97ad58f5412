//! `desk watch`: what changes in the vault, as it happens — another desk's takes, decisions and
//! boardings on a team store, the boarding worker and other `desk` commands on a local vault.
//! One line per change (topic names only: no id, no value), for as long as asked.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use api::live::{Changes, Live};
use api::Error;

use super::{shared, with_session, Ctx};
use crate::output::Printer;
use crate::prompt::Prompt;

pub(crate) fn watch(
    ctx: &Ctx,
    seconds: Option<u64>,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let until = seconds.map(|s| Instant::now() + Duration::from_secs(s));
    with_session(ctx, prompt, |slot| {
        shared(slot, |shared| {
            let live = Arc::new(Live::new(shared));
            // The first step starts the feed: what follows is what changes from now on.
            live.step()?;
            printer.line(out, &serde_json::json!({ "watching": true }), |w| {
                writeln!(w, "watching for changes (Ctrl-C to stop)")
            })?;
            while until.is_none_or(|t| Instant::now() < t) {
                let changes = live.step()?;
                if changes.is_empty() {
                    continue;
                }
                let at = time::OffsetDateTime::now_utc();
                printer.line(
                    out,
                    &Announced {
                        at: at.unix_timestamp() * 1000,
                        changes: &changes,
                    },
                    |w| writeln!(w, "{} {}", clock(at), said(&changes)),
                )?;
            }
            Ok(())
        })
    })
}

#[derive(serde::Serialize)]
struct Announced<'a> {
    /// Epoch milliseconds, UTC.
    at: i64,
    #[serde(flatten)]
    changes: &'a Changes,
}

fn clock(at: time::OffsetDateTime) -> String {
    format!("{:02}:{:02}:{:02}", at.hour(), at.minute(), at.second())
}

fn said(changes: &Changes) -> String {
    let names: Vec<&str> = changes.topics.iter().map(|t| t.name()).collect();
    let mut line = names.join(", ");
    if changes.resync {
        line.push_str(" (the store was out of reach: changes may have been missed)");
    }
    line
}
