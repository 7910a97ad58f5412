//! `desk`: Boarding Desk from the command line.
//!
//! Argument parsing and output only; every verb calls one use case of the api crate, the same one
//! the app window calls. Output is readable by default and JSON with `--json`.
//!
//! Exit codes: 0 ok, 1 the user's error (bad arguments, bad input, unusable data folder),
//! 2 internal error.

#[cfg(unix)]
mod agent;
mod cli;
mod output;
mod prompt;
mod verbs;

use std::ffi::OsString;
use std::io::Write;

use clap::Parser;

use cli::{Cli, Command, TeamAction};
use output::{usage_error, Printer};
use verbs::audit::audit;
use verbs::boarding::boarding_verb;
use verbs::gdpr::{gdpr_verb, retention_verb};
use verbs::intake::{application, demo, import};
use verbs::merchants::merchants_verb;
use verbs::platform::platform_verb;
use verbs::review::review;
use verbs::rules::rules;
use verbs::screening::{lists, rescreen, screen};
use verbs::users::user;
use verbs::vault::{
    backup_verb, backups_verb, blocklist_verb, info, init, keychain_verb, recover, restore_verb,
    team_verb,
};
use verbs::watch::watch;
use verbs::{with_session, Ctx};

pub use prompt::{LinePrompt, Prompt, StdPrompt};

pub const EXIT_OK: u8 = 0;
pub const EXIT_USER_ERROR: u8 = 1;
pub const EXIT_INTERNAL: u8 = 2;

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
    let (cli, printer, ctx) = match parse(&args, None) {
        Ok(parsed) => parsed,
        Err(e) => return usage_error(&args, &e, out, err),
    };
    #[cfg(unix)]
    if needs_session(&cli.command) {
        if let Some(code) = agent::forward(&ctx, &args, &cli.command, prompt, out, err) {
            return code;
        }
    }
    dispatch(cli.command, ctx, printer, prompt, out, err)
}

/// The command line parsed into its verb (options taken out), how to print, and the context
/// verbs run in (`agent`: the session agent's own session).
fn parse(
    args: &[OsString],
    agent: Option<std::rc::Rc<std::cell::RefCell<api::SessionSlot>>>,
) -> Result<(Cli, Printer, Ctx), clap::Error> {
    let mut cli = Cli::try_parse_from(args)?;
    let printer = Printer { json: cli.json };
    let ctx = Ctx {
        data_dir: cli.data_dir.take(),
        user: cli.user.take(),
        code: cli.code.take(),
        agent,
    };
    Ok((cli, printer, ctx))
}

/// Verbs that sign in (and so go to a running session agent instead). `lock` too: it is the
/// agent's to answer. Not `watch`: it runs for as long as asked, and the agent answers one verb
/// at a time, so it signs in itself.
fn needs_session(command: &Command) -> bool {
    !matches!(
        command,
        Command::Info
            | Command::Init { .. }
            | Command::Recover { .. }
            | Command::Restore { .. }
            | Command::Unlock
            | Command::SessionAgent
            | Command::Watch { .. }
            | Command::Team {
                action: TeamAction::Migrate { .. }
                    | TeamAction::Check { .. }
                    | TeamAction::Create { .. }
                    | TeamAction::Join { .. }
            }
    )
}

/// Runs one verb for the session agent, on its signed-in session (no prompt can be answered).
#[cfg(unix)]
pub(crate) fn run_on(
    args: &[String],
    input: &[String],
    session: std::rc::Rc<std::cell::RefCell<api::SessionSlot>>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    let (cli, printer, ctx) = match parse(&args, Some(session)) {
        Ok(parsed) => parsed,
        Err(e) => return usage_error(&args, &e, out, err),
    };
    // What the client read for the verb (its lines), else nothing: the agent has no terminal.
    let lines = zeroize::Zeroizing::new(input.iter().map(|l| format!("{l}\n")).collect::<String>());
    let mut given = LinePrompt(std::io::Cursor::new(lines.as_bytes()));
    dispatch(cli.command, ctx, printer, &mut given, out, err)
}

fn dispatch(
    command: Command,
    ctx: Ctx,
    printer: Printer,
    prompt: &mut dyn Prompt,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let result = match command {
        Command::Info => info(ctx.data_dir, &printer, out),
        Command::Init { username } => init(&ctx, &username, prompt, &printer, out),
        Command::Recover { username } => recover(&ctx, &username, prompt, &printer, out),
        Command::Backup { file } => backup_verb(&ctx, &file, prompt, &printer, out),
        Command::Backups { folder } => backups_verb(&ctx, folder.as_deref(), prompt, &printer, out),
        Command::Blocklist { offset } => blocklist_verb(&ctx, offset, prompt, &printer, out),
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
        Command::Watch { seconds } => watch(&ctx, seconds, prompt, &printer, out),
        Command::Rules { action } => rules(&ctx, action, prompt, &printer, out),
        Command::Gdpr { action } => gdpr_verb(&ctx, action, prompt, &printer, out),
        Command::Retention { action } => retention_verb(&ctx, action, prompt, &printer, out),
        #[cfg(unix)]
        Command::Unlock => match agent::unlock(&ctx, prompt, &printer, out) {
            Ok(code) => return code,
            Err(e) => Err(e),
        },
        #[cfg(unix)]
        Command::SessionAgent => return agent::serve(&ctx, &printer),
        #[cfg(not(unix))]
        Command::Unlock | Command::SessionAgent => Err(api::Error::invalid_input(
            "unlock",
            "the session agent needs a Unix socket",
        )),
        // Reached only when no agent answered.
        Command::Lock => printer.value(out, &serde_json::json!({ "locked": false }), |w| {
            writeln!(w, "No session agent is running.")
        }),
        Command::RotateRecoveryKey { split } => with_session(&ctx, prompt, |slot| {
            api::auth::rotate_recovery_key(slot, split)
        })
        .and_then(|new| {
            printer.value(
                out,
                &serde_json::json!({
                    "recovery_key": new.recovery_key,
                    "shares": new.shares,
                    "threshold": new.threshold,
                }),
                |w| match (&new.recovery_key, new.threshold) {
                    (Some(key), _) => {
                        writeln!(
                            w,
                            "New recovery key (shown once; the old one no longer works):"
                        )?;
                        writeln!(w, "{key}")
                    }
                    (None, threshold) => {
                        writeln!(
                            w,
                            "New recovery key, split: any {} of these {} shares give it back (shown once; give each to one admin; the old key no longer works):",
                            threshold.unwrap_or(0),
                            new.shares.len()
                        )?;
                        for (i, share) in new.shares.iter().enumerate() {
                            writeln!(w, "share {}: {share}", i + 1)?;
                        }
                        Ok(())
                    }
                },
            )
        }),
        Command::Keychain { action } => keychain_verb(&ctx, action, prompt, &printer, out),
        Command::Team { action } => team_verb(&ctx, action, prompt, &printer, out),
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
