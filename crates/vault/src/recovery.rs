//! The recovery key: 256 random bits shown once at vault creation as base32 groups.

use std::fmt;

use crate::crypto::Key;
use crate::{Result, VaultError};

pub struct RecoveryKey(Key);

impl RecoveryKey {
    pub fn generate() -> Self {
        Self(Key::random())
    }

    /// Parses what a person typed back: case, spaces and dashes do not matter.
    pub fn parse(text: &str) -> Result<Self> {
        let clean: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let bytes = data_encoding::BASE32_NOPAD
            .decode(clean.as_bytes())
            .map_err(|_| VaultError::invalid("recovery key", "is not a valid recovery key"))?;
        Key::from_slice(&bytes)
            .map(Self)
            .ok_or(VaultError::invalid("recovery key", "has the wrong length"))
    }

    pub(crate) fn key(&self) -> &Key {
        &self.0
    }

    /// Groups of four base32 characters, to write down once.
    pub fn display(&self) -> String {
        let text = data_encoding::BASE32_NOPAD.encode(self.0.expose());
        text.as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("-")
    }
}

impl fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryKey(••••)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_parses_back_with_any_case_and_spacing() {
        let key = RecoveryKey::generate();
        let shown = key.display();
        assert_eq!(
            shown.split('-').count(),
            13,
            "52 base32 characters in groups of 4"
        );
        let typed = shown.to_lowercase().replace('-', " ");
        assert_eq!(RecoveryKey::parse(&typed).unwrap().key(), key.key());
    }

    #[test]
    fn rejects_garbage_without_echoing_it() {
        let err = RecoveryKey::parse("not-a-key-0189").unwrap_err();
        assert!(!err.to_string().contains("0189"));
    }
}
