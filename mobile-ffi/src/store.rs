//! [`FerryStore`]: the encrypted replica, login and sync.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sync_core::doc;
use sync_core::model::{Kind, Role};
use sync_core::protocol::{self, SyncReply};
use sync_core::replica::{Next, Replica, Session, SyncOptions};
use sync_core::store::StoreError;
use sync_core::store::tables;
use uuid::Uuid;

use crate::error::{ApiError, Error};
use crate::http;
use crate::search;
use crate::types::{
    Author, Authors, Edit, FieldChange, FieldConflict, FieldValue, OutboxStatus, Record,
    RecordDetails, RecordKind, RecordPage, RecordQuery, RejectedEdit, SaveResult, SessionInfo,
    SignedOutAccess, SyncProgressEvent, SyncReport, SyncSettings, fields_to_core,
};

/// Where the session (token, server) lives in the store's `meta` table. The store is
/// encrypted, so the token is too.
pub(crate) const META_FFI_SESSION: &str = "ffi.session";
/// The sync settings (`SyncSettings` as JSON), so they survive a restart.
pub(crate) const META_FFI_SETTINGS: &str = "ffi.sync_settings";
/// The signed-out access setting (`SignedOutAccess` as JSON).
pub(crate) const META_FFI_SIGNED_OUT_ACCESS: &str = "ffi.signed_out_access";
/// Present while the store is signed out (after `logout`, until the next login).
pub(crate) const META_FFI_SIGNED_OUT: &str = "ffi.signed_out";
/// Tokens a logout could not end on the server (offline): ended at the next contact.
pub(crate) const META_FFI_PENDING_LOGOUT: &str = "ffi.pending_logout";
/// Safety stop for one `sync` call.
const MAX_ROUND_TRIPS: u32 = 1_000;

/// The login state kept in the encrypted store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredSession {
    pub(crate) server_url: String,
    pub(crate) token: String,
    expires_at_ms: i64,
    /// The user's display name as the login answered it (absent from older servers and
    /// from sessions stored before display names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    display_name: Option<String>,
}

/// Follows a sync as it happens. Implement it in the app (for a progress bar) and pass it
/// to `FerryStore.sync`.
///
/// Called on the thread that called `sync`, once per round trip with the server. Return
/// quickly and do not throw; to stop the sync, use a `CancelToken`.
#[uniffi::export(foreign)]
pub trait SyncProgress: Send + Sync {
    /// One round trip finished and its results are saved.
    fn on_round_trip(&self, event: SyncProgressEvent);
}

/// Stops a running `sync` between two round trips. Create one per sync, keep a reference,
/// and call `cancel()` from any thread (for example when the officer leaves the screen).
/// Everything received before the cancel is kept.
#[derive(Debug, Default, uniffi::Object)]
pub struct CancelToken {
    cancelled: AtomicBool,
}

#[uniffi::export]
impl CancelToken {
    /// A token that is not cancelled.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(CancelToken::default())
    }

    /// Asks the sync to stop after the current round trip. Safe from any thread.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }

    /// Whether `cancel` was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

/// The device's encrypted local store of records, with login and sync.
///
/// Open one per app process and share it: every method is thread-safe. Every method blocks
/// on disk (and `login`/`sync` on the network): call them off the UI thread (for example
/// `Dispatchers.IO` in Kotlin, a background `Task` or queue in Swift).
///
/// After the server revokes the device, the local data is destroyed, `isWiped()` returns
/// true and every other call throws `Wiped` until someone logs in again.
#[derive(uniffi::Object)]
pub struct FerryStore {
    /// The replica; `None` only while a wipe replaces the file.
    inner: RwLock<Option<Replica>>,
    path: PathBuf,
    key: Vec<u8>,
    wiped: AtomicBool,
    options: Mutex<SyncOptions>,
    /// The PIN was entered for this open store (`openWithPin`/`unlockWithPin`).
    pin_entered: AtomicBool,
}

