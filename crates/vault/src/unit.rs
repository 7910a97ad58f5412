//! The unit of work: the one way to change the vault.
//!
//! [`Vault::write`] opens one `BEGIN IMMEDIATE` transaction, hands the closure a [`Tx`], and
//! commits only when the closure succeeds. Everything the closure changes — the business rows
//! *and* the audit entries it appends with [`Tx::audit`] — commits together or not at all: a
//! crash between a change and its audit entry leaves neither (PCI DSS 10.2). The keyring's copy
//! of the audit head moves after the commit; a crash before that leaves the head one step
//! behind, which `audit verify` accepts (it only refuses a log shorter than the head).
//!
//! Outside a unit the connection refuses to commit anything (a commit hook turns any stray
//! autocommit write into a rollback), so a repository method that writes can only take effect
//! inside [`Vault::write`].

use std::cell::{Cell, RefCell};
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use time::OffsetDateTime;

use crate::audit::{self, Event};
use crate::keyring::AuditHead;
use crate::{Result, Vault, VaultError};

/// An open unit of work. Reads and writes through it (it dereferences to the vault's
/// repository methods) all belong to one transaction.
pub struct Tx<'v> {
    vault: &'v Vault,
    now: OffsetDateTime,
    head: RefCell<Option<AuditHead>>,
    /// The last action audited in this unit (names the unit for the test failpoints).
    action: RefCell<String>,
    /// Set by a change that destroys data (an erasure): once the unit commits, the WAL is
    /// checkpointed and truncated, so the destroyed pages' old images do not wait in it.
    checkpoint: Cell<bool>,
}

impl Deref for Tx<'_> {
    type Target = Vault;
    fn deref(&self) -> &Vault {
        self.vault
    }
}

impl Tx<'_> {
    /// Appends `event` to the audit log inside this unit: it commits with the change it
    /// records, or not at all.
    pub fn audit(&self, event: &Event<'_>) -> Result<()> {
        failpoint("audit.append", event.action);
        self.audit_at(event, self.now)
    }

    /// An entry that happened earlier than the unit (sign-in failures recorded while the
    /// vault was locked).
    pub(crate) fn audit_at(&self, event: &Event<'_>, at: OffsetDateTime) -> Result<()> {
        let keys = self.vault.keys();
        let desk = self.vault.desk.borrow();
        let member = keys.me.as_ref().map(|keys| audit::Signer {
            slot: &self.vault.slot,
            seed: keys.signing_seed(),
        });
        // An entry no member writes is signed by the desk, once an admin registered its key;
        // on a desk none did, the member signs it in their own name (`anonymous for uma`).
        let on_behalf;
        let (event, signer) = match (desk.as_ref(), &member) {
            (Some(desk), _) if crate::desks::signs_for(event.actor) => (
                *event,
                Some(audit::Signer {
                    slot: &desk.slot,
                    seed: &desk.seed,
                }),
            ),
            (None, Some(_)) if crate::desks::signs_for(event.actor) => {
                on_behalf = format!("{} for {}", event.actor, self.vault.member_name()?);
                (
                    Event {
                        actor: &on_behalf,
                        ..*event
                    },
                    member,
                )
            }
            _ => (*event, member),
        };
        let head = audit::append(&self.vault.db(), &event, at, &self.vault.head_key(), signer)?;
        *self.head.borrow_mut() = Some(head);
        event.action.clone_into(&mut self.action.borrow_mut());
        Ok(())
    }

    /// Asks for `wal_checkpoint(TRUNCATE)` once this unit has committed.
    pub(crate) fn checkpoint_after_commit(&self) {
        self.checkpoint.set(true);
    }

    /// The time this unit started (every audit entry of the unit carries it).
    pub fn now(&self) -> OffsetDateTime {
        self.now
    }
}

/// Whether a unit is open on a connection; read by the commit hook.
#[derive(Clone, Default)]
pub(crate) struct UnitFlag(Arc<AtomicBool>);

impl UnitFlag {
    fn set(&self, open: bool) {
        self.0.store(open, Ordering::SeqCst);
    }

