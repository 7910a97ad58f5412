//! Field-level sealing on top of the file encryption, and blind indexes.
//!
//! Each record has random keys in `record_keys`, one per class of its fields, each wrapped by
//! its class key (issue 16): an application has a case key (names, notes, masked copies) and an
//! identifiers key (full copies with SSN, EIN and account numbers, documents); a user's
//! authenticator secret and the platform key have a secret key sealed to the secrets class (and
//! to the user). A field is sealed with XChaCha20-Poly1305 bound to (record id, field name).
//! Deleting the record's keys crypto-shreds every field of it. A blind index is HMAC-SHA256
//! under a key derived for the kind of value (EIN, SSN, bank account) from the index class key.

use crate::sql::{Db, Engine};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::crypto::{self, Key};
use crate::keys::{DataClass, Keys};
use crate::{args, Result, VaultError};

/// Bytes sealed under a record key: a nonce, the ciphertext and its tag, bound to one record
/// and one field. Only [`RecordKey::open`] turns them back into plaintext; they are stored as
/// a BLOB and never printed (`Debug` shows the length).
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed(Vec<u8>);

impl Sealed {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// As lower-case hex, for a text column (a sealed setting).
    pub fn to_hex(&self) -> String {
        data_encoding::HEXLOWER.encode(&self.0)
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    #[cfg(debug_assertions)]
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        self.0.clone()
    }

    /// As read from a column (`sql.rs`); only opening it with its record key says it is one.
    pub(crate) fn from_bytes(bytes: Vec<u8>) -> Self {
        Sealed(bytes)
    }

    /// From [`Sealed::to_hex`]; `None` for text that is not hex.
    pub fn from_hex(text: &str) -> Option<Sealed> {
        data_encoding::HEXLOWER
            .decode(text.as_bytes())
            .ok()
            .map(Sealed)
    }
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealed({} bytes)", self.0.len())
    }
}

impl rusqlite::ToSql for Sealed {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        self.0.to_sql()
    }
}

impl rusqlite::types::FromSql for Sealed {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        Vec::<u8>::column_result(value).map(Sealed)
    }
}

/// The class a sealed field belongs to, by its name (the part before any `:`). A name this
/// list does not know is an identifier: the strictest class a record key opens.
pub(crate) fn field_class(field: &str) -> DataClass {
    match field.split(':').next().unwrap_or(field) {
        // Masked copies and what the product shows every role.
        "application.masked" | "person.masked" | "bank.masked" | "document-name" | "note"
        | "hit" | "boarding_error" | "names" | "decision-note" | "history-note"
        | "disposition-note" => DataClass::Case,
        "totp_secret" => DataClass::Secrets,
        // `application`, `person`, `bank` (whole copies), `document`, `merchant_change`,
        // `job_payload` (what the platform is sent), and `platform_key`: the desk that boards
        // sends it, so the roles that board hold it (see docs/SECURITY.md).
        _ => DataClass::Identifiers,
    }
}

/// Where a record key is wrapped (the `class` column of `record_keys`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wrap {
    /// Under a class's symmetric wrapping key (case, identifiers).
    Class(DataClass),
    /// Sealed to the secrets class's public key.
    Secrets,
    /// Sealed to the public key of the user the record belongs to.
    Own,
}

impl Wrap {
    fn as_str(self) -> &'static str {
        match self {
            Wrap::Class(c) => c.as_str(),
            Wrap::Secrets => "secrets",
            Wrap::Own => "own",
        }
    }

    fn parse(text: &str) -> Option<Wrap> {
        match text {
            "own" => Some(Wrap::Own),
            "secrets" => Some(Wrap::Secrets),
            other => DataClass::parse(other).map(Wrap::Class),
        }
    }
}

/// The keys of one record's sealed fields: one per class the record has and the member holds.
pub struct RecordKey {
    record_id: String,
    case: Option<Key>,
    identifiers: Option<Key>,
    secret: Option<Key>,
}

impl RecordKey {
    fn aad(&self, field: &str) -> Vec<u8> {
        [self.record_id.as_bytes(), b"|", field.as_bytes()].concat()
    }

    fn key_for(&self, field: &str) -> Result<&Key> {
        let class = field_class(field);
        let key = match class {
            DataClass::Identifiers => self.identifiers.as_ref(),
            DataClass::Secrets => self.secret.as_ref(),
            _ => self.case.as_ref(),
        };
        key.ok_or(VaultError::NoKey(class.described()))
    }

