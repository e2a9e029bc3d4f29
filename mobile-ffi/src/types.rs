//! Plain data that crosses the FFI: records, values, edits, findings, reports.
//!
//! Each type mirrors one in `sync-core` and converts to and from it here, so the exported
//! surface stays stable when the core's internals move.

use std::collections::{BTreeMap, HashMap};

use sync_core::doc;
use sync_core::model::{self, FieldType, Kind, Role, Value};
use sync_core::protocol::RejectCode;
use sync_core::store::tables;

use crate::error::Error;

/// The four kinds of record Ferry keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum RecordKind {
    /// Population data of one person (công dân).
    Citizen,
    /// A household (hộ gia đình): address, head and members.
    Household,
    /// An identity-card (CCCD) application.
    CccdApplication,
    /// A residence procedure: permanent or temporary registration, extension, temporary
    /// absence, stay notice or removal.
    ResidenceDeclaration,
}

impl From<Kind> for RecordKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Citizen => RecordKind::Citizen,
            Kind::Household => RecordKind::Household,
            Kind::CccdApplication => RecordKind::CccdApplication,
            Kind::ResidenceDeclaration => RecordKind::ResidenceDeclaration,
        }
    }
}

impl From<RecordKind> for Kind {
    fn from(k: RecordKind) -> Self {
        match k {
            RecordKind::Citizen => Kind::Citizen,
            RecordKind::Household => Kind::Household,
            RecordKind::CccdApplication => Kind::CccdApplication,
            RecordKind::ResidenceDeclaration => Kind::ResidenceDeclaration,
        }
    }
}

impl RecordKind {
    pub(crate) fn parse(name: &str) -> Result<RecordKind, Error> {
        Kind::parse(name)
            .map(RecordKind::from)
            .ok_or(Error::Argument("unknown record kind in stored data"))
    }
}

/// The value of one field. A field that is not set is simply absent from the map (there is
/// no null). Dates are `Text` in `YYYY-MM-DD` form.
#[derive(Clone, PartialEq, Eq, uniffi::Enum)]
#[uniffi::export(Debug, Display)]
pub enum FieldValue {
    /// Text (stored in Unicode NFC; leading and trailing spaces are trimmed on save).
    Text {
        /// The text.
        value: String,
    },
    /// A whole number.
    Int {
        /// The number.
        value: i64,
    },
    /// A yes/no flag.
    Bool {
        /// The flag.
        value: bool,
    },
    /// A set keyed by stable id (household `members`, keyed by citizen id), or one entry of
    /// such a set (`relationship`, `relationship_note`).
    Entries {
        /// The entries by key.
        entries: HashMap<String, FieldValue>,
    },
}

impl From<Value> for FieldValue {
    fn from(v: Value) -> Self {
        match v {
            Value::Text(value) => FieldValue::Text { value },
            Value::Int(value) => FieldValue::Int { value },
            Value::Bool(value) => FieldValue::Bool { value },
            Value::Map(m) => FieldValue::Entries {
                entries: m.into_iter().map(|(k, v)| (k, v.into())).collect(),
            },
        }
    }
}

impl From<FieldValue> for Value {
    fn from(v: FieldValue) -> Self {
        match v {
            FieldValue::Text { value } => Value::Text(value),
            FieldValue::Int { value } => Value::Int(value),
            FieldValue::Bool { value } => Value::Bool(value),
            FieldValue::Entries { entries } => {
                Value::Map(entries.into_iter().map(|(k, v)| (k, v.into())).collect())
            }
        }
    }
}

pub(crate) fn fields_to_core(fields: HashMap<String, FieldValue>) -> model::Fields {
    fields.into_iter().map(|(k, v)| (k, v.into())).collect()
}

fn fields_from_core(fields: BTreeMap<String, Value>) -> HashMap<String, FieldValue> {
    fields.into_iter().map(|(k, v)| (k, v.into())).collect()
}