    fn is_open(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Installs the hook that refuses commits outside a unit of work.
pub(crate) fn guard_commits(conn: &rusqlite::Connection, flag: &UnitFlag) -> Result<()> {
    let flag = flag.clone();
    // Returning true turns the commit into a rollback.
    conn.commit_hook(Some(move || !flag.0.load(Ordering::SeqCst)))
        .map_err(VaultError::storage("guarding the vault's commits"))
}

/// Rolls back when dropped before `commit` (an error or a panic in the closure).
struct Open<'v> {
    vault: &'v Vault,
    done: bool,
}

impl Open<'_> {
    fn commit(mut self) -> Result<()> {
        self.done = true;
        let out = self.vault.db().commit("committing a change");
        if out.is_err() && self.vault.in_transaction() {
            let _ = self.vault.db().batch("rolling back a change", "ROLLBACK");
        }
        self.vault.unit.set(false);
        out
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.vault.db().batch("rolling back a change", "ROLLBACK");
            self.vault.unit.set(false);
        }
    }
}

impl Vault {
    /// `wal_checkpoint(TRUNCATE)`: every committed page written into the file (where
    /// `secure_delete` has already zeroed freed content) and the WAL cut to zero bytes. Best
    /// effort: another connection reading at this moment keeps the WAL until the next
    /// checkpoint (SQLite's own, at 1,000 pages, or the next erasure).
    pub(crate) fn checkpoint_wal(&self) {
        // A team store's server keeps its own write-ahead log.
        if let Ok(conn) = self.local() {
            let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
    }

    /// Whether a transaction is open on the connection: SQLite says so itself; on a team
    /// store, a transaction is open exactly while a unit is.
    pub(crate) fn in_transaction(&self) -> bool {
        match &self.backend {
            crate::vault::Backend::Local(conn) => !conn.is_autocommit(),
            crate::vault::Backend::Team(_) => self.unit.is_open(),
        }
    }

    /// Runs `f` as one unit of work and commits it with its audit entries; the keyring's audit
    /// head then moves to the last entry appended.
    pub fn write<T, E: From<VaultError>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.write_at(OffsetDateTime::now_utc(), f)
    }

