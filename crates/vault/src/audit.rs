//! The audit log: an append-only table whose entries are chained by SHA-256 and signed (Ed25519)
//! by the member whose session wrote them, with the chain's head also kept (under a MAC) in the
//! keyring so that a truncated table is detected. A member can re-chain entries, but only sign
//! as themselves: deleting or editing an entry breaks the signatures of every later entry
//! another member wrote, and verify names the first.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::crypto::{self, Key};
use crate::keyring::AuditHead;
use crate::{Result, VaultError};

const GENESIS: [u8; 32] = [0; 32];

/// One thing that happened. Never put a secret or a KYC value in any field: name the record by
/// its id and the field by its name.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub outcome: Outcome,
    pub detail: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Denied,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Entry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub outcome: String,
    pub detail: Option<String>,
    /// Who signed it: a member's name, `recovery key`, `desk 1a2b3c4d` (`desks.rs`); the
    /// raw keyring slot when read from the log directly; none before signing began. Not part
    /// of the chain hash (the signature is checked against the slot's registered keys).
    pub signed_by: Option<String>,
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Report {
    pub intact: bool,
    pub entries: i64,
    /// The first entry where the chain breaks, when it does.
    pub broken_at: Option<i64>,
    pub problem: Option<String>,
    /// Signed checkpoints that remember an entry the log holds, as they remember it.
    pub checkpoints: i64,
    /// Checkpoints not taken into account: of another vault, or not signed by a key the
    /// keyring registered for their signer.
    pub checkpoints_ignored: i64,
}

fn opt(v: Option<&str>) -> Vec<u8> {
    match v {
        None => vec![0],
        Some(s) => [&[1u8][..], s.as_bytes()].concat(),
    }
}

pub(crate) fn entry_hash(prev: &[u8], e: &Entry) -> [u8; 32] {
    crypto::sha256(&[
        prev,
        &e.seq.to_be_bytes(),
        e.at.as_bytes(),
        e.actor.as_bytes(),
        e.action.as_bytes(),
        &opt(e.target.as_deref()),
        e.outcome.as_bytes(),
        &opt(e.detail.as_deref()),
    ])
}

/// What a member signs for an entry: its chain hash, in a context of its own.
pub(crate) fn signed_message(hash: &[u8]) -> Vec<u8> {
    [b"boarding-desk/audit/v1|".as_slice(), hash].concat()
}

/// Who signs an entry: the member whose session writes it (or, for entries no member writes,
/// the desk: `desks.rs`), as their keyring slot and Ed25519 seed.
pub(crate) struct Signer<'a> {
    pub slot: &'a str,
    pub seed: &'a Key,
}

/// Who may have signed an entry: the signing keys registered (now or before) for `slot`, when
/// the slot belongs to `actor` (or the actor is not a user: `anonymous`, `system`, …).
pub(crate) type SignerKeys<'a> = &'a dyn Fn(&str, &str) -> SignerCheck;

pub(crate) enum SignerCheck {
    Keys(Vec<[u8; crypto::PUBLIC_LEN]>),
    Unknown,
    NotTheActor,
}

