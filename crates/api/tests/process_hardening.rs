//! `harden_process` in a process of its own (it changes the whole process, irreversibly).

#[test]
fn a_hardened_process_leaves_no_core_file_and_cannot_be_dumped() {
    desk_api::clock::harden_process().expect("both settings apply");
    let core = rustix::process::getrlimit(rustix::process::Resource::Core);
    assert_eq!(core.current, Some(0), "no core file");
    assert_eq!(core.maximum, Some(0), "and it cannot be raised again");
    #[cfg(target_os = "linux")]
    assert_eq!(
        rustix::process::dumpable_behavior().unwrap(),
        rustix::process::DumpableBehavior::NotDumpable,
        "no ptrace attach or /proc/<pid>/mem for the user's other processes"
    );
}
