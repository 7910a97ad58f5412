//! A vault on the vault crate alone (no api): created with its admin enrolled, and signed in.

use std::path::Path;

use domain::{NewPassword, Username};
use time::OffsetDateTime;
use vault::{Created, NextStep, Vault};

use crate::{policy, ADMIN, PASSWORD};

/// The fixed "now" of vault tests (2027-01-15 08:00 UTC).
pub fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

/// `minutes` after [`t0`].
pub fn at(minutes: i64) -> OffsetDateTime {
    t0() + time::Duration::minutes(minutes)
}

pub fn username(s: &str) -> Username {
    Username::parse(s).unwrap()
}

pub fn password(s: &str, user: &str) -> NewPassword {
    NewPassword::parse(s, &username(user)).unwrap()
}

/// The code for `secret` at `when`.
pub fn code_at(secret: &str, when: OffsetDateTime) -> String {
    crate::totp::code_at(secret, when.unix_timestamp() as u64)
}

/// A vault in `dir` with [`ADMIN`] enrolled at [`t0`]; returns it with the admin's secret.
pub fn created(dir: &Path) -> (Created, String) {
    let created = if crate::team_backend() {
        let db = crate::postgres::Cluster::shared().fresh_team_database();
        Vault::create_on_store(
            dir,
            &db.app.parse().unwrap(),
            &username(ADMIN),
            &password(PASSWORD, ADMIN),
            policy(),
            t0(),
        )
    } else {
        Vault::create(
            dir,
            &username(ADMIN),
            &password(PASSWORD, ADMIN),
            policy(),
            t0(),
        )
    }
    .unwrap();
    let secret = created.enrolment.secret.clone();
    created
        .vault
        .confirm_totp(&created.admin.id, &code_at(&secret, t0()), t0())
        .unwrap();
    (created, secret)
}

/// [`ADMIN`] signed in at `when`, ready.
pub fn sign_in_admin(dir: &Path, secret: &str, when: OffsetDateTime) -> Vault {
    let (vault, user, next) = Vault::sign_in(
        dir,
        ADMIN,
        PASSWORD,
        Some(&code_at(secret, when)),
        policy(),
        when,
    )
    .unwrap();
    assert_eq!(user.username, ADMIN);
    assert!(
        matches!(next, NextStep::Ready),
        "an enrolled admin is ready"
    );
    vault
}