impl std::fmt::Debug for FerryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("FerryStore")
            .field("path", &self.path)
            .field("wiped", &self.is_wiped())
            .finish_non_exhaustive()
    }
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub(crate) fn parse_id(id: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(id.trim()).map_err(|_| Error::Argument("the record id is not a UUID"))
}

#[uniffi::export]
impl FerryStore {
    /// Opens the store at `path`, creating it if it does not exist, encrypted with `key`
    /// (32 bytes: from the platform keystore, or `deriveKeyFromPin`). A new store gets a
    /// fresh device identity.
    ///
    /// Throws `WrongKey` when the key does not open an existing store, `InvalidKey` when it
    /// is not 32 bytes.
    #[uniffi::constructor]
    pub fn open(path: String, key: Vec<u8>) -> Result<Arc<Self>, ApiError> {
        Ok(Arc::new(Self::open_inner(Path::new(&path), key)?))
    }

    /// Opens the store with the key derived from the officer's PIN (`deriveKeyFromPin`), and
    /// remembers that the PIN was entered: a signed-out store then shows records (see
    /// `setSignedOutAccess`). Throws what `open` throws.
    #[uniffi::constructor]
    pub fn open_with_pin(path: String, pin: String, salt: Vec<u8>) -> Result<Arc<Self>, ApiError> {
        let store = crate::pin_guard::guarded(Path::new(&path), now_ms(), || {
            let key = crate::key::derive(&pin, &salt)?;
            Self::open_inner(Path::new(&path), key)
        })?;
        store.pin_entered.store(true, Ordering::SeqCst);
        Ok(Arc::new(store))
    }

    /// Checks the officer's PIN against this store's key; when it matches, records become
    /// readable while signed out (until the store is closed). Returns whether it matched.
    pub fn unlock_with_pin(&self, pin: String, salt: Vec<u8>) -> Result<bool, ApiError> {
        crate::pin_guard::before_try(&self.path, now_ms())?;
        // A PIN shorter than the minimum cannot be this store's: a wrong PIN.
        let key = crate::key::derive(&pin, &salt).unwrap_or_default();
        let ok = key.len() == self.key.len()
            && key
                .iter()
                .zip(&self.key)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if ok {
            self.pin_entered.store(true, Ordering::SeqCst);
            crate::pin_guard::succeeded(&self.path)?;
        } else {
            crate::pin_guard::failed(&self.path, now_ms())?;
        }
        Ok(ok)
    }

    /// Starts over on this phone: closes the store, deletes its files, and creates an empty
    /// one with a **new device identity** (device id and actor id), keeping the key and the
    /// sync settings. Use it after a wipe (`isWiped()`, or `LoginRefused("device_revoked")`)
    /// or to hand the phone to someone else; then log in. Edits that were not synced are
    /// lost: check `outboxStatus()` first. Returns the new device id.
    ///
    /// The office sees a new device at the next login; the revoked id is never reused.
    pub fn reset_device(&self) -> Result<String, ApiError> {
        self.reset_inner().map_err(ApiError::from)
    }

    /// This device's id (a UUID), registered with the server at login.
    pub fn device_id(&self) -> Result<String, ApiError> {
        self.read(|r| Ok(r.device_id().to_string()))
    }

    /// Whether the server revoked this device and its local data was destroyed.
    pub fn is_wiped(&self) -> bool {
        self.wiped.load(Ordering::SeqCst)
    }

    /// Logs in to the server at `server_url` (for example `https://ferry.example.vn`),
    /// registering this device under the user, and keeps the session in the encrypted
    /// store. `device_name` is shown to the office (for example the phone model).
    ///
    /// Throws `AuthFailed` for wrong credentials, `AccountLocked` after too many failures,
    /// `LoginRefused` (disabled account, revoked device, …), `Network` when the server cannot
    /// be reached. Logging in again after a wipe re-enables
    /// the store if the office allows the device.
    #[uniffi::method(default(device_name = None))]
    pub fn login(
        &self,
        server_url: String,
        username: String,
        password: String,
        device_name: Option<String>,
    ) -> Result<SessionInfo, ApiError> {
        self.login_inner(&server_url, &username, &password, device_name.as_deref())
            .map_err(ApiError::from)
    }

