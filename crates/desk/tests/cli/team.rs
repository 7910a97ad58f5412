//! `desk team`: the DBA's verbs, creating a team and joining it, against a real throwaway
//! PostgreSQL cluster (issue 17).

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

#[test]
fn a_team_is_created_a_second_desk_joins_with_the_code_and_a_member_signs_in_there() {
    use super::vault_verbs::{desk_cmd, founding, unlock_as_admin, with_stdin};
    let cluster = Cluster::start();
    let db = cluster.team_database("cli_team");
    assert_ok(&desk(&["team", "migrate", "--url", &db.owner], None));
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));

    let (secret, _) = founding(
        &a,
        &["team", "create", "--url", &db.app, "--username", "admin"],
    );
    assert!(a.join("team.json").exists());
    assert!(
        !a.join(vault::VAULT_FILE).exists(),
        "the tables are in the store"
    );
    // One sign-in (a session agent) for the admin's verbs on desk A.
    assert_ok(&unlock_as_admin(&a, &secret));
    let on_a = |args: &[&str]| with_stdin(desk_cmd(&a, args), "");
    let added = on_a(&["--json", "user", "add", "bob", "--role", "underwriter"]);
    assert_ok(&added);
    let added: serde_json::Value = serde_json::from_slice(&added.stdout).unwrap();
    let otp = added["one_time_password"].as_str().unwrap().to_string();
    let shown = on_a(&["--json", "team", "code"]);
    assert_ok(&shown);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let join_code = shown["code"].as_str().unwrap().to_string();
    assert!(
        shown["store"].as_str().unwrap().contains("cli_team"),
        "{shown}"
    );

    // A mistyped code is refused by field and leaves nothing; the right one joins.
    let mistyped = join_code.replacen(&join_code[..4], "AAAA", 1);
    let (problem, message) = user_error(&with_stdin(
        desk_cmd(
            &b,
            &[
                "--json", "team", "join", "--url", &db.app, "--code", &mistyped,
            ],
        ),
        "",
    ));
    assert_eq!(problem, "invalid_input");
    assert!(message.starts_with("join code:"), "{message}");
    assert!(!b.join("team.json").exists());
    let joined = with_stdin(
        desk_cmd(
            &b,
            &["team", "join", "--url", &db.app, "--code", &join_code],
        ),
        "",
    );
    assert_ok(&joined);
    assert!(
        stdout(&joined).contains("joined the team"),
        "{}",
        stdout(&joined)
    );

    // Bob, added on desk A: his one-time password opens his slot on desk B (the keyring is
    // the team's), which sends him to the window for his first sign-in; a wrong one is
    // refused as a wrong one.
    let first = with_stdin(
        desk_cmd(
            &b,
            &[
                "--json", "--user", "bob", "--code", "000000", "user", "list",
            ],
        ),
        &format!("{otp}\n"),
    );
    let (problem, message) = user_error(&first);
    assert!(
        message.contains("finish your first sign-in"),
        "{problem}: {message}"
    );
    assert!(
        !stdout(&first).contains(&otp),
        "the one-time password is not echoed"
    );
    let wrong = with_stdin(
        desk_cmd(
            &b,
            &[
                "--json", "--user", "bob", "--code", "000000", "user", "list",
            ],
        ),
        "not his password 42\n",
    );
    assert!(!user_error(&wrong).1.contains("finish your first sign-in"));
    // The team's one log, on desk A: bob's sign-ins on desk B are in it, and it is intact.
    let log = on_a(&["--json", "audit", "list"]);
    assert_ok(&log);
    let entries: Vec<serde_json::Value> = serde_json::from_slice(&log.stdout).unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["actor"] == "bob" && e["action"] == "auth.sign_in"),
        "{entries:?}"
    );
    let verify = on_a(&["--json", "audit", "verify"]);
    assert_ok(&verify);
    let report: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(report["intact"], true, "{report}");

    // Applications stored from the CLI are found by any word of their name, and the store
    // holds none of the names.
    assert_ok(&on_a(&["demo", "seed", "--count", "6"]));
    let listed = on_a(&["--json", "application", "list"]);
    assert_ok(&listed);
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let names: Vec<String> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["legal_name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 6, "{listed}");
    let last_word = |n: &str| {
        n.split_whitespace()
            .rfind(|w| w.len() >= 4)
            .unwrap_or(n)
            .to_string()
    };
    let word = last_word(&names[0]);
    let found = on_a(&["--json", "application", "list", "--search", &word]);
    assert_ok(&found);
    let found: serde_json::Value = serde_json::from_slice(&found.stdout).unwrap();
    let hits = found["items"].as_array().unwrap();
    assert!(!hits.is_empty(), "{word}: {found}");
    assert!(
        hits.iter().all(|a| a["legal_name"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains(&word.to_lowercase())
            || a["dba"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains(&word.to_lowercase())),
        "{word}: {found}"
    );
    let dump = String::from_utf8_lossy(&cluster.dump(&db.name)).to_lowercase();
    for name in &names {
        assert!(
            !dump.contains(&name.to_lowercase()),
            "the store holds a name in clear"
        );
    }
    assert_ok(&on_a(&["lock"]));
}
