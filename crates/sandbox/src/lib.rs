//! `desk-sandbox`: a stateful stand-in for a Stripe-Connect-compatible platform.
//!
//! It speaks the subset Boarding Desk uses (`/v1/accounts`, `/v1/accounts/{id}` — its
//! deletion too —, `/v1/accounts/{id}/persons`, `/v1/accounts/{id}/reject`) with Stripe's error shape,
//! Bearer-key authentication, idempotency semantics (same key + same parameters → the stored
//! answer, marked `Idempotent-Replayed: true`; same key + different parameters →
//! `idempotency_error`), a write rate limit (429), Stripe's test values
//! (DOB 1901-01-01 verifies at once, 1900-01-01 fails; tax id 111111111 fails; bank account
//! 000111111116 fails with `no_account`) and requirements that move from pending to verified
//! after `verify_after`.
//!
//! Faults are injected through [`Faults`] — on the command line or at run time through the
//! admin API on its own port (`GET/POST /__sandbox/faults`, `GET /__sandbox/stats`):
//! the platform down (503, or the API port refusing connections), 500s and 429s at a rate,
//! added latency, requests that are processed and then never answered (time-outs) or whose
//! connection is dropped after processing ("accept then drop the response").
//!
//! State lives in memory: a restarted sandbox is a fresh platform.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use platform::Params;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

mod params;
mod render;
mod routes;

use params::*;
use render::*;
use routes::*;

/// How the platform misbehaves. Rates are probabilities per API request (0.0–1.0).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// `unavailable`: every API call answers 503. `refused`: the API port stops listening.
    pub down: Option<Down>,
    /// 500 `api_error` before the request is processed.
    pub error_rate: f64,
    /// 429 `rate_limit` with `Retry-After: retry_after_secs`, before processing.
    pub rate_429: f64,
    pub retry_after_secs: f64,
    /// Added to every API answer.
    pub latency_ms: u64,
    /// Processed, then no answer for `hang_ms` (the client times out).
    pub timeout_rate: f64,
    pub hang_ms: u64,
    /// Processed, then the connection is dropped before the answer.
    pub drop_rate: f64,
    /// Processed, then dropped, on the first use of every idempotency key.
    pub drop_first_attempt: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Down {
    Unavailable,
    Refused,
}

/// Fixed at start.
#[derive(Debug, Clone)]
pub struct Options {
    pub secret_key: String,
    /// Writes per second before 429 (0 = unlimited). Stripe: 100 live, 25 test mode.
    pub rate_limit: u32,
    /// How long verification stays pending after an account or person changes.
    pub verify_after: Duration,
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            secret_key: platform::SANDBOX_KEY.into(),
            rate_limit: 25,
            verify_after: Duration::from_secs(5),
            seed: 1,
        }
    }
}

/// What the sandbox saw, for tests and benchmarks (`GET /__sandbox/stats`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Stats {
    pub requests: u64,
    pub writes: u64,
    pub accounts: u64,
    pub persons: u64,
    /// Accounts created per `metadata[application_id]`: more than 1 is a duplicate boarding.
    pub accounts_per_application: BTreeMap<String, u32>,
    pub idempotent_replays: u64,
    pub idempotency_conflicts: u64,
    /// 429s because the client exceeded the rate limit (not injected ones).
    pub rate_limited: u64,
    pub injected_500: u64,
    pub injected_429: u64,
    pub injected_503: u64,
    pub dropped: u64,
    pub timed_out: u64,
    /// The most writes seen within any one second.
    pub max_writes_per_second: u32,
    pub rejections: u64,
    /// Accounts deleted (`DELETE /v1/accounts/{id}`, after a merchant's erasure).
    #[serde(default)]
    pub deleted_accounts: u64,
}

impl Stats {
    /// Application ids with more than one account.
    pub fn duplicates(&self) -> Vec<(&str, u32)> {
        self.accounts_per_application
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(k, n)| (k.as_str(), *n))
            .collect()
    }
}

struct Account {
    id: String,
    created: i64,
    changed_at: Instant,
    params: BTreeMap<String, String>,
    persons: Vec<Person>,
}

struct Person {
    id: String,
    created: i64,
    changed_at: Instant,
    params: BTreeMap<String, String>,
}

/// A stored idempotent answer. Requests are processed under one lock, so a second request with
/// the same key always finds the first one finished.
struct Idem {
    fingerprint: String,
    status: u16,
    body: Value,
}

struct Inner {
    faults: Faults,
    accounts: HashMap<String, Account>,
    order: Vec<String>,
    idempotency: HashMap<String, Idem>,
    stats: Stats,
    write_times: VecDeque<Instant>,
    bucket: (f64, Instant),
    rng: StdRng,
}

/// The sandbox's state, shared by its API and admin servers (and kept across API restarts).
#[derive(Clone)]
pub struct Sandbox {
    options: Arc<Options>,
    inner: Arc<Mutex<Inner>>,
    api: Arc<Mutex<Option<ApiServer>>>,
}

