//! `kill -9` of `desk boarding drain` at several points, then a restart: the sandbox ends with
//! exactly one account per approved application and none is lost.

use std::path::Path;
use std::time::Duration;

use api::boarding::{self, SetPlatformInput};
use api::intake::demo;
use api::{DataDir, SessionSlot};

pub(crate) const PW: &str = testkit::desk::USER_PASSWORD;

pub(crate) use testkit::totp::code_ahead as code;

/// A new vault in `dir` whose founding admin `alice` (password `password`) is signed in and
/// enrolled, with the admin's authenticator secret.
pub(crate) fn admin_signed_in(dir: &DataDir, password: &str) -> (SessionSlot, String) {
    let mut admin = SessionSlot::new();
    let secret = testkit::desk::setup_with(dir, &mut admin, "alice", password);
    (admin, secret)
}

/// An enrolled user's authenticator secret (the admin creates, the user finishes sign-in).
fn user(dir: &DataDir, admin: &mut SessionSlot, name: &str) -> String {
    let (secret, mut slot) = user_signed_in(dir, admin, name);
    slot.lock().unwrap();
    secret
}

/// [`user`], still signed in (its authenticator's current step used).
pub(crate) fn user_signed_in(
    dir: &DataDir,
    admin: &mut SessionSlot,
    name: &str,
) -> (String, SessionSlot) {
    let (slot, secret) = testkit::desk::enrolled_user(dir, admin, name, "underwriter");
    (secret, slot)
}

fn drain(dir: &Path, user: &str, secret: &str) -> std::process::Child {
    drain_for(dir, user, secret, 90)
}

fn drain_for(dir: &Path, user: &str, secret: &str, timeout_s: u64) -> std::process::Child {
    let timeout = timeout_s.to_string();
    let args = [
        "--json",
        "boarding",
        "drain",
        "--request-timeout",
        "1",
        "--timeout",
        &timeout,
    ];
    crate::sanctions::spawn_signed(dir, user, secret, &args, &[])
}

/// A sandbox without a rate limit that takes 40 ms per answer (so a kill lands mid-drain).
fn slow_sandbox(rt: &tokio::runtime::Runtime) -> (sandbox::Sandbox, std::net::SocketAddr) {
    let sandbox = sandbox::Sandbox::new(
        sandbox::Options {
            rate_limit: 0,
            ..sandbox::Options::default()
        },
        sandbox::Faults {
            latency_ms: 40,
            ..sandbox::Faults::default()
        },
    );
    let addr = rt
        .block_on(sandbox.start_api("127.0.0.1:0".parse().unwrap()))
        .unwrap();
    (sandbox, addr)
}

#[test]
fn kill_9_mid_drain_at_several_points_loses_nothing_and_duplicates_nothing() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (sandbox, addr) = slow_sandbox(&rt);

    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let (mut admin, _) = admin_signed_in(&dir, "correct horse battery 42");
    boarding::set_platform(
        &mut admin,
        SetPlatformInput {
            url: format!("http://{addr}"),
            secret_key: None,
            rate_per_second: 25.0,
        },
    )
    .unwrap();
    // One user per run: each CLI sign-in needs a fresh authenticator step.
    let runners: Vec<(String, String)> = (0..4)
        .map(|i| {
            let name = format!("runner{i}");
            let secret = user(&dir, &mut admin, &name);
            (name, secret)
        })
        .collect();
    let ids: Vec<String> = (0..30)
        .map(|i| demo::approve(&mut admin, demo::low_risk(900 + i)).unwrap())
        .collect();
    admin.lock().unwrap();

    for (i, kill_after_ms) in [900u64, 1_700, 2_500].into_iter().enumerate() {
        let (name, secret) = &runners[i];
        let mut child = drain(tmp.path(), name, secret);
        std::thread::sleep(Duration::from_millis(kill_after_ms));
        child.kill().unwrap(); // SIGKILL: no destructor, no rollback hook, nothing runs
        child.wait().unwrap();
    }
    let before_last = sandbox.stats();
    assert!(
        before_last.accounts > 0,
        "the killed runs got some way: {before_last:?}"
    );
    assert!(
        before_last.accounts < 30 || before_last.persons > 0,
        "the kills happened mid-drain"
    );

    let (name, secret) = &runners[3];
    let out = drain(tmp.path(), name, secret).wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the last run finishes: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["counts"]["done"], 30, "{report}");

    let stats = sandbox.stats();
    assert!(
        stats.duplicates().is_empty(),
        "duplicates: {:?}",
        stats.duplicates()
    );
    for id in &ids {
        assert_eq!(
            stats.accounts_per_application.get(id),
            Some(&1),
            "one account for {id}"
        );
    }
    assert_eq!(stats.accounts, 30);
}

