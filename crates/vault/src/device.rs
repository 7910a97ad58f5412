//! The desk's own record of a vault's sign-in failures, outside the data folder (issue 16,
//! item 4): a random key per vault that MACs the keyring's lockouts, its failed sign-ins
//! waiting to be audited and its monotonic count of failed attempts, plus the highest count
//! this desk has seen.
//!
//! `keyring.json` must be readable before any password is known, so what it says about
//! failures cannot be under a user's key. Without this, editing it lifted a lockout and erased
//! the failed attempts' record. Now an edit breaks the MAC, and putting back an older, authentic
//! keyring (its MAC intact) shows a count lower than the desk's: either way the vault is locked
//! for the lockout period and the tampering is audited at the next sign-in. A data folder moved
//! to another desk (or a deleted device file) cannot be checked: that is audited too, and a new
//! device record begins.
//!
//! The file lives in `$BOARDING_DESK_DEVICE_DIR`, else `$XDG_STATE_HOME/boarding-desk/devices`,
//! else `~/.local/state/boarding-desk/devices` (0700, files 0600). It defends against an edit
//! of the data folder by someone who cannot read this desk's state folder (a synced or shared
//! data folder, a copied one put back); not against the desk's own OS user, who can read both
//! (docs/SECURITY.md). The OS keychain (Secret Service) is the next step.

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::crypto::{self, Key};
use crate::keyring::{b64, unb64, Keyring};
use crate::{Result, VaultError};

/// What this desk keeps for one vault.
#[derive(Serialize, Deserialize)]
struct Record {
    key: String,
    /// The highest failed-attempt count this desk has written into the vault's keyring.
    attempts: u64,
    /// The signing keys of the self-signed registrations this desk made (the founding admin,
    /// members moved from a legacy slot) or found when it first kept a record: the trust
    /// anchor for registrations no admin signed. `None` in a record from before anchors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    anchors: Option<Vec<String>>,
}

/// What the device record says of a keyring just read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// Its failure records carry this desk's MAC and are at least as new as the desk's count.
    Intact,
    /// Written before failure records were MACed (or a keyring never saved on any desk).
    Unguarded,
    /// The MAC does not verify: the failure records were edited outside the app.
    Edited,
    /// Authentic but older than this desk's count: an earlier keyring was put back.
    RolledBack,
    /// A MAC, but this desk has no record of the vault (another desk's, or the file deleted).
    Unknown,
}

fn folder() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("BOARDING_DESK_DEVICE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|d| !d.is_empty())
                .map(|h| PathBuf::from(h).join(".local").join("state"))
        })?;
    Some(state.join("boarding-desk").join("devices"))
}

pub(crate) fn path(vault_id: &str) -> Option<PathBuf> {
    // A vault id is a UUID; anything else never names a file.
    uuid::Uuid::parse_str(vault_id).ok()?;
    Some(folder()?.join(format!("{vault_id}.json")))
}

