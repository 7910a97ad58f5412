//! Which desk sends the outbox (issue 17: "the platform's rate limit holds for the team, not per
//! desk (one dispatcher elected with `pg_try_advisory_lock`) … when the dispatching desk closes
//! or dies, another takes over within 30 s").
//!
//! One worker per vault sends; every other one stands by and tries again every few seconds.
//!
//! - **Team store:** the sender holds a session-level advisory lock on a connection of its own.
//!   The lock ends with that connection, so a desk that closes, crashes or is killed gives it
//!   up at once. A desk that vanishes from the network gives it up when the server's keepalives
//!   find it gone (set on that connection to about 20 s). Its leased jobs come back when their
//!   leases run out (25 s by default). The leases' fencing tokens keep a sender that lost the
//!   lock from recording anything after another took over. The idempotency keys stored before
//!   each first attempt keep a resent step from making a second account.
//! - **Local vault:** an exclusive lock on `dispatch.lock` in the data folder, so the window
//!   and a `desk boarding drain` on the same folder do not both send.
//!
//! Who holds it is shown to the others: the sender's connection names itself
//! (`application_name`), which is read back through `pg_locks` and `pg_stat_activity`. That
//! name is for display only and is cleaned before it is shown (any desk could set one).

use std::path::PathBuf;
use std::time::Duration;

use time::OffsetDateTime;

use crate::sql::PgClient;
use crate::team::StoreUrl;
use crate::{Result, Vault, VaultError};

/// The advisory lock's two keys: the application's ("BDSK") and the dispatcher's.
const LOCK_KEYS: (i32, i32) = (0x4244_534b, 1);
/// The file a local vault's sender holds.
pub const LOCK_FILE: &str = "dispatch.lock";
/// What starts the sender's `application_name`.
const SENDER: &str = "bd-sender";
/// Who holds a local vault's lock, as far as this process can tell.
const ANOTHER_HERE: &str = "another window or command on this desk";
/// PostgreSQL cuts an `application_name` to this many bytes.
const NAME_MAX: usize = 63;

/// Where this desk stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// This worker sends, since `since`.
    Sending { since: OffsetDateTime },
    /// Another worker sends: `by` (as it names itself), since `since`, when known.
    StandingBy {
        by: Option<String>,
        since: Option<OffsetDateTime>,
    },
}

enum Place {
    Local(PathBuf),
    Team(Box<StoreUrl>),
}

enum Held {
    /// The open file whose lock is held (closing it gives the lock up).
    Local {
        _file: std::fs::File,
    },
    Team,
}

/// One worker's claim to be the vault's sender. Dropping it gives the claim up.
pub struct Dispatch {
    place: Place,
    /// How the sender names itself to the others (`alice at desk 1a2b3c4d`).
    label: String,
    /// The connection the lock is (or would be) held on.
    conn: Option<PgClient>,
    held: Option<(Held, OffsetDateTime)>,
}

impl std::fmt::Debug for Dispatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatch")
            .field("sending", &self.held.is_some())
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// A claim to send this vault's outbox, not yet tried ([`Dispatch::claim`]). `label` is
    /// how the others are told who sends (a username and this desk's name; nothing of KYC).
    pub fn dispatch(&self, label: &str) -> Result<Dispatch> {
        let dir = self.keyring.folder();
        let place = if self.is_team() {
            Place::Team(Box::new(watchful(dir)?))
        } else {
            Place::Local(dir.join(LOCK_FILE))
        };
        Ok(Dispatch {
            place,
            label: clean(label),
            conn: None,
            held: None,
        })
    }

    /// Who sends this vault's outbox now, asked without trying to (the CLI's status, which
    /// runs no worker): `None` when nobody does.
    pub fn who_sends(&self) -> Result<Option<Standing>> {
        if !self.is_team() {
            let path = self.keyring.folder().join(LOCK_FILE);
            let file = match std::fs::OpenOptions::new().write(true).open(&path) {
                Ok(file) => file,
                // Never made: nobody has sent from this folder.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(VaultError::io("the dispatch lock", "opened")(e)),
            };
            return match file.try_lock() {
                // Free: taken for this instant only, given back as the file closes.
                Ok(()) => Ok(None),
                Err(std::fs::TryLockError::WouldBlock) => Ok(Some(Standing::StandingBy {
                    by: Some(ANOTHER_HERE.to_string()),
                    since: None,
                })),
                Err(std::fs::TryLockError::Error(e)) => {
                    Err(VaultError::io("the dispatch lock", "taken")(e))
                }
            };
        }
        // The lock's keys are the SQL's own constants (the same as `LOCK_KEYS`).
        let holder: Option<Option<String>> = self.db().query_row(
            "asking who sends the outbox",
            "SELECT a.application_name FROM pg_locks l
             JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.granted
               AND l.classid = CAST(?1 AS INTEGER)::oid AND l.objid = CAST(?2 AS INTEGER)::oid
               AND l.objsubid = 2
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            crate::args![LOCK_KEYS.0 as i64, LOCK_KEYS.1 as i64],
            |r| r.get(0),
        )?;
        Ok(holder.map(|name| read_sender(name.as_deref().unwrap_or_default())))
    }

    /// How this desk names itself as a sender: `alice at desk 1a2b3c4d`, or `alice` on a desk
    /// no admin registered.
    pub fn sender_label(&self, username: &str) -> String {
        match self.desk.borrow().as_ref() {
            Some(desk) => format!(
                "{username} at {}",
                crate::desks::name(desk.slot.trim_start_matches(crate::desks::PREFIX))
            ),
            None => username.to_string(),
        }
    }
}

