//! The Boarding Desk desktop shell.
//!
//! It acquires the handles once at start-up (the data folder today), hands them to commands
//! through Tauri state, and each command calls one api use case. No business logic lives here.

mod args;
mod commands;
mod state;

use state::AppState;

/// Starts the app: parses `--data-dir`, opens the data folder, starts logging, opens the window.
///
/// An unusable data folder does not stop the window from opening: the UI shows the error that
/// every command returns, with its code, so the user can see what is wrong.
pub fn run() {
    let args = args::Args::parse(std::env::args_os().skip(1));
    let data_dir = api::DataDir::resolve(args.data_dir.as_deref());
    api::logging::init(data_dir.as_ref().ok(), "boarding-desk", true);
    match &data_dir {
        Ok(dir) => {
            tracing::info!(data_dir = %dir.path().display(), version = api::VERSION, "starting")
        }
        Err(e) => tracing::error!(code = %e.code(), "data folder unusable: {e}"),
    }
    // Before any vault can be unlocked: no core file, not dumpable.
    if let Err(missing) = api::clock::harden_process() {
        tracing::warn!("process hardening incomplete: {missing} could not be set");
    }
    for unknown in &args.ignored {
        tracing::warn!("ignoring unknown argument {unknown:?}");
    }

    // The page-by-page check of the file runs after sign-in, on a thread of its own
    // (unlock ≤ 500 ms on a large vault; docs/BENCHMARKS.md).
    let policy = api::Policy {
        defer_integrity_check: true,
        ..api::product_policy()
    };
    let state = AppState::new(data_dir, policy);
    state.spawn_integrity_checker();
    state.spawn_idle_watchdog();
    #[cfg(target_os = "linux")]
    state.spawn_sleep_lock();
    // The background re-screen screens whatever is in play and not yet screened against the
    // active lists (after a list import, after a bulk import), a batch at a time.
    state.spawn_rescreener();
    state.spawn_rewrapper();
    state.spawn_retention_schedule();
    // The boarding worker sends the outbox whenever a session is unlocked; it pauses while
    // locked and resumes at the next sign-in.
    tauri::async_runtime::spawn(std::sync::Arc::clone(state.worker()).run());
    let app = tauri::Builder::default()
        .manage(state)
        .setup(|app| {
            use tauri::Manager;
            app.state::<AppState>().spawn_live(app.handle().clone());
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::info::app_info,
            commands::auth::session_info,
            commands::auth::session_touch,
            commands::auth::setup_vault,
            commands::backup::restore_backup,
            commands::auth::sign_in,
            commands::auth::confirm_totp,
            commands::auth::change_password,
            commands::auth::lock_session,
            commands::auth::recover,
            commands::settings::set_idle_minutes,
            commands::users::rewrap_status,
            commands::users::list_users,
            commands::users::create_user,
            commands::users::set_user_disabled,
            commands::users::reset_user_password,
            commands::users::reset_user_totp,
            commands::users::unlock_user,
            commands::audit::verify_audit,
            commands::audit::list_audit,
            commands::audit::list_checkpoints,
            commands::audit::sign_checkpoint,
            commands::audit::rotate_key,
            commands::audit::rotate_recovery_key,
            commands::audit::keychain_status,
            commands::audit::set_keychain_binding,
            commands::team::create_team,
            commands::team::join_team,
            commands::team::team_join_code,
            commands::audit::export_audit,
            commands::merchants::export_merchants,
            commands::gdpr::gdpr_erase,
            commands::gdpr::gdpr_hold,
            commands::gdpr::gdpr_export,
            commands::sanctions_report::sanctions_report_export,
            commands::gdpr::retention_run,
            commands::gdpr::set_retention_years,
            commands::gdpr::set_export_days,
            commands::gdpr::set_blocklist_years,
            commands::gdpr::list_blocklist,
            commands::backup::backup_vault,
            commands::backup::list_backups,
            commands::intake::save_draft,
            commands::intake::get_application,
            commands::intake::submit_application,
            commands::intake::withdraw_application,
            commands::intake::reveal_field,
            commands::intake::list_applications,
            commands::intake::check_application,
            commands::intake::mcc_codes,
            commands::intake::add_document,
            commands::intake::document_content,
            commands::intake::delete_document,
            commands::intake::import_applications,
            commands::intake::seed_demo,
            commands::screening::import_lists,
            commands::screening::list_versions,
            commands::screening::screen_name,
            commands::screening::screen_application,
            commands::screening::rescreen_status,
            commands::screening::dispose_hit,
            commands::review::review_queue,
            commands::review::review_view,
            commands::review::add_note,
            commands::review::assign_to_me,
            commands::review::next_in_queue,
            commands::review::decide,
            commands::review::review_dashboard,
            commands::review::risk_settings,
            commands::review::set_risk_rules,
            commands::screening::set_screening_threshold,
            commands::review::preview_risk_rules,
            commands::review::risk_factors,
            commands::settings::pending_settings,
            commands::settings::decide_setting,
            commands::boarding::boarding_overview,
            commands::boarding::platform_status,
            commands::boarding::boarding_retry,
            commands::boarding::boarding_cancel,
            commands::boarding::boarding_fix,
            commands::boarding::platform_settings,
            commands::boarding::set_platform,
            commands::boarding::test_platform,
            commands::merchants::merchants_page,
            commands::merchants::sync_merchant,
            commands::merchants::merchant_action,
            commands::merchants::set_merchant_limits,
            commands::merchants::edit_merchant,
            commands::merchants::merchant_changes,
            commands::merchants::decide_merchant_change,
            commands::gdpr::retention_schedule,
            commands::gdpr::set_retention_schedule,
        ])
        .build(tauri::generate_context!());
    let result = app.map(|app| {
        app.run(|handle, event| {
            // Close the vault (zeroizing its keys) when the app exits, not only on lock.
            if let tauri::RunEvent::Exit = event {
                use tauri::Manager;
                handle.state::<AppState>().lock_now();
            }
        })
    });
    if let Err(e) = result {
        tracing::error!("the app stopped with an error: {e}");
        std::process::exit(2);
    }
}
