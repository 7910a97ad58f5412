//! The Boarding page's use cases: the outbox overview, one job, retry, cancel, and correcting
//! the field the platform refused.

use std::time::Duration;

use domain::intake::{ApplicationForm, ApplicationStatus, Completeness};
use platform::resilience::Health;
use serde::Serialize;
use time::OffsetDateTime;
use vault::audit::Outcome;
use vault::boarding::{Job, JobKind, JobState};
use vault::Vault;

use super::platform::platform_config;
use crate::clock::now_ms;
use crate::session::{Access, SessionSlot};
use crate::{Code, Error, Result};

/// One job as the Boarding page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    #[serde(flatten)]
    pub job: crate::views::Job,
    /// The platform's (or our pre-check's) message; it may quote what was sent.
    pub error_message: Option<String>,
}

/// The Boarding page.
#[derive(Debug, Clone, Serialize)]
pub struct BoardingOverview {
    pub counts: crate::views::JobCounts,
    pub jobs: Vec<JobView>,
    pub health: Option<Health>,
    /// Who sends the outbox, as the running worker knows it.
    pub sender: Option<super::Sender>,
    pub platform_url: String,
}

/// Use case: the outbox (any signed-in role). `health` is the running worker's, if any.
/// The Boarding page refreshes itself with this, so it does not count as activity.
pub fn overview(
    slot: &mut SessionSlot,
    state: Option<&str>,
    worker: Option<super::WorkerState>,
) -> Result<BoardingOverview> {
    // The session and role first, before any of the input is looked at.
    slot.require_quietly(Access::SignedIn, "boarding.view")?;
    let filter = match state {
        None | Some("") | Some("all") => None,
        Some(s) => Some(match s {
            "queued" => JobState::Queued,
            "retrying" => JobState::Retrying,
            "needs_fix" => JobState::NeedsFix,
            "done" => JobState::Done,
            "cancelled" => JobState::Cancelled,
            _ => {
                return Err(Error::invalid_input(
                    "state",
                    "must be queued, retrying, needs_fix, done or cancelled",
                ))
            }
        }),
    };
    let (health, sender) = worker.map(|w| (w.health, w.sender)).unzip();
    let session = slot.require_quietly(Access::SignedIn, "boarding.view")?;
    let vault = session.vault();
    // No worker here (the CLI): the vault is asked who sends.
    let sender = match sender {
        Some(s) => Some(s),
        None => super::Sender::asked(vault).ok(),
    };
    let jobs = vault
        .jobs(filter, 200)?
        .into_iter()
        .map(|job| open_job(vault, job))
        .collect::<Result<Vec<_>>>()?;
    Ok(BoardingOverview {
        counts: vault.job_counts()?.into(),
        jobs,
        health,
        sender,
        platform_url: platform_config(vault, Duration::from_secs(1))?.0.base_url,
    })
}

fn open_job(vault: &Vault, job: Job) -> Result<JobView> {
    let error_message = match &job.error_message {
        Some(sealed) => match vault.existing_record_key(&job.application_id)? {
            Some(key) => {
                Some(String::from_utf8_lossy(&key.open("boarding_error", sealed)?).into_owned())
            }
            None => Some("(erased)".into()),
        },
        None => None,
    };
    Ok(JobView {
        job: job.into(),
        error_message,
    })
}

/// Use case: a job by id or by its application id.
pub fn job(slot: &mut SessionSlot, id: &str) -> Result<JobView> {
    let session = slot.require(Access::SignedIn, "boarding.view")?;
    let vault = session.vault();
    let job = match vault.job(id) {
        Ok(j) => j,
        Err(vault::VaultError::NotFound(_)) => vault
            .board_job_of(id)?
            .ok_or_else(|| Error::new(Code::NotFound, "no boarding job for that id"))?,
        Err(e) => return Err(e.into()),
    };
    open_job(vault, job)
}

/// Use case (admin, underwriter): send a waiting job now, or resume a cancelled or refused one
/// unchanged (the platform may have been fixed on its side).
pub fn retry(slot: &mut SessionSlot, id: &str) -> Result<JobView> {
    let session = slot.require(Access::Write, "boarding.retry")?;
    let vault = session.vault();
    let job = vault.job(id)?;
    let now = now_ms(OffsetDateTime::now_utc());
    session.write(|w| {
        if job.state == JobState::NeedsFix {
            // The refused request created nothing; it goes again under a fresh key.
            w.forget_request_key(&job.id, &job.step)?;
        }
        w.requeue_job(&job.id, now)?;
        w.audit(
            "boarding.retry",
            Some(&job.application_id),
            Outcome::Ok,
            Some(&job.step.to_string()),
        )?;
        Ok(())
    })?;
    let job = session.vault().job(id)?;
    open_job(session.vault(), job)
}

