//! GDPR erasure under AML retention: when a record may be erased, and why not otherwise.
//! The vault gathers the facts; this decides; the api words the refusal for a person.

use serde::{Deserialize, Serialize};

use crate::intake::ApplicationStatus;

/// Milliseconds in `years` (365.25 days each).
pub fn years_ms(years: u32) -> i64 {
    i64::from(years) * 31_557_600_000
}

/// The facts retention is decided on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Facts {
    pub status: ApplicationStatus,
    /// Whether it ever left the draft stage (a never-submitted draft is no customer record).
    pub submitted: bool,
    /// When the relationship ended: declined, withdrawn, or the merchant terminated.
    pub ended_at: Option<i64>,
    pub legal_hold: Option<String>,
    pub erased_at: Option<i64>,
}

/// What became of an erasure request, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
#[ts(rename = "Erasure")]
pub enum ErasureOutcome {
    Erased,
    /// AML retention still runs (the relationship ended less than the retention ago).
    RefusedRetention,
    /// A legal hold is on the record.
    RefusedHold,
    /// The relationship is not over (an application in progress, a live merchant).
    RefusedActive,
    /// It was erased before.
    RefusedErased,
}

impl ErasureOutcome {
    pub const ALL: [ErasureOutcome; 5] = [
        ErasureOutcome::Erased,
        ErasureOutcome::RefusedRetention,
        ErasureOutcome::RefusedHold,
        ErasureOutcome::RefusedActive,
        ErasureOutcome::RefusedErased,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErasureOutcome::Erased => "erased",
            ErasureOutcome::RefusedRetention => "refused_retention",
            ErasureOutcome::RefusedHold => "refused_hold",
            ErasureOutcome::RefusedActive => "refused_active",
            ErasureOutcome::RefusedErased => "refused_erased",
        }
    }

    pub fn parse(text: &str) -> Option<ErasureOutcome> {
        Self::ALL.into_iter().find(|o| o.as_str() == text)
    }
}

impl std::fmt::Display for ErasureOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a record may not be erased now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Erased,
    Hold,
    Active,
    /// Under retention until `possible_from` (unix ms).
    Retention {
        possible_from: i64,
    },
}

impl Refusal {
    pub fn outcome(self) -> ErasureOutcome {
        match self {
            Refusal::Erased => ErasureOutcome::RefusedErased,
            Refusal::Hold => ErasureOutcome::RefusedHold,
            Refusal::Active => ErasureOutcome::RefusedActive,
            Refusal::Retention { .. } => ErasureOutcome::RefusedRetention,
        }
    }

    pub fn possible_from(self) -> Option<i64> {
        match self {
            Refusal::Retention { possible_from } => Some(possible_from),
            _ => None,
        }
    }
}

/// Whether an application may be erased at `now_ms` under `years` of retention: `Ok` when it
/// may, else the refusal. An erased record, then a legal hold, win over everything; a draft
/// never submitted is no customer record and goes at once; otherwise the retention runs from
/// the end of the relationship, and a relationship not over is never erased.
pub fn decide(facts: &Facts, years: u32, now_ms: i64) -> Result<(), Refusal> {
    if facts.erased_at.is_some() {
        return Err(Refusal::Erased);
    }
    if facts.legal_hold.is_some() {
        return Err(Refusal::Hold);
    }
    if !facts.submitted && facts.status == ApplicationStatus::Draft {
        return Ok(());
    }
    match facts.ended_at {
        Some(ended) => {
            let possible_from = ended + years_ms(years);
            if now_ms < possible_from {
                Err(Refusal::Retention { possible_from })
            } else {
                Ok(())
            }
        }
        None => Err(Refusal::Active),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YEAR: i64 = 31_557_600_000;

    fn facts(status: ApplicationStatus, ended_at: Option<i64>) -> Facts {
        Facts {
            status,
            submitted: status != ApplicationStatus::Draft,
            ended_at,
            legal_hold: None,
            erased_at: None,
        }
    }

    #[test]
    fn retention_runs_from_the_end_of_the_relationship() {
        let now = 10 * YEAR;
        let declined = |at| facts(ApplicationStatus::Declined, Some(at));
        assert_eq!(decide(&declined(now - 6 * YEAR), 5, now), Ok(()));
        assert_eq!(
            decide(&declined(now - 5 * YEAR), 5, now),
            Ok(()),
            "the day it ends"
        );
        assert_eq!(
            decide(&declined(now - YEAR), 5, now),
            Err(Refusal::Retention {
                possible_from: now + 4 * YEAR
            })
        );
        assert_eq!(
            decide(&facts(ApplicationStatus::Approved, None), 5, now),
            Err(Refusal::Active),
            "a relationship not over is never erased"
        );
    }

    #[test]
    fn erased_then_hold_win_and_an_unsubmitted_draft_goes_at_once() {
        let now = 10 * YEAR;
        let mut f = facts(ApplicationStatus::Declined, Some(0));
        f.legal_hold = Some("subpoena".into());
        assert_eq!(decide(&f, 5, now), Err(Refusal::Hold));
        f.erased_at = Some(1);
        assert_eq!(decide(&f, 5, now), Err(Refusal::Erased));
        assert_eq!(
            decide(&facts(ApplicationStatus::Draft, None), 5, now),
            Ok(())
        );
        let mut sent_back = facts(ApplicationStatus::Draft, None);
        sent_back.submitted = true;
        assert_eq!(decide(&sent_back, 5, now), Err(Refusal::Active));
    }

    #[test]
    fn refusals_name_their_outcome_and_outcomes_parse_what_they_print() {
        for o in ErasureOutcome::ALL {
            assert_eq!(ErasureOutcome::parse(o.as_str()), Some(o));
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
        }
        assert_eq!(ErasureOutcome::parse("refused"), None);
        let r = Refusal::Retention { possible_from: 7 };
        assert_eq!(
            (r.outcome(), r.possible_from()),
            (ErasureOutcome::RefusedRetention, Some(7))
        );
        assert_eq!(Refusal::Hold.possible_from(), None);
    }
}
