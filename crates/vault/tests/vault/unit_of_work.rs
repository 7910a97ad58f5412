//! The unit of work: the one way to change the vault. A write outside it is refused and leaves
//! nothing; a unit that fails leaves neither its changes nor its audit entries.

use desk_vault::applications::{NewApplication, Source};
use desk_vault::audit::{Event, Outcome};
use desk_vault::testing::Raw;
use desk_vault::VaultError;
use domain::intake::ApplicationStatus;

use crate::support::*;

fn count(vault: &desk_vault::Vault) -> usize {
    vault
        .list_applications(&Default::default(), 50, None)
        .unwrap()
        .items
        .len()
}

/// Every change is a method of [`desk_vault::Tx`], so code outside a unit cannot call one (the
/// compiler refuses). Behind that, the connection itself refuses to commit outside a unit.
#[test]
fn a_write_outside_a_unit_is_refused_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let vault = &created.vault;
    let err = desk_vault::testing::stray_write(vault).unwrap_err();
    assert!(
        matches!(err, VaultError::Conflict(m) if m.contains("outside a unit of work")),
        "{err:?}"
    );
    assert_eq!(
        vault.raw_conn().query_row(
            "SELECT count(*) FROM settings WHERE key = 'stray'",
            [],
            |r| r.get::<_, i64>(0)
        ),
        Ok(0),
        "the refused write left nothing"
    );
    assert_eq!(count(vault), 0);
}

#[test]
fn a_failed_unit_leaves_neither_its_change_nor_its_audit_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let vault = &created.vault;
    let entries = vault.verify_audit().unwrap().entries;
    let f = form(0);
    let create = |tx: &desk_vault::Tx<'_>| {
        tx.insert_application(&NewApplication {
            id: "app-1",
            status: ApplicationStatus::Submitted,
            source: Source::Import,
            form: &f,
            actor: ADMIN,
            now_ms: 1,
        })?;
        tx.audit(&Event {
            actor: ADMIN,
            action: "application.create",
            target: Some("app-1"),
            outcome: Outcome::Ok,
            detail: None,
        })
    };
    let out: Result<(), VaultError> = vault.write(|tx| {
        create(tx)?;
        Err(VaultError::Conflict("changed my mind"))
    });
    assert!(out.is_err());
    assert_eq!(count(vault), 0, "the application rolled back");
    let report = vault.verify_audit().unwrap();
    assert_eq!(report.entries, entries, "its audit entry rolled back too");
    assert!(report.intact);

    // The same unit committing stores both, and the keyring's head follows.
    vault.write(create).unwrap();
    assert_eq!(count(vault), 1);
    let report = vault.verify_audit().unwrap();
    assert_eq!(report.entries, entries + 1);
    assert!(report.intact);
}

#[test]
fn a_unit_cannot_open_inside_another() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let vault = &created.vault;
    let inner: Result<(), VaultError> = vault.write(|_| vault.write(|_| Ok(())));
    assert!(matches!(inner, Err(VaultError::Conflict(_))), "{inner:?}");
    // The outer one rolled back cleanly: the next unit works.
    vault.write(|_| Ok::<_, VaultError>(())).unwrap();
}

#[test]
fn a_late_worker_cannot_record_over_a_newer_lease() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let vault = &created.vault;
    let f = form(0);
    vault
        .write(|tx| {
            tx.insert_application(&NewApplication {
                id: "app-1",
                status: ApplicationStatus::Approved,
                source: Source::Import,
                form: &f,
                actor: ADMIN,
                now_ms: 1,
            })?;
            tx.enqueue_boarding("job-1", "app-1", ADMIN, 1)
        })
        .unwrap();
    // The first worker leases until 10 and stalls; at 20 the lease has run out and a second
    // worker takes the job under a new token.
    let first = vault.write(|tx| tx.lease_due_job(5, 10)).unwrap().unwrap();
    assert!(
        vault.write(|tx| tx.lease_due_job(6, 16)).unwrap().is_none(),
        "a held job is not leased twice"
    );
    let second = vault.write(|tx| tx.lease_due_job(20, 30)).unwrap().unwrap();
    assert_eq!(first.id, second.id);
    assert_ne!(first.lease_token, second.lease_token);
    let late = vault.write(|tx| {
        tx.advance_job(
            &first.id,
            first.lease_token.as_deref().unwrap(),
            &desk_vault::boarding::JobStep::Person(0),
            Some("acct_late"),
            &[],
            21,
        )
    });
    assert!(matches!(late, Err(VaultError::Conflict(_))), "{late:?}");
    vault
        .write(|tx| {
            tx.advance_job(
                &second.id,
                second.lease_token.as_deref().unwrap(),
                &desk_vault::boarding::JobStep::Person(0),
                Some("acct_new"),
                &[],
                22,
            )
        })
        .unwrap();
    let job = vault.job("job-1").unwrap();
    assert_eq!(job.account_id.as_deref(), Some("acct_new"));
    assert_eq!(job.lease_token, None, "the completion gives the lease back");
}
