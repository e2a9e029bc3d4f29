//! Errors: a detailed internal [`Error`] and the small public [`ApiError`], mapped in one place
//! ([`From<Error> for ApiError`]).
//!
//! Nothing personal may reach an `ApiError` message: no names, ID numbers, addresses, tokens
//! or passwords. Validation issues carry a field name, a stable code and a message that
//! `sync-core` writes without personal data; everything else uses fixed texts.

use sync_core::protocol::ProtocolError;
use sync_core::replica::ReplicaError;
use sync_core::store::StoreError;

use crate::types::{RecordKind, UserRole, ValidationIssue};

/// What went wrong inside this crate, with all the detail (for logs in debug builds and for
/// tests). Never shown to foreign code directly: it is mapped to [`ApiError`].
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The replica refused or failed.
    #[error(transparent)]
    Replica(#[from] ReplicaError),
    /// The store failed outside a replica call.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A sync message did not decode.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The HTTP transport failed (no connection, timeout, TLS, reset mid-body…).
    #[error("transport: {0}")]
    Http(#[from] ureq::Error),
    /// A JSON body did not have the expected shape.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// A file-system operation failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// Wrong username or password (HTTP 401 at login).
    #[error("wrong credentials")]
    BadCredentials,
    /// Too many failed logins (HTTP 429 at login).
    #[error("account locked")]
    Locked,
    /// Login refused for another reason, with the server's stable code.
    #[error("login refused (HTTP {status}, {code})")]
    LoginRefused {
        /// HTTP status.
        status: u16,
        /// The server's error code (`device_revoked`, …).
        code: String,
    },
    /// The server does not accept the session's token any more.
    #[error("session rejected (HTTP {0})")]
    Unauthorized(u16),
    /// The server refused a request with 403 and a stable code (a role that may not read
    /// sensitive values: `sensitive_not_readable`).
    #[error("refused by the server ({0})")]
    Refused(String),
    /// The server has no such record in the user's units (404).
    #[error("no such record on the server")]
    RemoteNotFound,
    /// Any other unexpected HTTP status.
    #[error("unexpected HTTP status {0}")]
    Status(u16),
    /// A caller-supplied argument is unusable. The text names the argument, never its value.
    #[error("invalid argument: {0}")]
    Argument(&'static str),
    /// An attachment kind that is not one of `sync_core::attachment::KINDS` (a setting's
    /// argument, so its value is named: it is no personal data).
    #[error("unknown attachment kind `{0}`")]
    UnknownKind(String),
    /// A key of the wrong size, or a PIN/salt argon2 refuses.
    #[error("invalid key material: {0}")]
    Key(&'static str),
    /// No session: log in first.
    #[error("not logged in")]
    NotLoggedIn,
    /// Signed out, and personal data stays locked (see `ApiError::SignedOut`).
    #[error("signed out")]
    SignedOut,
    /// The device was wiped.
    #[error("wiped")]
    Wiped,
    /// Out of contact with the server for longer than the limit (days).
    #[error("offline for longer than {0} days")]
    OfflineTooLong(u32),
    /// Too many wrong PINs: wait this many seconds.
    #[error("wait {0} s before the next PIN")]
    PinWait(u64),
}

/// Why a call failed. Messages never contain personal data, so they can be logged and shown.
///
/// In Kotlin this is the sealed exception class `ApiException` (`ApiException.WrongKey`, …);
/// in Swift and Python it is `ApiError`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum ApiError {
    /// The key does not open this store (or the store is encrypted and no key was given).
    /// Ask for the PIN again or restore the key from the keystore; never delete the file
    /// automatically, it may hold edits that were not synced yet.
    #[error("the key does not open this store")]
    WrongKey,
    /// The file is not an encrypted Ferry store, or it is damaged: no key or PIN will open
    /// it (`reason` says which: an unencrypted database, or a truncated or blank file). Do not ask for the PIN again; tell the officer to contact
    /// the office (the edits that were not synced are in that file: keep it for them).
    #[error("the store file cannot be opened: {reason}")]
    CorruptStore {
        /// What is wrong with the file (no personal data).
        reason: String,
    },
    /// The officer signed out and this store's setting keeps personal data locked until
    /// someone signs in again or enters the PIN (`unlockWithPin`); see
    /// `setSignedOutAccess`.
    #[error("signed out: sign in or enter the PIN to see records")]
    SignedOut,
    /// The key is unusable: a store key has exactly 32 bytes; a PIN must not be empty and a
    /// salt needs at least 8 bytes.
    #[error("unusable key material: {reason}")]
    InvalidKey {
        /// What is wrong with it.
        reason: String,
    },
    /// The record is structurally invalid and was not saved. Show each issue next to its
    /// field.
    #[error("the record is invalid ({} issue(s))", issues.len())]
    Validation {
        /// Every problem found, not just the first.
        issues: Vec<ValidationIssue>,
    },
    /// The officer's role may not make this change (a status move or a frozen field).
    #[error("not allowed: {reason}")]
    Forbidden {
        /// Why, in terms of role, record kind, status and field name.
        reason: String,
    },
    /// The officer's role may not move a record to this status (or create it in this
    /// status): commune staff collect and file but the police decide; only an admin undoes
    /// a death. Nothing was saved.
    #[error("not allowed: a {role:?} may not move a {kind:?} from `{from}` to `{to}`")]
    StatusNotAllowed {
        /// The signed-in user's role.
        role: UserRole,
        /// The record's kind.
        kind: RecordKind,
        /// The status before; empty when creating the record.
        from: String,
        /// The status asked for.
        to: String,
    },
    /// No record with this id on this device.
    #[error("no such record")]
    NotFound,
    /// An argument is malformed (for example a record id that is not a UUID).
    #[error("invalid argument: {reason}")]
    InvalidArgument {
        /// Which argument.
        reason: String,
    },
    /// The server revoked this device and its local data was destroyed. Log in again (if
    /// the office re-enables the device) to start over.
    #[error("this device was revoked and its data wiped")]
    Wiped,
    /// There is no session on this device: call `login` first.
    #[error("not logged in")]
    NotLoggedIn,
    /// The server refused the username or password.
    #[error("wrong username or password")]
    AuthFailed,
    /// Too many failed logins: the account is locked for a while.
    #[error("the account is temporarily locked")]
    AccountLocked,
    /// The server refused this login for a reason other than the password: `code` is its
    /// stable reason (`account_disabled`, `device_revoked`, `device_taken`, `actor_taken`).
    #[error("login refused: {code}")]
    LoginRefused {
        /// The server's reason code.
        code: String,
    },
    /// The session expired or the device was deregistered: log in again. Nothing local is
    /// lost; pending edits stay in the outbox.
    #[error("the session expired: log in again")]
    SessionExpired,
    /// The server could not be reached or the connection dropped. Nothing is lost; try
    /// again when the link is back.
    #[error("network error: {reason}")]
    Network {
        /// A short technical description (no personal data).
        reason: String,
    },
    /// The server answered with an unexpected HTTP status.
    #[error("server error (HTTP {status})")]
    Server {
        /// The HTTP status code.
        status: u16,
    },
    /// A sync message could not be decoded (wrong version, corrupt body).
    #[error("protocol error: {reason}")]
    Protocol {
        /// What did not decode.
        reason: String,
    },
    /// The local database failed (disk full, corrupt file, newer schema).
    #[error("storage error: {reason}")]
    Storage {
        /// A short technical description (no personal data).
        reason: String,
    },
    /// The phone has not reached the server for longer than `limitDays` (a lost phone
    /// locks itself): records stay locked until the officer logs in online again (`login`;
    /// a PIN does not open them, a sync alone does not either). Saving and syncing still work,
    /// so pending edits are not lost.
    #[error("not in contact with the server for more than {limit_days} days: log in online")]
    OfflineTooLong {
        /// The store's limit.
        limit_days: u32,
    },
    /// Too many wrong PINs in a row: the next try is accepted after `retrySecs` seconds (the
    /// wait doubles with each further wrong PIN, up to a day). Show a countdown.
    #[error("too many wrong PINs: try again in {retry_secs} s")]
    PinWait {
        /// Seconds to wait.
        retry_secs: u64,
    },
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Replica(ReplicaError::Store(s)) | Error::Store(s) => store_error(s),
            Error::Replica(ReplicaError::Doc(_)) => ApiError::Storage {
                reason: "a record document is malformed".into(),
            },
            Error::Replica(ReplicaError::Invalid(errors)) => ApiError::Validation {
                issues: errors.into_iter().map(ValidationIssue::from).collect(),
            },
            Error::Replica(ReplicaError::Forbidden(reason)) => ApiError::Forbidden { reason },
            Error::Replica(ReplicaError::StatusNotAllowed {
                role,
                kind,
                from,
                to,
            }) => ApiError::StatusNotAllowed {
                role: role.into(),
                kind: kind.into(),
                from: from.unwrap_or_default(),
                to,
            },
            Error::Replica(ReplicaError::NotFound) => ApiError::NotFound,
            Error::Replica(ReplicaError::Wiped) | Error::Wiped => ApiError::Wiped,
            // Decoder texts may quote values from the message: keep only the class.
            Error::Protocol(p) => ApiError::Protocol {
                reason: match p {
                    ProtocolError::Malformed(_) => "malformed message".into(),
                    ProtocolError::UnsupportedVersion(v) => {
                        format!("unsupported protocol version {v}")
                    }
                    ProtocolError::TooLarge(n) => format!("message larger than {n} bytes"),
                    ProtocolError::BadCompression => "corrupt compressed body".into(),
                    ProtocolError::UnknownEncoding(_) => "unknown content encoding".into(),
                },
            },
            Error::Json(_) => ApiError::Protocol {
                reason: "unexpected JSON reply from the server".into(),
            },
            Error::Http(h) => ApiError::Network {
                reason: network_reason(&h),
            },
            Error::Io(io) => ApiError::Storage {
                reason: format!("file system: {}", io.kind()),
            },
            Error::BadCredentials => ApiError::AuthFailed,
            Error::Locked => ApiError::AccountLocked,
            Error::LoginRefused { code, .. } => ApiError::LoginRefused { code },
            Error::Unauthorized(_) => ApiError::SessionExpired,
            Error::Refused(reason) => ApiError::Forbidden { reason },
            Error::RemoteNotFound => ApiError::NotFound,
            Error::Status(status) => ApiError::Server { status },
            Error::Argument(reason) => ApiError::InvalidArgument {
                reason: reason.into(),
            },
            Error::UnknownKind(kind) => ApiError::InvalidArgument {
                reason: format!(
                    "unknown attachment kind `{}`: use {}",
                    kind.chars().take(32).collect::<String>(),
                    sync_core::attachment::KINDS.join(", ")
                ),
            },
            Error::Key(reason) => ApiError::InvalidKey {
                reason: reason.into(),
            },
            Error::NotLoggedIn => ApiError::NotLoggedIn,
            Error::SignedOut => ApiError::SignedOut,
            Error::OfflineTooLong(limit_days) => ApiError::OfflineTooLong { limit_days },
            Error::PinWait(retry_secs) => ApiError::PinWait { retry_secs },
        }
    }
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::WrongKey | StoreError::NotADatabase => ApiError::WrongKey,
        StoreError::Foreign => ApiError::CorruptStore {
            reason: "the file is an unencrypted database, not a Ferry store".into(),
        },
        StoreError::Damaged(why) => ApiError::CorruptStore {
            reason: format!("the file is damaged: {why}"),
        },
        StoreError::BadKeyLength(n) => ApiError::InvalidKey {
            reason: format!("a store key has 32 bytes, got {n}"),
        },
        StoreError::EncryptionUnavailable => ApiError::Storage {
            reason: "this build cannot encrypt".into(),
        },
        s @ StoreError::SchemaTooNew { .. } => ApiError::Storage {
            reason: s.to_string(),
        },
        StoreError::Sqlite(e) => ApiError::Storage {
            reason: match e.sqlite_error_code() {
                Some(code) => format!("database error ({code:?})"),
                None => "database error".into(),
            },
        },
        StoreError::Corrupt(_) => ApiError::Storage {
            reason: "corrupt stored data".into(),
        },
    }
}

