//! `keyring.json`: everything that must be readable before the database is open.
//!
//! It holds the root key wrapped once per user (argon2id of the password) and once under the
//! recovery key, the database key wrapped under the root key, sign-in lockouts, audit events that
//! happened while the vault was locked (failed sign-ins), and the audit chain's head (with a MAC
//! under the root key, so a truncated audit table is detected). Writes are atomic (temp file,
//! fsync, rename) and serialised by an exclusive lock on `keyring.lock`.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::crypto::{self, KdfParams, Key};
use crate::{Result, VaultError};

const FORMAT: u32 = 1;
pub const KEYRING_FILE: &str = "keyring.json";
const LOCK_FILE: &str = "keyring.lock";
/// At most this many lockout records are kept (they are pruned when they expire).
const MAX_LOCKOUTS: usize = 10_000;
/// At most this many audit events wait in the keyring for the next unlock.
const MAX_PENDING: usize = 1_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Keyring {
    pub format: u32,
    pub vault_id: Uuid,
    /// Slot id (`user:<hash>` or `recovery`) → the root key wrapped for it.
    pub slots: BTreeMap<String, Slot>,
    /// The SQLCipher key, wrapped under the root key.
    pub db_key: String,
    /// A new database key written before `PRAGMA rekey`, promoted after; lets an interrupted
    /// rotation recover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_key_next: Option<String>,
    #[serde(default)]
    pub lockouts: BTreeMap<String, Lockout>,
    #[serde(default)]
    pub pending_audit: Vec<PendingEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_head: Option<AuditHead>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Slot {
    pub kdf: SlotKdf,
    /// Base64 of the sealed root key.
    pub wrapped: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "alg", rename_all = "snake_case")]
pub enum SlotKdf {
    Argon2id {
        #[serde(flatten)]
        params: KdfParams,
        salt: String,
    },
    /// The recovery key has full entropy, so HKDF is enough.
    HkdfSha256 { salt: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lockout {
    pub failures: u32,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub locked_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub last_failure: OffsetDateTime,
}

/// An audit event that happened while the database was closed (a failed sign-in). It carries
/// no secret: the slot id is a hash, never the typed username.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingEvent {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub action: String,
    pub slot: String,
    pub outcome: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
    pub mac: String,
}

pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

pub fn unb64(text: &str, what: &'static str) -> Result<Vec<u8>> {
    B64.decode(text)
        .map_err(|_| VaultError::KeyringDamaged(what))
}

impl Keyring {
    pub fn new(vault_id: Uuid, db_key_wrapped: String) -> Self {
        Self {
            format: FORMAT,
            vault_id,
            slots: BTreeMap::new(),
            db_key: db_key_wrapped,
            db_key_next: None,
            lockouts: BTreeMap::new(),
            pending_audit: Vec::new(),
            audit_head: None,
        }
    }

    fn aad(&self, slot_id: &str) -> Vec<u8> {
        [
            self.vault_id.as_bytes().as_slice(),
            b"|slot|",
            slot_id.as_bytes(),
        ]
        .concat()
    }

    pub fn db_key_aad(&self) -> Vec<u8> {
        [self.vault_id.as_bytes().as_slice(), b"|db-key"].concat()
    }

    /// Wraps the root key for a password holder.
    pub fn set_password_slot(
        &mut self,
        slot_id: &str,
        password: &[u8],
        root: &Key,
        params: KdfParams,
    ) -> Result<()> {
        let salt: [u8; 16] = crypto::random_bytes();
        let kek = crypto::password_kek(password, &salt, params)?;
        let wrapped = crypto::seal(&kek, &self.aad(slot_id), root.expose());
        self.slots.insert(
            slot_id.to_string(),
            Slot {
                kdf: SlotKdf::Argon2id {
                    params,
                    salt: b64(&salt),
                },
                wrapped: b64(&wrapped),
            },
        );
        Ok(())
    }

    /// Wraps the root key under the recovery key.
    pub fn set_recovery_slot(&mut self, recovery: &Key, root: &Key) {
        let salt: [u8; 16] = crypto::random_bytes();
        let kek = crypto::derive(recovery, &salt, b"boarding-desk/recovery/v1");
        let wrapped = crypto::seal(&kek, &self.aad(RECOVERY_SLOT), root.expose());
        self.slots.insert(
            RECOVERY_SLOT.to_string(),
            Slot {
                kdf: SlotKdf::HkdfSha256 { salt: b64(&salt) },
                wrapped: b64(&wrapped),
            },
        );
    }

