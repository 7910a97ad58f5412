//! Issue 16: an attacker with a copy of the data folder and one user's password, and no
//! authenticator, no app, no role check (`desk_vault::attacker`): what the keys let them read.

use desk_vault::attacker;
use desk_vault::testing::Raw;
use desk_vault::{DataClass, Setting, Vault, VaultError};
use domain::Role;

use crate::support::*;

const PLATFORM_KEY: &str = "sk_test_PlatformSecretKey0123456789";

struct Folder {
    tmp: tempfile::TempDir,
    admin_totp: String,
    underwriter: (String, String),
    auditor: String,
    ssn: String,
}

/// A vault with one application (an SSN, a document), the platform key, an underwriter who
/// enrolled an authenticator, and an auditor; every session closed.
fn folder() -> Folder {
    let tmp = tempfile::tempdir().unwrap();
    let (created, admin_totp) = created(tmp.path());
    let vault = created.vault;
    let form = form(0);
    let ssn = form.people[0].ssn.clone();
    vault
        .write(|tx| {
            tx.insert_application(&desk_vault::applications::NewApplication {
                id: "app-1",
                status: domain::intake::ApplicationStatus::Submitted,
                source: desk_vault::applications::Source::Wizard,
                form: &form,
                actor: ADMIN,
                now_ms: 1_000,
            })?;
            let sealed = tx
                .record_key("settings:platform")?
                .seal("platform_key", PLATFORM_KEY.as_bytes())?;
            tx.settings().set(Setting::PlatformKey, &sealed.to_hex())
        })
        .unwrap();
    let (_, uw_otp) = vault
        .create_user(ADMIN, &username("uma"), Role::Underwriter, t0())
        .unwrap();
    let (_, au_otp) = vault
        .create_user(ADMIN, &username("otto"), Role::Auditor, t0())
        .unwrap();
    drop(vault);
    let (uma, user, _) =
        Vault::sign_in(tmp.path(), "uma", uw_otp.expose(), None, policy(), at(1)).unwrap();
    let enrolment = uma.begin_totp_enrolment(&user.id, "uma").unwrap();
    drop(uma);
    Folder {
        tmp,
        admin_totp,
        underwriter: (uw_otp.expose().to_string(), enrolment.secret.clone()),
        auditor: au_otp.expose().to_string(),
        ssn,
    }
}

fn contains(readable: &[String], needle: &str) -> bool {
    readable.iter().any(|text| text.contains(needle))
}

#[test]
fn the_auditors_password_opens_no_identifier_no_platform_key_and_no_authenticator_secret() {
    let f = folder();
    let auditor = attacker::with_password(f.tmp.path(), "otto", &f.auditor).unwrap();
    assert_eq!(
        auditor.classes(),
        vec![DataClass::Metadata, DataClass::Case]
    );
    assert!(
        !auditor.can_index(),
        "no blind-index key: no SSN brute force from digests"
    );
    let readable = auditor.readable();
    // They do read the case data the product shows auditors, identifiers masked.
    assert!(
        contains(&readable, &form(0).business.legal_name),
        "{readable:?}"
    );
    assert!(contains(&readable, "•••-••-"), "the masked copy");
    assert!(!contains(&readable, &f.ssn), "no full SSN");
    assert!(!contains(&readable, &digits(&f.ssn)));
    assert!(!contains(&readable, &form(0).business.ein), "no EIN");
    assert!(
        !contains(&readable, &form(0).bank.account_number),
        "no account number"
    );
    assert!(!contains(&readable, PLATFORM_KEY), "no platform key");
    assert!(
        !contains(&readable, &f.admin_totp),
        "no admin authenticator secret"
    );
    assert!(
        !contains(&readable, &f.underwriter.1),
        "no underwriter authenticator secret"
    );
}

