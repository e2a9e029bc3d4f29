//! One Automerge document per record: typed reads and writes, conflicts, history.
//!
//! The root map of every document holds `id`, `kind`, `schema`, `unit` and the kind fields.
//! Text is stored as Automerge *scalar* strings, so a field behaves like a register: two
//! devices writing the same field concurrently leave both values visible through
//! [`RecordDoc::conflicts`], and Automerge's deterministic winner is what [`RecordDoc::read`]
//! returns. Sets (household members) are maps keyed by a stable id and are created together
//! with the record, so concurrent adds on two devices land in the same map object.

use std::collections::{BTreeMap, HashMap};

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{
    ActorId, Automerge, AutomergeError, Change, ChangeHash, ObjId, ObjType, ROOT, ReadDoc,
    ScalarValue, hydrate,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::check::limits;
use crate::model::{self, FieldType, Fields, Kind, Record, SCHEMA_VERSION, Value};

/// Root keys that are not kind fields.
const ROOT_KEYS: [&str; 4] = ["id", "kind", "schema", "unit"];

/// What can go wrong reading or changing a record document.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// The bytes are not an Automerge document or change.
    #[error("not a valid Automerge document or change: {0}")]
    Automerge(#[from] AutomergeError),
    /// A change could not be decoded.
    #[error("not a valid Automerge change")]
    BadChange,
    /// The document does not have the shape of a Ferry record.
    #[error("malformed record document: {0}")]
    Malformed(String),
}

/// One edit of a record, as an officer or an admin makes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Edit {
    /// Set a field. A map value is merged entry by entry into the existing map.
    Set {
        /// The field name.
        field: String,
        /// The new value.
        value: Value,
    },
    /// Remove a field's value.
    Clear {
        /// The field name.
        field: String,
    },
    /// Move the record to another admin unit.
    SetUnit {
        /// The new current admin-unit code.
        unit: String,
    },
    /// Put one entry of a set (e.g. a household member keyed by citizen id).
    PutEntry {
        /// The set field (e.g. `members`).
        field: String,
        /// The stable id of the entry.
        key: String,
        /// The entry itself.
        value: Value,
    },
    /// Remove one entry of a set.
    RemoveEntry {
        /// The set field.
        field: String,
        /// The stable id of the entry.
        key: String,
    },
}

/// Who makes a change, and when: the device's Automerge actor and the wall-clock time.
#[derive(Debug, Clone)]
pub struct Author {
    /// The device's (or server admin's) actor id, registered with the server.
    pub actor: ActorId,
    /// Milliseconds since the Unix epoch.
    pub time_ms: i64,
}

impl Author {
    /// An author with the given actor id bytes and time.
    pub fn new(actor: &[u8], time_ms: i64) -> Self {
        Author {
            actor: ActorId::from(actor),
            time_ms,
        }
    }
}

/// One of several values written concurrently to a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictValue {
    /// The value this writer chose.
    pub value: Value,
    /// Hex of the actor (device) that wrote it.
    pub actor: String,
    /// When it was written, milliseconds since the Unix epoch (the device's clock).
    pub time_ms: i64,
    /// Hex of the change that wrote it.
    pub change: String,
}

/// A field holding more than one concurrent value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldConflict {
    /// Field path: `full_name`, or `members.<citizen id>.relationship` inside a set.
    pub field: String,
    /// Every concurrent value; the first is the one [`RecordDoc::read`] returns.
    pub values: Vec<ConflictValue>,
}

/// One change of one field in a record's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Field path, as in [`FieldConflict::field`]; `unit` for a move between units.
    pub field: String,
    /// Hex of the actor (device) that made the change.
    pub actor: String,
    /// When, milliseconds since the Unix epoch (the device's clock).
    pub time_ms: i64,
    /// Hex of the change.
    pub change: String,
    /// The value before the change (as the author saw it); `None` when unset.
    pub from: Option<Value>,
    /// The value after the change; `None` when cleared.
    pub to: Option<Value>,
}

/// A record's Automerge document.
#[derive(Debug, Clone)]
pub struct RecordDoc {
    doc: Automerge,
}

impl RecordDoc {
    /// Creates the document of a new record in one change authored by `author`.
    ///
    /// The caller validates the record first ([`model::validate`]); this only writes it.
    pub fn create(record: &Record, author: &Author) -> Result<(RecordDoc, Change), DocError> {
        let mut root: HashMap<String, hydrate::Value> = HashMap::new();
        let mut put = |k: &str, v: hydrate::Value| {
            root.insert(k.to_owned(), v);
        };
        put("id", ScalarValue::Str(record.id.to_string().into()).into());
        put("kind", ScalarValue::Str(record.kind.as_str().into()).into());
        put("schema", ScalarValue::Int(SCHEMA_VERSION).into());
        put("unit", ScalarValue::Str(record.unit.as_str().into()).into());
        for (name, value) in &record.fields {
            put(name, to_hydrate(value));
        }
        // Sets exist from the start so that concurrent adds merge into one map object.
        for spec in model::fields_of(record.kind) {
            if matches!(spec.ty, FieldType::Members) && !record.fields.contains_key(spec.name) {
                put(spec.name, hydrate::Value::map());
            }
        }
        let mut doc = Automerge::new().with_actor(author.actor.clone());
        doc.transact_with(
            |_| options(author, "create"),
            |tx| -> Result<(), AutomergeError> {
                tx.init_root_from_hydrate(&hydrate::Map::from(root))
            },
        )
        .map_err(|f| f.error)?;
        let change = doc
            .get_last_local_change()
            .ok_or_else(|| DocError::Malformed("creation produced no change".into()))?;
        Ok((RecordDoc { doc }, change))
    }

    /// Loads a document saved with [`RecordDoc::save`] or received as a snapshot.
    pub fn load(bytes: &[u8]) -> Result<RecordDoc, DocError> {
        // Automerge 0.12 can panic decoding crafted columns (`hexane` unwrapping a short
        // LEB128 number; fuzz corpus `document/found-hexane-leb128-load`): a refusal.
        let doc = std::panic::catch_unwind(|| Automerge::load(bytes))
            .map_err(|_| DocError::Malformed("the document could not be decoded".into()))??;
        Ok(RecordDoc { doc })
    }

    /// An empty document, to be filled by [`RecordDoc::apply_changes`].
    pub fn empty() -> RecordDoc {
        RecordDoc {
            doc: Automerge::new(),
        }
    }

    /// Whether the document holds no change at all.
    pub fn is_empty(&self) -> bool {
        self.doc.is_empty()
    }