/// A record as stored on the device (the merged, winning value of every field).
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct Record {
    /// The record's id (a UUIDv7, lowercase and hyphenated).
    pub id: String,
    /// What kind of record this is.
    pub kind: RecordKind,
    /// The admin-unit code the record belongs to (decides who may see it).
    pub unit: String,
    /// The kind's fields by name (`full_name`, `date_of_birth`, …); see `fieldSpecs`.
    pub fields: HashMap<String, FieldValue>,
}

impl From<model::Record> for Record {
    fn from(r: model::Record) -> Self {
        Record {
            id: r.id.to_string(),
            kind: r.kind.into(),
            unit: r.unit,
            fields: fields_from_core(r.fields),
        }
    }
}

/// A data-quality finding: the record was saved, but something looks wrong (for example
/// the ID number's digits disagree with the date of birth). Show it to the officer as a
/// warning next to the field; the office reviews findings too.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Finding {
    /// A stable code (`id_number_sex_mismatch`, `temporary_stay_too_long`, …) to pick a
    /// translated text.
    pub code: String,
    /// The field it is about.
    pub field: String,
    /// An English explanation without personal data.
    pub message: String,
}

impl From<model::Finding> for Finding {
    fn from(f: model::Finding) -> Self {
        Finding {
            code: f.code,
            field: f.field,
            message: f.message,
        }
    }
}

/// Why a record cannot be saved, for one field.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ValidationIssue {
    /// The field (`unit` for the record's unit; `members.<id>.relationship` inside a set).
    pub field: String,
    /// A stable code (`malformed_date`, `invalid_id_number`, `unknown_field`, …) to pick a
    /// translated text.
    pub code: String,
    /// An English explanation without personal data.
    pub message: String,
}

impl From<model::StructuralError> for ValidationIssue {
    fn from(e: model::StructuralError) -> Self {
        ValidationIssue {
            field: e.field,
            code: e.code.to_owned(),
            message: e.message,
        }
    }
}

/// The result of a create or an update.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct SaveResult {
    /// The record as saved.
    pub record: Record,
    /// Data-quality findings to show as warnings (the record is saved regardless).
    pub findings: Vec<Finding>,
    /// False when the update changed nothing (every value was already as given).
    pub changed: bool,
}

impl From<sync_core::replica::Saved> for SaveResult {
    fn from(s: sync_core::replica::Saved) -> Self {
        SaveResult {
            record: s.record.into(),
            findings: s.findings.into_iter().map(Into::into).collect(),
            changed: s.changed,
        }
    }
}

/// A record with everything the device knows about it.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct RecordDetails {
    /// The record (winning values).
    pub record: Record,
    /// Its data-quality findings.
    pub findings: Vec<Finding>,
    /// Fields that were changed concurrently on different devices.
    pub conflicts: Vec<FieldConflict>,
    /// Local changes of this record not yet acknowledged by the server.
    pub pending_changes: u64,
}

impl RecordDetails {
    pub(crate) fn from_core(v: sync_core::replica::RecordView, authors: &Authors) -> Self {
        RecordDetails {
            record: v.record.into(),
            findings: v.findings.into_iter().map(Into::into).collect(),
            conflicts: v
                .conflicts
                .into_iter()
                .map(|c| authors.conflict(c))
                .collect(),
            pending_changes: v.pending_changes,
        }
    }
}

/// One edit of a record. Several edits passed to `update` become one change.
#[derive(Clone, PartialEq, Eq, uniffi::Enum)]
#[uniffi::export(Debug, Display)]
pub enum Edit {
    /// Set a field. An `Entries` value is merged entry by entry into the existing set.
    Set {
        /// The field name.
        field: String,
        /// The new value.
        value: FieldValue,
    },
    /// Remove a field's value.
    Clear {
        /// The field name.
        field: String,
    },
    /// Move the record to another admin unit.
    SetUnit {
        /// The new admin-unit code.
        unit: String,
    },
    /// Add or replace one entry of a set (for example a household member keyed by citizen
    /// id, with value `Entries { "relationship": Text("child") }`).
    PutEntry {
        /// The set field (for example `members`).
        field: String,
        /// The entry's stable id.
        key: String,
        /// The entry.
        value: FieldValue,
    },
    /// Remove one entry of a set.
    RemoveEntry {
        /// The set field.
        field: String,
        /// The entry's stable id.
        key: String,
    },
}

