use desk_vault::applications::{NewApplication, Source};
use desk_vault::backup::{restore, Unlock};
use desk_vault::{VaultError, VAULT_FILE};
use domain::intake::ApplicationStatus;
use time::OffsetDateTime;

use crate::support::*;

/// A vault with three applications, and an archive of it in `<tmp>/backup.desk`.
fn backed_up() -> (
    tempfile::TempDir,
    desk_vault::RecoveryKey,
    std::path::PathBuf,
    String,
) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let (created, secret) = created(&data);
    let forms: Vec<_> = (0..3).map(form).collect();
    let ids = ["a-1", "a-2", "a-3"];
    let batch: Vec<_> = ids
        .iter()
        .zip(&forms)
        .map(|(id, form)| NewApplication {
            id,
            status: ApplicationStatus::Submitted,
            source: Source::Import,
            form,
            actor: ADMIN,
            now_ms: 1,
        })
        .collect();
    created
        .vault
        .write(|tx| tx.insert_applications(&batch))
        .unwrap();
    let out = tmp.path().join("backup.desk");
    let summary = created
        .vault
        .backup(&out, "admin", OffsetDateTime::now_utc())
        .unwrap();
    assert_eq!(summary.applications, 3);
    assert!(summary.bytes > 0);
    (tmp, created.recovery_key, out, secret)
}

#[test]
fn an_archive_restores_with_the_recovery_key_or_an_admin_password_into_an_empty_folder() {
    let (tmp, recovery, archive, secret) = backed_up();
    let bytes = std::fs::read(&archive).unwrap();
    assert!(
        !bytes.windows(9).any(|w| w == b"Market St"),
        "no application data in the clear"
    );

    let by_key = tmp.path().join("restored-by-key");
    let summary = restore(&archive, &by_key, Unlock::Recovery(&recovery)).unwrap();
    assert_eq!((summary.applications, summary.users), (3, 1));
    // The restored vault opens like the original: same admin, password and authenticator.
    let vault = sign_in_admin(&by_key, &secret, t0() + time::Duration::minutes(5));
    assert_eq!(vault.application("a-2").unwrap().form, form(1));
    assert!(vault.verify_audit().unwrap().intact);

    // A fresh data folder (the app already wrote its logs there) counts as empty.
    let by_password = tmp.path().join("restored-by-password");
    std::fs::create_dir_all(by_password.join("logs")).unwrap();
    // Issue 16: the password alone does not restore; the admin's authenticator code too.
    let no_code = restore(
        &archive,
        &by_password,
        Unlock::Admin {
            username: ADMIN,
            password: ADMIN_PW,
            code: "000000",
        },
    );
    assert!(
        matches!(no_code, Err(VaultError::BadCredentials)),
        "{no_code:?}"
    );
    assert!(!by_password.join(VAULT_FILE).exists(), "nothing written");
    restore(
        &archive,
        &by_password,
        Unlock::Admin {
            username: ADMIN,
            password: ADMIN_PW,
            code: &testkit::totp::code_now(&secret),
        },
    )
    .unwrap();
    assert!(by_password.join(VAULT_FILE).exists());
}

#[test]
fn a_bad_archive_or_key_is_refused_and_nothing_is_written() {
    let (tmp, recovery, archive, _) = backed_up();
    let bytes = std::fs::read(&archive).unwrap();
    let target = tmp.path().join("target");
    let attempt = |data: &[u8], unlock: Unlock<'_>| {
        let path = tmp.path().join("candidate.desk");
        std::fs::write(&path, data).unwrap();
        let err = restore(&path, &target, unlock).unwrap_err();
        assert!(!target.exists(), "nothing written for: {err}");
        err
    };
    let wrong = Unlock::Admin {
        username: ADMIN,
        password: "not the password at all",
        code: "000000",
    };
    let started = std::time::Instant::now();
    assert!(matches!(attempt(&bytes, wrong), VaultError::BadCredentials));
    // Padded like a refused sign-in (a lower bound, never a timing assertion on the upper end).
    assert!(started.elapsed() >= desk_vault::Policy::default().refusal_floor);
    let truncated = attempt(&bytes[..bytes.len() - 100], Unlock::Recovery(&recovery));
    assert!(
        truncated.to_string().contains("does not authenticate"),
        "{truncated}"
    );
    let mut flipped = bytes.clone();
    let last = flipped.len() - 40;
    flipped[last] ^= 1;
    let err = attempt(&flipped, Unlock::Recovery(&recovery));
    assert!(err.to_string().contains("does not authenticate"), "{err}");
    let err = attempt(b"PK\x03\x04 a zip file", Unlock::Recovery(&recovery));
    assert!(
        err.to_string().contains("not a Boarding Desk backup"),
        "{err}"
    );

    // An archive from a newer schema: refused by version before any key is tried.
    let version = desk_vault::db_schema_version();
    let from = format!("\"schema_version\":{version}").into_bytes();
    let to = format!("\"schema_version\":{}", version + 1).into_bytes();
    assert_eq!(
        from.len(),
        to.len(),
        "same length keeps the header length valid"
    );
    let at = bytes
        .windows(from.len())
        .position(|w| w == from.as_slice())
        .expect("the header names its schema version");
    let mut newer = bytes.clone();
    newer[at..at + to.len()].copy_from_slice(&to);
    let err = attempt(&newer, Unlock::Recovery(&recovery));
    assert!(
        err.to_string().contains("update Boarding Desk first"),
        "{err}"
    );

    // A folder that already holds something is never replaced.
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep.txt"), b"mine").unwrap();
    let err = restore(&archive, &target, Unlock::Recovery(&recovery)).unwrap_err();
    assert!(err.to_string().starts_with("target:"), "{err}");
    assert_eq!(std::fs::read(target.join("keep.txt")).unwrap(), b"mine");
    assert!(!target.join(VAULT_FILE).exists());
}

