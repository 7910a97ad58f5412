use desk_vault::applications::{ListFilter, NewApplication, Source};
use desk_vault::testing::Raw;
use desk_vault::{Vault, VaultError, VAULT_FILE};
use domain::intake::{ApplicationStatus, IndexKind};

use crate::support::*;

fn new<'a>(id: &'a str, form: &'a domain::intake::ApplicationForm, ms: i64) -> NewApplication<'a> {
    NewApplication {
        id,
        status: ApplicationStatus::Submitted,
        source: Source::Import,
        form,
        actor: ADMIN,
        now_ms: ms,
    }
}

fn vault_with(n: u32) -> (tempfile::TempDir, Vault) {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let forms: Vec<_> = (0..n).map(form).collect();
    let ids: Vec<String> = (0..n).map(|i| format!("app-{i:04}")).collect();
    let batch: Vec<_> = (0..n as usize)
        .map(|i| new(&ids[i], &forms[i], 1_000 + i as i64))
        .collect();
    let results = created
        .vault
        .write(|tx| tx.insert_applications(&batch))
        .unwrap();
    assert!(results.iter().all(Result::is_ok));
    (tmp, created.vault)
}

#[test]
fn an_application_round_trips_through_its_sealed_parts() {
    let (_tmp, vault) = vault_with(1);
    let stored = vault.application("app-0000").unwrap();
    assert_eq!(stored.form, form(0));
    assert_eq!(stored.summary.status, ApplicationStatus::Submitted);
    assert_eq!(stored.summary.submitted_at, Some(1_000));
    assert_eq!(stored.summary.people_count, 1);
    let history = vault.application_history("app-0000").unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].to, "submitted");
}

#[test]
fn blind_indexes_find_equal_values_without_decrypting() {
    let (_tmp, vault) = vault_with(3);
    let f = form(1);
    let ein: String = f
        .business
        .ein
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert_eq!(
        vault.applications_with(IndexKind::Ein, &ein).unwrap(),
        vec!["app-0001".to_string()]
    );
    let ssn = digits(&f.people[0].ssn);
    assert_eq!(
        vault.applications_with(IndexKind::Ssn, &ssn).unwrap().len(),
        1
    );
    assert!(vault
        .applications_with(IndexKind::Ein, "999999999")
        .unwrap()
        .is_empty());
}

#[test]
fn one_bad_application_in_a_batch_leaves_no_trace_and_spares_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let good = form(1);
    let mut twins = form(2);
    twins.people.push(twins.people[0].clone()); // same person id twice: the insert fails midway
    let batch = [
        new("a", &good, 1),
        new("b", &twins, 2),
        new("c", &good, 3),
        new("a", &good, 4), // duplicate id
    ];
    let results = created
        .vault
        .write(|tx| tx.insert_applications(&batch))
        .unwrap();
    assert!(results[0].is_ok() && results[2].is_ok());
    assert!(matches!(
        results[1],
        Err(VaultError::Invalid {
            field: "people",
            ..
        })
    ));
    assert!(matches!(results[3], Err(VaultError::Conflict(_))));
    assert!(matches!(
        created.vault.application("b"),
        Err(VaultError::NotFound(_))
    ));
    let orphans: i64 = created
        .vault
        .raw_conn()
        .query_row(
            "SELECT (SELECT count(*) FROM application_people WHERE application_id = 'b')
                  + (SELECT count(*) FROM bank_accounts WHERE application_id = 'b')
                  + (SELECT count(*) FROM record_keys WHERE record_id = 'b')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0, "nothing half-written");
    assert_eq!(
        created.vault.application("a").unwrap().form,
        good,
        "the first 'a' stays"
    );
}

