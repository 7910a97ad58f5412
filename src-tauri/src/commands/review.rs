use api::review::{self, DecideInput, DecideOutcome, QueueQuery, ReviewView};
use tauri::State;

use crate::state::AppState;

type QueuePage = api::views::QueuePage;
type QueueRow = api::views::QueueRow;
type Dashboard = api::views::Dashboard;
type Note = api::views::Note;

#[tauri::command]
pub async fn review_queue(
    state: State<'_, AppState>,
    query: QueueQuery,
    quiet: Option<bool>,
) -> Result<QueuePage, api::Error> {
    state
        .read(quiet, move |slot| review::queue(slot, query))
        .await
}

#[tauri::command]
pub async fn review_view(
    state: State<'_, AppState>,
    id: String,
    quiet: Option<bool>,
) -> Result<ReviewView, api::Error> {
    state
        .read(quiet, move |slot| review::review_view(slot, &id))
        .await
}

#[tauri::command]
pub async fn assign_to_me(
    state: State<'_, AppState>,
    id: String,
    take_over: bool,
) -> Result<QueueRow, api::Error> {
    state
        .run(move |_, slot, _| review::assign_to_me(slot, &id, take_over))
        .await
}

#[tauri::command]
pub async fn next_in_queue(state: State<'_, AppState>) -> Result<Option<QueueRow>, api::Error> {
    state.run(|_, slot, _| review::next_in_queue(slot)).await
}

#[tauri::command]
pub async fn decide(
    state: State<'_, AppState>,
    input: DecideInput,
) -> Result<DecideOutcome, api::Error> {
    state
        .run(move |_, slot, _| review::decide(slot, input))
        .await
}

#[tauri::command]
pub async fn review_dashboard(
    state: State<'_, AppState>,
    quiet: Option<bool>,
) -> Result<Dashboard, api::Error> {
    state.read(quiet, review::dashboard).await
}

/// The rule set and the screening threshold in force.
#[tauri::command]
pub async fn risk_settings(
    state: State<'_, AppState>,
) -> Result<(api::underwriting::RuleSet, f64), api::Error> {
    state.run(|_, slot, _| review::settings(slot)).await
}

type PendingSetting = api::settings::PendingSetting;

#[tauri::command]
pub async fn set_risk_rules(
    state: State<'_, AppState>,
    json: String,
) -> Result<PendingSetting, api::Error> {
    state
        .run(move |_, slot, _| review::set_rules(slot, &json))
        .await
}

#[tauri::command]
pub async fn preview_risk_rules(
    state: State<'_, AppState>,
    json: String,
) -> Result<review::RulesPreview, api::Error> {
    state
        .run(move |_, slot, _| review::preview_rules(slot, &json))
        .await
}

#[tauri::command]
pub async fn risk_factors(
    state: State<'_, AppState>,
) -> Result<Vec<(&'static str, &'static str)>, api::Error> {
    state.run(|_, slot, _| review::factors(slot)).await
}

#[tauri::command]
pub async fn add_note(
    state: State<'_, AppState>,
    id: String,
    text: String,
) -> Result<Vec<Note>, api::Error> {
    state
        .run(move |_, slot, _| review::add_note(slot, &id, &text))
        .await
}
