//! Locks the vault the moment the machine goes to sleep or the desktop session locks, instead
//! of waiting for the idle limit (issue 16): the window's session and the CLI's session agent. Linux: logind's `PrepareForSleep(true)` and the
//! session's `Lock` on the system bus, the desktop screensaver's `ActiveChanged(true)` on the
//! session bus. Where a bus is missing (a headless machine, a container) nothing is watched and
//! the idle lock still applies.

use std::time::Duration;

use dbus::blocking::Connection;
use dbus::message::MatchRule;
use dbus::Message;

/// The signals that mean "lock now": interface, member, and whether the signal's first
/// argument must be `true` (sleep starting, screensaver turning on).
const SIGNALS: &[(&str, &str, bool, &str)] = &[
    (
        "org.freedesktop.login1.Manager",
        "PrepareForSleep",
        true,
        "the system is going to sleep",
    ),
    (
        "org.freedesktop.login1.Session",
        "Lock",
        false,
        "the desktop session was locked",
    ),
    (
        "org.freedesktop.ScreenSaver",
        "ActiveChanged",
        true,
        "the screen was locked",
    ),
    (
        "org.gnome.ScreenSaver",
        "ActiveChanged",
        true,
        "the screen was locked",
    ),
];

/// Subscribes `conn` to every lock signal; `on_lock` gets the reason. Runs until the bus goes
/// away (the caller's thread).
pub fn watch(
    conn: Connection,
    on_lock: impl Fn(&'static str) + Send + Sync + Clone + 'static,
) -> Result<(), dbus::Error> {
    conn.set_signal_match_mode(true);
    for &(interface, member, needs_true, reason) in SIGNALS {
        let on_lock = on_lock.clone();
        let rule = MatchRule::new_signal(interface, member);
        conn.add_match(rule, move |(): (), _: &Connection, msg: &Message| {
            if !needs_true || msg.get1::<bool>() == Some(true) {
                on_lock(reason);
            }
            true
        })?;
    }
    loop {
        conn.process(Duration::from_secs(5))?;
    }
}

/// Watches the system and the session bus, each on its own thread, for as long as the app runs.
pub fn spawn(on_lock: impl Fn(&'static str) + Send + Sync + Clone + 'static) {
    for (name, connect) in [
        (
            "system",
            Connection::new_system as fn() -> Result<Connection, dbus::Error>,
        ),
        ("session", Connection::new_session),
    ] {
        let on_lock = on_lock.clone();
        std::thread::spawn(move || match connect() {
            Ok(conn) => {
                if let Err(e) = watch(conn, on_lock) {
                    tracing::info!(
                        "no longer watching the {name} bus for sleep and screen lock: {e}"
                    );
                }
            }
            Err(e) => tracing::info!("no {name} bus: the vault locks on idle only ({e})"),
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use super::*;

    /// A private bus (the test's own dbus-daemon): the watcher locks on sleep and on a session
    /// lock, and not when sleep ends.
    #[test]
    fn sleep_and_session_lock_signals_lock_and_waking_does_not() {
        let bus = testkit::bus::PrivateBus::start();
        let address = bus.address.clone();

        let seen: Arc<Mutex<Vec<&'static str>>> = Arc::default();
        let record = {
            let seen = Arc::clone(&seen);
            move |reason| seen.lock().unwrap().push(reason)
        };
        let watcher = Connection::new_address(&address).unwrap();
        std::thread::spawn(move || watch(watcher, record));

        let sender = Connection::new_address(&address).unwrap();
        let send = |path: &str, iface: &str, member: &str, arg: Option<bool>| {
            let mut msg = Message::new_signal(path, iface, member).unwrap();
            if let Some(arg) = arg {
                msg = msg.append1(arg);
            }
            use dbus::channel::Sender;
            sender.send(msg).unwrap();
        };
        let wait_for = |n: usize| {
            let started = Instant::now();
            while seen.lock().unwrap().len() < n && started.elapsed() < Duration::from_secs(10) {
                // Keep sending until the watcher's matches are in place.
                std::thread::sleep(Duration::from_millis(50));
            }
        };
        // The watcher subscribes asynchronously: send until the first one is seen.
        let started = Instant::now();
        while seen.lock().unwrap().is_empty() && started.elapsed() < Duration::from_secs(10) {
            send(
                "/org/freedesktop/login1",
                "org.freedesktop.login1.Manager",
                "PrepareForSleep",
                Some(true),
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        assert_eq!(
            seen.lock().unwrap().first(),
            Some(&"the system is going to sleep")
        );
        // A signal sent just before the first was seen may still be on its way.
        std::thread::sleep(Duration::from_millis(500));
        let before = seen.lock().unwrap().len();
        send(
            "/org/freedesktop/login1",
            "org.freedesktop.login1.Manager",
            "PrepareForSleep",
            Some(false),
        );
        send(
            "/org/freedesktop/login1/session/_31",
            "org.freedesktop.login1.Session",
            "Lock",
            None,
        );
        wait_for(before + 1);
        std::thread::sleep(Duration::from_millis(300));
        let after: Vec<_> = seen.lock().unwrap()[before..].to_vec();
        assert_eq!(
            after,
            vec!["the desktop session was locked"],
            "waking (PrepareForSleep false) does not lock; a session lock does"
        );
        drop(bus);
    }
}
