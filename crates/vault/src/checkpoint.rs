//! Signed checkpoints of the audit log (issue 16, item 4): "the log held entry N, whose chain
//! hash was H", signed with the Ed25519 key of the member who took it.
//!
//! A member can re-chain and re-sign entries only as themselves, so the one edit the signed log
//! cannot show is a member removing their own entries at its very end (with the keyring's head,
//! whose MAC key every member holds). A checkpoint kept where that member cannot reach it — the
//! file beside a backup archive, a file an auditor exported — remembers entries they would have
//! to remove: `audit verify` given that file names the cut. Every backup leaves one beside its
//! archive, every checkpoint is also kept in the vault (the Audit panel lists them), and a
//! restore compares the archive with the checkpoints beside it, so restoring an older archive
//! says how many witnessed entries it lacks (a rollback).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::keyring::{b64, unb64, RECOVERY_SLOT};
use crate::keys::MemberKeys;
use crate::sql::Db;
use crate::{args, audit, crypto, Result, Vault, VaultError};

/// The file of checkpoints beside backup archives (one JSON object per line).
pub const CHECKPOINT_FILE: &str = "audit-checkpoints.jsonl";

/// One signed checkpoint. Holds no KYC value: a sequence number, a hash, a time and names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Checkpoint {
    pub vault_id: String,
    /// The last entry the checkpoint covers, and its chain hash (hex).
    pub seq: i64,
    pub hash: String,
    /// When it was signed (RFC 3339, UTC).
    pub at: String,
    /// The signing member's keyring slot, and their username.
    pub signer: String,
    pub actor: String,
    /// Ed25519 over [`message`], base64.
    pub signature: String,
}

/// What a checkpoint says of the log it is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// The log holds the entry, with that hash.
    Holds,
    /// The log ends before the entry: entries were removed (or the log is older: a rollback).
    Beyond,
    /// The log holds a different entry at that place.
    Replaced,
}

fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The signed bytes: every field but the signature, each with its length, in a context of
/// their own.
fn message(c: &Checkpoint) -> Vec<u8> {
    let mut out = b"boarding-desk/audit-checkpoint/v1".to_vec();
    for f in [&c.vault_id, &c.hash, &c.at, &c.signer, &c.actor] {
        field(&mut out, f.as_bytes());
    }
    out.extend_from_slice(&c.seq.to_be_bytes());
    out
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Signs a checkpoint of entry `seq` (chain hash `hash`).
pub(crate) fn sign(
    vault_id: &str,
    (seq, hash): (i64, &[u8]),
    at: &str,
    (slot, actor): (&str, &str),
    keys: &MemberKeys,
) -> Checkpoint {
    let mut c = Checkpoint {
        vault_id: vault_id.to_string(),
        seq,
        hash: hex(hash),
        at: at.to_string(),
        signer: slot.to_string(),
        actor: actor.to_string(),
        signature: String::new(),
    };
    c.signature = b64(&keys.sign(&message(&c)));
    c
}

/// Whether `c` is signed by one of `keys`.
pub(crate) fn signed_by_one_of(c: &Checkpoint, keys: &[[u8; crypto::PUBLIC_LEN]]) -> bool {
    let Ok(signature) = unb64(&c.signature, "") else {
        return false;
    };
    let message = message(c);
    keys.iter().any(|k| crypto::verify(k, &message, &signature))
}

/// What the log in `conn` says of `c`.
pub(crate) fn standing(db: &Db<'_>, c: &Checkpoint) -> Result<Standing> {
    let hash: Option<Vec<u8>> = db.query_value(
        "reading the audit log",
        "SELECT hash FROM audit WHERE seq = ?1",
        args![c.seq],
    )?;
    Ok(match hash {
        None => Standing::Beyond,
        Some(h) if hex(&h) == c.hash => Standing::Holds,
        Some(_) => Standing::Replaced,
    })
}

/// Every checkpoint in `path` (a file of them, one per line). A line that is not a checkpoint
/// is refused with its line number; a missing file holds none.
pub fn read_file(path: &Path) -> Result<Vec<Checkpoint>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(VaultError::io("the checkpoint file", "read")(e)),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str::<Checkpoint>(l).map_err(|_| {
                VaultError::invalid(
                    "checkpoints",
                    format!("line {} is not a signed audit checkpoint", i + 1),
                )
            })
        })
        .collect()
}

/// The checkpoints in `path` that parse, and how many lines did not (a restore reads the file
/// beside an archive this way: a damaged line must not stop a restore).
pub fn read_file_lenient(path: &Path) -> Result<(Vec<Checkpoint>, usize)> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(VaultError::io("the checkpoint file", "read")(e)),
    };
    let mut bad = 0;
    let good = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let parsed = serde_json::from_str::<Checkpoint>(l).ok();
            bad += usize::from(parsed.is_none());
            parsed
        })
        .collect();
    Ok((good, bad))
}

