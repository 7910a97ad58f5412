//! The team's shared keyring in the store (migration V5, docs/adr/0001-team-store.md §2).
//!
//! On a team desk `keyring.json` keeps only what is the desk's own: its failure records and
//! their MAC, the id of its device record, the newest audit head it wrote. Everything the team
//! shares (members' sealed slots and signed registrations, the class keys sealed to them,
//! retirements, desk keys, blocklist copies) is one row of the store, replaced whole under a
//! version check: a desk writes only over the version it read (or over its own last write), so
//! two desks changing members at once never lose a change: the later one is refused as
//! contended and done again.
//!
//! Nothing in the row is trusted for being there: the same checks as for a local
//! `keyring.json` apply (registrations verify down to the founding admin this desk anchored
//! when it joined; every key is sealed).

use std::cell::RefCell;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::sql::{Db, PgClient};
use crate::{args, Result, VaultError};

/// The shared keyring as the store holds it.
pub(crate) struct Shared {
    pub version: i64,
    pub body: Vec<u8>,
}

/// A desk's last write of the shared keyring: the version it was made over, the version it
/// made, and the digest of what it wrote.
#[derive(Clone, Copy)]
pub(crate) struct Written {
    over: i64,
    made: i64,
    digest: [u8; 32],
}

/// A desk's connection for the keyring (opened on first use, from `team.json`), and its last
/// write.
#[derive(Default)]
pub(crate) struct Side {
    client: Option<RefCell<PgClient>>,
    written: Option<Written>,
}

/// Shared by every clone of one [`crate::keyring::KeyringFile`].
#[derive(Clone, Default)]
pub(crate) struct Handle(Arc<Mutex<Side>>);

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("team keyring")
    }
}

const READING: &str = "reading the team's keyring";
const WRITING: &str = "writing the team's keyring";

impl Handle {
    pub(crate) fn with<T>(
        &self,
        dir: &Path,
        f: impl FnOnce(&Db<'_>, &mut Option<Written>) -> Result<T>,
    ) -> Result<T> {
        let mut side = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let side = &mut *side;
        if side.client.is_none() {
            let (url, _) = super::placement::read(dir)?;
            side.client = Some(RefCell::new(PgClient::reconnecting(
                super::connect::connect(&url)?,
                &url,
            )));
        }
        let Some(client) = side.client.as_ref() else {
            return Err(VaultError::StoreUnavailable(
                "the connection was closed".to_string(),
            ));
        };
        let out = f(&Db::Postgres(client), &mut side.written);
        if matches!(
            out,
            Err(VaultError::StoreUnavailable(_) | VaultError::Storage { .. })
        ) {
            // A connection that failed is not reused: the next call connects again.
            side.client = None;
        }
        out
    }

    /// The shared keyring, if the store holds one yet.
    pub(crate) fn load(&self, dir: &Path) -> Result<Option<Shared>> {
        self.with(dir, |db, _| {
            db.query_row(
                READING,
                "SELECT version, body FROM keyring WHERE id = 1",
                &[],
                |row| {
                    Ok(Shared {
                        version: row.get(0)?,
                        body: row.get(1)?,
                    })
                },
            )
        })
    }

    /// Replaces the shared keyring read at `base` (its version and the digest of its shared
    /// part as read; none: the store must hold none yet) with `body`, whose digest is `digest`.
    /// Refused as contended when anyone else wrote it since. A second save of one keyring read
    /// (over this desk's own write from the same `base`) is not a conflict; nor is a save of
    /// what the store holds already, which writes nothing. So a change undone by saving the
    /// keyring as read does write the undoing.
    pub(crate) fn store(
        &self,
        dir: &Path,
        body: &[u8],
        digest: [u8; 32],
        base: Option<(i64, [u8; 32])>,
    ) -> Result<()> {
        self.with(dir, |db, written| {
            let over = base.map_or(0, |(version, _)| version);
            let own = written.filter(|w| w.over == over);
            // What the store holds now, as far as this desk knows.
            let held = own.map(|w| w.digest).or(base.map(|(_, d)| d));
            if held == Some(digest) {
                return Ok(());
            }
            let version = match (base, own) {
                (None, None) => db.query_value::<i64>(
                    WRITING,
                    "INSERT INTO keyring (id, version, body) VALUES (1, 1, ?1)
                     ON CONFLICT (id) DO NOTHING RETURNING version",
                    args![body.to_vec()],
                )?,
                _ => db.query_value::<i64>(
                    WRITING,
                    "UPDATE keyring SET body = ?1, version = version + 1
                     WHERE id = 1 AND (version = ?2 OR version = ?3) RETURNING version",
                    args![body.to_vec(), over, own.map_or(over, |w| w.made)],
                )?,
            };
            let made = version.ok_or(VaultError::Contended)?;
            *written = Some(Written { over, made, digest });
            Ok(())
        })
    }
}
