//! Rules of a boarded merchant's life: which edits are material (they wait for a second
//! reviewer) and why a merchant is under review.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::intake::{ApplicationForm, PersonForm};

/// Why a boarded merchant is flagged for review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ReviewFlag {
    /// A re-screen raised a new hit on it.
    SanctionsHit,
    /// A hit on it was confirmed as the listed party.
    SanctionsMatch,
    /// A material change of its details waits for review.
    DetailsChanged,
}

impl ReviewFlag {
    pub const fn as_str(self) -> &'static str {
        match self {
            ReviewFlag::SanctionsHit => "sanctions_hit",
            ReviewFlag::SanctionsMatch => "sanctions_match",
            ReviewFlag::DetailsChanged => "details_changed",
        }
    }

    pub fn parse(text: &str) -> Option<ReviewFlag> {
        [
            ReviewFlag::SanctionsHit,
            ReviewFlag::SanctionsMatch,
            ReviewFlag::DetailsChanged,
        ]
        .into_iter()
        .find(|f| f.as_str() == text)
    }
}

/// Our status of a boarded merchant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum MerchantStatus {
    Active,
    Restricted,
    Suspended,
    Terminated,
}

impl MerchantStatus {
    pub const ALL: [MerchantStatus; 4] = [
        MerchantStatus::Active,
        MerchantStatus::Restricted,
        MerchantStatus::Suspended,
        MerchantStatus::Terminated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MerchantStatus::Active => "active",
            MerchantStatus::Restricted => "restricted",
            MerchantStatus::Suspended => "suspended",
            MerchantStatus::Terminated => "terminated",
        }
    }

    pub fn parse(text: &str) -> Option<MerchantStatus> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// What an admin does to a boarded merchant: the merchant lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum MerchantAction {
    Restrict,
    Suspend,
    Reinstate,
    Terminate,
}

impl MerchantAction {
    pub const ALL: [MerchantAction; 4] = [
        MerchantAction::Restrict,
        MerchantAction::Suspend,
        MerchantAction::Reinstate,
        MerchantAction::Terminate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MerchantAction::Restrict => "restrict",
            MerchantAction::Suspend => "suspend",
            MerchantAction::Reinstate => "reinstate",
            MerchantAction::Terminate => "terminate",
        }
    }

    pub fn parse(text: &str) -> Option<MerchantAction> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }

    /// The statuses the action may start from.
    pub fn from(self) -> &'static [MerchantStatus] {
        use MerchantStatus::*;
        match self {
            MerchantAction::Restrict => &[Active],
            MerchantAction::Suspend => &[Active, Restricted],
            MerchantAction::Reinstate => &[Restricted, Suspended],
            MerchantAction::Terminate => &[Active, Restricted, Suspended],
        }
    }

    /// Where the action leads.
    pub fn to(self) -> MerchantStatus {
        match self {
            MerchantAction::Restrict => MerchantStatus::Restricted,
            MerchantAction::Suspend => MerchantStatus::Suspended,
            MerchantAction::Reinstate => MerchantStatus::Active,
            MerchantAction::Terminate => MerchantStatus::Terminated,
        }
    }

    /// The reason codes it takes (the first word of its audit entry and of the platform's
    /// metadata).
    pub const fn reasons(self) -> &'static [&'static str] {
        match self {
            MerchantAction::Restrict => &[
                "chargeback_rate",
                "unusual_volume",
                "kyc_refresh",
                "sanctions_review",
                "other",
            ],
            MerchantAction::Suspend => &[
                "suspected_fraud",
                "chargeback_rate",
                "sanctions_match",
                "policy_violation",
                "other",
            ],
            MerchantAction::Reinstate => &["review_cleared", "issue_resolved", "other"],
            MerchantAction::Terminate => &[
                "fraud",
                "terms_of_service",
                "sanctions_match",
                "credit_risk",
                "other",
            ],
        }
    }

    /// The past participle, for messages ("a terminated merchant cannot be restricted").
    pub fn done(self) -> &'static str {
        match self {
            MerchantAction::Restrict => "restricted",
            MerchantAction::Suspend => "suspended",
            MerchantAction::Reinstate => "reinstated",
            MerchantAction::Terminate => "terminated",
        }
    }
}

