//! `keyring.json`: everything that must be readable before the database is open.
//!
//! Format 2 (issue 16) holds, per member (each user, and the recovery key), their private keys
//! sealed under an argon2id key of their password (HKDF of the recovery key for the recovery
//! member), their public keys with an admin's signed registration, and each data-class key
//! sealed to the public key of every member whose role may read the class. The database key is
//! wrapped under the metadata class key. Besides keys: sign-in lockouts, audit events that
//! happened while the vault was locked (failed sign-ins), and the audit chain's head (with a MAC,
//! so a truncated audit table is detected).
//!
//! Format 1 (before issue 16) wrapped one root key for everyone. A format-1 keyring is upgraded
//! in place at its first sign-in; slots nobody has used since stay "legacy" (they still wrap the
//! root key, and the class keys are wrapped under it for them) until their user signs in or an
//! admin resets them. Writes are atomic (temp file, fsync, rename) and serialised by an exclusive
//! lock on `keyring.lock`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::crypto::{self, KdfParams, Key};
use crate::keys::{ClassKey, DataClass, Keys, MemberKeys, MemberPublic};
use crate::{Result, VaultError};

/// The keyring this version writes; it reads [`LEGACY_FORMAT`] too, and upgrades it.
pub const FORMAT: u32 = 2;
pub const LEGACY_FORMAT: u32 = 1;
pub const KEYRING_FILE: &str = "keyring.json";
pub(crate) const LOCK_FILE: &str = "keyring.lock";
/// At most this many lockout records are kept (they are pruned when they expire).
const MAX_LOCKOUTS: usize = 10_000;
/// At most this many audit events wait in the keyring for the next unlock.
const MAX_PENDING: usize = 1_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Keyring {
    pub format: u32,
    pub vault_id: Uuid,
    /// Slot id (`user:<hash>` or `recovery`) → the member's private keys sealed for it (the
    /// root key, in a legacy slot).
    pub slots: BTreeMap<String, Slot>,
    /// Slot id → the member's public keys and their signed registration.
    #[serde(default)]
    pub members: BTreeMap<String, Member>,
    /// Class name → its public key and the class key sealed to each member that holds it.
    #[serde(default)]
    pub classes: BTreeMap<String, ClassEntry>,
    /// Registrations of members since removed or given new keys: their signatures on audit
    /// entries still verify.
    #[serde(default)]
    pub retired: Vec<Retired>,
    /// What is left of format 1 until every legacy slot has been moved to a key pair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy: Option<Legacy>,
    /// The SQLCipher key, wrapped under the metadata class key.
    pub db_key: String,
    /// A new database key written before `PRAGMA rekey`, promoted after; lets an interrupted
    /// rotation recover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_key_next: Option<String>,
    #[serde(default)]
    pub lockouts: BTreeMap<String, Lockout>,
    #[serde(default)]
    pub pending_audit: Vec<PendingEvent>,
    /// Failed sign-ins ever, on any slot: only ever grows (a desk remembers the highest it saw,
    /// see `device.rs`).
    #[serde(default)]
    pub attempts: u64,
    /// This desk's MAC over the lockouts, the pending failures and `attempts` (`device.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures_mac: Option<String>,
    /// Which of the desk's records belongs to this data folder (`device.rs`; random hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desk_record: Option<String>,
    /// Desk record id → the blocklist key sealed under that desk's secret and the index key,
    /// signed by the admin who enrolled it (`blocklist.rs`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub blocklist_desks: BTreeMap<String, DeskCopy>,
    /// Desk record id → that desk's signing keys (one, unless its record was replaced),
    /// each registered by an admin's signature: what signs the entries no member writes
    /// (failed sign-ins, system jobs) on it (`desks.rs`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub desk_keys: BTreeMap<String, Vec<DeskKey>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_head: Option<AuditHead>,
    /// An admin's signed choice to bind sign-ins to desks' OS keychains (`keychain.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keychain: Option<KeychainChoice>,
    /// On a team desk: which version of the store's shared keyring this was read from.
    #[serde(skip)]
    pub(crate) stored: Option<Stored>,
}

/// The version of the team store's shared keyring a keyring was read from, and a digest of
/// its shared part as read: a save that changed nothing shared writes nothing to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stored {
    version: i64,
    digest: [u8; 32],
}

/// An admin's choice about the keychain binding, signed (`keychain.rs`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeychainChoice {
    /// Bound (`true`) or not (`false`, after it was turned off).
    pub on: bool,
    /// The id of the desk secret in the keychain (random hex).
    pub secret: String,
    pub signer: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The admin's Ed25519 signature over the vault, the choice, the secret's id and the time.
    pub signature: String,
}

/// What the keyring's keychain choice says, once its signature is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// No admin ever turned it on.
    Never,
    /// On: members are bound to the secret with this id.
    On(String),
    /// Turned off by an admin at this time: members bound before it are unbound at their next
    /// sign-in.
    Off(String, OffsetDateTime),
    /// A choice no current admin's registration verifies, one older than a choice this desk
    /// already believed, or none while slots are bound (edited outside the app): nothing is
    /// unbound because of it.
    Forged,
}

/// A desk's signing key as an admin registered it (`desks.rs`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeskKey {
    /// The Ed25519 public key, base64.
    pub public: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The registering admin's slot and their signature over the vault, the desk, the key and
    /// the time.
    pub signer: String,
    pub signature: String,
    /// Saved before its `desk.registered` entry commits; cleared once it has (a crash between
    /// the two writes the entry at the next admin sign-in).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unrecorded: bool,
}

