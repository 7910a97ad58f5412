use api::boarding::{
    self, BoardingOverview, ConnectionTest, JobView, PlatformSettings, PlatformStatus,
    SetPlatformInput,
};
use tauri::State;

use crate::state::AppState;

#[tauri::command]
pub async fn boarding_overview(
    state: State<'_, AppState>,
    filter: Option<String>,
) -> Result<BoardingOverview, api::Error> {
    let worker = Some(state.worker().state());
    state
        .run(move |_, slot, _| boarding::overview(slot, filter.as_deref(), worker))
        .await
}

#[tauri::command]
pub async fn platform_status(state: State<'_, AppState>) -> Result<PlatformStatus, api::Error> {
    let worker = Some(state.worker().state());
    state
        .run(move |_, slot, _| boarding::platform_status(slot, worker))
        .await
}

#[tauri::command]
pub async fn boarding_retry(state: State<'_, AppState>, id: String) -> Result<JobView, api::Error> {
    state
        .run(move |_, slot, _| boarding::retry(slot, &id))
        .await
}

#[tauri::command]
pub async fn boarding_cancel(
    state: State<'_, AppState>,
    id: String,
) -> Result<JobView, api::Error> {
    state
        .run(move |_, slot, _| boarding::cancel(slot, &id))
        .await
}

#[tauri::command]
pub async fn boarding_fix(
    state: State<'_, AppState>,
    id: String,
    field: String,
    value: String,
) -> Result<JobView, api::Error> {
    state
        .run(move |_, slot, _| boarding::fix_and_resend(slot, &id, &field, &value))
        .await
}

#[tauri::command]
pub async fn platform_settings(state: State<'_, AppState>) -> Result<PlatformSettings, api::Error> {
    state
        .run(|_, slot, _| boarding::platform_settings(slot))
        .await
}

#[tauri::command]
pub async fn set_platform(
    state: State<'_, AppState>,
    input: SetPlatformInput,
) -> Result<PlatformSettings, api::Error> {
    state
        .run(move |_, slot, _| boarding::set_platform(slot, input))
        .await
}

#[tauri::command]
pub async fn test_platform(state: State<'_, AppState>) -> Result<ConnectionTest, api::Error> {
    boarding::test_connection(&state.session()).await
}
