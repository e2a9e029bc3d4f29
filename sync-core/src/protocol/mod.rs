//! Wire types of sync protocol v1 and their encoding.
//!
//! One exchange is one `POST /v1/sync`: the body is a CBOR-encoded [`SyncRequest`], the reply
//! a CBOR-encoded [`SyncReply`]; both may be gzip- or zstd-compressed (see [`Encoding`]).
//! UUIDs travel as 16-byte CBOR byte strings, change hashes as 32-byte byte strings, Automerge
//! changes and snapshots as byte strings. `docs/protocol.md` is the normative description.
//!
//! Decoding never panics: garbage, truncated or wrongly-typed input is a [`ProtocolError`].

mod codec;

/// The normative protocol text (`docs/protocol.md`), included so that its Rust example runs
/// as a doctest.
#[doc = include_str!("../../../docs/protocol.md")]
pub mod spec {}

pub use codec::{
    Encoding, ProtocolError, compress, decode_reply, decode_request, decompress, encode_reply,
    encode_request,
};

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use std::collections::BTreeMap;
use uuid::Uuid;

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Default reply budget: about 40 s of a 100 kbit/s 2G link before compression, small enough
/// that a dropping link still makes durable progress every exchange.
pub const DEFAULT_MAX_BYTES: u64 = 512 * 1024;

/// The smallest reply budget a server honours; smaller requests are raised to it.
pub const MIN_MAX_BYTES: u64 = 16 * 1024;

/// Reads an optional list where `null` means the same as absent: empty (protocol §4.2).
fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Reads an optional value where `null` means the same as absent: its default (0, false,
/// empty; protocol §4.2).
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A 32-byte Automerge change hash.
pub type Hash = ByteBuf;

/// What a device sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// Protocol version; always [`PROTOCOL_VERSION`].
    pub v: u32,
    /// The device's id, as registered at login.
    pub device_id: Uuid,
    /// Scope (admin-unit code) → last change-feed sequence number applied from that scope.
    /// A scope the device has never pulled is absent (equivalent to 0).
    pub cursors: BTreeMap<String, u64>,
    /// Local changes not yet acknowledged, grouped by record.
    pub push: Vec<PushRecord>,
    /// The largest encoded reply (CBOR, before compression) the device wants.
    pub max_bytes: u64,
    /// Health of the device, for the office to see.
    pub status: DeviceStatus,
    /// Records the device cannot apply changes to (dependencies missing locally): the server
    /// answers each with a full snapshot. Optional: absent and `null` both mean none
    /// (§4.2).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub resync: Vec<Uuid>,
    /// Values of sensitive fields the device's users entered (§12): they never travel in a
    /// record's document. Optional: absent and `null` both mean none; omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub sensitive: Vec<SensitiveWrite>,
}

/// One value of a sensitive field (`docs/schema.md`, class *sensitive*) written on a device:
/// sent once, outside the record's Automerge document, so that no device ever holds it in a
/// document or a history (`docs/protocol.md` §12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensitiveWrite {
    /// The write's own id (a UUIDv7 made on the device): a write re-sent after a lost reply
    /// is acknowledged again and applied once.
    pub id: Uuid,
    /// The record the field belongs to.
    pub record: Uuid,
    /// The field's name (`religion`, …).
    pub field: String,
    /// The new value; absent or `null` clears the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<crate::model::Value>,
    /// When it was entered on the device (ms since the Unix epoch).
    pub at_ms: i64,
}

/// A sensitive write the server refused (the device drops it and lists it for its officer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensitiveRejection {
    /// The write's id.
    pub id: Uuid,
    /// The record it was for.
    pub record: Uuid,
    /// The field.
    pub field: String,
    /// Why: `out_of_scope` (no such record in the user's units), `invalid` (not a sensitive
    /// field of the record's kind, or a value the field does not take), `forbidden`.
    pub code: RejectCode,
    /// A human-readable reason (no personal data).
    pub message: String,
}

/// A record's pending changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRecord {
    /// The record's id.
    pub record: Uuid,
    /// The record's kind (`citizen`, …), for routing before the changes are decoded.
    pub kind: String,
    /// The record's unit as the device sees it.
    pub unit: String,
    /// Automerge changes, each the bytes of one change, in causal order.
    pub changes: Vec<ByteBuf>,
}