impl From<Edit> for doc::Edit {
    fn from(e: Edit) -> Self {
        match e {
            Edit::Set { field, value } => doc::Edit::Set {
                field,
                value: value.into(),
            },
            Edit::Clear { field } => doc::Edit::Clear { field },
            Edit::SetUnit { unit } => doc::Edit::SetUnit { unit },
            Edit::PutEntry { field, key, value } => doc::Edit::PutEntry {
                field,
                key,
                value: value.into(),
            },
            Edit::RemoveEntry { field, key } => doc::Edit::RemoveEntry { field, key },
        }
    }
}

/// Who wrote a value: the account and the device behind an actor id, from the directory
/// the server sends with every sync (for this device itself: its session and identity).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Author {
    /// The account's login name (the officer or office user).
    pub user: String,
    /// The name to show ("Nguyễn Thị Lan", NFC): the user's display name, or `user` when
    /// the office set none (or the server is older than display names).
    pub display_name: String,
    /// The device's name as given at login (may be empty).
    pub device_name: String,
}

impl From<sync_core::store::tables::ActorName> for Author {
    fn from(n: sync_core::store::tables::ActorName) -> Self {
        Author {
            display_name: n.display_name.unwrap_or_else(|| n.user.clone()),
            user: n.user,
            device_name: n.device_name,
        }
    }
}

/// One of several values written concurrently to a field.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct ConflictValue {
    /// The value this writer chose.
    pub value: FieldValue,
    /// The writing device's actor id (hex).
    pub actor: String,
    /// Who wrote it; absent when the directory does not know the actor yet (sync again).
    pub author: Option<Author>,
    /// True when this device wrote it (the officer's own value).
    pub own: bool,
    /// When it was written, in milliseconds since the Unix epoch (that device's clock).
    pub time_ms: i64,
    /// The change that wrote it (hex hash).
    pub change: String,
}

/// A field holding several values written concurrently on different devices. The first
/// value is the one the record shows; the office resolves the conflict, and the resolution
/// syncs back to every device.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct FieldConflict {
    /// The field (`date_of_birth`, or `members.<id>.relationship` inside a set).
    pub field: String,
    /// Every concurrent value; the first is the current winner.
    pub values: Vec<ConflictValue>,
}

/// The names behind actor ids, for one answer: the directory's entries and this device.
#[derive(Debug, Clone, Default)]
pub(crate) struct Authors {
    /// This device's actor id (hex).
    pub own_actor: String,
    /// Who this device acts for (the session's user, or none).
    pub own: Option<Author>,
    /// Directory entries by hex actor id.
    pub names: HashMap<String, Author>,
}

impl Authors {
    /// The author of `actor` and whether it is this device.
    pub fn who(&self, actor: &str) -> (Option<Author>, bool) {
        if actor == self.own_actor {
            return (self.own.clone(), true);
        }
        (self.names.get(actor).cloned(), false)
    }

    pub fn conflict(&self, c: doc::FieldConflict) -> FieldConflict {
        FieldConflict {
            field: c.field,
            values: c
                .values
                .into_iter()
                .map(|v| {
                    let (author, own) = self.who(&v.actor);
                    ConflictValue {
                        value: v.value.into(),
                        actor: v.actor,
                        author,
                        own,
                        time_ms: v.time_ms,
                        change: v.change,
                    }
                })
                .collect(),
        }
    }

    pub fn change(&self, c: doc::FieldChange) -> FieldChange {
        let (author, own) = self.who(&c.actor);
        FieldChange {
            field: c.field,
            actor: c.actor,
            author,
            own,
            time_ms: c.time_ms,
            change: c.change,
            from: c.from.map(Into::into),
            to: c.to.map(Into::into),
        }
    }
}

