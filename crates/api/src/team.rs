//! The team store (issue 17, docs/TEAM.md). The DBA's verbs open no vault: bringing a store's
//! schema to this build as the owner role, and checking a store as the desks' role (neither
//! reads nor writes any KYC value; the database credentials are the authority). Then a team's
//! own: its first admin creates it on a migrated store, any admin's desk shows the join code,
//! and a new desk joins with the code (its members, added by an admin, sign in there).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use vault::team::{connect, schema, JoinCode, StoreUrl};
use vault::{Policy, Vault};

use crate::auth::{SetupInput, SetupOutput};
use crate::session::{Access, SessionSlot};
use crate::{DataDir, Result};

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

/// What a desk that joined a team is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Joined {
    /// The store, its password hidden.
    pub store: String,
}

/// What an admin's desk shows a new desk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct TeamCode {
    pub store: String,
    /// The join code: the team's id and its founding admin's fingerprint (not a secret).
    pub code: String,
}

/// What the window sends to create or join a team.
#[derive(Debug, Clone, Deserialize, ts_rs::TS)]
pub struct JoinInput {
    pub url: String,
    pub code: String,
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

/// Use case: create a team on the (migrated, empty) store at `url`, this folder its founding
/// desk, with the founding admin's session at the authenticator-enrolment step. Needs no
/// session: it is a set-up, refused where any vault already is.
pub fn create(
    dir: &DataDir,
    url: &str,
    input: SetupInput,
    slot: &mut SessionSlot,
    policy: Policy,
) -> Result<SetupOutput> {
    let username = crate::auth::parse_username(&input.username)?;
    let password = crate::auth::parse_password(&input.password, &username, "password")?;
    let store = store_url(url)?;
    let created = Vault::create_on_store(
        dir.path(),
        &store,
        &username,
        &password,
        policy,
        OffsetDateTime::now_utc(),
    )?;
    tracing::info!("team created on its store");
    Ok(crate::auth::enrolling(created, slot))
}

/// Use case: make this folder a desk of the team at `url`, trusting the founder the join code
/// names. Needs no session (nothing is opened); refused where any vault already is.
pub fn join(dir: &DataDir, input: JoinInput) -> Result<Joined> {
    let code = JoinCode::parse(&input.code)?;
    let store = store_url(&input.url)?;
    vault::team::join::join(dir.path(), &store, &code)?;
    tracing::info!("desk joined a team");
    Ok(Joined {
        store: store.redacted().to_string(),
    })
}

/// Use case (admin): the code a new desk joins this team with.
pub fn join_code(slot: &mut SessionSlot) -> Result<TeamCode> {
    let session = slot.require(Access::Admin, "team.join_code")?;
    let vault = session.vault();
    let code = vault.join_code()?;
    Ok(TeamCode {
        store: vault.team_store().unwrap_or_default(),
        code: code.to_string(),
    })
}
