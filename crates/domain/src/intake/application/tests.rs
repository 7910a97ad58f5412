use time::macros::datetime;

use super::*;
use crate::intake::Application;

const NOW: OffsetDateTime = datetime!(2026-11-25 12:00 UTC);

fn address() -> AddressForm {
    AddressForm {
        line1: "100 Market St".into(),
        line2: String::new(),
        city: "San Francisco".into(),
        state: "ca".into(),
        postal_code: "94105".into(),
        country: "us".into(),
    }
}

fn person(id: &str, pct: &str, control: bool) -> PersonForm {
    PersonForm {
        id: id.into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        title: "CEO".into(),
        dob: "1980-02-29".into(),
        ssn: "536 22 1234".into(),
        address: address(),
        email: "ada@example.com".into(),
        phone: "+1 415 555 0100".into(),
        ownership_percent: pct.into(),
        is_control: control,
        ..PersonForm::default()
    }
}

fn valid() -> ApplicationForm {
    ApplicationForm {
        business: BusinessForm {
            legal_name: "Acme  Widgets LLC".into(),
            dba: "Acme".into(),
            entity_type: "multi_member_llc".into(),
            ein: "12-3456789".into(),
            incorporation_date: "2015-06-01".into(),
            incorporation_state: "DE".into(),
            incorporation_country: "US".into(),
            address: address(),
            operating_address: AddressForm::default(),
            phone: "+14155550100".into(),
            email: "ops@ACME.example".into(),
            website: "https://acme.example".into(),
            mcc: "5734".into(),
            product_description: "Software licences".into(),
            monthly_volume: "$50,000".into(),
            average_ticket: "120.5".into(),
            max_ticket: "2000".into(),
            card_present_percent: "20".into(),
        },
        people: vec![person("p1", "60", true), person("p2", "40", false)],
        bank: BankForm {
            holder_name: "Acme Widgets LLC".into(),
            country: "US".into(),
            routing_number: "021000021".into(),
            account_number: "000123456789".into(),
            account_type: "Checking".into(),
            iban: String::new(),
        },
        terms: TermsForm {
            accepted_at: "2026-11-20T10:00:00Z".into(),
            signer_name: "Ada Lovelace".into(),
            ip: "203.0.113.7".into(),
            user_agent: "Mozilla/5.0".into(),
        },
    }
}

fn complete_errors(form: &ApplicationForm) -> Vec<FieldError> {
    form.check(NOW, Completeness::Complete).unwrap_err()
}

/// Asserts exactly which fields failed, and that no error message repeats a typed value.
fn assert_fields(errors: &[FieldError], fields: &[&str]) {
    let got: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(got, fields, "{errors:?}");
}

#[test]
fn a_valid_form_is_normalised() {
    let f = valid().check(NOW, Completeness::Complete).unwrap();
    assert_eq!(f.business.legal_name, "Acme Widgets LLC");
    assert_eq!(f.business.email, "ops@acme.example");
    assert_eq!(f.business.monthly_volume, "50000.00");
    assert_eq!(f.business.average_ticket, "120.50");
    assert_eq!(f.business.address.state, "CA");
    assert_eq!(f.business.address.country, "US");
    assert_eq!(f.people[0].ssn, "536-22-1234");
    assert_eq!(f.people[0].phone, "+14155550100");
    assert_eq!(f.bank.account_type, "checking");
    assert_eq!(
        f.check(NOW, Completeness::Complete).unwrap(),
        f,
        "normalising is idempotent"
    );
}

