use std::time::Duration;

use api::auth::{self, ChangePasswordInput, SetupInput, SignInInput};
use api::clock::Moment;
use api::session::Stage;
use api::{users, Access, Code, DataDir, SessionSlot};

pub use testkit::desk::{setup, signed_in_new_user, signed_in_user};
pub use testkit::policy;
pub use testkit::totp::code_now;

#[test]
fn nothing_is_reachable_before_enrolment_is_finished() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let mut slot = SessionSlot::new();
    auth::setup_vault(
        &dir,
        SetupInput {
            username: "alice".into(),
            password: "correct horse battery 42".into(),
        },
        &mut slot,
        policy(),
    )
    .unwrap();
    let err = users::list_users(&mut slot).unwrap_err();
    assert_eq!(
        err.code(),
        Code::Unauthorized,
        "the authenticator must be enrolled first"
    );
    let err = auth::confirm_totp(&mut slot, "000000").unwrap_err();
    assert_eq!(
        err.code(),
        Code::InvalidInput,
        "a wrong code is a field error: {err:?}"
    );
}

#[test]
fn set_up_rejects_weak_passwords_field_by_field() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let mut slot = SessionSlot::new();
    for (password, expect) in [
        ("short", "at least 12"),
        ("alice-is-the-admin-1", "username"),
        ("password1234!", "too common"),
        ("correcthorsebattery", "letters and digits"),
        ("aaaaaaaaaaa1", "too easy to guess"),
    ] {
        let err = auth::setup_vault(
            &dir,
            SetupInput {
                username: "alice".into(),
                password: password.into(),
            },
            &mut slot,
            policy(),
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::InvalidInput);
        assert!(
            err.message().starts_with("password:"),
            "names the field: {}",
            err.message()
        );
        assert!(err.message().contains(expect), "{}", err.message());
        assert!(
            !err.message().contains(password),
            "never echoes the password"
        );
    }
    assert_eq!(
        vault::state(dir.path()),
        domain::VaultState::NotCreated,
        "nothing was written"
    );
}

#[test]
fn roles_are_enforced_in_rust_and_denials_are_audited() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let mut admin = SessionSlot::new();
    setup(&dir, &mut admin);
    let issued = users::create_user(
        &mut admin,
        users::NewUserInput {
            username: "bob".into(),
            role: "underwriter".into(),
        },
    )
    .unwrap();

    let mut bob = SessionSlot::new();
    let info = auth::sign_in(
        &dir,
        SignInInput {
            username: "bob".into(),
            password: issued.one_time_password.clone(),
            code: None,
        },
        &mut bob,
        policy(),
    )
    .unwrap();
    assert_eq!(info.stage, Stage::ChangePassword);
    let info = auth::change_password(
        &mut bob,
        ChangePasswordInput {
            current: None,
            new_password: "quiet river stones 7".into(),
        },
    )
    .unwrap();
    assert_eq!(
        info.stage,
        Stage::EnrolTotp,
        "after the password, the authenticator"
    );
    auth::confirm_totp(&mut bob, &code_now(&info.enrolment.unwrap().secret)).unwrap();

    let err = users::list_users(&mut bob).unwrap_err();
    assert_eq!(
        err.code(),
        Code::Forbidden,
        "an underwriter may not manage users"
    );
    let err = api::audit_log::verify_audit(&mut bob, None).unwrap_err();
    assert_eq!(err.code(), Code::Forbidden);
    assert!(
        bob.require(Access::Write, "test").is_ok(),
        "underwriters write"
    );

    let page = api::audit_log::list_audit(&mut admin, None, 100).unwrap();
    assert!(
        page.entries.iter().any(|e| e.action == "access.denied"
            && e.actor == "bob"
            && e.detail.as_deref() == Some("users.list")),
        "the denied call is in the audit log"
    );
    assert!(
        api::audit_log::verify_audit(&mut admin, None)
            .unwrap()
            .intact
    );
}

