//! Encrypted backups (issue 7, in part): `desk backup FILE` and `desk restore FILE --into DIR`.
//! The archive opens only with an admin's password or the recovery key; a restore checks the
//! whole archive and the restored vault (integrity, audit chain, counts) before it writes
//! anything into the target folder, which must be empty.

use std::path::Path;

pub use crate::views::BackupSummary as Summary;
use time::OffsetDateTime;
use vault::audit::Outcome;
use vault::backup::Unlock;
use vault::RecoveryKey;

use crate::session::{Access, SessionSlot};
use crate::{Error, Result};

/// Use case (admin): writes an encrypted archive of the vault to `out`. Consistent while the
/// app writes (a snapshot under the keyring lock). Audited with the counts, never the path's
/// content.
pub fn backup(slot: &mut SessionSlot, out: &Path) -> Result<Summary> {
    // The session and role first, before any of the input is looked at.
    slot.require(Access::Admin, "vault.backup")?;
    if out.as_os_str().is_empty() || out.is_dir() {
        return Err(Error::invalid_input("file", "must be a file path"));
    }
    let session = slot.require(Access::Admin, "vault.backup")?;
    let archived = session
        .vault()
        .backup(out, session.username(), OffsetDateTime::now_utc())?;
    let checkpoint = archived.checkpoint.clone();
    let summary = Summary::from(archived);
    session.write(|w| {
        // The vault keeps the checkpoint left beside the archive (the Audit panel lists it).
        if let Some(c) = &checkpoint {
            w.keep_checkpoint(c)?;
        }
        w.audit(
            "vault.backup",
            None,
            Outcome::Ok,
            Some(&format!(
                "{} applications, {} users, {} audit entries, {} bytes",
                summary.applications, summary.users, summary.audit_entries, summary.bytes
            )),
        )
    })?;
    Ok(summary)
}

/// Use case (admin): a backup into `<data folder>/backups/boarding-desk-<unix time>.backup`
/// (the window's button). Returns where it went.
pub fn backup_in_data_dir(
    dir: &crate::DataDir,
    slot: &mut SessionSlot,
) -> Result<(std::path::PathBuf, Summary)> {
    let folder = dir.path().join("backups");
    std::fs::create_dir_all(&folder)
        .map_err(|_| Error::invalid_input("file", "the backups folder could not be created"))?;
    let path = folder.join(format!(
        "boarding-desk-{}.backup",
        OffsetDateTime::now_utc().unix_timestamp()
    ));
    let summary = backup(slot, &path)?;
    Ok((path, summary))
}

/// Use case (admin): the archives in `folder` (by default the data folder's `backups/`),
/// newest first, each marked when it predates a key rotation and with what still opens it.
pub fn list_backups(
    dir: &crate::DataDir,
    slot: &mut SessionSlot,
    folder: Option<&Path>,
) -> Result<Vec<crate::views::BackupFile>> {
    slot.require(Access::Admin, "vault.backups")?;
    let default = dir.path().join("backups");
    let folder = folder.unwrap_or(&default);
    if folder.exists() && !folder.is_dir() {
        return Err(Error::invalid_input("folder", "must be a folder"));
    }
    let session = slot.require(Access::Admin, "vault.backups")?;
    Ok(crate::views::all(session.vault().archives_in(folder)?))
}

/// How a restore is authorised.
pub enum RestoreWith {
    Admin {
        username: String,
        password: String,
        /// The admin's current authenticator code.
        code: String,
    },
    RecoveryKey(String),
}

/// Use case (the window's first-run screen): restores `archive` into this data folder, which
/// must not hold a vault yet. No session exists; the archive itself demands an admin's password
/// or the recovery key.
pub fn restore_into_data_dir(
    dir: &crate::DataDir,
    archive: &Path,
    with: RestoreWith,
) -> Result<Summary> {
    if vault::state(dir.path()) != domain::VaultState::NotCreated {
        return Err(Error::new(
            crate::Code::Conflict,
            "this data folder already holds a vault: restore into a new one",
        ));
    }
    restore(archive, dir.path(), with)
}

/// Use case (no session: the vault being restored is not open yet): restores `archive` into the
/// empty folder `target`.
pub fn restore(archive: &Path, target: &Path, with: RestoreWith) -> Result<Summary> {
    let summary: Summary = match &with {
        RestoreWith::Admin {
            username,
            password,
            code,
        } => vault::backup::restore(
            archive,
            target,
            Unlock::Admin {
                username: username.trim(),
                password,
                code: code.trim(),
            },
        )?,
        RestoreWith::RecoveryKey(text) => {
            let key = RecoveryKey::parse(text)?;
            vault::backup::restore(archive, target, Unlock::Recovery(&key))?
        }
    }
    .into();
    tracing::info!(
        applications = summary.applications,
        users = summary.users,
        "restored a backup"
    );
    Ok(summary)
}
