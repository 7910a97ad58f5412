//! The backups in a folder, described from their clear headers alone (no key is needed, none
//! is opened), each compared with the vault's keyring as it is now (issue 16, item 3): an
//! archive taken before a key rotation still opens with the keys of that time — the password
//! of a member removed since, a password reset since, an old recovery key — so it is marked,
//! and the admin decides whether to destroy it or keep it offline.

use std::fs;
use std::path::Path;

use serde::Serialize;

use crate::keyring::{Keyring, RECOVERY_SLOT};
use crate::keys::DataClass;
use crate::{backup, Result, Vault, VaultError};

/// One archive in the folder, as the admin pages list it. Holds no KYC value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Archive {
    /// The file's name in the folder.
    pub file: String,
    pub bytes: u64,
    /// When it was taken (RFC 3339), from its header; empty when the file is not readable.
    pub created_at: String,
    /// Why the file is not listed as an archive of this vault, when it is not: not an
    /// archive, damaged, or another vault's.
    pub problem: Option<String>,
    /// Taken before a key rotation: it is sealed under class keys since replaced.
    pub before_rotation: bool,
    /// Member key slots in it that no longer open this vault (users removed, reset or moved
    /// to new keys since): each still opens the archive with the password of that time.
    pub stale_slots: usize,
    /// The recovery key was replaced since: the old one still opens the archive.
    pub old_recovery_key: bool,
}

fn metadata_generation(ring: &Keyring) -> u32 {
    ring.classes
        .get(DataClass::Metadata.as_str())
        .map_or(1, |c| c.generation)
}

/// How `archived` compares with `now`: (before a rotation, stale member slots, old recovery).
fn compare(archived: &Keyring, now: &Keyring) -> (bool, usize, bool) {
    let before = metadata_generation(archived) < metadata_generation(now);
    let same = |name: &str| {
        matches!((archived.slots.get(name), now.slots.get(name)),
            (Some(a), Some(b)) if a.wrapped == b.wrapped)
    };
    let stale = archived
        .slots
        .keys()
        .filter(|name| name.as_str() != RECOVERY_SLOT && !same(name))
        .count();
    (before, stale, !same(RECOVERY_SLOT))
}

impl Vault {
    /// Every `*.backup` file in `folder`, newest first, each compared with this vault's
    /// keyring. A file that is not an archive of this vault is listed with its problem.
    pub fn archives_in(&self, folder: &Path) -> Result<Vec<Archive>> {
        let now = self.keyring.load()?;
        let entries = match fs::read_dir(folder) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(VaultError::io("the backups folder", "read")(e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(VaultError::io("the backups folder", "read"))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".backup") || !entry.path().is_file() {
                continue;
            }
            let mut archive = Archive {
                file: name,
                bytes: 0,
                created_at: String::new(),
                problem: None,
                before_rotation: false,
                stale_slots: 0,
                old_recovery_key: false,
            };
            let header = fs::File::open(entry.path())
                .map_err(VaultError::io("the archive", "read"))
                .and_then(|mut f| {
                    let len = f
                        .metadata()
                        .map_err(VaultError::io("the archive", "read"))?
                        .len();
                    archive.bytes = len;
                    backup::read_header(&mut f, len)
                });
            match header {
                Err(e) => archive.problem = Some(e.to_string()),
                Ok((header, _)) if header.vault_id != self.vault_id.to_string() => {
                    archive.created_at = header.created_at;
                    archive.problem = Some("an archive of another vault".into());
                }
                Ok((header, _)) => {
                    archive.created_at = header.created_at;
                    let (before, stale, recovery) = compare(&header.keyring, &now);
                    archive.before_rotation = before;
                    archive.stale_slots = stale;
                    archive.old_recovery_key = recovery;
                }
            }
            out.push(archive);
        }
        out.sort_by(|a, b| (&b.created_at, &b.file).cmp(&(&a.created_at, &a.file)));
        Ok(out)
    }
}
