//! Issue 14's CLI parity: `review hits` shows a hit with its list entry, `review disposition`
//! records a true match, `review decide … approve` is then refused with `sanctions_match`
//! (exit 1), and `review report` writes the sanctions report. The vault is set up through the
//! api; each CLI run signs in as its own user (a sign-in needs a fresh authenticator step).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use api::{intake, review, screening, DataDir};

use crate::boarding::{admin_signed_in, code, user_signed_in, PW};

/// `desk --user NAME ARGS` with the password and the next authenticator code on stdin.
fn run(dir: &Path, user: &str, secret: &str, args: &[&str]) -> Output {
    run_with(dir, user, secret, args, &[])
}

/// [`run`] with extra environment variables (a test failpoint).
pub(crate) fn run_with(
    dir: &Path,
    user: &str,
    secret: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    spawn_signed(dir, user, secret, args, env)
        .wait_with_output()
        .unwrap()
}

/// `desk --user USER ARGS…` started, its password and next authenticator code written to its
/// stdin and stdin closed; stdout and stderr piped.
pub(crate) fn spawn_signed(
    dir: &Path,
    user: &str,
    secret: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_desk"))
        .arg("--data-dir")
        .arg(dir)
        .args(["--user", user])
        .args(args)
        .envs(env.iter().copied())
        .env("BOARDING_DESK_TEST_KDF", "minimum")
        .env_remove("BOARDING_DESK_DATA_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{PW}").unwrap();
    writeln!(stdin, "{}", code(secret, 1)).unwrap();
    drop(stdin);
    child
}

pub(crate) fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn hits_are_listed_and_dispositioned_and_a_match_cannot_be_approved() {
    let lists = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/sanctions/ofac-small");
    if !lists.is_dir() {
        eprintln!("skipped: {} is absent", lists.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let (mut admin, admin_secret) = admin_signed_in(&dir, PW);
    screening::import_lists(&mut admin, &lists).unwrap();
    let mut form = intake::demo::low_risk(3);
    let control = form.people.iter_mut().find(|p| p.is_control).unwrap();
    control.first_name = "Elvis Angus".into();
    control.last_name = "Logan Morey".into();
    control.dob = "1963-07-28".into();
    intake::import::import(
        &mut admin,
        "listed.csv",
        &intake::import::to_csv(&[form]),
        &mut |_| {},
    )
    .unwrap();
    screening::rescreen(&mut admin, &mut |_| {}).unwrap();
    let id = review::queue(&mut admin, Default::default()).unwrap().items[0]
        .id
        .clone();
    let (reader, mut s) = user_signed_in(&dir, &mut admin, "reader");
    s.lock().unwrap();
    let (clearer, mut s) = user_signed_in(&dir, &mut admin, "clearer");
    s.lock().unwrap();
    let (decider, mut s) = user_signed_in(&dir, &mut admin, "decider");
    review::assign_to_me(&mut s, &id, false).unwrap();
    s.lock().unwrap();
    admin.lock().unwrap();
    let p = tmp.path();

    let out = run(p, "reader", &reader, &["review", "hits", &id]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shown = text(&out);
    assert!(
        shown.contains("sdn:10278") && shown.contains("[OPEN]") && shown.contains("SDNT"),
        "the hit with its list entry: {shown}"
    );
    let hit = shown.split_whitespace().next().unwrap().to_string();

    let out = run(
        p,
        "clearer",
        &clearer,
        &[
            "review",
            "disposition",
            &id,
            &hit,
            "--true-match",
            "--note",
            "Passport matches the SDN entry",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("true match by clearer"),
        "{}",
        text(&out)
    );

    let out = run(
        p,
        "decider",
        &decider,
        &[
            "--json",
            "review",
            "decide",
            &id,
            "approve",
            "--reason",
            "low_risk",
            "--note",
            "Approving anyway",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "refused: {}", text(&out));
    let err: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error"]["code"], "sanctions_match", "{err}");

    let reports = p.join("reports");
    std::fs::create_dir(&reports).unwrap();
    let out = run(
        p,
        "alice",
        &admin_secret,
        &["review", "report", "--out", reports.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("1 report(s) written"), "{}", text(&out));
    let html = std::fs::read_dir(&reports)
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.path().extension().is_some_and(|x| x == "html"))
        .expect("the HTML report");
    let page = std::fs::read_to_string(html.path()).unwrap();
    assert!(page.contains("sdn:10278") && page.contains("clearer"));
}
