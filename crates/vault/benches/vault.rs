//! `cargo bench -p desk-vault`: unlock time at the product's argon2id parameters, and field
//! sealing/opening throughput. Prints a table; results are recorded in docs/BENCHMARKS.md.

use std::time::{Duration, Instant};

use desk_vault::{totp, KdfParams, NextStep, Policy, Vault};
use domain::{NewPassword, Username};
use time::OffsetDateTime;

const PASSWORD: &str = "correct horse battery 42";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn code(secret: &str, at: OffsetDateTime) -> String {
    let secret = totp::Secret::from_base32(secret).expect("base32");
    secret.code_at(at.unix_timestamp() as u64)
}

/// A new, closed vault whose admin enrolled, at `kdf`: its folder, policy and TOTP secret.
fn closed_vault(kdf: KdfParams) -> (tempfile::TempDir, Policy, String) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let policy = Policy {
        kdf,
        ..Policy::default()
    };
    let created = new_vault(tmp.path(), policy, true);
    let secret = created.enrolment.secret.clone();
    drop(created);
    (tmp, policy, secret)
}

/// Full sign-in (keyring, argon2id, SQLCipher open with integrity check, TOTP, audit append,
/// keyring write) at `kdf`, median of `runs`.
fn unlock(kdf: KdfParams, runs: u32) -> Duration {
    let (tmp, policy, secret) = closed_vault(kdf);
    median(
        (1..=runs)
            .map(|i| signed_in(tmp.path(), &secret, policy, i).1)
            .collect(),
    )
}

/// The admin of [`new_vault`] signed in `step` TOTP steps after [`t0`] (so no code is a
/// replay), and how long it took.
fn signed_in(dir: &std::path::Path, secret: &str, policy: Policy, step: u32) -> (Vault, Duration) {
    let at = t0() + time::Duration::seconds(30 * i64::from(step));
    let start = Instant::now();
    let (vault, _, next) =
        Vault::sign_in(dir, "admin", PASSWORD, Some(&code(secret, at)), policy, at)
            .expect("sign in");
    let took = start.elapsed();
    assert!(matches!(next, NextStep::Ready));
    (vault, took)
}

/// Sign-in bound to a real OS keychain (GNOME Keyring on a private bus) against the same
/// sign-in unbound, at `kdf`, medians of `runs`; and turning the binding on. `None` where
/// GNOME Keyring is not installed.
fn keychain(kdf: KdfParams, runs: u32) -> Option<(Duration, Duration, Duration)> {
    let installed = std::process::Command::new("gnome-keyring-daemon")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        return None;
    }
    let keychain = testkit::keychain::Keychain::start();
    // Before this process's first session-bus connection (libdbus reads it once).
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", keychain.address());
    let (tmp, policy, secret) = closed_vault(kdf);
    let sign_in = |i: u32| signed_in(tmp.path(), &secret, policy, i);
    let unbound = median((1..=runs).map(|i| sign_in(i).1).collect());
    let (vault, _) = sign_in(runs + 1);
    let start = Instant::now();
    let status = vault
        .set_keychain_binding("admin", PASSWORD, true, t0())
        .expect("bind");
    let bind = start.elapsed();
    assert!(status.you_bound);
    drop(vault);
    let bound = median((runs + 2..=2 * runs + 1).map(|i| sign_in(i).1).collect());
    Some((unbound, bound, bind))
}

/// The benches' clock.
fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("time")
}

/// A new vault in `dir` whose admin (`admin`, [`PASSWORD`]) signs in under `policy`; with
/// `enrol`, the admin's authenticator is enrolled too (the code is then needed to sign in).
fn new_vault(dir: &std::path::Path, policy: Policy, enrol: bool) -> desk_vault::Created {
    let user = Username::parse("admin").expect("username");
    let pw = NewPassword::parse(PASSWORD, &user).expect("password");
    let created = Vault::create(dir, &user, &pw, policy, t0()).expect("create");
    if enrol {
        created
            .vault
            .confirm_totp(
                &created.admin.id,
                &code(&created.enrolment.secret, t0()),
                t0(),
            )
            .expect("enrol");
    }
    created
}

