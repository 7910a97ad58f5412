//! The team store (issue 17, docs/adr/0001-team-store.md): many desks on one PostgreSQL
//! database that holds only ciphertext, the sortable queue columns and signed metadata.

pub mod connect;
pub(crate) mod failures;
pub mod join;
pub(crate) mod keyring;
pub mod placement;
pub mod schema;
pub mod url;

pub use join::JoinCode;
pub use url::StoreUrl;
