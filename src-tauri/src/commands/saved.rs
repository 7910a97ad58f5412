//! Exports saved to the data folder's `exports/`: what the window is told about each file.

use api::audit_log;
/// Where an export was saved, and how many rows it holds.
#[derive(serde::Serialize)]
pub struct Saved {
    pub(crate) path: String,
    pub(crate) rows: usize,
}

pub(crate) fn save(dir: &api::DataDir, export: audit_log::Export) -> api::Result<Saved> {
    let path = audit_log::save_export(dir, &export)?;
    Ok(Saved {
        path: path.display().to_string(),
        rows: export.rows,
    })
}

/// Both files of a subject export, saved under exports/.
#[derive(serde::Serialize)]
pub struct SavedSubject {
    pub(crate) applications: Vec<String>,
    pub(crate) json: String,
    pub(crate) html: String,
}

/// Both files of the sanctions reports, saved under exports/.
#[derive(serde::Serialize)]
pub struct SavedReports {
    pub(crate) reports: usize,
    pub(crate) json: String,
    pub(crate) html: String,
}
