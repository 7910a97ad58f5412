//! `cargo bench -p desk-api --bench boarding`: board `BOARDING_BENCH_TOTAL` (default 1000)
//! approved merchants into the sandbox with 10% 500s and 5% 429s injected and a limit of 25
//! writes/s on both sides, with `BOARDING_BENCH_DESKS` (default 4) workers draining at once, on
//! each backend of `BOARDING_BENCH_BACKENDS` (default `local,team`; the team store is a
//! throwaway PostgreSQL cluster). One worker sends for the vault (issue 17); a third of the way
//! through, that sender is stopped and another takes over. Reports the time, the requests per
//! merchant, the write rate achieved against the allowed one, the takeover's gap, and
//! duplicates/lost (both must be 0). Recorded in docs/BENCHMARKS.md.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use desk_api::boarding::{self, SetPlatformInput, Worker, WorkerConfig};
use desk_api::intake::demo;
use desk_api::{DataDir, SessionSlot};

fn main() {
    let var = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    if std::env::var(desk_api::logging::LOG_ENV).is_ok() {
        desk_api::logging::init(None, "bench", true);
    }
    let total = var("BOARDING_BENCH_TOTAL", 1000);
    let desks = var("BOARDING_BENCH_DESKS", 4).max(1) as usize;
    let backends =
        std::env::var("BOARDING_BENCH_BACKENDS").unwrap_or_else(|_| "local,team".to_string());
    for backend in backends.split(',').map(str::trim) {
        run(backend, total, desks);
    }
}

fn run(backend: &str, total: u64, desks: usize) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = DataDir::open(tmp.path()).expect("data folder");
    let mut slot = SessionSlot::new();
    match backend {
        "team" => {
            let db = testkit::postgres::Cluster::shared().fresh_team_database();
            testkit::desk::setup_on_store(&dir, &mut slot, common::USER, common::PASSWORD, &db.app);
        }
        _ => {
            testkit::desk::setup_as(&dir, &mut slot, common::USER);
        }
    }

    let sandbox = sandbox::Sandbox::new(
        sandbox::Options {
            rate_limit: 25,
            ..sandbox::Options::default()
        },
        sandbox::Faults {
            error_rate: 0.10,
            rate_429: 0.05,
            retry_after_secs: 1.0,
            ..sandbox::Faults::default()
        },
    );
    let addr = rt
        .block_on(sandbox.start_api("127.0.0.1:0".parse().expect("addr")))
        .expect("sandbox");
    boarding::set_platform(
        &mut slot,
        SetPlatformInput {
            url: format!("http://{addr}"),
            secret_key: None,
            rate_per_second: 25.0,
        },
    )
    .expect("platform");

    let started = Instant::now();
    let ids: Vec<String> = (0..total)
        .map(|i| demo::approve(&mut slot, demo::low_risk(10_000 + i)).expect("approve"))
        .collect();
    eprintln!(
        "{backend}: approved {total} in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let config = || WorkerConfig {
        backoff_base: Duration::from_millis(500),
        backoff_max: Duration::from_secs(10),
        ..WorkerConfig::default()
    };
    let mut slots = vec![Arc::new(Mutex::new(slot))];
    for i in 1..desks {
        let mut admin = slots[0].lock().expect("admin");
        let other =
            testkit::desk::signed_in_new_user(&dir, &mut admin, &format!("desk{i}"), "underwriter");
        drop(admin);
        slots.push(Arc::new(Mutex::new(other)));
    }
    let workers: Vec<Arc<Worker>> = slots
        .iter()
        .map(|s| Worker::new(Arc::clone(s), config()))
        .collect();

    let started = Instant::now();
    let report = rt.block_on(async {
        let mut drains: Vec<_> = workers
            .iter()
            .map(|w| {
                let w = Arc::clone(w);
                tokio::spawn(async move { w.drain(Duration::from_secs(3600)).await })
            })
            .collect();
        // A third of the way, the sender stops (its drain cancelled, in-flight requests
        // abandoned): the gap is from its last request to the next sender's first.
        let third = total / 3;
        let sender = loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if sandbox.stats().accounts >= third {
                if let Some(i) = workers.iter().position(|w| w.requests_sent() > 0) {
                    break i;
                }
            }
        };
        let stopped = Instant::now();
        drains[sender].abort();
        let _ = (&mut drains[sender]).await;
        let others_before: u64 = workers.iter().map(|w| w.requests_sent()).sum::<u64>()
            - workers[sender].requests_sent();
        let watching = Arc::new(AtomicBool::new(true));
        let gap = {
            let workers = workers.clone();
            let watching = Arc::clone(&watching);
            tokio::spawn(async move {
                while watching.load(Ordering::Relaxed) {
                    let others: u64 = workers
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i != sender)
                        .map(|(_, w)| w.requests_sent())
                        .sum();
                    if others > others_before {
                        return Some(stopped.elapsed());
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                None
            })
        };
        let mut last = None;
        for (i, d) in drains.into_iter().enumerate() {
            if i != sender {
                last = Some(d.await.expect("join").expect("drain"));
            }
        }
        watching.store(false, Ordering::Relaxed);
        (
            last.expect("a second worker"),
            gap.await.expect("gap"),
            sender,
        )
    });
    let (report, gap, stopped) = report;
    let secs = started.elapsed().as_secs_f64();
    let stats = sandbox.stats();
    let lost = ids
        .iter()
        .filter(|id| stats.accounts_per_application.get(*id) != Some(&1))
        .count();
    let sent: u64 = workers.iter().map(|w| w.requests_sent()).sum();
    let senders = workers.iter().filter(|w| w.requests_sent() > 0).count();
    println!(
        "{backend}: boarding {total} merchants with {desks} workers, 10% 500s + 5% 429s injected, limit 25 writes/s"
    );
    println!("  time                 {secs:.1} s");
    println!(
        "  boarded              {} (needs fix {}, still waiting {})",
        report.counts.done,
        report.counts.needs_fix,
        report.counts.queued + report.counts.retrying
    );
    let sent_rate = sent as f64 / secs;
    println!(
        "  requests sent        {sent} ({:.2} per merchant) → {sent_rate:.1}/s = {:.1}% of the allowed 25/s for the team (target >= 90%)",
        sent as f64 / total as f64,
        sent_rate / 25.0 * 100.0
    );
    println!(
        "  workers that sent    {senders} of {desks} (worker {stopped} stopped a third of the way; the next sent {} after)",
        gap.map(|g| format!("{:.2} s", g.as_secs_f64()))
            .unwrap_or_else(|| "never".into())
    );
    println!(
        "  writes the platform executed {} → {:.1}/s (the other slots went to injected faults)",
        stats.writes,
        stats.writes as f64 / secs
    );
    println!(
        "  injected 500s {} · injected 429s {} · limit 429s {} · max writes in 1 s {} · replays {}",
        stats.injected_500,
        stats.injected_429,
        stats.rate_limited,
        stats.max_writes_per_second,
        stats.idempotent_replays
    );
    println!("  duplicates {} · lost {lost}", stats.duplicates().len());
}
