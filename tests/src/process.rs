//! Child processes that are always cleaned up.

use std::fs;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A child process stopped on drop: SIGTERM first (tauri-driver traps it and stops
/// WebKitWebDriver), then SIGKILL if it has not exited within `grace`.
pub struct Guarded {
    name: &'static str,
    child: Child,
    grace: Duration,
}

impl Guarded {
    pub fn new(name: &'static str, child: Child, grace: Duration) -> Self {
        Self { name, child, grace }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        if !self.is_running() {
            return;
        }
        signal(self.child.id(), "TERM");
        let deadline = Instant::now() + self.grace;
        while Instant::now() < deadline {
            if !self.is_running() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends a signal by name with kill(1): the workspace forbids `unsafe`, so no libc call.
pub fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status();
}

/// Kills every process whose command line mentions `marker` (the scenario's unique temp data
/// folder), so an app that WebKitWebDriver left behind cannot outlive the test.
pub fn kill_processes_mentioning(marker: &Path) {
    let marker = marker.to_string_lossy().into_owned();
    let me = std::process::id();
    let Ok(entries) = fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmdline).contains(&marker) {
            signal(pid, "KILL");
        }
    }
}
