//! Team store administration that opens no vault (issue 17, docs/TEAM.md): bringing a store's
//! schema to this build as the owner role, and checking a store as the desks' role. Neither
//! reads nor writes any KYC value; the database credentials are the authority, and the DBA
//! holds the owner's.

use serde::Serialize;
use vault::team::{connect, schema, StoreUrl};

use crate::Result;

/// The environment variable a URL without a password takes it from (libpq's).
pub const PASSWORD_ENV: &str = "PGPASSWORD";

/// What `desk team migrate` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Migrated {
    /// The store, its password hidden.
    pub store: String,
    /// The migrations applied now, oldest first.
    pub applied: Vec<String>,
    pub version: u32,
}

/// What `desk team check` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct TeamCheck {
    pub store: String,
    /// Whether the connection runs over TLS, as the server reports it (`pg_stat_ssl`).
    pub tls: bool,
    /// The database role the desk connected as.
    pub role: String,
    pub version: u32,
    pub expected: u32,
}

fn store_url(url: &str) -> Result<StoreUrl> {
    let mut parsed: StoreUrl = url.parse()?;
    if let Some(password) = std::env::var_os(PASSWORD_ENV) {
        parsed.default_password(password.as_encoded_bytes());
    }
    Ok(parsed)
}

/// Use case: apply the migrations this build has and the store lacks, as the owner role.
pub fn migrate(url: &str) -> Result<Migrated> {
    let owner = store_url(url)?;
    let done = schema::migrate(&owner)?;
    tracing::info!(
        applied = done.applied.len(),
        version = done.version,
        "team store migrated"
    );
    Ok(Migrated {
        store: owner.redacted().to_string(),
        applied: done.applied,
        version: done.version,
    })
}

/// Use case: connect as a desk would and check the store's version and the role's privileges.
pub fn check(url: &str) -> Result<TeamCheck> {
    let desk = store_url(url)?;
    // Dropped safely wherever this runs (`sql::PgClient`).
    let mut client = vault::sql::PgClient::new(connect::connect(&desk)?);
    let standing = schema::check_desk_role(client.connection()?)?;
    Ok(TeamCheck {
        store: desk.redacted().to_string(),
        tls: standing.tls,
        role: standing.role,
        version: standing.version,
        expected: standing.expected,
    })
}
