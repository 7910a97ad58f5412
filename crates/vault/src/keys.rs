//! Access by keys (issue 16): what each role may open, the class keys, and a member's own keys.
//!
//! - Every user is a **member** with two key pairs: X25519 (class keys are sealed to it) and
//!   Ed25519 (signs the registrations it makes as an admin). The private halves are sealed under
//!   the argon2id key of the member's password, in their keyring slot.
//! - Data is split into **classes**. Each class key is an X25519 secret: anyone can seal a record
//!   key to its public half (a user enrolling their own authenticator wraps it to the secrets
//!   class), only its holders open it. Its symmetric wrapping key (HKDF of the secret) wraps
//!   the class's per-record keys.
//! - A class key is sealed to the member key of every user whose role may read it, and to the
//!   recovery key's. So an auditor's password opens no identifier and no secret: no such key
//!   was ever sealed to them.

use std::collections::BTreeMap;

use domain::Role;
use zeroize::Zeroizing;

use crate::crypto::{self, Key, KEY_LEN, PUBLIC_LEN, SIGNATURE_LEN};
use crate::{Result, VaultError};

/// A class of data, each with its own key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DataClass {
    /// Statuses, scores, times, the database file itself, the audit head, backups: every member.
    Metadata,
    /// Names, addresses, notes, screening details, masked identifiers: every role.
    Case,
    /// SSN, ITIN, EIN, passport and account numbers, documents, and the platform key (the desk
    /// that boards sends both): admins, leads, underwriters.
    Identifiers,
    /// The blind-index key (exact look-ups on identifiers): the roles that read identifiers.
    Index,
    /// Every user's authenticator secret (each also sealed to its own user): admins.
    Secrets,
    /// The blocklist key (the digests of blocklisted identifiers, kept after an erasure under
    /// their legal basis): admins; a desk an admin enrolled keeps a copy that opens only with
    /// the index key as well (`crate::blocklist`).
    Blocklist,
}

impl DataClass {
    pub const ALL: [DataClass; 6] = [
        DataClass::Metadata,
        DataClass::Case,
        DataClass::Identifiers,
        DataClass::Index,
        DataClass::Secrets,
        DataClass::Blocklist,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DataClass::Metadata => "metadata",
            DataClass::Case => "case",
            DataClass::Identifiers => "identifiers",
            DataClass::Index => "index",
            DataClass::Secrets => "secrets",
            DataClass::Blocklist => "blocklist",
        }
    }

    pub fn parse(text: &str) -> Option<DataClass> {
        DataClass::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// What a refusal says the member lacks.
    pub fn described(self) -> &'static str {
        match self {
            DataClass::Metadata => "the vault's metadata",
            DataClass::Case => "case details (names, addresses, notes, screening details)",
            DataClass::Identifiers => {
                "identifiers and documents (SSN, ITIN, EIN, passport and account numbers, document files)"
            }
            DataClass::Index => "look-ups by identifier (EIN, SSN, account number)",
            DataClass::Secrets => "secrets (authenticator secrets)",
            DataClass::Blocklist => {
                "the blocklist key (an admin signs in on this desk once to enrol it)"
            }
        }
    }

    /// The classes whose keys a role's members hold.
    pub fn for_role(role: Role) -> &'static [DataClass] {
        const READERS: [DataClass; 4] = [
            DataClass::Metadata,
            DataClass::Case,
            DataClass::Identifiers,
            DataClass::Index,
        ];
        match role {
            Role::Admin => &DataClass::ALL,
            Role::Lead | Role::Underwriter => &READERS,
            Role::Auditor => &[DataClass::Metadata, DataClass::Case],
        }
    }
}

/// A class key: an X25519 secret (its public half lets anyone wrap to the class).
#[derive(Clone, PartialEq, Eq)]
pub struct ClassKey(Key);

impl std::fmt::Debug for ClassKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClassKey(••••)")
    }
}

impl ClassKey {
    pub fn random() -> Self {
        Self(Key::random())
    }

    pub(crate) fn from_key(key: Key) -> Self {
        Self(key)
    }

    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Self> {
        Key::from_slice(bytes).map(Self)
    }

    /// The secret itself: keys derived from it (the database key's wrapping, the audit head's
    /// MAC, a backup's key, the blind-index keys) use it as their input key.
    pub(crate) fn secret(&self) -> &Key {
        &self.0
    }

    pub fn public(&self) -> [u8; PUBLIC_LEN] {
        crypto::x25519_public(&self.0)
    }