/// Adds `c` to the checkpoint file in `folder` (0600), unless it is there already: the file is
/// written whole beside the old one and renamed over it, so a crash leaves one or the other,
/// never half a line. Lines it cannot read are kept as they are.
pub fn append_to(folder: &Path, c: &Checkpoint) -> Result<()> {
    let path = folder.join(CHECKPOINT_FILE);
    let old = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(VaultError::io("the checkpoint file", "read")(e)),
    };
    let line = serde_json::to_string(c).unwrap_or_default();
    if old.lines().any(|l| l == line) {
        return Ok(());
    }
    let mut text = old;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&line);
    text.push('\n');
    crate::db::replace_private(
        folder,
        CHECKPOINT_FILE,
        text.as_bytes(),
        "the checkpoint file",
    )
}

/// Keeps `c` in the vault's own table (inside the unit that audits it).
pub(crate) fn keep(db: &Db<'_>, c: &Checkpoint) -> Result<()> {
    db.execute(
        "keeping an audit checkpoint",
        "INSERT INTO audit_checkpoints (seq, hash, at, signer, actor, signature)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT DO NOTHING",
        args![c.seq, &c.hash, &c.at, &c.signer, &c.actor, &c.signature],
    )?;
    Ok(())
}

/// The vault's own checkpoints, newest first.
pub(crate) fn kept(db: &Db<'_>, vault_id: &str) -> Result<Vec<Checkpoint>> {
    db.query_map(
        "reading the audit checkpoints",
        "SELECT seq, hash, at, signer, actor, signature FROM audit_checkpoints
         ORDER BY seq DESC, at DESC",
        &[],
        |r| {
            Ok(Checkpoint {
                vault_id: vault_id.to_string(),
                seq: r.get(0)?,
                hash: r.get(1)?,
                at: r.get(2)?,
                signer: r.get(3)?,
                actor: r.get(4)?,
                signature: r.get(5)?,
            })
        },
    )
}

/// A registered signing key of a keyring slot, with the user it belongs to.
type SignerKey = (String, [u8; crypto::PUBLIC_LEN]);

/// Who may have signed an entry or a checkpoint: each slot's registrations checked once.
pub(crate) struct Signers<'a> {
    ring: &'a crate::keyring::Keyring,
    /// Username → user id.
    users: BTreeMap<String, String>,
    checked: RefCell<HashMap<String, Vec<SignerKey>>>,
    /// Desk id → the keys an admin registered for it, checked once.
    desks: RefCell<HashMap<String, Vec<[u8; crate::crypto::PUBLIC_LEN]>>>,
}

