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

/// A desk's connection for the keyring (opened on first use, from `team.json`), and its last
/// write: the version it was made over and the version it made.
#[derive(Default)]
pub(crate) struct Side {
    client: Option<RefCell<PgClient>>,
    written: Option<(i64, i64)>,
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
        f: impl FnOnce(&Db<'_>, &mut Option<(i64, i64)>) -> Result<T>,
    ) -> Result<T> {
        let mut side = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let side = &mut *side;
        if side.client.is_none() {
            let (url, _) = super::placement::read(dir)?;
            side.client = Some(RefCell::new(PgClient::new(super::connect::connect(&url)?)));
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

    /// Replaces the shared keyring read at `base` (none: the store must hold none yet) with
    /// `body`. Refused as contended when anyone else wrote it since: a second save of one
    /// keyring read (this desk's own write over the same `base`) is not a conflict.
    pub(crate) fn store(&self, dir: &Path, body: &[u8], base: Option<i64>) -> Result<i64> {
        self.with(dir, |db, written| {
            let over = base.unwrap_or(0);
            let own = written.filter(|(o, _)| *o == over).map(|(_, made)| made);
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
                    args![body.to_vec(), over, own.unwrap_or(over)],
                )?,
            };
            let version = version.ok_or(VaultError::Contended)?;
            *written = Some((over, version));
            Ok(version)
        })
    }
}
