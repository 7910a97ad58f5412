use std::path::PathBuf;

use domain::VaultState;
use serde::Serialize;

use crate::{DataDir, Result};

pub const APP_NAME: &str = "Boarding Desk";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What the status bar and `desk info` show. Needs no session: it says nothing about any
/// merchant, only about this installation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct AppInfo {
    pub name: &'static str,
    pub version: &'static str,
    pub data_dir: PathBuf,
    pub vault: VaultState,
    /// The team store this desk's vault lives in (its password hidden), when it is a team's.
    pub store: Option<String>,
}

/// Use case: describe this installation.
pub fn app_info(data_dir: &DataDir) -> Result<AppInfo> {
    let vault: VaultState = vault::state(data_dir.path());
    Ok(AppInfo {
        name: APP_NAME,
        version: VERSION,
        data_dir: data_dir.path().to_path_buf(),
        vault,
        store: vault::team::placement::store_of(data_dir.path()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_data_dir_has_no_vault() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::open(tmp.path()).unwrap();
        let info = app_info(&dir).unwrap();
        assert_eq!(
            info.vault,
            VaultState::NotCreated,
            "nothing was created yet"
        );
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(info.data_dir, dir.path());
    }

    #[test]
    fn an_existing_vault_file_reads_as_locked() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::open(tmp.path()).unwrap();
        std::fs::write(dir.vault_path(), b"").unwrap();
        assert_eq!(
            app_info(&dir).unwrap().vault,
            VaultState::KeyringMissing,
            "no keyring beside it"
        );
        std::fs::write(dir.path().join(vault::KEYRING_FILE), b"{}").unwrap();
        assert_eq!(app_info(&dir).unwrap().vault, VaultState::Locked);
    }
}
