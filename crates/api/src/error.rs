use std::fmt;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure happened, for a program to act on (the UI switches on it, the CLI maps
/// it to an exit code). Add a code only when a caller needs to act on it differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// The caller sent something that is not valid; the message names the field.
    InvalidInput,
    /// No session, an expired (idle-locked) session, or a stage that must be finished first:
    /// the UI shows the sign-in screen.
    Unauthorized,
    /// Signed in, but the role may not do this.
    Forbidden,
    /// Sign-in failed; deliberately does not say which factor or whether the user exists.
    BadCredentials,
    /// Too many failed sign-ins; the message says until when.
    AccountLocked,
    /// No vault in the data folder yet: the UI offers set-up.
    VaultNotCreated,
    /// The vault file or its keyring is damaged, missing or from another vault.
    VaultDamaged,
    /// The thing named does not exist.
    NotFound,
    /// The request contradicts the current state (e.g. disabling the last admin).
    Conflict,
    /// The data folder cannot be created, read or written.
    DataDirUnavailable,
    /// An outside service (the payment platform) cannot be reached or refused to answer now.
    Unavailable,
    /// A legal hard stop: sanctions hits without a disposition. Approval and boarding are
    /// refused until every hit is dispositioned.
    SanctionsHitsOpen,
    /// A legal hard stop: a hit confirmed as the listed party. No role can approve or board;
    /// only decline (reason `sanctions_match`) or request information remain.
    SanctionsMatch,
    /// A bug or an environment failure the user cannot fix by changing input.
    Internal,
}

impl Code {
    pub const ALL: [Code; 14] = [
        Code::InvalidInput,
        Code::Unauthorized,
        Code::Forbidden,
        Code::BadCredentials,
        Code::AccountLocked,
        Code::VaultNotCreated,
        Code::VaultDamaged,
        Code::NotFound,
        Code::Conflict,
        Code::DataDirUnavailable,
        Code::Unavailable,
        Code::SanctionsHitsOpen,
        Code::SanctionsMatch,
        Code::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::InvalidInput => "invalid_input",
            Code::Unauthorized => "unauthorized",
            Code::Forbidden => "forbidden",
            Code::BadCredentials => "bad_credentials",
            Code::AccountLocked => "account_locked",
            Code::VaultNotCreated => "vault_not_created",
            Code::VaultDamaged => "vault_damaged",
            Code::NotFound => "not_found",
            Code::Conflict => "conflict",
            Code::DataDirUnavailable => "data_dir_unavailable",
            Code::Unavailable => "unavailable",
            Code::SanctionsHitsOpen => "sanctions_hits_open",
            Code::SanctionsMatch => "sanctions_match",
            Code::Internal => "internal",
        }
    }

    /// True when the person at the keyboard can fix it (CLI exit code 1); false for internal
    /// failures (exit code 2).
    pub fn is_user_error(self) -> bool {
        !matches!(self, Code::Internal)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The one error every use case returns. It crosses IPC and the CLI's `--json` output as
/// `{ "code": "...", "message": "..." }`.
///
/// The message is for people and never contains KYC values (names, tax ids, account numbers):
/// it names the field or the operation, not what was in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    code: Code,
    message: String,
    /// For `invalid_input` about a form: every field that failed, so the UI can mark each one.
    fields: Vec<FieldIssue>,
}

/// One field that failed a rule: its path in the form (`business.ein`, `people[1].ssn`) and the
/// rule — never the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct FieldIssue {
    pub field: String,
    pub reason: String,
}

impl From<domain::intake::FieldError> for FieldIssue {
    fn from(e: domain::intake::FieldError) -> Self {
        Self {
            field: e.field,
            reason: e.reason,
        }
    }
}

