//! `desk user`: the users and their passwords, authenticators and lockouts.

use std::io::Write;

use api::Error;

use super::{with_session, Ctx};
use crate::cli::UserAction;
use crate::output::Printer;
use crate::prompt::Prompt;

pub(crate) fn user(
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
                    let keys = match u.keys {
                        api::views::KeyStatus::Own => "",
                        api::views::KeyStatus::Legacy => {
                            "  (on the pre-upgrade shared key: moves at next sign-in or reset-password)"
                        }
                        api::views::KeyStatus::None if !u.disabled => {
                            "  (no key pair since a key rotation: reset-password)"
                        }
                        api::views::KeyStatus::None => "",
                    };
                    writeln!(w, "{:<24} {:<12} {status}{keys}", u.username, u.role)?;
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
            let (user, rewrapped) = with_session(ctx, prompt, |slot| {
                let id = users::find_user(slot, &username)?.id;
                users::set_user_disabled(slot, &id, true)?;
                // The rotation's re-wrap, unit by unit (the window runs it in the background),
                // its progress on stderr.
                let mut units = 0u32;
                loop {
                    let left = api::rewrap::rewrap_step(slot, api::rewrap::REWRAP_BATCH)?;
                    units += 1;
                    if left == 0 {
                        break;
                    }
                    eprintln!("re-wrapping record keys: {left} left");
                }
                Ok((users::find_user(slot, &username)?, units))
            })?;
            printer.value(out, &user, |w| {
                writeln!(
                    w,
                    "{} is disabled; every class key they held was rotated and the record keys re-wrapped ({rewrapped} unit(s)).",
                    user.username
                )
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