#[test]
fn idle_sessions_lock_and_the_limit_cannot_exceed_fifteen_minutes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let mut slot = SessionSlot::new();
    setup(&dir, &mut slot);
    let err = api::settings::set_idle_minutes(&mut slot, 16).unwrap_err();
    assert_eq!(
        err.code(),
        Code::InvalidInput,
        "more than 15 minutes is refused"
    );
    assert_eq!(api::settings::set_idle_minutes(&mut slot, 5).unwrap(), 5);

    let later = Moment::now() + Duration::from_secs(4 * 60);
    assert!(
        slot.require_at(Access::SignedIn, "test", later).is_ok(),
        "4 minutes idle is fine"
    );
    let much_later = later + Duration::from_secs(5 * 60);
    let err = slot
        .require_at(Access::SignedIn, "test", much_later)
        .err()
        .unwrap();
    assert_eq!(err.code(), Code::Unauthorized, "5 minutes idle locks");
    assert!(
        slot.info().is_none(),
        "the session is gone, its keys dropped"
    );
}

#[test]
fn explicit_lock_then_sign_in_again() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let mut slot = SessionSlot::new();
    let secret = setup(&dir, &mut slot);
    slot.lock().unwrap();
    assert_eq!(
        users::list_users(&mut slot).unwrap_err().code(),
        Code::Unauthorized
    );
    // The enrolment code's time step was used; wait for the next one is not needed because
    // sign-in accepts the next step's code within the drift window.
    let next = testkit::totp::code_ahead(&secret, 1);
    let info = auth::sign_in(
        &dir,
        SignInInput {
            username: "Alice".into(),
            password: "correct horse battery 42".into(),
            code: Some(next),
        },
        &mut slot,
        policy(),
    )
    .unwrap();
    assert_eq!(info.stage, Stage::Ready);
    assert_eq!(users::list_users(&mut slot).unwrap().len(), 1);
}

#[test]
fn bad_credentials_and_lockout_reach_the_api_as_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let mut slot = SessionSlot::new();
    setup(&dir, &mut slot);
    slot.lock().unwrap();
    let attempt = |slot: &mut SessionSlot| {
        auth::sign_in(
            &dir,
            SignInInput {
                username: "alice".into(),
                password: "not my password".into(),
                code: None,
            },
            slot,
            policy(),
        )
        .unwrap_err()
    };
    for _ in 0..9 {
        assert_eq!(attempt(&mut slot).code(), Code::BadCredentials);
    }
    let locked = attempt(&mut slot);
    assert_eq!(locked.code(), Code::AccountLocked);
    assert!(
        locked.message().contains("locked until"),
        "{}",
        locked.message()
    );
}

/// Everything the desk writes in its data folder is private to its user: the vault file and
/// its WAL, the keyring and its lock, whatever the umask (issue 16, in part).
#[cfg(unix)]
#[test]
fn every_file_in_the_data_folder_is_private_to_its_user() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let mut admin = SessionSlot::new();
    setup(&dir, &mut admin);
    // A write, so the WAL and its shared memory exist.
    users::create_user(
        &mut admin,
        users::NewUserInput {
            username: "uma".into(),
            role: "underwriter".into(),
        },
    )
    .unwrap();
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        let name = entry.file_name().to_string_lossy().into_owned();
        let want = if entry.file_type().unwrap().is_dir() {
            0o700
        } else {
            0o600
        };
        assert_eq!(mode, want, "{name} is {mode:o}");
        seen.push(name);
    }
    for expected in ["vault.db", "keyring.json"] {
        assert!(seen.iter().any(|n| n == expected), "{expected} in {seen:?}");
    }
    assert!(
        seen.iter().any(|n| n.ends_with("-wal")),
        "the WAL is checked too: {seen:?}"
    );
}

