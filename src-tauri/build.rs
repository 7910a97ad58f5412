// The app manifest lists our own commands so tauri-build generates one `allow-<command>`
// permission for each; capabilities/main.json grants exactly those and nothing else.
const COMMANDS: &[&str] = &[
    "app_info",
    "session_info",
    "session_touch",
    "setup_vault",
    "sign_in",
    "confirm_totp",
    "change_password",
    "lock_session",
    "recover",
    "set_idle_minutes",
    "list_users",
    "create_user",
    "set_user_disabled",
    "reset_user_password",
    "reset_user_totp",
    "unlock_user",
    "verify_audit",
    "list_audit",
    "rotate_key",
    "save_draft",
    "get_application",
    "submit_application",
    "withdraw_application",
    "reveal_field",
    "list_applications",
    "check_application",
    "mcc_codes",
    "add_document",
    "document_content",
    "delete_document",
    "import_applications",
    "seed_demo",
    "import_lists",
    "list_versions",
    "screen_name",
    "screen_application",
    "rescreen",
    "dispose_hit",
    "review_queue",
    "review_view",
    "assign_to_me",
    "next_in_queue",
    "decide",
    "review_dashboard",
    "risk_settings",
    "set_risk_rules",
    "set_screening_threshold",
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri-build failed: {e:#}");
    }
}