    /// Whether this member can open fields of `class` of this record.
    pub fn opens(&self, class: DataClass) -> bool {
        match class {
            DataClass::Identifiers => self.identifiers.is_some(),
            DataClass::Secrets => self.secret.is_some(),
            _ => self.case.is_some(),
        }
    }

    pub fn seal(&self, field: &str, plaintext: &[u8]) -> Result<Sealed> {
        Ok(Sealed(crypto::seal(
            self.key_for(field)?,
            &self.aad(field),
            plaintext,
        )))
    }

    pub fn open(&self, field: &str, sealed: &Sealed) -> Result<Zeroizing<Vec<u8>>> {
        crypto::open(self.key_for(field)?, &self.aad(field), &sealed.0).ok_or(
            VaultError::VaultDamaged("a sealed field does not open with its record key"),
        )
    }

    /// The format-1 key of a record (HKDF of the root key and its salt), for the upgrade.
    pub(crate) fn legacy(root: &Key, record_id: &str, salt: &[u8]) -> RecordKey {
        let key = legacy_key(root, salt);
        RecordKey {
            record_id: record_id.to_string(),
            case: Some(key.clone()),
            identifiers: Some(key.clone()),
            secret: Some(key),
        }
    }
}

impl RecordKey {
    pub(crate) fn from_parts(record_id: &str, case: Option<Key>, identifiers: Option<Key>) -> Self {
        RecordKey {
            record_id: record_id.to_string(),
            case,
            identifiers,
            secret: None,
        }
    }
}

/// A format-1 record key: HKDF of the root key with the record's salt.
pub(crate) fn legacy_key(root: &Key, salt: &[u8]) -> Key {
    crypto::derive(root, salt, b"boarding-desk/record/v1")
}

fn wrap_aad(record_id: &str, wrap: Wrap) -> Vec<u8> {
    [
        b"boarding-desk/record-key/v2|".as_slice(),
        record_id.as_bytes(),
        b"|",
        wrap.as_str().as_bytes(),
    ]
    .concat()
}

