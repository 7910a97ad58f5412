use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a signed-in user may do. The api crate checks it on every use case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs users, settings, merchants and the vault itself.
    Admin,
    /// An underwriter who may also give the second approval of a high-risk application.
    Lead,
    /// Works the review queue and decides applications.
    Underwriter,
    /// Reads everything that is not secret, changes nothing.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Lead, Role::Underwriter, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Lead => "lead",
            Role::Underwriter => "underwriter",
            Role::Auditor => "auditor",
        }
    }

    /// Whether this role may change data (auditors may only read).
    pub fn can_write(self) -> bool {
        !matches!(self, Role::Auditor)
    }

    /// Whether this role may give the second approval of a high-risk application (four-eyes).
    pub fn can_give_second_approval(self) -> bool {
        matches!(self, Role::Admin | Role::Lead)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("role must be one of admin, lead, underwriter, auditor")]
pub struct ParseRoleError;

impl FromStr for Role {
    type Err = ParseRoleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "lead" => Ok(Role::Lead),
            "underwriter" => Ok(Role::Underwriter),
            "auditor" => Ok(Role::Auditor),
            _ => Err(ParseRoleError),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_role_from_its_own_name() {
        for role in Role::ALL {
            assert_eq!(
                role.as_str().parse::<Role>(),
                Ok(role),
                "round trip of {role}"
            );
        }
    }

    #[test]
    fn parsing_ignores_case_and_surrounding_space() {
        assert_eq!(" Underwriter ".parse::<Role>(), Ok(Role::Underwriter));
    }

    #[test]
    fn rejects_unknown_roles_without_echoing_input() {
        let err = "superuser".parse::<Role>().unwrap_err();
        assert!(
            !err.to_string().contains("superuser"),
            "error text must not echo what the user typed"
        );
    }

    #[test]
    fn only_auditors_are_read_only() {
        assert!(Role::Admin.can_write());
        assert!(Role::Underwriter.can_write());
        assert!(!Role::Auditor.can_write(), "auditors must never write");
    }

    #[test]
    fn serialises_as_snake_case() {
        assert_eq!(
            serde_json::to_string(&Role::Underwriter).unwrap(),
            "\"underwriter\""
        );
    }
}