struct ApiServer {
    stop: oneshot::Sender<()>,
    done: tokio::task::JoinHandle<()>,
}

impl Sandbox {
    pub fn new(options: Options, faults: Faults) -> Self {
        let rng = StdRng::seed_from_u64(options.seed);
        let bucket = (f64::from(options.rate_limit), Instant::now());
        Self {
            options: Arc::new(options),
            inner: Arc::new(Mutex::new(Inner {
                faults,
                accounts: HashMap::new(),
                order: Vec::new(),
                idempotency: HashMap::new(),
                stats: Stats::default(),
                write_times: VecDeque::new(),
                bucket,
                rng,
            })),
            api: Arc::new(Mutex::new(None)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn stats(&self) -> Stats {
        self.lock().stats.clone()
    }

    pub fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    /// Replaces the faults; `down: refused` stops the API listener, clearing it restarts it on
    /// the same address.
    pub async fn set_faults(&self, faults: Faults, api_addr: SocketAddr) -> std::io::Result<()> {
        let refused = faults.down == Some(Down::Refused);
        self.lock().faults = faults;
        if refused {
            self.stop_api().await;
        } else if !self.api_running() {
            self.start_api(api_addr).await?;
        }
        Ok(())
    }

    fn api_running(&self) -> bool {
        self.api
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Starts the Stripe-compatible API on `addr` (port 0 = any free port).
    pub async fn start_api(&self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let app = Router::new().fallback(api).with_state(self.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        *self.api.lock().unwrap_or_else(PoisonError::into_inner) = Some(ApiServer { stop, done });
        Ok(local)
    }

    /// Stops the API: the port refuses connections and open connections are closed.
    pub async fn stop_api(&self) {
        let server = self
            .api
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(server) = server {
            let _ = server.stop.send(());
            // Connections in the middle of a hang are not waited for.
            let _ = tokio::time::timeout(Duration::from_secs(2), server.done).await;
        }
    }

    /// The admin API (`/__sandbox/faults`, `/__sandbox/stats`) on its own address.
    pub async fn start_admin(
        &self,
        addr: SocketAddr,
        api_addr: SocketAddr,
    ) -> std::io::Result<SocketAddr> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let app = Router::new()
            .route("/__sandbox/stats", get(admin_stats))
            .route(
                "/__sandbox/faults",
                get(admin_faults).post(admin_set_faults),
            )
            .with_state((self.clone(), api_addr));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(local)
    }
}

async fn admin_stats(State((s, _)): State<(Sandbox, SocketAddr)>) -> Json<Stats> {
    Json(s.stats())
}

async fn admin_faults(State((s, _)): State<(Sandbox, SocketAddr)>) -> Json<Faults> {
    Json(s.faults())
}

async fn admin_set_faults(
    State((s, api_addr)): State<(Sandbox, SocketAddr)>,
    Json(faults): Json<Faults>,
) -> Response {
    match s.set_faults(faults, api_addr).await {
        Ok(()) => Json(s.faults()).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// What happens after a request was processed.
enum After {
    Answer,
    Drop,
    Hang(Duration),
}

async fn api(
    State(s): State<Sandbox>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (latency, pre) = {
        let mut inner = s.lock();
        inner.stats.requests += 1;
        let f = inner.faults.clone();
        let pre = if f.down == Some(Down::Unavailable) {
            inner.stats.injected_503 += 1;
            Some(error(
                503,
                "api_error",
                None,
                None,
                "The platform is temporarily unavailable.",
            ))
        } else if inner.rng.gen_bool(f.error_rate.clamp(0.0, 1.0)) {
            inner.stats.injected_500 += 1;
            Some(error(
                500,
                "api_error",
                None,
                None,
                "An unexpected error occurred.",
            ))
        } else if inner.rng.gen_bool(f.rate_429.clamp(0.0, 1.0)) {
            inner.stats.injected_429 += 1;
            Some(too_many(f.retry_after_secs))
        } else {
            None
        };
        (Duration::from_millis(f.latency_ms), pre)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(response) = pre {
        return response;
    }
    let (response, after) = s.handle(&method, &uri, &headers, &body);
    match after {
        After::Answer => response,
        After::Drop => dropped_response(),
        After::Hang(d) => {
            tokio::time::sleep(d).await;
            dropped_response()
        }
    }
}

/// A 200 whose body fails: the connection is cut before the client reads an answer.
fn dropped_response() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("dropped by the sandbox"))
    });
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn too_many(retry_after: f64) -> Response {
    let mut r = error(
        429,
        "invalid_request_error",
        Some("rate_limit"),
        None,
        "Too many requests hit the API too quickly.",
    );
    let secs = if retry_after > 0.0 { retry_after } else { 1.0 };
    if let Ok(v) = format!("{secs}").parse() {
        r.headers_mut().insert("retry-after", v);
    }
    r
}

fn error(
    status: u16,
    kind: &str,
    code: Option<&str>,
    param: Option<&str>,
    message: &str,
) -> Response {
    let mut err = Map::new();
    err.insert("type".into(), json!(kind));
    err.insert("message".into(), json!(message));
    if let Some(c) = code {
        err.insert("code".into(), json!(c));
    }
    if let Some(p) = param {
        err.insert("param".into(), json!(p));
    }
    json_response(status, json!({ "error": err }))
}

fn json_response(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = (status, Json(body)).into_response();
    r.headers_mut().insert(
        "stripe-version",
        platform::API_VERSION.parse().expect("static header"),
    );
    r
}

struct Refusal {
    status: u16,
    kind: &'static str,
    code: Option<&'static str>,
    param: Option<String>,
    message: String,
}

fn invalid(param: &str, message: impl Into<String>) -> Refusal {
    Refusal {
        status: 400,
        kind: "invalid_request_error",
        code: Some("parameter_invalid"),
        param: Some(param.to_string()),
        message: message.into(),
    }
}

fn missing(param: &str, what: &str) -> Refusal {
    Refusal {
        status: 404,
        kind: "invalid_request_error",
        code: Some("resource_missing"),
        param: Some(param.to_string()),
        message: format!("No such {what}"),
    }
}

impl Sandbox {
    fn handle(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> (Response, After) {
        let key_ok = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|k| k == self.options.secret_key);
        if !key_ok {
            return (
                error(
                    401,
                    "invalid_request_error",
                    None,
                    None,
                    "Invalid API Key provided.",
                ),
                After::Answer,
            );
        }
        let write = method != Method::GET;
        let params = if write {
            Params::decode(&String::from_utf8_lossy(body))
        } else {
            Params::decode(uri.query().unwrap_or(""))
        };
        let mut inner = self.lock();
        let now = Instant::now();
        if write {
            if self.options.rate_limit > 0 {
                let limit = f64::from(self.options.rate_limit);
                let (tokens, at) = inner.bucket;
                let tokens = (tokens + now.duration_since(at).as_secs_f64() * limit).min(limit);
                if tokens < 1.0 {
                    inner.bucket = (tokens, now);
                    inner.stats.rate_limited += 1;
                    return (too_many(1.0), After::Answer);
                }
                inner.bucket = (tokens - 1.0, now);
            }
            inner.stats.writes += 1;
            inner.write_times.push_back(now);
            while inner
                .write_times
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
            {
                inner.write_times.pop_front();
            }
            let in_window = inner.write_times.len() as u32;
            inner.stats.max_writes_per_second = inner.stats.max_writes_per_second.max(in_window);
        }
        let key = headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .filter(|_| write)
            .map(str::to_string);
        let fingerprint = format!("{} {} {}", method, uri.path(), params.encode());
        if let Some(k) = &key {
            if let Some(Idem {
                fingerprint: f,
                status,
                body,
            }) = inner.idempotency.get(k)
            {
                if *f == fingerprint {
                    let (status, body) = (*status, body.clone());
                    inner.stats.idempotent_replays += 1;
                    let mut r = json_response(status, body);
                    r.headers_mut()
                        .insert("idempotent-replayed", "true".parse().expect("static"));
                    return (r, After::Answer);
                }
                inner.stats.idempotency_conflicts += 1;
                return (
                    error(
                        400,
                        "idempotency_error",
                        None,
                        None,
                        "Keys for idempotent requests can only be used with the same parameters \
                         they were first used with. Try using a key other than the one used with \
                         the original request.",
                    ),
                    After::Answer,
                );
            }
        }
        let outcome = route(&mut inner, &self.options, method, uri.path(), &params, now);
        let (status, body) = match outcome {
            Ok((status, body)) => (status, body),
            Err(r) => {
                inner.stats.rejections += 1;
                let mut err = Map::new();
                err.insert("type".into(), json!(r.kind));
                err.insert("message".into(), json!(r.message));
                if let Some(c) = r.code {
                    err.insert("code".into(), json!(c));
                }
                if let Some(p) = &r.param {
                    err.insert("param".into(), json!(p));
                }
                (r.status, json!({ "error": err }))
            }
        };
        // As Stripe: only a request that executed stores its answer; a refused one (4xx) can be
        // corrected and sent again with the same key.
        if let Some(k) = key.clone().filter(|_| (200..300).contains(&status)) {
            inner.idempotency.insert(
                k,
                Idem {
                    fingerprint,
                    status,
                    body: body.clone(),
                },
            );
        }
        let f = inner.faults.clone();
        let first_use_dropped = write && key.is_some() && f.drop_first_attempt;
        let after = if first_use_dropped || inner.rng.gen_bool(f.drop_rate.clamp(0.0, 1.0)) {
            inner.stats.dropped += 1;
            After::Drop
        } else if inner.rng.gen_bool(f.timeout_rate.clamp(0.0, 1.0)) {
            inner.stats.timed_out += 1;
            After::Hang(Duration::from_millis(if f.hang_ms == 0 {
                30_000
            } else {
                f.hang_ms
            }))
        } else {
            After::Answer
        };
        (json_response(status, body), after)
    }
}