    /// Compact save (compressed columns): what the store keeps.
    pub fn save(&self) -> Vec<u8> {
        self.doc.save()
    }

    /// Uncompressed save: what goes into a snapshot on the wire, so that the reply's outer
    /// compression works across many records.
    pub fn save_uncompressed(&self) -> Vec<u8> {
        self.doc.save_nocompress()
    }

    /// The current heads.
    pub fn heads(&self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// Changes not covered by `heads` (all changes for empty heads), in causal order.
    pub fn changes_since(&self, heads: &[ChangeHash]) -> Vec<Change> {
        self.doc.get_changes(heads)
    }

    /// Whether this document already holds the change with this hash.
    pub fn has_change(&self, hash: &ChangeHash) -> bool {
        self.doc.get_change_by_hash(hash).is_some()
    }

    /// Applies changes. Changes whose dependencies are unknown are held back by Automerge and
    /// reported by [`RecordDoc::missing_deps`]. Applying a known change again is a no-op.
    pub fn apply_changes(&mut self, changes: Vec<Change>) -> Result<(), DocError> {
        // Automerge 0.12 can panic applying a crafted change (`op_set2/change/batch.rs`,
        // found by the `push` fuzz target): that is a refusal, and callers drop the document.
        let doc = &mut self.doc;
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| doc.apply_changes(changes)))
            .map_err(|_| DocError::Malformed("the changes could not be applied".into()))??;
        Ok(())
    }

    /// Dependencies referenced by held-back changes but not present.
    pub fn missing_deps(&self) -> Vec<ChangeHash> {
        self.doc.get_missing_deps(&[])
    }

    /// Merges a snapshot (a saved document of the same record) into this document.
    pub fn merge_snapshot(&mut self, bytes: &[u8]) -> Result<(), DocError> {
        // The same decoder as `load`, the same panics (see there): a refusal. A document
        // that panicked mid-merge is not trusted: callers drop it on an error.
        let doc = &mut self.doc;
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| doc.load_incremental(bytes)))
            .map_err(|_| DocError::Malformed("the snapshot could not be decoded".into()))??;
        Ok(())
    }

    /// The record as it reads now (winning values).
    ///
    /// The document's shape is checked first, iteratively ([`RecordDoc::check_shape`]):
    /// Automerge's `hydrate` recurses once per nesting level, so a hostile document nesting
    /// hundreds of maps would overflow the stack before any error could be returned.
    pub fn read(&self) -> Result<Record, DocError> {
        let mut record = record_from_hydrate(&self.hydrate_checked(None)?)?;
        self.merge_concurrent_maps(&mut record, None)?;
        Ok(record)
    }

    /// [`Self::read`] without the shape walk ([`Self::check_shape`]), for a document whose
    /// shape is known to pass it: the server's merged document when the stored one passed
    /// and the applied changes create no object ([`crate::check::Written::objects_made`]
    /// is 0) — then it holds no object the stored document did not hold, at the same depth.
    pub fn read_known_shape(&self) -> Result<Record, DocError> {
        let mut record = record_from_hydrate(&self.doc.hydrate(None))?;
        self.merge_concurrent_maps(&mut record, None)?;
        Ok(record)
    }

    /// Two devices that each created a map field (`members`, `attachments`) offline hold
    /// two concurrent maps under one key; Automerge's reading shows only the winner. Entry
    /// sets are meant to merge, so the reading is the union: every entry of every concurrent
    /// map, the winning map's value where both hold a key (deeply, key by key).
    fn merge_concurrent_maps(
        &self,
        record: &mut Record,
        heads: Option<&[ChangeHash]>,
    ) -> Result<(), DocError> {
        for (key, value) in record.fields.iter_mut() {
            let Value::Map(merged) = value else {
                continue;
            };
            let all = match heads {
                Some(h) => self.doc.get_all_at(ROOT, key.as_str(), h)?,
                None => self.doc.get_all(ROOT, key.as_str())?,
            };
            if all.len() < 2 {
                continue;
            }
            // `get_all` lists the winner last; the others fill in what it lacks.
            for (v, id) in all.iter().rev().skip(1) {
                if !matches!(v, automerge::Value::Object(ObjType::Map)) {
                    continue;
                }
                let hydrated = ReadDoc::hydrate(&self.doc, id, heads)?;
                if let Some(Value::Map(other)) = from_hydrate(&hydrated) {
                    fill_missing(merged, other);
                }
            }
        }
        Ok(())
    }

    /// The record after changes that wrote or deleted only keys of the root map
    /// ([`crate::check::Written::root_only`], creating no object), from `before`, the
    /// reading of the document they were applied to: only the `keys` they wrote are read
    /// again, instead of hydrating every field. The same record as
    /// [`Self::read_known_shape`] would give; `None` when that cannot be told from those
    /// keys alone (one of `id`, `kind`, `schema`, `unit`, or a value that is an object),
    /// and then the caller reads the whole document.
    pub fn read_after_root_writes(
        &self,
        before: &Record,
        keys: &std::collections::BTreeSet<String>,
    ) -> Result<Option<Record>, DocError> {
        let mut after = before.clone();
        for key in keys {
            if ROOT_KEYS.contains(&key.as_str()) {
                return Ok(None);
            }
            match self.doc.get(ROOT, key.as_str())? {
                None => {
                    after.fields.remove(key);
                }
                Some((automerge::Value::Scalar(s), _)) => {
                    let value = scalar(&s).ok_or_else(|| {
                        DocError::Malformed(format!(
                            "field `{key}` holds an unsupported value type"
                        ))
                    })?;
                    after.fields.insert(key.clone(), value);
                }
                Some((automerge::Value::Object(_), _)) => return Ok(None),
            }
        }
        Ok(Some(after))
    }

    /// The record as it read at `heads`.
    pub fn read_at(&self, heads: &[ChangeHash]) -> Result<Record, DocError> {
        let mut record = record_from_hydrate(&self.hydrate_checked(Some(heads))?)?;
        self.merge_concurrent_maps(&mut record, Some(heads))?;
        Ok(record)
    }

    /// Hydrates the root map at `heads` (now for `None`) once its shape is known to be
    /// shallow.
    fn hydrate_checked(&self, heads: Option<&[ChangeHash]>) -> Result<hydrate::Value, DocError> {
        self.check_shape(heads)?;
        Ok(self.doc.hydrate(heads))
    }

    /// Walks the document at `heads` (now for `None`) with an explicit stack, never
    /// recursing, and refuses what a record never holds: objects other than maps, nesting
    /// deeper than [`limits::MAX_DEPTH`], more than [`limits::MAX_OBJECTS`] objects. Every
    /// concurrent value is looked at, not only the winners.
    pub fn check_shape(&self, heads: Option<&[ChangeHash]>) -> Result<(), DocError> {
        let mut stack: Vec<(ObjId, usize)> = vec![(ROOT, 0)];
        let mut objects = 0usize;
        while let Some((obj, depth)) = stack.pop() {
            let keys: Vec<String> = match heads {
                Some(h) => self.doc.keys_at(&obj, h).collect(),
                None => self.doc.keys(&obj).collect(),
            };
            for key in keys {
                let all = match heads {
                    Some(h) => self.doc.get_all_at(&obj, key.as_str(), h)?,
                    None => self.doc.get_all(&obj, key.as_str())?,
                };
                for (value, id) in all {
                    let automerge::Value::Object(ty) = value else {
                        continue;
                    };
                    if ty != ObjType::Map {
                        return Err(DocError::Malformed(
                            "a record holds only maps and scalar values".into(),
                        ));
                    }
                    if depth + 1 > limits::MAX_DEPTH {
                        return Err(DocError::Malformed(format!(
                            "objects nest deeper than {} levels",
                            limits::MAX_DEPTH
                        )));
                    }
                    objects += 1;
                    if objects > limits::MAX_OBJECTS {
                        return Err(DocError::Malformed(format!(
                            "more than {} objects in one record",
                            limits::MAX_OBJECTS
                        )));
                    }
                    stack.push((id, depth + 1));
                }
            }
        }
        Ok(())
    }

    /// Applies `edits` as one change authored by `author`. Writing a value a field already has
    /// is skipped, so no-op edits create no change and no spurious conflict; `Ok(None)` when
    /// nothing changed.
    pub fn edit(&mut self, edits: &[Edit], author: &Author) -> Result<Option<Change>, DocError> {
        self.doc.set_actor(author.actor.clone());
        let before = self.doc.get_heads();
        self.doc
            .transact_with(
                |_| options(author, "edit"),
                |tx| -> Result<(), AutomergeError> {
                    for edit in edits {
                        apply_edit(tx, edit)?;
                    }
                    Ok(())
                },
            )
            .map_err(|f| f.error)?;
        if self.doc.get_heads() == before {
            return Ok(None);
        }
        Ok(self.doc.get_last_local_change())
    }

    /// Every field (and set entry field) that holds concurrent values, with who wrote each.
    pub fn conflicts(&self) -> Vec<FieldConflict> {
        let mut out = Vec::new();
        // The walk below recurses per level: only on a document of a record's shape.
        if self.check_shape(None).is_err() {
            return out;
        }
        self.collect_conflicts(&ROOT, String::new(), &mut out);
        out
    }

    /// [`Self::conflicts`] without the shape walk, for a document whose shape is known to
    /// pass it (the server's stored documents: each passed it when it was stored).
    pub fn conflicts_known_shape(&self) -> Vec<FieldConflict> {
        let mut out = Vec::new();
        self.collect_conflicts(&ROOT, String::new(), &mut out);
        out
    }

    /// One pass over `obj`'s keys: the map range flags a key holding more than one visible
    /// value, and only those keys are read value by value. Seeking every key with `get_all`
    /// cost the server's review detection ≈ 9% of its CPU under a sync load where nearly no
    /// key is in conflict.
    fn collect_conflicts(&self, obj: &ObjId, prefix: String, out: &mut Vec<FieldConflict>) {
        for item in self.doc.map_range(obj, ..) {
            let path = if prefix.is_empty() {
                item.key.to_string()
            } else {
                format!("{prefix}.{}", item.key)
            };
            if item.conflict {
                self.collect_key_conflict(obj, &item.key, path, out, Self::collect_conflicts);
            } else if item.value == automerge::ValueRef::Object(ObjType::Map) {
                self.collect_conflicts(&item.id(), path, out);
            }
        }
    }

    /// The values of one key that holds several: concurrently created maps are read as their
    /// union (a conflict inside any of them still is one), other values are a conflict. The
    /// maps inside are walked with `walk`.
    fn collect_key_conflict(
        &self,
        obj: &ObjId,
        key: &str,
        path: String,
        out: &mut Vec<FieldConflict>,
        walk: fn(&RecordDoc, &ObjId, String, &mut Vec<FieldConflict>),
    ) {
        let Ok(all) = self.doc.get_all(obj, key) else {
            return;
        };
        let all_maps = all
            .iter()
            .all(|(v, _)| matches!(v, automerge::Value::Object(ObjType::Map)));
        if all.len() > 1 && all_maps {
            for (_, id) in &all {
                walk(self, id, path.clone(), out);
            }
            return;
        }
        if all.len() > 1 {
            let values = all
                .iter()
                .rev()
                .map(|(v, id)| ConflictValue {
                    value: self.value_of(v, id).unwrap_or(Value::Text(String::new())),
                    ..self.who(id)
                })
                .collect();
            out.push(FieldConflict {
                field: path.clone(),
                values,
            });
        }
        if let Some((automerge::Value::Object(ObjType::Map), id)) = all.last() {
            walk(self, id, path, out);
        }
    }

    fn value_of(&self, v: &automerge::Value<'_>, id: &ObjId) -> Option<Value> {
        match v {
            automerge::Value::Scalar(s) => scalar(s),
            automerge::Value::Object(_) => {
                from_hydrate(&ReadDoc::hydrate(&self.doc, id, None).ok()?)
            }
        }
    }

    fn who(&self, id: &ObjId) -> ConflictValue {
        let meta = self
            .doc
            .hash_for_opid(id)
            .and_then(|h| self.doc.get_change_meta_by_hash(&h));
        match meta {
            Some(m) => ConflictValue {
                value: Value::Text(String::new()),
                actor: m.actor.to_hex_string(),
                time_ms: crate::time::change_time_ms(m.timestamp),
                change: m.hash.to_string(),
            },
            None => ConflictValue {
                value: Value::Text(String::new()),
                actor: String::new(),
                time_ms: 0,
                change: String::new(),
            },
        }
    }

    /// The record's history, field by field, in causal order of the changes.
    pub fn history(&self) -> Vec<FieldChange> {
        let mut out = Vec::new();
        let hydrated = |heads: &[ChangeHash]| {
            self.hydrate_checked(Some(heads))
                .unwrap_or_else(|_| hydrate::Value::map())
        };
        for change in self.doc.get_changes(&[]) {
            let before = flatten(&hydrated(change.deps()));
            let after = flatten(&hydrated(&[change.hash()]));
            let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                if matches!(key.as_str(), "id" | "kind" | "schema") {
                    continue;
                }
                let (from, to) = (before.get(key), after.get(key));
                // A change that settles a conflict by keeping the value devices already show
                // changes no winner, but it is still a decision worth seeing in history.
                let settles_conflict = from == to
                    && from.is_some()
                    && !key.contains('.')
                    && self.concurrent_values(key, change.deps()) > 1
                    && self.concurrent_values(key, &[change.hash()]) == 1;
                if from != to || settles_conflict {
                    out.push(FieldChange {
                        field: key.clone(),
                        actor: change.actor_id().to_hex_string(),
                        time_ms: crate::time::change_time_ms(change.timestamp()),
                        change: change.hash().to_string(),
                        from: from.cloned(),
                        to: to.cloned(),
                    });
                }
            }
        }
        out
    }

    /// Every key of the record's attachment set (`crate::attachment::FIELD`) as it stands
    /// now, in each of its concurrent values: two devices that both created the set hold two
    /// maps, and what the losing one names is still referred to. Reads the keys only (no
    /// hydration), for the server's garbage collection of blobs.
    pub fn attachment_hashes(&self) -> Result<Vec<String>, DocError> {
        let mut out = Vec::new();
        for (value, obj) in self.doc.get_all(ROOT, crate::attachment::FIELD)? {
            if matches!(value, automerge::Value::Object(ObjType::Map)) {
                out.extend(self.doc.keys(&obj));
            }
        }
        Ok(out)
    }

    fn concurrent_values(&self, key: &str, heads: &[ChangeHash]) -> usize {
        self.doc
            .get_all_at(ROOT, key, heads)
            .map_or(0, |values| values.len())
    }

    /// Actor ids (hex) of every change in the document, with the change hash.
    pub fn change_actors(&self) -> Vec<(ChangeHash, ActorId)> {
        self.doc
            .get_changes_meta(&[])
            .into_iter()
            .map(|m| (m.hash, m.actor.into_owned()))
            .collect()
    }

    /// A copy to try changes on before accepting them.
    pub fn fork(&self) -> RecordDoc {
        RecordDoc {
            doc: self.doc.fork(),
        }
    }

    /// The underlying Automerge document, for callers that need the full API.
    pub fn automerge(&self) -> &Automerge {
        &self.doc
    }
}

