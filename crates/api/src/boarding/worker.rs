//! The [`Worker`]: takes due jobs from the outbox and sends their requests (paced, behind the
//! circuit breaker), and refreshes boarded merchants with open requirements. How it records
//! each outcome is in `record`.

mod record;
mod sender;

pub use sender::Sender;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use domain::intake::{Application, ApplicationStatus};
use platform::client::CallError;
use platform::resilience::{CircuitBreaker, Health, RateLimiter};
use platform::{requests, AccountState, Client, Request};
use serde::Serialize;
use time::OffsetDateTime;
use vault::audit::Outcome;
use vault::boarding::{Job, JobKind, JobStep};
use vault::Vault;

use super::platform::platform_config;
use super::{lock, WORKER_ACTOR};
use crate::clock::{new_id, now_ms};
use crate::merchants::{boarded, merchant_view, MerchantView};
use crate::session::{Access, SessionSlot, Unit};
use crate::{Code, Error, Result};

/// Tuning of the worker (the defaults suit the app; tests shorten the waits).
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// How often an idle worker looks for due jobs.
    pub poll: Duration,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Consecutive failures (network, 5xx) before the breaker opens.
    pub breaker_threshold: u32,
    pub breaker_cooldown: Duration,
    pub breaker_max_cooldown: Duration,
    pub request_timeout: Duration,
    /// How long a taken job is reserved for this worker. It outlives `request_timeout`, and
    /// bounds how long a desk that died keeps its jobs from the desk that takes over.
    pub lease: Duration,
    /// How often a worker that stands by (another desk sends) tries to take over.
    pub claim_every: Duration,
    /// How often boarded merchants with open requirements are refreshed.
    pub sync_every: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 4,
            poll: Duration::from_millis(500),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(5),
            breaker_max_cooldown: Duration::from_secs(60),
            request_timeout: Duration::from_secs(20),
            // A dead sender's jobs are another desk's within 30 s: its claim ends with its
            // connection, its leases after 25 s, and the others try every 2 s.
            lease: Duration::from_secs(25),
            claim_every: Duration::from_secs(2),
            sync_every: Duration::from_secs(30),
        }
    }
}

/// What one pass of a worker lane did.
enum Tick {
    Worked,
    Idle(Duration),
}

/// What a drain achieved.
#[derive(Debug, Clone, Serialize)]
pub struct DrainReport {
    pub counts: crate::views::JobCounts,
    pub requests: u64,
    pub elapsed_ms: u64,
    /// False when the deadline came first (jobs still waiting to retry).
    pub finished: bool,
    /// Who was sending at the end (another desk may have sent everything).
    pub sender: Sender,
}

/// What the window shows of the running worker.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerState {
    pub health: Health,
    pub sender: Sender,
}

/// The background sender of the outbox. One per app (or per `desk boarding drain`).
pub struct Worker {
    slot: Arc<Mutex<SessionSlot>>,
    config: WorkerConfig,
    breaker: CircuitBreaker,
    limiter: RateLimiter,
    client: Mutex<Option<(String, Client)>>,
    rate_limited_in_a_row: AtomicU32,
    requests: std::sync::atomic::AtomicU64,
    last_sync: Mutex<Option<Instant>>,
    /// Whose session the worker last borrowed: its audit entries say on whose behalf it sent.
    on_behalf: Mutex<String>,
    /// Whether this worker is the one that sends (`sender`).
    claim: Mutex<sender::Claim>,
}

/// A request ready to go, with what is needed to record its outcome.
struct Prepared {
    job: Job,
    request: Request,
    key: String,
    client: Client,
    persons_total: usize,
}

impl Worker {
    pub fn new(slot: Arc<Mutex<SessionSlot>>, config: WorkerConfig) -> Arc<Self> {
        Arc::new(Self {
            breaker: CircuitBreaker::new(
                config.breaker_threshold,
                config.breaker_cooldown,
                config.breaker_max_cooldown,
            ),
            limiter: RateLimiter::new(25.0),
            slot,
            config,
            client: Mutex::new(None),
            rate_limited_in_a_row: AtomicU32::new(0),
            requests: std::sync::atomic::AtomicU64::new(0),
            last_sync: Mutex::new(None),
            on_behalf: Mutex::new(String::new()),
            claim: Mutex::new(sender::Claim::new()),
        })
    }

    /// Who sends the outbox, as this worker knows it.
    pub fn sender(&self) -> Sender {
        self.claim
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .sender()
    }

