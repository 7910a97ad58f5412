//! The signed-in session: who, with which role, at which stage of sign-in, and the open vault.
//!
//! Every use case that touches data calls [`SessionSlot::require`] first: no session, an idle
//! session (locked on the spot), an unfinished sign-in or a role that may not do it all end in
//! an error, and denied attempts by a signed-in user are audited.

use std::time::Duration;

use crate::clock::Moment;

use domain::Role;
use serde::Serialize;
use vault::audit::{Event, Outcome};
use vault::totp::Enrolment;
use vault::Vault;

use crate::{Code, Error, Result};

/// PCI DSS 8.2.8: at most 15 minutes idle before re-authentication.
pub const MAX_IDLE_MINUTES: u32 = 15;

/// Minutes of inactivity before the session locks (1..=15; 15 when unset).
pub(crate) fn idle_minutes(vault: &Vault) -> u32 {
    vault
        .settings()
        .get(vault::Setting::IdleMinutes)
        .ok()
        .flatten()
        .and_then(|v| v.parse().ok())
        .filter(|m| (1..=MAX_IDLE_MINUTES).contains(m))
        .unwrap_or(MAX_IDLE_MINUTES)
}

/// A unit of work on behalf of `actor` (a user, or the worker acting for one).
pub(crate) fn write_as<T>(
    vault: &Vault,
    actor: &str,
    f: impl FnOnce(&Unit<'_>) -> Result<T>,
) -> Result<T> {
    vault.write(|tx| f(&Unit { tx, actor }))
}

/// An open unit of work and who it acts for; it reads and writes through the vault's
/// repository methods, and [`Unit::audit`] appends inside it.
pub(crate) struct Unit<'a> {
    tx: &'a vault::Tx<'a>,
    actor: &'a str,
}

impl<'a> std::ops::Deref for Unit<'a> {
    type Target = vault::Tx<'a>;
    fn deref(&self) -> &vault::Tx<'a> {
        self.tx
    }
}

impl Unit<'_> {
    /// Who the unit acts for, as the audit log names them.
    pub(crate) fn actor(&self) -> &str {
        self.actor
    }

    pub(crate) fn audit(
        &self,
        action: &str,
        target: Option<&str>,
        outcome: Outcome,
        detail: Option<&str>,
    ) -> Result<()> {
        self.audit_as(self.actor, action, target, outcome, detail)
    }

    /// An entry naming another actor (the worker, the scheduler acting for this user).
    pub(crate) fn audit_as(
        &self,
        actor: &str,
        action: &str,
        target: Option<&str>,
        outcome: Outcome,
        detail: Option<&str>,
    ) -> Result<()> {
        self.tx.audit(&Event {
            actor,
            action,
            target,
            outcome,
            detail,
        })?;
        Ok(())
    }
}

/// Who may call a use case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Any signed-in role.
    SignedIn,
    /// Roles that change data: admin, underwriter.
    Write,
    /// Admins only.
    Admin,
    /// Those who oversee: admin, auditor.
    Oversight,
}

impl Access {
    pub fn allows(self, role: Role) -> bool {
        match self {
            Access::SignedIn => true,
            Access::Write => role.can_write(),
            Access::Admin => role == Role::Admin,
            Access::Oversight => matches!(role, Role::Admin | Role::Auditor),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Ready,
    ChangePassword,
    EnrolTotp,
}

pub struct Session {
    pub(crate) vault: Vault,
    pub(crate) user: vault::User,
    pub(crate) stage: Stage,
    pub(crate) enrolment: Option<Enrolment>,
    last_activity: Moment,
    idle_limit: Duration,
}

/// What the UI and CLI learn about the session.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct SessionInfo {
    pub username: String,
    pub role: Role,
    pub stage: Stage,
    pub idle_minutes: u32,
    /// Present while the user must enrol an authenticator.
    pub enrolment: Option<Enrolment>,
}

impl Session {
    pub(crate) fn new(
        vault: Vault,
        user: vault::User,
        stage: Stage,
        enrolment: Option<Enrolment>,
    ) -> Self {
        let idle_minutes = idle_minutes(&vault);
        Self {
            vault,
            user,
            stage,
            enrolment,
            last_activity: Moment::now(),
            idle_limit: Duration::from_secs(u64::from(idle_minutes) * 60),
        }
    }

    pub fn info(&self) -> SessionInfo {
        SessionInfo {
            username: self.user.username.clone(),
            role: self.user.role,
            stage: self.stage,
            idle_minutes: (self.idle_limit.as_secs() / 60) as u32,
            enrolment: self.enrolment.clone(),
        }
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    pub fn username(&self) -> &str {
        &self.user.username
    }

    pub fn role(&self) -> Role {
        self.user.role
    }

    pub(crate) fn set_idle_limit(&mut self, minutes: u32) {
        self.idle_limit = Duration::from_secs(u64::from(minutes) * 60);
    }

    /// Runs `f` as one unit of work of this user: what it changes and the audit entries it
    /// appends commit together, or not at all.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Unit<'_>) -> Result<T>) -> Result<T> {
        write_as(&self.vault, &self.user.username, f)
    }

