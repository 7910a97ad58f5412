//! The verbs, one file per area. Each verb signs in (when it needs a session), calls one use
//! case of the api crate and prints what it returns; the helpers here are what they share.

pub(crate) mod audit;
pub(crate) mod boarding;
pub(crate) mod gdpr;
pub(crate) mod intake;
pub(crate) mod merchants;
pub(crate) mod platform;
pub(crate) mod review;
pub(crate) mod rules;
pub(crate) mod screening;
pub(crate) mod users;
pub(crate) mod vault;
pub(crate) mod watch;

use std::io::Write;
use std::path::{Path, PathBuf};

use api::auth::{self, SignInInput};
use api::session::Stage;
use api::{DataDir, Error, SessionSlot};

use crate::prompt::Prompt;

pub(crate) struct Ctx {
    pub(crate) data_dir: Option<PathBuf>,
    pub(crate) user: Option<String>,
    pub(crate) code: Option<String>,
    /// Inside the session agent: its signed-in session, used instead of signing in.
    pub(crate) agent: Option<std::rc::Rc<std::cell::RefCell<SessionSlot>>>,
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
pub(crate) fn with_session<T>(
    ctx: &Ctx,
    prompt: &mut dyn Prompt,
    f: impl FnOnce(&mut SessionSlot) -> Result<T, Error>,
) -> Result<T, Error> {
    with_session_asking(ctx, prompt, |slot, _| f(slot))
}

/// [`with_session`] for verbs that read more input after signing in.
pub(crate) fn with_session_asking<T>(
    ctx: &Ctx,
    prompt: &mut dyn Prompt,
    f: impl FnOnce(&mut SessionSlot, &mut dyn Prompt) -> Result<T, Error>,
) -> Result<T, Error> {
    if let Some(agent) = &ctx.agent {
        // The agent's session stays open for the next verb.
        let mut slot = agent.borrow_mut();
        return f(&mut slot, prompt);
    }
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
    let mut slot = signed_in(&dir, username, password, code)?;
    let result = f(&mut slot, prompt);
    slot.lock()?;
    result
}

/// A session signed in and past every first-sign-in step (the CLI cannot do those).
pub(crate) fn signed_in(
    dir: &DataDir,
    username: String,
    password: String,
    code: String,
) -> Result<SessionSlot, Error> {
    let mut slot = SessionSlot::new();
    let info = auth::sign_in(
        dir,
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
    Ok(slot)
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