/// What underwriting and the platform consume: the checked form's values, typed once.
#[test]
fn a_checked_form_types_its_values_once() {
    let mut raw = valid();
    raw.people[0].is_control = false;
    raw.people[1].is_control = true;
    raw.people[1].ownership_percent = "24.9999".into();
    raw.people[1].ssn = String::new();
    raw.people[1].itin = "912-70-1234".into();
    let f = raw.check(NOW, Completeness::Complete).unwrap();
    let app = Application::of(&f);
    assert_eq!(
        app.entity,
        Some(EntityType::parse("multi_member_llc").unwrap())
    );
    assert_eq!(app.ein.as_ref().map(Ein::digits), Some("123456789"));
    assert_eq!(app.mcc.as_ref().map(Mcc::code), Some("5734"));
    assert_eq!(
        app.incorporation_date,
        Some(time::macros::date!(2015 - 06 - 01))
    );
    assert_eq!(app.monthly_volume.map(Amount::cents), Some(5_000_000));
    assert_eq!(app.average_ticket.map(Amount::cents), Some(12_050));
    assert_eq!(app.card_present.map(Percent::whole), Some(20));
    assert_eq!(
        app.accepted_at,
        Some(time::macros::datetime!(2026-11-20 10:00 UTC))
    );
    assert!(!app.owner_is_business());
    let (ada, second) = (&app.people[0], &app.people[1]);
    assert_eq!(
        ada.dob
            .map(|d| (d.year, d.month, d.day, d.age_on((2026, 2, 28)))),
        Some((1980, 2, 29, 45)),
        "a leap-day birthday is a year older only on 1 March"
    );
    assert_eq!(ada.id_number(), Some("536221234"));
    assert!(ada.is_beneficial_owner());
    assert_eq!(second.id_number(), Some("912701234"), "no SSN: the ITIN");
    assert!(!second.is_beneficial_owner(), "24.9999% is under 25%");

    // A sole proprietor's draft: blank values are None, never a default.
    let mut draft = valid();
    draft.business.entity_type = "sole_proprietorship".into();
    draft.business.ein = String::new();
    draft.business.monthly_volume = String::new();
    draft.people.truncate(1);
    draft.people[0].ownership_percent = "100".into();
    let draft = draft.check(NOW, Completeness::Draft).unwrap();
    let app = Application::of(&draft);
    assert!(app.owner_is_business());
    assert!(app.ein.is_none() && app.monthly_volume.is_none());
}

#[test]
fn a_blank_draft_is_fine_but_not_complete() {
    let blank = ApplicationForm::default();
    assert!(blank.check(NOW, Completeness::Draft).is_ok());
    let errors = complete_errors(&blank);
    for field in [
        "business.entity_type",
        "business.legal_name",
        "business.mcc",
        "people",
        "bank.holder_name",
        "terms.accepted_at",
    ] {
        assert!(
            errors
                .iter()
                .any(|e| e.field == field && (field == "people" || e.reason.contains("required"))),
            "{field} missing from {errors:?}"
        );
    }
}

#[test]
fn a_draft_still_rejects_what_is_filled_in_wrong() {
    let mut f = ApplicationForm::default();
    f.business.ein = "07-1234567".into();
    f.bank.routing_number = "021000022".into();
    let errors = f.check(NOW, Completeness::Draft).unwrap_err();
    assert_fields(&errors, &["business.ein", "bank.routing_number"]);
    assert!(errors[0].reason.contains("prefix"));
    assert!(errors[1].reason.contains("checksum"));
}

