//! Settings kept in the vault.

use vault::audit::Outcome;
use vault::rusqlite::OptionalExtension;
use vault::Vault;

use crate::session::{Access, SessionSlot, MAX_IDLE_MINUTES};
use crate::{Error, Result};

/// A setting's stored text, if set.
pub(crate) fn read(vault: &Vault, key: &str) -> Option<String> {
    vault
        .conn()
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get::<_, String>(0)
        })
        .optional()
        .ok()
        .flatten()
}

/// Stores a setting and audits the change `old -> new` (never for secrets).
pub(crate) fn write_audited(
    session: &crate::session::Session,
    key: &str,
    old: &str,
    new: &str,
) -> Result<()> {
    write_with_detail(session, key, new, &format!("{old} -> {new}"))
}

/// Stores a setting's `value` and audits the change as `detail` (what changed, old and new —
/// never a secret).
pub(crate) fn write_with_detail(
    session: &crate::session::Session,
    key: &str,
    value: &str,
    detail: &str,
) -> Result<()> {
    session
        .vault()
        .conn()
        .execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )
        .map_err(|e| Error::internal(format!("saving a setting failed: {e}")))?;
    session.audit("settings.change", Some(key), Outcome::Ok, Some(detail))?;
    Ok(())
}

/// Minutes of inactivity before the session locks (1..=15; 15 when unset).
pub(crate) fn idle_minutes(vault: &Vault) -> u32 {
    read(vault, "idle_minutes")
        .and_then(|v| v.parse().ok())
        .filter(|m| (1..=MAX_IDLE_MINUTES).contains(m))
        .unwrap_or(MAX_IDLE_MINUTES)
}

/// Use case (admin): set the idle-lock time; never more than 15 minutes.
pub fn set_idle_minutes(slot: &mut SessionSlot, minutes: u32) -> Result<u32> {
    if !(1..=MAX_IDLE_MINUTES).contains(&minutes) {
        return Err(Error::invalid_input(
            "idle minutes",
            "must be between 1 and 15",
        ));
    }
    let session = slot.require(Access::Admin, "settings.idle_minutes")?;
    let old = idle_minutes(session.vault());
    write_audited(
        session,
        "idle_minutes",
        &old.to_string(),
        &minutes.to_string(),
    )?;
    session.set_idle_limit(minutes);
    Ok(minutes)
}
