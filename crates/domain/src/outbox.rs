//! The boarding outbox's vocabulary: what a job does, where it stands, and its step. Stored as
//! text; a stored value that does not parse is damage, never a default.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a job sends to the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Board an approved application: the account, its persons, then "provided".
    Board,
    /// Change a boarded merchant's account or persons.
    Update,
    /// Terminate a boarded merchant's account.
    Reject,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Board => "board",
            JobKind::Update => "update",
            JobKind::Reject => "reject",
        }
    }

    pub fn parse(text: &str) -> Option<JobKind> {
        [JobKind::Board, JobKind::Update, JobKind::Reject]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Retrying,
    NeedsFix,
    Done,
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 5] = [
        JobState::Queued,
        JobState::Retrying,
        JobState::NeedsFix,
        JobState::Done,
        JobState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Retrying => "retrying",
            JobState::NeedsFix => "needs_fix",
            JobState::Done => "done",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<JobState> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// The request a job sends next.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(try_from = "String", into = "String")]
#[ts(type = "string")]
pub enum JobStep {
    /// Board: create the account.
    Account,
    /// Board: create our person with this index.
    Person(usize),
    /// Board: mark the account's details provided.
    Provided,
    /// Finished.
    Done,
    /// Update or reject: the one account request.
    Send,
    /// Update: change this platform person.
    UpdatePerson(String),
    /// Update: remove this platform person.
    DeletePerson(String),
    /// Update: create our person with this index.
    NewPerson(usize),
    /// Reject: delete the account, after the merchant's erasure (GDPR).
    DeleteAccount,
}

impl JobStep {
    pub fn parse(text: &str) -> Option<JobStep> {
        let platform_id = |id: &str| {
            (!id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
                .then(|| id.to_string())
        };
        let index = |i: &str| {
            (!i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
                .then(|| i.parse().ok())
                .flatten()
        };
        Some(match text {
            "account" => JobStep::Account,
            "provided" => JobStep::Provided,
            "done" => JobStep::Done,
            "send" => JobStep::Send,
            "delete_account" => JobStep::DeleteAccount,
            _ => match text.split_once(':')? {
                ("person", i) => JobStep::Person(index(i)?),
                ("new_person", i) => JobStep::NewPerson(index(i)?),
                ("update_person", id) => JobStep::UpdatePerson(platform_id(id)?),
                ("delete_person", id) => JobStep::DeletePerson(platform_id(id)?),
                _ => return None,
            },
        })
    }

    /// The step's family, for audit details (`person`, `update_person`…).
    pub fn family(&self) -> &'static str {
        match self {
            JobStep::Account => "account",
            JobStep::Person(_) => "person",
            JobStep::Provided => "provided",
            JobStep::Done => "done",
            JobStep::Send => "send",
            JobStep::UpdatePerson(_) => "update_person",
            JobStep::DeletePerson(_) => "delete_person",
            JobStep::NewPerson(_) => "new_person",
            JobStep::DeleteAccount => "delete_account",
        }
    }
}

impl fmt::Display for JobStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobStep::Person(i) | JobStep::NewPerson(i) => write!(f, "{}:{i}", self.family()),
            JobStep::UpdatePerson(id) | JobStep::DeletePerson(id) => {
                write!(f, "{}:{id}", self.family())
            }
            other => f.write_str(other.family()),
        }
    }
}

impl TryFrom<String> for JobStep {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        JobStep::parse(&text).ok_or_else(|| "not a job step".to_string())
    }
}

impl From<JobStep> for String {
    fn from(step: JobStep) -> String {
        step.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_round_trip_through_their_stored_text() {
        for text in [
            "account",
            "person:0",
            "person:12",
            "provided",
            "done",
            "send",
            "update_person:person_1AbC",
            "delete_person:person_9",
            "new_person:3",
            "delete_account",
        ] {
            let step = JobStep::parse(text).unwrap();
            assert_eq!(step.to_string(), text);
        }
    }

    #[test]
    fn a_damaged_step_is_refused_not_read_as_person_zero() {
        for text in [
            "person:",
            "person:x",
            "person:-1",
            "person:1:2",
            "update_person:",
            "update_person:a/b",
            "boarding",
            "",
        ] {
            assert_eq!(JobStep::parse(text), None, "{text:?}");
        }
        assert!(serde_json::from_str::<JobStep>("\"person:x\"").is_err());
    }

    #[test]
    fn kinds_and_states_parse_only_what_they_print() {
        for k in [JobKind::Board, JobKind::Update, JobKind::Reject] {
            assert_eq!(JobKind::parse(k.as_str()), Some(k));
        }
        for s in JobState::ALL {
            assert_eq!(JobState::parse(s.as_str()), Some(s));
        }
        assert_eq!(JobState::parse("Queued"), None);
        assert!(serde_json::from_str::<JobKind>("\"onboard\"").is_err());
    }
}
