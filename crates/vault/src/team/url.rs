//! The team store's URL, and the transport policy it must satisfy before anything connects
//! (docs/adr/0001-team-store.md, "TLS").
//!
//! - Only the URL form (`postgres://` or `postgresql://`) is taken; it may list several hosts
//!   (`h1:5432,h2:5432`) with `target_session_attrs=read-write`, so a desk follows a promoted
//!   replica.
//! - A host that is not on this machine (not loopback, not a Unix socket) must be reached over
//!   TLS. With no `sslmode` the desk requires TLS; `sslmode=disable` or `prefer` (which falls
//!   back to plaintext) to such a host is refused with the host named.
//! - With TLS, the server's certificate is always verified, chain and host name (rustls), against
//!   the system's roots or the CA file named by `sslrootcert`: `require`, `verify-ca` and
//!   `verify-full` all mean `verify-full` here.
//! - Errors name the part of the URL that is wrong and never echo the password.

use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use postgres::config::{Host, SslMode};

use crate::{Result, VaultError};

const FIELD: &str = "team store URL";

/// A parsed team store URL that passed the transport policy.
#[derive(Clone)]
pub struct StoreUrl {
    pub(crate) config: postgres::Config,
    /// The CA file that alone is trusted for the server's certificate (`sslrootcert`).
    pub(crate) ca_file: Option<PathBuf>,
    /// Whether TLS is used (required for a remote host, asked for on a local one).
    pub(crate) tls: bool,
    redacted: String,
    /// The URL as parsed (with any password), to write it back without one.
    original: Option<String>,
}

impl std::fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl StoreUrl {
    /// The URL as it can be shown or logged: the password, if any, replaced by `***`.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// Whether the connection is made over TLS.
    pub fn uses_tls(&self) -> bool {
        self.tls
    }

    /// The database user the URL connects as.
    pub fn user(&self) -> Option<&str> {
        self.config.get_user()
    }

    /// The same store, as another database user (the owner role that migrates, the desks'
    /// role that works); the password is left out.
    pub fn as_user(&self, user: &str) -> StoreUrl {
        let mut other = self.clone();
        other.config.user(user);
        other.config.password(Vec::<u8>::new());
        other
    }

    /// The URL as given, with the password left out (what a desk keeps in its folder).
    pub fn without_password(&self) -> String {
        let scheme_len = if self.redacted.starts_with("postgresql://") {
            "postgresql://".len()
        } else {
            "postgres://".len()
        };
        self.original
            .as_deref()
            .map(|url| strip_password(url, scheme_len))
            .unwrap_or_default()
    }

    /// Uses `password` when the URL gives none (the CLI passes `$PGPASSWORD`, as libpq does,
    /// so a password need not sit on a command line).
    pub fn default_password(&mut self, password: &[u8]) {
        if self.config.get_password().is_none() {
            self.config.password(password);
        }
    }

    /// Sets the time a connection attempt may take (the URL's `connect_timeout`, else 10 s).
    pub fn set_connect_timeout(&mut self, timeout: Duration) {
        self.config.connect_timeout(timeout);
    }
}

impl FromStr for StoreUrl {
    type Err = VaultError;

    fn from_str(url: &str) -> Result<Self> {
        parse(url)
    }
}

fn invalid(problem: impl Into<String>) -> VaultError {
    VaultError::invalid(FIELD, problem)
}

