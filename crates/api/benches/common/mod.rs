//! What every bench starts from: a vault in a temp folder (minimum argon2id cost) and its admin
//! signed in and enrolled.

use desk_api::auth::{self, SetupInput};
use desk_api::{DataDir, KdfParams, Policy, SessionSlot};

pub const USER: &str = "bench";
pub const PASSWORD: &str = "correct horse battery";

/// The current TOTP code for `secret`.
pub fn code_now(secret: &str) -> String {
    let secret = vault::totp::Secret::from_base32(secret).expect("base32");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    secret.code_at(now)
}

/// A fresh vault with its admin signed in: the temp folder (kept alive by the caller), the
/// data folder and the session.
pub fn signed_in_vault() -> (tempfile::TempDir, DataDir, SessionSlot) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = DataDir::open(tmp.path()).expect("data dir");
    let mut slot = SessionSlot::new();
    let policy = Policy {
        kdf: KdfParams::MINIMUM,
        ..Policy::default()
    };
    let out = auth::setup_vault(
        &dir,
        SetupInput {
            username: USER.into(),
            password: PASSWORD.into(),
        },
        &mut slot,
        policy,
    )
    .expect("set up");
    let secret = out.session.enrolment.expect("enrolment").secret;
    auth::confirm_totp(&mut slot, &code_now(&secret)).expect("enrol");
    (tmp, dir, slot)
}
