//! The open vault and the operations that need its keys.

use std::fs;
use std::path::{Path, PathBuf};

use domain::{NewPassword, Role, Username, VaultState};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{self, Event, Outcome};
use crate::crypto::{self, KdfParams, Key};
use crate::db::{self, VAULT_FILE};
use crate::keyring::{Keyring, KeyringFile, KeyringLock, Opened, PendingEvent, RECOVERY_SLOT};
use crate::keys::{ClassKey, DataClass, Keys, MemberKeys};
use crate::recovery::RecoveryKey;
use crate::seal::{self, RecordKey};
use crate::totp::{self, Enrolment, Rejected, Secret};
use crate::unit::{Tx, UnitFlag};
use crate::{args, Result, VaultError};

/// Sign-in and key-derivation policy. `Default` is what the product uses.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failed sign-ins before the account locks (PCI DSS 8.3.4: at most 10).
    pub max_failures: u32,
    /// How long a locked account stays locked (PCI DSS 8.3.4: at least 30 minutes).
    pub lock_for: time::Duration,
    /// argon2id cost for new password slots (never below `KdfParams::MINIMUM`).
    pub kdf: KdfParams,
    /// Every refused sign-in (wrong password, wrong code, unknown or disabled user, locked
    /// account) takes at least this long, so how long a refusal took says nothing about which
    /// check refused it. Above the slowest refusal on a 2-core machine (docs/BENCHMARKS.md).
    pub refusal_floor: std::time::Duration,
    /// Sign-in skips the page-by-page check of the file and hands it out as a job to run on
    /// another thread (`Vault::integrity_job`): the window, so unlock stays fast on a large
    /// vault. Pages are authenticated as they are read either way.
    pub defer_integrity_check: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_failures: 10,
            lock_for: time::Duration::minutes(30),
            kdf: KdfParams::DEFAULT,
            refusal_floor: std::time::Duration::from_millis(600),
            defer_integrity_check: false,
        }
    }
}

/// A user as the admin pages show it. No secret in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct User {
    pub id: String,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub must_change_password: bool,
    pub totp_enrolled: bool,
    pub created_at: String,
    /// Who added this user (`None` for the vault's founding admin and users added before
    /// schema 13).
    pub created_by: Option<String>,
    pub last_login_at: Option<String>,
    /// When the account is locked after failed sign-ins, until when (RFC 3339).
    pub locked_until: Option<String>,
    pub keys: KeyStatus,
}

/// Whose keys a user signs in with (issue 16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    /// A key pair of their own, registered by an admin.
    Own,
    /// Still the shared root key of a vault from before access by keys: they move to a key
    /// pair at their next sign-in, or when an admin resets their password.
    Legacy,
    /// No key slot (disabled, or retired by a key rotation): an admin resets their password.
    None,
}

/// What the user must do before the session is fully usable.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NextStep {
    Ready,
    ChangePassword,
    EnrolTotp { enrolment: Enrolment },
}

/// A one-time password an admin hands to a user; shown once.
#[derive(Clone, Serialize)]
pub struct OneTimePassword(String);

impl OneTimePassword {
    pub(crate) fn generate() -> Self {
        // 16 characters from an alphabet without look-alikes: ~90 bits.
        const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzACDEFGHJKMNPQRSTUVWXYZ23456789";
        let bytes: [u8; 16] = crypto::random_bytes();
        let text = bytes
            .iter()
            .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
            .collect();
        Self(text)
    }

    /// To show once to the admin who created it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for OneTimePassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneTimePassword(••••)")
    }
}

/// The result of creating a vault: the open vault, its first admin, and what is shown once.
pub struct Created {
    pub vault: Vault,
    pub admin: User,
    pub recovery_key: RecoveryKey,
    pub enrolment: Enrolment,
}

/// Where an open vault's tables are.
pub(crate) enum Backend {
    /// The local SQLCipher file (the default).
    Local(Connection),
    /// The team store (issue 17): one connection of this desk's, its statements in units.
    Team(std::cell::RefCell<crate::sql::PgClient>),
}

/// An open (unlocked) vault. Dropping it closes the database and zeroizes its keys.
pub struct Vault {
    pub(crate) backend: Backend,
    /// The class keys the member who opened it holds, and their own keys (replaced when a
    /// rotation gives the classes new generations).
    keys: std::cell::RefCell<Keys>,
    /// That member's keyring slot (`recovery` when opened with the recovery key).
    pub(crate) slot: String,
    pub(crate) vault_id: Uuid,
    pub(crate) keyring: KeyringFile,
    policy: Policy,
    /// Set while a unit of work is open; the connection refuses commits otherwise.
    pub(crate) unit: UnitFlag,
    /// Where the page-by-page check of the file stands (`integrity.rs`).
    pub(crate) integrity: crate::integrity::IntegrityCell,
    /// This desk's signing key, once an admin registered it (`desks.rs`).
    pub(crate) desk: std::cell::RefCell<Option<crate::desks::DeskSigner>>,
}

impl Backend {
    pub(crate) fn db(&self) -> crate::sql::Db<'_> {
        match self {
            Backend::Local(conn) => crate::sql::Db::Sqlite(conn),
            Backend::Team(client) => crate::sql::Db::Postgres(client),
        }
    }
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("vault_id", &self.vault_id)
            .finish_non_exhaustive()
    }
}

/// The columns a user can be looked up by.
#[derive(Clone, Copy)]
pub(crate) enum UserKey {
    Id,
    Username,
}

/// Where the vault stands in `dir`, without opening anything.
pub fn state(dir: &Path) -> VaultState {
    let db = dir.join(VAULT_FILE).exists() || crate::team::placement::is_team(dir);
    let ring = KeyringFile::in_dir(dir).exists();
    match (db, ring) {
        (false, false) => VaultState::NotCreated,
        (true, false) => VaultState::KeyringMissing,
        _ => VaultState::Locked,
    }
}

