//! Settings: a closed set of keys, each stored as text in the `settings` table. Callers name a
//! [`Setting`], never a string, so no module can write a key the desk does not know.

use rusqlite::{params, OptionalExtension};

use crate::{Result, Vault, VaultError};

/// A change that one admin proposes and another confirms (four-eyes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proposable {
    RiskRules,
    ScreeningThreshold,
    /// A new version of the OFAC SDN list replacing the active one.
    ListSdn,
    /// A new version of the OFAC consolidated list replacing the active one.
    ListConsolidated,
}

impl Proposable {
    pub const ALL: [Proposable; 4] = [
        Proposable::RiskRules,
        Proposable::ScreeningThreshold,
        Proposable::ListSdn,
        Proposable::ListConsolidated,
    ];

    /// The name the window, the CLI and the audit log use.
    pub fn as_str(self) -> &'static str {
        match self {
            Proposable::RiskRules => "risk_rules",
            Proposable::ScreeningThreshold => "screening_threshold",
            Proposable::ListSdn => "list.sdn",
            Proposable::ListConsolidated => "list.consolidated",
        }
    }

    pub fn parse(name: &str) -> Option<Proposable> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// A list version (its value is the version's id) rather than a setting's new value.
    pub fn is_list(self) -> bool {
        matches!(self, Proposable::ListSdn | Proposable::ListConsolidated)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setting {
    IdleMinutes,
    RiskRules,
    ScreeningThreshold,
    PlatformUrl,
    PlatformRate,
    /// Sealed under the `settings:platform` record key, hex.
    PlatformKey,
    RetentionYears,
    RetentionSchedule,
    RetentionLastRun,
    /// A proposal waiting for a second admin (JSON).
    Pending(Proposable),
}

impl Setting {
    fn key(self) -> String {
        let plain = match self {
            Setting::IdleMinutes => "idle_minutes",
            Setting::RiskRules => "risk_rules",
            Setting::ScreeningThreshold => "screening_threshold",
            Setting::PlatformUrl => "platform_url",
            Setting::PlatformRate => "platform_rate",
            Setting::PlatformKey => "platform_key",
            Setting::RetentionYears => "retention_years",
            Setting::RetentionSchedule => "retention_schedule",
            Setting::RetentionLastRun => "retention_last_run",
            Setting::Pending(p) => return format!("pending.{}", p.as_str()),
        };
        plain.to_string()
    }
}

impl Vault {
    /// A setting's stored text, if set.
    pub fn setting(&self, setting: Setting) -> Result<Option<String>> {
        self.conn()
            .prepare_cached("SELECT value FROM settings WHERE key = ?1")
            .and_then(|mut s| s.query_row([setting.key()], |r| r.get(0)).optional())
            .map_err(VaultError::storage("reading a setting"))
    }

    /// Stores a setting (inside a unit of work, with the audit entry of the change).
    pub fn set_setting(&self, setting: Setting, value: &str) -> Result<()> {
        self.in_unit()?;
        self.conn()
            .prepare_cached(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .and_then(|mut s| s.execute(params![setting.key(), value]))
            .map_err(VaultError::storage("saving a setting"))?;
        Ok(())
    }

    pub fn clear_setting(&self, setting: Setting) -> Result<()> {
        self.in_unit()?;
        self.conn()
            .prepare_cached("DELETE FROM settings WHERE key = ?1")
            .and_then(|mut s| s.execute([setting.key()]))
            .map_err(VaultError::storage("removing a setting"))?;
        Ok(())
    }
}
