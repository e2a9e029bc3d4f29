//! A device's replica: local records, the outbox, cursors, and the sans-IO sync loop.
//!
//! The replica never does I/O beyond its SQLite file. Syncing is two calls around whatever
//! transport the app has:
//!
//! 1. [`Replica::prepare_sync`] turns pending changes and cursors into a [`SyncRequest`];
//! 2. [`Replica::apply_reply`] applies the [`SyncReply`] in one transaction: acknowledged
//!    changes leave the outbox, pulled changes and snapshots merge, rejected records reset to
//!    the server's state (the refused edits are filed with their reason), purges and wipes
//!    take effect, and only then do cursors advance.
//!
//! A reply that never arrives changes nothing, so the app simply syncs again.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use rusqlite::Transaction;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use uuid::Uuid;

use crate::doc::{self, Author, DocError, Edit, FieldChange, FieldConflict, RecordDoc};
use crate::model::{
    self, Fields, Finding, Kind, Record, Role, StructuralError, ValidationContext, Value,
};
use crate::protocol::{
    DeviceStatus, PROTOCOL_VERSION, Purge, PushRecord, RejectCode, Remaining, SyncReply,
    SyncRequest,
};
use crate::store::tables::{self, OutboxStatus, RecordQuery, RecordRow, RejectedEdit};
use crate::store::{self, DEFAULT_READERS, Pool, StoreError, schema};

/// What can go wrong on a replica.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A document could not be read or changed.
    #[error(transparent)]
    Doc(#[from] DocError),
    /// The write was refused: the record would be structurally invalid.
    #[error("invalid record: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<StructuralError>),
    /// The user's role may not make this change.
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// The user's role may not move (or create) a record of this kind to this status: for
    /// example commune staff accepting a registration, which only the police decide.
    #[error("not allowed: a {} may not {}", role.as_str(), describe_move(*kind, from.as_deref(), to))]
    StatusNotAllowed {
        /// The user's role.
        role: Role,
        /// The record's kind.
        kind: Kind,
        /// The status before (`None` when creating the record).
        from: Option<String>,
        /// The status asked for.
        to: String,
    },
    /// No record with this id on this device.
    #[error("no such record")]
    NotFound,
    /// The device was wiped by the server; the store is empty.
    #[error("this device was revoked and its data wiped")]
    Wiped,
}

fn describe_move(kind: Kind, from: Option<&str>, to: &str) -> String {
    match from {
        None => format!("create a {} in status `{to}`", kind.as_str()),
        Some(from) => format!("move a {} from `{from}` to `{to}`", kind.as_str()),
    }
}

/// Who the device acts for, as learnt at login. Used to refuse locally what the server
/// would refuse anyway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The user's name.
    pub user: String,
    /// The user's role.
    pub role: Role,
    /// The admin units the user works in.
    pub units: Vec<String>,
}

/// The result of a local write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The record as saved.
    pub record: Record,
    /// Data-quality findings to show the officer (the record is saved regardless).
    pub findings: Vec<Finding>,
    /// Whether the write created a change (false when it changed nothing).
    pub changed: bool,
}

/// A record with what the device knows about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordView {
    /// The record (winning values).
    pub record: Record,
    /// Its data-quality findings.
    pub findings: Vec<Finding>,
    /// Fields holding concurrent values.
    pub conflicts: Vec<FieldConflict>,
    /// Changes of this record not yet acknowledged by the server.
    pub pending_changes: u64,
}

/// Budgets for one exchange.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Most bytes of changes to push in one request (at least one record is always sent).
    pub max_push_bytes: usize,
    /// Largest reply wanted.
    pub max_reply_bytes: u64,
    /// The app's version, reported to the server.
    pub app_version: String,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            max_push_bytes: 256 * 1024,
            max_reply_bytes: crate::protocol::DEFAULT_MAX_BYTES,
            app_version: concat!("sync-core/", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

/// What the client does after applying a reply: the one "sync again?" rule
/// (`docs/protocol.md` §7), so that every client loop agrees.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Next {
    /// Send another request now: the server has more (`more`), it asked for a record's
    /// whole history (`missing_deps`), or the push budget left changes in the outbox while
    /// this exchange settled some (so the link works and the rest will go too), or a
    /// record's copy was replaced by a newer lineage and carried-over edits wait (§13).
    Again,
    /// Nothing is waiting that another exchange right now would move. Changes still in the
    /// outbox (edits made during the exchange, or nothing was settled) go next time.
    #[default]
    Done,
    /// The server ordered a wipe: stop; the local data is gone.
    Wiped,
}

/// What applying a reply did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Local changes the server acknowledged (sensitive values included).
    pub acknowledged: usize,
    /// Sensitive values (§12) that left the device's queue: acknowledged or refused.
    pub sensitive_settled: usize,
    /// Records whose push was refused (and reset).
    pub rejected: usize,
    /// Distinct records that received changes or snapshots.
    pub pulled: usize,
    /// Their ids (so a loop can count records, not entries, across exchanges).
    pub pulled_ids: Vec<Uuid>,
    /// Records dropped because they left the device's scope.
    pub purged: usize,
    /// The server has more (its `more` flag).
    pub more: bool,
    /// The device was wiped.
    pub wiped: bool,
    /// The server's estimate of what is still to come (absent from older servers).
    pub remaining: Option<Remaining>,
    /// The outbox after this reply.
    pub outbox: OutboxStatus,
    /// A record's copy was replaced by a newer lineage (redaction, §13).
    pub replaced: bool,
    /// Whether to sync again: the shared rule.
    pub next: Next,
}

impl ApplyReport {
    /// Whether the loop should send another request now (`next == Again`).
    pub fn sync_again(&self) -> bool {
        self.next == Next::Again
    }
}

/// The "sync again?" rule of `docs/protocol.md` §7. `replaced`: a record's copy was replaced
/// by a newer lineage (§13), which may have queued carried-over edits that the server has
/// not seen yet.
pub fn next_step(
    wiped: bool,
    more: bool,
    history_requested: bool,
    settled: usize,
    replaced: bool,
    pending_after: u64,
) -> Next {
    if wiped {
        Next::Wiped
    } else if more || history_requested || ((settled > 0 || replaced) && pending_after > 0) {
        Next::Again
    } else {
        Next::Done
    }
}

const META_DEVICE: &str = "device_id";
const META_ACTOR: &str = "actor_id";
const META_SESSION: &str = "session";
const META_WIPED: &str = "wiped";
/// The role of the last session, kept after logout so the signed-out store still refuses
/// what that role may not do.
const META_LAST_ROLE: &str = "last_role";
/// The name the server registered for this device at the last login (its identity, with
/// the device and actor ids; gone with a wipe, set again by the next login).
const META_DEVICE_NAME: &str = "device_name";

/// A device's replica over its SQLite store.
#[derive(Debug)]
pub struct Replica {
    pool: Pool,
    device_id: Uuid,
    actor: [u8; 16],
}

impl Replica {
    /// Opens (or creates) the replica store at `path`. A new store gets a fresh device id and
    /// Automerge actor id. With `key` (32 bytes) the store is encrypted with SQLCipher.
    pub fn open(path: &Path, key: Option<&[u8]>) -> Result<Replica, ReplicaError> {
        Replica::open_as(path, key, None)
    }

    /// Opens (or creates) a store that must carry the given identity: used to recreate a
    /// store after a wipe so that the server still recognises (and refuses) the device. A
    /// store that already has another identity keeps its own.
    pub fn open_as(
        path: &Path,
        key: Option<&[u8]>,
        identity: Option<(Uuid, [u8; 16])>,
    ) -> Result<Replica, ReplicaError> {
        let pool = Pool::open(path, key, schema::REPLICA_MIGRATIONS, DEFAULT_READERS)?;
        let (device_id, actor) =
            pool.write(|tx| -> Result<_, ReplicaError> { load_identity(tx, identity) })?;
        Ok(Replica {
            pool,
            device_id,
            actor,
        })
    }

    /// This device's id, registered with the server at login.
    pub fn device_id(&self) -> Uuid {
        self.device_id
    }

    /// This device's Automerge actor id (16 bytes), registered with the server at login.
    pub fn actor_id(&self) -> [u8; 16] {
        self.actor
    }

    /// The underlying store, for callers that need raw access (tests, diagnostics).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Remembers who the device acts for (after login).
    pub fn set_session(&self, session: &Session) -> Result<(), ReplicaError> {
        let json =
            serde_json::to_string(session).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.pool.write(|tx| -> Result<_, ReplicaError> {
            tables::set_meta(tx, META_SESSION, &json)?;
            tables::set_meta(tx, META_LAST_ROLE, session.role.as_str())?;
            tables::set_meta(tx, META_WIPED, "0")?;
            Ok(())
        })
    }

    /// The role whose rules local writes are checked against: the session's, or after a
    /// logout the last session's. `None` on a store that was never logged in.
    pub fn known_role(&self) -> Result<Option<Role>, ReplicaError> {
        if let Some(session) = self.session()? {
            return Ok(Some(session.role));
        }
        let last = self.pool.read(|c| tables::get_meta(c, META_LAST_ROLE))?;
        Ok(last.as_deref().and_then(Role::parse))
    }

    /// Forgets the session (after logout). Records and pending edits stay, and so does the
    /// session's role, for [`Self::known_role`].
    pub fn clear_session(&self) -> Result<(), ReplicaError> {
        self.pool.write(|tx| -> Result<_, ReplicaError> {
            tx.execute("DELETE FROM meta WHERE key = ?1", [META_SESSION])
                .map_err(StoreError::from)?;
            Ok(())
        })
    }

