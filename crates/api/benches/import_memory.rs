//! `cargo bench -p desk-api --bench import_memory`: peak memory of importing a file at the size
//! cap (256 MB) — good rows (`IMPORT_MEMORY_CASE=good`, the default) or bad ones
//! (`IMPORT_MEMORY_CASE=bad`: every row has an EIN with an unassigned prefix). One case per run,
//! since peak RSS (VmHWM) is the whole process's. The file is generated 1,000 applications at a
//! time straight to disk, so the generator adds no peak of its own. Target: peak RSS ≤ 300 MB.
//! `IMPORT_MEMORY_MB` (default 256) sets the file size. Results go in docs/BENCHMARKS.md.

mod common;

use std::io::Write;
use std::time::Instant;

use desk_api::intake::{demo, import};

fn rss_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let case = std::env::var("IMPORT_MEMORY_CASE").unwrap_or_else(|_| "good".into());
    let megabytes: u64 = std::env::var("IMPORT_MEMORY_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let limit = megabytes * 1024 * 1024 - 4096;
    let (tmp, _dir, mut slot) = common::signed_in_vault();
    let path = tmp.path().join(format!("{case}.csv"));
    let started = Instant::now();
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("file"));
    let mut written: u64 = 0;
    let mut rows = 0usize;
    let mut seed = 1u64;
    'fill: loop {
        let mut forms = demo::generate(1000, seed);
        seed += 1;
        if case == "bad" {
            for f in &mut forms {
                f.business.ein = "00-1234567".into();
            }
        }
        let csv = import::to_csv(&forms);
        let text = String::from_utf8(csv).expect("utf-8");
        let mut lines = text.lines();
        let header = lines.next().expect("header");
        if written == 0 {
            file.write_all(header.as_bytes()).expect("write");
            file.write_all(b"\n").expect("write");
            written += header.len() as u64 + 1;
        }
        for line in lines {
            if written + line.len() as u64 + 1 > limit {
                break 'fill;
            }
            file.write_all(line.as_bytes()).expect("write");
            file.write_all(b"\n").expect("write");
            written += line.len() as u64 + 1;
            rows += 1;
        }
    }
    file.flush().expect("flush");
    drop(file);
    let generated = started.elapsed();
    let before = rss_mib("VmHWM:");
    let started = Instant::now();
    let report = import::import_file(&mut slot, &path, &mut |_| {}).expect("import");
    let took = started.elapsed();
    let peak = rss_mib("VmHWM:");
    println!("import_memory case={case}");
    println!(
        "file: {:.1} MB, {rows} rows (generated in {:.1} s)",
        written as f64 / 1e6,
        generated.as_secs_f64()
    );
    println!(
        "imported {} / rejected {} / errors listed {} (+{} counted) in {:.1} s = {:.0} rows/s",
        report.imported,
        report.rejected_rows,
        report.errors.len(),
        report.errors_not_listed,
        took.as_secs_f64(),
        rows as f64 / took.as_secs_f64()
    );
    println!(
        "peak RSS before the import {before:.0} MiB, after {peak:.0} MiB (target ≤ 300 MB = 286 MiB)"
    );
    assert_eq!(report.rows, rows, "every row was read");
}
