//! Issue 16, item 5: the blocklist under a key of its own. A declined merchant's identifiers stay
//! blocklisted after their application is erased; with the blind-index key (every underwriter
//! holds it) their digests reversed by brute force in minutes. Now only admins hold the key, a
//! desk an admin enrolled matches with it, and a copy of the data folder opens nothing of it.

use desk_vault::attacker;
use desk_vault::blocklist::{LegalBasis, NewBlock};
use desk_vault::testing::Raw;
use desk_vault::{DataClass, Vault, VaultError};
use domain::intake::ApplicationForm;
use domain::Role;

use crate::support::*;

struct Desk {
    tmp: tempfile::TempDir,
    admin_totp: String,
    underwriter: String,
    ssn: String,
}

const YEAR_MS: i64 = 365 * 86_400_000;

fn insert(tx: &desk_vault::Tx<'_>, id: &str, form: &ApplicationForm, actor: &str) {
    tx.insert_application(&desk_vault::applications::NewApplication {
        id,
        status: domain::intake::ApplicationStatus::Submitted,
        source: desk_vault::applications::Source::Wizard,
        form,
        actor,
        now_ms: 1_000,
    })
    .unwrap();
}

fn block<'a>(id: &'a str, form: &'a ApplicationForm, now_ms: i64, years: u32) -> NewBlock<'a> {
    NewBlock {
        application_id: id,
        form,
        reason: "declined",
        basis: LegalBasis::FraudPrevention,
        actor: ADMIN,
        now_ms,
        years,
    }
}

/// A vault whose application `app-1` was declined onto the blocklist and then erased, and an
/// underwriter; every session closed.
fn desk() -> Desk {
    let tmp = tempfile::tempdir().unwrap();
    let (created, admin_totp) = created(tmp.path());
    let vault = created.vault;
    let form = form(0);
    vault
        .write(|tx| {
            insert(tx, "app-1", &form, ADMIN);
            assert!(tx.block_identifiers(&block("app-1", &form, 2_000, 5))? >= 3);
            tx.erase_application("app-1", 3_000)
        })
        .unwrap();
    let (_, otp) = vault
        .create_user(ADMIN, &username("uma"), Role::Underwriter, t0())
        .unwrap();
    Desk {
        tmp,
        admin_totp,
        underwriter: otp.expose().to_string(),
        ssn: digits(&form.people[0].ssn),
    }
}

/// A thousand SSNs around the real one (it among them): a brute force's search space, small.
fn around(ssn: &str) -> Vec<String> {
    let n: u64 = ssn.parse().unwrap();
    (n.saturating_sub(500)..n + 500)
        .map(|c| format!("{c:09}"))
        .collect()
}

fn admin(d: &Desk, minute: i64) -> Vault {
    Vault::sign_in(
        d.tmp.path(),
        ADMIN,
        ADMIN_PW,
        Some(&code_at(&d.admin_totp, at(minute))),
        policy(),
        at(minute),
    )
    .unwrap()
    .0
}

fn underwriter(d: &Desk, minute: i64) -> Vault {
    Vault::sign_in(
        d.tmp.path(),
        "uma",
        &d.underwriter,
        None,
        policy(),
        at(minute),
    )
    .unwrap()
    .0
}

/// A new application carrying the erased subject's SSN.
fn same_person() -> ApplicationForm {
    let mut again = form(1);
    again.people[0].ssn = form(0).people[0].ssn.clone();
    again
}

#[test]
fn an_erased_subjects_blocklisted_ssn_is_not_reversed_from_a_copy_of_the_folder_with_the_underwriters_password(
) {
    let d = desk();
    let uw = attacker::with_password(d.tmp.path(), "uma", &d.underwriter).unwrap();
    assert!(uw.can_index(), "they hold the blind-index key");
    assert!(!uw.classes().contains(&DataClass::Blocklist));
    assert_eq!(
        uw.reverse_blocklist("ssn", around(&d.ssn)),
        Vec::<String>::new(),
        "no candidate matches any entry"
    );
    // The probe works: the admin's keys find the SSN among the candidates.
    let admin = attacker::with_password(d.tmp.path(), ADMIN, ADMIN_PW).unwrap();
    assert_eq!(admin.reverse_blocklist("ssn", around(&d.ssn)), vec![d.ssn]);
}

