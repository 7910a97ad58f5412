use std::path::PathBuf;

use api::screening::{self, RescreenStatus};
use tauri::State;

use crate::state::AppState;
use api::settings::PendingSetting;

type ListVersion = api::views::ListVersion;
type ScreeningOutcome = api::views::ScreeningOutcome;

#[tauri::command]
pub async fn import_lists(
    state: State<'_, AppState>,
    dir: String,
) -> Result<Vec<ListVersion>, api::Error> {
    state
        .run(move |_, slot, _| screening::import_lists(slot, &PathBuf::from(dir)))
        .await
}

#[tauri::command]
pub async fn list_versions(state: State<'_, AppState>) -> Result<Vec<ListVersion>, api::Error> {
    state.run(|_, slot, _| screening::list_versions(slot)).await
}

#[tauri::command]
pub async fn screen_name(
    state: State<'_, AppState>,
    name: String,
    birth_year: Option<i32>,
    country: Option<String>,
) -> Result<Vec<api::screening::Hit>, api::Error> {
    state
        .run(move |_, slot, _| screening::screen_name(slot, &name, birth_year, country.as_deref()))
        .await
}

#[tauri::command]
pub async fn screen_application(
    state: State<'_, AppState>,
    id: String,
) -> Result<ScreeningOutcome, api::Error> {
    state
        .run(move |_, slot, _| screening::screen_application(slot, &id))
        .await
}

#[tauri::command]
pub async fn rescreen_status(state: State<'_, AppState>) -> Result<RescreenStatus, api::Error> {
    let status = state.rescreener().status();
    state
        .run(move |_, slot, _| screening::rescreen_status(slot, status))
        .await
}

#[tauri::command]
pub async fn dispose_hit(
    state: State<'_, AppState>,
    hit_id: String,
    disposition: String,
    note: String,
) -> Result<(), api::Error> {
    state
        .run(move |_, slot, _| screening::dispose_hit(slot, &hit_id, &disposition, &note))
        .await
}

#[tauri::command]
pub async fn set_screening_threshold(
    state: State<'_, AppState>,
    value: f64,
) -> Result<PendingSetting, api::Error> {
    state
        .run(move |_, slot, _| api::screening::set_threshold(slot, value))
        .await
}