/// One change of one field in a record's history.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct FieldChange {
    /// The field (`unit` for a move between units).
    pub field: String,
    /// The device's actor id (hex) that made the change.
    pub actor: String,
    /// Who made it; absent when the directory does not know the actor yet.
    pub author: Option<Author>,
    /// True when this device made it.
    pub own: bool,
    /// When, in milliseconds since the Unix epoch (that device's clock).
    pub time_ms: i64,
    /// The change (hex hash).
    pub change: String,
    /// The value before, as the author saw it; absent when it was unset.
    pub from: Option<FieldValue>,
    /// The value after; absent when it was cleared.
    pub to: Option<FieldValue>,
}

/// How to look records up. Every given criterion must match; leave the others out.
#[derive(Clone, Default, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct RecordQuery {
    /// Part of a name (or a household's address), with or without diacritics:
    /// `"nguyen van"` finds "Nguyễn Văn An".
    #[uniffi(default)]
    pub name: Option<String>,
    /// An ID number, or its first digits (at least 3).
    #[uniffi(default)]
    pub id_number: Option<String>,
    /// An admin-unit code.
    #[uniffi(default)]
    pub unit: Option<String>,
    /// A status (`active`, `draft`, `submitted`, …).
    #[uniffi(default)]
    pub status: Option<String>,
    /// A record kind.
    #[uniffi(default)]
    pub kind: Option<RecordKind>,
    /// At most this many records (default 100), most recently changed first.
    #[uniffi(default)]
    pub limit: Option<u32>,
    /// Skip this many matching records first (for the next page; default 0).
    #[uniffi(default)]
    pub offset: Option<u32>,
}

/// One page of matching records, with the total so the app can draw "21–40 of 865".
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct RecordPage {
    /// The records of this page, most recently changed first.
    pub records: Vec<Record>,
    /// How many records match in all.
    pub total: u64,
    /// The offset this page starts at.
    pub offset: u32,
    /// The offset of the next page; absent on the last page.
    pub next_offset: Option<u32>,
}

impl From<RecordQuery> for tables::RecordQuery {
    fn from(q: RecordQuery) -> Self {
        tables::RecordQuery {
            name: q.name,
            id_number: q.id_number,
            unit: q.unit,
            status: q.status,
            kind: q.kind.map(|k| Kind::from(k).as_str().to_owned()),
            limit: q.limit,
            offset: q.offset,
        }
    }
}

/// Local edits waiting to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct OutboxStatus {
    /// Records with edits not yet acknowledged by the server (show this number: 40
    /// autosaves of one note are one record).
    pub pending_records: u64,
    /// Changes not yet acknowledged (every save is one).
    pub pending_changes: u64,
    /// When the oldest pending edit was made (ms since the Unix epoch); absent when empty.
    pub oldest_pending_ms: Option<i64>,
    /// How long the oldest pending edit has waited, in milliseconds; absent when empty.
    pub oldest_age_ms: Option<i64>,
}

/// Why the server refused an edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum RejectionCode {
    /// The record's unit is not one of the officer's units.
    OutOfScope,
    /// The officer's role may not make this change (for example accepting an application).
    Forbidden,
    /// The edit changed a field frozen by the record's status.
    FrozenField,
    /// The result would be structurally invalid.
    Invalid,
    /// The change was not made by this device's registered identity.
    WrongActor,
    /// The change could not be read.
    Malformed,
    /// A reason this version of the app does not know; see the message.
    Other,
}

impl RejectionCode {
    fn parse(code: &str) -> RejectionCode {
        use RejectCode as R;
        [
            (R::OutOfScope, RejectionCode::OutOfScope),
            (R::Forbidden, RejectionCode::Forbidden),
            (R::FrozenField, RejectionCode::FrozenField),
            (R::Invalid, RejectionCode::Invalid),
            (R::WrongActor, RejectionCode::WrongActor),
            (R::Malformed, RejectionCode::Malformed),
        ]
        .into_iter()
        .find(|(r, _)| r.as_str() == code)
        .map_or(RejectionCode::Other, |(_, c)| c)
    }
}

