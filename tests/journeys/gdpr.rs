//! Issue 7's GDPR use cases through the api: erasure refused under AML retention (with the
//! date), for an active relationship and under a legal hold; a never-submitted draft erased;
//! a subject access export found by SSN; retention settings and the retention run; the
//! scheduled purge (with the clock moved six years on, records past retention erase).

use api::intake::{self, demo, SaveDraft};
use api::review::{self, DecideInput};
use api::{gdpr, Code, SessionSlot};

use crate::auth::{setup, signed_in_user};

fn saved(slot: &mut SessionSlot, seed: u64) -> (String, i64, api::domain::intake::ApplicationForm) {
    let mut form = demo::low_risk(seed);
    form.business.legal_name = "Bits & <Bytes> LLC".into();
    let view = intake::save_draft(
        slot,
        SaveDraft {
            id: None,
            version: None,
            form: form.clone(),
        },
    )
    .unwrap();
    (view.summary.id, view.summary.version, form)
}

#[test]
fn erasure_is_refused_under_retention_hold_or_an_active_relationship_and_drafts_erase() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = api::DataDir::open(tmp.path()).unwrap();
    let mut admin = SessionSlot::new();
    setup(&dir, &mut admin);
    let mut uma = signed_in_user(&dir, &mut admin, "uma", "underwriter");

    // Declined today: kept for five years.
    let (declined, version, form) = saved(&mut admin, 40);
    intake::submit(&mut admin, &declined, version).unwrap();
    review::assign_to_me(&mut admin, &declined, false).unwrap();
    let version = review::review_view(&mut admin, &declined)
        .unwrap()
        .row
        .version;
    review::decide(
        &mut admin,
        DecideInput {
            id: declined.clone(),
            version,
            decision: "decline".into(),
            reasons: vec!["policy_other".into()],
            note: "Outside our risk appetite".into(),
            fields: vec![],
            blocklist: false,
            blocklist_basis: None,
            confirmed_hits: Vec::new(),
        },
    )
    .unwrap();
    let out = gdpr::request_erasure(&mut admin, &declined).unwrap();
    assert_eq!(out.outcome.as_str(), "refused_retention");
    let in_five_years = (time::OffsetDateTime::now_utc().date().year() + 5).to_string();
    assert!(
        out.possible_from
            .as_deref()
            .unwrap()
            .starts_with(&in_five_years),
        "{out:?}"
    );
    assert!(out.message.contains("5 years"), "{}", out.message);
    assert!(
        intake::get_application(&mut admin, &declined).is_ok(),
        "kept"
    );

    // A longer period set by an admin moves the date; nonsense is a field error.
    assert!(gdpr::set_retention_years(&mut admin, 0)
        .unwrap_err()
        .message()
        .starts_with("retention years:"));
    gdpr::set_retention_years(&mut admin, 7).unwrap();
    let out = gdpr::request_erasure(&mut admin, &declined).unwrap();
    assert!(out.message.contains("7 years"));

    // On hold: refused with the reason to lift it.
    assert!(gdpr::set_legal_hold(&mut admin, &declined, Some("x"))
        .unwrap_err()
        .message()
        .starts_with("reason:"));
    gdpr::set_legal_hold(&mut admin, &declined, Some("Court order 24-117")).unwrap();
    assert_eq!(
        gdpr::request_erasure(&mut admin, &declined)
            .unwrap()
            .outcome
            .as_str(),
        "refused_hold"
    );
    gdpr::set_legal_hold(&mut admin, &declined, None).unwrap();

    // Submitted and in play: the relationship is not over.
    let (active, version, _) = saved(&mut admin, 41);
    intake::submit(&mut admin, &active, version).unwrap();
    assert_eq!(
        gdpr::request_erasure(&mut admin, &active)
            .unwrap()
            .outcome
            .as_str(),
        "refused_active"
    );

    // A draft never submitted is no customer record: erased at once.
    let (draft, _, _) = saved(&mut admin, 42);
    let out = gdpr::request_erasure(&mut admin, &draft).unwrap();
    assert_eq!(out.outcome.as_str(), "erased");
    assert!(intake::get_application(&mut admin, &draft).is_err());
    // Issue 16: the erasure ledger outside the vault file names it, so a restore of an older
    // backup erases it again (vault::backup tests the replay).
    let ledger = std::fs::read_to_string(tmp.path().join("erasures.ledger")).unwrap();
    assert!(ledger.contains(&draft), "{ledger}");
    assert_eq!(
        gdpr::request_erasure(&mut admin, &draft)
            .unwrap()
            .outcome
            .as_str(),
        "refused_erased"
    );

    // Only admins.
    assert_eq!(
        gdpr::request_erasure(&mut uma, &declined)
            .unwrap_err()
            .code(),
        Code::Forbidden
    );

    // The subject's export, found by an owner's SSN: unmasked, every request on record.
    let ssn = form
        .people
        .iter()
        .find(|p| !p.ssn.is_empty())
        .unwrap()
        .ssn
        .clone();
    let export = gdpr::subject_export(&mut admin, "ssn", &ssn).unwrap();
    assert_eq!(export.applications, vec![declined.clone()]);
    let json: serde_json::Value = serde_json::from_slice(&export.json.content).unwrap();
    let record = &json["records"][0];
    assert_eq!(
        record["form"]["people"][0]["first_name"],
        form.people[0].first_name
    );
    assert_eq!(record["decisions"][0]["kind"], "decline");
    let outcomes: Vec<&str> = record["erasure_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["refused_retention", "refused_retention", "refused_hold"]
    );
    assert!(record["audit"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "gdpr.erasure"));
    let html = String::from_utf8(export.html.content).unwrap();
    assert!(
        html.contains("Bits &amp; &lt;Bytes&gt; LLC"),
        "escaped: {html}"
    );
    assert!(!html.contains("<Bytes>"));
    assert_eq!(
        gdpr::subject_export(&mut admin, "ssn", "123-45-6789")
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    assert!(gdpr::subject_export(&mut admin, "name", "x")
        .unwrap_err()
        .message()
        .starts_with("by:"));

    // Nothing is past retention yet: the run (dry or not) erases nothing.
    let run = gdpr::retention_run(&mut admin, true).unwrap();
    assert!(run.due.is_empty() && run.dry_run);
    assert_eq!(gdpr::retention_run(&mut admin, false).unwrap().erased, 0);

    let actions: Vec<String> = api::audit_log::list_audit(&mut admin, None, 100)
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in [
        "gdpr.erasure",
        "gdpr.hold",
        "gdpr.hold_lifted",
        "gdpr.subject_export",
        "gdpr.retention_run",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} audited");
    }
}

