//! Boarding approved merchants onto the payment platform through the durable outbox.
//!
//! Approving an application queues its boarding job in the same vault transaction
//! ([`crate::review::decide`]). The [`Worker`] sends each job's requests in order — account,
//! each person, then "everyone provided" — with the idempotency key stored for that request
//! before its first attempt, paced by a client-side rate limiter and guarded by a circuit
//! breaker. Network errors, 5xx and 429 are retried with backoff and jitter (honouring
//! `Retry-After`); a refusal (4xx) stops the job in `needs_fix` with the platform's `param`
//! mapped to our field. Every outcome is written in one transaction, so a crash at any point
//! resumes from the step reached, and the stored key makes the platform answer a repeated
//! request with the first answer instead of acting twice.
//!
//! The worker borrows the signed-in session without counting as activity: when the session
//! locks, boarding pauses, and it resumes at the next unlock.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use domain::intake::{ApplicationForm, ApplicationStatus, Completeness};
use platform::client::CallError;
use platform::resilience::{backoff, CircuitBreaker, Health, RateLimiter};
use platform::{fields, requests, AccountState, Client, ClientConfig, Request};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use vault::audit::Outcome;
use vault::boarding::{Job, JobCounts, JobError, JobKind, JobState, JobStep};
use vault::{Setting, Vault};
use zeroize::Zeroizing;

use crate::clock::{new_id, now_ms};
use crate::merchants::{boarded, merchant_view, MerchantView};
use crate::session::{Access, SessionSlot, Unit};
use crate::{Code, Error, Result};

/// Who the audit log and the history name for what the worker does.
pub const WORKER_ACTOR: &str = "system:boarding";

const SETTINGS_RECORD: &str = "settings:platform";

fn lock(slot: &Mutex<SessionSlot>) -> MutexGuard<'_, SessionSlot> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

fn setting(vault: &Vault, key: Setting) -> Option<String> {
    crate::settings::read(vault, key)
}

