//! The erasure ledger: `erasures.ledger` in the data folder, one JSON line per erased
//! application (vault id, application id, when). It lives outside the vault file so that a
//! restore can replay it: restoring a backup taken before an erasure must not bring the
//! erased subject back. The vault's erasure records are the truth; the ledger is brought up to
//! date from them after every erasure and at every sign-in, a backup leaves a copy beside its
//! archive, and a restore merges the ledgers it finds (in the target folder and beside the
//! archive) into the restored folder. Lines hold no KYC value, only ids and times.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Result, Vault, VaultError};

pub const LEDGER_FILE: &str = "erasures.ledger";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub vault_id: String,
    pub application_id: String,
    pub erased_at: i64,
}

/// The ledger in `folder` (empty when there is none). A line that does not parse is refused:
/// a damaged ledger must be looked at, not half-applied.
pub fn read(folder: &Path) -> Result<Vec<Line>> {
    let text = match fs::read_to_string(folder.join(LEDGER_FILE)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(VaultError::io("the erasure ledger", "read")(e)),
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<Line>(l)
                .ok()
                .filter(|line| is_record_id(&line.application_id))
                .ok_or(VaultError::invalid(
                    "erasure ledger",
                    "has a line that is not a ledger entry",
                ))
        })
        .collect()
}

/// A record id as the desk writes them (UUIDs; letters, digits and dashes).
fn is_record_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Writes `lines` (deduplicated, oldest first) as the ledger in `folder`, atomically, 0600.
pub fn write(folder: &Path, lines: &[Line]) -> Result<()> {
    let mut unique: BTreeMap<(String, String), i64> = BTreeMap::new();
    for l in lines {
        unique
            .entry((l.vault_id.clone(), l.application_id.clone()))
            .or_insert(l.erased_at);
    }
    let mut sorted: Vec<Line> = unique
        .into_iter()
        .map(|((vault_id, application_id), erased_at)| Line {
            vault_id,
            application_id,
            erased_at,
        })
        .collect();
    sorted.sort_by(|a, b| (a.erased_at, &a.application_id).cmp(&(b.erased_at, &b.application_id)));
    let mut text = String::new();
    for l in &sorted {
        text.push_str(&serde_json::to_string(l).unwrap_or_default());
        text.push('\n');
    }
    let tmp = folder.join(".erasures.ledger.tmp");
    let io = VaultError::io("the erasure ledger", "written");
    {
        let mut f = crate::db::private_file()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&tmp)
            .map_err(io)?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(VaultError::io("the erasure ledger", "written"))?;
    }
    fs::rename(&tmp, folder.join(LEDGER_FILE))
        .map_err(VaultError::io("the erasure ledger", "replaced"))
}

/// Lines from `extra` merged into the ledger in `folder`.
pub fn merge_into(folder: &Path, extra: &[Line]) -> Result<()> {
    let mut lines = read(folder)?;
    let before = lines.len();
    lines.extend_from_slice(extra);
    if lines.len() == before && before > 0 {
        return Ok(());
    }
    write(folder, &lines)
}

impl Vault {
    /// The vault's erasures, from its erasure records (a small table; the tombstones
    /// themselves would be a scan of every application).
    pub(crate) fn erased(&self) -> Result<Vec<Line>> {
        let vault_id = self.vault_id.to_string();
        let mut stmt = self
            .conn()
            .prepare(
                "SELECT application_id, max(at) FROM erasure_requests WHERE outcome = 'erased'
                 GROUP BY application_id",
            )
            .map_err(VaultError::storage("listing erasures"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Line {
                    vault_id: vault_id.clone(),
                    application_id: r.get(0)?,
                    erased_at: r.get(1)?,
                })
            })
            .map_err(VaultError::storage("listing erasures"))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(VaultError::storage("listing erasures"))?;
        Ok(rows)
    }

    /// Brings the data folder's ledger, and the one in its `backups/` folder (where the
    /// window writes archives), up to date with the vault's erasure records, leaving any line
    /// they hold for another vault alone.
    pub fn sync_erasure_ledger(&self) -> Result<()> {
        let erased = self.erased()?;
        if erased.is_empty() {
            return Ok(());
        }
        let folder = self.keyring.folder();
        let backups = folder.join("backups");
        for folder in [folder, backups.as_path()] {
            if !folder.is_dir() {
                continue;
            }
            let known = read(folder)?;
            let missing: Vec<Line> = erased
                .iter()
                .filter(|e| {
                    !known
                        .iter()
                        .any(|k| k.vault_id == e.vault_id && k.application_id == e.application_id)
                })
                .cloned()
                .collect();
            if !missing.is_empty() {
                merge_into(folder, &missing)?;
            }
        }
        Ok(())
    }

    /// Erases every application `lines` names for this vault that is not erased here yet (a
    /// restored archive older than the erasure), each audited. Returns how many.
    pub(crate) fn replay_erasures(&self, lines: &[Line], actor: &str) -> Result<usize> {
        let vault_id = self.vault_id.to_string();
        let mut replayed = 0;
        for line in lines.iter().filter(|l| l.vault_id == vault_id) {
            let pending: Option<Option<i64>> = self
                .conn()
                .query_row(
                    "SELECT erased_at FROM applications WHERE id = ?1",
                    [&line.application_id],
                    |r| r.get(0),
                )
                .ok();
            if pending != Some(None) {
                continue;
            }
            self.write(|tx| {
                tx.erase_application(&line.application_id, line.erased_at)?;
                tx.audit(&crate::audit::Event {
                    actor,
                    action: "gdpr.erasure_replayed",
                    target: Some(&line.application_id),
                    outcome: crate::audit::Outcome::Ok,
                    detail: Some("erased after this backup was taken; erased again on restore"),
                })
            })?;
            replayed += 1;
        }
        Ok(replayed)
    }
}
