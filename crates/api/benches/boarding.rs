//! `cargo bench -p desk-api --bench boarding`: board `BOARDING_BENCH_TOTAL` (default 1000)
//! approved merchants into the sandbox with 10% 500s and 5% 429s injected and a limit of 25
//! writes/s on both sides. Reports the time, the requests per merchant, the write rate achieved
//! against the allowed one, and duplicates/lost (both must be 0). Recorded in docs/BENCHMARKS.md.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use desk_api::boarding::{self, SetPlatformInput, Worker, WorkerConfig};
use desk_api::intake::demo;

fn main() {
    let total: u64 = std::env::var("BOARDING_BENCH_TOTAL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (_tmp, _dir, mut slot) = common::signed_in_vault();

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
        "approved {total} in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let slot = Arc::new(Mutex::new(slot));
    let worker = Worker::new(
        Arc::clone(&slot),
        WorkerConfig {
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(10),
            ..WorkerConfig::default()
        },
    );
    let started = Instant::now();
    let report = rt
        .block_on(worker.drain(Duration::from_secs(3600)))
        .expect("drain");
    let secs = started.elapsed().as_secs_f64();
    let stats = sandbox.stats();
    let lost = ids
        .iter()
        .filter(|id| stats.accounts_per_application.get(*id) != Some(&1))
        .count();
    let rate = stats.writes as f64 / secs;
    println!("boarding {total} merchants, 10% 500s + 5% 429s injected, limit 25 writes/s");
    println!("  time                 {secs:.1} s");
    println!(
        "  boarded              {} (needs fix {}, still waiting {})",
        report.counts.done,
        report.counts.needs_fix,
        report.counts.queued + report.counts.retrying
    );
    let sent_rate = report.requests as f64 / secs;
    println!(
        "  requests sent        {} ({:.2} per merchant) → {sent_rate:.1}/s = {:.1}% of the allowed 25/s (target >= 90%)",
        report.requests,
        report.requests as f64 / total as f64,
        sent_rate / 25.0 * 100.0
    );
    println!(
        "  writes the platform executed {} → {rate:.1}/s (the other slots went to injected faults)",
        stats.writes
    );
    println!(
        "  injected 500s {} · injected 429s {} · limit 429s {} · max writes in 1 s {}",
        stats.injected_500, stats.injected_429, stats.rate_limited, stats.max_writes_per_second
    );
    println!("  duplicates {} · lost {lost}", stats.duplicates().len());
}
