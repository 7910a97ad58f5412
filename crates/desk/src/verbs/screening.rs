//! Sanctions screening: `desk lists`, `desk screen`, `desk rescreen`.

use std::io::Write;

use api::Error;

use super::{with_session, Ctx};
use crate::cli::ListsAction;
use crate::output::{progress_line, Printer};
use crate::prompt::Prompt;

pub(crate) fn lists(
    ctx: &Ctx,
    action: ListsAction,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let versions = match action {
        ListsAction::Import { dir } => {
            with_session(ctx, prompt, |slot| api::screening::import_lists(slot, &dir))?
        }
        ListsAction::Show => with_session(ctx, prompt, api::screening::list_versions)?,
    };
    printer.value(out, &versions, |w| {
        for v in &versions {
            writeln!(
                w,
                "{} {:<12} {:>6} entries {:>6} names  by {}{}",
                v.id,
                v.source,
                v.entry_count,
                v.name_count,
                v.imported_by,
                if v.active { "  (active)" } else { "" }
            )?;
        }
        Ok(())
    })
}

pub(crate) fn screen(
    ctx: &Ctx,
    name: &str,
    dob: Option<&str>,
    country: Option<&str>,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let year = match dob {
        None => None,
        Some(d) => Some(
            d.get(..4)
                .and_then(|y| y.parse::<i32>().ok())
                .ok_or_else(|| Error::invalid_input("dob", "must be a year or YYYY-MM-DD"))?,
        ),
    };
    let hits = with_session(ctx, prompt, |slot| {
        api::screening::screen_name(slot, name, year, country)
    })?;
    printer.value(out, &hits, |w| {
        if hits.is_empty() {
            writeln!(w, "no hits")?;
        }
        for h in &hits {
            writeln!(
                w,
                "{:.3}  {}  {} ({}) [{}]",
                h.score,
                h.uid,
                h.matched_name,
                h.name_kind.as_str(),
                h.programs.join(", ")
            )?;
            let aligned: Vec<String> = h
                .alignment
                .iter()
                .map(|a| match &a.list_token {
                    Some(t) => format!("{}≈{} {:.2}", a.query_token, t, a.similarity),
                    None => format!("{} unmatched", a.query_token),
                })
                .collect();
            writeln!(w, "       tokens: {}", aligned.join(", "))?;
            for adj in &h.adjustments {
                writeln!(w, "       {adj}")?;
            }
        }
        Ok(())
    })
}

pub(crate) fn rescreen(
    ctx: &Ctx,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let mut progress = progress_line(printer, err);
    let report = with_session(ctx, prompt, |slot| {
        api::screening::rescreen(slot, &mut progress)
    })?;
    printer.value(out, &report, |w| {
        writeln!(
            w,
            "screened {} applications in {:.1} s; {} with new hits ({} hits)",
            report.screened, report.seconds, report.with_new_hits, report.new_hits
        )
    })
}