    /// Remembers who this device is, as the server answered a login: the device's name
    /// (kept as part of its identity, [`Self::device_name`]) and the directory entry of its
    /// own actor id, refreshed so that the device's own changes are named as the server
    /// names them now (the entry leaves with the last record naming the actor, like any).
    pub fn note_own_name(&self, name: &tables::ActorName) -> Result<(), ReplicaError> {
        self.pool.write(|tx| -> Result<_, ReplicaError> {
            tables::set_meta(tx, META_DEVICE_NAME, &name.device_name)?;
            tables::put_actor(tx, &self.actor, name)?;
            Ok(())
        })
    }

    /// This device's name as the server registered it at the last login; `None` before a
    /// login (and after a wipe).
    pub fn device_name(&self) -> Result<Option<String>, ReplicaError> {
        Ok(self.pool.read(|c| tables::get_meta(c, META_DEVICE_NAME))?)
    }

    /// The session, if logged in.
    pub fn session(&self) -> Result<Option<Session>, ReplicaError> {
        let raw = self.pool.read(|c| tables::get_meta(c, META_SESSION))?;
        Ok(raw.and_then(|s| serde_json::from_str(&s).ok()))
    }

    /// Whether the server ordered this device wiped.
    pub fn is_wiped(&self) -> Result<bool, ReplicaError> {
        Ok(self
            .pool
            .read(|c| tables::get_meta(c, META_WIPED))?
            .as_deref()
            == Some("1"))
    }

    fn author(&self, now_ms: i64) -> Author {
        Author::new(&self.actor, now_ms)
    }

    fn check_not_wiped(&self) -> Result<(), ReplicaError> {
        if self.is_wiped()? {
            return Err(ReplicaError::Wiped);
        }
        Ok(())
    }

    /// Creates a record. Structural errors refuse it; findings are returned and stored.
    pub fn create(
        &self,
        kind: Kind,
        unit: &str,
        fields: Fields,
        now_ms: i64,
    ) -> Result<Saved, ReplicaError> {
        self.check_not_wiped()?;
        let mut record = Record {
            id: Uuid::now_v7(),
            kind,
            unit: unit.to_owned(),
            fields,
        };
        with_default_status(&mut record);
        model::normalise(&mut record);
        let mut findings = check(&record, now_ms)?;
        findings.extend(self.related_findings(&record, now_ms));
        if let Some(role) = self.known_role()? {
            let status = record.status().unwrap_or("");
            if !model::transition_allowed(kind, None, status, role) {
                return Err(ReplicaError::StatusNotAllowed {
                    role,
                    kind,
                    from: None,
                    to: status.to_owned(),
                });
            }
        }
        // Checked whole (a biometrics rule reads a sensitive flag), stored without its
        // sensitive values: those are queued to be sent apart (protocol §12).
        let mut stored = record.clone();
        let sensitive = model::sensitivity::split_off(kind, &mut stored.fields);
        let (doc, mut change) = RecordDoc::create(&stored, &self.author(now_ms))?;
        let bytes = doc::encode_change(&mut change);
        let residence = self.residence_change(None, &stored, now_ms)?;
        self.pool.write(|tx| -> Result<_, ReplicaError> {
            tables::put_record(tx, &row_for(&doc, &stored, &findings, now_ms))?;
            tables::enqueue(tx, record.id, &change.hash().0, &bytes, now_ms)?;
            queue_sensitive(tx, record.id, &sensitive, now_ms)?;
            write_residence_change(tx, &residence, now_ms)
        })?;
        Ok(Saved {
            record,
            findings,
            changed: true,
        })
    }

    /// Creates many records in one transaction (a paper backlog, a bulk import): the fast
    /// path, one fsync for the whole batch. Every record is validated first; one structural
    /// error refuses the whole batch and nothing is written. Records keep the ids they carry.
    pub fn import(&self, records: Vec<Record>, now_ms: i64) -> Result<Vec<Saved>, ReplicaError> {
        self.check_not_wiped()?;
        let author = self.author(now_ms);
        let mut prepared = Vec::with_capacity(records.len());
        for mut record in records {
            with_default_status(&mut record);
            model::normalise(&mut record);
            let findings = check(&record, now_ms)?;
            let mut stored = record.clone();
            let sensitive = model::sensitivity::split_off(record.kind, &mut stored.fields);
            let (doc, mut change) = RecordDoc::create(&stored, &author)?;
            let bytes = doc::encode_change(&mut change);
            prepared.push((
                doc,
                change.hash(),
                bytes,
                record,
                findings,
                stored,
                sensitive,
            ));
        }
        self.pool.write(|tx| -> Result<_, ReplicaError> {
            for (doc, hash, bytes, record, findings, stored, sensitive) in &prepared {
                tables::put_record(tx, &row_for(doc, stored, findings, now_ms))?;
                tables::enqueue(tx, record.id, &hash.0, bytes, now_ms)?;
                queue_sensitive(tx, record.id, sensitive, now_ms)?;
            }
            Ok(())
        })?;
        Ok(prepared
            .into_iter()
            .map(|(_, _, _, record, findings, _, _)| Saved {
                record,
                findings,
                changed: true,
            })
            .collect())
    }

    /// Applies edits to a record as one change. Structural errors, status moves the user's
    /// role may not make, and edits of frozen fields are refused and change nothing.
    pub fn update(&self, id: Uuid, edits: &[Edit], now_ms: i64) -> Result<Saved, ReplicaError> {
        self.check_not_wiped()?;
        let row = self
            .pool
            .read(|c| tables::get_record(c, id))?
            .ok_or(ReplicaError::NotFound)?;
        let mut doc = RecordDoc::load(&row.doc)?;
        let before = doc.read()?;
        let edits: Vec<Edit> = edits
            .iter()
            .map(|e| normalise_edit(before.kind, e))
            .collect();
        // Edits of sensitive fields go to the sensitive queue, not into the document
        // (protocol §12); the checks see the record with them.
        let (sensitive, edits): (Vec<Edit>, Vec<Edit>) = edits
            .into_iter()
            .partition(|e| edit_is_sensitive(before.kind, e));
        let mut trial = doc.fork();
        let change = trial.edit(&edits, &self.author(now_ms))?;
        let after = trial.read()?;
        let mut checked = after.clone();
        self.overlay_pending(&mut checked)?;
        let sensitive = sensitive_values(&sensitive);
        for (field, value) in &sensitive {
            match value {
                Some(v) => checked.fields.insert(field.clone(), v.clone()),
                None => checked.fields.remove(field),
            };
        }
        let mut findings = check(&checked, now_ms)?;
        findings.extend(self.related_findings(&after, now_ms));
        if let Some(role) = self.known_role()? {
            check_rules(&before, &after, role)?;
        }
        if change.is_none() && sensitive.is_empty() {
            return Ok(Saved {
                record: checked,
                findings,
                changed: false,
            });
        }
        doc = trial;
        let change = change.map(|mut c| (c.hash().0, doc::encode_change(&mut c)));
        let residence = match change {
            Some(_) => self.residence_change(Some(&before), &after, now_ms)?,
            None => Vec::new(),
        };
        self.pool.write(|tx| -> Result<_, ReplicaError> {
            tables::put_record(tx, &row_for(&doc, &after, &findings, now_ms))?;
            if let Some((hash, bytes)) = &change {
                tables::enqueue(tx, id, hash, bytes, now_ms)?;
            }
            for (field, value) in &sensitive {
                store::sensitive::queue(tx, id, field, value.as_ref(), now_ms)?;
            }
            write_residence_change(tx, &residence, now_ms)
        })?;
        Ok(Saved {
            record: checked,
            findings,
            changed: true,
        })
    }

    /// The cross-record findings of `record` that this device can judge from the records it
    /// holds ([`model::rules::related_findings`]).
    fn related_findings(&self, record: &Record, now_ms: i64) -> Vec<Finding> {
        crate::time::local_day(now_ms)
            .map(|today| model::rules::related_findings(record, &LocalRecords(&self.pool), today))
            .unwrap_or_default()
    }

    /// When `after` is a residence declaration that has just been accepted (it was not
    /// before), the changes to the residence fields of its citizen and of the members moving
    /// with them ([`model::rules::residence_updates`]) that are on this device.
    fn residence_change(
        &self,
        before: Option<&Record>,
        after: &Record,
        now_ms: i64,
    ) -> Result<Vec<ResidenceChange>, ReplicaError> {
        if before.and_then(Record::status) == Some("accepted") {
            return Ok(Vec::new());
        }
        let local = LocalRecords(&self.pool);
        let mut out = Vec::new();
        for (citizen, edits) in model::rules::residence_updates(after, &local) {
            out.extend(self.citizen_residence(citizen, edits, now_ms)?);
        }
        Ok(out)
    }

    /// The change that gives `citizen` (when on this device) the residence `edits`.
    fn citizen_residence(
        &self,
        citizen: Uuid,
        edits: model::rules::ResidenceEdits,
        now_ms: i64,
    ) -> Result<Option<ResidenceChange>, ReplicaError> {
        let Some(row) = self.pool.read(|c| tables::get_record(c, citizen))? else {
            return Ok(None);
        };
        let mut doc = RecordDoc::load(&row.doc)?;
        let edits = model::rules::as_edits(edits);
        let Some(mut change) = doc.edit(&edits, &self.author(now_ms))? else {
            return Ok(None);
        };
        let record = doc.read()?;
        let mut findings = check(&record, now_ms)?;
        findings.extend(self.related_findings(&record, now_ms));
        let bytes = doc::encode_change(&mut change);
        Ok(Some(ResidenceChange {
            row: row_for(&doc, &record, &findings, now_ms),
            hash: change.hash().0.to_vec(),
            bytes,
        }))
    }

