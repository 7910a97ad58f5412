//! `desk-sandbox`: a stateful stand-in for a Stripe-Connect-compatible platform.
//!
//! It speaks the subset Boarding Desk uses (`/v1/accounts`, `/v1/accounts/{id}`,
//! `/v1/accounts/{id}/persons`, `/v1/accounts/{id}/reject`) with Stripe's error shape,
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

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn new_id(rng: &mut StdRng, prefix: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let tail: String = (0..16)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}_{tail}")
}

const ACCOUNT_ROOTS: &[&str] = &[
    "type",
    "country",
    "email",
    "business_type",
    "business_profile",
    "company",
    "individual",
    "external_account",
    "tos_acceptance",
    "capabilities",
    "metadata",
    "default_currency",
    "settings",
];
const PERSON_ROOTS: &[&str] = &[
    "first_name",
    "last_name",
    "email",
    "phone",
    "dob",
    "id_number",
    "ssn_last_4",
    "address",
    "relationship",
    "metadata",
    "nationality",
];

fn root(key: &str) -> &str {
    key.split('[').next().unwrap_or(key)
}

fn check_roots(params: &Params, allowed: &[&str]) -> Result<(), Refusal> {
    if let Some(k) = params.keys().find(|k| !allowed.contains(&root(k))) {
        return Err(invalid(
            k,
            format!("Received unknown parameter: {}", root(k)),
        ));
    }
    Ok(())
}

fn check_email(params: &Params, key: &str) -> Result<(), Refusal> {
    if let Some(email) = params.get(key) {
        let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        if !domain.contains('.') || domain.to_ascii_lowercase().ends_with(".invalid") {
            // Stripe quotes the value back, as here: the client must keep such messages sealed.
            return Err(invalid(key, format!("Invalid email address: {email}")));
        }
    }
    Ok(())
}

fn check_account_params(params: &Params, creating: bool) -> Result<(), Refusal> {
    check_roots(params, ACCOUNT_ROOTS)?;
    if creating {
        match params.get("type") {
            Some("custom") => {}
            Some(_) => return Err(invalid("type", "Only custom accounts can be created here.")),
            None => return Err(invalid("type", "Missing required param: type.")),
        }
        if params.get("external_account[account_number]").is_none() {
            return Err(invalid(
                "external_account",
                "Missing required param: external_account[account_number].",
            ));
        }
    }
    check_email(params, "email")?;
    if let Some(mcc) = params.get("business_profile[mcc]") {
        if mcc.len() != 4 || !mcc.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                "business_profile[mcc]",
                "Invalid MCC: must be 4 digits.",
            ));
        }
    }
    if let Some(tax) = params.get("company[tax_id]") {
        if tax.len() != 9 || !tax.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("company[tax_id]", "The tax ID must be 9 digits."));
        }
    }
    if let Some(url) = params.get("business_profile[url]") {
        let ok = (url.starts_with("https://") || url.starts_with("http://"))
            && url.split("//").nth(1).is_some_and(|h| h.contains('.'));
        if !ok {
            return Err(invalid("business_profile[url]", "Not a valid URL"));
        }
    }
    Ok(())
}

