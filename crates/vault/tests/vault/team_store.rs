//! The team store's foundation on a real PostgreSQL cluster (issue 17): the transport policy,
//! TLS verified against a CA, migrations by the owner role, and a desks' role that can change
//! no schema and no audit entry.

use desk_vault::team::{connect, schema, StoreUrl};
use desk_vault::VaultError;
use testkit::postgres::Cluster;

fn url(s: &str) -> StoreUrl {
    s.parse().unwrap()
}

fn problem(e: VaultError) -> String {
    match e {
        VaultError::Invalid { problem, .. } => problem,
        other => panic!("another error: {other}"),
    }
}

#[test]
fn the_owner_migrates_once_and_the_desks_role_is_checked_narrow() {
    let cluster = Cluster::start();
    let db = cluster.team_database("team_a");
    let owner = url(&db.owner);

    let first = schema::migrate(&owner).unwrap();
    assert_eq!(first.applied, schema::known());
    assert_eq!(first.version as usize, schema::known().len());
    let again = schema::migrate(&owner).unwrap();
    assert!(again.applied.is_empty(), "nothing to apply twice");
    assert_eq!(again.version, first.version);

    // The desks' role passes its check; the owner and the superuser do not.
    let mut app = connect::connect(&url(&db.app)).unwrap();
    let standing = schema::check_desk_role(&mut app).unwrap();
    assert_eq!(standing.version, standing.expected);
    let mut as_owner = connect::connect(&owner).unwrap();
    assert!(
        problem(schema::check_desk_role(&mut as_owner).unwrap_err()).contains("may create schemas")
    );
    let mut superuser = connect::connect(&url(&cluster.url("team_a"))).unwrap();
    assert!(problem(schema::check_desk_role(&mut superuser).unwrap_err()).contains("superuser"));

    // What the desks' role cannot do, even with raw SQL.
    app.batch_execute(
        "INSERT INTO audit (seq, at, actor, action, outcome, prev_hash, hash)
         VALUES (1, '2026-01-01T00:00:00Z', 'x', 'y', 'ok', '\\x00', '\\x00')",
    )
    .unwrap();
    for (what, sql) in [
        ("a table", "CREATE TABLE desk.extra (v text)"),
        ("a table in public", "CREATE TABLE public.extra (v text)"),
        ("a schema", "CREATE SCHEMA other"),
        ("a changed entry", "UPDATE audit SET actor = 'z'"),
        ("a deleted entry", "DELETE FROM audit"),
        ("an emptied log", "TRUNCATE audit"),
        (
            "a dropped trigger",
            "DROP TRIGGER audit_append_only ON audit",
        ),
        ("a deleted checkpoint", "DELETE FROM audit_checkpoints"),
    ] {
        let err = app.batch_execute(sql).expect_err(what);
        assert_eq!(
            err.as_db_error().map(|d| d.code().code()),
            Some("42501"),
            "{what}: {err}"
        );
    }
    // The owner is stopped by the triggers too (until it drops them on purpose).
    let err = as_owner
        .batch_execute("DELETE FROM desk.audit")
        .expect_err("the owner's delete");
    let message = err.as_db_error().map(|d| d.message().to_string());
    assert!(
        message.unwrap_or_default().contains("append-only"),
        "{err:?}"
    );
}

#[test]
fn migrating_needs_the_desks_role_and_a_desk_needs_a_migrated_store() {
    let cluster = Cluster::start();
    cluster
        .psql("postgres", "CREATE ROLE lonely_owner LOGIN")
        .unwrap();
    cluster
        .psql("postgres", "CREATE DATABASE team_b OWNER lonely_owner")
        .unwrap();
    cluster
        .psql("postgres", "DROP ROLE IF EXISTS boarding_desk_app")
        .unwrap();
    let err = schema::migrate(&url(&cluster.url_as("lonely_owner", "team_b"))).unwrap_err();
    assert!(problem(err).contains("boarding_desk_app does not exist"));

    let db = cluster.team_database("team_c");
    let mut app = connect::connect(&url(&db.app)).unwrap();
    let err = schema::check_desk_role(&mut app).unwrap_err();
    assert!(problem(err).contains("desk team migrate"));
}

