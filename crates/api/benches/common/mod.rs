//! What every bench starts from (the shared test kit): a vault in a temp folder (minimum
//! argon2id cost) and its admin signed in and enrolled.

use desk_api::{DataDir, SessionSlot};

pub const USER: &str = "bench";
#[allow(unused_imports)] // the intake bench signs in again
pub use testkit::PASSWORD;

/// A fresh vault with its admin signed in: the temp folder (kept alive by the caller), the
/// data folder and the session.
#[allow(dead_code)] // the intake bench keeps the secret as well
pub fn signed_in_vault() -> (tempfile::TempDir, DataDir, SessionSlot) {
    testkit::desk::signed_in_vault(USER)
}

/// [`signed_in_vault`] with the admin's TOTP secret (a restore needs a current code).
#[allow(dead_code)] // the intake bench restores
pub fn signed_in_vault_keeping_secret() -> (tempfile::TempDir, DataDir, SessionSlot, String) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = DataDir::open(tmp.path()).expect("data folder");
    let mut slot = SessionSlot::new();
    let secret = testkit::desk::setup_as(&dir, &mut slot, USER);
    (tmp, dir, slot, secret)
}

/// A second admin, made by the first and signed in (proposals — a list update, new rules —
/// need one to confirm them).
#[allow(dead_code)] // not every bench needs one
pub fn second_admin(dir: &DataDir, admin: &mut SessionSlot) -> SessionSlot {
    testkit::desk::signed_in_new_user(dir, admin, "bench2", "admin")
}