    /// The current session, or nothing when not logged in.
    pub fn session(&self) -> Result<Option<SessionInfo>, ApiError> {
        self.read(session_info)
    }

    /// Signs out: ends the session's token on the server (`POST /v1/logout`) and forgets
    /// it here. Returns true when the server ended the token now; false when it could not
    /// be reached, in which case the token is ended at the next contact (the next `login`).
    /// Local records and pending edits stay; new edits are still checked against the last
    /// user's role. Whether records stay readable is `signedOutAccess()`.
    pub fn logout(&self) -> Result<bool, ApiError> {
        crate::account::logout(self).map_err(ApiError::from)
    }

    /// Whether records stay readable after a logout (kept in the store).
    pub fn signed_out_access(&self) -> Result<SignedOutAccess, ApiError> {
        self.read(|r| crate::account::load_json(r, META_FFI_SIGNED_OUT_ACCESS))
            .map(Option::unwrap_or_default)
    }

    /// Chooses whether records stay readable after a logout (kept in the store). The
    /// default, `RequireSignIn`, keeps personal data locked until someone signs in or enters
    /// the PIN.
    pub fn set_signed_out_access(&self, access: SignedOutAccess) -> Result<(), ApiError> {
        self.read(|r| crate::account::save_json(r, META_FFI_SIGNED_OUT_ACCESS, &access))
    }

    /// True after `logout()` until the next `login`.
    pub fn is_signed_out(&self) -> Result<bool, ApiError> {
        self.read(|r| {
            Ok(r.pool()
                .read(|c| tables::get_meta(c, META_FFI_SIGNED_OUT))?
                .is_some())
        })
    }

    /// Creates a record of `kind` in admin unit `unit` with `fields` (see `fieldSpecs`).
    ///
    /// Throws `Validation` with every structural problem (nothing is saved), or `Forbidden`
    /// when the officer's role may not create it in that status. Data-quality findings do
    /// not stop the save: they come back in the result to show as warnings.
    pub fn create(
        &self,
        kind: RecordKind,
        unit: String,
        fields: HashMap<String, FieldValue>,
    ) -> Result<SaveResult, ApiError> {
        self.read(|r| {
            Ok(
                r.create(Kind::from(kind), &unit, fields_to_core(fields), now_ms())?
                    .into(),
            )
        })
    }

    /// Applies `edits` to a record as one change.
    ///
    /// Throws `NotFound`, `Validation` (nothing is saved) or `Forbidden` (a status move or
    /// a frozen field the officer's role may not change). Findings come back in the result.
    pub fn update(&self, id: String, edits: Vec<Edit>) -> Result<SaveResult, ApiError> {
        self.read(|r| {
            let id = parse_id(&id)?;
            let edits: Vec<doc::Edit> = edits.into_iter().map(Into::into).collect();
            Ok(r.update(id, &edits, now_ms())?.into())
        })
    }

    /// One record with its findings, conflicts and pending change count; nothing when the
    /// device has no such record.
    pub fn get(&self, id: String) -> Result<Option<RecordDetails>, ApiError> {
        self.read_personal(|r| {
            let Some(view) = r.get(parse_id(&id)?)? else {
                return Ok(None);
            };
            let actors = view
                .conflicts
                .iter()
                .flat_map(|c| c.values.iter().map(|v| &v.actor));
            let authors = authors(r, actors)?;
            Ok(Some(RecordDetails::from_core(view, &authors)))
        })
    }

    /// Records matching every criterion of `query`, most recently changed first. An empty
    /// query lists the most recent records. Use `findPage` for the total and paging.
    pub fn find(&self, query: RecordQuery) -> Result<Vec<Record>, ApiError> {
        self.find_page(query).map(|p| p.records)
    }

    /// Like `find`, with the number of all matching records and the next page's offset.
    pub fn find_page(&self, query: RecordQuery) -> Result<RecordPage, ApiError> {
        self.read_personal(|r| search::page(r, query.into()))
    }