#[test]
fn tls_is_verified_against_the_named_ca_and_refused_for_another() {
    let cluster = Cluster::start_tls();
    let ca = cluster.ca_pem.clone().unwrap();
    let other = ca.with_file_name("other_ca.pem");
    let base = format!(
        "postgres://postgres@localhost:{}/postgres?hostaddr=127.0.0.1&sslmode=verify-full",
        cluster.port
    );

    let good = url(&format!("{base}&sslrootcert={}", ca.display()));
    assert!(good.uses_tls());
    let mut client = connect::connect(&good).unwrap();
    let ssl: bool = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(ssl, "the session runs over TLS");

    let err = connect::connect(&url(&format!("{base}&sslrootcert={}", other.display())))
        .err()
        .unwrap();
    match err {
        VaultError::StoreUnavailable(message) => {
            assert!(message.to_lowercase().contains("certificate"), "{message}")
        }
        other => panic!("another error: {other}"),
    }

    // A certificate for `localhost` is not one for another name the same address answers to.
    let wrong_name = url(&format!(
        "postgres://postgres@127.0.0.1:{}/postgres?sslmode=verify-full&sslrootcert={}",
        cluster.port,
        ca.display()
    ));
    assert!(matches!(
        connect::connect(&wrong_name),
        Err(VaultError::StoreUnavailable(_))
    ));

    let missing = url(&format!("{base}&sslrootcert=/nonexistent/ca.pem"));
    assert!(matches!(
        connect::connect(&missing),
        Err(VaultError::Invalid {
            field: "sslrootcert",
            ..
        })
    ));
}

#[test]
fn an_unreachable_store_says_so_without_the_password() {
    let cluster = Cluster::start();
    let port = cluster.port;
    drop(cluster);
    let err = connect::connect(&url(&format!(
        "postgres://desk:hunter22@127.0.0.1:{port}/boarding_desk"
    )))
    .err()
    .unwrap();
    let text = err.to_string();
    assert!(matches!(err, VaultError::StoreUnavailable(_)), "{text}");
    assert!(!text.contains("hunter22"), "{text}");
}

#[test]
fn the_vault_schema_takes_the_repositories_rows_and_keeps_its_counts() {
    let cluster = Cluster::start();
    let db = cluster.team_database("team_v");
    schema::migrate(&url(&db.owner)).unwrap();
    let mut app = connect::connect(&url(&db.app)).unwrap();
    schema::check_desk_role(&mut app).unwrap();
    app.batch_execute(
        "INSERT INTO applications (id, status, legal_name, legal_name_key, dba, dba_key,
             entity_type, mcc, people_count, source, created_by, created_at, updated_at,
             version, body)
         VALUES ('a1', 'draft', 'x', 'x', 'y', 'y', 'llc', '5999', 1, 'wizard', 'uma', 1, 1, 1, '\\x00'),
                ('a2', 'draft', 'x', 'x', 'y', 'y', 'llc', '5999', 1, 'wizard', 'uma', 2, 2, 1, '\\x00');
         UPDATE applications SET status = 'submitted' WHERE id = 'a2';
         INSERT INTO application_history (application_id, at, actor, to_status) VALUES
             ('a1', 5, 'uma', 'draft'), ('a1', 5, 'uma', 'submitted');",
    )
    .unwrap();
    let counts: Vec<(String, i64)> = app
        .query(
            "SELECT status, n FROM application_counts ORDER BY status",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        counts,
        vec![("draft".to_string(), 1), ("submitted".to_string(), 1)]
    );
    let queued: i64 = app
        .query_one("SELECT in_queue FROM applications WHERE id = 'a2'", &[])
        .unwrap()
        .get(0);
    assert_eq!(queued, 1, "the generated queue flag follows the status");
    let order: Vec<String> = app
        .query(
            "SELECT to_status FROM application_history WHERE application_id = 'a1' ORDER BY at, rowid",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        order,
        ["draft", "submitted"],
        "rows of one instant keep their order"
    );
    // Erasure records prove what was erased: the desks may add them, never remove them.
    app.batch_execute(
        "INSERT INTO erasure_requests (id, application_id, requested_by, at, outcome, source)
         VALUES ('e1', 'a1', 'uma', 9, 'erased', 'request')",
    )
    .unwrap();
    let err = app
        .batch_execute("DELETE FROM erasure_requests")
        .expect_err("no delete");
    assert_eq!(err.as_db_error().map(|d| d.code().code()), Some("42501"));
}

