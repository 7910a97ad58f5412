//! A crash inside a unit of work (issue 15): the `desk` process is aborted at each failpoint
//! of `review note` — after the note is written but before its audit entry, before the commit,
//! and after the commit but before the keyring's audit head moves. After each crash the vault
//! holds the note and its entry together or neither, and the audit chain verifies.

use api::{audit_log, intake, review, DataDir, SessionSlot};

use crate::boarding::{admin_signed_in, user_signed_in, PW};
use crate::sanctions::{run_with, text};

/// The notes on `id` and the `application.note` entries naming it, read by the admin.
fn notes_and_entries(admin: &mut SessionSlot, id: &str) -> (usize, usize) {
    let notes = review::review_view(admin, id).unwrap().notes.len();
    let entries = audit_log::list_audit(admin, None, 1000)
        .unwrap()
        .entries
        .iter()
        .filter(|e| e.action == "application.note" && e.target.as_deref() == Some(id))
        .count();
    (notes, entries)
}

#[test]
fn a_crash_anywhere_in_a_unit_keeps_the_change_and_its_audit_entry_together() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let (mut admin, _) = admin_signed_in(&dir, PW);
    let form = intake::demo::low_risk(7);
    intake::import::import(
        &mut admin,
        "one.csv",
        &intake::import::to_csv(&[form]),
        &mut |_| {},
    )
    .unwrap();
    let id = review::queue(&mut admin, Default::default()).unwrap().items[0]
        .id
        .clone();

    // (failpoint, whether the note and its entry survive the crash)
    let cases = [
        ("audit.append:application.note", false),
        ("unit.commit:application.note", false),
        ("audit.head:application.note", true),
    ];
    let mut expected = 0;
    for (n, (failpoint, survives)) in cases.into_iter().enumerate() {
        // One user per run: a sign-in spends an authenticator step.
        let name = format!("writer{n}");
        let (secret, mut s) = user_signed_in(&dir, &mut admin, &name);
        s.lock().unwrap();
        let out = run_with(
            tmp.path(),
            &name,
            &secret,
            &["review", "note", &id, "--text", "called the owner back"],
            &[("BOARDING_DESK_FAILPOINT", failpoint)],
        );
        assert!(
            !out.status.success() && out.status.code().is_none(),
            "{failpoint}: the process is killed at the failpoint, not ended by an error: {}",
            text(&out)
        );
        if survives {
            expected += 1;
        }
        assert_eq!(
            notes_and_entries(&mut admin, &id),
            (expected, expected),
            "{failpoint}: the note and its audit entry are both stored or both absent"
        );
        let report = audit_log::verify_audit(&mut admin, None).unwrap();
        assert!(report.intact, "{failpoint}: the chain verifies: {report:?}");
    }

    // Without a failpoint the same verb stores both, and the chain still verifies.
    let (secret, mut s) = user_signed_in(&dir, &mut admin, "writer9");
    s.lock().unwrap();
    let out = run_with(
        tmp.path(),
        "writer9",
        &secret,
        &["review", "note", &id, "--text", "called the owner back"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        notes_and_entries(&mut admin, &id),
        (expected + 1, expected + 1)
    );
    assert!(audit_log::verify_audit(&mut admin, None).unwrap().intact);
}
