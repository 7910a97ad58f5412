use api::audit_log::{self, AuditPage};
use tauri::State;

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

/// Where an export was saved, and how many rows it holds.
#[derive(serde::Serialize)]
pub struct Saved {
    path: String,
    rows: usize,
}

fn save(dir: &api::DataDir, export: audit_log::Export) -> api::Result<Saved> {
    let path = audit_log::save_export(dir, &export)?;
    Ok(Saved {
        path: path.display().to_string(),
        rows: export.rows,
    })
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

#[tauri::command]
pub async fn export_merchants(
    state: State<'_, AppState>,
    format: String,
) -> Result<Saved, api::Error> {
    state
        .run(move |dir, slot, _| save(dir, api::merchants::export(slot, &format)?))
        .await
}

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

/// Both files of a subject export, saved under exports/.
#[derive(serde::Serialize)]
pub struct SavedSubject {
    applications: Vec<String>,
    json: String,
    html: String,
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

/// An encrypted backup written into `<data folder>/backups/`.
#[tauri::command]
pub async fn backup_vault(state: State<'_, AppState>) -> Result<Saved, api::Error> {
    state
        .run(|dir, slot, _| {
            let (path, summary) = api::backup::backup_in_data_dir(dir, slot)?;
            Ok(Saved {
                path: path.display().to_string(),
                rows: summary.applications as usize,
            })
        })
        .await
}

/// Both files of the sanctions reports, saved under exports/.
#[derive(serde::Serialize)]
pub struct SavedReports {
    reports: usize,
    json: String,
    html: String,
}

#[tauri::command]
pub async fn sanctions_report_export(
    state: State<'_, AppState>,
    id: Option<String>,
) -> Result<SavedReports, api::Error> {
    state
        .run(move |dir, slot, _| {
            let export = api::sanctions_report::export(slot, id.as_deref())?;
            Ok(SavedReports {
                reports: export.reports,
                json: save(dir, export.json)?.path,
                html: save(dir, export.html)?.path,
            })
        })
        .await
}