#[test]
fn updates_need_the_current_version_and_an_editable_status() {
    let tmp = tempfile::tempdir().unwrap();
    let (created, _) = created(tmp.path());
    let v = &created.vault;
    let f = form(1);
    v.write(|tx| {
        tx.insert_application(&NewApplication {
            status: ApplicationStatus::Draft,
            ..new("d", &f, 10)
        })
    })
    .unwrap();
    let mut changed = f.clone();
    changed.business.dba = "New DBA".into();
    changed.business.ein = "12-9999999".into();
    assert_eq!(
        v.write(|tx| tx.update_application("d", 1, &changed, "uma", 20))
            .unwrap(),
        2
    );
    assert!(matches!(
        v.write(|tx| tx.update_application("d", 1, &changed, "uma", 30)),
        Err(VaultError::Conflict(_))
    ));
    assert_eq!(v.application("d").unwrap().form.business.dba, "New DBA");
    assert!(
        v.applications_with(IndexKind::Ein, "123000001")
            .unwrap()
            .is_empty(),
        "old EIN unindexed"
    );
    assert_eq!(
        v.applications_with(IndexKind::Ein, "129999999").unwrap(),
        vec!["d".to_string()]
    );

    assert_eq!(
        v.write(|tx| tx.transition_application(
            "d",
            2,
            ApplicationStatus::Submitted,
            ADMIN,
            None,
            40
        ))
        .unwrap(),
        3
    );
    assert!(
        matches!(
            v.write(|tx| tx.update_application("d", 3, &f, "uma", 50)),
            Err(VaultError::Conflict(_))
        ),
        "a submitted application is not editable"
    );
    assert!(
        matches!(
            v.write(|tx| tx.transition_application(
                "d",
                3,
                ApplicationStatus::Approved,
                ADMIN,
                None,
                60
            )),
            Err(VaultError::Conflict(_))
        ),
        "submitted cannot jump to approved"
    );
    let history = v.application_history("d").unwrap();
    assert_eq!(
        history.iter().map(|h| h.to.as_str()).collect::<Vec<_>>(),
        ["draft", "submitted"]
    );
}

#[test]
fn lists_filter_search_and_page_newest_first() {
    let (_tmp, vault) = vault_with(12);
    let page = vault
        .list_applications(&ListFilter::default(), 5, None)
        .unwrap();
    assert_eq!(page.total, 12);
    assert_eq!(page.items.len(), 5);
    assert_eq!(page.items[0].id, "app-0011", "newest first");
    let second = vault
        .list_applications(&ListFilter::default(), 5, page.next.as_ref())
        .unwrap();
    assert_eq!(second.items[0].id, "app-0006");
    let third = vault
        .list_applications(&ListFilter::default(), 5, second.next.as_ref())
        .unwrap();
    assert_eq!(third.items.len(), 2);
    assert!(third.next.is_none());

    let by_name = ListFilter {
        name_prefix: Some("  ACME 1".into()),
        ..ListFilter::default()
    };
    let found = vault.list_applications(&by_name, 50, None).unwrap();
    assert_eq!(found.total, 3, "Acme 1, Acme 10, Acme 11");
    let by_dba = ListFilter {
        name_prefix: Some("widgets 7".into()),
        ..ListFilter::default()
    };
    assert_eq!(
        vault.list_applications(&by_dba, 50, None).unwrap().items[0].id,
        "app-0007"
    );
    let by_ein = ListFilter {
        ein_digits: Some("123000004".into()),
        ..ListFilter::default()
    };
    assert_eq!(
        vault.list_applications(&by_ein, 50, None).unwrap().items[0].id,
        "app-0004"
    );
    let none = ListFilter {
        status: Some(ApplicationStatus::Draft),
        ..ListFilter::default()
    };
    assert_eq!(vault.list_applications(&none, 50, None).unwrap().total, 0);
    let range = ListFilter {
        created_from: Some(1_002),
        created_to: Some(1_005),
        mcc: Some("5734".into()),
        ..ListFilter::default()
    };
    assert_eq!(vault.list_applications(&range, 50, None).unwrap().total, 3);
}

#[test]
fn shredding_an_application_key_makes_its_parts_unreadable() {
    let (_tmp, vault) = vault_with(1);
    assert!(vault.write(|tx| tx.shred_record("app-0000")).unwrap());
    assert!(matches!(
        vault.application("app-0000"),
        Err(VaultError::NotFound(_))
    ));
}