    /// The same, with the unit's audit time given (tests and benches that set the clock).
    pub fn write_at<T, E: From<VaultError>>(
        &self,
        now: OffsetDateTime,
        f: impl FnOnce(&Tx<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let (out, head) = self.write_keeping_head(now, f)?;
        if let Some((head, action)) = head {
            failpoint("audit.head", &action);
            self.advance_head(head)?;
        }
        Ok(out)
    }

    /// The same at a given time, leaving the audit head to the caller (sign-in keeps the
    /// keyring locked and saves it once).
    pub(crate) fn write_keeping_head<T, E: From<VaultError>>(
        &self,
        now: OffsetDateTime,
        f: impl FnOnce(&Tx<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<(T, Option<(AuditHead, String)>), E> {
        if self.in_transaction() {
            return Err(
                VaultError::Conflict("a unit of work was started inside another one").into(),
            );
        }
        // One unit at a time, on either engine, so what a unit reads before it writes (a
        // version, a status, a count) is still so when it writes. SQLite: the write lock at
        // once. PostgreSQL: the audit head's row, locked first by every unit (one lock order,
        // so no deadlock), with each later statement reading what the previous holder
        // committed (docs/adr/0001-team-store.md §1a).
        let begin = match self.db().engine() {
            crate::sql::Engine::Sqlite => "BEGIN IMMEDIATE",
            crate::sql::Engine::Postgres => {
                "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT 1 FROM audit_head FOR UPDATE"
            }
        };
        self.db().batch("starting a change", begin)?;
        self.unit.set(true);
        let open = Open {
            vault: self,
            done: false,
        };
        let tx = Tx {
            vault: self,
            now,
            head: RefCell::new(None),
            action: RefCell::new(String::new()),
            checkpoint: Cell::new(false),
        };
        let out = f(&tx)?;
        let action = tx.action.into_inner();
        failpoint("unit.commit", &action);
        open.commit()?;
        if tx.checkpoint.get() {
            self.checkpoint_wal();
            // The unit is committed: a ledger that cannot be written now is written at the
            // next sign-in (it is rebuilt from the tombstones).
            let _ = self.sync_erasure_ledger();
        }
        Ok((out, tx.head.into_inner().map(|h| (h, action))))
    }

    /// Moves the keyring's head forward (never back: a unit that committed earlier may save
    /// after a later one).
    fn advance_head(&self, head: AuditHead) -> Result<()> {
        let lock = self.keyring.lock()?;
        if self.keyring.advance_own_head(&head, &lock)? {
            return Ok(());
        }
        let mut ring = self.keyring.load()?;
        if ring.audit_head.as_ref().is_some_and(|h| h.seq >= head.seq) {
            return Ok(());
        }
        ring.audit_head = Some(head);
        self.keyring.save(&ring, &lock)
    }

    /// Runs `f` with commits allowed outside a unit: for the statements that rewrite the whole
    /// file (re-keying) or another database (a backup export), which carry no business change.
    pub(crate) fn unguarded<T>(&self, f: impl FnOnce() -> T) -> T {
        self.unit.set(true);
        let out = f();
        self.unit.set(false);
        out
    }

    /// Runs `f` under a savepoint of the open unit: whole or not at all. Repository methods
    /// that make several writes use it so a failure half-way leaves the unit as it was.
    pub(crate) fn savepoint<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        self.in_unit()?;
        let run = |sql: &str| self.db().batch("running a savepoint", sql);
        run("SAVEPOINT part")?;
        match f() {
            Ok(v) => {
                run("RELEASE SAVEPOINT part")?;
                Ok(v)
            }
            Err(e) => {
                run("ROLLBACK TO SAVEPOINT part")?;
                run("RELEASE SAVEPOINT part")?;
                Err(e)
            }
        }
    }
}

/// A savepoint of the open unit, released by [`Part::commit`] and rolled back when dropped
/// before it: a repository method's several writes are whole or absent within the unit.
pub(crate) struct Part<'c> {
    db: crate::sql::Db<'c>,
    done: bool,
}

impl Part<'_> {
    pub(crate) fn commit(mut self) -> Result<()> {
        self.done = true;
        self.db
            .batch("releasing a savepoint", "RELEASE SAVEPOINT part")
    }
}

impl Drop for Part<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.db.batch(
                "rolling back a savepoint",
                "ROLLBACK TO SAVEPOINT part; RELEASE SAVEPOINT part",
            );
        }
    }
}

impl Vault {
    /// Refuses a change outside a unit of work (the commit guard would roll it back anyway;
    /// this says so before anything runs).
    pub(crate) fn in_unit(&self) -> Result<()> {
        if !self.in_transaction() {
            return Err(VaultError::Conflict(
                "a change was attempted outside a unit of work",
            ));
        }
        Ok(())
    }

    /// Opens a [`Part`]; refused outside a unit of work.
    pub(crate) fn part(&self) -> Result<Part<'_>> {
        self.in_unit()?;
        let db = self.db();
        db.batch("starting a savepoint", "SAVEPOINT part")?;
        Ok(Part { db, done: false })
    }
}