#[test]
fn the_underwriters_password_opens_identifiers_and_the_platform_key_but_no_other_users_authenticator(
) {
    let f = folder();
    let uw = attacker::with_password(f.tmp.path(), "uma", &f.underwriter.0).unwrap();
    assert!(uw.can_index());
    let readable = uw.readable();
    assert!(
        contains(&readable, &f.ssn),
        "an underwriter's role reads identifiers"
    );
    assert!(
        contains(&readable, &f.underwriter.1),
        "their own authenticator secret"
    );
    assert!(!contains(&readable, &f.admin_totp), "not the admin's");
    // The desk that boards sends the platform key: the roles that board hold it.
    assert!(contains(&readable, PLATFORM_KEY));
    assert!(!uw.classes().contains(&DataClass::Secrets));

    // The admin's keys open all of it: the assertions above are about keys, not the probe.
    let admin = attacker::with_password(f.tmp.path(), ADMIN, ADMIN_PW).unwrap();
    let readable = admin.readable();
    assert!(contains(&readable, PLATFORM_KEY));
    assert!(contains(&readable, &f.admin_totp));
    assert!(contains(&readable, &f.underwriter.1));
}

#[test]
fn a_role_raised_in_the_database_is_refused_at_sign_in_and_opens_no_key() {
    let f = folder();
    {
        let admin = admin_at(&f, 5);
        // What an underwriter holding the database key can do with one statement.
        admin
            .raw_conn()
            .execute("UPDATE users SET role = 'admin' WHERE username = 'uma'", [])
            .unwrap();
    }
    let err =
        Vault::sign_in(f.tmp.path(), "uma", &f.underwriter.0, None, policy(), at(6)).unwrap_err();
    assert!(matches!(err, VaultError::VaultDamaged(_)), "{err:?}");
    let uw = attacker::with_password(f.tmp.path(), "uma", &f.underwriter.0).unwrap();
    assert!(!uw.classes().contains(&DataClass::Secrets));
    assert!(!contains(&uw.readable(), &f.admin_totp));
}

/// The admin, signed in at minute `when`.
fn admin_at(f: &Folder, when: i64) -> Vault {
    let (admin, _, _) = Vault::sign_in(
        f.tmp.path(),
        ADMIN,
        ADMIN_PW,
        Some(&code_at(&f.admin_totp, at(when))),
        policy(),
        at(when),
    )
    .unwrap();
    admin
}

/// The admin's view of the log after the attack.
fn verify_as_admin(f: &Folder, when: i64) -> desk_vault::audit::Report {
    admin_at(f, when).verify_audit().unwrap()
}

/// The underwriter signs in and approves: returns their entry's sequence number.
fn underwriter_approves(f: &Folder) -> i64 {
    let (uma, _, _) =
        Vault::sign_in(f.tmp.path(), "uma", &f.underwriter.0, None, policy(), at(2)).unwrap();
    uma.audit(
        &desk_vault::audit::Event {
            actor: "uma",
            action: "review.decide",
            target: Some("app-1"),
            outcome: desk_vault::audit::Outcome::Ok,
            detail: Some("approve"),
        },
        at(2),
    )
    .unwrap();
    uma.audit_entries(1, None).unwrap()[0].seq
}

/// The underwriter writes an entry of their own, then the admin signs in and out: the log ends
/// with entries the admin's key signed. Returns the underwriter's entry's sequence number.
fn with_an_underwriter_entry(f: &Folder) -> i64 {
    let seq = underwriter_approves(f);
    let report = verify_as_admin(f, 3);
    assert!(report.intact, "before the attack: {report:?}");
    seq
}

#[test]
fn an_entry_deleted_and_the_log_re_chained_with_the_underwriters_keys_is_named_by_verify() {
    let f = folder();
    let theirs = with_an_underwriter_entry(&f);
    let uma = attacker::with_password(f.tmp.path(), "uma", &f.underwriter.0).unwrap();
    uma.forge_audit(|entries| {
        entries.retain(|e| e.seq != theirs);
    })
    .unwrap();
    let report = verify_as_admin(&f, 4);
    assert!(!report.intact, "{report:?}");
    // The entry now at their entry's place is the admin's sign-in, re-signed by the wrong key.
    assert_eq!(report.broken_at, Some(theirs), "{report:?}");
    assert!(
        report
            .problem
            .as_deref()
            .unwrap_or("")
            .contains("signed by someone other than its actor"),
        "{report:?}"
    );
}