/// Decodes one change from its wire bytes.
///
/// Ferry sends changes uncompressed ([`encode_change`]), but Automerge also reads a
/// deflate-compressed change chunk, inflating it without a limit: a few KiB could become
/// gigabytes. A compressed chunk is therefore inflated here first, counting, and refused when
/// it would exceed [`limits::MAX_CHANGE_BYTES`].
pub fn decode_change(bytes: &[u8]) -> Result<Change, DocError> {
    if let Some(deflated) = compressed_chunk_data(bytes) {
        use std::io::Read;
        let limit = limits::MAX_CHANGE_BYTES as u64;
        let mut inflater = flate2::read::DeflateDecoder::new(deflated).take(limit + 1);
        let inflated =
            std::io::copy(&mut inflater, &mut std::io::sink()).map_err(|_| DocError::BadChange)?;
        if inflated > limit {
            return Err(DocError::BadChange);
        }
    }
    // Automerge 0.12 can panic on some malformed chunks (an `unwrap` in `types.rs`, found by
    // the `request` fuzz target): a panic is a refusal like any other decoding error.
    std::panic::catch_unwind(|| Change::try_from(bytes))
        .map_err(|_| DocError::BadChange)?
        .map_err(|_| DocError::BadChange)
}

/// The deflated data of a compressed change chunk (magic, 4-byte checksum, chunk type 2,
/// LEB128 length, data); `None` for any other chunk.
fn compressed_chunk_data(bytes: &[u8]) -> Option<&[u8]> {
    const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
    const COMPRESSED: u8 = 2;
    if bytes.len() < 9 || bytes[..4] != MAGIC || bytes[8] != COMPRESSED {
        return None;
    }
    let mut len: u64 = 0;
    for (i, b) in bytes[9..].iter().take(10).enumerate() {
        len |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            let start = 9 + i + 1;
            let end = start
                .saturating_add(usize::try_from(len).ok()?)
                .min(bytes.len());
            return Some(&bytes[start..end]);
        }
    }
    None
}