    /// A search box, one page at a time: text that looks like an ID number (digits, also
    /// typed with spaces, dots or dashes: `"022 090 001 234"`) looks up the ID number or
    /// its first digits; anything else a name with or without diacritics (`"nguyen"` finds
    /// "Nguyễn"). `kind` keeps one kind of record (a person search: `CITIZEN`). Pages hold
    /// `limit` records (default 100) from `offset` (default 0); the page says how many
    /// match in all and where the next page starts.
    #[uniffi::method(default(kind = None, offset = None, limit = None))]
    pub fn search(
        &self,
        text: String,
        kind: Option<RecordKind>,
        offset: Option<u32>,
        limit: Option<u32>,
    ) -> Result<RecordPage, ApiError> {
        let mut query = search::query_for(&text);
        query.kind = kind;
        query.offset = offset;
        query.limit = limit;
        self.find_page(query)
    }

    /// Number of records on the device.
    pub fn count(&self) -> Result<u64, ApiError> {
        self.read(|r| Ok(r.count()?))
    }

    /// Fields of a record that were changed concurrently on different devices, with every
    /// value. The office resolves them; until then the record shows the first value.
    /// Each value names its author (officer and device, from the directory the server
    /// sends) and says whether it is this device's own.
    pub fn conflicts(&self, id: String) -> Result<Vec<FieldConflict>, ApiError> {
        self.read_personal(|r| {
            let conflicts = r.conflicts(parse_id(&id)?)?;
            let authors = authors(
                r,
                conflicts
                    .iter()
                    .flat_map(|c| c.values.iter().map(|v| &v.actor)),
            )?;
            Ok(conflicts.into_iter().map(|c| authors.conflict(c)).collect())
        })
    }

    /// Every change of every field of a record: who (actor id, and the officer and device
    /// behind it), when, from what, to what.
    pub fn history(&self, id: String) -> Result<Vec<FieldChange>, ApiError> {
        self.read_personal(|r| {
            let history = r.history(parse_id(&id)?)?;
            let authors = authors(r, history.iter().map(|h| &h.actor))?;
            Ok(history.into_iter().map(|h| authors.change(h)).collect())
        })
    }

    /// How many records have edits waiting to be sent (and how many changes), and for how
    /// long the oldest has waited. Show it so the officer knows to find a signal.
    pub fn outbox_status(&self) -> Result<OutboxStatus, ApiError> {
        self.read(|r| {
            let s = r.outbox_status()?;
            Ok(OutboxStatus {
                pending_records: s.records,
                pending_changes: s.pending,
                oldest_pending_ms: s.oldest_ms,
                oldest_age_ms: s.oldest_ms.map(|t| (now_ms() - t).max(0)),
            })
        })
    }

    /// Edits the server refused, newest first, with the reason. Show them until the officer
    /// dismisses each one.
    pub fn rejected(&self) -> Result<Vec<RejectedEdit>, ApiError> {
        self.read_personal(|r| {
            let list = r.rejected()?;
            let authors = authors(
                r,
                list.iter().flat_map(|e| e.edits.iter().map(|c| &c.actor)),
            )?;
            list.into_iter()
                .map(|e| RejectedEdit::from_core(e, &authors))
                .collect()
        })
    }

    /// Removes a rejected edit from the list once the officer has seen it. Returns false if
    /// there was no such entry.
    pub fn dismiss_rejected(&self, id: i64) -> Result<bool, ApiError> {
        self.read(|r| Ok(r.dismiss_rejected(id)?))
    }

    /// Sans-IO sync, step 1: the next request body (CBOR, uncompressed). POST it to
    /// `<server>/v1/sync` with `Authorization: Bearer <bearerToken()>` and
    /// `Content-Type: application/cbor` (you may compress it with gzip or zstd and set
    /// `Content-Encoding`), then pass the reply body (decompressed) to `applySyncReply`.
    /// Repeat while the report says `more`. A lost reply is harmless: just sync again.
    pub fn prepare_sync(&self) -> Result<Vec<u8>, ApiError> {
        self.read(|r| {
            Ok(protocol::encode_request(
                &r.prepare_sync(&self.sync_options())?,
            ))
        })
    }

