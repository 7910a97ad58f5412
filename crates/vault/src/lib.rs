//! Boarding Desk's encrypted vault.
//!
//! - The database is one SQLCipher file keyed with a random 256-bit key (never a password).
//! - Access is enforced by keys (issue 16, `keys`): every user is a member with an X25519 and an
//!   Ed25519 key pair, their private keys sealed under an argon2id key of their password. Data
//!   is split into classes (metadata, case, identifiers, index, secrets); each class key is
//!   sealed to the members whose role may read it and to the recovery key's member. The
//!   database key is wrapped under the metadata class key. All of it lives in `keyring.json`
//!   beside the database (it must be readable before the database opens).
//! - Sealed fields have random per-record keys, one per class, wrapped by the class keys, so
//!   one record can be crypto-shredded; blind indexes (index class) allow exact look-ups.
//! - Sign-in: password, then TOTP; lockout after repeated failures survives restarts.
//! - The audit log is hash-chained, with its head kept in the keyring.
//!
//! Raw primitives live only in the private `crypto` module.

pub mod applications;
pub mod archives;
pub mod audit;
pub mod backup;
pub mod blocklist;
pub mod boarding;
pub mod changes;
pub mod checkpoint;
mod crypto;
mod db;
pub mod desks;
mod device;
pub mod dispatch;
pub mod erasure_ledger;
mod error;
pub mod integrity;
pub mod keychain;
mod keyring;
pub mod keys;
pub mod merchant_changes;
pub mod merchants;
mod recovery;
pub mod retention;
pub mod review;
pub mod screening;
mod seal;
pub mod settings;
pub mod sql;
pub mod team;
pub mod totp;
mod unit;
mod upgrade;
mod users;
mod vault;

pub use crypto::KdfParams;
pub use error::{Result, VaultError};
pub use keyring::KEYRING_FILE;
pub use keys::DataClass;
pub use recovery::{RecoveryKey, MAX_SHARES as MAX_RECOVERY_SHARES};
pub use seal::{RecordKey, Sealed};
pub use unit::Tx;
#[cfg(debug_assertions)]
#[doc(hidden)]
pub use unit::{attacker, testing};
pub use vault::{state, Created, KeyStatus, NextStep, OneTimePassword, Policy, User, Vault};

pub use db::{schema_version as db_schema_version, VAULT_FILE};
pub use settings::{Proposable, Setting, Settings, SettingsTx};
