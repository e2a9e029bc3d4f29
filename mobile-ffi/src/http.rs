//! The built-in HTTP transport (ureq, blocking): `POST /v1/login`, `POST /v1/sync` and the
//! online read of a record's sensitive values.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sync_core::protocol::{Encoding, compress, decompress};

use crate::error::Error;

/// Largest reply body accepted (compressed or not).
const MAX_REPLY_BYTES: u64 = 64 * 1024 * 1024;
/// Largest login reply.
const MAX_LOGIN_BYTES: u64 = 1024 * 1024;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        // Statuses are handled here, not as transport errors.
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_global(Some(Duration::from_secs(180)))
        .user_agent(concat!("ferry-mobile-ffi/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// `server_url` without trailing slashes.
pub(crate) fn base(server_url: &str) -> Result<String, Error> {
    let url = server_url.trim().trim_end_matches('/');
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Error::Argument(
            "the server URL must start with http:// or https://",
        ));
    }
    Ok(url.to_owned())
}

#[derive(Debug, Serialize)]
struct LoginRequest<'a> {
    username: &'a str,
    password: &'a str,
    device_id: String,
    actor_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_name: Option<&'a str>,
}

/// What the server answers to a successful login.
#[derive(Debug, Deserialize)]
pub(crate) struct LoginReply {
    pub token: String,
    #[serde(default)]
    pub expires_at: serde_json::Value,
    #[serde(default)]
    pub user: serde_json::Value,
    /// The name to show for the user (absent from servers before display names).
    #[serde(default)]
    pub display_name: Option<String>,
    /// The device's name as the server registered it (absent from older servers).
    #[serde(default)]
    pub device_name: Option<String>,
    pub role: String,
    #[serde(default)]
    pub units: Vec<String>,
}

impl LoginReply {
    /// The user's login name, whether the server sent it as a string or an object.
    pub fn username(&self, fallback: &str) -> String {
        match &self.user {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Object(o) => ["username", "name"]
                .iter()
                .find_map(|k| o.get(*k).and_then(|v| v.as_str()))
                .unwrap_or(fallback)
                .to_owned(),
            _ => fallback.to_owned(),
        }
    }

    /// The expiry in ms since the Unix epoch (0 when the server sent none).
    pub fn expires_at_ms(&self) -> i64 {
        self.expires_at.as_i64().unwrap_or(0)
    }
}

/// Logs in, registering the device. 401 → wrong credentials; 429/423 → locked; other 4xx
/// with a code (`account_disabled`, `device_revoked`, `device_taken`, …) → refused.
pub(crate) fn login(
    base: &str,
    username: &str,
    password: &str,
    device_id: &str,
    actor_id: &str,
    device_name: Option<&str>,
) -> Result<LoginReply, Error> {
    let body = serde_json::to_vec(&LoginRequest {
        username,
        password,
        device_id: device_id.to_owned(),
        actor_id: actor_id.to_owned(),
        device_name,
    })?;
    let mut resp = agent()
        .post(format!("{base}/v1/login"))
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .send(&body[..])?;
    let status = resp.status().as_u16();
    let bytes = resp
        .body_mut()
        .with_config()
        .limit(MAX_LOGIN_BYTES)
        .read_to_vec()?;
    match status {
        200..=299 => Ok(serde_json::from_slice(&bytes)?),
        401 => Err(Error::BadCredentials),
        423 | 429 => Err(Error::Locked),
        400..=499 => Err(Error::LoginRefused {
            status,
            code: error_code(&bytes),
        }),
        other => Err(Error::Status(other)),
    }
}

/// The stable `error` code of a JSON error body (`{"error": code, "message": text}`), kept
/// only when it looks like a code (so nothing else from the body travels on).
fn error_code(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error")?.as_str().map(str::to_owned))
        .filter(|c| {
            !c.is_empty() && c.len() <= 64 && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        })
        .unwrap_or_else(|| "refused".into())
}

/// `POST /v1/logout`: ends the token on the server. A token the server no longer knows
/// (401) counts as ended.
pub(crate) fn logout(base: &str, token: &str) -> Result<(), Error> {
    let resp = agent()
        .post(format!("{base}/v1/logout"))
        .header("Authorization", format!("Bearer {token}"))
        .send_empty()?;
    match resp.status().as_u16() {
        200..=299 | 401 => Ok(()),
        other => Err(Error::Status(other)),
    }
}

/// One exchange's bytes on the wire.
#[derive(Debug)]
pub(crate) struct Exchange {
    /// The reply, decompressed CBOR.
    pub reply: Vec<u8>,
    /// Compressed bytes sent.
    pub sent: u64,
    /// Compressed bytes received.
    pub received: u64,
}

/// `POST /v1/sync` with a zstd-compressed CBOR body; the reply may be zstd, gzip or plain.
pub(crate) fn sync(base: &str, token: &str, request_cbor: &[u8]) -> Result<Exchange, Error> {
    let body = compress(request_cbor, Encoding::Zstd);
    let mut resp = agent()
        .post(format!("{base}/v1/sync"))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/cbor")
        .header("Accept", "application/cbor")
        .header("Content-Encoding", "zstd")
        .header("Accept-Encoding", "zstd, gzip")
        .send(&body[..])?;
    let status = resp.status().as_u16();
    // ureq undoes gzip itself (and then removes the header); zstd is ours to undo.
    let encoding = resp
        .headers()
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = resp
        .body_mut()
        .with_config()
        .limit(MAX_REPLY_BYTES)
        .read_to_vec()?;
    match status {
        200..=299 => {}
        401 | 403 => return Err(Error::Unauthorized(status)),
        other => return Err(Error::Status(other)),
    }
    let reply = decompress(
        &bytes,
        Encoding::parse(encoding.as_deref())?,
        MAX_REPLY_BYTES as usize,
    )?;
    Ok(Exchange {
        reply,
        sent: body.len() as u64,
        received: bytes.len() as u64,
    })
}

/// `GET /v1/records/{id}/sensitive` (`docs/protocol.md` §12): the record's sensitive values,
/// for roles that read them. 403 → [`Error::Refused`] with the server's code; 404 →
/// [`Error::RemoteNotFound`].
pub(crate) fn sensitive(
    base: &str,
    token: &str,
    record: &str,
) -> Result<std::collections::BTreeMap<String, sync_core::model::Value>, Error> {
    #[derive(Deserialize)]
    struct Reply {
        fields: std::collections::BTreeMap<String, sync_core::model::Value>,
    }
    let mut resp = agent()
        .get(format!("{base}/v1/records/{record}/sensitive"))
        .header("Authorization", format!("Bearer {token}"))
        .header("Accept", "application/json")
        .call()?;
    let status = resp.status().as_u16();
    let bytes = resp
        .body_mut()
        .with_config()
        .limit(MAX_LOGIN_BYTES)
        .read_to_vec()?;
    match status {
        200..=299 => Ok(serde_json::from_slice::<Reply>(&bytes)?.fields),
        401 => Err(Error::Unauthorized(status)),
        403 => Err(Error::Refused(error_code(&bytes))),
        404 => Err(Error::RemoteNotFound),
        other => Err(Error::Status(other)),
    }
}