mod on_the_store {
    //! A vault whose tables are in the team store (its keyring still in the desk's folder:
    //! `Vault::create_on_store`, the step issue 17 builds on): the repositories' SQL on
    //! PostgreSQL, end to end.

    use super::*;
    use crate::support::*;
    use desk_vault::applications::{ListFilter, NewApplication, Source};
    use desk_vault::Vault;
    use domain::intake::{ApplicationStatus, IndexKind};

    pub(super) fn on_store(
        cluster: &Cluster,
        db: &str,
        dir: &std::path::Path,
    ) -> (desk_vault::Created, String) {
        let urls = cluster.team_database(db);
        schema::migrate(&url(&urls.owner)).unwrap();
        let created = Vault::create_on_store(
            dir,
            &url(&urls.app),
            &username(ADMIN),
            &password(ADMIN_PW, ADMIN),
            policy(),
            t0(),
        )
        .unwrap();
        let secret = created.enrolment.secret.clone();
        created
            .vault
            .confirm_totp(&created.admin.id, &code_at(&secret, t0()), t0())
            .unwrap();
        (created, secret)
    }

    #[test]
    fn applications_users_and_the_audit_chain_work_on_the_store_and_survive_a_sign_in() {
        let cluster = Cluster::start();
        let tmp = tempfile::tempdir().unwrap();
        let (created, secret) = on_store(&cluster, "desk_a", tmp.path());
        let vault = created.vault;
        assert!(vault.is_team());
        assert!(
            !tmp.path().join(desk_vault::VAULT_FILE).exists(),
            "no local vault file: the tables are in the store"
        );

        let forms: Vec<_> = (0..12).map(form).collect();
        let ids: Vec<String> = (0..12).map(|i| format!("app-{i:04}")).collect();
        let batch: Vec<_> = (0..12)
            .map(|i| NewApplication {
                id: &ids[i],
                status: ApplicationStatus::Submitted,
                source: Source::Import,
                form: &forms[i],
                actor: ADMIN,
                now_ms: 1_000 + i as i64,
            })
            .collect();
        let mut twins = form(99);
        twins.people.push(twins.people[0].clone());
        let bad = [NewApplication {
            id: "twins",
            form: &twins,
            ..batch[0]
        }];
        let results = vault.write(|tx| tx.insert_applications(&batch)).unwrap();
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        let refused = vault.write(|tx| tx.insert_applications(&bad)).unwrap();
        assert!(matches!(
            refused[0],
            Err(VaultError::Invalid {
                field: "people",
                ..
            })
        ));
        assert!(matches!(
            vault.application("twins"),
            Err(VaultError::NotFound(_))
        ));

        // Reads, the list's filters and pages, blind indexes.
        assert_eq!(vault.application("app-0003").unwrap().form, form(3));
        let page = vault
            .list_applications(&ListFilter::default(), 5, None)
            .unwrap();
        assert_eq!((page.total, page.items[0].id.as_str()), (12, "app-0011"));
        let second = vault
            .list_applications(&ListFilter::default(), 5, page.next.as_ref())
            .unwrap();
        assert_eq!(second.items[0].id, "app-0006");
        let by_name = ListFilter {
            name_prefix: Some("  ACME 1".into()),
            ..ListFilter::default()
        };
        assert_eq!(
            vault.list_applications(&by_name, 50, None).unwrap().total,
            3
        );
        let ein = digits(&forms[4].business.ein);
        assert_eq!(
            vault.applications_with(IndexKind::Ein, &ein).unwrap(),
            vec!["app-0004".to_string()]
        );

        // A transition, with its history in order.
        let v = vault.application_summary("app-0002").unwrap().version;
        vault
            .write(|tx| {
                tx.transition_application(
                    "app-0002",
                    v,
                    ApplicationStatus::InReview,
                    ADMIN,
                    None,
                    2_000,
                )
            })
            .unwrap();
        let history = vault.application_history("app-0002").unwrap();
        assert_eq!(
            history.iter().map(|h| h.to.as_str()).collect::<Vec<_>>(),
            ["submitted", "in_review"]
        );
        let in_review = ListFilter {
            status: Some(ApplicationStatus::InReview),
            ..ListFilter::default()
        };
        assert_eq!(
            vault.list_applications(&in_review, 50, None).unwrap().total,
            1
        );

        // Users: a duplicate name is named; a new user is listed.
        let (bob, _) = vault
            .create_user(ADMIN, &username("bob"), domain::Role::Underwriter, t0())
            .unwrap();
        assert!(matches!(
            vault.create_user(ADMIN, &username("bob"), domain::Role::Auditor, t0()),
            Err(VaultError::Invalid {
                field: "username",
                ..
            })
        ));
        let names: Vec<String> = vault
            .users()
            .unwrap()
            .into_iter()
            .map(|u| u.username)
            .collect();
        assert_eq!(names, ["alice", "bob"]);
        assert_eq!(vault.user_by_id(&bob.id).unwrap().username, "bob");

        let report = vault.verify_audit().unwrap();
        assert!(report.intact, "{report:?}");
        let entries = report.entries;
        drop(vault);

        // Signed in again from the folder's team.json: the same store, everything there.
        let again = sign_in_admin(tmp.path(), &secret, at(5));
        assert!(again.is_team());
        assert_eq!(again.application("app-0011").unwrap().form, form(11));
        let report = again.verify_audit().unwrap();
        assert!(report.intact, "{report:?}");
        assert!(report.entries > entries, "the sign-in is in the team's log");
        assert!(matches!(
            again.backup(&tmp.path().join("b.bdbackup"), ADMIN, at(6)),
            Err(VaultError::Conflict(_))
        ));
    }