/// Edits the server refused. The record was reset to the server's state (or removed, if the
/// officer may not see it); the refused edits are listed here so nothing is silently lost.
/// Show the list to the officer until they dismiss each entry.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct RejectedEdit {
    /// Id of this entry, for `dismissRejected`.
    pub id: i64,
    /// The record.
    pub record_id: String,
    /// Its kind.
    pub kind: RecordKind,
    /// Why, as a code.
    pub code: RejectionCode,
    /// The raw code sent by the server (`out_of_scope`, …).
    pub code_name: String,
    /// The server's explanation (no personal data).
    pub message: String,
    /// What the refused edits did, field by field (to re-enter them if appropriate).
    pub edits: Vec<FieldChange>,
    /// When the refusal arrived (ms since the Unix epoch).
    pub rejected_ms: i64,
}

impl RejectedEdit {
    pub(crate) fn from_core(r: tables::RejectedEdit, authors: &Authors) -> Result<Self, Error> {
        Ok(RejectedEdit {
            id: r.id,
            record_id: r.record.to_string(),
            kind: RecordKind::parse(&r.kind)?,
            code: RejectionCode::parse(&r.code),
            code_name: r.code,
            message: r.message,
            edits: r.edits.into_iter().map(|c| authors.change(c)).collect(),
            rejected_ms: r.rejected_ms,
        })
    }
}

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum UserRole {
    /// Leader: reads reports in the console; the server refuses to sync its devices.
    Leader,
    /// Commune or ward People's Committee staff: collect and clean population data, file
    /// dossiers; decide nothing.
    CommuneStaff,
    /// Ward/commune police officer working in the field; may also record a card handed back.
    Officer,
    /// Police office staff: accept, reject and issue.
    Staff,
    /// Administrator.
    Admin,
}

impl From<Role> for UserRole {
    fn from(r: Role) -> Self {
        match r {
            Role::Leader => UserRole::Leader,
            Role::CommuneStaff => UserRole::CommuneStaff,
            Role::Officer => UserRole::Officer,
            Role::Staff => UserRole::Staff,
            Role::Admin => UserRole::Admin,
        }
    }
}

/// Who the device is logged in as.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SessionInfo {
    /// The server's base URL.
    pub server_url: String,
    /// The user's login name.
    pub username: String,
    /// The name to show for the user ("Nguyễn Thị Lan"): the display name the office set,
    /// or `username` when there is none.
    pub display_name: String,
    /// The user's role.
    pub role: UserRole,
    /// The admin-unit codes the user works in.
    pub units: Vec<String>,
    /// When the session expires, in ms since the Unix epoch (0 if unknown).
    pub expires_at_ms: i64,
    /// This device's id, registered with the server.
    pub device_id: String,
}

/// What one sync round trip did, passed to `SyncProgress.onRoundTrip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct SyncProgressEvent {
    /// 1 for the first round trip of this sync, then 2, 3, …
    pub round_trip: u32,
    /// Local changes sent in this round trip.
    pub pushed: u64,
    /// Local changes the server acknowledged.
    pub acknowledged: u64,
    /// Records whose edits were refused (see `rejected`).
    pub rejected: u64,
    /// Records that received new data in this round trip (each record once).
    pub pulled: u64,
    /// Records that received new data since the sync started (each record once).
    pub pulled_total: u64,
    /// Records dropped because they left the officer's units.
    pub purged: u64,
    /// Records with edits still waiting after this round trip.
    pub pending_records: u64,
    /// Changes still waiting after this round trip.
    pub pending_changes: u64,
    /// The server's estimate of records still to come; absent from older servers. With
    /// `pulledTotal`, this draws a progress bar: `pulledTotal / (pulledTotal + remaining)`.
    pub remaining_records: Option<u64>,
    /// The server's estimate of bytes still to come (uncompressed); absent from older
    /// servers.
    pub remaining_bytes: Option<u64>,
    /// Bytes sent (compressed body).
    pub bytes_sent: u64,
    /// Bytes received (compressed body).
    pub bytes_received: u64,
    /// Whether another round trip follows.
    pub more: bool,
}

