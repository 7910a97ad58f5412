use api::audit_log::{self, AuditPage};
use tauri::State;

use crate::commands::saved::{save, Saved};
use crate::state::AppState;

#[tauri::command]
pub async fn verify_audit(
    state: State<'_, AppState>,
) -> Result<api::audit_log::Report, api::Error> {
    state.run(|_, slot, _| audit_log::verify_audit(slot)).await
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
) -> Result<api::auth::NewRecoveryKey, api::Error> {
    state
        .run(|_, slot, _| api::auth::rotate_recovery_key(slot))
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
