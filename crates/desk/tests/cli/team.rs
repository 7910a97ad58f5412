//! `desk team`: the DBA's verbs against a real throwaway PostgreSQL cluster (issue 17).

use testkit::postgres::Cluster;

use super::{assert_ok, desk, stdout, user_error};

#[test]
fn the_owner_migrates_and_a_desk_checks_its_narrow_role() {
    let cluster = Cluster::start();
    let db = cluster.team_database("team");

    let out = desk(&["--json", "team", "migrate", "--url", &db.owner], None);
    assert_ok(&out);
    let done: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(done["applied"][0], "V1__audit");
    let version = done["version"].as_u64().unwrap();
    assert!(version >= 1);

    let again = desk(&["team", "migrate", "--url", &db.owner], None);
    assert_ok(&again);
    assert!(
        stdout(&again).contains("nothing to apply"),
        "{}",
        stdout(&again)
    );

    let check = desk(&["team", "check", "--url", &db.app], None);
    assert_ok(&check);
    let text = stdout(&check);
    assert!(text.contains("Desks' role: boarding_desk_app"), "{text}");
    assert!(
        text.contains(&format!("version {version} of {version}")),
        "{text}"
    );
    assert!(text.contains("plaintext (this machine only)"), "{text}");

    // The owner is not a desk's role.
    let (code, message) = user_error(&desk(
        &["--json", "team", "check", "--url", &db.owner],
        None,
    ));
    assert_eq!(code, "invalid_input");
    assert!(message.contains("cannot change the schema"), "{message}");
}

#[test]
fn a_plaintext_url_to_another_machine_is_refused_before_connecting() {
    let out = desk(
        &[
            "--json",
            "team",
            "check",
            "--url",
            "postgres://desk:hunter22@db.example.com/boarding_desk?sslmode=disable",
        ],
        None,
    );
    let (code, message) = user_error(&out);
    assert_eq!(code, "invalid_input");
    assert!(
        message.starts_with("team store URL: db.example.com is not on this machine"),
        "{message}"
    );
    assert!(!message.contains("hunter22"), "{message}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("hunter22"));
}

#[test]
fn an_unreachable_store_is_unavailable_and_the_pgpassword_is_not_echoed() {
    let cluster = Cluster::start();
    let port = cluster.port;
    drop(cluster);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_desk"))
        .args(["--json", "team", "check", "--url"])
        .arg(format!("postgres://desk@127.0.0.1:{port}/boarding_desk"))
        .env("PGPASSWORD", "hunter22")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "unavailable");
    assert!(!stdout(&out).contains("hunter22"));
}