/// The wire and storage bytes of a change: Automerge's uncompressed change chunk.
///
/// Automerge can deflate a single change, but that costs ≈ 40 µs a change and compresses
/// poorly on small changes; request and reply bodies are compressed whole (zstd), which
/// compresses across many changes far better.
pub fn encode_change(change: &mut Change) -> Vec<u8> {
    change.raw_bytes().to_vec()
}

fn options(author: &Author, message: &str) -> CommitOptions {
    CommitOptions::default()
        .with_message(message.to_owned())
        .with_time(author.time_ms)
}

fn apply_edit<T: Transactable>(tx: &mut T, edit: &Edit) -> Result<(), AutomergeError> {
    match edit {
        Edit::Set { field, value } => put_value(tx, &ROOT, field, value),
        Edit::Clear { field } => {
            if tx.get(&ROOT, field.as_str())?.is_some() {
                tx.delete(&ROOT, field.as_str())?;
            }
            Ok(())
        }
        Edit::SetUnit { unit } => put_value(tx, &ROOT, "unit", &Value::Text(unit.clone())),
        Edit::PutEntry { field, key, value } => {
            let set = ensure_map(tx, &ROOT, field)?;
            put_value(tx, &set, key, value)
        }
        Edit::RemoveEntry { field, key } => {
            // From every concurrent map that holds it: the reading is their union.
            let sets: Vec<ObjId> = tx
                .get_all(&ROOT, field.as_str())?
                .into_iter()
                .filter(|(v, _)| matches!(v, automerge::Value::Object(ObjType::Map)))
                .map(|(_, set)| set)
                .collect();
            for set in sets {
                if tx.get(&set, key.as_str())?.is_some() {
                    tx.delete(&set, key.as_str())?;
                }
            }
            Ok(())
        }
    }
}

fn ensure_map<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
) -> Result<ObjId, AutomergeError> {
    match tx.get(obj, key)? {
        Some((automerge::Value::Object(ObjType::Map), id)) => Ok(id),
        _ => tx.put_object(obj, key, ObjType::Map),
    }
}

