//! `cargo bench -p desk-api --bench deciding`: issue 17's "8 desks deciding: decisions/s and
//! p95 latency", with the queue page read meanwhile. `DECIDING_BENCH_QUEUE` (default 20,000)
//! applications are imported (submitted, in the queue); `DECIDING_BENCH_DESKS` (default 8)
//! underwriters' sessions each work the queue (next in queue, then decline) until
//! `DECIDING_BENCH_DECISIONS` (default 2,000) are made; one more session (a lead) reads the
//! queue's first page of 50 the whole time. On each backend of `DECIDING_BENCH_BACKENDS`
//! (default `local,team`; the team store is a throwaway PostgreSQL cluster). Reports
//! decisions/s, the p50/p95 of a take and of a decision, the queue page's p95 under that load,
//! conflicts, and checks that none was decided twice and the chain is intact.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use desk_api::intake::demo;
use desk_api::review::{self, DecideInput, QueueQuery};
use desk_api::{Code, DataDir, SessionSlot};

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i].as_secs_f64() * 1000.0
}

fn main() {
    let var = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let queue = var("DECIDING_BENCH_QUEUE", 20_000) as usize;
    let desks = var("DECIDING_BENCH_DESKS", 8).max(1) as usize;
    let decisions = var("DECIDING_BENCH_DECISIONS", 2_000).min(queue as u64);
    let backends =
        std::env::var("DECIDING_BENCH_BACKENDS").unwrap_or_else(|_| "local,team".to_string());
    for backend in backends.split(',').map(str::trim) {
        run(backend, queue, desks, decisions);
    }
}

fn run(backend: &str, queue: usize, desks: usize, decisions: u64) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = DataDir::open(tmp.path()).expect("data folder");
    let mut admin = SessionSlot::new();
    match backend {
        "team" => {
            let db = testkit::postgres::Cluster::shared().fresh_team_database();
            testkit::desk::setup_on_store(
                &dir,
                &mut admin,
                common::USER,
                common::PASSWORD,
                &db.app,
            );
        }
        _ => {
            testkit::desk::setup_as(&dir, &mut admin, common::USER);
        }
    }
    let started = Instant::now();
    let report = demo::seed(&mut admin, queue, 7, &mut |_| {}).expect("seed");
    eprintln!(
        "{backend}: imported {} in {:.1} s",
        report.imported,
        started.elapsed().as_secs_f64()
    );
    let slots: Vec<SessionSlot> = (0..desks)
        .map(|i| {
            testkit::desk::signed_in_new_user(&dir, &mut admin, &format!("desk{i}"), "underwriter")
        })
        .collect();
    let mut reader = testkit::desk::signed_in_new_user(&dir, &mut admin, "lead", "lead");

    let made = Arc::new(AtomicU64::new(0));
    let conflicts = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let (work, pages) = std::thread::scope(|scope| {
        let workers: Vec<_> = slots
            .into_iter()
            .map(|mut slot| {
                let made = Arc::clone(&made);
                let conflicts = Arc::clone(&conflicts);
                scope.spawn(move || {
                    let mut takes = Vec::new();
                    let mut decides = Vec::new();
                    let mut mine = Vec::new();
                    while made.load(Ordering::SeqCst) < decisions {
                        let t = Instant::now();
                        let row = match review::next_in_queue(&mut slot) {
                            Ok(Some(row)) => row,
                            Ok(None) => break,
                            Err(e) if e.code() == Code::Conflict => {
                                conflicts.fetch_add(1, Ordering::Relaxed);
                                continue;
                            }
                            Err(e) => panic!("take: {e}"),
                        };
                        takes.push(t.elapsed());
                        let t = Instant::now();
                        let outcome = review::decide(
                            &mut slot,
                            DecideInput {
                                id: row.id.clone(),
                                version: row.version,
                                decision: "decline".into(),
                                reasons: vec!["policy_other".into()],
                                note: "Outside the programme's appetite".into(),
                                fields: Vec::new(),
                                blocklist: false,
                                blocklist_basis: None,
                                confirmed_hits: Vec::new(),
                            },
                        );
                        match outcome {
                            Ok(_) => {
                                decides.push(t.elapsed());
                                made.fetch_add(1, Ordering::SeqCst);
                                mine.push(row.id);
                            }
                            Err(e) if e.code() == Code::Conflict => {
                                conflicts.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => panic!("decide: {e}"),
                        }
                    }
                    (takes, decides, mine)
                })
            })
            .collect();
        let done_reading = Arc::clone(&done);
        let pages = scope.spawn(move || {
            let mut pages = Vec::new();
            while !done_reading.load(Ordering::SeqCst) {
                let t = Instant::now();
                let page = review::queue(&mut reader, QueueQuery::default()).expect("queue");
                pages.push(t.elapsed());
                assert!(page.items.len() <= 50);
                std::thread::sleep(Duration::from_millis(20));
            }
            pages
        });
        let work: Vec<_> = workers
            .into_iter()
            .map(|w| w.join().expect("desk"))
            .collect();
        done.store(true, Ordering::SeqCst);
        (work, pages.join().expect("reader"))
    });
    let secs = started.elapsed().as_secs_f64();
    let mut takes: Vec<Duration> = work.iter().flat_map(|w| w.0.clone()).collect();
    let mut decides: Vec<Duration> = work.iter().flat_map(|w| w.1.clone()).collect();
    let mut ids: Vec<&String> = work.iter().flat_map(|w| &w.2).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    let twice = n - ids.len();
    let mut pages = pages;
    let verify = desk_api::audit_log::verify_audit(&mut admin, None).expect("verify");
    println!(
        "{backend}: {desks} desks deciding {n} of a queue of {queue} (decline), the queue page read meanwhile"
    );
    println!(
        "  decisions/s          {:.1} ({n} in {secs:.1} s; {} conflicts retried)",
        n as f64 / secs,
        conflicts.load(Ordering::Relaxed)
    );
    println!(
        "  take (next in queue) p50 {:.1} ms · p95 {:.1} ms",
        percentile(&mut takes, 0.5),
        percentile(&mut takes, 0.95)
    );
    println!(
        "  decision             p50 {:.1} ms · p95 {:.1} ms",
        percentile(&mut decides, 0.5),
        percentile(&mut decides, 0.95)
    );
    println!(
        "  queue page of 50     p50 {:.2} ms · p95 {:.2} ms ({} reads while the desks worked)",
        percentile(&mut pages, 0.5),
        percentile(&mut pages, 0.95),
        pages.len()
    );
    println!(
        "  decided twice {twice} · audit chain intact {} ({} entries)",
        verify.intact, verify.entries
    );
}
