//! Boarding through the outbox against the real sandbox, with faults injected: the platform
//! down while merchants are approved, every first answer lost, 429 storms, a refusal with a
//! `param` that an underwriter fixes. The sandbox counts accounts per application id, so
//! "exactly once" is checked where it matters: on the platform.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::boarding::{self, SetPlatformInput, Worker, WorkerConfig};
use api::intake::{self, demo};
use api::merchants;
use api::platform::requests;
use api::{DataDir, SessionSlot};
use desk_tests::spec::Spec;
use domain::intake::{Application, ApplicationForm, ApplicationStatus};
use domain::merchant::{MerchantStatus, ReviewFlag};
use sandbox::Faults;
use testkit::eventually_async;
use testkit::platform::Platform;

use crate::auth::setup;

use api::intake::demo::low_risk;

/// Approves `form` (one approver: it is low risk) and checks that it is approved.
fn approve(slot: &mut SessionSlot, form: ApplicationForm) -> String {
    let id = demo::approve(slot, form).unwrap();
    assert_eq!(
        intake::get_application(slot, &id).unwrap().summary.status,
        ApplicationStatus::Approved,
        "a low-risk approval needs one approver"
    );
    id
}

/// Drains the outbox and checks that nothing is left queued or retrying.
async fn drain_all(worker: &Arc<Worker>, seconds: u64) {
    let report = worker.drain(Duration::from_secs(seconds)).await.unwrap();
    assert!(report.finished, "the outbox drained: {report:?}");
}

pub(crate) fn quick() -> WorkerConfig {
    WorkerConfig {
        concurrency: 4,
        poll: Duration::from_millis(20),
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(300),
        breaker_threshold: 3,
        breaker_cooldown: Duration::from_millis(100),
        breaker_max_cooldown: Duration::from_millis(400),
        request_timeout: Duration::from_secs(2),
        lease: Duration::from_secs(5),
        claim_every: Duration::from_millis(50),
        sync_every: Duration::from_secs(3600),
    }
}

struct World {
    tmp: tempfile::TempDir,
    slot: Arc<Mutex<SessionSlot>>,
    /// The sandbox platform (`w.sandbox`, `w.addr`, `w.down()`, `w.up()`, `w.client()`).
    platform: Platform,
}

impl std::ops::Deref for World {
    type Target = Platform;
    fn deref(&self) -> &Platform {
        &self.platform
    }
}

async fn world(faults: Faults, rate_limit: u32) -> World {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let mut slot = SessionSlot::new();
    setup(&dir, &mut slot);
    let platform = Platform::start(faults, rate_limit, Duration::from_millis(200)).await;
    boarding::set_platform(
        &mut slot,
        SetPlatformInput {
            url: platform.url(),
            secret_key: None,
            rate_per_second: 25.0,
        },
    )
    .unwrap();
    World {
        tmp,
        slot: Arc::new(Mutex::new(slot)),
        platform,
    }
}

impl World {
    fn with<T>(&self, f: impl FnOnce(&mut SessionSlot) -> T) -> T {
        f(&mut self.slot.lock().unwrap())
    }

    /// Tells the desk the platform takes `per_second` writes (the client paces itself to it).
    fn pace_at(&self, per_second: f64) {
        self.with(|s| {
            boarding::set_platform(
                s,
                SetPlatformInput {
                    url: self.url(),
                    secret_key: None,
                    rate_per_second: per_second,
                },
            )
            .unwrap()
        });
    }

    fn approve_many(&self, n: u64, seed: u64) -> Vec<String> {
        self.with(|s| (0..n).map(|i| approve(s, low_risk(seed + i))).collect())
    }

