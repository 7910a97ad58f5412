//! Boarded merchants: their page, actions, limits, edits and platform sync.

use crate::commands::saved::{save, Saved};
use crate::state::AppState;
use api::boarding::{self};
use api::merchants::{self, MerchantView};
use tauri::State;

#[tauri::command]
pub async fn sync_merchant(
    state: State<'_, AppState>,
    id: String,
) -> Result<MerchantView, api::Error> {
    boarding::sync_merchant(&state.session(), &id).await
}

#[tauri::command]
pub async fn merchant_action(
    state: State<'_, AppState>,
    input: api::merchants::ActionInput,
) -> Result<api::merchants::ActionOutcome, api::Error> {
    state
        .run(move |_, slot, _| api::merchants::act(slot, input))
        .await
}

#[tauri::command]
pub async fn edit_merchant(
    state: State<'_, AppState>,
    input: api::merchant_changes::EditInput,
) -> Result<api::merchant_changes::EditOutcome, api::Error> {
    state
        .run(move |_, slot, _| api::merchant_changes::edit(slot, input))
        .await
}

#[tauri::command]
pub async fn merchant_changes(
    state: State<'_, AppState>,
    id: String,
) -> Result<api::merchant_changes::ChangesView, api::Error> {
    state
        .run(move |_, slot, _| api::merchant_changes::changes(slot, &id))
        .await
}

#[tauri::command]
pub async fn decide_merchant_change(
    state: State<'_, AppState>,
    input: api::merchant_changes::DecideInput,
    accept: bool,
) -> Result<api::merchant_changes::ChangesView, api::Error> {
    state
        .run(move |_, slot, _| api::merchant_changes::decide(slot, input, accept))
        .await
}

#[tauri::command]
pub async fn set_merchant_limits(
    state: State<'_, AppState>,
    input: api::merchants::LimitsInput,
) -> Result<MerchantView, api::Error> {
    state
        .run(move |_, slot, _| api::merchants::set_limits(slot, input))
        .await
}

#[tauri::command]
pub async fn merchants_page(
    state: State<'_, AppState>,
    query: merchants::MerchantQuery,
) -> Result<merchants::MerchantPage, api::Error> {
    state
        .run(move |_, slot, _| merchants::merchants_page(slot, query))
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