#[test]
fn each_rule_names_its_field() {
    type Change = Box<dyn Fn(&mut ApplicationForm)>;
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "business.ein",
            Box::new(|f| f.business.ein = "12345678".into()),
            "9 digits",
        ),
        (
            "business.mcc",
            Box::new(|f| f.business.mcc = "0000".into()),
            "category",
        ),
        (
            "business.entity_type",
            Box::new(|f| f.business.entity_type = "llc".into()),
            "one of",
        ),
        (
            "business.incorporation_date",
            Box::new(|f| f.business.incorporation_date = "2027-01-01".into()),
            "future",
        ),
        (
            "business.incorporation_date",
            Box::new(|f| f.business.incorporation_date = "2015-02-30".into()),
            "YYYY-MM-DD",
        ),
        (
            "business.address.postal_code",
            Box::new(|f| f.business.address.postal_code = "9410".into()),
            "ZIP",
        ),
        (
            "business.address.state",
            Box::new(|f| f.business.address.state = "XX".into()),
            "state",
        ),
        (
            "business.address.country",
            Box::new(|f| f.business.address.country = "USA".into()),
            "ISO",
        ),
        (
            "business.phone",
            Box::new(|f| f.business.phone = "415 555 0100".into()),
            "E.164",
        ),
        (
            "business.email",
            Box::new(|f| f.business.email = "ops@".into()),
            "name@example.com",
        ),
        (
            "business.website",
            Box::new(|f| f.business.website = "javascript:alert(1)".into()),
            "http",
        ),
        (
            "business.monthly_volume",
            Box::new(|f| f.business.monthly_volume = "1e6".into()),
            "dollars",
        ),
        (
            "business.average_ticket",
            Box::new(|f| f.business.average_ticket = "5000".into()),
            "maximum ticket",
        ),
        (
            "business.card_present_percent",
            Box::new(|f| f.business.card_present_percent = "120".into()),
            "0 to 100",
        ),
        (
            "people[0].dob",
            Box::new(|f| f.people[0].dob = "2010-01-01".into()),
            "18",
        ),
        (
            "people[0].ssn",
            Box::new(|f| f.people[0].ssn = "666-12-3456".into()),
            "area",
        ),
        (
            "people[0].ssn",
            Box::new(|f| f.people[0].ssn = "536-00-1234".into()),
            "group",
        ),
        (
            "people[0].ssn",
            Box::new(|f| f.people[0].ssn = "536-22-0000".into()),
            "serial",
        ),
        (
            "people[0].ssn",
            Box::new(|f| f.people[0].ssn = String::new()),
            "SSN or an ITIN",
        ),
        (
            "people[0].itin",
            Box::new(|f| f.people[0].itin = "912-70-1234".into()),
            "not both",
        ),
        (
            "people[1].ownership_percent",
            Box::new(|f| f.people[1].ownership_percent = "10".into()),
            "25%",
        ),
        (
            "people[1].ownership_percent",
            Box::new(|f| f.people[1].ownership_percent = String::new()),
            "required",
        ),
        (
            "people[0].title",
            Box::new(|f| f.people[0].title = String::new()),
            "required",
        ),
        (
            "people[0].id",
            Box::new(|f| f.people[0].id = "<x>".into()),
            "letters",
        ),
        (
            "people",
            Box::new(|f| f.people[1].ownership_percent = "50".into()),
            "100%",
        ),
        (
            "people",
            Box::new(|f| f.people[1].is_control = true),
            "exactly one",
        ),
        (
            "people",
            Box::new(|f| f.people[0].is_control = false),
            "exactly one",
        ),
        (
            "bank.routing_number",
            Box::new(|f| f.bank.routing_number = "991000021".into()),
            "prefix",
        ),
        (
            "bank.account_number",
            Box::new(|f| f.bank.account_number = "12".into()),
            "4 to 17",
        ),
        (
            "bank.account_type",
            Box::new(|f| f.bank.account_type = "brokerage".into()),
            "checking or savings",
        ),
        (
            "bank.iban",
            Box::new(|f| {
                f.bank.country = "DE".into();
                f.bank.routing_number.clear();
                f.bank.account_number.clear();
                f.bank.iban = "DE89370400440532013001".into();
            }),
            "check",
        ),
        (
            "terms.ip",
            Box::new(|f| f.terms.ip = "300.1.1.1".into()),
            "IPv4",
        ),
        (
            "terms.accepted_at",
            Box::new(|f| f.terms.accepted_at = "2030-01-01T00:00:00Z".into()),
            "future",
        ),
        (
            "terms.accepted_at",
            Box::new(|f| f.terms.accepted_at = "yesterday".into()),
            "timestamp",
        ),
    ];
    for (field, change, reason) in cases {
        let mut f = valid();
        change(&mut f);
        let errors = complete_errors(&f);
        assert!(
            errors
                .iter()
                .any(|e| e.field == field && e.reason.contains(reason)),
            "{field} / {reason}: got {errors:?}"
        );
    }
}

