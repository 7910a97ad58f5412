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

/// A second admin, made by the first and signed in (proposals — a list update, new rules —
/// need one to confirm them).
#[allow(dead_code)] // not every bench needs one
pub fn second_admin(dir: &DataDir, admin: &mut SessionSlot) -> SessionSlot {
    let issued = desk_api::users::create_user(
        admin,
        desk_api::users::NewUserInput {
            username: "bench2".into(),
            role: "admin".into(),
        },
    )
    .expect("second admin");
    let mut slot = SessionSlot::new();
    let policy = Policy {
        kdf: KdfParams::MINIMUM,
        ..Policy::default()
    };
    auth::sign_in(
        dir,
        auth::SignInInput {
            username: "bench2".into(),
            password: issued.one_time_password,
            code: None,
        },
        &mut slot,
        policy,
    )
    .expect("sign in");
    let info = auth::change_password(
        &mut slot,
        auth::ChangePasswordInput {
            current: None,
            new_password: PASSWORD.into(),
        },
    )
    .expect("new password");
    let secret = info.enrolment.expect("enrolment").secret;
    auth::confirm_totp(&mut slot, &code_now(&secret)).expect("enrol");
    slot
}
