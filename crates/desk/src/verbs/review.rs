//! `desk review`: the queue, decisions, notes, sanctions hits and reports.

use std::io::Write;

use api::Error;

use super::{with_session, write_both, Ctx};
use crate::cli::ReviewAction;
use crate::output::Printer;
use crate::prompt::Prompt;

pub(crate) fn review(
    ctx: &Ctx,
    action: ReviewAction,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    use api::review as r;
    match action {
        ReviewAction::List {
            band,
            mine,
            with_hits,
            oldest,
            limit,
        } => {
            let query = r::QueueQuery {
                filter: api::views::QueueFilter {
                    band,
                    with_hits,
                    sort: if oldest {
                        api::views::QueueSort::Age
                    } else {
                        api::views::QueueSort::Risk
                    },
                    ..Default::default()
                },
                mine,
                limit: Some(limit),
                offset: None,
            };
            let page = with_session(ctx, prompt, |slot| r::queue(slot, query))?;
            printer.value(out, &page, |w| {
                writeln!(
                    w,
                    "{}{} in the queue",
                    page.total,
                    if page.total_exact { "" } else { "+" }
                )?;
                for row in &page.items {
                    writeln!(
                        w,
                        "{}  {:>3} {:<6}  {:<10} {:<10} hits {}  {}",
                        row.id,
                        row.risk_score.map_or("-".into(), |s| s.to_string()),
                        row.risk_band.map_or("-", |b| b.as_str()),
                        row.status,
                        row.assignee.as_deref().unwrap_or("-"),
                        row.open_hits,
                        row.legal_name
                    )?;
                }
                Ok(())
            })
        }
        ReviewAction::Show { id } => {
            let view = with_session(ctx, prompt, |slot| r::review_view(slot, &id))?;
            printer.value(out, &view, |w| {
                writeln!(
                    w,
                    "{}  {}  {}",
                    view.row.id, view.row.status, view.row.legal_name
                )?;
                if let Some(a) = &view.assessment {
                    writeln!(
                        w,
                        "risk {} ({}), recommendation {}{}",
                        a.score,
                        a.band,
                        a.recommendation,
                        if a.four_eyes { ", four-eyes" } else { "" }
                    )?;
                    for f in a.factors.as_array().into_iter().flatten() {
                        writeln!(
                            w,
                            "  +{:<3} {:<28} {}",
                            f["points"],
                            f["code"].as_str().unwrap_or(""),
                            f["detail"].as_str().unwrap_or("")
                        )?;
                    }
                }
                for d in &view.decisions {
                    writeln!(w, "decision: {} by {}: {}", d.kind, d.actor, d.note)?;
                }
                for n in &view.notes {
                    writeln!(w, "note by {}: {}", n.author, n.text)?;
                }
                Ok(())
            })
        }
        ReviewAction::Take { id, take_over } => {
            let row = with_session(ctx, prompt, |slot| r::assign_to_me(slot, &id, take_over))?;
            printer.value(out, &row, |w| {
                writeln!(
                    w,
                    "{} is in review, assigned to {}",
                    row.id,
                    row.assignee.as_deref().unwrap_or("-")
                )
            })
        }
        ReviewAction::Decide {
            id,
            decision,
            reasons,
            note,
            fields,
            blocklist,
            confirmed_hits,
        } => {
            let outcome = with_session(ctx, prompt, |slot| {
                let version = r::review_view(slot, &id)?.row.version;
                r::decide(
                    slot,
                    r::DecideInput {
                        id: id.clone(),
                        version,
                        decision,
                        reasons,
                        note,
                        fields,
                        blocklist: blocklist.is_some(),
                        blocklist_basis: blocklist,
                        confirmed_hits,
                    },
                )
            })?;
            printer.value(out, &outcome, |w| {
                if outcome.awaiting_second_approval {
                    writeln!(
                        w,
                        "first approval recorded; an underwriter lead or an admin must give the second"
                    )
                } else {
                    writeln!(w, "{id} is now {}", outcome.status)
                }
            })
        }
        ReviewAction::Note { id, text } => {
            let notes = with_session(ctx, prompt, |slot| r::add_note(slot, &id, &text))?;
            printer.value(out, &notes, |w| {
                writeln!(w, "{} note(s) on {id}", notes.len())
            })
        }
        ReviewAction::Hits { id } => {
            let hits = with_session(ctx, prompt, |slot| api::screening::hits(slot, &id))?;
            printer.value(out, &hits, |w| print_hits(w, &hits))
        }
        ReviewAction::Disposition {
            id,
            hit,
            true_match,
            false_positive: _,
            note,
        } => {
            let disposition = if true_match {
                "true_match"
            } else {
                "false_positive"
            };
            let hits = with_session(ctx, prompt, |slot| {
                api::screening::dispose_hit_of(slot, &id, &hit, disposition, &note)
            })?;
            printer.value(out, &hits, |w| print_hits(w, &hits))
        }
        ReviewAction::Report { id, out: folder } => {
            let export = with_session(ctx, prompt, |slot| {
                api::sanctions_report::export(slot, id.as_deref())
            })?;
            let written = write_both(&folder, &export.json, &export.html)?;
            printer.value(out, &written, |w| {
                writeln!(
                    w,
                    "{} report(s) written to {}",
                    export.reports,
                    written.join(" and ")
                )
            })
        }
    }
}

/// One line a hit (`open`, `true match by uma`…) and the list entry it names.
fn print_hits(w: &mut dyn Write, hits: &[api::views::StoredHit]) -> std::io::Result<()> {
    if hits.is_empty() {
        return writeln!(w, "no sanctions hits");
    }
    for h in hits {
        let state = match (&h.disposition, &h.disposed_by) {
            (Some(d), Some(by)) => format!("{} by {by}", d.replace('_', " ")),
            (Some(d), None) => d.replace('_', " "),
            _ => "OPEN".into(),
        };
        writeln!(
            w,
            "{}  {}  {:.2}  {}  {}  [{state}]",
            h.id,
            h.list_uid,
            h.score,
            h.subject,
            h.detail["matched_name"].as_str().unwrap_or("")
        )?;
        if let Some(e) = &h.entry {
            let list = |k: &str| {
                e[k].as_array()
                    .map(|a| {
                        a.iter()
                            .map(|v| {
                                v.as_str()
                                    .map_or_else(|| v["text"].to_string(), str::to_string)
                            })
                            .collect::<Vec<_>>()
                            .join("; ")
                    })
                    .unwrap_or_default()
            };
            writeln!(w, "    programs: {}", list("programs"))?;
            writeln!(w, "    names: {}", list("names"))?;
            writeln!(
                w,
                "    born: {}  at: {}",
                list("dobs"),
                list("places_of_birth")
            )?;
            writeln!(w, "    remarks: {}", e["remarks"].as_str().unwrap_or(""))?;
        }
    }
    Ok(())
}
