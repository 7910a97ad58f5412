//! What changed in the vault, for the windows that show it (issue 17: "`LISTEN/NOTIFY` → Tauri
//! events, so the queue, the dashboard and the merchant pages update when another desk takes,
//! decides, boards or edits").
//!
//! A change is named by the audit entry that records it: every change appends one, in the same
//! unit, so a change that did not commit is never announced.
//!
//! - **Team store:** the append of an entry that changes something also runs
//!   `pg_notify('desk_changes', <action>)` in that transaction; PostgreSQL delivers it at commit,
//!   to every desk listening, in commit order. A [`Listener`] holds a connection of its own
//!   that `LISTEN`s. The payload is the action's name (`review.decide`), which the audit table
//!   holds in clear anyway: no id, no value, nothing of KYC.
//! - **Local vault:** one desk, but its own background work (the boarding worker, the re-screen)
//!   and a `desk` command on the same folder change it too: [`Vault::changes_since`] reads the
//!   entries appended after the last one seen.
//!
//! Reads are audited as well (`review.queue`, `application.view`); they are no change, so they
//! announce nothing — a window that refreshes on a change must not make one.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use postgres::fallible_iterator::FallibleIterator;
use serde::Serialize;

use crate::sql::PgClient;
use crate::team::StoreUrl;
use crate::{Result, Vault, VaultError};

/// The channel the team store's desks listen on.
pub const CHANNEL: &str = "desk_changes";
/// At most this many entries are read per local poll (the rest on the next).
const LOCAL_BATCH: u32 = 5_000;

/// What a window may need to show again.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    serde::Deserialize,
    ts_rs::TS,
)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// Applications: the queue, its counts, the dashboard, an open review.
    Queue,
    /// Boarded merchants, the outbox and the platform's answers.
    Merchants,
    /// Members, their roles, lockouts.
    Users,
    /// Settings and proposals awaiting a second admin.
    Settings,
    /// Sanctions lists and the blocklist.
    Lists,
}

impl Topic {
    pub const ALL: [Topic; 5] = [
        Topic::Queue,
        Topic::Merchants,
        Topic::Users,
        Topic::Settings,
        Topic::Lists,
    ];

    /// Its name, as the window's event and `desk watch` say it.
    pub fn name(self) -> &'static str {
        match self {
            Topic::Queue => "queue",
            Topic::Merchants => "merchants",
            Topic::Users => "users",
            Topic::Settings => "settings",
            Topic::Lists => "lists",
        }
    }
}

/// What the change an audit entry records may have changed; none for a read.
pub fn topics(action: &str) -> &'static [Topic] {
    use Topic::*;
    match action {
        "application.create"
        | "application.save"
        | "application.update"
        | "application.submit"
        | "application.import"
        | "application.import_batch"
        | "application.withdraw"
        | "application.demo"
        | "application.note"
        | "document.add"
        | "document.delete"
        | "review.assign"
        | "screen.application"
        | "screen.rescreen"
        | "screen.disposition"
        | "gdpr.hold"
        | "gdpr.legal_hold"
        | "gdpr.hold_lifted" => &[Queue],
        // An approval queues the boarding; an erasure removes applications and merchants.
        "review.decide"
        | "review.decided"
        | "gdpr.erasure"
        | "gdpr.erasure_replayed"
        | "gdpr.retention_run" => &[Queue, Merchants],
        "boarding.boarded" | "boarding.needs_fix" | "boarding.fix" | "boarding.retry"
        | "boarding.cancel" | "merchants.sync" => &[Queue, Merchants],
        "merchant.act"
        | "merchant.suspend"
        | "merchant.edit"
        | "merchant.limits"
        | "merchant.change_accept"
        | "merchant.change_reject"
        | "merchant.review_flag"
        | "merchant.review_cleared"
        | "merchant.platform_update"
        | "merchant.platform_deleted" => &[Merchants],
        "user.create"
        | "user.disable"
        | "user.enable"
        | "user.password_reset"
        | "user.totp_reset"
        | "user.unlock"
        | "user.keys_moved"
        | "user.password_change"
        | "user.recover"
        | "user.totp_enrol"
        | "desk.registered"
        | "users.create"
        | "users.disable"
        | "users.enable"
        | "users.reset_password"
        | "users.reset_totp"
        | "users.unlock"
        | "auth.lockout" => &[Users],
        "settings.change"
        | "settings.confirm"
        | "settings.propose"
        | "settings.withdraw"
        | "settings.platform"
        | "settings.risk_rules"
        | "settings.screening_threshold"
        | "settings.retention_years"
        | "settings.retention_schedule"
        | "gdpr.retention_schedule"
        | "settings.export_days"
        | "settings.blocklist_years"
        | "settings.idle_minutes" => &[Settings],
        "lists.import" | "lists.activate" | "blocklist.add" | "blocklist.expired" => {
            &[Lists, Queue]
        }
        _ => &[],
    }
}

/// Whether an entry announces a change: its action changes something, and it happened.
pub(crate) fn announces(action: &str, outcome: crate::audit::Outcome) -> bool {
    outcome == crate::audit::Outcome::Ok && !topics(action).is_empty()
}

/// What one wait or poll found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changed {
    pub topics: BTreeSet<Topic>,
    /// Changes may have been missed (the listening connection was lost and made again): show
    /// everything again.
    pub resync: bool,
}

