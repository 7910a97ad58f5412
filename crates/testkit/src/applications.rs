//! Builders of valid applications: [`form`] on the domain alone (for the vault's tests), and
//! the demo generator's low-risk applications and mixes through the api.

use domain::intake::*;
use time::OffsetDateTime;

pub use api::intake::demo::{generate, low_risk};

/// A complete, valid application form (checked), varied by `n` so EINs and names differ.
pub fn form(n: u32) -> ApplicationForm {
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
