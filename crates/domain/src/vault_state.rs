use std::fmt;

use serde::{Deserialize, Serialize};

/// Where the local vault stands, as shown in the status bar and by `desk info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum VaultState {
    /// No vault file exists in the data dir yet.
    NotCreated,
    /// A vault file exists; nobody has unlocked it in this process.
    Locked,
    /// The vault file exists but its keyring (the wrapped keys beside it) does not.
    KeyringMissing,
}

impl VaultState {
    /// Words a person reads in the status bar or the CLI.
    pub fn label(self) -> &'static str {
        match self {
            VaultState::NotCreated => "not created",
            VaultState::Locked => "locked",
            VaultState::KeyringMissing => "keyring missing",
        }
    }
}

impl fmt::Display for VaultState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_is_snake_case_and_label_is_readable() {
        assert_eq!(
            serde_json::to_string(&VaultState::NotCreated).unwrap(),
            "\"not_created\""
        );
        assert_eq!(VaultState::NotCreated.to_string(), "not created");
    }
}
