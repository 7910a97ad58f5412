//! Issue 14: the role matrix in docs/SECURITY.md is the law, and this test reads it. Every
//! window command (the list in src-tauri/build.rs) and every CLI-only verb has a row; each row's
//! use case is called as every role and with no session, and must be allowed or refused exactly
//! as the row says. Calls use harmless arguments (an id that does not exist, a dry run): what is
//! checked is the role gate, which comes before anything is looked up.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use api::{Code, DataDir, SessionSlot};

use crate::auth::{setup, signed_in_user};

type Call = Box<dyn Fn(&mut SessionSlot, &Ctx) -> api::Result<()>>;

struct Ctx {
    tmp: PathBuf,
    dir: DataDir,
    runtime: tokio::runtime::Runtime,
}

/// Runs an async use case that takes the shared slot.
fn shared<T>(
    slot: &mut SessionSlot,
    ctx: &Ctx,
    f: impl for<'a> FnOnce(
        &'a Mutex<SessionSlot>,
    )
        -> std::pin::Pin<Box<dyn std::future::Future<Output = api::Result<T>> + 'a>>,
) -> api::Result<()> {
    let m = Mutex::new(std::mem::take(slot));
    let out = ctx.runtime.block_on(f(&m)).map(drop);
    *slot = m.into_inner().unwrap();
    out
}

const NO: &str = "no-such-id";

fn form() -> domain::intake::ApplicationForm {
    api::intake::demo::low_risk(5)
}

