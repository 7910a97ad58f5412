//! Settings: a closed set of keys, each stored as text in the `settings` table. Callers name a
//! [`Setting`], never a string, so no module can write a key the desk does not know.

use crate::{args, Result, Tx, Vault};

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
    /// Days a generated export (audit, merchants, subject access, reports) stays in exports/.
    ExportDays,
    /// Years a blocklist entry is kept after it is added (its own retention, issue 16).
    BlocklistYears,
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
            Setting::ExportDays => "export_days",
            Setting::BlocklistYears => "blocklist_years",
            Setting::Pending(p) => return format!("pending.{}", p.as_str()),
        };
        plain.to_string()
    }
}

/// The settings, read: `vault.settings().get(Setting::RiskRules)`.
pub struct Settings<'v>(&'v Vault);

/// The settings inside a unit of work, read and changed: `tx.settings().set(Setting::RiskRules,
/// …)`. Only [`Tx::settings`] makes one, so a change of a setting commits with its audit entry.
pub struct SettingsTx<'t>(&'t Vault);

impl Vault {
    pub fn settings(&self) -> Settings<'_> {
        Settings(self)
    }
}

impl Tx<'_> {
    pub fn settings(&self) -> SettingsTx<'_> {
        SettingsTx(self)
    }
}

fn get(vault: &Vault, setting: Setting) -> Result<Option<String>> {
    vault.db().query_value(
        "reading a setting",
        "SELECT value FROM settings WHERE key = ?1",
        args![setting.key()],
    )
}

impl Settings<'_> {
    /// A setting's stored text, if set.
    pub fn get(&self, setting: Setting) -> Result<Option<String>> {
        get(self.0, setting)
    }
}

impl SettingsTx<'_> {
    /// A setting's stored text, if set (what this unit has written included).
    pub fn get(&self, setting: Setting) -> Result<Option<String>> {
        get(self.0, setting)
    }

    /// Stores a setting.
    pub fn set(&self, setting: Setting, value: &str) -> Result<()> {
        self.0.in_unit()?;
        self.0.db().execute(
            "saving a setting",
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            args![setting.key(), value],
        )?;
        Ok(())
    }

    /// Removes a setting (its default applies again).
    pub fn clear(&self, setting: Setting) -> Result<()> {
        self.0.in_unit()?;
        self.0.db().execute(
            "removing a setting",
            "DELETE FROM settings WHERE key = ?1",
            args![setting.key()],
        )?;
        Ok(())
    }
}