fn read_record(vault_id: &str) -> Option<Record> {
    let bytes = fs::read(path(vault_id)?).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn read(vault_id: &str) -> Option<(Key, u64)> {
    let record = read_record(vault_id)?;
    let key = Key::from_slice(&unb64(&record.key, "").ok()?)?;
    Some((key, record.attempts))
}

fn write_record(
    vault_id: &str,
    key: &Key,
    attempts: u64,
    anchors: Option<Vec<String>>,
) -> Result<()> {
    let io = VaultError::io("the desk's device record", "written");
    let Some(path) = path(vault_id) else {
        return Ok(());
    };
    let Some(dir) = path.parent() else {
        return Ok(());
    };
    fs::create_dir_all(dir).map_err(VaultError::io("the desk's state folder", "created"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    }
    let json = serde_json::to_vec(&Record {
        key: b64(key.expose()),
        attempts,
        anchors,
    })
    .map_err(|_| VaultError::KeyringDamaged("the device record could not be written"))?;
    let tmp = path.with_extension("json.tmp");
    let mut file = crate::db::private_file()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&tmp)
        .map_err(VaultError::io("the desk's device record", "written"))?;
    file.write_all(&json)
        .and_then(|()| file.sync_all())
        .map_err(VaultError::io("the desk's device record", "written"))?;
    fs::rename(&tmp, &path).map_err(io)
}

/// What the MAC covers: the vault, the count, the lockouts and the failures to be audited.
fn material(ring: &Keyring) -> Vec<u8> {
    let mut out = ring.vault_id.as_bytes().to_vec();
    out.extend_from_slice(&ring.attempts.to_be_bytes());
    for part in [
        serde_json::to_vec(&ring.lockouts).unwrap_or_default(),
        serde_json::to_vec(&ring.pending_audit).unwrap_or_default(),
    ] {
        out.extend_from_slice(&(part.len() as u64).to_be_bytes());
        out.extend_from_slice(&part);
    }
    out
}

const CONTEXT: &[u8] = b"boarding-desk/failures/v1";

/// What this desk's record says of `ring` (read at sign-in, before its lockouts are trusted).
pub(crate) fn standing(ring: &Keyring) -> Standing {
    let Some(guard) = &ring.failures_mac else {
        return Standing::Unguarded;
    };
    let Some((key, attempts)) = read(&ring.vault_id.to_string()) else {
        return Standing::Unknown;
    };
    let ok = unb64(guard, "")
        .ok()
        .is_some_and(|m| crypto::hmac_verify(&key, &[CONTEXT, &material(ring)], &m));
    if !ok {
        Standing::Edited
    } else if ring.attempts < attempts {
        Standing::RolledBack
    } else {
        Standing::Intact
    }
}

/// MACs `ring`'s failure records with this desk's key (made on first use) and raises the
/// desk's count to the keyring's. Called by every keyring save.
/// A desk that cannot keep a record (no state folder, read-only) leaves them unguarded.
pub(crate) fn stamp(ring: &mut Keyring) {
    let vault_id = ring.vault_id.to_string();
    let record = read_record(&vault_id);
    let anchored = record.as_ref().is_some_and(|r| r.anchors.is_some());
    let (key, seen, fresh) = match read(&vault_id) {
        Some((key, seen)) => (key, seen, false),
        None => (Key::random(), 0, true),
    };
    if fresh || ring.attempts > seen || !anchored {
        // First use on this desk: the self-signed registrations found are trusted from now on.
        let anchors = record
            .and_then(|r| r.anchors)
            .unwrap_or_else(|| self_signed(ring));
        if write_record(&vault_id, &key, ring.attempts.max(seen), Some(anchors)).is_err() {
            ring.failures_mac = None;
            return;
        }
    }
    ring.failures_mac = Some(b64(&crypto::hmac(&key, &[CONTEXT, &material(ring)])));
}

/// At sign-in: when `ring`'s failure records were edited or rolled back, locks the whole vault
/// for `lock_for` and queues the finding for the audit log; when this desk cannot check them,
/// queues that. Returns the lock's end when it locked.
pub(crate) fn check_failures(
    ring: &mut Keyring,
    now: time::OffsetDateTime,
    lock_for: time::Duration,
) -> Option<time::OffsetDateTime> {
    let (outcome, lock) = match standing(ring) {
        Standing::Intact | Standing::Unguarded => return None,
        Standing::Edited => (
            "failed: the sign-in failure records in keyring.json were edited outside the app",
            true,
        ),
        Standing::RolledBack => (
            "failed: an earlier keyring.json was put back (fewer failed attempts than this desk has seen)",
            true,
        ),
        Standing::Unknown => (
            "ok: this desk has no record of the vault's sign-in failures (a folder moved or restored here, or the desk's record deleted): a new one begins",
            false,
        ),
    };
    // The count never goes back: the desk's is carried on.
    carry_count(ring);
    ring.push_pending(crate::keyring::PendingEvent {
        at: now,
        action: if lock {
            "auth.failures_tampered".into()
        } else {
            "auth.failures_unverified".into()
        },
        slot: crate::keyring::EVERY_SLOT.into(),
        outcome: outcome.into(),
    });
    if !lock {
        return None;
    }
    let until = now + lock_for;
    ring.lock_every_slot(now, until);
    Some(until)
}

/// Raises `ring`'s count of failed attempts to this desk's (a restore of an older archive).
pub(crate) fn carry_count(ring: &mut Keyring) {
    if let Some((_, seen)) = read(&ring.vault_id.to_string()) {
        ring.attempts = ring.attempts.max(seen);
    }
}

/// The signing keys of `ring`'s current self-signed registrations.
fn self_signed(ring: &Keyring) -> Vec<String> {
    ring.members
        .iter()
        .filter(|(slot, m)| m.registered_by == **slot)
        .map(|(_, m)| m.sign.clone())
        .collect()
}

/// Trusts a self-signed registration this desk is making (the founding admin, a member moved
/// from a legacy slot), before the keyring holding it is saved.
pub(crate) fn anchor(vault_id: &str, sign: &str) {
    let Some(record) = read_record(vault_id) else {
        // No record yet: the first save anchors every self-signed registration it finds.
        return;
    };
    let Some(key) = Key::from_slice(&unb64(&record.key, "").unwrap_or_default()) else {
        return;
    };
    let mut anchors = record.anchors.unwrap_or_default();
    if !anchors.iter().any(|a| a == sign) {
        anchors.push(sign.to_string());
    }
    let _ = write_record(vault_id, &key, record.attempts, Some(anchors));
}

/// Whether `slot`'s registration is self-signed with a key this desk never anchored (a
/// registration added to `keyring.json` by hand). A desk without anchors yet trusts it.
pub(crate) fn unanchored(ring: &Keyring, slot: &str) -> bool {
    let Some(member) = ring.members.get(slot) else {
        return false;
    };
    if member.registered_by != slot {
        return false;
    }
    read_record(&ring.vault_id.to_string())
        .and_then(|r| r.anchors)
        .is_some_and(|anchors| !anchors.contains(&member.sign))
}
