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

/// A complete, valid application form (checked), varied by `n` so EINs and names differ.
pub fn form(n: u32) -> domain::intake::ApplicationForm {
    use domain::intake::*;
    let address = AddressForm {
        line1: format!("{n} Market St"),
        city: "San Francisco".into(),
        state: "CA".into(),
        postal_code: "94105".into(),
        country: "US".into(),
        ..AddressForm::default()
    };
    let raw = ApplicationForm {
        business: BusinessForm {
            legal_name: format!("Acme {n} Widgets LLC"),
            dba: format!("Widgets {n}"),
            entity_type: "single_member_llc".into(),
            ein: format!("12-{:07}", 3_000_000 + n),
            incorporation_date: "2015-06-01".into(),
            incorporation_state: "DE".into(),
            incorporation_country: "US".into(),
            address: address.clone(),
            phone: "+14155550100".into(),
            email: format!("ops{n}@acme.example"),
            mcc: "5734".into(),
            product_description: "Software".into(),
            monthly_volume: "50000".into(),
            average_ticket: "100".into(),
            max_ticket: "900".into(),
            card_present_percent: "0".into(),
            ..BusinessForm::default()
        },
        people: vec![PersonForm {
            id: "owner".into(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            title: "Managing member".into(),
            dob: "1980-01-01".into(),
            ssn: format!("536-22-{:04}", 1000 + n % 9000),
            address,
            email: "ada@example.com".into(),
            ownership_percent: "100".into(),
            is_control: true,
            ..PersonForm::default()
        }],
        bank: BankForm {
            holder_name: "Acme".into(),
            country: "US".into(),
            routing_number: "021000021".into(),
            account_number: format!("{:09}", 100_000 + n),
            account_type: "checking".into(),
            iban: String::new(),
        },
        terms: TermsForm {
            accepted_at: "2026-11-20T10:00:00Z".into(),
            signer_name: "Ada Lovelace".into(),
            ip: "203.0.113.7".into(),
            user_agent: "Mozilla/5.0".into(),
        },
    };
    raw.check(
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
        Completeness::Complete,
    )
    .unwrap()
}

/// The digits of a value (how EIN/SSN blind indexes are keyed).
pub fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}