    /// Unwraps the root key with a password. `None` for a wrong password or a missing slot;
    /// a missing slot still costs one argon2id run, so timing does not reveal which.
    pub fn open_password_slot(&self, slot_id: &str, password: &[u8]) -> Result<Option<Key>> {
        let Some(slot) = self.slots.get(slot_id) else {
            let _ = crypto::password_kek(password, &[0u8; 16], KdfParams::DEFAULT)?;
            return Ok(None);
        };
        let SlotKdf::Argon2id { params, salt } = &slot.kdf else {
            return Err(VaultError::KeyringDamaged(
                "a user slot has the wrong kind of key derivation",
            ));
        };
        let kek = crypto::password_kek(
            password,
            &unb64(salt, "a slot salt is not base64")?,
            *params,
        )?;
        let wrapped = unb64(&slot.wrapped, "a wrapped key is not base64")?;
        Ok(crypto::open(&kek, &self.aad(slot_id), &wrapped)
            .and_then(|bytes| Key::from_slice(&bytes)))
    }

    pub fn open_recovery_slot(&self, recovery: &Key) -> Result<Option<Key>> {
        let slot = self
            .slots
            .get(RECOVERY_SLOT)
            .ok_or(VaultError::KeyringDamaged("the recovery slot is missing"))?;
        let SlotKdf::HkdfSha256 { salt } = &slot.kdf else {
            return Err(VaultError::KeyringDamaged(
                "the recovery slot has the wrong kind of key derivation",
            ));
        };
        let kek = crypto::derive(
            recovery,
            &unb64(salt, "a slot salt is not base64")?,
            b"boarding-desk/recovery/v1",
        );
        let wrapped = unb64(&slot.wrapped, "a wrapped key is not base64")?;
        Ok(
            crypto::open(&kek, &self.aad(RECOVERY_SLOT), &wrapped)
                .and_then(|b| Key::from_slice(&b)),
        )
    }

    pub fn unwrap_db_key(&self, root: &Key, wrapped: &str) -> Result<Key> {
        let bytes = unb64(wrapped, "the database key is not base64")?;
        crypto::open(root, &self.db_key_aad(), &bytes)
            .and_then(|b| Key::from_slice(&b))
            .ok_or(VaultError::KeyringDamaged(
                "the database key does not open with this root key",
            ))
    }

    pub fn wrap_db_key(&self, root: &Key, db_key: &Key) -> String {
        b64(&crypto::seal(root, &self.db_key_aad(), db_key.expose()))
    }

    /// Records a failed sign-in for `slot_id`; returns the lock expiry when this failure locks.
    pub fn record_failure(
        &mut self,
        slot_id: &str,
        now: OffsetDateTime,
        max_failures: u32,
        lock_for: time::Duration,
    ) -> Option<OffsetDateTime> {
        self.prune_lockouts(now);
        let entry = self
            .lockouts
            .entry(slot_id.to_string())
            .or_insert_with(|| Lockout {
                failures: 0,
                locked_until: None,
                last_failure: now,
            });
        entry.failures += 1;
        entry.last_failure = now;
        if entry.failures >= max_failures {
            let until = now + lock_for;
            entry.locked_until = Some(until);
            entry.failures = 0;
            return Some(until);
        }
        None
    }

    pub fn locked_until(&self, slot_id: &str, now: OffsetDateTime) -> Option<OffsetDateTime> {
        self.lockouts
            .get(slot_id)
            .and_then(|l| l.locked_until)
            .filter(|until| *until > now)
    }

    pub fn clear_lockout(&mut self, slot_id: &str) {
        self.lockouts.remove(slot_id);
    }

    fn prune_lockouts(&mut self, now: OffsetDateTime) {
        let day = time::Duration::days(1);
        self.lockouts
            .retain(|_, l| l.locked_until.is_some_and(|u| u > now) || now - l.last_failure < day);
        while self.lockouts.len() >= MAX_LOCKOUTS {
            let oldest = self
                .lockouts
                .iter()
                .min_by_key(|(_, l)| l.last_failure)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => self.lockouts.remove(&k),
                None => break,
            };
        }
    }

    pub fn push_pending(&mut self, event: PendingEvent) {
        if self.pending_audit.len() >= MAX_PENDING {
            self.pending_audit.remove(0);
        }
        self.pending_audit.push(event);
    }
}

pub const RECOVERY_SLOT: &str = "recovery";

/// Files of the keyring in one data folder.
#[derive(Debug, Clone)]
pub struct KeyringFile {
    path: PathBuf,
    lock_path: PathBuf,
}

/// Held while a read-modify-write of the keyring is under way.
pub struct KeyringLock {
    _file: File,
}