/// Stores `apps` generated applications (`app-000000`…), in units of 1,000; returns their
/// forms and ids.
fn insert_generated(
    vault: &Vault,
    apps: usize,
) -> (Vec<domain::intake::ApplicationForm>, Vec<String>) {
    let forms: Vec<_> = (0..apps as u32).map(testkit::applications::form).collect();
    let ids: Vec<String> = (0..apps).map(|i| format!("app-{i:06}")).collect();
    for (forms, ids) in forms.chunks(1_000).zip(ids.chunks(1_000)) {
        let batch: Vec<_> = forms
            .iter()
            .zip(ids)
            .map(|(form, id)| desk_vault::applications::NewApplication {
                id,
                status: domain::intake::ApplicationStatus::Submitted,
                source: desk_vault::applications::Source::Import,
                form,
                actor: "admin",
                now_ms: 1_000,
            })
            .collect();
        vault
            .write(|tx| tx.insert_applications(&batch))
            .expect("insert");
    }
    (forms, ids)
}

/// How long refusals take on a vault of `apps` applications at the product's argon2id: a wrong
/// password, the right password with a wrong code, an unknown user — unpadded (floor 0) and at
/// the product's floor. Returns per case (name, median, min, max) for each floor.
fn refusals(apps: usize, runs: u32) -> Vec<(String, Duration, Duration, Duration)> {
    let tmp = tempfile::tempdir().expect("temp dir");
    let product = Policy::default();
    let t0 = t0();
    let created = new_vault(tmp.path(), product, true);
    let secret = created.enrolment.secret.clone();
    insert_generated(&created.vault, apps);
    drop(created);
    let mut rows = Vec::new();
    let mut accepted = Vec::new();
    for floor in [Duration::ZERO, product.refusal_floor] {
        let policy = Policy {
            refusal_floor: floor,
            ..product
        };
        let at = t0 + time::Duration::seconds(60);
        let right = code(&secret, at);
        // A new unknown name per floor: each name locks after ten failures.
        let nobody = format!("mallory{}", floor.as_millis());
        let cases: [(&str, &str, &str, &str); 3] = [
            ("wrong password", "admin", "not the password at all", &right),
            ("right password, wrong code", "admin", PASSWORD, "000000"),
            ("unknown user", &nobody, PASSWORD, &right),
        ];
        for (name, who, pw, typed) in cases {
            let mut times = Vec::new();
            for _ in 0..runs {
                let start = Instant::now();
                let refused = Vault::sign_in(tmp.path(), who, pw, Some(typed), policy, at);
                times.push(start.elapsed());
                assert!(refused.is_err(), "{name} must be refused");
            }
            // Stay under the lockout: the right sign-in clears the counter.
            let ok_at = at + time::Duration::seconds(30 * i64::from(rows.len() as u32 + 1));
            let start = Instant::now();
            drop(
                Vault::sign_in(
                    tmp.path(),
                    "admin",
                    PASSWORD,
                    Some(&code(&secret, ok_at)),
                    policy,
                    ok_at,
                )
                .expect("sign in"),
            );
            accepted.push(start.elapsed());
            let (min, max) = (
                *times.iter().min().expect("runs"),
                *times.iter().max().expect("runs"),
            );
            rows.push((
                format!("{name}, floor {} ms", floor.as_millis()),
                median(times),
                min,
                max,
            ));
        }
    }
    let (min, max) = (
        *accepted.iter().min().expect("runs"),
        *accepted.iter().max().expect("runs"),
    );
    rows.push((
        "accepted (right password and code, integrity check included)".into(),
        median(accepted),
        min,
        max,
    ));
    // The window's path: the check deferred to a job on its own connection.
    let deferred_policy = Policy {
        defer_integrity_check: true,
        ..product
    };
    let (mut deferred, mut checks) = (Vec::new(), Vec::new());
    for i in 0..runs {
        let ok_at = t0 + time::Duration::seconds(60 + 30 * (20 + i64::from(i)));
        let start = Instant::now();
        let (vault, _, _) = Vault::sign_in(
            tmp.path(),
            "admin",
            PASSWORD,
            Some(&code(&secret, ok_at)),
            deferred_policy,
            ok_at,
        )
        .expect("sign in");
        deferred.push(start.elapsed());
        let job = vault.integrity_job().expect("job").expect("deferred");
        let start = Instant::now();
        assert!(job.run().expect("check"), "intact");
        checks.push(start.elapsed());
    }
    for (name, times) in [
        ("accepted, integrity check deferred (the window)", deferred),
        (
            "the deferred integrity check itself, on its own connection",
            checks,
        ),
    ] {
        let (min, max) = (
            *times.iter().min().expect("runs"),
            *times.iter().max().expect("runs"),
        );
        rows.push((name.into(), median(times), min, max));
    }
    rows
}

