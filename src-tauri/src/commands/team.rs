//! The team store (issue 17): create a team at set-up, join one, show its join code.

use api::auth::{SetupInput, SetupOutput};
use api::team::{JoinInput, Joined, TeamCode};
use tauri::State;

use crate::state::AppState;

#[tauri::command]
pub async fn create_team(
    state: State<'_, AppState>,
    url: String,
    input: SetupInput,
) -> Result<SetupOutput, api::Error> {
    state
        .run(move |dir, slot, policy| api::team::create(dir, &url, input, slot, policy))
        .await
}

#[tauri::command]
pub async fn join_team(state: State<'_, AppState>, input: JoinInput) -> Result<Joined, api::Error> {
    state
        .run(move |dir, _, _| api::team::join(dir, input))
        .await
}

#[tauri::command]
pub async fn team_join_code(state: State<'_, AppState>) -> Result<TeamCode, api::Error> {
    state.run(|_, slot, _| api::team::join_code(slot)).await
}
