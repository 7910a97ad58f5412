use time::OffsetDateTime;

pub type Result<T, E = VaultError> = std::result::Result<T, E>;

/// Everything that can go wrong in the vault. Messages name files, fields and operations, never
/// a secret or a KYC value.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("no vault exists in this data folder")]
    NotCreated,
    #[error("a vault already exists in this data folder")]
    AlreadyExists,
    #[error(
        "keyring missing: keyring.json is not beside the vault file, so the vault cannot be opened"
    )]
    KeyringMissing,
    #[error("keyring damaged: {0}")]
    KeyringDamaged(&'static str),
    #[error("vault damaged: {0}")]
    VaultDamaged(&'static str),
    /// Deliberately vague: it never says whether the user exists or which factor was wrong.
    #[error("wrong username, password or authenticator code")]
    BadCredentials,
    #[error("too many failed sign-ins: this account is locked until {} UTC", fmt_time(.until))]
    Locked { until: OffsetDateTime },
    #[error("{field}: {problem}")]
    Invalid {
        field: &'static str,
        problem: String,
    },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(&'static str),
    /// The signed-in member holds no key for this class of data: the vault cannot open it for
    /// them, whatever the code would allow.
    #[error("{0} are sealed: your role holds no key for them")]
    NoKey(&'static str),
    #[error("key derivation parameters are below the enforced minimum")]
    WeakKdf,
    /// A legal hard stop: the application has sanctions hits without a disposition. Nothing
    /// may approve or board it until every hit is dispositioned.
    #[error("{0} sanctions hit(s) without a disposition: disposition every hit first")]
    SanctionsHitsOpen(u32),
    /// A legal hard stop: a hit was confirmed as the listed party. No role can approve or
    /// board it; the only decisions left are decline or request information.
    #[error("a confirmed sanctions match: the application can only be declined or sent back for information")]
    SanctionsMatch,
    /// The OS keychain a bound sign-in needs is missing or locked (`keychain.rs`).
    #[error("this desk's OS keychain: {0}")]
    Keychain(String),
    /// The team store cannot be reached, or refused the connection (`team/connect.rs`).
    #[error("the team store is unavailable: {0}")]
    StoreUnavailable(String),
    /// A concurrent unit on another desk changed the same rows first (PostgreSQL's
    /// serialisation failure or deadlock); [`crate::Vault::write`] retries it.
    #[error("another desk changed the same data at the same moment: try again")]
    Contended,
    #[error("storage failed while {context}: {message}")]
    Storage {
        context: &'static str,
        message: String,
    },
    #[error("{what} could not be {action}: {kind}")]
    Io {
        what: &'static str,
        action: &'static str,
        kind: std::io::ErrorKind,
    },
}

impl VaultError {
    pub fn invalid(field: &'static str, problem: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            problem: problem.into(),
        }
    }

    pub(crate) fn storage(context: &'static str) -> impl FnOnce(rusqlite::Error) -> Self {
        move |e| {
            if is_not_a_database(&e) {
                return VaultError::VaultDamaged("the file is not a vault this keyring can open");
            }
            if matches!(&e, rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_COMMITHOOK)
            {
                return VaultError::Conflict("a change was attempted outside a unit of work");
            }
            // A stored word of a closed vocabulary that does not parse (see `db::parsed`).
            if matches!(&e, rusqlite::Error::FromSqlConversionFailure(..)) {
                return VaultError::VaultDamaged(
                    "a stored row holds a value this version does not know",
                );
            }
            // rusqlite's messages carry SQL and constraint names, never bound values.
            VaultError::Storage {
                context,
                message: e.to_string(),
            }
        }
    }

    /// Maps a team store error. Only the server's primary message and SQLSTATE are kept: its
    /// DETAIL line can quote a row's values (`Key (username)=(…) already exists`).
    pub(crate) fn store(context: &'static str) -> impl FnOnce(postgres::Error) -> Self {
        move |e| {
            if let Some(db) = e.as_db_error() {
                let code = db.code().code();
                return match code {
                    // Serialisation failure, deadlock, a lock not granted in time.
                    "40001" | "40P01" | "55P03" => VaultError::Contended,
                    // Data exceptions quote the value they refused: the SQLSTATE alone.
                    _ if code.starts_with("22") => VaultError::Storage {
                        context,
                        message: format!("the server refused a value ({code})"),
                    },
                    // Connection exceptions, operator intervention (a restart), shutdown.
                    _ if code.starts_with("08") || code.starts_with("57P") => {
                        VaultError::StoreUnavailable(format!("{} ({code})", db.message()))
                    }
                    _ => VaultError::Storage {
                        context,
                        message: format!("{} ({code})", db.message()),
                    },
                };
            }
            if e.is_closed()
                || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>())
            {
                return VaultError::StoreUnavailable(e.to_string());
            }
            VaultError::Storage {
                context,
                message: e.to_string(),
            }
        }
    }

    pub(crate) fn io(
        what: &'static str,
        action: &'static str,
    ) -> impl FnOnce(std::io::Error) -> Self {
        move |e| VaultError::Io {
            what,
            action,
            kind: e.kind(),
        }
    }
}

pub(crate) fn is_not_a_database(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

pub(crate) fn fmt_time(t: &OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}