    /// The symmetric key that wraps the class's record keys.
    pub(crate) fn wrapping(&self) -> Key {
        crypto::derive(&self.0, b"class", b"boarding-desk/class-wrap/v1")
    }

    /// Opens a record key sealed to the class's public half.
    pub(crate) fn unseal(&self, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        crypto::unseal(&self.0, sealed)
    }
}

/// A member's public keys, as registered in the keyring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberPublic {
    pub wrap: [u8; PUBLIC_LEN],
    pub sign: [u8; PUBLIC_LEN],
}

/// A member's private keys: X25519 (opens what is sealed to them) and the Ed25519 seed.
#[derive(Clone)]
pub struct MemberKeys {
    wrap: Key,
    sign: Key,
}

impl std::fmt::Debug for MemberKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemberKeys(••••)")
    }
}

impl MemberKeys {
    pub fn generate() -> Self {
        Self {
            wrap: Key::random(),
            sign: Key::random(),
        }
    }

    /// Both secrets, for sealing under a password key.
    pub(crate) fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new([self.wrap.expose().as_slice(), self.sign.expose().as_slice()].concat())
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != 2 * KEY_LEN {
            return None;
        }
        Some(Self {
            wrap: Key::from_slice(&bytes[..KEY_LEN])?,
            sign: Key::from_slice(&bytes[KEY_LEN..])?,
        })
    }

    pub fn public(&self) -> MemberPublic {
        MemberPublic {
            wrap: crypto::x25519_public(&self.wrap),
            sign: crypto::ed25519_public(&self.sign),
        }
    }

    pub(crate) fn unseal(&self, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        crypto::unseal(&self.wrap, sealed)
    }

    /// The Ed25519 seed it signs with.
    pub(crate) fn signing_seed(&self) -> &Key {
        &self.sign
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        crypto::sign(&self.sign, message)
    }
}

/// What an open vault holds: the keys of the classes its member may read (metadata always),
/// and the member's own keys (none when it was opened with the recovery key).
#[derive(Clone)]
pub struct Keys {
    metadata: ClassKey,
    classes: BTreeMap<DataClass, ClassKey>,
    /// Every class's public key, held or not (to seal a record key to a class).
    publics: BTreeMap<DataClass, [u8; PUBLIC_LEN]>,
    /// Every class's current generation (1 until its first rotation).
    generations: BTreeMap<DataClass, u32>,
    /// Earlier generations of the held classes (until every record key is re-wrapped).
    old: BTreeMap<(DataClass, u32), ClassKey>,
    pub(crate) me: Option<MemberKeys>,
    /// The blocklist key through this desk's enrolment, for a member who holds the index
    /// class but not the blocklist class (`crate::blocklist`).
    pub(crate) desk_blocklist: Option<ClassKey>,
}

impl Keys {
    /// This member's own keys, to sign with (a legacy session has none).
    pub(crate) fn signer(&self) -> crate::Result<&MemberKeys> {
        self.me
            .as_ref()
            .ok_or(crate::VaultError::NoKey("a member key to sign with"))
    }