    fn assert_boarded_once(&self, ids: &[String]) {
        let stats = self.sandbox.stats();
        assert!(
            stats.duplicates().is_empty(),
            "duplicates on the platform: {:?}",
            stats.duplicates()
        );
        for id in ids {
            assert_eq!(
                stats.accounts_per_application.get(id),
                Some(&1),
                "one account for {id}"
            );
        }
        self.with(|s| {
            for id in ids {
                let view = intake::get_application(s, id).unwrap();
                assert_eq!(view.summary.status, ApplicationStatus::Boarded);
                let m = merchants::merchant(s, id).unwrap();
                assert!(m.merchant.account_id.starts_with("acct_"));
            }
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_down_while_fifty_are_approved_then_up_boards_each_exactly_once() {
    let w = world(Faults::default(), 0).await;
    w.down().await;
    let worker = Worker::new(Arc::clone(&w.slot), quick());
    let running = tokio::spawn(Arc::clone(&worker).run());
    let ids = w.approve_many(50, 100);
    // Down long enough for every job to fail a few times and the breaker to open.
    eventually_async(
        Duration::from_secs(10),
        "the breaker opens while the platform refuses connections",
        || async {
            matches!(worker.health(), platform::resilience::Health::Down { .. }).then_some(())
        },
    )
    .await;
    let overview = w.with(|s| boarding::overview(s, None, Some(worker.state())).unwrap());
    assert_eq!(overview.counts.done, 0);
    assert!(overview
        .jobs
        .iter()
        .any(|j| j.job.error_kind.as_deref() == Some("network")));
    assert_eq!(w.sandbox.stats().accounts, 0);
    // The status bar's line: down, with every approved merchant still waiting.
    let status = w.with(|s| boarding::platform_status(s, Some(worker.state())).unwrap());
    assert!(matches!(
        status.health,
        Some(platform::resilience::Health::Down { failures, .. }) if failures > 0
    ));
    assert_eq!((status.waiting, status.needs_fix), (50, 0));

    w.up().await;
    eventually_async(
        Duration::from_secs(60),
        "all 50 board once the platform is back",
        || async {
            let counts = w.with(|s| boarding::overview(s, None, None).unwrap().counts);
            (counts.done == 50).then_some(())
        },
    )
    .await;
    running.abort();
    w.assert_boarded_once(&ids);
    assert_eq!(worker.health(), platform::resilience::Health::Up);
    let status = w.with(|s| boarding::platform_status(s, Some(worker.state())).unwrap());
    assert_eq!(status.waiting, 0);
}

/// Two desks' workers on one vault (two signed-in users, two connections): one sends and the
/// other stands by, saying who sends. Stopped mid-drain, the first gives its role up; the other
/// takes over and finishes once the stopped one's leases run out. No step reaches the platform
/// as a second account or a second person, and none is skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_worker_sends_for_the_vault_and_another_takes_over_when_it_stops() {
    use api::boarding::Sender;
    let w = world(
        Faults {
            latency_ms: 5,
            ..Faults::default()
        },
        0,
    )
    .await;
    let ids = w.approve_many(120, 20_000);
    let dir = DataDir::open(w.tmp.path()).unwrap();
    let second = w.with(|s| crate::auth::signed_in_new_user(&dir, s, "uma", "underwriter"));
    let second = Arc::new(Mutex::new(second));
    let config = || WorkerConfig {
        concurrency: 2,
        ..quick()
    };
    let one = Worker::new(Arc::clone(&w.slot), config());
    let two = Worker::new(Arc::clone(&second), config());
    let first = tokio::spawn({
        let one = Arc::clone(&one);
        async move { one.drain(Duration::from_secs(240)).await }
    });
    eventually_async(
        Duration::from_secs(30),
        "the first worker sends",
        || async { (one.requests_sent() > 0).then_some(()) },
    )
    .await;
    assert!(
        matches!(one.sender(), Sender::ThisDesk { .. }),
        "{:?}",
        one.sender()
    );
    let standby = tokio::spawn({
        let two = Arc::clone(&two);
        async move { two.drain(Duration::from_secs(240)).await }
    });
    eventually_async(
        Duration::from_secs(30),
        "the second worker stands by, naming the sender",
        || async {
            matches!(two.sender(), Sender::OtherDesk { .. })
                .then(|| one.requests_sent() >= 60)
                .and_then(|enough| enough.then_some(()))
        },
    )
    .await;
    match two.sender() {
        Sender::OtherDesk { by, since } => {
            assert!(by.is_some_and(|b| b.contains("alice") || b.contains("another")));
            assert!(since.is_some() || !testkit::team_backend());
        }
        other => panic!("the second worker stands by: {other:?}"),
    }
    assert_eq!(two.requests_sent(), 0, "one sender at a time");

    // The first stops mid-drain (its lanes are cancelled, requests in flight abandoned).
    first.abort();
    let _ = first.await;
    drop(one);
    let report = standby.await.unwrap().unwrap();
    assert!(report.finished, "the second worker finished: {report:?}");
    assert!(two.requests_sent() > 0, "the second worker took over");
    assert!(
        matches!(report.sender, Sender::ThisDesk { .. }),
        "{report:?}"
    );
    let stats = w.sandbox.stats();
    assert_eq!(stats.idempotency_conflicts, 0, "{stats:?}");
    // None skipped: each application has its account, all its persons and its last step.
    let steps: u64 = w.with(|s| {
        ids.iter()
            .map(|id| {
                let form = intake::get_application(s, id).unwrap().form;
                2 + requests::persons_to_create(&Application::of(&form)) as u64
            })
            .sum()
    });
    // Each step reached the platform once, or again with its own key (a step the stopped
    // worker had in flight, resent by the other: answered from the platform's record).
    assert_eq!(
        stats.writes - stats.idempotent_replays,
        steps,
        "one request per job step: {stats:?}"
    );
    assert!(stats.idempotent_replays <= 2, "{stats:?}");
    w.assert_boarded_once(&ids);
}

/// Four desks' workers, each told the platform takes 10 writes a second, against a platform that
/// refuses more than that and answers some requests with 429 or an error: the limit holds for
/// the four together (one sends), and every merchant gets exactly one account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_desks_workers_keep_the_platforms_rate_for_the_team() {
    let w = world(
        Faults {
            rate_429: 0.05,
            retry_after_secs: 0.05,
            error_rate: 0.05,
            ..Faults::default()
        },
        10,
    )
    .await;
    w.pace_at(10.0);
    let ids = w.approve_many(24, 21_000);
    let dir = DataDir::open(w.tmp.path()).unwrap();
    let mut workers = vec![Worker::new(Arc::clone(&w.slot), quick())];
    for name in ["uma", "ursula", "uri"] {
        let slot = w.with(|s| crate::auth::signed_in_new_user(&dir, s, name, "underwriter"));
        workers.push(Worker::new(Arc::new(Mutex::new(slot)), quick()));
    }
    let drains = workers.iter().map(|wk| {
        let wk = Arc::clone(wk);
        async move { wk.drain(Duration::from_secs(120)).await }
    });
    for report in futures::future::join_all(drains).await {
        assert!(report.unwrap().finished);
    }
    let stats = w.sandbox.stats();
    assert!(
        stats.injected_429 + stats.injected_500 > 0,
        "faults happened: {stats:?}"
    );
    assert_eq!(
        stats.rate_limited, 0,
        "the four never exceeded the platform's limit together: {stats:?}"
    );
    assert!(stats.max_writes_per_second <= 11, "{stats:?}");
    let senders = workers.iter().filter(|wk| wk.requests_sent() > 0).count();
    assert_eq!(senders, 1, "one worker sent for the team");
    w.assert_boarded_once(&ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_first_answer_lost_still_makes_one_account_each() {
    let w = world(
        Faults {
            drop_first_attempt: true,
            ..Faults::default()
        },
        0,
    )
    .await;
    let ids = w.approve_many(8, 200);
    let worker = Worker::new(Arc::clone(&w.slot), quick());
    let report = worker.drain(Duration::from_secs(60)).await.unwrap();
    assert!(report.finished, "{report:?}");
    assert_eq!(report.counts.done, 8);
    w.assert_boarded_once(&ids);
    let stats = w.sandbox.stats();
    assert!(
        stats.dropped >= 8 * 3,
        "every request's first answer was dropped: {stats:?}"
    );
    assert_eq!(
        stats.idempotent_replays, stats.dropped,
        "each lost answer was recovered by resending the same key"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_is_waited_out_within_the_platform_limit() {
    let w = world(
        Faults {
            rate_429: 0.5,
            retry_after_secs: 0.05,
            ..Faults::default()
        },
        10,
    )
    .await;
    w.pace_at(10.0);
    let ids = w.approve_many(6, 300);
    let worker = Worker::new(Arc::clone(&w.slot), quick());
    let report = worker.drain(Duration::from_secs(90)).await.unwrap();
    assert!(report.finished, "{report:?}");
    w.assert_boarded_once(&ids);
    let stats = w.sandbox.stats();
    assert!(stats.injected_429 > 5, "the storm happened: {stats:?}");
    assert_eq!(
        stats.rate_limited, 0,
        "the client never exceeded the platform's own limit: {stats:?}"
    );
    assert!(stats.max_writes_per_second <= 11, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_field_stops_the_job_until_it_is_fixed_and_resent() {
    let w = world(Faults::default(), 0).await;
    let mut form = low_risk(400);
    form.business.email = "owner@shop.invalid".into();
    let id = w.with(|s| approve(s, form));
    let worker = Worker::new(Arc::clone(&w.slot), quick());
    let report = worker.drain(Duration::from_secs(20)).await.unwrap();
    assert_eq!(report.counts.needs_fix, 1, "{report:?}");
    let job = w.with(|s| boarding::job(s, &id).unwrap());
    assert_eq!(
        job.job.error_field.as_deref(),
        Some("business.email"),
        "the platform's param, mapped to our field"
    );
    assert_eq!(job.job.error_param.as_deref(), Some("email"));
    assert!(job
        .error_message
        .as_deref()
        .unwrap_or("")
        .contains("Invalid email address"));
    w.with(|s| {
        assert_eq!(
            intake::get_application(s, &id).unwrap().summary.status,
            ApplicationStatus::BoardingFailed
        );
        let err =
            boarding::fix_and_resend(s, &job.job.id, "business.phone", "+14155550100").unwrap_err();
        assert_eq!(
            err.code(),
            api::Code::InvalidInput,
            "only the named field may change"
        );
        let err =
            boarding::fix_and_resend(s, &job.job.id, "business.email", "not an email").unwrap_err();
        assert_eq!(
            err.field_issues()[0].field,
            "business.email",
            "the fix is validated like the form"
        );
        boarding::fix_and_resend(s, &job.job.id, "business.email", "owner@shop-fixed.com").unwrap();
    });
    let report = worker.drain(Duration::from_secs(20)).await.unwrap();
    assert_eq!(report.counts.done, 1, "{report:?}");
    w.assert_boarded_once(&[id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requirements_move_from_pending_to_verified_and_map_to_our_fields() {
    let w = world(Faults::default(), 0).await;
    let mut bad_bank = low_risk(500);
    bad_bank.bank.account_number = "000111111116".into();
    let ids = [
        w.with(|s| approve(s, low_risk(501))),
        w.with(|s| approve(s, bad_bank)),
    ];
    let worker = Worker::new(Arc::clone(&w.slot), quick());
    drain_all(&worker, 20).await;
    let fresh = w.with(|s| merchants::merchant(s, &ids[0]).unwrap());
    assert!(
        fresh.open.iter().any(|o| o.kind == "pending_verification"),
        "just boarded: verification pending: {:?}",
        fresh.open
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let synced = boarding::sync_merchant(&w.slot, &ids[0]).await.unwrap();
    assert!(
        synced.open.is_empty(),
        "verified after a while: {:?}",
        synced.open
    );
    assert!(synced.merchant.charges_enabled);
    let failing = boarding::sync_merchant(&w.slot, &ids[1]).await.unwrap();
    let bank = failing
        .open
        .iter()
        .find(|o| o.kind == "error")
        .expect("the bank account failed");
    assert_eq!(bank.field.as_deref(), Some("bank.account_number"));
    assert!(bank.reason.as_deref().unwrap_or("").contains("no_account"));
    assert!(!failing.merchant.charges_enabled);
}

/// Issue 7's merchant administration through the outbox: suspend and reinstate reach the
/// platform in order (even when both were queued during an outage), bad input and illegal moves
/// are refused before anything is written, and a termination while the platform is down is
/// queued, not lost — with the merchant's identifiers on the blocklist at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_suspends_reinstates_and_terminates_a_merchant_through_the_outbox() {
    use api::merchants::{self, ActionInput, LimitsInput};
    let w = world(Faults::default(), 0).await;
    let id = w.with(|s| approve(s, low_risk(800)));
    let worker = Worker::new(Arc::clone(&w.slot), quick());
    drain_all(&worker, 20).await;
    tokio::time::sleep(Duration::from_millis(300)).await; // the sandbox verifies the account
    assert!(
        boarding::sync_merchant(&w.slot, &id)
            .await
            .unwrap()
            .merchant
            .charges_enabled
    );

    let action = |action: &str, reason: &str, blocklist: bool| ActionInput {
        id: id.clone(),
        action: action.into(),
        reason: reason.into(),
        note: "Chargebacks at 3% over two weeks".into(),
        blocklist,
        blocklist_basis: blocklist.then(|| "card_network_rules".into()),
    };
    // Bad input: each refused with its field, nothing changes.
    w.with(|s| {
        let err = merchants::act(s, action("suspend", "felt_like_it", false)).unwrap_err();
        assert!(err.message().starts_with("reason: must be one of"), "{err}");
        let err = merchants::act(s, action("pause", "other", false)).unwrap_err();
        assert!(err.message().starts_with("action:"));
        let err = merchants::act(s, action("suspend", "other", true)).unwrap_err();
        assert!(err.message().starts_with("blocklist:"));
        let err = merchants::act(s, action("reinstate", "other", false)).unwrap_err();
        assert_eq!(
            err.code(),
            api::Code::Conflict,
            "an active merchant is not reinstated"
        );
        let err = merchants::set_limits(
            s,
            LimitsInput {
                id: id.clone(),
                monthly_cap: "1,000".into(),
                max_ticket: "5,000".into(),
            },
        )
        .unwrap_err();
        assert!(err.message().starts_with("max_ticket:"), "{err}");
        assert_eq!(
            merchants::merchant(s, &id).unwrap().merchant.status,
            MerchantStatus::Active
        );
    });

    // Suspended: no more charges on the platform.
    let out = w.with(|s| merchants::act(s, action("suspend", "chargeback_rate", false)).unwrap());
    assert_eq!(
        out.merchant.merchant.status,
        MerchantStatus::Suspended,
        "ours at once"
    );
    drain_all(&worker, 20).await;
    let m = boarding::sync_merchant(&w.slot, &id).await.unwrap();
    assert!(
        !m.merchant.charges_enabled,
        "card payments removed on the platform"
    );
    assert_eq!(m.merchant.status_reason.as_deref(), Some("chargeback_rate"));

    // Reinstate, then restrict and reinstate again while the platform is down: sent in order.
    w.with(|s| merchants::act(s, action("reinstate", "issue_resolved", false)).unwrap());
    drain_all(&worker, 20).await;
    w.down().await;
    w.with(|s| {
        merchants::act(s, action("restrict", "unusual_volume", false)).unwrap();
        merchants::act(s, action("reinstate", "review_cleared", false)).unwrap();
        merchants::set_limits(
            s,
            LimitsInput {
                id: id.clone(),
                monthly_cap: "50,000".into(),
                max_ticket: "1,500.00".into(),
            },
        )
        .unwrap();
    });
    let report = worker.drain(Duration::from_millis(800)).await.unwrap();
    assert!(!report.finished, "nothing reaches a platform that is down");
    w.up().await;
    drain_all(&worker, 30).await;
    let client = w.client();
    let account = w.with(|s| merchants::merchant(s, &id).unwrap()).merchant;
    assert_eq!(account.monthly_cap_cents, Some(5_000_000));
    let got = client
        .send(&requests::retrieve_account(&account.account_id), None)
        .await
        .unwrap();
    assert_eq!(
        got["metadata"]["desk_status"], "active",
        "the last change won: {got:#}"
    );
    assert_eq!(got["metadata"]["desk_max_ticket_cents"], "150000");
    // Capabilities requested again are re-verified by the platform, then active.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let m = boarding::sync_merchant(&w.slot, &id).await.unwrap();
    assert!(m.merchant.charges_enabled, "charging again once reinstated");

    // Terminated while the platform is down: ours at once, blocklisted, queued until it is up.
    w.down().await;
    let out = w.with(|s| merchants::act(s, action("terminate", "fraud", true)).unwrap());
    assert_eq!(out.merchant.merchant.status, MerchantStatus::Terminated);
    assert!(
        out.blocklisted >= 3,
        "EIN, SSN(s) and bank account: {}",
        out.blocklisted
    );
    w.with(|s| {
        let err = merchants::act(s, action("reinstate", "other", false)).unwrap_err();
        assert_eq!(err.code(), api::Code::Conflict, "termination is final");
    });
    assert!(
        !worker
            .drain(Duration::from_millis(800))
            .await
            .unwrap()
            .finished
    );
    w.up().await;
    drain_all(&worker, 30).await;
    let got = client
        .send(&requests::retrieve_account(&account.account_id), None)
        .await
        .unwrap();
    assert_eq!(got["requirements"]["disabled_reason"], "rejected.fraud");

    // Every action left its note and its audit entry; the platform's answer is audited too.
    w.with(|s| {
        let notes = api::review::review_view(s, &id).unwrap().notes;
        assert_eq!(notes.len(), 5, "each action's note is kept: {notes:?}");
        let entries = api::audit_log::list_audit(s, None, 200).unwrap().entries;
        for action in [
            "merchant.suspend",
            "merchant.reinstate",
            "merchant.restrict",
            "merchant.terminate",
            "merchant.limits",
        ] {
            assert!(
                entries.iter().any(|e| e.action == action),
                "{action} audited"
            );
        }
        assert!(
            entries
                .iter()
                .any(|e| e.action == "merchant.platform_reject"
                    && e.actor == format!("{} for alice", boarding::WORKER_ACTOR)),
            "the worker names the user on whose behalf it sent"
        );
    });
}

/// Issue 16, item 5: erasing a terminated merchant (past retention) queues the deletion of its
/// platform account in the erasure's unit; the worker sends `DELETE /v1/accounts/{id}` with no
/// parameter and no record key (it is destroyed), through an outage, exactly once; the account
/// is gone from the platform, the job is done, and the platform's answer is audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasing_a_terminated_merchant_deletes_its_platform_account_through_the_outbox() {
    let w = world(Faults::default(), 0).await;
    let id = w.with(|s| approve(s, low_risk(820)));
    let worker = Worker::new(Arc::clone(&w.slot), quick());
    drain_all(&worker, 20).await;
    let account = w.with(|s| merchants::merchant(s, &id).unwrap().merchant.account_id);
    w.with(|s| {
        merchants::act(
            s,
            merchants::ActionInput {
                id: id.clone(),
                action: "terminate".into(),
                reason: "fraud".into(),
                note: "Card testing confirmed by the bank".into(),
                blocklist: false,
                blocklist_basis: None,
            },
        )
        .unwrap()
    });
    drain_all(&worker, 20).await;

    // Six years on, the retention run erases it; the platform is down meanwhile.
    w.down().await;
    let now = time::OffsetDateTime::now_utc();
    let later = now + time::Duration::days(6 * 366);
    let erased = w.with(|s| {
        assert!(api::gdpr::scheduled_retention(s, now).unwrap().is_none());
        api::gdpr::scheduled_retention(s, later).unwrap().unwrap()
    });
    assert_eq!(erased.due, vec![id.clone()]);
    assert_eq!(erased.erased, 1);
    let queued = w.with(|s| boarding::overview(s, Some("queued"), None).unwrap().jobs);
    let job = queued
        .iter()
        .find(|j| j.job.application_id == id)
        .expect("the deletion is queued with the erasure");
    assert_eq!(job.job.step.to_string(), "delete_account");
    assert_eq!(job.job.account_id.as_deref(), Some(account.as_str()));
    assert!(
        !worker
            .drain(Duration::from_millis(800))
            .await
            .unwrap()
            .finished,
        "held while the platform is down"
    );
    w.up().await;
    drain_all(&worker, 30).await;

    assert_eq!(w.sandbox.stats().deleted_accounts, 1);
    let gone = w
        .client()
        .send(&requests::retrieve_account(&account), None)
        .await;
    assert!(
        matches!(
            gone,
            Err(api::platform::client::CallError::Rejected { status: 404, .. })
        ),
        "{gone:?}"
    );
    w.with(|s| {
        let done = boarding::overview(s, Some("done"), None).unwrap().jobs;
        let job = done.iter().find(|j| j.job.id == job.job.id).expect("done");
        assert_eq!(job.job.created_by, "gdpr erasure");
        let entries = api::audit_log::list_audit(s, None, 50).unwrap().entries;
        assert!(entries
            .iter()
            .any(|e| e.action == "merchant.platform_deleted"
                && e.target.as_deref() == Some(id.as_str())
                && e.detail.as_deref() == Some(account.as_str())));
    });
}

/// Issue 7's exports: the audit log for a date range (CSV/JSON, oldest first, formula-safe
/// cells) and the boarded merchants without any identifier; admins and auditors only, each
/// export audited; bad ranges and formats refused by field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_of_the_audit_log_and_of_merchants_hold_no_identifiers() {
    let w = world(Faults::default(), 0).await;
    let form = low_risk(900);
    let ein = form.business.ein.clone();
    let id = w.with(|s| approve(s, form));
    let worker = Worker::new(Arc::clone(&w.slot), quick());
    drain_all(&worker, 20).await;
    let today = time::OffsetDateTime::now_utc().date().to_string();
    w.with(|s| {
        let err = api::audit_log::export_audit(s, "2026-13-01", &today, "csv").unwrap_err();
        assert!(err.message().starts_with("from: must be a date"), "{err}");
        let err = api::audit_log::export_audit(s, &today, "2020-01-01", "csv").unwrap_err();
        assert!(err.message().starts_with("to: must not be before from"));
        let err = api::audit_log::export_audit(s, &today, &today, "xlsx").unwrap_err();
        assert!(err.message().starts_with("format:"));

        let csv = api::audit_log::export_audit(s, &today, &today, "csv").unwrap();
        let text = String::from_utf8(csv.content).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("seq,at,actor,action,target,outcome,detail,signed_by")
        );
        assert!(
            text.lines().skip(1).all(|l| !l.ends_with(',')),
            "every entry names its signer: {text}"
        );
        let seqs: Vec<i64> = lines
            .map(|l| l.split(',').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(seqs.len(), csv.rows);
        assert!(seqs.windows(2).all(|p| p[0] < p[1]), "oldest first");
        assert!(text.contains("boarding.boarded") && text.contains("review.decide"));
        let old = api::audit_log::export_audit(s, "2020-01-01", "2020-12-31", "json").unwrap();
        assert_eq!(old.rows, 0, "nothing happened in 2020");

        let merchants = api::merchants::export(s, "csv").unwrap();
        let text = String::from_utf8(merchants.content).unwrap();
        assert_eq!(merchants.rows, 1);
        assert!(text.contains(&id) && text.contains("acct_"));
        let digits: String = ein.chars().filter(char::is_ascii_digit).collect();
        assert!(!text.contains(&digits), "no EIN in the merchants export");
        let json = api::merchants::export(s, "json").unwrap();
        let parsed: serde_json::Value = serde_json::from_slice(&json.content).unwrap();
        assert_eq!(parsed[0]["status"], "active");
        // The window saves exports into the data folder, readable by this user only.
        let dir = DataDir::open(w.tmp.path()).unwrap();
        let path = api::audit_log::save_export(&dir, &json).unwrap();
        assert!(path.starts_with(w.tmp.path().join("exports")));
        assert_eq!(std::fs::read(&path).unwrap(), json.content);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        let actions: Vec<String> = api::audit_log::list_audit(s, None, 20)
            .unwrap()
            .entries
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert!(actions.iter().any(|a| a == "audit.export"));
        assert!(actions.iter().any(|a| a == "merchants.export"));
    });
    assert_eq!(api::audit_log::csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    assert_eq!(api::audit_log::csv_cell("alice"), "alice");
}

/// Issue 7's Merchants page: paged, filtered by status and review flag, searched by name
/// prefix, with the risk score; a bad status filter is a field error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_merchants_page_filters_searches_and_pages() {
    use api::merchants::MerchantQuery;
    let w = world(Faults::default(), 0).await;
    let names = ["Alder Books LLC", "Alder Coffee LLC", "Birch Tools LLC"];
    let ids: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut form = low_risk(950 + i as u64);
            form.business.legal_name = (*name).into();
            w.with(|s| approve(s, form))
        })
        .collect();
    let worker = Worker::new(Arc::clone(&w.slot), quick());
    drain_all(&worker, 20).await;
    w.with(|s| {
        api::merchants::act(
            s,
            api::merchants::ActionInput {
                id: ids[2].clone(),
                action: "suspend".into(),
                reason: "other".into(),
                note: "Owner asked for a pause".into(),
                blocklist: false,
                blocklist_basis: None,
            },
        )
        .unwrap();
        let page = |s: &mut SessionSlot, q: MerchantQuery| merchants::merchants_page(s, q).unwrap();
        let all = page(s, MerchantQuery::default());
        assert_eq!(all.total, 3);
        assert!(
            all.items.iter().all(|m| m.merchant.risk_score.is_some()),
            "scored"
        );
        let mut q = MerchantQuery::default();
        q.filter.name_prefix = Some("  alder ".into());
        let alder = page(s, q);
        let found: Vec<&str> = alder
            .items
            .iter()
            .map(|m| m.merchant.legal_name.as_str())
            .collect();
        assert_eq!(found, ["Alder Books LLC", "Alder Coffee LLC"]);
        let mut q = MerchantQuery::default();
        q.filter.status = Some(MerchantStatus::Suspended);
        assert_eq!(page(s, q).items[0].merchant.application_id, ids[2]);
        let second = page(
            s,
            MerchantQuery {
                offset: 2,
                limit: Some(2),
                ..MerchantQuery::default()
            },
        );
        assert_eq!((second.items.len(), second.total), (1, 3));
        // An unknown status is refused where the filter is read (the window's IPC, the CLI).
        let err = serde_json::from_value::<vault::boarding::MerchantFilter>(
            serde_json::json!({ "status": "asleep" }),
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown variant"), "{err}");
    });
}

/// A low-risk application whose control person is a listed SDN (born 1963).
fn listed(seed: u64) -> ApplicationForm {
    let mut form = low_risk(seed);
    let p = form.people.iter_mut().find(|p| p.is_control).unwrap();
    p.first_name = "Elvis Angus".into();
    p.last_name = "Logan Morey".into();
    p.dob = "1963-07-28".into();
    form
}

/// Issue 5's re-screening of boarded merchants: lists arrive after three merchants boarded;
/// the background re-screen finds the two whose control person is listed, flags them for
/// review, and the dashboard counts them; a false positive clears the flag, a confirmed match
/// keeps the merchant under review. All of it audited as the system, without names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_hit_on_a_boarded_merchant_flags_it_for_review_in_the_background() {
    let Some(lists) = crate::screening::sanctions("ofac-small") else {
        return;
    };
    let w = world(Faults::default(), 0).await;
    let ids = [
        w.with(|s| approve(s, listed(700))),
        w.with(|s| approve(s, listed(701))),
        w.with(|s| approve(s, low_risk(702))),
    ];
    let worker = Worker::new(Arc::clone(&w.slot), quick());
    drain_all(&worker, 20).await;

    w.with(|s| api::screening::import_lists(s, &lists).unwrap());
    let rescreener = api::screening::Rescreener::new(Arc::clone(&w.slot), 2);
    let mut batches = 0;
    while rescreener.step().unwrap() {
        batches += 1;
        assert!(rescreener.status().running);
    }
    assert_eq!(batches, 2, "three merchants in batches of two");
    let status = rescreener.status();
    assert!(!status.running && status.finished_at.is_some());
    assert_eq!((status.done, status.with_new_hits), (3, 2));
    assert!(!rescreener.step().unwrap(), "nothing left to screen");

    let review =
        |s: &mut SessionSlot, id: &str| merchants::merchant(s, id).unwrap().merchant.review_reason;
    w.with(|s| {
        assert_eq!(
            review(s, &ids[0]).map(ReviewFlag::as_str),
            Some("sanctions_hit")
        );
        assert_eq!(
            review(s, &ids[1]).map(ReviewFlag::as_str),
            Some("sanctions_hit")
        );
        assert_eq!(review(s, &ids[2]), None);
        assert_eq!(api::review::dashboard(s).unwrap().merchants_in_review, 2);
    });

    let hit_of = |s: &mut SessionSlot, id: &str| {
        let hits = api::screening::hits(s, id).unwrap();
        assert_eq!(hits.len(), 1);
        hits[0].id.clone()
    };
    w.with(|s| {
        let hit = hit_of(s, &ids[0]);
        api::screening::dispose_hit(s, &hit, "false_positive", "Different person: DOB differs")
            .unwrap();
        assert_eq!(review(s, &ids[0]), None, "a false positive clears the flag");
        let hit = hit_of(s, &ids[1]);
        api::screening::dispose_hit(s, &hit, "true_match", "Passport matches the listing").unwrap();
        assert_eq!(
            review(s, &ids[1]).map(ReviewFlag::as_str),
            Some("sanctions_match"),
            "a confirmed match stays under review"
        );
        assert_eq!(api::review::dashboard(s).unwrap().merchants_in_review, 1);

        let entries = api::audit_log::list_audit(s, None, 200).unwrap().entries;
        let by_system: Vec<String> = entries
            .iter()
            .filter(|e| e.actor == format!("{} for alice", api::screening::RESCREEN_ACTOR))
            .map(|e| e.action.clone())
            .collect();
        assert_eq!(
            by_system
                .iter()
                .filter(|a| *a == "merchant.review_flag")
                .count(),
            2
        );
        assert!(by_system.iter().any(|a| a == "screen.rescreen"));
        assert!(entries
            .iter()
            .any(|e| e.action == "merchant.review_cleared"));
        assert!(!entries.iter().any(|e| {
            let d = e.detail.clone().unwrap_or_default();
            d.contains("Elvis") || d.contains("LOGAN")
        }));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_and_sandbox_answer_matches_stripes_spec() {
    let Some(spec) = Spec::load() else { return };
    let mut forms: Vec<ApplicationForm> = demo::generate(30, 600);
    let mut sole = low_risk(601);
    sole.business.entity_type = "sole_proprietorship".into();
    sole.people.truncate(1);
    forms.push(sole);
    for (n, form) in forms.iter().enumerate() {
        let form = &Application::of(form);
        let mut all = vec![
            requests::create_account(form, "app_1").unwrap(),
            requests::mark_provided(form, "acct_1"),
        ];
        for i in 0..requests::persons_to_create(form) {
            all.push(requests::create_person(form, i, "acct_1", "app_1").unwrap());
            all.push(requests::update_person(form, i, "acct_1", "person_1", "app_1").unwrap());
        }
        all.push(requests::update_details(form, "acct_1", true).unwrap());
        all.push(requests::update_details(form, "acct_1", false).unwrap());
        all.push(requests::update_contact(form, "acct_1").unwrap());
        all.push(requests::delete_person("acct_1", "person_1"));
        all.push(requests::update_metadata(
            "acct_1",
            &[("desk_status", "suspended")],
        ));
        all.push(requests::reject_account("acct_1", "fraud"));
        all.push(requests::delete_account("acct_1"));
        for status in [
            MerchantStatus::Restricted,
            MerchantStatus::Suspended,
            MerchantStatus::Active,
        ] {
            all.push(requests::merchant_status("acct_1", status, "other"));
        }
        all.push(requests::merchant_limits("acct_1", Some(5_000_000), None));
        all.push(requests::retrieve_account("acct_1"));
        all.push(requests::ping());
        for r in all {
            let problems = spec.check_request(r.method.as_str(), &r.path, r.params.pairs());
            assert!(
                problems.is_empty(),
                "form {n}: {} {}: {problems:#?}",
                r.method.as_str(),
                r.path
            );
        }
    }
    // The sandbox's answers, including errors, have Stripe's shapes.
    let w = world(Faults::default(), 0).await;
    let mut bad = low_risk(602);
    bad.business.email = "x@y.invalid".into();
    let ids = [
        w.with(|s| approve(s, low_risk(603))),
        w.with(|s| approve(s, bad)),
    ];
    let worker = Worker::new(Arc::clone(&w.slot), quick());
    worker.drain(Duration::from_secs(20)).await.unwrap();
    let client = w.client();
    let account = w
        .with(|s| merchants::merchant(s, &ids[0]).unwrap())
        .merchant
        .account_id;
    let got = client
        .send(&requests::retrieve_account(&account), None)
        .await
        .unwrap();
    let problems = spec.check_response("account", &got);
    assert!(problems.is_empty(), "{problems:#?}\n{got:#}");
    let form = low_risk(604);
    let person = client
        .send(
            &requests::create_person(&Application::of(&form), 0, &account, "app_x").unwrap(),
            Some("k-person"),
        )
        .await
        .unwrap();
    let problems = spec.check_response("person", &person);
    assert!(problems.is_empty(), "{problems:#?}\n{person:#}");
    let rejected = client
        .send(
            &requests::reject_account(&account, "fraud"),
            Some("k-reject"),
        )
        .await
        .unwrap();
    assert!(spec.check_response("account", &rejected).is_empty());
    assert_eq!(
        rejected["requirements"]["disabled_reason"],
        "rejected.fraud"
    );
    // The deletion an erasure queues answers a `deleted_account`; a second one, an error.
    let deleted = client
        .send(&requests::delete_account(&account), Some("k-delete"))
        .await
        .unwrap();
    let problems = spec.check_response("deleted_account", &deleted);
    assert!(problems.is_empty(), "{problems:#?}\n{deleted:#}");
    assert!(matches!(
        client
            .send(&requests::delete_account(&account), Some("k-delete-2"))
            .await,
        Err(api::platform::client::CallError::Rejected { status: 404, .. })
    ));
    // An error body (wrong key), fetched raw.
    let raw = {
        use std::io::{Read, Write};
        let mut tcp = std::net::TcpStream::connect(w.addr).unwrap();
        write!(
            tcp,
            "GET /v1/accounts/{account} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk_wrong\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        tcp.read_to_string(&mut text).unwrap();
        assert!(text.starts_with("HTTP/1.1 401"), "{text}");
        let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
        serde_json::from_str::<serde_json::Value>(body).unwrap()
    };
    assert!(spec.check_response("error", &raw).is_empty(), "{raw}");
}

/// A generated low-risk company (the platform gets persons) with one owner, who holds 75% so a
/// 25% owner can join.
fn company_with_room(from: u64) -> ApplicationForm {
    let mut f = (from..from + 200)
        .map(low_risk)
        .find(|f| requests::persons_to_create(&Application::of(f)) > 0 && f.people.len() == 1)
        .expect("a one-owner company among 200 generated");
    f.people[0].ownership_percent = "75".into();
    f
}

/// Issue 7: an admin edits a boarded merchant. A new website goes to the platform at once; a
/// new bank account and a new owner wait for review (the merchant flagged, nothing sent, the
/// author cannot accept, a second edit waits) until an underwriter accepts — then the platform
/// gets the bank account and the person; a changed EIN that the underwriter rejects is put
/// back and never sent. Audit entries name fields, never values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_of_a_boarded_merchant_go_to_the_platform_or_back_through_review() {
    use api::merchant_changes::{self, DecideInput, EditInput};
    let w = world(Faults::default(), 0).await;
    let id = w.with(|s| approve(s, company_with_room(830)));
    let worker = Worker::new(Arc::clone(&w.slot), quick());
    drain_all(&worker, 20).await;
    let client = w.client();
    let account = w
        .with(|s| merchants::merchant(s, &id).unwrap())
        .merchant
        .account_id;
    let on_platform = || async {
        let a = client
            .send(&requests::retrieve_account(&account), None)
            .await
            .unwrap();
        let persons = client
            .send(
                &requests::Request {
                    method: requests::Method::Get,
                    path: format!("/v1/accounts/{account}/persons"),
                    params: requests::Params::new(),
                },
                None,
            )
            .await
            .unwrap();
        (a, persons["data"].as_array().unwrap().len())
    };
    let (_, persons_before) = on_platform().await;
    let masked = |s: &mut SessionSlot| intake::get_application(s, &id).unwrap();
    let edit = |s: &mut SessionSlot, change: &dyn Fn(&mut ApplicationForm)| {
        let view = masked(s);
        let mut form = view.form;
        change(&mut form);
        merchant_changes::edit(
            s,
            EditInput {
                id: id.clone(),
                version: view.summary.version,
                form,
                note: "Merchant wrote in with new details".into(),
            },
        )
    };

    // Bad input: a field error, terms, nothing changed — each refused, nothing written.
    w.with(|s| {
        let err = edit(s, &|f| f.business.ein = "12-34".into()).unwrap_err();
        assert_eq!(err.field_issues()[0].field, "business.ein", "{err}");
        let err = edit(s, &|f| f.terms.ip = "10.0.0.9".into()).unwrap_err();
        assert!(err.message().starts_with("terms:"), "{err}");
        let err = edit(s, &|_| {}).unwrap_err();
        assert_eq!(err.message(), "form: nothing changed");
        assert!(merchant_changes::changes(s, &id)
            .unwrap()
            .history
            .is_empty());
    });

    // Minor: applied and sent at once.
    let out = w.with(|s| {
        edit(s, &|f| {
            f.business.website = "https://new-shop.example.com".into()
        })
        .unwrap()
    });
    assert_eq!(
        (out.change.state.as_str(), out.platform_updates),
        ("applied", 1)
    );
    assert_eq!(out.change.fields, ["business.website"]);
    drain_all(&worker, 20).await;
    let (a, _) = on_platform().await;
    assert_eq!(a["business_profile"]["url"], "https://new-shop.example.com");

    // Material: a new bank account and a new 25% owner — ours at once, held for review.
    let newcomer = {
        let mut p = low_risk(9_001).people.remove(0);
        p.id = String::new();
        p.ownership_percent = "25".into();
        p.is_control = false;
        p
    };
    let out = w.with(|s| {
        edit(s, &|f| {
            f.bank.account_number = "000987654321".into();
            f.people.push(newcomer.clone());
        })
        .unwrap()
    });
    assert_eq!(
        (out.change.state.as_str(), out.platform_updates),
        ("pending", 0)
    );
    assert!(out.change.material);
    let n = out.change.fields.len();
    assert_eq!(out.change.fields[n - 1], "bank");
    w.with(|s| {
        let m = merchants::merchant(s, &id).unwrap().merchant;
        assert_eq!(
            m.review_reason.map(ReviewFlag::as_str),
            Some("details_changed")
        );
        let view = intake::get_application(s, &id).unwrap();
        assert_eq!(view.form.people.len(), 2, "our record holds the change");
        assert!(view.form.bank.account_number.ends_with("4321"));
        let err = edit(s, &|f| f.business.phone = "+14155550199".into()).unwrap_err();
        assert_eq!(err.code(), api::Code::Conflict, "one change at a time");
        let err = merchant_changes::accept(
            s,
            DecideInput {
                id: id.clone(),
                note: "Looks fine to me".into(),
            },
        )
        .unwrap_err();
        assert_eq!(err.code(), api::Code::Forbidden, "not by its author");
        assert!(!merchant_changes::changes(s, &id).unwrap().can_decide);
    });
    drain_all(&worker, 20).await;
    let (a, persons) = on_platform().await;
    assert_eq!(persons, persons_before, "nothing sent before review");
    assert_ne!(a["external_accounts"]["data"][0]["last4"], "4321");

    // An underwriter accepts: the platform gets the bank account and the person.
    let dir = DataDir::open(w.tmp.path()).unwrap();
    let mut uma = w.with(|admin| crate::auth::signed_in_user(&dir, admin, "uma", "underwriter"));
    let view = merchant_changes::changes(&mut uma, &id).unwrap();
    assert!(view.can_decide && view.blockers.is_empty(), "{view:?}");
    let err = merchant_changes::accept(
        &mut uma,
        DecideInput {
            id: id.clone(),
            note: "ok".into(),
        },
    )
    .unwrap_err();
    assert!(err.message().starts_with("note:"), "a note says why");
    let view = merchant_changes::accept(
        &mut uma,
        DecideInput {
            id: id.clone(),
            note: "Bank letter and owner ID checked".into(),
        },
    )
    .unwrap();
    assert!(view.pending.is_none());
    assert_eq!(view.history[0].state, "accepted");
    assert_eq!(view.history[0].decided_by.as_deref(), Some("uma"));
    drain_all(&worker, 20).await;
    let (a, persons) = on_platform().await;
    assert_eq!(a["external_accounts"]["data"][0]["last4"], "4321");
    assert_eq!(persons, persons_before + 1, "the new owner was created");
    w.with(|s| {
        let m = merchants::merchant(s, &id).unwrap().merchant;
        assert_eq!(m.review_reason, None, "the flag cleared");
        assert_eq!(
            m.persons.len(),
            persons_before + 1,
            "the new person is mapped"
        );
    });

    // A changed EIN, rejected: put back, never sent.
    let ein_before = w.with(|s| intake::reveal(s, &id, "business.ein").unwrap());
    let writes_before = w.sandbox.stats().writes;
    w.with(|s| edit(s, &|f| f.business.ein = "46-1234567".into()).unwrap());
    // A subject access export shows the waiting change and the details before it.
    let export = w.with(|s| api::gdpr::subject_export(s, "application", &id).unwrap());
    let json: serde_json::Value = serde_json::from_slice(&export.json.content).unwrap();
    let record = &json["records"][0];
    assert_eq!(record["merchant_changes"][0]["state"], "pending");
    assert_eq!(
        record["details_before_pending_change"]["business"]["ein"],
        ein_before.as_str()
    );
    let view = merchant_changes::reject(
        &mut uma,
        DecideInput {
            id: id.clone(),
            note: "The IRS letter does not match".into(),
        },
    )
    .unwrap();
    assert_eq!(view.history[0].state, "rejected");
    w.with(|s| {
        assert_eq!(intake::reveal(s, &id, "business.ein").unwrap(), ein_before);
        let m = merchants::merchant(s, &id).unwrap().merchant;
        assert_eq!(m.review_reason, None);
    });
    drain_all(&worker, 20).await;
    assert_eq!(w.sandbox.stats().writes, writes_before, "nothing was sent");
    assert_eq!(w.sandbox.stats().duplicates().len(), 0);

    // The audit names fields and decisions, never the values.
    let log =
        w.with(|s| api::audit_log::export_audit(s, "2000-01-01", "2999-12-31", "json").unwrap());
    let text = String::from_utf8_lossy(&log.content).to_string();
    for action in [
        "merchant.edit",
        "merchant.change_accept",
        "merchant.change_reject",
    ] {
        assert!(text.contains(action), "{action} audited");
    }
    for secret in [
        "000987654321",
        "461234567",
        "46-1234567",
        &newcomer.last_name,
    ] {
        assert!(!text.contains(secret), "the audit export leaks a value");
    }
}

/// Issue 7: a material change is screened. A listed person joining a boarded merchant raises a
/// hit; the change cannot be accepted while it is open; rejected, the partner and the hit go and
/// the flag clears; proposed again, the hit comes back, and once it is dispositioned as a false
/// positive the merchant waits as "details changed" until the change is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_merchant_is_screened_and_its_hits_come_before_acceptance() {
    use api::merchant_changes::{self, DecideInput, EditInput};
    let Some(lists) = crate::screening::sanctions("ofac-small") else {
        return;
    };
    let w = world(Faults::default(), 0).await;
    let id = w.with(|s| approve(s, company_with_room(860)));
    let worker = Worker::new(Arc::clone(&w.slot), quick());
    drain_all(&worker, 20).await;
    w.with(|s| api::screening::import_lists(s, &lists).unwrap());

    let listed_person = {
        let mut p = listed(861)
            .people
            .into_iter()
            .find(|p| p.is_control)
            .unwrap();
        p.id = String::new();
        p.ownership_percent = "25".into();
        p.is_control = false;
        p.title = "Partner".into();
        p
    };
    let add_partner = |s: &mut SessionSlot| {
        let view = intake::get_application(s, &id).unwrap();
        let mut form = view.form;
        form.people.push(listed_person.clone());
        merchant_changes::edit(
            s,
            EditInput {
                id: id.clone(),
                version: view.summary.version,
                form,
                note: "A new partner bought in".into(),
            },
        )
        .unwrap();
    };
    w.with(add_partner);
    let review = |s: &mut SessionSlot| merchants::merchant(s, &id).unwrap().merchant.review_reason;
    assert_eq!(
        w.with(review).map(ReviewFlag::as_str),
        Some("sanctions_hit")
    );

    let dir = DataDir::open(w.tmp.path()).unwrap();
    let mut uma = w.with(|admin| crate::auth::signed_in_user(&dir, admin, "uma", "underwriter"));
    let decide = |note: &str| DecideInput {
        id: id.clone(),
        note: note.into(),
    };
    let view = merchant_changes::changes(&mut uma, &id).unwrap();
    assert_eq!(view.blockers, ["1 sanctions hit(s) to disposition first"]);
    let err = merchant_changes::accept(&mut uma, decide("Partner checked")).unwrap_err();
    assert_eq!(err.code(), api::Code::Conflict);
    assert!(err.message().contains("sanctions hit"), "{err}");

    // Rejected: the partner is gone from our record, the re-screen drops the open hit that
    // named them, and the flag clears.
    merchant_changes::reject(&mut uma, decide("Partner's ID did not check out")).unwrap();
    w.with(|s| {
        let view = intake::get_application(s, &id).unwrap();
        assert_eq!(view.form.people.len(), 1, "the previous details are back");
    });
    assert!(api::screening::hits(&mut uma, &id).unwrap().is_empty());
    assert_eq!(w.with(review), None, "no hit open, no change waiting");

    // Proposed again: a hit again; once dispositioned as a false positive, the merchant is back
    // to "details changed" (the change still waits) until someone accepts it.
    w.with(add_partner);
    assert_eq!(
        w.with(review).map(ReviewFlag::as_str),
        Some("sanctions_hit")
    );
    let hit = api::screening::hits(&mut uma, &id).unwrap()[0].id.clone();
    api::screening::dispose_hit(
        &mut uma,
        &hit,
        "false_positive",
        "Different person: DOB differs",
    )
    .unwrap();
    assert_eq!(
        w.with(review).map(ReviewFlag::as_str),
        Some("details_changed"),
        "the hit is cleared; the change still waits"
    );
    merchant_changes::accept(&mut uma, decide("Partner checked against passport")).unwrap();
    assert_eq!(w.with(review), None);
    drain_all(&worker, 20).await;
    let m = w.with(|s| merchants::merchant(s, &id).unwrap().merchant);
    assert_eq!(m.persons.len(), 2, "the partner reached the platform");
}

/// Issue 14: a boarded merchant whose hit is confirmed as a true match is suspended at once
/// (card payments off, payouts held), flagged, and the suspension reaches the platform exactly
/// once even though the platform is down when the match is confirmed. No role reinstates it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_match_on_a_boarded_merchant_suspends_it_once_through_an_outage() {
    let Some(lists) = crate::screening::sanctions("ofac-small") else {
        return;
    };
    let w = world(Faults::default(), 0).await;
    let id = w.with(|s| approve(s, listed(720)));
    let worker = Worker::new(Arc::clone(&w.slot), quick());
    drain_all(&worker, 20).await;
    w.with(|s| {
        api::screening::import_lists(s, &lists).unwrap();
        api::screening::rescreen(s, &mut |_| {}).unwrap();
    });
    let writes_before = w.sandbox.stats().writes;

    w.down().await;
    w.with(|s| {
        let hit = api::screening::hits(s, &id).unwrap()[0].id.clone();
        api::screening::dispose_hit(s, &hit, "true_match", "Passport matches the listing").unwrap();
        let m = merchants::merchant(s, &id).unwrap().merchant;
        assert_eq!(m.status, MerchantStatus::Suspended, "ours at once");
        assert_eq!(m.status_reason.as_deref(), Some("sanctions_match"));
        assert_eq!(
            m.review_reason.map(ReviewFlag::as_str),
            Some("sanctions_match")
        );
        assert_eq!(api::review::dashboard(s).unwrap().merchants_in_review, 1);
        let err = api::merchants::act(
            s,
            api::merchants::ActionInput {
                id: id.clone(),
                action: "reinstate".into(),
                reason: "review_cleared".into(),
                note: "Looks fine to me now".into(),
                blocklist: false,
                blocklist_basis: None,
            },
        )
        .unwrap_err();
        assert_eq!(err.code(), api::Code::SanctionsMatch, "no reinstatement");
    });
    let report = worker.drain(Duration::from_millis(800)).await.unwrap();
    assert!(!report.finished, "nothing reaches a platform that is down");
    w.up().await;
    drain_all(&worker, 30).await;
    let stats = w.sandbox.stats();
    assert_eq!(
        stats.writes - writes_before,
        1,
        "the suspension reached the platform exactly once"
    );
    let m = boarding::sync_merchant(&w.slot, &id).await.unwrap();
    assert!(
        !m.merchant.charges_enabled && !m.merchant.payouts_enabled,
        "card payments off and payouts held on the platform: {:?}",
        m.merchant
    );
}

/// Issue 14's side doors around the outbox: a refused material field is not "fixed" by one
/// underwriter; an admin's termination is not cancelled by an underwriter; an auditor does not
/// send; a platform address with userinfo is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_has_no_side_doors() {
    let w = world(Faults::default(), 0).await;
    let dir = DataDir::open(w.tmp.path()).unwrap();
    let mut uma = w.with(|admin| crate::auth::signed_in_user(&dir, admin, "uma", "underwriter"));
    let mut audrey = w.with(|admin| crate::auth::signed_in_user(&dir, admin, "audrey", "auditor"));

    // The platform refused the bank account (recorded as the worker records it): replacing it
    // here would redirect payouts with no second reviewer.
    let id = w.with(|s| approve(s, low_risk(730)));
    let job = w.with(|s| boarding::job(s, &id).unwrap()).job;
    w.with(|s| {
        let session = s.require(api::Access::Admin, "test.refuse").unwrap();
        session
            .vault()
            .write(|tx| {
                let sealed = tx
                    .record_key(&id)?
                    .seal("boarding_error", b"routing number refused")?;
                tx.job_needs_fix(
                    &job.id,
                    None,
                    &vault::boarding::JobError {
                        kind: "rejected",
                        message: Some(&sealed),
                        field: Some("bank.account_number"),
                        param: Some("external_account"),
                    },
                    0,
                )
            })
            .unwrap();
    });
    let err = boarding::fix_and_resend(&mut uma, &job.id, "bank.account_number", "000123456789")
        .unwrap_err();
    assert_eq!(err.code(), api::Code::Conflict);
    assert!(err.message().contains("material"), "{err}");
    let err =
        boarding::fix_and_resend(&mut uma, &job.id, "people[0].ssn", "536221234").unwrap_err();
    assert_eq!(err.code(), api::Code::InvalidInput, "not the refused field");

    // An auditor reads the outbox but does not send it.
    let shared = Arc::new(Mutex::new(std::mem::take(&mut audrey)));
    let err = Worker::new(Arc::clone(&shared), quick())
        .drain(Duration::from_secs(1))
        .await
        .unwrap_err();
    assert_eq!(err.code(), api::Code::Forbidden, "an auditor may not drain");

    // The admin terminates a boarded merchant while the platform is down; an underwriter
    // cannot cancel the queued termination.
    w.with(|s| boarding::retry(s, &job.id).unwrap());
    let worker = Worker::new(Arc::clone(&w.slot), quick());
    w.with(|s| boarding::cancel(s, &job.id).unwrap());
    let id = w.with(|s| approve(s, low_risk(731)));
    drain_all(&worker, 20).await;
    w.down().await;
    let out = w.with(|s| {
        api::merchants::act(
            s,
            api::merchants::ActionInput {
                id: id.clone(),
                action: "terminate".into(),
                reason: "fraud".into(),
                note: "Card testing pattern confirmed".into(),
                blocklist: false,
                blocklist_basis: None,
            },
        )
        .unwrap()
    });
    let err = boarding::cancel(&mut uma, &out.job_id).unwrap_err();
    assert_eq!(err.code(), api::Code::Forbidden, "{err}");
    assert_eq!(
        w.with(|s| boarding::job(s, &out.job_id).unwrap()).job.state,
        vault::boarding::JobState::Queued,
        "the termination still goes"
    );
    w.up().await;
    drain_all(&worker, 20).await;
    let account = w
        .with(|s| merchants::merchant(s, &id).unwrap())
        .merchant
        .account_id;
    let got = w
        .client()
        .send(&requests::retrieve_account(&account), None)
        .await
        .unwrap();
    assert_eq!(
        got["requirements"]["disabled_reason"], "rejected.fraud",
        "the termination reached the platform: {got:#}"
    );

    // A platform address that names a remote host behind userinfo: refused, the key stays.
    let err = w.with(|s| {
        boarding::set_platform(
            s,
            SetPlatformInput {
                url: "http://localhost:1@192.0.2.2:8099".into(),
                secret_key: None,
                rate_per_second: 25.0,
            },
        )
        .unwrap_err()
    });
    assert_eq!(err.code(), api::Code::InvalidInput);
    assert!(err.message().starts_with("url:"), "{err}");
}

/// Issue 14: background work runs only under a role that may cause it. With an auditor signed
/// in, the worker sends nothing and the re-screen screens nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditors_session_sends_nothing_and_screens_nothing() {
    let w = world(Faults::default(), 0).await;
    let id = w.with(|s| approve(s, low_risk(740)));
    let dir = DataDir::open(w.tmp.path()).unwrap();
    let audrey = w.with(|admin| crate::auth::signed_in_user(&dir, admin, "audrey", "auditor"));
    let shared = Arc::new(Mutex::new(audrey));
    let worker = Worker::new(Arc::clone(&shared), quick());
    let running = tokio::spawn(Arc::clone(&worker).run());
    tokio::time::sleep(Duration::from_millis(600)).await;
    running.abort();
    assert_eq!(
        w.sandbox.stats().requests,
        0,
        "nothing reached the platform"
    );
    let job = w.with(|s| boarding::job(s, &id).unwrap()).job;
    assert_eq!(
        job.state,
        vault::boarding::JobState::Queued,
        "still waiting"
    );

    if let Some(lists) = crate::screening::sanctions("ofac-small") {
        w.with(|s| api::screening::import_lists(s, &lists).unwrap());
        let rescreener = api::screening::Rescreener::new(Arc::clone(&shared), 10);
        assert!(!rescreener.step().unwrap(), "no re-screen under an auditor");
    }
}