    /// Sans-IO sync, step 2: applies a reply body (CBOR, decompressed) in one transaction
    /// and reports what it did. When the report says `more`, prepare and send again (the
    /// server has more, it asked for a record's whole history, or pending edits did not fit
    /// in this request): the same rule `sync` follows. If the reply orders a wipe, the local
    /// data is destroyed and the report says `wiped`.
    pub fn apply_sync_reply(&self, reply: Vec<u8>) -> Result<SyncReport, ApiError> {
        self.apply_reply_bytes(&reply, 0, 0)
            .map(|(report, _)| report)
            .map_err(ApiError::from)
    }

    /// The budgets used for each sync round trip (as last set, also before a restart).
    pub fn sync_settings(&self) -> SyncSettings {
        SyncSettings::from(&self.sync_options())
    }

    /// Changes the budgets (and the app version reported) of later sync round trips. Kept
    /// in the store, so they survive a restart.
    pub fn set_sync_settings(&self, settings: SyncSettings) -> Result<(), ApiError> {
        self.read(|r| crate::account::save_json(r, META_FFI_SETTINGS, &settings))?;
        *self.options.lock().unwrap_or_else(|p| p.into_inner()) = settings.into();
        Ok(())
    }

    /// The session's bearer token, for apps that send sync requests themselves (sans-IO).
    /// Keep it in memory only. Throws `NotLoggedIn` without a session.
    pub fn bearer_token(&self) -> Result<String, ApiError> {
        self.read(|r| Ok(stored_session(r)?.ok_or(Error::NotLoggedIn)?.token))
    }

    /// Built-in sync over HTTP with the logged-in server: pushes pending edits and pulls
    /// news, one round trip after another while the server has more (each round trip is
    /// saved before the next, so a dropped link loses nothing). Bodies are zstd-compressed.
    ///
    /// `progress` hears about every round trip. `cancel` is checked between round trips; a
    /// cancelled sync returns normally with `cancelled` set. Blocks until done: call it off
    /// the UI thread.
    ///
    /// Throws `NotLoggedIn`, `SessionExpired` (log in again), `Network` (try later; nothing
    /// is lost) or `Wiped`.
    /// The record's sensitive values (religion, ethnicity, blood type, biometrics flags),
    /// read online from the server: the phone never keeps them (`docs/protocol.md` §12).
    /// Only police office staff and admins may read them: other roles get
    /// `Forbidden { reason: "sensitive_not_readable" }` (leaders `leader_holds_no_records`);
    /// a record the server does not hold in the user's units gives `NotFound`. Every read is
    /// audited on the server. A field without a value is absent.
    pub fn read_sensitive(&self, id: String) -> Result<HashMap<String, FieldValue>, ApiError> {
        let record = parse_id(&id).map_err(ApiError::from)?;
        let session = self
            .with_replica(stored_session)
            .map_err(ApiError::from)?
            .ok_or(ApiError::NotLoggedIn)?;
        let values = http::sensitive(&session.server_url, &session.token, &record.to_string())
            .map_err(ApiError::from)?;
        Ok(values.into_iter().map(|(k, v)| (k, v.into())).collect())
    }

    pub fn sync(
        &self,
        progress: Arc<dyn SyncProgress>,
        cancel: Arc<CancelToken>,
    ) -> Result<SyncReport, ApiError> {
        self.sync_inner(progress.as_ref(), &cancel)
            .map_err(ApiError::from)
    }
}

