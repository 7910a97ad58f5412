//! Cross-crate journeys: what a user does, through the same api the GUI and CLI share.

// A panic in a test is a failed test: unwrap is the clearest way to say "this must work".
#![allow(clippy::unwrap_used)]

mod auth;
mod boarding;
mod gdpr;
mod info;
mod intake;
mod live;
mod review;
mod roles;
mod sanctions;
mod screening;
mod team;
mod team_faults;
mod upgrade;
