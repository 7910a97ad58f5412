// The app manifest lists our own commands so tauri-build generates one `allow-<command>`
// permission for each; capabilities/main.json grants exactly those and nothing else.
const COMMANDS: &[&str] = &["app_info"];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri-build failed: {e:#}");
    }
}