/// The use case behind each row of the matrix.
fn calls() -> BTreeMap<&'static str, Call> {
    use api::{
        audit_log, boarding, gdpr, intake, merchant_changes, merchants, review, screening,
        settings, users,
    };
    let mut m: BTreeMap<&'static str, Call> = BTreeMap::new();
    let mut add = |k: &'static str, f: Call| {
        m.insert(k, f);
    };
    add(
        "set_idle_minutes",
        Box::new(|s, _| settings::set_idle_minutes(s, 10).map(drop)),
    );
    add(
        "list_users",
        Box::new(|s, _| users::list_users(s).map(drop)),
    );
    add(
        "create_user",
        Box::new(|s, _| {
            users::create_user(
                s,
                users::NewUserInput {
                    username: format!("made{}", rand_suffix()),
                    role: "auditor".into(),
                },
            )
            .map(drop)
        }),
    );
    add(
        "set_user_disabled",
        Box::new(|s, _| users::set_user_disabled(s, NO, true).map(drop)),
    );
    add(
        "rewrap_status",
        Box::new(|s, _| api::rewrap::rewrap_status(s, Default::default()).map(drop)),
    );
    add(
        "reset_user_password",
        Box::new(|s, _| users::reset_password(s, NO).map(drop)),
    );
    add(
        "reset_user_totp",
        Box::new(|s, _| users::reset_totp(s, NO).map(drop)),
    );
    add(
        "unlock_user",
        Box::new(|s, _| users::unlock_user(s, NO).map(drop)),
    );
    add(
        "verify_audit",
        Box::new(|s, _| audit_log::verify_audit(s, None).map(drop)),
    );
    add(
        "list_checkpoints",
        Box::new(|s, _| audit_log::list_checkpoints(s).map(drop)),
    );
    add(
        "sign_checkpoint",
        Box::new(|s, _| audit_log::sign_checkpoint(s).map(drop)),
    );
    add(
        "list_audit",
        Box::new(|s, _| audit_log::list_audit(s, None, 10).map(drop)),
    );
    add("rotate_key", Box::new(|s, _| audit_log::rotate_key(s)));
    add(
        "rotate_recovery_key",
        Box::new(|s, _| api::auth::rotate_recovery_key(s, None).map(drop)),
    );
    add(
        "keychain_status",
        Box::new(|s, _| api::keychain::keychain_status(s).map(drop)),
    );
    add(
        "set_keychain_binding",
        Box::new(|s, _| {
            api::keychain::set_keychain_binding(
                s,
                api::keychain::KeychainInput {
                    on: false,
                    password: String::new(),
                },
            )
            .map(drop)
        }),
    );
    add(
        "team_join_code",
        Box::new(|s, _| api::team::join_code(s).map(drop)),
    );
    add(
        "export_audit",
        Box::new(|s, _| audit_log::export_audit(s, "2026-01-01", "2026-01-02", "csv").map(drop)),
    );
    add(
        "export_merchants",
        Box::new(|s, _| merchants::export(s, "csv").map(drop)),
    );
    add(
        "gdpr_erase",
        Box::new(|s, _| gdpr::request_erasure(s, NO).map(drop)),
    );
    add(
        "gdpr_hold",
        Box::new(|s, _| gdpr::set_legal_hold(s, NO, Some("Court order 12"))),
    );
    add(
        "gdpr_export",
        Box::new(|s, _| gdpr::subject_export(s, "application", NO).map(drop)),
    );
    add(
        "sanctions_report_export",
        Box::new(|s, _| api::sanctions_report::export(s, None).map(drop)),
    );
    add(
        "retention_run",
        Box::new(|s, _| gdpr::retention_run(s, true).map(drop)),
    );
    add(
        "set_retention_years",
        Box::new(|s, _| gdpr::set_retention_years(s, 5).map(drop)),
    );
    add(
        "set_export_days",
        Box::new(|s, _| api::exports::set_export_days(s, 30).map(drop)),
    );
    add(
        "set_blocklist_years",
        Box::new(|s, _| api::blocklist::set_blocklist_years(s, 5).map(drop)),
    );
    add(
        "list_blocklist",
        Box::new(|s, _| api::blocklist::list(s, 0).map(drop)),
    );
    add(
        "backup_vault",
        Box::new(|s, c| api::backup::backup_in_data_dir(&c.dir, s).map(drop)),
    );
    add(
        "list_backups",
        Box::new(|s, c| api::backup::list_backups(&c.dir, s, None).map(drop)),
    );
    add(
        "save_draft",
        Box::new(|s, _| {
            intake::save_draft(
                s,
                intake::SaveDraft {
                    id: None,
                    version: None,
                    form: form(),
                },
            )
            .map(drop)
        }),
    );
    add(
        "get_application",
        Box::new(|s, _| intake::get_application(s, NO).map(drop)),
    );
    add(
        "submit_application",
        Box::new(|s, _| intake::submit(s, NO, 1).map(drop)),
    );
    add(
        "withdraw_application",
        Box::new(|s, _| intake::withdraw(s, NO, 1).map(drop)),
    );
    add(
        "reveal_field",
        Box::new(|s, _| intake::reveal(s, NO, "business.ein").map(drop)),
    );
    add(
        "list_applications",
        Box::new(|s, _| intake::list_applications(s, &intake::ListQuery::default()).map(drop)),
    );
    add(
        "check_application",
        Box::new(|s, _| intake::check_form(s, &form()).map(drop)),
    );
    add("mcc_codes", Box::new(|s, _| intake::mcc_codes(s).map(drop)));
    add(
        "add_document",
        Box::new(|s, _| {
            intake::add_document(s, NO, "articles", "a.pdf", b"%PDF-1.4 test").map(drop)
        }),
    );
    add(
        "document_content",
        Box::new(|s, _| intake::document_content(s, NO).map(drop)),
    );
    add(
        "delete_document",
        Box::new(|s, _| intake::delete_document(s, NO)),
    );
    add(
        "import_applications",
        Box::new(|s, _| intake::import::import(s, "x.csv", b"legal_name\n", &mut |_| {}).map(drop)),
    );
    add(
        "seed_demo",
        Box::new(|s, _| intake::demo::seed(s, 1, 3, &mut |_| {}).map(drop)),
    );
    add(
        "import_lists",
        Box::new(|s, c| screening::import_lists(s, &c.tmp.join("no-lists")).map(drop)),
    );
    add(
        "list_versions",
        Box::new(|s, _| screening::list_versions(s).map(drop)),
    );
    add(
        "screen_name",
        Box::new(|s, _| screening::screen_name(s, "Some Name", None, None).map(drop)),
    );
    add(
        "screen_application",
        Box::new(|s, _| screening::screen_application(s, NO).map(drop)),
    );
    add(
        "rescreen_status",
        Box::new(|s, _| screening::rescreen_status(s, Default::default()).map(drop)),
    );
    add(
        "dispose_hit",
        Box::new(|s, _| screening::dispose_hit(s, NO, "false_positive", "Different person")),
    );
    add(
        "review_queue",
        Box::new(|s, _| review::queue(s, review::QueueQuery::default()).map(drop)),
    );
    add(
        "review_view",
        Box::new(|s, _| review::review_view(s, NO).map(drop)),
    );
    add(
        "add_note",
        Box::new(|s, _| review::add_note(s, NO, "A note on it").map(drop)),
    );
    add(
        "assign_to_me",
        Box::new(|s, _| review::assign_to_me(s, NO, false).map(drop)),
    );
    add(
        "next_in_queue",
        Box::new(|s, _| review::next_in_queue(s).map(drop)),
    );
    add(
        "decide",
        Box::new(|s, _| {
            review::decide(
                s,
                review::DecideInput {
                    id: NO.into(),
                    version: 1,
                    decision: "approve".into(),
                    reasons: vec!["low_risk".into()],
                    note: "Checked the file".into(),
                    fields: vec![],
                    blocklist: false,
                    blocklist_basis: None,
                    confirmed_hits: vec![],
                },
            )
            .map(drop)
        }),
    );
    add(
        "review_dashboard",
        Box::new(|s, _| review::dashboard(s).map(drop)),
    );
    add(
        "risk_settings",
        Box::new(|s, _| review::settings(s).map(drop)),
    );
    add(
        "set_risk_rules",
        Box::new(|s, _| review::set_rules(s, "{}").map(drop)),
    );
    add(
        "set_screening_threshold",
        Box::new(|s, _| screening::set_threshold(s, 0.9).map(drop)),
    );
    add(
        "preview_risk_rules",
        Box::new(|s, _| review::preview_rules(s, "{}").map(drop)),
    );
    add(
        "risk_factors",
        Box::new(|s, _| review::factors(s).map(drop)),
    );
    add(
        "pending_settings",
        Box::new(|s, _| settings::pending_changes(s).map(drop)),
    );
    add(
        "decide_setting",
        Box::new(|s, _| settings::withdraw_change(s, "risk_rules")),
    );
    add(
        "boarding_overview",
        Box::new(|s, _| boarding::overview(s, None, None).map(drop)),
    );
    add(
        "platform_status",
        Box::new(|s, _| boarding::platform_status(s, None).map(drop)),
    );
    add(
        "boarding_retry",
        Box::new(|s, _| boarding::retry(s, NO).map(drop)),
    );
    add(
        "boarding_cancel",
        Box::new(|s, _| boarding::cancel(s, NO).map(drop)),
    );
    add(
        "boarding_fix",
        Box::new(|s, _| boarding::fix_and_resend(s, NO, "business.email", "a@b.example").map(drop)),
    );
    add(
        "platform_settings",
        Box::new(|s, _| boarding::platform_settings(s).map(drop)),
    );
    add(
        "set_platform",
        Box::new(|s, _| {
            boarding::set_platform(
                s,
                boarding::SetPlatformInput {
                    url: "http://127.0.0.1:9".into(),
                    secret_key: None,
                    rate_per_second: 25.0,
                },
            )
            .map(drop)
        }),
    );
    add(
        "test_platform",
        Box::new(|s, c| shared(s, c, |m| Box::pin(boarding::test_connection(m)))),
    );
    add(
        "merchants_page",
        Box::new(|s, _| merchants::merchants_page(s, Default::default()).map(drop)),
    );
    add(
        "sync_merchant",
        Box::new(|s, c| shared(s, c, |m| Box::pin(boarding::sync_merchant(m, NO)))),
    );
    add(
        "merchant_action",
        Box::new(|s, _| {
            merchants::act(
                s,
                merchants::ActionInput {
                    id: NO.into(),
                    action: "suspend".into(),
                    reason: "other".into(),
                    note: "A reason to act".into(),
                    blocklist: false,
                    blocklist_basis: None,
                },
            )
            .map(drop)
        }),
    );
    add(
        "set_merchant_limits",
        Box::new(|s, _| {
            merchants::set_limits(
                s,
                merchants::LimitsInput {
                    id: NO.into(),
                    monthly_cap: "1000".into(),
                    max_ticket: "100".into(),
                },
            )
            .map(drop)
        }),
    );
    add(
        "edit_merchant",
        Box::new(|s, _| {
            merchant_changes::edit(
                s,
                merchant_changes::EditInput {
                    id: NO.into(),
                    version: 1,
                    form: form(),
                    note: "New bank letter".into(),
                },
            )
            .map(drop)
        }),
    );
    add(
        "merchant_changes",
        Box::new(|s, _| merchant_changes::changes(s, NO).map(drop)),
    );
    add(
        "decide_merchant_change",
        Box::new(|s, _| {
            merchant_changes::decide(
                s,
                merchant_changes::DecideInput {
                    id: NO.into(),
                    note: "Letter checked".into(),
                },
                false,
            )
            .map(drop)
        }),
    );
    add(
        "retention_schedule",
        Box::new(|s, _| gdpr::retention_schedule(s).map(drop)),
    );
    add(
        "set_retention_schedule",
        Box::new(|s, _| gdpr::set_retention_schedule(s, true).map(drop)),
    );
    add(
        "cli:rescreen",
        Box::new(|s, _| screening::rescreen(s, &mut |_| {}).map(drop)),
    );
    add(
        "cli:boarding drain",
        Box::new(|s, c| {
            shared(s, c, |m| {
                Box::pin(async move {
                    // A worker over the caller's slot, as `desk boarding drain` builds one.
                    let slot = std::mem::take(&mut *m.lock().unwrap());
                    let arc = std::sync::Arc::new(Mutex::new(slot));
                    let worker = boarding::Worker::new(
                        std::sync::Arc::clone(&arc),
                        boarding::WorkerConfig::default(),
                    );
                    let out = worker.drain(std::time::Duration::from_millis(50)).await;
                    drop(worker);
                    *m.lock().unwrap() = std::sync::Arc::try_unwrap(arc)
                        .ok()
                        .unwrap()
                        .into_inner()
                        .unwrap();
                    out
                })
            })
        }),
    );
    add(
        "cli:review hits",
        Box::new(|s, _| screening::hits(s, NO).map(drop)),
    );
    m
}

