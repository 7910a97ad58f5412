//! Domain types of Boarding Desk.
//!
//! Parse, don't validate: every type here has a private representation and one way in
//! (`parse` / `FromStr` / `TryFrom`). Holding a value means it is valid. Nothing here does I/O.

mod identity;
pub mod intake;
pub mod mask;
pub mod merchant;
pub mod outbox;
pub mod retention;
pub mod review;
mod role;
mod vault_state;

pub use identity::{NewPassword, PasswordError, Username, UsernameError, MIN_PASSWORD_CHARS};
pub use role::{ParseRoleError, Role};
pub use vault_state::VaultState;
