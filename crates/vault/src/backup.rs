//! Encrypted backup archives of a vault, and restoring one into an empty data folder.
//!
//! An archive is `MAGIC`, a clear header (format, vault id, schema version, when, and the
//! keyring — which holds only wrapped keys), then the payload sealed with XChaCha20-Poly1305
//! under a key derived from the vault's root key, with the magic and the header as associated
//! data. The payload is a consistent snapshot of the database (`sqlcipher_export` under the
//! keyring lock, so the audit head in the keyring matches the last entry) with its counts. So
//! an archive opens only with what opens the vault — an admin's password or the recovery key —
//! and any change to any byte (or a truncation) is refused before anything is written.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rusqlite::params;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::crypto::{self, Key};
use crate::keyring::{Keyring, KeyringFile, KEYRING_FILE};
use crate::{db, erasure_ledger, RecoveryKey, Result, Vault, VaultError};

const MAGIC: &[u8; 8] = b"BDESKBK1";
/// Folders a data folder may hold before it has a vault.
const FRESH_FOLDERS: &[&str] = &["logs", "exports", "backups"];
/// 2: the payload is a sealed stream of chunks (memory: one chunk, whatever the vault's size).
/// 1 (read, never written): the payload sealed in one piece.
const FORMAT: u32 = 2;
/// Plaintext bytes per chunk of a format-2 archive (the unit tests use small chunks, so even
/// an empty vault spans several).
#[cfg(not(test))]
const CHUNK: usize = 1 << 20;
#[cfg(test)]
const CHUNK: usize = 16 << 10;

#[derive(Serialize, Deserialize)]
pub(crate) struct Header {
    format: u32,
    pub(crate) vault_id: String,
    schema_version: i64,
    pub(crate) created_at: String,
    pub(crate) keyring: Keyring,
    /// Format 2: the nonce prefix of the sealed stream that follows the header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stream_nonce: Option<String>,
}

/// What an archive holds, checked again after a restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub vault_id: String,
    pub created_at: String,
    pub schema_version: i64,
    pub applications: i64,
    pub users: i64,
    pub audit_entries: i64,
    /// Size of the archive file.
    #[serde(default)]
    pub bytes: u64,
    /// After a restore: erasures made after the archive was taken, replayed from the erasure
    /// ledger before the vault was handed over.
    #[serde(default)]
    pub erasures_replayed: usize,
    /// The signed checkpoint of the archived log's last entry, left beside the archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<crate::checkpoint::Checkpoint>,
    /// After a restore: audit entries that checkpoints beside the archive remember and the
    /// archive does not hold (restoring it rolled the log back by at least this many).
    #[serde(default)]
    pub audit_entries_behind: i64,
    /// After a restore that rolled back: who signed the newest such checkpoint, and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back_past: Option<String>,
}

/// How the person restoring proves they may: an admin's username, password and current
/// authenticator code (checked against the archive's copy of their authenticator), or the
/// recovery key.
pub enum Unlock<'a> {
    Admin {
        username: &'a str,
        password: &'a str,
        code: &'a str,
    },
    Recovery(&'a RecoveryKey),
}

fn archive_key(root: &Key, vault_id: &str) -> Key {
    crypto::derive(root, vault_id.as_bytes(), b"boarding-desk/backup/v1")
}

fn counts(conn: &rusqlite::Connection) -> Result<(i64, i64, i64)> {
    count_rows(conn).map_err(VaultError::storage("counting what the vault holds"))
}

