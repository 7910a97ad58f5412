//! One HTTP call to the platform and what it meant.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::requests::{Method, Request};
use crate::API_VERSION;

/// Where the platform is and how to authenticate.
#[derive(Clone)]
pub struct ClientConfig {
    /// `https://api.stripe.com` or the sandbox's `http://127.0.0.1:PORT` (no trailing slash).
    pub base_url: String,
    pub secret_key: Zeroizing<String>,
    /// Per request, connect + response.
    pub timeout: Duration,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("secret_key", &"…")
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// What can go wrong with one call. Platform messages may quote submitted values: callers keep
/// them sealed and never log them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The request may or may not have reached the platform (refused, reset, timed out,
    /// response lost). Safe to retry with the same idempotency key.
    #[error("network: {detail}")]
    Network { detail: String, timed_out: bool },
    /// The platform asked to try again later (5xx, 429, or `Stripe-Should-Retry: true`).
    #[error("platform busy or failing (HTTP {status})")]
    Retry {
        status: u16,
        retry_after: Option<Duration>,
        rate_limited: bool,
        message: String,
    },
    /// The platform refused the request as it stands; retrying unchanged will not help.
    #[error("platform refused the request (HTTP {status}, {kind})")]
    Rejected {
        status: u16,
        kind: String,
        code: Option<String>,
        param: Option<String>,
        message: String,
    },
    /// The secret key was refused.
    #[error("the platform refused the secret key (HTTP {status})")]
    Unauthorized { status: u16 },
}

impl CallError {
    /// True when the platform itself (or the way to it) is failing, as the circuit breaker
    /// counts it. 429 is the platform protecting itself, not failing.
    pub fn is_outage(&self) -> bool {
        match self {
            CallError::Network { .. } => true,
            CallError::Retry { rate_limited, .. } => !rate_limited,
            _ => false,
        }
    }
}

/// The platform's view of an account, as boarding and status sync need it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountState {
    pub id: String,
    #[serde(default)]
    pub charges_enabled: bool,
    #[serde(default)]
    pub payouts_enabled: bool,
    #[serde(default)]
    pub details_submitted: bool,
    #[serde(default)]
    pub requirements: Requirements,
    /// Capability name → `active` / `pending` / `inactive`.
    #[serde(default)]
    pub capabilities: BTreeMap<String, String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Requirements {
    #[serde(default, deserialize_with = "null_as_default")]
    pub currently_due: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub eventually_due: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub past_due: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub pending_verification: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub errors: Vec<RequirementError>,
    #[serde(default)]
    pub disabled_reason: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequirementError {
    pub requirement: String,
    pub code: String,
    #[serde(default)]
    pub reason: String,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

impl AccountState {
    pub fn from_json(v: &serde_json::Value) -> Option<Self> {
        serde_json::from_value(v.clone()).ok()
    }
}

/// The most of a response body the client reads: a platform answer is a few KiB; anything
/// past this is refused, never buffered.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Why a platform address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    #[error("is not an address (scheme://host[:port])")]
    NotAUrl,
    #[error("must be https:// (plain http only for this machine, e.g. the sandbox)")]
    NotHttps,
    #[error("must not carry a user name or password")]
    Credentials,
    #[error("must not carry a query or fragment")]
    Extra,
    #[error("must be https:// with a live key")]
    LiveKeyNeedsHttps,
}

/// Parses a platform base address: `https://host[:port][/path]`, or plain `http://` only for a
/// loopback host (`127.0.0.0/8`, `[::1]`, `localhost`); never with userinfo, a query or a
/// fragment. Returns it without a trailing slash. The host is what `url` parses, so
/// `http://localhost:1@192.0.2.2` is a user name in front of a remote host, and refused.
pub fn parse_base_url(text: &str) -> Result<String, UrlProblem> {
    let url = url::Url::parse(text.trim()).map_err(|_| UrlProblem::NotAUrl)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlProblem::Credentials);
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(UrlProblem::Extra);
    }
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => return Err(UrlProblem::NotAUrl),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(UrlProblem::NotHttps),
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// True for a key of live mode (`sk_live_…`, `rk_live_…`): production settings.
pub fn is_live_key(key: &str) -> bool {
    key.starts_with("sk_live_") || key.starts_with("rk_live_")
}

