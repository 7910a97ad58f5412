//! A real OS keychain of the test's own: GNOME Keyring's Secret Service on a private session
//! bus, its keyrings in a temp folder, its login keyring created and unlocked. Stopped when
//! dropped. What the keychain binding's tests (issue 16, item 7) bind sign-ins to.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::bus::PrivateBus;

pub struct Keychain {
    daemon: Child,
    pub bus: PrivateBus,
    _home: tempfile::TempDir,
}

impl Keychain {
    pub fn start() -> Self {
        let bus = PrivateBus::without_activation();
        let home = tempfile::tempdir().unwrap();
        let runtime = home.path().join("run");
        std::fs::create_dir_all(&runtime).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let mut daemon = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .env("HOME", home.path())
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon (scripts/install-prereqs.sh installs gnome-keyring)");
        {
            use std::io::Write;
            // The login keyring's password, then end of input: it is created unlocked.
            let mut stdin = daemon.stdin.take().unwrap();
            stdin.write_all(b"keychain test password").unwrap();
        }
        let keychain = Self {
            daemon,
            bus,
            _home: home,
        };
        crate::eventually(
            Duration::from_secs(20),
            "GNOME Keyring's Secret Service with a default collection on the private bus",
            || keychain.has_default_collection().then_some(()),
        );
        keychain
    }

    /// Whether the service answers with a default collection.
    fn has_default_collection(&self) -> bool {
        Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.ReadAlias",
                "string:default",
            ])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus.address)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .output()
            .is_ok_and(|o| {
                o.status.success()
                    && String::from_utf8_lossy(&o.stdout)
                        .contains("/org/freedesktop/secrets/collection/")
            })
    }

    /// The session bus address a process uses to reach this keychain.
    pub fn address(&self) -> &str {
        &self.bus.address
    }
}

/// A session bus address nothing listens on: a desk with no keychain.
pub fn nowhere() -> String {
    "unix:path=/nonexistent/boarding-desk-test-bus".to_string()
}

impl Drop for Keychain {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}
