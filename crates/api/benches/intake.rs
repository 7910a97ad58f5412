//! `cargo bench -p desk-api --bench intake`: bulk import throughput and list/look-up latency
//! over a large vault. Data comes from the deterministic demo generator. Prints a table; the
//! results are recorded in docs/BENCHMARKS.md.
//!
//! `INTAKE_BENCH_TOTAL` (default 100000) sets how many applications the list is measured over.

mod common;

use std::time::{Duration, Instant};

use desk_api::intake::{self, demo, import, ListQuery};

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU seconds (user + system) this process has used, from /proc/self/stat (clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // fields after the parenthesised command name; utime and stime are the 12th and 13th
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?)
        })
        .map_or(0.0, |ticks| ticks / 100.0)
}

fn timed(runs: usize, mut f: impl FnMut(usize)) -> (Duration, Duration) {
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs {
        let started = Instant::now();
        f(i);
        times.push(started.elapsed());
    }
    (percentile(times.clone(), 0.5), percentile(times, 0.95))
}

fn main() {
    let total: usize = std::env::var("INTAKE_BENCH_TOTAL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let (tmp, _dir, mut slot, secret) = common::signed_in_vault_keeping_secret();

    // 1. Import 10,000 applications from CSV: parse + validate + seal + store.
    let csv = demo::csv(10_000, 1);
    println!(
        "import file: 10,000 applications, {:.1} MB of CSV",
        csv.len() as f64 / 1e6
    );
    let started = Instant::now();
    let cpu = cpu_seconds();
    let report = import::import(&mut slot, "bench.csv", &csv, &mut |_| {}).expect("import");
    let took = started.elapsed();
    let cpu = cpu_seconds() - cpu;
    assert_eq!(report.imported, 10_000, "every generated row is valid");
    println!(
        "import 10,000 from CSV: {:.2} s = {:.0} applications/s (target >= 2,000/s); {:.2} s of CPU",
        took.as_secs_f64(),
        10_000.0 / took.as_secs_f64(),
        cpu
    );

    // 2. Grow the vault to `total` applications, then measure the list and the look-ups.
    let mut seed = 2;
    let mut stored = 10_000;
    let grow = Instant::now();
    while stored < total {
        let n = (total - stored).min(10_000);
        let chunk = demo::csv(n, seed);
        let r = import::import(&mut slot, "grow.csv", &chunk, &mut |_| {}).expect("import");
        stored += r.imported;
        seed += 1;
    }
    if stored > 10_000 {
        println!(
            "grew the vault to {stored} applications in {:.1} s ({:.0}/s)",
            grow.elapsed().as_secs_f64(),
            (stored - 10_000) as f64 / grow.elapsed().as_secs_f64()
        );
    }

    let mut matched = 0;
    let (p50, p95) = timed(300, |i| {
        let query = ListQuery {
            status: Some("submitted".into()),
            limit: Some(50),
            ..ListQuery::default()
        };
        let page = intake::list_applications(&mut slot, &query).expect("list");
        if i == 0 {
            matched = page.total;
        }
    });
    println!(
        "list page of 50, status filter + total ({matched} match): p50 {:.2} ms, p95 {:.2} ms (target <= 20 ms)",
        ms(p50),
        ms(p95)
    );
    let (p50, p95) = timed(300, |_| {
        let query = ListQuery {
            mcc: Some("5814".into()),
            created_from: Some("2020-01-01".into()),
            limit: Some(50),
            ..ListQuery::default()
        };
        intake::list_applications(&mut slot, &query).expect("list");
    });
    println!(
        "list page of 50, MCC + created-from filters + total: p50 {:.2} ms, p95 {:.2} ms",
        ms(p50),
        ms(p95)
    );

    let eins: Vec<String> = demo::generate(2_000, 1)
        .into_iter()
        .map(|f| f.business.ein)
        .filter(|e| !e.is_empty())
        .take(300)
        .collect();
    let (p50, p95) = timed(eins.len(), |i| {
        let query = ListQuery {
            search: Some(eins[i].clone()),
            ..ListQuery::default()
        };
        let page = intake::list_applications(&mut slot, &query).expect("look-up");
        assert!(page.total >= 1, "a stored EIN is found");
    });
    println!(
        "exact EIN look-up (blind index): p50 {:.2} ms, p95 {:.2} ms (target <= 5 ms)",
        ms(p50),
        ms(p95)
    );

    let prefixes = ["blue", "summit c", "maria", "golden b", "zz"];
    let (p50, p95) = timed(200, |i| {
        let query = ListQuery {
            search: Some(prefixes[i % prefixes.len()].into()),
            ..ListQuery::default()
        };
        intake::list_applications(&mut slot, &query).expect("search");
    });
    println!(
        "name-prefix search, page of 50 + total: p50 {:.2} ms, p95 {:.2} ms",
        ms(p50),
        ms(p95)
    );
    let vault_size = std::fs::metadata(tmp.path().join(vault::VAULT_FILE))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "vault file: {:.0} MB; peak RSS {:.0} MiB",
        vault_size as f64 / 1e6,
        peak_rss_mib()
    );

    // An encrypted backup of the whole vault, and its restore into an empty folder (both hold
    // the archive in memory: peak RSS is reported again).
    let archive = tmp.path().join("bench.backup");
    let started = Instant::now();
    let summary = desk_api::backup::backup(&mut slot, &archive).expect("backup");
    let backup_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    desk_api::backup::restore(
        &archive,
        &tmp.path().join("restored"),
        desk_api::backup::RestoreWith::Admin {
            username: common::USER.into(),
            password: common::PASSWORD.into(),
            code: testkit::totp::code_now(&secret),
        },
    )
    .expect("restore");
    println!(
        "backup of {} applications: {:.1} s, archive {:.0} MB; restore (authenticate, stage, integrity + audit chain + counts, move): {:.1} s; peak RSS {:.0} MiB",
        summary.applications,
        backup_s,
        summary.bytes as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        peak_rss_mib()
    );
}