/// Parses `url` and applies the transport policy.
pub fn parse(url: &str) -> Result<StoreUrl> {
    let url = url.trim();
    let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    else {
        return Err(invalid(
            "must start with postgres:// (for example postgres://desk@db.example.com/boarding_desk)",
        ));
    };
    let scheme_len = url.len() - rest.len();
    // Our own parameters are taken out before tokio-postgres reads the rest (it refuses names
    // it does not know, such as `sslrootcert`).
    // The user part ends at the first `@`, as tokio-postgres reads it (a password may hold
    // `/`, `?` or `#`): the query starts after it.
    let after_user = rest.find('@').map_or(scheme_len, |at| scheme_len + at + 1);
    let (base, query) = match url[after_user..].split_once('?') {
        Some((_, query)) => (&url[..url.len() - query.len() - 1], Some(query)),
        None => (url, None),
    };
    let mut kept = Vec::new();
    let mut ssl_mode = None;
    let mut ca_file = None;
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        if pair.is_empty() {
            continue;
        }
        let (key, value) = url::form_urlencoded::parse(pair.as_bytes())
            .next()
            .unwrap_or_default();
        match &*key {
            "sslmode" => ssl_mode = Some(value.into_owned()),
            "sslrootcert" => ca_file = Some(PathBuf::from(value.into_owned())),
            "password" => {
                return Err(invalid(
                    "give the password in the user part (postgres://user:password@host/…), not as a parameter",
                ))
            }
            _ => kept.push(pair),
        }
    }
    let rebuilt = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let mut config = postgres::Config::from_str(&rebuilt).map_err(|e| {
        // tokio-postgres names the option it could not read (in the error's cause); neither
        // holds a value.
        let cause = std::error::Error::source(&e).map(ToString::to_string);
        invalid(format!(
            "could not be read ({})",
            cause.unwrap_or_else(|| e.to_string())
        ))
    })?;
    // tokio-postgres ends the user part at the first `@`: a second one leaves part of the
    // password in the host, which messages would then show.
    if config
        .get_hosts()
        .iter()
        .any(|h| matches!(h, Host::Tcp(name) if name.contains('@')))
    {
        return Err(invalid(
            "its password holds an @: write it as %40 (percent-encoded)",
        ));
    }
    if config.get_hosts().is_empty() {
        return Err(invalid(
            "names no host: give the database server's host name",
        ));
    }
    if config.get_dbname().is_none_or(str::is_empty) {
        return Err(invalid(
            "names no database: end it with the database's name (…/boarding_desk)",
        ));
    }
    if config.get_user().is_none() {
        return Err(invalid(
            "names no database user: put it before the host (postgres://user@host/…)",
        ));
    }
    let remote: Vec<String> = remote_hosts(&config);
    let prefer = matches!(ssl_mode.as_deref(), Some("allow" | "prefer"));
    let tls = match (ssl_mode.as_deref(), remote.first()) {
        (None, None) => false,
        (None, Some(_)) => true,
        (Some("disable" | "allow" | "prefer"), Some(host)) => {
            return Err(invalid(format!(
                "{host} is not on this machine, so the team store must be reached over TLS: \
                 remove sslmode={} (the desk then requires TLS and verifies the server's certificate)",
                ssl_mode.as_deref().unwrap_or_default()
            )))
        }
        (Some("disable"), None) => false,
        (Some("allow" | "prefer"), None) => true,
        (Some("require" | "verify-ca" | "verify-full"), _) => true,
        (Some(_), _) => {
            return Err(invalid(
                "sslmode must be disable, require, verify-ca or verify-full",
            ))
        }
    };
    if tls {
        config.ssl_mode(if prefer {
            SslMode::Prefer
        } else {
            SslMode::Require
        });
    } else {
        config.ssl_mode(SslMode::Disable);
        if ca_file.is_some() {
            return Err(invalid(
                "sslrootcert is given but TLS is not used: add sslmode=verify-full",
            ));
        }
    }
    if config.get_application_name().is_none() {
        config.application_name("boarding-desk");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    Ok(StoreUrl {
        config,
        ca_file,
        tls,
        redacted: redact(url, scheme_len),
        original: Some(url.to_string()),
    })
}

/// The hosts of `config` that are not on this machine, as they are named.
fn remote_hosts(config: &postgres::Config) -> Vec<String> {
    let addrs = config.get_hostaddrs();
    config
        .get_hosts()
        .iter()
        .enumerate()
        .filter_map(|(i, host)| {
            // With `hostaddr`, the connection goes to that address (the name is for TLS).
            let local = match (addrs.get(i), host) {
                (Some(addr), _) => addr.is_loopback(),
                (None, Host::Unix(_)) => true,
                (None, Host::Tcp(name)) => is_loopback_name(name),
            };
            (!local).then(|| match host {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            })
        })
        .collect()
}

