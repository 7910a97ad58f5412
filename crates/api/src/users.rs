//! Use cases of the Users page (admins only).

use crate::views::User;
use domain::{Role, Username};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::session::{Access, SessionSlot};
use crate::{Error, Result};

#[derive(Debug, Clone, Deserialize)]
pub struct NewUserInput {
    pub username: String,
    pub role: String,
}

/// A new user, or one whose password was reset: the one-time password is shown once.
#[derive(Clone, Serialize)]
pub struct IssuedPassword {
    pub user: User,
    pub one_time_password: String,
}

debug_redacting!(IssuedPassword { user } secret { one_time_password });

pub fn list_users(slot: &mut SessionSlot) -> Result<Vec<User>> {
    let session = slot.require(Access::Admin, "users.list")?;
    Ok(crate::views::all(session.vault().users()?))
}

/// Finds a user by username (the CLI names users; the window uses ids).
pub fn find_user(slot: &mut SessionSlot, username: &str) -> Result<User> {
    // The session and role first, before any of the input is looked at.
    slot.require(Access::Admin, "users.find")?;
    let name = Username::parse(username)
        .map_err(|e| Error::invalid_input("username", &e.to_string().replace("username ", "")))?;
    let session = slot.require(Access::Admin, "users.find")?;
    session
        .vault()
        .user_by_name(name.as_str())?
        .map(User::from)
        .ok_or_else(|| Error::new(crate::Code::NotFound, "no user has that username"))
}

pub fn create_user(slot: &mut SessionSlot, input: NewUserInput) -> Result<IssuedPassword> {
    // The session and role first, before any of the input is looked at.
    slot.require(Access::Admin, "users.create")?;
    let username = Username::parse(&input.username)
        .map_err(|e| Error::invalid_input("username", &e.to_string().replace("username ", "")))?;
    let role: Role = input
        .role
        .parse()
        .map_err(|_| Error::invalid_input("role", "must be admin, underwriter or auditor"))?;
    let session = slot.require(Access::Admin, "users.create")?;
    let actor = session.username().to_string();
    let (user, otp) =
        session
            .vault()
            .create_user(&actor, &username, role, OffsetDateTime::now_utc())?;
    // The one-time password leaves Rust once, to be shown to the admin who created it.
    Ok(IssuedPassword {
        user: user.into(),
        one_time_password: otp.expose().to_string(),
    })
}

/// Disables a user, or re-enables one (who then gets a one-time password).
pub fn set_user_disabled(
    slot: &mut SessionSlot,
    user_id: &str,
    disabled: bool,
) -> Result<Option<IssuedPassword>> {
    let session = slot.require(
        Access::Admin,
        if disabled {
            "users.disable"
        } else {
            "users.enable"
        },
    )?;
    let actor = session.username().to_string();
    if disabled && session.user.id == user_id {
        return Err(Error::new(
            crate::Code::Conflict,
            "you cannot disable yourself",
        ));
    }
    let otp = session
        .vault()
        .set_disabled(&actor, user_id, disabled, OffsetDateTime::now_utc())?;
    // The rotation's re-wrap of existing record keys follows in the background (the window's
    // `rewrap::Rewrapper`) or in the verb (the CLI's `rewrap::rewrap_step`).
    let user = session.vault().user_by_id(user_id)?;
    // Shown once to the admin who re-enabled the user.
    Ok(otp.map(|otp| IssuedPassword {
        user: user.into(),
        one_time_password: otp.expose().to_string(),
    }))
}

pub fn reset_password(slot: &mut SessionSlot, user_id: &str) -> Result<IssuedPassword> {
    let session = slot.require(Access::Admin, "users.reset_password")?;
    let actor = session.username().to_string();
    if session.user.id == user_id {
        return Err(Error::new(
            crate::Code::Conflict,
            "you cannot reset your own password: change it instead",
        ));
    }
    let otp = session
        .vault()
        .reset_password(&actor, user_id, OffsetDateTime::now_utc())?;
    let user = session.vault().user_by_id(user_id)?;
    // Shown once to the admin who reset it.
    Ok(IssuedPassword {
        user: user.into(),
        one_time_password: otp.expose().to_string(),
    })
}

pub fn reset_totp(slot: &mut SessionSlot, user_id: &str) -> Result<User> {
    let session = slot.require(Access::Admin, "users.reset_totp")?;
    let actor = session.username().to_string();
    session
        .vault()
        .reset_totp(&actor, user_id, OffsetDateTime::now_utc())?;
    Ok(session.vault().user_by_id(user_id)?.into())
}

pub fn unlock_user(slot: &mut SessionSlot, user_id: &str) -> Result<User> {
    let session = slot.require(Access::Admin, "users.unlock")?;
    let actor = session.username().to_string();
    session
        .vault()
        .unlock_user(&actor, user_id, OffsetDateTime::now_utc())?;
    Ok(session.vault().user_by_id(user_id)?.into())
}