/// The documented limit (docs/SECURITY.md): the desk's own state folder and the password of a
/// role that looks up identifiers — a stolen laptop and a phished underwriter — do reverse it.
#[test]
fn with_the_desks_record_too_the_underwriters_password_reverses_it() {
    let d = desk();
    let uw = attacker::with_password(d.tmp.path(), "uma", &d.underwriter)
        .unwrap()
        .with_the_desks_record();
    assert_eq!(
        uw.reverse_blocklist("ssn", around(&d.ssn)),
        vec![d.ssn.clone()]
    );
    // The auditor holds no index key: the desk's copy stays shut to them.
    let admin = admin(&d, 2);
    let (_, otp) = admin
        .create_user(ADMIN, &username("otto"), Role::Auditor, at(2))
        .unwrap();
    drop(admin);
    let auditor = attacker::with_password(d.tmp.path(), "otto", otp.expose())
        .unwrap()
        .with_the_desks_record();
    assert!(auditor.reverse_blocklist("ssn", around(&d.ssn)).is_empty());
}

#[test]
fn an_underwriter_on_the_enrolled_desk_matches_a_new_application_against_an_erased_subjects_entry()
{
    let d = desk();
    let uma = underwriter(&d, 1);
    assert!(uma.can_blocklist());
    let again = same_person();
    uma.write(|tx| {
        insert(tx, "app-2", &again, "uma");
        Ok::<_, VaultError>(())
    })
    .unwrap();
    let checks = uma.identity_checks("app-2", Some(&again)).unwrap();
    assert_eq!(checks.blocklisted, vec!["ssn".to_string()]);
    assert!(!checks.blocklist_unchecked);
    // Another person's application is not blocklisted.
    let other = form(2);
    uma.write(|tx| {
        insert(tx, "app-3", &other, "uma");
        Ok::<_, VaultError>(())
    })
    .unwrap();
    let checks = uma.identity_checks("app-3", Some(&other)).unwrap();
    assert!(checks.blocklisted.is_empty() && !checks.blocklist_unchecked);
    // Without the form the keyed entries cannot be checked, and the checks say so.
    assert!(
        uma.identity_checks("app-2", None)
            .unwrap()
            .blocklist_unchecked
    );
}

/// A desk no admin has enrolled (its copy absent) cannot match or add, and says so; an admin's
/// sign-in there enrols it.
#[test]
fn a_desk_no_admin_enrolled_says_it_cannot_check_until_an_admin_signs_in() {
    let d = desk();
    let path = d.tmp.path().join(desk_vault::KEYRING_FILE);
    let mut ring: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    ring.as_object_mut().unwrap().remove("blocklist_desks");
    std::fs::write(&path, serde_json::to_vec(&ring).unwrap()).unwrap();

    let again = same_person();
    let uma = underwriter(&d, 1);
    assert!(!uma.can_blocklist());
    uma.write(|tx| {
        insert(tx, "app-2", &again, "uma");
        Ok::<_, VaultError>(())
    })
    .unwrap();
    let checks = uma.identity_checks("app-2", Some(&again)).unwrap();
    assert!(checks.blocklisted.is_empty());
    assert!(checks.blocklist_unchecked, "{checks:?}");
    let err = uma
        .write(|tx| tx.block_identifiers(&block("app-2", &again, 5_000, 5)))
        .unwrap_err();
    assert!(matches!(err, VaultError::NoKey(_)), "{err:?}");
    drop(uma);

    let admin = admin(&d, 2);
    let enrolled = admin
        .audit_entries(20, None)
        .unwrap()
        .iter()
        .any(|e| e.action == "blocklist.desk_enrolled" && e.actor == ADMIN);
    assert!(enrolled, "the enrolment is audited");
    drop(admin);
    let uma = underwriter(&d, 3);
    let checks = uma.identity_checks("app-2", Some(&again)).unwrap();
    assert_eq!(checks.blocklisted, vec!["ssn".to_string()]);
}

