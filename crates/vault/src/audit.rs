//! The audit log: an append-only table whose entries are chained by SHA-256 and signed (Ed25519)
//! by the member whose session wrote them, with the chain's head also kept (under a MAC) in the
//! keyring so that a truncated table is detected. A member can re-chain entries, but only sign
//! as themselves: deleting or editing an entry breaks the signatures of every later entry
//! another member wrote, and verify names the first.

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::crypto::{self, Key};
use crate::keyring::AuditHead;
use crate::sql::{Db, Engine, Row};
use crate::{args, Result, VaultError};

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
///
/// On the team store the chain's end is the `audit_head` row, read `FOR UPDATE`: a second desk
/// appending at the same moment waits for this unit to end and then links to its entry, so the
/// chain never forks (docs/adr/0001-team-store.md, §4).
pub(crate) fn append(
    db: &Db<'_>,
    event: &Event<'_>,
    at: OffsetDateTime,
    head_key: &Key,
    signer: Option<Signer<'_>>,
) -> Result<AuditHead> {
    const READING: &str = "reading the audit head";
    let last = match db {
        Db::Sqlite(conn) => {
            if conn.is_autocommit() {
                return Err(VaultError::Conflict(
                    "an audit entry was appended outside a unit of work",
                ));
            }
            db.query_row(
                READING,
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                &[],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
        }
        Db::Postgres(_) => db.query_row(
            READING,
            "SELECT seq, hash FROM audit_head FOR UPDATE",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?,
    };
    let (prev_seq, prev_hash): (i64, Vec<u8>) = last.unwrap_or((0, GENESIS.to_vec()));
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
    const APPENDING: &str = "appending to the audit log";
    db.execute(
        APPENDING,
        "INSERT INTO audit (seq, at, actor, action, target, outcome, detail, prev_hash, hash,
             signer, signature)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        args![
            entry.seq,
            &entry.at,
            &entry.actor,
            &entry.action,
            entry.target.as_deref(),
            &entry.outcome,
            entry.detail.as_deref(),
            prev_hash,
            hash.as_slice(),
            signer.as_ref().map(|s| s.slot),
            signature
        ],
    )?;
    if db.engine() == Engine::Postgres {
        db.execute(
            APPENDING,
            "UPDATE audit_head SET seq = ?1, hash = ?2",
            args![entry.seq, hash.as_slice()],
        )?;
        // Delivered to the listening desks at commit, or never (`changes.rs`).
        if crate::changes::announces(event.action, event.outcome) {
            db.execute(
                APPENDING,
                "SELECT pg_notify('desk_changes', ?1)",
                args![&entry.action],
            )?;
        }
    }
    Ok(AuditHead {
        seq: entry.seq,
        hash: hex(&hash),
        mac: hex(&head_mac(head_key, entry.seq, &hash)),
    })
}

/// Newest first; `before` pages backwards from a sequence number.
pub fn list(db: &Db<'_>, limit: u32, before: Option<i64>) -> Result<Vec<Entry>> {
    query(
        db,
        "WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2",
        args![before.unwrap_or(i64::MAX), i64::from(limit)],
    )
}

/// Entries with `from <= at < to` (RFC 3339 UTC text compares in time order), oldest first.
pub fn between(db: &Db<'_>, from: &str, to: &str) -> Result<Vec<Entry>> {
    query(
        db,
        "WHERE at >= ?1 AND at < ?2 ORDER BY seq",
        args![from, to],
    )
}

/// Entries whose target is `target`, oldest first.
pub fn for_target(db: &Db<'_>, target: &str) -> Result<Vec<Entry>> {
    query(db, "WHERE target = ?1 ORDER BY seq", args![target])
}

fn query(db: &Db<'_>, filter: &str, args: &[crate::sql::Value<'_>]) -> Result<Vec<Entry>> {
    db.query_map(
        "reading the audit log",
        &format!(
            "SELECT seq, at, actor, action, target, outcome, detail, signer FROM audit {filter}"
        ),
        args,
        |r| {
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
        },
    )
}

/// Entries are read for verification this many at a time.
const VERIFY_PAGE: i64 = 5_000;