/// The team store's URL, as placed in the data folder `dir`, for a connection that must notice
/// a vanished peer quickly (the sender's lock, the change listener).
pub(crate) fn watchful(dir: &std::path::Path) -> Result<StoreUrl> {
    let (mut url, _) = crate::team::placement::read(dir)?;
    // A desk that vanishes (power, network) must not keep the lock for the two hours of the
    // kernel's default keepalive: the client side gives up on a silent server after 15 s, and
    // the server is told (by the sender) to drop a silent desk after ~20 s.
    url.config
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(5))
        .keepalives_interval(Duration::from_secs(5))
        .keepalives_retries(3)
        .tcp_user_timeout(Duration::from_secs(15));
    Ok(url)
}

impl Dispatch {
    /// Whether this worker may send now: keeps the claim it holds (checking it is still held),
    /// or tries to take it. An error is the store unreachable: this worker does not send.
    pub fn claim(&mut self) -> Result<Standing> {
        if let Some((_, since)) = &self.held {
            let since = *since;
            if self.still_held() {
                return Ok(Standing::Sending { since });
            }
            self.release();
        }
        match &self.place {
            Place::Local(path) => {
                let file = crate::db::private_file()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(path)
                    .map_err(VaultError::io("the dispatch lock", "opened"))?;
                match file.try_lock() {
                    Ok(()) => Ok(self.took(Held::Local { _file: file }, OffsetDateTime::now_utc())),
                    Err(std::fs::TryLockError::WouldBlock) => Ok(Standing::StandingBy {
                        by: Some(ANOTHER_HERE.to_string()),
                        since: None,
                    }),
                    Err(std::fs::TryLockError::Error(e)) => {
                        Err(VaultError::io("the dispatch lock", "taken")(e))
                    }
                }
            }
            Place::Team(url) => {
                if self.conn.is_none() {
                    self.conn = Some(PgClient::new(crate::team::connect::connect(url)?));
                    let standby = name(&format!("bd-standby {}", self.label));
                    self.on_conn(move |c| {
                        c.batch_execute(
                            "SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 5;
                             SET tcp_keepalives_count = 3",
                        )?;
                        c.execute(
                            "SELECT set_config('application_name', $1, false)",
                            &[&standby],
                        )
                    })?;
                }
                let got = self.on_conn(|c| {
                    c.query_one(
                        "SELECT pg_try_advisory_lock($1, $2)",
                        &[&LOCK_KEYS.0, &LOCK_KEYS.1],
                    )
                    .map(|r| r.get::<_, bool>(0))
                })?;
                if got {
                    let since = OffsetDateTime::now_utc();
                    let sender = name(&format!(
                        "{SENDER} {} {}",
                        since.unix_timestamp(),
                        self.label
                    ));
                    self.on_conn(move |c| {
                        c.execute(
                            "SELECT set_config('application_name', $1, false)",
                            &[&sender],
                        )
                    })?;
                    return Ok(self.took(Held::Team, since));
                }
                let holder = self.on_conn(|c| {
                    c.query_opt(
                        "SELECT a.application_name FROM pg_locks l
                         JOIN pg_stat_activity a ON a.pid = l.pid
                         WHERE l.locktype = 'advisory' AND l.granted
                           AND l.classid = $1::int::oid AND l.objid = $2::int::oid
                           AND l.objsubid = 2
                           AND l.database = (SELECT oid FROM pg_database
                                             WHERE datname = current_database())",
                        &[&LOCK_KEYS.0, &LOCK_KEYS.1],
                    )
                    .map(|r| r.and_then(|r| r.get::<_, Option<String>>(0)))
                })?;
                Ok(holder
                    .as_deref()
                    .map(read_sender)
                    .unwrap_or(Standing::StandingBy {
                        by: None,
                        since: None,
                    }))
            }
        }
    }