    /// Shows the sensitive values still waiting to be sent in `record` (the officer sees
    /// what they entered until the server has it; afterwards the device holds none). Kinds
    /// without sensitive fields are left as they are, unread.
    fn overlay_pending(&self, record: &mut Record) -> Result<(), ReplicaError> {
        if model::sensitivity::sensitive_fields(record.kind)
            .next()
            .is_none()
        {
            return Ok(());
        }
        for w in self
            .pool
            .read(|c| store::sensitive::pending_for(c, record.id))?
        {
            match w.value {
                Some(v) => record.fields.insert(w.field, v),
                None => record.fields.remove(&w.field),
            };
        }
        Ok(())
    }

    /// One record with its findings, conflicts and pending change count.
    pub fn get(&self, id: Uuid) -> Result<Option<RecordView>, ReplicaError> {
        let Some(row) = self.pool.read(|c| tables::get_record(c, id))? else {
            return Ok(None);
        };
        let doc = RecordDoc::load(&row.doc)?;
        let pending = self.pool.read(|c| -> Result<u64, StoreError> {
            Ok(c.query_row(
                "SELECT count(*) FROM outbox WHERE record = ?1",
                [id.to_string()],
                |r| r.get::<_, i64>(0),
            )? as u64)
        })?;
        let mut record = doc.read()?;
        self.overlay_pending(&mut record)?;
        Ok(Some(RecordView {
            record,
            findings: row.findings,
            conflicts: doc.conflicts(),
            pending_changes: pending,
        }))
    }

    /// The record's document, for callers that need Automerge itself.
    pub fn document(&self, id: Uuid) -> Result<Option<RecordDoc>, ReplicaError> {
        match self.pool.read(|c| tables::get_record(c, id))? {
            Some(row) => Ok(Some(RecordDoc::load(&row.doc)?)),
            None => Ok(None),
        }
    }

    /// Records matching a query (name with or without diacritics, ID number, unit, status,
    /// kind).
    pub fn find(&self, query: &RecordQuery) -> Result<Vec<Record>, ReplicaError> {
        let rows = self.pool.read(|c| tables::find_records(c, query))?;
        rows.iter()
            .map(|row| Ok(RecordDoc::load(&row.doc)?.read()?))
            .collect()
    }

    /// Every record id with its heads, for comparing replicas.
    pub fn all_heads(&self) -> Result<BTreeMap<Uuid, Vec<u8>>, ReplicaError> {
        Ok(self.pool.read(|c| -> Result<_, StoreError> {
            let mut stmt = c.prepare("SELECT id, heads FROM records")?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
                })?
                .filter_map(|r| r.ok())
                .filter_map(|(id, h)| Uuid::parse_str(&id).ok().map(|id| (id, h)))
                .collect();
            Ok(rows)
        })?)
    }

    /// Number of records on the device.
    pub fn count(&self) -> Result<u64, ReplicaError> {
        Ok(self.pool.read(tables::count_records)?)
    }

    /// Per-field conflicts of a record.
    pub fn conflicts(&self, id: Uuid) -> Result<Vec<FieldConflict>, ReplicaError> {
        Ok(self
            .document(id)?
            .ok_or(ReplicaError::NotFound)?
            .conflicts())
    }

    /// Per-field history of a record.
    pub fn history(&self, id: Uuid) -> Result<Vec<FieldChange>, ReplicaError> {
        Ok(self.document(id)?.ok_or(ReplicaError::NotFound)?.history())
    }

    /// Pending changes and the age of the oldest.
    pub fn outbox_status(&self) -> Result<OutboxStatus, ReplicaError> {
        Ok(self.pool.read(tables::outbox_status)?)
    }

    /// Edits the server refused, newest first.
    pub fn rejected(&self) -> Result<Vec<RejectedEdit>, ReplicaError> {
        Ok(self.pool.read(tables::rejected)?)
    }

    /// Removes a rejected edit from the list once the officer has seen it.
    pub fn dismiss_rejected(&self, id: i64) -> Result<bool, ReplicaError> {
        self.pool
            .write(|tx| -> Result<_, ReplicaError> { Ok(tables::dismiss_rejected(tx, id)?) })
    }

    /// Builds the next sync request: cursors, pending changes grouped by record (within
    /// `max_push_bytes`, always at least one record), records needing a snapshot.
    pub fn prepare_sync(&self, opts: &SyncOptions) -> Result<SyncRequest, ReplicaError> {
        self.check_not_wiped()?;
        let (cursors, pending, resync, status, rejected_held, uploads, sensitive) =
            self.pool.read(|c| -> Result<_, StoreError> {
                Ok((
                    tables::cursors(c)?,
                    tables::pending(c)?,
                    tables::resync_records(c)?,
                    tables::outbox_status(c)?,
                    tables::rejected(c)?.len() as u64,
                    crate::attachment::local::upload_counts(c)?,
                    store::sensitive::pending(c)?,
                ))
            })?;
        let mut push: Vec<PushRecord> = Vec::new();
        let mut index: BTreeMap<Uuid, usize> = BTreeMap::new();
        let mut bytes = 0usize;
        let mut full = false;
        for entry in pending {
            let slot = match index.get(&entry.record) {
                Some(&i) => i,
                None => {
                    if full {
                        continue;
                    }
                    let Some((kind, unit)) =
                        self.pool.read(|c| tables::kind_and_unit(c, entry.record))?
                    else {
                        continue;
                    };
                    push.push(PushRecord {
                        record: entry.record,
                        kind,
                        unit,
                        changes: Vec::new(),
                    });
                    index.insert(entry.record, push.len() - 1);
                    push.len() - 1
                }
            };
            bytes += entry.change.len();
            push[slot].changes.push(ByteBuf::from(entry.change));
            // A record's changes always travel together; budget decides only whether the
            // next record starts in this request.
            if bytes >= opts.max_push_bytes {
                full = true;
            }
        }
        Ok(SyncRequest {
            v: PROTOCOL_VERSION,
            device_id: self.device_id,
            cursors,
            push,
            max_bytes: opts.max_reply_bytes,
            status: DeviceStatus {
                outbox_len: status.pending,
                oldest_pending_ms: status.oldest_ms,
                app_version: opts.app_version.clone(),
                rejected_held,
                attachments_failed: uploads.0,
                attachments_pending: uploads.1,
            },
            resync,
            sensitive,
        })
    }

    /// Applies a reply in one transaction; cursors advance only if everything applied.
    /// The report's [`ApplyReport::next`] says whether to sync again.
    pub fn apply_reply(&self, reply: &SyncReply, now_ms: i64) -> Result<ApplyReport, ReplicaError> {
        if reply.wipe {
            self.pool.write(|tx| -> Result<_, ReplicaError> {
                tables::wipe_all(tx)?;
                // Keep the identity so the store stays openable; the session is gone.
                tables::set_meta(tx, META_DEVICE, &self.device_id.to_string())?;
                tables::set_meta(tx, META_ACTOR, &hex::encode(self.actor))?;
                tables::set_meta(tx, META_WIPED, "1")?;
                Ok(())
            })?;
            return Ok(ApplyReport {
                wiped: true,
                next: Next::Wiped,
                ..ApplyReport::default()
            });
        }
        self.pool
            .write(|tx| -> Result<_, ReplicaError> {
                let mut report = ApplyReport {
                    more: reply.more,
                    remaining: reply.remaining,
                    ..ApplyReport::default()
                };
                for hash in &reply.accepted {
                    tables::acknowledge(tx, hash)?;
                    report.acknowledged += 1;
                }
                apply_sensitive_answers(tx, reply, &mut report, now_ms)?;
                let mut replaced = false;
                let history_requested =
                    self.apply_rejections(tx, reply, &mut report, &mut replaced, now_ms)?;
                replaced |= self.apply_pull(tx, reply, &mut report, now_ms)?;
                for purge in &reply.purge {
                    match purge {
                        Purge::Record(id) => {
                            tables::delete_record(tx, *id)?;
                            report.purged += 1;
                        }
                        Purge::Unit(scope) => report.purged += purge_scope(tx, scope)?,
                    }
                }
                for (scope, seq) in &reply.cursors {
                    tables::set_cursor(tx, scope, *seq)?;
                }
                apply_directory(tx, reply, report.purged + report.rejected > 0)?;
                if let Some(units) = &reply.units {
                    refresh_units(tx, units)?;
                }
                report.outbox = tables::outbox_status(tx)?;
                report.replaced = replaced;
                report.next = next_step(
                    false,
                    reply.more,
                    history_requested,
                    report.acknowledged + report.rejected,
                    replaced,
                    report.outbox.pending,
                );
                Ok(report)
            })
            .and_then(|report| {
                // A replaced lineage, a sensitive value that left the queue, a purged
                // record: the WAL still holds the pages as they were, so it is emptied
                // (secure_delete has zeroed the database file's copy).
                if report.replaced || report.sensitive_settled > 0 || report.purged > 0 {
                    self.truncate_wal()?;
                }
                Ok(report)
            })
    }

    /// The reply's rejections (§5): `missing_deps` re-queues the record's history (returns
    /// true then), `lineage_replaced` carries the edits over onto the new lineage (sets
    /// `replaced`), any other code resets the record and files the refused edits.
    fn apply_rejections(
        &self,
        tx: &Transaction<'_>,
        reply: &SyncReply,
        report: &mut ApplyReport,
        replaced: &mut bool,
        now_ms: i64,
    ) -> Result<bool, ReplicaError> {
        let mut history_requested = false;
        for rejection in &reply.rejected {
            match (rejection.code, &rejection.reset) {
                (RejectCode::MissingDeps, _) => {
                    requeue_history(tx, rejection.record, now_ms)?;
                    history_requested = true;
                    continue;
                }
                // Not refused for good: the edits are carried over onto the new lineage and
                // pushed again (nothing is filed for the officer).
                (RejectCode::LineageReplaced, Some(reset)) => {
                    if let Some(row) = tables::get_record(tx, rejection.record)? {
                        let local = RecordDoc::load(&row.doc)?;
                        let new = RecordDoc::load(reset)?;
                        self.replace_lineage(tx, &row, &local, new, &rejection.redacted, now_ms)?;
                    }
                    *replaced = true;
                }
                _ => self.roll_back(tx, rejection, now_ms)?,
            }
            report.rejected += 1;
        }
        Ok(history_requested)
    }

    /// The reply's pull entries: each replaces (§13) or merges into the local copy; whether
    /// any replaced one.
    fn apply_pull(
        &self,
        tx: &Transaction<'_>,
        reply: &SyncReply,
        report: &mut ApplyReport,
        now_ms: i64,
    ) -> Result<bool, ReplicaError> {
        let mut replaced = false;
        let mut pulled = HashSet::new();
        // Read once per reply: off (the default) costs nothing per record.
        let prefetch = crate::attachment::prefetch::active(tx)?;
        for entry in &reply.pull {
            if self.replace_pulled(tx, entry, now_ms)? {
                replaced = true;
            } else {
                merge_pulled(tx, entry, prefetch.as_ref(), now_ms)?;
            }
            if pulled.insert(entry.record) {
                report.pulled_ids.push(entry.record);
            }
        }
        report.pulled = pulled.len();
        Ok(replaced)
    }

    /// After a lineage replace: the old document's pages were zeroed as they were freed
    /// (`secure_delete`, set on every writer), but earlier copies of them may still sit in
    /// the WAL; a truncating checkpoint moves what is live into the file and empties it.
    /// Readers holding an old snapshot can keep it from completing: then the WAL is emptied
    /// by a later checkpoint, and the next replace tries again.
    fn truncate_wal(&self) -> Result<(), ReplicaError> {
        // The reply is applied and committed whatever this returns: a busy checkpoint
        // (first column 1) is not an error of the exchange.
        let _busy: i64 = self.pool.configure_writer(|c| {
            c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
        })?;
        Ok(())
    }

    /// A pull entry that replaces the device's copy of a record with a newer lineage
    /// (`replace`, §13): carries the device's edits over. `false` when the entry is merged
    /// as usual: no `replace`, no local copy, or the copy already is that lineage.
    fn replace_pulled(
        &self,
        tx: &Transaction<'_>,
        entry: &crate::protocol::PullEntry,
        now_ms: i64,
    ) -> Result<bool, ReplicaError> {
        let (true, Some(snapshot)) = (entry.replace, &entry.snapshot) else {
            return Ok(false);
        };
        let Some(row) = tables::get_record(tx, entry.record)? else {
            return Ok(false);
        };
        let local = RecordDoc::load(&row.doc)?;
        let incoming = RecordDoc::load(snapshot)?;
        if crate::lineage::same_lineage(&local, &incoming) {
            return Ok(false);
        }
        self.replace_lineage(tx, &row, &local, incoming, &entry.redacted, now_ms)?;
        Ok(true)
    }

    /// Replaces a record's document with `new` (a newer lineage): this device's
    /// unacknowledged edits of it are taken as field edits, dropped from the outbox, and
    /// made again on `new` as one change by this device's actor (queued to push), except
    /// edits that would write a `redacted` value back (§13).
    fn replace_lineage(
        &self,
        tx: &Transaction<'_>,
        row: &tables::RecordRow,
        local: &RecordDoc,
        new: RecordDoc,
        redacted: &[crate::protocol::Redacted],
        now_ms: i64,
    ) -> Result<(), ReplicaError> {
        let id = row.id;
        let pending: HashSet<automerge::ChangeHash> = tables::pending(tx)?
            .into_iter()
            .filter(|e| e.record == id)
            .filter_map(|e| <[u8; 32]>::try_from(e.hash.as_slice()).ok())
            .map(automerge::ChangeHash)
            .collect();
        let edits = crate::lineage::unacknowledged_edits(local, &pending)?;
        tables::drop_pending(tx, id)?;
        let (doc, change) =
            crate::lineage::carry_over(new, &edits, redacted, &self.author(now_ms))?;
        let record = doc.read()?;
        let findings = findings_of(&record, now_ms);
        tables::put_record(tx, &row_for(&doc, &record, &findings, row.updated_ms))?;
        tables::mark_resync(tx, id, false)?;
        if let Some(mut change) = change {
            let bytes = doc::encode_change(&mut change);
            tables::enqueue(tx, id, &change.hash().0, &bytes, now_ms)?;
        }
        note_actors(tx, &doc, id)?;
        hide_in_rejected(tx, id, redacted)
    }

    /// Who wrote each actor's changes, from the directory the server sent (actor id →
    /// name). The device's own actor is there only when the server listed it (it wrote a
    /// record the server sent back) or [`Self::note_own_name`] put it there: compare with
    /// [`Self::actor_id`].
    pub fn actor_names(
        &self,
        actors: &[Vec<u8>],
    ) -> Result<std::collections::HashMap<Vec<u8>, tables::ActorName>, ReplicaError> {
        Ok(self.pool.read(|c| tables::actor_names(c, actors))?)
    }

    /// Resets a refused record to the server's state and files what was refused.
    fn roll_back(
        &self,
        tx: &Transaction<'_>,
        rejection: &crate::protocol::Rejection,
        now_ms: i64,
    ) -> Result<(), ReplicaError> {
        let Some(row) = tables::get_record(tx, rejection.record)? else {
            return Ok(());
        };
        let local = RecordDoc::load(&row.doc)?;
        let pending: HashSet<Vec<u8>> = tables::pending(tx)?
            .into_iter()
            .filter(|e| e.record == rejection.record)
            .map(|e| e.hash)
            .chain(rejection.changes.iter().map(|h| h.to_vec()))
            .collect();
        let refused: HashSet<String> = pending.iter().map(hex::encode).collect();
        let edits: Vec<FieldChange> = local
            .history()
            .into_iter()
            .filter(|h| refused.contains(&h.change))
            .collect();
        tables::add_rejected(
            tx,
            &RejectedEdit {
                id: 0,
                record: rejection.record,
                kind: row.kind.clone(),
                code: rejection.code.as_str().to_owned(),
                message: rejection.message.clone(),
                edits,
                rejected_ms: now_ms,
            },
        )?;
        tables::drop_pending(tx, rejection.record)?;
        match &rejection.reset {
            Some(snapshot) => {
                let doc = RecordDoc::load(snapshot)?;
                let record = doc.read()?;
                let findings = findings_of(&record, now_ms);
                tables::put_record(tx, &row_for(&doc, &record, &findings, row.updated_ms))?;
                note_actors(tx, &doc, rejection.record)?;
            }
            None => tables::delete_record(tx, rejection.record)?,
        }
        Ok(())
    }
}

