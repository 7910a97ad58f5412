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
use serde::Serialize;

use crate::crypto::{self, Key};
use crate::keyring::{b64, unb64, DeskCopy, Keyring};
use crate::keys::{ClassKey, DataClass};
use crate::{args, Result, Tx, Vault, VaultError};

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

/// What the enrolling admin signs: this vault, this desk, this key.
fn desk_message(ring: &Keyring, desk: &str, public: &str) -> Vec<u8> {
    format!(
        "boarding-desk/blocklist-desk/v1\n{}\n{desk}\n{public}",
        ring.vault_id
    )
    .into_bytes()
}

/// This desk's copy in `ring`, opened with `index` — only if an admin whose registration
/// verifies signed it, and it is the key they signed.
fn open_desk_copy(ring: &Keyring, index: &ClassKey) -> Option<ClassKey> {
    let desk = ring.desk_record.as_deref()?;
    let copy = ring.blocklist_desks.get(desk)?;
    let (member, signer) = ring.registered(&copy.signer)?;
    let signature = unb64(&copy.signature, "").ok()?;
    if member.role != Role::Admin.as_str()
        || !crypto::verify(
            &signer.sign,
            &desk_message(ring, desk, &copy.public),
            &signature,
        )
    {
        return None;
    }
    let secret = crate::device::desk_secret(ring)?;
    let sealed = unb64(&copy.sealed, "").ok()?;
    let key = crypto::open(&desk_key(&secret, index), &desk_aad(ring, desk), &sealed)
        .and_then(|b| ClassKey::from_slice(&b))?;
    (b64(&key.public()) == copy.public).then_some(key)
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

/// A desk copy of a fresh key, sealed as the desk's would be and signed by `me` in `signer`'s
/// name (the attacker kit).
#[cfg(any(test, debug_assertions))]
pub(crate) fn forged_desk_copy(
    ring: &Keyring,
    keys: &crate::keys::Keys,
    signer: &str,
    me: &crate::keys::MemberKeys,
) -> Option<DeskCopy> {
    let desk = ring.desk_record.as_deref()?;
    let secret = crate::device::desk_secret(ring)?;
    let index = keys.class(DataClass::Index)?;
    let key = ClassKey::random();
    let public = b64(&key.public());
    let sealed = crypto::seal(
        &desk_key(&secret, index),
        &desk_aad(ring, desk),
        key.secret().expose(),
    );
    Some(DeskCopy {
        sealed: b64(&sealed),
        signature: b64(&me.sign(&desk_message(ring, desk, &public))),
        public,
        signer: signer.to_string(),
    })
}

/// What a sign-in did about the blocklist key, for its audit entry.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct AtSignIn {
    /// An admin's sign-in made the key (a vault from before it existed).
    pub created: bool,
    /// This desk was enrolled (or its copy renewed).
    pub enrolled: bool,
    /// The keyring holds no blocklist key while entries under one exist: it was edited (the
    /// key is not made again — that would silently stop every entry matching).
    pub missing: bool,
}

/// What [`Vault::make_blocklist_key`] found.
#[derive(Debug, PartialEq, Eq)]
enum Making {
    Made,
    /// There was one already, or this session cannot make one (no member key to sign with).
    NotNeeded,
    /// None in the keyring, entries under one in the vault.
    Missing,
}

impl Vault {
    /// Makes the blocklist key of a vault from before it (an admin's or the recovery member's
    /// session), sealed to every admin and the recovery member — unless entries under a key
    /// exist, which means the keyring lost it.
    fn make_blocklist_key(&self, ring: &mut Keyring) -> Result<Making> {
        if self.keys().me.is_none() || ring.class_public(DataClass::Blocklist)?.is_some() {
            return Ok(Making::NotNeeded);
        }
        let keyed = self
            .db()
            .query_value::<bool>(
                "checking the blocklist",
                "SELECT EXISTS (SELECT 1 FROM blocklist WHERE keyed = 1)",
                &[],
            )?
            .unwrap_or(false);
        if keyed {
            return Ok(Making::Missing);
        }
        let key = ClassKey::random();
        let admins: Vec<(String, [u8; crypto::PUBLIC_LEN])> = ring
            .members
            .keys()
            .filter_map(|slot| {
                let (member, public) = ring.registered(slot)?;
                (member.role == Role::Admin.as_str()).then(|| (slot.clone(), public.wrap))
            })
            .collect();
        for (slot, public) in &admins {
            ring.seal_class_to(DataClass::Blocklist, &key, slot, public);
        }
        ring.set_class_public(DataClass::Blocklist, &key);
        self.keys_mut().insert_class(DataClass::Blocklist, key);
        Ok(Making::Made)
    }

    /// Before a restore replays erasures: the restoring admin's (or recovery) session makes the
    /// blocklist key of an archive from before it, so the replayed erasures re-key their
    /// applications' old entries. Returns whether it made one.
    pub(crate) fn ensure_blocklist_key(&self) -> Result<bool> {
        if self.keys().holds(DataClass::Blocklist) {
            return Ok(false);
        }
        let lock = self.keyring.lock()?;
        let mut ring = self.keyring.load()?;
        if self.make_blocklist_key(&mut ring)? != Making::Made {
            return Ok(false);
        }
        self.keyring.save(&ring, &lock)?;
        Ok(true)
    }

