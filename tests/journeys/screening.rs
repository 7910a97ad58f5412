use std::path::PathBuf;

use api::intake::{self, demo, SaveDraft};
use api::{screening, Code, DataDir, SessionSlot};

use crate::auth::{setup, signed_in_user};

pub(crate) fn sanctions(set: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/testdata/sanctions")
        .join(set);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent", dir.display());
        None
    }
}

fn admin() -> (tempfile::TempDir, DataDir, SessionSlot) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let mut slot = SessionSlot::new();
    setup(&dir, &mut slot);
    (tmp, dir, slot)
}

/// A complete application whose control person is a listed SDN (born 1963).
fn listed_applicant() -> api::domain::intake::ApplicationForm {
    let mut form = demo::generate(1, 3).remove(0);
    let p = form.people.iter_mut().find(|p| p.is_control).unwrap();
    p.first_name = "Elvis Angus".into();
    p.last_name = "Logan Morey".into();
    p.dob = "1963-07-28".into();
    form
}

#[test]
fn lists_import_and_a_name_is_screened_with_reasons() {
    let Some(small) = sanctions("ofac-small") else {
        return;
    };
    let (_tmp, dir, mut admin) = admin();
    let err = screening::screen_name(&mut admin, "Elvis Logan Morey", None, None).unwrap_err();
    assert_eq!(err.code(), Code::Conflict, "no list loaded yet: {err}");

    let versions = screening::import_lists(&mut admin, &small).unwrap();
    assert_eq!(versions.len(), 1);
    assert!(versions[0].active);
    assert_eq!(versions[0].source, "sdn");

    let hits = screening::screen_name(&mut admin, "Elvis Logan Morey", Some(1963), None).unwrap();
    assert_eq!(hits[0].uid, "sdn:10278");
    assert!(hits[0].adjustments[0].contains("1963 matches"));

    let mut auditor = signed_in_user(&dir, &mut admin, "audrey", "auditor");
    assert_eq!(
        screening::import_lists(&mut auditor, &small)
            .unwrap_err()
            .code(),
        Code::Forbidden
    );
}

#[test]
fn a_malformed_list_names_file_and_line_and_keeps_the_previous_version() {
    let Some(small) = sanctions("ofac-small") else {
        return;
    };
    let (tmp, _dir, mut admin) = admin();
    let first = screening::import_lists(&mut admin, &small).unwrap();
    let broken = tmp.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    for f in ["sdn.csv", "alt.csv", "add.csv"] {
        std::fs::copy(small.join(f), broken.join(f)).unwrap();
    }
    std::fs::write(broken.join("alt.csv"), "10278,1,\"aka\"\r\n").unwrap();
    let err = screening::import_lists(&mut admin, &broken).unwrap_err();
    assert_eq!(err.code(), Code::InvalidInput);
    assert_eq!(
        err.message(),
        "lists: alt.csv line 1: has 3 fields; expected 5"
    );
    let versions = screening::list_versions(&mut admin).unwrap();
    assert_eq!(versions.len(), 1);
    assert!(
        versions[0].active && versions[0].id == first[0].id,
        "the previous version stays active"
    );
}

#[test]
fn submission_screens_dispositions_stick_and_a_new_list_rescreens() {
    let Some(small) = sanctions("ofac-small") else {
        return;
    };
    let (_tmp, dir, mut admin) = admin();
    let view = intake::save_draft(
        &mut admin,
        SaveDraft {
            id: None,
            version: None,
            form: listed_applicant(),
        },
    )
    .unwrap();
    let id = view.summary.id.clone();

    // Submitted before any list is loaded: not screened, and nothing fails.
    let view = intake::submit(&mut admin, &id, view.summary.version).unwrap();
    assert!(!view.summary.screened);

    screening::import_lists(&mut admin, &small).unwrap();
    let report = screening::rescreen(&mut admin, &mut |_| {}).unwrap();
    assert_eq!((report.screened, report.with_new_hits), (1, 1));
    let view = intake::get_application(&mut admin, &id).unwrap();
    assert!(view.summary.screened);
    assert_eq!(view.summary.open_hits, 1);
    let hit = &view.hits[0];
    assert_eq!(hit.list_uid, "sdn:10278");
    assert!(hit.subject.starts_with("people["));
    assert_eq!(hit.detail["matched_name"], "LOGAN MOREY, Elvis Angus");
    assert!(hit.detail["alignment"].as_array().unwrap().len() >= 3);

    let err = screening::dispose_hit(&mut admin, &hit.id, "maybe", "looked at it").unwrap_err();
    assert_eq!(err.code(), Code::InvalidInput);
    let err = screening::dispose_hit(&mut admin, &hit.id, "false_positive", "no").unwrap_err();
    assert!(err.message().starts_with("note:"));
    screening::dispose_hit(
        &mut admin,
        &hit.id,
        "false_positive",
        "Different person: DOB and passport differ",
    )
    .unwrap();
    let err =
        screening::dispose_hit(&mut admin, &hit.id, "true_match", "changed my mind").unwrap_err();
    assert_eq!(
        err.code(),
        Code::Conflict,
        "a second disposition is refused"
    );

    // Screening again (same list entry, unchanged) does not raise it again.
    let outcome = screening::screen_application(&mut admin, &id).unwrap();
    assert_eq!(
        (outcome.new_hits, outcome.open_hits, outcome.suppressed),
        (0, 0, 1)
    );
    let view = intake::get_application(&mut admin, &id).unwrap();
    assert_eq!(view.summary.open_hits, 0);
    assert_eq!(view.hits[0].disposition.as_deref(), Some("false_positive"));
    assert_eq!(view.hits[0].disposed_by.as_deref(), Some("alice"));

    // A new list version waits for a second admin (it could drop entries); once confirmed,
    // everything in play is screened again.
    let versions = screening::import_lists(&mut admin, &small).unwrap();
    assert!(
        !versions[0].active,
        "not active before a second admin confirms"
    );
    let report = screening::rescreen(&mut admin, &mut |_| {}).unwrap();
    assert_eq!(report.screened, 0, "the active version is unchanged");
    assert_eq!(
        api::settings::confirm_change(&mut admin, "list.sdn")
            .unwrap_err()
            .code(),
        Code::Forbidden,
        "not by the admin who loaded it"
    );
    let mut bob = crate::auth::signed_in_user(&dir, &mut admin, "bob", "admin");
    let pending = api::settings::pending_changes(&mut bob).unwrap();
    assert_eq!(pending[0].key, "list.sdn");
    api::settings::confirm_change(&mut bob, "list.sdn").unwrap();
    let active = screening::list_versions(&mut admin).unwrap();
    assert!(
        active.iter().any(|v| v.id == versions[0].id && v.active),
        "the confirmed version is the active one"
    );
    let report = screening::rescreen(&mut admin, &mut |_| {}).unwrap();
    assert_eq!(
        (report.screened, report.new_hits),
        (1, 0),
        "the disposition holds for the unchanged entry"
    );

    let actions: Vec<String> = api::audit_log::list_audit(&mut admin, None, 100)
        .unwrap()
        .entries
        .into_iter()
        .map(|e| format!("{} {}", e.action, e.detail.unwrap_or_default()))
        .collect();
    assert!(actions
        .iter()
        .any(|a| a.starts_with("screen.disposition hit ") && a.ends_with("false_positive")));
    assert!(
        actions
            .iter()
            .any(|a| a.starts_with("lists.import sdn: 17 entries")),
        "{actions:?}"
    );
    assert!(
        !actions
            .iter()
            .any(|a| a.contains("Elvis") || a.contains("LOGAN")),
        "no names in the audit log"
    );
}
