//! GDPR: erasure, legal holds, subject access exports and the AML retention run.

use crate::commands::saved::{save, SavedSubject};
use crate::state::AppState;
use tauri::State;

#[tauri::command]
pub async fn gdpr_erase(
    state: State<'_, AppState>,
    id: String,
) -> Result<api::gdpr::ErasureOutcome, api::Error> {
    state
        .run(move |_, slot, _| api::gdpr::request_erasure(slot, &id))
        .await
}

#[tauri::command]
pub async fn gdpr_hold(
    state: State<'_, AppState>,
    id: String,
    reason: Option<String>,
) -> Result<(), api::Error> {
    state
        .run(move |_, slot, _| api::gdpr::set_legal_hold(slot, &id, reason.as_deref()))
        .await
}

#[tauri::command]
pub async fn gdpr_export(
    state: State<'_, AppState>,
    by: String,
    value: String,
) -> Result<SavedSubject, api::Error> {
    state
        .run(move |dir, slot, _| {
            let export = api::gdpr::subject_export(slot, &by, &value)?;
            Ok(SavedSubject {
                json: save(dir, export.json)?.path,
                html: save(dir, export.html)?.path,
                applications: export.applications,
            })
        })
        .await
}

#[tauri::command]
pub async fn retention_run(
    state: State<'_, AppState>,
    dry_run: bool,
) -> Result<api::gdpr::RetentionReport, api::Error> {
    state
        .run(move |_, slot, _| api::gdpr::retention_run(slot, dry_run))
        .await
}

#[tauri::command]
pub async fn set_retention_years(
    state: State<'_, AppState>,
    years: u32,
) -> Result<u32, api::Error> {
    state
        .run(move |_, slot, _| api::gdpr::set_retention_years(slot, years))
        .await
}

#[tauri::command]
pub async fn set_export_days(state: State<'_, AppState>, days: u32) -> Result<u32, api::Error> {
    state
        .run(move |_, slot, _| api::exports::set_export_days(slot, days))
        .await
}

#[tauri::command]
pub async fn set_blocklist_years(
    state: State<'_, AppState>,
    years: u32,
) -> Result<u32, api::Error> {
    state
        .run(move |_, slot, _| api::blocklist::set_blocklist_years(slot, years))
        .await
}

#[tauri::command]
pub async fn list_blocklist(
    state: State<'_, AppState>,
    offset: u32,
) -> Result<api::blocklist::BlocklistPage, api::Error> {
    state
        .run(move |_, slot, _| api::blocklist::list(slot, offset))
        .await
}

#[tauri::command]
pub async fn retention_schedule(
    state: State<'_, AppState>,
) -> Result<api::gdpr::RetentionSchedule, api::Error> {
    state
        .run(move |_, slot, _| api::gdpr::retention_schedule(slot))
        .await
}

#[tauri::command]
pub async fn set_retention_schedule(
    state: State<'_, AppState>,
    enabled: bool,
) -> Result<api::gdpr::RetentionSchedule, api::Error> {
    state
        .run(move |_, slot, _| api::gdpr::set_retention_schedule(slot, enabled))
        .await
}