/// A test-only crash point: with `BOARDING_DESK_FAILPOINT=<name>:<action>` in a debug build the
/// process aborts here, in the unit that audits `action`, as a power cut would stop it:
/// - `audit.append` — the unit's business writes are done, its audit entry is not;
/// - `unit.commit` — everything is written, nothing committed;
/// - `audit.head` — committed, the keyring's audit head not yet moved.
///
/// Release builds have no failpoints.
pub(crate) fn failpoint(name: &str, action: &str) {
    #[cfg(debug_assertions)]
    if let Some(armed) = std::env::var_os("BOARDING_DESK_FAILPOINT") {
        if armed.to_str() == Some(&format!("{name}:{action}")) {
            std::process::abort();
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = (name, action);
}

/// Test support, in debug builds only: the raw connection of an attacker who holds the key
/// (to tamper with rows and prove it is detected), and clock hooks the journeys need.
#[cfg(debug_assertions)]
#[doc(hidden)]
pub mod testing {
    use super::*;

    /// Where this desk keeps its record of the sign-in failures of the vault in `dir`.
    pub fn device_record(dir: &std::path::Path) -> Option<std::path::PathBuf> {
        crate::device::path(&crate::keyring::KeyringFile::in_dir(dir).load().ok()?)
    }

    /// The connection with the commit guard off for as long as it is held.
    pub struct Unguarded<'v>(pub(crate) &'v Vault);

    impl Deref for Unguarded<'_> {
        type Target = rusqlite::Connection;
        fn deref(&self) -> &rusqlite::Connection {
            match &self.0.backend {
                crate::vault::Backend::Local(conn) => conn,
                crate::vault::Backend::Team(_) => panic!("a test's raw connection on a team store"),
            }
        }
    }

    impl Drop for Unguarded<'_> {
        fn drop(&mut self) {
            self.0.unit.set(false);
        }
    }

    pub trait Raw {
        fn raw_conn(&self) -> Unguarded<'_>;
    }

    /// One INSERT on the guarded connection outside any unit, as a bug that bypassed [`Tx`]
    /// would send: the commit hook must refuse it.
    pub fn stray_write(vault: &Vault) -> Result<usize> {
        vault
            .local()?
            .execute(
                "INSERT INTO settings (key, value) VALUES ('stray', 'x')",
                [],
            )
            .map_err(VaultError::storage("a stray write"))
    }

    impl Raw for Vault {
        fn raw_conn(&self) -> Unguarded<'_> {
            self.unit.set(true);
            Unguarded(self)
        }
    }
}

#[cfg(debug_assertions)]
impl testing::Unguarded<'_> {
    /// Makes an account look created at `created_at` (RFC 3339): the 24-hour rule for second
    /// approvers is tested without waiting a day. Returns the rows changed.
    pub fn age_user(&self, username: &str, created_at: &str) -> Result<usize> {
        self.0
            .db()
            .execute(
                "ageing a user",
                "UPDATE users SET created_at = ?2 WHERE username = ?1",
                crate::args![username, created_at],
            )
            .map(|n| n as usize)
    }

    /// Moves an application's withdrawal `by_ms` into the past (retention is tested without
    /// waiting years). Returns the rows changed.
    pub fn backdate_withdrawal(&self, application_id: &str, by_ms: i64) -> Result<usize> {
        self.0
            .db()
            .execute(
                "backdating a withdrawal",
                "UPDATE application_history SET at = at - ?2
                 WHERE application_id = ?1 AND to_status = 'withdrawn'",
                crate::args![application_id, by_ms],
            )
            .map(|n| n as usize)
    }
}

/// An attacker's toolkit (issue 16's offline tests): a copy of the data folder and one user's
/// password — no authenticator code, no sign-in, no role check, no audit entry. It uses the
/// same key code the vault does (the attacker has the source), so what it opens is exactly
/// what the keys allow, whatever the application code would.
#[cfg(debug_assertions)]
#[doc(hidden)]
pub mod attacker {
    use crate::keyring::KeyringFile;
    use crate::keys::{DataClass, Keys};
    use crate::seal::{self, Sealed};
    use crate::{Result, VaultError};

    pub struct Attacker {
        conn: rusqlite::Connection,
        keys: Keys,
        dir: std::path::PathBuf,
        slot: String,
    }

    /// An audit entry as the attacker rewrites it.
    pub type Forged = crate::audit::Entry;

    fn keys_in(
        ring_dir: &std::path::Path,
        username: &str,
        password: &str,
    ) -> Result<(Keys, crate::crypto::Key, String)> {
        let ring = KeyringFile::in_dir(ring_dir).load()?;
        let slot = crate::vault::slot_id(username);
        let opened = ring
            .open_password_slot(&slot, password.as_bytes())?
            .ok_or(VaultError::BadCredentials)?;
        let keys = ring.keys(&slot, opened)?;
        let db_key = ring.unwrap_db_key(keys.db_wrap(), &ring.db_key)?;
        Ok((keys, db_key, slot))
    }

