//! The in-place upgrade of a format-1 vault (one root key for everyone) to access by keys.
//!
//! At the first sign-in after the upgrade, with the root key that user's legacy slot opened:
//! 1. **Class keys.** The case, identifiers and secrets class keys are made and kept, sealed
//!    under the root key, for the slots nobody has used yet; the keyring is saved (format 2)
//!    before any data uses them. The metadata and index classes keep the root key itself, so the
//!    database key's wrapping, the audit head's MAC and every blind-index digest stay valid.
//! 2. **Records**, in one unit of work with a `vault.upgrade_keys` audit entry: each format-1
//!    record key (HKDF of the root key and the record's salt) becomes the record's case key,
//!    wrapped by the case class key; every identifier part (whole copies of the business, people
//!    and bank account, documents, pending merchant changes, platform payloads, the platform key)
//!    is sealed again under a fresh identifiers key, with a masked copy under the case key;
//!    authenticator secrets get secret records sealed to the secrets class. The salts are then
//!    deleted: nothing is readable through them any more.
//! 3. **The member.** The signing-in user gets a key pair sealed under their password, their
//!    role's class keys and their own authenticator secret sealed to it, and a
//!    `user.keys_moved` entry. When no legacy slot is left, the root-key wraps are deleted.
//!
//! Each step can be interrupted and is done again (or continued) at the next sign-in.

use rusqlite::{params, OptionalExtension};
use time::OffsetDateTime;

use crate::audit::{Event, Outcome};
use crate::crypto::Key;
use crate::keyring::{Keyring, KeyringLock, Opened, FORMAT, LEGACY_FORMAT, RECOVERY_SLOT};
use crate::keys::{ClassKey, DataClass, MemberKeys};
use crate::recovery::RecoveryKey;
use crate::seal::{self, RecordKey, Sealed};
use crate::vault::User;
use crate::{Result, Tx, Vault, VaultError};

/// The format-1 salt of a record, if it has one: in `legacy_record_keys` once the schema is
/// migrated, in the first schema's `record_keys` before (sign-in reads it before migrating).
pub(crate) fn legacy_salt(db: &crate::sql::Db<'_>, record_id: &str) -> Result<Option<Vec<u8>>> {
    // Format 1 was a local vault only; a team store never had its salts.
    let crate::sql::Db::Sqlite(conn) = *db else {
        return Ok(None);
    };
    let table: Option<String> = conn
        .query_row(
            "SELECT CASE
                 WHEN EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'legacy_record_keys')
                     THEN 'legacy_record_keys'
                 WHEN EXISTS (SELECT 1 FROM pragma_table_info('record_keys') WHERE name = 'salt')
                     THEN 'record_keys'
             END",
            [],
            |r| r.get(0),
        )
        .map_err(VaultError::storage("looking for format-1 record keys"))?;
    let Some(table) = table else { return Ok(None) };
    conn.query_row(
        &format!("SELECT salt FROM {table} WHERE record_id = ?1"),
        [record_id],
        |r| r.get(0),
    )
    .optional()
    .map_err(VaultError::storage("reading a format-1 record key"))
}

/// Step 1: the class keys of a format-1 keyring, saved before anything uses them.
fn make_class_keys(
    vault: &mut Vault,
    ring: &mut Keyring,
    lock: &KeyringLock,
    root: &Key,
    slot: &str,
) -> Result<()> {
    if ring.format != LEGACY_FORMAT {
        return Ok(());
    }
    ring.format = FORMAT;
    ring.legacy = Some(crate::keyring::Legacy {
        slots: ring.slots.keys().cloned().collect(),
        classes: Default::default(),
    });
    // No blocklist key here: under the root key every legacy slot would open it. The first
    // admin sign-in after the upgrade makes it (`blocklist.rs`).
    for class in [DataClass::Case, DataClass::Identifiers, DataClass::Secrets] {
        let key = ClassKey::random();
        ring.set_legacy_class(root, class, &key);
        ring.set_class_public(class, &key);
    }
    let rooted = ClassKey::from_key(root.clone());
    ring.set_class_public(DataClass::Metadata, &rooted);
    ring.set_class_public(DataClass::Index, &rooted);
    vault.keyring.save(ring, lock)?;
    // As saved: the folder's record id and its MAC (a later save must not start another).
    *ring = vault.keyring.load()?;
    vault.set_keys(ring.keys(slot, Opened::Legacy(root.clone()))?);
    Ok(())
}

