//! The Boarding Desk desktop shell.
//!
//! It acquires the handles once at start-up (the data folder today), hands them to commands
//! through Tauri state, and each command calls one api use case. No business logic lives here.

mod args;
mod commands;
mod state;

use state::AppState;

/// Starts the app: parses `--data-dir`, opens the data folder, starts logging, opens the window.
///
/// An unusable data folder does not stop the window from opening: the UI shows the error that
/// every command returns, with its code, so the user can see what is wrong.
pub fn run() {
    let args = args::Args::parse(std::env::args_os().skip(1));
    let data_dir = api::DataDir::resolve(args.data_dir.as_deref());
    api::logging::init(data_dir.as_ref().ok(), "boarding-desk", true);
    match &data_dir {
        Ok(dir) => {
            tracing::info!(data_dir = %dir.path().display(), version = api::VERSION, "starting")
        }
        Err(e) => tracing::error!(code = %e.code(), "data folder unusable: {e}"),
    }
    for unknown in &args.ignored {
        tracing::warn!("ignoring unknown argument {unknown:?}");
    }

    let result = tauri::Builder::default()
        .manage(AppState::new(data_dir))
        .invoke_handler(tauri::generate_handler![commands::info::app_info])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        tracing::error!("the app stopped with an error: {e}");
        std::process::exit(2);
    }
}