fn route(
    inner: &mut Inner,
    options: &Options,
    method: &Method,
    path: &str,
    params: &Params,
    now: Instant,
) -> Result<(u16, Value), Refusal> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("POST", ["v1", "accounts"]) => {
            check_account_params(params, true)?;
            let id = new_id(&mut inner.rng, "acct");
            let flat: BTreeMap<String, String> = params.pairs().iter().cloned().collect();
            if let Some(app) = flat.get("metadata[application_id]") {
                *inner
                    .stats
                    .accounts_per_application
                    .entry(app.clone())
                    .or_default() += 1;
            }
            inner.stats.accounts += 1;
            inner.accounts.insert(
                id.clone(),
                Account {
                    id: id.clone(),
                    created: unix_now(),
                    changed_at: now,
                    params: flat,
                    persons: Vec::new(),
                },
            );
            inner.order.push(id.clone());
            Ok((200, render_account(&inner.accounts[&id], options, now)))
        }
        ("GET", ["v1", "accounts"]) => {
            let limit = params
                .get("limit")
                .and_then(|l| l.parse::<usize>().ok())
                .unwrap_or(10)
                .clamp(1, 100);
            let data: Vec<Value> = inner
                .order
                .iter()
                .rev()
                .take(limit)
                .filter_map(|id| inner.accounts.get(id))
                .map(|a| render_account(a, options, now))
                .collect();
            Ok((
                200,
                json!({"object": "list", "url": "/v1/accounts", "has_more": inner.order.len() > limit, "data": data}),
            ))
        }
        ("GET", ["v1", "accounts", id]) => {
            let a = inner
                .accounts
                .get(*id)
                .ok_or_else(|| missing("account", "account"))?;
            Ok((200, render_account(a, options, now)))
        }
        ("POST", ["v1", "accounts", id]) => {
            check_account_params(params, false)?;
            let a = inner
                .accounts
                .get_mut(*id)
                .ok_or_else(|| missing("account", "account"))?;
            let material = params.keys().any(|k| !k.starts_with("metadata["));
            for (k, v) in params.pairs() {
                a.params.insert(k.clone(), v.clone());
            }
            if material {
                a.changed_at = now;
            }
            Ok((200, render_account(a, options, now)))
        }
        ("POST", ["v1", "accounts", id, "persons"]) => {
            check_roots(params, PERSON_ROOTS)?;
            check_email(params, "email")?;
            if let Some(p) = params.get("relationship[percent_ownership]") {
                if !p.parse::<f64>().is_ok_and(|v| (0.0..=100.0).contains(&v)) {
                    return Err(invalid(
                        "relationship[percent_ownership]",
                        "Must be a number between 0 and 100.",
                    ));
                }
            }
            let pid = new_id(&mut inner.rng, "person");
            let a = inner
                .accounts
                .get_mut(*id)
                .ok_or_else(|| missing("account", "account"))?;
            a.persons.push(Person {
                id: pid,
                created: unix_now(),
                changed_at: now,
                params: params.pairs().iter().cloned().collect(),
            });
            a.changed_at = now;
            inner.stats.persons += 1;
            let a = &inner.accounts[*id];
            let person = a.persons.last().expect("just pushed");
            Ok((200, render_person(a, person, options, now)))
        }
        ("POST", ["v1", "accounts", id, "persons", pid]) => {
            check_roots(params, PERSON_ROOTS)?;
            check_email(params, "email")?;
            let a = inner
                .accounts
                .get_mut(*id)
                .ok_or_else(|| missing("account", "account"))?;
            let person = a
                .persons
                .iter_mut()
                .find(|p| p.id == *pid)
                .ok_or_else(|| missing("person", "person"))?;
            for (k, v) in params.pairs() {
                person.params.insert(k.clone(), v.clone());
            }
            person.changed_at = now;
            a.changed_at = now;
            let a = &inner.accounts[*id];
            let person = a
                .persons
                .iter()
                .find(|p| p.id == *pid)
                .expect("found above");
            Ok((200, render_person(a, person, options, now)))
        }
        ("DELETE", ["v1", "accounts", id, "persons", pid]) => {
            let a = inner
                .accounts
                .get_mut(*id)
                .ok_or_else(|| missing("account", "account"))?;
            let before = a.persons.len();
            a.persons.retain(|p| p.id != *pid);
            if a.persons.len() == before {
                return Err(missing("person", "person"));
            }
            a.changed_at = now;
            Ok((200, json!({"id": pid, "object": "person", "deleted": true})))
        }
        ("GET", ["v1", "accounts", id, "persons"]) => {
            let a = inner
                .accounts
                .get(*id)
                .ok_or_else(|| missing("account", "account"))?;
            let data: Vec<Value> = a
                .persons
                .iter()
                .map(|p| render_person(a, p, options, now))
                .collect();
            Ok((
                200,
                json!({"object": "list", "url": format!("/v1/accounts/{id}/persons"), "has_more": false, "data": data}),
            ))
        }
        ("POST", ["v1", "accounts", id, "reject"]) => {
            let reason = params.get("reason").unwrap_or("");
            if !matches!(reason, "fraud" | "terms_of_service" | "other") {
                return Err(invalid(
                    "reason",
                    "Must be one of fraud, terms_of_service, other.",
                ));
            }
            let a = inner
                .accounts
                .get_mut(*id)
                .ok_or_else(|| missing("account", "account"))?;
            a.params.insert("__rejected".into(), reason.into());
            Ok((200, render_account(a, options, now)))
        }
        _ => Err(Refusal {
            status: 404,
            kind: "invalid_request_error",
            code: None,
            param: None,
            message: format!("Unrecognized request URL ({} {}).", method, path),
        }),
    }
}

