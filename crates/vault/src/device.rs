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
//! A record belongs to one data folder of a vault: the keyring names it (`desk_record`, a random
//! id), so a restore into a second folder starts a record of its own and two folders of one
//! vault never share a count. A keyring whose id this desk has no record of, while it holds
//! another record of the same vault, counts as edited (an attacker swapping the id to escape its
//! record).
//!
//! The file lives in `$BOARDING_DESK_DEVICE_DIR`, else `$XDG_STATE_HOME/boarding-desk/devices`,
//! else `~/.local/state/boarding-desk/devices` (0700, files 0600). It defends against an edit
//! of the data folder by someone who cannot read this desk's state folder (a synced or shared
//! data folder, a copied one put back); not against the desk's own OS user, who can read both
//! (docs/SECURITY.md). The optional keychain binding (`keychain.rs`) binds sign-ins, not this
//! record.

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
    /// Digests of the self-signed registrations this desk made (the founding admin, members
    /// moved from a legacy slot) or found when it first kept a record — each over the whole
    /// signed registration (keys, role, user id, registrar): the trust anchor for
    /// registrations no admin signed. `None` in a record from before anchors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    anchors: Option<Vec<String>>,
    /// The time (Unix nanoseconds) of the newest keychain choice this desk has believed: an
    /// older one put back into the keyring is not (`keychain.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keychain_seen: Option<i128>,
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

/// The record of `ring`'s data folder, when it names one.
pub(crate) fn path(ring: &Keyring) -> Option<PathBuf> {
    let id = ring.desk_record.as_deref()?;
    // Ids this code made: hex only; anything else never names a file.
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    Some(folder()?.join(format!("{}.{id}.json", ring.vault_id)))
}

/// Whether this desk keeps any record of the vault (of any of its folders).
fn knows_vault(ring: &Keyring) -> bool {
    !records_of_vault(ring).is_empty()
}

/// The records this desk keeps of `ring`'s vault: files named `<vault>.<hex id>.json` (never a
/// temp file left by a failed rename, nor a record from before folder ids).
fn records_of_vault(ring: &Keyring) -> Vec<PathBuf> {
    let prefix = format!("{}.", ring.vault_id);
    let Some(entries) = folder().and_then(|f| fs::read_dir(f).ok()) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix(&prefix)
                .and_then(|rest| rest.strip_suffix(".json"))
                .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit()))
        })
        .map(|e| e.path())
        .collect()
}

/// Fails unless this desk can write its records (before a sign-in tries a password: a record
/// that cannot be written would let attempts go uncounted). A desk with no state folder at all
/// keeps none, as before.
pub(crate) fn ensure_writable() -> Result<()> {
    let Some(dir) = folder() else {
        return Ok(());
    };
    fs::create_dir_all(&dir).map_err(VaultError::io("the desk's state folder", "created"))?;
    let probe = dir.join(format!(".writable-{}", crate::keyring::hex_id()));
    crate::db::private_file()
        .create_new(true)
        .write(true)
        .open(&probe)
        .and_then(|mut f| f.write_all(b"ok"))
        .map_err(VaultError::io("the desk's state folder", "written"))?;
    let _ = fs::remove_file(&probe);
    Ok(())
}

