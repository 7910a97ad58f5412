//! What the worker records after a request: the next step, the boarded merchant, a retry
//! later with backoff, or a stop for a fix — each in one transaction.

use domain::intake::ApplicationStatus;
use platform::client::CallError;
use platform::resilience::backoff;
use platform::{fields, AccountState};
use time::OffsetDateTime;
use vault::audit::Outcome;
use vault::boarding::{Job, JobError, JobKind, JobStep};
use vault::Vault;

use super::{lease_of, store_account_state, Prepared, Worker};
use crate::boarding::WORKER_ACTOR;
use crate::clock::now_ms;
use crate::Result;

impl Worker {
    pub(super) fn record(
        &self,
        vault: &Vault,
        p: &Prepared,
        result: std::result::Result<serde_json::Value, CallError>,
    ) -> Result<()> {
        let now = now_ms(OffsetDateTime::now_utc());
        let job = &p.job;
        match result {
            Ok(json) => {
                let id = json
                    .get("id")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string();
                if job.step == JobStep::DeleteAccount {
                    return self.record_deletion(vault, job, true, now);
                }
                if job.kind == JobKind::Update && job.step != JobStep::Send {
                    return self.record_person_update(vault, job, &id, now);
                }
                let mut persons = job.persons.clone();
                let (next, account) = match &job.step {
                    JobStep::Account => (
                        if p.persons_total > 0 {
                            JobStep::Person(0)
                        } else {
                            JobStep::Provided
                        },
                        Some(id.clone()),
                    ),
                    JobStep::Person(i) => {
                        let i = *i;
                        if !persons.iter().any(|(_, j)| *j == i) {
                            persons.push((id.clone(), i));
                        }
                        (
                            if i + 1 < p.persons_total {
                                JobStep::Person(i + 1)
                            } else {
                                JobStep::Provided
                            },
                            None,
                        )
                    }
                    _ => (JobStep::Done, None),
                };
                if next != JobStep::Done {
                    vault.write(|tx| {
                        tx.advance_job(
                            &job.id,
                            lease_of(job),
                            &next,
                            account.as_deref(),
                            &persons,
                            now,
                        )
                    })?;
                    return Ok(());
                }
                let state = AccountState::from_json(&json).unwrap_or_default();
                let account_id = job.account_id.clone().unwrap_or(state.id.clone());
                let action = match job.kind.as_str() {
                    "board" => "boarding.boarded".to_string(),
                    kind => format!("merchant.platform_{kind}"),
                };
                self.write(vault, |w| {
                    w.advance_job(&job.id, lease_of(job), &JobStep::Done, None, &persons, now)?;
                    store_account_state(
                        w,
                        &job.application_id,
                        &account_id,
                        &state,
                        &persons,
                        now,
                    )?;
                    // A status change, limits or termination reached the platform: what it now
                    // says about the account is kept (above), nothing else moves.
                    if job.kind == JobKind::Board {
                        let summary = w.application_summary(&job.application_id)?;
                        if summary.status == ApplicationStatus::Boarding {
                            w.transition_application(
                                &job.application_id,
                                summary.version,
                                ApplicationStatus::Boarded,
                                WORKER_ACTOR,
                                Some("boarded on the platform"),
                                now,
                            )?;
                        }
                    }
                    w.audit(
                        &action,
                        Some(&job.application_id),
                        Outcome::Ok,
                        Some(&account_id),
                    )
                })
            }
            // Already gone (deleted by an earlier attempt whose answer was lost, or a replayed
            // erasure): what the deletion wanted is so.
            Err(CallError::Rejected {
                status: 404,
                code: Some(code),
                ..
            }) if job.step == JobStep::DeleteAccount && code == "resource_missing" => {
                self.record_deletion(vault, job, false, now)
            }
            Err(CallError::Rejected {
                status,
                kind,
                code,
                param,
                message,
            }) => {
                let person = match job.step {
                    JobStep::Person(i) => Some(i),
                    _ => None,
                };
                let field = param
                    .as_deref()
                    .and_then(|p| fields::field_for(p, person, &job.persons));
                let text = format!(
                    "{message} (HTTP {status}, {kind}{})",
                    code.map(|c| format!(", {c}")).unwrap_or_default()
                );
                self.stop_for_fix(
                    vault,
                    job,
                    "rejected",
                    &text,
                    field.as_deref(),
                    param.as_deref(),
                    now,
                )
            }
            Err(e) => {
                let (kind, retry_after, text) = match &e {
                    CallError::Network { detail, timed_out } => (
                        "network",
                        None,
                        if *timed_out { format!("no answer in time: {detail}") } else { detail.clone() },
                    ),
                    CallError::Retry { status, retry_after, rate_limited, message } => (
                        if *rate_limited { "rate_limited" } else { "busy" },
                        *retry_after,
                        format!("{message} (HTTP {status})"),
                    ),
                    CallError::Unauthorized { status } => (
                        "unauthorized",
                        None,
                        format!("the platform refused the secret key (HTTP {status}): check Settings → Platform"),
                    ),
                    CallError::Rejected { .. } => unreachable!("handled above"),
                };
                let attempt = u32::try_from(job.attempts + 1).unwrap_or(u32::MAX);
                let wait = backoff(
                    attempt,
                    self.config.backoff_base,
                    self.config.backoff_max,
                    &mut rand::thread_rng(),
                )
                .max(retry_after.unwrap_or_default());
                vault.write(|tx| {
                    let sealed = sealed_error(tx, &job.application_id, &text)?;
                    tx.retry_job_later(
                        &job.id,
                        lease_of(job),
                        &JobError {
                            kind,
                            message: sealed.as_ref(),
                            field: None,
                            param: None,
                        },
                        now + wait.as_millis() as i64,
                        now,
                    )
                })?;
                Ok(())
            }
        }
    }

