//! Property tests: replicas that edit concurrently and exchange in any order, with duplicate
//! and dropped messages, end identical after a final full exchange, and lose nothing.
//!
//! The "server" here is a minimal in-memory change feed speaking protocol v1 (accept every
//! change whose dependencies are known, pull by cursor, skip the requester's own changes,
//! snapshot for records new to the device). The real server lives in the `server` crate.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use proptest::prelude::*;
use serde_bytes::ByteBuf;
use sync_core::doc::{Edit, RecordDoc, decode_change, encode_change};
use sync_core::model::{Fields, Kind, Value};
use sync_core::protocol::{
    PROTOCOL_VERSION, PullEntry, RejectCode, Rejection, SyncReply, SyncRequest, decode_reply,
    decode_request, encode_reply, encode_request,
};
use sync_core::replica::{Replica, SyncOptions};
use uuid::Uuid;

const UNIT: &str = "07132";

#[derive(Default)]
struct Hub {
    docs: HashMap<Uuid, (String, RecordDoc)>,
    /// (seq, record, change bytes, origin device)
    log: Vec<(u64, Uuid, Vec<u8>, Uuid)>,
    /// Pull at most this many log rows per reply, to exercise `more`.
    page: usize,
}

impl Hub {
    fn handle(&mut self, req: &SyncRequest) -> SyncReply {
        let mut reply = SyncReply::empty(0);
        for push in &req.push {
            let (kind, mut doc) = match self.docs.get(&push.record) {
                Some((k, d)) => (k.clone(), d.fork()),
                None => (push.kind.clone(), RecordDoc::empty()),
            };
            let changes: Vec<_> = push
                .changes
                .iter()
                .map(|b| decode_change(b).expect("replicas send valid changes"))
                .collect();
            let fresh: Vec<_> = changes
                .iter()
                .filter(|c| !doc.has_change(&c.hash()))
                .cloned()
                .collect();
            doc.apply_changes(fresh.clone()).unwrap();
            if !doc.missing_deps().is_empty() {
                reply.rejected.push(Rejection {
                    record: push.record,
                    changes: changes
                        .iter()
                        .map(|c| ByteBuf::from(c.hash().0.to_vec()))
                        .collect(),
                    code: RejectCode::MissingDeps,
                    message: "missing dependencies".into(),
                    reset: None,
                });
                continue;
            }
            for mut c in fresh {
                let seq = self.log.len() as u64 + 1;
                self.log
                    .push((seq, push.record, encode_change(&mut c), req.device_id));
            }
            reply
                .accepted
                .extend(changes.iter().map(|c| ByteBuf::from(c.hash().0.to_vec())));
            self.docs.insert(push.record, (kind, doc));
        }
        for id in &req.resync {
            if let Some((kind, doc)) = self.docs.get(id) {
                reply.pull.push(PullEntry {
                    record: *id,
                    kind: kind.clone(),
                    unit: UNIT.into(),
                    changes: vec![],
                    snapshot: Some(ByteBuf::from(doc.save_uncompressed())),
                });
            }
        }
        let cursor = req.cursors.get(UNIT).copied().unwrap_or(0);
        let rows: Vec<_> = self
            .log
            .iter()
            .filter(|r| r.0 > cursor)
            .take(self.page)
            .collect();
        let mut by_record: BTreeMap<Uuid, Vec<Vec<u8>>> = BTreeMap::new();
        for (_, record, bytes, origin) in &rows {
            if *origin != req.device_id {
                by_record.entry(*record).or_default().push(bytes.clone());
            }
        }
        for (record, changes) in by_record {
            let seen = self.log.iter().any(|r| r.1 == record && r.0 <= cursor);
            let (kind, doc) = &self.docs[&record];
            reply.pull.push(PullEntry {
                record,
                kind: kind.clone(),
                unit: UNIT.into(),
                changes: if seen {
                    changes.into_iter().map(ByteBuf::from).collect()
                } else {
                    vec![]
                },
                snapshot: (!seen).then(|| ByteBuf::from(doc.save_uncompressed())),
            });
        }
        if let Some(last) = rows.last() {
            reply.cursors.insert(UNIT.into(), last.0);
        }
        reply.more = self.log.iter().any(|r| r.0 > cursor + rows.len() as u64);
        reply
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// Replica i creates a citizen.
    Create(usize, u8),
    /// Replica i writes field `date_of_birth` or `full_name` of the k-th record it knows.
    SetField(usize, usize, bool, u8),
    /// Replica i adds member m to the household.
    AddMember(usize, u8),
    /// Replica i removes member m from the household.
    RemoveMember(usize, u8),
    /// Replica i moves the k-th record's status.
    Status(usize, usize, bool),
    /// Replica i syncs; the request or the reply may be lost or duplicated.
    Sync(usize, Delivery),
}

#[derive(Debug, Clone, Copy)]
enum Delivery {
    Normal,
    RequestLost,
    ReplyLost,
    ReplyTwice,
    RequestTwice,
}

fn op(n: usize) -> impl Strategy<Value = Op> {
    let r = 0..n;
    prop_oneof![
        (r.clone(), any::<u8>()).prop_map(|(i, s)| Op::Create(i, s)),
        (r.clone(), 0..8usize, any::<bool>(), any::<u8>())
            .prop_map(|(i, k, f, v)| Op::SetField(i, k, f, v)),
        (r.clone(), 0..6u8).prop_map(|(i, m)| Op::AddMember(i, m)),
        (r.clone(), 0..6u8).prop_map(|(i, m)| Op::RemoveMember(i, m)),
        (r.clone(), 0..8usize, any::<bool>()).prop_map(|(i, k, w)| Op::Status(i, k, w)),
        (
            r,
            prop_oneof![
                4 => Just(Delivery::Normal),
                1 => Just(Delivery::RequestLost),
                1 => Just(Delivery::ReplyLost),
                1 => Just(Delivery::ReplyTwice),
                1 => Just(Delivery::RequestTwice),
            ]
        )
            .prop_map(|(i, d)| Op::Sync(i, d)),
    ]
}

fn citizen(seed: u8) -> Fields {
    let names = [
        "Nguyễn Văn An",
        "Trần Thị Bình",
        "Lê Hoàng Cường",
        "Phạm Thị Dung",
    ];
    Fields::from([
        (
            "full_name".into(),
            Value::from(names[seed as usize % names.len()]),
        ),
        (
            "date_of_birth".into(),
            Value::from(format!("19{:02}-01-15", 50 + seed % 40)),
        ),
        (
            "sex".into(),
            Value::from(if seed.is_multiple_of(2) {
                "male"
            } else {
                "female"
            }),
        ),
        ("status".into(), Value::from("active")),
    ])
}

/// Member ids are fixed so that two replicas adding "member 3" write the same key.
fn member_key(m: u8) -> String {
    Uuid::from_u128(0x0199_0000_0000_7000_8000_0000_0000_0000 | m as u128).to_string()
}

fn exchange(hub: &mut Hub, replica: &Replica, delivery: Delivery, now: i64) -> bool {
    let opts = SyncOptions {
        max_push_bytes: 2048,
        ..SyncOptions::default()
    };
    let req = replica.prepare_sync(&opts).unwrap();
    // Everything crosses the wire encoded, as it would over HTTP.
    let req = decode_request(&encode_request(&req)).unwrap();
    if let Delivery::RequestLost = delivery {
        return true;
    }
    if let Delivery::RequestTwice = delivery {
        hub.handle(&req);
    }
    let reply = decode_reply(&encode_reply(&hub.handle(&req))).unwrap();
    match delivery {
        Delivery::ReplyLost => return true,
        Delivery::ReplyTwice => {
            replica.apply_reply(&reply, now).unwrap();
        }
        _ => {}
    }
    let report = replica.apply_reply(&reply, now).unwrap();
    report.more || !req.push.is_empty()
}

fn run(n: usize, ops: Vec<Op>, page: usize) {
    let dir = tempfile::tempdir().unwrap();
    let replicas: Vec<Replica> = (0..n)
        .map(|i| Replica::open(&dir.path().join(format!("r{i}.db")), None).unwrap())
        .collect();
    let mut hub = Hub {
        page,
        ..Hub::default()
    };
    let mut now = 1_767_225_600_000i64;
    // A shared household everyone knows from the start.
    let household = replicas[0]
        .create(
            Kind::Household,
            UNIT,
            Fields::from([("address".into(), Value::from("Tổ 3, khu 5"))]),
            now,
        )
        .unwrap()
        .record
        .id;
    for r in &replicas {
        while exchange(&mut hub, r, Delivery::Normal, now) {}
    }
    let mut made: BTreeSet<Vec<u8>> = BTreeSet::new();
    for op in ops {
        now += 1000;
        match op {
            Op::Create(i, seed) => {
                replicas[i]
                    .create(Kind::Citizen, UNIT, citizen(seed), now)
                    .unwrap();
            }
            Op::SetField(i, k, name, v) => {
                let known = replicas[i].find(&Default::default()).unwrap();
                let citizens: Vec<_> = known.iter().filter(|r| r.kind == Kind::Citizen).collect();
                if let Some(rec) = citizens.get(k % citizens.len().max(1)) {
                    let edit = if name {
                        Edit::Set {
                            field: "full_name".into(),
                            value: format!("Người {v}").into(),
                        }
                    } else {
                        Edit::Set {
                            field: "date_of_birth".into(),
                            value: format!("19{:02}-02-0{}", 50 + v % 40, 1 + v % 9).into(),
                        }
                    };
                    replicas[i].update(rec.id, &[edit], now).unwrap();
                }
            }
            Op::AddMember(i, m) => {
                let rel = if m == 0 { "head" } else { "child" };
                replicas[i]
                    .update(
                        household,
                        &[Edit::PutEntry {
                            field: "members".into(),
                            key: member_key(m),
                            value: Value::Map(BTreeMap::from([(
                                "relationship".into(),
                                rel.into(),
                            )])),
                        }],
                        now,
                    )
                    .unwrap();
            }
            Op::RemoveMember(i, m) => {
                replicas[i]
                    .update(
                        household,
                        &[Edit::RemoveEntry {
                            field: "members".into(),
                            key: member_key(m),
                        }],
                        now,
                    )
                    .unwrap();
            }
            Op::Status(i, k, withdraw) => {
                let known = replicas[i].find(&Default::default()).unwrap();
                if let Some(rec) = known.get(k % known.len().max(1)) {
                    let status = if withdraw { "withdrawn" } else { "active" };
                    replicas[i]
                        .update(
                            rec.id,
                            &[Edit::Set {
                                field: "status".into(),
                                value: status.into(),
                            }],
                            now,
                        )
                        .unwrap();
                }
            }
            Op::Sync(i, delivery) => {
                exchange(&mut hub, &replicas[i], delivery, now);
            }
        }
        for r in &replicas {
            for e in r.pool().read(sync_core::store::tables::pending).unwrap() {
                made.insert(e.hash);
            }
        }
    }
    // Final full exchange: two rounds so that everything reaches everyone.
    for _ in 0..2 {
        for r in &replicas {
            let mut guard = 0;
            while exchange(&mut hub, r, Delivery::Normal, now) {
                guard += 1;
                assert!(guard < 1000, "sync loop does not terminate");
            }
        }
    }
    let reference = replicas[0].all_heads().unwrap();
    for r in &replicas {
        assert_eq!(
            r.all_heads().unwrap(),
            reference,
            "replicas hold different heads"
        );
        assert_eq!(
            r.outbox_status().unwrap().pending,
            0,
            "everything was acknowledged"
        );
        assert!(
            r.rejected().unwrap().is_empty(),
            "nothing here may be rejected"
        );
    }
    let contents = |r: &Replica| {
        r.find(&sync_core::store::tables::RecordQuery {
            limit: Some(10_000),
            ..Default::default()
        })
        .unwrap()
    };
    let mut first = contents(&replicas[0]);
    first.sort_by_key(|r| r.id);
    for r in &replicas[1..] {
        let mut other = contents(r);
        other.sort_by_key(|r| r.id);
        assert_eq!(other, first, "replicas read different content");
    }
    // No edit is lost: every change any replica ever queued is in every replica's document.
    for r in &replicas {
        let mut hashes = BTreeSet::new();
        for rec in contents(r) {
            let doc = r.document(rec.id).unwrap().unwrap();
            for (hash, _) in doc.change_actors() {
                hashes.insert(hash.0.to_vec());
            }
        }
        for h in &made {
            assert!(hashes.contains(h), "an edit was lost");
        }
    }
    let _ = PROTOCOL_VERSION;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_under_any_interleaving_with_duplicates_and_drops(
        n in 3usize..=5,
        page in 1usize..6,
        ops in proptest::collection::vec(op(5), 1..40),
    ) {
        let ops = ops.into_iter().map(|o| clamp(o, n)).collect();
        run(n, ops, page);
    }
}

fn clamp(op: Op, n: usize) -> Op {
    match op {
        Op::Create(i, s) => Op::Create(i % n, s),
        Op::SetField(i, k, f, v) => Op::SetField(i % n, k, f, v),
        Op::AddMember(i, m) => Op::AddMember(i % n, m),
        Op::RemoveMember(i, m) => Op::RemoveMember(i % n, m),
        Op::Status(i, k, w) => Op::Status(i % n, k, w),
        Op::Sync(i, d) => Op::Sync(i % n, d),
    }
}
