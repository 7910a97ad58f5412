//! Use cases of getting in and out: set-up, sign-in, authenticator enrolment, password change,
//! lock, recovery.

use domain::{NewPassword, Username};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use vault::audit::Outcome;
use vault::{NextStep, Policy, RecoveryKey, Vault};

use crate::session::{Session, SessionInfo, SessionSlot, Stage};
use crate::{Access, DataDir, Error, Result};

#[derive(Clone, Deserialize)]
pub struct SetupInput {
    pub username: String,
    pub password: String,
}

#[derive(Clone, Serialize)]
pub struct SetupOutput {
    pub session: SessionInfo,
    /// Shown once; it can open the vault if every admin password is lost.
    pub recovery_key: String,
}

#[derive(Clone, Deserialize)]
pub struct SignInInput {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Clone, Deserialize)]
pub struct ChangePasswordInput {
    /// Required for a voluntary change; not asked right after a one-time password.
    #[serde(default)]
    pub current: Option<String>,
    pub new_password: String,
}

#[derive(Clone, Deserialize)]
pub struct RecoverInput {
    pub recovery_key: String,
    pub username: String,
    pub new_password: String,
}

debug_redacting!(SetupInput { username } secret { password });
debug_redacting!(SetupOutput { session } secret { recovery_key });
debug_redacting!(SignInInput { username } secret { password, code });
debug_redacting!(ChangePasswordInput {} secret { current, new_password });
debug_redacting!(RecoverInput { username } secret { recovery_key, new_password });

/// A recovery key that replaced the old one: shown once.
#[derive(Clone, Serialize)]
pub struct NewRecoveryKey {
    /// The key itself, when it was not split.
    pub recovery_key: Option<String>,
    /// Its shares, when it was split: any `threshold` of them give it back.
    pub shares: Vec<String>,
    pub threshold: Option<u8>,
}

debug_redacting!(NewRecoveryKey { threshold } secret { recovery_key, shares });

pub(crate) fn parse_username(text: &str) -> Result<Username> {
    Username::parse(text)
        .map_err(|e| Error::invalid_input("username", &e.to_string().replace("username ", "")))
}

pub(crate) fn parse_password(text: &str, username: &Username, field: &str) -> Result<NewPassword> {
    NewPassword::parse(text, username)
        .map_err(|e| Error::invalid_input(field, &e.to_string().replace("password ", "")))
}

/// Use case: create the vault and its first admin (first run). The admin is signed in at the
/// authenticator-enrolment step.
pub fn setup_vault(
    dir: &DataDir,
    input: SetupInput,
    slot: &mut SessionSlot,
    policy: Policy,
) -> Result<SetupOutput> {
    let username = parse_username(&input.username)?;
    let password = parse_password(&input.password, &username, "password")?;
    let created = Vault::create(
        dir.path(),
        &username,
        &password,
        policy,
        OffsetDateTime::now_utc(),
    )?;
    tracing::info!("vault created");
    Ok(enrolling(created, slot))
}

/// The founding admin's session, at the authenticator-enrolment step.
pub(crate) fn enrolling(created: vault::Created, slot: &mut SessionSlot) -> SetupOutput {
    let session = Session::new(
        created.vault,
        created.admin,
        Stage::EnrolTotp,
        Some(created.enrolment),
    );
    let info = session.info();
    slot.open(session);
    SetupOutput {
        session: info,
        recovery_key: created.recovery_key.display(),
    }
}

/// Use case: sign in with username, password and (once enrolled) an authenticator code.
pub fn sign_in(
    dir: &DataDir,
    input: SignInInput,
    slot: &mut SessionSlot,
    policy: Policy,
) -> Result<SessionInfo> {
    slot.lock()?;
    let now = OffsetDateTime::now_utc();
    let (vault, user, next) = Vault::sign_in(
        dir.path(),
        &input.username,
        &input.password,
        input.code.as_deref(),
        policy,
        now,
    )?;
    let (stage, enrolment) = match next {
        NextStep::Ready => (Stage::Ready, None),
        NextStep::ChangePassword => (Stage::ChangePassword, None),
        NextStep::EnrolTotp { enrolment } => (Stage::EnrolTotp, Some(enrolment)),
    };
    let session = Session::new(vault, user, stage, enrolment);
    let info = session.info();
    slot.open(session);
    // Housekeeping at every sign-in, the CLI's included: exports past their days go.
    if let Err(e) = crate::exports::expire_exports(slot, dir, std::time::SystemTime::now()) {
        tracing::warn!(code = %e.code(), "expiring old exports: {e}");
    }
    // …and blocklist entries past their own retention.
    if let Err(e) = crate::blocklist::expire(slot, OffsetDateTime::now_utc()) {
        tracing::warn!(code = %e.code(), "expiring blocklist entries: {e}");
    }
    // …and names or notes an earlier version stored in clear are sealed (issue 17); what is
    // left is done at the next sign-in.
    if info.stage == Stage::Ready {
        if let Err(e) = seal_clear_names(slot) {
            tracing::warn!(code = %e.code(), "sealing names left in clear: {e}");
        }
    }
    Ok(info)
}