/// Issue 16: an erasure is final. A backup taken before an erasure, restored afterwards, does
/// not bring the subject back: the erasure ledger (beside the window's archives in backups/, and
/// in the data folder) is replayed before the restored vault is handed over.
#[test]
fn a_backup_from_before_an_erasure_restores_without_the_erased_subject() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(data.join("backups")).unwrap();
    let (created, secret) = created(&data);
    let forms: Vec<_> = (0..2).map(form).collect();
    let batch: Vec<_> = ["keep-1", "erase-1"]
        .iter()
        .zip(&forms)
        .map(|(id, form)| NewApplication {
            id,
            status: ApplicationStatus::Draft,
            source: Source::Wizard,
            form,
            actor: ADMIN,
            now_ms: 1,
        })
        .collect();
    let v = &created.vault;
    v.write(|tx| tx.insert_applications(&batch)).unwrap();
    let archive = data.join("backups").join("monday.backup");
    v.backup(&archive, "admin", OffsetDateTime::now_utc())
        .unwrap();
    v.write(|tx| {
        tx.erase_application("erase-1", 5_000)?;
        tx.record_erasure_request(&desk_vault::retention::Request {
            id: "req-1".into(),
            application_id: "erase-1".into(),
            requested_by: ADMIN.into(),
            at: 5_000,
            outcome: desk_vault::retention::ErasureOutcome::Erased,
            possible_from: None,
            source: "request".into(),
        })
    })
    .unwrap();
    let ledger = std::fs::read_to_string(data.join("erasures.ledger")).unwrap();
    assert!(
        ledger.contains("\"erase-1\""),
        "the data folder's ledger: {ledger}"
    );
    assert!(
        std::fs::read_to_string(data.join("backups/erasures.ledger"))
            .unwrap()
            .contains("\"erase-1\""),
        "and the one beside the window's archives"
    );
    assert!(!ledger.contains("Market"), "ids and times only");

    let recovery_text = created.recovery_key.display();
    // A line added by hand (no vault key to MAC it) does not make a restore shred a record:
    // the restore refuses the ledger and writes nothing.
    let forged_dir = tmp.path().join("forged");
    std::fs::create_dir(&forged_dir).unwrap();
    std::fs::copy(&archive, forged_dir.join("monday.backup")).unwrap();
    let forged_line = ledger.lines().next().unwrap().replace("erase-1", "keep-1");
    std::fs::write(
        forged_dir.join("erasures.ledger"),
        format!("{ledger}{forged_line}\n"),
    )
    .unwrap();
    let refused = restore(
        &forged_dir.join("monday.backup"),
        &tmp.path().join("never"),
        Unlock::Recovery(&created.recovery_key),
    )
    .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("not an authentic ledger entry"),
        "{refused}"
    );
    assert!(!tmp.path().join("never").exists(), "nothing written");

    let restored = tmp.path().join("restored");
    let summary = restore(&archive, &restored, Unlock::Recovery(&created.recovery_key)).unwrap();
    assert_eq!(summary.erasures_replayed, 1);
    drop(created);
    let vault = sign_in_admin(&restored, &secret, at(5));
    assert!(
        vault.application("erase-1").is_err(),
        "the erased subject did not come back"
    );
    assert_eq!(
        vault.application_summary("erase-1").unwrap().legal_name,
        "[erased]"
    );
    assert_eq!(vault.application("keep-1").unwrap().form, form(0));
    let log = vault.audit_entries(20, None).unwrap();
    assert!(log
        .iter()
        .any(|e| e.action == "gdpr.erasure_replayed" && e.target.as_deref() == Some("erase-1")));
    assert!(vault.verify_audit().unwrap().intact);
    assert!(
        std::fs::read_to_string(restored.join("erasures.ledger"))
            .unwrap()
            .contains("\"erase-1\""),
        "the restored folder keeps the ledger"
    );

    // A vault lost and restored into its own folder (its ledger kept) from an archive kept
    // where no ledger is: the folder's ledger is replayed.
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::copy(&archive, elsewhere.join("monday.backup")).unwrap();
    for f in [
        "vault.db",
        "vault.db-wal",
        "vault.db-shm",
        "keyring.json",
        "keyring.lock",
    ] {
        let _ = std::fs::remove_file(data.join(f));
    }
    std::fs::remove_dir_all(data.join("backups")).unwrap();
    let key = desk_vault::RecoveryKey::parse(&recovery_text).unwrap();
    let again = restore(
        &elsewhere.join("monday.backup"),
        &data,
        Unlock::Recovery(&key),
    )
    .unwrap();
    assert_eq!(again.erasures_replayed, 1);
}