/// The outcome of a sync (or of one `applySyncReply`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    /// Round trips made.
    pub round_trips: u32,
    /// Local changes the server acknowledged.
    pub acknowledged: u64,
    /// Records whose edits were refused (see `rejected`).
    pub rejected: u64,
    /// Records that received new data (each record once).
    pub pulled: u64,
    /// Records dropped because they left the officer's units.
    pub purged: u64,
    /// Records with edits still waiting (for example edits made during the sync).
    pub pending_records: u64,
    /// Changes still waiting.
    pub pending_changes: u64,
    /// The server's estimate of records still to come (0 when done; absent from older
    /// servers).
    pub remaining_records: Option<u64>,
    /// The server's estimate of bytes still to come (absent from older servers).
    pub remaining_bytes: Option<u64>,
    /// Bytes sent over the network (compressed bodies).
    pub bytes_sent: u64,
    /// Bytes received over the network (compressed bodies).
    pub bytes_received: u64,
    /// Call again: after `applySyncReply`, prepare and send the next request; after `sync`,
    /// it stopped early (cancelled, or a safety limit of round trips).
    pub more: bool,
    /// The sync stopped early because the cancel token was triggered.
    pub cancelled: bool,
    /// The server revoked this device: local data was destroyed.
    pub wiped: bool,
}

impl SyncReport {
    /// The report of one applied reply; `more` follows the shared "sync again?" rule.
    pub(crate) fn of(r: &sync_core::replica::ApplyReport, sent: u64, received: u64) -> Self {
        SyncReport {
            round_trips: 1,
            acknowledged: r.acknowledged as u64,
            rejected: r.rejected as u64,
            pulled: r.pulled as u64,
            purged: r.purged as u64,
            pending_records: r.outbox.records,
            pending_changes: r.outbox.pending,
            remaining_records: r.remaining.map(|x| x.records),
            remaining_bytes: r.remaining.map(|x| x.bytes),
            bytes_sent: sent,
            bytes_received: received,
            more: r.sync_again(),
            cancelled: false,
            wiped: r.wiped,
        }
    }
}

/// The type of a field, for building forms.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum FieldKind {
    /// Free text.
    Text,
    /// A person's name.
    Name,
    /// A date, `YYYY-MM-DD`.
    Date,
    /// A date that may be known only to the year or month: `YYYY-MM-DD`, `YYYY-MM` or
    /// `YYYY` (dates of birth from old papers).
    PartialDate,
    /// A Vietnam-time date and time to the minute, `YYYY-MM-DDTHH:MM`.
    LocalDateTime,
    /// A non-negative quantity: `FieldValue.Int`, or text with up to two decimals (`"7.5"`).
    Decimal,
    /// One of a fixed list of values.
    Choice {
        /// The allowed values.
        values: Vec<String>,
    },
    /// A 12-digit personal ID number.
    IdNumber,
    /// An old 9- or 12-digit identity-card (CMND) number.
    OldIdNumber,
    /// Another record's id.
    RecordRef,
    /// An admin-unit code.
    Unit,
    /// A whole number (`FieldValue.Int`).
    Int,
    /// A yes/no flag (`FieldValue.Bool`).
    Bool,
    /// A phone number.
    Phone,
    /// An email address.
    Email,
    /// Household members: `Entries` keyed by citizen id, each entry with `relationship` and
    /// optionally `relationship_note`.
    Members,
    /// Earlier ID numbers: `Entries` keyed by the earlier number, each entry with optional
    /// `replaced_on` (date) and `reason`.
    PreviousIdNumbers,
    /// The record's attachments (photos, scans): not edited as a value but through
    /// `attach`, `attachments` and `fetchAttachment` (`mobile-ffi/README.md`, "Attachments").
    Attachments,
}

impl From<FieldType> for FieldKind {
    fn from(t: FieldType) -> Self {
        match t {
            FieldType::Text => FieldKind::Text,
            FieldType::Name => FieldKind::Name,
            FieldType::Date => FieldKind::Date,
            FieldType::PartialDate => FieldKind::PartialDate,
            FieldType::LocalDateTime => FieldKind::LocalDateTime,
            FieldType::Decimal => FieldKind::Decimal,
            FieldType::Enum(v) => FieldKind::Choice {
                values: v.iter().map(|s| (*s).to_owned()).collect(),
            },
            FieldType::IdNumber => FieldKind::IdNumber,
            FieldType::OldIdNumber => FieldKind::OldIdNumber,
            FieldType::Uuid => FieldKind::RecordRef,
            FieldType::Unit => FieldKind::Unit,
            FieldType::Int => FieldKind::Int,
            FieldType::Bool => FieldKind::Bool,
            FieldType::Phone => FieldKind::Phone,
            FieldType::Email => FieldKind::Email,
            FieldType::Members => FieldKind::Members,
            FieldType::PreviousIdNumbers => FieldKind::PreviousIdNumbers,
            FieldType::Attachments => FieldKind::Attachments,
        }
    }
}