#[test]
fn an_admins_entry_edited_with_the_underwriters_keys_is_named_by_verify() {
    let f = folder();
    let _ = with_an_underwriter_entry(&f);
    let uma = attacker::with_password(f.tmp.path(), "uma", &f.underwriter.0).unwrap();
    let mut edited = None;
    uma.forge_audit(|entries| {
        let entry = entries
            .iter_mut()
            .find(|e| e.action == "user.create" && e.target.as_deref() == Some("uma"))
            .unwrap();
        entry.detail = Some("role=admin".into());
        edited = Some(entry.seq);
    })
    .unwrap();
    let report = verify_as_admin(&f, 4);
    assert!(!report.intact, "{report:?}");
    assert_eq!(report.broken_at, edited, "{report:?}");
}

#[test]
fn a_disabled_users_old_keyring_copy_opens_nothing_written_after_the_rotation() {
    let f = folder();
    // The underwriter keeps a copy of the keyring as it is today.
    let old = tempfile::tempdir().unwrap();
    std::fs::copy(
        f.tmp.path().join(desk_vault::KEYRING_FILE),
        old.path().join(desk_vault::KEYRING_FILE),
    )
    .unwrap();
    let before = attacker::with_password(f.tmp.path(), "uma", &f.underwriter.0).unwrap();
    assert!(
        contains(&before.readable(), &f.ssn),
        "before: their role reads it"
    );
    drop(before);

    let admin = admin_at(&f, 5);
    let uma = admin.user_by_name("uma").unwrap().unwrap();
    admin.set_disabled(ADMIN, &uma.id, true, at(5)).unwrap();
    let before_rewrap = admin.rewrap_pending().unwrap();
    assert!(
        before_rewrap > 0,
        "the existing record keys wait for the re-wrap"
    );
    while admin.rewrap_record_keys(1, ADMIN, at(5)).unwrap() > 0 {}
    assert_eq!(admin.rewrap_pending().unwrap(), 0);
    let later = form(7);
    admin
        .write(|tx| {
            tx.insert_application(&desk_vault::applications::NewApplication {
                id: "app-2",
                status: domain::intake::ApplicationStatus::Submitted,
                source: desk_vault::applications::Source::Wizard,
                form: &later,
                actor: ADMIN,
                now_ms: 2_000,
            })
        })
        .unwrap();
    // The admin still reads everything, old and new, and the log verifies.
    assert_eq!(admin.application("app-1").unwrap().form, form(0));
    assert_eq!(admin.application("app-2").unwrap().form, later);
    assert!(admin.verify_audit().unwrap().intact);
    drop(admin);

    // Their old keyring's database key no longer opens the file: it was re-keyed.
    let err = attacker::with_old_keyring(old.path(), f.tmp.path(), "uma", &f.underwriter.0)
        .err()
        .expect("the old database key opens nothing");
    assert!(matches!(err, VaultError::VaultDamaged(_)), "{err:?}");
    // And with the current file key from elsewhere, their old class keys open no record key:
    // neither the new application's nor the old one's (re-wrapped).
    let leaked = attacker::with_old_keyring_and_current_file_key(
        old.path(),
        f.tmp.path(),
        "uma",
        &f.underwriter.0,
        (ADMIN, ADMIN_PW),
    )
    .unwrap();
    let readable = leaked.readable();
    assert!(readable.is_empty(), "{readable:?}");
}

