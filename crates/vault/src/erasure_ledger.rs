//! The erasure ledger: `erasures.ledger` in the data folder, one JSON line per erased
//! application (vault id, application id, when, and a MAC). It lives outside the vault file so
//! that a restore can replay it: restoring a backup taken before an erasure must not bring the
//! erased subject back. The vault's erasure records are the truth; the ledger is brought up to
//! date from them after every erasure and at every sign-in, a backup leaves a copy beside its
//! archive, and a restore merges the ledgers it finds (in the target folder and beside the
//! archive) into the restored folder. Lines hold no KYC value, only ids and times.
//!
//! Each line of this vault carries an HMAC under a key derived from the vault's root key, and
//! a restore refuses a ledger with a line of its vault that does not authenticate: a line
//! added by someone without the vault's keys cannot make a restore shred a record. (Every
//! user holds the root key today; per-user keys are the rest of issue 16.)

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::crypto::{self, Key};
use crate::{args, Result, Vault, VaultError};

pub const LEDGER_FILE: &str = "erasures.ledger";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub vault_id: String,
    pub application_id: String,
    pub erased_at: i64,
    /// HMAC-SHA256 (hex) of the three fields under the vault's ledger key.
    pub mac: String,
}

/// The ledger's MAC key for the vault whose root key is `root`.
pub(crate) fn ledger_key(root: &Key, vault_id: &str) -> Key {
    crypto::derive(
        root,
        vault_id.as_bytes(),
        b"boarding-desk/erasure-ledger/v1",
    )
}

fn mac_of(key: &Key, vault_id: &str, application_id: &str, erased_at: i64) -> [u8; 32] {
    crypto::hmac(
        key,
        &[
            vault_id.as_bytes(),
            application_id.as_bytes(),
            &erased_at.to_be_bytes(),
        ],
    )
}

impl Line {
    pub(crate) fn new(key: &Key, vault_id: &str, application_id: &str, erased_at: i64) -> Self {
        Line {
            vault_id: vault_id.to_string(),
            application_id: application_id.to_string(),
            erased_at,
            mac: data_encoding::HEXLOWER.encode(&mac_of(key, vault_id, application_id, erased_at)),
        }
    }

    fn authentic(&self, key: &Key) -> bool {
        data_encoding::HEXLOWER
            .decode(self.mac.as_bytes())
            .is_ok_and(|mac| {
                crypto::hmac_verify(
                    key,
                    &[
                        self.vault_id.as_bytes(),
                        self.application_id.as_bytes(),
                        &self.erased_at.to_be_bytes(),
                    ],
                    &mac,
                )
            })
    }
}

/// A record id as the desk writes them (UUIDs; letters, digits and dashes).
fn is_record_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The ledger in `folder` (empty when there is none). A line that does not parse, or a line of
/// `vault_id` whose MAC does not verify under `key`, is refused: a damaged or forged ledger
/// must be looked at, not half-applied. Lines of other vaults are kept as they are.
pub fn read(folder: &Path, vault_id: &str, key: &Key) -> Result<Vec<Line>> {
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
                .filter(|line| line.vault_id != vault_id || line.authentic(key))
                .ok_or(VaultError::invalid(
                    "erasure ledger",
                    "has a line that is not an authentic ledger entry",
                ))
        })
        .collect()
}

/// Writes `lines` (deduplicated, oldest first) as the ledger in `folder`: a temp file of its
/// own, synced, renamed over the old one, 0600.
pub fn write(folder: &Path, lines: &[Line]) -> Result<()> {
    let mut unique: BTreeMap<(String, String), Line> = BTreeMap::new();
    for l in lines {
        unique
            .entry((l.vault_id.clone(), l.application_id.clone()))
            .or_insert_with(|| l.clone());
    }
    let mut sorted: Vec<Line> = unique.into_values().collect();
    sorted.sort_by(|a, b| (a.erased_at, &a.application_id).cmp(&(b.erased_at, &b.application_id)));
    let mut text = String::new();
    for l in &sorted {
        text.push_str(&serde_json::to_string(l).unwrap_or_default());
        text.push('\n');
    }
    crate::db::replace_private(folder, LEDGER_FILE, text.as_bytes(), "the erasure ledger")
}

