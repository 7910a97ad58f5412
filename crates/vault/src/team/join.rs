//! Join codes (docs/adr/0001-team-store.md §2): what an admin's desk hands a new desk so that
//! the new desk trusts the team's founding admin it was told about, not whatever the store says.
//!
//! A code is the team's vault id and the digest of the founding admin's self-signed
//! registration, as base32 in groups of four. It is not a secret (it opens nothing): it is a
//! fingerprint. Someone holding the store's credentials can write a keyring with an admin of
//! their own, but not one whose registration has the digest the code names, so a desk that
//! joined with the code never takes their admin (or anyone that admin registers) for real.

use std::fmt;

use uuid::Uuid;

use crate::{Result, VaultError};

const VERSION: u8 = 1;
const DIGEST_LEN: usize = 32;
const LEN: usize = 1 + 16 + DIGEST_LEN;

/// A parsed join code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinCode {
    pub vault_id: Uuid,
    /// The founding registration's anchor digest, as `device.rs` keeps anchors (base64).
    pub(crate) anchor: String,
}

impl JoinCode {
    pub(crate) fn new(vault_id: Uuid, anchor: &str) -> Result<Self> {
        let digest = crate::keyring::unb64(anchor, "the founding anchor is not base64")?;
        if digest.len() != DIGEST_LEN {
            return Err(VaultError::KeyringDamaged(
                "the founding anchor has the wrong length",
            ));
        }
        Ok(Self {
            vault_id,
            anchor: anchor.to_string(),
        })
    }

    /// Parses what a person pasted or typed: case, spaces and dashes do not matter.
    pub fn parse(text: &str) -> Result<Self> {
        let clean: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let bytes = data_encoding::BASE32_NOPAD
            .decode(clean.as_bytes())
            .map_err(|_| VaultError::invalid("join code", "is not a join code (base32 groups)"))?;
        if bytes.len() != LEN || bytes[0] != VERSION {
            return Err(VaultError::invalid(
                "join code",
                "has the wrong length: copy the whole code your admin's desk shows",
            ));
        }
        let vault_id = Uuid::from_slice(&bytes[1..17])
            .map_err(|_| VaultError::invalid("join code", "is not a join code"))?;
        Ok(Self {
            vault_id,
            anchor: crate::keyring::b64(&bytes[17..]),
        })
    }
}

