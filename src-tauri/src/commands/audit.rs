use api::audit_log::{self, AuditPage};
use tauri::State;

use crate::commands::saved::{save, Saved};
use crate::state::AppState;

#[tauri::command]
pub async fn verify_audit(
    state: State<'_, AppState>,
    checkpoints: Option<String>,
) -> Result<api::audit_log::Report, api::Error> {
    state
        .run(move |_, slot, _| {
            let file = checkpoints
                .as_deref()
                .map(str::trim)
                .map(std::path::Path::new);
            audit_log::verify_audit(slot, file)
        })
        .await
}

#[tauri::command]
pub async fn list_checkpoints(
    state: State<'_, AppState>,
) -> Result<Vec<audit_log::Checkpoint>, api::Error> {
    state
        .run(|_, slot, _| audit_log::list_checkpoints(slot))
        .await
}

#[tauri::command]
pub async fn sign_checkpoint(state: State<'_, AppState>) -> Result<Saved, api::Error> {
    state
        .run(|dir, slot, _| save(dir, audit_log::sign_checkpoint(slot)?.1))
        .await
}

#[tauri::command]
pub async fn list_audit(
    state: State<'_, AppState>,
    before: Option<i64>,
) -> Result<AuditPage, api::Error> {
    state
        .run(move |_, slot, _| audit_log::list_audit(slot, before, 100))
        .await
}

#[tauri::command]
pub async fn rotate_key(state: State<'_, AppState>) -> Result<(), api::Error> {
    state.run(|_, slot, _| audit_log::rotate_key(slot)).await
}

#[tauri::command]
pub async fn rotate_recovery_key(
    state: State<'_, AppState>,
    split: Option<(u8, u8)>,
) -> Result<api::auth::NewRecoveryKey, api::Error> {
    state
        .run(move |_, slot, _| api::auth::rotate_recovery_key(slot, split))
        .await
}

#[tauri::command]
pub async fn keychain_status(
    state: State<'_, AppState>,
) -> Result<api::keychain::KeychainStatus, api::Error> {
    state
        .run(|_, slot, _| api::keychain::keychain_status(slot))
        .await
}

#[tauri::command]
pub async fn set_keychain_binding(
    state: State<'_, AppState>,
    on: bool,
    password: String,
) -> Result<api::keychain::KeychainStatus, api::Error> {
    state
        .run(move |_, slot, _| {
            api::keychain::set_keychain_binding(slot, api::keychain::KeychainInput { on, password })
        })
        .await
}

#[tauri::command]
pub async fn export_audit(
    state: State<'_, AppState>,
    from: String,
    to: String,
    format: String,
) -> Result<Saved, api::Error> {
    state
        .run(move |dir, slot, _| save(dir, audit_log::export_audit(slot, &from, &to, &format)?))
        .await
}