#[test]
fn hostile_text_is_refused_or_kept_inert_and_never_echoed() {
    let mut f = valid();
    f.business.legal_name = "x".repeat(1 << 20);
    f.business.dba = "Acme\u{202E}gnp.exe".into();
    f.people[0].first_name = "Ada\u{200B}".into();
    f.business.product_description = "Line\u{0000}break".into();
    let errors = complete_errors(&f);
    assert_fields(
        &errors,
        &[
            "business.legal_name",
            "business.dba",
            "business.product_description",
            "people[0].first_name",
        ],
    );
    for e in &errors {
        assert!(
            !e.reason.contains("xxxx") && !e.reason.contains("Acme"),
            "{e}"
        );
    }

    let mut f = valid();
    f.business.legal_name = "<script>alert(1)</script>".into();
    let ok = f.check(NOW, Completeness::Complete).unwrap();
    assert_eq!(ok.business.legal_name, "<script>alert(1)</script>");
}

#[test]
fn a_sole_proprietor_is_its_owner() {
    let mut f = valid();
    f.business.entity_type = "sole_proprietorship".into();
    f.business.ein.clear();
    f.business.incorporation_date.clear();
    f.business.incorporation_state.clear();
    f.business.incorporation_country.clear();
    f.people = vec![person("me", "", false)];
    let ok = f.check(NOW, Completeness::Complete).unwrap();
    assert_eq!(ok.people[0].ownership_percent, "100");
    assert!(ok.people[0].is_control);

    f.people.push(person("other", "10", false));
    let errors = complete_errors(&f);
    assert!(errors
        .iter()
        .any(|e| e.field == "people" && e.reason.contains("sole")));
}

#[test]
fn at_most_five_people() {
    let mut f = valid();
    f.people = (0..6)
        .map(|i| person(&format!("p{i}"), "", i == 0))
        .collect();
    let errors = f.check(NOW, Completeness::Draft).unwrap_err();
    assert_fields(&errors, &["people"]);
}

#[test]
fn a_foreign_person_may_use_a_passport() {
    let mut f = valid();
    let p = &mut f.people[1];
    p.ssn.clear();
    p.passport_number = "c0 1x 00t 47".into();
    p.address.country = "DE".into();
    p.address.state = "Berlin".into();
    p.address.postal_code = "10115".into();
    let errors = complete_errors(&f);
    assert_fields(&errors, &["people[1].passport_country"]);
    f.people[1].passport_country = "de".into();
    let ok = f.check(NOW, Completeness::Complete).unwrap();
    assert_eq!(ok.people[1].passport_number, "C01X00T47");
    assert_eq!(ok.people[1].passport_country, "DE");
}

#[test]
fn a_filled_operating_address_must_be_whole() {
    let mut f = valid();
    f.business.operating_address.city = "Oakland".into();
    let errors = f.check(NOW, Completeness::Draft).unwrap_err();
    assert!(errors
        .iter()
        .any(|e| e.field == "business.operating_address.line1"));
}

#[test]
fn masking_hides_all_but_the_last_four() {
    let f = valid().check(NOW, Completeness::Complete).unwrap();
    let m = f.masked();
    assert_eq!(m.business.ein, "••-•••6789");
    assert_eq!(m.people[0].ssn, "•••-••-1234");
    assert_eq!(m.bank.account_number, "••••••••6789");
    assert_eq!(
        m.business.legal_name, f.business.legal_name,
        "names are not masked"
    );
    assert_eq!(f.sensitive("people[1].ssn").as_deref(), Some("536-22-1234"));
    assert_eq!(f.sensitive("business.legal_name"), None);
    assert_eq!(f.sensitive("people[9].ssn"), None);
}

