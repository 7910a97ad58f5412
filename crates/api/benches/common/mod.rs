//! What every bench starts from (the shared test kit): a vault in a temp folder (minimum
//! argon2id cost) and its admin signed in and enrolled.

use desk_api::{DataDir, SessionSlot};

pub const USER: &str = "bench";
#[allow(unused_imports)] // the intake bench signs in again
pub use testkit::PASSWORD;

/// A fresh vault with its admin signed in: the temp folder (kept alive by the caller), the
/// data folder and the session.
pub fn signed_in_vault() -> (tempfile::TempDir, DataDir, SessionSlot) {
    testkit::desk::signed_in_vault(USER)
}

/// A second admin, made by the first and signed in (proposals — a list update, new rules —
/// need one to confirm them).
#[allow(dead_code)] // not every bench needs one
pub fn second_admin(dir: &DataDir, admin: &mut SessionSlot) -> SessionSlot {
    testkit::desk::signed_in_new_user(dir, admin, "bench2", "admin")
}
