//! The blocklist under a key of its own (issue 16, item 5).
//!
//! A blocklist entry outlives the application it came from: an erasure deletes the person, but
//! the identifiers of a declined or terminated merchant stay blocklisted under their legal basis
//! (fraud prevention, AML record keeping, the card networks' rules) until their own retention
//! ends. Keyed by the blind-index key, the digests of an erased subject's SSN reversed by brute
//! force in minutes with any underwriter's password. Now:
//!
//! - Entries are HMACs under the **blocklist key** (`DataClass::Blocklist`), held by admins
//!   (and the recovery member). No other role's password opens it.
//! - Underwriters and leads must still *match* new applications against it. Each desk an admin
//!   signs in on is enrolled: the keyring keeps the blocklist key sealed under a key derived
//!   from both this desk's device record (outside the data folder, `device.rs`) and the index
//!   class key. A copy of the data folder with an underwriter's password opens nothing of it;
//!   the desk itself, with the password of a role that looks up identifiers, matches (and, as
//!   `docs/SECURITY.md` says, a stolen laptop with such a password can still brute-force it —
//!   the OS keychain is the next step).
//! - The key is not rotated when a user is disabled (like the index class: every digest would
//!   change, and the values behind an erased subject's are gone).
//! - Entries written before this version keep their blind-index digest (`keyed` 0) and match
//!   through the application's blind indexes; the erasure of their application re-keys them
//!   (the values are still readable then), so no erased subject is left behind an index digest.

use domain::intake::{ApplicationForm, IndexKind};
use domain::Role;
use rusqlite::params;
use serde::Serialize;

use crate::crypto::{self, Key};
use crate::keyring::{b64, unb64, Keyring, RECOVERY_SLOT};
use crate::keys::{ClassKey, DataClass};
use crate::{Result, Tx, Vault, VaultError};

/// Why an identifier may be kept on the blocklist after its subject is erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    /// Preventing fraud against the platform and its sponsor bank (legitimate interest).
    FraudPrevention,
    /// Anti-money-laundering record keeping (a legal obligation).
    AmlRecordKeeping,
    /// The card networks' rules for terminated merchants (MATCH).
    CardNetworkRules,
}

impl LegalBasis {
    pub const ALL: [LegalBasis; 3] = [
        LegalBasis::FraudPrevention,
        LegalBasis::AmlRecordKeeping,
        LegalBasis::CardNetworkRules,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LegalBasis::FraudPrevention => "fraud_prevention",
            LegalBasis::AmlRecordKeeping => "aml_record_keeping",
            LegalBasis::CardNetworkRules => "card_network_rules",
        }
    }

    pub fn parse(text: &str) -> Option<LegalBasis> {
        LegalBasis::ALL.into_iter().find(|b| b.as_str() == text)
    }
}

/// How long an entry is kept unless an admin says otherwise (AML record keeping: five years).
pub const DEFAULT_YEARS: u32 = 5;
/// The longest an admin may keep entries.
pub const MAX_YEARS: u32 = 10;
const YEAR_MS: i64 = 365 * 86_400_000;

/// The identifiers a blocklist entry is made of.
fn identifiers(form: &ApplicationForm) -> Vec<(&'static str, String)> {
    form.index_values()
        .into_iter()
        .filter(|(kind, _)| {
            matches!(
                kind,
                IndexKind::Ein | IndexKind::Ssn | IndexKind::BankAccount
            )
        })
        .map(|(kind, value)| (kind.as_str(), value))
        .collect()
}

/// An entry's digest: HMAC-SHA256 under a key derived per kind from the blocklist key.
pub(crate) fn digest(key: &ClassKey, kind: &str, normalised: &str) -> [u8; 32] {
    let per_kind = crypto::derive(key.secret(), b"blocklist", kind.as_bytes());
    crypto::hmac(&per_kind, &[normalised.as_bytes()])
}

/// The key a desk's copy is sealed under: this desk's secret and the index class key, both.
fn desk_key(desk: &Key, index: &ClassKey) -> Key {
    crypto::derive(
        desk,
        index.secret().expose(),
        b"boarding-desk/blocklist-desk/v1",
    )
}

fn desk_aad(ring: &Keyring, desk: &str) -> Vec<u8> {
    format!("{}|blocklist-desk|{desk}", ring.vault_id).into_bytes()
}

/// This desk's copy in `ring`, opened with `index` (and checked against the class's public
/// key, so a copy swapped in by hand is not used).
fn open_desk_copy(ring: &Keyring, index: &ClassKey) -> Option<ClassKey> {
    let desk = ring.desk_record.as_deref()?;
    let sealed = unb64(ring.blocklist_desks.get(desk)?, "").ok()?;
    let secret = crate::device::desk_secret(ring)?;
    let key = crypto::open(&desk_key(&secret, index), &desk_aad(ring, desk), &sealed)
        .and_then(|b| ClassKey::from_slice(&b))?;
    let public = ring.class_public(DataClass::Blocklist).ok().flatten()?;
    (key.public() == public).then_some(key)
}

