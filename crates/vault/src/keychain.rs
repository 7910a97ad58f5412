//! Optional device binding through the OS keychain (issue 16, item 7): where the desktop runs a
//! Secret Service (GNOME Keyring, KWallet), an admin can bind the vault's sign-ins to it. A
//! random 32-byte secret is kept in the desktop's keychain (encrypted there under the OS user's
//! login), and every bound member's key-encryption key becomes
//! HKDF(argon2id(password), that secret) — 1Password's "secret key" idea: a copied data folder
//! plus a phished password no longer opens the member's keys; the attacker also needs this desk's
//! unlocked keychain.
//!
//! - **Off by default.** An admin turns it on (and off) with their password; the choice is
//!   signed with their key (`keyring.json` `keychain`), so an edit of the file can neither turn
//!   it off (which would unbind every member at their next sign-in) nor name another secret.
//! - **Per member, at their next sign-in.** Sealing a member's private keys needs their
//!   password, so each member is bound (or unbound, when it is turned off) the next time they
//!   sign in, change their password or are given one; the Security panel and `desk keychain`
//!   say how many are bound. The recovery member is never bound: the recovery key is the way
//!   into a vault whose desk (and keychain) is gone.
//! - **Unavailable keychain.** A bound member cannot sign in while the keychain is locked or
//!   missing (another desk, no desktop session): the refusal says so, and names the recovery
//!   key. Nothing is counted as a failed sign-in: the password was never tried.
//! - **The secret is never deleted by the app**, even once every member is unbound: archives
//!   taken while members were bound need it to open with their passwords. A secret left behind
//!   opens nothing without a password.
//!
//! The secret travels over D-Bus in the Secret Service's encrypted (DH) session.

use std::collections::HashMap;

use dbus_secret_service::{EncryptionType, SecretService};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::audit::{Event, Outcome};
use crate::crypto::{self, Key};
use crate::keyring::{b64, unb64, Binding, Keyring};
use crate::{Result, Vault, VaultError};

const APPLICATION: &str = "boarding-desk";
const KIND: &str = "device-secret";
/// Long enough for a person to type the desktop password into the keyring's own prompt.
const PROMPT_SECONDS: u64 = 60;
const CONTEXT: &[u8] = b"boarding-desk/keychain-bound/v1";

/// The key-encryption key of a bound slot: the password's argon2id key mixed with the desk's
/// secret.
pub(crate) fn bind(kek: &Key, secret: &Key) -> Key {
    crypto::derive(kek, secret.expose(), CONTEXT)
}

fn unavailable(why: impl Into<String>) -> VaultError {
    VaultError::Keychain(why.into())
}

/// A connection to the desktop's Secret Service, or why there is none. The session bus is
/// looked for where libdbus looks, first, so a desk without one answers at once.
fn connect() -> Result<SecretService> {
    let has_bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|a| !a.is_empty())
        || std::env::var_os("XDG_RUNTIME_DIR")
            .is_some_and(|d| std::path::Path::new(&d).join("bus").exists());
    if !has_bus {
        return Err(unavailable(
            "no desktop session bus (D-Bus) is running, so there is no OS keychain: sign in from the desktop, or use the recovery key",
        ));
    }
    SecretService::connect_with_max_prompt_timeout(EncryptionType::Dh, PROMPT_SECONDS).map_err(
        |e| {
            unavailable(format!(
                "no Secret Service (OS keychain) answers on the session bus ({e})"
            ))
        },
    )
}

fn attributes<'a>(vault: &'a str, id: &'a str) -> HashMap<&'a str, &'a str> {
    HashMap::from([
        ("application", APPLICATION),
        ("kind", KIND),
        ("vault", vault),
        ("secret", id),
    ])
}

/// Whether this desk has a usable keychain (`None`), else why not.
pub fn availability() -> Option<String> {
    let service = match connect() {
        Ok(s) => s,
        Err(e) => return Some(e.to_string()),
    };
    match service.get_default_collection() {
        Ok(_) => None,
        Err(e) => Some(format!(
            "the OS keychain has no default collection to keep a secret in ({e})"
        )),
    }
}

