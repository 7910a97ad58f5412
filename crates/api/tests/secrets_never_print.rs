//! Every input or output that carries a password, recovery key, authenticator secret or API
//! key prints without it (issue 15): `{:?}` of each, filled with a marker, never holds the
//! marker. A log line or a panic message cannot leak them.

// A panic in a test is a failed test: unwrap is the clearest way to say "this must work".
#![allow(clippy::unwrap_used)]

use desk_api as api;

const MARK: &str = "Zq7-SECRET-marker-91";

fn assert_hidden(what: &str, printed: String) {
    assert!(
        !printed.contains(MARK) && !printed.contains("SECRET"),
        "{what} printed a secret: {printed}"
    );
    assert!(printed.contains("[redacted]"), "{what}: {printed}");
}

#[test]
fn no_input_or_output_prints_its_secret() {
    use api::auth::{ChangePasswordInput, RecoverInput, SetupInput, SignInInput};
    assert_hidden(
        "SetupInput",
        format!(
            "{:?}",
            SetupInput {
                username: "alice".into(),
                password: MARK.into(),
            }
        ),
    );
    assert_hidden(
        "SignInInput",
        format!(
            "{:?}",
            SignInInput {
                username: "alice".into(),
                password: MARK.into(),
                code: Some(MARK.into()),
            }
        ),
    );
    assert_hidden(
        "ChangePasswordInput",
        format!(
            "{:?}",
            ChangePasswordInput {
                current: Some(MARK.into()),
                new_password: MARK.into(),
            }
        ),
    );
    assert_hidden(
        "RecoverInput",
        format!(
            "{:?}",
            RecoverInput {
                recovery_key: MARK.into(),
                username: "alice".into(),
                new_password: MARK.into(),
            }
        ),
    );
    assert_hidden(
        "SetPlatformInput",
        format!(
            "{:?}",
            api::boarding::SetPlatformInput {
                url: "http://127.0.0.1:12111".into(),
                secret_key: Some(MARK.into()),
                rate_per_second: 25.0,
            }
        ),
    );
}

#[test]
fn a_new_vault_its_session_and_a_new_user_print_no_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = api::DataDir::open(tmp.path()).unwrap();
    let mut slot = api::SessionSlot::new();
    let out = api::auth::setup_vault(
        &dir,
        api::auth::SetupInput {
            username: "alice".into(),
            password: "correct horse battery 42".into(),
        },
        &mut slot,
        api::Policy {
            kdf: api::KdfParams::MINIMUM,
            ..api::Policy::default()
        },
    )
    .unwrap();
    let enrolment = out.session.enrolment.clone().unwrap();
    let printed = format!("{out:?}");
    for secret in [
        out.recovery_key.as_str(),
        enrolment.secret.as_str(),
        enrolment.otpauth_url.as_str(),
    ] {
        assert!(
            !printed.contains(secret),
            "setup output printed a secret: {printed}"
        );
    }
    assert!(printed.contains("[redacted]"), "{printed}");

    let code = vault::totp::Secret::from_base32(&enrolment.secret)
        .unwrap()
        .code_at(time::OffsetDateTime::now_utc().unix_timestamp() as u64);
    api::auth::confirm_totp(&mut slot, &code).unwrap();
    let issued = api::users::create_user(
        &mut slot,
        api::users::NewUserInput {
            username: "uma".into(),
            role: "underwriter".into(),
        },
    )
    .unwrap();
    let printed = format!("{issued:?}");
    assert!(
        !printed.contains(&issued.one_time_password) && printed.contains("[redacted]"),
        "a new user's one-time password printed: {printed}"
    );
}