/// Puts `"[redacted]"` in place of a removed value in the refused edits the device lists
/// for its officer (`from` and `to` of each edit of the record): no copy stays there either.
/// Drops what a lost scope held: a unit's records, or of a restricted scope (§12.1: the user
/// no longer reads sensitive data) the unit's restricted records.
fn purge_scope(tx: &Transaction<'_>, scope: &str) -> Result<usize, ReplicaError> {
    let (unit, restricted) = model::sensitivity::scope_unit(scope);
    if !restricted {
        return Ok(tables::delete_unit(tx, unit)?);
    }
    let rows = tables::find_records(
        tx,
        &RecordQuery {
            unit: Some(unit.to_owned()),
            kind: Some(Kind::ResidenceDeclaration.as_str().to_owned()),
            limit: Some(u32::MAX),
            ..RecordQuery::default()
        },
    )?;
    let mut n = 0;
    for row in rows {
        let record = RecordDoc::load(&row.doc)?.read()?;
        if model::sensitivity::is_restricted(&record) {
            tables::delete_record(tx, record.id)?;
            n += 1;
        }
    }
    tx.execute("DELETE FROM cursors WHERE scope = ?1", [scope])
        .map_err(StoreError::from)?;
    Ok(n)
}

/// Whether `edit` sets or clears a sensitive field of `kind`.
fn edit_is_sensitive(kind: Kind, edit: &Edit) -> bool {
    match edit {
        Edit::Set { field, .. } | Edit::Clear { field } => {
            model::sensitivity::is_sensitive(kind, field)
        }
        _ => false,
    }
}

/// What each sensitive edit leaves the field holding (`None`: cleared).
fn sensitive_values(edits: &[Edit]) -> Vec<(String, Option<Value>)> {
    edits
        .iter()
        .filter_map(|e| match e {
            Edit::Set { field, value } => Some((field.clone(), Some(value.clone()))),
            Edit::Clear { field } => Some((field.clone(), None)),
            _ => None,
        })
        .collect()
}

/// Queues the sensitive values of a new record.
fn queue_sensitive(
    tx: &Transaction<'_>,
    record: Uuid,
    values: &[(String, Value)],
    now_ms: i64,
) -> Result<(), StoreError> {
    for (field, value) in values {
        store::sensitive::queue(tx, record, field, Some(value), now_ms)?;
    }
    Ok(())
}

/// The server's answers to the sensitive writes (§12): acknowledged ones leave the queue;
/// refused ones leave it too and are listed for the officer, without the value.
fn apply_sensitive_answers(
    tx: &Transaction<'_>,
    reply: &SyncReply,
    report: &mut ApplyReport,
    now_ms: i64,
) -> Result<(), StoreError> {
    for id in &reply.sensitive_accepted {
        if store::sensitive::forget(tx, *id)?.is_some() {
            report.acknowledged += 1;
            report.sensitive_settled += 1;
        }
    }
    for r in &reply.sensitive_rejected {
        if store::sensitive::forget(tx, r.id)?.is_none() {
            continue;
        }
        report.sensitive_settled += 1;
        let kind = tables::kind_and_unit(tx, r.record)?.map_or_else(String::new, |(k, _)| k);
        tables::add_rejected(
            tx,
            &tables::RejectedEdit {
                id: 0,
                record: r.record,
                kind,
                code: r.code.as_str().to_owned(),
                message: format!("{}: {}", r.field, r.message),
                edits: Vec::new(),
                rejected_ms: now_ms,
            },
        )?;
        report.rejected += 1;
    }
    Ok(())
}

