//! `desk`: Boarding Desk from the command line.
//!
//! Argument parsing and output only; every verb calls one use case of the api crate, the same one
//! the app window calls. Output is readable by default and JSON with `--json`.
//!
//! Exit codes: 0 ok, 1 the user's error (bad arguments, bad input, unusable data folder),
//! 2 internal error.

mod prompt;

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use api::auth::{self, RecoverInput, SetupInput, SignInInput};
use api::session::Stage;
use api::{Code, DataDir, Error, SessionSlot};
use clap::{Parser, Subcommand};
use serde::Serialize;

pub use prompt::{LinePrompt, Prompt, StdPrompt};

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

    /// Who signs in for verbs that need a session (the password is prompted or read from stdin)
    #[arg(long, global = true, value_name = "USERNAME")]
    user: Option<String>,

    /// Authenticator code for the sign-in (prompted or read from stdin when absent)
    #[arg(long, global = true, value_name = "CODE")]
    code: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show the version, the data folder and the vault's state
    Info,
    /// Create the vault and its first admin; prints the recovery key and the authenticator secret
    Init {
        /// The first admin's username
        #[arg(long)]
        username: String,
    },
    /// Manage users (admin)
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// The audit log (admin, auditor)
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Re-encrypt the vault file under a new random key (admin)
    RotateKey,
    /// Give a user a new password with the recovery key (both read from a prompt or stdin)
    Recover {
        /// Whose password to reset
        #[arg(long)]
        username: String,
    },
    /// Write an encrypted archive of the vault (admin); it opens only with an admin's password
    /// or the recovery key
    Backup { file: PathBuf },
    /// Restore an archive into an empty data folder (checked whole before anything is written);
    /// authorised by --user's password or, with --recovery-key, the recovery key (prompted or stdin)
    Restore {
        file: PathBuf,
        /// The empty folder to restore into
        #[arg(long)]
        into: PathBuf,
        #[arg(long)]
        recovery_key: bool,
    },
    /// Import complete applications from a CSV or JSON file (format: docs/IMPORT.md);
    /// exits 1 when any row was rejected, after importing the good ones
    Import {
        /// The file (.csv, or .json in Stripe's Accounts/Persons shape)
        file: PathBuf,
        /// Skip (rather than import with a warning) an application whose EIN, SSN/ITIN or bank
        /// account is already in the vault or earlier in the file
        #[arg(long)]
        skip_duplicates: bool,
    },
    /// Applications: list and show (sensitive values masked)
    Application {
        #[command(subcommand)]
        action: ApplicationAction,
    },
    /// Demo data: realistic valid applications, the same for the same seed
    Demo {
        #[command(subcommand)]
        action: DemoAction,
    },
    /// Sanctions list versions: import OFAC's CSV files (admin), show what is loaded
    Lists {
        #[command(subcommand)]
        action: ListsAction,
    },
    /// Screen a name against the loaded sanctions lists, with the reasons for each hit
    Screen {
        name: String,
        /// Year (or full date, YYYY-MM-DD) of birth
        #[arg(long)]
        dob: Option<String>,
        /// Country (ISO code or name)
        #[arg(long)]
        country: Option<String>,
    },
    /// Screen every application still in play that was not screened against the loaded lists
    Rescreen,
    /// The review queue: list, show one with its score breakdown, take, decide
    Review {
        #[command(subcommand)]
        action: ReviewAction,
    },
    /// GDPR (admin): erasure requests under AML retention, legal holds, subject access exports
    Gdpr {
        #[command(subcommand)]
        action: GdprAction,
    },
    /// AML retention (admin): the period, and the run that erases records past it
    Retention {
        #[command(subcommand)]
        action: RetentionAction,
    },
    /// Risk rules and the screening threshold (admin)
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
    /// The boarding outbox: status, retry, cancel, fix a refused field, drain it now
    Boarding {
        #[command(subcommand)]
        action: BoardingAction,
    },
    /// The payment platform connection: show, set (admin), test (admin)
    Platform {
        #[command(subcommand)]
        action: PlatformAction,
    },
    /// Boarded merchants and what the platform requires of them
    Merchants {
        #[command(subcommand)]
        action: MerchantsAction,
    },
}

