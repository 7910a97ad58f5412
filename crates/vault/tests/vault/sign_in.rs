use desk_vault::testing::Raw;
use desk_vault::{NextStep, Vault, VaultError};

use crate::support::*;

#[test]
fn admin_signs_in_with_password_and_code() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, secret) = created(tmp.path());
    drop(created);
    let vault = sign_in_admin(tmp.path(), &secret, at(1));
    assert!(vault.verify_audit().unwrap().intact);
}

#[test]
fn wrong_password_wrong_code_and_unknown_user_all_read_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, secret) = created(tmp.path());
    drop(created);
    let code = code_at(&secret, at(1));
    let wrong_pw = Vault::sign_in(
        tmp.path(),
        ADMIN,
        "not the password",
        Some(&code),
        policy(),
        at(1),
    )
    .unwrap_err();
    let wrong_code =
        Vault::sign_in(tmp.path(), ADMIN, ADMIN_PW, Some("000000"), policy(), at(1)).unwrap_err();
    let no_code = Vault::sign_in(tmp.path(), ADMIN, ADMIN_PW, None, policy(), at(1)).unwrap_err();
    let nobody = Vault::sign_in(
        tmp.path(),
        "mallory",
        ADMIN_PW,
        Some(&code),
        policy(),
        at(1),
    )
    .unwrap_err();
    for e in [&wrong_pw, &wrong_code, &no_code, &nobody] {
        assert!(matches!(e, VaultError::BadCredentials), "got {e:?}");
        assert_eq!(
            e.to_string(),
            wrong_pw.to_string(),
            "one message for every failure"
        );
    }
}

#[test]
fn a_code_cannot_be_replayed() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, secret) = created(tmp.path());
    drop(created);
    let code = code_at(&secret, at(1));
    drop(Vault::sign_in(tmp.path(), ADMIN, ADMIN_PW, Some(&code), policy(), at(1)).unwrap());
    let replay =
        Vault::sign_in(tmp.path(), ADMIN, ADMIN_PW, Some(&code), policy(), at(1)).unwrap_err();
    assert!(
        matches!(replay, VaultError::BadCredentials),
        "replayed code refused: {replay:?}"
    );
    let vault = sign_in_admin(tmp.path(), &secret, at(2));
    let log = vault.audit_entries(50, None).unwrap();
    assert!(
        log.iter().any(|e| e.action == "auth.sign_in"
            && e.detail.as_deref() == Some("authenticator code replayed")),
        "the replay is audited once the vault is open again"
    );
}

#[test]
fn ten_failures_lock_for_thirty_minutes_and_the_lock_survives_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, secret) = created(tmp.path());
    drop(created);
    for i in 1..10 {
        let e = Vault::sign_in(tmp.path(), ADMIN, "wrong password!", None, policy(), at(1))
            .unwrap_err();
        assert!(
            matches!(e, VaultError::BadCredentials),
            "attempt {i}: {e:?}"
        );
    }
    let tenth =
        Vault::sign_in(tmp.path(), ADMIN, "wrong password!", None, policy(), at(1)).unwrap_err();
    assert!(
        matches!(tenth, VaultError::Locked { .. }),
        "10th failure locks: {tenth:?}"
    );
    // Every call re-reads the keyring from disk, as a restarted app would.
    let right = Vault::sign_in(
        tmp.path(),
        ADMIN,
        ADMIN_PW,
        Some(&code_at(&secret, at(20))),
        policy(),
        at(20),
    )
    .unwrap_err();
    assert!(
        matches!(right, VaultError::Locked { .. }),
        "even the right password waits: {right:?}"
    );
    let vault = sign_in_admin(tmp.path(), &secret, at(32));
    let log = vault.audit_entries(100, None).unwrap();
    let failed = log
        .iter()
        .filter(|e| e.action == "auth.sign_in" && e.outcome == "failed")
        .count();
    assert_eq!(failed, 10, "every failed attempt is audited");
    assert!(
        log.iter().any(|e| e.action == "auth.lockout"),
        "the lockout is audited"
    );
    assert!(
        log.iter()
            .any(|e| e.action == "auth.sign_in" && e.outcome == "denied"),
        "the blocked try is audited"
    );
}