    #[test]
    fn a_folder_pointing_at_another_vaults_store_is_refused() {
        let cluster = Cluster::start();
        let first = tempfile::tempdir().unwrap();
        let (created, _) = on_store(&cluster, "desk_b", first.path());
        drop(created);
        // A second vault made against a store that already holds one is refused, and leaves
        // nothing in its folder.
        let second = tempfile::tempdir().unwrap();
        let taken = Vault::create_on_store(
            second.path(),
            &url(&cluster.url_as("boarding_desk_app", "desk_b")),
            &username(ADMIN),
            &password(ADMIN_PW, ADMIN),
            policy(),
            t0(),
        );
        assert!(
            matches!(taken, Err(VaultError::AlreadyExists)),
            "{:?}",
            taken.err()
        );
        for left in [desk_vault::KEYRING_FILE, "team.json"] {
            assert!(!second.path().join(left).exists(), "{left} left behind");
        }
    }
}

mod two_desks {
    //! Two desks on one store (the second joined with the first's code) act on the same
    //! applications at the same moment: units run one at a time, so no change is
    //! lost and each application moves once.

    use super::*;
    use crate::support::*;
    use desk_vault::applications::{NewApplication, Source};
    use desk_vault::Vault;
    use domain::intake::ApplicationStatus;

    #[test]
    fn the_same_transition_from_two_desks_at_once_happens_once_and_the_other_is_a_conflict() {
        let cluster = Cluster::start();
        let a = tempfile::tempdir().unwrap();
        let (created, secret) = super::on_the_store::on_store(&cluster, "two_desks", a.path());
        const APPS: usize = 40;
        let forms: Vec<_> = (0..APPS as u32).map(form).collect();
        let ids: Vec<String> = (0..APPS).map(|i| format!("app-{i:03}")).collect();
        let batch: Vec<_> = (0..APPS)
            .map(|i| NewApplication {
                id: &ids[i],
                status: ApplicationStatus::Submitted,
                source: Source::Import,
                form: &forms[i],
                actor: ADMIN,
                now_ms: 1_000 + i as i64,
            })
            .collect();
        let stored = created
            .vault
            .write(|tx| tx.insert_applications(&batch))
            .unwrap();
        assert!(stored.iter().all(Result::is_ok));
        let code = created.vault.join_code().unwrap();
        drop(created);
        let b = tempfile::tempdir().unwrap();
        let store = url(&cluster.url_as("boarding_desk_app", "two_desks"));
        desk_vault::team::join::join(b.path(), &store, &code).unwrap();
        let desk_a = sign_in_admin(a.path(), &secret, at(1));
        let desk_b = sign_in_admin(b.path(), &secret, at(2));

        let barrier = std::sync::Barrier::new(2);
        let run = |vault: Vault, to: ApplicationStatus| {
            barrier.wait();
            let won = ids
                .iter()
                .map(|id| {
                    vault
                        .write(|tx| tx.transition_application(id, 1, to, ADMIN, None, 5_000))
                        .map_err(|e| assert!(matches!(e, VaultError::Conflict(_)), "{e}"))
                        .is_ok()
                })
                .collect::<Vec<bool>>();
            (won, vault)
        };
        let (outcomes, desk_a, desk_b) = std::thread::scope(|scope| {
            let run = &run;
            let one = scope.spawn(move || run(desk_a, ApplicationStatus::InReview));
            let two = scope.spawn(move || run(desk_b, ApplicationStatus::Withdrawn));
            let (won_a, desk_a) = one.join().unwrap();
            let (won_b, desk_b) = two.join().unwrap();
            (vec![won_a, won_b], desk_a, desk_b)
        });
        for (i, id) in ids.iter().enumerate() {
            assert!(
                outcomes[0][i] ^ outcomes[1][i],
                "{id}: exactly one desk's change wins"
            );
            let summary = desk_a.application_summary(id).unwrap();
            assert_eq!(summary.version, 2, "{id} moved once");
            let history = desk_b.application_history(id).unwrap();
            assert_eq!(history.len(), 2, "{id}: one transition in its history");
        }
        assert!(desk_a.verify_audit().unwrap().intact);
    }
}