#[test]
fn a_disabled_users_open_session_ends_at_its_next_call() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let mut admin = SessionSlot::new();
    setup(&dir, &mut admin);
    let mut bob = signed_in_new_user(&dir, &mut admin, "bob", "underwriter");
    assert!(bob.require(Access::Write, "test").is_ok(), "bob works");
    let bob_id = user_id(&mut admin, "bob");
    users::set_user_disabled(&mut admin, &bob_id, true).unwrap();

    let err = bob.require(Access::Write, "test").err().unwrap();
    assert_eq!(err.code(), Code::Unauthorized);
    assert!(err.to_string().contains("disabled"), "{err}");
    assert!(
        bob.info().is_none(),
        "the session is gone, its keys dropped"
    );
    // Disabling rotated every class key bob held and re-keyed the file: his desk cannot even
    // read it now, so the admin's entries are the record. (A team store has no file key to
    // re-key: the class keys' new generations alone cut him off.)
    let log = api::audit_log::list_audit(&mut admin, None, 20).unwrap();
    let expected: &[&str] = if testkit::team_backend() {
        &["user.disable", "vault.rotate_keys"]
    } else {
        &["user.disable", "vault.rotate_keys", "vault.rotate_key"]
    };
    for &action in expected {
        assert!(
            log.entries.iter().any(|e| e.action == action),
            "{action} is in the audit log"
        );
    }
    assert!(
        api::audit_log::verify_audit(&mut admin, None)
            .unwrap()
            .intact
    );
}

/// An admin cannot reset their own password (new keys registered by their own old ones would
/// never verify: they would be locked out) nor disable themselves; they change it instead.
#[test]
fn an_admin_cannot_reset_or_disable_themselves() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let mut admin = SessionSlot::new();
    setup(&dir, &mut admin);
    let name = admin.info().unwrap().username;
    let me = user_id(&mut admin, &name);
    let err = users::reset_password(&mut admin, &me).err().unwrap();
    assert_eq!(err.code(), Code::Conflict);
    assert!(err.to_string().contains("change it instead"), "{err}");
    let err = users::set_user_disabled(&mut admin, &me, true)
        .err()
        .unwrap();
    assert_eq!(err.code(), Code::Conflict);
    assert!(
        admin.require(Access::Admin, "test").is_ok(),
        "still signed in"
    );
    assert!(
        api::audit_log::verify_audit(&mut admin, None)
            .unwrap()
            .intact
    );
}

/// Issue 16: after a rotation the record keys are re-wrapped in the background, one unit at a
/// time, with its progress; the session serves other calls between units; only an admin's
/// session runs it; the earlier class keys are then forgotten (`vault.rewrap_done`).
#[test]
fn disabling_a_user_rewraps_record_keys_in_the_background_with_progress() {
    let (_tmp, dir, mut admin) = admin_vault();
    for seed in 0..3 {
        api::intake::save_draft(
            &mut admin,
            api::intake::SaveDraft {
                id: None,
                version: None,
                form: api::intake::demo::low_risk(seed),
            },
        )
        .unwrap();
    }
    let _bob = signed_in_new_user(&dir, &mut admin, "bob", "underwriter");
    let bob_id = user_id(&mut admin, "bob");
    users::set_user_disabled(&mut admin, &bob_id, true).unwrap();

    // The disabling call returned before any record key was re-wrapped: the window already
    // sees it running, with what waits.
    let shared = std::sync::Arc::new(std::sync::Mutex::new(admin));
    let rewrapper = api::rewrap::Rewrapper::new(std::sync::Arc::clone(&shared), 1);
    assert_eq!(rewrapper.status(), api::rewrap::RewrapStatus::default());
    let seen = api::rewrap::rewrap_status(&mut shared.lock().unwrap(), rewrapper.status()).unwrap();
    assert!(seen.running && seen.done == 0 && seen.left > 0, "{seen:?}");
    assert!(rewrapper.step().unwrap(), "a unit was due");
    let first = rewrapper.status();
    assert!(
        first.running && first.done == 1 && first.left > 0,
        "{first:?}"
    );
    let total = first.done + first.left;
    // Between units the session serves the window: the drafts read as before.
    {
        let mut slot = shared.lock().unwrap();
        let page = api::intake::list_applications(&mut slot, &Default::default()).unwrap();
        assert_eq!(page.items.len(), 3);
    }
    let mut units = 1;
    while rewrapper.step().unwrap() {
        units += 1;
        let s = rewrapper.status();
        assert_eq!(s.done + s.left, total, "progress adds up: {s:?}");
    }
    let done = rewrapper.status();
    assert!(
        !done.running && done.left == 0 && done.done == total,
        "{done:?}"
    );
    assert!(done.finished_at.is_some());
    assert_eq!(units as u64, total, "one record key per unit here");
    assert!(!rewrapper.step().unwrap(), "nothing left to do");
    let seen = api::rewrap::rewrap_status(&mut shared.lock().unwrap(), rewrapper.status()).unwrap();
    assert_eq!(seen, done, "the window sees it finished");

    let mut admin = shared.lock().unwrap();
    let log = api::audit_log::list_audit(&mut admin, None, 5).unwrap();
    let entry = log
        .entries
        .iter()
        .find(|e| e.action == "vault.rewrap_done")
        .expect("the re-wrap's end is audited");
    assert_eq!(entry.actor, "system:rewrap for alice");
    assert!(
        api::audit_log::verify_audit(&mut admin, None)
            .unwrap()
            .intact
    );
}