/// Applications, users and audit entries in the main database.
fn count_rows(conn: &rusqlite::Connection) -> rusqlite::Result<(i64, i64, i64)> {
    conn.query_row(
        "SELECT (SELECT count(*) FROM main.applications), (SELECT count(*) FROM main.users),
                (SELECT count(*) FROM main.audit)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
}

fn damaged() -> VaultError {
    VaultError::invalid(
        "archive",
        "is damaged, truncated or was altered (it does not authenticate)",
    )
}

impl Vault {
    /// Writes an encrypted archive of this vault to `out` (replacing it atomically).
    /// `actor` (the admin taking it) signs a checkpoint of the archived log's last entry, left
    /// beside the archive in [`crate::checkpoint::CHECKPOINT_FILE`].
    pub fn backup(&self, out: &Path, actor: &str, now: OffsetDateTime) -> Result<Summary> {
        let conn = self.local()?;
        let io = |what: &'static str| VaultError::io("the backup", what);
        let folder = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let snapshot = tempfile::Builder::new()
            .prefix(".desk-backup-")
            .tempfile_in(folder)
            .map_err(io("created"))?;
        // An empty file: ATTACH opens it with the vault connection's flags, which do not
        // include "create" once a vault exists.
        let snapshot_path = snapshot
            .into_temp_path()
            .keep()
            .map_err(|e| io("created")(e.error))?;

        // Under the keyring lock: no audit entry (and so no new audit head) lands between the
        // snapshot and the keyring copy.
        let lock = self.keyring.lock()?;
        let ring = self.keyring.load()?;
        let db_key = ring.unwrap_db_key(self.keys().db_wrap(), &ring.db_key)?;
        let schema_version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(VaultError::storage("reading the schema version"))?;
        let raw_key = crate::db::raw_key_text(&db_key);
        // One read transaction around the counts and the export: another connection (the CLI,
        // a second window) committing meanwhile lands wholly before or wholly after the
        // snapshot, and the counts describe exactly what it holds. (ATTACH cannot run inside a
        // transaction, so it comes first.)
        let mut counted = None;
        let mut snapshot_head = None;
        // The export commits into the attached snapshot only; no business change is made.
        let exported = self.unguarded(|| {
            conn.execute(
                "ATTACH DATABASE ?1 AS backup KEY ?2",
                params![snapshot_path.to_string_lossy(), raw_key.as_str()],
            )
            .and_then(|_| conn.execute_batch("BEGIN"))
            .and_then(|()| {
                let in_tx = count_rows(conn)
                    .map(|c| counted = Some(c))
                    .and_then(|()| {
                        conn.query_row(
                            "SELECT seq, hash FROM main.audit ORDER BY seq DESC LIMIT 1",
                            [],
                            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)),
                        )
                        .map(|h| snapshot_head = Some(h))
                        .or_else(|e| match e {
                            rusqlite::Error::QueryReturnedNoRows => Ok(()),
                            e => Err(e),
                        })
                    })
                    .and_then(|()| {
                        conn.query_row("SELECT sqlcipher_export('backup')", [], |_| Ok(()))
                    })
                    .and_then(|()| {
                        conn.execute_batch(&format!(
                            "PRAGMA backup.user_version = {schema_version}"
                        ))
                    });
                match in_tx {
                    Ok(()) => conn.execute_batch("COMMIT"),
                    Err(e) => {
                        let _ = conn.execute_batch("ROLLBACK");
                        Err(e)
                    }
                }
            })
        });
        let detached = conn.execute_batch("DETACH DATABASE backup");
        drop(raw_key);
        drop(lock);
        let cleanup = || {
            let _ = fs::remove_file(&snapshot_path);
        };
        if let Err(e) = exported.and(detached) {
            cleanup();
            return Err(VaultError::storage("taking a snapshot of the vault")(e));
        }
        let (applications, users, audit_entries) = match counted {
            Some(c) => c,
            None => {
                cleanup();
                return Err(VaultError::VaultDamaged("the vault could not be counted"));
            }
        };

        let mut summary = Summary {
            vault_id: self.vault_id.to_string(),
            created_at: crate::vault::rfc3339(now),
            schema_version,
            applications,
            users,
            audit_entries,
            bytes: 0,
            erasures_replayed: 0,
            checkpoint: None,
            audit_entries_behind: 0,
            rolled_back_past: None,
        };
        let key = archive_key(self.keys().metadata(), &summary.vault_id);
        let (sealer, nonce) = crypto::StreamSealer::new(&key);
        let header = serde_json::to_vec(&Header {
            format: FORMAT,
            vault_id: summary.vault_id.clone(),
            schema_version,
            created_at: summary.created_at.clone(),
            keyring: ring,
            stream_nonce: Some(crate::keyring::b64(&nonce)),
        })
        .map_err(|_| VaultError::VaultDamaged("the keyring could not be written"))?;
        let summary_json = serde_json::to_vec(&summary).unwrap_or_default();
        let tmp = tempfile::NamedTempFile::new_in(folder).map_err(|e| {
            cleanup();
            io("created")(e)
        })?;
        let written = fs::File::open(&snapshot_path)
            .map_err(io("read"))
            .and_then(|snapshot| {
                write_archive(tmp.as_file(), &header, &summary_json, snapshot, sealer)
            });
        cleanup();
        let bytes = written?;
        tmp.as_file().sync_all().map_err(io("written"))?;
        // The ledger travels beside the archive (written first: no archive without it):
        // restoring this archive, or an older one from the same folder, replays every erasure
        // made up to now.
        erasure_ledger::merge_into(
            folder,
            &summary.vault_id,
            &self.ledger_key(),
            &self.erased()?,
        )?;
        // So is a signed checkpoint of the archived log: restoring an older archive from this
        // folder then says how far it rolls the log back.
        let checkpoint = snapshot_head
            .as_ref()
            .and_then(|(seq, hash)| self.checkpoint_of((*seq, hash), actor, now));
        if let Some(c) = &checkpoint {
            crate::checkpoint::append_to(folder, c)?;
        }
        summary.checkpoint = checkpoint;
        tmp.persist(out).map_err(|e| io("saved")(e.error))?;
        summary.bytes = bytes;
        Ok(summary)
    }
}