/// The platform connection as the Settings page shows it (the key masked).
#[derive(Debug, Clone, Serialize)]
pub struct PlatformSettings {
    pub url: String,
    /// `sk_test_…1234`: the prefix and the last four characters.
    pub key_hint: String,
    pub rate_per_second: f64,
    /// True while the app still points at the local sandbox defaults.
    pub is_sandbox: bool,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetPlatformInput {
    pub url: String,
    /// A new secret key; `None` keeps the stored one.
    #[serde(default)]
    pub secret_key: Option<String>,
    pub rate_per_second: f64,
}

fn stored_key(vault: &Vault) -> Result<Zeroizing<String>> {
    let Some(hex) = setting(vault, Setting::PlatformKey) else {
        return Ok(Zeroizing::new(platform::SANDBOX_KEY.to_string()));
    };
    let sealed = data_encoding::HEXLOWER
        .decode(hex.as_bytes())
        .map_err(|_| Error::internal("the stored platform key is damaged"))?;
    let key = vault
        .existing_record_key(SETTINGS_RECORD)?
        .ok_or_else(|| Error::internal("the stored platform key is damaged"))?;
    let plain = key.open("platform_key", &sealed)?;
    let text = String::from_utf8(plain.to_vec())
        .map_err(|_| Error::internal("the stored platform key is damaged"))?;
    Ok(Zeroizing::new(text))
}

fn key_hint(key: &str) -> String {
    let prefix: String = key.chars().take_while(|c| *c != '_').collect();
    let mode = key.split('_').nth(1).unwrap_or("");
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{prefix}_{mode}_…{tail}")
}

/// The connection in force: the admin's, else the local sandbox.
pub fn platform_config(vault: &Vault, timeout: Duration) -> Result<(ClientConfig, f64)> {
    let url = setting(vault, Setting::PlatformUrl).unwrap_or_else(|| platform::SANDBOX_URL.into());
    let rate = setting(vault, Setting::PlatformRate)
        .and_then(|r| r.parse::<f64>().ok())
        .filter(|r| (1.0..=100.0).contains(r))
        .unwrap_or(25.0);
    Ok((
        ClientConfig {
            base_url: url,
            secret_key: stored_key(vault)?,
            timeout,
        },
        rate,
    ))
}

/// Use case: the platform connection (any signed-in role; the key is masked).
pub fn platform_settings(slot: &mut SessionSlot) -> Result<PlatformSettings> {
    let session = slot.require(Access::SignedIn, "settings.platform.view")?;
    let (config, rate) = platform_config(session.vault(), Duration::from_secs(20))?;
    Ok(PlatformSettings {
        is_sandbox: config.base_url == platform::SANDBOX_URL
            && config.secret_key.as_str() == platform::SANDBOX_KEY,
        key_hint: key_hint(&config.secret_key),
        url: config.base_url,
        rate_per_second: rate,
    })
}

/// Use case (admin): point the app at a platform. Plain HTTP only for this machine (the
/// sandbox); the secret key is sealed in the vault and never shown again.
pub fn set_platform(slot: &mut SessionSlot, input: SetPlatformInput) -> Result<PlatformSettings> {
    // The session and role first, before any of the input is looked at.
    slot.require(Access::Admin, "settings.platform")?;
    let url = platform::parse_base_url(&input.url)
        .map_err(|p| Error::invalid_input("url", &p.to_string()))?;
    if !(1.0..=100.0).contains(&input.rate_per_second) {
        return Err(Error::invalid_input(
            "rate_per_second",
            "must be between 1 and 100 writes per second (Stripe: 100 live, 25 test mode)",
        ));
    }
    if let Some(key) = &input.secret_key {
        let k = key.trim();
        if platform::is_live_key(k) && !url.starts_with("https://") {
            return Err(Error::invalid_input(
                "url",
                &platform::UrlProblem::LiveKeyNeedsHttps.to_string(),
            ));
        }
        let shape = (k.starts_with("sk_") || k.starts_with("rk_"))
            && (12..=256).contains(&k.len())
            && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !shape {
            return Err(Error::invalid_input(
                "secret_key",
                "must be a secret or restricted key (sk_… or rk_…)",
            ));
        }
    }
    let session = slot.require(Access::Admin, "settings.platform")?;
    let vault = session.vault();
    let old_url =
        setting(vault, Setting::PlatformUrl).unwrap_or_else(|| platform::SANDBOX_URL.into());
    let old_rate = platform_config(vault, Duration::from_secs(1))?.1;
    let detail = format!(
        "url {old_url} -> {url}; rate {old_rate} -> {}{}",
        input.rate_per_second,
        if input.secret_key.is_some() {
            "; secret key replaced"
        } else {
            ""
        }
    );
    session.write(|w| {
        w.set_setting(Setting::PlatformUrl, &url)?;
        w.set_setting(Setting::PlatformRate, &input.rate_per_second.to_string())?;
        if let Some(key) = &input.secret_key {
            let sealed = w
                .record_key(SETTINGS_RECORD)?
                .seal("platform_key", key.trim().as_bytes());
            w.set_setting(
                Setting::PlatformKey,
                &data_encoding::HEXLOWER.encode(&sealed),
            )?;
        }
        w.audit(
            "settings.change",
            Some("platform"),
            Outcome::Ok,
            Some(&detail),
        )
    })?;
    platform_settings(slot)
}

debug_redacting!(SetPlatformInput { url, rate_per_second } secret { secret_key });

/// What "test connection" found.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionTest {
    pub ok: bool,
    pub url: String,
    pub latency_ms: u64,
    pub message: String,
}