    pub(crate) fn audit(
        &self,
        action: &str,
        target: Option<&str>,
        outcome: Outcome,
        detail: Option<&str>,
    ) -> Result<()> {
        self.write(|w| w.audit(action, target, outcome, detail))
    }
}

/// How background work signs its audit entries: the system actor and the signed-in user whose
/// session it borrows (`system:screening for alice`).
pub fn on_behalf(system: &str, user: &str) -> String {
    format!("{system} for {user}")
}

/// Holds at most one session. The shell keeps one for the window; the CLI one per command.
#[derive(Default)]
pub struct SessionSlot {
    current: Option<Session>,
}

impl SessionSlot {
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn open(&mut self, session: Session) {
        self.current = Some(session);
    }

    /// The current session if it is signed in, not idle, past every sign-in step and allowed
    /// `access`. `action` names the use case for the audit log when access is denied.
    pub fn require(&mut self, access: Access, action: &str) -> Result<&mut Session> {
        self.require_at(access, action, Moment::now())
    }

    pub fn require_at(
        &mut self,
        access: Access,
        action: &str,
        now: Moment,
    ) -> Result<&mut Session> {
        self.require_stage(Stage::Ready, now)?;
        let session = self.current.as_mut().ok_or_else(not_signed_in)?;
        if !access.allows(session.user.role) {
            session.audit("access.denied", None, Outcome::Denied, Some(action))?;
            return Err(Error::new(
                Code::Forbidden,
                format!("the {} role may not do this", session.user.role),
            ));
        }
        Ok(session)
    }

    /// [`Self::require`] for a screen that refreshes itself: every check, but it is not
    /// activity, so a page left open still locks after the idle time.
    pub fn require_quietly(&mut self, access: Access, action: &str) -> Result<&mut Session> {
        let last = self.current.as_ref().map(|s| s.last_activity);
        let session = self.require(access, action)?;
        if let Some(last) = last {
            session.last_activity = last;
        }
        Ok(session)
    }

    /// Runs `f` (a read) without it counting as activity: what a page does when it shows a
    /// change another desk made (`live.rs`), so a window left open still locks on time.
    pub fn quietly<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        let last = self.current.as_ref().map(|s| s.last_activity);
        let out = f(self);
        if let (Some(last), Some(session)) = (last, self.current.as_mut()) {
            session.last_activity = last;
        }
        out
    }

    /// The session at a given sign-in stage (set-up steps use this).
    pub(crate) fn require_stage(&mut self, stage: Stage, now: Moment) -> Result<&mut Session> {
        if self.lock_if_idle(now) {
            return Err(Error::unauthorized(
                "the session was locked after inactivity; sign in again",
            ));
        }
        match self.enabled() {
            Enabled::Yes => {}
            Enabled::Ended => {
                return Err(Error::unauthorized(
                    "this account has been disabled; the session has ended",
                ))
            }
            Enabled::Unknown(since) => return Err(store_unavailable(since)),
        }
        let session = self.current.as_mut().ok_or_else(not_signed_in)?;
        if session.stage != stage {
            return Err(Error::unauthorized(match session.stage {
                Stage::ChangePassword => "choose a new password first",
                Stage::EnrolTotp => "set up your authenticator first",
                Stage::Ready => "already signed in",
            }));
        }
        session.last_activity = now;
        Ok(session)
    }

    /// Locks the session when it has been idle too long; true when it did.
    pub fn lock_if_idle(&mut self, now: Moment) -> bool {
        let idle = self
            .current
            .as_ref()
            .is_some_and(|s| now.since(s.last_activity) >= s.idle_limit);
        if idle {
            if let Some(session) = self.current.take() {
                let _ = session.audit("auth.idle_lock", None, Outcome::Ok, None);
                tracing::info!("session locked after inactivity");
            }
        }
        idle
    }

    /// Ends the session when an admin has disabled its user since it began (from this desk or
    /// another one on the same vault): the check reads the user's row at every call, so a
    /// disabled user's open window stops working at its next call. True when it ended.
    fn end_if_disabled(&mut self) -> bool {
        matches!(self.enabled(), Enabled::Ended)
    }

    /// Whether the signed-in user is still enabled; a disabled one's session ends here. A team
    /// store that cannot be reached cannot say: the session stays (an outage must not sign
    /// every desk out), and nothing is done under it until the store answers again.
    fn enabled(&mut self) -> Enabled {
        let Some(session) = self.current.as_ref() else {
            return Enabled::Yes;
        };
        // A vault that cannot answer ends the session too: nothing runs unchecked.
        let enabled = match session.vault.user_is_enabled(&session.user.id) {
            Ok(enabled) => enabled,
            Err(vault::VaultError::StoreUnavailable(_)) if session.vault.is_team() => {
                return Enabled::Unknown(session.vault.store_down_since());
            }
            Err(_) => false,
        };
        if enabled {
            return Enabled::Yes;
        }
        if let Some(session) = self.current.take() {
            let _ = session.vault.audit(
                &Event {
                    actor: &session.user.username,
                    action: "auth.session_ended",
                    target: None,
                    outcome: Outcome::Denied,
                    detail: Some("account disabled"),
                },
                time::OffsetDateTime::now_utc(),
            );
            tracing::info!("session ended: its user was disabled");
        }
        Enabled::Ended
    }