    /// At sign-in, once the member's role is checked: an admin of a vault without the key makes
    /// it and enrols this desk (signing the copy); any other member of a role that looks up
    /// identifiers takes this desk's copy, when there is one an admin signed.
    pub(crate) fn blocklist_at_sign_in(&self, ring: &mut Keyring, role: Role) -> Result<AtSignIn> {
        let mut done = AtSignIn::default();
        if role == Role::Admin {
            match self.make_blocklist_key(ring)? {
                Making::Made => done.created = true,
                Making::Missing => done.missing = true,
                Making::NotNeeded => {}
            }
        }
        let keys = self.keys().clone();
        let Some(index) = keys.class(DataClass::Index) else {
            return Ok(done);
        };
        match (keys.class(DataClass::Blocklist), keys.me.as_ref(), role) {
            (Some(key), Some(me), Role::Admin) => {
                // Only a folder this desk already keeps a record of is enrolled (the record's
                // key is the desk's secret); a new folder's first save makes the record, and
                // the next admin sign-in enrols it.
                let (Some(desk), Some(secret)) =
                    (ring.desk_record.clone(), crate::device::desk_secret(ring))
                else {
                    return Ok(done);
                };
                if open_desk_copy(ring, index).as_ref() != Some(key) {
                    let public = b64(&key.public());
                    let sealed = crypto::seal(
                        &desk_key(&secret, index),
                        &desk_aad(ring, &desk),
                        key.secret().expose(),
                    );
                    let signature = me.sign(&desk_message(ring, &desk, &public));
                    ring.blocklist_desks.insert(
                        desk,
                        DeskCopy {
                            sealed: b64(&sealed),
                            public,
                            signer: self.slot.clone(),
                            signature: b64(&signature),
                        },
                    );
                    done.enrolled = true;
                }
            }
            (Some(_), _, _) => {}
            (None, _, _) => self.keys_mut().desk_blocklist = open_desk_copy(ring, index),
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
        let db = self.db();
        let any = db
            .query_value::<bool>(
                "checking the blocklist",
                "SELECT EXISTS (SELECT 1 FROM blocklist WHERE keyed = 1)",
                &[],
            )?
            .unwrap_or(false);
        if !any {
            return Ok((Vec::new(), true));
        }
        let keys = self.keys();
        let (Some(key), Some(form)) = (keys.blocklist(), form) else {
            return Ok((Vec::new(), false));
        };
        let mut found = Vec::new();
        for (kind, value) in identifiers(form) {
            let hit = db
                .query_value::<bool>(
                    "checking the blocklist",
                    "SELECT EXISTS (SELECT 1 FROM blocklist
                         WHERE kind = ?1 AND digest = ?2 AND keyed = 1)",
                    args![kind, digest(key, kind, &value).as_slice()],
                )?
                .unwrap_or(false);
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
        self.db().query_map(
            "listing the blocklist",
            "SELECT kind, application_id, reason, legal_basis, added_by, added_at,
                    retain_until, keyed
             FROM blocklist ORDER BY added_at DESC, kind LIMIT ?1 OFFSET ?2",
            args![limit, offset],
            |r| {
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
            },
        )
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
    /// blocklist key. An identifier already on it is renewed: this decision's reason, basis,
    /// decider and time, kept until the later of the two retentions. Returns how many were
    /// added or renewed.
    pub fn block_identifiers(&self, b: &NewBlock<'_>) -> Result<usize> {
        let keys = self.keys();
        let key = keys
            .blocklist()
            .ok_or(VaultError::NoKey(DataClass::Blocklist.described()))?;
        let retain_until = b.now_ms + i64::from(b.years) * YEAR_MS;
        let mut added = 0;
        for (kind, value) in identifiers(b.form) {
            added += self.db().execute(
                "adding to the blocklist",
                "INSERT INTO blocklist (kind, digest, application_id, reason, added_by,
                     added_at, keyed, legal_basis, retain_until)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8)
                 ON CONFLICT (kind, digest) DO UPDATE SET
                     application_id = excluded.application_id, reason = excluded.reason,
                     added_by = excluded.added_by, added_at = excluded.added_at,
                     legal_basis = excluded.legal_basis,
                     retain_until = CASE
                         WHEN COALESCE(blocklist.retain_until, 0) > excluded.retain_until
                             THEN blocklist.retain_until
                         ELSE excluded.retain_until
                     END",
                args![
                    kind,
                    digest(key, kind, &value).as_slice(),
                    b.application_id,
                    b.reason,
                    b.actor,
                    b.now_ms,
                    b.basis.as_str(),
                    retain_until
                ],
            )?;
        }
        Ok(added as usize)
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
        let db = self.db();
        let mut moved = 0;
        for (kind, value) in identifiers(form) {
            let legacy = crate::seal::blind_index(&keys, kind, &value)?;
            db.execute(
                "re-keying blocklist entries",
                "INSERT INTO blocklist (kind, digest, application_id, reason,
                     added_by, added_at, keyed, legal_basis, retain_until)
                 SELECT kind, ?3, application_id, reason, added_by, added_at, 1,
                        legal_basis, retain_until
                 FROM blocklist WHERE kind = ?1 AND digest = ?2 AND keyed = 0
                 ON CONFLICT DO NOTHING",
                args![
                    kind,
                    legacy.as_slice(),
                    digest(key, kind, &value).as_slice()
                ],
            )?;
            moved += db.execute(
                "re-keying blocklist entries",
                "DELETE FROM blocklist WHERE kind = ?1 AND digest = ?2 AND keyed = 0",
                args![kind, legacy.as_slice()],
            )?;
        }
        Ok(moved as usize)
    }

    /// Deletes the entries whose retention ended by `now_ms`; returns how many.
    pub fn expire_blocklist(&self, now_ms: i64) -> Result<usize> {
        self.db()
            .execute(
                "expiring blocklist entries",
                "DELETE FROM blocklist WHERE retain_until IS NOT NULL AND retain_until <= ?1",
                args![now_ms],
            )
            .map(|n| n as usize)
    }
}