/// Issue 17: "a desk killed with SIGKILL while holding leases (another finishes its jobs after
/// the lease expires)". Two desks on one team store; desk A's drain sends, desk B's stands by
/// (the admin's status names A's runner as the sender); A is killed mid-drain, B takes over at
/// once and finishes A's leased jobs when their leases run out. One account each.
#[test]
fn a_desk_killed_while_it_sends_is_taken_over_by_another_desk_on_the_team_store() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (sandbox, addr) = slow_sandbox(&rt);
    let cluster = testkit::postgres::Cluster::shared();
    let db = cluster.fresh_team_database();
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let desk_a = DataDir::open(&a).unwrap();
    let mut admin = SessionSlot::new();
    testkit::desk::setup_on_store(
        &desk_a,
        &mut admin,
        "alice",
        "correct horse battery 42",
        &db.app,
    );
    boarding::set_platform(
        &mut admin,
        SetPlatformInput {
            url: format!("http://{addr}"),
            secret_key: None,
            rate_per_second: 25.0,
        },
    )
    .unwrap();
    let code = api::team::join_code(&mut admin).unwrap().code;
    let desk_b = DataDir::open(&b).unwrap();
    api::team::join(
        &desk_b,
        api::team::JoinInput {
            url: db.app.clone(),
            code,
        },
    )
    .unwrap();
    let on_a = user(&desk_a, &mut admin, "runner_a");
    let on_b = user(&desk_a, &mut admin, "runner_b");
    let ids: Vec<String> = (0..30)
        .map(|i| demo::approve(&mut admin, demo::low_risk(950 + i)).unwrap())
        .collect();

    let mut first = drain_for(&a, "runner_a", &on_a, 120);
    testkit::eventually(Duration::from_secs(30), "desk A sends", || {
        (sandbox.stats().accounts >= 3).then_some(())
    });
    let second = drain_for(&b, "runner_b", &on_b, 120);
    // Desk B stands by while A sends: the store says who holds the sender's role.
    testkit::eventually(
        Duration::from_secs(10),
        "the status names desk A's sender",
        || {
            let o = boarding::overview(&mut admin, None, None).unwrap();
            match o.sender {
                Some(boarding::Sender::OtherDesk {
                    by: Some(by),
                    since: Some(_),
                }) if by.starts_with("runner_a") => Some(()),
                _ => None,
            }
        },
    );
    std::thread::sleep(Duration::from_millis(500));
    let before_kill = sandbox.stats();
    first.kill().unwrap(); // SIGKILL: its connections close with it, its leases stay
    first.wait().unwrap();
    assert!(
        before_kill.accounts < 30,
        "desk A was killed mid-drain: {before_kill:?}"
    );
    let out = second.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "desk B finishes: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["counts"]["done"], 30, "{report}");
    assert_eq!(report["sender"]["state"], "this_desk", "{report}");
    assert!(report["requests"].as_u64().unwrap() > 0, "{report}");
    let stats = sandbox.stats();
    assert!(
        stats.duplicates().is_empty(),
        "duplicates: {:?}",
        stats.duplicates()
    );
    for id in &ids {
        assert_eq!(
            stats.accounts_per_application.get(id),
            Some(&1),
            "one account for {id}"
        );
    }
    let o = boarding::overview(&mut admin, None, None).unwrap();
    assert_eq!(o.sender, Some(boarding::Sender::Nobody), "{:?}", o.sender);
}
