//! The vault's users: rows in `users`, their password slots in the keyring, their
//! authenticators (sealed TOTP secrets), and the admin operations on them. Each change is one
//! unit of work with its audit entry.

use domain::{NewPassword, Role, Username};
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::audit::{Event, Outcome};
use crate::crypto::Key;
use crate::keyring::Keyring;
use crate::keys::{ClassKey, DataClass, Keys, MemberKeys};
use crate::seal::Sealed;
use crate::sql::{Db, Inserted};
use crate::totp::{self, Enrolment, Rejected, Secret};
use crate::vault::{rfc3339, slot_id, unix, KeyStatus, OneTimePassword, User, UserKey};
use crate::{args, Result, Tx, Vault, VaultError};

/// What sign-in checks before the vault file's integrity check: read from columns of the first
/// schema version, so it works on a vault that still has migrations to run.
pub(crate) struct Gate {
    pub id: String,
    pub disabled: bool,
    /// The authenticator secret and the last step used, once the user has enrolled.
    pub totp: Option<(Secret, Option<i64>)>,
}

pub(crate) fn sign_in_gate(
    db: &Db<'_>,
    keys: &Keys,
    legacy_root: Option<&Key>,
    username: &str,
) -> Result<Option<Gate>> {
    /// A user row as the first schema has it: id, disabled, enrolled, secret, last step.
    type Row = (String, bool, bool, Option<Sealed>, Option<i64>);
    let row: Option<Row> = db.query_row(
        "reading a user",
        "SELECT id, disabled, totp_confirmed, totp_secret, totp_last_step
         FROM users WHERE username = ?1",
        args![username],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    let Some((id, disabled, enrolled, sealed, last)) = row else {
        return Ok(None);
    };
    let totp = match (enrolled, sealed) {
        (false, _) => None,
        (true, Some(sealed)) => {
            Some((open_totp_secret(db, keys, legacy_root, &id, &sealed)?, last))
        }
        (true, None) => {
            return Err(VaultError::VaultDamaged(
                "an enrolled user has no authenticator secret",
            ))
        }
    };
    Ok(Some(Gate { id, disabled, totp }))
}

/// The authenticator secret, through the user's own key (or the secrets class). A legacy slot
/// opens a secret the upgrade has not converted yet through its format-1 salt.
fn open_totp_secret(
    db: &Db<'_>,
    keys: &Keys,
    legacy_root: Option<&Key>,
    user_id: &str,
    sealed: &Sealed,
) -> Result<Secret> {
    if let Some(root) = legacy_root {
        if let Some(salt) = crate::upgrade::legacy_salt(db, user_id)? {
            let key = crate::RecordKey::legacy(root, user_id, &salt);
            let bytes: Zeroizing<Vec<u8>> = key.open("totp_secret", sealed)?;
            return Ok(Secret::from_bytes(bytes.to_vec()));
        }
    }
    let key = crate::seal::existing_record_key(db, keys, user_id)?.ok_or(
        VaultError::VaultDamaged("an authenticator secret has no record key"),
    )?;
    let bytes: Zeroizing<Vec<u8>> = key.open("totp_secret", sealed)?;
    Ok(Secret::from_bytes(bytes.to_vec()))
}

/// A user's sealed authenticator secret (`None` before enrolment).
pub(crate) fn sealed_totp_secret(db: &Db<'_>, user_id: &str) -> Result<Option<Sealed>> {
    db.query_row(
        "reading an authenticator secret",
        "SELECT totp_secret FROM users WHERE id = ?1",
        args![user_id],
        |r| r.get(0),
    )?
    .ok_or(VaultError::NotFound("user"))
}

impl Vault {
    pub(crate) fn totp_secret(&self, user_id: &str) -> Result<Secret> {
        self.totp_secret_with(user_id, None)
    }

    /// [`Vault::totp_secret`] in a vault opened through a legacy (format-1) slot.
    pub(crate) fn totp_secret_with(
        &self,
        user_id: &str,
        legacy_root: Option<&Key>,
    ) -> Result<Secret> {
        let sealed = sealed_totp_secret(&self.db(), user_id)?
            .ok_or(VaultError::NotFound("authenticator secret"))?;
        open_totp_secret(&self.db(), &self.keys(), legacy_root, user_id, &sealed)
    }

    /// Starts (or restarts) authenticator enrolment with a fresh secret.
    pub fn begin_totp_enrolment(&self, user_id: &str, username: &str) -> Result<Enrolment> {
        let secret = Secret::generate();
        self.write(|tx| tx.store_totp_secret(user_id, &secret))?;
        Ok(totp::enrolment(&secret, username))
    }

    /// Confirms enrolment with a code from the authenticator; from then on sign-in needs codes.
    pub fn confirm_totp(&self, user_id: &str, code: &str, now: OffsetDateTime) -> Result<()> {
        let user = self.user_by_id(user_id)?;
        let secret = self.totp_secret(user_id)?;
        let step = match totp::verify(&secret, code, unix(now), None) {
            Ok(step) => step,
            Err(Rejected::Malformed) => {
                return Err(VaultError::invalid(
                    "authenticator code",
                    "must be 6 digits",
                ))
            }
            Err(_) => {
                return Err(VaultError::invalid(
                    "authenticator code",
                    "does not match; check the device's clock and try the next code",
                ))
            }
        };
        self.write_at(now, |tx| {
            tx.db().execute(
                "confirming an authenticator",
                "UPDATE users SET totp_confirmed = 1, totp_last_step = ?2 WHERE id = ?1",
                args![user_id, step],
            )?;
            tx.audit(&Event {
                actor: &user.username,
                action: "user.totp_enrol",
                target: Some(&user.username),
                outcome: Outcome::Ok,
                detail: None,
            })
        })
    }

    pub fn users(&self) -> Result<Vec<User>> {
        self.select_users(None)
    }

    pub fn user_by_id(&self, id: &str) -> Result<User> {
        self.select_users(Some((UserKey::Id, id)))?
            .pop()
            .ok_or(VaultError::NotFound("user"))
    }

    /// Whether the user exists and is not disabled: one indexed read, for the check every
    /// session call makes.
    pub fn user_is_enabled(&self, id: &str) -> Result<bool> {
        let disabled: Option<bool> = self.db().query_value(
            "reading a user",
            "SELECT disabled FROM users WHERE id = ?1",
            args![id],
        )?;
        Ok(disabled == Some(false))
    }

    pub fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        Ok(self
            .select_users(Some((UserKey::Username, username)))?
            .pop())
    }

    /// One query for the users (all, or the one matching `filter`), and one keyring read for
    /// their lockout state — however many users there are.
    pub(crate) fn select_users(&self, filter: Option<(UserKey, &str)>) -> Result<Vec<User>> {
        // A closed set of columns: nothing from outside is ever formatted into SQL.
        let (condition, value) = match filter {
            None => ("CAST(?1 AS TEXT) IS NULL", None),
            Some((UserKey::Id, v)) => ("id = ?1", Some(v)),
            Some((UserKey::Username, v)) => ("username = ?1", Some(v)),
        };
        let sql = format!(
            "SELECT id, username, role, disabled, must_change_password, totp_confirmed, created_at,
                 last_login_at, created_by
             FROM users WHERE {condition} ORDER BY username"
        );
        let ring = self.keyring.load()?;
        let now = OffsetDateTime::now_utc();
        self.db()
            .query_map("reading users", &sql, args![value], |r| {
                let username: String = r.get(1)?;
                let role = r
                    .get::<String>(2)?
                    .parse::<Role>()
                    .map_err(|_| VaultError::VaultDamaged("a user has an unknown role"))?;
                let slot = slot_id(&username);
                let keys = if !ring.slots.contains_key(&slot) {
                    KeyStatus::None
                } else if ring.is_legacy(&slot) {
                    KeyStatus::Legacy
                } else {
                    KeyStatus::Own
                };
                Ok(User {
                    id: r.get(0)?,
                    locked_until: ring.locked_until(&slot, now).map(rfc3339),
                    keys,
                    username,
                    role,
                    disabled: r.get(3)?,
                    must_change_password: r.get(4)?,
                    totp_enrolled: r.get(5)?,
                    created_at: r.get(6)?,
                    last_login_at: r.get(7)?,
                    created_by: r.get(8)?,
                })
            })
    }

    /// Adds a user with a one-time password they must change at first sign-in.
    pub fn create_user(
        &self,
        actor: &str,
        username: &Username,
        role: Role,
        now: OffsetDateTime,
    ) -> Result<(User, OneTimePassword)> {
        let otp = OneTimePassword::generate();
        let id = self.write_at(now, |tx| {
            let id = tx.insert_user(username, role, true, Some(actor), now)?;
            tx.audit(&Event {
                actor,
                action: "user.create",
                target: Some(username.as_str()),
                outcome: Outcome::Ok,
                detail: Some(&format!("role={role}")),
            })?;
            // Last: the slot is only written once the user row and its entry are sure to commit.
            tx.give_member_keys(username.as_str(), &id, role, otp.expose(), now)?;
            Ok(id)
        })?;
        Ok((self.user_by_id(&id)?, otp))
    }

    /// Reads, changes and atomically writes the keyring under its lock.
    pub(crate) fn update_keyring(
        &self,
        change: impl FnOnce(&mut Keyring) -> Result<()>,
    ) -> Result<()> {
        let lock = self.keyring.lock()?;
        let mut ring = self.keyring.load()?;
        change(&mut ring)?;
        self.keyring.save(&ring, &lock)
    }

    /// Gives `username` a new key pair sealed under `password`, registered (signed) by the
    /// member who opened this vault, with the class keys of `role` sealed to it. Their old key
    /// pair, if any, is replaced: an admin never learns a user's private keys.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn enrol_member(
        &self,
        ring: &mut Keyring,
        member: &MemberKeys,
        username: &str,
        user_id: &str,
        role: Role,
        password: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        let keys = self.keys();
        let me = keys.signer()?;
        let slot = slot_id(username);
        let public = member.public();
        // Every key first, so a member the registrar cannot fully equip is never written.
        let grants = self.keys().grants(DataClass::for_role(role))?;
        if slot == self.slot {
            // New keys registered by the member's own old ones would never verify again.
            return Err(VaultError::Conflict(
                "change your own password instead of resetting it",
            ));
        }
        let choice = ring.binding();
        // Under the desk secret the slot has now (a forged choice keeps it), before it goes.
        let desk = ring.desk_secret_for(&slot, false)?;
        ring.remove_member(&slot);
        ring.seal_password_slot(
            &slot,
            password.as_bytes(),
            &member.to_bytes(),
            self.policy().kdf,
            desk,
        )?;
        ring.register(&slot, public, user_id, role.as_str(), &self.slot, me, now);
        ring.keep_keychain_choice(&choice, &self.slot, me);
        for (class, key) in &grants {
            ring.seal_class_to(*class, key, &slot, &public.wrap);
        }
        ring.retire_legacy_if_done();
        Ok(())
    }

    /// The user's own password: their private keys sealed again under it.
    pub(crate) fn set_own_password(&self, username: &str, password: &str) -> Result<()> {
        let keys = self.keys();
        let me = keys.me.as_ref().ok_or(VaultError::NoKey("a member key"))?;
        self.update_keyring(|ring| {
            ring.set_password_slot(
                &slot_id(username),
                password.as_bytes(),
                &me.to_bytes(),
                self.policy().kdf,
            )
        })
    }

    pub(crate) fn remove_slot(&self, username: &str) -> Result<()> {
        let keys = self.keys();
        self.update_keyring(|ring| {
            let choice = ring.binding();
            ring.remove_member(&slot_id(username));
            if let Some(me) = keys.me.as_ref() {
                ring.keep_keychain_choice(&choice, &self.slot, me);
            }
            Ok(())
        })
    }

    /// The user's own password change: re-wraps the root key, never re-encrypts the database.
    pub fn change_password(
        &self,
        user_id: &str,
        new_password: &NewPassword,
        now: OffsetDateTime,
    ) -> Result<()> {
        let user = self.user_by_id(user_id)?;
        self.write_at(now, |tx| {
            tx.db().execute(
                "changing a password",
                "UPDATE users SET must_change_password = 0, password_changed_at = ?2 WHERE id = ?1",
                args![user_id, rfc3339(now)],
            )?;
            tx.audit(&Event {
                actor: &user.username,
                action: "user.password_change",
                target: Some(&user.username),
                outcome: Outcome::Ok,
                detail: None,
            })?;
            tx.set_own_password(&user.username, new_password.expose())
        })
    }

    /// Disables a user (their key slot is removed, so they cannot unlock at all) or re-enables
    /// one (with a new one-time password). The last enabled admin cannot be disabled.
    pub fn set_disabled(
        &self,
        actor: &str,
        user_id: &str,
        disabled: bool,
        now: OffsetDateTime,
    ) -> Result<Option<OneTimePassword>> {
        let user = self.user_by_id(user_id)?;
        if disabled && user.role == Role::Admin && !user.disabled {
            let admins: i64 = self
                .db()
                .query_value(
                    "counting admins",
                    "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0",
                    &[],
                )?
                .unwrap_or(0);
            if admins <= 1 {
                return Err(VaultError::Conflict("the last admin cannot be disabled"));
            }
        }
        let action = if disabled {
            "user.disable"
        } else {
            "user.enable"
        };
        let otp = self.write_at(now, |tx| {
            // Re-enabling also sets must_change_password (a new one-time password follows).
            tx.db().execute(
                "changing a user",
                "UPDATE users SET disabled = ?2,
                     must_change_password = CASE WHEN ?3 = 1 THEN 1 ELSE must_change_password END
                 WHERE id = ?1",
                args![user_id, disabled, !disabled],
            )?;
            tx.audit(&Event {
                actor,
                action,
                target: Some(&user.username),
                outcome: Outcome::Ok,
                detail: None,
            })?;
            if disabled {
                tx.remove_slot(&user.username)?;
                crate::seal::unseal_own(&tx.db(), &user.id)?;
                // Every class key they held gets a new generation they never see.
                let rotated = tx.rotate_classes(user.role)?;
                let detail = rotated
                    .iter()
                    .map(|(c, g)| format!("{}={g}", c.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ");
                tx.audit(&Event {
                    actor,
                    action: "vault.rotate_keys",
                    target: Some(&user.username),
                    outcome: Outcome::Ok,
                    detail: Some(&format!("after disabling; new generations: {detail}")),
                })?;
                Ok(None)
            } else {
                let otp = OneTimePassword::generate();
                tx.give_member_keys(&user.username, &user.id, user.role, otp.expose(), now)?;
                Ok(Some(otp))
            }
        })?;
        // (A member who disabled themselves holds none of the new keys: their session ends.)
        if disabled && self.slot != slot_id(&user.username) {
            // This session takes the new generations, and the file is re-keyed under a database
            // key only the new metadata key unwraps. Record keys are re-wrapped by
            // `rewrap_record_keys` (batches; the api runs them).
            self.reload_keys()?;
            // A team store has no file key: what the member held is cut by the class keys'
            // new generations alone.
            if !self.is_team() {
                self.rotate_db_key(actor, now)?;
            }
        }
        Ok(otp)
    }

    /// Gives a user a new one-time password (they must change it at next sign-in).
    pub fn reset_password(
        &self,
        actor: &str,
        user_id: &str,
        now: OffsetDateTime,
    ) -> Result<OneTimePassword> {
        let user = self.user_by_id(user_id)?;
        if user.disabled {
            return Err(VaultError::Conflict("enable the user first"));
        }
        let otp = OneTimePassword::generate();
        self.write_at(now, |tx| {
            tx.db().execute(
                "resetting a password",
                "UPDATE users SET must_change_password = 1 WHERE id = ?1",
                args![user_id],
            )?;
            tx.audit(&Event {
                actor,
                action: "user.password_reset",
                target: Some(&user.username),
                outcome: Outcome::Ok,
                detail: None,
            })?;
            tx.give_member_keys(&user.username, &user.id, user.role, otp.expose(), now)
        })?;
        Ok(otp)
    }

    /// Clears a user's authenticator; they enrol a new one at next sign-in.
    pub fn reset_totp(&self, actor: &str, user_id: &str, now: OffsetDateTime) -> Result<()> {
        let user = self.user_by_id(user_id)?;
        self.write_at(now, |tx| {
            tx.db().execute(
                "resetting an authenticator",
                "UPDATE users SET totp_secret = NULL, totp_confirmed = 0, totp_last_step = NULL WHERE id = ?1",
                args![user_id],
            )?;
            tx.audit(&Event {
                actor,
                action: "user.totp_reset",
                target: Some(&user.username),
                outcome: Outcome::Ok,
                detail: None,
            })
        })
    }

    /// Lifts a sign-in lockout early.
    pub fn unlock_user(&self, actor: &str, user_id: &str, now: OffsetDateTime) -> Result<()> {
        let user = self.user_by_id(user_id)?;
        self.write_at(now, |tx| {
            tx.audit(&Event {
                actor,
                action: "user.unlock",
                target: Some(&user.username),
                outcome: Outcome::Ok,
                detail: None,
            })?;
            tx.update_keyring(|ring| {
                let slot = slot_id(&user.username);
                ring.clear_lockout(&slot);
                if self.is_team() {
                    use crate::team::failures::{record, Kind};
                    record(&self.keyring, ring, &slot, Kind::Cleared, now)?;
                }
                Ok(())
            })
        })
    }
}

/// Changes: only inside a unit of work ([`Vault::write`]).
impl Tx<'_> {
    /// Gives every class a member of `role` held (but the index and blocklist classes: their
    /// digests would all change, and they live in the re-keyed file) a new generation, sealed to every remaining
    /// registered member whose role keeps the class and to the recovery member. Earlier
    /// generations are sealed under the new ones until [`Vault::rewrap_record_keys`] is done.
    /// The database key is wrapped under the new metadata key at once (the caller re-keys the
    /// file). Legacy (format-1) slots are retired: the old root key opens every class key they
    /// were given, so their users need an admin's password reset.
    pub(crate) fn rotate_classes(&self, role: Role) -> Result<Vec<(DataClass, u32)>> {
        let keys = self.keys();
        let classes: Vec<DataClass> = DataClass::for_role(role)
            .iter()
            .copied()
            .filter(|c| !matches!(c, DataClass::Index | DataClass::Blocklist))
            .collect();
        let mut rotated = Vec::new();
        self.update_keyring(|ring| {
            let holders: Vec<(String, Role, [u8; crate::crypto::PUBLIC_LEN])> = ring
                .members
                .keys()
                .filter_map(|slot| {
                    let (member, public) = ring.registered(slot)?;
                    Some((slot.clone(), member.role.parse().ok()?, public.wrap))
                })
                .collect();
            for class in &classes {
                let current = keys.require(*class)?.clone();
                let new = ClassKey::random();
                if *class == DataClass::Metadata {
                    let db = ring.unwrap_db_key(keys.db_wrap(), &ring.db_key)?;
                    ring.db_key = ring.wrap_db_key(new.secret(), &db);
                    ring.db_key_next = None;
                }
                let generation = ring.rotate_class(*class, &current, &keys.old_of(*class), &new);
                for (slot, role, public) in &holders {
                    if DataClass::for_role(*role).contains(class) {
                        ring.seal_class_to(*class, &new, slot, public);
                    }
                }
                rotated.push((*class, generation));
            }
            if let Some(legacy) = ring.legacy.take() {
                for slot in legacy.slots {
                    ring.slots.remove(&slot);
                }
            }
            Ok(())
        })?;
        Ok(rotated)
    }

    /// A new key pair for a user (created, re-enabled or reset by an admin): their
    /// authenticator secret is sealed to it first, then the keyring gets it, last, so a unit
    /// that fails leaves their old slot in place.
    pub(crate) fn give_member_keys(
        &self,
        username: &str,
        user_id: &str,
        role: Role,
        password: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        let member = MemberKeys::generate();
        crate::seal::reseal_own(&self.db(), &self.keys(), user_id, &member.public().wrap)?;
        self.update_keyring(|ring| {
            self.enrol_member(ring, &member, username, user_id, role, password, now)
        })
    }

    pub(crate) fn insert_user(
        &self,
        username: &Username,
        role: Role,
        must_change: bool,
        created_by: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<String> {
        let id = Uuid::new_v4().to_string();
        let inserted = self.db().insert(
            "adding a user",
            "INSERT INTO users (id, username, role, must_change_password, created_at,
                 password_changed_at, created_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
            args![
                &id,
                username.as_str(),
                role.as_str(),
                must_change,
                rfc3339(now),
                created_by
            ],
        )?;
        match inserted {
            Inserted::Rows(_) => Ok(id),
            Inserted::Duplicate => Err(VaultError::invalid("username", "is already taken")),
        }
    }
    /// Stores the signed-in member's own authenticator secret: sealed to them and to the
    /// secrets class (admins), under a fresh record key.
    pub(crate) fn store_totp_secret(&self, user_id: &str, secret: &Secret) -> Result<()> {
        let owner = self.keys().me.as_ref().map(|me| me.public().wrap);
        let sealed =
            crate::seal::new_secret_record(&self.db(), &self.keys(), user_id, owner.as_ref())?
                .seal("totp_secret", secret.expose())?;
        self.db().execute(
            "storing an authenticator secret",
            "UPDATE users SET totp_secret = ?2, totp_confirmed = 0, totp_last_step = NULL WHERE id = ?1",
            args![user_id, &sealed],
        )?;
        Ok(())
    }
}
