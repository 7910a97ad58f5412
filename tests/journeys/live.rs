//! Issue 17, "Live": what another desk changes reaches this desk's window as topic names
//! (`api::live`), on both backends — from `LISTEN/NOTIFY` on the team store, from the audit log
//! on a local vault. Reads announce nothing; a locked desk hears nothing.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use api::intake::demo;
use api::live::{Changes, Live};
use api::review::{self, QueueQuery};
use api::{DataDir, SessionSlot};
use vault::changes::Topic;

use crate::auth::{setup, signed_in_user};

/// Steps `live` until it reports something or `within` passes; what it reported (or nothing).
fn heard(live: &Live, within: Duration) -> Changes {
    let start = Instant::now();
    while start.elapsed() < within {
        let changes = live.step().unwrap();
        if !changes.is_empty() {
            return changes;
        }
    }
    Changes::default()
}

fn submitted(slot: &mut SessionSlot, seed: u64) -> String {
    let view = api::intake::save_draft(
        slot,
        api::intake::SaveDraft {
            id: None,
            version: None,
            form: demo::low_risk(seed),
        },
    )
    .unwrap();
    api::intake::submit(slot, &view.summary.id, view.summary.version).unwrap();
    view.summary.id
}

#[test]
fn another_desks_submit_take_and_decision_reach_this_desk_and_its_reads_do_not() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let mut admin = SessionSlot::new();
    setup(&dir, &mut admin);
    let mut uma = signed_in_user(&dir, &mut admin, "uma", "underwriter");
    let lead = Arc::new(Mutex::new(signed_in_user(&dir, &mut admin, "lee", "lead")));
    let live = Live::new(Arc::clone(&lead));
    // The first step starts the feed (a team desk's listener connects): from now on.
    assert!(live.step().unwrap().is_empty(), "nothing yet");

    let id = submitted(&mut uma, 31_000);
    let changes = heard(&live, Duration::from_secs(10));
    assert_eq!(changes.topics, vec![Topic::Queue], "a submit: {changes:?}");
    assert!(!changes.resync);

    // Reads change nothing and say nothing: a window that refreshes must not set off another.
    review::queue(&mut uma, QueueQuery::default()).unwrap();
    review::review_view(&mut uma, &id).unwrap();
    review::dashboard(&mut uma).unwrap();
    let quiet = heard(&live, Duration::from_millis(2_500));
    assert!(quiet.is_empty(), "reads announce nothing: {quiet:?}");

    review::assign_to_me(&mut uma, &id, false).unwrap();
    assert_eq!(
        heard(&live, Duration::from_secs(10)).topics,
        vec![Topic::Queue],
        "a take"
    );
    let version = review::review_view(&mut uma, &id).unwrap().row.version;
    review::decide(
        &mut uma,
        review::DecideInput {
            id: id.clone(),
            version,
            decision: "approve".into(),
            reasons: vec!["meets_policy".into()],
            note: "Checked the file and the evidence".into(),
            fields: Vec::new(),
            blocklist: false,
            blocklist_basis: None,
            confirmed_hits: Vec::new(),
        },
    )
    .unwrap();
    let changes = heard(&live, Duration::from_secs(10));
    assert_eq!(
        changes.topics,
        vec![Topic::Queue, Topic::Merchants],
        "an approval moves the queue and queues the boarding: {changes:?}"
    );

    // A locked desk hears nothing, and says nothing of what happened while it was locked.
    lead.lock().unwrap().lock().unwrap();
    submitted(&mut uma, 31_001);
    assert!(heard(&live, Duration::from_millis(2_500)).is_empty());
}

#[test]
fn a_burst_of_changes_is_one_announcement_and_a_refresh_does_not_count_as_activity() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let mut admin = SessionSlot::new();
    setup(&dir, &mut admin);
    let mut uma = signed_in_user(&dir, &mut admin, "uma", "underwriter");
    let lead = Arc::new(Mutex::new(signed_in_user(&dir, &mut admin, "lee", "lead")));
    let live = Live::new(Arc::clone(&lead));
    assert!(live.step().unwrap().is_empty());
    for i in 0..20 {
        submitted(&mut uma, 32_000 + i);
    }
    let first = heard(&live, Duration::from_secs(10));
    assert_eq!(first.topics, vec![Topic::Queue]);
    // Twenty submits in a burst: at most a couple of refreshes, not twenty.
    let mut more = 0;
    while !heard(&live, Duration::from_millis(1_500)).is_empty() {
        more += 1;
        assert!(more < 5, "a burst is gathered, not told change by change");
    }

    // The refresh the window makes when told reads quietly: an unattended window still locks.
    // Its last activity was at least 1.5 s before the read; had the read counted, the session
    // would still be open at the read's time plus the idle limit less 0.75 s.
    std::thread::sleep(Duration::from_millis(1_500));
    let mut slot = lead.lock().unwrap();
    let limit = Duration::from_secs(u64::from(slot.info().unwrap().idle_minutes) * 60);
    let read_at = api::clock::Moment::now();
    slot.quietly(|s| review::queue(s, QueueQuery::default()))
        .unwrap();
    assert!(
        slot.lock_if_idle(read_at + limit - Duration::from_millis(750)),
        "a quiet read is not activity: the session locks on the time of the last real one"
    );
}