impl FerryStore {
    fn sync_options(&self) -> SyncOptions {
        self.options
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn open_inner(path: &Path, key: Vec<u8>) -> Result<FerryStore, Error> {
        if key.len() != crate::key::KEY_LEN {
            return Err(StoreError::BadKeyLength(key.len()).into());
        }
        let replica = Replica::open(path, Some(&key))?;
        let wiped = replica.is_wiped()?;
        let options = match crate::account::load_json::<SyncSettings>(&replica, META_FFI_SETTINGS)?
        {
            Some(saved) => saved.into(),
            None => default_options(),
        };
        Ok(FerryStore {
            inner: RwLock::new(Some(replica)),
            path: path.to_owned(),
            key,
            wiped: AtomicBool::new(wiped),
            options: Mutex::new(options),
            pin_entered: AtomicBool::new(false),
        })
    }

    /// Like [`Self::read`] for calls that return personal data: refused while signed out
    /// unless the setting allows it or the PIN was entered.
    fn read_personal<T>(
        &self,
        f: impl FnOnce(&Replica) -> Result<T, Error>,
    ) -> Result<T, ApiError> {
        self.read(|r| {
            // A phone out of contact too long stays locked whatever was entered.
            crate::offline_lock::check(r, now_ms())?;
            if !self.pin_entered.load(Ordering::SeqCst) && crate::account::locked_out(r)? {
                return Err(Error::SignedOut);
            }
            f(r)
        })
    }

    /// Runs `f` on the replica unless the store is wiped; the one place errors become
    /// [`ApiError`]s for the exported methods.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&Replica) -> Result<T, Error>,
    ) -> Result<T, ApiError> {
        self.with_replica(f).map_err(ApiError::from)
    }

    pub(crate) fn with_replica<T>(
        &self,
        f: impl FnOnce(&Replica) -> Result<T, Error>,
    ) -> Result<T, Error> {
        if self.is_wiped() {
            return Err(Error::Wiped);
        }
        let guard = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let replica = guard.as_ref().ok_or(Error::Wiped)?;
        f(replica)
    }

    /// Like [`Self::with_replica`] but also on a wiped store (for login).
    fn with_any_replica<T>(
        &self,
        f: impl FnOnce(&Replica) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let guard = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let replica = guard.as_ref().ok_or(Error::Wiped)?;
        f(replica)
    }

    fn login_inner(
        &self,
        server_url: &str,
        username: &str,
        password: &str,
        device_name: Option<&str>,
    ) -> Result<SessionInfo, Error> {
        let base = http::base(server_url)?;
        // Tokens an offline logout left alive end now, before a new one is issued.
        self.with_any_replica(crate::account::end_pending_logouts)?;
        let (device_id, actor) =
            self.with_any_replica(|r| Ok((r.device_id(), hex::encode(r.actor_id()))))?;
        let reply = http::login(
            &base,
            username,
            password,
            &device_id.to_string(),
            &actor,
            device_name,
        )?;
        let role = Role::parse(&reply.role).ok_or(Error::Argument("unknown role from server"))?;
        let session = Session {
            user: reply.username(username),
            role,
            units: reply.units.clone(),
        };
        let stored = StoredSession {
            server_url: base,
            token: reply.token.clone(),
            expires_at_ms: reply.expires_at_ms(),
            display_name: reply.display_name.clone(),
        };
        let json = serde_json::to_string(&stored)?;
        // Who this device is now, as the server registered it (an older server does not
        // say: then the name sent).
        let own = tables::ActorName {
            user: session.user.clone(),
            display_name: reply.display_name.clone(),
            device_name: reply
                .device_name
                .clone()
                .unwrap_or_else(|| device_name.unwrap_or_default().to_owned()),
        };
        let info = self.with_any_replica(|r| {
            r.set_session(&session)?;
            r.note_own_name(&own)?;
            r.pool().write(|tx| -> Result<_, StoreError> {
                tables::set_meta(tx, META_FFI_SESSION, &json)?;
                tx.execute("DELETE FROM meta WHERE key = ?1", [META_FFI_SIGNED_OUT])?;
                Ok(())
            })?;
            crate::offline_lock::signed_in(r, now_ms())?;
            session_info(r)?.ok_or(Error::NotLoggedIn)
        })?;
        self.wiped.store(false, Ordering::SeqCst);
        Ok(info)
    }

