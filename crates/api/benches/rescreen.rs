//! `cargo bench -p desk-api --bench rescreen`: re-screen every application after a list update —
//! legal name, DBA and every person against the full 2021 SDN list plus the consolidated list
//! from ../shared — and store the hits. `RESCREEN_BENCH_TOTAL` (default 100000) sets how many
//! applications. Results are recorded in docs/BENCHMARKS.md.

mod common;

use std::path::PathBuf;
use std::time::Instant;

use desk_api::domain::review::RiskBand;
use desk_api::intake::{demo, import};
use desk_api::screening;

fn main() {
    let lists =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/sanctions");
    if !lists.is_dir() {
        eprintln!("skipped: {} is absent", lists.display());
        return;
    }
    let total: usize = std::env::var("RESCREEN_BENCH_TOTAL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let (_tmp, dir, mut slot) = common::signed_in_vault();

    let started = Instant::now();
    let mut stored = 0;
    let mut seed = 100;
    while stored < total {
        let n = (total - stored).min(10_000);
        let r = import::import(&mut slot, "grow.csv", &demo::csv(n, seed), &mut |_| {})
            .expect("import");
        stored += r.imported;
        seed += 1;
    }
    println!(
        "{stored} applications stored in {:.0} s",
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    screening::import_lists(&mut slot, &lists.join("ofac-sdn-2021")).expect("SDN");
    screening::import_lists(&mut slot, &lists.join("ofac-consolidated")).expect("consolidated");
    println!(
        "lists imported (SDN 2021 + consolidated) in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let report = screening::rescreen(&mut slot, &mut |_| {}).expect("rescreen");
    println!(
        "first screening + risk assessment of {} imported applications: {:.1} s = {:.0}/s; {} with hits ({} hits)",
        report.screened,
        report.seconds,
        report.screened as f64 / report.seconds,
        report.with_new_hits,
        report.new_hits
    );

    // A list update: new versions of both lists (confirmed by a second admin), then
    // everything in play is screened again.
    let mut bob = common::second_admin(&dir, &mut slot);
    screening::import_lists(&mut slot, &lists.join("ofac-sdn-2021")).expect("SDN");
    screening::import_lists(&mut slot, &lists.join("ofac-consolidated")).expect("consolidated");
    confirm_lists(&mut bob);
    let report = screening::rescreen(&mut slot, &mut |_| {}).expect("rescreen");
    println!(
        "re-screen {} applications after a list update: {:.1} s = {:.0}/s; {} with new hits (target <= 60 s for 100,000)",
        report.screened,
        report.seconds,
        report.screened as f64 / report.seconds,
        report.with_new_hits
    );

    // The review queue over every application, now that all are scored.
    let mut times = Vec::new();
    for i in 0..300 {
        let filter = desk_api::views::QueueFilter {
            band: [None, Some(RiskBand::High), Some(RiskBand::Medium)][i % 3],
            with_hits: i % 5 == 0,
            sort: if i % 2 == 0 {
                desk_api::views::QueueSort::Risk
            } else {
                desk_api::views::QueueSort::Age
            },
            ..Default::default()
        };
        let query = desk_api::review::QueueQuery {
            filter,
            limit: Some(50),
            ..Default::default()
        };
        let t = Instant::now();
        desk_api::review::queue(&mut slot, query).expect("queue");
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "queue page of 50 (sorted by risk or age, filtered by band / hits, with capped total) over {stored}: p50 {:.2} ms, p95 {:.2} ms (target <= 20 ms)",
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() * 95 / 100].as_secs_f64() * 1e3
    );

    // The window's path: another list update, then the background re-screen (batches of 200,
    // the session taken per batch). How long the whole run takes, and how long the window can
    // wait for the session behind one batch.
    screening::import_lists(&mut slot, &lists.join("ofac-sdn-2021")).expect("SDN");
    screening::import_lists(&mut slot, &lists.join("ofac-consolidated")).expect("consolidated");
    confirm_lists(&mut bob);
    let slot = std::sync::Arc::new(std::sync::Mutex::new(slot));
    let rescreener = screening::Rescreener::new(std::sync::Arc::clone(&slot), 200);
    let started = Instant::now();
    let mut batches = Vec::new();
    loop {
        let t = Instant::now();
        if !rescreener.step().expect("step") {
            break;
        }
        batches.push(t.elapsed());
    }
    let took = started.elapsed().as_secs_f64();
    let status = rescreener.status();
    batches.sort();
    println!(
        "background re-screen of {} after a list update (batches of 200): {:.1} s = {:.0}/s; session held per batch p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        status.done,
        took,
        status.done as f64 / took,
        batches[batches.len() / 2].as_secs_f64() * 1e3,
        batches[batches.len() * 99 / 100].as_secs_f64() * 1e3,
        batches[batches.len() - 1].as_secs_f64() * 1e3
    );
}

/// The second admin confirms the new versions of both lists.
fn confirm_lists(bob: &mut desk_api::SessionSlot) {
    for key in ["list.sdn", "list.consolidated"] {
        desk_api::settings::confirm_change(bob, key).expect("confirm the list update");
    }
}
