//! Boarding Desk's encrypted vault.
//!
//! - The database is one SQLCipher file keyed with a random 256-bit key (never a password).
//! - That key is wrapped under a random root key; the root key is wrapped once per user under an
//!   argon2id key of their password, and once under the recovery key. All wrapped keys live in
//!   `keyring.json` beside the database (it must be readable before the database opens).
//! - The most sensitive fields are sealed again per record (HKDF of the root key with the
//!   record's salt), so one record can be crypto-shredded; blind indexes allow exact look-ups.
//! - Sign-in: password, then TOTP; lockout after repeated failures survives restarts.
//! - The audit log is hash-chained, with its head kept in the keyring.
//!
//! Raw primitives live only in the private `crypto` module.

pub mod applications;
pub mod audit;
pub mod backup;
pub mod boarding;
mod crypto;
mod db;
pub mod erasure_ledger;
mod error;
mod keyring;
pub mod merchant_changes;
pub mod merchants;
mod recovery;
pub mod retention;
pub mod review;
pub mod screening;
mod seal;
pub mod settings;
pub mod totp;
mod unit;
mod users;
mod vault;

pub use crypto::KdfParams;
pub use error::{Result, VaultError};
pub use keyring::KEYRING_FILE;
pub use recovery::RecoveryKey;
pub use seal::{RecordKey, Sealed};
#[cfg(debug_assertions)]
#[doc(hidden)]
pub use unit::testing;
pub use unit::Tx;
pub use vault::{state, Created, NextStep, OneTimePassword, Policy, User, Vault};

pub use db::{schema_version as db_schema_version, VAULT_FILE};
pub use settings::{Proposable, Setting, Settings, SettingsTx};
