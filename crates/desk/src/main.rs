use std::process::ExitCode;

fn main() -> ExitCode {
    // Before any vault can be unlocked: no core file, not dumpable (a verb that cannot harden
    // the process still runs; the window logs the same warning).
    if let Err(missing) = api::clock::harden_process() {
        eprintln!("warning: process hardening incomplete: {missing} could not be set");
    }
    let code = desk::run(
        std::env::args_os(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    ExitCode::from(code)
}
