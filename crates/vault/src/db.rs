//! Opening the SQLCipher file: keying, pragmas on every connection, integrity, migrations.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use rusqlite_migration::{Migrations, M};
use zeroize::Zeroizing;

use crate::crypto::Key;
use crate::{Result, VaultError};

pub const VAULT_FILE: &str = "vault.db";

/// Append-only: never edit or reorder an entry; add a new one. `migrations_are_valid` checks.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_identities.sql"),
    include_str!("migrations/0002_applications.sql"),
    include_str!("migrations/0003_screening.sql"),
    include_str!("migrations/0004_review.sql"),
    include_str!("migrations/0005_boarding.sql"),
    include_str!("migrations/0006_merchant_review.sql"),
    include_str!("migrations/0007_lead_role.sql"),
    include_str!("migrations/0008_address_index.sql"),
    include_str!("migrations/0009_notes.sql"),
    include_str!("migrations/0010_merchant_admin.sql"),
    include_str!("migrations/0011_retention.sql"),
    include_str!("migrations/0012_merchant_changes.sql"),
    include_str!("migrations/0013_maker_checker.sql"),
    include_str!("migrations/0014_lease_token.sql"),
    include_str!("migrations/0015_class_keys.sql"),
    include_str!("migrations/0016_signed_audit.sql"),
    include_str!("migrations/0017_audit_checkpoints.sql"),
    include_str!("migrations/0018_blocklist_key.sql"),
    include_str!("migrations/0019_sealed_names.sql"),
    include_str!("migrations/0020_queue_by_assignee.sql"),
];

/// The schema version this build brings a vault to (rusqlite_migration keeps the number of
/// applied migrations in SQLite's `user_version`).
pub fn schema_version() -> i64 {
    MIGRATIONS.len() as i64
}

fn migrations() -> Migrations<'static> {
    Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect())
}

/// Opens (or, with `create`, creates) the vault file keyed with `key`.
///
/// A wrong key, a file from another vault, a truncated or altered file all end as
/// `VaultError::VaultDamaged`; nothing is half-opened.
pub fn open(path: &Path, key: &Key, create: bool) -> Result<Connection> {
    let conn = open_keyed(path, key, create)?;
    finish_open(conn, !create)
}

/// The first half of [`open`]: the file keyed and its first page read (a wrong key fails
/// here), before the integrity check and the migrations. Sign-in checks the authenticator code
/// on this connection, so a right password with a wrong code costs no more than a wrong
/// password (reading a few rows from tables every schema version has).
pub(crate) fn open_keyed(path: &Path, key: &Key, create: bool) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
        // Created private (0600) before SQLite opens it; its WAL and shared-memory files take
        // the same mode from it.
        if !path.exists() {
            private_file()
                .write(true)
                .create_new(true)
                .open(path)
                .map_err(VaultError::io("the vault file", "created"))?;
        }
    } else if !path.exists() {
        return Err(VaultError::NotCreated);
    }
    let conn = Connection::open_with_flags(path, flags)
        .map_err(VaultError::storage("opening the vault"))?;
    // `cipher_memory_security` stays off (SQLCipher's default): it wipes and mlocks every
    // allocation SQLite makes, and measured here it cut bulk import from 3,074 to 234
    // applications/s and made a sign-in over 20,000 applications 2.6 times slower
    // (docs/BENCHMARKS.md). SQLCipher wipes its own key material either way; ours is
    // zeroized on drop, and the desk turns core dumps off while a vault is open.
    // The raw-key form: SQLCipher skips its own KDF, the key is already 256 random bits. The
    // statement holding the key is built in a buffer that is wiped when dropped.
    execute_with_key(&conn, "key", key).map_err(VaultError::storage("keying the vault"))?;
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")
        .map_err(VaultError::storage("configuring the vault"))?;
    // A wrong key only shows at the first read.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(VaultError::storage("reading the vault"))?;
    Ok(conn)
}

/// The second half of [`open`]: every page's HMAC checked (`check`), the pragmas, the
/// migrations.
pub(crate) fn finish_open(mut conn: Connection, check: bool) -> Result<Connection> {
    if check {
        check_integrity(&conn)?;
    }
    apply_pragmas(&conn)?;
    // Bulk import, re-screen and the queue use a few dozen distinct statements; rusqlite keeps
    // 16 prepared by default, and re-preparing them per application was measurable.
    conn.set_prepared_statement_cache_capacity(128);
    migrations()
        .to_latest(&mut conn)
        .map_err(|_| VaultError::VaultDamaged("the schema could not be brought up to date"))?;
    Ok(conn)
}