#[test]
fn entries_cut_from_the_end_of_the_log_are_named_by_verify_given_a_checkpoint_kept_elsewhere() {
    let f = folder();
    let before_theirs = verify_as_admin(&f, 1).entries;
    // The underwriter signs in and approves; an auditor's (here the admin's) checkpoint, saved
    // away from the data folder, witnesses the log with it.
    let theirs = underwriter_approves(&f);
    let away = tempfile::tempdir().unwrap();
    let signed = admin_at(&f, 3).sign_checkpoint(ADMIN, at(3)).unwrap();
    assert!(signed.seq > theirs);
    desk_vault::checkpoint::append_to(away.path(), &signed).unwrap();

    // Everything from their sign-in on is cut (the admin's checkpoint entry too), the head
    // moved back and the vault's own checkpoints deleted: with their keys alone.
    let uma = attacker::with_password(f.tmp.path(), "uma", &f.underwriter.0).unwrap();
    uma.forge_audit(|entries| entries.truncate(before_theirs as usize + 1))
        .unwrap();
    uma.forget_checkpoints().unwrap();
    drop(uma);

    // The data folder alone no longer shows it (the limit SECURITY.md states)…
    let admin = admin_at(&f, 4);
    let alone = admin.verify_audit().unwrap();
    assert!(alone.intact, "{alone:?}");
    assert_eq!(alone.checkpoints, 0);
    // …the checkpoint kept elsewhere does, and names where the log no longer holds it.
    let kept = desk_vault::checkpoint::read_file(
        &away.path().join(desk_vault::checkpoint::CHECKPOINT_FILE),
    )
    .unwrap();
    let report = admin.verify_audit_with(&kept).unwrap();
    assert!(!report.intact, "{report:?}");
    assert!(report.broken_at.unwrap() <= signed.seq, "{report:?}");
    assert!(
        report
            .problem
            .as_deref()
            .unwrap()
            .contains(&format!("a checkpoint signed by {ADMIN}")),
        "{report:?}"
    );
}

#[test]
fn a_checkpoint_forged_with_the_underwriters_keys_is_ignored_never_trusted() {
    let f = folder();
    let admin = admin_at(&f, 1);
    let mut signed = admin.sign_checkpoint(ADMIN, at(1)).unwrap();
    // The same checkpoint claiming another entry, or re-signed by someone else, is not the
    // admin's: counted as ignored.
    signed.seq -= 1;
    let report = admin.verify_audit_with(&[signed]).unwrap();
    assert!(report.intact, "{report:?}");
    assert_eq!((report.checkpoints, report.checkpoints_ignored), (1, 1));
}

#[test]
fn an_entry_in_a_system_jobs_name_for_another_user_signed_by_the_underwriter_is_named() {
    let f = folder();
    let _ = with_an_underwriter_entry(&f);
    let uma = attacker::with_password(f.tmp.path(), "uma", &f.underwriter.0).unwrap();
    let mut forged_at = None;
    uma.forge_audit(|entries| {
        let last = entries.last().unwrap().clone();
        let forged = desk_vault::audit::Entry {
            seq: last.seq + 1,
            actor: format!("system:boarding for {ADMIN}"),
            action: "boarding.account_created".into(),
            target: Some("app-1".into()),
            detail: None,
            ..last
        };
        forged_at = Some(forged.seq);
        entries.push(forged);
    })
    .unwrap();
    let report = verify_as_admin(&f, 4);
    assert!(!report.intact, "{report:?}");
    assert_eq!(report.broken_at, forged_at, "{report:?}");
    assert!(
        report
            .problem
            .as_deref()
            .unwrap()
            .contains("signed by someone other than its actor"),
        "{report:?}"
    );
}

#[test]
fn a_self_signed_registration_added_by_hand_to_pass_for_an_admin_is_refused_at_sign_in() {
    let f = folder();
    // Signed in once (so the desk knows the vault), then the attack with their keys alone:
    // their registration re-signed by themselves as an admin, their row raised to match.
    drop(admin_at(&f, 1));
    let uma = attacker::with_password(f.tmp.path(), "uma", &f.underwriter.0).unwrap();
    uma.self_register_as("admin").unwrap();
    drop(uma);
    let err =
        Vault::sign_in(f.tmp.path(), "uma", &f.underwriter.0, None, policy(), at(6)).unwrap_err();
    assert!(
        matches!(err, VaultError::VaultDamaged(m) if m.contains("self-signed key registration this desk did not make")),
        "{err:?}"
    );
    // The founding admin's own self-signed registration is this desk's: they still sign in.
    drop(admin_at(&f, 7));
}

