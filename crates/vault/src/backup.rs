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
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Header {
    format: u32,
    vault_id: String,
    schema_version: i64,
    created_at: String,
    keyring: Keyring,
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
    pub fn backup(&self, out: &Path, now: OffsetDateTime) -> Result<Summary> {
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
        let db_key = ring.unwrap_db_key(&self.root, &ring.db_key)?;
        let schema_version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(VaultError::storage("reading the schema version"))?;
        let raw_key = crate::db::raw_key_text(&db_key);
        // One read transaction around the counts and the export: another connection (the CLI,
        // a second window) committing meanwhile lands wholly before or wholly after the
        // snapshot, and the counts describe exactly what it holds. (ATTACH cannot run inside a
        // transaction, so it comes first.)
        let mut counted = None;
        // The export commits into the attached snapshot only; no business change is made.
        let exported = self.unguarded(|| {
            self.conn
                .execute(
                    "ATTACH DATABASE ?1 AS backup KEY ?2",
                    params![snapshot_path.to_string_lossy(), raw_key.as_str()],
                )
                .and_then(|_| self.conn.execute_batch("BEGIN"))
                .and_then(|()| {
                    let in_tx = count_rows(&self.conn)
                        .map(|c| counted = Some(c))
                        .and_then(|()| {
                            self.conn
                                .query_row("SELECT sqlcipher_export('backup')", [], |_| Ok(()))
                        })
                        .and_then(|()| {
                            self.conn.execute_batch(&format!(
                                "PRAGMA backup.user_version = {schema_version}"
                            ))
                        });
                    match in_tx {
                        Ok(()) => self.conn.execute_batch("COMMIT"),
                        Err(e) => {
                            let _ = self.conn.execute_batch("ROLLBACK");
                            Err(e)
                        }
                    }
                })
        });
        let detached = self.conn.execute_batch("DETACH DATABASE backup");
        drop(raw_key);
        drop(lock);
        let cleanup = || {
            let _ = fs::remove_file(&snapshot_path);
        };
        if let Err(e) = exported.and(detached) {
            cleanup();
            return Err(VaultError::storage("taking a snapshot of the vault")(e));
        }
        let db_bytes = fs::read(&snapshot_path).map_err(|e| {
            cleanup();
            io("read")(e)
        })?;
        cleanup();
        let (applications, users, audit_entries) =
            counted.ok_or(VaultError::VaultDamaged("the vault could not be counted"))?;

        let mut summary = Summary {
            vault_id: self.vault_id.to_string(),
            created_at: crate::vault::rfc3339(now),
            schema_version,
            applications,
            users,
            audit_entries,
            bytes: 0,
            erasures_replayed: 0,
        };
        let header = serde_json::to_vec(&Header {
            format: FORMAT,
            vault_id: summary.vault_id.clone(),
            schema_version,
            created_at: summary.created_at.clone(),
            keyring: ring,
        })
        .map_err(|_| VaultError::VaultDamaged("the keyring could not be written"))?;
        let summary_json = serde_json::to_vec(&summary).unwrap_or_default();
        let mut payload = Vec::with_capacity(db_bytes.len() + summary_json.len() + 4);
        payload.extend_from_slice(&(summary_json.len() as u32).to_be_bytes());
        payload.extend_from_slice(&summary_json);
        payload.extend_from_slice(&db_bytes);
        let aad = [MAGIC.as_slice(), &header].concat();
        let sealed = crypto::seal(&archive_key(&self.root, &summary.vault_id), &aad, &payload);
        let mut archive = Vec::with_capacity(sealed.len() + header.len() + 12);
        archive.extend_from_slice(MAGIC);
        archive.extend_from_slice(&(header.len() as u32).to_be_bytes());
        archive.extend_from_slice(&header);
        archive.extend_from_slice(&sealed);
        let tmp = tempfile::NamedTempFile::new_in(folder).map_err(io("created"))?;
        fs::write(tmp.path(), &archive).map_err(io("written"))?;
        tmp.as_file().sync_all().map_err(io("written"))?;
        tmp.persist(out).map_err(|e| io("saved")(e.error))?;
        summary.bytes = archive.len() as u64;
        // The ledger travels beside the archive: restoring this archive, or an older one from
        // the same folder, replays every erasure made up to now.
        let mut lines = erasure_ledger::read(self.keyring.folder())?;
        lines.extend(self.erased()?);
        erasure_ledger::merge_into(folder, &lines)?;
        Ok(summary)
    }
}