#[test]
fn unknown_usernames_lock_too_so_lockout_does_not_reveal_who_exists() {
    let tmp = tempfile::tempdir().unwrap();
    drop(created(tmp.path()));
    let mut last = None;
    for _ in 0..10 {
        last = Some(
            Vault::sign_in(
                tmp.path(),
                "mallory",
                "whatever pass",
                None,
                policy(),
                at(1),
            )
            .unwrap_err(),
        );
    }
    assert!(matches!(last, Some(VaultError::Locked { .. })), "{last:?}");
}

#[test]
fn new_user_changes_one_time_password_then_enrols_totp() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, secret) = created(tmp.path());
    let (bob, otp) = created
        .vault
        .create_user(ADMIN, &username("bob"), domain::Role::Underwriter, t0())
        .unwrap();
    drop(created);
    let enrolment = first_sign_in(tmp.path(), &bob.id, otp.expose(), "quiet river stones 7");
    assert!(
        Vault::sign_in(tmp.path(), "bob", otp.expose(), None, policy(), at(2)).is_err(),
        "old password is gone"
    );
    let (_, _, next) = Vault::sign_in(
        tmp.path(),
        "bob",
        "quiet river stones 7",
        Some(&code_at(&enrolment.secret, at(2))),
        policy(),
        at(2),
    )
    .unwrap();
    assert!(matches!(next, NextStep::Ready));
    let _ = secret;
}

#[test]
fn recovery_key_resets_a_forgotten_password() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let shown = created.recovery_key.display();
    drop(created);
    let key = desk_vault::RecoveryKey::parse(&shown).unwrap();
    Vault::recover(
        tmp.path(),
        &key,
        &username(ADMIN),
        &password("a brand new passphrase 1", ADMIN),
        policy(),
        at(1),
    )
    .unwrap();
    let (_, _, next) = Vault::sign_in(
        tmp.path(),
        ADMIN,
        "a brand new passphrase 1",
        None,
        policy(),
        at(2),
    )
    .unwrap();
    assert!(
        matches!(next, NextStep::EnrolTotp { .. }),
        "recovery clears the authenticator"
    );
    let wrong =
        desk_vault::RecoveryKey::parse(&desk_vault::RecoveryKey::generate().display()).unwrap();
    assert!(matches!(
        Vault::recover(
            tmp.path(),
            &wrong,
            &username(ADMIN),
            &password("another new passphrase 2", ADMIN),
            policy(),
            at(3)
        ),
        Err(VaultError::BadCredentials)
    ));
}

#[test]
fn every_refusal_takes_at_least_the_refusal_floor() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, secret) = created(tmp.path());
    drop(created);
    let floor = std::time::Duration::from_millis(300);
    let padded = desk_vault::Policy {
        refusal_floor: floor,
        ..policy()
    };
    let code = code_at(&secret, at(1));
    let attempts: [(&str, &str, Option<&str>); 3] = [
        (ADMIN, "not the password", Some(&code)),
        (ADMIN, ADMIN_PW, Some("000000")),
        ("mallory", ADMIN_PW, Some(&code)),
    ];
    for (user, pw, code) in attempts {
        let started = std::time::Instant::now();
        let err = Vault::sign_in(tmp.path(), user, pw, code, padded, at(1)).unwrap_err();
        assert!(matches!(err, VaultError::BadCredentials), "{err:?}");
        assert!(
            started.elapsed() >= floor,
            "{user}: a refusal answers no sooner than the floor"
        );
    }
    // A success is not padded: the floor is for refusals only.
    let vault = Vault::sign_in(tmp.path(), ADMIN, ADMIN_PW, Some(&code), padded, at(1));
    assert!(vault.is_ok());
}

/// A vault of 200 applications whose last page (an application's, which sign-in never reads)
/// has a flipped byte; returns the folder and the admin's secret.
fn damaged_in_its_last_page() -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().unwrap();
    let (created, secret) = created(tmp.path());
    let forms: Vec<_> = (0..200).map(form).collect();
    let ids: Vec<String> = (0..200).map(|i| format!("app-{i:04}")).collect();
    let batch: Vec<_> = forms
        .iter()
        .zip(&ids)
        .map(|(form, id)| desk_vault::applications::NewApplication {
            id,
            status: domain::intake::ApplicationStatus::Submitted,
            source: desk_vault::applications::Source::Import,
            form,
            actor: ADMIN,
            now_ms: 1_000,
        })
        .collect();
    created
        .vault
        .write(|tx| tx.insert_applications(&batch))
        .unwrap();
    created
        .vault
        .raw_conn()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    drop(created);
    let path = tmp.path().join(desk_vault::VAULT_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    let at_byte = bytes.len() - 2048;
    bytes[at_byte] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    (tmp, secret)
}