/// Only an admin's session runs the re-wrap (only an admin holds every class).
#[test]
fn the_background_rewrap_waits_for_an_admin_session() {
    let (_tmp, dir, mut admin) = admin_vault();
    let carl_id = {
        let _carl = signed_in_new_user(&dir, &mut admin, "carl", "underwriter");
        user_id(&mut admin, "carl")
    };
    users::set_user_disabled(&mut admin, &carl_id, true).unwrap();
    // (A session opened before the rotation ends with it: the file was re-keyed.)
    let bob = signed_in_new_user(&dir, &mut admin, "bob", "underwriter");
    // bob's desk: a re-wrap is due, but not on an underwriter's session.
    let shared = std::sync::Arc::new(std::sync::Mutex::new(bob));
    let rewrapper = api::rewrap::Rewrapper::new(std::sync::Arc::clone(&shared), 100);
    assert!(!rewrapper.step().unwrap());
    assert!(!rewrapper.status().running);
    // And the use case the CLI runs refuses bob before it looks at anything.
    let err = api::rewrap::rewrap_step(&mut shared.lock().unwrap(), 100).unwrap_err();
    assert_eq!(err.code(), Code::Forbidden);
    // The admin's session does it.
    assert!(api::rewrap::rewrap_step(&mut admin, 100_000).unwrap() == 0);
}

/// Issue 16 (unlock ≤ 500 ms): the window signs in with the page-by-page check deferred; the
/// checker runs it on a connection of its own and, on a damaged file, ends the session and
/// refuses later sign-ins with the same error a check at open gives.
#[test]
fn the_deferred_integrity_check_ends_the_session_of_a_damaged_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let mut slot = SessionSlot::new();
    let secret = setup(&dir, &mut slot);
    for seed in 0..150 {
        api::intake::save_draft(
            &mut slot,
            api::intake::SaveDraft {
                id: None,
                version: None,
                form: api::intake::demo::low_risk(seed),
            },
        )
        .unwrap();
    }
    slot.lock().unwrap();
    // The last connection closed: the WAL is in the file. A flipped byte in its last page.
    let path = tmp.path().join("vault.db");
    let mut bytes = std::fs::read(&path).unwrap();
    let at_byte = bytes.len() - 2048;
    bytes[at_byte] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();

    let deferred = api::Policy {
        defer_integrity_check: true,
        ..policy()
    };
    auth::sign_in(
        &dir,
        SignInInput {
            username: "alice".into(),
            password: testkit::PASSWORD.into(),
            code: Some(testkit::totp::code_ahead(&secret, 1)),
        },
        &mut slot,
        deferred,
    )
    .expect("sign-in does not read the damaged page");
    let shared = std::sync::Arc::new(std::sync::Mutex::new(slot));
    let checker = api::integrity::IntegrityChecker::new(std::sync::Arc::clone(&shared));
    assert!(checker.refuse_if_damaged().is_ok());
    assert!(checker.step().unwrap(), "the check was due");
    // One finding is confirmed by a second run before the session ends.
    assert!(!checker.found_damage());
    assert!(shared.lock().unwrap().info().is_some());
    assert!(checker.step().unwrap(), "the check runs again");
    assert!(checker.found_damage());
    assert!(shared.lock().unwrap().info().is_none(), "the session ended");
    let err = checker.refuse_if_damaged().unwrap_err();
    assert_eq!(err.code(), Code::VaultDamaged);
    assert!(!checker.step().unwrap(), "no session, nothing to check");
}