/// Step 2: every format-1 record key converted, in one unit of work.
fn convert_records(
    vault: &Vault,
    ring: &mut Keyring,
    root: &Key,
    now: OffsetDateTime,
) -> Result<()> {
    let pending: i64 = vault
        .local()?
        .query_row("SELECT count(*) FROM legacy_record_keys", [], |r| r.get(0))
        .map_err(VaultError::storage("counting format-1 record keys"))?;
    if pending == 0 {
        return Ok(());
    }
    let (converted, head) = vault.write_keeping_head(now, |tx| {
        let rows: Vec<(String, Vec<u8>)> = tx
            .local()?
            .prepare("SELECT record_id, salt FROM legacy_record_keys")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(VaultError::storage("reading format-1 record keys"))?;
        let users: std::collections::BTreeSet<String> = tx
            .local()?
            .prepare("SELECT id FROM users")
            .and_then(|mut s| {
                s.query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()
            })
            .map_err(VaultError::storage("listing users"))?;
        for (record_id, salt) in &rows {
            let old_key = seal::legacy_key(root, salt);
            let old = RecordKey::legacy(root, record_id, salt);
            if users.contains(record_id) {
                convert_totp(tx, &old, record_id)?;
            } else if record_id == PLATFORM_RECORD {
                convert_platform_key(tx, &old)?;
            } else {
                convert_case_record(tx, &old, old_key, record_id)?;
            }
        }
        tx.local()?
            .execute("DELETE FROM legacy_record_keys", [])
            .map_err(VaultError::storage("deleting format-1 record keys"))?;
        tx.audit(&Event {
            actor: "system",
            action: "vault.upgrade_keys",
            target: None,
            outcome: Outcome::Ok,
            detail: Some(&format!(
                "records={}; per-class keys, identifiers sealed again",
                rows.len()
            )),
        })?;
        Ok(rows.len())
    })?;
    tracing::info!(converted, "format-1 record keys converted");
    ring.audit_head = head.map(|(h, _)| h);
    Ok(())
}

/// The record id of the platform key (api's `boarding::platform`).
const PLATFORM_RECORD: &str = "settings:platform";

fn convert_totp(tx: &Tx<'_>, old: &RecordKey, user_id: &str) -> Result<()> {
    let sealed = crate::users::sealed_totp_secret(&tx.db(), user_id)?;
    let Some(sealed) = sealed else { return Ok(()) };
    let secret = old.open("totp_secret", &sealed)?;
    // Sealed to the secrets class now; to its user when they sign in (step 3).
    let new = seal::new_secret_record(&tx.db(), &tx.keys(), user_id, None)?;
    tx.local()?
        .execute(
            "UPDATE users SET totp_secret = ?2 WHERE id = ?1",
            params![user_id, new.seal("totp_secret", &secret)?],
        )
        .map_err(VaultError::storage("storing an authenticator secret"))?;
    Ok(())
}

fn convert_platform_key(tx: &Tx<'_>, old: &RecordKey) -> Result<()> {
    let Some(hex) = tx.settings().get(crate::Setting::PlatformKey)? else {
        return Ok(());
    };
    let sealed = Sealed::from_hex(&hex).ok_or(VaultError::VaultDamaged(
        "the stored platform key is not hex",
    ))?;
    let plain = old.open("platform_key", &sealed)?;
    // Under the identifiers class, like any record the roles that board must send.
    let new = seal::record_key(&tx.db(), &tx.keys(), PLATFORM_RECORD)?;
    tx.settings().set(
        crate::Setting::PlatformKey,
        &new.seal("platform_key", &plain)?.to_hex(),
    )
}