#[test]
fn the_code_is_checked_before_the_vault_file_is_checked_page_by_page() {
    let (tmp, secret) = damaged_in_its_last_page();

    let wrong = Vault::sign_in(tmp.path(), ADMIN, ADMIN_PW, Some("000000"), policy(), at(1));
    assert!(
        matches!(wrong, Err(VaultError::BadCredentials)),
        "a wrong code is refused before the slow check runs (it would have found the damage)"
    );
    let code = code_at(&secret, at(2));
    let right = Vault::sign_in(tmp.path(), ADMIN, ADMIN_PW, Some(&code), policy(), at(2));
    assert!(
        matches!(right, Err(VaultError::VaultDamaged(_))),
        "the right code goes on to the integrity check, which finds the flipped byte"
    );
}

#[test]
fn recovery_never_enables_a_disabled_user_and_a_wrong_key_is_audited() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, secret) = created(tmp.path());
    let key = desk_vault::RecoveryKey::parse(&created.recovery_key.display()).unwrap();
    let (bob, _) = created
        .vault
        .create_user(ADMIN, &username("bob"), domain::Role::Underwriter, at(1))
        .unwrap();
    created
        .vault
        .set_disabled(ADMIN, &bob.id, true, at(1))
        .unwrap();
    drop(created);

    let refused = Vault::recover(
        tmp.path(),
        &key,
        &username("bob"),
        &password("a fresh passphrase here 4", "bob"),
        policy(),
        at(2),
    );
    assert!(
        matches!(refused, Err(VaultError::Conflict(_))),
        "{refused:?}"
    );
    let wrong =
        desk_vault::RecoveryKey::parse(&desk_vault::RecoveryKey::generate().display()).unwrap();
    let bad = Vault::recover(
        tmp.path(),
        &wrong,
        &username(ADMIN),
        &password("another new passphrase 2", ADMIN),
        policy(),
        at(3),
    );
    assert!(matches!(bad, Err(VaultError::BadCredentials)));

    let vault = sign_in_admin(tmp.path(), &secret, at(4));
    assert!(
        vault.user_by_id(&bob.id).unwrap().disabled,
        "bob stays disabled"
    );
    let log = vault.audit_entries(50, None).unwrap();
    assert!(log.iter().any(|e| e.action == "user.recover"
        && e.outcome == "denied"
        && e.target.as_deref() == Some("bob")));
    assert!(
        log.iter().any(|e| e.action == "user.recover"
            && e.outcome == "failed"
            && e.detail.as_deref() == Some("wrong recovery key")),
        "the wrong key is audited once the vault is open again"
    );
    assert!(vault.verify_audit().unwrap().intact);
}

#[test]
fn a_rotated_recovery_key_replaces_the_old_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let old = desk_vault::RecoveryKey::parse(&created.recovery_key.display()).unwrap();
    let new = created.vault.rotate_recovery_key(ADMIN, at(1)).unwrap();
    assert_ne!(new.display(), created.recovery_key.display());
    let log = created.vault.audit_entries(10, None).unwrap();
    assert_eq!(log[0].action, "vault.rotate_recovery_key");
    assert!(created.vault.verify_audit().unwrap().intact);
    drop(created);
    let with_old = Vault::recover(
        tmp.path(),
        &old,
        &username(ADMIN),
        &password("a brand new passphrase 1", ADMIN),
        policy(),
        at(2),
    );
    assert!(matches!(with_old, Err(VaultError::BadCredentials)));
    let new = desk_vault::RecoveryKey::parse(&new.display()).unwrap();
    Vault::recover(
        tmp.path(),
        &new,
        &username(ADMIN),
        &password("a brand new passphrase 1", ADMIN),
        policy(),
        at(3),
    )
    .unwrap();
}

