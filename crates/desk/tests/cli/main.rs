//! Runs the real `desk` binary, as a script or a person would, headless.

// A panic in a test is a failed test: unwrap is the clearest way to say "this must work".
#![allow(clippy::unwrap_used)]

mod boarding;
mod sanctions;
mod team;
mod unit_of_work;
mod watch;

use std::path::Path;
use std::process::{Command, Output};

fn desk(args: &[&str], env_data_dir: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_desk"));
    cmd.args(args).env_remove("BOARDING_DESK_DATA_DIR");
    if let Some(dir) = env_data_dir {
        cmd.env("BOARDING_DESK_DATA_DIR", dir);
    }
    cmd.output().expect("desk binary runs")
}

/// A `--json` run that failed as the user's error: exit 1 and `{"error": {code, message}}` on
/// stdout. Returns the code and the message.
fn user_error(out: &Output) -> (String, String) {
    assert_eq!(out.status.code(), Some(1), "a user error exits 1");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON error on stdout");
    let field = |k: &str| {
        v["error"][k]
            .as_str()
            .expect("error fields are strings")
            .to_string()
    };
    (field("code"), field("message"))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Exit 0, or a failure that shows what the command said.
fn assert_ok(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {} stdout: {}",
        String::from_utf8_lossy(&out.stderr),
        stdout(out)
    );
}

#[test]
fn help_works_headless_and_lists_verbs() {
    let out = desk(&["--help"], None);
    assert_eq!(out.status.code(), Some(0), "--help is a success");
    let text = stdout(&out);
    assert!(text.contains("info"), "help lists the info verb:\n{text}");
    assert!(text.contains("--json"), "help documents --json:\n{text}");
    assert!(
        text.contains("Exit codes"),
        "help documents exit codes:\n{text}"
    );
}

#[test]
fn info_reads_text_and_json_for_a_fresh_data_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault-home");
    let dir_s = dir.to_str().unwrap();

    let text = desk(&["--data-dir", dir_s, "info"], None);
    assert_eq!(
        text.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&text.stderr)
    );
    let text = stdout(&text);
    assert!(text.contains("vault:       not created"), "{text}");
    assert!(text.contains(env!("CARGO_PKG_VERSION")), "{text}");

    let json = desk(&["info", "--json", "--data-dir", dir_s], None);
    assert_eq!(json.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("--json prints JSON");
    assert_eq!(v["vault"], "not_created");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["data_dir"], dir_s, "reports the folder it was pointed at");
    assert!(dir.is_dir(), "info creates the data folder");
}

#[test]
fn env_var_selects_the_data_dir_and_flag_overrides_it() {
    let tmp = tempfile::tempdir().unwrap();
    let from_env = tmp.path().join("env");
    let from_flag = tmp.path().join("flag");

    let out = desk(&["--json", "info"], Some(&from_env));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["data_dir"],
        from_env.to_str().unwrap(),
        "env var picks the folder"
    );

    let out = desk(
        &["--json", "--data-dir", from_flag.to_str().unwrap(), "info"],
        Some(&from_env),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["data_dir"],
        from_flag.to_str().unwrap(),
        "--data-dir beats the env var"
    );
}

#[test]
fn unusable_data_dir_is_a_user_error_with_its_code() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();

    let out = desk(
        &["--json", "--data-dir", file.to_str().unwrap(), "info"],
        None,
    );
    // An unusable folder is the user's to fix: exit 1.
    let (code, message) = user_error(&out);
    assert_eq!(code, "data_dir_unavailable");
    assert!(message.contains("not a directory"));

    let out = desk(&["--data-dir", file.to_str().unwrap(), "info"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "text-mode errors go to stderr");
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: data folder"));
}

#[test]
fn a_decision_without_a_reason_code_is_refused_before_signing_in() {
    let out = desk(
        &[
            "--json", "review", "decide", "app-1", "approve", "--note", "fine",
        ],
        None,
    );
    let (code, message) = user_error(&out);
    assert_eq!(code, "invalid_input");
    assert!(message.contains("--reason <REASONS>"), "{message}");
}

#[test]
fn bad_arguments_exit_1_and_json_mode_reports_them_as_json() {
    let out = desk(&["frobnicate"], None);
    assert_eq!(
        out.status.code(),
        Some(1),
        "unknown verb is a usage error, exit 1"
    );

    let out = desk(&["--json", "frobnicate"], None);
    assert_eq!(user_error(&out).0, "invalid_input");

    let out = desk(&[], None);
    assert_eq!(
        out.status.code(),
        Some(1),
        "no verb at all is a usage error"
    );
}

