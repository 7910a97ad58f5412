//! Cross-crate journeys: what a user does, through the same api the GUI and CLI share.

mod auth;
mod info;
