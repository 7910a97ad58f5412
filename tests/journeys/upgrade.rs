//! Issue 16: a vault written by an earlier version opens in this one. The fixture in
//! `tests/fixtures/vault-schema14/` (see its README) was made before per-user keys; a copy
//! opens with everything readable and the audit chain intact, and is upgraded in place to
//! access by keys: the keyring moves to format 2, the records' keys are re-wrapped by class keys
//! (identifiers sealed again), the signing-in admin gets a key pair, and the log says so. The
//! user who never signed in keeps a legacy slot until they do.

use api::auth::{self, SignInInput};
use api::{DataDir, SessionSlot};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/vault-schema14");
const PASSWORD: &str = "correct horse battery 42";

fn secret() -> String {
    let readme = std::fs::read_to_string(format!("{FIXTURE}/README.md")).unwrap();
    readme
        .lines()
        .find_map(|l| l.strip_prefix("- admin's authenticator secret (base32): `"))
        .and_then(|s| s.strip_suffix('`'))
        .expect("the README names the secret")
        .to_string()
}

#[test]
fn a_vault_from_before_per_user_keys_opens_with_its_data_and_audit_chain() {
    let tmp = tempfile::tempdir().unwrap();
    for file in ["vault.db", "keyring.json"] {
        std::fs::copy(format!("{FIXTURE}/{file}"), tmp.path().join(file)).unwrap();
    }
    let dir = DataDir::open(tmp.path()).unwrap();
    let mut slot = SessionSlot::new();
    auth::sign_in(
        &dir,
        SignInInput {
            username: "admin".into(),
            password: PASSWORD.into(),
            code: Some(testkit::totp::code_now(&secret())),
        },
        &mut slot,
        testkit::policy(),
    )
    .unwrap();
    let report = api::audit_log::verify_audit(&mut slot, None).unwrap();
    assert!(report.intact, "{report:?}");
    let users = api::users::list_users(&mut slot).unwrap();
    assert_eq!(
        users
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        ["admin", "uma"]
    );
    let page =
        api::intake::list_applications(&mut slot, &api::intake::ListQuery::default()).unwrap();
    assert_eq!(page.total, 25, "every application is still there");
    let first = &page.items[0];
    let view = api::intake::get_application(&mut slot, &first.id).unwrap();
    assert!(
        !view.form.business.legal_name.is_empty(),
        "and its sealed parts open"
    );
    // Identifiers were sealed again under the new identifiers key: the full value opens.
    let ssn = api::intake::reveal(&mut slot, &first.id, "people[0].ssn").unwrap();
    assert!(
        ssn.len() == 11 && !ssn.contains('•'),
        "a full SSN, not the mask"
    );

    let ring: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("keyring.json")).unwrap()).unwrap();
    assert_eq!(ring["format"], 2);
    let members = ring["members"].as_object().unwrap();
    assert_eq!(members.len(), 1, "the admin has a key pair: {members:?}");
    let (_, admin) = members.iter().next().unwrap();
    assert_eq!(admin["role"], "admin");
    let legacy = ring["legacy"]["slots"].as_array().unwrap();
    assert_eq!(legacy.len(), 2, "uma and the recovery key wait: {legacy:?}");
    for class in ["metadata", "case", "identifiers", "index", "secrets"] {
        assert!(
            ring["classes"][class]["wraps"]
                .as_object()
                .is_some_and(|w| w.len() == 1),
            "{class} is sealed to the admin"
        );
    }
    // Admin → Users (and `desk user list`) say who is still on the shared pre-upgrade key.
    let keys: Vec<_> = api::users::list_users(&mut slot)
        .unwrap()
        .into_iter()
        .map(|u| (u.username, u.keys))
        .collect();
    assert_eq!(
        keys,
        [
            ("admin".to_string(), api::views::KeyStatus::Own),
            ("uma".to_string(), api::views::KeyStatus::Legacy)
        ]
    );
    let entries = api::audit_log::list_audit(&mut slot, None, 50)
        .unwrap()
        .entries;
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"vault.upgrade_keys"), "{actions:?}");
    assert!(actions.contains(&"user.keys_moved"), "{actions:?}");
    assert!(
        api::audit_log::verify_audit(&mut slot, None)
            .unwrap()
            .intact
    );

    // The next sign-in goes through the admin's own key pair and its signed registration.
    drop(slot);
    let mut slot = SessionSlot::new();
    auth::sign_in(
        &dir,
        SignInInput {
            username: "admin".into(),
            password: PASSWORD.into(),
            code: Some(testkit::totp::code_ahead(&secret(), 1)),
        },
        &mut slot,
        testkit::policy(),
    )
    .unwrap();
    let again = api::intake::reveal(&mut slot, &first.id, "people[0].ssn").unwrap();
    assert_eq!(again, ssn);
}