pub(crate) mod vault_verbs {
    use std::io::{BufRead, BufReader, Write};
    use std::path::Path;
    use std::process::{Command, Output, Stdio};

    use super::user_error;

    pub(crate) const PW: &str = "correct horse battery 42";

    pub(crate) fn code(secret: &str, steps_ahead: u64) -> String {
        testkit::totp::code_ahead(secret, steps_ahead)
    }

    pub(crate) fn desk_cmd(dir: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_desk"));
        cmd.arg("--data-dir")
            .arg(dir)
            .args(args)
            .env("BOARDING_DESK_TEST_KDF", "minimum")
            .env_remove("BOARDING_DESK_DATA_DIR");
        cmd
    }

    /// `desk init` as a script runs it: password on stdin, read the secret it prints, answer
    /// with a code. Returns the authenticator secret.
    fn init(dir: &Path) -> String {
        init_keeping_recovery_key(dir).0
    }

    /// [`init`], with the recovery key it printed.
    fn init_keeping_recovery_key(dir: &Path) -> (String, String) {
        founding(dir, &["init", "--username", "admin"])
    }

    /// A first admin's set-up verb (`init`, `team create`) run as [`init`] runs it: returns
    /// the authenticator secret and the recovery key.
    pub(crate) fn founding(dir: &Path, args: &[&str]) -> (String, String) {
        let mut child = desk_cmd(dir, args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{PW}").unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut secret = None;
        let mut printed = String::new();
        while secret.is_none() {
            let mut line = String::new();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "init ended early: {printed}"
            );
            printed.push_str(&line);
            secret = line
                .strip_prefix("authenticator secret: ")
                .map(|s| s.trim().to_string());
        }
        let recovery_key = printed
            .lines()
            .find_map(|l| l.strip_prefix("recovery key: "))
            .unwrap_or_else(|| panic!("the recovery key is shown: {printed}"))
            .trim()
            .to_string();
        let secret = secret.unwrap();
        writeln!(stdin, "{}", code(&secret, 0)).unwrap();
        drop(stdin);
        let status = child.wait().unwrap();
        assert!(status.success(), "init exits 0");
        (secret, recovery_key)
    }

    /// `desk --user admin --code <step> ARGS` with the password on stdin.
    pub(crate) fn as_admin(dir: &Path, secret: &str, step: u64, args: &[&str]) -> Output {
        let code = code(secret, step);
        let mut all = vec!["--user", "admin", "--code", code.as_str()];
        all.extend_from_slice(args);
        with_stdin(desk_cmd(dir, &all), &format!("{PW}\n"))
    }

    /// `desk unlock` as the admin, with the next step's code.
    pub(crate) fn unlock_as_admin(dir: &Path, secret: &str) -> Output {
        with_stdin(
            desk_cmd(dir, &["--user", "admin", "unlock"]),
            &format!("{PW}\n{}\n", code(secret, 1)),
        )
    }

