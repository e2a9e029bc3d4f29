//! Checks a record's pushed changes operation by operation, *before* they are applied: how
//! many operations, what objects they create and where, and every value they write.
//!
//! Nothing here recurses over the document: object depth is found by following parents
//! upwards at most [`MAX_DEPTH`] + 1 steps, so a change nesting thousands of maps costs a
//! few steps and a refusal, never a deep stack.

use std::collections::{BTreeSet, HashMap};

use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{Change, ObjType, ReadDoc, ScalarValue};

use super::Violation;
use super::limits::{MAX_DEPTH, MAX_KEY_CHARS, MAX_NEW_OBJECTS, MAX_OPS_PER_CHANGE};
use crate::doc::RecordDoc;
use crate::model::{
    self, FieldType, Kind, RELATIONSHIP_NOTE_MAX_CHARS, RELATIONSHIPS, TEXT_MAX_CHARS,
};

/// Where an object sits in a record's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The root map: `id`, `kind`, `schema`, `unit` and the kind fields.
    Root,
    /// A set field (`members`, `previous_id_numbers`): a map of entries keyed by stable id.
    Set,
    /// One entry of a set: `relationship` and `relationship_note`, or `replaced_on` and
    /// `reason`.
    Entry,
}

/// An object created by one of the pushed changes.
#[derive(Debug)]
struct Made {
    parent: ObjectId,
    ty: ObjType,
}

/// Every operation of `changes`, with actors and objects named in full.
///
/// `Change::decode` in Automerge 0.12 unwraps the index of each operation's actor in the
/// change's actor table, and `Change::try_from` does not check those indexes: a change whose
/// operation names an actor it does not list (found by the `push` fuzz target) panics there.
/// Such a change is malformed, refused like one that does not decode.
fn expand(changes: &[Change]) -> Result<Vec<automerge::ExpandedChange>, Violation> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        changes.iter().map(Change::decode).collect::<Vec<_>>()
    }))
    .map_err(|_| Violation::malformed("a change names an actor it does not list"))
}

/// Total operations of `changes` (from each change's metadata).
pub fn count_ops(changes: &[Change]) -> usize {
    changes.iter().map(Change::len).sum()
}

/// Total operations of every decodable change of a request's `push`, counted up to just
/// past `limit` (undecodable changes count 0: the record is refused as `malformed` later).
/// Decoding reads each change's operations once without applying them; the server runs this
/// before it takes the writer, so an operation bomb never holds the single writer.
pub fn count_push_ops(push: &[crate::protocol::PushRecord], limit: usize) -> usize {
    let mut total = 0usize;
    for bytes in push.iter().flat_map(|p| &p.changes) {
        if let Ok(c) = crate::doc::decode_change(bytes) {
            total = total.saturating_add(c.len());
            if total > limit {
                break;
            }
        }
    }
    total
}