pub fn head_mac(key: &Key, seq: i64, hash: &[u8]) -> [u8; 32] {
    crypto::hmac(key, &[b"audit-head", &seq.to_be_bytes(), hash])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Appends one entry inside the open unit of work (see `unit.rs`); returns the new head. It
/// commits with the change it records.
pub(crate) fn append(
    conn: &Connection,
    event: &Event<'_>,
    at: OffsetDateTime,
    head_key: &Key,
    signer: Option<Signer<'_>>,
) -> Result<AuditHead> {
    if conn.is_autocommit() {
        return Err(VaultError::Conflict(
            "an audit entry was appended outside a unit of work",
        ));
    }
    let tx = conn;
    let last: Option<(i64, Vec<u8>)> = tx
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(VaultError::storage("reading the audit head"))?;
    let (prev_seq, prev_hash) = last.unwrap_or((0, GENESIS.to_vec()));
    let entry = Entry {
        seq: prev_seq + 1,
        at: at.format(&Rfc3339).unwrap_or_default(),
        actor: event.actor.to_string(),
        action: event.action.to_string(),
        target: event.target.map(str::to_string),
        outcome: event.outcome.as_str().to_string(),
        detail: event.detail.map(str::to_string),
        signed_by: signer.as_ref().map(|s| s.slot.to_string()),
    };
    let hash = entry_hash(&prev_hash, &entry);
    let signature = signer
        .as_ref()
        .map(|s| crypto::sign(s.seed, &signed_message(&hash)).to_vec());
    tx.execute(
        "INSERT INTO audit (seq, at, actor, action, target, outcome, detail, prev_hash, hash,
             signer, signature)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            entry.seq,
            entry.at,
            entry.actor,
            entry.action,
            entry.target,
            entry.outcome,
            entry.detail,
            prev_hash,
            hash.as_slice(),
            signer.as_ref().map(|s| s.slot),
            signature
        ],
    )
    .map_err(VaultError::storage("appending to the audit log"))?;
    Ok(AuditHead {
        seq: entry.seq,
        hash: hex(&hash),
        mac: hex(&head_mac(head_key, entry.seq, &hash)),
    })
}

/// Newest first; `before` pages backwards from a sequence number.
pub fn list(conn: &Connection, limit: u32, before: Option<i64>) -> Result<Vec<Entry>> {
    query(
        conn,
        "WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2",
        params![before.unwrap_or(i64::MAX), limit],
    )
}

/// Entries with `from <= at < to` (RFC 3339 UTC text compares in time order), oldest first.
pub fn between(conn: &Connection, from: &str, to: &str) -> Result<Vec<Entry>> {
    query(
        conn,
        "WHERE at >= ?1 AND at < ?2 ORDER BY seq",
        params![from, to],
    )
}

/// Entries whose target is `target`, oldest first.
pub fn for_target(conn: &Connection, target: &str) -> Result<Vec<Entry>> {
    query(conn, "WHERE target = ?1 ORDER BY seq", params![target])
}

fn query(conn: &Connection, filter: &str, args: impl rusqlite::Params) -> Result<Vec<Entry>> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT seq, at, actor, action, target, outcome, detail, signer FROM audit {filter}"
        ))
        .map_err(VaultError::storage("reading the audit log"))?;
    let rows = stmt
        .query_map(args, |r| {
            Ok(Entry {
                seq: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                target: r.get(4)?,
                outcome: r.get(5)?,
                detail: r.get(6)?,
                signed_by: r.get(7)?,
            })
        })
        .map_err(VaultError::storage("reading the audit log"))?;
    rows.collect::<rusqlite::Result<_>>()
        .map_err(VaultError::storage("reading the audit log"))
}