fn read_record(ring: &Keyring) -> Option<Record> {
    let bytes = fs::read(path(ring)?).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn key_of(record: &Record) -> Option<Key> {
    Key::from_slice(&unb64(&record.key, "").ok()?)
}

fn write_record(ring: &Keyring, record: &Record) -> Result<()> {
    let io = VaultError::io("the desk's device record", "written");
    let Some(path) = path(ring) else {
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
    let json = serde_json::to_vec(record)
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

fn mac(key: &Key, ring: &Keyring) -> String {
    b64(&crypto::hmac(key, &[CONTEXT, &material(ring)]))
}

/// What this desk's record says of `ring` (read at sign-in and before every save, before its
/// lockouts are believed or signed again).
pub(crate) fn standing(ring: &Keyring) -> Standing {
    if ring.desk_record.is_none() {
        // Never saved by this version on any desk — unless this desk keeps a record of the
        // vault: then the folder's id (and its MAC) was deleted to escape that record.
        return if ring.format >= crate::keyring::FORMAT && knows_vault(ring) {
            Standing::Edited
        } else {
            Standing::Unguarded
        };
    }
    let Some(record) = read_record(ring) else {
        return if knows_vault(ring) {
            Standing::Edited
        } else {
            Standing::Unknown
        };
    };
    let Some(key) = key_of(&record) else {
        return Standing::Edited;
    };
    // A record and no MAC: the MAC was deleted with what it covered.
    let ok = ring.failures_mac.as_deref().is_some_and(|guard| {
        unb64(guard, "")
            .ok()
            .is_some_and(|m| crypto::hmac_verify(&key, &[CONTEXT, &material(ring)], &m))
    });
    if !ok {
        Standing::Edited
    } else if ring.attempts < record.attempts {
        Standing::RolledBack
    } else {
        Standing::Intact
    }
}

/// MACs `ring`'s failure records with this desk's key (a record made on first use) and raises
/// the desk's count to the keyring's. Called by every keyring save with the keyring on disk: a
/// save never signs over records edited outside the app — when `ring` still carries the disk's
/// MAC (it was read from it, not checked since), the disk's standing is checked as sign-in
/// checks it, and a finding locks the vault in `ring` too. A desk with no state folder at all
/// leaves them unguarded; a record that cannot be written (a read-only or full state folder)
/// fails the save.
pub(crate) fn stamp(ring: &mut Keyring, on_disk: Option<&Keyring>) -> Result<()> {
    if let Some(disk) = on_disk {
        let unchecked = disk.failures_mac == ring.failures_mac
            && disk.desk_record == ring.desk_record
            && disk.vault_id == ring.vault_id;
        if unchecked {
            let mut probe = disk.clone();
            let now = time::OffsetDateTime::now_utc();
            let why = unverified(standing(disk));
            // What this session queued itself (before anything is marked below).
            let queued_here: Vec<_> = ring
                .pending_audit
                .iter()
                .filter(|e| !disk.pending_audit.contains(e))
                .cloned()
                .collect();
            if check_failures(&mut probe, now, crate::Policy::default().lock_for).is_some()
                || probe.pending_audit.len() != disk.pending_audit.len()
            {
                // The disk's records this save carries on are marked as the check marked them.
                if let Some(why) = why {
                    for event in &mut ring.pending_audit {
                        if disk.pending_audit.contains(event) {
                            mark(event, why);
                        }
                    }
                }
                // What the check added to the disk's records, added to what is being saved.
                ring.attempts = ring.attempts.max(probe.attempts);
                let added = probe
                    .pending_audit
                    .len()
                    .saturating_sub(disk.pending_audit.len());
                for event in probe.pending_audit.iter().rev().take(added).rev() {
                    // A finding the sign-in's own check already queued is not queued twice.
                    let queued = queued_here
                        .iter()
                        .any(|e| e.action == event.action && e.slot == event.slot);
                    if !queued {
                        ring.push_pending(event.clone());
                    }
                }
                if let Some(lock) = probe.lockouts.get(crate::keyring::EVERY_SLOT) {
                    ring.lockouts
                        .insert(crate::keyring::EVERY_SLOT.to_string(), lock.clone());
                }
                ring.desk_record = probe.desk_record.clone();
            }
        }
    }
    if ring.desk_record.is_none() {
        ring.desk_record = Some(crate::keyring::hex_id());
    }
    let found = read_record(ring);
    let fresh = found.is_none();
    let mut record = found.unwrap_or_else(|| new_record(ring));
    let Some(key) = key_of(&record) else {
        ring.failures_mac = None;
        return Ok(());
    };
    let mut changed = fresh || ring.attempts > record.attempts;
    record.attempts = record.attempts.max(ring.attempts);
    if record.anchors.is_none() {
        // A record from before anchors: the self-signed registrations found are trusted.
        record.anchors = Some(self_signed(ring));
        changed = true;
    }
    if changed {
        // A record that cannot be written fails the save: failure records this desk cannot
        // guard are not left for an edit to pass as a write that failed.
        write_record(ring, &record)?;
    }
    ring.failures_mac = Some(mac(&key, ring));
    Ok(())
}

/// When `ring`'s failure records were edited or rolled back, locks the whole vault for
/// `lock_for`, queues the finding for the audit log and signs the records again (so the finding
/// is made once); when this desk cannot check them, queues that. Returns the lock's end when it
/// locked.
pub(crate) fn check_failures(
    ring: &mut Keyring,
    now: time::OffsetDateTime,
    lock_for: time::Duration,
) -> Option<time::OffsetDateTime> {
    let found = standing(ring);
    let (outcome, lock) = match found {
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
            "ok: this desk has no record of the vault's sign-in failures (a folder moved here, or the desk's record deleted): a new one begins",
            false,
        ),
    };
    let record = read_record(ring);
    // The count never goes back: the desk's is carried on.
    if let Some(r) = &record {
        ring.attempts = ring.attempts.max(r.attempts);
    }
    // The records waiting to be audited are written as found, marked unverified: an edit may
    // have added some, and the desk must not sign them as its own findings.
    if let Some(why) = unverified(found) {
        for event in &mut ring.pending_audit {
            mark(event, why);
        }
    }
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
    let until = lock.then(|| {
        let until = now + lock_for;
        ring.lock_every_slot(now, until);
        until
    });
    match record.as_ref().and_then(key_of) {
        Some(key) => ring.failures_mac = Some(mac(&key, ring)),
        // No record for this id (or an unreadable one): a new record, under a new id.
        None => {
            ring.desk_record = None;
            ring.failures_mac = None;
        }
    }
    until
}

/// Why records of a keyring in `standing` cannot be believed, if they cannot.
fn unverified(standing: Standing) -> Option<&'static str> {
    match standing {
        Standing::Intact | Standing::Unguarded => None,
        Standing::Edited => Some("unverified, found in an edited keyring.json"),
        Standing::RolledBack => Some("unverified, found in an earlier keyring.json put back"),
        Standing::Unknown => Some("unverified, kept where this desk has no record of them"),
    }
}

/// Marks a waiting record's outcome (`failed: password` → `failed: unverified, …: password`):
/// the word stays first, as the audit log reads it.
fn mark(event: &mut crate::keyring::PendingEvent, why: &str) {
    event.outcome = match event.outcome.split_once(": ") {
        Some((word, detail)) => format!("{word}: {why}: {detail}"),
        None => format!("{}: {why}", event.outcome),
    };
}

/// A restored keyring starts a record of its own (its folder is a new one).
pub(crate) fn new_folder(ring: &mut Keyring) {
    ring.desk_record = None;
    ring.failures_mac = None;
}

/// The digest an anchor keeps of a self-signed registration.
pub(crate) fn anchor_of(message: &[u8]) -> String {
    b64(&crypto::sha256(&[b"boarding-desk/anchor/v1", message]))
}

/// The digests of `ring`'s self-signed registrations, current and retired (a founding admin
/// since disabled or given new keys still registered the members they made).
fn self_signed(ring: &Keyring) -> Vec<String> {
    ring.members
        .iter()
        .chain(ring.retired.iter().map(|r| (&r.slot, &r.member)))
        .filter(|(slot, m)| m.registered_by == **slot)
        .map(|(slot, m)| anchor_of(&ring.registration_message(slot, m)))
        .collect()
}

/// Every anchor this desk keeps for `ring`'s vault in the records of its other folders, when
/// it keeps any.
fn anchors_of_other_folders(ring: &Keyring) -> Option<Vec<String>> {
    let own = path(ring);
    let mut found: Option<Vec<String>> = None;
    for record in records_of_vault(ring) {
        if Some(&record) == own.as_ref() {
            continue;
        }
        // A record from before anchors (or unreadable) says nothing either way.
        let Some(anchors) = fs::read(&record)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Record>(&bytes).ok())
            .and_then(|r| r.anchors)
        else {
            continue;
        };
        let known = found.get_or_insert_with(Vec::new);
        for anchor in anchors {
            if !known.contains(&anchor) {
                known.push(anchor);
            }
        }
    }
    found
}

