//! One error type for every HTTP handler.
//!
//! Client errors (4xx) answer with a JSON body `{"error": code, "message": text}`; the message
//! never contains personal data. Server errors (5xx) are logged with `tracing` and answered
//! with a generic body: internal details are never echoed.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::accounts::AccountError;
use crate::db::DbError;

/// An error answered to the client.
#[derive(Debug)]
pub enum ApiError {
    /// A 4xx with a stable machine-readable code and a human-readable message.
    Client {
        /// HTTP status.
        status: StatusCode,
        /// Stable code, e.g. `malformed_request`.
        code: &'static str,
        /// Explanation, free of personal data.
        message: String,
    },
    /// Something failed on the server; logged, answered with 500.
    Internal(anyhow::Error),
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: &'a str,
}

impl ApiError {
    /// A client error.
    pub fn client(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Client {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 with a code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401: missing, unknown, expired or revoked credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::client(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403 with a code.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::FORBIDDEN, code, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::client(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Client { status, .. } => *status,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Every error converts: account errors answer with their client error, a storage error
/// that lost a race with another node's transaction ([`DbError::is_retryable`]) with 503 and
/// `retry_later` (the client tries again; nothing was committed), anything else with 500.
/// This blanket impl is also the `From<DbError>` of the storage seam.
impl<E: Into<anyhow::Error>> From<E> for ApiError {
    fn from(e: E) -> Self {
        let e: anyhow::Error = e.into();
        let e = match e.downcast::<AccountError>() {
            Ok(AccountError::Db(db)) => anyhow::Error::new(db),
            Ok(a) => return a.into_api(),
            Err(e) => e,
        };
        if e.chain().any(|c| {
            c.downcast_ref::<DbError>()
                .is_some_and(DbError::is_retryable)
        }) {
            tracing::warn!(error = %format!("{e:#}"), "transaction lost a race; client told to retry");
            return ApiError::client(
                StatusCode::SERVICE_UNAVAILABLE,
                "retry_later",
                "the server is busy; try again",
            );
        }
        ApiError::Internal(e)
    }
}

impl AccountError {
    /// The client error an account error answers with (storage failures are internal).
    fn into_api(self) -> ApiError {
        match self {
            AccountError::UserExists => {
                ApiError::client(StatusCode::CONFLICT, "user_exists", self.to_string())
            }
            AccountError::NoSuchUser | AccountError::NoSuchDevice => {
                ApiError::not_found(self.to_string())
            }
            AccountError::BadUsername
            | AccountError::WeakPassword
            | AccountError::UnknownUnit(_)
            | AccountError::BadDisplayName(_) => {
                ApiError::bad_request("invalid_account", self.to_string())
            }
            AccountError::DeviceOfAnotherUser | AccountError::ActorTaken => {
                ApiError::client(StatusCode::CONFLICT, "device_conflict", self.to_string())
            }
            AccountError::DeviceRevoked => ApiError::forbidden("device_revoked", self.to_string()),
            other => ApiError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Client {
                status,
                code,
                message,
            } => (
                status,
                Json(Body {
                    error: code,
                    message: &message,
                }),
            )
                .into_response(),
            ApiError::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(Body {
                        error: "internal",
                        message: "internal server error",
                    }),
                )
                    .into_response()
            }
        }
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
