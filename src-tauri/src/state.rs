use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use api::{DataDir, Policy, SessionSlot};

/// Handles acquired once at start-up and passed to commands through Tauri state.
pub struct AppState {
    data_dir: Result<DataDir, api::Error>,
    session: Arc<Mutex<SessionSlot>>,
    policy: Policy,
    worker: Arc<api::boarding::Worker>,
    rescreener: Arc<api::screening::Rescreener>,
    rewrapper: Arc<api::rewrap::Rewrapper>,
    integrity: Arc<api::integrity::IntegrityChecker>,
    live: Arc<api::live::Live>,
}

impl AppState {
    pub fn new(data_dir: Result<DataDir, api::Error>, policy: Policy) -> Self {
        let session: Arc<Mutex<SessionSlot>> = Arc::default();
        let worker = api::boarding::Worker::new(Arc::clone(&session), Default::default());
        let rescreener = api::screening::Rescreener::new(Arc::clone(&session), 200);
        let rewrapper =
            api::rewrap::Rewrapper::new(Arc::clone(&session), api::rewrap::REWRAP_BATCH);
        let integrity = api::integrity::IntegrityChecker::new(Arc::clone(&session));
        let live = Arc::new(api::live::Live::new(Arc::clone(&session)));
        Self {
            data_dir,
            session,
            policy,
            worker,
            rescreener,
            rewrapper,
            integrity,
            live,
        }
    }

    /// Tells the window what another desk, or this desk's own background work, changed
    /// (`desk-changed`: topic names only), so its pages show it again without a reload.
    pub fn spawn_live(&self, app: tauri::AppHandle) {
        use tauri::Emitter;
        let live = Arc::clone(&self.live);
        std::thread::spawn(move || {
            live.run_blocking(|changes| {
                if let Err(e) = app.emit(api::live::EVENT, changes) {
                    tracing::warn!("telling the window what changed: {e}");
                }
            })
        });
    }

    /// The background re-screen (its progress shows on the Sanctions lists panel).
    pub fn rescreener(&self) -> &Arc<api::screening::Rescreener> {
        &self.rescreener
    }

    /// Starts the background re-screen on its own thread (SQLCipher work, not async).
    pub fn spawn_rescreener(&self) {
        let rescreener = Arc::clone(&self.rescreener);
        std::thread::spawn(move || rescreener.run_blocking(Duration::from_secs(2)));
    }

    /// The background re-wrap after a key rotation (its progress shows on the Users panel).
    pub fn rewrapper(&self) -> &Arc<api::rewrap::Rewrapper> {
        &self.rewrapper
    }

    /// Starts the background re-wrap on its own thread.
    pub fn spawn_rewrapper(&self) {
        let rewrapper = Arc::clone(&self.rewrapper);
        std::thread::spawn(move || rewrapper.run_blocking(Duration::from_secs(1)));
    }

    /// The deferred page-by-page check of the vault file (sign-in skips it to stay fast).
    pub fn integrity(&self) -> &Arc<api::integrity::IntegrityChecker> {
        &self.integrity
    }

    /// Starts the integrity check's thread: it checks each new session's file once.
    pub fn spawn_integrity_checker(&self) {
        let integrity = Arc::clone(&self.integrity);
        std::thread::spawn(move || integrity.run_blocking(Duration::from_millis(500)));
    }

    /// Starts the scheduled retention purge: once a minute it asks whether a daily run is due
    /// (the vault open, the schedule on, the last run a day ago) and runs it.
    pub fn spawn_retention_schedule(&self) {
        let session = Arc::clone(&self.session);
        let dir = self.data_dir.as_ref().ok().cloned();
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_secs(60));
            let mut slot = session.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(dir) = &dir {
                match api::exports::expire_exports(&mut slot, dir, std::time::SystemTime::now()) {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "expired exports"),
                    Err(e) => tracing::warn!(code = %e.code(), "expiring exports: {e}"),
                }
            }
            match api::gdpr::scheduled_retention(&mut slot, time::OffsetDateTime::now_utc()) {
                Ok(Some(report)) => tracing::info!(
                    due = report.due.len(),
                    erased = report.erased,
                    "scheduled retention purge"
                ),
                Ok(None) => {}
                Err(e) => tracing::warn!(code = %e.code(), "scheduled retention purge: {e}"),
            }
        });
    }

    /// The boarding worker (its platform health shows in the status bar).
    pub fn worker(&self) -> &Arc<api::boarding::Worker> {
        &self.worker
    }

    /// The session, for use cases that wait on the network between vault steps.
    pub fn session(&self) -> Arc<Mutex<SessionSlot>> {
        Arc::clone(&self.session)
    }

    /// The data folder, or the error that made it unusable at start-up.
    pub fn data_dir(&self) -> Result<&DataDir, api::Error> {
        self.data_dir.as_ref().map_err(Clone::clone)
    }

    /// Runs a use case on a blocking thread (argon2 and SQLCipher must not stall the async
    /// runtime) with the data folder, the session and the policy.
    pub async fn run<T, F>(&self, f: F) -> Result<T, api::Error>
    where
        T: Send + 'static,
        F: FnOnce(&DataDir, &mut SessionSlot, Policy) -> api::Result<T> + Send + 'static,
    {
        let dir = self.data_dir()?.clone();
        let session = Arc::clone(&self.session);
        let policy = self.policy;
        tauri::async_runtime::spawn_blocking(move || {
            let mut slot = session.lock().unwrap_or_else(PoisonError::into_inner);
            f(&dir, &mut slot, policy)
        })
        .await
        .map_err(|_| api::Error::internal("a background task failed"))?
    }

    /// [`Self::run`] for a read; `quiet` when the page asks because of a change it was told
    /// of, not because the user did something: then it does not count as activity.
    pub async fn read<T, F>(&self, quiet: Option<bool>, f: F) -> Result<T, api::Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut SessionSlot) -> api::Result<T> + Send + 'static,
    {
        if quiet == Some(true) {
            self.run(move |_, slot, _| slot.quietly(f)).await
        } else {
            self.run(move |_, slot, _| f(slot)).await
        }
    }

    /// Locks at once (app exit): the vault closes and its keys are zeroized.
    pub fn lock_now(&self) {
        let mut slot = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(e) = slot.lock() {
            tracing::warn!(code = %e.code(), "locking at exit: {e}");
        }
    }

    /// Locks the session the moment the machine sleeps or the screen locks (Linux).
    #[cfg(target_os = "linux")]
    pub fn spawn_sleep_lock(&self) {
        let session = Arc::clone(&self.session);
        api::sleep_lock::spawn(move |reason| {
            let mut slot = session.lock().unwrap_or_else(PoisonError::into_inner);
            if let Err(e) = slot.lock_because(reason) {
                tracing::warn!(code = %e.code(), "locking on {reason}: {e}");
            }
        });
    }

    /// Locks the session once it has been idle too long (suspend included), or ends it once
    /// its user is disabled, even if the window sends nothing.
    pub fn spawn_idle_watchdog(&self) {
        let session = Arc::clone(&self.session);
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_secs(10));
            let mut slot = session.lock().unwrap_or_else(PoisonError::into_inner);
            let _ = slot.info();
        });
    }
}