/// An entry written before the blocklist key (a blind-index digest) is re-keyed when its
/// application is erased: before, the underwriter's index key reversed it; after, nothing does,
/// and it still blocks the same person, with its reason and retention kept.
#[test]
fn an_entry_from_before_the_key_is_re_keyed_when_its_application_is_erased() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let vault = created.vault;
    let form = form(0);
    let ssn = digits(&form.people[0].ssn);
    vault
        .write(|tx| {
            insert(tx, "old", &form, ADMIN);
            Ok::<_, VaultError>(())
        })
        .unwrap();
    let legacy = vault.blind_index("ssn", &ssn).unwrap();
    let hex: String = legacy.iter().map(|b| format!("{b:02x}")).collect();
    vault
        .raw_conn()
        .execute(
            &format!(
                "INSERT INTO blocklist (kind, digest, application_id, reason, added_by, added_at,
                     retain_until)
                 VALUES ('ssn', X'{hex}', 'old', 'declined', 'alice', 500, {})",
                500 + 5 * YEAR_MS
            ),
            [],
        )
        .unwrap();
    let (_, otp) = vault
        .create_user(ADMIN, &username("uma"), Role::Underwriter, t0())
        .unwrap();
    let uw = attacker::with_password(tmp.path(), "uma", otp.expose()).unwrap();
    assert_eq!(
        uw.reverse_blocklist("ssn", around(&ssn)),
        vec![ssn.clone()],
        "the old digest: the attack this fixes"
    );

    vault
        .write(|tx| tx.erase_application("old", 9_000))
        .unwrap();
    assert!(uw.reverse_blocklist("ssn", around(&ssn)).is_empty());
    let entries = vault.blocklist_entries(10, 0).unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let e = &entries[0];
    assert!(e.keyed);
    assert_eq!(
        (
            e.reason.as_str(),
            e.legal_basis.as_str(),
            e.added_by.as_str()
        ),
        ("declined", "unrecorded", "alice")
    );
    assert_eq!(e.retain_until, Some(500 + 5 * YEAR_MS));
    let again = same_person();
    vault
        .write(|tx| {
            insert(tx, "new", &again, ADMIN);
            Ok::<_, VaultError>(())
        })
        .unwrap();
    assert_eq!(
        vault
            .identity_checks("new", Some(&again))
            .unwrap()
            .blocklisted,
        vec!["ssn".to_string()]
    );
}

#[test]
fn entries_are_kept_with_their_basis_until_their_own_retention_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = created(tmp.path()).0.vault;
    let form = form(0);
    let added = vault
        .write(|tx| {
            insert(tx, "a", &form, ADMIN);
            tx.block_identifiers(&NewBlock {
                basis: LegalBasis::CardNetworkRules,
                ..block("a", &form, 0, 1)
            })
        })
        .unwrap();
    let entries = vault.blocklist_entries(10, 0).unwrap();
    assert_eq!(entries.len(), added);
    assert!(entries
        .iter()
        .all(|e| e.legal_basis == "card_network_rules" && e.retain_until == Some(YEAR_MS)));
    // Blocking the same identifiers again renews them: this decision's basis, the later
    // retention; no second row.
    assert_eq!(
        vault
            .write(|tx| tx.block_identifiers(&block("a", &form, 10, 1)))
            .unwrap(),
        added
    );
    let entries = vault.blocklist_entries(10, 0).unwrap();
    assert_eq!(entries.len(), added);
    assert!(entries
        .iter()
        .all(|e| e.legal_basis == "fraud_prevention" && e.retain_until == Some(YEAR_MS + 10)));
    assert_eq!(vault.write(|tx| tx.expire_blocklist(YEAR_MS)).unwrap(), 0);
    assert_eq!(
        vault.write(|tx| tx.expire_blocklist(YEAR_MS + 10)).unwrap(),
        added
    );
    assert!(vault.blocklist_entries(10, 0).unwrap().is_empty());
}