fn is_loopback_name(name: &str) -> bool {
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The user part of `tail` (after the scheme) and the rest, split at the first `@` as
/// tokio-postgres splits it; `None` when there is no user part.
fn split_user(tail: &str) -> Option<(&str, &str)> {
    tail.split_once('@')
}

/// `url` with the password of its user part left out.
fn strip_password(url: &str, scheme_len: usize) -> String {
    let (head, tail) = url.split_at(scheme_len);
    match split_user(tail) {
        Some((userinfo, rest)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            format!("{head}{user}@{rest}")
        }
        None => url.to_string(),
    }
}

/// `url` with the password of its user part replaced by `***`.
fn redact(url: &str, scheme_len: usize) -> String {
    let (head, tail) = url.split_at(scheme_len);
    match split_user(tail) {
        Some((userinfo, rest)) if userinfo.contains(':') => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            format!("{head}{user}:***@{rest}")
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> String {
        match parse(url) {
            Err(VaultError::Invalid { field, problem }) => {
                assert_eq!(field, FIELD);
                problem
            }
            Err(other) => panic!("{url}: another error: {other}"),
            Ok(parsed) => panic!("{url}: accepted as {parsed:?}"),
        }
    }

    #[test]
    fn a_remote_host_without_tls_is_refused_and_named() {
        for url in [
            "postgres://desk:s3cret@db.example.com/boarding_desk?sslmode=disable",
            "postgres://desk:s3cret@db.example.com/boarding_desk?sslmode=prefer",
            "postgres://desk@10.0.0.5:5432/boarding_desk?sslmode=allow",
            // One remote host among loopback ones is enough.
            "postgres://desk@127.0.0.1:5432,db2.example.com:5432/boarding_desk?sslmode=disable",
            // A loopback name resolved to a remote address.
            "postgres://desk@localhost/boarding_desk?hostaddr=10.0.0.5&sslmode=disable",
        ] {
            let problem = refused(url);
            assert!(
                problem.contains("must be reached over TLS"),
                "{url}: {problem}"
            );
            assert!(!problem.contains("s3cret"), "{problem}");
        }
        assert!(refused("postgres://desk@db2.example.com/d?sslmode=disable")
            .contains("db2.example.com"));
    }

    #[test]
    fn a_remote_host_gets_verified_tls_by_default() {
        for url in [
            "postgres://desk@db.example.com/boarding_desk",
            "postgresql://desk@db.example.com/boarding_desk?sslmode=require",
            "postgres://desk@db.example.com/boarding_desk?sslmode=verify-full&sslrootcert=/etc/desk/ca.pem",
        ] {
            let parsed = parse(url).expect(url);
            assert!(parsed.uses_tls(), "{url}");
            assert_eq!(parsed.config.get_ssl_mode(), SslMode::Require, "{url}");
        }
        let parsed = parse(
            "postgres://desk@db.example.com/boarding_desk?sslrootcert=%2Fetc%2Fdesk%2Fca%20file.pem",
        )
        .expect("a CA file");
        assert_eq!(
            parsed.ca_file.as_deref(),
            Some(std::path::Path::new("/etc/desk/ca file.pem"))
        );
    }

    #[test]
    fn loopback_and_sockets_may_go_without_tls() {
        for url in [
            "postgres://desk@127.0.0.1:5433/boarding_desk",
            "postgres://desk@localhost/boarding_desk?sslmode=disable",
            "postgres://desk@[::1]:5432/boarding_desk",
            "postgres://desk@%2Frun%2Fpostgresql/boarding_desk",
            "postgres://desk@db.example.com/boarding_desk?hostaddr=127.0.0.1",
        ] {
            let parsed = parse(url).expect(url);
            assert!(!parsed.uses_tls(), "{url}");
            assert_eq!(parsed.config.get_ssl_mode(), SslMode::Disable, "{url}");
        }
    }

    #[test]
    fn several_hosts_follow_the_writable_one() {
        let parsed = parse(
            "postgres://desk@db1.example.com:5432,db2.example.com:5433/boarding_desk?target_session_attrs=read-write",
        )
        .expect("two hosts");
        assert_eq!(parsed.config.get_hosts().len(), 2);
        assert_eq!(parsed.config.get_ports(), &[5432, 5433]);
        assert_eq!(
            parsed.config.get_target_session_attrs(),
            postgres::config::TargetSessionAttrs::ReadWrite
        );
        assert!(parsed.uses_tls());
    }

    #[test]
    fn bad_urls_say_what_is_wrong_without_the_password() {
        assert!(refused("mysql://desk@db/boarding_desk").contains("postgres://"));
        assert!(refused("postgres://desk:pw@127.0.0.1/").contains("no database"));
        assert!(refused("postgres://127.0.0.1/boarding_desk").contains("no database user"));
        assert!(refused("postgres://desk@127.0.0.1/d?sslmode=sometimes").contains("sslmode"));
        assert!(
            refused("postgres://desk@127.0.0.1/d?sslrootcert=/ca.pem").contains("TLS is not used")
        );
        let problem = refused("postgres://desk:hunter22@127.0.0.1/d?bogus=1");
        assert!(problem.contains("bogus"), "{problem}");
        assert!(!problem.contains("hunter22"), "{problem}");
        assert!(refused("postgres://desk@127.0.0.1/d?password=hunter22").contains("user part"));
        let problem = refused("postgres://desk:hun@ter22@db.example.com/d");
        assert!(
            problem.contains("%40") && !problem.contains("ter22"),
            "{problem}"
        );
    }

    #[test]
    fn the_shown_url_hides_the_password() {
        let parsed =
            parse("postgres://desk:hunter22@db.example.com:5432/boarding_desk?sslmode=require")
                .expect("valid");
        assert_eq!(
            parsed.redacted(),
            "postgres://desk:***@db.example.com:5432/boarding_desk?sslmode=require"
        );
        assert!(!format!("{parsed:?}").contains("hunter22"));
        assert_eq!(
            parsed.without_password(),
            "postgres://desk@db.example.com:5432/boarding_desk?sslmode=require"
        );
        // A password holding `/`, `?` or `@` is still the password (tokio-postgres's reading):
        // it is hidden whole, and no part of it is taken for the query or the host.
        for url in [
            "postgres://desk:pa/ss@db.example.com/boarding_desk",
            "postgres://desk:pa?ss@db.example.com/boarding_desk",
            "postgres://desk:pa?password=x@db.example.com/boarding_desk",
        ] {
            let parsed = parse(url).expect(url);
            assert_eq!(
                parsed.redacted(),
                "postgres://desk:***@db.example.com/boarding_desk",
                "{url}"
            );
            assert_eq!(
                parsed.without_password(),
                "postgres://desk@db.example.com/boarding_desk"
            );
            assert!(!format!("{parsed:?}").contains("ss@"), "{url}");
        }
        let plain = parse("postgres://desk@127.0.0.1/boarding_desk").expect("valid");
        assert_eq!(plain.redacted(), "postgres://desk@127.0.0.1/boarding_desk");
    }
}
