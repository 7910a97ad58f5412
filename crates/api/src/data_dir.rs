use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::{Code, Error, Result};

/// Environment variable that overrides the OS default data folder (the `--data-dir` flag wins
/// over it).
pub const DATA_DIR_ENV: &str = "BOARDING_DESK_DATA_DIR";

const VAULT_FILE: &str = "vault.db";
const LOGS_DIR: &str = "logs";

/// The folder that holds one vault and everything beside it (keyring, logs).
///
/// Holding a `DataDir` means the folder exists, is a directory and is writable by this process;
/// [`DataDir::open`] is the only way to get one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    path: PathBuf,
}

impl DataDir {
    /// Where the data folder is: the explicit `--data-dir` if given, else `BOARDING_DESK_DATA_DIR`,
    /// else the OS data dir (`~/.local/share/boarding-desk` on Linux).
    pub fn locate(explicit: Option<&Path>) -> Result<PathBuf> {
        locate_with(explicit, std::env::var_os(DATA_DIR_ENV))
    }

    /// Locates and opens the data folder in one step, as both faces do at start-up.
    pub fn resolve(explicit: Option<&Path>) -> Result<Self> {
        Self::open(&Self::locate(explicit)?)
    }

    /// Opens the data folder at `path`, creating it (private to this user) when missing.
    pub fn open(path: &Path) -> Result<Self> {
        let path = std::path::absolute(path).map_err(|e| unavailable("cannot be resolved", &e))?;
        match fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(Error::new(
                    Code::DataDirUnavailable,
                    format!("data folder {} is not a directory", path.display()),
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                create_private_dir(&path)
                    .map_err(|e| unavailable_at(&path, "cannot be created", &e))?;
            }
            Err(e) => return Err(unavailable_at(&path, "cannot be read", &e)),
        }
        probe_writable(&path).map_err(|e| unavailable_at(&path, "is not writable", &e))?;
        tighten(&path).map_err(|e| unavailable_at(&path, "cannot be made private", &e))?;
        Ok(Self { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The encrypted vault file (it may not exist yet).
    pub fn vault_path(&self) -> PathBuf {
        self.path.join(VAULT_FILE)
    }

    /// Where the app and the CLI write their logs.
    pub fn logs_dir(&self) -> PathBuf {
        self.path.join(LOGS_DIR)
    }
}

fn locate_with(explicit: Option<&Path>, env: Option<OsString>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        if path.as_os_str().is_empty() {
            return Err(Error::invalid_input("data dir", "must not be empty"));
        }
        return Ok(path.to_path_buf());
    }
    if let Some(value) = env.filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(value));
    }
    directories::ProjectDirs::from("com", "Boarding Desk", "boarding-desk")
        .map(|dirs| dirs.data_dir().to_path_buf())
        .ok_or_else(|| {
            Error::new(
                Code::DataDirUnavailable,
                format!("no home directory to keep data in; pass --data-dir or set {DATA_DIR_ENV}"),
            )
        })
}

fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// What the desk keeps in a data folder: the only entries [`tighten`] touches.
const OWN_FILES: &[&str] = &[
    VAULT_FILE,
    vault::erasure_ledger::LEDGER_FILE,
    "vault.db-wal",
    "vault.db-shm",
    "vault.db-journal",
    "keyring.json",
    "keyring.json.tmp",
    "keyring.lock",
];
const OWN_FOLDERS: &[&str] = &[LOGS_DIR, "exports", "backups"];

