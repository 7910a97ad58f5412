use api::DataDir;

/// Handles acquired once at start-up and passed to commands through Tauri state.
pub struct AppState {
    data_dir: Result<DataDir, api::Error>,
}

impl AppState {
    pub fn new(data_dir: Result<DataDir, api::Error>) -> Self {
        Self { data_dir }
    }

    /// The data folder, or the error that made it unusable at start-up.
    pub fn data_dir(&self) -> Result<&DataDir, api::Error> {
        self.data_dir.as_ref().map_err(Clone::clone)
    }
}
