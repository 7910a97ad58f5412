//! `desk watch` (issue 17, live updates): a signed-in desk prints a line when something another
//! desk (here: this test, through the api) changes — topic names only, never an id or a value.

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::Duration;

use api::{intake, DataDir};

use crate::boarding::{admin_signed_in, user_signed_in, PW};
use crate::sanctions::spawn_signed;

#[test]
fn watch_prints_a_line_per_change_another_desk_makes_and_names_no_application() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let (mut admin, _) = admin_signed_in(&dir, PW);
    let (secret, mut watcher) = user_signed_in(&dir, &mut admin, "watcher");
    watcher.lock().unwrap();

    let mut child = spawn_signed(
        tmp.path(),
        "watcher",
        &secret,
        &["--json", "watch", "--for", "20"],
        &[],
    );
    let (tx, lines) = mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = |what: &str| {
        lines
            .recv_timeout(Duration::from_secs(15))
            .unwrap_or_else(|_| panic!("no line from desk watch: waiting for {what}"))
    };

    let first: serde_json::Value = serde_json::from_str(&next("the start")).unwrap();
    assert_eq!(first, serde_json::json!({ "watching": true }));

    let form = intake::demo::low_risk(41);
    let legal_name = form.business.legal_name.clone();
    intake::import::import(
        &mut admin,
        "one.csv",
        &intake::import::to_csv(&[form]),
        &mut |_| {},
    )
    .unwrap();
    let id = api::review::queue(&mut admin, Default::default())
        .unwrap()
        .items[0]
        .id
        .clone();

    let line = next("the import");
    let said: serde_json::Value = serde_json::from_str(&line).unwrap();
    let topics: Vec<&str> = said["topics"]
        .as_array()
        .expect("a list of topics")
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    assert!(
        topics.contains(&"queue"),
        "an import moves the queue: {line}"
    );
    assert_eq!(said["resync"], false, "{line}");
    assert!(said["at"].as_i64().unwrap() > 0, "{line}");
    assert!(
        !line.contains(&id) && !line.contains(&legal_name),
        "an announcement names no application: {line}"
    );

    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap();
}