#[test]
fn restoring_an_older_archive_says_how_many_entries_it_lacks_and_the_log_records_the_rollback() {
    let (tmp, recovery, monday, secret) = backed_up();
    // Every backup leaves a signed checkpoint of its archived log beside it.
    let file = tmp.path().join(desk_vault::checkpoint::CHECKPOINT_FILE);
    let beside = desk_vault::checkpoint::read_file(&file).unwrap();
    assert_eq!(beside.len(), 1, "{beside:?}");

    // The live vault moves on, and a later backup lands in the same folder.
    let data = tmp.path().join("data");
    let v = sign_in_admin(&data, &secret, t0() + time::Duration::minutes(3));
    for i in 0..3 {
        v.audit(
            &desk_vault::audit::Event {
                actor: ADMIN,
                action: "review.note",
                target: Some("a-1"),
                outcome: desk_vault::audit::Outcome::Ok,
                detail: Some(&format!("note {i}")),
            },
            OffsetDateTime::now_utc(),
        )
        .unwrap();
    }
    let tuesday = tmp.path().join("tuesday.backup");
    let later = v
        .backup(&tuesday, ADMIN, OffsetDateTime::now_utc())
        .unwrap();
    let newest = later.checkpoint.clone().unwrap();
    assert_eq!(newest.seq, later.audit_entries);
    drop(v);
    let monday_entries = beside[0].seq;

    // Tuesday's archive is as new as the newest checkpoint: no rollback.
    let t = restore(&tuesday, &tmp.path().join("t"), Unlock::Recovery(&recovery)).unwrap();
    assert_eq!((t.audit_entries_behind, t.rolled_back_past), (0, None));

    // Monday's lacks what Tuesday's checkpoint remembers: said, and written in its own log.
    let m = restore(&monday, &tmp.path().join("m"), Unlock::Recovery(&recovery)).unwrap();
    assert_eq!(m.audit_entries_behind, newest.seq - monday_entries);
    assert!(m.audit_entries_behind >= 3, "{m:?}");
    assert!(
        m.rolled_back_past.as_deref().unwrap().contains(ADMIN),
        "{m:?}"
    );
    let restored = tmp.path().join("m");
    let r = sign_in_admin(&restored, &secret, t0() + time::Duration::minutes(6));
    let entry = r
        .audit_entries(10, None)
        .unwrap()
        .into_iter()
        .find(|e| e.action == "vault.restore")
        .unwrap();
    assert!(
        entry.detail.as_deref().unwrap().contains(&format!(
            "a rollback: the archive lacks {} audit entries",
            m.audit_entries_behind
        )),
        "{entry:?}"
    );
    // Checked against Tuesday's checkpoint, the restored log is named as cut short.
    let report = r.verify_audit_with(&[newest]).unwrap();
    assert!(!report.intact, "{report:?}");
}

