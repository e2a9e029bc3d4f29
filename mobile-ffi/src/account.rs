//! Signing out: ending the token on the server (now, or at the next contact when offline),
//! the signed-out state, and the small JSON settings kept in the store's `meta` table.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sync_core::replica::Replica;
use sync_core::store::StoreError;
use sync_core::store::tables;

use crate::error::Error;
use crate::http;
use crate::store::{
    FerryStore, META_FFI_PENDING_LOGOUT, META_FFI_SESSION, META_FFI_SIGNED_OUT,
    META_FFI_SIGNED_OUT_ACCESS, stored_session,
};
use crate::types::SignedOutAccess;

/// A token a logout could not end on the server yet.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct PendingLogout {
    server_url: String,
    token: String,
}

/// A JSON value of the `meta` table.
pub(crate) fn load_json<T: DeserializeOwned>(r: &Replica, key: &str) -> Result<Option<T>, Error> {
    let raw = r.pool().read(|c| tables::get_meta(c, key))?;
    Ok(raw.and_then(|s| serde_json::from_str(&s).ok()))
}

/// Stores a JSON value in the `meta` table.
pub(crate) fn save_json<T: Serialize>(r: &Replica, key: &str, value: &T) -> Result<(), Error> {
    let json = serde_json::to_string(value)?;
    r.pool()
        .write(|tx| -> Result<_, StoreError> { tables::set_meta(tx, key, &json) })?;
    Ok(())
}

/// Whether personal data is locked: signed out, and the setting says so.
pub(crate) fn locked_out(r: &Replica) -> Result<bool, Error> {
    let signed_out = r
        .pool()
        .read(|c| tables::get_meta(c, META_FFI_SIGNED_OUT))?
        .is_some();
    if !signed_out {
        return Ok(false);
    }
    let access: SignedOutAccess = load_json(r, META_FFI_SIGNED_OUT_ACCESS)?.unwrap_or_default();
    Ok(access == SignedOutAccess::RequireSignIn)
}

/// `FerryStore::logout`: ends the token on the server if it can be reached (else files it
/// for the next contact), then forgets the session locally and marks the store signed out.
pub(crate) fn logout(store: &FerryStore) -> Result<bool, Error> {
    let session = store.with_replica(stored_session)?;
    let ended = match &session {
        Some(s) => end_token(&s.server_url, &s.token),
        None => true,
    };
    store.with_replica(|r| {
        let mut pending: Vec<PendingLogout> =
            load_json(r, META_FFI_PENDING_LOGOUT)?.unwrap_or_default();
        if let (Some(s), false) = (session, ended) {
            pending.push(PendingLogout {
                server_url: s.server_url,
                token: s.token,
            });
        }
        let pending = serde_json::to_string(&pending)?;
        r.pool().write(|tx| -> Result<_, StoreError> {
            tx.execute("DELETE FROM meta WHERE key = ?1", [META_FFI_SESSION])?;
            tables::set_meta(tx, META_FFI_PENDING_LOGOUT, &pending)?;
            tables::set_meta(tx, META_FFI_SIGNED_OUT, "1")?;
            Ok(())
        })?;
        r.clear_session()?;
        Ok(())
    })?;
    Ok(ended)
}

/// Ends tokens earlier logouts could not end (at the next contact with the server). Tokens
/// the server still cannot be reached for stay filed.
pub(crate) fn end_pending_logouts(r: &Replica) -> Result<(), Error> {
    let pending: Vec<PendingLogout> = load_json(r, META_FFI_PENDING_LOGOUT)?.unwrap_or_default();
    if pending.is_empty() {
        return Ok(());
    }
    let left: Vec<PendingLogout> = pending
        .into_iter()
        .filter(|p| !end_token(&p.server_url, &p.token))
        .collect();
    save_json(r, META_FFI_PENDING_LOGOUT, &left)
}

/// `POST /v1/logout`; true when the token is dead afterwards (ended now, or already dead).
fn end_token(server_url: &str, token: &str) -> bool {
    http::logout(server_url, token).is_ok()
}

/// Tests: a stored session for `server_url` with `token`, as a login leaves it.
#[cfg(test)]
pub(crate) fn fake_session(store: &FerryStore, server_url: &str, token: &str) {
    let json = serde_json::json!({"server_url": server_url, "token": token, "expires_at_ms": 0});
    store
        .with_replica(|r| save_json(r, META_FFI_SESSION, &json))
        .unwrap();
}