    /// An erased merchant's account is deleted on the platform: the job is done, what we keep
    /// of the account says nothing is enabled or due (so it is not synced again), audited.
    /// `deleted`: the platform deleted it now (else it answered that it has no such account —
    /// an earlier attempt whose answer was lost, or a replayed erasure).
    fn record_deletion(&self, vault: &Vault, job: &Job, deleted: bool, now: i64) -> Result<()> {
        let account_id = job.account_id.clone().unwrap_or_default();
        self.write(vault, |w| {
            w.advance_job(&job.id, lease_of(job), &JobStep::Done, None, &[], now)?;
            let gone = AccountState {
                id: account_id.clone(),
                ..AccountState::default()
            };
            if w.merchant(&job.application_id)?.is_some() {
                store_account_state(w, &job.application_id, &account_id, &gone, &[], now)?;
                // Its platform persons' ids go with it.
                w.set_merchant_persons(&job.application_id, &[])?;
            }
            let detail = if deleted {
                account_id.clone()
            } else {
                format!("{account_id} (the platform had no such account any more)")
            };
            w.audit(
                "merchant.platform_deleted",
                Some(&job.application_id),
                Outcome::Ok,
                Some(&detail),
            )
        })
    }

    /// A person of an edited merchant reached the platform: a created one joins the merchant's
    /// persons (so later edits update it); the account's state is refreshed by the next sync.
    fn record_person_update(
        &self,
        vault: &Vault,
        job: &Job,
        person_id: &str,
        now: i64,
    ) -> Result<()> {
        self.write(vault, |w| {
            w.advance_job(
                &job.id,
                lease_of(job),
                &JobStep::Done,
                None,
                &job.persons,
                now,
            )?;
            if let JobStep::NewPerson(index) = job.step {
                if let Some(m) = w.merchant(&job.application_id)? {
                    let mut persons = m.persons;
                    persons.retain(|(_, i)| *i != index);
                    persons.push((person_id.to_string(), index));
                    w.set_merchant_persons(&job.application_id, &persons)?;
                }
            }
            w.audit(
                "merchant.platform_update",
                Some(&job.application_id),
                Outcome::Ok,
                Some(job.step.family()),
            )
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn stop_for_fix(
        &self,
        vault: &Vault,
        job: &Job,
        kind: &str,
        message: &str,
        field: Option<&str>,
        param: Option<&str>,
        now: i64,
    ) -> Result<()> {
        let field = field.filter(|f| !f.is_empty());
        self.write(vault, |w| {
            let sealed = sealed_error(w, &job.application_id, message)?;
            w.job_needs_fix(
                &job.id,
                Some(lease_of(job)),
                &JobError {
                    kind,
                    message: sealed.as_ref(),
                    field,
                    param,
                },
                now,
            )?;
            let summary = w.application_summary(&job.application_id)?;
            if summary.status == ApplicationStatus::Boarding {
                w.transition_application(
                    &job.application_id,
                    summary.version,
                    ApplicationStatus::BoardingFailed,
                    WORKER_ACTOR,
                    Some("the platform refused a request: needs a fix"),
                    now,
                )?;
            }
            w.audit(
                "boarding.needs_fix",
                Some(&job.application_id),
                Outcome::Failed,
                Some(field.unwrap_or("-")),
            )
        })
    }
}

/// A platform error sealed under the application's record key — none for an erased record
/// (`record_key` would make a new key for the erased subject).
fn sealed_error(
    tx: &vault::Tx<'_>,
    application_id: &str,
    text: &str,
) -> vault::Result<Option<vault::Sealed>> {
    tx.existing_record_key(application_id)?
        .map(|key| key.seal("boarding_error", text.as_bytes()))
        .transpose()
}