    pub(crate) fn with_stdin(mut cmd: Command, input: &str) -> Output {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Issue 16, item 7, against a real GNOME Keyring: `desk keychain bind` binds the admin's
    /// sign-in at once; a copy of the folder on a desk without that keychain refuses the
    /// password, saying why; `unbind` undoes it.
    #[test]
    fn keychain_bind_needs_the_password_binds_the_admin_and_a_copy_elsewhere_is_refused() {
        let keychain = testkit::keychain::Keychain::start();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("vault");
        let secret = init(&dir);
        let on_bus = |mut cmd: Command, bus: &str| {
            cmd.env("DBUS_SESSION_BUS_ADDRESS", bus);
            cmd
        };
        let unlock = on_bus(
            desk_cmd(&dir, &["--user", "admin", "unlock"]),
            keychain.address(),
        );
        crate::assert_ok(&with_stdin(
            unlock,
            &format!("{PW}\n{}\n", code(&secret, 1)),
        ));
        let verb = |args: &[&str], input: &str| with_stdin(desk_cmd(&dir, args), input);
        let json = |out: &Output| -> serde_json::Value {
            crate::assert_ok(out);
            serde_json::from_slice(&out.stdout).unwrap()
        };

        let status = json(&verb(&["--json", "keychain", "status"], ""));
        assert_eq!(status["binding"], "never");
        assert_eq!(status["unavailable"], serde_json::Value::Null);

        let (code_, message) = user_error(&verb(
            &["--json", "keychain", "bind"],
            "not my password 42\n",
        ));
        assert_eq!(code_, "invalid_input");
        assert!(message.starts_with("password:"), "{message}");

        let status = json(&verb(&["--json", "keychain", "bind"], &format!("{PW}\n")));
        assert_eq!(status["binding"], "on");
        assert_eq!(status["bound"], 1);
        assert_eq!(status["you_bound"], true);
        let text = crate::stdout(&verb(&["keychain", "status"], ""));
        assert!(text.contains("Members bound: 1 of 1"), "{text}");

        // The attacker's copy of the folder, on a desk without this keychain.
        let copy = tmp.path().join("copy");
        std::fs::create_dir(&copy).unwrap();
        for name in [vault::VAULT_FILE, vault::KEYRING_FILE] {
            std::fs::copy(dir.join(name), copy.join(name)).unwrap();
        }
        let code_now = code(&secret, 1);
        let elsewhere = on_bus(
            desk_cmd(
                &copy,
                &[
                    "--json", "--user", "admin", "--code", &code_now, "audit", "verify",
                ],
            ),
            &testkit::keychain::nowhere(),
        );
        let (code_, message) = user_error(&with_stdin(elsewhere, &format!("{PW}\n")));
        assert_eq!(code_, "unavailable");
        assert!(message.contains("keychain"), "{message}");

        let status = json(&verb(&["--json", "keychain", "unbind"], &format!("{PW}\n")));
        assert_eq!(status["binding"], "off");
        assert_eq!(status["bound"], 0);
        crate::assert_ok(&verb(&["lock"], ""));
    }

    #[test]
    fn init_then_verify_the_audit_chain_as_the_admin() {
        let tmp = tempfile::tempdir().unwrap();
        let secret = init(tmp.path());
        let out = as_admin(tmp.path(), &secret, 1, &["--json", "audit", "verify"]);
        crate::assert_ok(&out);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["intact"], true);
        assert!(v["entries"].as_i64().unwrap() >= 3);
    }

    #[test]
    fn audit_list_says_who_signed_each_entry_and_a_failed_sign_in_is_the_desks() {
        let tmp = tempfile::tempdir().unwrap();
        let secret = init(tmp.path());
        let refused = with_stdin(
            desk_cmd(
                tmp.path(),
                &[
                    "--json", "--user", "admin", "--code", "000000", "audit", "list",
                ],
            ),
            "not the password 42\n",
        );
        assert_eq!(user_error(&refused).0, "bad_credentials");
        let out = as_admin(tmp.path(), &secret, 1, &["audit", "list"]);
        crate::assert_ok(&out);
        let text = crate::stdout(&out);
        let failure = text
            .lines()
            .find(|l| l.contains("anonymous") && l.contains("auth.sign_in"))
            .unwrap_or_else(|| panic!("the failure is listed: {text}"));
        assert!(failure.contains("signed by desk "), "{failure}");
        assert!(
            text.lines()
                .any(|l| l.contains("desk.registered") && l.contains("signed by admin")),
            "{text}"
        );
    }