#[test]
fn a_registration_signed_by_a_made_up_admin_is_refused_at_sign_in() {
    let f = folder();
    drop(admin_at(&f, 1));
    let uma = attacker::with_password(f.tmp.path(), "uma", &f.underwriter.0).unwrap();
    uma.register_through_a_made_up_admin("admin").unwrap();
    drop(uma);
    // The made-up admin's own registration is self-signed and not this desk's: nothing it
    // signed verifies, so uma's raised registration does not either.
    let err =
        Vault::sign_in(f.tmp.path(), "uma", &f.underwriter.0, None, policy(), at(6)).unwrap_err();
    assert!(
        matches!(&err, VaultError::VaultDamaged(m) if m.contains("signed registration")),
        "{err:?}"
    );
    drop(admin_at(&f, 7));
}

/// Verify, as the admin at minute 4, names the entry at `at`, for one of `problems`.
fn assert_named_by_verify(f: &Folder, at: Option<i64>, problems: &[&str]) {
    let report = verify_as_admin(f, 4);
    assert!(!report.intact, "{report:?}");
    assert_eq!(report.broken_at, at, "{report:?}");
    let problem = report.problem.as_deref().unwrap_or("");
    assert!(problems.iter().any(|p| problem.contains(p)), "{report:?}");
}

/// An entry no member writes (a lockout of the admin), to be slipped into the log.
fn a_made_up_lockout(last: &desk_vault::audit::Entry, actor: &str) -> desk_vault::audit::Entry {
    desk_vault::audit::Entry {
        seq: last.seq + 1,
        actor: actor.into(),
        action: "auth.lockout".into(),
        target: Some(ADMIN.into()),
        outcome: "ok".into(),
        detail: None,
        ..last.clone()
    }
}

#[test]
fn an_entry_signed_by_a_desk_key_the_underwriter_registered_is_named_by_verify() {
    // Registered in the admin's name or their own: no admin signed it.
    for registrar in [ADMIN, "uma"] {
        let f = folder();
        let _ = with_an_underwriter_entry(&f);
        let uma = attacker::with_password(f.tmp.path(), "uma", &f.underwriter.0).unwrap();
        let mut forged_at = None;
        uma.forge_audit_as_a_made_up_desk(registrar, |entries| {
            let forged = a_made_up_lockout(entries.last().unwrap(), "anonymous");
            forged_at = Some(forged.seq);
            entries.push(forged);
        })
        .unwrap();
        assert_named_by_verify(&f, forged_at, &["does not know"]);
    }
}

#[test]
fn the_desks_own_key_signs_no_members_entry_and_on_the_desk_itself_signs_as_the_desk() {
    let f = folder();
    let _ = with_an_underwriter_entry(&f);
    let uma = attacker::with_password(f.tmp.path(), "uma", &f.underwriter.0).unwrap();
    let mut forged_at = None;
    uma.forge_audit_as_this_desk(|entries| {
        let mut forged = a_made_up_lockout(entries.last().unwrap(), ADMIN);
        forged.action = "review.decide".into();
        forged_at = Some(forged.seq);
        entries.push(forged);
    })
    .unwrap();
    assert_named_by_verify(&f, forged_at, &["other than its actor"]);

    // The limit docs/SECURITY.md states: with the desk's state folder too (a stolen laptop),
    // an entry no member writes is signed as the desk would sign it.
    let f = folder();
    let _ = with_an_underwriter_entry(&f);
    let uma = attacker::with_password(f.tmp.path(), "uma", &f.underwriter.0).unwrap();
    uma.forge_audit_as_this_desk(|entries| {
        let forged = a_made_up_lockout(entries.last().unwrap(), "anonymous");
        entries.push(forged);
    })
    .unwrap();
    let report = verify_as_admin(&f, 4);
    assert!(report.intact, "{report:?}");
}

