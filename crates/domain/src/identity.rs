//! Usernames and passwords for Boarding Desk's own users (underwriters, admins, auditors).

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// A lower-case login name: 3–32 of `a-z 0-9 . _ -`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("username must be 3 to 32 characters")]
    Length,
    #[error("username may contain only letters, digits, '.', '_' and '-', and must start with a letter or digit")]
    Characters,
}

impl Username {
    pub fn parse(input: &str) -> Result<Self, UsernameError> {
        let name = input.trim().to_ascii_lowercase();
        if !(3..=32).contains(&name.chars().count()) {
            return Err(UsernameError::Length);
        }
        let mut chars = name.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
        let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !(first_ok && rest_ok) {
            return Err(UsernameError::Characters);
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password that meets the policy (PCI DSS v4 8.3.6 and NIST SP 800-63B): at least 12
/// characters, at most 256, not a commonly used password, not containing the username.
/// Zeroized on drop; `Debug` prints nothing.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct NewPassword(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("password must be at least 12 characters")]
    TooShort,
    #[error("password must be at most 256 characters")]
    TooLong,
    #[error("password is too common; choose one that is not on lists of leaked passwords")]
    Common,
    #[error("password must not contain the username")]
    ContainsUsername,
}

/// The shortest password the policy accepts, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;

const COMMON: &str = include_str!("common-passwords.txt");

impl NewPassword {
    pub fn parse(password: &str, username: &Username) -> Result<Self, PasswordError> {
        let length = password.chars().count();
        if length < MIN_PASSWORD_CHARS {
            return Err(PasswordError::TooShort);
        }
        if length > 256 {
            return Err(PasswordError::TooLong);
        }
        let lower = password.to_lowercase();
        if lower.contains(username.as_str()) {
            return Err(PasswordError::ContainsUsername);
        }
        if is_common(&lower) {
            return Err(PasswordError::Common);
        }
        Ok(Self(password.to_string()))
    }

    /// The password's bytes, for the key derivation function only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(••••)")
    }
}

/// Common passwords, and common passwords padded with digits or punctuation to reach 12.
fn is_common(lower: &str) -> bool {
    let core = lower.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    COMMON
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .any(|common| common == lower || (core.len() >= 4 && common == core))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> Username {
        Username::parse(name).unwrap()
    }

    #[test]
    fn usernames_are_normalised_and_checked() {
        assert_eq!(user("  Alice.Smith ").as_str(), "alice.smith");
        assert_eq!(Username::parse("ab"), Err(UsernameError::Length));
        assert_eq!(Username::parse(&"a".repeat(33)), Err(UsernameError::Length));
        assert_eq!(Username::parse("-alice"), Err(UsernameError::Characters));
        assert_eq!(Username::parse("al ice"), Err(UsernameError::Characters));
        assert_eq!(Username::parse("alicé"), Err(UsernameError::Characters));
    }

    #[test]
    fn passwords_follow_the_policy() {
        let u = user("alice");
        assert!(NewPassword::parse("correct horse battery", &u).is_ok());
        assert_eq!(
            NewPassword::parse("short pass", &u).unwrap_err(),
            PasswordError::TooShort
        );
        assert_eq!(
            NewPassword::parse(&"x".repeat(257), &u).unwrap_err(),
            PasswordError::TooLong
        );
        assert_eq!(
            NewPassword::parse("my-ALICE-password", &u).unwrap_err(),
            PasswordError::ContainsUsername
        );
        assert_eq!(
            NewPassword::parse("password1234", &u).unwrap_err(),
            PasswordError::Common
        );
        assert_eq!(
            NewPassword::parse("qwertyuiop!!", &u).unwrap_err(),
            PasswordError::Common
        );
        assert_eq!(
            NewPassword::parse("Iloveyou2024!", &u).unwrap_err(),
            PasswordError::Common
        );
    }

    #[test]
    fn password_errors_and_debug_never_echo_the_password() {
        let u = user("alice");
        let secret = "password1234";
        let err = NewPassword::parse(secret, &u).unwrap_err();
        assert!(!err.to_string().contains(secret));
        let ok = NewPassword::parse("correct horse battery", &u).unwrap();
        assert!(!format!("{ok:?}").contains("horse"));
    }
}