/// Checks every operation of a record's pushed `changes` against the schema of `kind`,
/// with `base` the record as stored (empty for a new record):
///
/// - each change has at most [`MAX_OPS_PER_CHANGE`] operations (read from its metadata
///   before any operation is expanded);
/// - objects are maps only, created only as a set field of the root (`members`) or as an
///   entry of a set; at most [`MAX_NEW_OBJECTS`] of them; nothing nests deeper than
///   [`MAX_DEPTH`];
/// - no list insertions, counters or marks;
/// - every value written has the type of its field, and text at most the field's
///   [`max_chars`](crate::model::FieldSpec::max_chars);
/// - root keys are `id`, `kind`, `schema`, `unit` or a field of the kind.
///
/// Every code is `invalid`, except operations on an object the record does not have
/// (`malformed`).
///
/// On success, what the changes write ([`Written`]), which lets the later checks skip work
/// that cannot find anything: with no object created the merged document has no object the
/// stored one did not have, and a value the changes wrote sits at a root key they name.
pub fn check_changes(
    kind: Kind,
    base: &RecordDoc,
    changes: &[Change],
) -> Result<Written, Violation> {
    for c in changes {
        if c.len() > MAX_OPS_PER_CHANGE {
            return Err(Violation::invalid(format!(
                "a change holds {} operations; at most {MAX_OPS_PER_CHANGE} are allowed",
                c.len()
            )));
        }
    }
    let expanded = expand(changes)?;
    let mut made: HashMap<OpId, Made> = HashMap::new();
    for ex in &expanded {
        let start = ex.start_op.get();
        for (i, op) in ex.operations.iter().enumerate() {
            if let OpType::Make(ty) = op.action {
                let id = OpId(start + i as u64, ex.actor_id.clone());
                made.insert(
                    id,
                    Made {
                        parent: op.obj.clone(),
                        ty,
                    },
                );
            }
        }
    }
    let mut levels: HashMap<OpId, Level> = HashMap::new();
    let mut root_keys: BTreeSet<String> = BTreeSet::new();
    let mut root_only = true;
    for ex in &expanded {
        for op in &ex.operations {
            root_only &= matches!(op.obj, ObjectId::Root);
            let level = match &op.obj {
                ObjectId::Root => {
                    if let Key::Map(key) = &op.key {
                        root_keys.insert(key.to_string());
                    }
                    Level::Root
                }
                ObjectId::Id(id) => match levels.get(id) {
                    Some(l) => *l,
                    None => {
                        let l = level_of(id, &made, base)?;
                        levels.insert(id.clone(), l);
                        l
                    }
                },
            };
            check_op(kind, level, op)?;
        }
    }
    // Counted after the shape check so that a deep chain is reported as too deep.
    if made.len() > MAX_NEW_OBJECTS {
        return Err(Violation::invalid(format!(
            "the changes create more than {MAX_NEW_OBJECTS} objects in one record"
        )));
    }
    Ok(Written {
        objects_made: made.len(),
        root_keys,
        root_only,
    })
}

/// What a record's pushed changes write, from [`check_changes`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// Objects the changes create (each a map, at a place the schema allows).
    pub objects_made: usize,
    /// Every key of the root map an operation of the changes writes or deletes.
    pub root_keys: BTreeSet<String>,
    /// Every operation writes or deletes a key of the root map (none is inside an object).
    pub root_only: bool,
}

/// The level of object `id`: followed up through objects made by the push and then the
/// stored document, at most `MAX_DEPTH + 1` steps.
fn level_of(id: &OpId, made: &HashMap<OpId, Made>, base: &RecordDoc) -> Result<Level, Violation> {
    let mut depth = 0usize;
    let mut cur = ObjectId::Id(id.clone());
    while let ObjectId::Id(op) = &cur {
        if depth > MAX_DEPTH {
            return Err(too_deep());
        }
        match made.get(op) {
            Some(m) => {
                if m.ty != ObjType::Map {
                    return Err(not_a_map());
                }
                depth += 1;
                cur = m.parent.clone();
            }
            None => {
                depth += stored_depth(op, base)?;
                break;
            }
        }
    }
    match depth {
        1 => Ok(Level::Set),
        2 => Ok(Level::Entry),
        _ => Err(too_deep()),
    }
}

/// Depth of an object of the stored document (1 for a child of the root), counting at most
/// `MAX_DEPTH + 1` parents.
fn stored_depth(op: &OpId, base: &RecordDoc) -> Result<usize, Violation> {
    let doc = base.automerge();
    let unknown =
        || Violation::malformed("a change writes into an object the record does not have");
    let obj = doc
        .import_obj(&format!("{}@{}", op.counter(), op.actor().to_hex_string()))
        .map_err(|_| unknown())?;
    if doc.object_type(&obj).map_err(|_| unknown())? != ObjType::Map {
        return Err(not_a_map());
    }
    let parents = doc.parents(&obj).map_err(|_| unknown())?;
    Ok(parents.take(MAX_DEPTH + 2).count())
}

fn too_deep() -> Violation {
    Violation::invalid(format!(
        "objects nest deeper than the schema allows (at most {MAX_DEPTH} levels)"
    ))
}

fn not_a_map() -> Violation {
    Violation::invalid("a record holds only maps and scalar values (no lists or text objects)")
}

