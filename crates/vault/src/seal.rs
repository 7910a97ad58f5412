//! Field-level sealing on top of the file encryption, and blind indexes.
//!
//! Each record has a random salt in `record_keys`; its field key is HKDF(root key, salt). A field
//! is sealed with XChaCha20-Poly1305 bound to (record id, field name). Deleting the record's salt
//! crypto-shreds every field of it. A blind index is HMAC-SHA256 under a key derived for the kind
//! of value (EIN, SSN, bank account), so equal values can be found without decrypting.

use rusqlite::{params, Connection, OptionalExtension};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::crypto::{self, Key};
use crate::{Result, VaultError};

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

/// The key of one record's sealed fields.
pub struct RecordKey {
    record_id: String,
    key: Key,
}

impl RecordKey {
    fn aad(&self, field: &str) -> Vec<u8> {
        [self.record_id.as_bytes(), b"|", field.as_bytes()].concat()
    }

    pub fn seal(&self, field: &str, plaintext: &[u8]) -> Sealed {
        Sealed(crypto::seal(&self.key, &self.aad(field), plaintext))
    }

    pub fn open(&self, field: &str, sealed: &Sealed) -> Result<Zeroizing<Vec<u8>>> {
        crypto::open(&self.key, &self.aad(field), &sealed.0).ok_or(VaultError::VaultDamaged(
            "a sealed field does not open with its record key",
        ))
    }
}

fn record_key_from_salt(root: &Key, record_id: &str, salt: &[u8]) -> RecordKey {
    RecordKey {
        record_id: record_id.to_string(),
        key: crypto::derive(root, salt, b"boarding-desk/record/v1"),
    }
}

/// A new record key and its salt, before anything is stored (sealing can start on another
/// thread; [`store_salt`] makes it the record's key).
pub fn fresh_record_key(root: &Key, record_id: &str) -> ([u8; 32], RecordKey) {
    let salt: [u8; 32] = crypto::random_bytes();
    let key = record_key_from_salt(root, record_id, &salt);
    (salt, key)
}

/// Stores `salt` as the record's; `false` (nothing changed) when the record already has one.
pub fn store_salt(conn: &Connection, record_id: &str, salt: &[u8; 32]) -> Result<bool> {
    let now = OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default();
    let changed = conn
        .prepare_cached(
            "INSERT INTO record_keys (record_id, salt, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (record_id) DO NOTHING",
        )
        .and_then(|mut s| s.execute(params![record_id, salt.as_slice(), now]))
        .map_err(VaultError::storage("creating a record key"))?;
    Ok(changed == 1)
}

/// The record's key, creating its salt on first use.
pub fn record_key(conn: &Connection, root: &Key, record_id: &str) -> Result<RecordKey> {
    if let Some(key) = existing_record_key(conn, root, record_id)? {
        return Ok(key);
    }
    let (salt, key) = fresh_record_key(root, record_id);
    if store_salt(conn, record_id, &salt)? {
        return Ok(key);
    }
    existing_record_key(conn, root, record_id)?.ok_or(VaultError::NotFound("record key"))
}

/// The record's key if it still exists (`None` once shredded).
pub fn existing_record_key(
    conn: &Connection,
    root: &Key,
    record_id: &str,
) -> Result<Option<RecordKey>> {
    let salt: Option<Vec<u8>> = conn
        .prepare_cached("SELECT salt FROM record_keys WHERE record_id = ?1")
        .and_then(|mut s| s.query_row([record_id], |r| r.get(0)).optional())
        .map_err(VaultError::storage("reading a record key"))?;
    Ok(salt.map(|salt| record_key_from_salt(root, record_id, &salt)))
}

/// Destroys a record's key: its sealed fields can never be opened again.
pub fn shred(conn: &Connection, record_id: &str) -> Result<bool> {
    let n = conn
        .execute("DELETE FROM record_keys WHERE record_id = ?1", [record_id])
        .map_err(VaultError::storage("shredding a record key"))?;
    Ok(n > 0)
}

/// Keyed HMAC of an already-normalised value, for exact-match look-ups.
pub fn blind_index(root: &Key, kind: &str, normalised: &str) -> [u8; 32] {
    blind_index_with(&index_key(root, kind), normalised)
}

/// The HMAC key of one kind of blind index (derive once, hash many).
pub fn index_key(root: &Key, kind: &str) -> Key {
    crypto::derive(root, b"blind-index", kind.as_bytes())
}

pub fn blind_index_with(index_key: &Key, normalised: &str) -> [u8; 32] {
    crypto::hmac(index_key, &[normalised.as_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_bytes_open_only_for_their_record_and_field_and_never_print() {
        let root = Key::random();
        let (_, key) = fresh_record_key(&root, "app-1");
        let (_, other) = fresh_record_key(&root, "app-2");
        let sealed = key.seal("bank", b"021000021 000123456789");
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
}