/// Device health reported on every sync.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceStatus {
    /// Changes waiting in the outbox (including those in this request).
    pub outbox_len: u64,
    /// When the oldest pending edit was made (ms since the Unix epoch), if any.
    pub oldest_pending_ms: Option<i64>,
    /// The app's version string.
    pub app_version: String,
    /// Edits the server refused that the device still lists for its officer (not yet
    /// dismissed). Absent (0) from older apps; omitted when 0.
    #[serde(
        default,
        skip_serializing_if = "is_zero",
        deserialize_with = "null_as_default"
    )]
    pub rejected_held: u64,
    /// Attachments attached on the device whose upload the server refused for good
    /// (`too_large`, `wrong_type`, `hash_mismatch`), held on the device with the error.
    /// Absent (0) from older apps; omitted when 0.
    #[serde(
        default,
        skip_serializing_if = "is_zero",
        deserialize_with = "null_as_default"
    )]
    pub attachments_failed: u64,
    /// Attachments attached on the device whose upload is not done yet (queued, under way
    /// or backing off). Absent (0) from older apps; omitted when 0.
    #[serde(
        default,
        skip_serializing_if = "is_zero",
        deserialize_with = "null_as_default"
    )]
    pub attachments_pending: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What the server answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncReply {
    /// Protocol version; always [`PROTOCOL_VERSION`].
    pub v: u32,
    /// Hashes of pushed changes that are now durably stored (or were already).
    pub accepted: Vec<Hash>,
    /// Pushed records that were refused, with the reason.
    pub rejected: Vec<Rejection>,
    /// Records with something new for the device.
    pub pull: Vec<PullEntry>,
    /// New cursors; scopes not listed keep their value.
    pub cursors: BTreeMap<String, u64>,
    /// More is waiting: sync again.
    pub more: bool,
    /// Data the device must drop.
    pub purge: Vec<Purge>,
    /// The device is revoked: destroy all local data.
    pub wipe: bool,
    /// The server's clock, ms since the Unix epoch.
    pub server_time_ms: i64,
    /// The caller's units (scopes) as of this exchange, so a device learns of a reassignment
    /// without logging in again. Added after v1 shipped: absent from older servers (and
    /// then `None`), ignored by older clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<Vec<String>>,
    /// The server's estimate of what is still waiting for the device after this reply.
    /// Absent from older servers; absent (or zero) when `more` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<Remaining>,
    /// Who wrote the records in `pull`: the account (with its display name) and device
    /// behind each actor id that authored a change of those records. Absent from older
    /// servers.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub actors: Vec<ActorInfo>,
    /// Ids of the request's sensitive writes that are now durably stored (or were already).
    /// Omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub sensitive_accepted: Vec<Uuid>,
    /// The request's sensitive writes that were refused. Omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub sensitive_rejected: Vec<SensitiveRejection>,
}

/// What a pull still has to deliver after one reply (an estimate: records whose changes
/// came from the requesting device, or that a snapshot will cover, are counted as logged).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remaining {
    /// Records with changes after the new cursors, in the caller's scopes.
    pub records: u64,
    /// Bytes of those changes (before compression).
    pub bytes: u64,
}

/// One entry of the actor directory: who an Automerge actor id stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorInfo {
    /// The actor id (16 bytes).
    pub actor: ByteBuf,
    /// The account's name (the officer's or office user's login name).
    pub user: String,
    /// The name to show for the account ("Nguyễn Thị Lan", NFC): the user's display name,
    /// or the account name when the office set none. Added after v1 shipped: absent from
    /// older servers (then `None`: show `user`), ignored by older clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The device's name, as given at login (may be empty).
    pub device_name: String,
}

impl SyncReply {
    /// An empty reply at `server_time_ms`.
    pub fn empty(server_time_ms: i64) -> SyncReply {
        SyncReply {
            v: PROTOCOL_VERSION,
            accepted: Vec::new(),
            rejected: Vec::new(),
            pull: Vec::new(),
            cursors: BTreeMap::new(),
            more: false,
            purge: Vec::new(),
            wipe: false,
            server_time_ms,
            units: None,
            remaining: None,
            actors: Vec::new(),
            sensitive_accepted: Vec::new(),
            sensitive_rejected: Vec::new(),
        }
    }
}

/// Why a record's pushed changes were refused. Every change of that record in the request is
/// refused together: the record is reset to the server's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// The record's unit (before or after the change) is not one of the user's units.
    OutOfScope,
    /// The user's role may not make this change (e.g. an officer accepting an application).
    Forbidden,
    /// The change edits a field frozen by the record's status.
    FrozenField,
    /// The resulting record is structurally invalid (wrong type, unknown field, bad id …).
    Invalid,
    /// A change depends on changes the server does not have: re-send the record's history.
    MissingDeps,
    /// A change was not authored by the actor id registered to this device.
    WrongActor,
    /// The bytes are not an Automerge change, or the kind/id do not match the document.
    Malformed,
    /// A change belongs to a lineage of the record that an admin replaced (redaction,
    /// `docs/protocol.md` §13): carry the edits over onto `reset` and push again.
    LineageReplaced,
}

