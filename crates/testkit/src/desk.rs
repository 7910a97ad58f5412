//! A vault through the api, as the window and the CLI use it: its admin signed in and
//! enrolled, and users of any role the admin adds.

use api::auth::{self, ChangePasswordInput, SetupInput, SignInInput};
use api::session::Stage;
use api::{users, DataDir, SessionSlot};

use crate::totp::code_now;
use crate::{policy, ADMIN, PASSWORD};

/// The password users added by the admin choose at their first sign-in.
pub const USER_PASSWORD: &str = "quiet river stones 7";

/// Sets up a vault in `dir` with `username` as its admin (password [`PASSWORD`]), enrolls the
/// authenticator and leaves the session ready; returns the admin's TOTP secret.
pub fn setup_as(dir: &DataDir, slot: &mut SessionSlot, username: &str) -> String {
    setup_with(dir, slot, username, PASSWORD)
}

/// [`setup_as`] with `password`.
pub fn setup_with(dir: &DataDir, slot: &mut SessionSlot, username: &str, password: &str) -> String {
    let input = SetupInput {
        username: username.into(),
        password: password.into(),
    };
    if crate::team_backend() {
        let db = crate::postgres::Cluster::shared().fresh_team_database();
        return setup_on_store(dir, slot, username, password, &db.app);
    }
    let out = auth::setup_vault(dir, input, slot, policy()).unwrap();
    finish_setup(slot, out)
}

/// [`setup_with`] on the team store at `url` (a desk's role on a migrated database), whatever
/// backend the tests run on.
pub fn setup_on_store(
    dir: &DataDir,
    slot: &mut SessionSlot,
    username: &str,
    password: &str,
    url: &str,
) -> String {
    let input = SetupInput {
        username: username.into(),
        password: password.into(),
    };
    let out = api::team::create(dir, url, input, slot, policy()).unwrap();
    finish_setup(slot, out)
}

/// Enrols the new admin's authenticator; returns its secret.
fn finish_setup(slot: &mut SessionSlot, out: auth::SetupOutput) -> String {
    assert_eq!(
        out.session.stage,
        Stage::EnrolTotp,
        "set-up continues with the authenticator"
    );
    assert_eq!(
        out.recovery_key.len(),
        64,
        "52 base32 characters in 13 groups"
    );
    let secret = out.session.enrolment.expect("enrolment is shown").secret;
    let info = auth::confirm_totp(slot, &code_now(&secret)).unwrap();
    assert_eq!(info.stage, Stage::Ready);
    secret
}

/// [`setup_as`] with [`ADMIN`].
pub fn setup(dir: &DataDir, slot: &mut SessionSlot) -> String {
    setup_as(dir, slot, ADMIN)
}

/// A fresh vault in a temp folder (kept alive by the caller) with `username` as its admin,
/// signed in.
pub fn signed_in_vault(username: &str) -> (tempfile::TempDir, DataDir, SessionSlot) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let mut slot = SessionSlot::new();
    setup_as(&dir, &mut slot, username);
    (tmp, dir, slot)
}

/// A user `admin` adds just now with `role`, signed in with [`USER_PASSWORD`] and enrolled.
pub fn signed_in_new_user(
    dir: &DataDir,
    admin: &mut SessionSlot,
    name: &str,
    role: &str,
) -> SessionSlot {
    enrolled_user(dir, admin, name, role).0
}

/// [`signed_in_new_user`] with the user's TOTP secret (its current step is spent), for a test
/// that signs the user in again (the CLI).
pub fn enrolled_user(
    dir: &DataDir,
    admin: &mut SessionSlot,
    name: &str,
    role: &str,
) -> (SessionSlot, String) {
    let issued = users::create_user(
        admin,
        users::NewUserInput {
            username: name.into(),
            role: role.into(),
        },
    )
    .unwrap();
    let mut slot = SessionSlot::new();
    auth::sign_in(
        dir,
        SignInInput {
            username: name.into(),
            password: issued.one_time_password,
            code: None,
        },
        &mut slot,
        policy(),
    )
    .unwrap();
    let info = auth::change_password(
        &mut slot,
        ChangePasswordInput {
            current: None,
            new_password: USER_PASSWORD.into(),
        },
    )
    .unwrap();
    let secret = info.enrolment.unwrap().secret;
    auth::confirm_totp(&mut slot, &code_now(&secret)).unwrap();
    (slot, secret)
}

/// [`signed_in_new_user`], with the account made to look two days old, so it may give second
/// approvals (an account must be a day old). The vault offers no way to age an account: its
/// debug-only test hook writes the creation time.
#[cfg(debug_assertions)]
pub fn signed_in_user(
    dir: &DataDir,
    admin: &mut SessionSlot,
    name: &str,
    role: &str,
) -> SessionSlot {
    use vault::testing::Raw;

    let slot = signed_in_new_user(dir, admin, name, role);
    let two_days_ago = time::OffsetDateTime::now_utc() - time::Duration::days(2);
    let stamp = two_days_ago
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let n = admin
        .require(api::Access::Admin, "test.age_user")
        .unwrap()
        .vault()
        .raw_conn()
        .age_user(name, &stamp)
        .unwrap();
    assert_eq!(n, 1, "one account aged");
    slot
}
