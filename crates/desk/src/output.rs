//! Printing: text by default, JSON with `--json` (errors too), progress on stderr, and the
//! exit code of an error.

use std::ffi::OsString;
use std::io::Write;

use api::{Code, Error};
use serde::Serialize;

use crate::{EXIT_INTERNAL, EXIT_OK, EXIT_USER_ERROR};

pub(crate) struct Printer {
    pub(crate) json: bool,
}

impl Printer {
    /// One value: pretty JSON with `--json`, else the text `text` writes.
    pub(crate) fn value<T: Serialize>(
        &self,
        out: &mut dyn Write,
        value: &T,
        text: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        self.write(out, value, true, text)
    }

    /// One JSON document per line, flushed (for verbs that print before asking for more).
    pub(crate) fn line<T: Serialize>(
        &self,
        out: &mut dyn Write,
        value: &T,
        text: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        self.write(out, value, false, text)
    }

    fn write<T: Serialize>(
        &self,
        out: &mut dyn Write,
        value: &T,
        pretty: bool,
        text: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        let written = if self.json {
            let json = if pretty {
                serde_json::to_writer_pretty(&mut *out, value)
            } else {
                serde_json::to_writer(&mut *out, value)
            };
            json.map_err(std::io::Error::from)
                .and_then(|()| writeln!(out))
        } else {
            text(out)
        }
        .and_then(|()| out.flush());
        written.map_err(|e| Error::internal(format!("cannot write output: {}", e.kind())))
    }

    pub(crate) fn error(&self, e: &Error, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
        // Output failures here have nowhere left to be reported; the exit code still tells.
        if self.json {
            let _ = writeln!(out, "{}", serde_json::json!({ "error": e }));
        } else {
            let _ = writeln!(err, "error: {}", e.message());
        }
        exit_code(e.code())
    }
}

fn exit_code(code: Code) -> u8 {
    if code.is_user_error() {
        EXIT_USER_ERROR
    } else {
        EXIT_INTERNAL
    }
}

pub(crate) fn usage_error(
    args: &[OsString],
    e: &clap::Error,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = write!(out, "{}", e.render());
        return EXIT_OK;
    }
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = write!(err, "{}", e.render());
        return EXIT_USER_ERROR;
    }
    if args.iter().any(|a| a == "--json") {
        // clap's text is "error: what" + indented details + a usage block; keep what and the
        // details ("the following required arguments were not provided: --reason <REASONS>").
        let rendered = e.render().to_string();
        let message = rendered
            .lines()
            .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
            .trim_start_matches("error: ")
            .to_string();
        let message = if message.is_empty() {
            "invalid arguments".to_string()
        } else {
            message
        };
        let _ = writeln!(
            out,
            "{}",
            serde_json::json!({ "error": Error::new(Code::InvalidInput, message) })
        );
    } else {
        let _ = write!(err, "{}", e.render());
    }
    EXIT_USER_ERROR
}

/// A progress line on stderr, rewritten in place (text mode only).
pub(crate) fn progress_line<'a>(
    printer: &Printer,
    err: &'a mut dyn Write,
) -> impl FnMut(api::intake::import::Progress) + 'a {
    let show = !printer.json;
    move |p| {
        if show && p.total > 0 {
            let _ = write!(err, "\r{}/{} rows", p.done, p.total);
            if p.done == p.total {
                let _ = writeln!(err);
            }
            let _ = err.flush();
        }
    }
}

/// What an archive in a backups listing is, in words.
pub(crate) fn archive_standing(b: &api::views::BackupFile) -> String {
    if let Some(problem) = &b.problem {
        return format!("not listed: {problem}");
    }
    if !b.before_rotation && b.stale_slots == 0 && !b.old_recovery_key {
        return "current keys".into();
    }
    let mut opens = Vec::new();
    if b.stale_slots > 0 {
        opens.push(format!(
            "{} password(s) no longer in use (users removed or reset since)",
            b.stale_slots
        ));
    }
    if b.old_recovery_key {
        opens.push("the replaced recovery key".into());
    }
    let head = if b.before_rotation {
        "BEFORE A KEY ROTATION"
    } else {
        "older keys"
    };
    if opens.is_empty() {
        head.into()
    } else {
        format!("{head}: still opens with {}", opens.join(" and "))
    }
}

/// Epoch milliseconds as a UTC day (`YYYY-MM-DD`).
pub(crate) fn day(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .map(|t| t.date().to_string())
        .unwrap_or_else(|_| "-".into())
}