impl Changed {
    pub fn is_empty(&self) -> bool {
        self.topics.is_empty()
    }

    fn everything() -> Self {
        Self {
            topics: Topic::ALL.into_iter().collect(),
            resync: true,
        }
    }

    fn add(&mut self, action: &str) {
        self.topics.extend(topics(action).iter().copied());
    }
}

impl Vault {
    /// The sequence number of the newest audit entry (where a local poll starts).
    pub fn changes_head(&self) -> Result<i64> {
        Ok(self
            .db()
            .query_value::<i64>(
                "reading the audit head",
                "SELECT COALESCE(MAX(seq), 0) FROM audit",
                &[],
            )?
            .unwrap_or(0))
    }

    /// What the entries appended after `after` changed, and the newest one read (a local
    /// vault's feed; it works on the team store too, without waiting).
    pub fn changes_since(&self, after: i64) -> Result<(i64, Changed)> {
        let rows: Vec<(i64, String, String)> = self.db().query_map(
            "reading what changed",
            "SELECT seq, action, outcome FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            crate::args![after, LOCAL_BATCH as i64],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let mut changed = Changed::default();
        let mut last = after;
        for (seq, action, outcome) in rows {
            last = seq;
            if outcome == crate::audit::Outcome::Ok.as_str() {
                changed.add(&action);
            }
        }
        Ok((last, changed))
    }

    /// A listener for the team store's announcements, not yet connected (its first
    /// [`Listener::wait`] connects). `None` on a local vault.
    pub fn listener(&self) -> Result<Option<Listener>> {
        if !self.is_team() {
            return Ok(None);
        }
        let url = crate::dispatch::watchful(self.keyring.folder())?;
        Ok(Some(Listener {
            url: Box::new(url),
            conn: None,
            connected_once: false,
        }))
    }
}

/// A connection of its own that `LISTEN`s for the team's changes.
pub struct Listener {
    url: Box<StoreUrl>,
    conn: Option<PgClient>,
    connected_once: bool,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("connected", &self.conn.is_some())
            .finish_non_exhaustive()
    }
}

impl Listener {
    /// Whether the listening connection is open.
    pub fn is_connected(&self) -> bool {
        self.conn.is_some()
    }

    /// Waits up to `wait` for the first announcement, then gathers those that follow within
    /// `gather` of each other (a burst of decisions is one refresh). A connection made again
    /// after it was lost says `resync`: what happened meanwhile was not heard. An error is the
    /// store unreachable: the next call tries to connect again.
    pub fn wait(&mut self, wait: Duration, gather: Duration) -> Result<Changed> {
        let mut changed = Changed::default();
        if self.conn.is_none() {
            let mut conn = PgClient::new(crate::team::connect::connect(&self.url)?);
            let listen = format!("SET application_name = 'bd-listener'; LISTEN {CHANNEL}");
            match conn.run_quiet(move |c| c.batch_execute(&listen))? {
                Ok(()) => {}
                Err(e) => return Err(crate::team::connect::unavailable(&e)),
            }
            self.conn = Some(conn);
            if self.connected_once {
                changed = Changed::everything();
            }
            self.connected_once = true;
        }
        let conn = self.conn.as_mut().ok_or(VaultError::StoreUnavailable(
            "the connection was closed".to_string(),
        ))?;
        let heard = conn.run_quiet(move |c| {
            let mut actions = Vec::new();
            let mut notes = c.notifications();
            let Some(first) = notes.timeout_iter(wait).next()? else {
                return Ok(actions);
            };
            actions.push(first.payload().to_string());
            // A burst is gathered for at most a second.
            let burst = Instant::now();
            while burst.elapsed() < Duration::from_secs(1) {
                match notes.timeout_iter(gather).next()? {
                    Some(note) => actions.push(note.payload().to_string()),
                    None => break,
                }
            }
            Ok(actions)
        });
        match heard {
            Ok(Ok(actions)) => {
                for action in actions {
                    changed.add(&action);
                }
                Ok(changed)
            }
            Ok(Err(e)) => {
                self.conn = None;
                Err(crate::team::connect::unavailable(&e))
            }
            Err(e) => {
                self.conn = None;
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_announce_nothing_and_changes_name_what_to_show_again() {
        for read in [
            "review.queue",
            "review.view",
            "review.next",
            "review.dashboard",
            "application.view",
            "application.list",
            "application.reveal",
            "merchants.view",
            "merchant.changes",
            "boarding.view",
            "users.list",
            "settings.view",
            "settings.pending",
            "lists.view",
            "audit.list",
            "auth.sign_in",
        ] {
            assert!(topics(read).is_empty(), "{read} is a read");
        }
        assert_eq!(topics("review.decide"), &[Topic::Queue, Topic::Merchants]);
        assert_eq!(topics("review.assign"), &[Topic::Queue]);
        assert!(topics("boarding.boarded").contains(&Topic::Merchants));
        assert_eq!(topics("merchant.edit"), &[Topic::Merchants]);
        assert_eq!(topics("user.disable"), &[Topic::Users]);
        assert_eq!(topics("user.password_change"), &[Topic::Users]);
        assert_eq!(topics("gdpr.retention_schedule"), &[Topic::Settings]);
        assert!(!announces("review.decide", crate::audit::Outcome::Denied));
        assert!(announces("review.decide", crate::audit::Outcome::Ok));
    }
}
