//! The review's vocabulary: the decisions an underwriter takes and the reason codes each takes
//! (what a regulator or a card brand asks "why" with).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
#[ts(rename = "DecisionKind")]
pub enum Decision {
    Approve,
    Decline,
    /// Send the application back to the applicant for information.
    RequestInfo,
}

impl Decision {
    pub const ALL: [Decision; 3] = [Decision::Approve, Decision::Decline, Decision::RequestInfo];

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Decline => "decline",
            Decision::RequestInfo => "request_info",
        }
    }

    pub fn parse(text: &str) -> Option<Decision> {
        Self::ALL.into_iter().find(|d| d.as_str() == text)
    }

    /// The reason codes the decision takes.
    pub const fn reasons(self) -> &'static [&'static str] {
        match self {
            Decision::Approve => &["meets_policy", "edd_completed", "low_risk"],
            Decision::Decline => &[
                "sanctions_match",
                "prohibited_business",
                "fraud_risk",
                "credit_risk",
                "duplicate_or_blocklisted",
                "incomplete_information",
                "policy_other",
            ],
            Decision::RequestInfo => &[
                "missing_document",
                "invalid_information",
                "clarification_needed",
            ],
        }
    }
}

/// The risk band of an assessment: where its score falls against the rules' thresholds.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ts_rs::TS,
)]
#[serde(rename_all = "snake_case")]
pub enum RiskBand {
    Low,
    Medium,
    High,
}

impl RiskBand {
    pub const ALL: [RiskBand; 3] = [RiskBand::Low, RiskBand::Medium, RiskBand::High];

    pub fn as_str(self) -> &'static str {
        match self {
            RiskBand::Low => "low",
            RiskBand::Medium => "medium",
            RiskBand::High => "high",
        }
    }

    pub fn parse(text: &str) -> Option<RiskBand> {
        Self::ALL.into_iter().find(|b| b.as_str() == text)
    }
}

impl std::fmt::Display for RiskBand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risk_bands_parse_only_what_they_print_and_are_ordered() {
        for b in RiskBand::ALL {
            assert_eq!(RiskBand::parse(b.as_str()), Some(b));
            assert_eq!(serde_json::to_value(b).unwrap(), b.as_str());
        }
        assert_eq!(RiskBand::parse("High"), None);
        assert_eq!(RiskBand::parse(""), None);
        assert!(RiskBand::Low < RiskBand::Medium && RiskBand::Medium < RiskBand::High);
    }

    #[test]
    fn decisions_parse_only_what_they_print() {
        for d in Decision::ALL {
            assert_eq!(Decision::parse(d.as_str()), Some(d));
            assert!(!d.reasons().is_empty());
        }
        assert_eq!(Decision::parse("Approve"), None);
        assert!(serde_json::from_str::<Decision>("\"approved\"").is_err());
    }
}
