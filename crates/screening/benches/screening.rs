//! `cargo bench -p desk-screening`: screening latency against the full 2021 SDN list plus the
//! consolidated list from ../shared, recall on known listed names made harder (typos, reordered
//! tokens, diacritics, a dropped middle name), and the hit rate on ordinary names.
//! Prints a table; results are recorded in docs/BENCHMARKS.md. `SHOW_MISSES=1` also prints
//! every missed variant and every ordinary name that raised a hit, with its score.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use desk_screening::ofac::parse_dir;
use desk_screening::{EntryKind, Index, Query, DEFAULT_THRESHOLD};

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// Replaces one letter in the longest token (a typo).
fn typo(name: &str, i: usize) -> String {
    let mut words: Vec<String> = name.split_whitespace().map(str::to_string).collect();
    let Some((w, _)) = words.iter().enumerate().max_by_key(|(_, w)| w.len()) else {
        return name.to_string();
    };
    let chars: Vec<char> = words[w].chars().collect();
    if chars.len() < 5 {
        return name.to_string();
    }
    let at = 1 + i % (chars.len() - 2);
    let mut out = chars.clone();
    out[at] = if chars[at] == 'E' { 'A' } else { 'E' };
    words[w] = out.into_iter().collect();
    words.join(" ")
}

/// "LAST, First Middle" → "First Middle Last".
fn reorder(name: &str) -> String {
    match name.split_once(',') {
        Some((last, first)) => format!("{} {}", first.trim(), last.trim()),
        None => {
            let mut w: Vec<&str> = name.split_whitespace().collect();
            w.reverse();
            w.join(" ")
        }
    }
}

fn accents(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'E' => 'É',
            'e' => 'é',
            'A' => 'Á',
            'a' => 'à',
            'O' => 'Ö',
            'u' => 'ü',
            other => other,
        })
        .collect()
}

/// Drops the last of three or more tokens after reordering (a middle name not given).
fn drop_middle(name: &str) -> String {
    let r = reorder(name);
    let w: Vec<&str> = r.split_whitespace().collect();
    if w.len() >= 3 {
        let mut keep = w.clone();
        keep.remove(1);
        keep.join(" ")
    } else {
        r
    }
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/sanctions");
    if !root.is_dir() {
        eprintln!("skipped: {} is absent", root.display());
        return;
    }
    let started = Instant::now();
    let mut entries = parse_dir(&root.join("ofac-sdn-2021"))
        .expect("SDN")
        .remove(0)
        .entries;
    let sdn_entries = entries.len();
    entries.extend(
        parse_dir(&root.join("ofac-consolidated"))
            .expect("consolidated")
            .remove(0)
            .entries,
    );
    let parsed = started.elapsed();
    let started = Instant::now();
    let index = Index::build(entries);
    let built = started.elapsed();
    println!(
        "lists: {} entries ({} SDN), {} names; parse {:.0} ms, index {:.0} ms",
        index.entries().len(),
        sdn_entries,
        index.name_count(),
        parsed.as_secs_f64() * 1e3,
        built.as_secs_f64() * 1e3
    );

    // Known listed names, made harder.
    let sample: Vec<(String, String, EntryKind)> = index
        .entries()
        .iter()
        .filter(|e| e.names[0].text.split_whitespace().count() >= 2)
        .step_by(25)
        .map(|e| (e.uid.clone(), e.names[0].text.clone(), e.kind))
        .collect();
    type Variant = fn(&str, usize) -> String;
    let variants: [(&str, Variant); 5] = [
        ("exact", |n, _| n.to_string()),
        ("reordered", |n, _| reorder(n)),
        ("one typo", typo),
        ("diacritics", |n, _| accents(n)),
        ("middle name dropped", |n, _| drop_middle(n)),
    ];
    let mut times = Vec::new();
    println!(
        "recall at threshold {DEFAULT_THRESHOLD} over {} listed names:",
        sample.len()
    );
    for (label, make) in variants {
        let mut found = 0;
        for (i, (uid, name, kind)) in sample.iter().enumerate() {
            let q = make(name, i);
            let query = Query {
                name: &q,
                individual: Some(*kind == EntryKind::Individual),
                ..Query::default()
            };
            let t = Instant::now();
            let hits = index.screen(&query, DEFAULT_THRESHOLD);
            times.push(t.elapsed());
            if hits.iter().any(|h| &h.uid == uid) {
                found += 1;
            } else if std::env::var("SHOW_MISSES").is_ok() {
                let loose = index.screen(&query, 0.0);
                let score = loose.iter().find(|h| &h.uid == uid).map(|h| h.score);
                eprintln!("miss [{label}] {q:?} (listed {name:?}): best score for it {score:?}");
            }
        }
        println!(
            "  {label:<20} {found}/{} = {:.1}%",
            sample.len(),
            100.0 * f64::from(found) / sample.len() as f64
        );
    }

    // Ordinary names: how often does a screen raise a hit at all?
    let first = [
        "Maria", "James", "Wei", "Aisha", "Carlos", "Priya", "John", "Fatima", "David", "Olga",
        "Kenji", "Grace", "Samuel", "Linh", "Patrick", "Ana", "Noah", "Zoe", "Omar", "Ivan",
    ];
    let last = [
        "Garcia",
        "Smith",
        "Chen",
        "Okafor",
        "Rodriguez",
        "Patel",
        "Johnson",
        "Haddad",
        "Kim",
        "Novak",
        "Tanaka",
        "Williams",
        "Rahman",
        "Rossi",
        "Brown",
        "Nguyen",
        "Murphy",
        "Silva",
        "Cohen",
        "Lee",
    ];
    let businesses = [
        "Blue Harbor Coffee LLC",
        "Summit Fitness Inc.",
        "Golden Bakery",
        "Maple Outfitters",
        "Cedar Books",
        "Prairie Auto Care",
        "Coastal Pet Supply",
        "Granite Hardware",
        "Lucky Tailors",
        "Evergreen Dental",
    ];
    let mut ordinary = Vec::new();
    for f in first {
        for l in last {
            ordinary.push((format!("{f} {l}"), true));
        }
    }
    for b in businesses {
        ordinary.push((b.to_string(), false));
    }
    let mut flagged = 0;
    for (name, individual) in &ordinary {
        let t = Instant::now();
        let hits = index.screen(
            &Query {
                name,
                individual: Some(*individual),
                ..Query::default()
            },
            DEFAULT_THRESHOLD,
        );
        times.push(t.elapsed());
        if !hits.is_empty() {
            flagged += 1;
            if std::env::var("SHOW_MISSES").is_ok() {
                eprintln!(
                    "ordinary {name:?} hit {:?} ({:.3})",
                    hits[0].matched_name, hits[0].score
                );
            }
        }
    }
    println!(
        "ordinary names with any hit: {flagged}/{} = {:.1}%",
        ordinary.len(),
        100.0 * f64::from(flagged) / ordinary.len() as f64
    );
    println!(
        "one screen against {} names: p50 {:.3} ms, p95 {:.3} ms, max {:.3} ms over {} screens (target p95 <= 2 ms)",
        index.name_count(),
        percentile(times.clone(), 0.5).as_secs_f64() * 1e3,
        percentile(times.clone(), 0.95).as_secs_f64() * 1e3,
        percentile(times.clone(), 1.0).as_secs_f64() * 1e3,
        times.len()
    );
}