impl Vault {
    /// This desk's copy of the blocklist key, opened with `keys`' index key (the attacker kit).
    #[cfg(any(test, debug_assertions))]
    pub(crate) fn probe_desk_blocklist(
        ring: &Keyring,
        keys: &crate::keys::Keys,
    ) -> Option<ClassKey> {
        open_desk_copy(ring, keys.class(DataClass::Index)?)
    }
}

/// What a sign-in did about the blocklist key, for its audit entry.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct AtSignIn {
    /// An admin's sign-in made the key (a vault from before it existed).
    pub created: bool,
    /// This desk was enrolled (or its copy renewed).
    pub enrolled: bool,
}

impl Vault {
    /// At sign-in, once the member's role is checked: an admin of a vault without the key makes
    /// it (sealed to every admin and the recovery member) and enrols this desk; a member of a
    /// role that looks up identifiers takes this desk's copy, when there is one.
    pub(crate) fn blocklist_at_sign_in(&self, ring: &mut Keyring, role: Role) -> Result<AtSignIn> {
        let mut done = AtSignIn::default();
        if role == Role::Admin
            && self.keys().me.is_some()
            && ring.class_public(DataClass::Blocklist)?.is_none()
        {
            let key = ClassKey::random();
            let admins: Vec<(String, [u8; crypto::PUBLIC_LEN])> = ring
                .members
                .keys()
                .filter_map(|slot| {
                    let (member, public) = ring.registered(slot)?;
                    (member.role == Role::Admin.as_str() || slot == RECOVERY_SLOT)
                        .then(|| (slot.clone(), public.wrap))
                })
                .collect();
            for (slot, public) in &admins {
                ring.seal_class_to(DataClass::Blocklist, &key, slot, public);
            }
            ring.set_class_public(DataClass::Blocklist, &key);
            self.keys_mut().insert_class(DataClass::Blocklist, key);
            done.created = true;
        }
        let keys = self.keys().clone();
        let Some(index) = keys.class(DataClass::Index) else {
            return Ok(done);
        };
        match keys.class(DataClass::Blocklist) {
            Some(key) => {
                if open_desk_copy(ring, index).as_ref() != Some(key) {
                    if ring.desk_record.is_none() {
                        ring.desk_record = Some(crate::keyring::hex_id());
                    }
                    let desk = ring.desk_record.clone().unwrap_or_default();
                    if let Some(secret) = crate::device::desk_secret_or_new(ring) {
                        let sealed = crypto::seal(
                            &desk_key(&secret, index),
                            &desk_aad(ring, &desk),
                            key.secret().expose(),
                        );
                        ring.blocklist_desks.insert(desk, b64(&sealed));
                        done.enrolled = true;
                    }
                }
            }
            None => self.keys_mut().desk_blocklist = open_desk_copy(ring, index),
        }
        Ok(done)
    }

    /// Which of `form`'s identifiers (by kind) are on the blocklist under the blocklist key,
    /// and whether they could be checked: `false` when keyed entries exist and this session
    /// has no blocklist key (a desk no admin has enrolled).
    pub(crate) fn keyed_blocklist_matches(
        &self,
        form: Option<&ApplicationForm>,
    ) -> Result<(Vec<String>, bool)> {
        let conn = self.conn();
        let any: bool = conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM blocklist WHERE keyed = 1)")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(VaultError::storage("checking the blocklist"))?;
        if !any {
            return Ok((Vec::new(), true));
        }
        let keys = self.keys();
        let (Some(key), Some(form)) = (keys.blocklist(), form) else {
            return Ok((Vec::new(), false));
        };
        let mut stmt = conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM blocklist
                     WHERE kind = ?1 AND digest = ?2 AND keyed = 1)",
            )
            .map_err(VaultError::storage("checking the blocklist"))?;
        let mut found = Vec::new();
        for (kind, value) in identifiers(form) {
            let hit: bool = stmt
                .query_row(params![kind, digest(key, kind, &value).as_slice()], |r| {
                    r.get(0)
                })
                .map_err(VaultError::storage("checking the blocklist"))?;
            if hit {
                found.push(kind.to_string());
            }
        }
        Ok((found, true))
    }

    /// Whether this session can add to the blocklist (it holds the key, or this desk's copy).
    pub fn can_blocklist(&self) -> bool {
        self.keys().blocklist().is_some()
    }

    /// The entries, newest first: what was blocked, why, on which basis and until when — never
    /// a digest or a value.
    pub fn blocklist_entries(&self, limit: u32, offset: u32) -> Result<Vec<BlocklistEntry>> {
        self.conn()
            .prepare_cached(
                "SELECT kind, application_id, reason, legal_basis, added_by, added_at,
                        retain_until, keyed
                 FROM blocklist ORDER BY added_at DESC, kind LIMIT ?1 OFFSET ?2",
            )
            .and_then(|mut s| {
                s.query_map(params![limit, offset], |r| {
                    Ok(BlocklistEntry {
                        kind: r.get(0)?,
                        application_id: r.get(1)?,
                        reason: r.get(2)?,
                        legal_basis: r.get(3)?,
                        added_by: r.get(4)?,
                        added_at: r.get(5)?,
                        retain_until: r.get(6)?,
                        keyed: r.get(7)?,
                    })
                })?
                .collect()
            })
            .map_err(VaultError::storage("listing the blocklist"))
    }
}