fn hide_in_rejected(
    tx: &Transaction<'_>,
    id: Uuid,
    redacted: &[crate::protocol::Redacted],
) -> Result<(), ReplicaError> {
    if redacted.is_empty() {
        return Ok(());
    }
    let hide = |field: &str, v: &mut Option<model::Value>| {
        let hit = v
            .as_ref()
            .is_some_and(|value| redacted.iter().any(|r| r.matches(field, value)));
        if hit {
            *v = Some(model::Value::Text("[redacted]".into()));
        }
        hit
    };
    for mut entry in tables::rejected(tx)?.into_iter().filter(|e| e.record == id) {
        let mut changed = false;
        for edit in &mut entry.edits {
            let field = edit.field.clone();
            changed |= hide(&field, &mut edit.from) | hide(&field, &mut edit.to);
        }
        if changed {
            tables::set_rejected_edits(tx, entry.id, &entry.edits)?;
        }
    }
    Ok(())
}

/// Stores the reply's actor directory; after purges, forgets actors no record mentions.
fn apply_directory(
    tx: &Transaction<'_>,
    reply: &SyncReply,
    dropped: bool,
) -> Result<(), ReplicaError> {
    for a in &reply.actors {
        let name = tables::ActorName {
            user: a.user.clone(),
            display_name: a.display_name.clone(),
            device_name: a.device_name.clone(),
        };
        tables::put_actor(tx, a.actor.as_ref(), &name)?;
    }
    if dropped || !reply.actors.is_empty() {
        tables::forget_unused_actors(tx)?;
    }
    Ok(())
}

/// Replaces the session's units with the server's current list (the office may have
/// reassigned the user; the data of lost units is purged by the same reply).
fn refresh_units(tx: &Transaction<'_>, units: &[String]) -> Result<(), ReplicaError> {
    let Some(raw) = tables::get_meta(tx, META_SESSION)? else {
        return Ok(());
    };
    let Ok(mut session) = serde_json::from_str::<Session>(&raw) else {
        return Ok(());
    };
    if session.units != units {
        session.units = units.to_vec();
        let json =
            serde_json::to_string(&session).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        tables::set_meta(tx, META_SESSION, &json)?;
    }
    Ok(())
}

/// Re-queues every change of a record so the server gets its whole history.
fn requeue_history(tx: &Transaction<'_>, id: Uuid, now_ms: i64) -> Result<(), ReplicaError> {
    if let Some(row) = tables::get_record(tx, id)? {
        let doc = RecordDoc::load(&row.doc)?;
        for mut change in doc.changes_since(&[]) {
            let bytes = doc::encode_change(&mut change);
            tables::enqueue(tx, id, &change.hash().0, &bytes, now_ms)?;
        }
    }
    Ok(())
}

/// Merges one pull entry into the stored record; with `prefetch` set, queues the record's
/// matching attachments whose bytes are not here (its fields are read here anyway, so
/// prefetch costs no extra pass over the store).
fn merge_pulled(
    tx: &Transaction<'_>,
    entry: &crate::protocol::PullEntry,
    prefetch: Option<&crate::attachment::prefetch::Prefetch>,
    now_ms: i64,
) -> Result<(), ReplicaError> {
    let existing = tables::get_record(tx, entry.record)?;
    match merged(existing.as_ref(), entry) {
        Some((doc, record, incomplete)) => {
            let findings = findings_of(&record, now_ms);
            let row = match (&existing, &entry.snapshot) {
                // A record new to the device is stored uncompressed: compressing every document
                // of a first download would be the bulk of its cost. A snapshot that arrives
                // alone is kept exactly as received.
                (None, Some(snapshot)) if entry.changes.is_empty() => RecordRow {
                    doc: snapshot.to_vec(),
                    ..index_row(&doc, &record, &findings, now_ms)
                },
                (None, _) => RecordRow {
                    doc: doc.save_uncompressed(),
                    ..index_row(&doc, &record, &findings, now_ms)
                },
                (Some(old), _) => row_for(&doc, &record, &findings, old.updated_ms),
            };
            tables::put_record(tx, &row)?;
            tables::mark_resync(tx, entry.record, incomplete)?;
            note_actors(tx, &doc, entry.record)?;
            if let Some(p) = prefetch {
                crate::attachment::prefetch::queue(tx, entry.record, &record.fields, p)?;
            }
        }
        // Whatever cannot be applied (unknown parents, undecodable bytes) must not block the
        // rest of the reply or the cursor: ask the server for a full snapshot next time.
        None => tables::mark_resync(tx, entry.record, true)?,
    }
    Ok(())
}

/// Remembers which actors wrote `record`, for the directory's clean-up.
fn note_actors(tx: &Transaction<'_>, doc: &RecordDoc, record: Uuid) -> Result<(), StoreError> {
    let actors: HashSet<Vec<u8>> = doc
        .change_actors()
        .into_iter()
        .map(|(_, a)| a.to_bytes().to_vec())
        .collect();
    tables::note_record_actors(tx, record, actors.iter().map(Vec::as_slice))
}

/// The record's document after merging a pull entry, and whether changes are still missing;
/// `None` when nothing readable results.
fn merged(
    existing: Option<&RecordRow>,
    entry: &crate::protocol::PullEntry,
) -> Option<(RecordDoc, Record, bool)> {
    let mut doc = match existing {
        Some(row) => RecordDoc::load(&row.doc).ok()?,
        None => RecordDoc::empty(),
    };
    if let Some(snapshot) = &entry.snapshot {
        doc.merge_snapshot(snapshot).ok()?;
    }
    let changes = entry
        .changes
        .iter()
        .map(|b| doc::decode_change(b))
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    doc.apply_changes(changes).ok()?;
    let incomplete = !doc.missing_deps().is_empty();
    if doc.is_empty() {
        return None;
    }
    let record = doc.read().ok()?;
    (record.id == entry.record).then_some((doc, record, incomplete))
}

/// The records of the local store, as the source of cross-record rules. Not complete: the
/// phone holds only its officer's units.
struct LocalRecords<'a>(&'a crate::store::Pool);

impl model::rules::Related for LocalRecords<'_> {
    fn get(&self, id: Uuid) -> Option<std::sync::Arc<Record>> {
        let row = self.0.read(|c| tables::get_record(c, id)).ok()??;
        RecordDoc::load(&row.doc)
            .ok()?
            .read()
            .ok()
            .map(std::sync::Arc::new)
    }
    fn complete(&self) -> bool {
        false
    }
}

/// A citizen's residence fields, changed because a declaration of theirs was accepted on
/// this device: the citizen's new row and the change to queue.
struct ResidenceChange {
    row: RecordRow,
    hash: Vec<u8>,
    bytes: Vec<u8>,
}

fn write_residence_change(
    tx: &Transaction<'_>,
    changes: &[ResidenceChange],
    now_ms: i64,
) -> Result<(), ReplicaError> {
    for c in changes {
        tables::put_record(tx, &c.row)?;
        tables::enqueue(tx, c.row.id, &c.hash, &c.bytes, now_ms)?;
    }
    Ok(())
}

/// A new record without a status starts in its kind's first status (`active` for citizens
/// and households, `draft` for applications and declarations).
fn with_default_status(record: &mut Record) {
    if !record.fields.contains_key("status") {
        let status = match record.kind {
            Kind::Citizen | Kind::Household => "active",
            Kind::CccdApplication | Kind::ResidenceDeclaration => "draft",
        };
        record.fields.insert("status".into(), status.into());
    }
}

/// Structural validation with today's date; findings on success.
fn check(record: &Record, now_ms: i64) -> Result<Vec<Finding>, ReplicaError> {
    model::validate(
        record,
        &ValidationContext::new(crate::time::local_date(now_ms)),
    )
    .map_err(ReplicaError::Invalid)
}

/// Findings of a record that came from elsewhere (never refused locally).
pub(crate) fn findings_of(record: &Record, now_ms: i64) -> Vec<Finding> {
    model::validate(
        record,
        &ValidationContext::new(crate::time::local_date(now_ms)),
    )
    .unwrap_or_default()
}

/// Role rules between two states of a record: status moves and frozen fields.
pub fn check_rules(before: &Record, after: &Record, role: Role) -> Result<(), ReplicaError> {
    let (from, to) = (before.status(), after.status().unwrap_or(""));
    if from != Some(to) && !model::transition_allowed(after.kind, from, to, role) {
        return Err(ReplicaError::StatusNotAllowed {
            role,
            kind: after.kind,
            from: Some(from.unwrap_or("").to_owned()),
            to: to.to_owned(),
        });
    }
    if before.kind == Kind::Citizen
        && from == Some("deceased")
        && to == "active"
        && (after.text("status_reason").is_none_or(str::is_empty)
            || after.fields.get("status_reason") == before.fields.get("status_reason"))
    {
        return Err(ReplicaError::Forbidden(
            "undoing a death needs the reason in `status_reason` (written with the status change)"
                .into(),
        ));
    }
    for field in model::frozen_fields(before.kind, from) {
        if before.fields.get(*field) != after.fields.get(*field) {
            return Err(ReplicaError::Forbidden(format!(
                "`{field}` is frozen once a {} is `{}`",
                before.kind.as_str(),
                from.unwrap_or("")
            )));
        }
    }
    Ok(())
}

/// Normalises an edit's value as [`model::normalise`] would the whole record (names cleaned,
/// ID-number separators dropped, NFC).
fn normalise_edit(kind: Kind, edit: &Edit) -> Edit {
    match edit {
        Edit::Set { field, value } => Edit::Set {
            field: field.clone(),
            value: model::normalise_value(kind, field, value),
        },
        Edit::PutEntry { field, key, value } => Edit::PutEntry {
            field: field.clone(),
            key: key.clone(),
            value: model::normalise_value(kind, field, value),
        },
        Edit::SetUnit { unit } => Edit::SetUnit {
            unit: unit.trim().to_owned(),
        },
        other => other.clone(),
    }
}

