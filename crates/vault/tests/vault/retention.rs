use desk_vault::applications::{NewApplication, Source};
use desk_vault::retention::{decide, years_ms, Refusal};
use domain::intake::{ApplicationStatus, IndexKind};

use crate::support::*;

const YEAR: i64 = 31_557_600_000;

/// Issue 7: a record declined six years ago is past five years of retention and erases; one
/// declined last year is refused with the date; erasure destroys the record key (nothing opens
/// again), removes the blind indexes and leaves a tombstone; the audit chain still verifies.
#[test]
fn an_expired_record_erases_to_a_tombstone_and_a_recent_one_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let v = &created.vault;
    let now = 10 * YEAR;
    let forms = [form(1), form(2)];
    for (id, f, declined_at) in [
        ("old", &forms[0], now - 6 * YEAR),
        ("new", &forms[1], now - YEAR),
    ] {
        v.write(|tx| {
            tx.insert_application(&NewApplication {
                id,
                status: ApplicationStatus::Submitted,
                source: Source::Import,
                form: f,
                actor: ADMIN,
                now_ms: declined_at - 1000,
            })
        })
        .unwrap();
        let version = v.application_summary(id).unwrap().version;
        let version = v
            .write(|tx| {
                tx.transition_application(
                    id,
                    version,
                    ApplicationStatus::InReview,
                    ADMIN,
                    None,
                    declined_at - 500,
                )
            })
            .unwrap();
        v.write(|tx| {
            tx.transition_application(
                id,
                version,
                ApplicationStatus::Declined,
                ADMIN,
                None,
                declined_at,
            )
        })
        .unwrap();
    }
    let old = v.retention_facts("old").unwrap();
    assert_eq!(old.ended_at, Some(now - 6 * YEAR));
    assert_eq!(
        decide(&old, 5, now),
        Ok(()),
        "six years after the decline: erasable"
    );
    let recent = v.retention_facts("new").unwrap();
    assert_eq!(
        decide(&recent, 5, now),
        Err(Refusal::Retention {
            possible_from: now - YEAR + years_ms(5)
        })
    );
    assert_eq!(
        v.retention_candidates(now - years_ms(5)).unwrap(),
        vec!["old".to_string()]
    );

    v.write(|tx| tx.set_legal_hold("old", Some("subpoena 2031-17")))
        .unwrap();
    assert_eq!(
        decide(&v.retention_facts("old").unwrap(), 5, now),
        Err(Refusal::Hold)
    );
    assert!(
        v.retention_candidates(now - years_ms(5))
            .unwrap()
            .is_empty(),
        "a hold wins"
    );
    v.write(|tx| tx.set_legal_hold("old", None)).unwrap();

    let ein = digits(&forms[0].business.ein);
    assert_eq!(
        v.applications_with(IndexKind::Ein, &ein).unwrap(),
        vec!["old".to_string()]
    );
    let wal = tmp.path().join("vault.db-wal");
    assert!(
        std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) > 0,
        "the WAL holds the recent changes before the erasure"
    );
    v.write(|tx| tx.erase_application("old", now)).unwrap();
    assert_eq!(
        std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0),
        0,
        "right after an erasure the WAL is checkpointed and truncated: no old page image of \
         the erased record waits in it"
    );
    assert!(
        v.application("old").is_err(),
        "the sealed parts never open again"
    );
    assert!(
        v.existing_record_key("old").unwrap().is_none(),
        "the key is destroyed"
    );
    assert!(v
        .applications_with(IndexKind::Ein, &ein)
        .unwrap()
        .is_empty());
    let tomb = v.application_summary("old").unwrap();
    assert_eq!(
        (tomb.legal_name.as_str(), tomb.status),
        ("[erased]", ApplicationStatus::Declined)
    );
    assert_eq!(
        decide(&v.retention_facts("old").unwrap(), 5, now),
        Err(Refusal::Erased)
    );
    assert_eq!(
        v.application("new").unwrap().form,
        forms[1],
        "the other record is untouched"
    );
    assert!(v.verify_audit().unwrap().intact);
}

/// Issue 16, item 5: erasing a boarded merchant cancels its unfinished jobs for good (a worker
/// still holding one changes nothing with what it sends back, and nobody can requeue it: its
/// parameters can never be opened again) and queues the deletion of its platform account,
/// which nobody can cancel.
#[test]
fn an_erasure_cancels_the_merchants_jobs_for_good_and_queues_the_account_deletion() {
    use desk_vault::boarding::{JobKind, JobState, JobStep};
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let v = &created.vault;
    let f = form(3);
    v.write(|tx| {
        tx.insert_application(&NewApplication {
            id: "m1",
            status: ApplicationStatus::Submitted,
            source: Source::Import,
            form: &f,
            actor: ADMIN,
            now_ms: 1_000,
        })?;
        tx.upsert_merchant(
            "m1",
            "acct_m1",
            true,
            true,
            &serde_json::json!({}),
            &serde_json::json!({}),
            &[("person_1".into(), 0)],
            0,
            2_000,
        )?;
        tx.enqueue_job(
            "job-1",
            "m1",
            JobKind::Update,
            &JobStep::Send,
            Some("acct_m1"),
            None,
            ADMIN,
            2_000,
        )
    })
    .unwrap();
    let leased = v
        .write(|tx| tx.lease_due_job(i64::MAX / 2, i64::MAX / 2 + 60_000))
        .unwrap()
        .expect("the update job is due");
    let lease = leased.lease_token.clone().unwrap();

    v.write(|tx| tx.erase_application("m1", 3_000)).unwrap();
    let stale = v.write(|tx| tx.advance_job("job-1", &lease, &JobStep::Done, None, &[], 4_000));
    assert!(stale.is_err(), "the worker's answer lands on nothing");
    assert_eq!(v.job("job-1").unwrap().state, JobState::Cancelled);
    assert!(v.write(|tx| tx.requeue_job("job-1", 5_000)).is_err());

    let jobs = v.jobs(None, 100).unwrap();
    let delete = jobs
        .iter()
        .find(|j| j.application_id == "m1" && j.step == JobStep::DeleteAccount)
        .expect("the deletion is queued");
    assert_eq!(
        (delete.kind, delete.state, delete.account_id.as_deref()),
        (JobKind::Reject, JobState::Queued, Some("acct_m1"))
    );
    assert!(v.write(|tx| tx.cancel_job(&delete.id, 6_000)).is_err());
}
