use desk_vault::{Vault, VaultError, KEYRING_FILE};
use domain::Role;

use crate::support::*;

#[test]
fn the_last_admin_cannot_be_disabled() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let err = created
        .vault
        .set_disabled(ADMIN, &created.admin.id, true, t0())
        .unwrap_err();
    assert!(matches!(err, VaultError::Conflict(_)), "{err:?}");
    let (second, _) = created
        .vault
        .create_user(ADMIN, &username("carol"), Role::Admin, t0())
        .unwrap();
    created
        .vault
        .set_disabled(ADMIN, &created.admin.id, true, t0())
        .unwrap();
    assert!(matches!(
        created.vault.set_disabled(ADMIN, &second.id, true, t0()),
        Err(VaultError::Conflict(_))
    ));
}

#[test]
fn a_disabled_user_cannot_unlock_even_with_the_right_password() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let (bob, otp) = created
        .vault
        .create_user(ADMIN, &username("bob"), Role::Auditor, t0())
        .unwrap();
    created
        .vault
        .set_disabled(ADMIN, &bob.id, true, t0())
        .unwrap();
    let err = Vault::sign_in(tmp.path(), "bob", otp.expose(), None, policy(), at(1)).unwrap_err();
    assert!(matches!(err, VaultError::BadCredentials), "{err:?}");
    let otp2 = created
        .vault
        .set_disabled(ADMIN, &bob.id, false, t0())
        .unwrap()
        .expect("re-enabling issues a one-time password");
    drop(created);
    assert!(Vault::sign_in(tmp.path(), "bob", otp2.expose(), None, policy(), at(1)).is_ok());
}

#[test]
fn duplicate_usernames_are_a_field_error() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let err = created
        .vault
        .create_user(ADMIN, &username("ALICE"), Role::Auditor, t0())
        .unwrap_err();
    assert!(
        matches!(
            err,
            VaultError::Invalid {
                field: "username",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn changing_a_password_rewraps_without_touching_the_database_key() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, secret) = created(tmp.path());
    let ring = |p: &std::path::Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p.join(KEYRING_FILE)).unwrap()).unwrap()
    };
    let before = ring(tmp.path());
    created
        .vault
        .change_password(
            &created.admin.id,
            &password("a different passphrase 3", ADMIN),
            t0(),
        )
        .unwrap();
    let after = ring(tmp.path());
    assert_eq!(
        before["db_key"], after["db_key"],
        "the database key is not re-encrypted"
    );
    assert_ne!(
        before["slots"], after["slots"],
        "the admin's slot is re-wrapped"
    );
    drop(created);
    let (_, _, _) = Vault::sign_in(
        tmp.path(),
        ADMIN,
        "a different passphrase 3",
        Some(&code_at(&secret, at(1))),
        policy(),
        at(1),
    )
    .unwrap();
}

#[test]
fn rotating_the_database_key_rekeys_the_file_and_keeps_the_data() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, secret) = created(tmp.path());
    let before: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join(KEYRING_FILE)).unwrap()).unwrap();
    created.vault.rotate_db_key(ADMIN, t0()).unwrap();
    let after: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join(KEYRING_FILE)).unwrap()).unwrap();
    assert_ne!(before["db_key"], after["db_key"], "a new database key");
    assert!(after.get("db_key_next").is_none(), "rotation finished");
    drop(created);
    let vault = sign_in_admin(tmp.path(), &secret, at(1));
    assert!(
        vault.users().unwrap().iter().any(|u| u.username == ADMIN),
        "data survives the re-key"
    );
    assert!(vault.verify_audit().unwrap().intact);
}

#[test]
fn listing_users_is_ordered_and_shows_lockouts() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    created
        .vault
        .create_user(ADMIN, &username("zoe"), Role::Auditor, t0())
        .unwrap();
    created
        .vault
        .create_user(ADMIN, &username("bob"), Role::Underwriter, t0())
        .unwrap();
    let now = time::OffsetDateTime::now_utc();
    for _ in 0..10 {
        let _ = Vault::sign_in(tmp.path(), "bob", "not bobs password", None, policy(), now);
    }
    let users = created.vault.users().unwrap();
    let names: Vec<_> = users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["alice", "bob", "zoe"], "sorted by username");
    assert!(users[1].locked_until.is_some(), "bob is locked out");
    assert!(users[0].locked_until.is_none() && users[2].locked_until.is_none());
    assert_eq!(
        created.vault.user_by_name("zoe").unwrap().unwrap().role,
        Role::Auditor
    );
    assert!(created.vault.user_by_name("nobody").unwrap().is_none());
}

#[test]
fn after_a_rotation_a_second_desk_opens_the_re_keyed_file_while_the_first_writes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let v = created.vault;
    let (uma, _) = v
        .create_user(ADMIN, &username("uma"), domain::Role::Underwriter, t0())
        .unwrap();
    v.set_disabled(ADMIN, &uma.id, true, at(1)).unwrap();
    let (_, otp) = v
        .create_user(ADMIN, &username("bob"), domain::Role::Underwriter, at(2))
        .unwrap();
    let second = desk_vault::Vault::sign_in(tmp.path(), "bob", otp.expose(), None, policy(), at(3));
    assert!(second.is_ok(), "{:?}", second.err());
}

/// A folder moved to a desk that has never seen the vault (its record gone) after the founding
/// admin was disabled: the members the founder registered, and the desk the founder registered,
/// still verify through the founder's retired registration.
#[test]
fn after_the_founder_is_disabled_a_new_desk_still_trusts_the_members_the_founder_registered() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let (_, otp) = created
        .vault
        .create_user(ADMIN, &username("carol"), Role::Admin, t0())
        .unwrap();
    drop(created);
    let (carol, _, _) =
        Vault::sign_in(tmp.path(), "carol", otp.expose(), None, policy(), at(1)).unwrap();
    let alice = carol.user_by_name(ADMIN).unwrap().unwrap();
    carol.set_disabled("carol", &alice.id, true, at(1)).unwrap();
    while carol.rewrap_record_keys(1_000, "carol", at(1)).unwrap() > 0 {}
    assert!(carol.verify_audit().unwrap().intact);
    drop(carol);

    std::fs::remove_file(desk_vault::testing::device_record(tmp.path()).unwrap()).unwrap();
    let (carol, _, _) =
        Vault::sign_in(tmp.path(), "carol", otp.expose(), None, policy(), at(2)).unwrap();
    let report = carol.verify_audit().unwrap();
    assert!(report.intact, "{report:?}");
}
