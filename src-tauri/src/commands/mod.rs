//! Tauri commands, one file per area. Each takes `State`, calls one api use case and returns its
//! result; `api::Error` serialises as `{ code, message }` for the UI.

pub mod info;