/// A record of an application: its format-1 key is its case key from now on; what holds
/// identifiers is sealed again under a fresh identifiers key.
fn convert_case_record(tx: &Tx<'_>, old: &RecordKey, old_key: Key, record_id: &str) -> Result<()> {
    let identifiers = Key::random();
    let new = RecordKey::from_parts(record_id, Some(old_key.clone()), Some(identifiers.clone()));
    let wrapped = vec![
        seal::wrap_for_class(&tx.keys(), record_id, DataClass::Case, &old_key)?,
        seal::wrap_for_class(&tx.keys(), record_id, DataClass::Identifiers, &identifiers)?,
    ];
    seal::store_wrapped(&tx.db(), record_id, &seal::FreshKeys { wrapped })?;
    tx.reseal_application_parts(old, &new, record_id)?;
    let reseal =
        |sql_read: &str, sql_write: &str, field_of: &dyn Fn(&str) -> String| -> Result<()> {
            let rows: Vec<(String, Sealed)> = tx
                .local()?
                .prepare(sql_read)
                .and_then(|mut s| {
                    s.query_map([record_id], |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(VaultError::storage("reading a sealed part"))?;
            for (id, sealed) in rows {
                let field = field_of(&id);
                let plain = old.open(&field, &sealed)?;
                tx.local()?
                    .execute(sql_write, params![id, new.seal(&field, &plain)?])
                    .map_err(VaultError::storage("sealing a part again"))?;
            }
            Ok(())
        };
    reseal(
        "SELECT id, content FROM documents WHERE application_id = ?1",
        "UPDATE documents SET content = ?2 WHERE id = ?1",
        &|id| format!("document:{id}"),
    )?;
    reseal(
        "SELECT id, previous FROM merchant_changes WHERE application_id = ?1 AND previous IS NOT NULL",
        "UPDATE merchant_changes SET previous = ?2 WHERE id = ?1",
        &|id| format!("merchant_change:{id}"),
    )?;
    reseal(
        "SELECT id, payload FROM boarding_jobs WHERE application_id = ?1 AND payload IS NOT NULL",
        "UPDATE boarding_jobs SET payload = ?2 WHERE id = ?1",
        &|_| "job_payload".to_string(),
    )?;
    Ok(())
}

/// Step 3 for the member that signed in with a legacy slot (steps 1 and 2 first, if the vault
/// still needs them).
pub(crate) fn move_member(
    vault: &mut Vault,
    ring: &mut Keyring,
    lock: &KeyringLock,
    root: &Key,
    password: &str,
    user: &User,
    now: OffsetDateTime,
) -> Result<()> {
    let slot = vault.slot.clone();
    let member = MemberKeys::generate();
    let public = member.public();
    make_class_keys(vault, ring, lock, root, &slot)?;
    // Every entry of the upgrade is signed by the member's new key (registered below).
    vault.keys_mut().me = Some(member.clone());
    convert_records(vault, ring, root, now)?;
    let ((), head) = vault.write_keeping_head(now, |tx| {
        seal::reseal_own(&tx.db(), &tx.keys(), &user.id, &public.wrap)?;
        tx.audit(&Event {
            actor: &user.username,
            action: "user.keys_moved",
            target: Some(&user.username),
            outcome: Outcome::Ok,
            detail: Some("a key pair of their own replaces the shared root key"),
        })
    })?;
    ring.audit_head = head.map(|(h, _)| h);
    let grants = vault.keys().grants(DataClass::for_role(user.role))?;
    ring.set_password_slot(
        &slot,
        password.as_bytes(),
        &member.to_bytes(),
        vault.policy().kdf,
    )?;
    // Moved from a legacy slot: nobody else's key can vouch for it, so it signs itself (the
    // audit entry above says when and who).
    ring.register(
        &slot,
        public,
        &user.id,
        user.role.as_str(),
        &slot,
        &member,
        now,
    );
    for (class, key) in &grants {
        ring.seal_class_to(*class, key, &slot, &public.wrap);
    }
    ring.retire_legacy_if_done();
    vault.keyring.save(ring, lock)?;
    vault.set_keys(ring.keys(&slot, Opened::Member(member))?);
    Ok(())
}

/// Step 3 for the recovery key (used while its slot was legacy).
pub(crate) fn move_recovery(
    vault: &mut Vault,
    ring: &mut Keyring,
    lock: &KeyringLock,
    root: &Key,
    recovery_key: &RecoveryKey,
    now: OffsetDateTime,
) -> Result<()> {
    let member = MemberKeys::generate();
    let public = member.public();
    make_class_keys(vault, ring, lock, root, RECOVERY_SLOT)?;
    vault.keys_mut().me = Some(member.clone());
    convert_records(vault, ring, root, now)?;
    let all = vault.keys().grants(&DataClass::ALL)?;
    ring.set_recovery_slot(recovery_key.key(), &member.to_bytes());
    ring.register(
        RECOVERY_SLOT,
        public,
        RECOVERY_SLOT,
        domain::Role::Admin.as_str(),
        RECOVERY_SLOT,
        &member,
        now,
    );
    for (class, key) in &all {
        ring.seal_class_to(*class, key, RECOVERY_SLOT, &public.wrap);
    }
    ring.retire_legacy_if_done();
    vault.keyring.save(ring, lock)?;
    vault.set_keys(ring.keys(RECOVERY_SLOT, Opened::Member(member))?);
    Ok(())
}
