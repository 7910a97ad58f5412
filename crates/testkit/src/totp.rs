//! Authenticator codes, as the user's app would show them.

/// The code for `secret` (base32) at `unix_secs`.
pub fn code_at(secret: &str, unix_secs: u64) -> String {
    vault::totp::Secret::from_base32(secret)
        .expect("a base32 authenticator secret")
        .code_at(unix_secs)
}

/// The code for `secret` now.
pub fn code_now(secret: &str) -> String {
    code_ahead(secret, 0)
}

/// The code `steps` 30-second steps from now: a code is spent once, so a second sign-in in
/// the same step needs the next one.
pub fn code_ahead(secret: &str, steps: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs();
    code_at(secret, now + 30 * steps)
}