    /// Applies one reply (CBOR); destroys the local data on `wipe`. The report's `more` is
    /// sync-core's shared "sync again?" rule ([`sync_core::replica::Next`]).
    fn apply_reply_bytes(
        &self,
        bytes: &[u8],
        sent: u64,
        received: u64,
    ) -> Result<(SyncReport, Vec<Uuid>), Error> {
        let reply: SyncReply = protocol::decode_reply(bytes)?;
        let applied = self.with_replica(|r| {
            let now = now_ms();
            let applied = r.apply_reply(&reply, now)?;
            crate::offline_lock::synced(r, now)?;
            Ok(applied)
        })?;
        let report = SyncReport::of(&applied, sent, received);
        if applied.next == Next::Wiped {
            self.destroy_local_data()?;
        }
        Ok((report, applied.pulled_ids))
    }

    /// Replaces the store with an empty one under a new identity (see `reset_device`).
    fn reset_inner(&self) -> Result<String, Error> {
        let settings = SyncSettings::from(&self.sync_options());
        let mut guard = self.inner.write().unwrap_or_else(|p| p.into_inner());
        // Settings are the phone's, not the officer's data: they survive the reset.
        let prefetch = match guard.as_ref() {
            Some(r) => sync_core::attachment::local::prefetch(r)?,
            None => Default::default(),
        };
        drop(guard.take());
        delete_files(&self.path)?;
        let fresh = Replica::open(&self.path, Some(&self.key))?;
        crate::account::save_json(&fresh, META_FFI_SETTINGS, &settings)?;
        sync_core::attachment::local::set_prefetch(&fresh, &prefetch.kinds, prefetch.max_bytes)?;
        let id = fresh.device_id().to_string();
        *guard = Some(fresh);
        self.wiped.store(false, Ordering::SeqCst);
        Ok(id)
    }

    /// Obeys a remote wipe: closes the database, deletes its files (including WAL and
    /// shared-memory files, so no old page survives), and recreates an empty store that
    /// remembers it was wiped, under the same device identity.
    fn destroy_local_data(&self) -> Result<(), Error> {
        self.wiped.store(true, Ordering::SeqCst);
        let mut guard = self.inner.write().unwrap_or_else(|p| p.into_inner());
        let old = guard.take();
        let identity = old.as_ref().map(|r| (r.device_id(), r.actor_id()));
        drop(old);
        delete_files(&self.path)?;
        // Keep the device's identity, so the server still knows (and refuses) it.
        let fresh = Replica::open_as(&self.path, Some(&self.key), identity)?;
        let mut wipe = SyncReply::empty(now_ms());
        wipe.wipe = true;
        fresh.apply_reply(&wipe, now_ms())?;
        *guard = Some(fresh);
        Ok(())
    }

    fn sync_inner(
        &self,
        progress: &dyn SyncProgress,
        cancel: &CancelToken,
    ) -> Result<SyncReport, Error> {
        let session = self
            .with_replica(stored_session)?
            .ok_or(Error::NotLoggedIn)?;
        let opts = self.sync_options();
        let mut total = SyncReport::default();
        let mut pulled: HashSet<Uuid> = HashSet::new();
        loop {
            if cancel.is_cancelled() {
                total.cancelled = true;
                return Ok(total);
            }
            let request = self.with_replica(|r| Ok(r.prepare_sync(&opts)?))?;
            let pushed: u64 = request.push.iter().map(|p| p.changes.len() as u64).sum();
            let exchange = http::sync(
                &session.server_url,
                &session.token,
                &protocol::encode_request(&request),
            )?;
            let (report, ids) =
                self.apply_reply_bytes(&exchange.reply, exchange.sent, exchange.received)?;
            pulled.extend(ids);
            total.round_trips += 1;
            total.acknowledged += report.acknowledged;
            total.rejected += report.rejected;
            total.pulled = pulled.len() as u64;
            total.purged += report.purged;
            total.bytes_sent += report.bytes_sent;
            total.bytes_received += report.bytes_received;
            total.pending_records = report.pending_records;
            total.pending_changes = report.pending_changes;
            total.remaining_records = report.remaining_records;
            total.remaining_bytes = report.remaining_bytes;
            total.wiped |= report.wiped;
            total.more = report.more;
            let more = report.more && total.round_trips < MAX_ROUND_TRIPS;
            progress.on_round_trip(SyncProgressEvent {
                round_trip: total.round_trips,
                pushed,
                acknowledged: report.acknowledged,
                rejected: report.rejected,
                pulled: report.pulled,
                pulled_total: total.pulled,
                purged: report.purged,
                pending_records: report.pending_records,
                pending_changes: report.pending_changes,
                remaining_records: report.remaining_records,
                remaining_bytes: report.remaining_bytes,
                bytes_sent: report.bytes_sent,
                bytes_received: report.bytes_received,
                more,
            });
            if !more {
                return Ok(total);
            }
        }
    }
}

