//! Every command the shell registers is also in the app manifest (`build.rs`) and allowed by
//! the window's capability — otherwise the window gets "Command not found" at run time.

use std::path::Path;

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel))
        .expect("a source file of the shell")
}

#[test]
fn every_registered_command_is_in_the_manifest_and_the_capability() {
    let lib = read("src/lib.rs");
    let manifest = read("build.rs");
    let capability = read("capabilities/main.json");
    let registered: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("commands::"))
        .filter_map(|l| l.trim_end_matches(',').rsplit("::").next())
        .collect();
    assert!(
        registered.len() > 50,
        "found the handler list: {registered:?}"
    );
    for name in registered {
        assert!(
            manifest.contains(&format!("\"{name}\",")),
            "{name} is missing from build.rs COMMANDS"
        );
        assert!(
            capability.contains(&format!("\"allow-{}\"", name.replace('_', "-"))),
            "{name} is not allowed in capabilities/main.json"
        );
    }
}

/// The window hears the desk's change events and may say nothing itself: the only core
/// permissions are listening and unlistening (no `emit`, no window, path or webview control),
/// and no plugin is allowed at all.
#[test]
fn the_window_may_listen_for_events_and_nothing_else_of_the_core() {
    let capability = read("capabilities/main.json");
    let granted: Vec<&str> = capability
        .split('"')
        .filter(|s| s.contains(':') && !s.contains(' '))
        .collect();
    assert_eq!(
        granted,
        ["core:event:allow-listen", "core:event:allow-unlisten"],
        "the capability's permissions with a namespace"
    );
    assert!(!capability.contains("emit"), "the window cannot emit");
}