mod joining {
    //! A second desk joins the team with the code an admin's desk shows: it trusts the founder
    //! the code names, its members sign in there with the keyring the store holds, and what a
    //! holder of the store's credentials writes into that keyring is not believed.

    use super::*;
    use crate::support::*;
    use desk_vault::team::join::{self, forgery};
    use desk_vault::team::JoinCode;
    use desk_vault::{NextStep, Vault};

    fn app_url(cluster: &Cluster, db: &str) -> StoreUrl {
        url(&cluster.url_as("boarding_desk_app", db))
    }

    /// `refused` names `field`, and the folder it was to join is left empty.
    fn refused_leaving_nothing(
        refused: Result<(), VaultError>,
        field: &str,
        dir: &std::path::Path,
    ) {
        match &refused {
            Err(VaultError::Invalid { field: f, .. }) if *f == field => {}
            other => panic!("expected a refusal of {field}, got {other:?}"),
        }
        assert_eq!(std::fs::read_dir(dir).unwrap().count(), 0, "nothing left");
    }

    #[test]
    fn a_desk_joins_with_the_code_and_members_sign_in_on_either_desk() {
        let cluster = Cluster::start();
        let a = tempfile::tempdir().unwrap();
        let (created, secret) = super::on_the_store::on_store(&cluster, "joined", a.path());
        let (bob, otp) = created
            .vault
            .create_user(ADMIN, &username("bob"), domain::Role::Underwriter, t0())
            .unwrap();
        let code = created.vault.join_code().unwrap();
        assert_eq!(JoinCode::parse(&code.to_string()).unwrap(), code);
        drop(created);

        let b = tempfile::tempdir().unwrap();
        join::join(b.path(), &app_url(&cluster, "joined"), &code).unwrap();
        // The desk keeps only its own part: no member's slot or key is in its folder.
        let own: serde_json::Value = serde_json::from_slice(
            &std::fs::read(b.path().join(desk_vault::KEYRING_FILE)).unwrap(),
        )
        .unwrap();
        assert_eq!(own["slots"], serde_json::json!({}), "{own}");
        assert_eq!(own["members"], serde_json::json!({}), "{own}");
        assert!(matches!(
            join::join(b.path(), &app_url(&cluster, "joined"), &code),
            Err(VaultError::AlreadyExists)
        ));

        // Bob's first sign-in is on the new desk: one-time password, then his own, then TOTP.
        let enrolment = first_sign_in(b.path(), &bob.id, otp.expose(), "quiet river stones 7");
        // His new password is the team's: it opens his slot on the founding desk too.
        let (on_a, _, next) = Vault::sign_in(
            a.path(),
            "bob",
            "quiet river stones 7",
            Some(&code_at(&enrolment.secret, at(3))),
            policy(),
            at(3),
        )
        .unwrap();
        assert!(matches!(next, NextStep::Ready));
        drop(on_a);
        // The admin signs in on the new desk (registering its key), and every desk reads one
        // intact chain.
        let admin_b = sign_in_admin(b.path(), &secret, at(5));
        assert!(admin_b.is_team());
        let report = admin_b.verify_audit().unwrap();
        assert!(report.intact, "{report:?}");
        // Any member's desk shows the same code: it names the founder, not the desk.
        assert_eq!(admin_b.join_code().unwrap(), code);
        drop(admin_b);
        let admin_a = sign_in_admin(a.path(), &secret, at(7));
        let again = admin_a.verify_audit().unwrap();
        assert!(again.intact && again.entries > report.entries, "{again:?}");
    }

