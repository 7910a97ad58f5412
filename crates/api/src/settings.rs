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

/// Settings that change who gets through (the risk rules with the four-eyes score, the
/// screening threshold): one admin proposes, another confirms, and only then do they apply.
pub const FOUR_EYES_SETTINGS: &[&str] = &["risk_rules", "screening_threshold"];

/// A change of a four-eyes setting waiting for a second admin.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingSetting {
    pub key: String,
    /// The new value as it will be stored.
    pub value: String,
    /// What changes, old and new (`points.mcc_high_risk 25 -> 0`).
    pub changes: String,
    pub proposed_by: String,
    pub proposed_at: i64,
}

fn pending_key(key: &str) -> String {
    format!("pending.{key}")
}

fn pending(vault: &Vault, key: &str) -> Option<PendingSetting> {
    read(vault, &pending_key(key)).and_then(|v| serde_json::from_str(&v).ok())
}

fn remove(vault: &Vault, key: &str) -> Result<()> {
    vault
        .conn()
        .execute("DELETE FROM settings WHERE key = ?1", [key])
        .map_err(|e| Error::internal(format!("removing a setting failed: {e}")))?;
    Ok(())
}

/// Records `value` for `key` as a proposal of the signed-in admin (replacing an earlier one),
/// audited; nothing applies until another admin confirms.
pub(crate) fn propose(
    session: &crate::session::Session,
    key: &str,
    value: &str,
    changes: &str,
) -> Result<PendingSetting> {
    let proposal = PendingSetting {
        key: key.to_string(),
        value: value.to_string(),
        changes: changes.to_string(),
        proposed_by: session.username().to_string(),
        proposed_at: crate::intake::now_ms(time::OffsetDateTime::now_utc()),
    };
    let json = serde_json::to_string(&proposal).map_err(|e| Error::internal(e.to_string()))?;
    session
        .vault()
        .conn()
        .execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [pending_key(key).as_str(), json.as_str()],
        )
        .map_err(|e| Error::internal(format!("saving a setting failed: {e}")))?;
    session.audit("settings.propose", Some(key), Outcome::Ok, Some(changes))?;
    Ok(proposal)
}

/// List versions waiting to replace the active one: `list.<source>`, the value a version id.
pub const LIST_CHANGES: &[&str] = &["list.sdn", "list.consolidated"];

/// Use case (any signed-in role): the changes waiting for a second admin.
pub fn pending_changes(slot: &mut SessionSlot) -> Result<Vec<PendingSetting>> {
    let session = slot.require(Access::SignedIn, "settings.pending")?;
    Ok(FOUR_EYES_SETTINGS
        .iter()
        .chain(LIST_CHANGES)
        .filter_map(|k| pending(session.vault(), k))
        .collect())
}

/// Use case (admin): confirm another admin's proposed change; it applies now, audited with
/// both names.
pub fn confirm_change(slot: &mut SessionSlot, key: &str) -> Result<PendingSetting> {
    let session = slot.require(Access::Admin, "settings.confirm")?;
    let proposal = pending(session.vault(), key)
        .ok_or_else(|| Error::new(crate::Code::NotFound, "no change of that setting waits"))?;
    if proposal.proposed_by == session.username() {
        session.audit(
            "settings.confirm",
            Some(key),
            Outcome::Denied,
            Some("own proposal"),
        )?;
        return Err(Error::new(
            crate::Code::Forbidden,
            "a change is confirmed by an admin other than the one who proposed it",
        ));
    }
    let detail = format!(
        "{}; proposed by {}, confirmed by {}",
        proposal.changes,
        proposal.proposed_by,
        session.username()
    );
    if LIST_CHANGES.contains(&key) {
        // A list version: it becomes the active one (the background re-screen follows).
        session.vault().activate_list(&proposal.value)?;
        session.audit(
            "lists.activate",
            Some(&proposal.value),
            Outcome::Ok,
            Some(&detail),
        )?;
    } else {
        write_with_detail(session, key, &proposal.value, &detail)?;
    }
    remove(session.vault(), &pending_key(key))?;
    Ok(proposal)
}

/// Use case (admin): withdraw (the proposer) or reject (another admin) a proposed change.
pub fn withdraw_change(slot: &mut SessionSlot, key: &str) -> Result<()> {
    let session = slot.require(Access::Admin, "settings.withdraw")?;
    let proposal = pending(session.vault(), key)
        .ok_or_else(|| Error::new(crate::Code::NotFound, "no change of that setting waits"))?;
    remove(session.vault(), &pending_key(key))?;
    session.audit(
        "settings.withdraw",
        Some(key),
        Outcome::Ok,
        Some(&format!("proposed by {}", proposal.proposed_by)),
    )?;
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
    // The session and role first, before any of the input is looked at.
    slot.require(Access::Admin, "settings.idle_minutes")?;
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
