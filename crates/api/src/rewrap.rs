//! Re-wrapping record keys after a key rotation (issue 16, item 3), in the background.
//!
//! Disabling a user gives every class key they held a new generation at once: new records use
//! it from that moment. The existing record keys are then re-wrapped under the new generation
//! in units of [`REWRAP_BATCH`], each its own unit of work, taking the session between units
//! only, so the window stays responsive; the Users panel shows the progress. Once none is left
//! the earlier generations are forgotten (`vault.rewrap_done`). The re-wrap runs on an admin's
//! session (only an admin holds every class); if that session ends first, the next admin
//! sign-in resumes it. The CLI, which has no background, runs the units in the verb.

use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use time::OffsetDateTime;

use crate::session::{Access, SessionSlot};
use crate::Result;

/// Record keys re-wrapped per unit of work (docs/BENCHMARKS.md: the slowest unit of 5,000
/// held the write lock 235 ms).
pub const REWRAP_BATCH: u32 = 5_000;

/// Who the re-wrap's audit entries name.
pub const REWRAP_ACTOR: &str = "system:rewrap";

/// Where the re-wrap stands (the Users panel polls it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct RewrapStatus {
    /// Record keys wait under an earlier generation and a unit runs whenever the session allows.
    pub running: bool,
    /// Re-wrapped in this run, and still waiting.
    pub done: u64,
    pub left: u64,
    /// When the current or last run started and finished (ms since the epoch).
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// The last unit's failure, if it stopped on one (it retries).
    pub error: Option<String>,
}

/// The background re-wrap: one per window, beside the session it borrows.
pub struct Rewrapper {
    slot: Arc<Mutex<SessionSlot>>,
    status: Mutex<RewrapStatus>,
    batch: u32,
}

impl Rewrapper {
    pub fn new(slot: Arc<Mutex<SessionSlot>>, batch: u32) -> Arc<Self> {
        Arc::new(Self {
            slot,
            status: Mutex::default(),
            batch: batch.max(1),
        })
    }

    pub fn status(&self) -> RewrapStatus {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Runs forever on the calling thread: a unit whenever one is due, else a nap.
    pub fn run_blocking(self: Arc<Self>, idle: std::time::Duration) {
        crate::background::run_forever(
            "background re-wrap",
            idle,
            || self.step(),
            |e| {
                self.status
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .error = Some(e.message().to_string());
            },
        )
    }

    /// Re-wraps one unit if a re-wrap is due on an admin's open session; `Ok(false)` when
    /// there is nothing to do (no session, not an admin, nothing waiting).
    pub fn step(&self) -> Result<bool> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(session) = slot.background_as(Access::Admin) else {
            return Ok(false);
        };
        let vault = session.vault();
        // A look at the keys in memory: no query while nothing is due.
        if !vault.rewrap_due() {
            return Ok(false);
        }
        let actor = crate::session::on_behalf(REWRAP_ACTOR, session.username());
        let now = OffsetDateTime::now_utc();
        let before = vault.rewrap_pending()?;
        {
            let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
            if !status.running {
                *status = RewrapStatus {
                    running: true,
                    left: before,
                    started_at: Some(crate::clock::now_ms(now)),
                    ..RewrapStatus::default()
                };
            }
        }
        let left = vault.rewrap_record_keys(self.batch, &actor, now)?;
        let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        let did = before.saturating_sub(left);
        status.done += did;
        status.left = left;
        status.error = None;
        if left == 0 {
            status.running = false;
            status.finished_at = Some(crate::clock::now_ms(OffsetDateTime::now_utc()));
        }
        // Nothing re-wrapped (another process did it meanwhile): nap, do not spin.
        Ok(did > 0)
    }
}

/// Use case (admin): where the window's background re-wrap stands.
pub fn rewrap_status(slot: &mut SessionSlot, status: RewrapStatus) -> Result<RewrapStatus> {
    let session = slot.require_quietly(Access::Admin, "vault.rewrap_status")?;
    let mut status = status;
    // Due but not begun (the rotation just happened, the background's next tick is to come):
    // already running, as far as the window is concerned.
    if !status.running && session.vault().rewrap_due() {
        status = RewrapStatus {
            running: true,
            left: session.vault().rewrap_pending()?,
            ..RewrapStatus::default()
        };
    }
    Ok(status)
}

/// Use case (admin; the CLI): re-wraps one unit of up to `batch` record keys; returns how
/// many are left (0: done, the earlier generations forgotten).
pub fn rewrap_step(slot: &mut SessionSlot, batch: u32) -> Result<u64> {
    let session = slot.require(Access::Admin, "vault.rewrap")?;
    let actor = session.username().to_string();
    if !session.vault().rewrap_due() {
        return Ok(0);
    }
    Ok(session
        .vault()
        .rewrap_record_keys(batch.max(1), &actor, OffsetDateTime::now_utc())?)
}