    /// The platform's health and who sends, for the window.
    pub fn state(&self) -> WorkerState {
        WorkerState {
            health: self.health(),
            sender: self.sender(),
        }
    }

    fn acting_for(&self, user: &str) {
        let mut who = self
            .on_behalf
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if *who != user {
            *who = user.to_string();
        }
    }

    /// Who the worker's audit entries name: the worker, on behalf of the signed-in user
    /// (`system:boarding for alice`).
    fn actor(&self) -> String {
        let who = self
            .on_behalf
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if who.is_empty() {
            WORKER_ACTOR.to_string()
        } else {
            crate::session::on_behalf(WORKER_ACTOR, &who)
        }
    }

    /// One unit of work as the worker: what it records and its audit entries commit together.
    fn write<T>(&self, vault: &Vault, f: impl FnOnce(&Unit<'_>) -> Result<T>) -> Result<T> {
        crate::session::write_as(vault, &self.actor(), f)
    }

    /// Whether the platform is reachable as far as this worker knows.
    pub fn health(&self) -> Health {
        self.breaker.health()
    }

    /// Requests sent so far (all attempts).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Runs forever: `concurrency` lanes, each taking the next due job.
    pub async fn run(self: Arc<Self>) {
        let mut lanes = tokio::task::JoinSet::new();
        for _ in 0..self.config.concurrency.max(1) {
            let me = Arc::clone(&self);
            lanes.spawn(async move {
                loop {
                    match me.tick().await {
                        Tick::Worked => {}
                        Tick::Idle(d) => tokio::time::sleep(d).await,
                    }
                }
            });
        }
        while lanes.join_next().await.is_some() {}
    }

    /// Sends until no job is queued or waiting to retry (or `deadline` passes).
    pub async fn drain(self: &Arc<Self>, deadline: Duration) -> Result<DrainReport> {
        // Sending is something only a role that may cause it does (an auditor reads).
        lock(&self.slot).require(Access::Write, "boarding.drain")?;
        // A drain is a bounded job: when it ends (or is cancelled), another desk may send.
        let _give_up = GiveUp(self);
        let started = Instant::now();
        let sent_before = self.requests_sent();
        let mut lanes = tokio::task::JoinSet::new();
        for _ in 0..self.config.concurrency.max(1) {
            let me = Arc::clone(self);
            lanes.spawn(async move {
                while started.elapsed() < deadline {
                    match me.tick().await {
                        Tick::Worked => {}
                        Tick::Idle(d) => {
                            if me.outstanding() == Some(0) {
                                return;
                            }
                            tokio::time::sleep(d.min(Duration::from_millis(200))).await
                        }
                    }
                }
            });
        }
        while lanes.join_next().await.is_some() {}
        let counts = {
            let mut slot = lock(&self.slot);
            let session = slot
                .background()
                .ok_or_else(|| Error::unauthorized("the session locked during the drain"))?;
            session.vault().job_counts()?
        };
        Ok(DrainReport {
            finished: counts.queued + counts.retrying == 0,
            counts: counts.into(),
            requests: self.requests_sent() - sent_before,
            elapsed_ms: started.elapsed().as_millis() as u64,
            sender: self.sender(),
        })
    }

    /// Jobs still queued or retrying (`None` when the session is locked).
    fn outstanding(&self) -> Option<i64> {
        let mut slot = lock(&self.slot);
        let session = slot.background()?;
        let c = session.vault().job_counts().ok()?;
        Some(c.queued + c.retrying)
    }

    fn client_for(&self, vault: &Vault) -> Result<Client> {
        let (config, rate) = platform_config(vault, self.config.request_timeout)?;
        self.limiter.set_rate(rate);
        let identity = format!(
            "{}|{}",
            config.base_url,
            vault::boarding::fingerprint(&config.secret_key)
        );
        let mut cached = self.client.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((id, client)) = cached.as_ref() {
            if *id == identity {
                return Ok(client.clone());
            }
        }
        let client = Client::new(config).map_err(|e| Error::internal(e.to_string()))?;
        *cached = Some((identity, client.clone()));
        Ok(client)
    }

    async fn tick(&self) -> Tick {
        if let Health::Down { retry_at, .. } = self.breaker.health() {
            let wait = (retry_at - OffsetDateTime::now_utc()).whole_milliseconds();
            if wait > 0 {
                return Tick::Idle(Duration::from_millis((wait as u64).min(500)));
            }
        }
        let prepared = match self.prepare() {
            Ok(Some(p)) => p,
            Ok(None) => {
                if self.sync_due() {
                    self.sync_some().await;
                }
                return Tick::Idle(self.config.poll);
            }
            Err(Some(wait)) => return Tick::Idle(wait),
            Err(None) => return Tick::Worked,
        };
        if !self.breaker.allow() {
            let mut slot = lock(&self.slot);
            if let Some(session) = slot.background() {
                let _ = session
                    .vault()
                    .write(|tx| tx.release_job(&prepared.job.id, lease_of(&prepared.job), 0));
            }
            return Tick::Idle(Duration::from_millis(100));
        }
        if prepared.request.is_write() {
            self.limiter.acquire().await;
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let result = prepared
            .client
            .send(&prepared.request, Some(&prepared.key))
            .await;
        match &result {
            Ok(_) => {
                self.breaker.on_success();
                self.rate_limited_in_a_row.store(0, Ordering::Relaxed);
            }
            Err(e) if e.is_outage() || matches!(e, CallError::Unauthorized { .. }) => {
                self.breaker.on_failure()
            }
            Err(CallError::Retry {
                rate_limited: true,
                retry_after,
                ..
            }) => {
                self.breaker.on_neutral();
                // One 429 delays that request; a run of them slows everyone (a real limit).
                if self.rate_limited_in_a_row.fetch_add(1, Ordering::Relaxed) >= 2 {
                    self.limiter
                        .pause_for(retry_after.unwrap_or(Duration::from_secs(1)));
                }
            }
            Err(_) => self.breaker.on_neutral(),
        }
        let mut slot = lock(&self.slot);
        // Locked meanwhile: the outcome is not recorded; the lease runs out and the same key
        // is sent again after the next unlock, which the platform answers from its record.
        let Some(session) = slot.background() else {
            return Tick::Idle(self.config.poll);
        };
        self.acting_for(session.username());
        if let Err(e) = self.record(session.vault(), &prepared, result) {
            tracing::warn!(code = %e.code(), job = %prepared.job.id, "recording a boarding attempt failed: {e}");
        }
        Tick::Worked
    }

    /// Takes a due job and builds its next request. `Err(Some(wait))`: nothing to do now;
    /// `Err(None)`: the job was settled without a request (e.g. it cannot be sent).
    fn prepare(&self) -> std::result::Result<Option<Prepared>, Option<Duration>> {
        let mut slot = lock(&self.slot);
        // Sending is for a role that may cause it: under an auditor's session nothing goes.
        let Some(session) = slot.background_as(Access::Write) else {
            // Locked, or an auditor's: another desk may send meanwhile.
            self.claim
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .give_up();
            return Err(Some(Duration::from_secs(1)));
        };
        self.acting_for(session.username());
        let vault = session.vault();
        // One worker sends for the vault (the team): the others stand by.
        if !self
            .claim
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .may_send(vault, session.username(), self.config.claim_every)
        {
            return Err(Some(self.config.poll.min(self.config.claim_every)));
        }
        let now = now_ms(OffsetDateTime::now_utc());
        let lease = now + self.config.lease.as_millis() as i64;
        let job = match vault.write(|tx| tx.lease_due_job(now, lease)) {
            Ok(Some(job)) => job,
            Ok(None) => return Ok(None),
            Err(e) => {
                tracing::warn!("boarding worker: {e}");
                return Err(Some(self.config.poll));
            }
        };
        match self.build(vault, &job, now) {
            Ok(p) => Ok(Some(p)),
            Err(Failure::Unsendable { field, reason }) => {
                let _ =
                    self.stop_for_fix(vault, &job, "unsendable", &reason, Some(&field), None, now);
                Err(None)
            }
            Err(Failure::Held(reason)) => {
                let _ = self.stop_for_fix(vault, &job, "sanctions_hold", &reason, None, None, now);
                Err(None)
            }
            Err(Failure::Erased) => {
                let _ = vault.write(|tx| tx.cancel_unsendable(&job.id, now));
                Err(None)
            }
            Err(Failure::Other(e)) => {
                tracing::warn!(code = %e.code(), job = %job.id, "boarding worker: {e}");
                let later = now + self.config.poll.as_millis() as i64 * 4;
                let _ = vault.write(|tx| tx.release_job(&job.id, lease_of(&job), later));
                Err(Some(self.config.poll))
            }
        }
    }

    fn build(&self, vault: &Vault, job: &Job, now: i64) -> std::result::Result<Prepared, Failure> {
        if job.kind != JobKind::Board {
            if job.step != JobStep::DeleteAccount
                && vault
                    .is_erased(&job.application_id)
                    .map_err(Error::from)
                    .map_err(Failure::Other)?
            {
                return Err(Failure::Erased);
            }
            let request = stored_request(vault, job).map_err(Failure::Other)?;
            return self.prepared(vault, job, request, 0, now);
        }
        // The hard stop at the last moment: a hit raised (or confirmed) after the approval
        // holds the boarding before anything more is sent.
        match vault.sanctions_clear(&job.application_id) {
            Ok(()) => {}
            Err(
                e @ (vault::VaultError::SanctionsHitsOpen(_) | vault::VaultError::SanctionsMatch),
            ) => return Err(Failure::Held(e.to_string())),
            Err(e) => return Err(Failure::Other(e.into())),
        }
        let stored = vault
            .application(&job.application_id)
            .map_err(|e| Failure::Other(e.into()))?;
        let form = stored.form;
        if stored.summary.status == ApplicationStatus::Approved
            || stored.summary.status == ApplicationStatus::BoardingFailed
        {
            vault
                .write(|tx| {
                    tx.transition_application(
                        &job.application_id,
                        stored.summary.version,
                        ApplicationStatus::Boarding,
                        WORKER_ACTOR,
                        Some("sending to the platform"),
                        now,
                    )
                })
                .map_err(|e| Failure::Other(e.into()))?;
        }
        let app = Application::of(&form);
        let persons_total = requests::persons_to_create(&app);
        let account = job.account_id.clone().unwrap_or_default();
        let request = match &job.step {
            JobStep::Account => requests::create_account(&app, &job.application_id)?,
            JobStep::Person(index) => {
                requests::create_person(&app, *index, &account, &job.application_id)?
            }
            JobStep::Provided => requests::mark_provided(&app, &account),
            _ => {
                return Err(Failure::Other(Error::internal(
                    "a job step this version cannot send",
                )))
            }
        };
        self.prepared(vault, job, request, persons_total, now)
    }

    /// The request with its idempotency key (stored before the first attempt) and the client.
    fn prepared(
        &self,
        vault: &Vault,
        job: &Job,
        request: requests::Request,
        persons_total: usize,
        now: i64,
    ) -> std::result::Result<Prepared, Failure> {
        let fingerprint = vault::boarding::fingerprint(&format!(
            "{} {} {}",
            request.method.as_str(),
            request.path,
            request.params.encode()
        ));
        let key = vault
            .write(|tx| {
                tx.request_key(
                    &job.id,
                    &job.step,
                    &fingerprint,
                    &format!("bd-{}", new_id()),
                    now,
                )
            })
            .map_err(|e| match e {
                vault::VaultError::Conflict(m) => Failure::Unsendable {
                    field: String::new(),
                    reason: m.to_string(),
                },
                e => Failure::Other(e.into()),
            })?;
        let client = self.client_for(vault).map_err(Failure::Other)?;
        Ok(Prepared {
            job: job.clone(),
            request,
            key,
            client,
            persons_total,
        })
    }

    fn sync_due(&self) -> bool {
        let mut last = self
            .last_sync
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if last.is_some_and(|t| t.elapsed() < self.config.sync_every) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    /// Refreshes a few merchants whose requirements are open.
    async fn sync_some(&self) {
        let batch = {
            let mut slot = lock(&self.slot);
            let Some(session) = slot.background() else {
                return;
            };
            let vault = session.vault();
            let before =
                now_ms(OffsetDateTime::now_utc()) - self.config.sync_every.as_millis() as i64;
            match (vault.merchants_to_sync(before, 10), self.client_for(vault)) {
                (Ok(m), Ok(c)) => (m, c),
                _ => return,
            }
        };
        let (merchants, client) = batch;
        for m in merchants {
            if !self.breaker.allow() {
                return;
            }
            let result = client
                .send(&requests::retrieve_account(&m.account_id), None)
                .await;
            match &result {
                Ok(_) => self.breaker.on_success(),
                Err(e) if e.is_outage() => self.breaker.on_failure(),
                Err(_) => self.breaker.on_neutral(),
            }
            if let Ok(json) = result {
                if let Some(state) = AccountState::from_json(&json) {
                    let mut slot = lock(&self.slot);
                    let Some(session) = slot.background() else {
                        return;
                    };
                    let now = now_ms(OffsetDateTime::now_utc());
                    let _ = session.vault().write(|tx| {
                        store_account_state(
                            tx,
                            &m.application_id,
                            &m.account_id,
                            &state,
                            &m.persons,
                            now,
                        )
                    });
                }
            }
        }
    }
}

/// Gives the sender's role up when dropped (the end of a drain, finished or cancelled).
struct GiveUp<'a>(&'a Worker);

impl Drop for GiveUp<'_> {
    fn drop(&mut self) {
        self.0
            .claim
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .give_up();
    }
}

enum Failure {
    Unsendable {
        field: String,
        reason: String,
    },
    /// The sanctions hard stop: the application has an open or confirmed hit.
    Held(String),
    /// The record was erased: the job's parameters can never be opened again.
    Erased,
    Other(Error),
}

impl From<requests::Unsendable> for Failure {
    fn from(u: requests::Unsendable) -> Self {
        Failure::Unsendable {
            field: u.field,
            reason: u.reason,
        }
    }
}

/// The token of the lease this worker took the job under (a job leased by `lease_due_job`
/// always has one; an empty token matches no lease).
fn lease_of(job: &Job) -> &str {
    job.lease_token.as_deref().unwrap_or_default()
}

/// An update or reject job's request, rebuilt from its sealed parameters.
fn stored_request(vault: &Vault, job: &Job) -> Result<requests::Request> {
    let account = job
        .account_id
        .as_deref()
        .ok_or_else(|| Error::internal("an update job without an account"))?;
    // An erasure's deletion: no parameters, no record key (it is destroyed).
    if job.step == JobStep::DeleteAccount {
        return Ok(requests::delete_account(account));
    }
    let sealed = vault
        .job_payload(&job.id)?
        .ok_or_else(|| Error::internal("an update job without parameters"))?;
    let key = vault
        .existing_record_key(&job.application_id)?
        .ok_or_else(|| Error::new(Code::Conflict, "the merchant's record was erased"))?;
    let params = key.open("job_payload", &sealed)?;
    requests::stored(
        job.kind.as_str(),
        &job.step.to_string(),
        account,
        &String::from_utf8_lossy(&params),
    )
    .ok_or_else(|| Error::internal("a job kind this version cannot send"))
}

fn store_account_state(
    vault: &vault::Tx<'_>,
    application_id: &str,
    account_id: &str,
    state: &AccountState,
    persons: &[(String, usize)],
    now: i64,
) -> vault::Result<()> {
    let r = &state.requirements;
    let open =
        (r.currently_due.len() + r.past_due.len() + r.errors.len() + r.pending_verification.len())
            as i64;
    vault.upsert_merchant(
        application_id,
        account_id,
        state.charges_enabled,
        state.payouts_enabled,
        &serde_json::to_value(r).unwrap_or_default(),
        &serde_json::to_value(&state.capabilities).unwrap_or_default(),
        persons,
        open,
        now,
    )
}

/// Use case (admin, underwriter): pull a merchant's status from the platform now.
pub async fn sync_merchant(
    slot: &Mutex<SessionSlot>,
    application_id: &str,
) -> Result<MerchantView> {
    let (merchant, config) = {
        let mut s = lock(slot);
        let session = s.require(Access::Write, "merchants.sync")?;
        let m = boarded(session.vault(), application_id)?;
        (
            m,
            platform_config(session.vault(), Duration::from_secs(20))?.0,
        )
    };
    let client = Client::new(config).map_err(|e| Error::internal(e.to_string()))?;
    let json = client
        .send(&requests::retrieve_account(&merchant.account_id), None)
        .await
        .map_err(|e| {
            Error::new(
                Code::Unavailable,
                format!("the platform could not be asked: {e}"),
            )
        })?;
    let state = AccountState::from_json(&json).ok_or_else(|| {
        Error::new(
            Code::Unavailable,
            "the platform's answer was not an account",
        )
    })?;
    let mut s = lock(slot);
    let session = s.require(Access::Write, "merchants.sync")?;
    let now = now_ms(OffsetDateTime::now_utc());
    session.write(|w| {
        store_account_state(
            w,
            application_id,
            &merchant.account_id,
            &state,
            &merchant.persons,
            now,
        )?;
        w.audit("merchants.sync", Some(application_id), Outcome::Ok, None)
    })?;
    let m = session
        .vault()
        .merchant(application_id)?
        .ok_or_else(|| Error::internal("the merchant vanished"))?;
    Ok(merchant_view(m))
}