/// Issue 7: the window's first-run restore — a backup goes into a fresh data folder (which
/// already holds the app's logs folder) with an admin's password; a folder with a vault is
/// refused; the restored vault opens with the same admin.
#[test]
fn a_backup_restores_into_a_fresh_data_folder_but_never_over_a_vault() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = api::DataDir::open(&tmp.path().join("old")).unwrap();
    let mut admin = SessionSlot::new();
    let secret = setup(&dir, &mut admin);
    saved(&mut admin, 60);
    let (archive, _) = api::backup::backup_in_data_dir(&dir, &mut admin).unwrap();
    assert!(archive.starts_with(dir.path().join("backups")));

    let fresh = api::DataDir::open(&tmp.path().join("new")).unwrap();
    std::fs::create_dir_all(fresh.path().join("logs")).unwrap();
    let with = || api::backup::RestoreWith::Admin {
        username: "alice".into(),
        password: "correct horse battery 42".into(),
        code: testkit::totp::code_now(&secret),
    };
    let summary = api::backup::restore_into_data_dir(&fresh, &archive, with()).unwrap();
    assert_eq!((summary.applications, summary.users), (1, 1));
    assert_eq!(
        api::backup::restore_into_data_dir(&fresh, &archive, with())
            .unwrap_err()
            .code(),
        Code::Conflict,
        "never over a vault"
    );
    assert_eq!(
        api::backup::restore_into_data_dir(&dir, &archive, with())
            .unwrap_err()
            .code(),
        Code::Conflict
    );
    assert_eq!(
        api::app_info(&fresh).unwrap().vault,
        api::domain::VaultState::Locked
    );
}