    /// Explicit lock: the vault closes and its keys are zeroized.
    pub fn lock(&mut self) -> Result<()> {
        if let Some(session) = self.current.take() {
            session.audit("auth.lock", None, Outcome::Ok, None)?;
        }
        Ok(())
    }

    /// A lock the desk made on its own, with why (the machine going to sleep, the screen
    /// locking): audited with the reason.
    pub fn lock_because(&mut self, reason: &str) -> Result<()> {
        if let Some(session) = self.current.take() {
            session.audit("auth.lock", None, Outcome::Ok, Some(reason))?;
            tracing::info!("session locked: {reason}");
        }
        Ok(())
    }

    /// Records activity that did not need a use case (typing, scrolling in the window).
    pub fn touch(&mut self) -> Option<SessionInfo> {
        let now = Moment::now();
        if self.lock_if_idle(now) || self.end_if_disabled() {
            return None;
        }
        self.current.as_mut().map(|s| {
            s.last_activity = now;
            s.info()
        })
    }

    pub fn info(&mut self) -> Option<SessionInfo> {
        if self.lock_if_idle(Moment::now()) || self.end_if_disabled() {
            return None;
        }
        self.current.as_ref().map(Session::info)
    }

    /// The signed-in session for background work (the boarding worker): ready and not idle,
    /// without counting as activity — a worker must never keep a session from locking.
    pub(crate) fn background(&mut self) -> Option<&mut Session> {
        if self.lock_if_idle(Moment::now()) || !matches!(self.enabled(), Enabled::Yes) {
            return None;
        }
        self.current.as_mut().filter(|s| s.stage == Stage::Ready)
    }

    /// [`Self::background`] for work that changes things: only while the signed-in role may
    /// cause it (`access`). An auditor's open window sends nothing, screens nothing, erases
    /// nothing.
    pub(crate) fn background_as(&mut self, access: Access) -> Option<&mut Session> {
        self.background().filter(|s| access.allows(s.user.role))
    }

    pub(crate) fn current_mut(&mut self) -> Option<&mut Session> {
        self.current.as_mut()
    }
}

/// Whether the signed-in user is still enabled, as far as the vault can say now.
enum Enabled {
    Yes,
    /// Disabled: the session was ended.
    Ended,
    /// The team store could not be asked (unreachable since then, as this desk found it).
    Unknown(Option<time::OffsetDateTime>),
}

/// The refusal of a call made while the team store cannot be reached.
pub(crate) fn store_unavailable(since: Option<time::OffsetDateTime>) -> Error {
    let since = since
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[hour]:[minute]:[second] UTC"
            ))
            .ok()
        })
        .map(|t| format!(" since {t}"))
        .unwrap_or_default();
    Error::new(
        Code::Unavailable,
        format!("team store unavailable{since}: nothing was done; this desk reconnects on its own"),
    )
}

fn not_signed_in() -> Error {
    Error::unauthorized("sign in first")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_rules_match_the_roles() {
        assert!(Access::Admin.allows(Role::Admin));
        assert!(!Access::Admin.allows(Role::Underwriter));
        assert!(
            !Access::Write.allows(Role::Auditor),
            "auditors are read-only"
        );
        assert!(Access::Oversight.allows(Role::Auditor));
        assert!(!Access::Oversight.allows(Role::Underwriter));
        assert!(Access::SignedIn.allows(Role::Auditor));
    }

    #[test]
    fn a_quiet_refresh_is_not_activity() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = crate::DataDir::open(tmp.path()).unwrap();
        let mut slot = SessionSlot::new();
        crate::auth::setup_vault(
            &dir,
            crate::auth::SetupInput {
                username: "alice".into(),
                password: "correct horse battery 42".into(),
            },
            &mut slot,
            vault::Policy {
                kdf: vault::KdfParams::MINIMUM,
                ..vault::Policy::default()
            },
        )
        .unwrap();
        let session = slot.current.as_mut().unwrap();
        session.stage = Stage::Ready;
        let before = Moment::now() - Duration::from_secs(60);
        session.last_activity = before;
        slot.require_quietly(Access::SignedIn, "x").unwrap();
        assert_eq!(slot.current.as_ref().unwrap().last_activity, before);
        slot.require(Access::SignedIn, "x").unwrap();
        assert!(slot.current.as_ref().unwrap().last_activity > before);
    }

    #[test]
    fn an_empty_slot_is_unauthorized() {
        let mut slot = SessionSlot::new();
        let err = slot.require(Access::SignedIn, "anything").err().unwrap();
        assert_eq!(err.code(), Code::Unauthorized);
        assert!(slot.info().is_none());
    }
}