    /// Opens what `password` opens in `dir`'s keyring, and the vault file with it.
    pub fn with_password(
        dir: &std::path::Path,
        username: &str,
        password: &str,
    ) -> Result<Attacker> {
        with_old_keyring(dir, dir, username, password)
    }

    /// `username`'s keys from the keyring in `ring_dir` (an old copy they kept) against the
    /// vault file in `dir`, keyed with the database key in `ring_dir`.
    pub fn with_old_keyring(
        ring_dir: &std::path::Path,
        dir: &std::path::Path,
        username: &str,
        password: &str,
    ) -> Result<Attacker> {
        let (keys, db_key, slot) = keys_in(ring_dir, username, password)?;
        let conn = crate::db::open_keyed(&dir.join(crate::VAULT_FILE), &db_key, false)?;
        Ok(Attacker {
            conn,
            keys,
            dir: dir.to_path_buf(),
            slot,
        })
    }

    /// As [`with_old_keyring`], and the current database key too (as if it leaked another
    /// way, e.g. from a colleague's unlocked desk): what the old class keys alone open.
    pub fn with_old_keyring_and_current_file_key(
        ring_dir: &std::path::Path,
        dir: &std::path::Path,
        username: &str,
        password: &str,
        (admin, admin_password): (&str, &str),
    ) -> Result<Attacker> {
        let (keys, _, slot) = keys_in(ring_dir, username, password)?;
        let conn = with_password(dir, admin, admin_password)?.conn;
        Ok(Attacker {
            conn,
            keys,
            dir: dir.to_path_buf(),
            slot,
        })
    }

    impl Attacker {
        pub fn classes(&self) -> Vec<DataClass> {
            self.keys.held().collect()
        }

        /// Can it compute blind-index digests (and so brute-force an SSN from one)?
        pub fn can_index(&self) -> bool {
            seal::index_key(&self.keys, "ssn").is_ok()
        }

        /// Also takes the desk's copy of the blocklist key, as someone holding this desk's
        /// state folder too (a stolen laptop) would.
        pub fn with_the_desks_record(mut self) -> Self {
            if let Ok(ring) = KeyringFile::in_dir(&self.dir).load() {
                let probe = crate::Vault::probe_desk_blocklist(&ring, &self.keys);
                self.keys.desk_blocklist = probe;
            }
            self
        }

        /// Writes this desk's copy of the blocklist key as a key of the attacker's own (they
        /// hold the index key and, on the desk, its record), signed with their own member key
        /// and naming `signer` (their own slot, or an admin's) — so that the desk's sessions
        /// would match under a key no entry was made with. Returns whether it could.
        pub fn swap_the_desks_blocklist_copy(&self, signer: &str) -> bool {
            let file = KeyringFile::in_dir(&self.dir);
            let (Ok(mut ring), Some(me)) = (file.load(), self.keys.me.as_ref()) else {
                return false;
            };
            let signer = crate::vault::slot_id(signer);
            let Some(copy) = crate::blocklist::forged_desk_copy(&ring, &self.keys, &signer, me)
            else {
                return false;
            };
            let Some(desk) = ring.desk_record.clone() else {
                return false;
            };
            ring.blocklist_desks.insert(desk, copy);
            let json = serde_json::to_vec_pretty(&ring).unwrap_or_default();
            std::fs::write(self.dir.join(crate::KEYRING_FILE), json).is_ok()
        }