/// Checks one operation on an object at `level`.
fn check_op(kind: Kind, level: Level, op: &automerge::legacy::Op) -> Result<(), Violation> {
    if op.insert {
        return Err(not_a_map());
    }
    let Key::Map(key) = &op.key else {
        return Err(not_a_map());
    };
    let key = key.as_str();
    match &op.action {
        OpType::Delete => return Ok(()),
        OpType::Increment(_) | OpType::MarkBegin(_) | OpType::MarkEnd(_) => {
            return Err(Violation::invalid(
                "counters and marks are not part of a record",
            ));
        }
        OpType::Make(ty) if *ty != ObjType::Map => return Err(not_a_map()),
        _ => {}
    }
    let make = matches!(op.action, OpType::Make(_));
    let put = match &op.action {
        OpType::Put(v) => Some(v),
        _ => None,
    };
    match level {
        Level::Root => match key {
            "id" | "kind" | "unit" => match put {
                Some(ScalarValue::Str(s)) => text_within(key, s, MAX_KEY_CHARS),
                _ => Err(wrong_type(key)),
            },
            "schema" => match put {
                Some(ScalarValue::Int(_) | ScalarValue::Uint(_)) => Ok(()),
                _ => Err(wrong_type(key)),
            },
            _ => {
                let Some(spec) = model::field_spec(kind, key) else {
                    return Err(Violation::invalid(format!(
                        "a change writes `{}`, which is not a field of a {kind}",
                        key.chars().take(40).collect::<String>()
                    )));
                };
                // A sensitive value never enters a document (protocol §12): it would reach
                // every device of the unit with the record's history. Deleting one (an old
                // document's value) is fine.
                if put.is_some() && model::sensitivity::is_sensitive(kind, key) {
                    return Err(Violation::invalid(format!(
                        "`{key}` is a sensitive field: it is sent as a sensitive write, never \
                         in the record's document"
                    )));
                }
                match (spec.ty, put) {
                    (
                        FieldType::Members | FieldType::PreviousIdNumbers | FieldType::Attachments,
                        None,
                    ) if make => Ok(()),
                    (FieldType::Int, Some(ScalarValue::Int(_) | ScalarValue::Uint(_))) => Ok(()),
                    (FieldType::Bool, Some(ScalarValue::Boolean(_))) => Ok(()),
                    // A decimal is a whole number or text such as "7.5" (`FieldType::Decimal`).
                    (FieldType::Decimal, Some(ScalarValue::Int(_) | ScalarValue::Uint(_))) => {
                        Ok(())
                    }
                    (
                        FieldType::Int
                        | FieldType::Bool
                        | FieldType::Members
                        | FieldType::PreviousIdNumbers
                        | FieldType::Attachments,
                        _,
                    ) => Err(wrong_type(key)),
                    (_, Some(ScalarValue::Str(s))) => text_within(key, s, spec.max_chars),
                    _ => Err(wrong_type(key)),
                }
            }
        },
        Level::Set => {
            if key.chars().count() > MAX_KEY_CHARS {
                return Err(Violation::invalid(
                    "a member key is longer than a record id",
                ));
            }
            if make {
                Ok(())
            } else {
                Err(Violation::invalid("every entry of a set is a map"))
            }
        }
        Level::Entry => {
            if make {
                return Err(too_deep());
            }
            // Entries of `attachments` hold integers (size, pixels, time) beside text.
            if let Some((true, _)) = crate::attachment::entry_key(key) {
                return match put {
                    Some(ScalarValue::Int(_) | ScalarValue::Uint(_)) => Ok(()),
                    _ => Err(wrong_type(key)),
                };
            }
            let max = match key {
                "relationship" => RELATIONSHIPS.iter().map(|r| r.len()).max().unwrap_or(0),
                "relationship_note" => RELATIONSHIP_NOTE_MAX_CHARS,
                // Entries of `previous_id_numbers`; which set an entry belongs to is checked
                // by `model::validate` once the document reads.
                "replaced_on" => 10,
                "reason" => TEXT_MAX_CHARS,
                _ if crate::attachment::entry_key(key).is_some() => {
                    crate::attachment::entry_key(key).map_or(0, |k| k.1)
                }
                _ => {
                    return Err(Violation::invalid(
                        "a set entry has only relationship and relationship_note (members) \
                         or replaced_on and reason (previous_id_numbers) or an attachment's \
                         metadata (attachments)",
                    ));
                }
            };
            match put {
                Some(ScalarValue::Str(s)) => text_within(key, s, max),
                _ => Err(wrong_type(key)),
            }
        }
    }
}

