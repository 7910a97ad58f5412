//! Ids and the clock, for every use case: one place, so no module reaches into another for them.

use std::time::Duration;

use time::OffsetDateTime;

/// A point on the clock idle time is measured with: time since boot, *including* time spent
/// suspended (`CLOCK_BOOTTIME` on Linux). `std::time::Instant` stops while a laptop sleeps, so
/// a session left open before a two-hour suspend would wake with two hours unnoticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Moment(Duration);

impl Moment {
    pub fn now() -> Self {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let t = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
            Moment(Duration::new(
                u64::try_from(t.tv_sec).unwrap_or(0),
                u32::try_from(t.tv_nsec).unwrap_or(0),
            ))
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            // Elsewhere `Instant`: on macOS it stops during sleep (the desk ships for Linux;
            // a port needs mach_continuous_time here).
            static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
            Moment(START.get_or_init(std::time::Instant::now).elapsed())
        }
    }

    /// How long after `earlier` this is (zero if it is not after).
    pub fn since(self, earlier: Moment) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl std::ops::Add<Duration> for Moment {
    type Output = Moment;
    fn add(self, d: Duration) -> Moment {
        Moment(self.0 + d)
    }
}

impl std::ops::Sub<Duration> for Moment {
    type Output = Moment;
    fn sub(self, d: Duration) -> Moment {
        Moment(self.0.saturating_sub(d))
    }
}

/// Makes this process unable to leave a copy of its memory behind: no core file (the limit is
/// set to zero, hard and soft) and not dumpable (Linux: no core, no ptrace attach and no
/// /proc/<pid>/mem for other processes of the same user). The desk and the window call it
/// first thing, before any vault can be unlocked. Returns what could not be set.
pub fn harden_process() -> Result<(), String> {
    let mut failed = Vec::new();
    #[cfg(unix)]
    {
        use rustix::process::{setrlimit, Resource, Rlimit};
        let none = Rlimit {
            current: Some(0),
            maximum: Some(0),
        };
        if setrlimit(Resource::Core, none).is_err() {
            failed.push("core-file limit");
        }
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::process::{set_dumpable_behavior, DumpableBehavior};
        if set_dumpable_behavior(DumpableBehavior::NotDumpable).is_err() {
            failed.push("not-dumpable flag");
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join(", "))
    }
}

/// Milliseconds since the Unix epoch, as the vault stores times.
pub(crate) fn now_ms(now: OffsetDateTime) -> i64 {
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

/// A new record id: UUIDv7, time-ordered, so indexes by id grow at their end.
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// How far a long use case (an import, a re-screen) has come.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_idle_clock_counts_at_least_what_the_monotonic_clock_does() {
        // CLOCK_BOOTTIME = CLOCK_MONOTONIC + time suspended: never behind it.
        #[cfg(target_os = "linux")]
        {
            let mono = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
            let boot = Moment::now();
            let mono = Duration::new(mono.tv_sec as u64, mono.tv_nsec as u32);
            assert!(
                boot.0 >= mono,
                "boot time {boot:?} is behind monotonic {mono:?}"
            );
        }
        let a = Moment::now();
        std::thread::sleep(Duration::from_millis(20));
        let b = Moment::now();
        assert!(b.since(a) >= Duration::from_millis(20));
        assert_eq!(a.since(b), Duration::ZERO, "never negative");
        assert_eq!(
            (a + Duration::from_secs(5)).since(a),
            Duration::from_secs(5)
        );
    }
}
