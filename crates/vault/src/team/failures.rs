//! Sign-in failures shared by the team's desks (migration V6, docs/adr/0001-team-store.md §3).
//!
//! A local vault counts failures in its keyring under the desk's MAC (`device.rs`). The desks of
//! a team share no secret the store cannot see, so a failure there is an appended row signed by
//! the desk that saw it (its Ed25519 key, derived from its device record), and so is the lifting
//! of a lockout (a successful sign-in, an admin's unlock). Every desk derives the lockout from
//! the same rows: `max_failures` failures since the last lifting lock the member out on every
//! desk for `lock_for`.
//!
//! What a holder of the store's credentials can and cannot do:
//! - A failure row under a desk id no admin registered counts (a desk that joined and that no
//!   admin has signed in on yet is such a desk): counting more is the safe side, and locking
//!   members out is something they could do anyway by breaking the store.
//! - A row under a registered desk whose signature does not verify is ignored.
//! - A lifting row counts only under a registered desk's verifying signature: one they write
//!   lifts nothing.
//! - Deleting rows takes the owner's role (the desks' role may only append, and the triggers
//!   refuse changes); it lifts a lockout. That is a limit (docs/SECURITY.md).
//!
//! The desk keeps its local count as well (its own attempts, under its MAC), so a lockout
//! either one derives holds.

use time::OffsetDateTime;

use crate::crypto;
use crate::keyring::{Keyring, KeyringFile};
use crate::{args, Result};

/// How far back the rows are read: the local rule forgets failures a day after the last one.
const WINDOW: time::Duration = time::Duration::days(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Failure,
    Cleared,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Failure => "failure",
            Kind::Cleared => "cleared",
        }
    }
}

fn message(ring: &Keyring, slot: &str, kind: &str, at_ms: i64, desk: &str) -> Vec<u8> {
    format!(
        "boarding-desk/sign-in-event/v1\n{}\n{slot}\n{kind}\n{at_ms}\n{desk}",
        ring.vault_id
    )
    .into_bytes()
}

fn ms(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Appends an event for `slot` seen on this desk, signed by its key. A desk without a device
/// record (no state folder at all) signs with nothing: its rows count as an unregistered
/// desk's.
pub(crate) fn record(
    file: &KeyringFile,
    ring: &Keyring,
    slot: &str,
    kind: Kind,
    now: OffsetDateTime,
) -> Result<()> {
    let desk = ring.desk_record.clone().unwrap_or_default();
    let at = ms(now);
    let signature = crate::device::desk_signing_seed(ring)
        .map(|seed| crypto::sign(&seed, &message(ring, slot, kind.as_str(), at, &desk)).to_vec())
        .unwrap_or_default();
    file.on_store(|db| {
        db.execute(
            "recording a sign-in event",
            "INSERT INTO sign_in_events (slot, kind, at, desk, signature) VALUES (?1, ?2, ?3, ?4, ?5)",
            args![slot, kind.as_str(), at, desk, signature],
        )
    })?;
    Ok(())
}

/// What the team's rows say of `slot` now.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Standing {
    /// When the member may sign in again, if they are locked out.
    pub until: Option<OffsetDateTime>,
    /// The newest lifting row a registered desk signed (Unix ms): a lockout this desk counted
    /// before it was lifted there.
    pub cleared: Option<i64>,
}

/// A row as the desks read it back.
struct Row {
    kind: String,
    at: i64,
    verified: bool,
    registered: bool,
}

/// When `slot` may sign in again by the team's rows, if it is locked out now, and when a
/// registered desk last lifted its lockout.
///
/// Rows a holder of the store's credentials writes can add lockouts, never remove one: the
/// lockout is derived twice, from the rows registered desks signed alone and from every row
/// that counts, and the later end wins; rows dated in the future (beyond a clock skew) are
/// ignored, so none can push a lock past what a time can hold.
pub(crate) fn standing(
    file: &KeyringFile,
    ring: &Keyring,
    slot: &str,
    now: OffsetDateTime,
    max_failures: u32,
    lock_for: time::Duration,
) -> Result<Standing> {
    let since = ms(now - WINDOW - lock_for);
    let latest = ms(now + SKEW);
    let rows: Vec<Row> = file.on_store(|db| {
        db.query_map(
            "reading the team's sign-in events",
            "SELECT kind, at, desk, signature FROM sign_in_events
             WHERE slot = ?1 AND at > ?2 AND at <= ?3 ORDER BY at, seq",
            args![slot, since, latest],
            |r| {
                let (kind, at, desk, signature): (String, i64, String, Vec<u8>) =
                    (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
                let keys = crate::desks::registered(ring, &desk);
                let message = message(ring, slot, &kind, at, &desk);
                Ok(Row {
                    verified: keys.iter().any(|k| crypto::verify(k, &message, &signature)),
                    registered: !keys.is_empty(),
                    kind,
                    at,
                })
            },
        )
    })?;
    let lock_ms = lock_for.whole_milliseconds() as i64;
    let signed_only = derive(rows.iter().filter(|r| r.verified), max_failures, lock_ms);
    let counted = derive(
        rows.iter().filter(|r| r.verified || !r.registered),
        max_failures,
        lock_ms,
    );
    let until = signed_only.max(counted).filter(|u| *u > ms(now)).map(|u| {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(u) * 1_000_000)
            .unwrap_or(now + lock_for)
    });
    let cleared = rows
        .iter()
        .filter(|r| r.verified && r.kind == "cleared")
        .map(|r| r.at)
        .max();
    Ok(Standing { until, cleared })
}

/// How far ahead of this desk's clock a row may be dated and still count.
const SKEW: time::Duration = time::Duration::minutes(5);

/// The end of the lockout the rows make (Unix ms), replayed as a local desk counts: failures
/// since the last lifting, forgotten a day after the last one, none counted while locked.
fn derive<'r>(rows: impl Iterator<Item = &'r Row>, max_failures: u32, lock_ms: i64) -> Option<i64> {
    let day = WINDOW.whole_milliseconds() as i64;
    let mut failures = 0u32;
    let mut until: Option<i64> = None;
    let mut last_failure: Option<i64> = None;
    for row in rows {
        match row.kind.as_str() {
            "cleared" if row.verified => {
                failures = 0;
                until = None;
            }
            "failure" => {
                if last_failure.is_some_and(|last| row.at - last >= day) {
                    failures = 0;
                }
                last_failure = Some(row.at);
                if until.is_some_and(|u| row.at < u) {
                    continue;
                }
                failures += 1;
                if failures >= max_failures {
                    until = until.max(row.at.checked_add(lock_ms));
                    failures = 0;
                }
            }
            _ => {}
        }
    }
    until
}