impl RejectCode {
    /// The wire name (`out_of_scope`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            RejectCode::OutOfScope => "out_of_scope",
            RejectCode::Forbidden => "forbidden",
            RejectCode::FrozenField => "frozen_field",
            RejectCode::Invalid => "invalid",
            RejectCode::MissingDeps => "missing_deps",
            RejectCode::WrongActor => "wrong_actor",
            RejectCode::Malformed => "malformed",
            RejectCode::LineageReplaced => "lineage_replaced",
        }
    }
}

/// A refused record push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// The record.
    pub record: Uuid,
    /// Hashes of the refused changes (all of this record's changes in the request).
    pub changes: Vec<Hash>,
    /// Machine-readable reason.
    pub code: RejectCode,
    /// Human-readable reason, free of personal data.
    pub message: String,
    /// The server's state of the record to reset to (a saved Automerge document), or `None`
    /// when the server has no such record or the device may not see it: drop it locally.
    /// Absent for `missing_deps`, where the device keeps its state and re-sends history.
    pub reset: Option<ByteBuf>,
    /// For `lineage_replaced`: the values removed from the record (§13), so that carried-over
    /// edits do not write them back. Omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub redacted: Vec<Redacted>,
}

/// A value an admin removed from a record's history (`docs/protocol.md` §13), as a salted
/// hash: a device recognises it without being sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redacted {
    /// The field that held the value.
    pub field: String,
    /// 16 random bytes.
    pub salt: ByteBuf,
    /// SHA-256 of `salt ‖ value bytes` ([`redaction_hash`]).
    pub hash: ByteBuf,
}

/// The bytes of a field value that [`Redacted::hash`] covers: text as its UTF-8, an integer
/// as its decimal digits (`-` first when negative), a flag as `true` / `false`. A map (a set)
/// has none: only scalar fields are redacted.
pub fn redaction_bytes(value: &crate::model::Value) -> Option<Vec<u8>> {
    use crate::model::Value;
    match value {
        Value::Text(s) => Some(s.as_bytes().to_vec()),
        Value::Int(i) => Some(i.to_string().into_bytes()),
        Value::Bool(b) => Some(b.to_string().into_bytes()),
        Value::Map(_) => None,
    }
}

/// SHA-256 of `salt ‖ redaction_bytes(value)`; `None` for a map.
pub fn redaction_hash(salt: &[u8], value: &crate::model::Value) -> Option<[u8; 32]> {
    use sha2::{Digest, Sha256};
    let bytes = redaction_bytes(value)?;
    let mut h = Sha256::new();
    h.update(salt);
    h.update(&bytes);
    Some(h.finalize().into())
}

impl Redacted {
    /// Whether `value`, written to `field`, is this removed value.
    pub fn matches(&self, field: &str, value: &crate::model::Value) -> bool {
        self.field == field
            && redaction_hash(&self.salt, value).is_some_and(|h| h[..] == self.hash[..])
    }
}

/// Something new about one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullEntry {
    /// The record.
    pub record: Uuid,
    /// Its kind.
    pub kind: String,
    /// Its current unit.
    pub unit: String,
    /// Automerge changes to apply, in causal order (empty when `snapshot` is set).
    pub changes: Vec<ByteBuf>,
    /// A whole saved document to merge, sent when the device is new to the record or when it
    /// is smaller than the changes.
    pub snapshot: Option<ByteBuf>,
    /// The record's lineage (`docs/protocol.md` §13): 0 until an admin first redacts a value
    /// of it, then one more per redaction. Absent = 0; omitted when 0.
    #[serde(
        default,
        skip_serializing_if = "is_zero",
        deserialize_with = "null_as_default"
    )]
    pub lineage: u64,
    /// The snapshot is of a newer lineage than the device's copy may be: the device MUST
    /// replace its copy (carrying its own unacknowledged edits over, §13), not merge it.
    /// Omitted when false.
    #[serde(
        default,
        skip_serializing_if = "std::ops::Not::not",
        deserialize_with = "null_as_default"
    )]
    pub replace: bool,
    /// With `replace`: the removed values, as salted hashes. Omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub redacted: Vec<Redacted>,
}

/// Data the device must drop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purge {
    /// One record left the device's scope.
    Record(Uuid),
    /// The user lost this unit: drop every record in it and its cursor.
    Unit(String),
}