impl<'a> Signers<'a> {
    pub(crate) fn new(db: &Db<'_>, ring: &'a crate::keyring::Keyring) -> Result<Self> {
        let users = db
            .query_map(
                "listing users",
                "SELECT username, id FROM users",
                &[],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .into_iter()
            .collect();
        Ok(Self {
            ring,
            users,
            checked: Default::default(),
            desks: Default::default(),
        })
    }

    /// The keys `slot` signed with, when the slot belongs to `actor` (or the actor is not a
    /// user: `system`, `anonymous`, `recovery key`).
    pub(crate) fn check(&self, slot: &str, actor: &str) -> audit::SignerCheck {
        // A desk signs only the entries no member writes, under a key an admin registered.
        if let Some(desk) = slot.strip_prefix(crate::desks::PREFIX) {
            if !crate::desks::signs_for(actor) {
                return audit::SignerCheck::NotTheActor;
            }
            let keys = self
                .desks
                .borrow_mut()
                .entry(desk.to_string())
                .or_insert_with(|| crate::desks::registered(self.ring, desk))
                .clone();
            return if keys.is_empty() {
                audit::SignerCheck::Unknown
            } else {
                audit::SignerCheck::Keys(keys)
            };
        }
        // A system job acting for a user (`system:boarding for alice`) signs with that user's
        // key, and so does a member writing an entry no member writes on a desk no admin
        // registered (`anonymous for uma`); the recovery key's entries carry the recovery
        // member's. Only bare `anonymous` and `system`, as written before desks signed them,
        // may carry any member's signature (`audit::verify` refuses that after the first
        // `desk.registered` entry).
        let actor = match actor.rsplit_once(" for ") {
            Some((job, user)) if job.starts_with("system:") || crate::desks::signs_for(job) => {
                // On behalf of a member only: `anonymous for anonymous` is nobody's.
                if crate::desks::signs_for(user) {
                    return audit::SignerCheck::NotTheActor;
                }
                user
            }
            _ => actor,
        };
        if matches!(actor, "recovery-key" | "recovery key") && slot != RECOVERY_SLOT {
            return audit::SignerCheck::NotTheActor;
        }
        let mut checked = self.checked.borrow_mut();
        let registrations = checked.entry(slot.to_string()).or_insert_with(|| {
            self.ring
                .registrations(slot)
                .into_iter()
                .map(|(m, p)| (m.user_id.clone(), p.sign))
                .collect()
        });
        if registrations.is_empty() {
            return audit::SignerCheck::Unknown;
        }
        let of_actor = self.users.get(actor);
        // An actor that is no user: only the few the code writes without one.
        if of_actor.is_none()
            && !matches!(
                actor,
                "anonymous" | "system" | "recovery-key" | "recovery key"
            )
        {
            return audit::SignerCheck::NotTheActor;
        }
        let keys: Vec<_> = registrations
            .iter()
            .filter(|(user_id, _)| of_actor.is_none_or(|id| id == user_id))
            .map(|(_, sign)| *sign)
            .collect();
        if keys.is_empty() {
            audit::SignerCheck::NotTheActor
        } else {
            audit::SignerCheck::Keys(keys)
        }
    }

    /// Whether `c` is this vault's and signed by a key registered for its signer and actor.
    pub(crate) fn authentic(&self, c: &Checkpoint, vault_id: &str) -> bool {
        c.vault_id == vault_id
            && matches!(self.check(&c.signer, &c.actor),
                audit::SignerCheck::Keys(keys) if signed_by_one_of(c, &keys))
    }
}

/// The chain hash of the newest entry, with its number.
pub(crate) fn head(db: &Db<'_>) -> Result<Option<(i64, Vec<u8>)>> {
    db.query_row(
        "reading the audit head",
        "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
        &[],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// How far a log is behind the checkpoints it was compared with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Behind {
    /// Entries the newest authentic checkpoint remembers that the log does not hold.
    pub entries: i64,
    /// That checkpoint's time and signer, when the log is behind.
    pub newest: Option<Checkpoint>,
    /// An authentic checkpoint remembers a different entry at a place the log holds.
    pub diverged: bool,
}

impl Vault {
    /// Checks the chain (as [`Vault::verify_audit`]) and then every checkpoint the vault keeps
    /// plus `extra` (a file from beside a backup, an auditor's export): each one of this vault,
    /// authentically signed, must name an entry the log holds with the hash it remembers. A
    /// checkpoint that is not authentic is counted as ignored, never trusted.
    pub fn verify_audit_with(&self, extra: &[Checkpoint]) -> Result<audit::Report> {
        let ring = self.keyring.load()?;
        let signers = Signers::new(&self.db(), &ring)?;
        let check = |slot: &str, actor: &str| signers.check(slot, actor);
        let mut report = audit::verify(
            &self.db(),
            ring.audit_head.as_ref(),
            &self.head_key(),
            &check,
        )?;
        if !report.intact {
            return Ok(report);
        }
        let vault_id = self.vault_id.to_string();
        let mut all = kept(&self.db(), &vault_id)?;
        all.extend(extra.iter().cloned());
        all.sort_by(|a, b| (a.seq, &a.at).cmp(&(b.seq, &b.at)));
        all.dedup();
        for c in &all {
            if !signers.authentic(c, &vault_id) {
                report.checkpoints_ignored += 1;
                continue;
            }
            let (at, problem) = match standing(&self.db(), c)? {
                Standing::Holds => {
                    report.checkpoints += 1;
                    continue;
                }
                Standing::Beyond => (
                    report.entries + 1,
                    format!(
                        "entries after {} were removed: a checkpoint signed by {} at {} remembers entry {}",
                        report.entries, c.actor, c.at, c.seq
                    ),
                ),
                Standing::Replaced => (
                    c.seq,
                    format!(
                        "entry {} is not the one a checkpoint signed by {} at {} remembers",
                        c.seq, c.actor, c.at
                    ),
                ),
            };
            report.intact = false;
            report.broken_at = Some(at);
            report.problem = Some(problem);
            return Ok(report);
        }
        Ok(report)
    }

    /// How far this vault's log is behind the authentic checkpoints among `checkpoints` (a
    /// restore compares the archive it restored with those beside it).
    pub(crate) fn behind(&self, checkpoints: &[Checkpoint]) -> Result<Behind> {
        let ring = self.keyring.load()?;
        let signers = Signers::new(&self.db(), &ring)?;
        let vault_id = self.vault_id.to_string();
        let entries = head(&self.db())?.map_or(0, |(seq, _)| seq);
        let mut behind = Behind::default();
        for c in checkpoints
            .iter()
            .filter(|c| signers.authentic(c, &vault_id))
        {
            match standing(&self.db(), c)? {
                Standing::Holds => {}
                Standing::Replaced => behind.diverged = true,
                Standing::Beyond => {
                    if c.seq - entries > behind.entries {
                        behind.entries = c.seq - entries;
                        behind.newest = Some(c.clone());
                    }
                }
            }
        }
        Ok(behind)
    }

    /// The checkpoints this vault keeps, newest first (the Audit panel).
    pub fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        kept(&self.db(), &self.vault_id.to_string())
    }

    /// Signs a checkpoint of the log up to and including an `audit.checkpoint` entry by
    /// `actor`, keeps it in the vault and returns it (to be saved where the signer's peers
    /// cannot reach). Needs the member's own signing key.
    pub fn sign_checkpoint(&self, actor: &str, now: OffsetDateTime) -> Result<Checkpoint> {
        let me = self
            .keys()
            .me
            .clone()
            .ok_or(VaultError::NoKey("a signing key of its own"))?;
        let vault_id = self.vault_id.to_string();
        self.write_at(now, |tx| {
            tx.audit(&audit::Event {
                actor,
                action: "audit.checkpoint",
                target: None,
                outcome: audit::Outcome::Ok,
                detail: Some("a signed checkpoint of the log up to this entry"),
            })?;
            let (seq, hash) =
                head(&tx.db())?.ok_or(VaultError::VaultDamaged("the audit log is empty"))?;
            let c = sign(
                &vault_id,
                (seq, &hash),
                &crate::vault::rfc3339(now),
                (&self.slot, actor),
                &me,
            );
            keep(&tx.db(), &c)?;
            Ok(c)
        })
    }

    /// A checkpoint of the newest entry as `actor`, without a unit (a backup signs the head
    /// of its snapshot); none without a signing key of the member's own.
    pub(crate) fn checkpoint_of(
        &self,
        (seq, hash): (i64, &[u8]),
        actor: &str,
        now: OffsetDateTime,
    ) -> Option<Checkpoint> {
        let keys = self.keys();
        let me = keys.me.as_ref()?;
        Some(sign(
            &self.vault_id.to_string(),
            (seq, hash),
            &crate::vault::rfc3339(now),
            (&self.slot, actor),
            me,
        ))
    }
}

impl crate::Tx<'_> {
    /// Keeps a checkpoint (a backup's) in the vault, with the entry that records it.
    pub fn keep_checkpoint(&self, c: &Checkpoint) -> Result<()> {
        keep(&self.db(), c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed() -> (Checkpoint, MemberKeys) {
        let keys = MemberKeys::generate();
        let c = sign(
            "v1",
            (7, &[0xab; 32]),
            "2026-12-02T00:00:00Z",
            ("slot-a", "alice"),
            &keys,
        );
        (c, keys)
    }

    #[test]
    fn a_checkpoint_verifies_under_its_signers_key_and_no_field_can_change() {
        let (c, keys) = signed();
        let public = [keys.public().sign];
        assert!(signed_by_one_of(&c, &public));
        let other = [MemberKeys::generate().public().sign];
        assert!(!signed_by_one_of(&c, &other));
        let changed = [
            Checkpoint {
                seq: 8,
                ..c.clone()
            },
            Checkpoint {
                hash: hex(&[0xac; 32]),
                ..c.clone()
            },
            Checkpoint {
                vault_id: "v2".into(),
                ..c.clone()
            },
            Checkpoint {
                at: "2026-12-03T00:00:00Z".into(),
                ..c.clone()
            },
            Checkpoint {
                actor: "mallory".into(),
                ..c.clone()
            },
            Checkpoint {
                signer: "slot-b".into(),
                ..c.clone()
            },
        ];
        for c in changed {
            assert!(!signed_by_one_of(&c, &public), "{c:?}");
        }
    }

    #[test]
    fn the_file_keeps_each_checkpoint_once_and_names_a_bad_line() {
        let dir = tempfile::tempdir().unwrap();
        let (c, _) = signed();
        append_to(dir.path(), &c).unwrap();
        append_to(dir.path(), &c).unwrap();
        let path = dir.path().join(CHECKPOINT_FILE);
        assert_eq!(read_file(&path).unwrap(), vec![c]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        fs::write(&path, "{\"not\": \"a checkpoint\"}\n").unwrap();
        let err = read_file(&path).unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
    }
}