/// Issue 17: the legal names and DBAs an earlier version stored in clear are sealed by the next
/// sign-in of a role that writes; an auditor's sign-in leaves the vault as it is. Either way the
/// application reads the same, and once sealed it is found by a word of its name.
#[test]
fn names_left_in_clear_are_sealed_by_a_writers_sign_in_and_not_by_an_auditors() {
    use vault::testing::Raw;
    if testkit::team_backend() {
        return; // the raw connection is the local file's
    }
    let (_tmp, dir, mut admin) = testkit::desk::signed_in_vault(testkit::ADMIN);
    let view = api::intake::save_draft(
        &mut admin,
        api::intake::SaveDraft {
            id: None,
            version: None,
            form: api::intake::demo::generate(1, 5).remove(0),
        },
    )
    .unwrap();
    let (mut audrey, audrey_secret) =
        testkit::desk::enrolled_user(&dir, &mut admin, "audrey", "auditor");
    let (mut uma, uma_secret) =
        testkit::desk::enrolled_user(&dir, &mut admin, "uma", "underwriter");
    let unsealed = |admin: &mut SessionSlot| -> i64 {
        let session = admin.require(api::Access::Admin, "test.raw").unwrap();
        let conn = session.vault().raw_conn();
        conn.query_row(
            "SELECT count(*) FROM applications WHERE names IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    {
        let session = admin.require(api::Access::Admin, "test.raw").unwrap();
        session
            .vault()
            .raw_conn()
            .execute_batch(
                "UPDATE applications SET names = NULL, legal_name = 'Clearly Named Bakery LLC',
                     legal_name_key = 'clearly named bakery llc', dba = '', dba_key = '';
                 DELETE FROM name_tokens;",
            )
            .unwrap();
    }
    assert_eq!(unsealed(&mut admin), 1);
    let again = |slot: &mut SessionSlot, name: &str, secret: &str| {
        slot.lock().unwrap();
        auth::sign_in(
            &dir,
            SignInInput {
                username: name.into(),
                password: testkit::desk::USER_PASSWORD.into(),
                code: Some(testkit::totp::code_ahead(secret, 1)),
            },
            slot,
            testkit::policy(),
        )
        .unwrap()
    };
    again(&mut audrey, "audrey", &audrey_secret);
    assert_eq!(
        unsealed(&mut admin),
        1,
        "an auditor's sign-in writes nothing"
    );
    let shown = api::intake::get_application(&mut audrey, &view.summary.id).unwrap();
    assert_eq!(shown.summary.legal_name, "Clearly Named Bakery LLC");
    again(&mut uma, "uma", &uma_secret);
    assert_eq!(
        unsealed(&mut admin),
        0,
        "an underwriter's sign-in sealed it"
    );
    let found = api::intake::list_applications(
        &mut audrey,
        &api::intake::ListQuery {
            search: Some("bakery clear".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.items[0].legal_name, "Clearly Named Bakery LLC");
}