#[test]
fn untouched_masked_values_are_restored_and_partial_edits_refused() {
    let stored = valid().check(NOW, Completeness::Complete).unwrap();
    let mut edited = stored.masked();
    edited.business.dba = "Acme Two".into();
    edited.people.swap(0, 1);
    edited.restore_masked(&stored).unwrap();
    assert_eq!(edited.business.ein, stored.business.ein);
    assert_eq!(edited.people[0].id, "p2");
    assert_eq!(edited.people[0].ssn, stored.people[1].ssn, "matched by id");

    let mut partial = stored.masked();
    partial.bank.account_number = "••••••••6780".into();
    let errors = partial.restore_masked(&stored).unwrap_err();
    assert_fields(&errors, &["bank.account_number"]);

    let mut new_person = stored.masked();
    new_person.people[1].id = "p9".into();
    assert!(
        new_person.restore_masked(&stored).is_err(),
        "no stored value to keep"
    );
}

#[test]
fn index_values_are_normalised_digits() {
    let f = valid().check(NOW, Completeness::Complete).unwrap();
    let idx = f.index_values();
    assert_eq!(idx[0], (IndexKind::Ein, "123456789".to_string()));
    assert_eq!(idx[1], (IndexKind::Ssn, "536221234".to_string()));
    assert!(idx.contains(&(IndexKind::BankAccount, "021000021:000123456789".to_string())));
    let contacts: Vec<&(IndexKind, String)> = idx
        .iter()
        .filter(|(k, _)| matches!(k, IndexKind::Email | IndexKind::Phone))
        .collect();
    assert_eq!(
        contacts,
        [
            &(IndexKind::Email, "ops@acme.example".to_string()),
            &(IndexKind::Phone, "+14155550100".to_string()),
            &(IndexKind::Email, "ada@example.com".to_string()),
        ],
        "each distinct contact once (both people share one email and the business phone)"
    );
}

#[test]
fn an_address_is_the_same_however_it_is_typed() {
    let typed = |line1: &str, line2: &str, city: &str, zip: &str| AddressForm {
        line1: line1.into(),
        line2: line2.into(),
        city: city.into(),
        state: "CA".into(),
        postal_code: zip.into(),
        country: "US".into(),
    };
    let a = address_key(&typed(
        "100 North Main Street",
        "Suite 4",
        "San Jose",
        "95113",
    ))
    .unwrap();
    for other in [
        typed("100 N. Main St.", "Ste 4", "SAN JOSE", "95113-1234"),
        typed("100  north  MAIN street,", "suite #4", "san jose", "95113"),
    ] {
        assert_eq!(address_key(&other).as_deref(), Some(a.as_str()));
    }
    assert_ne!(
        address_key(&typed("100 N Main St", "Ste 5", "San Jose", "95113")),
        Some(a.clone()),
        "another suite is another address"
    );
    assert_ne!(
        address_key(&typed("100 N Main St", "Ste 4", "San Jose", "95112")),
        Some(a),
        "another ZIP is another address"
    );
    assert_eq!(address_key(&typed("", "", "San Jose", "95113")), None);

    let f = valid().check(NOW, Completeness::Complete).unwrap();
    let addresses = f
        .index_values()
        .into_iter()
        .filter(|(k, _)| *k == IndexKind::Address)
        .count();
    assert!(addresses >= 1, "the business address is indexed");
}

#[test]
fn debug_never_prints_values() {
    let f = valid();
    let text = format!("{f:?}");
    assert!(!text.contains("536") && !text.contains("Acme"), "{text}");
}

#[test]
fn wrong_json_types_are_errors_not_panics() {
    let bad = r#"{"business": {"legal_name": 5}}"#;
    let parsed: Result<ApplicationForm, _> = serde_json::from_str(bad);
    assert!(parsed.is_err());
    let unknown = r#"{"business": {"legal_nam": "x"}}"#;
    let err = serde_json::from_str::<ApplicationForm>(unknown).unwrap_err();
    assert!(err.to_string().contains("legal_nam"), "{err}");
}
