use desk_vault::testing::Raw;
use std::fs;

use desk_vault::{Vault, VaultError, KEYRING_FILE, VAULT_FILE};

use crate::support::*;

fn must_be_damaged(
    result: Result<(Vault, desk_vault::User, desk_vault::NextStep), VaultError>,
    what: &str,
) {
    match result {
        Err(
            VaultError::VaultDamaged(_)
            | VaultError::KeyringDamaged(_)
            | VaultError::KeyringMissing,
        ) => {}
        Err(other) => panic!("{what}: expected a damaged-vault error, got {other:?}"),
        Ok(_) => panic!("{what}: a damaged vault must not open"),
    }
}

fn checkpoint(dir: &std::path::Path, secret: &str) {
    let vault = sign_in_admin(dir, secret, at(1));
    vault
        .raw_conn()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
}

#[test]
fn a_deleted_keyring_is_reported_as_missing() {
    let tmp = tempfile::tempdir().unwrap();
    drop(created(tmp.path()));
    fs::remove_file(tmp.path().join(KEYRING_FILE)).unwrap();
    assert_eq!(
        desk_vault::state(tmp.path()),
        domain::VaultState::KeyringMissing
    );
    let err = Vault::sign_in(tmp.path(), ADMIN, ADMIN_PW, None, policy(), at(1)).unwrap_err();
    assert!(matches!(err, VaultError::KeyringMissing), "{err:?}");
    assert!(err.to_string().starts_with("keyring missing"));
}

#[test]
fn a_flipped_byte_in_the_vault_file_is_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let (c, secret) = created(tmp.path());
    drop(c);
    checkpoint(tmp.path(), &secret);
    let path = tmp.path().join(VAULT_FILE);
    let mut bytes = fs::read(&path).unwrap();
    let middle = bytes.len() / 2 + 100;
    bytes[middle] ^= 0x01;
    fs::write(&path, bytes).unwrap();
    let code = code_at(&secret, at(3));
    must_be_damaged(
        Vault::sign_in(tmp.path(), ADMIN, ADMIN_PW, Some(&code), policy(), at(3)),
        "flipped byte",
    );
}

#[test]
fn a_truncated_vault_file_is_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let (c, secret) = created(tmp.path());
    drop(c);
    checkpoint(tmp.path(), &secret);
    let path = tmp.path().join(VAULT_FILE);
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let code = code_at(&secret, at(3));
    must_be_damaged(
        Vault::sign_in(tmp.path(), ADMIN, ADMIN_PW, Some(&code), policy(), at(3)),
        "truncated file",
    );
}

#[test]
fn a_vault_file_from_another_vault_is_damage() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let (c, secret) = created(a.path());
    drop(c);
    drop(created(b.path()));
    checkpoint(a.path(), &secret);
    fs::copy(b.path().join(VAULT_FILE), a.path().join(VAULT_FILE)).unwrap();
    let _ = fs::remove_file(a.path().join("vault.db-wal"));
    let code = code_at(&secret, at(3));
    must_be_damaged(
        Vault::sign_in(a.path(), ADMIN, ADMIN_PW, Some(&code), policy(), at(3)),
        "foreign file",
    );
}

#[test]
fn a_garbage_keyring_is_damage_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    drop(created(tmp.path()));
    fs::write(tmp.path().join(KEYRING_FILE), b"\x00\x01garbage").unwrap();
    must_be_damaged(
        Vault::sign_in(tmp.path(), ADMIN, ADMIN_PW, None, policy(), at(1)),
        "garbage keyring",
    );
}

#[test]
fn creating_over_an_existing_vault_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    drop(created(tmp.path()));
    let err = Vault::create(
        tmp.path(),
        &username("zed"),
        &password("quiet river stones 7", "zed"),
        policy(),
        t0(),
    )
    .err()
    .expect("second create must fail");
    assert!(matches!(err, VaultError::AlreadyExists));
}

/// The grep test: after storing an application-like record with known values, none of them
/// appears in the raw bytes of the database, its WAL or the keyring.
#[test]
fn known_values_never_appear_in_the_raw_files() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let vault = &created.vault;
    let values = [
        ("legal_name", "Zyxwvut Widgets Incorporated"),
        ("ein", "12-3456789"),
        ("ssn", "078-05-1120"),
        ("account_number", "000123456789"),
        ("owner_name", "Quentin Quarterman"),
    ];
    vault
        .raw_conn()
        .execute_batch(
            "CREATE TABLE test_records (id TEXT, field TEXT, sealed BLOB, plain TEXT, idx BLOB)",
        )
        .unwrap();
    let key = vault.write(|tx| tx.record_key("app-1")).unwrap();
    for (field, value) in values {
        // Sealed fields, and (to prove the file encryption alone) one plain column too.
        let plain = if field == "legal_name" || field == "owner_name" {
            Some(value)
        } else {
            None
        };
        vault
            .raw_conn()
            .execute(
                "INSERT INTO test_records VALUES ('app-1', ?1, ?2, ?3, ?4)",
                rusqlite::params![
                    field,
                    key.seal(field, value.as_bytes()).unwrap(),
                    plain,
                    vault.blind_index(field, value).unwrap().as_slice()
                ],
            )
            .unwrap();
    }
    let opened = key
        .open(
            "ein",
            &vault
                .raw_conn()
                .query_row(
                    "SELECT sealed FROM test_records WHERE field='ein'",
                    [],
                    |r| r.get::<_, desk_vault::Sealed>(0),
                )
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        opened.as_slice(),
        b"12-3456789",
        "the sealed value opens with its record key"
    );

    let files = Vault::files(tmp.path());
    assert!(
        tmp.path().join("vault.db-wal").exists(),
        "the WAL is part of what we check"
    );
    for file in files.iter().filter(|f| f.exists()) {
        let bytes = fs::read(file).unwrap();
        for (field, value) in values {
            let needles = [value.to_string(), value.replace('-', "")];
            for needle in needles {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "{field} must not appear in plaintext in {}",
                    file.display()
                );
            }
        }
        assert!(
            !bytes.starts_with(b"SQLite format 3"),
            "{} must not be a plain SQLite file",
            file.display()
        );
    }

    assert!(vault.write(|tx| tx.shred_record("app-1")).unwrap());
    assert!(
        vault.existing_record_key("app-1").unwrap().is_none(),
        "a shredded record has no key left"
    );
}