/// Use case: finish authenticator enrolment with a code from the device.
pub fn confirm_totp(slot: &mut SessionSlot, code: &str) -> Result<SessionInfo> {
    let session = slot.require_stage(Stage::EnrolTotp, crate::clock::Moment::now())?;
    session
        .vault
        .confirm_totp(&session.user.id, code, OffsetDateTime::now_utc())?;
    session.stage = Stage::Ready;
    session.enrolment = None;
    Ok(session.info())
}

/// Use case: change one's own password — required after a one-time password, voluntary
/// otherwise (then the current password is asked for).
pub fn change_password(slot: &mut SessionSlot, input: ChangePasswordInput) -> Result<SessionInfo> {
    let now = crate::clock::Moment::now();
    let forced = slot
        .current_mut()
        .is_some_and(|s| s.stage == Stage::ChangePassword);
    let session = if forced {
        slot.require_stage(Stage::ChangePassword, now)?
    } else {
        slot.require_stage(Stage::Ready, now)?
    };
    let username = parse_username(&session.user.username)?;
    if !forced {
        let current = input.current.as_deref().unwrap_or("");
        if !session.vault.check_password(username.as_str(), current)? {
            session.audit(
                "user.password_change",
                Some(username.as_str()),
                Outcome::Failed,
                Some("current password wrong"),
            )?;
            return Err(Error::invalid_input("current password", "is not correct"));
        }
    }
    let password = parse_password(&input.new_password, &username, "new password")?;
    session
        .vault
        .change_password(&session.user.id, &password, OffsetDateTime::now_utc())?;
    session.user = session.vault.user_by_id(&session.user.id)?;
    if forced {
        if session.user.totp_enrolled {
            session.stage = Stage::Ready;
        } else {
            session.enrolment = Some(
                session
                    .vault
                    .begin_totp_enrolment(&session.user.id, username.as_str())?,
            );
            session.stage = Stage::EnrolTotp;
        }
    }
    Ok(session.info())
}

/// Use case: reset a user's password with the recovery key (no session needed).
pub fn recover(dir: &DataDir, input: RecoverInput, policy: Policy) -> Result<()> {
    let key = RecoveryKey::parse(&input.recovery_key)?;
    let username = parse_username(&input.username)?;
    let password = parse_password(&input.new_password, &username, "new password")?;
    Vault::recover(
        dir.path(),
        &key,
        &username,
        &password,
        policy,
        OffsetDateTime::now_utc(),
    )?;
    Ok(())
}

/// Replaces the vault's recovery key (admin): the old key opens nothing from now on; the new
/// one is shown once — whole, or split into `count` shares of which any `threshold` give it
/// back (to hand one to each admin: no single holder can use it). Audited, with the split.
pub fn rotate_recovery_key(
    slot: &mut SessionSlot,
    split: Option<(u8, u8)>,
) -> Result<NewRecoveryKey> {
    slot.require(crate::Access::Admin, "vault.rotate_recovery_key")?;
    if let Some((threshold, count)) = split {
        if threshold < 2 || count < threshold || count > vault::MAX_RECOVERY_SHARES {
            return Err(Error::invalid_input(
                "split",
                &format!(
                    "must be M of N with 2 <= M <= N <= {}",
                    vault::MAX_RECOVERY_SHARES
                ),
            ));
        }
    }
    let session = slot.require(crate::Access::Admin, "vault.rotate_recovery_key")?;
    let actor = session.username().to_string();
    let detail = split.map(|(m, n)| format!("split {m} of {n}"));
    let key = session.vault().rotate_recovery_key_noting(
        &actor,
        detail.as_deref(),
        OffsetDateTime::now_utc(),
    )?;
    Ok(match split {
        None => NewRecoveryKey {
            recovery_key: Some(key.display()),
            shares: Vec::new(),
            threshold: None,
        },
        Some((threshold, count)) => NewRecoveryKey {
            recovery_key: None,
            shares: key.split(threshold, count)?,
            threshold: Some(threshold),
        },
    })
}

/// Seals the names and notes an earlier version left in clear, as the signed-in member; an
/// auditor's sign-in changes nothing (the next writer's does it).
fn seal_clear_names(slot: &mut SessionSlot) -> Result<u64> {
    let session = slot.require_quietly(Access::SignedIn, "vault.seal_names")?;
    if !Access::Write.allows(session.role()) {
        return Ok(0);
    }
    let actor = session.username().to_string();
    Ok(session
        .vault()
        .seal_clear_names(&actor, OffsetDateTime::now_utc())?)
}