    #[test]
    fn a_code_for_another_team_or_a_replaced_keyring_is_refused_and_leaves_nothing() {
        let cluster = Cluster::start();
        let a = tempfile::tempdir().unwrap();
        let (created, _) = super::on_the_store::on_store(&cluster, "team_one", a.path());
        let ours = created.vault.join_code().unwrap();
        drop(created);
        let other = tempfile::tempdir().unwrap();
        let (created, _) = super::on_the_store::on_store(&cluster, "team_two", other.path());
        let theirs = created.vault.join_code().unwrap();
        drop(created);

        let b = tempfile::tempdir().unwrap();
        let refused = join::join(b.path(), &app_url(&cluster, "team_one"), &theirs);
        refused_leaving_nothing(refused, "join code", b.path());

        // A holder of the store's credentials puts the other team's keyring (the founder and
        // every key theirs) in place of ours, with our vault's id: a desk told our founder is
        // not fooled.
        let mut client = postgres::Client::connect(
            &cluster.url_as("boarding_desk_owner", "team_two"),
            postgres::NoTls,
        )
        .unwrap();
        let body: Vec<u8> = client
            .query_one("SELECT body FROM desk.keyring", &[])
            .unwrap()
            .get(0);
        let mut forged: serde_json::Value = serde_json::from_slice(&body).unwrap();
        forged["vault_id"] = serde_json::json!(ours.vault_id.to_string());
        let mut client = postgres::Client::connect(
            &cluster.url_as("boarding_desk_owner", "team_one"),
            postgres::NoTls,
        )
        .unwrap();
        client
            .execute(
                "UPDATE desk.keyring SET body = $1",
                &[&serde_json::to_vec(&forged).unwrap()],
            )
            .unwrap();
        let refused = join::join(b.path(), &app_url(&cluster, "team_one"), &ours);
        refused_leaving_nothing(refused, "join code", b.path());
        let empty = cluster.team_database("team_empty");
        schema::migrate(&url(&empty.owner)).unwrap();
        let refused = join::join(b.path(), &url(&empty.app), &ours);
        refused_leaving_nothing(refused, "team store", b.path());
    }

    #[test]
    fn a_member_raised_to_admin_in_the_store_is_refused_on_a_desk_that_joined() {
        let cluster = Cluster::start();
        let a = tempfile::tempdir().unwrap();
        let (created, _) = super::on_the_store::on_store(&cluster, "raised", a.path());
        let (_, otp) = created
            .vault
            .create_user(ADMIN, &username("bob"), domain::Role::Underwriter, t0())
            .unwrap();
        let code = created.vault.join_code().unwrap();
        drop(created);
        let b = tempfile::tempdir().unwrap();
        join::join(b.path(), &app_url(&cluster, "raised"), &code).unwrap();
        // Before: bob signs in on the new desk as what an admin registered.
        let (vault, user, _) =
            Vault::sign_in(b.path(), "bob", otp.expose(), None, policy(), at(1)).unwrap();
        assert_eq!(user.role, domain::Role::Underwriter);
        drop(vault);
        // The store's credentials, no password: a self-signed admin registration for bob, and
        // his row raised to match.
        forgery::self_register_in_store(b.path(), "bob", "admin").unwrap();
        for desk in [a.path(), b.path()] {
            let refused = Vault::sign_in(desk, "bob", otp.expose(), None, policy(), at(2));
            assert!(
                matches!(refused, Err(VaultError::VaultDamaged(_))),
                "{:?}",
                refused.map(|(_, u, _)| u.role)
            );
        }
    }
}