    /// Whether earlier generations of a class that wraps record keys are still held: record
    /// keys wait to be re-wrapped after a rotation.
    pub(crate) fn rewrap_due(&self) -> bool {
        self.old.keys().any(|(class, _)| {
            matches!(
                class,
                DataClass::Case | DataClass::Identifiers | DataClass::Secrets
            )
        })
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("classes", &self.held().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// The metadata key and the other classes' (a metadata entry among them is ignored).
    pub(crate) fn new(
        metadata: ClassKey,
        mut classes: BTreeMap<DataClass, ClassKey>,
        me: Option<MemberKeys>,
    ) -> Self {
        classes.remove(&DataClass::Metadata);
        Self {
            metadata,
            classes,
            publics: BTreeMap::new(),
            generations: BTreeMap::new(),
            old: BTreeMap::new(),
            me,
            desk_blocklist: None,
        }
    }

    /// Adds a class key the member was just given (a class created after they opened).
    pub(crate) fn insert_class(&mut self, class: DataClass, key: ClassKey) {
        if class != DataClass::Metadata {
            self.publics.insert(class, key.public());
            self.classes.insert(class, key);
        }
    }

    /// The keys of `classes` to give another member, each required — but the blocklist class,
    /// skipped when not held: a vault from before it gets it at an admin's next sign-in.
    pub(crate) fn grants(&self, classes: &[DataClass]) -> Result<Vec<(DataClass, ClassKey)>> {
        classes
            .iter()
            .filter(|c| **c != DataClass::Blocklist || self.holds(DataClass::Blocklist))
            .map(|c| Ok((*c, self.require(*c)?.clone())))
            .collect()
    }

    /// The key blocklist digests are made with: the member's own, else this desk's copy.
    pub(crate) fn blocklist(&self) -> Option<&ClassKey> {
        self.class(DataClass::Blocklist)
            .or(self.desk_blocklist.as_ref())
    }

    pub(crate) fn with_history(
        mut self,
        generations: BTreeMap<DataClass, u32>,
        old: BTreeMap<(DataClass, u32), ClassKey>,
    ) -> Self {
        self.generations = generations;
        self.old = old;
        self
    }

    /// The class's current generation: what new record keys are wrapped under.
    pub(crate) fn generation(&self, class: DataClass) -> u32 {
        self.generations.get(&class).copied().unwrap_or(1)
    }

    /// The earlier generations of a held class.
    pub(crate) fn old_of(&self, class: DataClass) -> Vec<(u32, ClassKey)> {
        self.old
            .iter()
            .filter(|((c, _), _)| *c == class)
            .map(|((_, g), k)| (*g, k.clone()))
            .collect()
    }

    /// The class key of a generation: the current one, or an earlier one the current opens.
    pub(crate) fn class_at(&self, class: DataClass, generation: u32) -> Option<&ClassKey> {
        if generation == self.generation(class) {
            self.class(class)
        } else {
            self.old.get(&(class, generation))
        }
    }

    pub(crate) fn with_publics(mut self, publics: BTreeMap<DataClass, [u8; PUBLIC_LEN]>) -> Self {
        self.publics = publics;
        self
    }

    /// A class's public key: what a record key of that class is sealed to.
    pub(crate) fn public(&self, class: DataClass) -> Option<[u8; PUBLIC_LEN]> {
        self.class(class)
            .map(ClassKey::public)
            .or_else(|| self.publics.get(&class).copied())
    }

    pub fn holds(&self, class: DataClass) -> bool {
        class == DataClass::Metadata || self.classes.contains_key(&class)
    }

    pub fn held(&self) -> impl Iterator<Item = DataClass> + '_ {
        std::iter::once(DataClass::Metadata).chain(self.classes.keys().copied())
    }

    pub(crate) fn class(&self, class: DataClass) -> Option<&ClassKey> {
        match class {
            DataClass::Metadata => Some(&self.metadata),
            other => self.classes.get(&other),
        }
    }

    /// The class key, or the refusal that names what the member lacks.
    pub(crate) fn require(&self, class: DataClass) -> Result<&ClassKey> {
        self.class(class)
            .ok_or(VaultError::NoKey(class.described()))
    }

    /// The first generation's metadata secret: the keys of the audit head, the erasure ledger
    /// and backups are derived from it, so they outlive rotations.
    pub(crate) fn metadata(&self) -> &Key {
        self.old
            .get(&(DataClass::Metadata, 1))
            .unwrap_or(&self.metadata)
            .secret()
    }

    /// The current metadata secret: it wraps the database key.
    pub(crate) fn db_wrap(&self) -> &Key {
        self.metadata.secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_hold_exactly_their_classes() {
        use DataClass as C;
        assert_eq!(DataClass::for_role(Role::Admin), &DataClass::ALL);
        for role in [Role::Lead, Role::Underwriter] {
            let held = DataClass::for_role(role);
            assert!(held.contains(&C::Identifiers) && !held.contains(&C::Secrets));
        }
        let auditor = DataClass::for_role(Role::Auditor);
        assert_eq!(auditor, &[C::Metadata, C::Case]);
        for c in DataClass::ALL {
            assert_eq!(DataClass::parse(c.as_str()), Some(c));
        }
    }

    #[test]
    fn a_member_opens_what_is_sealed_to_it_and_nothing_sealed_to_another() {
        let alice = MemberKeys::generate();
        let bob = MemberKeys::generate();
        let class = ClassKey::random();
        let sealed = crypto::seal_to(&alice.public().wrap, class.secret().expose());
        assert_eq!(
            alice.unseal(&sealed).as_deref().map(Vec::as_slice),
            Some(class.secret().expose().as_slice())
        );
        assert!(bob.unseal(&sealed).is_none());
        let back = MemberKeys::from_bytes(&alice.to_bytes()).unwrap();
        assert_eq!(back.public(), alice.public());
        let sig = alice.sign(b"registration");
        assert!(crypto::verify(&alice.public().sign, b"registration", &sig));
        assert!(!crypto::verify(&bob.public().sign, b"registration", &sig));
        assert!(!crypto::verify(&alice.public().sign, b"registratioN", &sig));
    }
}
