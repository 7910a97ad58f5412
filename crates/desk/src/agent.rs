//! `desk unlock` / `desk lock`: a short-lived session agent for scripts (issue 16).
//!
//! `desk unlock` signs in once (password and code, as any verb) and leaves a background process
//! holding that session, listening on `desk.sock` in the data folder — a Unix socket created
//! 0600 in the 0700 folder, whose peer must be the same user. While it runs, every verb that
//! needs a session is sent to it instead of asking for a password and a new TOTP code; the
//! agent runs the verb on its session and returns its output and exit code. It stops on
//! `desk lock`, when the session's idle limit passes without a verb (as in the window), when
//! the machine goes to sleep or the desktop session or screen locks (as the window does), or
//! when its user is disabled; its keys go with it. A verb that asks for more input after signing in
//! (a platform key, say) cannot be answered through the agent: run it after `desk lock`.

use std::cell::RefCell;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::rc::Rc;
use std::time::Duration;

use api::{DataDir, Error, SessionSlot};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::output::Printer;
use crate::prompt::{LinePrompt, Prompt};
use crate::verbs::Ctx;

pub(crate) const SOCKET: &str = "desk.sock";
/// A request larger than this is not a verb's arguments.
const MAX_REQUEST: u64 = 1 << 20;
const READY: &str = "ready";

#[derive(Serialize, Deserialize)]
struct Request {
    /// `--user` as the caller gave it: a verb for another user is not run on this session.
    user: Option<String>,
    /// The caller's working folder: relative paths in `args` mean what they mean there.
    cwd: PathBuf,
    args: Vec<String>,
    /// Answers the client read for a verb that asks after signing in (the password again, for
    /// `keychain bind`/`unbind`): the agent has no terminal. Over this user's 0600 socket only.
    #[serde(default)]
    input: Vec<String>,
}

impl Drop for Request {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.input.iter_mut().for_each(Zeroize::zeroize);
    }
}

#[derive(Serialize, Deserialize)]
struct Response {
    /// The verb was not run (another user's verb): sign in as usual.
    #[serde(default)]
    declined: bool,
    code: u8,
    stdout: String,
    stderr: String,
}

fn socket_path(dir: &Path) -> PathBuf {
    dir.join(SOCKET)
}

