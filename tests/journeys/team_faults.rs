//! Issue 17's faults, on a team store of the test's own (a cluster it can stop): PostgreSQL
//! restarted mid-drain (the desk reconnects, nothing is lost or sent twice), and the store
//! unreachable (every call is refused as "team store unavailable since …", the session stays,
//! nothing is half-written, and the desk recovers unaided).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::boarding::{self, SetPlatformInput, Worker, WorkerConfig};
use api::intake::demo;
use api::review::{self, QueueQuery};
use api::{Code, DataDir, SessionSlot};
use domain::intake::ApplicationStatus;
use sandbox::Faults;
use testkit::platform::Platform;
use testkit::postgres::Cluster;

/// A vault on a store of `cluster`, its admin signed in.
fn on_store(cluster: &Cluster) -> (tempfile::TempDir, SessionSlot) {
    let db = cluster.fresh_team_database();
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let mut slot = SessionSlot::new();
    testkit::desk::setup_on_store(&dir, &mut slot, "alice", testkit::PASSWORD, &db.app);
    (tmp, slot)
}

/// The journeys' quick worker, two lanes, leases of 3 s.
fn quick() -> WorkerConfig {
    WorkerConfig {
        concurrency: 2,
        lease: Duration::from_secs(3),
        ..crate::boarding::quick()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_restarted_mid_drain_the_desk_reconnects_and_boards_each_once() {
    let cluster = Cluster::start();
    let (_tmp, mut slot) = on_store(&cluster);
    let platform = Platform::start(
        Faults {
            latency_ms: 20,
            ..Faults::default()
        },
        0,
        Duration::from_millis(200),
    )
    .await;
    boarding::set_platform(
        &mut slot,
        SetPlatformInput {
            url: platform.url(),
            secret_key: None,
            rate_per_second: 25.0,
        },
    )
    .unwrap();
    let ids: Vec<String> = (0..30)
        .map(|i| demo::approve(&mut slot, demo::low_risk(31_000 + i)).unwrap())
        .collect();
    let slot = Arc::new(Mutex::new(slot));
    let worker = Worker::new(Arc::clone(&slot), quick());
    let running = tokio::spawn(Arc::clone(&worker).run());
    testkit::eventually_async(Duration::from_secs(30), "boarding started", || async {
        (platform.sandbox.stats().accounts >= 5).then_some(())
    })
    .await;
    // A crash of the server (`-m immediate`: every connection cut), then it is back.
    cluster.stop();
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.restart();
    testkit::eventually_async(
        Duration::from_secs(60),
        "all 30 board once the store is back",
        || async {
            let mut s = slot.lock().unwrap();
            let counts = boarding::overview(&mut s, None, None).ok()?.counts;
            (counts.done == 30).then_some(())
        },
    )
    .await;
    running.abort();
    let stats = platform.sandbox.stats();
    assert!(stats.duplicates().is_empty(), "{:?}", stats.duplicates());
    for id in &ids {
        assert_eq!(stats.accounts_per_application.get(id), Some(&1), "{id}");
    }
    // The same session, never signed in again: the chain is whole.
    let mut s = slot.lock().unwrap();
    let report = api::audit_log::verify_audit(&mut s, None).unwrap();
    assert!(report.intact, "{report:?}");
    for id in &ids {
        let view = api::intake::get_application(&mut s, id).unwrap();
        assert_eq!(view.summary.status, ApplicationStatus::Boarded);
    }
}

#[test]
fn the_store_unreachable_refuses_calls_keeps_the_session_and_recovers_unaided() {
    let cluster = Cluster::start();
    let (_tmp, mut slot) = on_store(&cluster);
    let view = api::intake::save_draft(
        &mut slot,
        api::intake::SaveDraft {
            id: None,
            version: None,
            form: demo::low_risk(32_000),
        },
    )
    .unwrap();
    let id = view.summary.id.clone();
    api::intake::submit(&mut slot, &id, view.summary.version).unwrap();
    let before = review::queue(&mut slot, QueueQuery::default())
        .unwrap()
        .total;

    cluster.stop();
    let refused = review::assign_to_me(&mut slot, &id, false).unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable, "{refused}");
    assert!(
        refused
            .message()
            .starts_with("team store unavailable since "),
        "{refused}"
    );
    let status = boarding::platform_status(&mut slot, None).unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    let listed = review::queue(&mut slot, QueueQuery::default()).unwrap_err();
    assert_eq!(listed.code(), Code::Unavailable);
    // The session is still there: the window keeps its page, not the sign-in screen.
    assert!(slot.info().is_some(), "an outage signs nobody out");

    std::thread::sleep(Duration::from_secs(2));
    cluster.restart();
    // Unaided: the next call reconnects, on the same session.
    let row = testkit::eventually(Duration::from_secs(30), "the store answers again", || {
        review::assign_to_me(&mut slot, &id, false).ok()
    });
    assert_eq!(row.assignee.as_deref(), Some("alice"));
    assert_eq!(
        review::queue(&mut slot, QueueQuery::default())
            .unwrap()
            .total,
        before,
        "nothing half-written, nothing lost"
    );
    let taken = api::audit_log::list_audit(&mut slot, None, 200)
        .unwrap()
        .entries
        .into_iter()
        .filter(|e| e.action == "review.assign" && e.target.as_deref() == Some(id.as_str()))
        .count();
    assert_eq!(taken, 1, "the refused take left no entry");
    let report = api::audit_log::verify_audit(&mut slot, None).unwrap();
    assert!(report.intact, "{report:?}");
}
