//! Boarding approved merchants onto the payment platform through the durable outbox.
//!
//! Approving an application queues its boarding job in the same vault transaction
//! ([`crate::review::decide`]). The [`Worker`] sends each job's requests in order — account,
//! each person, then "everyone provided" — with the idempotency key stored for that request
//! before its first attempt, paced by a client-side rate limiter and guarded by a circuit
//! breaker. Network errors, 5xx and 429 are retried with backoff and jitter (honouring
//! `Retry-After`); a refusal (4xx) stops the job in `needs_fix` with the platform's `param`
//! mapped to our field. Every outcome is written in one transaction, so a crash at any point
//! resumes from the step reached, and the stored key makes the platform answer a repeated
//! request with the first answer instead of acting twice.
//!
//! The worker borrows the signed-in session without counting as activity: when the session
//! locks, boarding pauses, and it resumes at the next unlock.

mod outbox;
mod platform;
mod worker;

use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::session::SessionSlot;

pub use self::outbox::{cancel, fix_and_resend, job, overview, retry, BoardingOverview, JobView};
pub use self::platform::{
    platform_config, platform_settings, platform_status, set_platform, test_connection,
    ConnectionTest, PlatformSettings, PlatformStatus, SetPlatformInput,
};
pub use self::worker::{sync_merchant, DrainReport, Sender, Worker, WorkerConfig, WorkerState};

/// Who the audit log and the history name for what the worker does.
pub const WORKER_ACTOR: &str = "system:boarding";

fn lock(slot: &Mutex<SessionSlot>) -> MutexGuard<'_, SessionSlot> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}