/// The vault's secret `id` from this desk's keychain (unlocking it, which may show the
/// desktop's own prompt).
pub(crate) fn secret(vault: &Uuid, id: &str) -> Result<Key> {
    let service = connect()?;
    let vault = vault.to_string();
    let found = service
        .search_items(attributes(&vault, id))
        .map_err(|e| unavailable(format!("the OS keychain could not be searched ({e})")))?;
    let item = match (found.unlocked.into_iter().next(), found.locked.into_iter().next()) {
        (Some(item), _) => item,
        (None, Some(item)) => {
            item.unlock().map_err(|e| {
                unavailable(format!("the OS keychain stayed locked ({e}); unlock it and try again, or use the recovery key"))
            })?;
            item
        }
        (None, None) => {
            return Err(unavailable(
                "this desk's OS keychain does not hold this vault's desk secret (another desk, or the secret was deleted): sign in on the desk that holds it, or use the recovery key",
            ))
        }
    };
    let text = Zeroizing::new(
        item.get_secret()
            .map_err(|e| unavailable(format!("the OS keychain did not give the secret ({e})")))?,
    );
    let text = std::str::from_utf8(&text)
        .map_err(|_| VaultError::KeyringDamaged("the keychain's desk secret is not text"))?;
    let bytes = Zeroizing::new(unb64(text, "the keychain's desk secret is not base64")?);
    Key::from_slice(&bytes).ok_or(VaultError::KeyringDamaged(
        "the keychain's desk secret has the wrong length",
    ))
}

/// Makes a new secret for `vault` in this desk's keychain: its id and the secret.
pub(crate) fn create(vault: &Uuid) -> Result<(String, Key)> {
    let service = connect()?;
    let collection = service.get_default_collection().map_err(|e| {
        unavailable(format!(
            "the OS keychain has no default collection to keep a secret in ({e})"
        ))
    })?;
    collection.ensure_unlocked().map_err(|e| {
        unavailable(format!(
            "the OS keychain stayed locked ({e}); unlock it and try again"
        ))
    })?;
    let id = crate::keyring::hex_id();
    let key = Key::random();
    let vault_text = vault.to_string();
    let text = Zeroizing::new(b64(key.expose()));
    collection
        .create_item(
            &format!("Boarding Desk: desk secret of vault {vault_text}"),
            attributes(&vault_text, &id),
            text.as_bytes(),
            false,
            "text/plain",
        )
        .map_err(|e| unavailable(format!("the OS keychain did not keep the secret ({e})")))?;
    Ok((id, key))
}

/// What the Security panel and `desk keychain` show of the binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct KeychainStatus {
    /// Why this desk has no usable OS keychain, when it has none.
    pub unavailable: Option<String>,
    /// `never` (off by default), `on`, `off` (turned off by an admin) or `forged` (a choice
    /// in keyring.json no admin signed: nothing follows from it).
    pub binding: String,
    /// Whether this desk's keychain holds the secret members are bound to.
    pub secret_here: bool,
    /// Members (users with a key slot; the recovery key is never bound) bound to it.
    pub bound: u32,
    pub members: u32,
    /// Whether the signed-in user's own sign-in is bound.
    pub you_bound: bool,
}

/// What a sign-in did about the binding, for its audit entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AtSignIn {
    Unchanged,
    Bound,
    Unbound,
    /// The keyring's choice is not believed (`Binding::Forged`).
    Forged,
}

/// At a sign-in (the password just opened `slot`): binds the member while the binding is on
/// and this desk's keychain gives the secret, unbinds them once an admin turned it off.
pub(crate) fn at_sign_in(
    vault: &Vault,
    ring: &mut Keyring,
    slot: &str,
    password: &str,
) -> Result<AtSignIn> {
    let binding = ring.binding();
    if binding == Binding::Forged {
        return Ok(AtSignIn::Forged);
    }
    if let Some(choice) = &ring.keychain {
        crate::device::saw_keychain_choice(ring, choice.at.unix_timestamp_nanos());
    }
    if !ring.slot_binding_stale(slot) {
        return Ok(AtSignIn::Unchanged);
    }
    let desk = match &binding {
        Binding::On(id) => match secret(&ring.vault_id, id) {
            Ok(desk) => Some((id.clone(), desk)),
            // Not here (another desk, a locked keychain): bound at a sign-in where it is.
            Err(_) => return Ok(AtSignIn::Unchanged),
        },
        _ => None,
    };
    let keys = vault.keys();
    let Some(me) = keys.me.as_ref() else {
        return Ok(AtSignIn::Unchanged);
    };
    let bound = desk.is_some();
    ring.seal_password_slot(
        slot,
        password.as_bytes(),
        &me.to_bytes(),
        vault.policy().kdf,
        desk,
    )?;
    Ok(if bound {
        AtSignIn::Bound
    } else {
        AtSignIn::Unbound
    })
}

impl AtSignIn {
    /// The audit entry a sign-in adds for it: action, outcome, detail.
    pub(crate) fn entry(self) -> Option<(&'static str, Outcome, &'static str)> {
        match self {
            AtSignIn::Unchanged => None,
            AtSignIn::Bound => Some((
                "auth.keychain_bound",
                Outcome::Ok,
                "this user's sign-in is bound to this desk's OS keychain",
            )),
            AtSignIn::Unbound => Some((
                "auth.keychain_unbound",
                Outcome::Ok,
                "the keychain binding was turned off: this user's sign-in no longer needs it",
            )),
            AtSignIn::Forged => Some((
                "vault.keychain_forged",
                Outcome::Failed,
                "keyring.json holds a keychain binding choice no admin signed, or one older than a choice this desk already believed: it was edited or put back; nothing was changed because of it",
            )),
        }
    }
}