impl Error {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// `invalid_input` naming every field that failed.
    pub fn fields(errors: Vec<domain::intake::FieldError>) -> Self {
        let fields: Vec<FieldIssue> = errors.into_iter().map(FieldIssue::from).collect();
        let message = match fields.as_slice() {
            [one] => format!("{}: {}", one.field, one.reason),
            many => format!(
                "{} fields need attention — {}",
                many.len(),
                many.iter()
                    .map(|f| format!("{}: {}", f.field, f.reason))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        };
        Self {
            code: Code::InvalidInput,
            message,
            fields,
        }
    }

    pub fn field_issues(&self) -> &[FieldIssue] {
        &self.fields
    }

    pub fn invalid_input(field: &str, problem: &str) -> Self {
        Self::new(Code::InvalidInput, format!("{field}: {problem}"))
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Code::Internal, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(Code::Unauthorized, message)
    }

    pub fn code(&self) -> Code {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Error", 3)?;
        s.serialize_field("code", &self.code)?;
        s.serialize_field("message", &self.message)?;
        if self.fields.is_empty() {
            s.skip_field("fields")?;
        } else {
            s.serialize_field("fields", &self.fields)?;
        }
        s.end()
    }
}

impl From<vault::VaultError> for Error {
    fn from(e: vault::VaultError) -> Self {
        use vault::VaultError as V;
        let code = match &e {
            V::NotCreated => Code::VaultNotCreated,
            V::AlreadyExists | V::Conflict(_) => Code::Conflict,
            V::KeyringMissing | V::KeyringDamaged(_) | V::VaultDamaged(_) | V::WeakKdf => {
                Code::VaultDamaged
            }
            V::BadCredentials => Code::BadCredentials,
            V::Locked { .. } => Code::AccountLocked,
            V::Invalid { .. } => Code::InvalidInput,
            V::NotFound(_) => Code::NotFound,
            V::NoKey(_) => Code::Forbidden,
            V::SanctionsHitsOpen(_) => Code::SanctionsHitsOpen,
            V::SanctionsMatch => Code::SanctionsMatch,
            V::Keychain(_) | V::StoreUnavailable(_) => Code::Unavailable,
            V::Contended => Code::Conflict,
            V::Storage { .. } | V::Io { .. } => Code::Internal,
        };
        if code == Code::Internal {
            tracing::error!("vault failure: {e}");
        }
        Error::new(code, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_code_and_message_only() {
        let err = Error::new(
            Code::DataDirUnavailable,
            "the data folder is not a directory",
        );
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "code": "data_dir_unavailable",
                "message": "the data folder is not a directory"
            }),
            "the IPC and --json contract is exactly {{code, message}}"
        );
    }

    #[test]
    fn form_errors_list_every_field() {
        let err = Error::fields(vec![
            domain::intake::FieldError::new("business.ein", "must be 9 digits"),
            domain::intake::FieldError::new("people[0].ssn", "is required"),
        ]);
        assert_eq!(err.code(), Code::InvalidInput);
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["fields"][1]["field"], "people[0].ssn");
        assert_eq!(
            err.message(),
            "2 fields need attention — business.ein: must be 9 digits; people[0].ssn: is required"
        );
    }

    #[test]
    fn code_strings_match_their_serde_names() {
        for code in Code::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(
                json,
                code.as_str(),
                "as_str and serde must agree for {code:?}"
            );
        }
    }

    #[test]
    fn only_internal_errors_are_not_the_users_to_fix() {
        for code in Code::ALL {
            assert_eq!(code.is_user_error(), code != Code::Internal, "{code:?}");
        }
    }

    #[test]
    fn invalid_input_names_the_field() {
        let err = Error::invalid_input("data dir", "must not be empty");
        assert_eq!(err.code(), Code::InvalidInput);
        assert_eq!(err.message(), "data dir: must not be empty");
    }

    #[test]
    fn vault_errors_map_to_codes_the_ui_acts_on() {
        assert_eq!(
            Error::from(vault::VaultError::BadCredentials).code(),
            Code::BadCredentials
        );
        assert_eq!(
            Error::from(vault::VaultError::KeyringMissing).code(),
            Code::VaultDamaged
        );
        assert_eq!(
            Error::from(vault::VaultError::NotCreated).code(),
            Code::VaultNotCreated
        );
    }
}