/// One field of a record kind, in form order.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FieldSpec {
    /// The field name used in `Record.fields` and `Edit`s.
    pub name: String,
    /// Its type.
    pub kind: FieldKind,
    /// Identity, residence or status field: concurrent edits go to the office for review.
    pub review: bool,
    /// Vietnamese label.
    pub label_vi: String,
    /// English label.
    pub label_en: String,
    /// Most characters a text value may hold (the server holds every value to the same
    /// limit); 0 for fields that are not text. Longer text is refused when saved, with a
    /// `Validation` issue of code `too_long`: use it as the input's maximum length.
    pub max_chars: u32,
}

/// The fields of a record kind, in form order, for building forms.
#[uniffi::export]
pub fn field_specs(kind: RecordKind) -> Vec<FieldSpec> {
    model::fields_of(kind.into())
        .iter()
        .map(|s| FieldSpec {
            name: s.name.to_owned(),
            kind: s.ty.into(),
            review: s.review,
            label_vi: s.label_vi.to_owned(),
            label_en: s.label_en.to_owned(),
            max_chars: u32::try_from(s.max_chars).unwrap_or(u32::MAX),
        })
        .collect()
}

/// The search key of a text: no diacritics, lowercase, single spaces
/// (`"Nguyễn  Thị Ánh"` → `"nguyen thi anh"`). Searching already does this; use it to
/// highlight matches.
#[uniffi::export]
pub fn search_key(text: String) -> String {
    model::search_key(&text)
}

/// Budgets for each sync round trip. The defaults suit a 2G link; lower them on very poor
/// links so every round trip finishes (and is saved) before the link drops. Kept in the
/// store: they survive a restart.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record, serde::Serialize, serde::Deserialize)]
pub struct SyncSettings {
    /// Most bytes of local changes pushed per round trip (a record's changes always travel
    /// together, so at least one record is sent). Default 256 KiB.
    pub max_push_bytes: u64,
    /// Largest reply wanted per round trip, before compression (the server never goes below
    /// 16 KiB). Default 512 KiB.
    pub max_reply_bytes: u64,
    /// The app's version, reported to the office with every sync.
    pub app_version: String,
}

impl From<&sync_core::replica::SyncOptions> for SyncSettings {
    fn from(o: &sync_core::replica::SyncOptions) -> Self {
        SyncSettings {
            max_push_bytes: o.max_push_bytes as u64,
            max_reply_bytes: o.max_reply_bytes,
            app_version: o.app_version.clone(),
        }
    }
}

impl From<SyncSettings> for sync_core::replica::SyncOptions {
    fn from(s: SyncSettings) -> Self {
        sync_core::replica::SyncOptions {
            max_push_bytes: usize::try_from(s.max_push_bytes)
                .unwrap_or(usize::MAX)
                .max(1),
            max_reply_bytes: s.max_reply_bytes,
            app_version: s.app_version,
        }
    }
}

/// Whether records stay readable after `logout()`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, uniffi::Enum, serde::Serialize, serde::Deserialize,
)]
pub enum SignedOutAccess {
    /// The default: after a logout, reading records (`get`, `find`, `search`, `conflicts`,
    /// `history`, `rejected`) throws `SignedOut` until someone logs in again or the PIN is
    /// entered (`openWithPin` or `unlockWithPin`). Saving new edits still works, under the
    /// last user's role rules.
    #[default]
    RequireSignIn,
    /// Records stay readable by whoever opens the store (for single-user phones whose store
    /// key already sits behind the screen lock).
    Readable,
}
