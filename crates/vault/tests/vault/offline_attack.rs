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
        let (admin, _, _) = Vault::sign_in(
            f.tmp.path(),
            ADMIN,
            ADMIN_PW,
            Some(&code_at(&f.admin_totp, at(5))),
            policy(),
            at(5),
        )
        .unwrap();
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