mod shared_lockouts {
    //! Sign-in failures on a team store count on every desk (docs/adr/0001 §3): ten wrong
    //! passwords spread over two desks lock the member out on both, an admin's unlock lifts it
    //! everywhere, and rows a holder of the store's credentials writes lift nothing.

    use super::*;
    use crate::support::*;
    use desk_vault::team::join;
    use desk_vault::Vault;

    /// What a holder of the desks' database credentials connects with: raw SQL, no desk.
    fn raw_store(cluster: &Cluster, db: &str) -> postgres::Client {
        postgres::Client::connect(&cluster.url_as("boarding_desk_app", db), postgres::NoTls)
            .unwrap()
    }

    fn wrong(dir: &std::path::Path, when: time::OffsetDateTime) -> VaultError {
        match Vault::sign_in(dir, "bob", "not his password 42", None, policy(), when) {
            Err(e) => e,
            Ok(_) => panic!("a wrong password signed in"),
        }
    }

    /// A team on database `db`: desk A founded it with bob (an underwriter) added, desk B
    /// joined it with A's code.
    struct Team {
        a: tempfile::TempDir,
        b: tempfile::TempDir,
        secret: String,
        bob: desk_vault::User,
        otp: desk_vault::OneTimePassword,
    }

    fn team_of_two(cluster: &Cluster, db: &str) -> Team {
        let a = tempfile::tempdir().unwrap();
        let (created, secret) = super::on_the_store::on_store(cluster, db, a.path());
        let (bob, otp) = created
            .vault
            .create_user(ADMIN, &username("bob"), domain::Role::Underwriter, t0())
            .unwrap();
        let code = created.vault.join_code().unwrap();
        drop(created);
        let b = tempfile::tempdir().unwrap();
        let store = url(&cluster.url_as("boarding_desk_app", db));
        join::join(b.path(), &store, &code).unwrap();
        Team {
            a,
            b,
            secret,
            bob,
            otp,
        }
    }

    #[test]
    fn failures_on_two_desks_lock_the_member_out_on_both_until_an_admin_unlocks() {
        let cluster = Cluster::start();
        let Team {
            a,
            b,
            secret,
            bob,
            otp,
        } = team_of_two(&cluster, "lockouts");

        let max = policy().max_failures;
        for i in 0..max - 1 {
            let desk = if i % 2 == 0 { a.path() } else { b.path() };
            let e = wrong(desk, at(1));
            assert!(matches!(e, VaultError::BadCredentials), "attempt {i}: {e}");
        }
        // Neither desk saw ten; together they did.
        assert!(matches!(wrong(b.path(), at(2)), VaultError::Locked { .. }));
        for desk in [a.path(), b.path()] {
            let locked = Vault::sign_in(desk, "bob", otp.expose(), None, policy(), at(3));
            assert!(
                matches!(locked, Err(VaultError::Locked { .. })),
                "the right password is refused on every desk while locked"
            );
        }

        // Rows written with the store's credentials: an unsigned "cleared" lifts nothing.
        let mut raw = raw_store(&cluster, "lockouts");
        let slot: String = raw
            .query_one(
                "SELECT slot FROM desk.sign_in_events WHERE kind = 'failure' LIMIT 1",
                &[],
            )
            .unwrap()
            .get(0);
        // Under desk A's id (registered when the team was created there).
        let own: serde_json::Value = serde_json::from_slice(
            &std::fs::read(a.path().join(desk_vault::KEYRING_FILE)).unwrap(),
        )
        .unwrap();
        let desk_a = own["desk_record"].as_str().unwrap().to_string();
        let later = (at(3).unix_timestamp_nanos() / 1_000_000) as i64;
        raw.execute(
            "INSERT INTO desk.sign_in_events (slot, kind, at, desk, signature)
             VALUES ($1, 'cleared', $2, $3, '\\x00')",
            &[&slot, &later, &desk_a],
        )
        .unwrap();
        assert!(matches!(
            Vault::sign_in(b.path(), "bob", otp.expose(), None, policy(), at(4)),
            Err(VaultError::Locked { .. })
        ));
        // The desks' role cannot delete the rows either.
        assert!(raw.execute("DELETE FROM desk.sign_in_events", &[]).is_err());

        // The admin's unlock, on desk A, lifts it on desk B.
        let admin = sign_in_admin(a.path(), &secret, at(5));
        admin.unlock_user(ADMIN, &bob.id, at(5)).unwrap();
        drop(admin);
        let (_, user, _) =
            Vault::sign_in(b.path(), "bob", otp.expose(), None, policy(), at(6)).unwrap();
        assert_eq!(user.id, bob.id);
    }

