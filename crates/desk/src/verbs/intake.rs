//! Applications coming in: `desk import`, `desk application`, `desk demo`.

use std::io::Write;

use api::{Code, Error};

use super::{with_session, Ctx};
use crate::cli::{ApplicationAction, DemoAction};
use crate::output::{progress_line, Printer};
use crate::prompt::Prompt;

fn print_report(
    printer: &Printer,
    out: &mut dyn Write,
    report: &api::intake::import::ImportReport,
) -> Result<(), Error> {
    printer.value(out, report, |w| {
        writeln!(
            w,
            "imported {} of {} applications; {} rejected",
            report.imported, report.rows, report.rejected_rows
        )?;
        for e in &report.errors {
            writeln!(w, "row {}, {}: {}", e.row, e.field, e.reason)?;
        }
        if report.errors_not_listed > 0 {
            writeln!(w, "…and {} more problems", report.errors_not_listed)?;
        }
        for x in &report.warnings {
            writeln!(
                w,
                "row {}: {}{}",
                x.row,
                x.message,
                if x.skipped { " — skipped" } else { "" }
            )?;
        }
        if report.warnings_not_listed > 0 {
            writeln!(
                w,
                "…and {} more possible duplicates",
                report.warnings_not_listed
            )?;
        }
        Ok(())
    })?;
    if report.rejected_rows > 0 {
        Err(Error::new(
            Code::InvalidInput,
            format!("{} rows were rejected", report.rejected_rows),
        ))
    } else {
        Ok(())
    }
}

pub(crate) fn import(
    ctx: &Ctx,
    file: &std::path::Path,
    skip_duplicates: bool,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    use api::intake::import::{import_file_with, Duplicates};
    let mut progress = progress_line(printer, err);
    let duplicates = if skip_duplicates {
        Duplicates::Skip
    } else {
        Duplicates::Warn
    };
    let report = with_session(ctx, prompt, |slot| {
        import_file_with(slot, file, duplicates, &mut progress)
    })?;
    print_report(printer, out, &report)
}

pub(crate) fn application(
    ctx: &Ctx,
    action: ApplicationAction,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    use api::intake;
    match action {
        ApplicationAction::List {
            status,
            mcc,
            created_from,
            created_to,
            search,
            limit,
        } => {
            let query = intake::ListQuery {
                status,
                mcc,
                created_from,
                created_to,
                search,
                limit: Some(limit),
                ..intake::ListQuery::default()
            };
            let page = with_session(ctx, prompt, |slot| intake::list_applications(slot, &query))?;
            printer.value(out, &page, |w| {
                let more = if page.total_exact { "" } else { "+" };
                writeln!(w, "{}{more} matching", page.total)?;
                for a in &page.items {
                    writeln!(w, "{}  {:<15} {}  {}", a.id, a.status, a.mcc, a.legal_name)?;
                }
                Ok(())
            })
        }
        ApplicationAction::Show { id } => {
            let view = with_session(ctx, prompt, |slot| intake::get_application(slot, &id))?;
            printer.value(out, &view, |w| {
                let b = &view.form.business;
                writeln!(w, "{}  {}", view.summary.id, view.summary.status)?;
                writeln!(w, "legal name: {}", b.legal_name)?;
                writeln!(w, "DBA:        {}", b.dba)?;
                writeln!(w, "entity:     {}", b.entity_type)?;
                writeln!(w, "EIN:        {}", b.ein)?;
                writeln!(w, "MCC:        {}", b.mcc)?;
                for p in &view.form.people {
                    let role = if p.is_control { "control" } else { "owner" };
                    writeln!(
                        w,
                        "person:     {} {} ({role}, {}%) SSN {}",
                        p.first_name, p.last_name, p.ownership_percent, p.ssn
                    )?;
                }
                writeln!(
                    w,
                    "bank:       {} {}",
                    view.form.bank.routing_number, view.form.bank.account_number
                )?;
                for d in &view.documents {
                    writeln!(
                        w,
                        "document:   {} {} ({} bytes)",
                        d.kind, d.file_name, d.size
                    )?;
                }
                for m in &view.missing {
                    writeln!(w, "missing:    {}: {}", m.field, m.reason)?;
                }
                Ok(())
            })
        }
    }
}

pub(crate) fn demo(
    ctx: &Ctx,
    action: DemoAction,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    match action {
        DemoAction::Csv { count, seed } => {
            let csv = api::intake::demo::csv(count, seed);
            out.write_all(&csv)
                .and_then(|()| out.flush())
                .map_err(|e| Error::internal(format!("cannot write output: {}", e.kind())))
        }
        DemoAction::Seed { count, seed } => {
            let mut progress = progress_line(printer, err);
            let report = with_session(ctx, prompt, |slot| {
                api::intake::demo::seed(slot, count, seed, &mut progress)
            })?;
            print_report(printer, out, &report)
        }
    }
}
