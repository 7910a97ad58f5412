//! Which worker sends (`vault::dispatch`): one per vault, so the platform's rate limit holds
//! for the team. The claim is made the first time the worker has a session that may send,
//! checked at most once a second while held, and tried again every `claim_every` while another
//! desk sends. A session that locks, or a role that may not send, gives it up.

use std::time::{Duration, Instant};

use serde::Serialize;
use time::OffsetDateTime;
use vault::dispatch::{Dispatch, Standing};
use vault::Vault;

/// How often a held claim is checked with the store.
const CHECK_HELD: Duration = Duration::from_secs(1);

/// Who sends this vault's outbox, as this desk's worker knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Sender {
    /// This desk's worker sends.
    ThisDesk {
        #[serde(with = "time::serde::rfc3339")]
        since: OffsetDateTime,
    },
    /// Another desk's worker (or another window or command on this desk) sends; this one
    /// stands by and takes over when that one stops.
    OtherDesk {
        /// How the sender names itself (`alice at desk 1a2b3c4d`), when it does.
        by: Option<String>,
        #[serde(with = "time::serde::rfc3339::option")]
        since: Option<OffsetDateTime>,
    },
    /// The team store could not be asked since `since`: this desk sends nothing until it can.
    Unreachable {
        #[serde(with = "time::serde::rfc3339")]
        since: OffsetDateTime,
    },
    /// This desk's worker is not trying: no session that may send (locked, an auditor's).
    Idle,
    /// No worker sends now (asked without running one: the CLI's status).
    Nobody,
}

impl Sender {
    /// Who sends, asked of the vault by a process that runs no worker.
    pub fn asked(vault: &Vault) -> crate::Result<Self> {
        Ok(match vault.who_sends()? {
            None => Sender::Nobody,
            Some(Standing::Sending { since }) => Sender::ThisDesk { since },
            Some(Standing::StandingBy { by, since }) => Sender::OtherDesk { by, since },
        })
    }
}

pub(super) struct Claim {
    dispatch: Option<Dispatch>,
    sender: Sender,
    checked: Option<Instant>,
}

impl Claim {
    pub(super) fn new() -> Self {
        Self {
            dispatch: None,
            sender: Sender::Idle,
            checked: None,
        }
    }

    pub(super) fn sender(&self) -> Sender {
        self.sender.clone()
    }

    /// Whether this worker may lease a job now, claiming (or checking) the sender's role when
    /// it is time to.
    pub(super) fn may_send(
        &mut self,
        vault: &Vault,
        username: &str,
        claim_every: Duration,
    ) -> bool {
        let sending = matches!(self.sender, Sender::ThisDesk { .. });
        let every = if sending { CHECK_HELD } else { claim_every };
        if self.checked.is_some_and(|t| t.elapsed() < every) {
            return sending;
        }
        self.checked = Some(Instant::now());
        if self.dispatch.is_none() {
            match vault.dispatch(&vault.sender_label(username)) {
                Ok(d) => self.dispatch = Some(d),
                Err(e) => {
                    self.unreachable(&e);
                    return false;
                }
            }
        }
        let Some(dispatch) = self.dispatch.as_mut() else {
            return false;
        };
        match dispatch.claim() {
            Ok(Standing::Sending { since }) => {
                if !sending {
                    tracing::info!("boarding worker: this desk now sends the outbox");
                }
                self.sender = Sender::ThisDesk { since };
                true
            }
            Ok(Standing::StandingBy { by, since }) => {
                if sending {
                    tracing::warn!("boarding worker: the sender's role was lost; standing by");
                }
                self.sender = Sender::OtherDesk { by, since };
                false
            }
            Err(e) => {
                self.unreachable(&e);
                false
            }
        }
    }

    fn unreachable(&mut self, e: &vault::VaultError) {
        if !matches!(self.sender, Sender::Unreachable { .. }) {
            tracing::warn!("boarding worker: who sends could not be settled: {e}");
            self.sender = Sender::Unreachable {
                since: OffsetDateTime::now_utc(),
            };
        }
    }

    /// Gives the role up (no session that may send): another desk may take it at once.
    pub(super) fn give_up(&mut self) {
        if let Some(mut d) = self.dispatch.take() {
            d.release();
        }
        self.sender = Sender::Idle;
        self.checked = None;
    }
}
