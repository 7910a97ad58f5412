//! The payment platform as Boarding Desk sees it: a Stripe-Connect-compatible API (version
//! 2020-08-27) reached over HTTPS with a secret key.
//!
//! - [`requests`] turns an approved application into the exact requests boarding needs (account,
//!   persons, "provided" flags), form-encoded the way Stripe expects (`a[b][c]=`);
//! - [`client`] sends one request and classifies what came back: done, retry later (network,
//!   5xx, 429, honouring `Retry-After` and `Stripe-Should-Retry`), or rejected (4xx with the
//!   platform's `param`);
//! - [`fields`] maps the platform's parameter and requirement names back to our form fields;
//! - [`resilience`] holds the backoff with jitter, the client-side rate limiter and the circuit
//!   breaker the outbox worker uses.
//!
//! Nothing here stores anything: the durable outbox lives in the vault and the api crate.

pub mod client;
pub mod fields;
pub mod requests;
pub mod resilience;

pub use client::{
    is_live_key, parse_base_url, AccountState, CallError, Client, ClientConfig, Requirements,
    UrlProblem,
};
pub use requests::{Method, Params, Request};

/// The API version every request pins (`Stripe-Version`), matching the spec we validate against.
pub const API_VERSION: &str = "2020-08-27";

/// Where the platform sandbox listens unless told otherwise (stripe-mock's port, by convention).
pub const SANDBOX_URL: &str = "http://127.0.0.1:12111";

/// The sandbox's default secret key; a real platform key is configured by an admin.
pub const SANDBOX_KEY: &str = "sk_test_sandbox";