/// The HTTP client (rustls, connection pooling). Cheap to clone.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    config: ClientConfig,
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Self, CallError> {
        let refused = |p: UrlProblem| CallError::Network {
            detail: format!("the platform address {p}"),
            timed_out: false,
        };
        parse_base_url(&config.base_url).map_err(refused)?;
        if is_live_key(&config.secret_key) && !config.base_url.starts_with("https://") {
            return Err(refused(UrlProblem::LiveKeyNeedsHttps));
        }
        // reqwest is built without a bundled crypto provider; ring is ours. A second install is a
        // no-op error we can ignore.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("BoardingDesk/", env!("CARGO_PKG_VERSION")))
            // A redirect is never followed: a 307/308 would send the body (and the key) on.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| CallError::Network {
                detail: format!("could not build the HTTP client: {e}"),
                timed_out: false,
            })?;
        Ok(Self { http, config })
    }

    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    /// Sends `request`; writes carry `idempotency_key` (`Idempotency-Key`).
    pub async fn send(
        &self,
        request: &Request,
        idempotency_key: Option<&str>,
    ) -> Result<serde_json::Value, CallError> {
        let url = format!(
            "{}{}",
            self.config.base_url.trim_end_matches('/'),
            request.path
        );
        let mut builder = match request.method {
            Method::Get => self.http.get(&url).query(request.params.pairs()),
            Method::Post => self
                .http
                .post(&url)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(request.params.encode()),
            Method::Delete => self.http.delete(&url),
        };
        builder = builder
            .header(
                AUTHORIZATION,
                format!("Bearer {}", self.config.secret_key.as_str()),
            )
            .header("Stripe-Version", API_VERSION);
        if let Some(key) = idempotency_key {
            builder = builder.header("Idempotency-Key", key);
        }
        let mut response = builder.send().await.map_err(network)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let too_large = || CallError::Network {
            detail: format!("the response is larger than {MAX_RESPONSE_BYTES} bytes"),
            timed_out: false,
        };
        if response
            .content_length()
            .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let json: serde_json::Value =
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        classify(status, &headers, json)
    }
}

fn network(e: reqwest::Error) -> CallError {
    // reqwest's message names the URL and the failure, never the body.
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    CallError::Network {
        detail,
        timed_out: e.is_timeout(),
    }
}