fn default_options() -> SyncOptions {
    SyncOptions {
        app_version: concat!("ferry-mobile-ffi/", env!("CARGO_PKG_VERSION")).into(),
        ..SyncOptions::default()
    }
}

/// Deletes the database and its WAL, shared-memory and journal files (no old page survives).
fn delete_files(path: &Path) -> Result<(), Error> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut file = path.to_owned().into_os_string();
        file.push(suffix);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The names behind the given actor ids: the directory's, and this device's own.
fn authors<'a>(r: &Replica, actors: impl Iterator<Item = &'a String>) -> Result<Authors, Error> {
    let own_actor = r.actor_id().to_vec();
    let mut wanted: Vec<Vec<u8>> = actors
        .collect::<HashSet<_>>()
        .into_iter()
        .filter_map(|a| hex::decode(a).ok())
        .filter(|a| *a != own_actor)
        .collect();
    wanted.push(own_actor.clone());
    let mut names = r.actor_names(&wanted)?;
    let own = own_author(r, names.remove(&own_actor))?;
    Ok(Authors {
        own_actor: hex::encode(own_actor),
        own,
        names: names
            .into_iter()
            .map(|(actor, n)| (hex::encode(actor), Author::from(n)))
            .collect(),
    })
}

/// This device's own author: the session's user (or, signed out, the directory's entry for
/// the device's actor id), named as the directory last named it (refreshed at each login;
/// the login's answer once the entry has left with the records), and the device's name
/// from the store's identity ([`Replica::device_name`]). `None` on a store that has never
/// been signed in.
fn own_author(r: &Replica, listed: Option<tables::ActorName>) -> Result<Option<Author>, Error> {
    let Some(user) = r
        .session()?
        .map(|s| s.user)
        .or_else(|| listed.as_ref().map(|n| n.user.clone()))
    else {
        return Ok(None);
    };
    let display_name = match listed.as_ref().and_then(|n| n.display_name.clone()) {
        Some(name) => Some(name),
        None => stored_session(r)?.and_then(|s| s.display_name),
    };
    let device_name = r.device_name()?.or_else(|| listed.map(|n| n.device_name));
    Ok(Some(Author {
        display_name: display_name.unwrap_or_else(|| user.clone()),
        user,
        device_name: device_name.unwrap_or_default(),
    }))
}

pub(crate) fn stored_session(r: &Replica) -> Result<Option<StoredSession>, Error> {
    let raw = r.pool().read(|c| tables::get_meta(c, META_FFI_SESSION))?;
    Ok(raw.and_then(|s| serde_json::from_str(&s).ok()))
}

fn session_info(r: &Replica) -> Result<Option<SessionInfo>, Error> {
    let (Some(stored), Some(session)) = (stored_session(r)?, r.session()?) else {
        return Ok(None);
    };
    Ok(Some(SessionInfo {
        server_url: stored.server_url,
        display_name: stored.display_name.unwrap_or_else(|| session.user.clone()),
        username: session.user,
        role: session.role.into(),
        units: session.units,
        expires_at_ms: stored.expires_at_ms,
        device_id: r.device_id().to_string(),
    }))
}