/// Walks the whole chain, checks every signature against the keyring's registered keys, and
/// compares its end with the keyring's head.
pub(crate) fn verify(
    conn: &Connection,
    head: Option<&AuditHead>,
    head_key: &Key,
    signers: SignerKeys<'_>,
) -> Result<Report> {
    let mut stmt = conn
        .prepare("SELECT seq, at, actor, action, target, outcome, detail, prev_hash, hash, signer, signature FROM audit ORDER BY seq")
        .map_err(VaultError::storage("verifying the audit log"))?;
    let mut rows = stmt
        .query([])
        .map_err(VaultError::storage("verifying the audit log"))?;
    let mut expected_prev = GENESIS.to_vec();
    let mut expected_seq = 1;
    let mut hashes_at_head = None;
    let mut seen_signed = false;
    // From the first `desk.registered` entry on, the entries no member writes are the desks'
    // (a member on a desk no admin registered writes them in their own name).
    let mut desks_sign = false;
    let broken = |seq: i64, entries: i64, problem: &str| Report {
        intact: false,
        entries,
        broken_at: Some(seq),
        problem: Some(problem.to_string()),
        checkpoints: 0,
        checkpoints_ignored: 0,
    };
    while let Some(row) = rows
        .next()
        .map_err(VaultError::storage("verifying the audit log"))?
    {
        let read = |i| row.get::<_, Option<String>>(i);
        let signed: (Option<String>, Option<Vec<u8>>) = (|| Ok((row.get(9)?, row.get(10)?)))()
            .map_err(VaultError::storage("verifying the audit log"))?;
        let entry = (|| -> rusqlite::Result<(Entry, Vec<u8>, Vec<u8>)> {
            Ok((
                Entry {
                    seq: row.get(0)?,
                    at: row.get(1)?,
                    actor: row.get(2)?,
                    action: row.get(3)?,
                    target: read(4)?,
                    outcome: row.get(5)?,
                    detail: read(6)?,
                    signed_by: None,
                },
                row.get(7)?,
                row.get(8)?,
            ))
        })()
        .map_err(VaultError::storage("verifying the audit log"))?;
        let (entry, prev_hash, hash) = entry;
        let count = expected_seq - 1;
        if entry.seq != expected_seq {
            return Ok(broken(
                expected_seq,
                count,
                "an entry is missing from the chain",
            ));
        }
        if prev_hash != expected_prev {
            return Ok(broken(
                entry.seq,
                count,
                "an entry does not link to the one before it",
            ));
        }
        if entry_hash(&prev_hash, &entry).as_slice() != hash.as_slice() {
            return Ok(broken(
                entry.seq,
                count,
                "an entry was altered after it was written",
            ));
        }
        match signed {
            (Some(slot), Some(signature)) => {
                seen_signed = true;
                let problem = match signers(&slot, &entry.actor) {
                    SignerCheck::Unknown => Some("an entry is signed by a key the keyring does not know"),
                    SignerCheck::NotTheActor => Some("an entry is signed by someone other than its actor"),
                    SignerCheck::Keys(keys) => (!keys.iter().any(|k| {
                        crypto::verify(k, &signed_message(&hash), &signature)
                    }))
                    .then_some("an entry's signature does not verify: it was written or re-chained by another key"),
                }
                .or_else(|| {
                    (desks_sign
                        && crate::desks::signs_for(&entry.actor)
                        && !slot.starts_with(crate::desks::PREFIX))
                    .then_some("an entry no member writes is signed by a member after desks began signing them")
                });
                if let Some(problem) = problem {
                    return Ok(broken(entry.seq, count, problem));
                }
            }
            (None, None) if !seen_signed => {}
            _ => {
                return Ok(broken(
                    entry.seq,
                    count,
                    "an entry after signing began is not signed",
                ))
            }
        }
        if entry.action == "desk.registered" {
            desks_sign = true;
        }
        if head.is_some_and(|h| h.seq == entry.seq) {
            hashes_at_head = Some(hex(&hash));
        }
        expected_prev = hash;
        expected_seq += 1;
    }
    let entries = expected_seq - 1;
    if let Some(head) = head {
        let head_hash = unhex(&head.hash);
        let mac_ok = head_hash.as_ref().is_some_and(|h| {
            unhex(&head.mac).is_some_and(|m| {
                crypto::hmac_verify(head_key, &[b"audit-head", &head.seq.to_be_bytes(), h], &m)
            })
        });
        if !mac_ok {
            return Ok(broken(
                head.seq,
                entries,
                "the keyring's record of the audit head was altered",
            ));
        }
        if head.seq > entries {
            return Ok(broken(
                entries + 1,
                entries,
                "entries at the end of the log were removed (the keyring remembers more)",
            ));
        }
        if hashes_at_head.as_deref() != Some(head.hash.as_str()) {
            return Ok(broken(
                head.seq,
                entries,
                "the entry the keyring remembers was replaced",
            ));
        }
    }
    Ok(Report {
        intact: true,
        entries,
        broken_at: None,
        problem: None,
        checkpoints: 0,
        checkpoints_ignored: 0,
    })
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
