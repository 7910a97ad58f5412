//! The use cases of Boarding Desk.
//!
//! Both faces of the product — the Tauri shell (`src-tauri`) and the `desk` CLI — call this crate
//! and nothing else, so they cannot drift apart. Every use case takes the handles it needs
//! explicitly (a [`DataDir`] today; a vault and a session once they exist) and returns
//! [`Result`] with the one serialisable [`Error`].

/// `Debug` for an input or output that carries a secret: the named fields print, the secret
/// ones print as `[redacted]` — a log line or a panic message never holds a password, recovery
/// key, authenticator secret or API key.
macro_rules! debug_redacting {
    ($ty:ident { $($field:ident),* } secret { $($secret:ident),* }) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &self.$field))*
                    $(.field(stringify!($secret), &"[redacted]"))*
                    .finish()
            }
        }
    };
}

pub mod audit_log;
pub mod auth;
mod background;
pub mod backup;
pub mod blocklist;
pub mod boarding;
mod checks;
pub mod clock;
mod data_dir;
mod error;
pub mod exports;
pub mod gdpr;
mod info;
pub mod intake;
pub mod integrity;
pub mod keychain;
pub mod live;
pub mod logging;
pub mod merchant_changes;
pub mod merchants;
pub mod review;
pub mod rewrap;
pub mod sanctions_report;
pub mod screening;
pub mod session;
pub mod settings;
#[cfg(target_os = "linux")]
pub mod sleep_lock;
pub mod team;
pub mod users;
pub mod views;

pub use data_dir::{DataDir, DATA_DIR_ENV};
pub use domain;
pub use error::{Code, Error, FieldIssue, Result};
pub use info::{app_info, AppInfo, APP_NAME, VERSION};
pub use platform;
pub use session::{Access, SessionInfo, SessionSlot};
pub use underwriting;
pub use vault::{KdfParams, Policy};

/// The product's sign-in and key-derivation policy, for both faces. Debug builds accept
/// `BOARDING_DESK_TEST_KDF=minimum` so tests derive keys at the OWASP baseline instead of the
/// slower default, with refusals padded to 50 ms; release builds ignore it.
pub fn product_policy() -> Policy {
    let mut policy = Policy::default();
    if cfg!(debug_assertions) && std::env::var("BOARDING_DESK_TEST_KDF").as_deref() == Ok("minimum")
    {
        policy.kdf = KdfParams::MINIMUM;
        policy.refusal_floor = std::time::Duration::from_millis(50);
    }
    policy
}