/// `a[b][c]=v` pairs with a given prefix → nested JSON (booleans and numbers typed).
fn nest(params: &BTreeMap<String, String>, prefix: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in params {
        let Some(rest) = k.strip_prefix(prefix) else {
            continue;
        };
        let path: Vec<String> = rest
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split("][")
            .map(str::to_string)
            .collect();
        if path.iter().any(String::is_empty) {
            continue;
        }
        let leaf = path.last().map(String::as_str).unwrap_or("");
        let value = match (leaf, v.as_str()) {
            (_, "true") => json!(true),
            (_, "false") => json!(false),
            ("day" | "month" | "year" | "date", n) => {
                n.parse::<i64>().map(Value::from).unwrap_or(json!(n))
            }
            ("percent_ownership", n) => n.parse::<f64>().map(Value::from).unwrap_or(json!(n)),
            _ => json!(v),
        };
        let mut node = &mut out;
        for p in &path[..path.len() - 1] {
            node = node
                .entry(p.clone())
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("objects all the way down");
        }
        node.insert(leaf.to_string(), value);
    }
    out
}

struct Reqs {
    currently_due: Vec<String>,
    pending: Vec<String>,
    errors: Vec<Value>,
}

fn person_reqs(
    prefix: &str,
    p: &BTreeMap<String, String>,
    key: &str,
    pending_over: bool,
    r: &mut Reqs,
) {
    let get = |k: &str| p.get(&format!("{key}{k}")).map(String::as_str);
    let dob = (get("[dob][year]"), get("[dob][month]"), get("[dob][day]"));
    if get("[first_name]").is_none() {
        r.currently_due.push(format!("{prefix}.first_name"));
    }
    match dob {
        (Some("1900"), Some("1"), Some("1")) => {
            r.currently_due
                .push(format!("{prefix}.verification.document"));
            r.errors.push(json!({
                "requirement": format!("{prefix}.verification.document"),
                "code": "verification_failed_keyed_identity",
                "reason": "The person's keyed-in identity information could not be verified."
            }));
        }
        (Some("1901"), Some("1"), Some("1")) => {}
        (None, _, _) => r.currently_due.push(format!("{prefix}.dob.day")),
        _ if !pending_over => {
            r.pending.push(format!("{prefix}.dob.day"));
            r.pending.push(format!("{prefix}.id_number"));
        }
        _ => {}
    }
}

fn requirements(a: &Account, options: &Options, now: Instant) -> (Value, String) {
    let pending_over = now.duration_since(a.changed_at) >= options.verify_after;
    let p = &a.params;
    let mut r = Reqs {
        currently_due: Vec::new(),
        pending: Vec::new(),
        errors: Vec::new(),
    };
    let individual = p.get("business_type").map(String::as_str) == Some("individual");
    if individual {
        // the map is keyed `individual[...]`; person_reqs reads through the prefix
        let mut flat = BTreeMap::new();
        for (k, v) in p.iter().filter(|(k, _)| k.starts_with("individual[")) {
            flat.insert(k.clone(), v.clone());
        }
        person_reqs("individual", &flat, "individual", pending_over, &mut r);
    } else {
        if !a.persons.iter().any(|x| {
            x.params
                .get("relationship[representative]")
                .map(String::as_str)
                == Some("true")
        }) {
            r.currently_due.push("representative.first_name".into());
        }
        if p.get("company[owners_provided]").map(String::as_str) != Some("true") {
            r.currently_due.push("company.owners_provided".into());
        }
        match p.get("company[tax_id]").map(String::as_str) {
            None => r.currently_due.push("company.tax_id".into()),
            Some("111111111") => {
                r.currently_due.push("company.tax_id".into());
                r.errors.push(json!({"requirement": "company.tax_id", "code": "verification_failed_tax_id_not_issued", "reason": "The tax ID was not issued."}));
            }
            Some("000000000") => {}
            Some(_) if !pending_over => r.pending.push("company.tax_id".into()),
            Some(_) => {}
        }
        for person in &a.persons {
            let over = now.duration_since(person.changed_at) >= options.verify_after;
            let mut flat = BTreeMap::new();
            for (k, v) in &person.params {
                flat.insert(format!("p[{}]{}", root(k), &k[root(k).len()..]), v.clone());
            }
            person_reqs(&person.id, &flat, "p", over, &mut r);
        }
    }
    match p
        .get("external_account[account_number]")
        .map(String::as_str)
    {
        Some("000111111116") => {
            r.currently_due.push("external_account".into());
            r.errors.push(json!({"requirement": "external_account", "code": "verification_failed_other", "reason": "no_account: The bank account doesn't exist or is invalid."}));
        }
        Some("000111111113") => {
            r.currently_due.push("external_account".into());
            r.errors.push(json!({"requirement": "external_account", "code": "verification_failed_other", "reason": "account_closed: The bank account has been closed."}));
        }
        None => r.currently_due.push("external_account".into()),
        _ => {}
    }
    if p.get("tos_acceptance[date]").is_none() {
        r.currently_due.push("tos_acceptance.date".into());
    }
    let rejected = p.get("__rejected");
    let disabled = if let Some(reason) = rejected {
        Some(format!("rejected.{reason}"))
    } else if !r.currently_due.is_empty() {
        Some("requirements.past_due".to_string())
    } else if !r.pending.is_empty() {
        Some("requirements.pending_verification".to_string())
    } else {
        None
    };
    let capability = match (&rejected, &disabled) {
        (Some(_), _) => "inactive",
        (None, None) => "active",
        (None, Some(d)) if d == "requirements.pending_verification" => "pending",
        _ => "inactive",
    };
    let value = json!({
        "alternatives": [],
        "current_deadline": null,
        "currently_due": r.currently_due,
        "eventually_due": r.currently_due,
        "past_due": r.currently_due,
        "pending_verification": r.pending,
        "errors": r.errors,
        "disabled_reason": disabled,
    });
    (value, capability.to_string())
}