/// A transport error's class, without echoing bodies or credentials.
fn network_reason(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        ureq::Error::Io(io) => format!("connection: {}", io.kind()),
        ureq::Error::BadUri(_) => "malformed server URL".into(),
        ureq::Error::BodyExceedsLimit(n) => format!("reply larger than {n} bytes"),
        ureq::Error::Tls(_) => "TLS error".into(),
        _ => "transport error".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_keep_field_code_and_message() {
        let e = Error::Replica(ReplicaError::Invalid(vec![
            sync_core::model::StructuralError {
                field: "date_of_birth".into(),
                code: "malformed_date",
                message: "not a YYYY-MM-DD date".into(),
            },
        ]));
        match ApiError::from(e) {
            ApiError::Validation { issues } => {
                assert_eq!(issues.len(), 1);
                assert_eq!(issues[0].field, "date_of_birth");
                assert_eq!(issues[0].code, "malformed_date");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn decoder_texts_are_not_echoed() {
        let e = Error::Protocol(ProtocolError::Malformed(
            "invalid type: string \"Nguyễn Văn A\"".into(),
        ));
        let api = ApiError::from(e);
        assert!(!api.to_string().contains("Nguy"), "{api}");
        let e = Error::Store(StoreError::Corrupt("name Nguyễn".into()));
        assert!(!ApiError::from(e).to_string().contains("Nguy"));
    }

    #[test]
    fn key_errors_are_typed() {
        assert_eq!(
            ApiError::from(Error::Store(StoreError::WrongKey)),
            ApiError::WrongKey
        );
        assert_eq!(
            ApiError::from(Error::Replica(ReplicaError::Store(
                StoreError::NotADatabase
            ))),
            ApiError::WrongKey
        );
        assert!(matches!(
            ApiError::from(Error::Store(StoreError::BadKeyLength(3))),
            ApiError::InvalidKey { .. }
        ));
    }
}
