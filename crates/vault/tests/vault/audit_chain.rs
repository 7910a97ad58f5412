use crate::support::*;
use desk_vault::testing::Raw;

#[test]
fn the_audit_log_refuses_updates_and_deletes() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let conn = created.vault.raw_conn();
    assert!(
        conn.execute("UPDATE audit SET actor = 'mallory'", [])
            .is_err(),
        "append-only"
    );
    assert!(
        conn.execute("DELETE FROM audit", []).is_err(),
        "append-only"
    );
}

#[test]
fn verify_finds_an_altered_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let conn = created.vault.raw_conn();
    conn.execute_batch(
        "DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'mallory' WHERE seq = 2;",
    )
    .unwrap();
    let report = created.vault.verify_audit().unwrap();
    assert!(!report.intact);
    assert_eq!(
        report.broken_at,
        Some(2),
        "points at the altered entry: {report:?}"
    );
}

#[test]
fn verify_finds_a_truncated_log_through_the_keyring_head() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let total = created.vault.verify_audit().unwrap().entries;
    assert!(total >= 3, "creation, user and enrolment were logged");
    let conn = created.vault.raw_conn();
    conn.execute_batch(&format!(
        "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = {total};"
    ))
    .unwrap();
    let report = created.vault.verify_audit().unwrap();
    assert!(
        !report.intact,
        "a removed tail entry is detected: {report:?}"
    );
    assert_eq!(report.broken_at, Some(total));
}

#[test]
fn audit_entries_are_newest_first_and_page_backwards() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let all = created.vault.audit_entries(100, None).unwrap();
    assert!(all.windows(2).all(|w| w[0].seq > w[1].seq));
    let older = created.vault.audit_entries(100, Some(all[0].seq)).unwrap();
    assert_eq!(older.len(), all.len() - 1);
}

#[test]
fn failed_sign_ins_are_signed_by_the_desk_an_admin_registered_and_each_entry_names_its_signer() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, totp) = created(tmp.path());
    let entries = created.vault.audit_entries(100, None).unwrap();
    let registered = entries
        .iter()
        .find(|e| e.action == "desk.registered")
        .expect("the founding admin registers the desk");
    assert_eq!(registered.signed_by.as_deref(), Some(ADMIN));
    let desk = registered.target.clone().unwrap();
    assert!(desk.starts_with("desk "), "{desk}");
    drop(created);

    let refused = desk_vault::Vault::sign_in(tmp.path(), ADMIN, "wrong", None, policy(), at(1));
    assert!(matches!(
        refused,
        Err(desk_vault::VaultError::BadCredentials)
    ));
    let vault = sign_in_admin(tmp.path(), &totp, at(2));
    let entries = vault.audit_entries(100, None).unwrap();
    let failed = entries
        .iter()
        .find(|e| e.actor == "anonymous" && e.action == "auth.sign_in")
        .expect("the failure is audited at the next sign-in");
    assert_eq!(
        failed.signed_by.as_deref(),
        Some(desk.as_str()),
        "{failed:?}"
    );
    let own = entries
        .iter()
        .find(|e| e.actor == ADMIN && e.action == "auth.sign_in")
        .unwrap();
    assert_eq!(own.signed_by.as_deref(), Some(ADMIN));
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.action == "desk.registered")
            .count(),
        1,
        "a desk is registered once"
    );
    let report = vault.verify_audit().unwrap();
    assert!(report.intact, "{report:?}");
}
