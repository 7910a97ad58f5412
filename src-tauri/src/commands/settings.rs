//! Settings: the idle lock and the four-eyes changes waiting for a second admin.

use crate::state::AppState;
use api::settings::PendingSetting;
use tauri::State;

#[tauri::command]
pub async fn pending_settings(
    state: State<'_, AppState>,
) -> Result<Vec<PendingSetting>, api::Error> {
    state
        .run(|_, slot, _| api::settings::pending_changes(slot))
        .await
}

#[tauri::command]
pub async fn decide_setting(
    state: State<'_, AppState>,
    key: String,
    confirm: bool,
) -> Result<Vec<PendingSetting>, api::Error> {
    state
        .run(move |_, slot, _| {
            if confirm {
                api::settings::confirm_change(slot, &key)?;
            } else {
                api::settings::withdraw_change(slot, &key)?;
            }
            api::settings::pending_changes(slot)
        })
        .await
}

#[tauri::command]
pub async fn set_idle_minutes(state: State<'_, AppState>, minutes: u32) -> Result<u32, api::Error> {
    state
        .run(move |_, slot, _| api::settings::set_idle_minutes(slot, minutes))
        .await
}
