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