/// The store row of a record.
pub fn row_for(
    doc: &RecordDoc,
    record: &Record,
    findings: &[Finding],
    updated_ms: i64,
) -> RecordRow {
    RecordRow {
        doc: doc.save(),
        ..index_row(doc, record, findings, updated_ms)
    }
}

/// The store row of a record without its document bytes (the caller fills `doc`).
fn index_row(doc: &RecordDoc, record: &Record, findings: &[Finding], updated_ms: i64) -> RecordRow {
    RecordRow {
        id: record.id,
        kind: record.kind.as_str().to_owned(),
        unit: record.unit.clone(),
        status: record.status().map(str::to_owned),
        doc: Vec::new(),
        heads: doc.heads().iter().flat_map(|h| h.0).collect(),
        name_key: model::search_key(display_name(record)),
        id_number: record.text("id_number").map(str::to_owned),
        other_numbers: earlier_numbers(record),
        person: (record.kind == Kind::ResidenceDeclaration)
            .then(|| {
                record
                    .text("citizen_id")
                    .and_then(|s| Uuid::parse_str(s).ok())
            })
            .flatten(),
        findings: findings.to_vec(),
        updated_ms,
    }
}

/// A citizen's earlier numbers: the old CMND number and the earlier personal ID numbers.
fn earlier_numbers(record: &Record) -> Vec<String> {
    if record.kind != Kind::Citizen {
        return Vec::new();
    }
    let mut out: Vec<String> = record
        .text("old_id_number")
        .map(str::to_owned)
        .into_iter()
        .collect();
    if let Some(m) = record
        .fields
        .get("previous_id_numbers")
        .and_then(Value::as_map)
    {
        out.extend(m.keys().cloned());
    }
    out.retain(|n| Some(n.as_str()) != record.text("id_number"));
    out.sort();
    out.dedup();
    out
}

/// The text a person would search a record by: a name, or a household's address.
pub fn display_name(record: &Record) -> &str {
    ["full_name", "guest_name", "host_name", "address"]
        .iter()
        .find_map(|f| record.text(f))
        .unwrap_or("")
}