#[test]
fn an_entry_no_member_writes_made_up_with_the_underwriters_keys_is_named_once_desks_sign_them() {
    for actor in [
        "system",
        "anonymous",
        "anonymous for anonymous",
        "system:boarding for system",
    ] {
        let f = folder();
        let _ = with_an_underwriter_entry(&f);
        let uma = attacker::with_password(f.tmp.path(), "uma", &f.underwriter.0).unwrap();
        let mut forged_at = None;
        uma.forge_audit(|entries| {
            let forged = a_made_up_lockout(entries.last().unwrap(), actor);
            forged_at = Some(forged.seq);
            entries.push(forged);
        })
        .unwrap();
        assert_named_by_verify(
            &f,
            forged_at,
            &[
                "after desks began signing them",
                "someone other than its actor",
            ],
        );
    }
}

#[test]
fn on_a_desk_no_admin_registered_a_member_writes_failures_in_their_own_name() {
    let f = folder();
    assert!(Vault::sign_in(f.tmp.path(), "uma", "wrong password", None, policy(), at(2)).is_err());
    // Another desk: this one's record of the folder is gone, so its key is too.
    std::fs::remove_file(desk_vault::testing::device_record(f.tmp.path()).unwrap()).unwrap();
    let (otto, _, _) =
        Vault::sign_in(f.tmp.path(), "otto", &f.auditor, None, policy(), at(3)).unwrap();
    let entries = otto.audit_entries(u32::MAX, None).unwrap();
    let failure = entries
        .iter()
        .find(|e| e.action == "auth.sign_in" && e.outcome == "failed")
        .unwrap();
    assert_eq!(failure.actor, "anonymous for otto", "{failure:?}");
    assert_eq!(failure.signed_by.as_deref(), Some("otto"));
    // Kept where this desk has no record of it: written, marked unverified.
    assert!(
        failure.detail.as_deref().unwrap().starts_with("unverified"),
        "{failure:?}"
    );
    let report = otto.verify_audit().unwrap();
    assert!(report.intact, "{report:?}");
    drop(otto);
    // The same in the underwriter's name, made up with their keys, reads as theirs.
    let uma = attacker::with_password(f.tmp.path(), "uma", &f.underwriter.0).unwrap();
    let mut forged_at = None;
    uma.forge_audit(|entries| {
        let forged = a_made_up_lockout(entries.last().unwrap(), "anonymous for uma");
        forged_at = Some(forged.seq);
        entries.push(forged);
    })
    .unwrap();
    let admin = admin_at(&f, 4);
    assert!(admin.verify_audit().unwrap().intact);
    let forged = admin
        .audit_entries(u32::MAX, None)
        .unwrap()
        .into_iter()
        .find(|e| Some(e.seq) == forged_at)
        .unwrap();
    assert_eq!(forged.signed_by.as_deref(), Some("uma"));
}

#[test]
fn failures_slipped_into_the_keyring_are_written_marked_unverified_never_as_the_desks_findings() {
    let f = folder();
    let path = f.tmp.path().join(desk_vault::KEYRING_FILE);
    let mut ring: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let admin_slot = ring["members"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, m)| m["role"] == "admin" && m["user_id"] != "recovery")
        .map(|(slot, _)| slot.clone())
        .unwrap();
    ring["pending_audit"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "at": "2026-11-01T00:00:00Z",
            "action": "auth.lockout",
            "slot": admin_slot,
            "outcome": "ok: the admin shared their password",
        }));
    std::fs::write(&path, serde_json::to_vec_pretty(&ring).unwrap()).unwrap();

    let err =
        Vault::sign_in(f.tmp.path(), "uma", &f.underwriter.0, None, policy(), at(2)).unwrap_err();
    assert!(matches!(err, VaultError::Locked { .. }), "{err:?}");
    let admin = admin_at(&f, 40);
    let entries = admin.audit_entries(u32::MAX, None).unwrap();
    let slipped = entries
        .iter()
        .find(|e| {
            e.detail
                .as_deref()
                .is_some_and(|d| d.contains("shared their password"))
        })
        .expect("written as found");
    assert_eq!(
        slipped.detail.as_deref(),
        Some("unverified, found in an edited keyring.json: the admin shared their password"),
        "{slipped:?}"
    );
    assert!(entries.iter().any(|e| e.action == "auth.failures_tampered"));
    assert!(admin.verify_audit().unwrap().intact);
}

