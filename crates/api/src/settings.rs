//! Settings kept in the vault.

use vault::audit::Outcome;
use vault::{Proposable, Setting, Vault};

use crate::session::{Access, SessionSlot, Unit, MAX_IDLE_MINUTES};
use crate::{Error, Result};

/// A setting's stored text, if set (unreadable counts as unset: every caller has a default).
pub(crate) fn read(vault: &Vault, key: Setting) -> Option<String> {
    vault.settings().get(key).ok().flatten()
}

/// Stores a setting and audits the change `old -> new` (never for secrets).
pub(crate) fn write_audited(
    session: &crate::session::Session,
    key: Setting,
    name: &str,
    old: &str,
    new: &str,
) -> Result<()> {
    session.write(|w| write_with_detail(w, key, name, new, &format!("{old} -> {new}")))
}

/// Stores a setting's `value` and audits the change as `detail` (what changed, old and new —
/// never a secret), in the caller's unit of work.
pub(crate) fn write_with_detail(
    w: &Unit<'_>,
    key: Setting,
    name: &str,
    value: &str,
    detail: &str,
) -> Result<()> {
    w.settings().set(key, value)?;
    w.audit("settings.change", Some(name), Outcome::Ok, Some(detail))
}

/// Settings that change who gets through (the risk rules with the four-eyes score, the
/// screening threshold): one admin proposes, another confirms, and only then do they apply.
pub const FOUR_EYES_SETTINGS: &[Proposable] =
    &[Proposable::RiskRules, Proposable::ScreeningThreshold];

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

fn pending(vault: &Vault, key: Proposable) -> Option<PendingSetting> {
    read(vault, Setting::Pending(key)).and_then(|v| serde_json::from_str(&v).ok())
}

/// Records `value` for `key` as a proposal of the signed-in admin (replacing an earlier one),
/// audited; nothing applies until another admin confirms.
pub(crate) fn propose(
    w: &Unit<'_>,
    key: Proposable,
    value: &str,
    changes: &str,
) -> Result<PendingSetting> {
    let proposal = PendingSetting {
        key: key.as_str().to_string(),
        value: value.to_string(),
        changes: changes.to_string(),
        proposed_by: w.actor().to_string(),
        proposed_at: crate::clock::now_ms(w.now()),
    };
    let json = serde_json::to_string(&proposal).map_err(|e| Error::internal(e.to_string()))?;
    w.settings().set(Setting::Pending(key), &json)?;
    w.audit(
        "settings.propose",
        Some(key.as_str()),
        Outcome::Ok,
        Some(changes),
    )?;
    Ok(proposal)
}

/// List versions waiting to replace the active one: `list.<source>`, the value a version id.
pub const LIST_CHANGES: &[Proposable] = &[Proposable::ListSdn, Proposable::ListConsolidated];

/// Use case (any signed-in role): the changes waiting for a second admin.
pub fn pending_changes(slot: &mut SessionSlot) -> Result<Vec<PendingSetting>> {
    let session = slot.require(Access::SignedIn, "settings.pending")?;
    Ok(FOUR_EYES_SETTINGS
        .iter()
        .chain(LIST_CHANGES)
        .filter_map(|k| pending(session.vault(), *k))
        .collect())
}

/// Use case (admin): confirm another admin's proposed change; it applies now, audited with
/// both names.
pub fn confirm_change(slot: &mut SessionSlot, key: &str) -> Result<PendingSetting> {
    let session = slot.require(Access::Admin, "settings.confirm")?;
    let no_change = || Error::new(crate::Code::NotFound, "no change of that setting waits");
    let key = Proposable::parse(key).ok_or_else(no_change)?;
    let proposal = pending(session.vault(), key).ok_or_else(no_change)?;
    if proposal.proposed_by == session.username() {
        session.audit(
            "settings.confirm",
            Some(key.as_str()),
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
    session.write(|w| {
        match key {
            // A list version: it becomes the active one (the background re-screen follows).
            Proposable::ListSdn | Proposable::ListConsolidated => {
                w.activate_list(&proposal.value)?;
                w.audit(
                    "lists.activate",
                    Some(&proposal.value),
                    Outcome::Ok,
                    Some(&detail),
                )?;
            }
            Proposable::RiskRules => write_with_detail(
                w,
                Setting::RiskRules,
                key.as_str(),
                &proposal.value,
                &detail,
            )?,
            Proposable::ScreeningThreshold => write_with_detail(
                w,
                Setting::ScreeningThreshold,
                key.as_str(),
                &proposal.value,
                &detail,
            )?,
        }
        w.settings().clear(Setting::Pending(key))?;
        Ok(())
    })?;
    Ok(proposal)
}

/// Use case (admin): withdraw (the proposer) or reject (another admin) a proposed change.
pub fn withdraw_change(slot: &mut SessionSlot, key: &str) -> Result<()> {
    let session = slot.require(Access::Admin, "settings.withdraw")?;
    let no_change = || Error::new(crate::Code::NotFound, "no change of that setting waits");
    let key = Proposable::parse(key).ok_or_else(no_change)?;
    let proposal = pending(session.vault(), key).ok_or_else(no_change)?;
    session.write(|w| {
        w.settings().clear(Setting::Pending(key))?;
        w.audit(
            "settings.withdraw",
            Some(key.as_str()),
            Outcome::Ok,
            Some(&format!("proposed by {}", proposal.proposed_by)),
        )
    })
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
    let old = crate::session::idle_minutes(session.vault());
    write_audited(
        session,
        Setting::IdleMinutes,
        "idle_minutes",
        &old.to_string(),
        &minutes.to_string(),
    )?;
    session.set_idle_limit(minutes);
    Ok(minutes)
}