/// A desk's copy of the blocklist key (`blocklist.rs`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeskCopy {
    /// The key sealed under HKDF(the desk's secret, the index class key), base64.
    pub sealed: String,
    /// The key's X25519 public half, base64, as the enrolling admin signed it.
    pub public: String,
    /// The enrolling admin's slot and their Ed25519 signature over the vault, the desk and
    /// the public half: a copy an underwriter seals to a key of their own is not used.
    pub signer: String,
    pub signature: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Slot {
    pub kdf: SlotKdf,
    /// Base64 of the sealed root key.
    pub wrapped: String,
    /// The id of the desk secret (OS keychain) mixed into this slot's key (`keychain.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound: Option<String>,
    /// When it was bound: an admin's "off" unbinds only slots bound before it, so an older
    /// signed "off" put back into the file unbinds nobody bound since.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub bound_at: Option<OffsetDateTime>,
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

/// A member's public keys, registered (signed) by the admin who created or last changed them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Member {
    pub user_id: String,
    pub role: String,
    /// X25519, base64.
    pub wrap: String,
    /// Ed25519, base64.
    pub sign: String,
    /// The slot of the member whose key signed this registration (itself for the first admin
    /// and for a member moved from a legacy slot).
    pub registered_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub registered_at: OffsetDateTime,
    pub signature: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Retired {
    pub slot: String,
    pub member: Member,
}

fn first_generation() -> u32 {
    1
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassEntry {
    /// Raised by each rotation; record keys say which generation wraps them.
    #[serde(default = "first_generation")]
    pub generation: u32,
    /// Earlier generations' keys, each sealed under the current one's wrapping key, until
    /// every record key is re-wrapped.
    #[serde(default)]
    pub previous: BTreeMap<u32, String>,
    /// The class key's X25519 public half, base64.
    pub public: String,
    /// Slot id → the class key sealed to that member's public key, base64.
    pub wraps: BTreeMap<String, String>,
}

impl Default for ClassEntry {
    fn default() -> Self {
        Self {
            generation: 1,
            previous: BTreeMap::new(),
            public: String::new(),
            wraps: BTreeMap::new(),
        }
    }
}

/// Format-1 slots not yet moved to key pairs, and the class keys wrapped under the root key
/// their slots still open.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Legacy {
    pub slots: BTreeSet<String>,
    /// Class name → the class key sealed under the root key, base64.
    pub classes: BTreeMap<String, String>,
}

/// What a slot opened: a member's keys, or (a legacy slot) the format-1 root key.
pub enum Opened {
    Member(MemberKeys),
    Legacy(Key),
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// A random id of 16 bytes, as hex.
pub(crate) fn hex_id() -> String {
    crypto::random_bytes::<16>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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
            members: BTreeMap::new(),
            classes: BTreeMap::new(),
            retired: Vec::new(),
            legacy: None,
            db_key: db_key_wrapped,
            db_key_next: None,
            lockouts: BTreeMap::new(),
            pending_audit: Vec::new(),
            attempts: 0,
            failures_mac: None,
            desk_record: None,
            blocklist_desks: BTreeMap::new(),
            desk_keys: BTreeMap::new(),
            audit_head: None,
            keychain: None,
            stored: None,
        }
    }

    /// The part every desk of a team shares: all but the desk's own failure records (and
    /// their MAC and record id) and the newest audit head it wrote.
    fn shared(&self) -> Keyring {
        Keyring {
            lockouts: BTreeMap::new(),
            pending_audit: Vec::new(),
            attempts: 0,
            failures_mac: None,
            desk_record: None,
            audit_head: None,
            stored: None,
            ..self.clone()
        }
    }

    /// What a team desk keeps in its own `keyring.json`: the rest.
    fn desk_own(&self) -> Keyring {
        Keyring {
            lockouts: self.lockouts.clone(),
            pending_audit: self.pending_audit.clone(),
            attempts: self.attempts,
            failures_mac: self.failures_mac.clone(),
            desk_record: self.desk_record.clone(),
            audit_head: self.audit_head.clone(),
            ..Keyring::new(self.vault_id, String::new())
        }
    }

    /// This desk's part of `self` with the shared part `shared` read from the store.
    fn joined(self, shared: Keyring, version: i64) -> Result<Keyring> {
        if shared.vault_id != self.vault_id {
            return Err(VaultError::VaultDamaged(
                "the team store holds another vault's keyring than this desk's",
            ));
        }
        let digest = shared_digest(&shared)?;
        Ok(Keyring {
            lockouts: self.lockouts,
            pending_audit: self.pending_audit,
            attempts: self.attempts,
            failures_mac: self.failures_mac,
            desk_record: self.desk_record,
            audit_head: self.audit_head,
            stored: Some(Stored { version, digest }),
            ..shared
        })
    }

    fn aad(&self, slot_id: &str) -> Vec<u8> {
        [
            self.vault_id.as_bytes().as_slice(),
            b"|slot|",
            slot_id.as_bytes(),
        ]
        .concat()
    }

    /// A slot's associated data: a bound slot's also names its secret and when it was bound,
    /// so an edit of either (to make an older "off" apply to it) makes the slot not open.
    fn slot_aad(&self, slot_id: &str, bound: Option<(&str, Option<OffsetDateTime>)>) -> Vec<u8> {
        let mut aad = self.aad(slot_id);
        if let Some((id, at)) = bound {
            aad.extend_from_slice(b"|bound|");
            aad.extend_from_slice(id.as_bytes());
            aad.extend_from_slice(
                format!("|{}", at.map_or(0, OffsetDateTime::unix_timestamp_nanos)).as_bytes(),
            );
        }
        aad
    }

    pub fn db_key_aad(&self) -> Vec<u8> {
        [self.vault_id.as_bytes().as_slice(), b"|db-key"].concat()
    }

    /// Whether `slot_id` still wraps the format-1 root key.
    pub fn is_legacy(&self, slot_id: &str) -> bool {
        self.format == LEGACY_FORMAT
            || self
                .legacy
                .as_ref()
                .is_some_and(|l| l.slots.contains(slot_id))
    }

    /// Seals `secret` (a member's private keys) under an argon2id key of `password`.
    pub fn set_password_slot(
        &mut self,
        slot_id: &str,
        password: &[u8],
        secret: &[u8],
        params: KdfParams,
    ) -> Result<()> {
        let desk = self.desk_secret_for(slot_id, true)?;
        self.seal_password_slot(slot_id, password, secret, params, desk)
    }

    /// The desk secret a slot is sealed under now. On: the binding's, when this desk's
    /// keychain gives it (else none: the member is bound at a later sign-in where it does).
    /// Off: none, except for a slot bound after that choice, which keeps its secret. A forged
    /// choice changes nothing: a bound slot keeps its secret, an unbound one stays unbound. A
    /// bound slot whose secret this desk cannot give is refused when `strict` (the member's own
    /// password change: never unbound silently), sealed unbound otherwise (an admin's reset, a
    /// recovery on a desk that lost its keychain).
    pub(crate) fn desk_secret_for(
        &self,
        slot_id: &str,
        strict: bool,
    ) -> Result<Option<(String, Key)>> {
        let slot = self.slots.get(slot_id);
        let current = slot.and_then(|s| s.bound.clone());
        let wanted = match self.binding() {
            Binding::On(id) => Some(id),
            Binding::Off(_, at) => current
                .clone()
                .filter(|_| slot.and_then(|s| s.bound_at).is_some_and(|b| b > at)),
            Binding::Forged => current.clone(),
            Binding::Never => None,
        };
        let Some(id) = wanted else {
            return Ok(None);
        };
        match crate::keychain::secret(&self.vault_id, &id) {
            Ok(desk) => Ok(Some((id, desk))),
            Err(e) => match current.filter(|c| *c != id) {
                // Bound to an earlier secret this desk still gives: it stays bound to that.
                Some(earlier) => match crate::keychain::secret(&self.vault_id, &earlier) {
                    Ok(desk) => Ok(Some((earlier, desk))),
                    Err(e) if strict => Err(e),
                    Err(_) => Ok(None),
                },
                None if strict && slot.is_some_and(|s| s.bound.is_some()) => Err(e),
                None => Ok(None),
            },
        }
    }

    /// [`Keyring::set_password_slot`] under a desk secret already fetched (or none).
    pub(crate) fn seal_password_slot(
        &mut self,
        slot_id: &str,
        password: &[u8],
        secret: &[u8],
        params: KdfParams,
        bound: Option<(String, Key)>,
    ) -> Result<()> {
        let salt: [u8; 16] = crypto::random_bytes();
        let mut kek = crypto::password_kek(password, &salt, params)?;
        if let Some((_, desk)) = &bound {
            kek = crate::keychain::bind(&kek, desk);
        }
        let bound_at = bound.as_ref().map(|_| OffsetDateTime::now_utc());
        let aad = self.slot_aad(
            slot_id,
            bound.as_ref().map(|(id, _)| (id.as_str(), bound_at)),
        );
        let wrapped = crypto::seal(&kek, &aad, secret);
        self.slots.insert(
            slot_id.to_string(),
            Slot {
                kdf: SlotKdf::Argon2id {
                    params,
                    salt: b64(&salt),
                },
                wrapped: b64(&wrapped),
                bound_at,
                bound: bound.map(|(id, _)| id),
            },
        );
        if let Some(legacy) = &mut self.legacy {
            legacy.slots.remove(slot_id);
        }
        Ok(())
    }

    /// Seals `secret` (the recovery member's private keys) under the recovery key.
    pub fn set_recovery_slot(&mut self, recovery: &Key, secret: &[u8]) {
        let salt: [u8; 16] = crypto::random_bytes();
        let kek = crypto::derive(recovery, &salt, b"boarding-desk/recovery/v1");
        let wrapped = crypto::seal(&kek, &self.aad(RECOVERY_SLOT), secret);
        self.slots.insert(
            RECOVERY_SLOT.to_string(),
            Slot {
                kdf: SlotKdf::HkdfSha256 { salt: b64(&salt) },
                wrapped: b64(&wrapped),
                bound: None,
                bound_at: None,
            },
        );
        if let Some(legacy) = &mut self.legacy {
            legacy.slots.remove(RECOVERY_SLOT);
        }
    }

    /// What `slot_id` wraps, as its kind of slot says.
    fn opened(&self, slot_id: &str, bytes: &[u8]) -> Option<Opened> {
        if self.is_legacy(slot_id) {
            Key::from_slice(bytes).map(Opened::Legacy)
        } else {
            MemberKeys::from_bytes(bytes).map(Opened::Member)
        }
    }

    /// Opens a user's slot with a password. `None` for a wrong password or a missing slot;
    /// a missing slot still costs one argon2id run, so timing does not reveal which.
    pub fn open_password_slot(&self, slot_id: &str, password: &[u8]) -> Result<Option<Opened>> {
        let Some(slot) = self.slots.get(slot_id) else {
            let _ = crypto::password_kek(password, &[0u8; 16], KdfParams::DEFAULT)?;
            return Ok(None);
        };
        let SlotKdf::Argon2id { params, salt } = &slot.kdf else {
            return Err(VaultError::KeyringDamaged(
                "a user slot has the wrong kind of key derivation",
            ));
        };
        // A bound slot needs this desk's keychain first: without it the password is not tried
        // (and not counted as a failure).
        let desk = match &slot.bound {
            Some(id) => Some(crate::keychain::secret(&self.vault_id, id)?),
            None => None,
        };
        let mut kek = crypto::password_kek(
            password,
            &unb64(salt, "a slot salt is not base64")?,
            *params,
        )?;
        if let Some(desk) = &desk {
            kek = crate::keychain::bind(&kek, desk);
        }
        let wrapped = unb64(&slot.wrapped, "a wrapped key is not base64")?;
        let aad = self.slot_aad(slot_id, slot.bound.as_deref().map(|id| (id, slot.bound_at)));
        Ok(crypto::open(&kek, &aad, &wrapped).and_then(|bytes| self.opened(slot_id, &bytes)))
    }

    // ---- the keychain binding (`keychain.rs`) ---------------------------------------------

    pub(crate) fn keychain_message(&self, choice: &KeychainChoice) -> Vec<u8> {
        format!(
            "boarding-desk/keychain/v1\n{}\n{}\n{}\n{}\n{}",
            self.vault_id,
            if choice.on { "on" } else { "off" },
            choice.secret,
            choice.signer,
            choice.at.unix_timestamp_nanos(),
        )
        .into_bytes()
    }

    /// The keychain choice, believed only when the current registration of its signer, an
    /// admin, verifies its signature (a removed admin's old key signs nothing new; the choice
    /// is signed again by whoever removes or resets its signer). No choice while slots are
    /// bound means it was deleted from the file.
    pub fn binding(&self) -> Binding {
        let Some(choice) = &self.keychain else {
            return if self.slots.values().any(|s| s.bound.is_some()) {
                Binding::Forged
            } else {
                Binding::Never
            };
        };
        let message = self.keychain_message(choice);
        let signed = unb64(&choice.signature, "").is_ok_and(|signature| {
            self.registered(&choice.signer).is_some_and(|(m, public)| {
                m.role == "admin" && crypto::verify(&public.sign, &message, &signature)
            })
        });
        // Older than a choice this desk already believed: an earlier keyring's, put back.
        let rolled_back = crate::device::keychain_seen(self)
            .is_some_and(|seen| choice.at.unix_timestamp_nanos() < seen);
        match (signed && !rolled_back, choice.on) {
            (false, _) => Binding::Forged,
            (true, true) => Binding::On(choice.secret.clone()),
            (true, false) => Binding::Off(choice.secret.clone(), choice.at),
        }
    }

    /// Signs the current choice again as `signer` when the change just made (a member removed
    /// or given new keys) left it unverifiable although it verified before (`before`).
    pub(crate) fn keep_keychain_choice(
        &mut self,
        before: &Binding,
        signer_slot: &str,
        signer: &MemberKeys,
    ) {
        if *before == Binding::Forged || *before == Binding::Never {
            return;
        }
        if self.binding() == Binding::Forged {
            if let Some(choice) = self.keychain.clone() {
                self.choose_keychain_at(choice.on, &choice.secret, signer_slot, signer, choice.at);
            }
        }
    }

    /// Records an admin's choice, signed with their keys, at the wall clock's time (compared
    /// with the slots' `bound_at`, which is the wall clock's too).
    pub(crate) fn choose_keychain(
        &mut self,
        on: bool,
        secret: &str,
        signer_slot: &str,
        signer: &MemberKeys,
    ) {
        self.choose_keychain_at(on, secret, signer_slot, signer, OffsetDateTime::now_utc());
    }

    fn choose_keychain_at(
        &mut self,
        on: bool,
        secret: &str,
        signer_slot: &str,
        signer: &MemberKeys,
        at: OffsetDateTime,
    ) {
        let mut choice = KeychainChoice {
            on,
            secret: secret.to_string(),
            signer: signer_slot.to_string(),
            at,
            signature: String::new(),
        };
        choice.signature = b64(&signer.sign(&self.keychain_message(&choice)));
        self.keychain = Some(choice);
    }

    /// Whether `slot_id` is bound to a desk secret.
    pub fn slot_bound(&self, slot_id: &str) -> bool {
        self.slots.get(slot_id).is_some_and(|s| s.bound.is_some())
    }

    /// Whether `slot_id` should be sealed again at sign-in: bound while the binding is on (and
    /// not to its secret), or still bound after an admin turned it off. A forged choice changes
    /// nothing.
    pub fn slot_binding_stale(&self, slot_id: &str) -> bool {
        let Some(slot) = self.slots.get(slot_id) else {
            return false;
        };
        match self.binding() {
            Binding::On(id) => slot.bound.as_deref() != Some(id.as_str()),
            Binding::Off(_, at) => slot.bound.is_some() && slot.bound_at.is_some_and(|b| b <= at),
            Binding::Never | Binding::Forged => false,
        }
    }

    pub fn open_recovery_slot(&self, recovery: &Key) -> Result<Option<Opened>> {
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
        Ok(crypto::open(&kek, &self.aad(RECOVERY_SLOT), &wrapped)
            .and_then(|b| self.opened(RECOVERY_SLOT, &b)))
    }

    // ---- members and class keys ----------------------------------------------------------

    fn legacy_class_aad(&self, class: DataClass) -> Vec<u8> {
        [
            self.vault_id.as_bytes().as_slice(),
            b"|legacy-class|",
            class.as_str().as_bytes(),
        ]
        .concat()
    }

    /// The keys a slot's holder may use: the classes sealed to the member, or (a legacy slot)
    /// what the root key opens.
    pub fn keys(&self, slot_id: &str, opened: Opened) -> Result<Keys> {
        let mut publics = BTreeMap::new();
        for class in DataClass::ALL {
            if let Some(public) = self.class_public(class)? {
                publics.insert(class, public);
            }
        }
        let keys = self.keys_without_publics(slot_id, opened)?;
        let mut generations = BTreeMap::new();
        let mut old = BTreeMap::new();
        for (name, entry) in &self.classes {
            let Some(class) = DataClass::parse(name) else {
                continue;
            };
            generations.insert(class, entry.generation);
            let Some(current) = keys.class(class) else {
                continue;
            };
            for (generation, sealed) in &entry.previous {
                let key = crypto::open(
                    &current.wrapping(),
                    &self.previous_aad(class, *generation),
                    &unb64(sealed, "an earlier class key is not base64")?,
                )
                .and_then(|b| ClassKey::from_slice(&b))
                .ok_or(VaultError::KeyringDamaged(
                    "an earlier class key does not open with the current one",
                ))?;
                old.insert((class, *generation), key);
            }
        }
        Ok(keys.with_publics(publics).with_history(generations, old))
    }

    fn previous_aad(&self, class: DataClass, generation: u32) -> Vec<u8> {
        format!(
            "{}|previous-class|{}|{generation}",
            self.vault_id,
            class.as_str()
        )
        .into_bytes()
    }

    /// Gives `class` a new generation `new` (its current key is `current`, which the caller
    /// holds, and `old` its earlier ones): every earlier generation is sealed under the new
    /// key, the wraps are cleared (the caller seals the new key to the members who keep the
    /// class). Returns the new generation.
    pub fn rotate_class(
        &mut self,
        class: DataClass,
        current: &ClassKey,
        old: &[(u32, ClassKey)],
        new: &ClassKey,
    ) -> u32 {
        let mut entry = self
            .classes
            .get(class.as_str())
            .cloned()
            .unwrap_or_default();
        let generation = entry.generation + 1;
        let wrapping = new.wrapping();
        let mut previous = BTreeMap::new();
        for (g, key) in old
            .iter()
            .map(|(g, k)| (*g, k))
            .chain(std::iter::once((entry.generation, current)))
        {
            previous.insert(
                g,
                b64(&crypto::seal(
                    &wrapping,
                    &self.previous_aad(class, g),
                    key.secret().expose(),
                )),
            );
        }
        entry.generation = generation;
        entry.previous = previous;
        entry.public = b64(&new.public());
        entry.wraps.clear();
        self.classes.insert(class.as_str().to_string(), entry);
        generation
    }

    /// Forgets the earlier generations of `class` once every record key is re-wrapped, except
    /// the first metadata generation, from which the audit head's, the ledger's and backups'
    /// keys derive.
    pub fn forget_previous(&mut self, class: DataClass) {
        if let Some(entry) = self.classes.get_mut(class.as_str()) {
            entry
                .previous
                .retain(|g, _| class == DataClass::Metadata && *g == 1);
        }
    }

    fn keys_without_publics(&self, slot_id: &str, opened: Opened) -> Result<Keys> {
        let mut classes = BTreeMap::new();
        match opened {
            Opened::Member(me) => {
                for (name, entry) in &self.classes {
                    let Some(wrapped) = entry.wraps.get(slot_id) else {
                        continue;
                    };
                    let class = DataClass::parse(name).ok_or(VaultError::KeyringDamaged(
                        "the keyring names an unknown class",
                    ))?;
                    let bytes = me
                        .unseal(&unb64(wrapped, "a class key is not base64")?)
                        .and_then(|b| ClassKey::from_slice(&b))
                        .ok_or(VaultError::KeyringDamaged(
                            "a class key does not open with its member's key",
                        ))?;
                    classes.insert(class, bytes);
                }
                let metadata =
                    classes
                        .remove(&DataClass::Metadata)
                        .ok_or(VaultError::KeyringDamaged(
                            "this member holds no key to the vault file",
                        ))?;
                Ok(Keys::new(metadata, classes, Some(me)))
            }
            Opened::Legacy(root) => {
                // Format 1 derived everything from the root key: the database key's wrapping
                // and the blind-index keys keep doing so, so nothing is re-encrypted.
                classes.insert(DataClass::Index, ClassKey::from_key(root.clone()));
                if let Some(legacy) = &self.legacy {
                    for (name, wrapped) in &legacy.classes {
                        let class = DataClass::parse(name).ok_or(VaultError::KeyringDamaged(
                            "the keyring names an unknown class",
                        ))?;
                        let key = crypto::open(
                            &root,
                            &self.legacy_class_aad(class),
                            &unb64(wrapped, "a class key is not base64")?,
                        )
                        .and_then(|b| ClassKey::from_slice(&b))
                        .ok_or(VaultError::KeyringDamaged(
                            "a class key does not open with the root key",
                        ))?;
                        classes.insert(class, key);
                    }
                }
                Ok(Keys::new(ClassKey::from_key(root), classes, None))
            }
        }
    }

    /// Keeps `key` for the legacy slots (under the root key they open).
    pub fn set_legacy_class(&mut self, root: &Key, class: DataClass, key: &ClassKey) {
        let wrapped = b64(&crypto::seal(
            root,
            &self.legacy_class_aad(class),
            key.secret().expose(),
        ));
        self.legacy
            .get_or_insert_with(Legacy::default)
            .classes
            .insert(class.as_str().to_string(), wrapped);
    }

    /// Drops what is left of format 1 once no legacy slot remains: the root key then opens
    /// nothing.
    pub fn retire_legacy_if_done(&mut self) -> bool {
        if self.legacy.as_ref().is_some_and(|l| l.slots.is_empty()) {
            self.legacy = None;
            return true;
        }
        false
    }

    /// The public key of a class, once it exists.
    pub fn class_public(&self, class: DataClass) -> Result<Option<[u8; crypto::PUBLIC_LEN]>> {
        match self.classes.get(class.as_str()) {
            None => Ok(None),
            Some(entry) => unb64(&entry.public, "a class public key is not base64")?
                .try_into()
                .map(Some)
                .map_err(|_| VaultError::KeyringDamaged("a class public key has the wrong length")),
        }
    }

    /// Records a class's public key (before any member has it sealed).
    pub fn set_class_public(&mut self, class: DataClass, key: &ClassKey) {
        self.classes
            .entry(class.as_str().to_string())
            .or_default()
            .public = b64(&key.public());
    }

    /// Seals a class key to a member.
    pub fn seal_class_to(
        &mut self,
        class: DataClass,
        key: &ClassKey,
        slot_id: &str,
        member: &[u8; crypto::PUBLIC_LEN],
    ) {
        let entry = self.classes.entry(class.as_str().to_string()).or_default();
        entry.public = b64(&key.public());
        entry.wraps.insert(
            slot_id.to_string(),
            b64(&crypto::seal_to(member, key.secret().expose())),
        );
    }

    /// Takes every class key away from a member (their own slot stays until removed).
    pub fn unseal_classes_from(&mut self, slot_id: &str, keep: &[DataClass]) {
        for (name, entry) in &mut self.classes {
            if !DataClass::parse(name).is_some_and(|c| keep.contains(&c)) {
                entry.wraps.remove(slot_id);
            }
        }
    }

    /// Removes a member: their slot, registration and every class key sealed to them.
    pub fn remove_member(&mut self, slot_id: &str) {
        self.slots.remove(slot_id);
        if let Some(member) = self.members.remove(slot_id) {
            self.retired.push(Retired {
                slot: slot_id.to_string(),
                member,
            });
        }
        self.unseal_classes_from(slot_id, &[]);
        if let Some(legacy) = &mut self.legacy {
            legacy.slots.remove(slot_id);
        }
    }

    pub(crate) fn registration_message(&self, slot_id: &str, member: &Member) -> Vec<u8> {
        format!(
            "boarding-desk/registration/v1\n{}\n{slot_id}\n{}\n{}\n{}\n{}\n{}\n{}",
            self.vault_id,
            member.user_id,
            member.role,
            member.wrap,
            member.sign,
            member.registered_by,
            member.registered_at.unix_timestamp(),
        )
        .into_bytes()
    }

    /// Registers a member's public keys for `user_id` with `role`, signed by `registrar` (the
    /// keys of the member in slot `registrar_slot`).
    #[allow(clippy::too_many_arguments)]
    pub fn register(
        &mut self,
        slot_id: &str,
        public: MemberPublic,
        user_id: &str,
        role: &str,
        registrar_slot: &str,
        registrar: &MemberKeys,
        now: OffsetDateTime,
    ) {
        let mut member = Member {
            user_id: user_id.to_string(),
            role: role.to_string(),
            wrap: b64(&public.wrap),
            sign: b64(&public.sign),
            registered_by: registrar_slot.to_string(),
            registered_at: now.replace_nanosecond(0).unwrap_or(now),
            signature: String::new(),
        };
        member.signature = b64(&registrar.sign(&self.registration_message(slot_id, &member)));
        if registrar_slot == slot_id {
            // A registration no admin signs: this desk makes it, so this desk trusts it.
            let digest = crate::device::anchor_of(&self.registration_message(slot_id, &member));
            crate::device::anchor(self, &digest);
        }
        // A registration replaced in place (the recovery member's, at a rotation) is retired:
        // the entries its key signed still verify.
        if let Some(old) = self.members.insert(slot_id.to_string(), member) {
            if self
                .members
                .get(slot_id)
                .is_some_and(|new| new.sign != old.sign)
            {
                self.retired.push(Retired {
                    slot: slot_id.to_string(),
                    member: old,
                });
            }
        }
    }

    /// The member's public keys, if their registration is signed by an admin member (or by
    /// themselves, for the first admin and for members moved from a legacy slot).
    pub fn registered(&self, slot_id: &str) -> Option<(&Member, MemberPublic)> {
        let member = self.members.get(slot_id)?;
        self.verified(slot_id, member)
            .map(|public| (member, public))
    }

    /// Every registration `slot_id` has had (current and retired) whose signature verifies,
    /// with its public keys: what signed that slot's audit entries.
    pub fn registrations(&self, slot_id: &str) -> Vec<(&Member, MemberPublic)> {
        self.members
            .get(slot_id)
            .into_iter()
            .chain(
                self.retired
                    .iter()
                    .filter(|r| r.slot == slot_id)
                    .map(|r| &r.member),
            )
            .filter_map(|m| self.verified(slot_id, m).map(|p| (m, p)))
            .collect()
    }

    fn verified(&self, slot_id: &str, member: &Member) -> Option<MemberPublic> {
        let anchors = crate::device::anchors(self);
        self.verified_within(slot_id, member, anchors.as_deref(), 0)
    }

    /// Whether `slot_id`'s current registration is self-signed and not one this desk anchored
    /// (added to keyring.json by hand).
    pub fn self_signed_unanchored(&self, slot_id: &str) -> bool {
        let Some(member) = self.members.get(slot_id) else {
            return false;
        };
        member.registered_by == slot_id
            && crate::device::anchors(self).is_some_and(|anchors| {
                !anchors.contains(&crate::device::anchor_of(
                    &self.registration_message(slot_id, member),
                ))
            })
    }

    /// The self-signed admin registrations (current and retired) whose signature verifies,
    /// oldest first, with their anchor digests: the founders a join code can name.
    pub(crate) fn founders(&self) -> Vec<(OffsetDateTime, String)> {
        let mut found: Vec<(OffsetDateTime, String)> = self
            .members
            .iter()
            .chain(self.retired.iter().map(|r| (&r.slot, &r.member)))
            .filter(|(slot, m)| m.registered_by == **slot && m.role == "admin")
            .filter(|(slot, m)| self.verified_within(slot, m, None, 0).is_some())
            .map(|(slot, m)| {
                let digest = crate::device::anchor_of(&self.registration_message(slot, m));
                (m.registered_at, digest)
            })
            .collect();
        found.sort();
        found.dedup();
        found
    }

    /// A registration verifies when its registrar's signature does and the registrar's own
    /// registration verifies in turn, down to a self-signed one this desk anchored (every one,
    /// while the desk has no anchors yet).
    fn verified_within(
        &self,
        slot_id: &str,
        member: &Member,
        anchors: Option<&[String]>,
        depth: u8,
    ) -> Option<MemberPublic> {
        if depth > 8 {
            return None;
        }
        let signature = unb64(&member.signature, "").ok()?;
        let message = self.registration_message(slot_id, member);
        let signed_by = |r: &Member| {
            unb64(&r.sign, "").is_ok_and(|sign| crypto::verify(&sign, &message, &signature))
        };
        let ok = if member.registered_by == slot_id {
            signed_by(member)
                && anchors.is_none_or(|a| a.contains(&crate::device::anchor_of(&message)))
        } else {
            // An admin registration (current or retired) of the registrar's slot that signed
            // it, itself verified.
            self.members
                .get(&member.registered_by)
                .into_iter()
                .chain(
                    self.retired
                        .iter()
                        .filter(|r| r.slot == member.registered_by)
                        .map(|r| &r.member),
                )
                .filter(|r| r.role == "admin")
                .any(|r| {
                    signed_by(r)
                        && self
                            .verified_within(&member.registered_by, r, anchors, depth + 1)
                            .is_some()
                })
        };
        if !ok {
            return None;
        }
        Some(MemberPublic {
            wrap: unb64(&member.wrap, "").ok()?.try_into().ok()?,
            sign: unb64(&member.sign, "").ok()?.try_into().ok()?,
        })
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
        self.attempts += 1;
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

    /// When `slot_id` may try again: its own lockout, or the whole vault's (after its failure
    /// records were found tampered with).
    pub fn locked_until(&self, slot_id: &str, now: OffsetDateTime) -> Option<OffsetDateTime> {
        [slot_id, EVERY_SLOT]
            .iter()
            .filter_map(|s| self.lockouts.get(*s).and_then(|l| l.locked_until))
            .filter(|until| *until > now)
            .max()
    }

    /// Locks every slot until `until`.
    pub fn lock_every_slot(&mut self, now: OffsetDateTime, until: OffsetDateTime) {
        self.lockouts.insert(
            EVERY_SLOT.to_string(),
            Lockout {
                failures: 0,
                locked_until: Some(until),
                last_failure: now,
            },
        );
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
/// The lockout entry that locks every slot.
pub const EVERY_SLOT: &str = "*";

/// Files of the keyring in one data folder.
#[derive(Debug, Clone)]
pub struct KeyringFile {
    path: PathBuf,
    lock_path: PathBuf,
    /// On a team desk, the connection the shared part is read and written through.
    team: crate::team::keyring::Handle,
}

fn parse(bytes: &[u8], what: &'static str) -> Result<Keyring> {
    let keyring: Keyring =
        serde_json::from_slice(bytes).map_err(|_| VaultError::KeyringDamaged(what))?;
    if keyring.format != FORMAT && keyring.format != LEGACY_FORMAT {
        return Err(VaultError::KeyringDamaged(
            "the keyring has an unknown format version",
        ));
    }
    Ok(keyring)
}

fn serialise(shared: &Keyring) -> Result<Vec<u8>> {
    serde_json::to_vec(shared)
        .map_err(|_| VaultError::KeyringDamaged("the keyring could not be serialised"))
}

/// The store's body for `ring`'s shared part.
pub(crate) fn shared_body(ring: &Keyring) -> Result<Vec<u8>> {
    serialise(&ring.shared())
}

fn shared_digest(shared: &Keyring) -> Result<[u8; 32]> {
    Ok(crypto::sha256(&[&serialise(&shared.shared())?]))
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
            team: Default::default(),
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

    /// The data folder the keyring is in.
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// Whether this folder's vault is on a team store (its shared keyring is there).
    pub fn is_team(&self) -> bool {
        crate::team::placement::is_team(self.dir())
    }

    /// The keyring: `keyring.json`, and on a team desk the store's shared part with it.
    pub fn load(&self) -> Result<Keyring> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(VaultError::KeyringMissing)
            }
            Err(e) => return Err(VaultError::io("the keyring", "read")(e)),
        };
        let keyring = parse(&bytes, "keyring.json is not a valid keyring")?;
        if !self.is_team() {
            return Ok(keyring);
        }
        let shared = self
            .team
            .load(self.dir())?
            .ok_or(VaultError::KeyringDamaged(
                "the team store holds no keyring (was it created with desk team create?)",
            ))?;
        let ring = parse(
            &shared.body,
            "the team store's keyring is not a valid keyring",
        )?;
        keyring.joined(ring, shared.version)
    }

    /// Runs `f` on this team desk's connection to its store.
    pub(crate) fn on_store<T>(
        &self,
        f: impl FnOnce(&crate::sql::Db<'_>) -> Result<T>,
    ) -> Result<T> {
        self.team.with(self.dir(), |db, _| f(db))
    }

    /// The store's shared keyring for `dir` before this desk has its own file (joining).
    pub(crate) fn load_shared(&self) -> Result<Option<Keyring>> {
        self.team
            .load(self.dir())?
            .map(|shared| {
                let ring = parse(
                    &shared.body,
                    "the team store's keyring is not a valid keyring",
                )?;
                // Nothing of a desk's own part is taken from the store's row.
                Keyring::new(ring.vault_id, String::new()).joined(ring, shared.version)
            })
            .transpose()
    }

    /// Atomically replaces the keyring (write temp, fsync, rename, fsync folder). On a team
    /// desk the shared part goes to the store first, over the version it was read from (a
    /// change made meanwhile by another desk is refused as contended), then the desk's own.
    pub fn save(&self, keyring: &Keyring, _lock: &KeyringLock) -> Result<()> {
        let mut keyring = keyring.clone();
        let team = self.is_team();
        // What the failure records on disk are: on a team desk they are all in its own file
        // (the store's part is not read again for them).
        let on_disk = if team {
            fs::read(&self.path)
                .ok()
                .and_then(|bytes| parse(&bytes, "").ok())
                .and_then(|own| own.joined(keyring.shared(), 0).ok())
        } else {
            self.load().ok()
        };
        crate::device::stamp(&mut keyring, on_disk.as_ref())?;
        if team {
            let shared = keyring.shared();
            let body = serialise(&shared)?;
            let base = keyring.stored.as_ref().map(|s| (s.version, s.digest));
            self.team
                .store(self.dir(), &body, crypto::sha256(&[&body]), base)?;
            keyring = keyring.desk_own();
        }
        self.write_file(&keyring)
    }

    /// On a team desk: moves the newest audit head this desk wrote forward in its own file,
    /// touching nothing the store holds (nor anything the desk's failure MAC covers). Returns
    /// false on a local desk, whose head lives with the rest of its keyring.
    pub(crate) fn advance_own_head(&self, head: &AuditHead, _lock: &KeyringLock) -> Result<bool> {
        if !self.is_team() {
            return Ok(false);
        }
        let bytes = fs::read(&self.path).map_err(VaultError::io("the keyring", "read"))?;
        let mut own = parse(&bytes, "keyring.json is not a valid keyring")?;
        if own.audit_head.as_ref().is_some_and(|h| h.seq >= head.seq) {
            return Ok(true);
        }
        own.audit_head = Some(head.clone());
        self.write_file(&own)?;
        Ok(true)
    }

    fn write_file(&self, keyring: &Keyring) -> Result<()> {
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

    fn member_of(ring: &Keyring, slot: &str, password: &[u8]) -> Option<MemberKeys> {
        match ring.open_password_slot(slot, password).unwrap() {
            Some(Opened::Member(m)) => Some(m),
            Some(Opened::Legacy(_)) => panic!("a format-2 slot opened as legacy"),
            None => None,
        }
    }

    #[test]
    fn password_slot_opens_only_with_its_password() {
        let me = MemberKeys::generate();
        let mut ring = Keyring::new(Uuid::new_v4(), String::new());
        ring.set_password_slot(
            "user:a",
            b"a long passphrase",
            &me.to_bytes(),
            KdfParams::MINIMUM,
        )
        .unwrap();
        assert_eq!(
            member_of(&ring, "user:a", b"a long passphrase").map(|m| m.public()),
            Some(me.public())
        );
        assert!(member_of(&ring, "user:a", b"a long passphrasf").is_none());
        assert!(member_of(&ring, "user:b", b"a long passphrase").is_none());
    }

    #[test]
    fn slot_cannot_be_moved_to_another_user() {
        let me = MemberKeys::generate();
        let mut ring = Keyring::new(Uuid::new_v4(), String::new());
        ring.set_password_slot(
            "user:a",
            b"a long passphrase",
            &me.to_bytes(),
            KdfParams::MINIMUM,
        )
        .unwrap();
        let slot = ring.slots["user:a"].clone();
        ring.slots.insert("user:b".into(), slot);
        assert!(
            member_of(&ring, "user:b", b"a long passphrase").is_none(),
            "aad binds the slot id"
        );
    }

    #[test]
    fn downgraded_kdf_parameters_are_refused() {
        let me = MemberKeys::generate();
        let mut ring = Keyring::new(Uuid::new_v4(), String::new());
        ring.set_password_slot(
            "user:a",
            b"a long passphrase",
            &me.to_bytes(),
            KdfParams::MINIMUM,
        )
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
    fn a_member_gets_only_the_classes_sealed_to_it_and_a_forged_registration_is_not_registered() {
        let admin = MemberKeys::generate();
        let auditor = MemberKeys::generate();
        let mut ring = Keyring::new(Uuid::new_v4(), String::new());
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        ring.set_password_slot(
            "user:ad",
            b"admin pass",
            &admin.to_bytes(),
            KdfParams::MINIMUM,
        )
        .unwrap();
        ring.set_password_slot(
            "user:au",
            b"audit pass",
            &auditor.to_bytes(),
            KdfParams::MINIMUM,
        )
        .unwrap();
        ring.register(
            "user:ad",
            admin.public(),
            "u1",
            "admin",
            "user:ad",
            &admin,
            now,
        );
        ring.register(
            "user:au",
            auditor.public(),
            "u2",
            "auditor",
            "user:ad",
            &admin,
            now,
        );
        let classes: Vec<(DataClass, ClassKey)> = DataClass::ALL
            .iter()
            .map(|c| (*c, ClassKey::random()))
            .collect();
        for (c, k) in &classes {
            ring.seal_class_to(*c, k, "user:ad", &admin.public().wrap);
            if DataClass::for_role(domain::Role::Auditor).contains(c) {
                ring.seal_class_to(*c, k, "user:au", &auditor.public().wrap);
            }
        }
        let opened = ring
            .open_password_slot("user:au", b"audit pass")
            .unwrap()
            .unwrap();
        let keys = ring.keys("user:au", opened).unwrap();
        assert_eq!(
            keys.held().collect::<Vec<_>>(),
            vec![DataClass::Metadata, DataClass::Case]
        );
        assert!(ring.registered("user:au").is_some());
        // The auditor rewrites their registration as an admin's, signing it themselves.
        let mut forged = ring.members["user:au"].clone();
        forged.role = "admin".into();
        ring.members.insert("user:au".into(), forged);
        assert!(
            ring.registered("user:au").is_none(),
            "the admin's signature no longer matches"
        );
        ring.register(
            "user:au",
            auditor.public(),
            "u2",
            "admin",
            "user:au",
            &auditor,
            now,
        );
        assert!(
            ring.registered("user:au").is_some(),
            "a self-signed registration verifies…"
        );
        assert_eq!(ring.members["user:au"].registered_by, "user:au");
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
