//! Encrypted backups and restore into an empty folder.

use crate::commands::saved::Saved;
use crate::state::AppState;
use tauri::State;

/// An encrypted backup written into `<data folder>/backups/`.
#[tauri::command]
pub async fn backup_vault(state: State<'_, AppState>) -> Result<Saved, api::Error> {
    state
        .run(|dir, slot, _| {
            let (path, summary) = api::backup::backup_in_data_dir(dir, slot)?;
            Ok(Saved {
                path: path.display().to_string(),
                rows: summary.applications as usize,
            })
        })
        .await
}

/// First run: restore an encrypted backup into this (vault-less) data folder instead of
/// creating a vault. The archive demands an admin's password or the recovery key.
#[tauri::command]
pub async fn restore_backup(
    state: State<'_, AppState>,
    file: String,
    username: Option<String>,
    password: Option<String>,
    code: Option<String>,
    recovery_key: Option<String>,
) -> Result<api::backup::Summary, api::Error> {
    state
        .run(move |dir, _, _| {
            let with = match (recovery_key, username, password) {
                (Some(key), _, _) => api::backup::RestoreWith::RecoveryKey(key),
                (None, Some(username), Some(password)) => api::backup::RestoreWith::Admin {
                    username,
                    password,
                    code: code.unwrap_or_default(),
                },
                _ => {
                    return Err(api::Error::invalid_input(
                        "password",
                        "give an admin's username and password, or the recovery key",
                    ))
                }
            };
            api::backup::restore_into_data_dir(dir, std::path::Path::new(&file), with)
        })
        .await
}

#[tauri::command]
pub async fn list_backups(
    state: State<'_, AppState>,
) -> Result<Vec<api::views::BackupFile>, api::Error> {
    state
        .run(|dir, slot, _| api::backup::list_backups(dir, slot, None))
        .await
}