/// Business fields whose change is minor (sent at once); every other business field is
/// material.
const MINOR_BUSINESS_FIELDS: &[&str] = &[
    "dba",
    "address",
    "operating_address",
    "phone",
    "email",
    "website",
    "product_description",
];

/// Whether a form field path (`business.email`, `business.address.line1`) is a minor field:
/// contact details and addresses, which change without a second reviewer. Every other field —
/// tax id, legal name, entity type, MCC, volumes, people, the bank account — is material.
pub fn is_minor_field(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("business.") else {
        return false;
    };
    let head = rest.split(['.', '[']).next().unwrap_or("");
    MINOR_BUSINESS_FIELDS.contains(&head)
}

/// The changed fields of a form, by path, and whether any is material.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Diff {
    pub fields: Vec<String>,
    pub material: bool,
    pub bank: bool,
    pub terms: bool,
}

fn business_diff(old: &ApplicationForm, new: &ApplicationForm, diff: &mut Diff) {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) = (
        serde_json::to_value(&old.business),
        serde_json::to_value(&new.business),
    ) else {
        return;
    };
    for (key, value) in &b {
        if a.get(key) != Some(value) {
            diff.fields.push(format!("business.{key}"));
            diff.material |= !MINOR_BUSINESS_FIELDS.contains(&key.as_str());
        }
    }
}

pub fn diff(old: &ApplicationForm, new: &ApplicationForm) -> Diff {
    let mut d = Diff::default();
    business_diff(old, new, &mut d);
    let before: HashMap<&str, &PersonForm> =
        old.people.iter().map(|p| (p.id.as_str(), p)).collect();
    for (i, p) in new.people.iter().enumerate() {
        match before.get(p.id.as_str()) {
            None => d.fields.push(format!("people[{i}] (added)")),
            Some(o) if *o != p => d.fields.push(format!("people[{i}]")),
            Some(_) => {}
        }
    }
    for (i, p) in old.people.iter().enumerate() {
        if !new.people.iter().any(|n| n.id == p.id) {
            d.fields.push(format!("people[{i}] (removed)"));
        }
    }
    if d.fields.iter().any(|f| f.starts_with("people")) {
        d.material = true;
    }
    if old.bank != new.bank {
        d.fields.push("bank".into());
        d.bank = true;
        d.material = true;
    }
    d.terms = old.terms != new.terms;
    d
}

impl std::fmt::Display for ReviewFlag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for MerchantStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for MerchantAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_details_are_minor_and_everything_else_material() {
        assert!(is_minor_field("business.email"));
        assert!(is_minor_field("business.address.line1"));
        assert!(!is_minor_field("business.ein"));
        assert!(!is_minor_field("business.legal_name"));
        assert!(!is_minor_field("bank.account_number"));
        assert!(!is_minor_field("people[0].ssn"));
    }

    #[test]
    fn the_lifecycle_has_no_way_back_from_termination() {
        for action in MerchantAction::ALL {
            assert!(
                !action.from().contains(&MerchantStatus::Terminated),
                "{action:?}"
            );
            assert!(
                !action.from().contains(&action.to()),
                "{action:?} changes the status"
            );
            assert_eq!(MerchantAction::parse(action.as_str()), Some(action));
        }
        assert!(MerchantAction::Reinstate
            .from()
            .contains(&MerchantStatus::Suspended));
        assert_eq!(MerchantAction::parse("Terminate"), None);
        assert_eq!(MerchantStatus::parse("closed"), None);
    }

    #[test]
    fn flags_keep_their_stored_names() {
        for flag in [
            ReviewFlag::SanctionsHit,
            ReviewFlag::SanctionsMatch,
            ReviewFlag::DetailsChanged,
        ] {
            let json = serde_json::to_string(&flag).unwrap();
            assert_eq!(json, format!("\"{}\"", flag.as_str()));
        }
    }
}