#[test]
fn no_sealed_value_is_in_the_file_even_after_decrypting_the_pages() {
    // The whole file is SQLCipher-encrypted; beyond that, sealed columns hold ciphertext.
    let (tmp, vault) = vault_with(1);
    let f = form(0);
    let bodies: Vec<Vec<u8>> = vault
        .raw_conn()
        .prepare("SELECT body FROM application_people UNION ALL SELECT body FROM bank_accounts UNION ALL SELECT body FROM applications")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for body in &bodies {
        let text = String::from_utf8_lossy(body);
        for secret in [
            &f.people[0].ssn,
            &f.bank.account_number,
            &f.business.ein,
            &f.people[0].first_name,
        ] {
            assert!(
                !text.contains(secret.as_str()),
                "a sealed column holds plaintext"
            );
        }
    }
    vault
        .raw_conn()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    let raw = std::fs::read(tmp.path().join(VAULT_FILE)).unwrap();
    assert!(
        !raw.windows(11).any(|w| w == b"Acme 0 Widg"),
        "legal names are inside the encrypted file"
    );
}

#[test]
fn status_counts_follow_inserts_and_transitions() {
    let (_tmp, vault) = vault_with(4);
    let count = |status: Option<ApplicationStatus>| {
        let filter = ListFilter {
            status,
            ..ListFilter::default()
        };
        let page = vault.list_applications(&filter, 1, None).unwrap();
        assert!(page.total_exact);
        page.total
    };
    assert_eq!(count(None), 4);
    assert_eq!(count(Some(ApplicationStatus::Submitted)), 4);
    vault
        .write(|tx| {
            tx.transition_application("app-0001", 1, ApplicationStatus::InReview, ADMIN, None, 9)
        })
        .unwrap();
    assert_eq!(count(Some(ApplicationStatus::Submitted)), 3);
    assert_eq!(count(Some(ApplicationStatus::InReview)), 1);
    assert_eq!(count(None), 4);
    let by_name = ListFilter {
        name_prefix: Some("acme".into()),
        ..ListFilter::default()
    };
    let page = vault.list_applications(&by_name, 50, None).unwrap();
    assert_eq!(
        (page.total, page.total_exact),
        (4, true),
        "counted when filtered"
    );
}

/// A stored status, flag or band that does not parse is vault damage, never a default value.
#[test]
fn a_stored_word_this_version_does_not_know_is_damage_never_a_default() {
    use desk_vault::review::{NewAssessment, QueueFilter};
    use domain::review::RiskBand;

    let (_tmp, vault) = vault_with(1);
    let id = "app-0000";
    vault
        .write(|tx| {
            tx.store_assessment(&NewAssessment {
                application_id: id,
                now_ms: 2_000,
                score: 80,
                band: RiskBand::High,
                recommendation: "decline",
                four_eyes: true,
                factors_json: "[]",
                rules_json: "{}",
            })?;
            tx.upsert_merchant(
                id,
                "acct_1",
                true,
                true,
                &serde_json::json!({}),
                &serde_json::json!({}),
                &[],
                0,
                3_000,
            )
        })
        .unwrap();
    // Stored and read back typed.
    assert_eq!(vault.assessment(id).unwrap().unwrap().band, RiskBand::High);
    let m = vault.merchant(id).unwrap().unwrap();
    assert_eq!(m.status, domain::merchant::MerchantStatus::Active);
    assert_eq!((m.risk_band, m.review_reason), (Some(RiskBand::High), None));

    let damaged = |what: &str, e: VaultError| {
        assert!(matches!(e, VaultError::VaultDamaged(_)), "{what}: {e:?}");
    };
    // The schema itself refuses an unknown band in an assessment…
    let raw = vault.raw_conn();
    assert!(raw
        .execute("UPDATE risk_assessments SET band = 'extreme'", [])
        .is_err());
    // …and where it has no CHECK, reading is what refuses it.
    raw.execute("UPDATE applications SET risk_band = 'extreme'", [])
        .unwrap();
    drop(raw);
    assert_eq!(vault.assessment(id).unwrap().unwrap().band, RiskBand::High);
    damaged(
        "queue band",
        vault.queue(&QueueFilter::default(), 10, 0).unwrap_err(),
    );

    let raw = vault.raw_conn();
    raw.execute("UPDATE applications SET risk_band = 'high'", [])
        .unwrap();
    assert!(raw
        .execute("UPDATE merchants SET status = 'asleep'", [])
        .is_err());
    drop(raw);
    assert_eq!(
        vault
            .queue(&QueueFilter::default(), 10, 0)
            .unwrap()
            .items
            .len(),
        1
    );

    let raw = vault.raw_conn();
    raw.execute("UPDATE merchants SET review_reason = 'vibes'", [])
        .unwrap();
    drop(raw);
    damaged("review flag", vault.merchant(id).unwrap_err());
}

