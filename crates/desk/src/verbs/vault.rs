//! The vault itself: info, init (the first admin), recover, backup, restore.

use std::io::Write;
use std::path::{Path, PathBuf};

use api::auth::{self, RecoverInput, SetupInput};
use api::{Error, SessionSlot};

use super::{
    ask_line, ask_new_password, ask_secret, open_data_dir, with_session, with_session_asking, Ctx,
};
use crate::cli::{KeychainAction, TeamAction};
use crate::output::Printer;
use crate::prompt::Prompt;

pub(crate) fn info(
    data_dir: Option<PathBuf>,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let dir = open_data_dir(data_dir)?;
    let info = api::app_info(&dir)?;
    printer.value(out, &info, |w| {
        writeln!(w, "{} {}", info.name, info.version)?;
        writeln!(w, "data folder: {}", info.data_dir.display())?;
        writeln!(w, "vault:       {}", info.vault)
    })
}

pub(crate) fn init(
    ctx: &Ctx,
    username: &str,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    founding(ctx, username, prompt, printer, out, |dir, input, slot| {
        auth::setup_vault(dir, input, slot, api::product_policy())
    })
}

/// A first admin's set-up (`init`, `team create`): the password asked, the recovery key and
/// the authenticator shown, its first code confirmed.
fn founding(
    ctx: &Ctx,
    username: &str,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
    create: impl FnOnce(&api::DataDir, SetupInput, &mut SessionSlot) -> api::Result<auth::SetupOutput>,
) -> Result<(), Error> {
    let dir = open_data_dir(ctx.data_dir.clone())?;
    let password = ask_new_password(prompt, "Password for the first admin: ")?;
    let mut slot = SessionSlot::new();
    let setup = create(
        &dir,
        SetupInput {
            username: username.to_string(),
            password,
        },
        &mut slot,
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

pub(crate) fn recover(
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

pub(crate) fn backup_verb(
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

pub(crate) fn backups_verb(
    ctx: &Ctx,
    folder: Option<&Path>,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let dir = api::DataDir::resolve(ctx.data_dir.as_deref())?;
    let list = with_session(ctx, prompt, |slot| {
        api::backup::list_backups(&dir, slot, folder)
    })?;
    printer.value(out, &list, |w| {
        for b in &list {
            writeln!(
                w,
                "{}  {}  {} bytes  {}",
                b.file,
                b.created_at,
                b.bytes,
                crate::output::archive_standing(b)
            )?;
        }
        Ok(())
    })
}

pub(crate) fn blocklist_verb(
    ctx: &Ctx,
    offset: u32,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let page = with_session(ctx, prompt, |slot| api::blocklist::list(slot, offset))?;
    printer.value(out, &page, |w| {
        for e in &page.entries {
            writeln!(
                w,
                "{}  {}  {}  basis {}  by {}  added {}  kept until {}{}",
                e.kind,
                e.application_id.as_deref().unwrap_or("-"),
                e.reason,
                e.legal_basis,
                e.added_by,
                crate::output::day(e.added_at),
                e.retain_until.map_or("-".into(), crate::output::day),
                if e.keyed {
                    ""
                } else {
                    "  (blind-index digest, from before the blocklist key)"
                }
            )?;
        }
        writeln!(
            w,
            "{} entries shown; new entries are kept {} years{}",
            page.entries.len(),
            page.years,
            if page.can_add {
                ""
            } else {
                "; this desk cannot add entries until an admin signs in on it"
            }
        )
    })
}

pub(crate) fn restore_verb(
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
        let code = match &ctx.code {
            Some(code) => code.clone(),
            None => ask_line(prompt, "Authenticator code: ", "authenticator code")?,
        };
        api::backup::RestoreWith::Admin {
            username,
            password,
            code,
        }
    };
    let summary = api::backup::restore(file, into, with)?;
    printer.value(out, &summary, |w| {
        writeln!(
            w,
            "Restored {} applications, {} users, {} audit entries (archive of {}) into {}; {} later erasure(s) replayed.",
            summary.applications,
            summary.users,
            summary.audit_entries,
            summary.created_at,
            into.display(),
            summary.erasures_replayed
        )?;
        match &summary.rolled_back_past {
            Some(newest) => writeln!(
                w,
                "A rollback: the archive lacks {} audit entries that a signed checkpoint beside it remembers (the newest signed by {newest}).",
                summary.audit_entries_behind
            ),
            None => Ok(()),
        }
    })
}

pub(crate) fn keychain_verb(
    ctx: &Ctx,
    action: KeychainAction,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    use api::keychain::{self, KeychainInput};
    let status = match action {
        KeychainAction::Status => with_session(ctx, prompt, keychain::keychain_status)?,
        KeychainAction::Bind | KeychainAction::Unbind => {
            let on = matches!(action, KeychainAction::Bind);
            with_session_asking(ctx, prompt, |slot, prompt| {
                // Asked again even in an agent's session: it seals your own sign-in anew.
                let password = ask_secret(prompt, "Your password again: ", "password")?;
                keychain::set_keychain_binding(slot, KeychainInput { on, password })
            })?
        }
    };
    printer.value(out, &status, |w| {
        let binding = match status.binding.as_str() {
            "on" => "on: sign-ins are bound to a desk's OS keychain",
            "off" => {
                "off (turned off by an admin): bound members are unbound at their next sign-in"
            }
            "forged" => {
                "FORGED: keyring.json holds a choice no admin signed; nothing follows from it"
            }
            _ => "off (never turned on)",
        };
        writeln!(w, "Keychain binding: {binding}")?;
        writeln!(
            w,
            "Members bound: {} of {} (the recovery key is never bound){}",
            status.bound,
            status.members,
            if status.you_bound { "; yours is" } else { "" }
        )?;
        match &status.unavailable {
            Some(why) => writeln!(w, "This desk: no usable keychain ({why})"),
            None if status.secret_here => writeln!(w, "This desk: its keychain holds the secret"),
            None => writeln!(w, "This desk: a keychain, without this vault's secret"),
        }
    })
}

/// `desk team …`: no vault is opened and no session is needed; the database credentials in
/// the URL are the authority (the owner's for `migrate`).
pub(crate) fn team_verb(
    ctx: &Ctx,
    action: TeamAction,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<(), Error> {
    match action {
        TeamAction::Create { url, username } => {
            founding(ctx, &username, prompt, printer, out, |dir, input, slot| {
                api::team::create(dir, &url, input, slot, api::product_policy())
            })?;
            printer.line(out, &serde_json::json!({ "team": true }), |w| {
                writeln!(
                    w,
                    "The team's first desk is this one. Add members, then give each new desk the join code (desk team code)."
                )
            })
        }
        TeamAction::Join { url, code } => {
            let dir = open_data_dir(ctx.data_dir.clone())?;
            let joined = api::team::join(&dir, api::team::JoinInput { url, code })?;
            printer.value(out, &joined, |w| {
                writeln!(
                    w,
                    "This desk joined the team on {}. Members an admin added sign in here.",
                    joined.store
                )
            })
        }
        TeamAction::Code => {
            let shown = with_session(ctx, prompt, api::team::join_code)?;
            printer.value(out, &shown, |w| {
                writeln!(w, "Store: {}", shown.store)?;
                writeln!(w, "Join code: {}", shown.code)?;
                writeln!(
                    w,
                    "A new desk runs: desk team join --url <the store's URL> --code <this code>"
                )
            })
        }
        TeamAction::Migrate { url } => {
            let done = api::team::migrate(&url)?;
            printer.value(out, &done, |w| {
                if done.applied.is_empty() {
                    writeln!(
                        w,
                        "{}: already at version {}; nothing to apply.",
                        done.store, done.version
                    )
                } else {
                    writeln!(
                        w,
                        "{}: applied {}; now at version {}.",
                        done.store,
                        done.applied.join(", "),
                        done.version
                    )
                }
            })
        }
        TeamAction::Check { url } => {
            let check = api::team::check(&url)?;
            printer.value(out, &check, |w| {
                writeln!(w, "Store: {}", check.store)?;
                writeln!(
                    w,
                    "Transport: {}",
                    if check.tls {
                        "TLS, server certificate verified"
                    } else {
                        "plaintext (this machine only)"
                    }
                )?;
                writeln!(w, "Desks' role: {} (cannot change the schema)", check.role)?;
                writeln!(w, "Schema: version {} of {}", check.version, check.expected)
            })
        }
    }
}