        /// The brute force of the blocklist: each candidate value (normalised, as intake stores
        /// it) of `kind` tried with every key this attacker holds — the blind-index key, the
        /// blocklist key — against every entry's digest. Returns the candidates that matched.
        pub fn reverse_blocklist(
            &self,
            kind: &str,
            candidates: impl IntoIterator<Item = String>,
        ) -> Vec<String> {
            let digests: std::collections::HashSet<Vec<u8>> = self
                .conn
                .prepare("SELECT digest FROM blocklist WHERE kind = ?1")
                .and_then(|mut s| {
                    s.query_map([kind], |r| r.get::<_, Vec<u8>>(0))?
                        .collect::<rusqlite::Result<_>>()
                })
                .unwrap_or_default();
            let index = seal::index_key(&self.keys, kind).ok();
            let blocklist = self.keys.blocklist().cloned();
            candidates
                .into_iter()
                .filter(|value| {
                    index.as_ref().is_some_and(|k| {
                        digests.contains(seal::blind_index_with(k, value).as_slice())
                    }) || blocklist.as_ref().is_some_and(|k| {
                        digests.contains(crate::blocklist::digest(k, kind, value).as_slice())
                    })
                })
                .collect()
        }

        fn rows(&self, sql: &str) -> Vec<(String, String, Vec<u8>)> {
            let Ok(mut stmt) = self.conn.prepare(sql) else {
                return Vec::new();
            };
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map(|rows| rows.filter_map(std::result::Result::ok).collect())
                .unwrap_or_default()
        }

        /// Rewrites the audit log as `change` says (drop, edit), re-chains every entry from the
        /// first changed one, re-signs those with the attacker's own key, and moves the
        /// keyring's head (its MAC key is in the metadata class they hold) — everything one
        /// member can do to the log with their keys.
        pub fn forge_audit(&self, change: impl FnOnce(&mut Vec<Forged>)) -> Result<()> {
            let me = self.keys.signer()?;
            self.forge_audit_signed(&self.slot, me.signing_seed(), change)
        }

        /// As [`Attacker::forge_audit`], the entries re-signed by a desk key of the attacker's
        /// own: registered in `keyring.json` for a made-up desk, signed with their own member
        /// key in the name of `registrar` (their own slot's user, or an admin).
        pub fn forge_audit_as_a_made_up_desk(
            &self,
            registrar: &str,
            change: impl FnOnce(&mut Vec<Forged>),
        ) -> Result<()> {
            let me = self.keys.signer()?;
            let file = KeyringFile::in_dir(&self.dir);
            let mut ring = file.load()?;
            let desk = "f".repeat(32);
            let seed = crate::crypto::Key::random();
            let public = crate::keyring::b64(&crate::crypto::ed25519_public(&seed));
            let at = time::OffsetDateTime::now_utc();
            let signature = me.sign(&crate::desks::message(&ring, &desk, &public, at));
            ring.desk_keys
                .entry(desk.clone())
                .or_default()
                .push(crate::keyring::DeskKey {
                    public,
                    at,
                    signer: crate::vault::slot_id(registrar),
                    signature: crate::keyring::b64(&signature),
                    unrecorded: false,
                });
            let json = serde_json::to_vec_pretty(&ring).unwrap_or_default();
            std::fs::write(self.dir.join(crate::KEYRING_FILE), json)
                .map_err(VaultError::io("keyring.json", "written"))?;
            self.forge_audit_signed(&format!("{}{desk}", crate::desks::PREFIX), &seed, change)
        }

        /// As [`Attacker::forge_audit`], the entries re-signed with this desk's own key, as
        /// someone holding its state folder too (a stolen laptop) could.
        pub fn forge_audit_as_this_desk(
            &self,
            change: impl FnOnce(&mut Vec<Forged>),
        ) -> Result<()> {
            let ring = KeyringFile::in_dir(&self.dir).load()?;
            let (Some(desk), Some(seed)) = (
                ring.desk_record.clone(),
                crate::device::desk_signing_seed(&ring),
            ) else {
                return Err(VaultError::NoKey("this desk's record"));
            };
            self.forge_audit_signed(&format!("{}{desk}", crate::desks::PREFIX), &seed, change)
        }