impl fmt::Display for JoinCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = vec![VERSION];
        bytes.extend_from_slice(self.vault_id.as_bytes());
        bytes.extend(crate::keyring::unb64(&self.anchor, "").unwrap_or_default());
        let text = data_encoding::BASE32_NOPAD.encode(&bytes);
        let groups: Vec<&str> = text
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap_or(""))
            .collect();
        f.write_str(&groups.join("-"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_reads_back_whatever_its_case_spacing_and_dashes() {
        let anchor = crate::keyring::b64(&[7u8; 32]);
        let code = JoinCode::new(Uuid::new_v4(), &anchor).unwrap();
        let text = code.to_string();
        assert_eq!(JoinCode::parse(&text).unwrap(), code);
        let loose = text.to_lowercase().replace('-', " ");
        assert_eq!(JoinCode::parse(&format!("  {loose}\n")).unwrap(), code);
    }

    #[test]
    fn a_cut_or_mistyped_code_is_refused_by_field() {
        let code = JoinCode::new(Uuid::new_v4(), &crate::keyring::b64(&[1u8; 32]))
            .unwrap()
            .to_string();
        for bad in [&code[..code.len() - 5], "not a code!", ""] {
            match JoinCode::parse(bad) {
                Err(VaultError::Invalid { field, .. }) => assert_eq!(field, "join code"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
        assert!(JoinCode::new(Uuid::new_v4(), &crate::keyring::b64(&[1u8; 8])).is_err());
    }
}

impl crate::Vault {
    /// The team store this vault lives in, for display (its password never known here).
    pub fn team_store(&self) -> Option<String> {
        super::placement::store_of(self.keyring.dir())
    }

    /// The code a new desk joins this team with (any member's desk can show it: it names the
    /// founder this desk trusts, not one the store claims).
    pub fn join_code(&self) -> Result<JoinCode> {
        if !self.is_team() {
            return Err(VaultError::Conflict(
                "this vault is a local one: there is no team to join",
            ));
        }
        let ring = self.keyring.load()?;
        let anchors = crate::device::anchors(&ring).unwrap_or_default();
        let (_, founder) = ring
            .founders()
            .into_iter()
            .find(|(_, digest)| anchors.contains(digest))
            .ok_or(VaultError::KeyringDamaged(
                "this desk trusts no founding admin of the team's keyring",
            ))?;
        JoinCode::new(self.vault_id, &founder)
    }
}

/// Makes `dir` a desk of the team in the store at `url`, trusting the founder `code` names.
/// Nothing is left in `dir` when it fails. Members sign in there afterwards (an admin adds
/// them first, on any desk).
pub fn join(dir: &std::path::Path, url: &super::StoreUrl, code: &JoinCode) -> Result<()> {
    use crate::keyring::KeyringFile;
    let keyring_file = KeyringFile::in_dir(dir);
    if dir.join(crate::VAULT_FILE).exists()
        || keyring_file.exists()
        || super::placement::is_team(dir)
    {
        return Err(VaultError::AlreadyExists);
    }
    let lock = keyring_file.lock()?;
    let joined = join_locked(dir, url, code, &keyring_file, &lock);
    // What another set-up made meanwhile (found under the lock) is never removed.
    if joined.is_err() && !matches!(joined, Err(VaultError::AlreadyExists)) {
        for name in [
            super::placement::TEAM_FILE,
            crate::KEYRING_FILE,
            crate::keyring::LOCK_FILE,
        ] {
            let _ = std::fs::remove_file(dir.join(name));
        }
    }
    joined
}

fn join_locked(
    dir: &std::path::Path,
    url: &super::StoreUrl,
    code: &JoinCode,
    keyring_file: &crate::keyring::KeyringFile,
    lock: &crate::keyring::KeyringLock,
) -> Result<()> {
    if keyring_file.exists() || super::placement::is_team(dir) {
        return Err(VaultError::AlreadyExists);
    }
    crate::device::ensure_writable()?;
    let (db, stored) = super::connect::desk(url)?;
    drop(db);
    match stored {
        None => {
            return Err(VaultError::invalid(
                "team store",
                "holds no team yet: its first admin creates one (desk team create)",
            ))
        }
        Some(id) if id != code.vault_id.to_string() => {
            return Err(VaultError::invalid(
                "join code",
                "is for another team than the one this store holds",
            ))
        }
        Some(_) => {}
    }
    super::placement::write(dir, url, code.vault_id)?;
    let mut ring = keyring_file
        .load_shared()?
        .ok_or(VaultError::KeyringDamaged(
            "the team store holds no keyring",
        ))?;
    if !ring
        .founders()
        .iter()
        .any(|(_, digest)| *digest == code.anchor)
    {
        return Err(VaultError::invalid(
            "join code",
            "does not name this team's founding admin: the store's keyring may have been \
             replaced, or the code mistyped; ask an admin's desk for it again",
        ));
    }
    crate::device::join(&mut ring, &code.anchor)?;
    // The anchor must be kept where the desk will find it again: a desk that keeps no state
    // folder would trust whatever the store says.
    if crate::device::anchors(&ring).is_none_or(|anchors| anchors != [code.anchor.clone()]) {
        return Err(VaultError::invalid(
            "state folder",
            "this desk keeps no state folder for its records (set $XDG_STATE_HOME or $HOME): a team desk needs one",
        ));
    }
    keyring_file.save(&ring, lock)
}

/// Test support, in debug builds only: what a holder of the store's credentials (not of any
/// member's password) can write into the shared keyring.
#[cfg(debug_assertions)]
#[doc(hidden)]
pub mod forgery {
    use crate::keyring::KeyringFile;
    use crate::{Result, VaultError};

    /// Rewrites `username`'s registration in the store as a self-signed one with `role`
    /// under a key pair of the forger's own, and their row to match, with raw SQL through the
    /// desk folder `dir`'s store: a member passing for an admin without any admin.
    pub fn self_register_in_store(dir: &std::path::Path, username: &str, role: &str) -> Result<()> {
        let ring = KeyringFile::in_dir(dir).load()?;
        let slot = crate::vault::slot_id(username);
        let mut member = ring
            .members
            .get(&slot)
            .cloned()
            .ok_or(VaultError::NotFound("registration"))?;
        let fake = crate::keys::MemberKeys::generate();
        member.role = role.to_string();
        member.registered_by = slot.clone();
        member.sign = crate::keyring::b64(&fake.public().sign);
        member.wrap = crate::keyring::b64(&fake.public().wrap);
        member.signature =
            crate::keyring::b64(&fake.sign(&ring.registration_message(&slot, &member)));
        let user_id = member.user_id.clone();
        let mut forged = ring.clone();
        forged.members.insert(slot, member);
        let body = crate::keyring::shared_body(&forged)?;
        let (url, _) = super::super::placement::read(dir)?;
        let mut client = super::super::connect::connect(&url)?;
        crate::sql::off_runtime(|| {
            client.execute(
                "UPDATE keyring SET body = $1, version = version + 1 WHERE id = 1",
                &[&body],
            )?;
            client.execute(
                "UPDATE users SET role = $1 WHERE id = $2",
                &[&role, &user_id],
            )
        })
        .map_err(|e| VaultError::StoreUnavailable(e.to_string()))?;
        Ok(())
    }
}