#[test]
fn entries_the_recovery_key_signed_still_verify_after_it_is_rotated() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let key = desk_vault::RecoveryKey::parse(&created.recovery_key.display()).unwrap();
    drop(created);
    let new_password = "a brand new passphrase 1";
    Vault::recover(
        tmp.path(),
        &key,
        &username(ADMIN),
        &password(new_password, ADMIN),
        policy(),
        at(1),
    )
    .unwrap();
    let (admin, _, _) =
        Vault::sign_in(tmp.path(), ADMIN, new_password, None, policy(), at(2)).unwrap();
    let log = admin.audit_entries(100, None).unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "user.recover" && e.signed_by.as_deref() == Some("recovery key")),
        "{log:#?}"
    );
    admin.rotate_recovery_key(ADMIN, at(2)).unwrap();
    let report = admin.verify_audit().unwrap();
    assert!(report.intact, "{report:?}");
}

/// Three failures, then the keyring as it is (the lockout comes at ten).
fn three_failures(dir: &std::path::Path) {
    for _ in 0..3 {
        let e = Vault::sign_in(dir, ADMIN, "wrong password 1!", None, policy(), at(1)).unwrap_err();
        assert!(matches!(e, VaultError::BadCredentials), "{e:?}");
    }
}

/// A vault whose admin is locked out by ten wrong passwords (at minute 1).
fn admin_locked_out() -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().unwrap();
    let (created, secret) = created(tmp.path());
    drop(created);
    for _ in 0..10 {
        let _ = Vault::sign_in(
            tmp.path(),
            ADMIN,
            "wrong password 1!",
            None,
            policy(),
            at(1),
        );
    }
    (tmp, secret)
}

/// The attacker's edit of keyring.json, written back.
fn put_keyring_json(dir: &std::path::Path, ring: &serde_json::Value) {
    std::fs::write(
        dir.join(desk_vault::KEYRING_FILE),
        serde_json::to_vec_pretty(ring).unwrap(),
    )
    .unwrap();
}

/// The keyring on disk, asserting that it locks every user and queues the finding of
/// tampering.
fn locked_for_every_user(dir: &std::path::Path) -> serde_json::Value {
    let saved = keyring_json(dir);
    assert!(
        saved["lockouts"]["*"]["locked_until"].is_string(),
        "{saved:#}"
    );
    assert!(
        saved["pending_audit"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "auth.failures_tampered"),
        "{saved:#}"
    );
    saved
}

fn keyring_json(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join(desk_vault::KEYRING_FILE)).unwrap()).unwrap()
}

/// Issue 16: editing keyring.json to lift a lockout (or to drop the failed attempts waiting to
/// be audited) is detected at the next sign-in: the vault locks for the lockout period and the
/// finding is audited once it opens.
#[test]
fn a_lockout_lifted_by_editing_the_keyring_is_detected_and_locks_the_vault() {
    let (tmp, secret) = admin_locked_out();
    let mut ring = keyring_json(tmp.path());
    assert!(!ring["lockouts"].as_object().unwrap().is_empty());
    assert_eq!(ring["attempts"], 10);
    // The attacker's edit: no lockout, no failures waiting, the count back to nothing.
    ring["lockouts"] = serde_json::json!({});
    ring["pending_audit"] = serde_json::json!([]);
    ring["attempts"] = serde_json::json!(0);
    put_keyring_json(tmp.path(), &ring);

    let right = admin_with_code(tmp.path(), &secret, 2, policy()).unwrap_err();
    assert!(matches!(right, VaultError::Locked { .. }), "{right:?}");
    // The count is carried on from this desk's record, never back.
    assert_eq!(keyring_json(tmp.path())["attempts"], 10);

    let vault = sign_in_admin(tmp.path(), &secret, at(33));
    let log = vault.audit_entries(100, None).unwrap();
    let found = log
        .iter()
        .find(|e| e.action == "auth.failures_tampered")
        .expect("the tampering is audited");
    assert_eq!(found.target.as_deref(), Some("every user"));
    assert!(found
        .detail
        .as_deref()
        .unwrap()
        .contains("were edited outside the app"));
    assert!(vault.verify_audit().unwrap().intact);
}

