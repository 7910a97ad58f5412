//! `desk`: Boarding Desk from the command line.
//!
//! Argument parsing and output only; every verb calls one use case of the api crate, the same one
//! the app window calls. Output is readable by default and JSON with `--json`.
//!
//! Exit codes: 0 ok, 1 the user's error (bad arguments, bad input, unusable data folder),
//! 2 internal error.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use api::{Code, DataDir, Error};
use clap::{Parser, Subcommand};
use serde::Serialize;

pub const EXIT_OK: u8 = 0;
pub const EXIT_USER_ERROR: u8 = 1;
pub const EXIT_INTERNAL: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "desk",
    version,
    about = "Boarding Desk from the command line: the same use cases as the app window",
    after_help = "Exit codes: 0 ok, 1 user error, 2 internal error.\n\
                  The data folder is --data-dir, else $BOARDING_DESK_DATA_DIR, else the OS data dir."
)]
struct Cli {
    /// Folder holding the vault (default: $BOARDING_DESK_DATA_DIR, else the OS data dir)
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,

    /// Print machine-readable JSON instead of text (errors too, as {"error":{code,message}})
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show the version, the data folder and the vault's state
    Info,
}

/// Runs the CLI with `args` (the first is the program name) and returns the exit code.
pub fn run<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return usage_error(&args, &e, out, err),
    };
    let printer = Printer { json: cli.json };
    let result = match cli.command {
        Command::Info => info(cli.data_dir, &printer, out),
    };
    match result {
        Ok(()) => EXIT_OK,
        Err(e) => printer.error(&e, out, err),
    }
}

fn info(data_dir: Option<PathBuf>, printer: &Printer, out: &mut dyn Write) -> Result<(), Error> {
    let dir = open_data_dir(data_dir)?;
    let info = api::app_info(&dir)?;
    printer.value(out, &info, |w| {
        writeln!(w, "{} {}", info.name, info.version)?;
        writeln!(w, "data folder: {}", info.data_dir.display())?;
        writeln!(w, "vault:       {}", info.vault)
    })
}

fn open_data_dir(explicit: Option<PathBuf>) -> Result<DataDir, Error> {
    let dir = DataDir::resolve(explicit.as_deref())?;
    api::logging::init(Some(&dir), "desk", false);
    Ok(dir)
}

struct Printer {
    json: bool,
}

impl Printer {
    fn value<T: Serialize>(
        &self,
        out: &mut dyn Write,
        value: &T,
        text: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        let written = if self.json {
            serde_json::to_writer_pretty(&mut *out, value)
                .map_err(std::io::Error::from)
                .and_then(|()| writeln!(out))
        } else {
            text(out)
        };
        written.map_err(|e| Error::internal(format!("cannot write output: {}", e.kind())))
    }

    fn error(&self, e: &Error, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
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

fn usage_error(args: &[OsString], e: &clap::Error, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
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
        let first_line = e.render().to_string();
        let first_line = first_line.lines().next().unwrap_or("invalid arguments");
        let message = first_line.trim_start_matches("error: ").to_string();
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