pub(crate) fn slot_id(username: &str) -> String {
    let digest = crypto::sha256(&[b"boarding-desk/slot/v1", username.as_bytes()]);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("user:{hex}")
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

pub(crate) fn unix(t: OffsetDateTime) -> u64 {
    t.unix_timestamp().max(0) as u64
}

fn remove_vault_files(dir: &Path) {
    for name in [
        VAULT_FILE,
        "vault.db-wal",
        "vault.db-shm",
        crate::team::placement::TEAM_FILE,
    ] {
        let _ = fs::remove_file(dir.join(name));
    }
}

impl Vault {
    /// Creates a new vault in `dir` with its first admin. Fails, leaving nothing behind, if a
    /// vault or keyring already exists or anything goes wrong half-way.
    pub fn create(
        dir: &Path,
        username: &Username,
        password: &NewPassword,
        policy: Policy,
        now: OffsetDateTime,
    ) -> Result<Created> {
        policy.kdf.check()?;
        let keyring_file = KeyringFile::in_dir(dir);
        let lock = keyring_file.lock()?;
        if dir.join(VAULT_FILE).exists() || keyring_file.exists() {
            return Err(VaultError::AlreadyExists);
        }
        let file = dir.join(VAULT_FILE);
        let result = Self::create_locked(
            (username, password),
            policy,
            now,
            &keyring_file,
            &lock,
            |db_key, _| Ok(Backend::Local(db::open(&file, db_key, true)?)),
        );
        if result.is_err() {
            remove_vault_files(dir);
        }
        result
    }

    /// Creates a team: a new vault whose tables and shared keyring are in the team store at
    /// `url` (migrated by its owner, and empty), `dir` its founding desk. Other desks join it
    /// with [`Vault::join_code`] (`team::join::join`).
    pub fn create_on_store(
        dir: &Path,
        url: &crate::team::StoreUrl,
        username: &Username,
        password: &NewPassword,
        policy: Policy,
        now: OffsetDateTime,
    ) -> Result<Created> {
        policy.kdf.check()?;
        let keyring_file = KeyringFile::in_dir(dir);
        let lock = keyring_file.lock()?;
        if dir.join(VAULT_FILE).exists()
            || keyring_file.exists()
            || crate::team::placement::is_team(dir)
        {
            return Err(VaultError::AlreadyExists);
        }
        let result = Self::create_locked(
            (username, password),
            policy,
            now,
            &keyring_file,
            &lock,
            |_, vault_id| {
                let (db, taken) = crate::team::connect::desk(url)?;
                if taken.is_some() {
                    return Err(VaultError::AlreadyExists);
                }
                crate::team::placement::write(dir, url, vault_id)?;
                Ok(Backend::Team(db))
            },
        );
        if result.is_err() {
            remove_vault_files(dir);
        }
        result
    }

    fn create_locked(
        (username, password): (&Username, &NewPassword),
        policy: Policy,
        now: OffsetDateTime,
        keyring_file: &KeyringFile,
        lock: &KeyringLock,
        open: impl FnOnce(&Key, Uuid) -> Result<Backend>,
    ) -> Result<Created> {
        let db_key = Key::random();
        let vault_id = Uuid::new_v4();
        let mut ring = Keyring::new(vault_id, String::new());
        let classes: std::collections::BTreeMap<DataClass, ClassKey> = DataClass::ALL
            .into_iter()
            .map(|c| (c, ClassKey::random()))
            .collect();
        let metadata = classes
            .get(&DataClass::Metadata)
            .cloned()
            .unwrap_or_else(ClassKey::random);
        ring.db_key = ring.wrap_db_key(metadata.secret(), &db_key);
        let slot = slot_id(username.as_str());
        let me = MemberKeys::generate();
        ring.set_password_slot(
            &slot,
            password.expose().as_bytes(),
            &me.to_bytes(),
            policy.kdf,
        )?;
        let recovery_key = RecoveryKey::generate();
        let recovery = MemberKeys::generate();
        ring.set_recovery_slot(recovery_key.key(), &recovery.to_bytes());
        for (class, key) in &classes {
            ring.seal_class_to(*class, key, &slot, &me.public().wrap);
            ring.seal_class_to(*class, key, RECOVERY_SLOT, &recovery.public().wrap);
        }
        let publics = classes.iter().map(|(c, k)| (*c, k.public())).collect();
        let keys = Keys::new(metadata, classes, Some(me.clone())).with_publics(publics);

        let vault = Vault::assemble(
            open(&db_key, vault_id)?,
            keys,
            slot.clone(),
            vault_id,
            keyring_file.clone(),
            policy,
        )?;
        let secret = Secret::generate();
        let (admin_id, head) = vault.write_keeping_head(now, |tx| {
            tx.db().execute(
                "recording the vault id",
                "INSERT INTO meta (key, value) VALUES ('vault_id', ?1)",
                args![vault_id.to_string()],
            )?;
            let admin_id = tx.insert_user(username, Role::Admin, false, None, now)?;
            tx.store_totp_secret(&admin_id, &secret)?;
            tx.audit(&Event {
                actor: username.as_str(),
                action: "vault.create",
                target: None,
                outcome: Outcome::Ok,
                detail: None,
            })?;
            tx.audit(&Event {
                actor: username.as_str(),
                action: "user.create",
                target: Some(username.as_str()),
                outcome: Outcome::Ok,
                detail: Some("role=admin"),
            })?;
            Ok(admin_id)
        })?;
        // The founding admin registers themselves; the recovery member is registered by them.
        ring.register(
            &slot,
            me.public(),
            &admin_id,
            Role::Admin.as_str(),
            &slot,
            &me,
            now,
        );
        ring.register(
            RECOVERY_SLOT,
            recovery.public(),
            RECOVERY_SLOT,
            Role::Admin.as_str(),
            &slot,
            &me,
            now,
        );
        ring.audit_head = head.map(|(h, _)| h);
        keyring_file.save(&ring, lock)?;
        // The founding desk is enrolled for the blocklist at once (its first save made the
        // desk's record of the folder, whose key the copy is sealed under).
        let mut ring = keyring_file.load()?;
        if vault.blocklist_at_sign_in(&mut ring, Role::Admin)?.enrolled {
            keyring_file.save(&ring, lock)?;
        }
        // And its key signs the entries no member writes from now on.
        if let Some(desk) = vault.register_desk(&mut ring, Role::Admin, now, keyring_file, lock)? {
            let ((), head) = vault.write_keeping_head(now, |tx| {
                tx.audit(&crate::desks::registered_event(username.as_str(), &desk))
            })?;
            ring.audit_head = head.map(|(h, _)| h);
            crate::desks::recorded(&mut ring);
            keyring_file.save(&ring, lock)?;
        }
        let admin = vault.user_by_id(&admin_id)?;
        Ok(Created {
            enrolment: totp::enrolment(&secret, username.as_str()),
            vault,
            admin,
            recovery_key,
        })
    }

    /// Signs in: password (unwraps the root key), then the TOTP code once the user has enrolled.
    ///
    /// Every failure is counted per username (existing or not) and `policy.max_failures` of
    /// them lock it for `policy.lock_for`; the counter lives in the keyring, so it survives
    /// restarts. Failures are audited when the vault is next opened.
    ///
    /// The code is checked on the keyed file before its integrity check and its migrations
    /// (the slow part of opening), and every refusal is padded to `policy.refusal_floor`: a
    /// right password with a wrong code takes as long as a wrong password.
    pub fn sign_in(
        dir: &Path,
        username: &str,
        password: &str,
        code: Option<&str>,
        policy: Policy,
        now: OffsetDateTime,
    ) -> Result<(Vault, User, NextStep)> {
        let started = std::time::Instant::now();
        let result = Self::sign_in_unpadded(dir, username, password, code, policy, now);
        if matches!(
            result,
            Err(VaultError::BadCredentials | VaultError::Locked { .. })
        ) {
            if let Some(rest) = policy.refusal_floor.checked_sub(started.elapsed()) {
                std::thread::sleep(rest);
            }
        }
        result
    }

    fn sign_in_unpadded(
        dir: &Path,
        username: &str,
        password: &str,
        code: Option<&str>,
        policy: Policy,
        now: OffsetDateTime,
    ) -> Result<(Vault, User, NextStep)> {
        let keyring_file = KeyringFile::in_dir(dir);
        if !dir.join(VAULT_FILE).exists() && !crate::team::placement::is_team(dir) {
            return Err(if keyring_file.exists() {
                VaultError::VaultDamaged("the vault file is missing")
            } else {
                VaultError::NotCreated
            });
        }
        // Before any password is tried: an attempt this desk cannot record is not made.
        crate::device::ensure_writable()?;
        let lock = keyring_file.lock()?;
        let mut ring = keyring_file.load()?;
        let name = username.trim().to_ascii_lowercase();
        let slot = slot_id(&name);

        let team = keyring_file.is_team();
        // A team desk trusts the founder its join code named, kept in its device record: with
        // no record (no state folder, or the record deleted) it would trust whatever the store
        // says, so it refuses before anything is saved (a save would start a record that does).
        if team && crate::device::anchors(&ring).is_none() {
            return Err(VaultError::VaultDamaged(
                "this team desk has no record of the founder it joined with (its state folder is missing): join the team again",
            ));
        }
        // Before the keyring's lockouts are believed: are they what this desk wrote?
        if let Some(until) = crate::device::check_failures(&mut ring, now, policy.lock_for) {
            keyring_file.save(&ring, &lock)?;
            return Err(VaultError::Locked { until });
        }
        // A registration nobody signed but the member themselves, which this desk never made:
        // added to keyring.json by hand (to pass for another role).
        if ring.self_signed_unanchored(&slot) {
            return Err(VaultError::VaultDamaged(
                "keyring.json holds a self-signed key registration this desk did not make",
            ));
        }
        // On a team desk, the team's rows too: failures on any desk lock the member out on
        // all, and a lifting a registered desk signed (an admin's unlock, a sign-in) after this
        // desk's own lockout of the member lifts that too.
        let shared = if team {
            crate::team::failures::standing(
                &keyring_file,
                &ring,
                &slot,
                now,
                policy.max_failures,
                policy.lock_for,
            )?
        } else {
            crate::team::failures::Standing::default()
        };
        if let (Some(cleared), Some(own)) = (shared.cleared, ring.lockouts.get(&slot)) {
            if cleared >= (own.last_failure.unix_timestamp_nanos() / 1_000_000) as i64 {
                ring.clear_lockout(&slot);
            }
        }
        if let Some(until) = ring.locked_until(&slot, now).max(shared.until) {
            // Counted, like every refused attempt: an earlier keyring put back shows fewer.
            ring.attempts = ring.attempts.saturating_add(1);
            ring.push_pending(PendingEvent {
                at: now,
                action: "auth.sign_in".into(),
                slot,
                outcome: "denied: account locked".into(),
            });
            keyring_file.save(&ring, &lock)?;
            return Err(VaultError::Locked { until });
        }

        let fail = |ring: &mut Keyring, why: &str| -> Result<VaultError> {
            let mut locked = ring.record_failure(&slot, now, policy.max_failures, policy.lock_for);
            if team {
                // The desk's own count (saved below) holds even when the store cannot take the
                // row: a failure is never uncounted because the store is out of reach.
                use crate::team::failures::{self, Kind};
                let shared = failures::record(&keyring_file, ring, &slot, Kind::Failure, now)
                    .and_then(|()| {
                        failures::standing(
                            &keyring_file,
                            ring,
                            &slot,
                            now,
                            policy.max_failures,
                            policy.lock_for,
                        )
                    });
                if let Ok(shared) = shared {
                    locked = locked.max(shared.until);
                }
            }
            ring.push_pending(PendingEvent {
                at: now,
                action: "auth.sign_in".into(),
                slot: slot.clone(),
                outcome: format!("failed: {why}"),
            });
            if locked.is_some() {
                ring.push_pending(PendingEvent {
                    at: now,
                    action: "auth.lockout".into(),
                    slot: slot.clone(),
                    outcome: "ok".into(),
                });
            }
            keyring_file.save(ring, &lock)?;
            Ok(match locked {
                Some(until) => VaultError::Locked { until },
                None => VaultError::BadCredentials,
            })
        };

        let Some(opened) = ring.open_password_slot(&slot, password.as_bytes())? else {
            return Err(fail(&mut ring, "password")?);
        };
        let legacy_root = match &opened {
            Opened::Legacy(root) => Some(root.clone()),
            Opened::Member(_) => None,
        };
        let keys = ring.keys(&slot, opened)?;
        let conn = Self::keyed_backend(dir, &keyring_file, &mut ring, keys.db_wrap(), &lock)?;
        let Some(gate) =
            crate::users::sign_in_gate(&conn.db(), &keys, legacy_root.as_ref(), &name)?
        else {
            return Err(fail(&mut ring, "no such user")?);
        };
        if gate.disabled {
            return Err(fail(&mut ring, "disabled")?);
        }
        let mut totp_step = None;
        if let Some((secret, last)) = &gate.totp {
            match totp::verify(secret, code.unwrap_or(""), unix(now), *last) {
                Ok(step) => totp_step = Some(step),
                Err(Rejected::Replayed) => {
                    return Err(fail(&mut ring, "authenticator code replayed")?)
                }
                Err(_) => return Err(fail(&mut ring, "authenticator code")?),
            }
        }
        let mut vault = Self::opened(conn, keys, slot.clone(), &ring, &keyring_file, policy)?;
        let user = vault.user_by_id(&gate.id)?;
        match &legacy_root {
            // The first sign-in since the upgrade: this user gets their key pair.
            Some(root) => crate::upgrade::move_member(
                &mut vault, &mut ring, &lock, root, password, &user, now,
            )?,
            // The role the code acts on must be the one an admin signed for this member.
            None => {
                if !ring
                    .registered(&slot)
                    .is_some_and(|(m, _)| m.user_id == user.id && m.role == user.role.as_str())
                {
                    return Err(VaultError::VaultDamaged(
                        "this user's role or id does not match their signed registration",
                    ));
                }
            }
        }

        // A folder this desk keeps no record of yet (moved or restored here): the record is made
        // now, so that an admin's sign-in enrols and registers the desk at once.
        if ring.desk_record.is_none() {
            keyring_file.save(&ring, &lock)?;
            ring = keyring_file.load()?;
        }
        let blocklist = vault.blocklist_at_sign_in(&mut ring, user.role)?;
        let desk = vault.register_desk(&mut ring, user.role, now, &keyring_file, &lock)?;
        let keychain = crate::keychain::at_sign_in(&vault, &mut ring, &slot, password)?;
        ring.clear_lockout(&slot);
        if team {
            crate::team::failures::record(
                &keyring_file,
                &ring,
                &slot,
                crate::team::failures::Kind::Cleared,
                now,
            )?;
        }
        let pending = std::mem::take(&mut ring.pending_audit);
        let ((), head) = vault.write_keeping_head(now, |tx| {
            vault.flush_pending(tx, pending)?;
            let found = [
                (
                    blocklist.created,
                    "blocklist.key_created",
                    Outcome::Ok,
                    "a blocklist key of its own, sealed to every admin",
                ),
                (
                    blocklist.enrolled,
                    "blocklist.desk_enrolled",
                    Outcome::Ok,
                    "this desk matches applications against the blocklist",
                ),
                (
                    blocklist.missing,
                    "blocklist.key_missing",
                    Outcome::Failed,
                    "keyring.json holds no blocklist key while the vault holds entries under one: it was edited; restore keyring.json from a backup",
                ),
            ]
            .into_iter()
            .filter(|(done, ..)| *done)
            .map(|(_, action, outcome, detail)| (action, outcome, detail))
            .chain(keychain.entry());
            for (action, outcome, detail) in found {
                tx.audit(&Event {
                    actor: &user.username,
                    action,
                    target: None,
                    outcome,
                    detail: Some(detail),
                })?;
            }
            if let Some(desk) = &desk {
                tx.audit(&crate::desks::registered_event(&user.username, desk))?;
            }
            tx.db().execute(
                "recording the sign-in",
                "UPDATE users SET last_login_at = ?2, totp_last_step = COALESCE(?3, totp_last_step) WHERE id = ?1",
                args![&user.id, rfc3339(now), totp_step],
            )?;
            tx.audit(&Event {
                actor: &user.username,
                action: "auth.sign_in",
                target: None,
                outcome: Outcome::Ok,
                detail: None,
            })
        })?;
        ring.audit_head = head.map(|(h, _)| h);
        if desk.is_some() {
            crate::desks::recorded(&mut ring);
        }
        keyring_file.save(&ring, &lock)?;

        let next = if user.must_change_password {
            NextStep::ChangePassword
        } else if !user.totp_enrolled {
            NextStep::EnrolTotp {
                enrolment: vault.begin_totp_enrolment(&user.id, &user.username)?,
            }
        } else {
            NextStep::Ready
        };
        let user = vault.user_by_id(&user.id)?;
        // Rebuilt from the erasure records if an erasure could not write it (best effort:
        // the vault is open either way).
        let _ = vault.sync_erasure_ledger();
        Ok((vault, user, next))
    }

    /// Opens the vault with the recovery key and gives `username` a new password, clearing
    /// their authenticator (they enrol again at next sign-in) and any lockout.
    ///
    /// A disabled user stays disabled: recovery is refused for them (only an admin enables a
    /// user). A wrong recovery key is audited, like a failed sign-in, when the vault next opens.
    pub fn recover(
        dir: &Path,
        recovery_key: &RecoveryKey,
        username: &Username,
        new_password: &NewPassword,
        policy: Policy,
        now: OffsetDateTime,
    ) -> Result<()> {
        let keyring_file = KeyringFile::in_dir(dir);
        crate::device::ensure_writable()?;
        let lock = keyring_file.lock()?;
        let mut ring = keyring_file.load()?;
        // As at sign-in: failure records edited outside the app lock the vault, and are not
        // written as found.
        if let Some(until) = crate::device::check_failures(&mut ring, now, policy.lock_for) {
            keyring_file.save(&ring, &lock)?;
            return Err(VaultError::Locked { until });
        }
        let Some(opened) = ring.open_recovery_slot(recovery_key.key())? else {
            ring.attempts = ring.attempts.saturating_add(1);
            ring.push_pending(PendingEvent {
                at: now,
                action: "user.recover".into(),
                slot: slot_id(username.as_str()),
                outcome: "failed: wrong recovery key".into(),
            });
            keyring_file.save(&ring, &lock)?;
            return Err(VaultError::BadCredentials);
        };
        let legacy_root = match &opened {
            Opened::Legacy(root) => Some(root.clone()),
            Opened::Member(_) => None,
        };
        let keys = ring.keys(RECOVERY_SLOT, opened)?;
        let mut vault = Self::open_with_keys(
            dir,
            &keyring_file,
            &mut ring,
            keys,
            RECOVERY_SLOT.to_string(),
            policy,
            &lock,
        )?;
        if let Some(root) = &legacy_root {
            crate::upgrade::move_recovery(&mut vault, &mut ring, &lock, root, recovery_key, now)?;
        }
        let user = vault
            .user_by_name(username.as_str())?
            .ok_or(VaultError::NotFound("user"))?;
        if user.disabled {
            let pending = std::mem::take(&mut ring.pending_audit);
            let ((), head) = vault.write_keeping_head(now, |tx| {
                vault.flush_pending(tx, pending)?;
                tx.audit(&Event {
                    actor: "recovery-key",
                    action: "user.recover",
                    target: Some(&user.username),
                    outcome: Outcome::Denied,
                    detail: Some("the account is disabled"),
                })
            })?;
            ring.audit_head = head.map(|(h, _)| h);
            keyring_file.save(&ring, &lock)?;
            return Err(VaultError::Conflict(
                "this account is disabled; only an admin can enable it",
            ));
        }
        let slot = slot_id(username.as_str());
        vault.enrol_member(
            &mut ring,
            &MemberKeys::generate(),
            username.as_str(),
            &user.id,
            user.role,
            new_password.expose(),
            now,
        )?;
        ring.clear_lockout(&slot);
        if keyring_file.is_team() {
            use crate::team::failures::{record, Kind};
            record(&keyring_file, &ring, &slot, Kind::Cleared, now)?;
        }
        let pending = std::mem::take(&mut ring.pending_audit);
        let ((), head) = vault.write_keeping_head(now, |tx| {
            tx.db().execute(
                "recovering the account",
                "UPDATE users SET must_change_password = 0, totp_secret = NULL, totp_confirmed = 0,
                 totp_last_step = NULL, password_changed_at = ?2 WHERE id = ?1",
                args![&user.id, rfc3339(now)],
            )?;
            // The old authenticator's key is destroyed with it.
            tx.shred_record(&user.id)?;
            vault.flush_pending(tx, pending)?;
            tx.audit(&Event {
                actor: "recovery-key",
                action: "user.recover",
                target: Some(&user.username),
                outcome: Outcome::Ok,
                detail: None,
            })
        })?;
        ring.audit_head = head.map(|(h, _)| h);
        keyring_file.save(&ring, &lock)
    }

    /// Replaces the recovery key: the old one opens nothing from now on (backups taken before
    /// keep the slot they were taken with). The new key is shown once to the admin.
    pub fn rotate_recovery_key(&self, actor: &str, now: OffsetDateTime) -> Result<RecoveryKey> {
        self.rotate_recovery_key_noting(actor, None, now)
    }

    /// [`Vault::rotate_recovery_key`] with a detail for its audit entry (how it was split).
    pub fn rotate_recovery_key_noting(
        &self,
        actor: &str,
        detail: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<RecoveryKey> {
        let key = RecoveryKey::generate();
        let lock = self.keyring.lock()?;
        let before = self.keyring.load()?;
        let mut ring = before.clone();
        let keys = self.keys();
        let me = keys.signer()?;
        let recovery = MemberKeys::generate();
        let choice = ring.binding();
        ring.set_recovery_slot(key.key(), &recovery.to_bytes());
        // The old recovery member's wraps go first: one left for a class not given again would
        // not open with the new recovery key.
        ring.unseal_classes_from(RECOVERY_SLOT, &[]);
        for (class, key) in self.keys().grants(&DataClass::ALL)? {
            ring.seal_class_to(class, &key, RECOVERY_SLOT, &recovery.public().wrap);
        }
        ring.register(
            RECOVERY_SLOT,
            recovery.public(),
            RECOVERY_SLOT,
            Role::Admin.as_str(),
            &self.slot,
            me,
            now,
        );
        ring.retire_legacy_if_done();
        ring.keep_keychain_choice(&choice, &self.slot, me);
        drop(keys);
        self.save_keyring_audited(
            &mut ring,
            &before,
            &lock,
            &Event {
                actor,
                action: "vault.rotate_recovery_key",
                target: None,
                outcome: Outcome::Ok,
                detail,
            },
            now,
        )?;
        Ok(key)
    }

    /// Saves a changed keyring, then its audit entry; if the entry cannot be written `before`
    /// is put back, so the log and the keyring never disagree about which key works.
    pub(crate) fn save_keyring_audited(
        &self,
        ring: &mut Keyring,
        before: &Keyring,
        lock: &KeyringLock,
        event: &Event<'_>,
        now: OffsetDateTime,
    ) -> Result<()> {
        self.keyring.save(ring, lock)?;
        // As saved (with what the save found in the file it replaced), for the second save.
        *ring = self.keyring.load()?;
        let ((), head) = match self.write_keeping_head(now, |tx| tx.audit(event)) {
            Ok(done) => done,
            Err(e) => {
                let _ = self.keyring.save(before, lock);
                return Err(e);
            }
        };
        ring.audit_head = head.map(|(h, _)| h);
        // A head one entry behind is what a crash here leaves too; `audit verify` accepts it.
        let _ = self.keyring.save(ring, lock);
        Ok(())
    }

    pub(crate) fn open_with_keys(
        dir: &Path,
        keyring_file: &KeyringFile,
        ring: &mut Keyring,
        keys: Keys,
        slot: String,
        policy: Policy,
        lock: &KeyringLock,
    ) -> Result<Vault> {
        let conn = Self::keyed_backend(dir, keyring_file, ring, keys.db_wrap(), lock)?;
        Self::opened(conn, keys, slot, ring, keyring_file, policy)
    }

    /// The vault file keyed with the database key the metadata key `root` unwraps, its first
    /// page read and its vault id checked against the keyring's; no integrity check or
    /// migration yet.
    ///
    /// On a team desk: the store `team.json` names, connected as the desks' role (checked
    /// narrow), holding the vault this keyring is of.
    fn keyed_backend(
        dir: &Path,
        keyring_file: &KeyringFile,
        ring: &mut Keyring,
        root: &Key,
        lock: &KeyringLock,
    ) -> Result<Backend> {
        if crate::team::placement::is_team(dir) {
            let (url, vault_id) = crate::team::placement::read(dir)?;
            if vault_id != ring.vault_id {
                return Err(VaultError::VaultDamaged(
                    "team.json names another vault than the keyring's",
                ));
            }
            let (db, stored) = crate::team::connect::desk(&url)?;
            let backend = Backend::Team(db);
            if stored.as_deref() != Some(ring.vault_id.to_string().as_str()) {
                return Err(VaultError::VaultDamaged(
                    "the team store holds another vault than the keyring's",
                ));
            }
            return Ok(backend);
        }
        Self::keyed_connection(dir, keyring_file, ring, root, lock).map(Backend::Local)
    }

    fn keyed_connection(
        dir: &Path,
        keyring_file: &KeyringFile,
        ring: &mut Keyring,
        root: &Key,
        lock: &KeyringLock,
    ) -> Result<Connection> {
        let path = dir.join(VAULT_FILE);
        let conn = match db::open_keyed(&path, &ring.unwrap_db_key(root, &ring.db_key)?, false) {
            Ok(conn) => conn,
            // A rotation was interrupted after `PRAGMA rekey`: finish it.
            Err(VaultError::VaultDamaged(_)) if ring.db_key_next.is_some() => {
                let next = ring.db_key_next.clone().unwrap_or_default();
                let conn = db::open_keyed(&path, &ring.unwrap_db_key(root, &next)?, false)?;
                ring.db_key = next;
                ring.db_key_next = None;
                keyring_file.save(ring, lock)?;
                conn
            }
            Err(e) => return Err(e),
        };
        let stored: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'vault_id'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(VaultError::storage("reading the vault id"))?;
        if stored.as_deref() != Some(ring.vault_id.to_string().as_str()) {
            return Err(VaultError::VaultDamaged(
                "the vault file belongs to another keyring",
            ));
        }
        Ok(conn)
    }

    /// A keyed connection checked page by page, migrated, and made the open vault.
    fn opened(
        backend: Backend,
        keys: Keys,
        slot: String,
        ring: &Keyring,
        keyring_file: &KeyringFile,
        policy: Policy,
    ) -> Result<Vault> {
        // The team store's schema is its owner's (`desk team migrate`), checked on connect.
        let backend = match backend {
            Backend::Local(conn) => {
                Backend::Local(db::finish_open(conn, !policy.defer_integrity_check)?)
            }
            team => team,
        };
        let vault = Vault::assemble(
            backend,
            keys,
            slot,
            ring.vault_id,
            keyring_file.clone(),
            policy,
        )?;
        if policy.defer_integrity_check {
            vault.integrity.set(crate::integrity::Integrity::Unchecked);
        }
        vault.desk.replace(crate::desks::signer(ring));
        Ok(vault)
    }

    /// The open vault around a keyed connection, with the guard that refuses commits made
    /// outside a unit of work.
    fn assemble(
        backend: Backend,
        keys: Keys,
        slot: String,
        vault_id: Uuid,
        keyring: KeyringFile,
        policy: Policy,
    ) -> Result<Vault> {
        let unit = UnitFlag::default();
        if let Backend::Local(conn) = &backend {
            crate::unit::guard_commits(conn, &unit)?;
        }
        Ok(Vault {
            backend,
            keys: std::cell::RefCell::new(keys),
            slot,
            vault_id,
            keyring,
            policy,
            unit,
            integrity: std::cell::Cell::new(crate::integrity::Integrity::Checked),
            desk: std::cell::RefCell::new(None),
        })
    }

    /// At an admin's sign-in: registers this desk's signing key when it is not yet, saving the
    /// keyring at once (before any entry is signed with it), and signs with it from now on.
    /// Returns the desk's name when a `desk.registered` entry is due (the caller writes it,
    /// then marks it recorded: `desks::recorded`).
    fn register_desk(
        &self,
        ring: &mut Keyring,
        role: Role,
        now: OffsetDateTime,
        keyring_file: &KeyringFile,
        lock: &KeyringLock,
    ) -> Result<Option<String>> {
        let registered = match (role, self.keys().me.as_ref()) {
            (Role::Admin, Some(me)) => crate::desks::register(ring, &self.slot, me, now),
            _ => None,
        };
        if registered.is_some() {
            keyring_file.save(ring, lock)?;
        }
        self.desk.replace(crate::desks::signer(ring));
        Ok(match role {
            Role::Admin => registered.or_else(|| crate::desks::unrecorded(ring)),
            _ => None,
        })
    }

    /// Writes the audit events that happened while the vault was locked.
    fn flush_pending(&self, tx: &Tx<'_>, pending: Vec<PendingEvent>) -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let names = self.slot_names()?;
        for ev in pending {
            let (outcome, detail) = match ev.outcome.split_once(": ") {
                Some((o, d)) => (o.to_string(), Some(d.to_string())),
                None => (ev.outcome.clone(), None),
            };
            let outcome = match outcome.as_str() {
                "ok" => Outcome::Ok,
                "denied" => Outcome::Denied,
                _ => Outcome::Failed,
            };
            let known = names
                .iter()
                .find(|(slot, _)| *slot == ev.slot)
                .map(|(_, n)| n.as_str());
            let target = match known {
                Some(name) => name.to_string(),
                None if ev.slot == crate::keyring::EVERY_SLOT => "every user".to_string(),
                None => "unknown user".to_string(),
            };
            tx.audit_at(
                &Event {
                    actor: "anonymous",
                    action: &ev.action,
                    target: Some(&target),
                    outcome,
                    detail: detail.as_deref(),
                },
                ev.at,
            )?;
        }
        Ok(())
    }

    /// The name the signed-in member acts under: their username, `recovery-key`.
    pub(crate) fn member_name(&self) -> Result<String> {
        if self.slot == RECOVERY_SLOT {
            return Ok("recovery-key".to_string());
        }
        self.slot_names()?
            .into_iter()
            .find(|(slot, _)| *slot == self.slot)
            .map(|(_, name)| name)
            .ok_or(VaultError::NotFound("the signed-in user"))
    }

    fn slot_names(&self) -> Result<Vec<(String, String)>> {
        let names =
            self.db()
                .query_map("listing users", "SELECT username FROM users", &[], |r| {
                    r.get::<String>(0)
                })?;
        Ok(names.into_iter().map(|n| (slot_id(&n), n)).collect())
    }

    pub(crate) fn head_key(&self) -> Key {
        crypto::derive(
            self.keys().metadata(),
            b"audit",
            b"boarding-desk/audit-head/v1",
        )
    }

    /// The keys this vault was opened with.
    pub(crate) fn keys(&self) -> std::cell::Ref<'_, Keys> {
        self.keys.borrow()
    }

    pub(crate) fn keys_mut(&self) -> std::cell::RefMut<'_, Keys> {
        self.keys.borrow_mut()
    }

    pub(crate) fn set_keys(&self, keys: Keys) {
        *self.keys.borrow_mut() = keys;
    }

    /// The open database, for the vault's repository modules.
    /// The local file's connection, for what only a local vault does (its backups, re-keying,
    /// the page-by-page check, the format-1 upgrade); refused on a team store.
    pub(crate) fn local(&self) -> Result<&Connection> {
        match &self.backend {
            Backend::Local(conn) => Ok(conn),
            Backend::Team(_) => Err(VaultError::Conflict(
                "a team store does not do this: it is the database server's (docs/TEAM.md)",
            )),
        }
    }

    /// The connection as the portable SQL layer runs it (`sql.rs`).
    pub(crate) fn db(&self) -> crate::sql::Db<'_> {
        self.backend.db()
    }

    /// Since when the team store has been unreachable, as this desk's connection found it
    /// (`None`: it answers, or this is a local vault).
    pub fn store_down_since(&self) -> Option<OffsetDateTime> {
        match &self.backend {
            Backend::Team(client) => client.borrow().down_since(),
            Backend::Local(_) => None,
        }
    }

    /// Whether this vault's tables are in a team store.
    pub fn is_team(&self) -> bool {
        matches!(self.backend, Backend::Team(_))
    }

    pub fn vault_id(&self) -> Uuid {
        self.vault_id
    }

    // ---- audit ------------------------------------------------------------------------------

    /// Appends an audit entry and moves the keyring's head to it.
    /// An entry on its own, as one unit of work (a denied attempt, a sign-out…).
    pub fn audit(&self, event: &Event<'_>, now: OffsetDateTime) -> Result<()> {
        self.write_at(now, |tx| tx.audit(event))
    }

    /// Checks the audit chain's links, every entry's signature (against the keys the keyring
    /// registered for its signer, who must be its actor when the actor is a user) and its head;
    /// the report names the first bad entry.
    pub fn verify_audit(&self) -> Result<audit::Report> {
        self.verify_audit_with(&[])
    }

    pub fn audit_entries(&self, limit: u32, before: Option<i64>) -> Result<Vec<audit::Entry>> {
        self.name_signers(audit::list(&self.db(), limit, before)?)
    }

    /// Audit entries with `from <= at < to` (RFC 3339 UTC), oldest first.
    pub fn audit_between(&self, from: &str, to: &str) -> Result<Vec<audit::Entry>> {
        self.name_signers(audit::between(&self.db(), from, to)?)
    }

    /// Audit entries that name `target`, oldest first.
    pub fn audit_for(&self, target: &str) -> Result<Vec<audit::Entry>> {
        self.name_signers(audit::for_target(&self.db(), target)?)
    }

    /// Names each entry's signer as a reader knows them: a user's name, `recovery key`, a
    /// desk's name (`desks.rs`).
    fn name_signers(&self, mut entries: Vec<audit::Entry>) -> Result<Vec<audit::Entry>> {
        let names: std::collections::HashMap<String, String> =
            self.slot_names()?.into_iter().collect();
        for entry in &mut entries {
            entry.signed_by = entry.signed_by.take().map(|slot| {
                if let Some(desk) = slot.strip_prefix(crate::desks::PREFIX) {
                    crate::desks::name(desk)
                } else if slot == RECOVERY_SLOT {
                    "recovery key".to_string()
                } else {
                    names
                        .get(&slot)
                        .cloned()
                        .unwrap_or_else(|| "a key of no user".to_string())
                }
            });
        }
        Ok(entries)
    }

    // ---- sealing ----------------------------------------------------------------------------

    pub fn existing_record_key(&self, record_id: &str) -> Result<Option<RecordKey>> {
        seal::existing_record_key(&self.db(), &self.keys(), record_id)
    }

    /// Refused for a member without the index class (an auditor): a digest of an identifier
    /// is as good as the identifier to whoever can compute digests.
    pub fn blind_index(&self, kind: &str, normalised: &str) -> Result<[u8; 32]> {
        seal::blind_index(&self.keys(), kind, normalised)
    }

    /// Seals new applications away from the connection (it can be sent to another thread).
    pub fn sealer(&self) -> crate::applications::Sealer {
        crate::applications::Sealer::new(self.keys().clone())
    }

    /// Whether the signed-in member holds the key of `class`.
    pub fn holds(&self, class: DataClass) -> bool {
        self.keys().holds(class)
    }

    /// The keys again from the keyring, for this vault's member (after a rotation).
    pub fn reload_keys(&self) -> Result<()> {
        let me = self
            .keys()
            .me
            .clone()
            .ok_or(VaultError::NoKey("a member key"))?;
        let ring = self.keyring.load()?;
        let keys = ring.keys(&self.slot, Opened::Member(me))?;
        self.set_keys(keys);
        Ok(())
    }

    /// Whether a rotation's re-wrap is under way (earlier class generations still held): a
    /// look at the keys in memory, no query.
    pub fn rewrap_due(&self) -> bool {
        self.keys().rewrap_due()
    }

    /// Record keys still wrapped by an earlier generation of their class.
    pub fn rewrap_pending(&self) -> Result<u64> {
        // A batch of none only counts: a read, no unit of work.
        Ok(seal::rewrap_batch(&self.db(), &self.keys(), 0)?.1)
    }

    /// Re-wraps up to `batch` record keys under their class's current generation, as one unit
    /// of work; once none is left, the earlier generations are forgotten (audited
    /// `vault.rewrap_done`). Returns how many are left.
    pub fn rewrap_record_keys(&self, batch: u32, actor: &str, now: OffsetDateTime) -> Result<u64> {
        let (_, left) = self.write_at(now, |tx| seal::rewrap_batch(&tx.db(), &tx.keys(), batch))?;
        if left == 0 {
            let ring = self.keyring.load()?;
            let has_previous = DataClass::ALL.iter().any(|c| {
                ring.classes.get(c.as_str()).is_some_and(|e| {
                    e.previous
                        .keys()
                        .any(|g| *c != DataClass::Metadata || *g != 1)
                })
            });
            if !has_previous {
                // Another desk or process finished it: the keys in memory catch up.
                self.reload_keys()?;
            }
            if has_previous {
                self.write_at(now, |tx| {
                    tx.update_keyring(|ring| {
                        for class in DataClass::ALL {
                            ring.forget_previous(class);
                        }
                        Ok(())
                    })?;
                    tx.audit(&Event {
                        actor,
                        action: "vault.rewrap_done",
                        target: None,
                        outcome: Outcome::Ok,
                        detail: Some("every record key is wrapped by its class's current key"),
                    })
                })?;
                self.reload_keys()?;
            }
        }
        Ok(left)
    }

    /// Re-keys the database file with a new random key (`PRAGMA rekey`). Safe against a crash
    /// at any point: the new key is in the keyring before the file changes.
    pub fn rotate_db_key(&self, actor: &str, now: OffsetDateTime) -> Result<()> {
        // Refused on a team store before anything is written (it has no file key).
        self.local()?;
        let new_key = Key::random();
        {
            let lock = self.keyring.lock()?;
            let mut ring = self.keyring.load()?;
            ring.db_key_next = Some(ring.wrap_db_key(self.keys().db_wrap(), &new_key));
            self.keyring.save(&ring, &lock)?;
            // As saved (with what the save found in the file it replaced), for the second save.
            let mut ring = self.keyring.load()?;
            let conn = self.local()?;
            conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
                .map_err(VaultError::storage("checkpointing before re-keying"))?;
            self.unguarded(|| db::rekey(conn, &new_key))?;
            // In WAL mode the re-keyed pages land in the WAL; until they are checkpointed the
            // file itself still holds pages under the old key: readable with it, and failing
            // the next desk's page-by-page check under the new one. So at once, into the file,
            // waiting a little for a reader that holds the WAL.
            for _ in 0..40 {
                let busy: i64 = conn
                    .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
                    .map_err(VaultError::storage("checkpointing after re-keying"))?;
                if busy == 0 {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            // A check of the file under the old key says nothing now.
            if let crate::integrity::Integrity::Checking(_) = self.integrity.get() {
                self.integrity.set(crate::integrity::Integrity::Unchecked);
            }
            ring.db_key = ring.db_key_next.take().unwrap_or_default();
            self.keyring.save(&ring, &lock)?;
        }
        self.audit(
            &Event {
                actor,
                action: "vault.rotate_key",
                target: None,
                outcome: Outcome::Ok,
                detail: None,
            },
            now,
        )
    }

    /// Whether `password` is the user's current password (for a voluntary change).
    pub fn check_password(&self, username: &str, password: &str) -> Result<bool> {
        let ring = self.keyring.load()?;
        Ok(ring
            .open_password_slot(&slot_id(username), password.as_bytes())?
            .is_some())
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Paths of the files that make up this vault (for tests and backups).
    pub fn files(dir: &Path) -> Vec<PathBuf> {
        [
            "vault.db",
            "vault.db-wal",
            "vault.db-shm",
            crate::keyring::KEYRING_FILE,
        ]
        .iter()
        .map(|f| dir.join(f))
        .collect()
    }
}

/// Changes: only inside a unit of work ([`Vault::write`]).
impl Tx<'_> {
    pub fn record_key(&self, record_id: &str) -> Result<RecordKey> {
        seal::record_key(&self.db(), &self.keys(), record_id)
    }

    pub fn shred_record(&self, record_id: &str) -> Result<bool> {
        seal::shred(&self.db(), record_id)
    }
}