/// Lines from `extra` merged into the ledger in `folder`.
pub fn merge_into(folder: &Path, vault_id: &str, key: &Key, extra: &[Line]) -> Result<()> {
    let mut lines = read(folder, vault_id, key)?;
    let before = lines.len();
    lines.extend_from_slice(extra);
    if lines.len() == before && before > 0 {
        return Ok(());
    }
    write(folder, &lines)
}

impl Vault {
    pub(crate) fn ledger_key(&self) -> Key {
        ledger_key(self.keys().metadata(), &self.vault_id.to_string())
    }

    /// The vault's erasures, from its erasure records (a small table; the tombstones
    /// themselves would be a scan of every application).
    pub(crate) fn erased(&self) -> Result<Vec<Line>> {
        let vault_id = self.vault_id.to_string();
        let key = self.ledger_key();
        let rows = self.db().query_map(
            "listing erasures",
            "SELECT application_id, max(at) FROM erasure_requests WHERE outcome = 'erased'
             GROUP BY application_id",
            &[],
            |r| Ok((r.get::<String>(0)?, r.get::<i64>(1)?)),
        )?;
        Ok(rows
            .into_iter()
            .map(|(id, at)| Line::new(&key, &vault_id, &id, at))
            .collect())
    }

    /// Brings the data folder's ledger, and the one in its `backups/` folder (where the
    /// window writes archives), up to date with the vault's erasure records, leaving any line
    /// they hold for another vault alone. Each folder on its own: one that cannot be written
    /// does not keep the other from being brought up to date; the first error is returned.
    pub fn sync_erasure_ledger(&self) -> Result<()> {
        let erased = self.erased()?;
        if erased.is_empty() {
            return Ok(());
        }
        let vault_id = self.vault_id.to_string();
        let key = self.ledger_key();
        let folder = self.keyring.folder();
        let backups = folder.join("backups");
        let mut first_error = None;
        for folder in [folder, backups.as_path()] {
            if !folder.is_dir() {
                continue;
            }
            let synced = read(folder, &vault_id, &key).and_then(|known| {
                let missing: Vec<Line> = erased
                    .iter()
                    .filter(|e| {
                        !known.iter().any(|k| {
                            k.vault_id == e.vault_id && k.application_id == e.application_id
                        })
                    })
                    .cloned()
                    .collect();
                if missing.is_empty() {
                    Ok(())
                } else {
                    merge_into(folder, &vault_id, &key, &missing)
                }
            });
            if let Err(e) = synced {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Erases every application `lines` names for this vault that is not erased here yet (a
    /// restored archive older than the erasure), each with its erasure record and audited.
    /// Returns how many.
    pub(crate) fn replay_erasures(&self, lines: &[Line], actor: &str) -> Result<usize> {
        let vault_id = self.vault_id.to_string();
        let mut replayed = 0;
        for line in lines.iter().filter(|l| l.vault_id == vault_id) {
            // Absent (created after the archive) or already erased: nothing to do.
            let erased_at: Option<Option<i64>> = self.db().query_value(
                "reading an application",
                "SELECT erased_at FROM applications WHERE id = ?1",
                args![&line.application_id],
            )?;
            if erased_at != Some(None) {
                continue;
            }
            self.write(|tx| {
                tx.erase_application(&line.application_id, line.erased_at)?;
                tx.record_erasure_request(&crate::retention::Request {
                    id: uuid::Uuid::now_v7().to_string(),
                    application_id: line.application_id.clone(),
                    requested_by: format!("restore replay by {actor}"),
                    at: line.erased_at,
                    outcome: crate::retention::ErasureOutcome::Erased,
                    possible_from: None,
                    source: "request".into(),
                })?;
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