/// The id of the user called `name`, as Admin → Users lists them.
fn user_id(admin: &mut SessionSlot, name: &str) -> String {
    users::list_users(admin)
        .unwrap()
        .into_iter()
        .find(|u| u.username == name)
        .unwrap()
        .id
}

/// A vault set up in a temp folder, with its admin signed in (kept alive by the caller).
fn admin_vault() -> (tempfile::TempDir, DataDir, SessionSlot) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let mut admin = SessionSlot::new();
    setup(&dir, &mut admin);
    (tmp, dir, admin)
}

/// Issue 16: a split of the recovery key outside 2 <= M <= N <= 16 is refused by field, and the
/// key in force stays in force.
#[test]
fn a_recovery_key_split_out_of_range_is_refused_before_anything_changes() {
    let (_tmp, _dir, mut admin) = admin_vault();
    for split in [(1, 3), (4, 3), (2, 17)] {
        let err = auth::rotate_recovery_key(&mut admin, Some(split)).unwrap_err();
        assert_eq!(err.code(), Code::InvalidInput, "{split:?}");
        assert!(err.to_string().starts_with("split:"), "{err}");
    }
    let log = api::audit_log::list_audit(&mut admin, None, 50).unwrap();
    assert!(!log
        .entries
        .iter()
        .any(|e| e.action == "vault.rotate_recovery_key"));
    let split = auth::rotate_recovery_key(&mut admin, Some((2, 3))).unwrap();
    assert_eq!((split.shares.len(), split.threshold), (3, Some(2)));
    let log = api::audit_log::list_audit(&mut admin, None, 5).unwrap();
    let entry = log
        .entries
        .iter()
        .find(|e| e.action == "vault.rotate_recovery_key")
        .unwrap();
    assert_eq!(entry.detail.as_deref(), Some("split 2 of 3"));
}

/// Issue 16: a backup restores with enough shares of a split recovery key, as with the key.
#[test]
fn a_backup_restores_with_two_shares_of_a_recovery_key_split_two_of_three() {
    let (tmp, _dir, mut admin) = admin_vault();
    let split = auth::rotate_recovery_key(&mut admin, Some((2, 3))).unwrap();
    let archive = tmp.path().join("split.backup");
    api::backup::backup(&mut admin, &archive).unwrap();
    let one = api::backup::restore(
        &archive,
        &tmp.path().join("one"),
        api::backup::RestoreWith::RecoveryKey(split.shares[1].clone()),
    )
    .unwrap_err();
    assert_eq!(one.code(), Code::InvalidInput, "{one}");
    let two = api::backup::restore(
        &archive,
        &tmp.path().join("two"),
        api::backup::RestoreWith::RecoveryKey(format!("{}\n{}", split.shares[0], split.shares[2])),
    )
    .unwrap();
    assert_eq!(two.users, 1);
}