impl Vault {
    /// The binding as this desk sees it.
    pub fn keychain_status(&self) -> Result<KeychainStatus> {
        let ring = self.keyring.load()?;
        let binding = ring.binding();
        let unavailable = if self.is_team() {
            Some("sign-ins on a team store are not bound to one desk's keychain: members sign in on any desk".to_string())
        } else {
            availability()
        };
        let secret_here = match &binding {
            Binding::On(id) | Binding::Off(id, _) if unavailable.is_none() => {
                secret(&ring.vault_id, id).is_ok()
            }
            _ => false,
        };
        let members = ring
            .slots
            .keys()
            .filter(|s| s.as_str() != crate::keyring::RECOVERY_SLOT)
            .count();
        let bound = ring.slots.values().filter(|s| s.bound.is_some()).count();
        Ok(KeychainStatus {
            unavailable,
            binding: match binding {
                Binding::Never => "never",
                Binding::On(_) => "on",
                Binding::Off(..) => "off",
                Binding::Forged => "forged",
            }
            .to_string(),
            secret_here,
            bound: u32::try_from(bound).unwrap_or(u32::MAX),
            members: u32::try_from(members).unwrap_or(u32::MAX),
            you_bound: ring.slot_bound(&self.slot),
        })
    }

    /// Turns the binding on or off (an admin, with their own password, checked first under the
    /// keyring's lock; wrong: `BadCredentials`, nothing changed). On: the secret is made in this
    /// desk's keychain (or the one already there is kept), the admin's own sign-in is bound at
    /// once and every other member's at their next sign-in. Off: the admin's own is unbound at
    /// once, the others' (those bound before it) at their next sign-in. Audited.
    pub fn set_keychain_binding(
        &self,
        username: &str,
        password: &str,
        on: bool,
        now: OffsetDateTime,
    ) -> Result<KeychainStatus> {
        if on && self.is_team() {
            // A slot sealed under one desk's keychain secret would open on that desk only.
            return Err(VaultError::Conflict(
                "sign-ins on a team store are not bound to one desk's keychain: members sign in on any desk",
            ));
        }
        if on {
            if let Some(why) = availability() {
                return Err(VaultError::Keychain(why));
            }
        }
        let lock = self.keyring.lock()?;
        let before = self.keyring.load()?;
        // Checked under the lock, against the keyring it re-seals.
        if before
            .open_password_slot(&self.slot, password.as_bytes())?
            .is_none()
        {
            return Err(VaultError::BadCredentials);
        }
        let mut ring = before.clone();
        let keys = self.keys();
        let me = keys.signer()?;
        let existing = match ring.binding() {
            Binding::On(id) | Binding::Off(id, _) => Some(id),
            Binding::Never => None,
            // Whatever the file says, the secret members are bound to (or, with none bound, the
            // one the file names: turning it off is always possible).
            Binding::Forged => ring
                .slots
                .values()
                .find_map(|s| s.bound.clone())
                .or_else(|| ring.keychain.as_ref().map(|c| c.secret.clone())),
        };
        let id = match (on, existing) {
            (true, Some(id)) if secret(&ring.vault_id, &id).is_ok() => id,
            (true, _) => create(&ring.vault_id)?.0,
            (false, Some(id)) => id,
            (false, None) => return Err(VaultError::Conflict("the keychain binding is not on")),
        };
        ring.choose_keychain(on, &id, &self.slot, me);
        ring.set_password_slot(
            &self.slot,
            password.as_bytes(),
            &me.to_bytes(),
            self.policy().kdf,
        )?;
        if on && !ring.slot_bound(&self.slot) {
            return Err(VaultError::Keychain(
                "the OS keychain did not give back the secret it was just given".into(),
            ));
        }
        drop(keys);
        self.save_keyring_audited(
            &mut ring,
            &before,
            &lock,
            &Event {
                actor: username,
                action: "vault.keychain_binding",
                target: None,
                outcome: Outcome::Ok,
                detail: Some(if on {
                    "on: sign-ins are bound to this desk's OS keychain (each member at their next sign-in)"
                } else {
                    "off: sign-ins no longer need the OS keychain (each member at their next sign-in)"
                }),
            },
            now,
        )?;
        if let Some(choice) = &ring.keychain {
            crate::device::saw_keychain_choice(&ring, choice.at.unix_timestamp_nanos());
        }
        drop(lock);
        self.keychain_status()
    }
}
