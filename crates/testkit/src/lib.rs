//! `desk-testkit`: what every test and bench starts from, in one place instead of four copies.
//!
//! - [`totp`]: authenticator codes for a secret, now or at a given time.
//! - [`vault`]: a created vault and its enrolled admin, on the vault crate alone.
//! - [`desk`]: the same through the api (what the window and the CLI call): a signed-in admin,
//!   and users of any role the admin adds.
//! - [`platform`]: a sandbox platform on a loopback port, with faults switched at run time.
//! - [`applications`]: builders of valid applications.
//! - [`bus`]: a private D-Bus daemon (the sleep and screen-lock signals).
//! - [`keychain`]: GNOME Keyring on such a bus (the keychain binding).
//! - [`eventually`] / [`eventually_async`]: poll until something holds, or fail saying what.
//!
//! Everything here panics on failure with a message naming what it expected: it is for tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

pub mod applications;
pub mod bus;
pub mod desk;
pub mod keychain;
pub mod platform;
pub mod postgres;
pub mod totp;
pub mod vault;

/// Whether the tests' vaults are made on a team store (`BOARDING_DESK_TEST_BACKEND=team`): a
/// throwaway PostgreSQL cluster shared by the test process, a database per vault (issue 17).
pub fn team_backend() -> bool {
    std::env::var("BOARDING_DESK_TEST_BACKEND").as_deref() == Ok("team")
}

/// The founding admin of every test vault, and the password every test user ends with.
pub const ADMIN: &str = "alice";
pub const PASSWORD: &str = "correct horse battery 42";

/// The cheapest argon2id the vault accepts, and refusals padded to 50 ms: tests and benches
/// are not about key stretching (the padding itself is tested with its own floor).
pub fn policy() -> ::vault::Policy {
    ::vault::Policy {
        kdf: ::vault::KdfParams::MINIMUM,
        refusal_floor: Duration::from_millis(50),
        ..::vault::Policy::default()
    }
}

/// Polls `check` until it returns `Some`, at most `timeout`; panics saying `what` was expected.
pub fn eventually<T>(timeout: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            started.elapsed() < timeout,
            "expected within {timeout:?}: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// [`eventually`] for a check that awaits (sleeping on the runtime, not the thread).
pub async fn eventually_async<T, F>(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> F,
) -> T
where
    F: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            started.elapsed() < timeout,
            "expected within {timeout:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eventually_returns_the_first_value_that_holds() {
        let mut n = 0;
        let got = eventually(Duration::from_secs(5), "the third call", || {
            n += 1;
            (n == 3).then_some(n)
        });
        assert_eq!(got, 3);
    }

    #[test]
    #[should_panic(expected = "expected within 50ms: something that never holds")]
    fn eventually_fails_saying_what_it_waited_for() {
        eventually(
            Duration::from_millis(50),
            "something that never holds",
            || None::<()>,
        );
    }
}
