//! Ids and the clock, for every use case: one place, so no module reaches into another for them.

use time::OffsetDateTime;

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
