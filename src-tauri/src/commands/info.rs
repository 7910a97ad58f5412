use api::AppInfo;
use tauri::State;

use crate::state::AppState;

/// Version, data folder and vault state for the status bar. Needs no session: it names no
/// merchant or user.
#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> Result<AppInfo, api::Error> {
    api::app_info(state.data_dir()?)
}
