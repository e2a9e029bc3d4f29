//! Console sessions: a random token in an `HttpOnly; SameSite=Strict` cookie (stored only as
//! its SHA-256), a per-session CSRF token that every form carries and every POST checks, and
//! the extractor that admits only an enabled admin with a live session.

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE, STRICT_TRANSPORT_SECURITY};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sync_core::model::Role;

use super::i18n::Lang;
use crate::AppState;
use crate::accounts::{self, User};
use crate::db::{DbError, Sql};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "ferry_console";
/// The cookie holding the login form's CSRF token (before there is a session).
pub const LOGIN_CSRF_COOKIE: &str = "ferry_console_login";
/// The cookie holding the chosen language.
pub const LANG_COOKIE: &str = "ferry_lang";
/// How long a console session lives.
pub const SESSION_TTL_MS: i64 = 8 * 3_600_000;

/// 32 random bytes as hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A cookie's value from the request headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// A `Set-Cookie` value for the console (path `/console`, `HttpOnly`, `SameSite=Strict`).
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// How long a login form's token is accepted.
pub const LOGIN_FORM_TTL_MS: i64 = 30 * 60_000;

fn login_form_mac(key: &[u8; 32], expires_ms: i64, nonce: &str) -> String {
    let key = crate::audit_key::AuditKey::from_bytes(*key);
    hex::encode(key.mac(&[
        b"ferry-console-login-v1\n",
        expires_ms.to_string().as_bytes(),
        b"\n",
        nonce.as_bytes(),
    ]))
}

/// A login form token `<expiry ms>.<nonce>.<HMAC>` signed with the server's form key, so
/// only tokens this server issued (and not yet expired) are accepted, not any pair of equal
/// cookie and field values.
pub fn login_form_token(key: &[u8; 32], now_ms: i64) -> String {
    let expires = now_ms.saturating_add(LOGIN_FORM_TTL_MS);
    let nonce = &random_token()[..32];
    format!("{expires}.{nonce}.{}", login_form_mac(key, expires, nonce))
}

/// Whether `token` is a live login form token of this server.
pub fn login_form_token_ok(key: &[u8; 32], token: &str, now_ms: i64) -> bool {
    let mut parts = token.splitn(3, '.');
    let (Some(expires), Some(nonce), Some(mac)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Ok(expires_ms) = expires.parse::<i64>() else {
        return false;
    };
    expires_ms > now_ms
        && expires_ms <= now_ms.saturating_add(LOGIN_FORM_TTL_MS)
        && same_secret(&login_form_mac(key, expires_ms, nonce), mac)
}

/// With `https` (the server is configured as served over HTTPS): every cookie gets `Secure`
/// and the response `Strict-Transport-Security`.
pub fn https_headers(https: bool, mut r: Response) -> Response {
    if !https {
        return r;
    }
    let h = r.headers_mut();
    let cookies: Vec<HeaderValue> = h.get_all(SET_COOKIE).iter().cloned().collect();
    if !cookies.is_empty() {
        h.remove(SET_COOKIE);
        for c in cookies {
            let secured = c
                .to_str()
                .ok()
                .filter(|v| !v.contains("; Secure"))
                .and_then(|v| HeaderValue::from_str(&format!("{v}; Secure")).ok())
                .unwrap_or(c);
            h.append(SET_COOKIE, secured);
        }
    }
    h.insert(
        STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    );
    r
}

/// Creates a session for `user`; returns (token, csrf).
pub fn create(tx: &dyn Sql, user_id: i64, now_ms: i64) -> Result<(String, String), DbError> {
    let token = random_token();
    let csrf = random_token();
    tx.execute(
        "DELETE FROM console_sessions WHERE expires_ms <= ?1",
        &[&now_ms],
    )?;
    tx.execute(
        "INSERT INTO console_sessions (token_hash, user_id, csrf, created_ms, expires_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        &[
            &hash(&token),
            &user_id,
            &csrf,
            &now_ms,
            &(now_ms + SESSION_TTL_MS),
        ],
    )?;
    Ok((token, csrf))
}

/// Ends a session.
pub fn delete(tx: &dyn Sql, token_hash: &[u8]) -> Result<(), DbError> {
    tx.execute(
        "DELETE FROM console_sessions WHERE token_hash = ?1",
        &[&token_hash],
    )?;
    Ok(())
}

/// The user and CSRF token of a live session.
fn lookup(
    conn: &dyn Sql,
    token: &str,
    now_ms: i64,
) -> anyhow::Result<Option<(User, String, Vec<u8>)>> {
    let h = hash(token);
    let Some(row) = conn.query_opt(
        "SELECT u.username, s.csrf FROM console_sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = ?1 AND s.expires_ms > ?2",
        &[&h, &now_ms],
    )?
    else {
        return Ok(None);
    };
    let (username, csrf): (String, String) = (row.get(0)?, row.get(1)?);
    let Some(user) = accounts::get_user(conn, &username)? else {
        return Ok(None);
    };
    Ok(Some((user, csrf, h)))
}

/// The language of a request: `?lang=` first, then the cookie, else Vietnamese.
pub fn lang_of(parts_headers: &HeaderMap, query: Option<&str>) -> Lang {
    let from_query = query.and_then(|q| {
        q.split('&')
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| *k == "lang")
            .and_then(|(_, v)| Lang::parse(v))
    });
    from_query
        .or_else(|| cookie(parts_headers, LANG_COOKIE).and_then(Lang::parse))
        .unwrap_or(Lang::Vi)
}

/// An admin signed in to the console.
#[derive(Debug, Clone)]
pub struct ConsoleUser {
    /// The account.
    pub user: User,
    /// The session's CSRF token.
    pub csrf: String,
    /// SHA-256 of the session token (audit `device` column: `console:<first 8 hex>`).
    pub token_hash: Vec<u8>,
    /// The language of this request.
    pub lang: Lang,
}

impl ConsoleUser {
    /// What goes in the audit trail's `device` column for console actions.
    pub fn audit_device(&self) -> String {
        format!("console:{}", hex::encode(&self.token_hash[..4]))
    }

    /// Whether a submitted form's token is this session's.
    pub fn csrf_ok(&self, submitted: &str) -> bool {
        same_secret(&self.csrf, submitted)
    }
}

/// A redirect to the login page that comes back to `next`.
pub fn to_login(next: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    let target = format!("/console/login?next={}", super::pages::url_encode(next));
    if let Ok(v) = HeaderValue::from_str(&target) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

impl FromRequestParts<AppState> for ConsoleUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let next = if parts.method == axum::http::Method::GET {
            parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "/console".into())
        } else {
            "/console/queue".into()
        };
        let lang = lang_of(&parts.headers, parts.uri.query());
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE).map(str::to_owned) else {
            return Err(to_login(&next));
        };
        let store = state.store.clone();
        let now = crate::now_ms();
        let found = tokio::task::spawn_blocking(move || store.read(|c| lookup(c, &token, now)))
            .await
            .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())?
            .map_err(|e| {
                tracing::error!(error = %format!("{e:#}"), "console session lookup failed");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            })?;
        match found {
            Some((user, csrf, token_hash)) if user.role == Role::Admin && !user.disabled => {
                Ok(ConsoleUser {
                    user,
                    csrf,
                    token_hash,
                    lang,
                })
            }
            _ => Err(to_login(&next)),
        }
    }
}