/// A new record of `ring`'s folder. For a vault this desk keeps records of other folders of
/// (a restore, a folder whose record id was edited away), it trusts what the desk trusted
/// there, never what this keyring claims; on first use of the vault on this desk, the
/// self-signed registrations found are trusted from now on.
fn new_record(ring: &Keyring) -> Record {
    Record {
        key: b64(Key::random().expose()),
        attempts: 0,
        anchors: Some(anchors_of_other_folders(ring).unwrap_or_else(|| self_signed(ring))),
        keychain_seen: None,
    }
}

/// Trusts a self-signed registration this desk is making (the founding admin, a member moved
/// from a legacy slot), before the keyring holding it is saved: into the folder's record, made
/// now if there is none yet.
pub(crate) fn anchor(ring: &mut Keyring, digest: &str) {
    if ring.desk_record.is_none() {
        ring.desk_record = Some(crate::keyring::hex_id());
    }
    let mut record = read_record(ring).unwrap_or_else(|| new_record(ring));
    let anchors = record.anchors.get_or_insert_with(Vec::new);
    if !anchors.iter().any(|a| a == digest) {
        anchors.push(digest.to_string());
    }
    let _ = write_record(ring, &record);
}

/// Starts this desk's record of a team it joins: it trusts the founding registration the join
/// code names and nothing else the store's keyring claims (no trust on first use).
pub(crate) fn join(ring: &mut Keyring, digest: &str) -> Result<()> {
    ring.desk_record = Some(crate::keyring::hex_id());
    ring.failures_mac = None;
    let record = Record {
        key: b64(Key::random().expose()),
        attempts: 0,
        anchors: Some(vec![digest.to_string()]),
        keychain_seen: None,
    };
    write_record(ring, &record)
}

