use domain::intake::{AddressForm, ApplicationForm, BusinessForm, Mcc, PersonForm};
use time::macros::date;

use super::*;

const TODAY: Date = date!(2026 - 11 - 25);

fn form() -> ApplicationForm {
    ApplicationForm {
        business: BusinessForm {
            mcc: "5734".into(),
            incorporation_date: "2015-06-01".into(),
            monthly_volume: "40000.00".into(),
            average_ticket: "50.00".into(),
            max_ticket: "400.00".into(),
            card_present_percent: "60".into(),
            website: "https://x.example".into(),
            address: AddressForm {
                line1: "1 Main St".into(),
                ..AddressForm::default()
            },
            ..BusinessForm::default()
        },
        people: vec![PersonForm {
            dob: "1980-01-01".into(),
            address: AddressForm {
                line1: "2 Oak Ave".into(),
                ..AddressForm::default()
            },
            ..PersonForm::default()
        }],
        ..ApplicationForm::default()
    }
}

fn codes(a: &Assessment) -> Vec<&str> {
    a.factors.iter().map(|f| f.code.as_str()).collect()
}

#[test]
fn a_plain_application_scores_low_and_may_be_approved() {
    let a = assess(
        &Application::of(&form()),
        &Checks::default(),
        &RuleSet::default(),
        TODAY,
    );
    assert_eq!(a.score, 0);
    assert_eq!(a.band, RiskBand::Low);
    assert_eq!(a.recommendation, Recommendation::Approve);
    assert!(!a.four_eyes);
}

#[test]
fn each_rule_adds_its_factor_with_a_reason() {
    let mut f = form();
    f.business.mcc = "5967".into(); // inbound teleservices: high risk
    f.business.incorporation_date = "2026-06-01".into();
    f.business.monthly_volume = "2000000.00".into();
    f.business.max_ticket = "900.00".into();
    f.business.average_ticket = "50.00".into();
    f.business.card_present_percent = "0".into();
    f.business.website.clear();
    f.people[0].dob = "2006-01-01".into();
    f.people[0].address.line1 = "P.O. Box 12".into();
    let checks = Checks {
        open_hits: 1,
        duplicate_ein: 2,
        duplicate_bank_account: 1,
        ..Checks::default()
    };
    let a = assess(&Application::of(&f), &checks, &RuleSet::default(), TODAY);
    assert_eq!(
        codes(&a),
        [
            "mcc_high_risk",
            "sanctions_open_hit",
            "duplicate_ein",
            "duplicate_bank_account",
            "young_business_high_volume",
            "high_volume",
            "ticket_outlier",
            "card_not_present",
            "no_website_cnp",
            "young_owner",
            "po_box_address",
        ]
    );
    assert_eq!(a.score, 100, "capped");
    assert_eq!(a.band, RiskBand::High);
    assert_eq!(a.recommendation, Recommendation::EnhancedDueDiligence);
    assert!(a.four_eyes);
    let young = a
        .factors
        .iter()
        .find(|x| x.code == "young_business_high_volume")
        .unwrap();
    assert!(young.detail.contains("177 days ago"), "{}", young.detail);
    assert!(a
        .factors
        .iter()
        .find(|x| x.code == "ticket_outlier")
        .unwrap()
        .detail
        .contains("18×"));
}

#[test]
fn prohibited_mcc_true_match_or_blocklist_recommend_decline() {
    let mut f = form();
    f.business.mcc = "4829".into();
    assert_eq!(Mcc::parse("4829").unwrap().info().tier, MccTier::Prohibited);
    let a = assess(
        &Application::of(&f),
        &Checks::default(),
        &RuleSet::default(),
        TODAY,
    );
    assert_eq!(codes(&a), ["mcc_prohibited"]);
    assert_eq!(a.recommendation, Recommendation::Decline);
    let checks = Checks {
        true_matches: 1,
        ..Checks::default()
    };
    assert_eq!(
        assess(
            &Application::of(&form()),
            &checks,
            &RuleSet::default(),
            TODAY
        )
        .recommendation,
        Recommendation::Decline
    );
    let checks = Checks {
        blocklisted: vec!["bank_account".into()],
        ..Checks::default()
    };
    let a = assess(
        &Application::of(&form()),
        &checks,
        &RuleSet::default(),
        TODAY,
    );
    assert_eq!(a.recommendation, Recommendation::Decline);
    assert!(a.factors[0].detail.contains("bank_account"));
}

#[test]
fn weights_are_data_and_the_score_is_reproducible_from_the_factors() {
    let mut rules = RuleSet::default();
    rules.points.insert("card_not_present".into(), 33);
    rules.points.insert("no_website_cnp".into(), 0);
    let mut f = form();
    f.business.card_present_percent = "10".into();
    f.business.website.clear();
    let a = assess(&Application::of(&f), &Checks::default(), &rules, TODAY);
    assert_eq!(
        codes(&a),
        ["card_not_present"],
        "a zero weight switches a rule off"
    );
    assert_eq!(a.score, 33);
    assert_eq!(a.band, RiskBand::Medium);
    let stored: Vec<Factor> =
        serde_json::from_str(&serde_json::to_string(&a.factors).unwrap()).unwrap();
    assert_eq!(score_of(&stored), a.score);
    let json = serde_json::to_string(&rules).unwrap();
    assert_eq!(serde_json::from_str::<RuleSet>(&json).unwrap(), rules);
    assert!(
        serde_json::from_str::<RuleSet>(r#"{"four_eyes_scor": 1}"#).is_err(),
        "typos in rules are refused"
    );
}
