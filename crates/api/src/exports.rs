//! Generated exports expire: the files the desk writes under the data folder's `exports/`
//! (audit and merchant exports, subject-access files, sanctions reports) are deleted once they
//! are older than an admin setting (30 days unless changed), so a subject-access file or a
//! report with names in it does not stay on the disk for ever. The window checks every minute
//! while someone is signed in; every sign-in (window or CLI) checks too.

use std::path::Path;
use std::time::{Duration, SystemTime};

use vault::audit::Outcome;
use vault::Setting;

use crate::session::{on_behalf, write_as};
use crate::{Access, DataDir, Error, Result, SessionSlot};

/// How long an export is kept unless an admin says otherwise.
pub const DEFAULT_EXPORT_DAYS: u32 = 30;
/// The longest an admin may keep exports.
pub const MAX_EXPORT_DAYS: u32 = 365;
const ACTOR: &str = "system:exports";

pub fn export_days(vault: &vault::Vault) -> u32 {
    crate::settings::read(vault, Setting::ExportDays)
        .and_then(|v| v.parse().ok())
        .filter(|d| (1..=MAX_EXPORT_DAYS).contains(d))
        .unwrap_or(DEFAULT_EXPORT_DAYS)
}

/// Use case (admin): how many days generated exports are kept, 1–365; audited old → new.
pub fn set_export_days(slot: &mut SessionSlot, days: u32) -> Result<u32> {
    let session = slot.require(Access::Admin, "settings.export_days")?;
    if !(1..=MAX_EXPORT_DAYS).contains(&days) {
        return Err(Error::invalid_input(
            "export days",
            "must be between 1 and 365",
        ));
    }
    let old = export_days(session.vault());
    crate::settings::write_audited(
        session,
        Setting::ExportDays,
        "export_days",
        &old.to_string(),
        &days.to_string(),
    )?;
    Ok(days)
}

/// Use case (any signed-in session, as background housekeeping): deletes every export older
/// than the setting and audits how many went. `now` is passed in so tests can move the clock.
/// Returns the number deleted (0 without a session).
pub fn expire_exports(slot: &mut SessionSlot, dir: &DataDir, now: SystemTime) -> Result<usize> {
    let Some(session) = slot.background() else {
        return Ok(0);
    };
    let keep = Duration::from_secs(u64::from(export_days(session.vault())) * 86_400);
    let deleted = delete_older_than(&dir.path().join("exports"), now, keep);
    if deleted > 0 {
        let actor = on_behalf(ACTOR, session.username());
        write_as(session.vault(), &actor, |w| {
            w.audit(
                "exports.expired",
                None,
                Outcome::Ok,
                Some(&format!(
                    "{deleted} file(s) older than {} days deleted",
                    keep.as_secs() / 86_400
                )),
            )
        })?;
    }
    Ok(deleted)
}

/// Deletes the regular files directly in `folder` last modified before `now - keep`. Links
/// and folders are left alone (the desk writes neither there).
fn delete_older_than(folder: &Path, now: SystemTime, keep: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return 0;
    };
    let Some(cutoff) = now.checked_sub(keep) else {
        return 0;
    };
    let mut deleted = 0;
    for entry in entries.flatten() {
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        let old = meta.modified().is_ok_and(|m| m < cutoff);
        if meta.file_type().is_file() && old && std::fs::remove_file(entry.path()).is_ok() {
            deleted += 1;
        }
    }
    deleted
}