/// Restores `archive` into `target` (which must be empty or absent): authenticates the whole
/// archive, opens the restored vault (integrity check, migrations), verifies the audit chain
/// and the counts, and only then moves the files into place. Nothing is written to `target`
/// unless every check passes.
pub fn restore(archive: &Path, target: &Path, unlock: Unlock<'_>) -> Result<Summary> {
    let bytes = fs::read(archive).map_err(VaultError::io("the archive", "read"))?;
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err(VaultError::invalid(
            "archive",
            "is not a Boarding Desk backup",
        ));
    }
    let header_len = u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
    let header_bytes = bytes.get(12..12 + header_len).ok_or_else(damaged)?;
    let header: Header = serde_json::from_slice(header_bytes).map_err(|_| damaged())?;
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
    let root = match &unlock {
        Unlock::Admin {
            username, password, ..
        } => header
            .keyring
            .open_password_slot(&crate::vault::slot_id(username), password.as_bytes())?,
        Unlock::Recovery(key) => header.keyring.open_recovery_slot(key.key())?,
    }
    .ok_or(VaultError::BadCredentials)?;
    let sealed = &bytes[12 + header_len..];
    let aad = [MAGIC.as_slice(), header_bytes].concat();
    let payload =
        crypto::open(&archive_key(&root, &header.vault_id), &aad, sealed).ok_or_else(damaged)?;
    let summary_len = payload
        .get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or_else(damaged)?;
    let summary: Summary = payload
        .get(4..4 + summary_len)
        .and_then(|s| serde_json::from_slice(s).ok())
        .ok_or_else(damaged)?;
    let db_bytes = payload.get(4 + summary_len..).ok_or_else(damaged)?;

    // Empty, or a fresh data folder: only what the app creates before a vault exists (its
    // logs, exports and backups folders) may be there.
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
    let staging = tempfile::Builder::new()
        .prefix(".desk-restore-")
        .tempdir_in(parent)
        .map_err(VaultError::io("a staging folder", "created"))?;
    fs::write(staging.path().join(db::VAULT_FILE), db_bytes)
        .map_err(VaultError::io("the restored vault", "written"))?;
    let ring_file = KeyringFile::in_dir(staging.path());
    {
        let lock = ring_file.lock()?;
        ring_file.save(&header.keyring, &lock)?;
    }
    // The erasure ledgers a restore knows of: the target folder's own (a vault lost and
    // restored in place) and the one beside the archive (left by the latest backup there).
    let archive_folder = archive
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut ledger = erasure_ledger::read(archive_folder)?;
    if target.exists() {
        ledger.extend(erasure_ledger::read(target)?);
    }
    let mut summary = summary;
    summary.erasures_replayed =
        check_restored(staging.path(), &ring_file, root, &unlock, &summary, &ledger)?;
    erasure_ledger::merge_into(staging.path(), &ledger)?;
    move_into_place(staging.path(), target)?;
    Ok(summary)
}

/// Opens the staged vault as a sign-in would and compares it with the archive's summary.
fn check_restored(
    staged: &Path,
    ring_file: &KeyringFile,
    root: Key,
    unlock: &Unlock<'_>,
    summary: &Summary,
    ledger: &[erasure_ledger::Line],
) -> Result<usize> {
    let lock = ring_file.lock()?;
    let mut ring = ring_file.load()?;
    let vault = Vault::open_with_root(
        staged,
        ring_file,
        &mut ring,
        root,
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
            let secret = vault.totp_secret(&user.id)?;
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
    let (applications, users, audit_entries) = counts(&vault.conn)?;
    if (applications, users, audit_entries)
        != (summary.applications, summary.users, summary.audit_entries)
    {
        return Err(VaultError::invalid(
            "archive",
            "does not hold what its summary says",
        ));
    }
    // The restored vault's own log says it was restored, by whom, from which archive.
    let actor = match unlock {
        Unlock::Admin { username, .. } => *username,
        Unlock::Recovery(_) => "recovery key",
    };
    // Before anyone can open it: what was erased after the archive was taken is erased again.
    let replayed = vault.replay_erasures(ledger, actor)?;
    vault.write_at(now, |tx| {
        if let Some((user_id, step)) = &code_step {
            tx.conn
                .execute(
                    "UPDATE users SET totp_last_step = ?2 WHERE id = ?1",
                    params![user_id, step],
                )
                .map_err(VaultError::storage("spending the restore's code"))?;
        }
        tx.audit(&crate::audit::Event {
            actor,
            action: "vault.restore",
            target: None,
            outcome: crate::audit::Outcome::Ok,
            detail: Some(&format!(
                "archive of {}; {replayed} later erasure(s) replayed",
                summary.created_at
            )),
        })
    })?;
    Ok(replayed)
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
