//! Tauri commands, one file per area. Each takes `State`, calls one api use case and returns its
//! result; `api::Error` serialises as `{ code, message }` for the UI. Every command but
//! `app_info` and the sign-in ones goes through a use case that checks the session and role.

pub mod audit;
pub mod auth;
pub mod backup;
pub mod boarding;
pub mod gdpr;
pub mod info;
pub mod intake;
pub mod merchants;
pub mod review;
pub mod sanctions_report;
pub mod saved;
pub mod screening;
pub mod settings;
pub mod team;
pub mod users;