#[test]
fn a_damaged_line_in_the_checkpoint_file_does_not_stop_a_restore_or_the_next_backup() {
    let (tmp, recovery, archive, secret) = backed_up();
    let file = tmp.path().join(desk_vault::checkpoint::CHECKPOINT_FILE);
    // Half a line, as a crash in an older version's append could leave it.
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("{\"vault_id\": \"trunc");
    std::fs::write(&file, text).unwrap();
    let into = tmp.path().join("r");
    let restored = restore(&archive, &into, Unlock::Recovery(&recovery)).unwrap();
    assert_eq!(restored.audit_entries_behind, 0);
    // The next backup adds its line after the damaged one, on a line of its own.
    let data = tmp.path().join("data");
    let v = sign_in_admin(&data, &secret, t0() + time::Duration::minutes(3));
    v.backup(
        &tmp.path().join("later.backup"),
        ADMIN,
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let (good, bad) = desk_vault::checkpoint::read_file_lenient(&file).unwrap();
    assert_eq!((good.len(), bad), (2, 1));
}

#[test]
fn backups_taken_before_a_key_rotation_are_marked_with_what_still_opens_them() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let (mine, _) = created(&data);
    let v = &mine.vault;
    let (uma, _) = v
        .create_user(ADMIN, &username("uma"), domain::Role::Underwriter, t0())
        .unwrap();
    let folder = tmp.path().join("backups");
    std::fs::create_dir(&folder).unwrap();
    v.backup(&folder.join("1-before.backup"), ADMIN, t0())
        .unwrap();
    // Not an archive, and another vault's archive: listed with their problem, never opened.
    std::fs::write(folder.join("2-junk.backup"), b"not an archive").unwrap();
    let other = tempfile::tempdir().unwrap();
    let (elsewhere, _) = created(other.path());
    elsewhere
        .vault
        .backup(&folder.join("3-other.backup"), ADMIN, t0())
        .unwrap();

    let listed = v.archives_in(&folder).unwrap();
    let before = listed.iter().find(|a| a.file == "1-before.backup").unwrap();
    assert!(!before.before_rotation && before.stale_slots == 0 && !before.old_recovery_key);

    // Disabling uma rotates every class key; the recovery key is replaced too.
    v.set_disabled(ADMIN, &uma.id, true, at(1)).unwrap();
    v.rotate_recovery_key(ADMIN, at(2)).unwrap();
    v.backup(&folder.join("4-after.backup"), ADMIN, at(3))
        .unwrap();

    let listed = v.archives_in(&folder).unwrap();
    let find = |name: &str| listed.iter().find(|a| a.file == name).unwrap().clone();
    let before = find("1-before.backup");
    assert!(before.before_rotation, "{before:?}");
    // uma's slot: their password of that time still opens that archive.
    assert_eq!(before.stale_slots, 1, "{before:?}");
    assert!(before.old_recovery_key, "{before:?}");
    assert_eq!(before.problem, None);
    let after = find("4-after.backup");
    assert!(
        !after.before_rotation && after.stale_slots == 0 && !after.old_recovery_key,
        "{after:?}"
    );
    assert!(find("2-junk.backup")
        .problem
        .unwrap()
        .contains("not a Boarding Desk backup"));
    assert_eq!(
        find("3-other.backup").problem.as_deref(),
        Some("an archive of another vault")
    );
}

#[test]
fn restoring_an_archive_older_than_failed_sign_ins_is_not_taken_for_a_rollback_of_them() {
    let (tmp, recovery, archive, secret) = backed_up();
    let data = tmp.path().join("data");
    for _ in 0..3 {
        let e = desk_vault::Vault::sign_in(&data, ADMIN, "wrong password 1!", None, policy(), t0())
            .unwrap_err();
        assert!(matches!(e, VaultError::BadCredentials), "{e:?}");
    }
    let into = tmp.path().join("restored");
    restore(&archive, &into, Unlock::Recovery(&recovery)).unwrap();
    // The restored vault opens: its keyring carries this desk's count on.
    let v = sign_in_admin(&into, &secret, t0() + time::Duration::minutes(4));
    assert!(!v
        .audit_entries(50, None)
        .unwrap()
        .iter()
        .any(|e| e.action.starts_with("auth.failures_")));
}

/// A restore drill into a second folder on the same desk: failures in one folder do not make
/// the other look rolled back (each folder has a desk record of its own).
#[test]
fn two_folders_of_one_vault_on_one_desk_keep_their_own_failure_records() {
    let (tmp, recovery, archive, secret) = backed_up();
    let drill = tmp.path().join("drill");
    restore(&archive, &drill, Unlock::Recovery(&recovery)).unwrap();
    let data = tmp.path().join("data");
    for dir in [&data, &drill] {
        for _ in 0..3 {
            let _ =
                desk_vault::Vault::sign_in(dir, ADMIN, "wrong password 1!", None, policy(), t0());
        }
    }
    for (i, dir) in [&data, &drill].into_iter().enumerate() {
        let v = sign_in_admin(dir, &secret, t0() + time::Duration::minutes(5 + i as i64));
        assert!(
            !v.audit_entries(50, None)
                .unwrap()
                .iter()
                .any(|e| e.action.starts_with("auth.failures_")),
            "{}",
            dir.display()
        );
    }
}