/// An underwriter on the desk holds the index key and the desk's record: they can seal a key of
/// their own as the desk's copy, so the desk would match under a key no entry was made with.
/// The copy must carry an admin's signature: theirs, in their name or an admin's, is not used —
/// the desk says it cannot check — and the next admin sign-in puts the real copy back.
#[test]
fn a_desk_copy_swapped_for_the_underwriters_own_key_is_not_used() {
    let d = desk();
    let again = same_person();
    for (round, signer) in ["uma", ADMIN].into_iter().enumerate() {
        let minute = 1 + 3 * round as i64;
        let uw = attacker::with_password(d.tmp.path(), "uma", &d.underwriter).unwrap();
        assert!(uw.swap_the_desks_blocklist_copy(signer));
        let uma = underwriter(&d, minute);
        assert!(!uma.can_blocklist(), "signed in {signer}'s name");
        let checks = uma.identity_checks("app-1", Some(&again)).unwrap();
        assert!(checks.blocklist_unchecked && checks.blocklisted.is_empty());
        drop(uma);
        drop(admin(&d, minute + 1));
        let uma = underwriter(&d, minute + 2);
        assert_eq!(
            uma.identity_checks("app-1", Some(&again))
                .unwrap()
                .blocklisted,
            vec!["ssn".to_string()],
            "re-enrolled by the admin"
        );
    }
}

/// The blocklist class deleted from keyring.json while entries under it exist: an admin's
/// sign-in does not make a new key (every entry would silently stop matching) but audits the
/// loss; the desk's signed copy keeps matching.
#[test]
fn a_blocklist_key_deleted_from_the_keyring_is_not_made_again_over_its_entries() {
    let d = desk();
    let path = d.tmp.path().join(desk_vault::KEYRING_FILE);
    let mut ring: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    ring["classes"].as_object_mut().unwrap().remove("blocklist");
    std::fs::write(&path, serde_json::to_vec(&ring).unwrap()).unwrap();

    let admin = admin(&d, 1);
    let log = admin.audit_entries(20, None).unwrap();
    assert!(log
        .iter()
        .any(|e| e.action == "blocklist.key_missing" && e.outcome == "failed"));
    assert!(!log.iter().any(|e| e.action == "blocklist.key_created"));
    let again = same_person();
    assert_eq!(
        admin
            .identity_checks("app-1", Some(&again))
            .unwrap()
            .blocklisted,
        vec!["ssn".to_string()],
        "through the desk's signed copy"
    );
}

/// An admin who lacks the blocklist key (its wrap gone) rotates the recovery key: the new
/// recovery key still recovers (no wrap of the old recovery member is left behind to fail).
#[test]
fn a_recovery_key_rotated_by_an_admin_without_the_blocklist_key_still_recovers() {
    let d = desk();
    let path = d.tmp.path().join(desk_vault::KEYRING_FILE);
    let mut ring: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let wraps = ring["classes"]["blocklist"]["wraps"]
        .as_object_mut()
        .unwrap();
    let admin_slot = wraps.keys().find(|k| *k != "recovery").unwrap().to_string();
    wraps.remove(&admin_slot);
    std::fs::write(&path, serde_json::to_vec(&ring).unwrap()).unwrap();

    let admin = admin(&d, 1);
    let key = admin.rotate_recovery_key(ADMIN, at(1)).unwrap();
    drop(admin);
    Vault::recover(
        d.tmp.path(),
        &key,
        &username(ADMIN),
        &password("a new admin password 77", ADMIN),
        policy(),
        at(2),
    )
    .unwrap();
}