        fn forge_audit_signed(
            &self,
            slot: &str,
            seed: &crate::crypto::Key,
            change: impl FnOnce(&mut Vec<Forged>),
        ) -> Result<()> {
            let storage = VaultError::storage("forging the audit log");
            let before = crate::audit::list(&crate::sql::Db::Sqlite(&self.conn), u32::MAX, None)?;
            let mut entries: Vec<Forged> = before.iter().rev().cloned().collect();
            let original = entries.clone();
            change(&mut entries);
            let first = entries
                .iter()
                .zip(&original)
                .position(|(a, b)| a != b)
                .unwrap_or(entries.len().min(original.len()));
            self.conn
                .execute_batch(
                    "DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete;",
                )
                .map_err(storage)?;
            let storage = VaultError::storage("forging the audit log");
            let mut prev: Vec<u8> = if first == 0 {
                vec![0; 32]
            } else {
                self.conn
                    .query_row(
                        "SELECT hash FROM audit WHERE seq = ?1",
                        [first as i64],
                        |r| r.get(0),
                    )
                    .map_err(storage)?
            };
            let storage = VaultError::storage("forging the audit log");
            self.conn
                .execute("DELETE FROM audit WHERE seq > ?1", [first as i64])
                .map_err(storage)?;
            let mut head = None;
            for (i, entry) in entries.iter_mut().enumerate().skip(first) {
                entry.seq = i as i64 + 1;
                let hash = crate::audit::entry_hash(&prev, entry);
                let signature =
                    crate::crypto::sign(seed, &crate::audit::signed_message(&hash)).to_vec();
                self.conn
                    .execute(
                        "INSERT INTO audit (seq, at, actor, action, target, outcome, detail,
                             prev_hash, hash, signer, signature)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                        rusqlite::params![
                            entry.seq,
                            entry.at,
                            entry.actor,
                            entry.action,
                            entry.target,
                            entry.outcome,
                            entry.detail,
                            prev,
                            hash.as_slice(),
                            slot,
                            signature
                        ],
                    )
                    .map_err(VaultError::storage("forging the audit log"))?;
                head = Some((entry.seq, hash));
                prev = hash.to_vec();
            }
            // Entries only cut from the end: the head moves back to the last one kept.
            if head.is_none() && !entries.is_empty() {
                let seq = entries.len() as i64;
                let hash: Vec<u8> = self
                    .conn
                    .query_row("SELECT hash FROM audit WHERE seq = ?1", [seq], |r| r.get(0))
                    .map_err(VaultError::storage("forging the audit log"))?;
                head = hash.try_into().ok().map(|h: [u8; 32]| (seq, h));
            }
            let file = KeyringFile::in_dir(&self.dir);
            let lock = file.lock()?;
            let mut ring = file.load()?;
            if let Some((seq, hash)) = head {
                let key = crate::crypto::derive(
                    self.keys.metadata(),
                    b"audit",
                    b"boarding-desk/audit-head/v1",
                );
                let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
                ring.audit_head = Some(crate::keyring::AuditHead {
                    seq,
                    hash: hex(&hash),
                    mac: hex(&crate::audit::head_mac(&key, seq, &hash)),
                });
            }
            file.save(&ring, &lock)
        }

        /// Adds a made-up admin member (a key pair of the attacker's own, self-signed) to
        /// `keyring.json` and re-signs their own registration with `role` by it, raising their
        /// row to match: an admin-signed registration without an admin.
        pub fn register_through_a_made_up_admin(&self, role: &str) -> Result<()> {
            let file = KeyringFile::in_dir(&self.dir);
            let lock = file.lock()?;
            let mut ring = file.load()?;
            let fake = crate::keys::MemberKeys::generate();
            let fake_slot = "user:0000000000000000000000000000000000000000000000000000000000000000";
            let mut made_up = ring
                .members
                .get(&self.slot)
                .cloned()
                .ok_or(VaultError::NotFound("registration"))?;
            made_up.role = "admin".into();
            made_up.user_id = "nobody".into();
            made_up.sign = crate::keyring::b64(&fake.public().sign);
            made_up.wrap = crate::keyring::b64(&fake.public().wrap);
            made_up.registered_by = fake_slot.into();
            made_up.signature =
                crate::keyring::b64(&fake.sign(&ring.registration_message(fake_slot, &made_up)));
            ring.members.insert(fake_slot.into(), made_up);
            let mut member = ring
                .members
                .get(&self.slot)
                .cloned()
                .ok_or(VaultError::NotFound("registration"))?;
            member.role = role.to_string();
            member.registered_by = fake_slot.into();
            member.signature =
                crate::keyring::b64(&fake.sign(&ring.registration_message(&self.slot, &member)));
            ring.members.insert(self.slot.clone(), member.clone());
            file.save(&ring, &lock)?;
            self.conn
                .execute(
                    "UPDATE users SET role = ?1 WHERE id = ?2",
                    rusqlite::params![role, member.user_id],
                )
                .map_err(VaultError::storage("raising a role"))?;
            Ok(())
        }

