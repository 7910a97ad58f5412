//! Underwriting rules: an explained, reproducible risk score.
//!
//! [`assess`] looks at a checked application and what the vault found about it (screening hits,
//! duplicates through blind indexes, blocklist matches) and returns every factor that applied
//! with its points and why. The score is the sum of the factors' points, capped at 100, so it
//! can always be recomputed from the stored factor list. Weights and limits are data
//! ([`RuleSet`]): an admin tunes them; the defaults follow card-brand guidance (high-risk MCCs,
//! card-not-present share, business age against volume).

use std::collections::BTreeMap;

use domain::intake::{Application, MccTier};
use serde::{Deserialize, Serialize};
use time::Date;

/// Every factor [`assess`] can raise, with what it means (the rules editor shows these).
pub const FACTORS: &[(&str, &str)] = &[
    (
        "mcc_prohibited",
        "the MCC is one the card brands prohibit for a payfac",
    ),
    (
        "mcc_high_risk",
        "the MCC is card-brand high-risk: enhanced due diligence",
    ),
    (
        "sanctions_true_match",
        "a sanctions hit confirmed as the listed party",
    ),
    (
        "sanctions_open_hit",
        "a sanctions hit without a disposition",
    ),
    (
        "blocklist_match",
        "an EIN, SSN or bank account on our blocklist",
    ),
    (
        "blocklist_unchecked",
        "the blocklist could not be checked on this desk (no admin has enrolled it)",
    ),
    ("duplicate_ein", "another application has the same EIN"),
    (
        "duplicate_ssn",
        "another application has an owner with the same SSN/ITIN",
    ),
    (
        "duplicate_bank_account",
        "another application pays out to the same bank account",
    ),
    (
        "duplicate_contact",
        "another application has the same email, phone or address",
    ),
    (
        "young_business_high_volume",
        "a young business expecting a high monthly volume",
    ),
    (
        "ticket_outlier",
        "the maximum or average ticket is far above the usual",
    ),
    ("card_not_present", "a high share of card-not-present sales"),
    ("no_website_cnp", "card-not-present sales without a website"),
    ("young_owner", "an owner younger than the set age"),
    (
        "po_box_address",
        "a P.O. box as the business or an owner's address",
    ),
    ("high_volume", "a monthly volume above the set limit"),
];

/// One problem with a rule set: the setting (`points.mcc_high_risk`, `high_from`) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleProblem {
    pub field: String,
    pub reason: String,
}

impl RuleSet {
    /// Every problem with these rules: points outside 0–100, factor codes [`assess`] does not
    /// know (named: they are rule names, not data), limits out of range, bands out of order.
    pub fn problems(&self) -> Vec<RuleProblem> {
        let mut out = Vec::new();
        let mut bad = |field: &str, reason: &str| {
            out.push(RuleProblem {
                field: field.to_string(),
                reason: reason.to_string(),
            })
        };
        for (code, points) in &self.points {
            if !FACTORS.iter().any(|(known, _)| known == code) {
                let shown: String = code.chars().take(40).filter(|c| !c.is_control()).collect();
                bad(
                    &format!("points.{shown}"),
                    "is not a factor we know (see the factor list)",
                );
            } else if !(0..=100).contains(points) {
                bad(&format!("points.{code}"), "must be from 0 to 100 points");
            }
        }
        if !(0..=3650).contains(&self.young_business_days) {
            bad("young_business_days", "must be from 0 to 3650 days");
        }
        if self.young_business_volume > 1_000_000_000 {
            bad("young_business_volume", "must be at most 1,000,000,000");
        }
        if self.cnp_share_high > 100 {
            bad("cnp_share_high", "must be a share from 0 to 100%");
        }
        if !(1..=1000).contains(&self.ticket_ratio) {
            bad("ticket_ratio", "must be from 1 to 1000");
        }
        if self.average_ticket_high == 0 || self.average_ticket_high > 1_000_000_000 {
            bad("average_ticket_high", "must be from 1 to 1,000,000,000");
        }
        if self.monthly_volume_high == 0 || self.monthly_volume_high > 1_000_000_000 {
            bad("monthly_volume_high", "must be from 1 to 1,000,000,000");
        }
        if !(18..=100).contains(&self.young_owner_age) {
            bad("young_owner_age", "must be from 18 to 100 years");
        }
        if !(1..=100).contains(&self.four_eyes_score) {
            bad("four_eyes_score", "must be from 1 to 100");
        }
        if !(1..=100).contains(&self.medium_from) {
            bad("medium_from", "must be from 1 to 100");
        }
        if !(1..=100).contains(&self.high_from) || self.high_from <= self.medium_from {
            bad("high_from", "must be above medium_from and at most 100");
        }
        out
    }
}

