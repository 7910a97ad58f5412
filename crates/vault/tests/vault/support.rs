//! The vault tests' support: the shared test kit, and what only these tests use.

pub use testkit::applications::form;
pub use testkit::vault::{at, code_at, created, password, sign_in_admin, t0, username};
pub use testkit::{policy, ADMIN, PASSWORD as ADMIN_PW};

/// The digits of a value (how EIN/SSN blind indexes are keyed).
pub fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// Bob's first sign-in in `dir` at minute 1: his one-time password (which must be changed), his
/// own password, then his authenticator. Returns his enrolment.
pub fn first_sign_in(
    dir: &std::path::Path,
    bob_id: &str,
    one_time: &str,
    new_password: &str,
) -> desk_vault::totp::Enrolment {
    let (vault, user, next) =
        desk_vault::Vault::sign_in(dir, "bob", one_time, None, policy(), at(1)).unwrap();
    assert_eq!(user.id, bob_id);
    assert!(
        matches!(next, desk_vault::NextStep::ChangePassword),
        "one-time password must be changed"
    );
    vault
        .change_password(bob_id, &password(new_password, "bob"), at(1))
        .unwrap();
    let enrolment = vault.begin_totp_enrolment(bob_id, "bob").unwrap();
    vault
        .confirm_totp(bob_id, &code_at(&enrolment.secret, at(1)), at(1))
        .unwrap();
    enrolment
}
