use api::users::{self, IssuedPassword, NewUserInput};
use tauri::State;

use crate::state::AppState;

type User = api::views::User;

#[tauri::command]
pub async fn list_users(state: State<'_, AppState>) -> Result<Vec<User>, api::Error> {
    state.run(|_, slot, _| users::list_users(slot)).await
}

#[tauri::command]
pub async fn create_user(
    state: State<'_, AppState>,
    input: NewUserInput,
) -> Result<IssuedPassword, api::Error> {
    state
        .run(move |_, slot, _| users::create_user(slot, input))
        .await
}

#[tauri::command]
pub async fn set_user_disabled(
    state: State<'_, AppState>,
    user_id: String,
    disabled: bool,
) -> Result<Option<IssuedPassword>, api::Error> {
    state
        .run(move |_, slot, _| users::set_user_disabled(slot, &user_id, disabled))
        .await
}

#[tauri::command]
pub async fn reset_user_password(
    state: State<'_, AppState>,
    user_id: String,
) -> Result<IssuedPassword, api::Error> {
    state
        .run(move |_, slot, _| users::reset_password(slot, &user_id))
        .await
}

#[tauri::command]
pub async fn reset_user_totp(
    state: State<'_, AppState>,
    user_id: String,
) -> Result<User, api::Error> {
    state
        .run(move |_, slot, _| users::reset_totp(slot, &user_id))
        .await
}

#[tauri::command]
pub async fn unlock_user(state: State<'_, AppState>, user_id: String) -> Result<User, api::Error> {
    state
        .run(move |_, slot, _| users::unlock_user(slot, &user_id))
        .await
}

#[tauri::command]
pub async fn rewrap_status(
    state: State<'_, AppState>,
) -> Result<api::rewrap::RewrapStatus, api::Error> {
    let status = state.rewrapper().status();
    state
        .run(move |_, slot, _| api::rewrap::rewrap_status(slot, status))
        .await
}