fn rand_suffix() -> String {
    uuid_like()
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{}", N.fetch_add(1, Ordering::Relaxed))
}

/// The matrix rows of docs/SECURITY.md: command → [none, auditor, underwriter, lead, admin].
fn matrix() -> BTreeMap<String, Vec<String>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/SECURITY.md");
    let text = std::fs::read_to_string(path).unwrap();
    let section = text
        .split("## Role matrix")
        .nth(1)
        .expect("docs/SECURITY.md has a Role matrix section");
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<String> = l
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_string())
                .collect();
            assert_eq!(cells.len(), 7, "a row has 7 cells: {l}");
            (cells[0].clone(), cells[2..].to_vec())
        })
        .collect()
}

/// The window's commands, as src-tauri/build.rs lists them.
fn window_commands() -> Vec<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../src-tauri/build.rs");
    let text = std::fs::read_to_string(path).unwrap();
    let list = text
        .split("const COMMANDS: &[&str] = &[")
        .nth(1)
        .unwrap()
        .split("];")
        .next()
        .unwrap();
    list.lines()
        .map(str::trim)
        .filter(|l| l.starts_with('"'))
        .map(|l| l.trim_matches(|c| c == '"' || c == ',').to_string())
        .collect()
}

#[test]
fn every_command_and_verb_follows_the_role_matrix() {
    let matrix = matrix();
    let calls = calls();
    for command in window_commands() {
        assert!(
            matrix.contains_key(&command),
            "the window command {command} has no row in the role matrix"
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let mut admin = SessionSlot::new();
    setup(&dir, &mut admin);
    let ctx = Ctx {
        tmp: tmp.path().to_path_buf(),
        dir: DataDir::open(tmp.path()).unwrap(),
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
    };
    let mut slots: Vec<(&str, SessionSlot)> = vec![("none", SessionSlot::new())];
    for role in ["auditor", "underwriter", "lead"] {
        let slot = signed_in_user(&dir, &mut admin, &format!("{role}1"), role);
        slots.push((role, slot));
    }
    slots.push(("admin", admin));

    let mut checked = 0;
    let mut wrong = Vec::new();
    // Key rotation re-keys the vault file under the other sessions' connections: it goes last.
    let mut rows: Vec<(&String, &Vec<String>)> = matrix.iter().collect();
    rows.sort_by_key(|(command, _)| command.as_str() == "rotate_key");
    for (command, cells) in rows {
        if cells.iter().all(|c| c == "public") {
            assert!(
                !calls.contains_key(command.as_str()),
                "{command} is public in the matrix but has a role check here"
            );
            continue;
        }
        let call = calls
            .get(command.as_str())
            .unwrap_or_else(|| panic!("no call for the matrix row {command}"));
        for ((role, slot), expected) in slots.iter_mut().zip(cells) {
            let got = call(slot, &ctx);
            let gated = matches!(
                &got,
                Err(e) if matches!(e.code(), Code::Forbidden | Code::Unauthorized)
            );
            let ok = match expected.as_str() {
                "yes" => !gated,
                "no" if *role == "none" => {
                    matches!(&got, Err(e) if e.code() == Code::Unauthorized)
                }
                "no" => matches!(&got, Err(e) if e.code() == Code::Forbidden),
                other => panic!("{command}: unknown cell {other:?}"),
            };
            if !ok {
                wrong.push(format!(
                    "{command} as {role}: expected {expected}, got {:?}",
                    got.map_err(|e| format!("{}: {}", e.code(), e.message()))
                ));
            }
            checked += 1;
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells disagree:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(
        checked >= 300,
        "every row was exercised for every role: {checked}"
    );
}
