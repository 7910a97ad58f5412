//! Connecting to the team store: rustls (ring, no OpenSSL) verifying the server against the
//! system roots or the URL's CA file, and a small r2d2 pool of blocking `postgres` clients
//! (docs/adr/0001-team-store.md, §1).

use std::sync::Arc;
use std::time::Duration;

use postgres::NoTls;
use r2d2_postgres::PostgresConnectionManager;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::url::StoreUrl;
use crate::{Result, VaultError};

/// Connections per desk: the window's session, the boarding worker, the background jobs and
/// the `LISTEN` connection.
pub const POOL_SIZE: u32 = 4;

/// A pooled connection to the team store.
pub type Conn = r2d2::PooledConnection<Manager>;

/// The pool's connection manager, over TLS or not as the URL's policy says.
pub enum Manager {
    Plain(PostgresConnectionManager<NoTls>),
    Tls(PostgresConnectionManager<MakeRustlsConnect>),
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Manager::Plain(_) => "Manager(plaintext)",
            Manager::Tls(_) => "Manager(tls)",
        })
    }
}

/// Either kind of connection the manager makes.
pub struct Client(pub postgres::Client);

impl std::ops::Deref for Client {
    type Target = postgres::Client;
    fn deref(&self) -> &postgres::Client {
        &self.0
    }
}

impl std::ops::DerefMut for Client {
    fn deref_mut(&mut self) -> &mut postgres::Client {
        &mut self.0
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Client;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Client, postgres::Error> {
        let mut client = match self {
            Manager::Plain(m) => m.connect()?,
            Manager::Tls(m) => m.connect()?,
        };
        // A desk that stops mid-unit (a crash, a lost network) must not hold the team's write
        // lock for long: the server ends an idle transaction after a minute, and a unit waits
        // at most 30 s for a lock before it is told to try again. Statements are prepared
        // once per connection (`sql::PgClient`) but planned for their values every time: a
        // name search's best plan depends on how common its tokens are, which a generic plan
        // cannot know.
        client.batch_execute(&format!(
            "SET search_path TO {}; SET lock_timeout = '30s';
             SET idle_in_transaction_session_timeout = '60s';
             SET plan_cache_mode = force_custom_plan",
            super::schema::SCHEMA
        ))?;
        Ok(Client(client))
    }

    fn is_valid(&self, conn: &mut Client) -> Result<(), postgres::Error> {
        conn.0.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut Client) -> bool {
        conn.0.is_closed()
    }
}

/// The TLS connector for `url`: its CA file alone when it names one, else the system's roots.
pub(crate) fn tls(url: &StoreUrl) -> Result<MakeRustlsConnect> {
    let mut roots = rustls::RootCertStore::empty();
    match &url.ca_file {
        Some(path) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|_| VaultError::invalid("sslrootcert", "the CA file could not be read"))?
                .collect::<std::result::Result<_, _>>()
                .map_err(|_| {
                    VaultError::invalid("sslrootcert", "the CA file is not PEM certificates")
                })?;
            if certs.is_empty() {
                return Err(VaultError::invalid(
                    "sslrootcert",
                    "the CA file holds no certificate",
                ));
            }
            for cert in certs {
                roots.add(cert).map_err(|_| {
                    VaultError::invalid("sslrootcert", "the CA file holds an unusable certificate")
                })?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(native.certs);
            if added == 0 {
                return Err(VaultError::invalid(
                    "sslrootcert",
                    "this machine has no trusted root certificates: name the server's CA file with sslrootcert=…",
                ));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| VaultError::invalid("team store URL", "TLS could not be set up"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

fn manager(url: &StoreUrl) -> Result<Manager> {
    Ok(if url.tls {
        Manager::Tls(PostgresConnectionManager::new(
            url.config.clone(),
            tls(url)?,
        ))
    } else {
        Manager::Plain(PostgresConnectionManager::new(url.config.clone(), NoTls))
    })
}

/// One connection outside any pool (migrations, checks).
pub fn connect(url: &StoreUrl) -> Result<postgres::Client> {
    use r2d2::ManageConnection;
    let manager = manager(url)?;
    crate::sql::off_runtime(|| manager.connect())
        .map(|c| c.0)
        .map_err(|e| unavailable(&e))
}

/// A desk's connection to the store at `url`: its role checked narrow, with the id of the
/// vault the store holds (none: no team was created on it yet).
pub(crate) fn desk(
    url: &StoreUrl,
) -> Result<(std::cell::RefCell<crate::sql::PgClient>, Option<String>)> {
    let mut client = crate::sql::PgClient::reconnecting(connect(url)?, url);
    super::schema::check_desk_role(client.get()?)?;
    let db = std::cell::RefCell::new(client);
    let vault_id = crate::sql::Db::Postgres(&db).query_value::<String>(
        "reading the vault id",
        "SELECT value FROM meta WHERE key = 'vault_id'",
        &[],
    )?;
    Ok((db, vault_id))
}

/// A pool of up to [`POOL_SIZE`] connections; the first is opened now, so a wrong URL, a
/// refused credential or an untrusted certificate is reported here.
pub fn pool(url: &StoreUrl, wait: Duration) -> Result<r2d2::Pool<Manager>> {
    let first = crate::sql::PgClient::new(connect(url)?);
    drop(first);
    Ok(r2d2::Pool::builder()
        .max_size(POOL_SIZE)
        .min_idle(Some(0))
        .connection_timeout(wait)
        .test_on_check_out(true)
        .build_unchecked(manager(url)?))
}

/// What a failed connection means to the user, without the URL or any value.
pub(crate) fn unavailable(e: &postgres::Error) -> VaultError {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        let problem = match code {
            "28P01" | "28000" => "the server refused the database user or its password".to_string(),
            "3D000" => "the database does not exist on the server".to_string(),
            _ => format!("the server refused the connection ({code})"),
        };
        return VaultError::StoreUnavailable(problem);
    }
    VaultError::StoreUnavailable(describe(e))
}

/// tokio-postgres's own message and its cause (I/O or TLS), which hold no bound value.
fn describe(e: &postgres::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !message.contains(&cause_text) {
            message = format!("{message}: {cause_text}");
        }
        source = cause.source();
    }
    message
}