/// A blocklist entry as an admin sees it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BlocklistEntry {
    pub kind: String,
    pub application_id: Option<String>,
    pub reason: String,
    /// One of [`LegalBasis`], or `unrecorded` for an entry from before bases were recorded.
    pub legal_basis: String,
    pub added_by: String,
    pub added_at: i64,
    pub retain_until: Option<i64>,
    /// Under the blocklist key (false: a blind-index digest from before this version).
    pub keyed: bool,
}

/// What is blocked, as [`Tx::block_identifiers`] takes it.
pub struct NewBlock<'a> {
    pub application_id: &'a str,
    pub form: &'a ApplicationForm,
    pub reason: &'a str,
    pub basis: LegalBasis,
    pub actor: &'a str,
    pub now_ms: i64,
    /// Years the entries are kept.
    pub years: u32,
}

impl Tx<'_> {
    /// Adds the application's EIN, SSNs/ITINs and bank account to the blocklist under the
    /// blocklist key. Returns how many were new.
    pub fn block_identifiers(&self, b: &NewBlock<'_>) -> Result<usize> {
        let keys = self.keys();
        let key = keys
            .blocklist()
            .ok_or(VaultError::NoKey(DataClass::Blocklist.described()))?;
        let retain_until = b.now_ms + i64::from(b.years) * YEAR_MS;
        let mut stmt = self
            .conn()
            .prepare_cached(
                "INSERT OR IGNORE INTO blocklist (kind, digest, application_id, reason, added_by,
                     added_at, keyed, legal_basis, retain_until)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8)",
            )
            .map_err(VaultError::storage("adding to the blocklist"))?;
        let mut added = 0;
        for (kind, value) in identifiers(b.form) {
            added += stmt
                .execute(params![
                    kind,
                    digest(key, kind, &value).as_slice(),
                    b.application_id,
                    b.reason,
                    b.actor,
                    b.now_ms,
                    b.basis.as_str(),
                    retain_until
                ])
                .map_err(VaultError::storage("adding to the blocklist"))?;
        }
        Ok(added)
    }

    /// Before an erasure: the entries of the application's identifiers still under a
    /// blind-index digest (one per identifier, whichever application added it) get the
    /// blocklist key's instead (same reason, basis and retention), while the values can still
    /// be read. Without the blocklist key they stay as they are. Returns how many moved.
    pub(crate) fn rekey_legacy_blocklist(&self, form: &ApplicationForm) -> Result<usize> {
        let keys = self.keys();
        let (Some(key), true) = (keys.blocklist(), keys.holds(DataClass::Index)) else {
            return Ok(0);
        };
        let conn = self.conn();
        let mut moved = 0;
        for (kind, value) in identifiers(form) {
            let legacy = crate::seal::blind_index(&keys, kind, &value)?;
            moved += conn
                .execute(
                    "INSERT OR IGNORE INTO blocklist (kind, digest, application_id, reason,
                         added_by, added_at, keyed, legal_basis, retain_until)
                     SELECT kind, ?3, application_id, reason, added_by, added_at, 1,
                            legal_basis, retain_until
                     FROM blocklist WHERE kind = ?1 AND digest = ?2 AND keyed = 0",
                    params![
                        kind,
                        legacy.as_slice(),
                        digest(key, kind, &value).as_slice()
                    ],
                )
                .and_then(|_| {
                    conn.execute(
                        "DELETE FROM blocklist WHERE kind = ?1 AND digest = ?2 AND keyed = 0",
                        params![kind, legacy.as_slice()],
                    )
                })
                .map_err(VaultError::storage("re-keying blocklist entries"))?;
        }
        Ok(moved)
    }

    /// Deletes the entries whose retention ended by `now_ms`; returns how many.
    pub fn expire_blocklist(&self, now_ms: i64) -> Result<usize> {
        self.conn()
            .execute(
                "DELETE FROM blocklist WHERE retain_until IS NOT NULL AND retain_until <= ?1",
                [now_ms],
            )
            .map_err(VaultError::storage("expiring blocklist entries"))
    }
}
