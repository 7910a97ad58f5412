//! The page-by-page check of the vault file, off the unlock path (issue 16: unlock ≤ 500 ms).
//!
//! Every page SQLCipher reads is authenticated as it is read, so a flipped byte in a page in use
//! is refused at that read whatever happens here. The full check (`cipher_integrity_check`,
//! then `quick_check`) also covers the pages nothing has read yet, and over a large vault it
//! takes seconds. With [`crate::Policy::defer_integrity_check`] (the window) sign-in skips it
//! and the vault hands out an [`IntegrityJob`] instead: the same check on a connection of its
//! own, on another thread, while the session is already in use. The CLI and restores keep the
//! check at open.

use std::cell::Cell;
use std::path::PathBuf;

use crate::crypto::Key;
use crate::{db, Result, Vault, VaultError};

/// Where the full check of this open vault stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integrity {
    /// Checked at open, or by a job since.
    Checked,
    /// Deferred and not begun.
    Unchecked,
    /// A job is out (its token).
    Checking(u64),
}

pub(crate) type IntegrityCell = Cell<Integrity>;

/// The full check, to run away from the vault's connection (it holds the file's key, wiped on
/// drop, and opens the file read-only work of its own).
pub struct IntegrityJob {
    path: PathBuf,
    key: Key,
    token: u64,
}

impl IntegrityJob {
    /// `Ok(true)` intact, `Ok(false)` damaged; an error says nothing either way (the file was
    /// re-keyed meanwhile, say) and the job is handed out again.
    pub fn run(&self) -> Result<bool> {
        let conn = db::open_keyed(&self.path, &self.key, false)?;
        match db::check_integrity(&conn) {
            Ok(()) => Ok(true),
            Err(VaultError::VaultDamaged(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub fn token(&self) -> u64 {
        self.token
    }
}

impl Vault {
    pub fn integrity(&self) -> Integrity {
        self.integrity.get()
    }

    /// The deferred check, once: `None` when it is done or already out.
    pub fn integrity_job(&self) -> Result<Option<IntegrityJob>> {
        if self.integrity.get() != Integrity::Unchecked {
            return Ok(None);
        }
        let ring = self.keyring.load()?;
        let key = ring.unwrap_db_key(self.keys().db_wrap(), &ring.db_key)?;
        let token = u64::from_be_bytes(crate::crypto::random_bytes::<8>());
        self.integrity.set(Integrity::Checking(token));
        Ok(Some(IntegrityJob {
            path: self.keyring.dir().join(db::VAULT_FILE),
            key,
            token,
        }))
    }

    /// Hands the check out again (a finding of damage is confirmed by a second run, since a
    /// re-key or a checkpoint between the job's reads can make a sound page look bad).
    pub fn integrity_recheck(&self) {
        self.integrity.set(Integrity::Unchecked);
    }

    /// Records a job's outcome (ignored unless it is this vault's job): `Some(false)` when the
    /// file is damaged.
    pub fn integrity_done(&self, token: u64, outcome: &Result<bool>) -> Option<bool> {
        if self.integrity.get() != Integrity::Checking(token) {
            return None;
        }
        match outcome {
            Ok(true) => {
                self.integrity.set(Integrity::Checked);
                Some(true)
            }
            Ok(false) => Some(false),
            Err(_) => {
                self.integrity.set(Integrity::Unchecked);
                None
            }
        }
    }
}
