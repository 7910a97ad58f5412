//! The desk's own signing key (issue 16, item 4: "system jobs by a desk key").
//!
//! Some audit entries are written by no member: the failed sign-ins and lockouts that wait in
//! `keyring.json` until someone signs in (actor `anonymous`), and the system's own (`system`).
//! Signed with the key of whoever wrote them, they could not be told from an entry an
//! underwriter made up with their own keys to pass for the system's. Now:
//!
//! - Each desk has an Ed25519 key derived from its device record of the folder (outside the
//!   data folder, `device.rs`): it lives and dies with that record, never in `keyring.json`.
//! - An admin's sign-in on the desk registers its public key in the keyring, signed by the
//!   admin (`desk.registered` in the log). A member cannot register one: only an admin's
//!   registration (current or since retired) counts.
//! - On a registered desk those entries are signed by the desk (signer `desk:<id>`). Verify
//!   accepts a desk's signature on them only, and only under a registration an admin signed: a
//!   key of an attacker's own, on another desk, is "a key the keyring does not know".
//! - On a desk no admin has signed in on yet they are signed by the member, as before, and the
//!   log shows who signed each entry: a `system` entry signed by an underwriter reads as theirs.
//!
//! What it does not stop: the desk's own OS user can read its device record, so a member signed
//! in on a registered desk can sign as that desk (docs/SECURITY.md).

use domain::Role;
use time::OffsetDateTime;

use crate::crypto::{self, Key, PUBLIC_LEN};
use crate::keyring::{b64, unb64, DeskKey, Keyring};
use crate::keys::MemberKeys;

/// What starts a desk's signer slot in the audit log.
pub(crate) const PREFIX: &str = "desk:";

/// The actors whose entries a desk signs: nobody's.
pub(crate) fn signs_for(actor: &str) -> bool {
    matches!(actor, "anonymous" | "system")
}

/// This desk's signing key, once an admin registered it.
pub(crate) struct DeskSigner {
    /// `desk:<record id>`.
    pub slot: String,
    pub seed: Key,
}

/// What the registering admin signs: this vault, this desk, its key and the time.
pub(crate) fn message(ring: &Keyring, desk: &str, public: &str, at: OffsetDateTime) -> Vec<u8> {
    format!(
        "boarding-desk/desk-key/v1\n{}\n{desk}\n{public}\n{}",
        ring.vault_id,
        at.unix_timestamp_nanos()
    )
    .into_bytes()
}

/// The keys registered for `desk` (a record id) that an admin's registration — current or
/// retired, as for every signature in the log — signed.
pub(crate) fn registered(ring: &Keyring, desk: &str) -> Vec<[u8; PUBLIC_LEN]> {
    let Some(keys) = ring.desk_keys.get(desk) else {
        return Vec::new();
    };
    keys.iter()
        .filter_map(|key| {
            let public: [u8; PUBLIC_LEN] = unb64(&key.public, "").ok()?.try_into().ok()?;
            let signature = unb64(&key.signature, "").ok()?;
            let signed = message(ring, desk, &key.public, key.at);
            ring.registrations(&key.signer)
                .iter()
                .any(|(member, by)| {
                    member.role == Role::Admin.as_str()
                        && crypto::verify(&by.sign, &signed, &signature)
                })
                .then_some(public)
        })
        .collect()
}

/// This desk's signer for `ring`'s folder, when its key is registered for it.
pub(crate) fn signer(ring: &Keyring) -> Option<DeskSigner> {
    let desk = ring.desk_record.as_deref()?;
    let seed = crate::device::desk_signing_seed(ring)?;
    registered(ring, desk)
        .contains(&crypto::ed25519_public(&seed))
        .then(|| DeskSigner {
            slot: format!("{PREFIX}{desk}"),
            seed,
        })
}

/// Registers this desk's key in `ring`, signed by the admin `me` in `slot`, unless it is
/// registered already (earlier registrations stay: entries they signed still verify). Only a folder this desk keeps a record of has a key
/// (a new folder's first save makes the record; the next admin sign-in registers it). Returns
/// the desk's name when it registered.
pub(crate) fn register(
    ring: &mut Keyring,
    slot: &str,
    me: &MemberKeys,
    now: OffsetDateTime,
) -> Option<String> {
    let desk = ring.desk_record.clone()?;
    let seed = crate::device::desk_signing_seed(ring)?;
    let public = crypto::ed25519_public(&seed);
    if registered(ring, &desk).contains(&public) {
        return None;
    }
    let public = b64(&public);
    let signature = me.sign(&message(ring, &desk, &public, now));
    ring.desk_keys
        .entry(desk.clone())
        .or_default()
        .push(DeskKey {
            public,
            at: now,
            signer: slot.to_string(),
            signature: b64(&signature),
            unrecorded: true,
        });
    Some(name(&desk))
}

/// This desk's name, when a registration of its key still waits for its `desk.registered`
/// entry.
pub(crate) fn unrecorded(ring: &Keyring) -> Option<String> {
    let desk = ring.desk_record.as_deref()?;
    ring.desk_keys
        .get(desk)?
        .iter()
        .any(|key| key.unrecorded)
        .then(|| name(desk))
}

/// Once the `desk.registered` entry committed: this desk's registrations are recorded.
pub(crate) fn recorded(ring: &mut Keyring) {
    let Some(desk) = ring.desk_record.clone() else {
        return;
    };
    for key in ring.desk_keys.get_mut(&desk).into_iter().flatten() {
        key.unrecorded = false;
    }
}

/// The entry an admin's registration of a desk writes.
pub(crate) fn registered_event<'a>(admin: &'a str, desk: &'a str) -> crate::audit::Event<'a> {
    crate::audit::Event {
        actor: admin,
        action: "desk.registered",
        target: Some(desk),
        outcome: crate::audit::Outcome::Ok,
        detail: Some(
            "this desk's key signs the entries no member writes (failed sign-ins, system jobs)",
        ),
    }
}

/// How the log names a desk: `desk 1a2b3c4d` (the start of its record id). An id this code
/// did not make (not hex: the `signer` column edited) is not echoed.
pub fn name(desk: &str) -> String {
    if desk.is_empty() || !desk.bytes().all(|b| b.is_ascii_hexdigit()) {
        return "an unknown desk".to_string();
    }
    format!("desk {}", &desk[..desk.len().min(8)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_desk_is_named_by_the_start_of_its_id_and_only_nobodys_entries_are_its() {
        assert_eq!(name("0123456789abcdef"), "desk 01234567");
        assert_eq!(name("abc"), "desk abc");
        assert_eq!(name("1234\n\u{1b}[31mred"), "an unknown desk");
        assert_eq!(name("ééééé"), "an unknown desk");
        assert!(signs_for("anonymous") && signs_for("system"));
        assert!(!signs_for("alice") && !signs_for("system:boarding for alice"));
    }
}
