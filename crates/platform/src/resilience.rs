//! Backoff with jitter, a client-side rate limiter and a circuit breaker.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::Rng;
use time::OffsetDateTime;

/// Exponential backoff with "equal jitter": half the exponential delay fixed, half random, so
/// retries spread out but never come back immediately. `attempt` counts from 1.
pub fn backoff(attempt: u32, base: Duration, max: Duration, rng: &mut impl Rng) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    let capped = exp.min(max);
    let half = capped / 2;
    half + rng.gen_range(Duration::ZERO..=half)
}

/// Paces writes to at most `per_second`, evenly spaced (no bursts), shared by every task of the
/// worker.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Mutex<Duration>,
    next: Mutex<Instant>,
}

impl RateLimiter {
    pub fn new(per_second: f64) -> Self {
        Self {
            interval: Mutex::new(Self::interval_for(per_second)),
            next: Mutex::new(Instant::now()),
        }
    }

    fn interval_for(per_second: f64) -> Duration {
        Duration::from_secs_f64(1.0 / per_second.clamp(0.1, 10_000.0))
    }

    pub fn set_rate(&self, per_second: f64) {
        *lock(&self.interval) = Self::interval_for(per_second);
    }

    /// When the caller may send; reserves that slot.
    pub fn reserve(&self) -> Instant {
        let interval = *lock(&self.interval);
        let mut next = lock(&self.next);
        let now = Instant::now();
        let at = (*next).max(now);
        *next = at + interval;
        at
    }

    /// Waits for the next free slot.
    pub async fn acquire(&self) {
        let at = self.reserve();
        tokio::time::sleep_until(at.into()).await;
    }

    /// Pushes every later slot back (the platform said 429 with `Retry-After`).
    pub fn pause_for(&self, d: Duration) {
        let mut next = lock(&self.next);
        *next = (*next).max(Instant::now() + d);
    }
}

/// Whether the platform is reachable, as the worker has experienced it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Health {
    /// Requests are going through (or none has been tried yet).
    Up,
    /// The breaker is open: nothing is sent until `retry_at`; then one probe is let through.
    Down {
        #[serde(with = "time::serde::rfc3339")]
        since: OffsetDateTime,
        failures: u32,
        #[serde(with = "time::serde::rfc3339")]
        retry_at: OffsetDateTime,
    },
}

#[derive(Debug)]
struct BreakerState {
    consecutive_failures: u32,
    open_since: Option<OffsetDateTime>,
    open_until: Option<Instant>,
    retry_at: Option<OffsetDateTime>,
    probing: bool,
    cooldown: Duration,
}

/// Opens after `threshold` consecutive failures (network errors, 5xx); while open nothing is
/// sent; after `cooldown` one probe request is let through (half-open): success closes it,
/// failure opens it again with a doubled cooldown (up to `max_cooldown`).
#[derive(Debug)]
pub struct CircuitBreaker {
    threshold: u32,
    base_cooldown: Duration,
    max_cooldown: Duration,
    state: Mutex<BreakerState>,
}

impl CircuitBreaker {
    pub fn new(threshold: u32, cooldown: Duration, max_cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            base_cooldown: cooldown,
            max_cooldown: max_cooldown.max(cooldown),
            state: Mutex::new(BreakerState {
                consecutive_failures: 0,
                open_since: None,
                open_until: None,
                retry_at: None,
                probing: false,
                cooldown,
            }),
        }
    }

    /// May a request go out now? While open, no; once the cooldown is over, exactly one caller
    /// gets `true` (the probe) until it reports back.
    pub fn allow(&self) -> bool {
        let mut s = lock(&self.state);
        match s.open_until {
            None => true,
            Some(until) if Instant::now() >= until && !s.probing => {
                s.probing = true;
                true
            }
            Some(_) => false,
        }
    }

    pub fn on_success(&self) {
        let mut s = lock(&self.state);
        s.consecutive_failures = 0;
        s.open_since = None;
        s.open_until = None;
        s.retry_at = None;
        s.probing = false;
        s.cooldown = self.base_cooldown;
    }

    pub fn on_failure(&self) {
        let mut s = lock(&self.state);
        s.consecutive_failures = s.consecutive_failures.saturating_add(1);
        let was_probe = s.probing;
        s.probing = false;
        if was_probe || (s.open_until.is_none() && s.consecutive_failures >= self.threshold) {
            if was_probe {
                s.cooldown = (s.cooldown * 2).min(self.max_cooldown);
            }
            s.open_since.get_or_insert_with(OffsetDateTime::now_utc);
            s.open_until = Some(Instant::now() + s.cooldown);
            s.retry_at = Some(OffsetDateTime::now_utc() + s.cooldown);
        }
    }

    /// A probe that ended without a verdict on the platform (e.g. a 4xx about the request).
    pub fn on_neutral(&self) {
        let s = lock(&self.state);
        if s.probing {
            drop(s);
            self.on_success();
        }
    }

    pub fn health(&self) -> Health {
        let s = lock(&self.state);
        match (s.open_since, s.retry_at) {
            (Some(since), Some(retry_at)) => Health::Down {
                since,
                failures: s.consecutive_failures,
                retry_at,
            },
            _ => Health::Up,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(5);
        let mut seen = std::collections::HashSet::new();
        for attempt in 1..=12 {
            let d = backoff(attempt, base, max, &mut rng);
            let exp = (base * (1 << (attempt - 1))).min(max);
            assert!(
                d >= exp / 2 && d <= exp,
                "attempt {attempt}: {d:?} vs {exp:?}"
            );
            seen.insert(d);
        }
        assert!(seen.len() > 6, "jitter makes delays differ");
        assert!(backoff(1000, base, max, &mut rng) <= max);
    }

    #[test]
    fn the_limiter_spaces_reservations_evenly() {
        let limiter = RateLimiter::new(25.0);
        let first = limiter.reserve();
        let slots: Vec<Instant> = (0..50).map(|_| limiter.reserve()).collect();
        let span = slots[49] - first;
        assert!(
            span >= Duration::from_millis(1990),
            "50 slots at 25/s span 2 s: {span:?}"
        );
        for w in slots.windows(2) {
            assert!(w[1] - w[0] >= Duration::from_millis(39));
        }
        limiter.pause_for(Duration::from_secs(3));
        assert!(limiter.reserve() >= Instant::now() + Duration::from_millis(2900));
    }

    #[test]
    fn the_breaker_opens_probes_once_and_closes_on_success() {
        let breaker = CircuitBreaker::new(3, Duration::from_millis(30), Duration::from_secs(1));
        for _ in 0..2 {
            assert!(breaker.allow());
            breaker.on_failure();
        }
        assert_eq!(
            breaker.health(),
            Health::Up,
            "two failures are not an outage"
        );
        breaker.on_failure();
        assert!(matches!(breaker.health(), Health::Down { failures: 3, .. }));
        assert!(!breaker.allow(), "open: nothing goes out");
        std::thread::sleep(Duration::from_millis(40));
        assert!(breaker.allow(), "after the cooldown one probe");
        assert!(!breaker.allow(), "only one probe at a time");
        breaker.on_failure();
        assert!(!breaker.allow(), "a failed probe opens it again");
        std::thread::sleep(Duration::from_millis(70));
        assert!(breaker.allow());
        breaker.on_success();
        assert_eq!(breaker.health(), Health::Up);
        assert!(breaker.allow() && breaker.allow());
    }
}
