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

#[cfg(test)]
mod tests {
    use super::*;

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