        /// Rewrites their own registration in `keyring.json` with `role`, signed by their own
        /// key (self-signed, as the founding admin's is), and their row in the database to
        /// match: what one member can do to pass for another role.
        pub fn self_register_as(&self, role: &str) -> Result<()> {
            let me = self.keys.signer()?;
            let file = KeyringFile::in_dir(&self.dir);
            let lock = file.lock()?;
            let mut ring = file.load()?;
            let mut member = ring
                .members
                .get(&self.slot)
                .cloned()
                .ok_or(VaultError::NotFound("registration"))?;
            member.role = role.to_string();
            member.registered_by = self.slot.clone();
            member.signature =
                crate::keyring::b64(&me.sign(&ring.registration_message(&self.slot, &member)));
            ring.members.insert(self.slot.clone(), member.clone());
            file.save(&ring, &lock)?;
            self.conn
                .execute(
                    "UPDATE users SET role = ?1 WHERE id = ?2",
                    rusqlite::params![role, member.user_id],
                )
                .map_err(VaultError::storage("raising a role"))?;
            Ok(())
        }

        /// Deletes every signed checkpoint the vault keeps (a plain table to whoever holds the
        /// file key).
        pub fn forget_checkpoints(&self) -> Result<()> {
            self.conn
                .execute("DELETE FROM audit_checkpoints", [])
                .map_err(VaultError::storage("deleting checkpoints"))?;
            Ok(())
        }

        /// Every sealed value of the vault this attacker's keys open, as text.
        pub fn readable(&self) -> Vec<String> {
            let mut sealed = Vec::new();
            for sql in [
                "SELECT id, 'application', body FROM applications",
                "SELECT id, 'application.masked', masked FROM applications WHERE masked IS NOT NULL",
                "SELECT application_id, 'person:' || person_id, body FROM application_people",
                "SELECT application_id, 'person.masked:' || person_id, masked FROM application_people WHERE masked IS NOT NULL",
                "SELECT application_id, 'bank', body FROM bank_accounts",
                "SELECT application_id, 'bank.masked', masked FROM bank_accounts WHERE masked IS NOT NULL",
                "SELECT application_id, 'document:' || id, content FROM documents",
                "SELECT id, 'totp_secret', totp_secret FROM users WHERE totp_secret IS NOT NULL",
            ] {
                sealed.extend(self.rows(sql));
            }
            for (record, field, hex) in self.rows(
                "SELECT 'settings:platform', 'platform_key', CAST(value AS BLOB) FROM settings WHERE key = 'platform_key'",
            ) {
                if let Some(s) = Sealed::from_hex(&String::from_utf8_lossy(&hex)) {
                    sealed.push((record, field, s.to_bytes()));
                }
            }
            let mut out = Vec::new();
            for (record, field, bytes) in sealed {
                let Ok(Some(key)) = seal::existing_record_key(
                    &crate::sql::Db::Sqlite(&self.conn),
                    &self.keys,
                    &record,
                ) else {
                    continue;
                };
                if let Ok(plain) = key.open(&field, &Sealed::from_bytes(bytes)) {
                    out.push(match field.as_str() {
                        // Binary secrets as the base32 an authenticator shows.
                        "totp_secret" => data_encoding::BASE32_NOPAD.encode(&plain),
                        _ => String::from_utf8_lossy(&plain).into_owned(),
                    });
                }
            }
            out
        }
    }
}