fn load_identity(
    tx: &Transaction<'_>,
    preset: Option<(Uuid, [u8; 16])>,
) -> Result<(Uuid, [u8; 16]), ReplicaError> {
    let device = tables::get_meta(tx, META_DEVICE)?.and_then(|s| Uuid::parse_str(&s).ok());
    let actor = tables::get_meta(tx, META_ACTOR)?
        .and_then(|s| hex::decode(s).ok())
        .and_then(|b| <[u8; 16]>::try_from(b).ok());
    if let (Some(device), Some(actor)) = (device, actor) {
        return Ok((device, actor));
    }
    let (device, actor) = preset.unwrap_or_else(|| (Uuid::now_v7(), *Uuid::new_v4().as_bytes()));
    tables::set_meta(tx, META_DEVICE, &device.to_string())?;
    tables::set_meta(tx, META_ACTOR, &hex::encode(actor))?;
    Ok((device, actor))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{PullEntry, Rejection};

    const NOW: i64 = 1_767_225_600_000;

    fn replica(dir: &tempfile::TempDir, name: &str) -> Replica {
        Replica::open(&dir.path().join(name), None).unwrap()
    }

    fn citizen_fields(name: &str) -> Fields {
        Fields::from([
            ("full_name".into(), Value::from(name)),
            ("date_of_birth".into(), Value::from("1985-03-02")),
            ("sex".into(), Value::from("female")),
            ("id_number".into(), Value::from("022085001234")),
            ("status".into(), Value::from("active")),
        ])
    }

    fn ack_all(r: &Replica) -> SyncReply {
        let req = r.prepare_sync(&SyncOptions::default()).unwrap();
        let mut reply = SyncReply::empty(NOW);
        for p in &req.push {
            reply.accepted.extend(
                p.changes
                    .iter()
                    .map(|c| ByteBuf::from(doc::decode_change(c).unwrap().hash().0.to_vec())),
            );
        }
        reply
    }

    #[test]
    fn religion_entered_on_a_phone_never_enters_the_document_and_leaves_once_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let r = replica(&dir, "a.db");
        let mut fields = citizen_fields("Lê Thị Hoa");
        fields.insert("religion".into(), Value::from("Công giáo"));
        let saved = r.create(Kind::Citizen, "07132", fields, NOW).unwrap();
        let id = saved.record.id;
        assert_eq!(saved.record.text("religion"), Some("Công giáo"));
        let doc = r.document(id).unwrap().unwrap();
        assert!(!doc.read().unwrap().fields.contains_key("religion"));
        assert!(doc.history().iter().all(|h| h.field != "religion"));
        // Shown to the officer while it waits; counted as something to send.
        let view = r.get(id).unwrap().unwrap();
        assert_eq!(view.record.text("religion"), Some("Công giáo"));
        assert_eq!(r.outbox_status().unwrap().pending, 2);
        // A correction before the sync replaces the waiting value: one write is sent.
        r.update(
            id,
            &[Edit::Set {
                field: "religion".into(),
                value: Value::from("Phật giáo"),
            }],
            NOW + 1,
        )
        .unwrap();
        assert!(
            r.document(id)
                .unwrap()
                .unwrap()
                .history()
                .iter()
                .all(|h| h.field != "religion")
        );
        let req = r.prepare_sync(&SyncOptions::default()).unwrap();
        assert_eq!(req.sensitive.len(), 1);
        assert_eq!(req.sensitive[0].field, "religion");
        assert_eq!(req.sensitive[0].value, Some(Value::from("Phật giáo")));
        let mut reply = ack_all(&r);
        reply.sensitive_accepted = vec![req.sensitive[0].id];
        r.apply_reply(&reply, NOW + 2).unwrap();
        assert_eq!(r.outbox_status().unwrap().pending, 0);
        assert!(
            r.prepare_sync(&SyncOptions::default())
                .unwrap()
                .sensitive
                .is_empty()
        );
        assert!(
            r.get(id)
                .unwrap()
                .unwrap()
                .record
                .text("religion")
                .is_none()
        );
    }

    #[test]
    fn a_search_by_name_finds_the_persons_declarations_and_a_stay_notice_by_its_guest() {
        let dir = tempfile::tempdir().unwrap();
        let r = replica(&dir, "a.db");
        let person = r
            .create(Kind::Citizen, "07132", citizen_fields("Đỗ Thị Cúc"), NOW)
            .unwrap()
            .record
            .id;
        let declaration = |pairs: &[(&str, Value)]| {
            r.create(
                Kind::ResidenceDeclaration,
                "07132",
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone()))
                    .collect(),
                NOW,
            )
            .unwrap()
            .record
            .id
        };
        let registration = declaration(&[
            ("citizen_id", Value::from(person.to_string())),
            ("procedure", "temporary_absence".into()),
            ("address", "Số 5, khu 3, phường Quảng Yên".into()),
            ("address_unit", "07132".into()),
            ("from_date", "2026-03-01".into()),
        ]);
        let notice = declaration(&[
            ("procedure", "stay_notice".into()),
            ("guest_name", "Phạm Văn Khách".into()),
            ("guest_id_number", "B1234567".into()),
            ("address", "Số 8, khu 1, phường Quảng Yên".into()),
            ("address_unit", "07132".into()),
            ("from_date", "2026-03-01".into()),
        ]);
        let by = |name: &str| -> Vec<Uuid> {
            let mut ids: Vec<Uuid> = r
                .find(&RecordQuery {
                    name: Some(model::search_key(name)),
                    ..RecordQuery::default()
                })
                .unwrap()
                .into_iter()
                .map(|rec| rec.id)
                .collect();
            ids.sort();
            ids
        };
        let mut hers = vec![person, registration];
        hers.sort();
        assert_eq!(by("do thi cuc"), hers, "her record and her declaration");
        assert_eq!(by("khu 3"), [registration], "by its own address still");
        assert_eq!(by("Phạm Văn Khách"), [notice], "a stay notice by its guest");
    }

    #[test]
    fn a_search_by_number_finds_a_person_by_an_old_cmnd_or_an_earlier_id_number() {
        let dir = tempfile::tempdir().unwrap();
        let r = replica(&dir, "a.db");
        let mut fields = citizen_fields("Đỗ Thị Cúc");
        fields.insert("old_id_number".into(), Value::from("100234567"));
        fields.insert(
            "previous_id_numbers".into(),
            Value::Map(BTreeMap::from([(
                "022185009999".to_owned(),
                Value::Map(BTreeMap::new()),
            )])),
        );
        let id = r
            .create(Kind::Citizen, "07132", fields, NOW)
            .unwrap()
            .record
            .id;
        r.create(Kind::Citizen, "07132", citizen_fields("Người Khác"), NOW)
            .unwrap();
        let by = |number: &str| -> Vec<Uuid> {
            r.find(&RecordQuery {
                id_number: Some(number.into()),
                ..RecordQuery::default()
            })
            .unwrap()
            .into_iter()
            .map(|rec| rec.id)
            .collect()
        };
        assert_eq!(by("100234"), [id], "the old CMND number's first digits");
        assert_eq!(by("022185009999"), [id], "an earlier ID number");
        assert_eq!(by("022085001234").len(), 2, "the current number, as before");
        // Changed away: no longer found by it.
        r.update(
            id,
            &[Edit::Clear {
                field: "old_id_number".into(),
            }],
            NOW + 1,
        )
        .unwrap();
        assert!(by("100234").is_empty());
    }

    #[test]
    fn a_refused_sensitive_write_leaves_the_queue_and_is_listed_without_its_value() {
        let dir = tempfile::tempdir().unwrap();
        let r = replica(&dir, "a.db");
        let mut fields = citizen_fields("Lê Thị Hoa");
        fields.insert("ethnicity".into(), Value::from("Kinh"));
        let id = r
            .create(Kind::Citizen, "07132", fields, NOW)
            .unwrap()
            .record
            .id;
        let req = r.prepare_sync(&SyncOptions::default()).unwrap();
        let mut reply = ack_all(&r);
        reply.sensitive_rejected = vec![crate::protocol::SensitiveRejection {
            id: req.sensitive[0].id,
            record: id,
            field: "ethnicity".into(),
            code: crate::protocol::RejectCode::OutOfScope,
            message: "no such record in your units".into(),
        }];
        r.apply_reply(&reply, NOW + 1).unwrap();
        assert_eq!(r.outbox_status().unwrap().pending, 0);
        let listed = r.rejected().unwrap();
        assert_eq!(listed.len(), 1);
        assert!(listed[0].message.starts_with("ethnicity: "));
        assert!(listed[0].edits.is_empty(), "the value is not kept");
    }

    #[test]
    fn a_woman_with_a_male_id_digit_is_saved_with_a_finding() {
        let dir = tempfile::tempdir().unwrap();
        let r = replica(&dir, "a.db");
        let saved = r
            .create(
                Kind::Citizen,
                "07132",
                citizen_fields("Nguyễn Thị Ánh"),
                NOW,
            )
            .unwrap();
        assert!(
            saved
                .findings
                .iter()
                .any(|f| f.code == "id_number_sex_mismatch")
        );
        let view = r.get(saved.record.id).unwrap().unwrap();
        assert_eq!(view.findings, saved.findings);
        assert_eq!(view.pending_changes, 1);
    }

    #[test]
    fn an_eleven_digit_id_number_is_refused_and_nothing_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let r = replica(&dir, "a.db");
        let mut fields = citizen_fields("Trần Văn Bình");
        fields.insert("id_number".into(), "02208500123".into());
        let err = r.create(Kind::Citizen, "07132", fields, NOW).unwrap_err();
        let ReplicaError::Invalid(errors) = err else {
            panic!("expected Invalid")
        };
        assert_eq!(errors[0].field, "id_number");
        assert!(
            errors[0].message.contains("12 digits"),
            "{}",
            errors[0].message
        );
        assert_eq!(r.count().unwrap(), 0);
        assert_eq!(r.outbox_status().unwrap().pending, 0);
    }

    #[test]
    fn name_search_matches_the_start_of_words_in_order_not_any_substring() {
        let dir = tempfile::tempdir().unwrap();
        let r = replica(&dir, "a.db");
        for name in [
            "Nguyễn Văn An",
            "Trần Thị Lan",
            "Lê Minh Tuấn",
            "Phạm Thị Thanh Hoà",
            "Vũ Thị Ánh",
            "Đặng-Hữu Đức",
        ] {
            r.create(Kind::Citizen, "07132", citizen_fields(name), NOW)
                .unwrap();
        }
        let names = |q: &str| -> Vec<String> {
            let mut v: Vec<String> = r
                .find(&RecordQuery {
                    name: Some(q.into()),
                    ..Default::default()
                })
                .unwrap()
                .iter()
                .map(|rec| rec.text("full_name").unwrap().to_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names("an"), ["Nguyễn Văn An", "Vũ Thị Ánh"]);
        assert_eq!(names("Ánh"), ["Vũ Thị Ánh"]);
        assert_eq!(names("ng v a"), ["Nguyễn Văn An"]);
        assert_eq!(names("nguyễn văn"), ["Nguyễn Văn An"]);
        assert!(names("van nguyen").is_empty(), "words in order");
        assert!(names("uan").is_empty(), "not inside a word");
        assert_eq!(names("hòa"), ["Phạm Thị Thanh Hoà"]);
        assert_eq!(
            names("thi"),
            ["Phạm Thị Thanh Hoà", "Trần Thị Lan", "Vũ Thị Ánh"]
        );
        assert_eq!(names("huu duc"), ["Đặng-Hữu Đức"]);
        assert_eq!(names("dang"), ["Đặng-Hữu Đức"]);
        let page = RecordQuery {
            name: Some("thi".into()),
            ..Default::default()
        };
        assert_eq!(
            r.pool().read(|c| tables::count_matching(c, &page)).unwrap(),
            3
        );
    }

    #[test]
    fn search_finds_names_with_and_without_diacritics() {
        let dir = tempfile::tempdir().unwrap();
        let r = replica(&dir, "a.db");
        r.create(
            Kind::Citizen,
            "07132",
            citizen_fields("Nguyễn Thị Ánh"),
            NOW,
        )
        .unwrap();
        r.create(Kind::Citizen, "07132", citizen_fields("Lê Văn Đức"), NOW)
            .unwrap();
        for q in ["nguyen thi anh", "Nguyễn", "NGUYEN", "duc", "Đức"] {
            let found = r
                .find(&RecordQuery {
                    name: Some(q.into()),
                    ..Default::default()
                })
                .unwrap();
            assert_eq!(found.len(), 1, "query {q}");
        }
        let by_id = r
            .find(&RecordQuery {
                id_number: Some("022085001234".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(by_id.len(), 2);
    }

    #[test]
    fn acknowledged_changes_leave_the_outbox_and_a_lost_reply_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let r = replica(&dir, "a.db");
        r.create(Kind::Citizen, "07132", citizen_fields("A"), NOW)
            .unwrap();
        let reply = ack_all(&r);
        // The reply is "lost": nothing applied, the change is still pending.
        assert_eq!(r.outbox_status().unwrap().pending, 1);
        r.apply_reply(&reply, NOW).unwrap();
        assert_eq!(r.outbox_status().unwrap().pending, 0);
        // Applying the same reply twice is harmless.
        r.apply_reply(&reply, NOW).unwrap();
        assert_eq!(r.count().unwrap(), 1);
    }

    #[test]
    fn a_rejected_edit_resets_the_record_and_is_listed_with_its_reason() {
        let dir = tempfile::tempdir().unwrap();
        let r = replica(&dir, "a.db");
        let id = r
            .create(Kind::Citizen, "07132", citizen_fields("Phạm Thị Dung"), NOW)
            .unwrap()
            .record
            .id;
        r.apply_reply(&ack_all(&r), NOW).unwrap();
        let server_copy = r.document(id).unwrap().unwrap().save();
        r.update(
            id,
            &[Edit::Set {
                field: "full_name".into(),
                value: "Phạm Thị Dũng".into(),
            }],
            NOW + 1,
        )
        .unwrap();
        let req = r.prepare_sync(&SyncOptions::default()).unwrap();
        let mut reply = SyncReply::empty(NOW);
        reply.rejected.push(Rejection {
            record: id,
            changes: vec![],
            code: RejectCode::OutOfScope,
            message: "unit 07132 is not among your units".into(),
            reset: Some(ByteBuf::from(server_copy)),
            redacted: Vec::new(),
        });
        assert_eq!(req.push.len(), 1);
        r.apply_reply(&reply, NOW + 2).unwrap();
        assert_eq!(
            r.get(id).unwrap().unwrap().record.text("full_name"),
            Some("Phạm Thị Dung")
        );
        assert_eq!(r.outbox_status().unwrap().pending, 0);
        let rejected = r.rejected().unwrap();
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].code, "out_of_scope");
        assert_eq!(rejected[0].edits.len(), 1);
        assert_eq!(rejected[0].edits[0].field, "full_name");
        assert_eq!(rejected[0].edits[0].to, Some("Phạm Thị Dũng".into()));
    }

    #[test]
    fn a_refused_creation_removes_the_record_but_keeps_it_in_the_rejected_list() {
        let dir = tempfile::tempdir().unwrap();
        let r = replica(&dir, "a.db");
        let id = r
            .create(Kind::Citizen, "07135", citizen_fields("B"), NOW)
            .unwrap()
            .record
            .id;
        let mut reply = SyncReply::empty(NOW);
        reply.rejected.push(Rejection {
            record: id,
            changes: vec![],
            code: RejectCode::OutOfScope,
            message: "out of scope".into(),
            reset: None,
            redacted: Vec::new(),
        });
        r.apply_reply(&reply, NOW).unwrap();
        assert!(r.get(id).unwrap().is_none());
        assert_eq!(r.rejected().unwrap()[0].record, id);
    }

    #[test]
    fn pulled_snapshots_merge_and_cursors_advance_with_them() {
        let dir = tempfile::tempdir().unwrap();
        let a = replica(&dir, "a.db");
        let b = replica(&dir, "b.db");
        let id = a
            .create(Kind::Citizen, "07132", citizen_fields("C"), NOW)
            .unwrap()
            .record
            .id;
        let snapshot = a.document(id).unwrap().unwrap().save_uncompressed();
        let mut reply = SyncReply::empty(NOW);
        reply.pull.push(PullEntry {
            record: id,
            kind: "citizen".into(),
            unit: "07132".into(),
            changes: vec![],
            snapshot: Some(ByteBuf::from(snapshot)),
            lineage: 0,
            replace: false,
            redacted: Vec::new(),
        });
        reply.cursors.insert("07132".into(), 7);
        b.apply_reply(&reply, NOW).unwrap();
        assert_eq!(
            b.get(id).unwrap().unwrap().record,
            a.get(id).unwrap().unwrap().record
        );
        assert_eq!(
            b.prepare_sync(&SyncOptions::default()).unwrap().cursors["07132"],
            7
        );
    }

    #[test]
    fn changes_that_cannot_apply_ask_for_a_snapshot_without_blocking_the_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let a = replica(&dir, "a.db");
        let b = replica(&dir, "b.db");
        let id = a
            .create(Kind::Citizen, "07132", citizen_fields("C"), NOW)
            .unwrap()
            .record
            .id;
        let mut second = a
            .document(id)
            .unwrap()
            .unwrap()
            .edit(
                &[Edit::Set {
                    field: "notes".into(),
                    value: "x".into(),
                }],
                &Author::new(&[5; 16], NOW),
            )
            .unwrap()
            .unwrap();
        let mut reply = SyncReply::empty(NOW);
        reply.pull.push(PullEntry {
            record: id,
            kind: "citizen".into(),
            unit: "07132".into(),
            changes: vec![
                ByteBuf::from(doc::encode_change(&mut second)),
                ByteBuf::from(vec![1, 2, 3]),
            ],
            snapshot: None,
            lineage: 0,
            replace: false,
            redacted: Vec::new(),
        });
        reply.cursors.insert("07132".into(), 9);
        b.apply_reply(&reply, NOW).unwrap();
        let req = b.prepare_sync(&SyncOptions::default()).unwrap();
        assert_eq!(req.cursors["07132"], 9);
        assert_eq!(req.resync, vec![id]);
        // The snapshot arrives: the mark is cleared.
        let mut reply = SyncReply::empty(NOW);
        reply.pull.push(PullEntry {
            record: id,
            kind: "citizen".into(),
            unit: "07132".into(),
            changes: vec![],
            snapshot: Some(ByteBuf::from(a.document(id).unwrap().unwrap().save())),
            lineage: 0,
            replace: false,
            redacted: Vec::new(),
        });
        b.apply_reply(&reply, NOW).unwrap();
        assert!(
            b.prepare_sync(&SyncOptions::default())
                .unwrap()
                .resync
                .is_empty()
        );
        assert!(b.get(id).unwrap().is_some());
    }

    #[test]
    fn a_purged_unit_drops_its_records_and_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let r = replica(&dir, "a.db");
        r.create(Kind::Citizen, "07132", citizen_fields("D"), NOW)
            .unwrap();
        let keep = r
            .create(Kind::Citizen, "07135", citizen_fields("E"), NOW)
            .unwrap()
            .record
            .id;
        let mut reply = SyncReply::empty(NOW);
        reply.purge.push(Purge::Unit("07132".into()));
        let report = r.apply_reply(&reply, NOW).unwrap();
        assert_eq!(report.purged, 1);
        assert_eq!(r.count().unwrap(), 1);
        assert!(r.get(keep).unwrap().is_some());
    }

    #[test]
    fn a_wipe_destroys_local_data_and_refuses_further_work() {
        let dir = tempfile::tempdir().unwrap();
        let r = replica(&dir, "a.db");
        r.create(Kind::Citizen, "07132", citizen_fields("F"), NOW)
            .unwrap();
        let mut reply = SyncReply::empty(NOW);
        reply.wipe = true;
        assert!(r.apply_reply(&reply, NOW).unwrap().wiped);
        assert_eq!(r.count().unwrap(), 0);
        assert!(r.is_wiped().unwrap());
        assert!(matches!(
            r.create(Kind::Citizen, "07132", citizen_fields("G"), NOW),
            Err(ReplicaError::Wiped)
        ));
        drop(r);
        let reopened = replica(&dir, "a.db");
        assert!(reopened.is_wiped().unwrap(), "the wipe survives a restart");
    }

    #[test]
    fn an_officer_cannot_accept_an_application_even_offline() {
        let dir = tempfile::tempdir().unwrap();
        let r = replica(&dir, "a.db");
        r.set_session(&Session {
            user: "o".into(),
            role: Role::Officer,
            units: vec!["07132".into()],
        })
        .unwrap();
        let citizen = r
            .create(Kind::Citizen, "07132", citizen_fields("H"), NOW)
            .unwrap()
            .record
            .id;
        let app = r
            .create(
                Kind::CccdApplication,
                "07132",
                Fields::from([
                    ("citizen_id".into(), Value::from(citizen.to_string())),
                    ("request_type".into(), Value::from("replacement")),
                    ("id_number".into(), Value::from("022085001234")),
                    ("status".into(), Value::from("submitted")),
                ]),
                NOW,
            )
            .unwrap()
            .record
            .id;
        let err = r
            .update(
                app,
                &[Edit::Set {
                    field: "status".into(),
                    value: "accepted".into(),
                }],
                NOW,
            )
            .unwrap_err();
        assert!(
            matches!(
                &err,
                ReplicaError::StatusNotAllowed { role: Role::Officer, kind: Kind::CccdApplication, from: Some(f), to }
                    if f == "submitted" && to == "accepted"
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_record_created_without_a_status_starts_in_its_first_status() {
        let dir = tempfile::tempdir().unwrap();
        let r = replica(&dir, "a.db");
        r.set_session(&Session {
            user: "o".into(),
            role: Role::Officer,
            units: vec!["07132".into()],
        })
        .unwrap();
        let app = r
            .create(Kind::CccdApplication, "07132", Fields::new(), NOW)
            .unwrap();
        assert_eq!(app.record.status(), Some("draft"));
        let person = r
            .create(Kind::Citizen, "07132", Fields::new(), NOW)
            .unwrap();
        assert_eq!(person.record.status(), Some("active"));
    }

    #[test]
    fn the_directory_keeps_display_names_and_a_login_names_the_device_itself() {
        let dir = tempfile::tempdir().unwrap();
        let a = replica(&dir, "a.db");
        let (b, c) = (replica(&dir, "b.db"), replica(&dir, "c.db"));
        let mut reply = SyncReply::empty(NOW);
        for (phone, name) in [(&b, "Trần Văn Minh"), (&c, "Lê Thị Hà")] {
            let id = phone
                .create(Kind::Citizen, "07132", citizen_fields(name), NOW)
                .unwrap()
                .record
                .id;
            let doc = phone.document(id).unwrap().unwrap();
            reply.pull.push(PullEntry {
                record: id,
                kind: "citizen".into(),
                unit: "07132".into(),
                changes: vec![],
                snapshot: Some(serde_bytes::ByteBuf::from(doc.save())),
                lineage: 0,
                replace: false,
                redacted: Vec::new(),
            });
        }
        let entry = |phone: &Replica, user: &str, display: Option<&str>, device: &str| {
            crate::protocol::ActorInfo {
                actor: serde_bytes::ByteBuf::from(phone.actor_id().to_vec()),
                user: user.into(),
                display_name: display.map(Into::into),
                device_name: device.into(),
            }
        };
        // B's entry from a server with display names, C's from one without.
        reply.actors = vec![
            entry(&b, "minh", Some("Trần Văn Minh"), "Phone B"),
            entry(&c, "ha", None, "Phone C"),
        ];
        a.apply_reply(&reply, NOW).unwrap();
        let names = a
            .actor_names(&[b.actor_id().to_vec(), c.actor_id().to_vec()])
            .unwrap();
        let minh = &names[&b.actor_id().to_vec()];
        assert_eq!(
            (minh.user.as_str(), minh.display_name.as_deref()),
            ("minh", Some("Trần Văn Minh"))
        );
        assert_eq!(minh.device_name, "Phone B");
        assert_eq!(names[&c.actor_id().to_vec()].display_name, None);

        assert_eq!(a.device_name().unwrap(), None, "no login yet");
        a.note_own_name(&tables::ActorName {
            user: "lan".into(),
            display_name: Some("Nguyễn Thị Lan".into()),
            device_name: "Phone A".into(),
        })
        .unwrap();
        assert_eq!(a.device_name().unwrap().as_deref(), Some("Phone A"));
        let own = a.actor_names(&[a.actor_id().to_vec()]).unwrap();
        assert_eq!(
            own[&a.actor_id().to_vec()].display_name.as_deref(),
            Some("Nguyễn Thị Lan")
        );
    }

    #[test]
    fn a_store_recreated_after_a_wipe_keeps_the_device_identity() {
        let dir = tempfile::tempdir().unwrap();
        let first = replica(&dir, "a.db");
        let identity = (first.device_id(), first.actor_id());
        let again = Replica::open_as(&dir.path().join("b.db"), None, Some(identity)).unwrap();
        assert_eq!((again.device_id(), again.actor_id()), identity);
        drop(again);
        let reopened = Replica::open(&dir.path().join("b.db"), None).unwrap();
        assert_eq!(reopened.device_id(), identity.0);
    }

    #[test]
    fn a_push_respects_the_byte_budget_but_always_sends_one_record() {
        let dir = tempfile::tempdir().unwrap();
        let r = replica(&dir, "a.db");
        for i in 0..10 {
            r.create(
                Kind::Citizen,
                "07132",
                citizen_fields(&format!("Người {i}")),
                NOW,
            )
            .unwrap();
        }
        let tiny = SyncOptions {
            max_push_bytes: 1,
            ..SyncOptions::default()
        };
        assert_eq!(r.prepare_sync(&tiny).unwrap().push.len(), 1);
        assert_eq!(
            r.prepare_sync(&SyncOptions::default()).unwrap().push.len(),
            10
        );
    }

    #[test]
    fn a_bulk_import_is_one_batch_and_refuses_everything_on_one_bad_record() {
        let dir = tempfile::tempdir().unwrap();
        let r = replica(&dir, "a.db");
        let rec = |name: &str| Record {
            id: Uuid::now_v7(),
            kind: Kind::Citizen,
            unit: "07132".into(),
            fields: citizen_fields(name),
        };
        let mut bad = rec("X");
        bad.fields
            .insert("date_of_birth".into(), "1985-02-30".into());
        assert!(r.import(vec![rec("A"), bad], NOW).is_err());
        assert_eq!(r.count().unwrap(), 0);
        assert_eq!(r.import(vec![rec("A"), rec("B")], NOW).unwrap().len(), 2);
        assert_eq!(r.outbox_status().unwrap().pending, 2);
    }
}
