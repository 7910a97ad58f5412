//! End-to-end scenarios in the real Boarding Desk window (Tauri + WebKitGTK), driven through
//! tauri-driver. Each scenario launches the app on a fresh temp data folder.
//!
//! Needs: the UI's node_modules, tauri-driver, WebKitWebDriver and Xvfb (when there is no
//! display) — `make test` installs them all.

mod auth;
mod boarding;
mod intake;
mod screening;
mod security;
mod shell;
mod team;