fn sealing(records: usize, fields_per_record: usize) -> (f64, f64, f64) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let policy = Policy {
        kdf: KdfParams::MINIMUM,
        ..Policy::default()
    };
    let user = Username::parse("admin").expect("username");
    let pw = NewPassword::parse(PASSWORD, &user).expect("password");
    let created =
        Vault::create(tmp.path(), &user, &pw, policy, OffsetDateTime::now_utc()).expect("create");
    let vault = created.vault;
    let value = b"078-05-1120 / 12-3456789 / 000123456789";
    let total = (records * fields_per_record) as f64;

    // Seal: a record's keys (random case and identifiers keys, each wrapped by its class key,
    // two rows), then its fields, half of them case fields and half identifier fields.
    let field = |f: usize| {
        if f.is_multiple_of(2) {
            format!("note:{f}")
        } else {
            format!("document:{f}")
        }
    };
    let start = Instant::now();
    let mut sealed = Vec::with_capacity(records);
    vault
        .write(|tx| {
            for r in 0..records {
                let key = tx.record_key(&format!("rec-{r}"))?;
                let fields: Vec<desk_vault::Sealed> = (0..fields_per_record)
                    .map(|f| key.seal(&field(f), value))
                    .collect::<Result<_, _>>()?;
                sealed.push(fields);
            }
            Ok::<_, desk_vault::VaultError>(())
        })
        .expect("seal in one unit");
    let seal_rate = total / start.elapsed().as_secs_f64();

    // Open: look each record's keys up again (unwrapping both), then open its fields.
    let start = Instant::now();
    for (r, fields) in sealed.iter().enumerate() {
        let key = vault
            .existing_record_key(&format!("rec-{r}"))
            .expect("lookup")
            .expect("key");
        for (f, blob) in fields.iter().enumerate() {
            let plain = key.open(&field(f), blob).expect("open");
            assert_eq!(plain.as_slice(), value);
        }
    }
    let open_rate = total / start.elapsed().as_secs_f64();

    // Blind indexes (exact-match look-up keys).
    let start = Instant::now();
    for i in 0..(records * fields_per_record) {
        std::hint::black_box(vault.blind_index("ssn", &format!("{i:09}")).expect("index"));
    }
    let index_rate = total / start.elapsed().as_secs_f64();
    (seal_rate, open_rate, index_rate)
}

/// Disabling an underwriter in a vault of `apps` applications: the rotation (new class-key
/// generations, the file re-keyed), then the re-wrap of every record key in units of `batch`;
/// returns (disable, re-wrap total, slowest re-wrap unit, record keys re-wrapped).
fn rotation(apps: usize, batch: u32) -> (Duration, Duration, Duration, u64) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let policy = Policy {
        kdf: KdfParams::MINIMUM,
        ..Policy::default()
    };
    let t0 = t0();
    let vault = new_vault(tmp.path(), policy, false).vault;
    let forms: Vec<_> = (0..1_000u32).map(testkit::applications::form).collect();
    for chunk in 0..apps.div_ceil(1_000) {
        let ids: Vec<String> = (0..1_000)
            .map(|i| format!("app-{chunk:04}-{i:04}"))
            .collect();
        let batch_apps: Vec<_> = forms
            .iter()
            .zip(&ids)
            .take(apps - chunk * 1_000)
            .map(|(form, id)| desk_vault::applications::NewApplication {
                id,
                status: domain::intake::ApplicationStatus::Submitted,
                source: desk_vault::applications::Source::Import,
                form,
                actor: "admin",
                now_ms: 1_000,
            })
            .collect();
        vault
            .write(|tx| tx.insert_applications(&batch_apps))
            .expect("insert");
    }
    let (uw, _) = vault
        .create_user(
            "admin",
            &Username::parse("uma").expect("username"),
            domain::Role::Underwriter,
            t0,
        )
        .expect("user");
    let start = Instant::now();
    vault
        .set_disabled("admin", &uw.id, true, t0)
        .expect("disable");
    let disable = start.elapsed();
    let start = Instant::now();
    let mut slowest = Duration::ZERO;
    let pending = vault.rewrap_pending().expect("pending");
    loop {
        let unit = Instant::now();
        let left = vault
            .rewrap_record_keys(batch, "admin", t0)
            .expect("rewrap");
        slowest = slowest.max(unit.elapsed());
        if left == 0 {
            break;
        }
    }
    (disable, start.elapsed(), slowest, pending)
}