/// The client side: sends `args` to a running agent of this data folder. `None` when no agent
/// answers, when what answers is not this user's, or when the agent declines (another user's
/// verb): the verb then runs as usual. Once the request is sent, the agent's answer is final —
/// a lost answer is an error, never a second run of the verb here.
pub(crate) fn forward(
    ctx: &Ctx,
    args: &[OsString],
    command: &crate::cli::Command,
    prompt: &mut dyn Prompt,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Option<u8> {
    let dir = DataDir::resolve(ctx.data_dir.as_deref()).ok()?;
    let path = socket_path(dir.path());
    let mut stream = UnixStream::connect(&path).ok()?;
    // Only an agent of this user, on a socket this user owns, gets the verb.
    let me = rustix::process::getuid();
    let owner_ok = {
        use std::os::unix::fs::MetadataExt;
        std::fs::symlink_metadata(&path).is_ok_and(|m| m.uid() == me.as_raw())
    };
    let peer_ok = rustix::net::sockopt::socket_peercred(&stream).is_ok_and(|c| c.uid == me);
    if !(owner_ok && peer_ok) {
        return None;
    }
    let asks_password = matches!(
        command,
        crate::cli::Command::Keychain {
            action: crate::cli::KeychainAction::Bind | crate::cli::KeychainAction::Unbind,
        }
    );
    // The agent may decline a verb that names a --user (another user's): the password is read
    // only for a verb it always takes, and with --user the verb signs in here itself.
    if asks_password && ctx.user.is_some() {
        return None;
    }
    let input = if asks_password {
        vec![prompt.secret("Your password again: ").ok()?]
    } else {
        Vec::new()
    };
    let request = Request {
        input,
        user: ctx.user.clone(),
        cwd: std::env::current_dir().ok()?,
        args: args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
    };
    // Room enough that writing the request (the password, for `keychain`) never reallocates
    // and leaves an unwiped copy behind.
    let mut line = zeroize::Zeroizing::new(Vec::with_capacity(64 << 10));
    serde_json::to_writer(&mut *line, &request).ok()?;
    drop(request);
    line.push(b'\n');
    stream.write_all(&line).ok()?;
    let lost = |err: &mut dyn Write| {
        let _ = writeln!(
            err,
            "error: the session agent did not answer; the verb may or may not have run — check before running it again"
        );
        Some(crate::EXIT_INTERNAL)
    };
    let mut answer = String::new();
    if BufReader::new(stream.take(256 << 20))
        .read_line(&mut answer)
        .is_err()
    {
        return lost(err);
    }
    let Ok(response) = serde_json::from_str::<Response>(&answer) else {
        return lost(err);
    };
    if response.declined {
        return None;
    }
    let _ = out.write_all(&B64.decode(response.stdout).unwrap_or_default());
    let _ = err.write_all(&B64.decode(response.stderr).unwrap_or_default());
    Some(response.code)
}

/// `desk unlock`: reads the password and code, starts the agent (this program again, hidden
/// verb `session-agent`, in a process group of its own) and waits until it has signed in.
pub(crate) fn unlock(
    ctx: &Ctx,
    prompt: &mut dyn Prompt,
    printer: &Printer,
    out: &mut dyn Write,
) -> Result<u8, Error> {
    let dir = DataDir::resolve(ctx.data_dir.as_deref())?;
    let user = ctx
        .user
        .clone()
        .ok_or_else(|| Error::invalid_input("--user", "unlock needs the user to sign in as"))?;
    if UnixStream::connect(socket_path(dir.path())).is_ok() {
        return Err(Error::new(
            api::Code::Conflict,
            "a session agent is already running for this data folder; `desk lock` stops it",
        ));
    }
    let password = prompt.secret("Password: ").map_err(|_| {
        Error::invalid_input("password", "could not be read from the terminal or stdin")
    })?;
    let code = match &ctx.code {
        Some(code) => code.clone(),
        None => prompt.line("Authenticator code: ").map_err(|_| {
            Error::invalid_input(
                "authenticator code",
                "could not be read from the terminal or stdin",
            )
        })?,
    };
    let exe = std::env::current_exe()
        .map_err(|e| Error::internal(format!("could not find the desk program: {e}")))?;
    let mut cmd = Process::new(exe);
    cmd.arg("--data-dir")
        .arg(dir.path())
        .arg("--user")
        .arg(&user);
    if printer.json {
        cmd.arg("--json");
    }
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = cmd
        .arg("session-agent")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Error::internal(format!("could not start the session agent: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = writeln!(stdin, "{password}\n{code}");
    }
    let mut reply = BufReader::new(
        child
            .stdout
            .take()
            .ok_or_else(|| Error::internal("the session agent has no output"))?,
    );
    let mut first = String::new();
    let _ = reply.read_line(&mut first);
    if first.trim() == READY {
        // The agent keeps running; it is not waited for.
        printer
            .value(
                out,
                &serde_json::json!({ "unlocked": user, "socket": socket_path(dir.path()) }),
                |w| {
                    writeln!(
                        w,
                        "Unlocked as {user}: verbs use this session until `desk lock` or the idle limit."
                    )
                },
            )
            .map_err(|_| Error::internal("could not write the output"))?;
        return Ok(crate::EXIT_OK);
    }
    // The agent could not sign in: it printed the error as any verb would, then exited.
    let _ = out.write_all(first.as_bytes());
    let mut rest = Vec::new();
    let _ = reply.read_to_end(&mut rest);
    let _ = out.write_all(&rest);
    let status = child
        .wait()
        .map_err(|e| Error::internal(format!("the session agent: {e}")))?;
    Ok(status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(crate::EXIT_INTERNAL))
}

/// The agent process (`desk session-agent`, started by `unlock`): signs in with the password
/// and code on stdin, binds the socket, says "ready", then serves until locked.
pub(crate) fn serve(ctx: &Ctx, printer: &Printer) -> u8 {
    let mut stdout = std::io::stdout();
    match start(ctx) {
        Ok((listener, path, slot)) => {
            let _ = writeln!(stdout, "{READY}");
            let _ = stdout.flush();
            // Sleep, a session lock or the screensaver lock the agent as they lock the window.
            let asleep: std::sync::Arc<std::sync::Mutex<Option<&'static str>>> = Default::default();
            let locked = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            #[cfg(target_os = "linux")]
            {
                let (asleep, locked) = (
                    std::sync::Arc::clone(&asleep),
                    std::sync::Arc::clone(&locked),
                );
                api::sleep_lock::spawn(move |reason| {
                    *asleep
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(reason);
                    // Wait (within logind's 5 s sleep delay) until the agent has locked, so the
                    // delay lock is let go only then; a verb still running keeps it at most 4 s.
                    let started = std::time::Instant::now();
                    while !locked.load(std::sync::atomic::Ordering::Acquire)
                        && started.elapsed() < Duration::from_secs(4)
                    {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                });
            }
            run_agent(&listener, &path, &slot, &asleep);
            locked.store(true, std::sync::atomic::Ordering::Release);
            let _ = std::fs::remove_file(&path);
            crate::EXIT_OK
        }
        Err(e) => {
            // Both streams go to `unlock`, which prints them as its own.
            let mut text = Vec::new();
            let code = printer.error(&e, &mut stdout, &mut text);
            let _ = stdout.write_all(&text);
            code
        }
    }
}

fn start(ctx: &Ctx) -> Result<(UnixListener, PathBuf, Rc<RefCell<SessionSlot>>), Error> {
    let dir = DataDir::resolve(ctx.data_dir.as_deref())?;
    api::logging::init(Some(&dir), "desk", false);
    let mut lines = LinePrompt(BufReader::new(std::io::stdin()));
    let password = lines
        .secret("")
        .map_err(|_| Error::invalid_input("password", "could not be read"))?;
    let code = lines
        .line("")
        .map_err(|_| Error::invalid_input("authenticator code", "could not be read"))?;
    let slot = crate::verbs::signed_in(&dir, ctx.user.clone().unwrap_or_default(), password, code)?;
    let path = socket_path(dir.path());
    // A socket nobody answers on is what a stopped agent left: replace it.
    if path.exists() && UnixStream::connect(&path).is_err() {
        let _ = std::fs::remove_file(&path);
    }
    // Created 0600: nobody else may even connect.
    let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o177));
    let bound = UnixListener::bind(&path);
    rustix::process::umask(old);
    let listener = bound.map_err(|e| {
        Error::new(
            api::Code::Conflict,
            format!("the session agent's socket could not be created: {e}"),
        )
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::internal(format!("the session agent's socket: {e}")))?;
    Ok((listener, path, Rc::new(RefCell::new(slot))))
}

fn run_agent(
    listener: &UnixListener,
    path: &Path,
    slot: &Rc<RefCell<SessionSlot>>,
    asleep: &std::sync::Mutex<Option<&'static str>>,
) {
    loop {
        let reason = *asleep
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(reason) = reason {
            let _ = slot.borrow_mut().lock_because(reason);
            return;
        }
        // Idle too long, disabled, or locked: the session is gone, and so is the agent.
        if slot.borrow_mut().info().is_none() || !path.exists() {
            return;
        }
        match listener.accept() {
            Ok((stream, _)) => {
                if handle(stream, slot) {
                    let _ = slot.borrow_mut().lock();
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(_) => return,
        }
    }
}

/// Runs one request; true when it was `lock`.
fn handle(stream: UnixStream, slot: &Rc<RefCell<SessionSlot>>) -> bool {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    // Only this user's processes (the socket's mode already says so; the kernel confirms).
    let same_user = rustix::net::sockopt::socket_peercred(&stream)
        .is_ok_and(|cred| cred.uid == rustix::process::getuid());
    let mut reader = BufReader::new(&stream);
    // Room for any request this reads (at most MAX_REQUEST), so it never reallocates and leaves an
    // unwiped copy of a password line behind.
    let mut line = zeroize::Zeroizing::new(String::with_capacity(MAX_REQUEST as usize));
    let read = (&mut reader).take(MAX_REQUEST).read_line(&mut line);
    let request: Option<Request> = read.ok().and_then(|_| serde_json::from_str(&line).ok());
    let Some(request) = request.filter(|_| same_user) else {
        return false;
    };
    let me = slot
        .borrow_mut()
        .info()
        .map(|i| i.username)
        .unwrap_or_default();
    let response = match &request.user {
        Some(other) if other.trim().to_ascii_lowercase() != me => Response {
            declined: true,
            code: 0,
            stdout: String::new(),
            stderr: String::new(),
        },
        _ if is_lock(&request.args) => {
            let response = Response {
                declined: false,
                code: crate::EXIT_OK,
                stdout: B64.encode("Locked: the session agent has stopped.\n"),
                stderr: String::new(),
            };
            reply(&stream, &response);
            return true;
        }
        _ if std::env::set_current_dir(&request.cwd).is_err() => Response {
            declined: false,
            code: crate::EXIT_USER_ERROR,
            stdout: String::new(),
            stderr: B64.encode("error: the session agent cannot work in this folder\n"),
        },
        _ => {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let code = crate::run_on(
                &request.args,
                &request.input,
                Rc::clone(slot),
                &mut out,
                &mut err,
            );
            Response {
                declined: false,
                code,
                stdout: B64.encode(out),
                stderr: B64.encode(err),
            }
        }
    };
    reply(&stream, &response);
    false
}

/// Whether the verb of `args` is `lock` (after any global options).
fn is_lock(args: &[String]) -> bool {
    use clap::Parser;
    crate::cli::Cli::try_parse_from(args)
        .is_ok_and(|cli| matches!(cli.command, crate::cli::Command::Lock))
}

fn reply(mut stream: &UnixStream, response: &Response) {
    if let Ok(mut bytes) = serde_json::to_vec(response) {
        bytes.push(b'\n');
        let _ = stream.write_all(&bytes);
    }
}
