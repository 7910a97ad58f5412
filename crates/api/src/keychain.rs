//! The keychain binding's use cases (issue 16, item 7): an admin binds the vault's sign-ins to
//! desks' OS keychains (Secret Service), or unbinds them, with their own password; and reads
//! how far it has got (members are bound at their next sign-in). `vault::keychain` does it.

use serde::Deserialize;
use time::OffsetDateTime;
use vault::audit::Outcome;
pub use vault::keychain::KeychainStatus;

use crate::{Access, Error, Result, SessionSlot};

#[derive(Clone, Deserialize)]
pub struct KeychainInput {
    /// Bind (`true`) or unbind (`false`).
    pub on: bool,
    /// The admin's own password: their own sign-in is sealed again under it at once.
    pub password: String,
}

/// Use case (admin): the binding as this desk sees it.
pub fn keychain_status(slot: &mut SessionSlot) -> Result<KeychainStatus> {
    let session = slot.require(Access::Admin, "vault.keychain_status")?;
    Ok(session.vault().keychain_status()?)
}

/// Use case (admin): turns the binding on or off. A wrong password is refused by field (and
/// audited) before anything changes; no keychain on this desk is `unavailable`, saying why.
pub fn set_keychain_binding(
    slot: &mut SessionSlot,
    input: KeychainInput,
) -> Result<KeychainStatus> {
    let session = slot.require(Access::Admin, "vault.keychain_binding")?;
    let username = session.username().to_string();
    let result = if input.password.is_empty() {
        Err(vault::VaultError::BadCredentials)
    } else {
        session.vault().set_keychain_binding(
            &username,
            &input.password,
            input.on,
            OffsetDateTime::now_utc(),
        )
    };
    match result {
        Err(vault::VaultError::BadCredentials) => {
            session.audit(
                "vault.keychain_binding",
                None,
                Outcome::Failed,
                Some("password wrong"),
            )?;
            Err(Error::invalid_input("password", "is not correct"))
        }
        other => Ok(other?),
    }
}