/// The blocklist under its own key: blocking `apps` applications (their EIN, SSNs and bank
/// account), then the identity checks of 1,000 of them with the keyed look-up and without it
/// (what the checks cost before the blocklist key). Returns (block all, per check keyed, per
/// check unkeyed, entries).
fn blocklist(apps: usize) -> (Duration, Duration, Duration, usize) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let policy = Policy {
        kdf: KdfParams::MINIMUM,
        ..Policy::default()
    };
    let vault = new_vault(tmp.path(), policy, false).vault;
    let (forms, ids) = insert_generated(&vault, apps);
    let start = Instant::now();
    let mut entries = 0;
    for (forms, ids) in forms.chunks(1_000).zip(ids.chunks(1_000)) {
        entries += vault
            .write(|tx| {
                let mut n = 0;
                for (form, id) in forms.iter().zip(ids) {
                    n += tx.block_identifiers(&desk_vault::blocklist::NewBlock {
                        application_id: id,
                        form,
                        reason: "declined",
                        basis: desk_vault::blocklist::LegalBasis::FraudPrevention,
                        actor: "admin",
                        now_ms: 2_000,
                        years: 5,
                    })?;
                }
                Ok::<_, desk_vault::VaultError>(n)
            })
            .expect("block");
    }
    let block = start.elapsed();
    let checks = 1_000.min(apps);
    let start = Instant::now();
    for (form, id) in forms.iter().zip(&ids).take(checks) {
        let c = vault.identity_checks(id, Some(form)).expect("checks");
        assert!(c.blocklisted.contains(&"ssn".to_string()));
    }
    let keyed = start.elapsed() / checks as u32;
    let start = Instant::now();
    for id in ids.iter().take(checks) {
        vault.identity_checks(id, None).expect("checks");
    }
    let unkeyed = start.elapsed() / checks as u32;
    (block, keyed, unkeyed, entries)
}

fn main() {
    // `cargo test --benches` runs this binary with `--bench` absent; keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let runs = if quick { 1 } else { 9 };
    println!(
        "Boarding Desk vault benchmarks ({} runs per unlock row)",
        runs
    );
    match keychain(KdfParams::DEFAULT, runs) {
        Some((unbound, bound, bind)) => println!(
            "sign-in, argon2id default, unbound: median {:.0} ms; bound to GNOME Keyring: median {:.0} ms; turning the binding on: {:.0} ms",
            unbound.as_secs_f64() * 1000.0,
            bound.as_secs_f64() * 1000.0,
            bind.as_secs_f64() * 1000.0
        ),
        None => println!("keychain binding: skipped (gnome-keyring is not installed)"),
    }
    for (name, kdf) in [
        ("default (64 MiB, t=3, p=1)", KdfParams::DEFAULT),
        ("minimum (19 MiB, t=2, p=1)", KdfParams::MINIMUM),
    ] {
        let t = unlock(kdf, runs);
        println!(
            "unlock, argon2id {name}: median {:.0} ms",
            t.as_secs_f64() * 1000.0
        );
    }
    let apps = if quick { 100 } else { 20_000 };
    let refusal_runs = if quick { 1 } else { 7 };
    for (name, median, min, max) in refusals(apps, refusal_runs) {
        println!(
            "refused sign-in over {apps} applications, {name}: median {:.0} ms (min {:.0}, max {:.0})",
            median.as_secs_f64() * 1000.0,
            min.as_secs_f64() * 1000.0,
            max.as_secs_f64() * 1000.0
        );
    }
    let (records, per) = if quick { (100, 10) } else { (1_000, 10) };
    let (seal, open, index) = sealing(records, per);
    println!(
        "seal {} fields ({records} records x {per}): {:.0} fields/s",
        records * per,
        seal
    );
    println!("open {} fields: {:.0} fields/s", records * per, open);
    println!(
        "blind index {} values: {:.0} values/s",
        records * per,
        index
    );
    let apps = if quick { 100 } else { 20_000 };
    let (block, keyed, unkeyed, entries) = blocklist(apps);
    println!(
        "blocklist {apps} applications ({entries} entries under the blocklist key): {:.2} s",
        block.as_secs_f64()
    );
    println!(
        "identity checks against {entries} keyed entries: {:.0} µs per application (without the keyed look-up: {:.0} µs)",
        keyed.as_secs_f64() * 1e6,
        unkeyed.as_secs_f64() * 1e6
    );
    let apps = if quick { 200 } else { 100_000 };
    let (disable, rewrap, slowest, keys) = rotation(apps, 5_000);
    println!(
        "disable an underwriter over {apps} applications (rotate classes, re-key the file): {:.1} s",
        disable.as_secs_f64()
    );
    println!(
        "re-wrap {keys} record keys in units of 5,000: {:.1} s, slowest unit {:.0} ms",
        rewrap.as_secs_f64(),
        slowest.as_secs_f64() * 1000.0
    );
}
