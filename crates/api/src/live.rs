//! Live updates (issue 17): what another desk (or this desk's own background work) changed, so
//! the window shows the queue, the dashboard and the merchants again without a reload, and
//! `desk watch` prints it.
//!
//! Only while a session is signed in and ready, and only topic names: no id, no value. The
//! window asks for the data again through the usual commands, which check the session and the
//! role as always — an announcement grants nothing.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use uuid::Uuid;
use vault::changes::{Listener, Topic};

use crate::session::{SessionSlot, Stage};
use crate::Result;

/// How long a team desk waits for the store's announcements per step, and how often a local
/// vault's log is read.
pub const WAIT: Duration = Duration::from_secs(1);
/// The window's event.
pub const EVENT: &str = "desk-changed";
/// Announcements this close together are one refresh.
pub const GATHER: Duration = Duration::from_millis(150);

/// What the window is told.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Changes {
    /// What may need showing again, each once.
    pub topics: Vec<Topic>,
    /// Changes may have been missed (the store was out of reach): show everything again.
    pub resync: bool,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.topics.is_empty()
    }
}

enum Feed {
    Idle,
    Local {
        vault: Uuid,
        after: i64,
    },
    Team {
        vault: Uuid,
        listener: Box<Listener>,
    },
}

/// Watches the signed-in session's vault for changes.
pub struct Live {
    slot: Arc<Mutex<SessionSlot>>,
    feed: Mutex<Feed>,
}

impl Live {
    pub fn new(slot: Arc<Mutex<SessionSlot>>) -> Self {
        Self {
            slot,
            feed: Mutex::new(Feed::Idle),
        }
    }

    /// Waits up to about [`WAIT`] and says what changed meanwhile (empty: nothing, or no
    /// session). A session that just began starts from now: what it shows first is fresh.
    pub fn step(&self) -> Result<Changes> {
        let mut feed = self.feed.lock().unwrap_or_else(PoisonError::into_inner);
        let (vault_id, team) = {
            let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
            match watched(&mut slot) {
                None => {
                    *feed = Feed::Idle;
                    drop(slot);
                    std::thread::sleep(WAIT);
                    return Ok(Changes::default());
                }
                Some((id, team)) => (id, team),
            }
        };
        let same = match &*feed {
            Feed::Local { vault, .. } | Feed::Team { vault, .. } => *vault == vault_id,
            Feed::Idle => false,
        };
        if !same {
            let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(session) = slot.current_mut() else {
                return Ok(Changes::default());
            };
            *feed = if team {
                match session.vault().listener()? {
                    Some(listener) => Feed::Team {
                        vault: vault_id,
                        listener: Box::new(listener),
                    },
                    None => Feed::Idle,
                }
            } else {
                Feed::Local {
                    vault: vault_id,
                    after: session.vault().changes_head()?,
                }
            };
        }
        match &mut *feed {
            Feed::Idle => Ok(Changes::default()),
            Feed::Team { listener, .. } => {
                // The slot is free while this waits: the window's calls go on.
                let changed = listener.wait(WAIT, GATHER)?;
                Ok(Changes {
                    topics: changed.topics.into_iter().collect(),
                    resync: changed.resync,
                })
            }
            Feed::Local { after, .. } => {
                let found = {
                    let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
                    match slot.current_mut() {
                        Some(session) => Some(session.vault().changes_since(*after)?),
                        None => None,
                    }
                };
                match found {
                    Some((last, changed)) if !changed.is_empty() => {
                        *after = last;
                        Ok(Changes {
                            topics: changed.topics.into_iter().collect(),
                            resync: false,
                        })
                    }
                    Some((last, _)) => {
                        *after = last;
                        drop(feed);
                        std::thread::sleep(WAIT);
                        Ok(Changes::default())
                    }
                    None => Ok(Changes::default()),
                }
            }
        }
    }

    /// Runs forever on the caller's thread, handing each non-empty [`Changes`] to `tell`.
    pub fn run_blocking(self: Arc<Self>, tell: impl Fn(&Changes)) -> ! {
        crate::background::run_forever(
            "live updates",
            WAIT,
            || {
                let changes = self.step()?;
                if !changes.is_empty() {
                    tell(&changes);
                }
                // A step waits by itself; go again at once.
                Ok(true)
            },
            |_| {},
        )
    }
}

/// The vault of a signed-in, ready session, and whether it is a team store's.
fn watched(slot: &mut SessionSlot) -> Option<(Uuid, bool)> {
    if slot.lock_if_idle(crate::clock::Moment::now()) {
        return None;
    }
    slot.current_mut()
        .filter(|s| s.stage == Stage::Ready)
        .map(|s| (s.vault().vault_id(), s.vault().is_team()))
}