/// Writes magic, header and the sealed stream — the summary's length and JSON, then the
/// snapshot's bytes, in chunks of [`CHUNK`], each stored as its sealed length and bytes — to
/// `out`. Returns the archive's size.
fn write_archive(
    out: &fs::File,
    header: &[u8],
    summary_json: &[u8],
    snapshot: fs::File,
    sealer: crypto::StreamSealer,
) -> Result<u64> {
    let io = VaultError::io("the backup", "written");
    let mut w = std::io::BufWriter::new(out);
    let aad = [MAGIC.as_slice(), header].concat();
    let mut total = 0u64;
    let mut put = |w: &mut std::io::BufWriter<&fs::File>, bytes: &[u8]| -> std::io::Result<()> {
        total += bytes.len() as u64;
        w.write_all(bytes)
    };
    put(&mut w, MAGIC).map_err(VaultError::io("the backup", "written"))?;
    put(&mut w, &(header.len() as u32).to_be_bytes())
        .and_then(|()| put(&mut w, header))
        .map_err(VaultError::io("the backup", "written"))?;
    let prefix = [&(summary_json.len() as u32).to_be_bytes()[..], summary_json].concat();
    let mut plain = std::io::Cursor::new(prefix).chain(std::io::BufReader::new(snapshot));
    let mut current = read_chunk(&mut plain).map_err(VaultError::io("the snapshot", "read"))?;
    let mut sealer = Some(sealer);
    loop {
        let next = read_chunk(&mut plain).map_err(VaultError::io("the snapshot", "read"))?;
        let last = next.is_empty();
        let sealed = match (last, sealer.as_mut()) {
            (false, Some(s)) => s.next(&aad, &current),
            // `last` consumes the sealer: the loop ends with it.
            (true, _) => match sealer.take() {
                Some(s) => s.last(&aad, &current),
                None => Vec::new(),
            },
            (false, None) => Vec::new(),
        };
        put(&mut w, &(sealed.len() as u32).to_be_bytes())
            .and_then(|()| put(&mut w, &sealed))
            .map_err(VaultError::io("the backup", "written"))?;
        if last {
            break;
        }
        current = next;
    }
    w.flush().map_err(io)?;
    Ok(total)
}