    /// Runs `f` on the lock's connection; a failure drops the connection (and any lock).
    fn on_conn<T: Send>(
        &mut self,
        f: impl FnOnce(&mut postgres::Client) -> std::result::Result<T, postgres::Error> + Send,
    ) -> Result<T> {
        let conn = self.conn.as_mut().ok_or(VaultError::StoreUnavailable(
            "the connection was closed".to_string(),
        ))?;
        match conn.run_quiet(f)? {
            Ok(out) => Ok(out),
            Err(e) => {
                self.held = None;
                self.conn = None;
                Err(crate::team::connect::unavailable(&e))
            }
        }
    }

    /// Whether this worker holds the claim (as of the last [`Dispatch::claim`]).
    pub fn is_sending(&self) -> bool {
        self.held.is_some()
    }

    /// Gives the claim up (the session locked, the worker stops): another desk may take it.
    pub fn release(&mut self) {
        self.held = None;
        // The lock is the connection's: closing it gives the lock up, whatever state the
        // connection is in.
        self.conn = None;
    }

    fn took(&mut self, held: Held, since: OffsetDateTime) -> Standing {
        self.held = Some((held, since));
        Standing::Sending { since }
    }

    /// Asks the server whether this connection still holds the lock.
    fn still_held(&mut self) -> bool {
        match (&self.held, self.conn.as_mut()) {
            (Some((Held::Local { .. }, _)), _) => true,
            (Some((Held::Team, _)), Some(conn)) => {
                conn.run_quiet(|c| {
                    c.query_one(
                        "SELECT count(*) FROM pg_locks
                         WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
                           AND classid = $1::int::oid AND objid = $2::int::oid AND objsubid = 2",
                        &[&LOCK_KEYS.0, &LOCK_KEYS.1],
                    )
                    .map(|r| r.get::<_, i64>(0))
                })
                .ok()
                .and_then(|r| r.ok())
                    == Some(1)
            }
            _ => false,
        }
    }
}

/// `text` cut to what PostgreSQL keeps of an `application_name`, on a character boundary.
fn name(text: &str) -> String {
    let mut end = text.len().min(NAME_MAX);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// Printable characters only: a name that comes back from the store is shown to a person.
fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(NAME_MAX)
        .collect()
}

/// What a sender's `application_name` says (`bd-sender <unix time> <label>`).
fn read_sender(name: &str) -> Standing {
    let mut parts = name.splitn(3, ' ');
    if parts.next() != Some(SENDER) {
        return Standing::StandingBy {
            by: None,
            since: None,
        };
    }
    let since = parts
        .next()
        .and_then(|t| t.parse::<i64>().ok())
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
    let by = parts.next().map(clean).filter(|b| !b.trim().is_empty());
    Standing::StandingBy { by, since }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_senders_name_is_read_back_cleaned_and_a_foreign_one_names_nobody() {
        let t = OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
        assert_eq!(
            read_sender("bd-sender 1790000000 alice at desk 1a2b3c4d"),
            Standing::StandingBy {
                by: Some("alice at desk 1a2b3c4d".into()),
                since: Some(t)
            }
        );
        assert_eq!(
            read_sender("bd-sender 1790000000 eve\u{1b}[31m"),
            Standing::StandingBy {
                by: Some("eve[31m".into()),
                since: Some(t)
            }
        );
        assert_eq!(
            read_sender("psql"),
            Standing::StandingBy {
                by: None,
                since: None
            }
        );
        assert_eq!(
            read_sender("bd-sender soon"),
            Standing::StandingBy {
                by: None,
                since: None
            }
        );
    }

    #[test]
    fn names_are_cut_where_postgresql_cuts_them_on_a_character_boundary() {
        let long = format!("{SENDER} 1790000000 {}", "é".repeat(40));
        let cut = name(&long);
        assert!(cut.len() <= NAME_MAX && long.starts_with(&cut));
        assert_eq!(name("short"), "short");
    }
}
