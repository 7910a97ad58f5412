//! The window's page-by-page check of the vault file, off the unlock path (issue 16: unlock
//! ≤ 500 ms; `vault::integrity`). The window signs in with the check deferred; this runs it on
//! a thread and a connection of its own, taking the session only to hand the job out and to
//! record its outcome. A damaged file ends the session, and later sign-ins in this run of the
//! app are refused with the same error the check at open gives.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::session::SessionSlot;
use crate::{Error, Result};

pub struct IntegrityChecker {
    slot: Arc<Mutex<SessionSlot>>,
    damaged: AtomicBool,
    /// The last run found damage: the next run confirms it or clears it.
    suspect: AtomicBool,
}

impl IntegrityChecker {
    pub fn new(slot: Arc<Mutex<SessionSlot>>) -> Arc<Self> {
        Arc::new(Self {
            slot,
            damaged: AtomicBool::new(false),
            suspect: AtomicBool::new(false),
        })
    }

    /// Runs forever on the calling thread: a check whenever a session's is due, else a nap.
    pub fn run_blocking(self: Arc<Self>, idle: std::time::Duration) {
        crate::background::run_forever("integrity check", idle, || self.step(), |_| {})
    }

    /// Runs the open session's deferred check, if it is due; `Ok(false)` when none is.
    pub fn step(&self) -> Result<bool> {
        let job = {
            let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(session) = slot.background() else {
                return Ok(false);
            };
            session.vault().integrity_job()?
        };
        let Some(job) = job else {
            return Ok(false);
        };
        // The slow part, with the session free for the window.
        let outcome = job.run();
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(session) = slot.background() else {
            return Ok(false);
        };
        let verdict = session.vault().integrity_done(job.token(), &outcome);
        match verdict {
            Some(false) if !self.suspect.swap(true, Ordering::SeqCst) => {
                // Once is not proof (a re-key or a checkpoint between the job's reads): again.
                session.vault().integrity_recheck();
                Ok(true)
            }
            Some(false) => {
                self.damaged.store(true, Ordering::SeqCst);
                tracing::error!("the vault file failed its page-by-page integrity check");
                // Its entry may not land in a damaged file; the session ends regardless.
                let _ = slot.lock_because("the vault file failed its integrity check");
                Ok(true)
            }
            Some(true) => {
                self.suspect.store(false, Ordering::SeqCst);
                Ok(true)
            }
            // Inconclusive (an error) or stale: nap before handing it out again.
            None => Ok(false),
        }
    }

    /// Whether this run of the app found the file damaged.
    pub fn found_damage(&self) -> bool {
        self.damaged.load(Ordering::SeqCst)
    }

    /// Refuses a sign-in once this run of the app found the file damaged.
    pub fn refuse_if_damaged(&self) -> Result<()> {
        if self.found_damage() {
            return Err(Error::from(vault::VaultError::VaultDamaged(
                "pages of the vault file failed their integrity check",
            )));
        }
        Ok(())
    }
}
