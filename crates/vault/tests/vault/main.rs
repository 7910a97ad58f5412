//! The vault through its public API, on real files in temp folders.

mod support;

mod audit_chain;
mod damage;
mod sign_in;
mod users;
