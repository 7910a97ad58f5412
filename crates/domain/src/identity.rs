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
    #[error("username is reserved: the audit log uses it for entries no user writes")]
    Reserved,
}

/// Names the audit log gives to actors that are no user: a user by one of these names would
/// have their entries read (and signed) as the desk's or the recovery key's.
pub const RESERVED_USERNAMES: [&str; 4] = ["anonymous", "system", "recovery", "recovery-key"];

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
        if RESERVED_USERNAMES.contains(&name.as_str()) {
            return Err(UsernameError::Reserved);
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
/// characters, at most 256, letters and digits both, not containing the username, not a
/// commonly used password (our list, and the leaked-password lists zxcvbn bundles), and hard
/// enough to guess by zxcvbn's estimate (score 3 of 4: about 10^8 guesses or more).
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
    #[error("password must contain both letters and digits")]
    LettersAndDigits,
    #[error("password is too easy to guess; use more words, or words that do not form a pattern")]
    Guessable,
}

/// The least zxcvbn score a new password needs (3: "safely unguessable", about 10^8 guesses
/// or more, against an online attack and a throttled offline one).
pub const MIN_PASSWORD_SCORE: u8 = 3;

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
        if !password.chars().any(char::is_alphabetic) || !password.chars().any(char::is_numeric) {
            return Err(PasswordError::LettersAndDigits);
        }
        let lower = password.to_lowercase();
        if lower.contains(username.as_str()) {
            return Err(PasswordError::ContainsUsername);
        }
        if is_common(&lower) {
            return Err(PasswordError::Common);
        }
        let estimate = zxcvbn::zxcvbn(password, &[username.as_str(), "boarding", "desk"]);
        if leaked(&estimate) {
            return Err(PasswordError::Common);
        }
        if u8::from(estimate.score()) < MIN_PASSWORD_SCORE {
            return Err(PasswordError::Guessable);
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

/// Whether zxcvbn found the whole password (give or take case and l33t substitutions) in one
/// of its lists of leaked passwords.
fn leaked(estimate: &zxcvbn::Entropy) -> bool {
    use zxcvbn::feedback::Warning;
    matches!(
        estimate.feedback().and_then(|f| f.warning()),
        Some(
            Warning::ThisIsATop10Password
                | Warning::ThisIsATop100Password
                | Warning::ThisIsACommonPassword
                | Warning::ThisIsSimilarToACommonlyUsedPassword
        )
    )
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
        for reserved in ["System", " anonymous", "recovery-key", "RECOVERY"] {
            assert_eq!(
                Username::parse(reserved),
                Err(UsernameError::Reserved),
                "{reserved}"
            );
        }
        assert!(Username::parse("systems").is_ok());
    }

    #[test]
    fn passwords_follow_the_policy() {
        let u = user("alice");
        assert!(NewPassword::parse("correct horse battery 42", &u).is_ok());
        // PCI DSS 8.3.6: letters and digits both.
        for no_digit in [
            "correct horse battery",
            "aaaaaaaaaaaa",
            "correcthorsebattery",
        ] {
            assert_eq!(
                NewPassword::parse(no_digit, &u).unwrap_err(),
                PasswordError::LettersAndDigits,
                "{no_digit}"
            );
        }
        assert_eq!(
            NewPassword::parse("123456789012", &u).unwrap_err(),
            PasswordError::LettersAndDigits
        );
        // zxcvbn: a repeat, a keyboard walk, a season and year are guessed quickly.
        assert_eq!(
            NewPassword::parse("aaaaaaaaaaa1", &u).unwrap_err(),
            PasswordError::Guessable
        );
        for leaked in ["qwerty123456", "1q2w3e4r5t6y", "zaq12wsxcde3"] {
            assert_eq!(
                NewPassword::parse(leaked, &u).unwrap_err(),
                PasswordError::Common,
                "{leaked} is on zxcvbn's leaked-password lists or ours"
            );
        }
        assert_eq!(
            NewPassword::parse("short pass", &u).unwrap_err(),
            PasswordError::TooShort
        );
        assert_eq!(
            NewPassword::parse(&"x".repeat(257), &u).unwrap_err(),
            PasswordError::TooLong
        );
        assert_eq!(
            NewPassword::parse("my-ALICE-password-7", &u).unwrap_err(),
            PasswordError::ContainsUsername
        );
        assert_eq!(
            NewPassword::parse("password1234", &u).unwrap_err(),
            PasswordError::Common
        );
        assert_eq!(
            NewPassword::parse("qwertyuiop12", &u).unwrap_err(),
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
        let ok = NewPassword::parse("correct horse battery 42", &u).unwrap();
        assert!(!format!("{ok:?}").contains("horse"));
    }
}
