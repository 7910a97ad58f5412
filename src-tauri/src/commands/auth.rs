use api::auth::{self, ChangePasswordInput, RecoverInput, SetupInput, SetupOutput, SignInInput};
use api::SessionInfo;
use tauri::State;

use crate::state::AppState;

#[tauri::command]
pub async fn session_info(state: State<'_, AppState>) -> Result<Option<SessionInfo>, api::Error> {
    state.run(|_, slot, _| Ok(slot.info())).await
}

/// The window reports activity (keys, clicks) so reading a page is not "idle".
#[tauri::command]
pub async fn session_touch(state: State<'_, AppState>) -> Result<Option<SessionInfo>, api::Error> {
    state.run(|_, slot, _| Ok(slot.touch())).await
}

#[tauri::command]
pub async fn setup_vault(
    state: State<'_, AppState>,
    input: SetupInput,
) -> Result<SetupOutput, api::Error> {
    state
        .run(move |dir, slot, policy| auth::setup_vault(dir, input, slot, policy))
        .await
}

#[tauri::command]
pub async fn sign_in(
    state: State<'_, AppState>,
    input: SignInInput,
) -> Result<SessionInfo, api::Error> {
    let integrity = std::sync::Arc::clone(state.integrity());
    state
        .run(move |dir, slot, policy| {
            integrity.refuse_if_damaged()?;
            auth::sign_in(dir, input, slot, policy)
        })
        .await
}

#[tauri::command]
pub async fn confirm_totp(
    state: State<'_, AppState>,
    code: String,
) -> Result<SessionInfo, api::Error> {
    state
        .run(move |_, slot, _| auth::confirm_totp(slot, &code))
        .await
}

#[tauri::command]
pub async fn change_password(
    state: State<'_, AppState>,
    input: ChangePasswordInput,
) -> Result<SessionInfo, api::Error> {
    state
        .run(move |_, slot, _| auth::change_password(slot, input))
        .await
}

#[tauri::command]
pub async fn lock_session(state: State<'_, AppState>) -> Result<(), api::Error> {
    state.run(|_, slot, _| slot.lock()).await
}

#[tauri::command]
pub async fn recover(state: State<'_, AppState>, input: RecoverInput) -> Result<(), api::Error> {
    state
        .run(move |dir, _, policy| auth::recover(dir, input, policy))
        .await
}