/// The anchors of `ring`'s record, when it has a record with anchors.
pub(crate) fn anchors(ring: &Keyring) -> Option<Vec<String>> {
    match read_record(ring) {
        Some(record) => record.anchors,
        // No record of this folder yet: what the desk trusts in its other folders of the
        // vault, when it keeps any (never every self-signed registration the keyring holds).
        None => anchors_of_other_folders(ring),
    }
}

/// This desk's secret for `ring`'s folder (derived from its record's key): what the desk's copy
/// of the blocklist key is sealed under, with the index key (`blocklist.rs`).
pub(crate) fn desk_secret(ring: &Keyring) -> Option<Key> {
    let record = read_record(ring)?;
    Some(crypto::derive(
        &key_of(&record)?,
        b"desk",
        b"boarding-desk/desk-secret/v1",
    ))
}

/// The seed of this desk's Ed25519 signing key for `ring`'s folder (derived from its record's
/// key, so it lives and dies with the record): what signs the entries no member writes
/// (`desks.rs`).
pub(crate) fn desk_signing_seed(ring: &Keyring) -> Option<Key> {
    let record = read_record(ring)?;
    Some(crypto::derive(
        &key_of(&record)?,
        b"desk-signing",
        b"boarding-desk/desk-signing/v1",
    ))
}

/// The time of the newest keychain choice this desk believed for `ring`'s folder.
pub(crate) fn keychain_seen(ring: &Keyring) -> Option<i128> {
    read_record(ring).and_then(|r| r.keychain_seen)
}

/// Remembers that this desk believed a keychain choice made at `at` (Unix nanoseconds).
pub(crate) fn saw_keychain_choice(ring: &Keyring, at: i128) {
    let Some(mut record) = read_record(ring) else {
        return;
    };
    if record.keychain_seen.is_some_and(|seen| seen >= at) {
        return;
    }
    record.keychain_seen = Some(at);
    let _ = write_record(ring, &record);
}