/// Writes `value` at `obj[key]` unless it is already there; maps merge entry by entry.
fn put_value<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    value: &Value,
) -> Result<(), AutomergeError> {
    match value {
        Value::Map(entries) => {
            let map = ensure_map(tx, obj, key)?;
            for (k, v) in entries {
                put_value(tx, &map, k, v)?;
            }
            Ok(())
        }
        scalar_value => {
            let current = match tx.get(obj, key)? {
                Some((automerge::Value::Scalar(s), _)) => scalar(&s),
                _ => None,
            };
            // Skip only when there is no conflict at this key: rewriting a conflicting field
            // with one of its values is how a conflict is resolved.
            let conflicted = tx.get_all(obj, key)?.len() > 1;
            if current.as_ref() == Some(scalar_value) && !conflicted {
                return Ok(());
            }
            tx.put(obj, key, to_scalar(scalar_value))
        }
    }
}

fn to_scalar(value: &Value) -> ScalarValue {
    match value {
        Value::Text(s) => ScalarValue::Str(s.as_str().into()),
        Value::Int(i) => ScalarValue::Int(*i),
        Value::Bool(b) => ScalarValue::Boolean(*b),
        Value::Map(_) => ScalarValue::Null,
    }
}

fn to_hydrate(value: &Value) -> hydrate::Value {
    match value {
        Value::Map(entries) => {
            let map: HashMap<String, hydrate::Value> = entries
                .iter()
                .map(|(k, v)| (k.clone(), to_hydrate(v)))
                .collect();
            hydrate::Value::Map(hydrate::Map::from(map))
        }
        other => hydrate::Value::Scalar(to_scalar(other)),
    }
}

/// A scalar as a record value; `None` for types a record never holds (floats, bytes,
/// counters, timestamps, null).
pub fn scalar_value(s: &ScalarValue) -> Option<Value> {
    scalar(s)
}

fn scalar(s: &ScalarValue) -> Option<Value> {
    match s {
        ScalarValue::Str(s) => Some(Value::Text(s.to_string())),
        ScalarValue::Int(i) => Some(Value::Int(*i)),
        ScalarValue::Uint(u) => i64::try_from(*u).ok().map(Value::Int),
        ScalarValue::Boolean(b) => Some(Value::Bool(*b)),
        _ => None,
    }
}

/// Converts a hydrated value; `None` for shapes a record never holds (lists, text objects,
/// floats, bytes, counters, null).
fn from_hydrate(value: &hydrate::Value) -> Option<Value> {
    match value {
        hydrate::Value::Scalar(s) => scalar(s),
        hydrate::Value::Map(m) => {
            let mut out = BTreeMap::new();
            for (k, v) in m.iter() {
                out.insert(k.clone(), from_hydrate(&v.value)?);
            }
            Some(Value::Map(out))
        }
        _ => None,
    }
}

/// Adds to `into` every key of `from` it lacks; where both hold a map, recursively.
fn fill_missing(into: &mut BTreeMap<String, Value>, from: BTreeMap<String, Value>) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (None, value) => {
                into.insert(key, value);
            }
            (Some(Value::Map(mine)), Value::Map(theirs)) => fill_missing(mine, theirs),
            (Some(_), _) => {}
        }
    }
}

fn record_from_hydrate(root: &hydrate::Value) -> Result<Record, DocError> {
    let hydrate::Value::Map(map) = root else {
        return Err(DocError::Malformed("root is not a map".into()));
    };
    let text = |key: &str| -> Result<String, DocError> {
        match map.get(key) {
            Some(hydrate::Value::Scalar(ScalarValue::Str(s))) => Ok(s.to_string()),
            _ => Err(DocError::Malformed(format!("missing or non-text `{key}`"))),
        }
    };
    let id = Uuid::parse_str(&text("id")?)
        .map_err(|_| DocError::Malformed("`id` is not a UUID".into()))?;
    let kind_name = text("kind")?;
    let kind =
        Kind::parse(&kind_name).ok_or_else(|| DocError::Malformed("unknown record kind".into()))?;
    let unit = text("unit")?;
    let schema = match map.get("schema") {
        Some(hydrate::Value::Scalar(ScalarValue::Int(i))) => Some(*i),
        Some(hydrate::Value::Scalar(ScalarValue::Uint(u))) => i64::try_from(*u).ok(),
        _ => None,
    };
    if schema != Some(SCHEMA_VERSION) {
        return Err(DocError::Malformed(format!(
            "`schema` must be the integer {SCHEMA_VERSION}"
        )));
    }
    let mut fields = Fields::new();
    for (key, v) in map.iter() {
        if ROOT_KEYS.contains(&key.as_str()) {
            continue;
        }
        let value = from_hydrate(&v.value).ok_or_else(|| {
            DocError::Malformed(format!("field `{key}` holds an unsupported value type"))
        })?;
        fields.insert(key.clone(), value);
    }
    Ok(Record {
        id,
        kind,
        unit,
        fields,
    })
}