#[derive(Debug, Subcommand)]
enum BoardingAction {
    /// Jobs (unfinished first) with step, attempts, next retry and last error
    Status {
        /// queued, retrying, needs_fix, done or cancelled
        #[arg(long)]
        state: Option<String>,
    },
    /// Send a waiting job now, or resume a cancelled or refused one unchanged
    Retry { job: String },
    /// Stop a job (the application is marked boarding failed)
    Cancel { job: String },
    /// Correct the field the platform refused (new value read from stdin) and send again
    Fix {
        job: String,
        #[arg(long)]
        field: String,
    },
    /// Send every due job now and wait until none is queued or retrying
    Drain {
        /// Give up waiting after this many seconds
        #[arg(long, default_value_t = 600)]
        timeout: u64,
        /// Seconds one request may take before it counts as lost (and is resent)
        #[arg(long, default_value_t = 20)]
        request_timeout: u64,
    },
}

#[derive(Debug, Subcommand)]
enum PlatformAction {
    /// The platform URL, the masked key and the write rate in force
    Show,
    /// Point at a platform (admin); the secret key is read from stdin with --key-from-stdin
    Set {
        #[arg(long)]
        url: String,
        /// Writes per second (Stripe: 100 live, 25 test mode)
        #[arg(long, default_value_t = 25.0)]
        rate: f64,
        #[arg(long)]
        key_from_stdin: bool,
    },
    /// One authenticated request to the platform (admin)
    Test,
}

#[derive(Debug, Subcommand)]
enum MerchantsAction {
    /// Boarded merchants, open requirements first
    List,
    /// Pull one merchant's status from the platform now
    Sync { application_id: String },
    /// Restrict (hold payouts), suspend (no charges), reinstate or terminate (admin); the
    /// platform is updated through the outbox
    Act {
        application_id: String,
        /// restrict, suspend, reinstate or terminate
        action: String,
        /// A reason code (the command lists them when it is wrong)
        #[arg(long)]
        reason: String,
        #[arg(long)]
        note: String,
        /// With terminate: add the EIN, owners' SSNs and bank account to the blocklist
        #[arg(long)]
        blocklist: bool,
    },
    /// Every boarded merchant (no identifiers) to stdout as CSV or JSON (admins, auditors)
    Export {
        #[arg(long, default_value = "csv")]
        format: String,
    },
    /// Set the monthly volume cap and maximum ticket (admin; blank for no limit)
    Limits {
        application_id: String,
        #[arg(long, default_value = "")]
        monthly_cap: String,
        #[arg(long, default_value = "")]
        max_ticket: String,
    },
    /// Edit a merchant's details from a JSON file holding the whole form (as `desk application
    /// show --json` prints it; masked values kept as printed keep the stored ones). Minor
    /// changes go to the platform; material ones wait for review (admin)
    Edit {
        application_id: String,
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        note: String,
    },
    /// A merchant's edits and the one waiting for review, with what blocks it
    Changes { application_id: String },
    /// Accept the change waiting for review (not its author); the platform is updated
    Accept {
        application_id: String,
        #[arg(long)]
        note: String,
    },
    /// Reject the change waiting for review; the previous details are put back
    Reject {
        application_id: String,
        #[arg(long)]
        note: String,
    },
}

