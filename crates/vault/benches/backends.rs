//! `cargo bench -p desk-vault --bench backends`: the same work on the local SQLCipher file and
//! on a team store (a throwaway PostgreSQL cluster on loopback), side by side (issue 17). One
//! desk, one connection: what a store costs per call before several desks share it. Prints a
//! table; results are recorded in docs/BENCHMARKS.md. `BOARDING_DESK_BENCH_APPS` sets how many
//! applications (100,000 by default; 300 when the binary runs without `--bench`).

use std::time::{Duration, Instant};

use desk_vault::applications::{ListFilter, NewApplication, Source};
use desk_vault::review::QueueFilter;
use desk_vault::{totp, KdfParams, Policy, Vault};
use domain::intake::ApplicationStatus;
use domain::{NewPassword, Username};
use time::OffsetDateTime;

const PASSWORD: &str = "correct horse battery 42";

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("time")
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Row {
    import_per_s: f64,
    list_p50: Duration,
    list_p95: Duration,
    queue_p95: Duration,
    search_p95: Duration,
    word_search_p95: Duration,
    sign_in: Duration,
    add_member: Duration,
}

fn run(
    name: &str,
    apps: usize,
    store: Option<&desk_vault::team::StoreUrl>,
    blank_names: Option<&dyn Fn()>,
    make: impl Fn(&std::path::Path, &Username, &NewPassword, Policy) -> desk_vault::Created,
) -> Row {
    let tmp = tempfile::tempdir().expect("temp dir");
    // As the window signs in: the local file's page-by-page check deferred to a job.
    let policy = Policy {
        kdf: KdfParams::DEFAULT,
        defer_integrity_check: true,
        ..Policy::default()
    };
    let user = Username::parse("admin").expect("username");
    let pw = NewPassword::parse(PASSWORD, &user).expect("password");
    let created = make(tmp.path(), &user, &pw, policy);
    let secret = created.enrolment.secret.clone();
    let code = |at: OffsetDateTime| {
        totp::Secret::from_base32(&secret)
            .expect("base32")
            .code_at(at.unix_timestamp() as u64)
    };
    created
        .vault
        .confirm_totp(&created.admin.id, &code(t0()), t0())
        .expect("enrol");
    let vault = created.vault;

    let forms: Vec<_> = (0..apps as u32).map(testkit::applications::form).collect();
    let ids: Vec<String> = (0..apps).map(|i| format!("app-{i:06}")).collect();
    let started = Instant::now();
    for (n, (forms, ids)) in forms.chunks(1_000).zip(ids.chunks(1_000)).enumerate() {
        let batch: Vec<_> = forms
            .iter()
            .zip(ids)
            .enumerate()
            .map(|(i, (form, id))| NewApplication {
                id,
                status: ApplicationStatus::Submitted,
                source: Source::Import,
                form,
                actor: "admin",
                now_ms: 1_000 + (n * 1_000 + i) as i64,
            })
            .collect();
        vault
            .write(|tx| tx.insert_applications(&batch))
            .expect("insert");
    }
    let import_per_s = apps as f64 / started.elapsed().as_secs_f64();

    // Pages of 50, newest first, walked by keyset from the start (as the list is read).
    let mut list = Vec::new();
    let mut after = None;
    for _ in 0..200 {
        let started = Instant::now();
        let page = vault
            .list_applications(&ListFilter::default(), 50, after.as_ref())
            .expect("list");
        list.push(started.elapsed());
        after = page.next;
    }
    let mut queue = Vec::new();
    for i in 0..200u32 {
        let started = Instant::now();
        vault
            .queue(&QueueFilter::default(), 50, (i % 20) * 50)
            .expect("queue");
        queue.push(started.elapsed());
    }
    let mut search = Vec::new();
    for i in 0..200u32 {
        let filter = ListFilter {
            name_prefix: Some(format!("acme {}", i % 97)),
            ..ListFilter::default()
        };
        let started = Instant::now();
        vault.list_applications(&filter, 50, None).expect("search");
        search.push(started.elapsed());
    }
    if std::env::var_os("BOARDING_DESK_BENCH_PROBE").is_some() {
        for text in [
            "acme 17",
            "acme 5",
            "17",
            "5",
            "acme",
            "widgets 1234",
            "acme 5 widgets",
        ] {
            let filter = ListFilter {
                name_prefix: Some(text.into()),
                ..ListFilter::default()
            };
            let started = Instant::now();
            let page = vault.list_applications(&filter, 50, None).expect("search");
            println!(
                "  {text:<16} {:>8.2} ms  total {}",
                ms(started.elapsed()),
                page.total
            );
        }
    }
    // One word, any of its words: "widgets 1234" is two look-ups of rare tokens, "acme" alone
    // matches every row (the count stops at 10,001).
    let mut word_search = Vec::new();
    for i in 0..200u32 {
        let text = if i % 2 == 0 {
            format!("widgets {}", (i * 7919) % apps as u32)
        } else {
            "acme".to_string()
        };
        let filter = ListFilter {
            name_prefix: Some(text),
            ..ListFilter::default()
        };
        let started = Instant::now();
        vault.list_applications(&filter, 50, None).expect("search");
        word_search.push(started.elapsed());
    }
    // Names an earlier version left in clear, sealed at sign-in (the store's columns put back
    // as they were, through the superuser).
    if let Some(blank) = blank_names {
        blank();
        let started = Instant::now();
        let sealed = vault
            .seal_clear_names("admin", t0())
            .expect("seal the names");
        let took = started.elapsed();
        println!(
            "{:<28} sealing {sealed} applications' names left in clear: {:.1} s ({:.0}/s)",
            "",
            took.as_secs_f64(),
            sealed as f64 / took.as_secs_f64()
        );
    }
    // Adding a member: a unit plus a keyring write (on the store: one row under its version).
    let mut adds = Vec::new();
    for i in 0..20 {
        let name = Username::parse(&format!("member{i:02}")).expect("username");
        let started = Instant::now();
        vault
            .create_user("admin", &name, domain::Role::Underwriter, t0())
            .expect("add a member");
        adds.push(started.elapsed());
    }
    let join_code = store.map(|_| vault.join_code().expect("join code"));
    drop(vault);
    let mut sign_ins = Vec::new();
    for step in 1..=5 {
        let at = t0() + time::Duration::seconds(30 * step);
        let started = Instant::now();
        let (vault, _, _) =
            Vault::sign_in(tmp.path(), "admin", PASSWORD, Some(&code(at)), policy, at)
                .expect("sign in");
        sign_ins.push(started.elapsed());
        drop(vault);
    }
    if let (Some(store), Some(join_code)) = (store, join_code) {
        // A second desk: joining it, then the admin's sign-ins there (its first registers it).
        let second = tempfile::tempdir().expect("temp dir");
        let started = Instant::now();
        desk_vault::team::join::join(second.path(), store, &join_code).expect("join");
        let joining = started.elapsed();
        let mut there = Vec::new();
        for step in 6..=10 {
            let at = t0() + time::Duration::seconds(30 * step);
            let started = Instant::now();
            let (vault, _, _) = Vault::sign_in(
                second.path(),
                "admin",
                PASSWORD,
                Some(&code(at)),
                policy,
                at,
            )
            .expect("sign in on the joined desk");
            there.push(started.elapsed());
            drop(vault);
        }
        println!(
            "{:<28} joining a desk {:>5.0} ms | sign-in there median {:>5.0} ms (first {:.0} ms)",
            "",
            ms(joining),
            ms(percentile(there.clone(), 0.5)),
            ms(there[0])
        );
    }
    let row = Row {
        import_per_s,
        list_p50: percentile(list.clone(), 0.5),
        list_p95: percentile(list, 0.95),
        queue_p95: percentile(queue, 0.95),
        search_p95: percentile(search, 0.95),
        word_search_p95: percentile(word_search, 0.95),
        sign_in: percentile(sign_ins, 0.5),
        add_member: percentile(adds, 0.5),
    };
    println!(
        "{name:<28} import {:>6.0}/s | list page p50 {:>6.2} ms p95 {:>6.2} ms | queue page p95 {:>6.2} ms | name search p95 {:>6.2} ms, by words p95 {:>6.2} ms | sign-in median {:>5.0} ms | add a member median {:>6.2} ms",
        row.import_per_s,
        ms(row.list_p50),
        ms(row.list_p95),
        ms(row.queue_p95),
        ms(row.search_p95),
        ms(row.word_search_p95),
        ms(row.sign_in),
        ms(row.add_member)
    );
    row
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let apps = match std::env::var("BOARDING_DESK_BENCH_APPS") {
        Ok(n) => n.parse().expect("BOARDING_DESK_BENCH_APPS: a number"),
        Err(_) if quick => 300,
        Err(_) => 100_000,
    };
    // Each desk keeps its record of the vault's failures outside the data folder.
    let devices = tempfile::tempdir().expect("device folder");
    if std::env::var_os("BOARDING_DESK_DEVICE_DIR").is_none() {
        std::env::set_var("BOARDING_DESK_DEVICE_DIR", devices.path());
    }
    println!(
        "One desk, {apps} applications, argon2id default, the window's sign-in; pages of 50 (200 each)"
    );
    run(
        "local SQLCipher file",
        apps,
        None,
        None,
        |dir, user, pw, policy| Vault::create(dir, user, pw, policy, t0()).expect("create"),
    );
    // `BOARDING_DESK_BENCH_BACKENDS=local`: the file alone (a quicker look at a change).
    if std::env::var("BOARDING_DESK_BENCH_BACKENDS").as_deref() == Ok("local") {
        return;
    }
    let cluster = testkit::postgres::Cluster::start();
    let db = cluster.team_database("bench");
    desk_vault::team::schema::migrate(&db.owner.parse().expect("owner URL")).expect("migrate");
    let app: desk_vault::team::StoreUrl = db.app.parse().expect("app URL");
    run(
        "team store (PostgreSQL, TCP)",
        apps,
        Some(&app),
        Some(&|| {
            cluster
                .psql(
                    "bench",
                    "SET search_path TO desk;
                     UPDATE applications SET names = NULL,
                         legal_name = 'Acme ' || substr(id, 5) || ' Widgets LLC',
                         legal_name_key = lower('Acme ' || substr(id, 5) || ' Widgets LLC'),
                         dba = 'Widgets ' || substr(id, 5), dba_key = lower('Widgets ' || substr(id, 5));
                     DELETE FROM name_tokens;",
                )
                .expect("put the names back in clear");
        }),
        |dir, user, pw, policy| {
            Vault::create_on_store(dir, &app, user, pw, policy, t0()).expect("create on store")
        },
    );
}