/// Use case (admin, underwriter): stop a job; the application is marked boarding failed.
pub fn cancel(slot: &mut SessionSlot, id: &str) -> Result<JobView> {
    let session = slot.require(Access::Write, "boarding.cancel")?;
    let me = session.username().to_string();
    let vault = session.vault();
    let job = vault.job(id)?;
    // A job that carries an admin's decision on a live account (suspend, terminate, limits,
    // an accepted change) is the admins' to stop: cancelled by anyone else, the desk would
    // say "terminated" while the platform keeps charging.
    if job.kind != JobKind::Board && session.role() != domain::Role::Admin {
        session.audit(
            "boarding.cancel",
            Some(&job.application_id),
            Outcome::Denied,
            Some("a merchant account job: admins only"),
        )?;
        return Err(Error::new(
            Code::Forbidden,
            "only an admin can cancel a job that changes a boarded merchant's account",
        ));
    }
    let now = now_ms(OffsetDateTime::now_utc());
    session.write(|w| {
        w.cancel_job(&job.id, now)?;
        let mut summary = w.application_summary(&job.application_id)?;
        if summary.status == ApplicationStatus::Approved {
            w.transition_application(
                &job.application_id,
                summary.version,
                ApplicationStatus::Boarding,
                &me,
                Some("cancelled before sending"),
                now,
            )?;
            summary = w.application_summary(&job.application_id)?;
        }
        if summary.status == ApplicationStatus::Boarding {
            w.transition_application(
                &job.application_id,
                summary.version,
                ApplicationStatus::BoardingFailed,
                &me,
                Some("boarding cancelled"),
                now,
            )?;
        }
        w.audit(
            "boarding.cancel",
            Some(&job.application_id),
            Outcome::Ok,
            Some(&job.step.to_string()),
        )
    })?;
    let job = session.vault().job(id)?;
    open_job(session.vault(), job)
}

/// Use case (admin, underwriter): correct the one field the platform refused and send again.
/// Only that field may change (anything else would bypass review); the value is validated like
/// any application field.
pub fn fix_and_resend(
    slot: &mut SessionSlot,
    id: &str,
    field: &str,
    value: &str,
) -> Result<JobView> {
    let session = slot.require(Access::Write, "boarding.fix")?;
    let me = session.username().to_string();
    let vault = session.vault();
    let job = vault.job(id)?;
    if job.state != JobState::NeedsFix {
        return Err(Error::new(
            Code::Conflict,
            "only a job the platform refused can be corrected",
        ));
    }
    if job.error_field.as_deref() != Some(field) {
        return Err(Error::invalid_input(
            "field",
            "only the field the platform named can be corrected here",
        ));
    }
    // No side door around review: a material field (bank account, tax id, legal name, a
    // person…) changes only through a reviewed edit — re-screened, re-assessed, checked
    // against the blocklist and accepted by someone other than its author.
    if !domain::merchant::is_minor_field(field) {
        session.audit(
            "boarding.fix",
            Some(&job.application_id),
            Outcome::Denied,
            Some(&format!("{field}: material")),
        )?;
        return Err(Error::new(
            Code::Conflict,
            format!(
                "{field} is material: change it through Edit details on the merchant (or send the application back for information), so someone else reviews it"
            ),
        ));
    }
    let stored = vault.application(&job.application_id)?;
    let mut tree =
        serde_json::to_value(&stored.form).map_err(|_| Error::internal("encoding a form"))?;
    let slot_ref = value_at(&mut tree, field)
        .filter(|v| v.is_string())
        .ok_or_else(|| {
            Error::invalid_input("field", "is not a single value that can be corrected here")
        })?;
    *slot_ref = serde_json::Value::String(value.to_string());
    let form: ApplicationForm =
        serde_json::from_value(tree).map_err(|_| Error::internal("decoding a form"))?;
    let now_t = OffsetDateTime::now_utc();
    let checked = form
        .check(now_t, Completeness::Complete)
        .map_err(Error::fields)?;
    let now = now_ms(now_t);
    session.write(|w| {
        let version = w.correct_application(
            &job.application_id,
            stored.summary.version,
            &checked,
            &me,
            now,
        )?;
        w.forget_request_key(&job.id, &job.step)?;
        w.requeue_job(&job.id, now)?;
        w.transition_application(
            &job.application_id,
            version,
            ApplicationStatus::Boarding,
            &me,
            Some("corrected after the platform refused it"),
            now,
        )?;
        w.audit(
            "boarding.fix",
            Some(&job.application_id),
            Outcome::Ok,
            Some(field),
        )
    })?;
    let job = session.vault().job(id)?;
    open_job(session.vault(), job)
}

/// `people[1].email` → the JSON node.
fn value_at<'a>(tree: &'a mut serde_json::Value, path: &str) -> Option<&'a mut serde_json::Value> {
    let mut node = tree;
    for part in path.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((n, rest)) => (n, Some(rest.trim_end_matches(']').parse::<usize>().ok()?)),
            None => (part, None),
        };
        node = node.get_mut(name)?;
        if let Some(i) = index {
            node = node.get_mut(i)?;
        }
    }
    Some(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_reach_nested_values() {
        let mut v = serde_json::json!({"people": [{"email": "a"}, {"email": "b"}], "business": {"address": {"line1": "x"}}});
        *value_at(&mut v, "people[1].email").unwrap() = serde_json::json!("c");
        assert_eq!(v["people"][1]["email"], "c");
        assert!(value_at(&mut v, "business.address.line1").is_some());
        assert!(value_at(&mut v, "people[7].email").is_none());
        assert!(value_at(&mut v, "people[x].email").is_none());
    }
}
