use std::path::Path;

use desk_vault::{Created, KdfParams, NextStep, Policy, Vault};
use domain::{NewPassword, Username};
use time::OffsetDateTime;

pub const ADMIN: &str = "alice";
pub const ADMIN_PW: &str = "correct horse battery";

pub fn policy() -> Policy {
    Policy {
        kdf: KdfParams::MINIMUM,
        ..Policy::default()
    }
}

pub fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

pub fn at(minutes: i64) -> OffsetDateTime {
    t0() + time::Duration::minutes(minutes)
}

pub fn username(s: &str) -> Username {
    Username::parse(s).unwrap()
}

pub fn password(s: &str, user: &str) -> NewPassword {
    NewPassword::parse(s, &username(user)).unwrap()
}

/// A vault with an admin who has enrolled TOTP; returns the admin's TOTP secret (base32).
pub fn created(dir: &Path) -> (Created, String) {
    let created = Vault::create(
        dir,
        &username(ADMIN),
        &password(ADMIN_PW, ADMIN),
        policy(),
        t0(),
    )
    .unwrap();
    let secret = created.enrolment.secret.clone();
    let code = code_at(&secret, t0());
    created
        .vault
        .confirm_totp(&created.admin.id, &code, t0())
        .unwrap();
    (created, secret)
}

pub fn code_at(secret_b32: &str, when: OffsetDateTime) -> String {
    let secret = desk_vault::totp::Secret::from_base32(secret_b32).unwrap();
    secret.code_at(when.unix_timestamp() as u64)
}

pub fn sign_in_admin(dir: &Path, secret: &str, when: OffsetDateTime) -> Vault {
    let (vault, user, next) = Vault::sign_in(
        dir,
        ADMIN,
        ADMIN_PW,
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