/// Field path → value, one level into maps (`members.<id>`), for history.
fn flatten(root: &hydrate::Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    if let hydrate::Value::Map(map) = root {
        for (key, v) in map.iter() {
            match &v.value {
                hydrate::Value::Map(inner) => {
                    for (k2, v2) in inner.iter() {
                        if let Some(val) = from_hydrate(&v2.value) {
                            out.insert(format!("{key}.{k2}"), val);
                        }
                    }
                }
                other => {
                    if let Some(val) = from_hydrate(other) {
                        out.insert(key.clone(), val);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn citizen(name: &str) -> Record {
        let mut fields = Fields::new();
        fields.insert("full_name".into(), name.into());
        fields.insert("date_of_birth".into(), "1985-03-02".into());
        fields.insert("sex".into(), "female".into());
        fields.insert("status".into(), "active".into());
        Record {
            id: Uuid::now_v7(),
            kind: Kind::Citizen,
            unit: "07132".into(),
            fields,
        }
    }

    fn author(n: u8, t: i64) -> Author {
        Author::new(&[n; 16], t)
    }

    fn set(field: &str, v: &str) -> Edit {
        Edit::Set {
            field: field.into(),
            value: v.into(),
        }
    }

    #[test]
    fn a_created_record_reads_back_exactly() {
        let rec = citizen("Nguyễn Thị Ánh");
        let (doc, _) = RecordDoc::create(&rec, &author(1, 1000)).unwrap();
        assert_eq!(doc.read().unwrap(), rec);
        let reloaded = RecordDoc::load(&doc.save()).unwrap();
        assert_eq!(reloaded.read().unwrap(), rec);
        assert_eq!(reloaded.heads(), doc.heads());
    }

    #[test]
    fn a_household_starts_with_an_empty_member_set() {
        let rec = Record {
            id: Uuid::now_v7(),
            kind: Kind::Household,
            unit: "07132".into(),
            fields: Fields::new(),
        };
        let (doc, _) = RecordDoc::create(&rec, &author(1, 1)).unwrap();
        assert_eq!(
            doc.read().unwrap().fields.get("members"),
            Some(&Value::Map(BTreeMap::new()))
        );
    }

    #[test]
    fn concurrent_member_adds_on_two_devices_both_survive() {
        let rec = Record {
            id: Uuid::now_v7(),
            kind: Kind::Household,
            unit: "07132".into(),
            fields: Fields::new(),
        };
        let (mut a, _) = RecordDoc::create(&rec, &author(1, 1)).unwrap();
        let mut b = RecordDoc::load(&a.save()).unwrap();
        let entry = |rel: &str| Value::Map(BTreeMap::from([("relationship".into(), rel.into())]));
        let ca = a
            .edit(
                &[Edit::PutEntry {
                    field: "members".into(),
                    key: "m1".into(),
                    value: entry("head"),
                }],
                &author(1, 2),
            )
            .unwrap()
            .unwrap();
        let cb = b
            .edit(
                &[Edit::PutEntry {
                    field: "members".into(),
                    key: "m2".into(),
                    value: entry("child"),
                }],
                &author(2, 3),
            )
            .unwrap()
            .unwrap();
        a.apply_changes(vec![cb]).unwrap();
        b.apply_changes(vec![ca]).unwrap();
        let members = a.read().unwrap().fields["members"].clone();
        assert_eq!(members.as_map().unwrap().len(), 2);
        assert_eq!(a.read().unwrap(), b.read().unwrap());
    }

    #[test]
    fn two_devices_first_attachments_to_one_record_both_show_and_either_can_be_removed() {
        let (mut a, _) = RecordDoc::create(&citizen("A"), &author(1, 1)).unwrap();
        assert!(a.attachment_hashes().unwrap().is_empty());
        let mut b = a.fork();
        let put = |key: &str| Edit::PutEntry {
            field: crate::attachment::FIELD.into(),
            key: key.into(),
            value: Value::Map(BTreeMap::from([("kind".into(), "portrait".into())])),
        };
        // Each device creates the set with its first attachment: two concurrent maps.
        let ca = a.edit(&[put("aa")], &author(1, 2)).unwrap().unwrap();
        let cb = b.edit(&[put("bb")], &author(2, 3)).unwrap().unwrap();
        a.apply_changes(vec![cb]).unwrap();
        b.apply_changes(vec![ca]).unwrap();
        let mut hashes = a.attachment_hashes().unwrap();
        hashes.sort();
        assert_eq!(hashes, ["aa", "bb"]);
        let shown = |d: &RecordDoc| -> Vec<String> {
            let read = d.read().unwrap().fields[crate::attachment::FIELD].clone();
            read.as_map().unwrap().keys().cloned().collect()
        };
        assert_eq!(
            shown(&a),
            ["aa", "bb"],
            "the reading is the union of both maps"
        );
        assert_eq!(a.read().unwrap(), b.read().unwrap());
        assert_eq!(a.read().unwrap(), a.read_known_shape().unwrap());
        assert!(
            a.conflicts().is_empty(),
            "two sets merged are not a conflict"
        );
        // Removing the entry the losing map holds takes it out of the reading.
        let remove = |key: &str| Edit::RemoveEntry {
            field: crate::attachment::FIELD.into(),
            key: key.into(),
        };
        a.edit(&[remove("aa")], &author(1, 4)).unwrap().unwrap();
        a.edit(&[remove("bb")], &author(1, 5)).unwrap().unwrap();
        assert!(a.attachment_hashes().unwrap().is_empty());
        let after = a.read().unwrap().fields[crate::attachment::FIELD].clone();
        assert!(after.as_map().unwrap().is_empty());
        // A third attachment after both are gone shows alone.
        a.edit(&[put("cc")], &author(1, 6)).unwrap().unwrap();
        assert_eq!(shown(&a), ["cc"]);
    }

    #[test]
    fn two_devices_adding_the_first_members_of_a_household_offline_keep_both_members() {
        let (mut a, _) = RecordDoc::create(&citizen("A"), &author(1, 1)).unwrap();
        let mut b = a.fork();
        let member = |key: &str, role: &str| Edit::PutEntry {
            field: "members".into(),
            key: key.into(),
            value: Value::Map(BTreeMap::from([("role".into(), role.into())])),
        };
        let ca = a
            .edit(&[member("m1", "head")], &author(1, 2))
            .unwrap()
            .unwrap();
        let cb = b
            .edit(&[member("m2", "child")], &author(2, 3))
            .unwrap()
            .unwrap();
        a.apply_changes(vec![cb]).unwrap();
        b.apply_changes(vec![ca]).unwrap();
        let at = a.automerge().get_heads();
        for reading in [
            a.read().unwrap(),
            b.read().unwrap(),
            a.read_at(&at).unwrap(),
        ] {
            let members = reading.fields["members"].as_map().unwrap().clone();
            assert_eq!(members.keys().collect::<Vec<_>>(), ["m1", "m2"]);
        }
    }

    #[test]
    fn concurrent_writes_to_one_field_show_every_value_with_its_author() {
        let (mut a, _) = RecordDoc::create(&citizen("A"), &author(1, 1)).unwrap();
        let mut b = a.fork();
        let ca = a
            .edit(&[set("date_of_birth", "1985-03-03")], &author(1, 10))
            .unwrap()
            .unwrap();
        let cb = b
            .edit(&[set("date_of_birth", "1986-03-02")], &author(2, 20))
            .unwrap()
            .unwrap();
        a.apply_changes(vec![cb]).unwrap();
        b.apply_changes(vec![ca]).unwrap();
        let conflicts = a.conflicts();
        assert_eq!(a.conflicts_known_shape(), conflicts);
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].field, "date_of_birth");
        let mut seen: Vec<(String, i64)> = conflicts[0]
            .values
            .iter()
            .map(|v| (v.value.as_text().unwrap().to_owned(), v.time_ms))
            .collect();
        seen.sort();
        assert_eq!(
            seen,
            vec![("1985-03-03".to_owned(), 10), ("1986-03-02".to_owned(), 20)]
        );
        // The winner read is the first value listed, identically on both replicas.
        let winner = a.read().unwrap().fields["date_of_birth"].clone();
        assert_eq!(conflicts[0].values[0].value, winner);
        assert_eq!(b.read().unwrap(), a.read().unwrap());
        assert_eq!(b.conflicts(), conflicts);
    }

    #[test]
    fn rewriting_a_conflicting_field_resolves_the_conflict() {
        let (mut a, _) = RecordDoc::create(&citizen("A"), &author(1, 1)).unwrap();
        let mut b = a.fork();
        let ca = a
            .edit(&[set("sex", "male")], &author(1, 2))
            .unwrap()
            .unwrap();
        let cb = b
            .edit(&[set("sex", "unknown")], &author(2, 2))
            .unwrap()
            .unwrap();
        a.apply_changes(vec![cb]).unwrap();
        b.apply_changes(vec![ca]).unwrap();
        assert_eq!(a.conflicts().len(), 1);
        let winner = a.read().unwrap().text("sex").unwrap().to_owned();
        let resolution = a.edit(&[set("sex", &winner)], &author(9, 3)).unwrap();
        assert!(resolution.is_some(), "resolving must write a change");
        b.apply_changes(vec![resolution.unwrap()]).unwrap();
        assert!(a.conflicts().is_empty());
        assert!(b.conflicts().is_empty());
        // The decision shows in history even though the value read did not change.
        let decision = a.history().into_iter().rfind(|h| h.field == "sex").unwrap();
        assert_eq!(
            decision.actor,
            ActorId::from(&[9u8; 16][..]).to_hex_string()
        );
        assert_eq!(decision.from, decision.to);
    }

    #[test]
    fn an_edit_that_changes_nothing_makes_no_change() {
        let (mut a, _) = RecordDoc::create(&citizen("A"), &author(1, 1)).unwrap();
        assert!(
            a.edit(&[set("sex", "female")], &author(1, 2))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn history_says_who_changed_which_field_from_what_to_what() {
        let (mut a, _) = RecordDoc::create(&citizen("Lê Văn Tám"), &author(1, 100)).unwrap();
        a.edit(&[set("full_name", "Lê Văn Tâm")], &author(2, 200))
            .unwrap();
        let history = a.history();
        let name_changes: Vec<_> = history.iter().filter(|h| h.field == "full_name").collect();
        assert_eq!(name_changes.len(), 2);
        assert_eq!(name_changes[0].from, None);
        assert_eq!(name_changes[1].from, Some("Lê Văn Tám".into()));
        assert_eq!(name_changes[1].to, Some("Lê Văn Tâm".into()));
        assert_eq!(
            name_changes[1].actor,
            ActorId::from(&[2u8; 16][..]).to_hex_string()
        );
        assert_eq!(name_changes[1].time_ms, 200);
    }

    #[test]
    fn changes_since_heads_carry_only_what_is_new_and_merge_idempotently() {
        let (mut a, first) = RecordDoc::create(&citizen("A"), &author(1, 1)).unwrap();
        let heads = a.heads();
        a.edit(&[set("notes", "x")], &author(1, 2)).unwrap();
        let new = a.changes_since(&heads);
        assert_eq!(new.len(), 1);
        let mut b = RecordDoc::empty();
        b.apply_changes(vec![first]).unwrap();
        b.apply_changes(new.clone()).unwrap();
        b.apply_changes(new).unwrap();
        assert_eq!(b.heads(), a.heads());
        let mut c = RecordDoc::empty();
        c.merge_snapshot(&a.save_uncompressed()).unwrap();
        c.merge_snapshot(&a.save()).unwrap();
        assert_eq!(c.read().unwrap(), a.read().unwrap());
    }

    #[test]
    fn a_change_whose_parent_is_unknown_is_held_back_as_missing() {
        let (mut a, _) = RecordDoc::create(&citizen("A"), &author(1, 1)).unwrap();
        let second = a
            .edit(&[set("notes", "x")], &author(1, 2))
            .unwrap()
            .unwrap();
        let mut b = RecordDoc::empty();
        b.apply_changes(vec![second]).unwrap();
        assert_eq!(b.missing_deps().len(), 1);
    }

    /// A household document whose `members` nests `depth` maps, built with Automerge
    /// directly (no Ferry write path would make it).
    fn nested_household(depth: usize) -> RecordDoc {
        let mut doc = Automerge::new();
        doc.transact(|tx| -> Result<(), AutomergeError> {
            tx.put(ROOT, "id", Uuid::now_v7().to_string())?;
            tx.put(ROOT, "kind", "household")?;
            tx.put(ROOT, "schema", ScalarValue::Int(SCHEMA_VERSION))?;
            tx.put(ROOT, "unit", "07132")?;
            let mut obj = tx.put_object(ROOT, "members", ObjType::Map)?;
            for _ in 0..depth {
                obj = tx.put_object(&obj, "m", ObjType::Map)?;
            }
            Ok(())
        })
        .unwrap();
        RecordDoc { doc }
    }

    /// Runs `f` on a thread with the stack of a tokio blocking thread (2 MiB).
    fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn a_document_nesting_thousands_of_maps_is_refused_without_recursing() {
        let refused = on_small_stack(|| {
            let doc = nested_household(5_000);
            let read = doc.read().map(|_| ()).map_err(|e| e.to_string());
            let history = doc.history().len();
            let conflicts = doc.conflicts().len();
            (read, history, conflicts)
        });
        let (read, _, conflicts) = refused;
        assert!(read.unwrap_err().contains("nest"));
        assert_eq!(conflicts, 0);
    }

    #[test]
    fn a_member_entry_is_as_deep_as_a_record_goes() {
        assert!(nested_household(1).read().is_ok());
        assert!(nested_household(2).read().is_err());
    }

    #[test]
    fn a_compressed_change_that_inflates_past_the_limit_is_refused_before_decoding() {
        let mut doc = Automerge::new();
        doc.transact(|tx| tx.put(ROOT, "notes", "x".repeat(limits::MAX_CHANGE_BYTES + 1)))
            .unwrap();
        let mut change = doc.get_last_local_change().unwrap();
        let wire = change.bytes().into_owned();
        assert!(wire.len() < 16 * 1024, "deflated to {} bytes", wire.len());
        assert!(matches!(decode_change(&wire), Err(DocError::BadChange)));
        // Under the limit a compressed change decodes as before.
        let mut small = Automerge::new();
        small
            .transact(|tx| tx.put(ROOT, "notes", "x".repeat(4000)))
            .unwrap();
        let mut change = small.get_last_local_change().unwrap();
        let wire = change.bytes().into_owned();
        assert!(compressed_chunk_data(&wire).is_some());
        assert_eq!(decode_change(&wire).unwrap().hash(), change.hash());
    }

    #[test]
    fn garbage_bytes_are_an_error_not_a_panic() {
        assert!(RecordDoc::load(b"\x85\x6f\x4a\x83garbage").is_err());
        assert!(decode_change(b"").is_err());
        assert!(decode_change(&[0x85, 0x6f, 0x4a, 0x83, 1, 2, 3]).is_err());
    }

    fn edit_of(choice: u8, n: u8) -> Edit {
        let fields = ["full_name", "sex", "date_of_birth", "status"];
        let field = fields[n as usize % fields.len()].to_string();
        match choice % 6 {
            0 | 1 => Edit::Set {
                field,
                value: format!("giá trị {n}").into(),
            },
            2 => Edit::Set {
                field,
                value: "1990-01-0{n}".into(),
            },
            3 => Edit::Clear { field },
            4 => Edit::SetUnit {
                unit: format!("0713{}", n % 3),
            },
            _ => Edit::PutEntry {
                field: "attachments".into(),
                key: format!("{n:064x}"),
                value: Value::Map([("kind".to_string(), Value::from("portrait"))].into()),
            },
        }
    }

    proptest::proptest! {
        #[test]
        fn reading_only_the_written_root_keys_gives_the_record_a_whole_read_gives(
            stored in proptest::collection::vec((0u8..6, 0u8..8), 0..6),
            pushed in proptest::collection::vec((0u8..6, 0u8..8), 1..6),
        ) {
            let (common, _) = RecordDoc::create(&citizen("Lê Văn Tám"), &author(1, 1)).unwrap();
            // The server's copy got one device's edits; another device edited concurrently.
            let mut base = common.fork();
            for (c, n) in &stored {
                base.edit(&[edit_of(*c, *n)], &author(2, 2)).unwrap();
            }
            let mut device = common.fork();
            for (c, n) in &pushed {
                device.edit(&[edit_of(*c, *n)], &author(3, 3)).unwrap();
            }
            let changes = device.changes_since(&common.heads());
            let written = crate::check::check_changes(Kind::Citizen, &base, &changes);
            proptest::prop_assume!(written.is_ok(), "refused before it is read");
            let written = written.unwrap();
            let before = base.read_known_shape().unwrap();
            let mut merged = base.fork();
            merged.apply_changes(changes).unwrap();
            let whole = merged.read_known_shape().unwrap();
            if written.objects_made == 0
                && written.root_only
                && let Some(quick) = merged.read_after_root_writes(&before, &written.root_keys).unwrap()
            {
                proptest::prop_assert_eq!(quick, whole);
            }
        }
    }

    /// The walk before the single-pass one: `get_all` on every key, as the reference.
    fn conflicts_key_by_key(
        doc: &RecordDoc,
        obj: &ObjId,
        prefix: String,
        out: &mut Vec<FieldConflict>,
    ) {
        for key in doc.doc.keys(obj) {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            doc.collect_key_conflict(obj, &key, path, out, conflicts_key_by_key);
        }
    }

    /// An edit by replica `r`: fields, entries and entry values that replicas write
    /// concurrently (so scalar conflicts, concurrently created entries and conflicts inside
    /// an entry all occur).
    fn concurrent_edit_of(r: u8, choice: u8, n: u8) -> Edit {
        match choice % 4 {
            0 => Edit::PutEntry {
                field: "attachments".into(),
                key: format!("{:064x}", n % 3),
                value: Value::Map(
                    [
                        ("kind".to_string(), Value::from(format!("portrait {r}"))),
                        ("note".to_string(), Value::from("giống nhau")),
                    ]
                    .into(),
                ),
            },
            1 => Edit::RemoveEntry {
                field: "attachments".into(),
                key: format!("{:064x}", n % 3),
            },
            _ => edit_of(choice, n.wrapping_add(r)),
        }
    }

    proptest::proptest! {
        #[test]
        fn the_single_pass_conflict_walk_finds_what_reading_every_key_finds(
            edits in proptest::collection::vec(
                proptest::collection::vec((0u8..6, 0u8..8), 0..5), 3),
            rounds in 1usize..3,
        ) {
            let (common, _) = RecordDoc::create(&citizen("Lê Văn Tám"), &author(1, 1)).unwrap();
            let mut replicas: Vec<RecordDoc> = (0..3).map(|_| common.fork()).collect();
            for round in 0..rounds {
                for (r, doc) in replicas.iter_mut().enumerate() {
                    for (c, n) in &edits[r] {
                        let _ = doc.edit(
                            &[concurrent_edit_of(r as u8, *c, n.wrapping_add(round as u8))],
                            &author(r as u8 + 2, 2),
                        );
                    }
                }
                // Every replica merges every other's changes.
                let all: Vec<_> = replicas.iter().map(|d| d.changes_since(&common.heads())).collect();
                for doc in replicas.iter_mut() {
                    for changes in &all {
                        doc.apply_changes(changes.clone()).unwrap();
                    }
                }
            }
            for doc in &replicas {
                let mut reference = Vec::new();
                conflicts_key_by_key(doc, &ROOT, String::new(), &mut reference);
                proptest::prop_assert_eq!(doc.conflicts_known_shape(), reference);
            }
        }
    }

    #[test]
    fn a_scalar_edit_is_read_from_the_written_key_and_an_entry_or_a_move_reads_everything() {
        let (base, _) = RecordDoc::create(&citizen("Lê Văn Tám"), &author(1, 1)).unwrap();
        let before = base.read_known_shape().unwrap();
        let quick = |edit: Edit| {
            let mut d = base.fork();
            d.edit(&[edit], &author(2, 2)).unwrap();
            let c = d.changes_since(&base.heads());
            let w = crate::check::check_changes(Kind::Citizen, &base, &c).unwrap();
            (
                w.root_only,
                d.read_after_root_writes(&before, &w.root_keys).unwrap(),
            )
        };
        let (root_only, after) = quick(set("full_name", "Lê Văn Tâm"));
        assert!(root_only);
        assert_eq!(after.unwrap().text("full_name"), Some("Lê Văn Tâm"));
        assert_eq!(
            quick(Edit::Clear {
                field: "sex".into()
            })
            .1
            .unwrap()
            .text("sex"),
            None
        );
        assert!(
            quick(Edit::SetUnit {
                unit: "07135".into()
            })
            .1
            .is_none(),
            "unit is a root key"
        );
        assert!(
            !quick(edit_of(5, 1)).0,
            "an entry is written inside an object"
        );
    }
}