#[derive(Debug, Subcommand)]
enum GdprAction {
    /// Ask to erase an application's data: recorded; refused with the reason (and the date,
    /// under retention) or done by destroying its keys
    Erase { application_id: String },
    /// Put an application on legal hold (--reason) or lift it (--lift)
    Hold {
        application_id: String,
        #[arg(long, required_unless_present = "lift")]
        reason: Option<String>,
        #[arg(long)]
        lift: bool,
    },
    /// Everything held about a subject, found by application id, EIN, SSN/ITIN or email:
    /// writes subject-….json and subject-….html (unmasked; 0600) into --out
    Export {
        /// application, ein, ssn or email
        #[arg(long)]
        by: String,
        value: String,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum RetentionAction {
    /// List (--dry-run) or erase every record past retention and not on hold
    Run {
        #[arg(long)]
        dry_run: bool,
    },
    /// Set the retention period in years (1–10; 5 by default)
    Years { years: u32 },
    /// Show the daily scheduled purge (the app runs it while the vault is open), or switch it
    /// `on` or `off` (admin)
    Schedule { state: Option<String> },
}

#[derive(Debug, Subcommand)]
enum RulesAction {
    /// Print the rule set in force (JSON: points per factor, limits, four-eyes score)
    Show,
    /// Propose a new rule set from a JSON file (checked: known factors, points 0–100, limits
    /// in range); another admin confirms it with `rules confirm risk_rules`
    Set { file: PathBuf },
    /// What a rule set in a JSON file would do to the queue (how many change band), unsaved
    Preview { file: PathBuf },
    /// The factors and what each means
    Factors,
    /// Propose a new sanctions hit threshold (0.70–0.99); another admin confirms it
    Threshold { value: f64 },
    /// Changes waiting for a second admin
    Pending,
    /// Confirm another admin's proposed change (risk_rules or screening_threshold)
    Confirm { key: String },
    /// Withdraw or reject a proposed change
    Withdraw { key: String },
}

#[derive(Debug, Subcommand)]
enum ReviewAction {
    /// Riskiest first (or --oldest); filter by band, mine, with hits
    List {
        #[arg(long)]
        band: Option<String>,
        #[arg(long)]
        mine: bool,
        #[arg(long)]
        with_hits: bool,
        #[arg(long)]
        oldest: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Score breakdown, hits and decisions of one application
    Show { id: String },
    /// Take an application for review (assign to me; --take-over someone else's)
    Take {
        id: String,
        #[arg(long)]
        take_over: bool,
    },
    /// Decide: approve | decline | request_info, with reason codes and a note
    Decide {
        id: String,
        /// approve, decline or request_info
        decision: String,
        /// Reason code (repeat for several)
        #[arg(long = "reason", required = true)]
        reasons: Vec<String>,
        #[arg(long)]
        note: String,
        /// For request_info: a form field to fix (repeat for several)
        #[arg(long = "field")]
        fields: Vec<String>,
        /// For decline: add the EIN, SSNs and bank account to the blocklist
        #[arg(long)]
        blocklist: bool,
        /// For a second approval: a false-positive disposition recorded after the first
        /// approval that you reviewed (repeat for several; `review hits` lists them)
        #[arg(long = "confirm-hit")]
        confirmed_hits: Vec<String>,
    },
    /// Add an internal note to an application (sealed; the audit log names only the note's id)
    Note {
        id: String,
        #[arg(long)]
        text: String,
    },
    /// An application's sanctions hits: the list entry each names, the score, the disposition
    Hits { id: String },
    /// Record whether a hit is the listed party (--true-match) or not (--false-positive)
    Disposition {
        id: String,
        hit: String,
        #[arg(
            long,
            conflicts_with = "false_positive",
            required_unless_present = "false_positive"
        )]
        true_match: bool,
        #[arg(long)]
        false_positive: bool,
        #[arg(long)]
        note: String,
    },
    /// Sanctions reports of every confirmed match (admins, auditors): JSON + HTML, 0600
    Report {
        /// Only this application's
        #[arg(long)]
        id: Option<String>,
        /// The folder to write both files into
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum ListsAction {
    /// Import sdn.csv/alt.csv/add.csv/sdn_comments.csv and/or cons_*.csv from a folder
    Import { dir: PathBuf },
    /// List versions: source, entries, when, by whom, active
    Show,
}

#[derive(Debug, Subcommand)]
enum ApplicationAction {
    /// Newest first; filter by status, MCC, or search a name prefix or an exact EIN
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        mcc: Option<String>,
        /// Created on or after this day (YYYY-MM-DD, UTC)
        #[arg(long, value_name = "DATE")]
        created_from: Option<String>,
        /// Created on or before this day (YYYY-MM-DD, UTC)
        #[arg(long, value_name = "DATE")]
        created_to: Option<String>,
        /// Legal name or DBA prefix, or an EIN (12-3456789)
        #[arg(long)]
        search: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One application, masked, with its history and documents
    Show { id: String },
}

#[derive(Debug, Subcommand)]
enum DemoAction {
    /// Store N demo applications in the vault (admin, underwriter)
    Seed {
        #[arg(long)]
        count: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Print N demo applications as an import CSV (no vault needed)
    Csv {
        #[arg(long)]
        count: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Debug, Subcommand)]
enum UserAction {
    /// List users with role and status
    List,
    /// Add a user; prints a one-time password they must change at first sign-in
    Add {
        username: String,
        /// admin, lead (underwriter lead: may give second approvals), underwriter or auditor
        #[arg(long)]
        role: String,
    },
    /// Disable a user (they can no longer unlock the vault)
    Disable { username: String },
    /// Re-enable a user; prints a one-time password
    Enable { username: String },
    /// Issue a new one-time password
    ResetPassword { username: String },
    /// Clear the user's authenticator; they enrol again at next sign-in
    ResetTotp { username: String },
    /// Lift a sign-in lockout
    Unlock { username: String },
}

#[derive(Debug, Subcommand)]
enum AuditAction {
    /// Check the hash chain end to end; exit 1 if it is broken
    Verify,
    /// Show the newest entries
    List {
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Write the entries between two dates (inclusive, UTC) to stdout as CSV or JSON
    Export {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long, default_value = "csv")]
        format: String,
    },
}

/// Runs the CLI with `args` (the first is the program name) and returns the exit code.
pub fn run<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    run_with(args, &mut StdPrompt, out, err)
}

/// [`run`] with answers to prompts taken from `prompt` (tests, embedding).
pub fn run_with<I, T>(
    args: I,
    prompt: &mut dyn Prompt,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8
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
    let ctx = Ctx {
        data_dir: cli.data_dir,
        user: cli.user,
        code: cli.code,
    };
    let result = match cli.command {
        Command::Info => info(ctx.data_dir, &printer, out),
        Command::Init { username } => init(&ctx, &username, prompt, &printer, out),
        Command::Recover { username } => recover(&ctx, &username, prompt, &printer, out),
        Command::Backup { file } => backup_verb(&ctx, &file, prompt, &printer, out),
        Command::Restore {
            file,
            into,
            recovery_key,
        } => restore_verb(&ctx, &file, &into, recovery_key, prompt, &printer, out),
        Command::User { action } => user(&ctx, action, prompt, &printer, out),
        Command::Audit { action } => audit(&ctx, action, prompt, &printer, out),
        Command::Import {
            file,
            skip_duplicates,
        } => import(&ctx, &file, skip_duplicates, prompt, &printer, out, err),
        Command::Application { action } => application(&ctx, action, prompt, &printer, out),
        Command::Demo { action } => demo(&ctx, action, prompt, &printer, out, err),
        Command::Lists { action } => lists(&ctx, action, prompt, &printer, out),
        Command::Screen { name, dob, country } => screen(
            &ctx,
            &name,
            dob.as_deref(),
            country.as_deref(),
            prompt,
            &printer,
            out,
        ),
        Command::Rescreen => rescreen(&ctx, prompt, &printer, out, err),
        Command::Review { action } => review(&ctx, action, prompt, &printer, out),
        Command::Boarding { action } => boarding_verb(&ctx, action, prompt, &printer, out),
        Command::Platform { action } => platform_verb(&ctx, action, prompt, &printer, out),
        Command::Merchants { action } => merchants_verb(&ctx, action, prompt, &printer, out),
        Command::Rules { action } => rules(&ctx, action, prompt, &printer, out),
        Command::Gdpr { action } => gdpr_verb(&ctx, action, prompt, &printer, out),
        Command::Retention { action } => retention_verb(&ctx, action, prompt, &printer, out),
        Command::RotateKey => {
            with_session(&ctx, prompt, api::audit_log::rotate_key).and_then(|()| {
                printer.value(out, &serde_json::json!({ "rotated": true }), |w| {
                    writeln!(w, "The vault file was re-encrypted under a new key.")
                })
            })
        }
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

struct Ctx {
    data_dir: Option<PathBuf>,
    user: Option<String>,
    code: Option<String>,
}

fn ask_secret(prompt: &mut dyn Prompt, label: &str, field: &str) -> Result<String, Error> {
    prompt
        .secret(label)
        .map_err(|_| Error::invalid_input(field, "could not be read from the terminal or stdin"))
}

fn ask_line(prompt: &mut dyn Prompt, label: &str, field: &str) -> Result<String, Error> {
    prompt
        .line(label)
        .map_err(|_| Error::invalid_input(field, "could not be read from the terminal or stdin"))
}

/// A new password: asked twice when a person is typing.
fn ask_new_password(prompt: &mut dyn Prompt, label: &str) -> Result<String, Error> {
    let password = ask_secret(prompt, label, "password")?;
    if prompt.interactive() {
        let again = ask_secret(prompt, "Repeat it: ", "password")?;
        if again != password {
            return Err(Error::invalid_input("password", "the two entries differ"));
        }
    }
    Ok(password)
}

/// Signs in as `--user` (password and code from the prompt or stdin) and runs `f`.
fn with_session<T>(
    ctx: &Ctx,
    prompt: &mut dyn Prompt,
    f: impl FnOnce(&mut SessionSlot) -> Result<T, Error>,
) -> Result<T, Error> {
    with_session_asking(ctx, prompt, |slot, _| f(slot))
}

/// [`with_session`] for verbs that read more input after signing in.
fn with_session_asking<T>(
    ctx: &Ctx,
    prompt: &mut dyn Prompt,
    f: impl FnOnce(&mut SessionSlot, &mut dyn Prompt) -> Result<T, Error>,
) -> Result<T, Error> {
    let dir = open_data_dir(ctx.data_dir.clone())?;
    let username = ctx
        .user
        .clone()
        .ok_or_else(|| Error::invalid_input("--user", "this verb needs a signed-in user"))?;
    let password = ask_secret(prompt, "Password: ", "password")?;
    let code = match &ctx.code {
        Some(code) => code.clone(),
        None => ask_line(prompt, "Authenticator code: ", "authenticator code")?,
    };
    let mut slot = SessionSlot::new();
    let info = auth::sign_in(
        &dir,
        SignInInput {
            username,
            password,
            code: Some(code),
        },
        &mut slot,
        api::product_policy(),
    )?;
    if info.stage != Stage::Ready {
        slot.lock()?;
        return Err(Error::unauthorized(
            "finish your first sign-in (new password, authenticator) in the app first",
        ));
    }
    let result = f(&mut slot, prompt);
    slot.lock()?;
    result
}

fn init(
    ctx: &Ctx,
    username: &str,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let dir = open_data_dir(ctx.data_dir.clone())?;
    let password = ask_new_password(prompt, "Password for the first admin: ")?;
    let mut slot = SessionSlot::new();
    let setup = auth::setup_vault(
        &dir,
        SetupInput {
            username: username.to_string(),
            password,
        },
        &mut slot,
        api::product_policy(),
    )?;
    let enrolment = setup
        .session
        .enrolment
        .clone()
        .ok_or_else(|| Error::internal("no enrolment after set-up"))?;
    let shown = serde_json::json!({
        "recovery_key": setup.recovery_key,
        "authenticator": { "secret": enrolment.secret, "otpauth_url": enrolment.otpauth_url },
    });
    // Shown before the code is asked for: the person needs the secret to produce one.
    printer.line(out, &shown, |w| {
        writeln!(
            w,
            "Vault created. Write down the recovery key; it is shown only this once:"
        )?;
        writeln!(w, "recovery key: {}", setup.recovery_key)?;
        writeln!(
            w,
            "Add this to your authenticator app, then enter the code it shows."
        )?;
        writeln!(w, "authenticator secret: {}", enrolment.secret)?;
        writeln!(w, "authenticator url: {}", enrolment.otpauth_url)
    })?;
    let code = match &ctx.code {
        Some(code) => code.clone(),
        None => ask_line(prompt, "Authenticator code: ", "authenticator code")?,
    };
    auth::confirm_totp(&mut slot, &code)?;
    slot.lock()?;
    printer.line(
        out,
        &serde_json::json!({ "authenticator_confirmed": true }),
        |w| {
            writeln!(
                w,
                "Authenticator confirmed. Sign in as {username} in the app or with --user."
            )
        },
    )
}

fn gdpr_verb(
    ctx: &Ctx,
    action: GdprAction,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    use api::gdpr;
    match action {
        GdprAction::Erase { application_id } => {
            let done = with_session(ctx, prompt, |slot| {
                gdpr::request_erasure(slot, &application_id)
            })?;
            printer.value(out, &done, |w| {
                writeln!(w, "{}: {}", done.outcome, done.message)
            })
        }
        GdprAction::Hold {
            application_id,
            reason,
            lift,
        } => {
            let reason = if lift { None } else { reason };
            with_session(ctx, prompt, |slot| {
                gdpr::set_legal_hold(slot, &application_id, reason.as_deref())
            })?;
            let held = !lift;
            printer.value(out, &serde_json::json!({ "held": held }), |w| {
                writeln!(
                    w,
                    "{application_id} is {}",
                    if held {
                        "on legal hold"
                    } else {
                        "no longer on hold"
                    }
                )
            })
        }
        GdprAction::Export {
            by,
            value,
            out: folder,
        } => {
            let export = with_session(ctx, prompt, |slot| gdpr::subject_export(slot, &by, &value))?;
            let written = write_both(&folder, &export.json, &export.html)?;
            printer.value(out, &written, |w| {
                writeln!(
                    w,
                    "{} application(s) exported to {}",
                    export.applications.len(),
                    written.join(" and ")
                )
            })
        }
    }
}

/// Writes an export's JSON and HTML files into `folder` (0600); returns their paths.
fn write_both(
    folder: &Path,
    json: &api::audit_log::Export,
    html: &api::audit_log::Export,
) -> Result<Vec<String>, Error> {
    let mut written = Vec::new();
    for file in [json, html] {
        let path = folder.join(&file.file_name);
        write_private(&path, &file.content)?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

/// A file only this user may read (a subject export holds unmasked KYC data).
fn write_private(path: &Path, content: &[u8]) -> Result<(), Error> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .and_then(|mut f| f.write_all(content))
        .map_err(|e| {
            Error::invalid_input(
                "out",
                &format!("cannot write {} ({})", path.display(), e.kind()),
            )
        })
}

fn retention_verb(
    ctx: &Ctx,
    action: RetentionAction,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    use api::gdpr;
    match action {
        RetentionAction::Run { dry_run } => {
            let report = with_session(ctx, prompt, |slot| gdpr::retention_run(slot, dry_run))?;
            printer.value(out, &report, |w| {
                for id in &report.due {
                    writeln!(w, "{id}")?;
                }
                writeln!(
                    w,
                    "{} past {} years of retention; {}",
                    report.due.len(),
                    report.retention_years,
                    if report.dry_run {
                        "dry run: nothing erased".to_string()
                    } else {
                        format!("{} erased", report.erased)
                    }
                )
            })
        }
        RetentionAction::Years { years } => {
            let years = with_session(ctx, prompt, |slot| gdpr::set_retention_years(slot, years))?;
            printer.value(out, &years, |w| writeln!(w, "retention: {years} years"))
        }
        RetentionAction::Schedule { state } => {
            let enabled = match state.as_deref() {
                None => None,
                Some("on") => Some(true),
                Some("off") => Some(false),
                Some(_) => return Err(Error::invalid_input("state", "must be on or off")),
            };
            let plan = with_session(ctx, prompt, |slot| match enabled {
                Some(on) => gdpr::set_retention_schedule(slot, on),
                None => gdpr::retention_schedule(slot),
            })?;
            printer.value(out, &plan, |w| {
                writeln!(
                    w,
                    "scheduled purge: {}; retention {} years; last run {}",
                    if plan.enabled { "daily" } else { "off" },
                    plan.retention_years,
                    plan.last_run.as_deref().unwrap_or("never")
                )
            })
        }
    }
}

fn backup_verb(
    ctx: &Ctx,
    file: &Path,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let summary = with_session(ctx, prompt, |slot| api::backup::backup(slot, file))?;
    printer.value(out, &summary, |w| {
        writeln!(
            w,
            "Backed up {} applications, {} users, {} audit entries to {} ({} bytes).",
            summary.applications,
            summary.users,
            summary.audit_entries,
            file.display(),
            summary.bytes
        )
    })
}

fn restore_verb(
    ctx: &Ctx,
    file: &Path,
    into: &Path,
    recovery_key: bool,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let with = if recovery_key {
        api::backup::RestoreWith::RecoveryKey(ask_secret(prompt, "Recovery key: ", "recovery key")?)
    } else {
        let username = ctx.user.clone().ok_or_else(|| {
            Error::invalid_input("user", "pass --user (an admin) or --recovery-key")
        })?;
        let password = ask_secret(prompt, "Password: ", "password")?;
        api::backup::RestoreWith::Admin { username, password }
    };
    let summary = api::backup::restore(file, into, with)?;
    printer.value(out, &summary, |w| {
        writeln!(
            w,
            "Restored {} applications, {} users, {} audit entries (archive of {}) into {}.",
            summary.applications,
            summary.users,
            summary.audit_entries,
            summary.created_at,
            into.display()
        )
    })
}

fn recover(
    ctx: &Ctx,
    username: &str,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let dir = open_data_dir(ctx.data_dir.clone())?;
    let recovery_key = ask_secret(prompt, "Recovery key: ", "recovery key")?;
    let new_password = ask_new_password(prompt, "New password: ")?;
    auth::recover(
        &dir,
        RecoverInput {
            recovery_key,
            username: username.to_string(),
            new_password,
        },
        api::product_policy(),
    )?;
    printer.value(out, &serde_json::json!({ "recovered": username }), |w| {
        writeln!(
            w,
            "Password reset. {username} enrols a new authenticator at next sign-in."
        )
    })
}

fn user(
    ctx: &Ctx,
    action: UserAction,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    use api::users;
    let issued = |out: &mut dyn Write, p: users::IssuedPassword| {
        printer.value(out, &p, |w| {
            // Shown once to the admin at the keyboard, as in the window.
            writeln!(
                w,
                "one-time password for {}: {}",
                p.user.username, p.one_time_password
            )?;
            writeln!(w, "They must change it at first sign-in.")
        })
    };
    match action {
        UserAction::List => {
            let list = with_session(ctx, prompt, users::list_users)?;
            printer.value(out, &list, |w| {
                for u in &list {
                    let status = if u.disabled {
                        "disabled"
                    } else if u.locked_until.is_some() {
                        "locked"
                    } else {
                        "active"
                    };
                    writeln!(w, "{:<24} {:<12} {}", u.username, u.role, status)?;
                }
                Ok(())
            })
        }
        UserAction::Add { username, role } => {
            let p = with_session(ctx, prompt, |slot| {
                users::create_user(slot, users::NewUserInput { username, role })
            })?;
            issued(out, p)
        }
        UserAction::Enable { username } => {
            let p = with_session(ctx, prompt, |slot| {
                let id = users::find_user(slot, &username)?.id;
                users::set_user_disabled(slot, &id, false)?
                    .ok_or_else(|| Error::internal("no one-time password issued"))
            })?;
            issued(out, p)
        }
        UserAction::ResetPassword { username } => {
            let p = with_session(ctx, prompt, |slot| {
                let id = users::find_user(slot, &username)?.id;
                users::reset_password(slot, &id)
            })?;
            issued(out, p)
        }
        UserAction::Disable { username } => {
            let user = with_session(ctx, prompt, |slot| {
                let id = users::find_user(slot, &username)?.id;
                users::set_user_disabled(slot, &id, true)?;
                users::find_user(slot, &username)
            })?;
            printer.value(out, &user, |w| {
                writeln!(w, "{} is disabled.", user.username)
            })
        }
        UserAction::ResetTotp { username } => {
            let user = with_session(ctx, prompt, |slot| {
                let id = users::find_user(slot, &username)?.id;
                users::reset_totp(slot, &id)
            })?;
            printer.value(out, &user, |w| {
                writeln!(
                    w,
                    "{} enrols a new authenticator at next sign-in.",
                    user.username
                )
            })
        }
        UserAction::Unlock { username } => {
            let user = with_session(ctx, prompt, |slot| {
                let id = users::find_user(slot, &username)?.id;
                users::unlock_user(slot, &id)
            })?;
            printer.value(out, &user, |w| {
                writeln!(w, "{} may sign in again.", user.username)
            })
        }
    }
}

fn audit(
    ctx: &Ctx,
    action: AuditAction,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    match action {
        AuditAction::Verify => {
            let report = with_session(ctx, prompt, api::audit_log::verify_audit)?;
            printer.value(out, &report, |w| match report.broken_at {
                None => writeln!(
                    w,
                    "intact: {} entries, every link checks out",
                    report.entries
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
        AuditAction::List { limit } => {
            let page = with_session(ctx, prompt, |slot| {
                api::audit_log::list_audit(slot, None, limit)
            })?;
            printer.value(out, &page.entries, |w| {
                for e in &page.entries {
                    writeln!(
                        w,
                        "{:>6} {} {:<16} {:<22} {:<16} {}",
                        e.seq,
                        e.at,
                        e.actor,
                        e.action,
                        e.target.as_deref().unwrap_or("-"),
                        e.outcome
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

/// A progress line on stderr, rewritten in place (text mode only).
fn progress_line<'a>(
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

fn import(
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

fn application(
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

fn demo(
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

fn lists(
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

fn screen(
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

fn rescreen(
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

fn review(
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
                filter: api::vault_review::QueueFilter {
                    band,
                    with_hits,
                    sort: if oldest {
                        api::vault_review::QueueSort::Age
                    } else {
                        api::vault_review::QueueSort::Risk
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
                        row.risk_band.as_deref().unwrap_or("-"),
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
                        blocklist,
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
fn print_hits(w: &mut dyn Write, hits: &[api::vault_screening::StoredHit]) -> std::io::Result<()> {
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

fn rules(
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

fn open_data_dir(explicit: Option<PathBuf>) -> Result<DataDir, Error> {
    let dir = DataDir::resolve(explicit.as_deref())?;
    api::logging::init(Some(&dir), "desk", false);
    Ok(dir)
}

/// Runs an async use case that shares the session with background work.
fn shared<T>(
    slot: &mut SessionSlot,
    f: impl FnOnce(std::sync::Arc<std::sync::Mutex<SessionSlot>>) -> Result<T, Error>,
) -> Result<T, Error> {
    let shared = std::sync::Arc::new(std::sync::Mutex::new(std::mem::take(slot)));
    let out = f(std::sync::Arc::clone(&shared));
    if let Ok(mutex) = std::sync::Arc::try_unwrap(shared) {
        *slot = mutex
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
    }
    out
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("could not start the async runtime: {e}")))
}

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

fn boarding_verb(
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
                            lease: request_timeout * 2 + std::time::Duration::from_secs(1),
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
                )
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

fn platform_verb(
    ctx: &Ctx,
    action: PlatformAction,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    use api::boarding as b;
    match action {
        PlatformAction::Show => {
            let p = with_session(ctx, prompt, b::platform_settings)?;
            printer.value(out, &p, |w| {
                writeln!(
                    w,
                    "{}  key {}  {} writes/s{}",
                    p.url,
                    p.key_hint,
                    p.rate_per_second,
                    if p.is_sandbox {
                        "  (local sandbox)"
                    } else {
                        ""
                    }
                )
            })
        }
        PlatformAction::Set {
            url,
            rate,
            key_from_stdin,
        } => {
            let p = with_session_asking(ctx, prompt, |slot, prompt| {
                let secret_key = if key_from_stdin {
                    Some(ask_secret(prompt, "Secret key: ", "secret key")?)
                } else {
                    None
                };
                b::set_platform(
                    slot,
                    b::SetPlatformInput {
                        url,
                        secret_key,
                        rate_per_second: rate,
                    },
                )
            })?;
            printer.value(out, &p, |w| {
                writeln!(w, "platform set: {}  key {}", p.url, p.key_hint)
            })
        }
        PlatformAction::Test => {
            let t = with_session(ctx, prompt, |slot| {
                shared(slot, |shared| {
                    runtime()?.block_on(b::test_connection(&shared))
                })
            })?;
            printer.value(out, &t, |w| {
                writeln!(w, "{} ({} ms): {}", t.url, t.latency_ms, t.message)
            })?;
            if t.ok {
                Ok(())
            } else {
                Err(Error::new(Code::Unavailable, t.message.clone()))
            }
        }
    }
}

fn merchants_verb(
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
                        blocklist,
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

struct Printer {
    json: bool,
}

impl Printer {
    /// One value: pretty JSON with `--json`, else the text `text` writes.
    fn value<T: Serialize>(
        &self,
        out: &mut dyn Write,
        value: &T,
        text: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        self.write(out, value, true, text)
    }

    /// One JSON document per line, flushed (for verbs that print before asking for more).
    fn line<T: Serialize>(
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
