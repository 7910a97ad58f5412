//! Settings kept in the vault.

use vault::audit::Outcome;
use vault::rusqlite::OptionalExtension;
use vault::Vault;

use crate::session::{Access, SessionSlot, MAX_IDLE_MINUTES};
use crate::{Error, Result};

/// Minutes of inactivity before the session locks (1..=15; 15 when unset).
pub(crate) fn idle_minutes(vault: &Vault) -> u32 {
    vault
        .conn()
        .query_row(
            "SELECT value FROM settings WHERE key = 'idle_minutes'",
            [],
            |r| r.get::<_, String>(0),
        )
        .optional()
        .ok()
        .flatten()
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
    session
        .vault()
        .conn()
        .execute(
            "INSERT INTO settings (key, value) VALUES ('idle_minutes', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [minutes.to_string()],
        )
        .map_err(|e| Error::internal(format!("saving a setting failed: {e}")))?;
    session.set_idle_limit(minutes);
    session.audit(
        "settings.change",
        Some("idle_minutes"),
        Outcome::Ok,
        Some(&format!("{old} -> {minutes}")),
    )?;
    Ok(minutes)
}
