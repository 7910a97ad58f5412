//! Which team store a data folder's vault lives in: `team.json` beside the keyring, holding the
//! store's URL (never its password: that comes from `$PGPASSWORD`, as libpq takes it) and the
//! vault's id, which the store's own `meta` row must repeat.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::StoreUrl;
use crate::{Result, VaultError};

/// The file that makes a data folder a team desk.
pub const TEAM_FILE: &str = "team.json";

#[derive(Serialize, Deserialize)]
struct Placement {
    url: String,
    vault_id: Uuid,
}

pub(crate) fn path(dir: &Path) -> PathBuf {
    dir.join(TEAM_FILE)
}

/// Whether `dir` is a team desk's folder.
pub fn is_team(dir: &Path) -> bool {
    path(dir).exists()
}

/// Records that the vault `vault_id` of `dir` lives in the store at `url`.
pub(crate) fn write(dir: &Path, url: &StoreUrl, vault_id: Uuid) -> Result<()> {
    let placement = Placement {
        url: url.without_password(),
        vault_id,
    };
    let json = serde_json::to_vec_pretty(&placement)
        .map_err(|_| VaultError::Conflict("the team file could not be written"))?;
    let mut file = crate::db::private_file()
        .create_new(true)
        .write(true)
        .open(path(dir))
        .map_err(VaultError::io("the team file", "created"))?;
    std::io::Write::write_all(&mut file, &json)
        .and_then(|()| file.sync_all())
        .map_err(VaultError::io("the team file", "written"))
}

/// The store and vault id `dir` names; the password from `$PGPASSWORD` when the URL has none.
pub(crate) fn read(dir: &Path) -> Result<(StoreUrl, Uuid)> {
    let bytes = std::fs::read(path(dir)).map_err(VaultError::io("the team file", "read"))?;
    let placement: Placement = serde_json::from_slice(&bytes)
        .map_err(|_| VaultError::VaultDamaged("team.json is not a team file"))?;
    let mut url: StoreUrl = placement.url.parse()?;
    if let Some(password) = std::env::var_os("PGPASSWORD") {
        url.default_password(password.as_encoded_bytes());
    }
    Ok((url, placement.vault_id))
}

/// The store `dir`'s vault lives in, for display (no password: team.json never holds one).
pub fn store_of(dir: &Path) -> Option<String> {
    let bytes = std::fs::read(path(dir)).ok()?;
    let placement: Placement = serde_json::from_slice(&bytes).ok()?;
    let url: StoreUrl = placement.url.parse().ok()?;
    Some(url.redacted().to_string())
}
