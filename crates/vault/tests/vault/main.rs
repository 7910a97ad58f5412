//! The vault through its public API, on real files in temp folders.

// A panic in a test is a failed test: unwrap is the clearest way to say "this must work".
#![allow(clippy::unwrap_used)]

mod support;

mod applications;
mod audit_chain;
mod backup;
mod blocklist;
mod damage;
mod offline_attack;
mod retention;
mod sign_in;
mod team_store;
mod unit_of_work;
mod users;