/// `PRAGMA <pragma> = "x'<hex of key>'"`, with the statement in a buffer wiped on drop (the
/// key never sits in a plain `String`).
fn execute_with_key(conn: &Connection, pragma: &str, key: &Key) -> rusqlite::Result<()> {
    let raw = raw_key_text(key);
    let mut sql = Zeroizing::new(String::with_capacity(raw.len() + 32));
    sql.push_str("PRAGMA ");
    sql.push_str(pragma);
    sql.push_str(" = \"");
    sql.push_str(raw.as_str());
    sql.push_str("\";");
    conn.execute_batch(sql.as_str())
}

/// SQLCipher's raw-key text, `x'<hex>'`, in a buffer wiped on drop (for `PRAGMA key` and as
/// the bound key of an `ATTACH`).
pub(crate) fn raw_key_text(key: &Key) -> Zeroizing<String> {
    let hex = key.to_hex();
    let mut text = Zeroizing::new(String::with_capacity(hex.len() + 3));
    text.push_str("x'");
    text.push_str(hex.as_str());
    text.push('\'');
    text
}

/// Pragmas that must hold on every connection (not part of migrations).
///
/// The page cache is 64 MiB (SQLite's default is 2 MiB): every page read from disk is decrypted
/// and authenticated by SQLCipher, so keeping indexes in memory is what makes bulk import and
/// listing over 100,000 applications fast (docs/BENCHMARKS.md).
fn apply_pragmas(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;
         PRAGMA temp_store = MEMORY;
         PRAGMA secure_delete = ON;
         PRAGMA synchronous = FULL;
         PRAGMA cache_size = -65536;",
    )
    .map_err(VaultError::storage("configuring the vault"))
}

/// SQLCipher checks every page's HMAC; any flipped byte anywhere is reported here.
pub(crate) fn check_integrity(conn: &Connection) -> Result<()> {
    let mut stmt = conn
        .prepare("PRAGMA cipher_integrity_check")
        .map_err(VaultError::storage("checking the vault"))?;
    let problems = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(VaultError::storage("checking the vault"))?
        .count();
    if problems > 0 {
        return Err(VaultError::VaultDamaged(
            "pages of the vault file failed their integrity check",
        ));
    }
    let ok: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(VaultError::storage("checking the vault"))?;
    if ok != "ok" {
        return Err(VaultError::VaultDamaged(
            "the vault's structure is inconsistent",
        ));
    }
    Ok(())
}

/// `PRAGMA rekey`: re-encrypts every page under `new_key`.
pub fn rekey(conn: &Connection, new_key: &Key) -> Result<()> {
    execute_with_key(conn, "rekey", new_key).map_err(VaultError::storage("re-keying the vault"))
}

/// Replaces `folder/name` with `bytes` atomically: a temp file of its own in the folder, 0600,
/// synced, renamed over the old one (a crash leaves the old file or the new one, never half).
pub(crate) fn replace_private(
    folder: &Path,
    name: &str,
    bytes: &[u8],
    what: &'static str,
) -> Result<()> {
    use std::io::Write;
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .tempfile_in(folder)
        .map_err(VaultError::io(what, "written"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600));
    }
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(VaultError::io(what, "written"))?;
    tmp.persist(folder.join(name))
        .map_err(|e| VaultError::io(what, "replaced")(e.error))?;
    Ok(())
}

/// Options for a file only its owner may read or write (0600 on Unix), whatever the umask.
pub(crate) fn private_file() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        assert!(
            migrations().validate().is_ok(),
            "every migration applies cleanly from empty"
        );
    }

    #[test]
    fn wrong_key_reads_as_damaged_not_as_a_panic() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(VAULT_FILE);
        let key = Key::random();
        drop(open(&path, &key, true).unwrap());
        assert!(open(&path, &key, false).is_ok());
        assert!(matches!(
            open(&path, &Key::random(), false),
            Err(VaultError::VaultDamaged(_))
        ));
    }

    #[test]
    fn file_has_no_sqlite_header() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(VAULT_FILE);
        let conn = open(&path, &Key::random(), true).unwrap();
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.starts_with(b"SQLite format 3"),
            "the file must be encrypted from byte 0"
        );
    }
}