#[test]
fn a_made_up_admin_is_not_trusted_through_a_new_folder_id_in_the_keyring() {
    // A folder id this desk keeps no record of, or none at all, so that the next save starts
    // a record that trusts what it finds.
    for edit in ["another id", "no id"] {
        a_made_up_admin_behind_a_folder_id(edit);
    }
}

fn a_made_up_admin_behind_a_folder_id(edit: &str) {
    let f = folder();
    drop(admin_at(&f, 1));
    let uma = attacker::with_password(f.tmp.path(), "uma", &f.underwriter.0).unwrap();
    uma.register_through_a_made_up_admin("admin").unwrap();
    drop(uma);
    let path = f.tmp.path().join(desk_vault::KEYRING_FILE);
    let mut ring: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    match edit {
        "another id" => {
            ring["desk_record"] = serde_json::json!("0123456789abcdef0123456789abcdef");
        }
        _ => {
            let ring = ring.as_object_mut().unwrap();
            ring.remove("desk_record").unwrap();
            ring.remove("failures_mac").unwrap();
        }
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&ring).unwrap()).unwrap();
    let err =
        Vault::sign_in(f.tmp.path(), "uma", &f.underwriter.0, None, policy(), at(6)).unwrap_err();
    assert!(matches!(err, VaultError::Locked { .. }), "{edit}: {err:?}");
    // After the lockout the new record trusts what this desk trusted, not the made-up admin.
    let err = Vault::sign_in(
        f.tmp.path(),
        "uma",
        &f.underwriter.0,
        None,
        policy(),
        at(60),
    )
    .unwrap_err();
    assert!(
        matches!(&err, VaultError::VaultDamaged(m) if m.contains("signed registration")),
        "{err:?}"
    );
    // The edited registration leaves uma's own entries under a key no admin registered.
    let admin = admin_at(&f, 61);
    let report = admin.verify_audit().unwrap();
    assert!(!report.intact, "{report:?}");
    // The edit is found once, not again by the save that follows the finding.
    let log = admin.audit_entries(u32::MAX, None).unwrap();
    assert_eq!(
        log.iter()
            .filter(|e| e.action == "auth.failures_tampered")
            .count(),
        1,
        "{edit}: {log:#?}"
    );
}

#[test]
fn a_desks_registration_deleted_from_the_keyring_is_named_by_verify_until_an_admin_signs_in_on_it()
{
    let f = folder();
    assert!(Vault::sign_in(f.tmp.path(), "uma", "wrong password", None, policy(), at(2)).is_err());
    // The auditor's sign-in writes the failure, signed by the desk.
    let (otto, _, _) =
        Vault::sign_in(f.tmp.path(), "otto", &f.auditor, None, policy(), at(3)).unwrap();
    let failure = otto
        .audit_entries(u32::MAX, None)
        .unwrap()
        .into_iter()
        .find(|e| e.actor == "anonymous" && e.action == "auth.sign_in")
        .unwrap();
    assert!(failure.signed_by.as_deref().unwrap().starts_with("desk "));
    drop(otto);

    let path = f.tmp.path().join("keyring.json");
    let mut ring: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(ring.as_object_mut().unwrap().remove("desk_keys").is_some());
    std::fs::write(&path, serde_json::to_vec_pretty(&ring).unwrap()).unwrap();

    let (otto, _, _) =
        Vault::sign_in(f.tmp.path(), "otto", &f.auditor, None, policy(), at(4)).unwrap();
    let report = otto.verify_audit().unwrap();
    assert!(!report.intact, "{report:?}");
    assert_eq!(report.broken_at, Some(failure.seq), "{report:?}");
    drop(otto);
    // The admin's next sign-in on the desk registers its key again: the entries verify.
    let report = verify_as_admin(&f, 5);
    assert!(report.intact, "{report:?}");
}