/// Issue 7: the scheduled purge. The shell's timer calls it; here the clock is moved instead:
/// the first check only starts the clock, then at most once a day, nothing while the vault is
/// locked or the schedule is off, and six years after a withdrawal the record is erased — as
/// `system:retention`, audited.
#[test]
fn the_scheduled_purge_runs_daily_and_erases_what_is_past_retention() {
    use time::Duration;
    let tmp = tempfile::tempdir().unwrap();
    let dir = api::DataDir::open(tmp.path()).unwrap();
    let mut admin = SessionSlot::new();
    setup(&dir, &mut admin);
    let mut uma = signed_in_user(&dir, &mut admin, "uma", "underwriter");
    let (withdrawn, version, _) = saved(&mut admin, 44);
    let view = intake::submit(&mut admin, &withdrawn, version).unwrap();
    intake::withdraw(&mut admin, &withdrawn, view.summary.version).unwrap();
    let (draft, _, _) = saved(&mut admin, 45);

    let now = time::OffsetDateTime::now_utc();
    assert!(
        gdpr::scheduled_retention(&mut admin, now)
            .unwrap()
            .is_none(),
        "the first check only starts the clock"
    );
    let plan = gdpr::retention_schedule(&mut admin).unwrap();
    assert_eq!(
        plan.next_run,
        Some((now + Duration::days(1)).date().to_string())
    );
    assert!(
        gdpr::scheduled_retention(&mut admin, now + Duration::hours(23))
            .unwrap()
            .is_none(),
        "once a day"
    );
    let first = gdpr::scheduled_retention(&mut admin, now + Duration::hours(25))
        .unwrap()
        .unwrap();
    assert_eq!(
        (first.due.len(), first.erased),
        (0, 0),
        "nothing is past retention yet"
    );
    let later = now + Duration::days(6 * 366);
    let run = gdpr::scheduled_retention(&mut admin, later)
        .unwrap()
        .unwrap();
    let mut expected = vec![withdrawn.clone(), draft.clone()];
    expected.sort();
    assert_eq!(
        run.due, expected,
        "the withdrawal, and a draft abandoned as long"
    );
    assert_eq!(run.erased, 2);
    for id in [&withdrawn, &draft] {
        let err = intake::get_application(&mut admin, id).unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "its keys are destroyed");
    }
    let entries = api::audit_log::list_audit(&mut admin, None, 50)
        .unwrap()
        .entries;
    let audited = entries
        .iter()
        .find(|e| {
            e.action == "gdpr.retention_run"
                && e.actor == format!("{} for alice", gdpr::SCHEDULED_ACTOR)
        })
        .expect("the scheduled run is audited as the system");
    assert_eq!(
        audited.detail.as_deref(),
        Some("scheduled: 2 due, 2 erased")
    );

    // Switched off by an admin only; then it does nothing. Locked, it does nothing either.
    assert_eq!(
        gdpr::set_retention_schedule(&mut uma, false)
            .unwrap_err()
            .code(),
        Code::Forbidden
    );
    assert!(
        !gdpr::set_retention_schedule(&mut admin, false)
            .unwrap()
            .enabled
    );
    let much_later = later + Duration::days(400);
    assert!(gdpr::scheduled_retention(&mut admin, much_later)
        .unwrap()
        .is_none());
    assert!(
        gdpr::set_retention_schedule(&mut admin, true)
            .unwrap()
            .enabled
    );
    admin.lock().unwrap();
    assert!(gdpr::scheduled_retention(&mut admin, much_later)
        .unwrap()
        .is_none());
}