fn render_account(a: &Account, options: &Options, now: Instant) -> Value {
    let p = &a.params;
    let (reqs, capability) = requirements(a, options, now);
    let mut company = nest(p, "company");
    let tax = company.remove("tax_id").is_some();
    company.insert("tax_id_provided".into(), json!(tax));
    let mut external = nest(p, "external_account");
    let number = external
        .remove("account_number")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    external.remove("object");
    external.insert("id".into(), json!(format!("ba_{}", &a.id[5..])));
    external.insert("object".into(), json!("bank_account"));
    external.insert("account".into(), json!(a.id));
    external.insert(
        "last4".into(),
        json!(number
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<String>()),
    );
    external.insert(
        "status".into(),
        json!(if number == "000111111116" {
            "errored"
        } else {
            "new"
        }),
    );
    external.insert("metadata".into(), json!({}));
    let requested: Vec<&str> = ["card_payments", "transfers"]
        .into_iter()
        .filter(|c| {
            p.get(&format!("capabilities[{c}][requested]"))
                .map(String::as_str)
                == Some("true")
        })
        .collect();
    let capabilities: Map<String, Value> = requested
        .iter()
        .map(|c| (c.to_string(), json!(capability)))
        .collect();
    let active = capability == "active";
    let mut account = json!({
        "id": a.id,
        "object": "account",
        "type": p.get("type"),
        "country": p.get("country"),
        "email": p.get("email"),
        "business_type": p.get("business_type"),
        "business_profile": nest(p, "business_profile"),
        "capabilities": capabilities,
        "charges_enabled": active && requested.contains(&"card_payments"),
        "payouts_enabled": active && requested.contains(&"transfers"),
        "details_submitted": true,
        "created": a.created,
        "default_currency": external.get("currency").cloned().unwrap_or(json!("usd")),
        "external_accounts": {"object": "list", "data": [Value::Object(external)], "has_more": false, "url": format!("/v1/accounts/{}/external_accounts", a.id)},
        "metadata": nest(p, "metadata"),
        "requirements": reqs,
        "tos_acceptance": nest(p, "tos_acceptance"),
    });
    if p.get("business_type").map(String::as_str) == Some("individual") {
        let mut ind = nest(p, "individual");
        let id_number = ind.remove("id_number").is_some();
        ind.insert("id".into(), json!(format!("person_{}", &a.id[5..])));
        ind.insert("object".into(), json!("person"));
        ind.insert("account".into(), json!(a.id));
        ind.insert("created".into(), json!(a.created));
        ind.insert("id_number_provided".into(), json!(id_number));
        ind.insert("ssn_last_4_provided".into(), json!(id_number));
        account["individual"] = Value::Object(ind);
    } else {
        account["company"] = Value::Object(company);
    }
    account
}

fn render_person(a: &Account, person: &Person, options: &Options, now: Instant) -> Value {
    let mut flat = BTreeMap::new();
    for (k, v) in &person.params {
        flat.insert(format!("p[{}]{}", root(k), &k[root(k).len()..]), v.clone());
    }
    let mut r = Reqs {
        currently_due: Vec::new(),
        pending: Vec::new(),
        errors: Vec::new(),
    };
    let over = now.duration_since(person.changed_at) >= options.verify_after;
    person_reqs("person", &flat, "p", over, &mut r);
    let mut out = nest(&flat, "p");
    let id_number = out.remove("id_number").is_some();
    out.insert("id".into(), json!(person.id));
    out.insert("object".into(), json!("person"));
    out.insert("account".into(), json!(a.id));
    out.insert("created".into(), json!(person.created));
    out.insert("id_number_provided".into(), json!(id_number));
    out.insert("ssn_last_4_provided".into(), json!(id_number));
    out.insert(
        "requirements".into(),
        json!({"currently_due": r.currently_due, "eventually_due": r.currently_due, "past_due": r.currently_due, "pending_verification": r.pending, "errors": r.errors}),
    );
    Value::Object(out)
}