/// Use case (admin): one authenticated read against the platform.
pub async fn test_connection(slot: &Mutex<SessionSlot>) -> Result<ConnectionTest> {
    let config = {
        let mut slot = lock(slot);
        let session = slot.require(Access::Admin, "platform.test")?;
        platform_config(session.vault(), Duration::from_secs(10))?.0
    };
    let url = config.base_url.clone();
    let client = Client::new(config).map_err(|e| Error::internal(e.to_string()))?;
    let started = Instant::now();
    let outcome = client.send(&requests::ping(), None).await;
    let latency_ms = started.elapsed().as_millis() as u64;
    let (ok, message) = match outcome {
        Ok(_) => (true, "connected: the platform accepted the key".to_string()),
        Err(CallError::Unauthorized { .. }) => {
            (false, "the platform refused the secret key".into())
        }
        Err(CallError::Network { detail, .. }) => {
            (false, format!("cannot reach the platform: {detail}"))
        }
        Err(CallError::Retry { status, .. }) => {
            (false, format!("the platform is failing (HTTP {status})"))
        }
        Err(CallError::Rejected { status, .. }) => (
            false,
            format!("the platform refused the test request (HTTP {status})"),
        ),
    };
    let mut slot = lock(slot);
    if let Ok(session) = slot.require(Access::Admin, "platform.test") {
        let detail = if ok { "ok" } else { "failed" };
        session.audit("platform.test", Some(&url), Outcome::Ok, Some(detail))?;
    }
    Ok(ConnectionTest {
        ok,
        url,
        latency_ms,
        message,
    })
}

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
    /// How long a taken job is reserved for this worker.
    pub lease: Duration,
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
            lease: Duration::from_secs(60),
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
    pub counts: JobCounts,
    pub requests: u64,
    pub elapsed_ms: u64,
    /// False when the deadline came first (jobs still waiting to retry).
    pub finished: bool,
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
        })
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
            counts,
            requests: self.requests_sent() - sent_before,
            elapsed_ms: started.elapsed().as_millis() as u64,
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
            return Err(Some(Duration::from_secs(1)));
        };
        self.acting_for(session.username());
        let vault = session.vault();
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
        let persons_total = requests::persons_to_create(&form);
        let account = job.account_id.clone().unwrap_or_default();
        let request = match &job.step {
            JobStep::Account => requests::create_account(&form, &job.application_id)?,
            JobStep::Person(index) => {
                requests::create_person(&form, *index, &account, &job.application_id)?
            }
            JobStep::Provided => requests::mark_provided(&form, &account),
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

    fn record(
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
                    let sealed = tx
                        .record_key(&job.application_id)?
                        .seal("boarding_error", text.as_bytes());
                    tx.retry_job_later(
                        &job.id,
                        lease_of(job),
                        &JobError {
                            kind,
                            message: &sealed,
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
    fn stop_for_fix(
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
            let sealed = w
                .record_key(&job.application_id)?
                .seal("boarding_error", message.as_bytes());
            w.job_needs_fix(
                &job.id,
                Some(lease_of(job)),
                &JobError {
                    kind,
                    message: &sealed,
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

enum Failure {
    Unsendable {
        field: String,
        reason: String,
    },
    /// The sanctions hard stop: the application has an open or confirmed hit.
    Held(String),
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
    vault: &Vault,
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

/// What the status bar shows about the platform.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformStatus {
    /// The running worker's view; `None` when no worker runs (the CLI).
    pub health: Option<Health>,
    /// Jobs waiting to be sent (queued or retrying).
    pub waiting: i64,
    /// Jobs stopped on a platform refusal.
    pub needs_fix: i64,
}

/// Use case: the status bar's platform line (any signed-in role). It polls, so it does not
/// count as activity.
pub fn platform_status(slot: &mut SessionSlot, health: Option<Health>) -> Result<PlatformStatus> {
    let session = slot.require_quietly(Access::SignedIn, "boarding.view")?;
    let counts = session.vault().job_counts()?;
    Ok(PlatformStatus {
        health,
        waiting: counts.queued + counts.retrying,
        needs_fix: counts.needs_fix,
    })
}

/// One job as the Boarding page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    #[serde(flatten)]
    pub job: Job,
    /// The platform's (or our pre-check's) message; it may quote what was sent.
    pub error_message: Option<String>,
}

/// The Boarding page.
#[derive(Debug, Clone, Serialize)]
pub struct BoardingOverview {
    pub counts: JobCounts,
    pub jobs: Vec<JobView>,
    pub health: Option<Health>,
    pub platform_url: String,
}

/// Use case: the outbox (any signed-in role). `health` is the running worker's, if any.
/// The Boarding page refreshes itself with this, so it does not count as activity.
pub fn overview(
    slot: &mut SessionSlot,
    state: Option<&str>,
    health: Option<Health>,
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
    let session = slot.require_quietly(Access::SignedIn, "boarding.view")?;
    let vault = session.vault();
    let jobs = vault
        .jobs(filter, 200)?
        .into_iter()
        .map(|job| open_job(vault, job))
        .collect::<Result<Vec<_>>>()?;
    Ok(BoardingOverview {
        counts: vault.job_counts()?,
        jobs,
        health,
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
    Ok(JobView { job, error_message })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_hints_show_mode_and_last_four_only() {
        assert_eq!(key_hint("sk_test_51Habcdefghijkl1234"), "sk_test_…1234");
        assert_eq!(key_hint("sk_live_xyz9876"), "sk_live_…9876");
    }

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