/// Weights and limits. A missing factor code scores 0; an unknown one is refused by
/// [`RuleSet::problems`] before rules are stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuleSet {
    /// Points per factor code.
    pub points: BTreeMap<String, i32>,
    /// A business younger than this many days…
    pub young_business_days: i32,
    /// …expecting more than this monthly volume (USD) is a factor.
    pub young_business_volume: u64,
    /// Card-not-present share (%) from which CNP is a factor.
    pub cnp_share_high: u16,
    /// Maximum ticket above this many average tickets is an outlier.
    pub ticket_ratio: u64,
    /// Average ticket above this (USD) is an outlier.
    pub average_ticket_high: u64,
    /// Monthly volume above this (USD) is a factor.
    pub monthly_volume_high: u64,
    /// Owners younger than this are a factor.
    pub young_owner_age: i32,
    /// Scores at or above this need a second approver (four-eyes).
    pub four_eyes_score: i32,
    /// Bands: below `medium_from` is low, from `high_from` high.
    pub medium_from: i32,
    pub high_from: i32,
}

impl Default for RuleSet {
    fn default() -> Self {
        let points = [
            ("mcc_prohibited", 60),
            ("mcc_high_risk", 25),
            ("sanctions_true_match", 100),
            ("sanctions_open_hit", 40),
            ("blocklist_match", 60),
            ("blocklist_unchecked", 30),
            ("duplicate_ein", 15),
            ("duplicate_ssn", 15),
            ("duplicate_bank_account", 20),
            ("duplicate_contact", 10),
            ("young_business_high_volume", 15),
            ("ticket_outlier", 10),
            ("card_not_present", 10),
            ("no_website_cnp", 10),
            ("young_owner", 5),
            ("po_box_address", 10),
            ("high_volume", 10),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Self {
            points,
            young_business_days: 365,
            young_business_volume: 50_000,
            cnp_share_high: 80,
            ticket_ratio: 10,
            average_ticket_high: 1_000,
            monthly_volume_high: 1_000_000,
            young_owner_age: 21,
            four_eyes_score: 60,
            medium_from: 30,
            high_from: 60,
        }
    }
}

/// What the vault found about the application, beyond its form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checks {
    pub open_hits: u32,
    pub true_matches: u32,
    /// Other applications or merchants with the same EIN / SSN / bank account / email, phone or address.
    pub duplicate_ein: u32,
    pub duplicate_ssn: u32,
    pub duplicate_bank_account: u32,
    pub duplicate_contact: u32,
    /// Blocklisted identifiers this application carries: `ein`, `ssn`, `bank_account`.
    pub blocklisted: Vec<String>,
    /// The blocklist could not be checked (a desk no admin has enrolled for it).
    #[serde(default)]
    pub blocklist_unchecked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Factor {
    pub code: String,
    pub points: i32,
    /// Why, in words; never a KYC value.
    pub detail: String,
}

pub use domain::review::RiskBand;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recommendation {
    Approve,
    /// Enhanced due diligence before any approval.
    EnhancedDueDiligence,
    Decline,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub score: i32,
    pub band: RiskBand,
    pub recommendation: Recommendation,
    pub factors: Vec<Factor>,
    /// Whether approving needs a second, different approver.
    pub four_eyes: bool,
}

/// The score a factor list adds up to (what a stored assessment is checked against).
pub fn score_of(factors: &[Factor]) -> i32 {
    factors.iter().map(|f| f.points).sum::<i32>().clamp(0, 100)
}

fn is_po_box(line: &str) -> bool {
    let folded: String = line
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    folded.starts_with("pobox") || folded.contains("postofficebox")
}

/// Assesses a checked application from its typed values (and, for addresses and the
/// website, its normalised text).
pub fn assess(app: &Application<'_>, checks: &Checks, rules: &RuleSet, today: Date) -> Assessment {
    let form = app.form;
    let mut factors = Vec::new();
    let mut add = |code: &str, detail: String| {
        let points = rules.points.get(code).copied().unwrap_or(0);
        if points != 0 {
            factors.push(Factor {
                code: code.to_string(),
                points,
                detail,
            });
        }
    };
    let b = &form.business;
    let mut decline = false;
    let mut edd = false;
    if let Some(mcc) = &app.mcc {
        let info = mcc.info();
        match info.tier {
            MccTier::Prohibited => {
                decline = true;
                add(
                    "mcc_prohibited",
                    format!(
                        "MCC {} ({}) is not boarded under this program",
                        info.code, info.description
                    ),
                );
            }
            MccTier::HighRisk => {
                edd = true;
                add(
                    "mcc_high_risk",
                    format!(
                        "MCC {} ({}) is card-brand high-risk: enhanced due diligence",
                        info.code, info.description
                    ),
                );
            }
            MccTier::Standard => {}
        }
    }
    if checks.true_matches > 0 {
        decline = true;
        add(
            "sanctions_true_match",
            format!(
                "{} screening hit(s) confirmed as true matches",
                checks.true_matches
            ),
        );
    } else if checks.open_hits > 0 {
        edd = true;
        add(
            "sanctions_open_hit",
            format!(
                "{} sanctions hit(s) without a disposition",
                checks.open_hits
            ),
        );
    }
    if checks.blocklist_unchecked {
        edd = true;
        add(
            "blocklist_unchecked",
            "the blocklist could not be checked on this desk: an admin signs in on it once"
                .to_string(),
        );
    }
    if !checks.blocklisted.is_empty() {
        decline = true;
        add(
            "blocklist_match",
            format!(
                "on the internal blocklist: {}",
                checks.blocklisted.join(", ")
            ),
        );
    }
    for (code, n, what) in [
        ("duplicate_ein", checks.duplicate_ein, "EIN"),
        ("duplicate_ssn", checks.duplicate_ssn, "SSN/ITIN"),
        (
            "duplicate_bank_account",
            checks.duplicate_bank_account,
            "bank account",
        ),
        (
            "duplicate_contact",
            checks.duplicate_contact,
            "email, phone or address",
        ),
    ] {
        if n > 0 {
            // The vault counts up to 100 per identifier.
            let others = if n >= 100 {
                "100 or more".to_string()
            } else {
                n.to_string()
            };
            add(
                code,
                format!("the same {what} is on {others} other application(s)"),
            );
        }
    }
    let volume = app.monthly_volume.map(|a| a.cents() / 100);
    if let (Some(inc), Some(volume)) = (app.incorporation_date, volume) {
        let days = (today - inc).whole_days();
        if days < i64::from(rules.young_business_days) && volume > rules.young_business_volume {
            add(
                "young_business_high_volume",
                format!(
                    "incorporated {days} days ago, expects ${volume}/month (limit ${} under {} days)",
                    rules.young_business_volume, rules.young_business_days
                ),
            );
        }
    }
    if let Some(volume) = volume.filter(|v| *v > rules.monthly_volume_high) {
        add(
            "high_volume",
            format!(
                "expects ${volume}/month (over ${})",
                rules.monthly_volume_high
            ),
        );
    }
    if let (Some(avg), Some(max)) = (app.average_ticket, app.max_ticket) {
        let (avg, max) = (avg.cents(), max.cents());
        if avg > 0 && max > avg * rules.ticket_ratio {
            add(
                "ticket_outlier",
                format!(
                    "maximum ticket is {}× the average (limit {}×)",
                    max / avg,
                    rules.ticket_ratio
                ),
            );
        } else if avg / 100 > rules.average_ticket_high {
            add(
                "ticket_outlier",
                format!(
                    "average ticket ${} is over ${}",
                    avg / 100,
                    rules.average_ticket_high
                ),
            );
        }
    }
    if let Some(cp) = app.card_present {
        let cnp = 100 - cp.whole();
        if cnp >= u32::from(rules.cnp_share_high) {
            add(
                "card_not_present",
                format!("{cnp}% card-not-present (from {}%)", rules.cnp_share_high),
            );
        }
        if cnp >= 50 && b.website.trim().is_empty() {
            add(
                "no_website_cnp",
                format!("{cnp}% card-not-present but no website"),
            );
        }
    }
    let today_ymd = (today.year(), u8::from(today.month()), today.day());
    for (i, p) in app.people.iter().enumerate() {
        if let Some(age) = p
            .dob
            .map(|dob| dob.age_on(today_ymd))
            .filter(|a| *a < rules.young_owner_age)
        {
            add(
                "young_owner",
                format!(
                    "person {} is {age} (under {})",
                    i + 1,
                    rules.young_owner_age
                ),
            );
        }
    }
    let mut po = Vec::new();
    if is_po_box(&b.address.line1) || is_po_box(&b.address.line2) {
        po.push("the business address".to_string());
    }
    for (i, p) in form.people.iter().enumerate() {
        if is_po_box(&p.address.line1) || is_po_box(&p.address.line2) {
            po.push(format!("person {}'s address", i + 1));
        }
    }
    if !po.is_empty() {
        add("po_box_address", format!("P.O. box in {}", po.join(", ")));
    }

    let score = score_of(&factors);
    let band = if score >= rules.high_from {
        RiskBand::High
    } else if score >= rules.medium_from {
        RiskBand::Medium
    } else {
        RiskBand::Low
    };
    let recommendation = if decline {
        Recommendation::Decline
    } else if edd || band == RiskBand::High {
        Recommendation::EnhancedDueDiligence
    } else {
        Recommendation::Approve
    };
    Assessment {
        score,
        band,
        recommendation,
        four_eyes: score >= rules.four_eyes_score || checks.open_hits > 0,
        factors,
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod rule_checks {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_every_default_factor_is_known() {
        let rules = RuleSet::default();
        assert!(rules.problems().is_empty(), "{:?}", rules.problems());
        assert_eq!(
            rules.points.len(),
            FACTORS.len(),
            "a description per factor"
        );
    }

    #[test]
    fn negative_points_unknown_factors_and_bad_limits_are_named() {
        let mut rules = RuleSet::default();
        rules.points.insert("mcc_high_risk".into(), -5);
        rules.points.insert("mcc_hgih_risk".into(), 10);
        rules.cnp_share_high = 130;
        rules.high_from = rules.medium_from;
        let fields: Vec<String> = rules.problems().into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "points.mcc_hgih_risk",
                "points.mcc_high_risk",
                "cnp_share_high",
                "high_from"
            ]
        );
    }
}