fn wrong_type(field: &str) -> Violation {
    Violation::invalid(format!(
        "a change writes a value of the wrong type to `{field}`"
    ))
}

/// Refuses text longer than `max` characters (checked on bytes first: a character is at
/// most 4 bytes, so a huge value is refused without counting it).
fn text_within(field: &str, s: &str, max: usize) -> Result<(), Violation> {
    if s.len() > max.saturating_mul(4) || s.chars().count() > max {
        return Err(Violation::invalid(format!(
            "a value of `{field}` is longer than {max} characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{Author, Edit};
    use crate::model::{Fields, Record, Value};
    use automerge::transaction::Transactable;
    use automerge::{ActorId, Automerge, ROOT};
    use std::collections::BTreeMap;
    use uuid::Uuid;

    fn author() -> Author {
        Author::new(&[3; 16], 1)
    }

    #[test]
    fn a_floor_area_in_whole_or_decimal_square_metres_passes_the_operation_checks() {
        for area in [Value::Int(25), Value::Text("7.5".into())] {
            let mut fields = Fields::new();
            fields.insert("procedure".into(), "temporary_registration".into());
            fields.insert("floor_area_m2".into(), area);
            let (_, create) = RecordDoc::create(
                &Record {
                    id: Uuid::now_v7(),
                    kind: Kind::ResidenceDeclaration,
                    unit: "07132".into(),
                    fields,
                },
                &author(),
            )
            .unwrap();
            let empty = RecordDoc::empty();
            assert!(check_changes(Kind::ResidenceDeclaration, &empty, &[create]).is_ok());
        }
    }

    fn household() -> (RecordDoc, Change) {
        let mut fields = Fields::new();
        fields.insert("address".into(), "Tổ 1".into());
        RecordDoc::create(
            &Record {
                id: Uuid::now_v7(),
                kind: Kind::Household,
                unit: "07132".into(),
                fields,
            },
            &author(),
        )
        .unwrap()
    }

    /// One change on top of `base`, written with Automerge directly.
    fn raw_change(
        base: &RecordDoc,
        f: impl FnOnce(
            &mut automerge::transaction::Transaction<'_>,
        ) -> Result<(), automerge::AutomergeError>,
    ) -> Change {
        let mut doc: Automerge = base
            .automerge()
            .fork()
            .with_actor(ActorId::from(&[4u8; 16][..]));
        doc.transact(f).unwrap();
        doc.get_last_local_change().unwrap()
    }

    fn members(doc: &RecordDoc) -> automerge::ObjId {
        match doc.automerge().get(ROOT, "members").unwrap() {
            Some((automerge::Value::Object(_), id)) => id,
            _ => panic!("no members map"),
        }
    }

    #[test]
    fn a_records_own_writes_pass() {
        let (mut doc, create) = household();
        assert!(check_changes(Kind::Household, &RecordDoc::empty(), &[create]).is_ok());
        let base = doc.fork();
        let entry = Value::Map(BTreeMap::from([
            ("relationship".to_owned(), Value::from("head")),
            ("relationship_note".to_owned(), Value::from("chủ hộ")),
        ]));
        let change = doc
            .edit(
                &[Edit::PutEntry {
                    field: "members".into(),
                    key: Uuid::now_v7().to_string(),
                    value: entry,
                }],
                &author(),
            )
            .unwrap()
            .unwrap();
        assert!(check_changes(Kind::Household, &base, &[change]).is_ok());
    }

    #[test]
    fn the_checks_report_the_root_keys_written_and_the_objects_made() {
        let (base, create) = household();
        let made = check_changes(Kind::Household, &RecordDoc::empty(), &[create]).unwrap();
        assert!(made.root_keys.contains("address") && made.root_keys.contains("kind"));
        let set = members(&base);
        let entry = raw_change(&base, |tx| {
            tx.put(ROOT, "notes", "x")?;
            tx.delete(ROOT, "address")?;
            let e = tx.put_object(&set, "m1", ObjType::Map)?;
            tx.put(&e, "relationship", "head")
        });
        let w = check_changes(Kind::Household, &base, &[entry]).unwrap();
        assert_eq!(w.objects_made, 1);
        let keys: Vec<&str> = w.root_keys.iter().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["address", "notes"],
            "keys inside the set are not root keys"
        );
        let plain = raw_change(&base, |tx| tx.put(ROOT, "notes", "y"));
        let w = check_changes(Kind::Household, &base, &[plain]).unwrap();
        assert_eq!(w.objects_made, 0);
    }

    #[test]
    fn a_map_inside_a_member_entry_is_too_deep() {
        let (base, _) = household();
        let set = members(&base);
        let change = raw_change(&base, |tx| {
            let entry = tx.put_object(&set, "m1", ObjType::Map)?;
            tx.put_object(&entry, "deeper", ObjType::Map)?;
            Ok(())
        });
        let v = check_changes(Kind::Household, &base, &[change]).unwrap_err();
        assert!(v.message.contains("nest"), "{v}");
    }

    #[test]
    fn lists_text_objects_and_counters_are_refused() {
        let (base, _) = household();
        for f in [
            (|tx: &mut automerge::transaction::Transaction<'_>| {
                tx.put_object(ROOT, "notes", ObjType::List).map(|_| ())
            })
                as fn(
                    &mut automerge::transaction::Transaction<'_>,
                ) -> Result<(), automerge::AutomergeError>,
            |tx| tx.put_object(ROOT, "notes", ObjType::Text).map(|_| ()),
            |tx| tx.put(ROOT, "notes", automerge::ScalarValue::counter(1)),
            |tx| tx.put(ROOT, "notes", automerge::ScalarValue::F64(1.5)),
        ] {
            let change = raw_change(&base, f);
            let v = check_changes(Kind::Household, &base, &[change]).unwrap_err();
            assert_eq!(v.code, crate::protocol::RejectCode::Invalid, "{v}");
        }
    }

    #[test]
    fn text_longer_than_its_field_allows_is_refused_whatever_field() {
        let (base, _) = household();
        let ok = raw_change(&base, |tx| tx.put(ROOT, "notes", "x".repeat(4_000)));
        assert!(check_changes(Kind::Household, &base, &[ok]).is_ok());
        let long = raw_change(&base, |tx| tx.put(ROOT, "notes", "x".repeat(4_001)));
        let v = check_changes(Kind::Household, &base, &[long]).unwrap_err();
        assert!(v.message.contains("`notes`"), "{v}");
        let address = raw_change(&base, |tx| tx.put(ROOT, "address", "ầ".repeat(1_001)));
        assert!(check_changes(Kind::Household, &base, &[address]).is_err());
        let unknown = raw_change(&base, |tx| tx.put(ROOT, "religion", "x"));
        assert!(check_changes(Kind::Household, &base, &[unknown]).is_err());
    }

    #[test]
    fn a_change_writing_a_sensitive_field_into_a_document_is_refused_and_deleting_one_is_not() {
        let empty = RecordDoc::empty();
        let religion = raw_change(&empty, |tx| tx.put(ROOT, "religion", "Phật giáo"));
        let v = check_changes(Kind::Citizen, &empty, &[religion]).unwrap_err();
        assert_eq!(v.code, crate::protocol::RejectCode::Invalid);
        assert!(v.message.contains("sensitive"), "{v}");
        let iris = raw_change(&empty, |tx| tx.put(ROOT, "iris_taken", true));
        assert!(check_changes(Kind::CccdApplication, &empty, &[iris]).is_err());
        // An old document (from before sensitive fields left documents) holding a value: a
        // change that deletes it is fine.
        let mut old = automerge::AutoCommit::new();
        old.put(ROOT, "religion", "Phật giáo").unwrap();
        let old = RecordDoc::load(&old.save()).unwrap();
        let delete = raw_change(&old, |tx| tx.delete(ROOT, "religion"));
        assert!(check_changes(Kind::Citizen, &old, &[delete]).is_ok());
    }

    #[test]
    fn a_change_over_the_operation_limit_is_refused_from_its_metadata() {
        let (base, _) = household();
        let change = raw_change(&base, |tx| {
            for i in 0..=crate::check::limits::MAX_OPS_PER_CHANGE {
                tx.put(ROOT, "notes", i as i64)?;
            }
            Ok(())
        });
        let v = check_changes(Kind::Household, &base, &[change]).unwrap_err();
        assert!(v.message.contains("operations"), "{v}");
    }
}
