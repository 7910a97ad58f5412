//! The loop every background job of the window runs on its own thread (the re-screen, the
//! re-wrap after a key rotation, the deferred integrity check): a step whenever one is due,
//! else a nap; a failed step is logged, handed to the job, and retried after a longer nap.

use std::time::Duration;

use crate::Error;

/// Runs `step` forever: `Ok(true)` did work (go again), `Ok(false)` nothing due (nap `idle`),
/// `Err` logged as `what` and given to `failed` (nap five times `idle`).
pub(crate) fn run_forever(
    what: &str,
    idle: Duration,
    step: impl Fn() -> Result<bool, Error>,
    failed: impl Fn(&Error),
) -> ! {
    loop {
        match step() {
            Ok(true) => std::thread::yield_now(),
            Ok(false) => std::thread::sleep(idle),
            Err(e) => {
                tracing::warn!(code = %e.code(), "{what}: {e}");
                failed(&e);
                std::thread::sleep(idle * 5);
            }
        }
    }
}