/// One entry as verify reads it: the entry, its links and its signature.
struct Stored {
    entry: Entry,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
    signer: Option<String>,
    signature: Option<Vec<u8>>,
}

fn verify_row(r: &Row<'_>) -> Result<Stored> {
    Ok(Stored {
        entry: Entry {
            seq: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            target: r.get(4)?,
            outcome: r.get(5)?,
            detail: r.get(6)?,
            signed_by: None,
        },
        prev_hash: r.get(7)?,
        hash: r.get(8)?,
        signer: r.get(9)?,
        signature: r.get(10)?,
    })
}

/// Walks the whole chain, checks every signature against the keyring's registered keys, and
/// compares its end with the keyring's head.
pub(crate) fn verify(
    db: &Db<'_>,
    head: Option<&AuditHead>,
    head_key: &Key,
    signers: SignerKeys<'_>,
) -> Result<Report> {
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
    let mut after = i64::MIN;
    loop {
        let page = db.query_map(
            "verifying the audit log",
            "SELECT seq, at, actor, action, target, outcome, detail, prev_hash, hash, signer, signature
             FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            args![after, VERIFY_PAGE],
            verify_row,
        )?;
        let Some(last) = page.last() else { break };
        after = last.entry.seq;
        for stored in page {
            let Stored {
                entry,
                prev_hash,
                hash,
                signer,
                signature,
            } = stored;
            let signed = (signer, signature);
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

/// The same chain on the team store: desks appending at once, and rows written around the
/// desks with raw SQL (issue 17; a real cluster, `testkit::postgres`).
#[cfg(test)]
mod team_store {
    #![allow(clippy::unwrap_used)]

    use std::cell::RefCell;

    use super::*;
    use crate::team::{connect, schema, StoreUrl};
    use testkit::postgres::Cluster;

    struct Store {
        cluster: Cluster,
        app: StoreUrl,
    }

    fn store() -> Store {
        let cluster = Cluster::start();
        let db = cluster.team_database("team");
        let owner: StoreUrl = db.owner.parse().unwrap();
        schema::migrate(&owner).unwrap();
        Store {
            app: db.app.parse().unwrap(),
            cluster,
        }
    }

    fn desk_key(i: usize) -> Key {
        Key::from_bytes([i as u8 + 1; 32])
    }

    fn slot(i: usize) -> String {
        format!("member-{i}")
    }

    /// The keys of the `desks` test members, as the keyring would name them.
    fn signers(desks: usize) -> impl Fn(&str, &str) -> SignerCheck {
        move |slot_name: &str, _actor: &str| match (0..desks).find(|i| slot(*i) == slot_name) {
            Some(i) => SignerCheck::Keys(vec![crypto::ed25519_public(&desk_key(i))]),
            None => SignerCheck::Unknown,
        }
    }

    fn append_unit(client: &RefCell<crate::sql::PgClient>, i: usize, n: usize) {
        let db = Db::Postgres(client);
        db.batch("test", "BEGIN").unwrap();
        let key = desk_key(i);
        let slot = slot(i);
        let target = format!("app-{i}-{n}");
        append(
            &db,
            &Event {
                actor: &slot,
                action: "review.decided",
                target: Some(&target),
                outcome: Outcome::Ok,
                detail: None,
            },
            OffsetDateTime::now_utc(),
            &Key::random(),
            Some(Signer {
                slot: &slot,
                seed: &key,
            }),
        )
        .unwrap();
        db.batch("test", "COMMIT").unwrap();
    }

    fn verify_store(client: &RefCell<crate::sql::PgClient>, desks: usize) -> Report {
        let check = signers(desks);
        verify(&Db::Postgres(client), None, &Key::random(), &check).unwrap()
    }

    #[test]
    fn eight_desks_appending_at_once_make_one_unforked_chain() {
        let store = store();
        const DESKS: usize = 8;
        const EACH: usize = 40;
        std::thread::scope(|scope| {
            for i in 0..DESKS {
                let app = store.app.clone();
                scope.spawn(move || {
                    let client =
                        RefCell::new(crate::sql::PgClient::new(connect::connect(&app).unwrap()));
                    for n in 0..EACH {
                        append_unit(&client, i, n);
                    }
                });
            }
        });
        let client = RefCell::new(crate::sql::PgClient::new(
            connect::connect(&store.app).unwrap(),
        ));
        let report = verify_store(&client, DESKS);
        assert!(report.intact, "{report:?}");
        assert_eq!(report.entries, (DESKS * EACH) as i64);
        let db = Db::Postgres(&client);
        let head = db
            .query_value::<i64>("test", "SELECT seq FROM audit_head", &[])
            .unwrap();
        assert_eq!(head, Some((DESKS * EACH) as i64));
        // Every desk's every unit is in it once.
        let targets = db
            .query_value::<i64>("test", "SELECT COUNT(DISTINCT target) FROM audit", &[])
            .unwrap();
        assert_eq!(targets, Some((DESKS * EACH) as i64));
        assert_eq!(list(&db, 5, None).unwrap().len(), 5);
        assert_eq!(for_target(&db, "app-3-7").unwrap().len(), 1);
    }

    #[test]
    fn a_row_written_with_raw_sql_is_named_by_verify() {
        let store = store();
        let client = RefCell::new(crate::sql::PgClient::new(
            connect::connect(&store.app).unwrap(),
        ));
        for n in 0..3 {
            append_unit(&client, 0, n);
        }
        assert!(verify_store(&client, 1).intact);
        let db = Db::Postgres(&client);
        let (seq, prev): (i64, Vec<u8>) = db
            .query_row(
                "test",
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                &[],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
            .unwrap();
        // A holder of the desks' credentials links a well-formed entry to the chain, signed
        // with a key of their own under a member's slot.
        let forged = Entry {
            seq: seq + 1,
            at: "2026-12-02T10:00:00Z".into(),
            actor: slot(0),
            action: "review.decided".into(),
            target: Some("app-forged".into()),
            outcome: "ok".into(),
            detail: None,
            signed_by: None,
        };
        let hash = entry_hash(&prev, &forged);
        let signature = crypto::sign(&Key::random(), &signed_message(&hash));
        db.execute(
            "test",
            "INSERT INTO audit (seq, at, actor, action, target, outcome, detail, prev_hash, hash, signer, signature)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?8, ?9, ?10)",
            args![
                forged.seq,
                &forged.at,
                &forged.actor,
                &forged.action,
                forged.target.as_deref(),
                &forged.outcome,
                &prev,
                hash.as_slice(),
                slot(0),
                signature.as_slice()
            ],
        )
        .unwrap();
        let report = verify_store(&client, 1);
        assert!(!report.intact);
        assert_eq!(report.broken_at, Some(seq + 1));
        assert!(
            report
                .problem
                .as_deref()
                .unwrap()
                .contains("does not verify"),
            "{report:?}"
        );
        // The head row still names the real end, so the next desk's entry takes the forged
        // row's number and is refused: the chain cannot fork past it.
        let appended =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| append_unit(&client, 0, 9)));
        assert!(appended.is_err(), "an append cannot fork past a raw row");
        let _ = Db::Postgres(&client).batch("test", "ROLLBACK");
    }

    #[test]
    fn an_entry_removed_by_the_owner_is_named_by_verify() {
        let store = store();
        let client = RefCell::new(crate::sql::PgClient::new(
            connect::connect(&store.app).unwrap(),
        ));
        for n in 0..5 {
            append_unit(&client, 0, n);
        }
        // The desks' role cannot delete; the owner can, once it drops the trigger.
        store
            .cluster
            .psql(
                "team",
                "SET ROLE boarding_desk_owner;
                 ALTER TABLE desk.audit DISABLE TRIGGER audit_append_only;
                 DELETE FROM desk.audit WHERE seq = 3;",
            )
            .unwrap();
        let report = verify_store(&client, 1);
        assert!(!report.intact);
        assert_eq!(report.broken_at, Some(3));
        assert_eq!(
            report.problem.as_deref(),
            Some("an entry is missing from the chain")
        );
    }
}
