//! `desk platform`: the payment platform connection.

use std::io::Write;

use api::{Code, Error};

use super::{ask_secret, runtime, shared, with_session, with_session_asking, Ctx};
use crate::cli::PlatformAction;
use crate::output::Printer;
use crate::prompt::Prompt;

pub(crate) fn platform_verb(
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