    /// A desk whose state folder cannot be written could not record a failed attempt: sign-in
    /// fails before any password is tried, says so, and changes nothing (no lock, no tamper
    /// finding once the folder is back).
    #[test]
    fn a_state_folder_that_cannot_be_written_fails_sign_in_and_changes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let secret = init(tmp.path());
        let before = std::fs::read(tmp.path().join(vault::KEYRING_FILE)).unwrap();
        let not_a_folder = tmp.path().join("state-is-a-file");
        std::fs::write(&not_a_folder, b"").unwrap();
        let code_now = code(&secret, 1);
        let mut cmd = desk_cmd(
            tmp.path(),
            &[
                "--json", "--user", "admin", "--code", &code_now, "audit", "verify",
            ],
        );
        cmd.env("BOARDING_DESK_DEVICE_DIR", &not_a_folder);
        let out = with_stdin(cmd, &format!("{PW}\n"));
        assert!(!out.status.success());
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(text.contains("state folder"), "{text}");
        // A wrong password gets the same answer: no password is tried, so none is counted.
        let mut cmd = desk_cmd(
            tmp.path(),
            &[
                "--json", "--user", "admin", "--code", &code_now, "audit", "verify",
            ],
        );
        cmd.env("BOARDING_DESK_DEVICE_DIR", &not_a_folder);
        let out = with_stdin(cmd, "not the password 42\n");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(text.contains("state folder"), "{text}");
        assert_eq!(
            std::fs::read(tmp.path().join(vault::KEYRING_FILE)).unwrap(),
            before,
            "the keyring is left as it was"
        );
        let out = as_admin(tmp.path(), &secret, 1, &["--json", "audit", "verify"]);
        crate::assert_ok(&out);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["intact"], true);
    }

    /// A crash after a new desk's registration is saved and before its entry commits: the next
    /// admin sign-in on that desk writes the entry.
    #[test]
    fn a_desk_registered_just_before_a_crash_is_recorded_at_the_next_admin_sign_in() {
        let tmp = tempfile::tempdir().unwrap();
        let secret = init(tmp.path());
        let other_desk = tempfile::tempdir().unwrap();
        let json = |out: &Output| -> serde_json::Value {
            crate::assert_ok(out);
            serde_json::from_slice(&out.stdout).unwrap()
        };
        let on_the_other_desk = |args: &[&str]| {
            let mut cmd = desk_cmd(tmp.path(), args);
            cmd.env("BOARDING_DESK_DEVICE_DIR", other_desk.path());
            cmd
        };
        let code_now = code(&secret, 1);
        let sign_in = ["--user", "admin", "--code", &code_now, "audit", "verify"];
        let mut crashing = on_the_other_desk(&sign_in);
        crashing.env("BOARDING_DESK_FAILPOINT", "audit.append:desk.registered");
        let out = with_stdin(crashing, &format!("{PW}\n"));
        assert!(out.status.code().is_none(), "killed at the failpoint");

        crate::assert_ok(&with_stdin(
            on_the_other_desk(&["--user", "admin", "unlock"]),
            &format!("{PW}\n{code_now}\n"),
        ));
        let page = json(&with_stdin(
            on_the_other_desk(&["--json", "audit", "list", "--limit", "500"]),
            "",
        ));
        let registered: Vec<_> = page
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "desk.registered")
            .map(|e| e["target"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            registered.len(),
            2,
            "the founding desk and this one: {registered:?}"
        );
        assert_ne!(registered[0], registered[1]);
        let report = json(&with_stdin(
            on_the_other_desk(&["--json", "audit", "verify"]),
            "",
        ));
        assert_eq!(report["intact"], true, "{report}");
        crate::assert_ok(&with_stdin(on_the_other_desk(&["lock"]), ""));
    }

    #[test]
    fn a_signed_checkpoint_written_to_a_file_is_checked_by_verify_and_a_bad_file_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let secret = init(tmp.path());
        // One sign-in (the agent) for the verbs that follow.
        crate::assert_ok(&unlock_as_admin(tmp.path(), &secret));
        let verb = |args: &[&str]| with_stdin(desk_cmd(tmp.path(), args), "");
        let file = tmp.path().join("away").join("checkpoints.jsonl");
        std::fs::create_dir(file.parent().unwrap()).unwrap();
        let f = file.to_str().unwrap();
        let out = verb(&["--json", "audit", "checkpoint", "--out", f]);
        crate::assert_ok(&out);
        let signed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(signed["seq"].as_i64().unwrap() >= 3);
        assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 1);

        let out = verb(&["--json", "audit", "verify", "--checkpoints", f]);
        crate::assert_ok(&out);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["intact"], true);
        // The vault's own copy and the file's: the same checkpoint, counted once.
        assert_eq!(v["checkpoints"], 1);
        let out = verb(&["--json", "audit", "checkpoints"]);
        crate::assert_ok(&out);
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(list[0]["seq"], signed["seq"]);

        std::fs::write(&file, "garbage\n").unwrap();
        let out = verb(&["--json", "audit", "verify", "--checkpoints", f]);
        let (code, message) = user_error(&out);
        assert_eq!(code, "invalid_input");
        assert!(message.contains("checkpoints: line 1"), "{message}");

        // A backup into the data folder's backups/ leaves a checkpoint beside it, and
        // `desk backups` lists it with its keys.
        let archive = tmp.path().join("backups").join("a.backup");
        std::fs::create_dir_all(archive.parent().unwrap()).unwrap();
        crate::assert_ok(&verb(&["backup", archive.to_str().unwrap()]));
        let beside = tmp.path().join("backups").join("audit-checkpoints.jsonl");
        assert_eq!(std::fs::read_to_string(&beside).unwrap().lines().count(), 1);
        let out = verb(&["backups"]);
        crate::assert_ok(&out);
        let text = crate::stdout(&out);
        assert!(
            text.starts_with("a.backup  ") && text.trim_end().ends_with("current keys"),
            "{text}"
        );
        crate::assert_ok(&verb(&["lock"]));
    }

    #[test]
    fn admin_adds_a_user_and_gets_a_one_time_password() {
        let tmp = tempfile::tempdir().unwrap();
        let secret = init(tmp.path());
        let out = with_stdin(
            desk_cmd(
                tmp.path(),
                &[
                    "--user",
                    "admin",
                    "user",
                    "add",
                    "bob",
                    "--role",
                    "underwriter",
                ],
            ),
            &format!("{PW}\n{}\n", code(&secret, 1)),
        );
        crate::assert_ok(&out);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with("one-time password for bob: "), "{text}");
    }

    /// Issue 16: an admin replaces the recovery key; the key printed at init stops working and
    /// the new one resets a password.
    #[test]
    fn rotate_recovery_key_prints_a_new_key_and_the_old_one_stops_working() {
        let tmp = tempfile::tempdir().unwrap();
        let (secret, old_key) = init_keeping_recovery_key(tmp.path());
        let out = as_admin(tmp.path(), &secret, 1, &["--json", "rotate-recovery-key"]);
        crate::assert_ok(&out);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let new_key = v["recovery_key"].as_str().unwrap().to_string();
        assert_ne!(new_key, old_key);
        let recover = |key: &str| {
            with_stdin(
                desk_cmd(tmp.path(), &["--json", "recover", "--username", "admin"]),
                &format!("{key}\na brand new passphrase 1\n"),
            )
        };
        let (code, _) = user_error(&recover(&old_key));
        assert_eq!(code, "bad_credentials");
        crate::assert_ok(&recover(&new_key));
    }

    /// Issue 16: the session agent locks when the machine goes to sleep, as the window does
    /// (logind's `PrepareForSleep(true)`, here on a private bus standing in for the system's).
    #[test]
    fn the_session_agent_locks_when_the_machine_goes_to_sleep() {
        let tmp = tempfile::tempdir().unwrap();
        let secret = init(tmp.path());
        let bus = testkit::bus::PrivateBus::start();
        let address = bus.address.clone();
        let mut cmd = desk_cmd(tmp.path(), &["--user", "admin", "unlock"]);
        cmd.env("DBUS_SYSTEM_BUS_ADDRESS", &address)
            .env("DBUS_SESSION_BUS_ADDRESS", &address);
        crate::assert_ok(&with_stdin(cmd, &format!("{PW}\n{}\n", code(&secret, 1))));
        let socket = tmp.path().join("desk.sock");
        assert!(socket.exists());

        // The agent subscribes as it starts: the signal is sent until the agent is gone.
        let sender = dbus::blocking::Connection::new_address(&address).unwrap();
        let started = std::time::Instant::now();
        while socket.exists() && started.elapsed() < std::time::Duration::from_secs(10) {
            let msg = dbus::Message::new_signal(
                "/org/freedesktop/login1",
                "org.freedesktop.login1.Manager",
                "PrepareForSleep",
            )
            .unwrap()
            .append1(true);
            use dbus::channel::Sender as _;
            sender.send(msg).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        assert!(!socket.exists(), "the agent stopped on sleep");
        let out = with_stdin(desk_cmd(tmp.path(), &["lock"]), "");
        assert!(crate::stdout(&out).contains("No session agent is running"));
        drop(bus);
    }

    /// Issue 16: the recovery key split M-of-N among admins; M shares recover, fewer do not.
    #[test]
    fn a_recovery_key_split_two_of_three_recovers_with_two_shares_and_not_with_one() {
        let tmp = tempfile::tempdir().unwrap();
        let (secret, old_key) = init_keeping_recovery_key(tmp.path());
        let out = as_admin(
            tmp.path(),
            &secret,
            1,
            &["--json", "rotate-recovery-key", "--split", "2-of-3"],
        );
        crate::assert_ok(&out);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(v["recovery_key"].is_null(), "the whole key is never shown");
        assert_eq!(v["threshold"], 2);
        let shares: Vec<String> = v["shares"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        assert_eq!(shares.len(), 3);
        let recover = |typed: &str| {
            with_stdin(
                desk_cmd(tmp.path(), &["--json", "recover", "--username", "admin"]),
                &format!("{typed}\na brand new passphrase 1\n"),
            )
        };
        let (code, message) = user_error(&recover(&shares[2]));
        assert_eq!(code, "invalid_input");
        assert!(message.contains("needs 2 different shares"), "{message}");
        assert_eq!(user_error(&recover(&old_key)).0, "bad_credentials");
        crate::assert_ok(&recover(&format!("{}, {}", shares[2], shares[0])));
    }

    /// Issue 16: how long generated exports are kept is an admin's setting in the CLI too.
    #[test]
    fn retention_export_days_sets_how_long_exports_are_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let secret = init(tmp.path());
        // (Each verb signs in with a new code; one verb per test keeps to the drift window. The
        // range check is the journey's.)
        let out = as_admin(tmp.path(), &secret, 1, &["retention", "export-days", "7"]);
        crate::assert_ok(&out);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "exports are kept 7 days"
        );
    }

    /// Issue 16: `desk unlock` signs in once and keeps the session in an agent; the verbs that
    /// follow need no password and no new code (two in the same 30 s would otherwise be a
    /// replay); `desk lock` stops it, and verbs then sign in again.
    #[test]
    fn unlock_keeps_a_session_for_later_verbs_until_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let secret = init(tmp.path());
        let out = unlock_as_admin(tmp.path(), &secret);
        crate::assert_ok(&out);
        assert!(
            crate::stdout(&out).starts_with("Unlocked as admin"),
            "{}",
            crate::stdout(&out)
        );
        let socket = tmp.path().join("desk.sock");
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "only this user may connect");
        }
        for _ in 0..2 {
            let out = with_stdin(desk_cmd(tmp.path(), &["--json", "audit", "verify"]), "");
            crate::assert_ok(&out);
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(v["intact"], true);
        }
        // Relative paths mean what they mean where the verb was typed, not where unlock ran.
        let elsewhere = tmp.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        let mut cmd = desk_cmd(tmp.path(), &["backup", "rel.backup"]);
        cmd.current_dir(&elsewhere);
        crate::assert_ok(&with_stdin(cmd, ""));
        assert!(elsewhere.join("rel.backup").exists());
        // A second unlock while one runs is refused.
        let again = with_stdin(
            desk_cmd(tmp.path(), &["--json", "--user", "admin", "unlock"]),
            &format!("{PW}\n{}\n", code(&secret, 1)),
        );
        assert_eq!(user_error(&again).0, "conflict");

        let out = with_stdin(desk_cmd(tmp.path(), &["lock"]), "");
        crate::assert_ok(&out);
        assert!(
            crate::stdout(&out).contains("Locked"),
            "{}",
            crate::stdout(&out)
        );
        testkit::eventually(
            std::time::Duration::from_secs(5),
            "the agent to stop",
            || (!socket.exists()).then_some(()),
        );
        let out = with_stdin(desk_cmd(tmp.path(), &["--json", "audit", "verify"]), "");
        assert!(
            user_error(&out).1.starts_with("--user:"),
            "after lock a verb signs in again"
        );
        let out = with_stdin(desk_cmd(tmp.path(), &["lock"]), "");
        assert!(crate::stdout(&out).contains("No session agent is running"));

        // A wrong password: the agent never starts, and unlock says why.
        let bad = with_stdin(
            desk_cmd(tmp.path(), &["--json", "--user", "admin", "unlock"]),
            "not the password\n000000\n",
        );
        assert_eq!(user_error(&bad).0, "bad_credentials");
        assert!(!socket.exists());
    }

    /// Issue 7's backup through the CLI: an admin writes an archive, it restores into an empty
    /// folder with the admin's password as a locked vault with its keyring; a wrong password and
    /// a non-empty folder are refused and leave nothing behind.
    #[test]
    fn backup_then_restore_into_an_empty_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let secret = init(&home);
        let archive = tmp.path().join("desk.backup");
        let archive_s = archive.to_str().unwrap();
        let out = as_admin(&home, &secret, 1, &["--json", "backup", archive_s]);
        crate::assert_ok(&out);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["users"], 1);

        let restored = tmp.path().join("restored");
        let restored_s = restored.to_str().unwrap();
        let wrong = with_stdin(
            desk_cmd(
                &home,
                &[
                    "--user", "admin", "--json", "restore", archive_s, "--into", restored_s,
                ],
            ),
            "not the password\n000000\n",
        );
        assert_eq!(user_error(&wrong).0, "bad_credentials");
        assert!(!restored.exists(), "nothing written on a refused restore");
        let busy = with_stdin(
            desk_cmd(
                &home,
                &[
                    "--user",
                    "admin",
                    "--json",
                    "restore",
                    archive_s,
                    "--into",
                    home.to_str().unwrap(),
                ],
            ),
            &format!("{PW}\n{}\n", code(&secret, 0)),
        );
        let (code_, message) = user_error(&busy);
        assert_eq!(code_, "invalid_input");
        assert!(message.starts_with("target:"), "{message}");

        let out = with_stdin(
            desk_cmd(
                &home,
                &[
                    "--user", "admin", "--json", "restore", archive_s, "--into", restored_s,
                ],
            ),
            &format!("{PW}\n000000\n"),
        );
        assert_eq!(
            user_error(&out).0,
            "bad_credentials",
            "issue 16: the password alone does not restore"
        );
        assert!(!restored.exists(), "nothing written");
        let out = with_stdin(
            desk_cmd(
                &home,
                &[
                    "--user", "admin", "restore", archive_s, "--into", restored_s,
                ],
            ),
            &format!("{PW}\n{}\n", code(&secret, 0)),
        );
        crate::assert_ok(&out);
        assert!(
            crate::stdout(&out).starts_with("Restored 0 applications, 1 users"),
            "{}",
            crate::stdout(&out)
        );
        // The restored folder holds a locked vault with its keyring (opening it and checking
        // its audit chain is the vault crate's backup test: the code used here is spent).
        let info = crate::desk(&["--json", "--data-dir", restored_s, "info"], None);
        let v: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
        assert_eq!(v["vault"], "locked");
    }

    #[test]
    fn retention_dry_run_and_gdpr_verbs_as_the_admin() {
        let tmp = tempfile::tempdir().unwrap();
        let secret = init(tmp.path());
        let out = as_admin(tmp.path(), &secret, 1, &["retention", "run", "--dry-run"]);
        crate::assert_ok(&out);
        assert!(
            crate::stdout(&out).contains("0 past 5 years of retention; dry run: nothing erased"),
            "{}",
            crate::stdout(&out)
        );
        let out = with_stdin(
            desk_cmd(tmp.path(), &["--json", "gdpr", "erase", "no-such-id"]),
            "",
        );
        assert!(
            user_error(&out).1.starts_with("--user:"),
            "a session is needed"
        );
    }

    /// Issue 7: `desk merchants edit` reads the form from a file; a broken or wrong-shaped file
    /// is refused before signing in, naming the line, never quoting a value.
    #[test]
    fn a_merchant_edit_file_that_is_not_a_form_is_refused_without_echoing_it() {
        let tmp = tempfile::tempdir().unwrap();
        for (content, expected) in [
            (
                "{\"business\": {\"ein\": \"98-7654321\"",
                "file: is not JSON (line 1",
            ),
            (
                "{\"business\": {\"ein\": 987654321}}",
                "file: is not an application form",
            ),
        ] {
            let file = tmp.path().join("form.json");
            std::fs::write(&file, content).unwrap();
            let out = with_stdin(
                desk_cmd(
                    tmp.path(),
                    &[
                        "--json",
                        "merchants",
                        "edit",
                        "some-id",
                        "--file",
                        file.to_str().unwrap(),
                        "--note",
                        "New bank letter",
                    ],
                ),
                "",
            );
            let (code, message) = user_error(&out);
            assert_eq!(code, "invalid_input");
            assert!(message.starts_with(expected), "{message}");
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(!all.contains("7654321"), "the value is not echoed: {all}");
        }
    }

    #[test]
    fn the_admin_switches_the_scheduled_purge_off() {
        let tmp = tempfile::tempdir().unwrap();
        let secret = init(tmp.path());
        let out = as_admin(
            tmp.path(),
            &secret,
            1,
            &["--json", "retention", "schedule", "off"],
        );
        crate::assert_ok(&out);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["enabled"], false);
        assert_eq!(v["last_run"], serde_json::Value::Null, "it never ran");
        let out = with_stdin(
            desk_cmd(tmp.path(), &["--json", "retention", "schedule", "maybe"]),
            "",
        );
        assert!(user_error(&out).1.starts_with("state: must be on or off"));
    }

    #[test]
    fn a_wrong_password_is_exit_1_with_the_sign_in_code() {
        let tmp = tempfile::tempdir().unwrap();
        let secret = init(tmp.path());
        let out = with_stdin(
            desk_cmd(
                tmp.path(),
                &[
                    "--user",
                    "admin",
                    "--code",
                    &code(&secret, 1),
                    "--json",
                    "user",
                    "list",
                ],
            ),
            "not the password\n",
        );
        assert_eq!(user_error(&out).0, "bad_credentials");
    }

    #[test]
    fn session_verbs_need_a_user_and_init_refuses_an_existing_vault() {
        let tmp = tempfile::tempdir().unwrap();
        init(tmp.path());
        let out = with_stdin(desk_cmd(tmp.path(), &["--json", "audit", "verify"]), "");
        let (code, message) = user_error(&out);
        assert_eq!(code, "invalid_input");
        assert!(message.starts_with("--user:"));

        let out = with_stdin(
            desk_cmd(tmp.path(), &["--json", "init", "--username", "zed"]),
            "quiet river stones 7\n",
        );
        assert_eq!(user_error(&out).0, "conflict", "a second vault is refused");
    }

    #[test]
    fn a_weak_password_at_init_is_a_field_error_and_leaves_no_vault() {
        let tmp = tempfile::tempdir().unwrap();
        let out = with_stdin(
            desk_cmd(tmp.path(), &["--json", "init", "--username", "admin"]),
            "short\n",
        );
        let (code, message) = user_error(&out);
        assert_eq!(code, "invalid_input");
        assert!(message.starts_with("password:"));
        assert!(!tmp.path().join("vault.db").exists(), "nothing written");
    }

    #[test]
    fn demo_csv_then_import_keeps_good_rows_and_names_bad_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let out = desk_cmd(tmp.path(), &["demo", "csv", "--count", "20", "--seed", "4"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "demo csv needs no vault");
        let text = String::from_utf8(out.stdout).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        assert_eq!(lines.len(), 21, "a header and 20 rows");
        let header: Vec<&str> = lines[0].split(',').collect();
        let ein = header.iter().position(|c| *c == "ein").unwrap();
        let mut cells: Vec<String> = lines[3].split(',').map(str::to_string).collect();
        cells[ein] = "07-1234567".into();
        lines[3] = cells.join(",");
        let file = tmp.path().join("apps.csv");
        std::fs::write(&file, lines.join("\n")).unwrap();

        let secret = init(tmp.path());
        let out = with_stdin(
            desk_cmd(
                tmp.path(),
                &[
                    "--user",
                    "admin",
                    "--code",
                    &code(&secret, 1),
                    "import",
                    file.to_str().unwrap(),
                ],
            ),
            &format!("{PW}\n"),
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "a rejected row exits 1: {stderr}"
        );
        assert!(
            stdout.contains("imported 19 of 20 applications; 1 rejected"),
            "{stdout}"
        );
        assert!(
            stdout.contains("row 3, ein: has a prefix the IRS does not assign"),
            "{stdout}"
        );
        assert!(!stdout.contains("07-1234567"), "never the value");
        assert!(stderr.contains("20/20 rows"), "a progress line: {stderr}");
        assert!(stderr.contains("error: 1 rows were rejected"));
    }

    /// Issue 16: a decline onto the blocklist names its legal basis (refused by field
    /// otherwise), and `desk blocklist` lists the entries with it — never a value.
    #[test]
    fn a_decline_onto_the_blocklist_names_its_basis_and_blocklist_lists_it() {
        let tmp = tempfile::tempdir().unwrap();
        let secret = init(tmp.path());
        crate::assert_ok(&unlock_as_admin(tmp.path(), &secret));
        let verb = |args: &[&str]| with_stdin(desk_cmd(tmp.path(), args), "");
        crate::assert_ok(&verb(&["demo", "seed", "--count", "1"]));
        let out = verb(&["--json", "review", "list"]);
        crate::assert_ok(&out);
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let id = list["items"][0]["id"].as_str().unwrap().to_string();
        crate::assert_ok(&verb(&["review", "take", &id]));
        let decline = |basis: &str| {
            verb(&[
                "--json",
                "review",
                "decide",
                &id,
                "decline",
                "--reason",
                "fraud_risk",
                "--note",
                "Stolen identity reported",
                "--blocklist",
                basis,
            ])
        };
        let (code, message) = user_error(&decline("because"));
        assert_eq!(code, "invalid_input");
        assert!(
            message.starts_with("blocklist basis: must be one of"),
            "{message}"
        );
        crate::assert_ok(&decline("card_network_rules"));
        let out = verb(&["blocklist"]);
        crate::assert_ok(&out);
        let shown = crate::stdout(&out);
        assert!(
            shown.contains("ssn") && shown.contains("basis card_network_rules"),
            "{shown}"
        );
        assert!(shown.contains("new entries are kept 5 years"), "{shown}");
        crate::assert_ok(&verb(&["lock"]));
    }

    #[test]
    fn demo_seed_stores_valid_applications() {
        let tmp = tempfile::tempdir().unwrap();
        let secret = init(tmp.path());
        let out = as_admin(
            tmp.path(),
            &secret,
            1,
            &["--json", "demo", "seed", "--count", "25"],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["imported"], 25);
        assert_eq!(v["errors"].as_array().unwrap().len(), 0);
    }
}