impl KeyringFile {
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            path: dir.join(KEYRING_FILE),
            lock_path: dir.join(LOCK_FILE),
        }
    }

    pub fn exists(&self) -> bool {
        self.path.exists()
    }

    /// The data folder the keyring is in.
    pub fn folder(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    pub fn lock(&self) -> Result<KeyringLock> {
        let file = crate::db::private_file()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock_path)
            .map_err(VaultError::io("the keyring lock", "opened"))?;
        file.lock()
            .map_err(VaultError::io("the keyring lock", "taken"))?;
        Ok(KeyringLock { _file: file })
    }

    pub fn load(&self) -> Result<Keyring> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(VaultError::KeyringMissing)
            }
            Err(e) => return Err(VaultError::io("the keyring", "read")(e)),
        };
        let keyring: Keyring = serde_json::from_slice(&bytes)
            .map_err(|_| VaultError::KeyringDamaged("keyring.json is not a valid keyring"))?;
        if keyring.format != FORMAT {
            return Err(VaultError::KeyringDamaged(
                "keyring.json has an unknown format version",
            ));
        }
        Ok(keyring)
    }

    /// Atomically replaces the keyring (write temp, fsync, rename, fsync folder).
    pub fn save(&self, keyring: &Keyring, _lock: &KeyringLock) -> Result<()> {
        let json = serde_json::to_vec_pretty(keyring)
            .map_err(|_| VaultError::KeyringDamaged("the keyring could not be serialised"))?;
        let tmp = self.path.with_extension("json.tmp");
        {
            let mut file = crate::db::private_file()
                .create(true)
                .truncate(true)
                .write(true)
                .open(&tmp)
                .map_err(VaultError::io("the keyring", "written"))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = file.set_permissions(fs::Permissions::from_mode(0o600));
            }
            file.write_all(&json)
                .map_err(VaultError::io("the keyring", "written"))?;
            file.sync_all()
                .map_err(VaultError::io("the keyring", "synced"))?;
        }
        fs::rename(&tmp, &self.path).map_err(VaultError::io("the keyring", "replaced"))?;
        if let Some(dir) = self.path.parent() {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    #[test]
    fn password_slot_opens_only_with_its_password() {
        let root = Key::random();
        let mut ring = Keyring::new(Uuid::new_v4(), String::new());
        ring.set_password_slot("user:a", b"a long passphrase", &root, KdfParams::MINIMUM)
            .unwrap();
        assert_eq!(
            ring.open_password_slot("user:a", b"a long passphrase")
                .unwrap(),
            Some(root.clone())
        );
        assert_eq!(
            ring.open_password_slot("user:a", b"a long passphrasf")
                .unwrap(),
            None
        );
        assert_eq!(
            ring.open_password_slot("user:b", b"a long passphrase")
                .unwrap(),
            None
        );
    }

    #[test]
    fn slot_cannot_be_moved_to_another_user() {
        let root = Key::random();
        let mut ring = Keyring::new(Uuid::new_v4(), String::new());
        ring.set_password_slot("user:a", b"a long passphrase", &root, KdfParams::MINIMUM)
            .unwrap();
        let slot = ring.slots["user:a"].clone();
        ring.slots.insert("user:b".into(), slot);
        assert_eq!(
            ring.open_password_slot("user:b", b"a long passphrase")
                .unwrap(),
            None,
            "aad binds the slot id"
        );
    }

    #[test]
    fn downgraded_kdf_parameters_are_refused() {
        let root = Key::random();
        let mut ring = Keyring::new(Uuid::new_v4(), String::new());
        ring.set_password_slot("user:a", b"a long passphrase", &root, KdfParams::MINIMUM)
            .unwrap();
        if let Some(Slot {
            kdf: SlotKdf::Argon2id { params, .. },
            ..
        }) = ring.slots.get_mut("user:a")
        {
            params.m_kib = 1024;
        }
        assert!(matches!(
            ring.open_password_slot("user:a", b"a long passphrase"),
            Err(VaultError::WeakKdf)
        ));
    }

    #[test]
    fn tenth_failure_locks_for_thirty_minutes() {
        let mut ring = Keyring::new(Uuid::new_v4(), String::new());
        let lock_for = time::Duration::minutes(30);
        for i in 1..10 {
            assert_eq!(
                ring.record_failure("user:a", now(), 10, lock_for),
                None,
                "failure {i} must not lock"
            );
        }
        let until = ring
            .record_failure("user:a", now(), 10, lock_for)
            .expect("10th failure locks");
        assert_eq!(until, now() + lock_for);
        assert_eq!(
            ring.locked_until("user:a", now() + time::Duration::minutes(29)),
            Some(until)
        );
        assert_eq!(
            ring.locked_until("user:a", now() + time::Duration::minutes(31)),
            None,
            "lock expires"
        );
    }

    #[test]
    fn save_and_load_round_trip_atomically() {
        let tmp = tempfile::tempdir().unwrap();
        let file = KeyringFile::in_dir(tmp.path());
        assert!(matches!(file.load(), Err(VaultError::KeyringMissing)));
        let ring = Keyring::new(Uuid::new_v4(), "abc".into());
        let lock = file.lock().unwrap();
        file.save(&ring, &lock).unwrap();
        let back = file.load().unwrap();
        assert_eq!(back.vault_id, ring.vault_id);
        assert!(
            !tmp.path().join("keyring.json.tmp").exists(),
            "no temp file left behind"
        );
        fs::write(tmp.path().join(KEYRING_FILE), b"{not json").unwrap();
        assert!(matches!(file.load(), Err(VaultError::KeyringDamaged(_))));
    }
}
