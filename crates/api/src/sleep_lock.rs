//! Locks the vault the moment the machine goes to sleep or the desktop session locks, instead
//! of waiting for the idle limit (issue 16): the window's session and the CLI's session agent. Linux: logind's `PrepareForSleep(true)` and the
//! session's `Lock` on the system bus, the desktop screensaver's `ActiveChanged(true)` on the
//! session bus. Where a bus is missing (a headless machine, a container) nothing is watched and
//! the idle lock still applies.
//!
//! On the system bus the watcher also holds logind's *delay* inhibitor lock for sleep
//! (`Inhibit("sleep", …, "delay")`): logind then waits — up to its `InhibitDelayMaxSec`, 5 s by
//! default — until the vault is locked and the lock's file descriptor closed, so the machine
//! never sleeps with the vault open because the signal came too late. A new one is taken when
//! the machine wakes. Without logind (or when it refuses) the signal alone applies.

use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, PoisonError};
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

/// Asks logind for a delay lock on sleep: the descriptor it answers holds sleep back until it
/// is closed (or logind's delay runs out). `None` without logind or when it refuses.
fn inhibit(conn: &Connection) -> Option<OwnedFd> {
    let logind = conn.with_proxy(
        "org.freedesktop.login1",
        "/org/freedesktop/login1",
        Duration::from_secs(2),
    );
    match logind.method_call(
        "org.freedesktop.login1.Manager",
        "Inhibit",
        (
            "sleep",
            "Boarding Desk",
            "Locks the vault before the machine sleeps",
            "delay",
        ),
    ) {
        Ok((fd,)) => Some(fd),
        Err(e) => {
            tracing::info!("no sleep delay from logind: the sleep signal alone locks ({e})");
            None
        }
    }
}

/// What the watcher holds of logind's delay lock.
#[derive(Default)]
struct Delay {
    held: Option<OwnedFd>,
    /// The machine woke up: take a new one (outside the signal's handler).
    wanted: bool,
}