    #[test]
    fn a_lockout_counted_on_one_desk_is_lifted_by_an_unlock_on_another_and_forged_rows_lift_none() {
        let cluster = Cluster::start();
        let Team {
            a,
            b,
            secret,
            bob,
            otp,
        } = team_of_two(&cluster, "lifted");
        // The admin's sign-in on desk B registers it: its rows are signed by a registered desk.
        drop(sign_in_admin(b.path(), &secret, at(1)));
        // Every failure on desk B: its own count locks it as the team's rows do.
        for _ in 0..policy().max_failures {
            let _ = wrong(b.path(), at(2));
        }
        assert!(matches!(wrong(b.path(), at(2)), VaultError::Locked { .. }));

        // Rows written with the store's credentials under an id no admin registered: dated far
        // in the future (past what a time holds), and just before the real ones so that a lock
        // of their own would expire before the real failures and swallow them. Neither lifts.
        let mut raw = raw_store(&cluster, "lifted");
        let row = raw
            .query_one(
                "SELECT slot, min(at) FROM desk.sign_in_events WHERE kind = 'failure' GROUP BY slot",
                &[],
            )
            .unwrap();
        let (slot, first): (String, i64) = (row.get(0), row.get(1));
        let lock_ms = policy().lock_for.whole_milliseconds() as i64;
        for at_ms in (0..10)
            .map(|i| 1_000_000_000_000_000 + i)
            .chain((0..10).map(|i| first - lock_ms + 1 + i))
        {
            raw.execute(
                "INSERT INTO desk.sign_in_events (slot, kind, at, desk, signature)
                 VALUES ($1, 'failure', $2, 'made-up-desk', '')",
                &[&slot, &at_ms],
            )
            .unwrap();
        }
        for desk in [a.path(), b.path()] {
            let still = Vault::sign_in(desk, "bob", otp.expose(), None, policy(), at(3));
            assert!(
                matches!(still, Err(VaultError::Locked { .. })),
                "{:?}",
                still.map(|_| ())
            );
        }

        // The admin's unlock on desk A lifts desk B's own count of the lockout too.
        let admin = sign_in_admin(a.path(), &secret, at(4));
        admin.unlock_user(ADMIN, &bob.id, at(4)).unwrap();
        drop(admin);
        let (_, user, _) =
            Vault::sign_in(b.path(), "bob", otp.expose(), None, policy(), at(5)).unwrap();
        assert_eq!(user.id, bob.id);
    }

    #[test]
    fn failures_forged_under_a_registered_desk_lock_no_one() {
        let cluster = Cluster::start();
        let a = tempfile::tempdir().unwrap();
        let (created, secret) = super::on_the_store::on_store(&cluster, "forged_fail", a.path());
        let (_, otp) = created
            .vault
            .create_user(ADMIN, &username("bob"), domain::Role::Underwriter, t0())
            .unwrap();
        drop(created);
        // One real failure gives bob's slot and desk A's id (registered: its admin signed in).
        drop(sign_in_admin(a.path(), &secret, at(1)));
        let _ = wrong(a.path(), at(2));
        let mut raw = raw_store(&cluster, "forged_fail");
        let row = raw
            .query_one(
                "SELECT slot, desk FROM desk.sign_in_events WHERE kind = 'failure'",
                &[],
            )
            .unwrap();
        let (slot, desk): (String, String) = (row.get(0), row.get(1));
        let now = (at(3).unix_timestamp_nanos() / 1_000_000) as i64;
        for i in 0..20i64 {
            raw.execute(
                "INSERT INTO desk.sign_in_events (slot, kind, at, desk, signature)
                 VALUES ($1, 'failure', $2, $3, '\\x01')",
                &[&slot, &(now + i), &desk],
            )
            .unwrap();
        }
        let (_, user, _) = Vault::sign_in(a.path(), "bob", otp.expose(), None, policy(), at(4))
            .expect("forged failures under a registered desk are ignored");
        assert_eq!(user.username, "bob");
    }
}
