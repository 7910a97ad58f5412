//! Logging set-up shared by the shell and the CLI.
//!
//! Logs say what happened to which record id, never KYC values; that rule is kept where log
//! lines are written, and this module only decides where they go.

use std::fs::{self, OpenOptions};
use std::sync::Mutex;

use tracing_subscriber::fmt::writer::MakeWriterExt;
use tracing_subscriber::EnvFilter;

use crate::DataDir;

/// Env var with a `tracing` filter (e.g. `debug`, `desk_api=trace`).
pub const LOG_ENV: &str = "BOARDING_DESK_LOG";

/// Sends logs to `<data dir>/logs/<file_stem>.log` (and to stderr when `also_stderr`).
/// Falls back to stderr alone when the log file cannot be opened. Calling it twice is harmless.
pub fn init(data_dir: Option<&DataDir>, file_stem: &str, also_stderr: bool) {
    let filter = EnvFilter::try_from_env(LOG_ENV).unwrap_or_else(|_| EnvFilter::new("info"));
    let file = data_dir.and_then(|dir| {
        let logs = dir.logs_dir();
        let mut folder = fs::DirBuilder::new();
        folder.recursive(true);
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
            folder.mode(0o700);
            options.mode(0o600);
        }
        folder.create(&logs).ok()?;
        options.open(logs.join(format!("{file_stem}.log"))).ok()
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false);
    let result = match (file, also_stderr) {
        (Some(file), true) => builder
            .with_writer(Mutex::new(file).and(std::io::stderr))
            .try_init(),
        (Some(file), false) => builder.with_writer(Mutex::new(file)).try_init(),
        (None, _) => builder.with_writer(std::io::stderr).try_init(),
    };
    // Already initialised (tests, or a second call): keep the first subscriber.
    let _ = result;
}