/// The wrapped keys of a new case record (case and identifiers), made without the connection
/// so sealing can run on another thread; [`store_wrapped`] makes them the record's.
pub struct FreshKeys {
    /// (class, generation of the class key that wraps it, the wrapped key)
    pub(crate) wrapped: Vec<(&'static str, u32, Vec<u8>)>,
}

/// New random keys for a record with case and identifier fields, wrapped by the two class keys
/// (which the member must hold).
pub(crate) fn fresh_case_record(keys: &Keys, record_id: &str) -> Result<(FreshKeys, RecordKey)> {
    let case_class = keys.require(DataClass::Case)?;
    let ids_class = keys.require(DataClass::Identifiers)?;
    let case = Key::random();
    let identifiers = Key::random();
    let wrapped = vec![
        (
            DataClass::Case.as_str(),
            keys.generation(DataClass::Case),
            crypto::seal(
                &case_class.wrapping(),
                &wrap_aad(record_id, Wrap::Class(DataClass::Case)),
                case.expose(),
            ),
        ),
        (
            DataClass::Identifiers.as_str(),
            keys.generation(DataClass::Identifiers),
            crypto::seal(
                &ids_class.wrapping(),
                &wrap_aad(record_id, Wrap::Class(DataClass::Identifiers)),
                identifiers.expose(),
            ),
        ),
    ];
    Ok((
        FreshKeys { wrapped },
        RecordKey {
            record_id: record_id.to_string(),
            case: Some(case),
            identifiers: Some(identifiers),
            secret: None,
        },
    ))
}

/// Wraps an existing record key for a case record's class (the upgrade keeps format-1 keys).
pub(crate) fn wrap_for_class(
    keys: &Keys,
    record_id: &str,
    class: DataClass,
    key: &Key,
) -> Result<(&'static str, u32, Vec<u8>)> {
    let class_key = keys.require(class)?;
    Ok((
        class.as_str(),
        keys.generation(class),
        crypto::seal(
            &class_key.wrapping(),
            &wrap_aad(record_id, Wrap::Class(class)),
            key.expose(),
        ),
    ))
}

/// Stores a record's wrapped keys; `false` (nothing changed) when the record already has keys.
pub(crate) fn store_wrapped(db: &Db<'_>, record_id: &str, fresh: &FreshKeys) -> Result<bool> {
    let exists = db
        .query_value::<i64>(
            "reading a record key",
            "SELECT 1 FROM record_keys WHERE record_id = ?1 LIMIT 1",
            args![record_id],
        )?
        .is_some();
    if exists {
        return Ok(false);
    }
    let now = OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default();
    for (class, generation, wrapped) in &fresh.wrapped {
        db.execute(
            "creating a record key",
            "INSERT INTO record_keys (record_id, class, generation, wrapped, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            args![record_id, *class, *generation, wrapped, &now],
        )?;
    }
    Ok(true)
}

/// The record's keys, creating them on first use (a case record).
pub fn record_key(db: &Db<'_>, keys: &Keys, record_id: &str) -> Result<RecordKey> {
    if let Some(key) = existing_record_key(db, keys, record_id)? {
        return Ok(key);
    }
    let (fresh, key) = fresh_case_record(keys, record_id)?;
    if store_wrapped(db, record_id, &fresh)? {
        return Ok(key);
    }
    existing_record_key(db, keys, record_id)?.ok_or(VaultError::NotFound("record key"))
}

/// A new key for a record of secrets (an authenticator secret, the platform key), replacing
/// any it had: sealed to the secrets class and, for a user's own record, to that user.
pub(crate) fn new_secret_record(
    db: &Db<'_>,
    keys: &Keys,
    record_id: &str,
    owner: Option<&[u8; crypto::PUBLIC_LEN]>,
) -> Result<RecordKey> {
    let secrets = keys
        .public(DataClass::Secrets)
        .ok_or(VaultError::KeyringDamaged(
            "the secrets class has no public key",
        ))?;
    let key = Key::random();
    let mut wrapped = vec![(
        Wrap::Secrets.as_str(),
        keys.generation(DataClass::Secrets),
        crypto::seal_to(&secrets, key.expose()),
    )];
    if let Some(owner) = owner {
        wrapped.push((Wrap::Own.as_str(), 1, crypto::seal_to(owner, key.expose())));
    }
    shred(db, record_id)?;
    store_wrapped(db, record_id, &FreshKeys { wrapped })?;
    Ok(RecordKey {
        record_id: record_id.to_string(),
        case: None,
        identifiers: None,
        secret: Some(key),
    })
}

/// Takes a secret record's key away from its owner (they were disabled; an admin's secrets
/// key still opens it, and re-enabling seals it to their new key pair).
pub(crate) fn unseal_own(db: &Db<'_>, record_id: &str) -> Result<()> {
    db.execute(
        "removing an owner's record key",
        "DELETE FROM record_keys WHERE record_id = ?1 AND class = 'own'",
        args![record_id],
    )?;
    Ok(())
}

/// Seals a secret record's key to its owner again (their key pair was replaced).
pub(crate) fn reseal_own(
    db: &Db<'_>,
    keys: &Keys,
    record_id: &str,
    owner: &[u8; crypto::PUBLIC_LEN],
) -> Result<()> {
    let Some(secret) = existing_record_key(db, keys, record_id)?.and_then(|k| k.secret) else {
        return Ok(());
    };
    db.execute(
        "re-sealing a record key",
        "INSERT INTO record_keys (record_id, class, wrapped, created_at) VALUES (?1, 'own', ?2, ?3)
         ON CONFLICT (record_id, class) DO UPDATE SET wrapped = excluded.wrapped",
        args![
            record_id,
            crypto::seal_to(owner, secret.expose()),
            OffsetDateTime::now_utc()
                .format(&Rfc3339)
                .unwrap_or_default()
        ],
    )?;
    Ok(())
}

/// The record's keys if it still has any (`None` once shredded): the ones this member's
/// classes (or own key) open.
pub fn existing_record_key(db: &Db<'_>, keys: &Keys, record_id: &str) -> Result<Option<RecordKey>> {
    let rows: Vec<(String, u32, Vec<u8>)> = db.query_map(
        "reading a record key",
        "SELECT class, generation, wrapped FROM record_keys WHERE record_id = ?1",
        args![record_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    open_record_key(keys, record_id, rows)
}

/// The case keys of `record_ids` (a page of a list: one query, not one per row); a record
/// without keys (shredded) is absent.
pub(crate) fn case_keys(
    db: &Db<'_>,
    keys: &Keys,
    record_ids: &[&str],
) -> Result<std::collections::HashMap<String, RecordKey>> {
    let mut out = std::collections::HashMap::new();
    for chunk in record_ids.chunks(200) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("?{i}")).collect();
        let values: Vec<crate::sql::Value<'_>> = chunk.iter().map(|id| (*id).into()).collect();
        let rows: Vec<(String, String, u32, Vec<u8>)> = db.query_map(
            "reading record keys",
            &format!(
                "SELECT record_id, class, generation, wrapped FROM record_keys
                 WHERE class = 'case' AND record_id IN ({})",
                marks.join(", ")
            ),
            &values,
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        for (id, class, generation, wrapped) in rows {
            if let Some(key) = open_record_key(keys, &id, vec![(class, generation, wrapped)])? {
                out.insert(id, key);
            }
        }
    }
    Ok(out)
}

/// A record key from its wrapped rows, with what this member's classes (or own key) open.
fn open_record_key(
    keys: &Keys,
    record_id: &str,
    rows: Vec<(String, u32, Vec<u8>)>,
) -> Result<Option<RecordKey>> {
    if rows.is_empty() {
        return Ok(None);
    }
    let mut key = RecordKey {
        record_id: record_id.to_string(),
        case: None,
        identifiers: None,
        secret: None,
    };
    let damaged = || VaultError::VaultDamaged("a record key does not open with its class key");
    for (class, generation, wrapped) in rows {
        let wrap = Wrap::parse(&class)
            .ok_or(VaultError::VaultDamaged("a record key of an unknown class"))?;
        let opened = match wrap {
            Wrap::Class(c) => match keys.class_at(c, generation) {
                Some(class_key) => Some(
                    crypto::open(&class_key.wrapping(), &wrap_aad(record_id, wrap), &wrapped)
                        .ok_or_else(damaged)?,
                ),
                None => None,
            },
            Wrap::Secrets => match keys.class_at(DataClass::Secrets, generation) {
                Some(class_key) => Some(class_key.unseal(&wrapped).ok_or_else(damaged)?),
                None => None,
            },
            // Another user's own wrap does not open with this member's key: not an error.
            Wrap::Own => keys.me.as_ref().and_then(|me| me.unseal(&wrapped)),
        };
        let Some(bytes) = opened else { continue };
        let opened_key = Key::from_slice(&bytes).ok_or_else(damaged)?;
        match wrap {
            Wrap::Class(DataClass::Identifiers) => key.identifiers = Some(opened_key),
            Wrap::Class(_) => key.case = Some(opened_key),
            Wrap::Secrets | Wrap::Own => key.secret = Some(opened_key),
        }
    }
    Ok(Some(key))
}

/// Re-wraps up to `limit` record keys still wrapped by an earlier generation of their class
/// under the current one (the member must hold every class it re-wraps). Returns how many it
/// re-wrapped and how many are left.
pub(crate) fn rewrap_batch(db: &Db<'_>, keys: &Keys, limit: u32) -> Result<(u64, u64)> {
    const REWRAPPING: &str = "re-wrapping record keys";
    let mut done = 0u64;
    let mut left = 0u64;
    for class in [DataClass::Case, DataClass::Identifiers, DataClass::Secrets] {
        let current = keys.generation(class);
        let wrap = if class == DataClass::Secrets {
            Wrap::Secrets
        } else {
            Wrap::Class(class)
        };
        let budget = i64::try_from(u64::from(limit).saturating_sub(done)).unwrap_or(i64::MAX);
        let rows: Vec<(String, u32, Vec<u8>)> = db.query_map(
            REWRAPPING,
            "SELECT record_id, generation, wrapped FROM record_keys
             WHERE class = ?1 AND generation < ?2 LIMIT ?3",
            args![wrap.as_str(), current, budget],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let damaged = || VaultError::VaultDamaged("a record key does not open with its class key");
        for (record_id, generation, wrapped) in rows {
            let new = keys.require(class)?;
            let old = keys.class_at(class, generation).ok_or(VaultError::NoKey(
                "an earlier generation of a class key (re-wrap on an admin's desk)",
            ))?;
            let rewrapped = if class == DataClass::Secrets {
                let bytes = old.unseal(&wrapped).ok_or_else(damaged)?;
                crypto::seal_to(&new.public(), &bytes)
            } else {
                let aad = wrap_aad(&record_id, wrap);
                let bytes = crypto::open(&old.wrapping(), &aad, &wrapped).ok_or_else(damaged)?;
                crypto::seal(&new.wrapping(), &aad, &bytes)
            };
            db.execute(
                REWRAPPING,
                "UPDATE record_keys SET generation = ?3, wrapped = ?4
                 WHERE record_id = ?1 AND class = ?2",
                args![&record_id, wrap.as_str(), current, rewrapped],
            )?;
            done += 1;
        }
        left += db
            .query_value::<i64>(
                REWRAPPING,
                "SELECT count(*) FROM record_keys WHERE class = ?1 AND generation < ?2",
                args![wrap.as_str(), current],
            )?
            .unwrap_or(0)
            .max(0) as u64;
    }
    Ok((done, left))
}

/// Destroys a record's keys: its sealed fields can never be opened again.
pub fn shred(db: &Db<'_>, record_id: &str) -> Result<bool> {
    let mut n = 0;
    // Format-1 salts too, until the upgrade has converted them (the table then stays empty;
    // a team store never had them).
    let tables: &[&str] = match db.engine() {
        Engine::Sqlite => &["record_keys", "legacy_record_keys"],
        Engine::Postgres => &["record_keys"],
    };
    for table in tables {
        n += db.execute(
            "shredding a record key",
            &format!("DELETE FROM {table} WHERE record_id = ?1"),
            args![record_id],
        )?;
    }
    Ok(n > 0)
}

/// Keyed HMAC of an already-normalised value, for exact-match look-ups (the member must hold
/// the index class).
pub fn blind_index(keys: &Keys, kind: &str, normalised: &str) -> Result<[u8; 32]> {
    Ok(blind_index_with(&index_key(keys, kind)?, normalised))
}

/// The HMAC key of one kind of blind index (derive once, hash many). In a vault upgraded from
/// format 1 the index class key is the old root key, so the digests stay valid.
pub fn index_key(keys: &Keys, kind: &str) -> Result<Key> {
    let index = keys.require(DataClass::Index)?;
    Ok(crypto::derive(
        index.secret(),
        b"blind-index",
        kind.as_bytes(),
    ))
}

pub fn blind_index_with(index_key: &Key, normalised: &str) -> [u8; 32] {
    crypto::hmac(index_key, &[normalised.as_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::ClassKey;
    use std::collections::BTreeMap;

    fn keys(classes: &[DataClass]) -> Keys {
        let all: BTreeMap<_, _> = classes.iter().map(|c| (*c, ClassKey::random())).collect();
        Keys::new(ClassKey::random(), all, None)
    }

    #[test]
    fn sealed_bytes_open_only_for_their_record_and_field_and_never_print() {
        let k = keys(&[DataClass::Case, DataClass::Identifiers]);
        let (_, key) = fresh_case_record(&k, "app-1").unwrap();
        let (_, other) = fresh_case_record(&k, "app-2").unwrap();
        let sealed = key.seal("bank", b"021000021 000123456789").unwrap();
        assert_eq!(
            &key.open("bank", &sealed).unwrap()[..],
            b"021000021 000123456789"
        );
        assert!(
            key.open("people:p1", &sealed).is_err(),
            "bound to its field"
        );
        assert!(other.open("bank", &sealed).is_err(), "bound to its record");
        let shown = format!("{sealed:?}");
        assert_eq!(shown, format!("Sealed({} bytes)", sealed.len()));
        assert!(!shown.contains("021000021"));
    }

    #[test]
    fn fields_are_sealed_under_their_class_and_the_case_key_opens_no_identifier() {
        let k = keys(&[DataClass::Case, DataClass::Identifiers]);
        let (_, key) = fresh_case_record(&k, "app-1").unwrap();
        let full = key.seal("person:p1", b"ssn 123-45-6789").unwrap();
        let masked = key.seal("person.masked:p1", b"ssn ***-**-6789").unwrap();
        let case_only = RecordKey {
            record_id: "app-1".into(),
            case: key.case.clone(),
            identifiers: None,
            secret: None,
        };
        assert!(case_only.open("person.masked:p1", &masked).is_ok());
        assert!(matches!(
            case_only.open("person:p1", &full),
            Err(VaultError::NoKey(_))
        ));
        assert!(matches!(
            case_only.seal("bank", b"x"),
            Err(VaultError::NoKey(_))
        ));
        assert_eq!(field_class("totp_secret"), DataClass::Secrets);
        assert_eq!(field_class("document-name:d1"), DataClass::Case);
        assert_eq!(field_class("document:d1"), DataClass::Identifiers);
    }
}
