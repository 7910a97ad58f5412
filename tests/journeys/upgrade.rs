//! Issue 16: a vault written by an earlier version opens in this one. The fixture in
//! `tests/fixtures/vault-schema14/` (see its README) was made before per-user keys; a copy
//! opens with everything readable and the audit chain intact. The migration to per-user keys
//! (still to come) must keep this passing and add its own checks: keys re-wrapped, a signed
//! migration entry.

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
    let report = api::audit_log::verify_audit(&mut slot).unwrap();
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
}
