//! The vault tests' support: the shared test kit, and what only these tests use.

pub use testkit::applications::form;
pub use testkit::vault::{at, code_at, created, password, sign_in_admin, t0, username};
pub use testkit::{policy, ADMIN, PASSWORD as ADMIN_PW};

/// The digits of a value (how EIN/SSN blind indexes are keyed).
pub fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}