/// Issue 17: what an earlier version stored in clear (the legal name and DBA in their columns,
/// notes as typed) is sealed by the first sign-in that finds it, in audited units; after that
/// the clear columns are empty, the names are found through tokens, and a second pass has
/// nothing to do.
#[test]
fn names_and_notes_an_earlier_version_left_in_clear_are_sealed_once() {
    let (_tmp, vault) = vault_with(12);
    let before = vault.application("app-0003").unwrap().summary;
    vault
        .write(|tx| {
            tx.add_decision(&desk_vault::review::NewDecision {
                id: "d-1",
                application_id: "app-0003",
                kind: "request_info",
                reasons_json: "[]",
                note: "placeholder",
                actor: ADMIN,
                now_ms: 2_000,
            })
        })
        .unwrap();
    // As the version before the names were sealed wrote them.
    let conn = vault.raw_conn();
    conn.execute_batch(&format!(
        "UPDATE applications SET names = NULL, legal_name = 'Acme ' || substr(id, 5),
             legal_name_key = lower('Acme ' || substr(id, 5)), dba = 'Quokka Widgets',
             dba_key = 'quokka widgets';
         DELETE FROM name_tokens;
         UPDATE decisions SET note = 'Called {0} about the lease';
         UPDATE application_history SET note = 'Moved for {0}' WHERE application_id = 'app-0003';",
        "Quintessa"
    ))
    .unwrap();
    drop(conn);
    let clear = vault.application_summary("app-0003").unwrap();
    assert_eq!(
        clear.legal_name, "Acme 0003",
        "the clear columns stand until sealed"
    );
    let quokka = ListFilter {
        name_prefix: Some("quokka".into()),
        ..ListFilter::default()
    };
    assert_eq!(vault.list_applications(&quokka, 50, None).unwrap().total, 0);

    assert_eq!(
        vault
            .seal_clear_names(ADMIN, time::OffsetDateTime::now_utc())
            .unwrap(),
        12
    );
    assert_eq!(
        vault
            .seal_clear_names(ADMIN, time::OffsetDateTime::now_utc())
            .unwrap(),
        0
    );
    let conn = vault.raw_conn();
    let in_clear: i64 = conn
        .query_row(
            "SELECT count(*) FROM applications WHERE names IS NULL OR legal_name <> '' OR dba <> ''
                 OR legal_name_key <> '' OR dba_key <> ''",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(in_clear, 0);
    let note: String = conn
        .query_row("SELECT note FROM decisions WHERE id = 'd-1'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(
        note.starts_with("sealed:") && !note.contains("Quintessa"),
        "{note}"
    );
    let history: String = conn
        .query_row(
            "SELECT note FROM application_history WHERE application_id = 'app-0003'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(history.starts_with("sealed:"), "{history}");
    drop(conn);
    let after = vault.application_summary("app-0003").unwrap();
    assert_eq!(after.legal_name, "Acme 0003");
    assert_eq!(after.dba, "Quokka Widgets");
    assert_eq!(after.version, before.version, "sealing changes no version");
    assert_eq!(
        vault.list_applications(&quokka, 50, None).unwrap().total,
        12
    );
    assert_eq!(
        vault.decisions("app-0003").unwrap()[0].note,
        "Called Quintessa about the lease"
    );
    assert_eq!(
        vault.application_history("app-0003").unwrap()[0]
            .note
            .as_deref(),
        Some("Moved for Quintessa")
    );
    let sealed = vault
        .audit_entries(20, None)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "vault.names_sealed")
        .count();
    assert_eq!(sealed, 1, "one unit, one entry");
}
