//! A private D-Bus daemon of the test's own, standing in for the system and session buses.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A `dbus-daemon` listening in its own folder; stopped when dropped.
pub struct PrivateBus {
    daemon: Child,
    /// Its address, for `Connection::new_address` or `DBUS_*_BUS_ADDRESS`.
    pub address: String,
    _dir: tempfile::TempDir,
}

/// A session bus that starts no service on demand: only what the test runs answers.
const NO_ACTIVATION: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>LISTEN</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

impl PrivateBus {
    pub fn start() -> Self {
        Self::started(false)
    }

    /// A bus on which no installed service is activated on demand (a call to a name nobody
    /// owns fails instead of starting the desktop's own daemon, with the test's environment).
    pub fn without_activation() -> Self {
        Self::started(true)
    }

    fn started(no_activation: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new("dbus-daemon");
        if no_activation {
            let config = dir.path().join("bus.conf");
            let listen = format!("unix:path={}", dir.path().join("bus").display());
            std::fs::write(&config, NO_ACTIVATION.replace("LISTEN", &listen)).unwrap();
            command.arg(format!("--config-file={}", config.display()));
        } else {
            command.arg("--session").arg(format!(
                "--address=unix:path={}",
                dir.path().join("bus").display()
            ));
        }
        let mut daemon = command
            .args(["--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("dbus-daemon (scripts/install-prereqs.sh installs it)");
        let mut address = String::new();
        BufReader::new(daemon.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        Self {
            daemon,
            address: address.trim().to_string(),
            _dir: dir,
        }
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}