/// Putting back an earlier keyring (authentic, its MAC intact) is a rollback: fewer attempts
/// than this desk has seen.
#[test]
fn an_earlier_keyring_put_back_to_lift_a_lockout_is_detected_by_the_count() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, secret) = created(tmp.path());
    drop(created);
    three_failures(tmp.path());
    let earlier = std::fs::read(tmp.path().join(desk_vault::KEYRING_FILE)).unwrap();
    for _ in 0..7 {
        let _ = Vault::sign_in(
            tmp.path(),
            ADMIN,
            "wrong password 1!",
            None,
            policy(),
            at(1),
        );
    }
    assert_eq!(keyring_json(tmp.path())["attempts"], 10);
    std::fs::write(tmp.path().join(desk_vault::KEYRING_FILE), earlier).unwrap();

    let right = admin_with_code(tmp.path(), &secret, 2, policy()).unwrap_err();
    assert!(matches!(right, VaultError::Locked { .. }), "{right:?}");
    let vault = sign_in_admin(tmp.path(), &secret, at(33));
    let log = vault.audit_entries(100, None).unwrap();
    assert!(
        log.iter().any(|e| e.action == "auth.failures_tampered"
            && e.detail
                .as_deref()
                .unwrap_or("")
                .contains("an earlier keyring.json was put back")),
        "{log:#?}"
    );
    // The three failures the earlier keyring held are written, marked as found in it.
    let failures: Vec<_> = log
        .iter()
        .filter(|e| e.action == "auth.sign_in" && e.outcome == "failed")
        .collect();
    assert_eq!(failures.len(), 3, "{log:#?}");
    assert!(failures.iter().all(|e| e
        .detail
        .as_deref()
        .unwrap()
        .starts_with("unverified, found in an earlier keyring.json put back: ")));
}

/// A folder this desk has no record for (moved here, or the record deleted): it opens, and
/// the audit log says its failure records could not be checked.
#[test]
fn failure_records_this_desk_cannot_check_are_audited_not_trusted_silently() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, secret) = created(tmp.path());
    drop(created);
    three_failures(tmp.path());
    let record = desk_vault::testing::device_record(tmp.path()).unwrap();
    assert!(
        record.exists(),
        "the desk keeps its record outside the data folder"
    );
    assert!(!record.starts_with(tmp.path()));
    std::fs::remove_file(&record).unwrap();

    let vault = sign_in_admin(tmp.path(), &secret, at(2));
    let log = vault.audit_entries(100, None).unwrap();
    assert!(
        log.iter().any(|e| e.action == "auth.failures_unverified"),
        "{log:#?}"
    );
    // The three failures themselves are still audited, and a new record begins.
    assert_eq!(
        log.iter()
            .filter(|e| e.action == "auth.sign_in" && e.outcome == "failed")
            .count(),
        3
    );
    assert!(desk_vault::testing::device_record(tmp.path())
        .unwrap()
        .exists());
}

/// Issue 16 (unlock ≤ 500 ms): the window defers the page-by-page check; sign-in then opens at
/// once and the check, run as a job on a connection of its own, still finds the flipped byte.
#[test]
fn a_deferred_integrity_check_runs_as_a_job_and_still_finds_damage() {
    let (tmp, secret) = damaged_in_its_last_page();
    let deferred = desk_vault::Policy {
        defer_integrity_check: true,
        ..policy()
    };
    let (vault, _, _) = admin_with_code(tmp.path(), &secret, 2, deferred)
        .expect("sign-in does not read the damaged page");
    use desk_vault::integrity::Integrity;
    assert_eq!(vault.integrity(), Integrity::Unchecked);
    let job = vault
        .integrity_job()
        .unwrap()
        .expect("the check is handed out");
    assert!(vault.integrity_job().unwrap().is_none(), "once");
    let found = std::thread::spawn(move || {
        let outcome = job.run();
        (job.token(), outcome)
    })
    .join()
    .unwrap();
    assert!(matches!(found.1, Ok(false)), "{:?}", found.1);
    assert_eq!(vault.integrity_done(found.0, &found.1), Some(false));
    // A stale job's outcome is not taken for this vault's.
    assert_eq!(vault.integrity_done(found.0 ^ 1, &Ok(true)), None);
}

#[test]
fn a_deferred_integrity_check_of_an_intact_vault_marks_it_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, secret) = created(tmp.path());
    drop(created);
    let deferred = desk_vault::Policy {
        defer_integrity_check: true,
        ..policy()
    };
    let (vault, _, _) = admin_with_code(tmp.path(), &secret, 2, deferred).unwrap();
    let job = vault.integrity_job().unwrap().unwrap();
    let outcome = job.run();
    assert!(matches!(outcome, Ok(true)), "{outcome:?}");
    assert_eq!(vault.integrity_done(job.token(), &outcome), Some(true));
    assert_eq!(vault.integrity(), desk_vault::integrity::Integrity::Checked);
    assert!(vault.integrity_job().unwrap().is_none());
}

