//! The hostile inputs of issue 10, built with Automerge directly so that no Ferry check runs
//! on the way: the integration tests push them at the real server, and `ferry-corpus` writes
//! them into the fuzz corpus (`fuzz/corpus/`).
//!
//! Every builder takes the record id and the author's actor id, so a test can push the input
//! as a logged-in device (whose actor id it chose at login) and get past the actor check.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, Automerge, ObjId, ObjType, ROOT, ScalarValue};
use serde_bytes::ByteBuf;
use sync_core::protocol::{
    self, DeviceStatus, Encoding, PROTOCOL_VERSION, PushRecord, SyncRequest,
};
use uuid::Uuid;

/// The unit every hostile record claims.
pub const UNIT: &str = "07132";

/// A document whose first change writes the root keys of a record of `kind`, then whatever
/// `fill` adds; returns the bytes of that one change (Automerge's compressed change chunk,
/// as an attacker would send it).
fn one_change(
    id: Uuid,
    actor: &[u8],
    kind: &str,
    fill: impl FnOnce(
        &mut automerge::transaction::Transaction<'_>,
    ) -> Result<(), automerge::AutomergeError>,
) -> Vec<u8> {
    let mut doc = Automerge::new().with_actor(ActorId::from(actor));
    doc.transact_with(
        |_| CommitOptions::default().with_time(1_767_225_600_000),
        |tx| -> Result<(), automerge::AutomergeError> {
            tx.put(ROOT, "id", id.to_string())?;
            tx.put(ROOT, "kind", kind)?;
            tx.put(ROOT, "schema", ScalarValue::Int(1))?;
            tx.put(ROOT, "unit", UNIT)?;
            fill(tx)
        },
    )
    .expect("build hostile change");
    let mut change = doc.get_last_local_change().expect("a change");
    change.bytes().into_owned()
}

/// A household whose `members` holds `depth` maps nested in each other (issue 10 §1: 300
/// aborted the server through Automerge's recursive `hydrate`).
pub fn deep_household(id: Uuid, actor: &[u8], depth: usize) -> Vec<u8> {
    one_change(id, actor, "household", |tx| {
        tx.put(ROOT, "address", "Tổ 1, khu 2")?;
        tx.put(ROOT, "status", "active")?;
        let mut obj: ObjId = tx.put_object(ROOT, "members", ObjType::Map)?;
        for _ in 0..depth {
            obj = tx.put_object(&obj, "m", ObjType::Map)?;
        }
        Ok(())
    })
}

/// A citizen whose `notes` is a list of `ops` integers: one change of `ops` list operations
/// that compresses to a few hundred bytes (issue 10 §2: 3–4 M held the writer for 10 s).
pub fn op_bomb(id: Uuid, actor: &[u8], ops: usize) -> Vec<u8> {
    one_change(id, actor, "citizen", |tx| {
        tx.put(ROOT, "full_name", "Nguyễn Văn A")?;
        tx.put(ROOT, "status", "active")?;
        let list = tx.put_object(ROOT, "notes", ObjType::List)?;
        tx.splice(
            &list,
            0,
            0,
            std::iter::repeat_n(ScalarValue::Int(0), ops).map(automerge::hydrate::Value::from),
        )
    })
}

/// A citizen whose `notes` is `bytes` bytes of text (issue 10 §2: 40 MiB was accepted and
/// sent to every phone of the ward).
pub fn long_notes(id: Uuid, actor: &[u8], bytes: usize) -> Vec<u8> {
    one_change(id, actor, "citizen", |tx| {
        tx.put(ROOT, "full_name", "Nguyễn Văn A")?;
        tx.put(ROOT, "status", "active")?;
        tx.put(ROOT, "notes", "x".repeat(bytes))
    })
}

/// The same change as Automerge's uncompressed change chunk (how Ferry itself sends changes).
pub fn uncompressed(change: &[u8]) -> Vec<u8> {
    automerge::Change::try_from(change)
        .expect("a change")
        .raw_bytes()
        .to_vec()
}

/// A sync request of `device` pushing `changes` of one record of `kind`, CBOR-encoded.
pub fn push_request(device: Uuid, record: Uuid, kind: &str, changes: Vec<Vec<u8>>) -> Vec<u8> {
    protocol::encode_request(&SyncRequest {
        v: PROTOCOL_VERSION,
        device_id: device,
        cursors: Default::default(),
        push: vec![PushRecord {
            record,
            kind: kind.into(),
            unit: UNIT.into(),
            changes: changes.into_iter().map(ByteBuf::from).collect(),
        }],
        max_bytes: protocol::MIN_MAX_BYTES,
        status: DeviceStatus::default(),
        resync: vec![],
        sensitive: Vec::new(),
    })
}

/// [`push_request`] compressed with zstd, as sent on the wire.
pub fn push_body(device: Uuid, record: Uuid, kind: &str, changes: Vec<Vec<u8>>) -> Vec<u8> {
    protocol::compress(&push_request(device, record, kind, changes), Encoding::Zstd)
}
