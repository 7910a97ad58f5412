use std::fmt;

use serde::{Deserialize, Serialize};

/// Where an application stands. Moves only along [`ApplicationStatus::can_move_to`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    Draft,
    Submitted,
    InReview,
    InfoRequested,
    Approved,
    Declined,
    Boarding,
    Boarded,
    BoardingFailed,
    Withdrawn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an application cannot move from {from} to {to}")]
pub struct IllegalTransition {
    pub from: ApplicationStatus,
    pub to: ApplicationStatus,
}

impl ApplicationStatus {
    pub const ALL: [ApplicationStatus; 10] = [
        ApplicationStatus::Draft,
        ApplicationStatus::Submitted,
        ApplicationStatus::InReview,
        ApplicationStatus::InfoRequested,
        ApplicationStatus::Approved,
        ApplicationStatus::Declined,
        ApplicationStatus::Boarding,
        ApplicationStatus::Boarded,
        ApplicationStatus::BoardingFailed,
        ApplicationStatus::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationStatus::Draft => "draft",
            ApplicationStatus::Submitted => "submitted",
            ApplicationStatus::InReview => "in_review",
            ApplicationStatus::InfoRequested => "info_requested",
            ApplicationStatus::Approved => "approved",
            ApplicationStatus::Declined => "declined",
            ApplicationStatus::Boarding => "boarding",
            ApplicationStatus::Boarded => "boarded",
            ApplicationStatus::BoardingFailed => "boarding_failed",
            ApplicationStatus::Withdrawn => "withdrawn",
        }
    }

    /// The explicit transition table.
    pub fn can_move_to(self, to: ApplicationStatus) -> bool {
        use ApplicationStatus::*;
        matches!(
            (self, to),
            (Draft, Submitted)
                | (Submitted, InReview)
                | (InReview, InfoRequested)
                | (InfoRequested, InReview)
                | (InReview, Approved)
                | (InReview, Declined)
                | (Approved, Boarding)
                | (Boarding, Boarded)
                | (Boarding, BoardingFailed)
                | (BoardingFailed, Boarding)
                | (Draft | Submitted | InReview | InfoRequested, Withdrawn)
        )
    }

    pub fn move_to(self, to: ApplicationStatus) -> Result<ApplicationStatus, IllegalTransition> {
        if self.can_move_to(to) {
            Ok(to)
        } else {
            Err(IllegalTransition { from: self, to })
        }
    }

    /// Whether the applicant side may still change the form (a draft, or one sent back with a
    /// request for information).
    pub fn is_editable(self) -> bool {
        matches!(
            self,
            ApplicationStatus::Draft | ApplicationStatus::InfoRequested
        )
    }

    /// No way out: the application's story is over.
    pub fn is_final(self) -> bool {
        ApplicationStatus::ALL
            .iter()
            .all(|&to| !self.can_move_to(to))
    }
}

impl std::str::FromStr for ApplicationStatus {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        ApplicationStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or(())
    }
}

impl fmt::Display for ApplicationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ApplicationStatus::*;
    use super::*;

    #[test]
    fn the_happy_path_and_the_info_loop() {
        let mut s = Draft;
        for next in [
            Submitted,
            InReview,
            InfoRequested,
            InReview,
            Approved,
            Boarding,
            BoardingFailed,
            Boarding,
            Boarded,
        ] {
            s = s.move_to(next).unwrap();
        }
        assert_eq!(s, Boarded);
    }

    #[test]
    fn illegal_moves_are_typed_errors() {
        assert_eq!(
            Draft.move_to(Approved),
            Err(IllegalTransition {
                from: Draft,
                to: Approved
            })
        );
        assert!(Declined.move_to(InReview).is_err(), "a decline is final");
        assert!(
            Approved.move_to(Withdrawn).is_err(),
            "approved goes to boarding, not back"
        );
        assert_eq!(
            Draft.move_to(Approved).unwrap_err().to_string(),
            "an application cannot move from draft to approved"
        );
    }

    #[test]
    fn final_states() {
        let finals: Vec<_> = ApplicationStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(finals, vec![Declined, Boarded, Withdrawn]);
    }

    #[test]
    fn no_state_moves_to_itself() {
        for s in ApplicationStatus::ALL {
            assert!(!s.can_move_to(s), "{s} must not loop to itself");
        }
    }
}