/// The admin's sign-in at minute `minute`, with that minute's code.
fn admin_with_code(
    dir: &std::path::Path,
    secret: &str,
    minute: i64,
    policy: desk_vault::Policy,
) -> desk_vault::Result<(Vault, desk_vault::User, desk_vault::NextStep)> {
    Vault::sign_in(
        dir,
        ADMIN,
        ADMIN_PW,
        Some(&code_at(secret, at(minute))),
        policy,
        at(minute),
    )
}

/// The MAC deleted with what it covered is an edit too.
#[test]
fn a_lockout_lifted_with_its_mac_deleted_is_detected() {
    let (tmp, secret) = admin_locked_out();
    let mut ring = keyring_json(tmp.path());
    for field in ["lockouts", "pending_audit", "attempts", "failures_mac"] {
        ring.as_object_mut().unwrap().remove(field);
    }
    put_keyring_json(tmp.path(), &ring);
    let right = admin_with_code(tmp.path(), &secret, 2, policy()).unwrap_err();
    assert!(matches!(right, VaultError::Locked { .. }), "{right:?}");
}

/// An edited keyring saved by a path that asks for no credentials (a wrong recovery key here)
/// is not signed again as if it were sound: the edit is found at that save.
#[test]
fn an_edited_keyring_is_not_signed_again_by_a_later_save() {
    let (tmp, secret) = admin_locked_out();
    let mut ring = keyring_json(tmp.path());
    ring["lockouts"] = serde_json::json!({});
    put_keyring_json(tmp.path(), &ring);
    let junk = desk_vault::RecoveryKey::generate();
    let _ = Vault::recover(
        tmp.path(),
        &junk,
        &username(ADMIN),
        &password("a fresh passphrase here 4", ADMIN),
        policy(),
        at(2),
    );
    // That save locked every user (at the wall clock's time) and queued the finding.
    locked_for_every_user(tmp.path());
    // Past that lock (this test's clock is ahead of the wall clock), the finding reaches the
    // log with the sign-in.
    let vault = sign_in_admin(tmp.path(), &secret, at(40));
    assert!(vault
        .audit_entries(100, None)
        .unwrap()
        .iter()
        .any(|e| e.action == "auth.failures_tampered"));
}

/// The same edit made while a session is open: its next keyring save finds it (`stamp`'s check
/// of the file it replaces), locks every user and marks what it found, rather than signing it.
#[test]
fn an_edit_made_under_an_open_session_is_found_by_its_next_save() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let mut ring = keyring_json(tmp.path());
    ring["pending_audit"] = serde_json::json!([{
        "at": "2026-11-01T00:00:00Z",
        "action": "auth.lockout",
        "slot": "*",
        "outcome": "ok: slipped in",
    }]);
    put_keyring_json(tmp.path(), &ring);
    created
        .vault
        .create_user(ADMIN, &username("dora"), domain::Role::Auditor, at(1))
        .unwrap();
    let saved = locked_for_every_user(tmp.path());
    let pending = saved["pending_audit"].as_array().unwrap();
    assert!(pending
        .iter()
        .any(|e| e["outcome"] == "ok: unverified, found in an edited keyring.json: slipped in"));
    assert!(pending
        .iter()
        .any(|e| e["action"] == "auth.failures_tampered"));

    // A second edit while the first finding waits is a finding of its own.
    let mut ring = keyring_json(tmp.path());
    ring["attempts"] = serde_json::json!(7);
    put_keyring_json(tmp.path(), &ring);
    created
        .vault
        .create_user(ADMIN, &username("erin"), domain::Role::Auditor, at(2))
        .unwrap();
    let findings = keyring_json(tmp.path())["pending_audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "auth.failures_tampered")
        .count();
    assert_eq!(findings, 2);
}

/// An operation that saves the keyring twice (re-keying the file: before and after `PRAGMA
/// rekey`) keeps what its first save found: the second does not sign the edited records.
#[test]
fn a_second_save_keeps_what_the_first_found_in_an_edited_keyring() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let mut ring = keyring_json(tmp.path());
    ring["attempts"] = serde_json::json!(3);
    put_keyring_json(tmp.path(), &ring);
    created.vault.rotate_db_key(ADMIN, at(1)).unwrap();
    locked_for_every_user(tmp.path());
}