/// Makes a data folder that holds a vault private to its user, as an older version, a copy or
/// a restore by hand may have left it: the folder and the desk's own folders in it 0700, the
/// desk's own files 0600. Nothing else is touched — not a folder without a vault (the user may
/// have pointed `--data-dir` at one with other things in it), not a file the desk did not
/// write, not a symbolic link or what it points to.
fn tighten(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let private = |p: &Path, mode: u32, want_dir: bool| -> io::Result<()> {
            let meta = match fs::symlink_metadata(p) {
                Ok(meta) => meta,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e),
            };
            let kind_ok = if want_dir {
                meta.is_dir()
            } else {
                meta.is_file()
            };
            if kind_ok && meta.permissions().mode() & 0o777 != mode {
                fs::set_permissions(p, fs::Permissions::from_mode(mode))?;
            }
            Ok(())
        };
        if !path.join(VAULT_FILE).exists() && !path.join("keyring.json").exists() {
            return Ok(());
        }
        private(path, 0o700, true)?;
        for name in OWN_FILES {
            private(&path.join(name), 0o600, false)?;
        }
        for name in OWN_FOLDERS {
            let folder = path.join(name);
            if !fs::symlink_metadata(&folder).is_ok_and(|m| m.is_dir()) {
                continue;
            }
            private(&folder, 0o700, true)?;
            for entry in fs::read_dir(&folder)? {
                private(&entry?.path(), 0o600, false)?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn probe_writable(path: &Path) -> io::Result<()> {
    let probe = path.join(format!(".write-probe-{}", std::process::id()));
    fs::write(&probe, b"")?;
    fs::remove_file(&probe)
}

fn unavailable(what: &str, err: &io::Error) -> Error {
    Error::new(
        Code::DataDirUnavailable,
        format!("data folder {what}: {}", err.kind()),
    )
}

fn unavailable_at(path: &Path, what: &str, err: &io::Error) -> Error {
    Error::new(
        Code::DataDirUnavailable,
        format!("data folder {} {what}: {}", path.display(), err.kind()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_path_wins_over_environment() {
        let got = locate_with(Some(Path::new("/explicit")), Some("/from-env".into())).unwrap();
        assert_eq!(
            got,
            PathBuf::from("/explicit"),
            "--data-dir must override the env var"
        );
    }

    #[test]
    fn environment_wins_over_os_default() {
        let got = locate_with(None, Some("/from-env".into())).unwrap();
        assert_eq!(got, PathBuf::from("/from-env"));
    }

    #[test]
    fn empty_environment_value_falls_back_to_os_default() {
        let got = locate_with(None, Some("".into()));
        if let Ok(path) = got {
            assert!(
                path.ends_with("boarding-desk"),
                "OS default is an app folder, got {path:?}"
            );
        }
    }

    #[test]
    fn empty_explicit_path_is_a_field_error() {
        let err = locate_with(Some(Path::new("")), None).unwrap_err();
        assert_eq!(err.code(), Code::InvalidInput);
        assert!(
            err.message().starts_with("data dir:"),
            "names the field: {}",
            err.message()
        );
    }

    #[test]
    fn open_creates_a_missing_folder_private_to_the_user() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("nested").join("data");
        let dir = DataDir::open(&path).unwrap();
        assert!(dir.path().is_dir(), "open must create the folder");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path()).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "the data folder must be private to its user");
        }
        assert_eq!(dir.vault_path(), dir.path().join("vault.db"));
        assert!(
            fs::read_dir(dir.path()).unwrap().next().is_none(),
            "opening leaves no probe file behind"
        );
    }

    /// A vault's folder left readable by others (an older version, a copy, a restore by hand)
    /// is made private when it is opened; what the desk did not write, a folder without a
    /// vault, and what a symbolic link points to are left alone.
    #[cfg(unix)]
    #[test]
    fn open_makes_an_existing_folder_and_its_files_private() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777;
        let set = |p: &Path, m: u32| fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        fs::create_dir_all(dir.join("logs")).unwrap();
        fs::write(dir.join("vault.db"), b"x").unwrap();
        fs::write(dir.join("logs/desk.log"), b"x").unwrap();
        let outside = tmp.path().join("outside.txt");
        fs::write(&outside, b"x").unwrap();
        set(&outside, 0o644);
        std::os::unix::fs::symlink(&outside, dir.join("keyring.lock")).unwrap();
        set(&dir, 0o755);
        set(&dir.join("logs"), 0o755);
        set(&dir.join("vault.db"), 0o644);
        set(&dir.join("logs/desk.log"), 0o664);

        fs::write(dir.join("notes.txt"), b"x").unwrap();
        set(&dir.join("notes.txt"), 0o644);
        let plain = tmp.path().join("plain");
        fs::create_dir(&plain).unwrap();
        set(&plain, 0o755);

        DataDir::open(&plain).unwrap();
        assert_eq!(
            mode(&plain),
            0o755,
            "a folder without a vault is not ours to change"
        );
        DataDir::open(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700, "the folder");
        assert_eq!(
            mode(&dir.join("notes.txt")),
            0o644,
            "a file the desk did not write"
        );
        assert_eq!(mode(&dir.join("logs")), 0o700, "a folder in it");
        assert_eq!(mode(&dir.join("vault.db")), 0o600, "a file in it");
        assert_eq!(
            mode(&dir.join("logs/desk.log")),
            0o600,
            "a file one level down"
        );
        assert_eq!(
            mode(&outside),
            0o644,
            "what a link points to is not ours to change"
        );
    }

    /// Logs are created private, whatever the umask.
    #[cfg(unix)]
    #[test]
    fn logs_are_created_private() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::open(&tmp.path().join("data")).unwrap();
        crate::logging::init(Some(&dir), "unit", false);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.logs_dir()), 0o700);
        assert_eq!(mode(&dir.logs_dir().join("unit.log")), 0o600);
    }

    #[test]
    fn open_refuses_a_regular_file() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("not-a-dir");
        fs::write(&file, b"x").unwrap();
        let err = DataDir::open(&file).unwrap_err();
        assert_eq!(err.code(), Code::DataDirUnavailable);
        assert!(
            err.message().contains("is not a directory"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn open_makes_relative_paths_absolute() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::open(tmp.path()).unwrap();
        assert!(dir.path().is_absolute());
    }
}
