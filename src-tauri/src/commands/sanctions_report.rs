//! The sanctions report of confirmed matches.

use crate::commands::saved::{save, SavedReports};
use crate::state::AppState;
use tauri::State;

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