fn classify(
    status: u16,
    headers: &HeaderMap,
    json: serde_json::Value,
) -> Result<serde_json::Value, CallError> {
    if (200..300).contains(&status) {
        if json.is_object() {
            return Ok(json);
        }
        return Err(CallError::Network {
            detail: format!("HTTP {status} without a JSON object body"),
            timed_out: false,
        });
    }
    let error = json.get("error").cloned().unwrap_or_default();
    let text = |k: &str| error.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let message = text("message").unwrap_or_else(|| format!("HTTP {status}"));
    let should_retry = headers
        .get("Stripe-Should-Retry")
        .and_then(|v| v.to_str().ok())
        .map(|v| v == "true");
    let retry_after = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(3600.0)));
    if status == 401 || status == 403 {
        return Err(CallError::Unauthorized { status });
    }
    if (300..400).contains(&status) {
        // Not followed (see `Client::new`); what it would have done is unknown, so the job
        // stops for a person to look at the platform address.
        return Err(CallError::Rejected {
            status,
            kind: "redirect".into(),
            code: None,
            param: None,
            message: format!(
                "the platform answered with a redirect (HTTP {status}); it is not followed"
            ),
        });
    }
    let retry = match should_retry {
        Some(v) => v,
        None => status == 429 || status >= 500,
    };
    if retry {
        return Err(CallError::Retry {
            status,
            retry_after,
            rate_limited: status == 429,
            message,
        });
    }
    Err(CallError::Rejected {
        status,
        kind: text("type").unwrap_or_else(|| "api_error".into()),
        code: text("code"),
        param: text("param"),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn err(status: u16, h: &[(&'static str, &'static str)]) -> CallError {
        let body = serde_json::json!({"error": {"type": "invalid_request_error", "message": "m", "param": "email", "code": "invalid"}});
        classify(status, &headers(h), body).unwrap_err()
    }

    #[test]
    fn statuses_are_classified_as_stripe_documents_them() {
        assert!(matches!(
            err(500, &[]),
            CallError::Retry { status: 500, .. }
        ));
        assert!(matches!(
            err(429, &[("retry-after", "2")]),
            CallError::Retry { rate_limited: true, retry_after: Some(d), .. } if d == Duration::from_secs(2)
        ));
        assert!(matches!(
            err(400, &[]),
            CallError::Rejected { param: Some(ref p), .. } if p == "email"
        ));
        assert!(matches!(
            err(401, &[]),
            CallError::Unauthorized { status: 401 }
        ));
        assert!(
            matches!(
                err(409, &[("stripe-should-retry", "true")]),
                CallError::Retry { .. }
            ),
            "a concurrent request with the same key: retry"
        );
        assert!(
            matches!(
                err(503, &[("stripe-should-retry", "false")]),
                CallError::Rejected { .. }
            ),
            "the platform's word overrides the status"
        );
        assert!(!err(429, &[]).is_outage() && err(502, &[]).is_outage());
    }

    #[test]
    fn a_success_without_a_body_is_an_unknown_outcome() {
        assert!(matches!(
            classify(200, &HeaderMap::new(), serde_json::Value::Null),
            Err(CallError::Network { .. })
        ));
    }

    #[test]
    fn platform_addresses_are_parsed_not_prefix_matched() {
        assert_eq!(
            parse_base_url("https://api.stripe.com/").as_deref(),
            Ok("https://api.stripe.com")
        );
        assert!(parse_base_url("http://127.0.0.1:12111").is_ok());
        assert!(parse_base_url("http://127.9.9.9:1").is_ok());
        assert!(parse_base_url("http://[::1]:8080").is_ok());
        assert!(parse_base_url("http://localhost:1").is_ok());
        assert_eq!(
            parse_base_url("http://localhost:1@192.0.2.2:8099"),
            Err(UrlProblem::Credentials),
            "userinfo in front of a remote host"
        );
        assert_eq!(
            parse_base_url("http://127.0.0.1.example.com"),
            Err(UrlProblem::NotHttps)
        );
        assert_eq!(
            parse_base_url("http://192.0.2.2"),
            Err(UrlProblem::NotHttps)
        );
        assert_eq!(
            parse_base_url("https://u:p@api.stripe.com"),
            Err(UrlProblem::Credentials)
        );
        assert_eq!(
            parse_base_url("https://api.stripe.com/?x=1"),
            Err(UrlProblem::Extra)
        );
        assert_eq!(parse_base_url("ftp://127.0.0.1"), Err(UrlProblem::NotHttps));
        assert_eq!(parse_base_url("not a url"), Err(UrlProblem::NotAUrl));
    }

    #[test]
    fn a_live_key_is_never_sent_over_plain_http() {
        let c = ClientConfig {
            base_url: "http://127.0.0.1:9".into(),
            // A live-mode key (built here so no key-shaped literal sits in the source).
            secret_key: Zeroizing::new(format!("sk_{}_{}", "live", "abcdefghijkl")),
            timeout: Duration::from_secs(1),
        };
        assert!(Client::new(c).is_err(), "production settings need https");
    }

    #[test]
    fn a_redirect_is_refused_not_followed() {
        assert!(matches!(
            classify(307, &HeaderMap::new(), serde_json::Value::Null),
            Err(CallError::Rejected { status: 307, ref kind, .. }) if kind == "redirect"
        ));
    }

    /// A one-shot HTTP server on loopback that answers every connection with `response` and
    /// counts the connections it got.
    async fn serve(response: Vec<u8>) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = vec![0u8; 64 * 1024];
                let _ = stream.read(&mut buf).await;
                let _ = stream.write_all(&response).await;
                let _ = stream.shutdown().await;
            }
        });
        (format!("http://{addr}"), hits)
    }

    fn client(base_url: String) -> Client {
        Client::new(ClientConfig {
            base_url,
            secret_key: Zeroizing::new("sk_test_abcdefghijkl".into()),
            timeout: Duration::from_secs(5),
        })
        .unwrap()
    }

    fn post() -> Request {
        crate::requests::update_metadata("acct_1", &[("desk_status", "suspended")])
    }

    #[tokio::test]
    async fn a_307_is_not_followed_and_the_body_goes_nowhere_else() {
        let (elsewhere, elsewhere_hits) =
            serve(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}".to_vec()).await;
        let redirect = format!(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: {elsewhere}/v1/accounts/acct_1\r\ncontent-length: 0\r\n\r\n"
        );
        let (base, _) = serve(redirect.into_bytes()).await;
        let err = client(base).send(&post(), Some("k1")).await.unwrap_err();
        assert!(
            matches!(err, CallError::Rejected { status: 307, .. }),
            "refused, not followed: {err:?}"
        );
        assert_eq!(
            elsewhere_hits.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "nothing reached the redirect's target"
        );
    }

    #[tokio::test]
    async fn an_oversized_response_is_refused_without_reading_it_all() {
        let big = MAX_RESPONSE_BYTES + 10;
        let mut with_length =
            format!("HTTP/1.1 200 OK\r\ncontent-length: {big}\r\n\r\n").into_bytes();
        with_length.extend(std::iter::repeat_n(b' ', big));
        let (base, _) = serve(with_length).await;
        let err = client(base).send(&post(), Some("k2")).await.unwrap_err();
        assert!(
            matches!(&err, CallError::Network { detail, .. } if detail.contains("larger than")),
            "{err:?}"
        );
        // Without a length: counted while reading.
        let mut chunked = b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".to_vec();
        chunked.extend(std::iter::repeat_n(b' ', big));
        let (base, _) = serve(chunked).await;
        let err = client(base).send(&post(), Some("k3")).await.unwrap_err();
        assert!(
            matches!(&err, CallError::Network { detail, .. } if detail.contains("larger than")),
            "{err:?}"
        );
    }

    #[test]
    fn the_config_never_prints_the_key() {
        let c = ClientConfig {
            base_url: "http://x".into(),
            secret_key: Zeroizing::new("sk_live_secret".into()),
            timeout: Duration::from_secs(1),
        };
        assert!(!format!("{c:?}").contains("sk_live_secret"));
    }
}