/// Subscribes `conn` to every lock signal; `on_lock` gets the reason. With `hold_sleep` (the
/// system bus) it holds logind's delay lock while awake and lets go of it only once `on_lock`
/// has returned for the sleep signal. Runs until the bus goes away (the caller's thread).
pub fn watch(
    conn: Connection,
    hold_sleep: bool,
    on_lock: impl Fn(&'static str) + Send + Sync + Clone + 'static,
) -> Result<(), dbus::Error> {
    conn.set_signal_match_mode(true);
    let delay: Arc<Mutex<Delay>> = Arc::default();
    for &(interface, member, needs_true, reason) in SIGNALS {
        let on_lock = on_lock.clone();
        let delay = Arc::clone(&delay);
        let sleep_signal = member == "PrepareForSleep";
        let rule = MatchRule::new_signal(interface, member);
        conn.add_match(rule, move |(): (), _: &Connection, msg: &Message| {
            let starting = msg.get1::<bool>() == Some(true);
            if !needs_true || starting {
                on_lock(reason);
            }
            if sleep_signal && hold_sleep {
                let mut delay = delay.lock().unwrap_or_else(PoisonError::into_inner);
                if starting {
                    // Locked: sleep may go on.
                    delay.held = None;
                } else {
                    delay.wanted = true;
                }
            }
            true
        })?;
    }
    if hold_sleep {
        delay.lock().unwrap_or_else(PoisonError::into_inner).held = inhibit(&conn);
    }
    loop {
        conn.process(Duration::from_secs(5))?;
        let wanted =
            std::mem::take(&mut delay.lock().unwrap_or_else(PoisonError::into_inner).wanted);
        if wanted {
            let fd = inhibit(&conn);
            delay.lock().unwrap_or_else(PoisonError::into_inner).held = fd;
        }
    }
}

/// Watches the system and the session bus, each on its own thread, for as long as the app runs.
pub fn spawn(on_lock: impl Fn(&'static str) + Send + Sync + Clone + 'static) {
    for (name, connect, hold_sleep) in [
        (
            "system",
            Connection::new_system as fn() -> Result<Connection, dbus::Error>,
            true,
        ),
        ("session", Connection::new_session, false),
    ] {
        let on_lock = on_lock.clone();
        std::thread::spawn(move || match connect() {
            Ok(conn) => {
                if let Err(e) = watch(conn, hold_sleep, on_lock) {
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
        std::thread::spawn(move || watch(watcher, true, record));

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

    /// A stand-in for logind on a private bus: it answers `Inhibit` with one end of a socket
    /// pair and keeps the other, so the test sees when the watcher lets go of the delay lock.
    /// The watcher takes a delay lock for sleep, lets go of it only after the vault is locked,
    /// and takes a new one when the machine wakes.
    #[test]
    fn the_sleep_delay_lock_is_held_until_the_vault_is_locked_and_taken_again_on_waking() {
        use std::io::Read;
        use std::os::unix::net::UnixStream;

        let bus = testkit::bus::PrivateBus::start();
        let address = bus.address.clone();
        let asked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let ends: Arc<Mutex<Vec<UnixStream>>> = Arc::default();
        {
            let server = Connection::new_address(&address).unwrap();
            server
                .request_name("org.freedesktop.login1", false, true, false)
                .unwrap();
            let (asked, ends) = (Arc::clone(&asked), Arc::clone(&ends));
            use dbus::channel::MatchingReceiver;
            server.start_receive(
                MatchRule::new_method_call(),
                Box::new(move |msg: Message, conn: &Connection| {
                    if msg.member().as_deref() == Some("Inhibit") {
                        let (what, _who, _why, mode): (String, String, String, String) =
                            msg.read4().unwrap();
                        asked.lock().unwrap().push((what, mode));
                        let (ours, theirs) = UnixStream::pair().unwrap();
                        ours.set_nonblocking(true).unwrap();
                        ends.lock().unwrap().push(ours);
                        use dbus::channel::Sender;
                        let _ = conn.send(msg.method_return().append1(OwnedFd::from(theirs)));
                    }
                    true
                }),
            );
            std::thread::spawn(move || loop {
                if server.process(Duration::from_millis(100)).is_err() {
                    break;
                }
            });
        }
        // The lock takes a moment, as a real one would; the delay lock outlasts it.
        let locked: Arc<Mutex<Option<Instant>>> = Arc::default();
        let record = {
            let locked = Arc::clone(&locked);
            move |_reason| {
                std::thread::sleep(Duration::from_millis(300));
                *locked.lock().unwrap() = Some(Instant::now());
            }
        };
        let watcher = Connection::new_address(&address).unwrap();
        std::thread::spawn(move || watch(watcher, true, record));
        let eventually = |what: &str, ok: &dyn Fn() -> bool| {
            let started = Instant::now();
            while !ok() {
                assert!(started.elapsed() < Duration::from_secs(10), "{what}");
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        eventually("the watcher asks for a delay lock", &|| {
            !asked.lock().unwrap().is_empty()
        });
        assert_eq!(
            asked.lock().unwrap()[0],
            ("sleep".to_string(), "delay".to_string())
        );
        // Still held: nothing to read, no end of file.
        let open = |i: usize| {
            let mut byte = [0u8; 1];
            match (&ends.lock().unwrap()[i]).read(&mut byte) {
                Ok(0) => false,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => true,
                other => panic!("{other:?}"),
            }
        };
        assert!(open(0));

        let sender = Connection::new_address(&address).unwrap();
        let sleep = |starting: bool| {
            let msg = Message::new_signal(
                "/org/freedesktop/login1",
                "org.freedesktop.login1.Manager",
                "PrepareForSleep",
            )
            .unwrap()
            .append1(starting);
            use dbus::channel::Sender;
            sender.send(msg).unwrap();
        };
        sleep(true);
        eventually("the delay lock is let go", &|| !open(0));
        let released = Instant::now();
        let locked_at = locked.lock().unwrap().expect("locked before sleep went on");
        assert!(locked_at <= released);
        sleep(false);
        eventually("a new delay lock on waking", &|| {
            asked.lock().unwrap().len() == 2
        });
        assert!(open(1));
        drop(bus);
    }
}