/// Up to [`CHUNK`] bytes (fewer only at the end; empty at the end).
fn read_chunk(r: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(CHUNK);
    r.take(CHUNK as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// The clear header at the start of an archive of `len` bytes, parsed and as stored.
pub(crate) fn read_header(file: &mut fs::File, len: u64) -> Result<(Header, Vec<u8>)> {
    let mut start = [0u8; 12];
    if file.read_exact(&mut start).is_err() || &start[..8] != MAGIC {
        return Err(VaultError::invalid(
            "archive",
            "is not a Boarding Desk backup",
        ));
    }
    let header_len = u32::from_be_bytes([start[8], start[9], start[10], start[11]]) as u64;
    // A keyring of ten thousand users is well under this; more is not a header.
    if header_len > 64 << 20 || 12 + header_len > len {
        return Err(damaged());
    }
    let mut header_bytes = vec![0u8; header_len as usize];
    file.read_exact(&mut header_bytes).map_err(|_| damaged())?;
    let header: Header = serde_json::from_slice(&header_bytes).map_err(|_| damaged())?;
    Ok((header, header_bytes))
}

/// Restores `archive` into `target` (which must be empty or absent): authenticates the whole
/// archive, opens the restored vault (integrity check, migrations), verifies the audit chain
/// and the counts, and only then moves the files into place. Nothing is written to `target`
/// unless every check passes.
///
/// A refusal for the credentials (a wrong password, code or recovery key) takes at least the
/// product's refusal floor, as a refused sign-in does: how long it took says nothing about
/// which of them was wrong.
pub fn restore(archive: &Path, target: &Path, unlock: Unlock<'_>) -> Result<Summary> {
    let started = std::time::Instant::now();
    let result = restore_unpadded(archive, target, unlock);
    if matches!(result, Err(VaultError::BadCredentials)) {
        if let Some(rest) = crate::Policy::default()
            .refusal_floor
            .checked_sub(started.elapsed())
        {
            std::thread::sleep(rest);
        }
    }
    result
}

fn restore_unpadded(archive: &Path, target: &Path, unlock: Unlock<'_>) -> Result<Summary> {
    let mut file = fs::File::open(archive).map_err(VaultError::io("the archive", "read"))?;
    let archive_len = file
        .metadata()
        .map_err(VaultError::io("the archive", "read"))?
        .len();
    let (header, header_bytes) = read_header(&mut file, archive_len)?;
    let header_len = header_bytes.len() as u64;
    if header.format > FORMAT {
        return Err(VaultError::invalid(
            "archive",
            "was written by a newer version of Boarding Desk",
        ));
    }
    let supported = db::schema_version();
    if header.schema_version > supported {
        return Err(VaultError::invalid(
            "archive",
            format!(
                "holds schema version {} but this version knows up to {supported}: update Boarding Desk first",
                header.schema_version
            ),
        ));
    }
    let slot = match &unlock {
        Unlock::Admin { username, .. } => crate::vault::slot_id(username),
        Unlock::Recovery(_) => crate::keyring::RECOVERY_SLOT.to_string(),
    };
    let opened = match &unlock {
        Unlock::Admin { password, .. } => header
            .keyring
            .open_password_slot(&slot, password.as_bytes())?,
        Unlock::Recovery(key) => header.keyring.open_recovery_slot(key.key())?,
    }
    .ok_or(VaultError::BadCredentials)?;
    // A format-1 archive: its root key opens it (and the restored vault upgrades at its
    // first sign-in).
    let legacy_root = match &opened {
        crate::keyring::Opened::Legacy(root) => Some(root.clone()),
        crate::keyring::Opened::Member(_) => None,
    };
    let keys = header.keyring.keys(&slot, opened)?;
    let key = archive_key(keys.metadata(), &header.vault_id);
    let aad = [MAGIC.as_slice(), &header_bytes].concat();

    // Empty, or a fresh data folder: only what the app creates before a vault exists (its
    // logs, exports and backups folders) and an erasure ledger may be there.
    if target.exists() {
        for entry in fs::read_dir(target).map_err(VaultError::io("the target folder", "read"))? {
            let entry = entry.map_err(VaultError::io("the target folder", "read"))?;
            let name = entry.file_name();
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            let ledger = !is_dir && name == erasure_ledger::LEDGER_FILE;
            let fresh_folder = is_dir && FRESH_FOLDERS.iter().any(|f| name == *f);
            if !(ledger || fresh_folder) {
                return Err(VaultError::invalid(
                    "target",
                    "must be an empty folder (a restore never replaces a vault in place)",
                ));
            }
        }
    }
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(VaultError::io("the target folder", "created"))?;
    // Everything is written here first; dropped (deleted) unless every check passes.
    let staging = tempfile::Builder::new()
        .prefix(".desk-restore-")
        .tempdir_in(parent)
        .map_err(VaultError::io("a staging folder", "created"))?;
    let staged_db = staging.path().join(db::VAULT_FILE);
    let summary = match header.stream_nonce.as_deref() {
        // Format 2: chunk by chunk into the staged file.
        Some(nonce) if header.format >= 2 => {
            let nonce: [u8; crypto::STREAM_NONCE_LEN] =
                crate::keyring::unb64(nonce, "the archive's stream nonce is not base64")
                    .ok()
                    .and_then(|n| n.try_into().ok())
                    .ok_or_else(damaged)?;
            let opener = crypto::StreamOpener::new(&key, &nonce);
            let mut out = crate::db::private_file()
                .create_new(true)
                .write(true)
                .open(&staged_db)
                .map_err(VaultError::io("the restored vault", "written"))?;
            let body = archive_len - 12 - header_len;
            let summary = open_stream(&mut file, body, opener, &aad, &mut out)?;
            out.sync_all()
                .map_err(VaultError::io("the restored vault", "written"))?;
            summary
        }
        Some(_) | None if header.format >= 2 => return Err(damaged()),
        // Format 1: the payload in one piece (archives written before issue 16).
        _ => {
            let mut sealed = Vec::new();
            file.read_to_end(&mut sealed)
                .map_err(VaultError::io("the archive", "read"))?;
            let payload = crypto::open(&key, &aad, &sealed).ok_or_else(damaged)?;
            let (summary, db_bytes) = split_payload(&payload)?;
            crate::db::private_file()
                .create_new(true)
                .write(true)
                .open(&staged_db)
                .and_then(|mut f| f.write_all(db_bytes))
                .map_err(VaultError::io("the restored vault", "written"))?;
            summary
        }
    };
    let ring_file = KeyringFile::in_dir(staging.path());
    {
        let lock = ring_file.lock()?;
        // The restored folder is a new one: its failure records start a desk record of their
        // own, so a restore is not taken for a keyring put back to lift a lockout, and the
        // two folders never share a count.
        let mut ring = header.keyring.clone();
        crate::device::new_folder(&mut ring);
        ring_file.save(&ring, &lock)?;
    }
    // The erasure ledgers a restore knows of: the target folder's own (a vault lost and
    // restored in place) and the one beside the archive (left by the latest backup there).
    let archive_folder = archive
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let ledger_key = erasure_ledger::ledger_key(keys.metadata(), &header.vault_id);
    let mut ledger = erasure_ledger::read(archive_folder, &header.vault_id, &ledger_key)?;
    if target.exists() {
        ledger.extend(erasure_ledger::read(target, &header.vault_id, &ledger_key)?);
    }
    // The checkpoints a restore knows of: those beside the archive (every backup there left
    // one) and in the target's backups folder.
    // A line that does not parse (a damaged file) is skipped, never a reason to refuse.
    let (mut checkpoints, _) = crate::checkpoint::read_file_lenient(
        &archive_folder.join(crate::checkpoint::CHECKPOINT_FILE),
    )?;
    checkpoints.extend(
        crate::checkpoint::read_file_lenient(
            &target
                .join("backups")
                .join(crate::checkpoint::CHECKPOINT_FILE),
        )?
        .0,
    );
    let mut summary = summary;
    let (replayed, behind) = check_restored(
        staging.path(),
        &ring_file,
        (keys, slot, legacy_root),
        &unlock,
        &summary,
        (&ledger, &checkpoints),
    )?;
    summary.erasures_replayed = replayed;
    summary.audit_entries_behind = behind.entries;
    summary.rolled_back_past = behind.newest.map(|c| format!("{} at {}", c.actor, c.at));
    erasure_ledger::merge_into(staging.path(), &header.vault_id, &ledger_key, &ledger)?;
    move_into_place(staging.path(), target)?;
    Ok(summary)
}

/// A payload: the summary's length (4 bytes) and JSON, then the database's bytes.
fn split_payload(payload: &[u8]) -> Result<(Summary, &[u8])> {
    let summary_len = payload
        .get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or_else(damaged)?;
    let summary: Summary = payload
        .get(4..4 + summary_len)
        .and_then(|s| serde_json::from_slice(s).ok())
        .ok_or_else(damaged)?;
    let db_bytes = payload.get(4 + summary_len..).ok_or_else(damaged)?;
    Ok((summary, db_bytes))
}

/// Opens a format-2 body (`len` bytes of sealed chunks) chunk by chunk: the summary from the
/// first bytes, the database's bytes written to `out`. Any chunk that does not authenticate at
/// its place, a missing last chunk or bytes after it: damaged.
fn open_stream(
    file: &mut fs::File,
    len: u64,
    opener: crypto::StreamOpener,
    aad: &[u8],
    out: &mut fs::File,
) -> Result<Summary> {
    let mut r = std::io::BufReader::new(file);
    let mut w = std::io::BufWriter::new(out);
    let mut left = len;
    let mut opener = Some(opener);
    let mut prefix: Vec<u8> = Vec::new();
    let mut summary: Option<Summary> = None;
    while left > 0 {
        let mut size = [0u8; 4];
        r.read_exact(&mut size).map_err(|_| damaged())?;
        let size = u32::from_be_bytes(size) as u64;
        if size > (CHUNK + crypto::STREAM_TAG_LEN) as u64 || 4 + size > left {
            return Err(damaged());
        }
        let mut sealed = vec![0u8; size as usize];
        r.read_exact(&mut sealed).map_err(|_| damaged())?;
        left -= 4 + size;
        let plain = if left == 0 {
            opener.take().and_then(|o| o.last(aad, &sealed))
        } else {
            opener.as_mut().and_then(|o| o.next(aad, &sealed))
        }
        .ok_or_else(damaged)?;
        let mut bytes: &[u8] = &plain;
        if summary.is_none() {
            prefix.extend_from_slice(bytes);
            bytes = &[];
            if prefix.len() >= 4 {
                let n = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
                if n > CHUNK {
                    return Err(damaged());
                }
                if prefix.len() >= 4 + n {
                    summary =
                        Some(serde_json::from_slice(&prefix[4..4 + n]).map_err(|_| damaged())?);
                    w.write_all(&prefix[4 + n..])
                        .map_err(VaultError::io("the restored vault", "written"))?;
                    prefix.clear();
                }
            }
        }
        w.write_all(bytes)
            .map_err(VaultError::io("the restored vault", "written"))?;
    }
    if opener.is_some() {
        // The body ended before a last chunk: truncated (or empty).
        return Err(damaged());
    }
    w.flush()
        .map_err(VaultError::io("the restored vault", "written"))?;
    summary.ok_or_else(damaged)
}

/// Opens the staged vault as a sign-in would and compares it with the archive's summary.
fn check_restored(
    staged: &Path,
    ring_file: &KeyringFile,
    (keys, slot, legacy_root): (crate::keys::Keys, String, Option<Key>),
    unlock: &Unlock<'_>,
    summary: &Summary,
    (ledger, checkpoints): (&[erasure_ledger::Line], &[crate::checkpoint::Checkpoint]),
) -> Result<(usize, crate::checkpoint::Behind)> {
    let lock = ring_file.lock()?;
    let mut ring = ring_file.load()?;
    let vault = Vault::open_with_keys(
        staged,
        ring_file,
        &mut ring,
        keys,
        slot,
        crate::Policy::default(),
        &lock,
    )?;
    drop(lock);
    let now = OffsetDateTime::now_utc();
    let mut code_step = None;
    if let Unlock::Admin { username, code, .. } = unlock {
        let user = vault
            .user_by_name(username)?
            .ok_or(VaultError::BadCredentials)?;
        if user.role != domain::Role::Admin || user.disabled {
            return Err(VaultError::invalid(
                "archive",
                "can be restored only with an admin's password or the recovery key",
            ));
        }
        // The password alone does not restore: the admin's authenticator code too, as at
        // sign-in (the step is then spent in the restored vault).
        if user.totp_enrolled {
            let secret = vault.totp_secret_with(&user.id, legacy_root.as_ref())?;
            let step = crate::totp::verify(&secret, code, crate::vault::unix(now), None)
                .map_err(|_| VaultError::BadCredentials)?;
            code_step = Some((user.id.clone(), step));
        }
    }
    let report = vault.verify_audit()?;
    if !report.intact {
        return Err(VaultError::invalid(
            "archive",
            "holds an audit log whose chain does not verify",
        ));
    }
    let (applications, users, audit_entries) = counts(vault.local()?)?;
    if (applications, users, audit_entries)
        != (summary.applications, summary.users, summary.audit_entries)
    {
        return Err(VaultError::invalid(
            "archive",
            "does not hold what its summary says",
        ));
    }
    // A rollback is not refused (restoring an older archive after a loss is what archives are
    // for) but said: in the summary, and in the restored log's own entry.
    // (A checkpoint that remembers a different entry at a place the archive holds is from a
    // history an earlier rollback left behind: said too, never a reason to refuse.)
    let behind = vault.behind(checkpoints)?;
    // The restored vault's own log says it was restored, by whom, from which archive.
    let actor = match unlock {
        Unlock::Admin { username, .. } => *username,
        Unlock::Recovery(_) => "recovery key",
    };
    // Before anyone can open it: what was erased after the archive was taken is erased again
    // — with a blocklist key, so an archive from before it re-keys the erased applications'
    // old blocklist entries too.
    vault.ensure_blocklist_key()?;
    let replayed = vault.replay_erasures(ledger, actor)?;
    vault.write_at(now, |tx| {
        if let Some((user_id, step)) = &code_step {
            tx.db().execute(
                "spending the restore's code",
                "UPDATE users SET totp_last_step = ?2 WHERE id = ?1",
                crate::args![user_id, *step],
            )?;
        }
        tx.audit(&crate::audit::Event {
            actor,
            action: "vault.restore",
            target: None,
            outcome: crate::audit::Outcome::Ok,
            detail: Some(&format!(
                "archive of {}; {replayed} later erasure(s) replayed{}{}",
                summary.created_at,
                behind.newest.as_ref().map_or(String::new(), |c| format!(
                    "; a rollback: the archive lacks {} audit entries a checkpoint signed by {} at {} remembers",
                    behind.entries, c.actor, c.at
                )),
                if behind.diverged {
                    "; checkpoints beside it describe another history (an earlier rollback)"
                } else {
                    ""
                }
            )),
        })
    })?;
    Ok((replayed, behind))
}

fn move_into_place(staged: &Path, target: &Path) -> Result<()> {
    let io = VaultError::io("the restored vault", "moved into place");
    fs::create_dir_all(target).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(target, fs::Permissions::from_mode(0o700))
            .map_err(VaultError::io("the target folder", "protected"))?;
    }
    for name in [db::VAULT_FILE, KEYRING_FILE, erasure_ledger::LEDGER_FILE] {
        let from: PathBuf = staged.join(name);
        fs::rename(&from, target.join(name))
            .or_else(|_| fs::copy(&from, target.join(name)).map(|_| ()))
            .map_err(VaultError::io("the restored vault", "moved into place"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{NewPassword, Username};

    /// A vault with one admin, and a format-2 archive of it.
    fn archived(dir: &Path) -> (PathBuf, RecoveryKey) {
        let user = Username::parse("alice").unwrap();
        let pw = NewPassword::parse("correct horse battery 42", &user).unwrap();
        let policy = crate::Policy {
            kdf: crate::KdfParams::MINIMUM,
            ..crate::Policy::default()
        };
        let data = dir.join("data");
        fs::create_dir_all(&data).unwrap();
        let created = Vault::create(&data, &user, &pw, policy, OffsetDateTime::now_utc()).unwrap();
        let out = dir.join("v2.backup");
        created
            .vault
            .backup(&out, "admin", OffsetDateTime::now_utc())
            .unwrap();
        (out, created.recovery_key)
    }

    fn recovery_keys(header: &Header, recovery: &RecoveryKey) -> crate::keys::Keys {
        let opened = header
            .keyring
            .open_recovery_slot(recovery.key())
            .unwrap()
            .unwrap();
        header
            .keyring
            .keys(crate::keyring::RECOVERY_SLOT, opened)
            .unwrap()
    }

    /// The payload of a format-2 archive, opened chunk by chunk into memory.
    fn payload_of(archive: &Path, recovery: &RecoveryKey) -> (Header, Vec<u8>) {
        let bytes = fs::read(archive).unwrap();
        let header_len = u32::from_be_bytes(bytes[8..12].try_into().unwrap()) as usize;
        let header_bytes = &bytes[12..12 + header_len];
        let header: Header = serde_json::from_slice(header_bytes).unwrap();
        let keys = recovery_keys(&header, recovery);
        let key = archive_key(keys.metadata(), &header.vault_id);
        let nonce: [u8; crypto::STREAM_NONCE_LEN] =
            crate::keyring::unb64(header.stream_nonce.as_deref().unwrap(), "nonce")
                .unwrap()
                .try_into()
                .unwrap();
        let aad = [MAGIC.as_slice(), header_bytes].concat();
        let mut opener = Some(crypto::StreamOpener::new(&key, &nonce));
        let mut at = 12 + header_len;
        let mut payload = Vec::new();
        while at < bytes.len() {
            let n = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            let sealed = &bytes[at + 4..at + 4 + n];
            at += 4 + n;
            let plain = if at == bytes.len() {
                opener.take().unwrap().last(&aad, sealed)
            } else {
                opener.as_mut().unwrap().next(&aad, sealed)
            };
            payload.extend_from_slice(&plain.unwrap());
        }
        (header, payload)
    }

    #[test]
    fn archives_are_written_as_a_sealed_stream_and_archives_in_one_piece_still_restore() {
        let tmp = tempfile::tempdir().unwrap();
        let (v2, recovery) = archived(tmp.path());
        let (mut header, payload) = payload_of(&v2, &recovery);
        assert_eq!(header.format, 2);
        let (summary, db_bytes) = split_payload(&payload).unwrap();
        assert_eq!(summary.users, 1);
        assert!(!db_bytes.is_empty());

        // The same payload as an issue-7 archive: format 1, sealed in one piece.
        header.format = 1;
        header.stream_nonce = None;
        let header_bytes = serde_json::to_vec(&header).unwrap();
        let keys = recovery_keys(&header, &recovery);
        let aad = [MAGIC.as_slice(), &header_bytes].concat();
        let sealed = crypto::seal(
            &archive_key(keys.metadata(), &header.vault_id),
            &aad,
            &payload,
        );
        let v1 = tmp.path().join("v1.backup");
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&(header_bytes.len() as u32).to_be_bytes());
        bytes.extend_from_slice(&header_bytes);
        bytes.extend_from_slice(&sealed);
        fs::write(&v1, &bytes).unwrap();
        let restored = restore(
            &v1,
            &tmp.path().join("from-v1"),
            Unlock::Recovery(&recovery),
        )
        .unwrap();
        assert_eq!(restored.users, 1);
        let restored = restore(
            &v2,
            &tmp.path().join("from-v2"),
            Unlock::Recovery(&recovery),
        )
        .unwrap();
        assert_eq!(restored.users, 1);
    }

    #[test]
    fn a_stream_cut_at_a_chunk_boundary_or_extended_is_damaged() {
        let tmp = tempfile::tempdir().unwrap();
        let (v2, recovery) = archived(tmp.path());
        let bytes = fs::read(&v2).unwrap();
        let header_len = u32::from_be_bytes(bytes[8..12].try_into().unwrap()) as usize;
        let first = 12 + header_len;
        let n = u32::from_be_bytes(bytes[first..first + 4].try_into().unwrap()) as usize;
        assert!(
            first + 4 + n < bytes.len(),
            "a vault spans more than one chunk"
        );
        for (name, candidate) in [
            ("cut after the first chunk", bytes[..first + 4 + n].to_vec()),
            (
                "a chunk appended",
                [bytes.as_slice(), &bytes[first..first + 4 + n]].concat(),
            ),
        ] {
            let path = tmp.path().join("candidate.backup");
            fs::write(&path, candidate).unwrap();
            let target = tmp.path().join("target");
            let err = restore(&path, &target, Unlock::Recovery(&recovery)).unwrap_err();
            assert!(
                err.to_string().contains("does not authenticate"),
                "{name}: {err}"
            );
            assert!(!target.exists(), "{name}: nothing written");
        }
    }
}