/// Issue 7: a backup taken while another session keeps writing is consistent. Each archive
/// restores (its integrity, audit chain and counts are checked before anything is moved) with
/// the applications it counted when it was taken, and the writer went on after the first.
#[test]
fn backups_taken_while_another_session_writes_restore_consistently() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let tmp = tempfile::tempdir().unwrap();
    let dir = api::DataDir::open(&tmp.path().join("live")).unwrap();
    let mut admin = SessionSlot::new();
    let secret = setup(&dir, &mut admin);
    let mut uma = signed_in_user(&dir, &mut admin, "uma", "underwriter");
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut n: i64 = 0;
            while !stop.load(Ordering::Relaxed) {
                saved(&mut uma, 1_000 + n as u64);
                n += 1;
            }
            n
        })
    };
    let mut taken = Vec::new();
    for i in 0..3 {
        std::thread::sleep(std::time::Duration::from_millis(150));
        let archive = tmp.path().join(format!("b{i}.backup"));
        let summary = api::backup::backup(&mut admin, &archive).unwrap();
        taken.push((archive, summary.applications));
    }
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(written > 0, "the other session wrote meanwhile");
    assert!(
        taken[0].1 < written,
        "the first backup was taken mid-stream ({} of {written})",
        taken[0].1
    );
    for (i, (archive, applications)) in taken.iter().enumerate() {
        let fresh = api::DataDir::open(&tmp.path().join(format!("restored{i}"))).unwrap();
        let summary = api::backup::restore_into_data_dir(
            &fresh,
            archive,
            api::backup::RestoreWith::Admin {
                username: "alice".into(),
                password: "correct horse battery 42".into(),
                code: testkit::totp::code_now(&secret),
            },
        )
        .unwrap();
        assert_eq!(summary.applications, *applications);
    }
}

/// Issue 16: generated exports expire. Files in exports/ older than the admin's setting (30
/// days unless changed) are deleted — by the window's minute tick (`expire_exports`) and at
/// every sign-in, the CLI's included — and the deletion is audited; newer files, and anything
/// that is not a regular file, stay.
#[test]
fn exports_older_than_the_setting_are_deleted_and_audited() {
    use std::time::{Duration, SystemTime};

    let tmp = tempfile::tempdir().unwrap();
    let dir = api::DataDir::open(tmp.path()).unwrap();
    let mut admin = SessionSlot::new();
    let secret = setup(&dir, &mut admin);
    let exports = tmp.path().join("exports");
    std::fs::create_dir_all(&exports).unwrap();
    let day = Duration::from_secs(86_400);
    let now = SystemTime::now();
    let file_aged = |name: &str, days: u32| {
        let path = exports.join(name);
        std::fs::write(&path, b"subject access").unwrap();
        let f = std::fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(now - day * days).unwrap();
        path
    };
    let old = file_aged("subject-old.html", 31);
    let recent = file_aged("subject-recent.html", 29);
    std::fs::create_dir(exports.join("a-folder")).unwrap();

    assert_eq!(
        api::exports::expire_exports(&mut admin, &dir, now).unwrap(),
        1
    );
    assert!(!old.exists(), "31 days old: deleted");
    assert!(recent.exists(), "29 days old: kept");
    assert!(exports.join("a-folder").exists(), "only regular files go");
    let log = api::audit_log::list_audit(&mut admin, None, 10).unwrap();
    let entry = log
        .entries
        .iter()
        .find(|e| e.action == "exports.expired")
        .expect("the deletion is audited");
    assert_eq!(
        entry.detail.as_deref(),
        Some("1 file(s) older than 30 days deleted")
    );

    let err = api::exports::set_export_days(&mut admin, 0).unwrap_err();
    assert_eq!(err.code(), Code::InvalidInput);
    assert!(
        err.message().starts_with("export days:"),
        "{}",
        err.message()
    );
    assert_eq!(api::exports::set_export_days(&mut admin, 7).unwrap(), 7);
    assert_eq!(gdpr::retention_schedule(&mut admin).unwrap().export_days, 7);

    // At the next sign-in the 29-day-old file is past the new 7 days.
    admin.lock().unwrap();
    api::auth::sign_in(
        &dir,
        api::auth::SignInInput {
            username: testkit::ADMIN.into(),
            password: testkit::PASSWORD.into(),
            code: Some(testkit::totp::code_ahead(&secret, 1)),
        },
        &mut admin,
        testkit::policy(),
    )
    .unwrap();
    assert!(!recent.exists(), "a sign-in expires exports too");
}
