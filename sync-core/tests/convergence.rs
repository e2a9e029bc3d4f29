//! Property tests: replicas that edit concurrently and exchange in any order, with duplicate
//! and dropped messages, end identical after a final full exchange, and lose nothing.
//!
//! The "server" here is a minimal in-memory change feed speaking protocol v1 (pull by cursor,
//! skip the requester's own changes, snapshot for records new to the device). It accepts a
//! record's changes when their dependencies are known and they pass the same checks the real
//! server (in the `server` crate) makes: `check::check_changes` on the operations and
//! `check::judge` on the merged record and on every value written, as officers of one unit.
//!
//! Histories include hostile pushes: a change built on an older state of an application
//! (concurrent with what the hub holds) that writes a value an officer may not write
//! (`status = accepted`, or a unit outside theirs). None of them may ever be stored.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use automerge::ReadDoc;
use proptest::prelude::*;
use serde_bytes::ByteBuf;
use sync_core::check;
use sync_core::doc::{Author, Edit, RecordDoc, decode_change, encode_change};
use sync_core::model::{Fields, Kind, Role, ValidationContext, Value};
use sync_core::protocol::{
    DeviceStatus, PROTOCOL_VERSION, PullEntry, PushRecord, RejectCode, Rejection, SyncReply,
    SyncRequest, decode_reply, decode_request, encode_reply, encode_request,
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
            let hashes: Vec<ByteBuf> = changes
                .iter()
                .map(|c| ByteBuf::from(c.hash().0.to_vec()))
                .collect();
            let base = doc.fork();
            let kind_of = Kind::parse(&kind).expect("a known kind");
            let checked = check::check_changes(kind_of, &base, &fresh);
            doc.apply_changes(fresh.clone()).unwrap();
            if !doc.missing_deps().is_empty() {
                reply.rejected.push(Rejection {
                    record: push.record,
                    changes: hashes,
                    code: RejectCode::MissingDeps,
                    message: "missing dependencies".into(),
                    reset: None,
                });
                continue;
            }
            // The same rules as the server, through the same functions.
            let verdict = checked.and_then(|_| {
                let after = doc
                    .read()
                    .map_err(|e| check::Violation::invalid(e.to_string()))?;
                let before = (!base.is_empty()).then(|| base.read().expect("stored reads"));
                check::judge(
                    before.as_ref().map(|b| (&base, b)),
                    &doc,
                    &after,
                    Role::Officer,
                    &BTreeSet::from([UNIT.to_owned()]),
                    &ValidationContext::new("2026-11-26"),
                )
            });
            if let Err(v) = verdict {
                reply.rejected.push(Rejection {
                    record: push.record,
                    changes: hashes,
                    code: v.code,
                    message: v.message,
                    reset: (!base.is_empty()).then(|| ByteBuf::from(base.save_uncompressed())),
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
    /// Replica i moves the k-th citizen's or household's status.
    Status(usize, usize, bool),
    /// Replica i files a CCCD application (as `submitted`).
    Apply(usize, u8),
    /// Replica i withdraws the k-th application it knows that the hub already has.
    Withdraw(usize, usize),
    /// Replica i's device pushes, outside its outbox, a change to the k-th application it
    /// knows that an officer may not make: `accepted`, or a move to another unit; built on
    /// the application's first state (concurrent with later edits) or on its current one.
    Forbidden(usize, usize, bool, bool),
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
        1 => (r.clone(), any::<u8>()).prop_map(|(i, s)| Op::Create(i, s)),
        1 => (r.clone(), 0..8usize, any::<bool>(), any::<u8>())
            .prop_map(|(i, k, f, v)| Op::SetField(i, k, f, v)),
        1 => (r.clone(), 0..6u8).prop_map(|(i, m)| Op::AddMember(i, m)),
        1 => (r.clone(), 0..6u8).prop_map(|(i, m)| Op::RemoveMember(i, m)),
        2 => (r.clone(), 0..8usize, any::<bool>()).prop_map(|(i, k, w)| Op::Status(i, k, w)),
        2 => (r.clone(), any::<u8>()).prop_map(|(i, s)| Op::Apply(i, s)),
        2 => (r.clone(), 0..8usize).prop_map(|(i, k)| Op::Withdraw(i, k)),
        2 => (r.clone(), 0..8usize, any::<bool>(), any::<bool>())
            .prop_map(|(i, k, c, u)| Op::Forbidden(i, k, c, u)),
        3 => (
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
    let mut hostile: BTreeSet<Vec<u8>> = BTreeSet::new();
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
                let known: Vec<_> = replicas[i]
                    .find(&Default::default())
                    .unwrap()
                    .into_iter()
                    .filter(|r| r.kind != Kind::CccdApplication)
                    .collect();
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
            Op::Apply(i, seed) => {
                replicas[i]
                    .create(Kind::CccdApplication, UNIT, application(seed), now)
                    .unwrap();
            }
            Op::Withdraw(i, k) => {
                let apps = synced_applications(&replicas[i]);
                if let Some(id) = apps.get(k % apps.len().max(1)) {
                    replicas[i]
                        .update(
                            *id,
                            &[Edit::Set {
                                field: "status".into(),
                                value: "withdrawn".into(),
                            }],
                            now,
                        )
                        .unwrap();
                }
            }
            Op::Forbidden(i, k, concurrent, unit) => {
                if let Some(hash) = forbidden_push(&mut hub, &replicas[i], k, concurrent, unit, now)
                {
                    hostile.insert(hash);
                }
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
        let rejected = r.rejected().unwrap();
        assert!(
            rejected.is_empty(),
            "nothing here may be rejected: {:?}",
            rejected
                .iter()
                .map(|x| (&x.code, &x.message))
                .collect::<Vec<_>>()
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
        for h in &hostile {
            assert!(!hashes.contains(h), "a forbidden change reached a replica");
        }
        for rec in contents(r) {
            assert_no_forbidden_value(&r.document(rec.id).unwrap().unwrap());
        }
    }
    for (_, doc) in hub.docs.values() {
        assert_no_forbidden_value(doc);
        for (hash, _) in doc.change_actors() {
            assert!(
                !hostile.contains(hash.0.as_slice()),
                "a forbidden change was stored"
            );
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

/// Applications replica `r` knows whose creation the hub has acknowledged. (A record
/// created and withdrawn before its first push is refused: an officer may not create an
/// application as `withdrawn`.)
fn synced_applications(r: &Replica) -> Vec<Uuid> {
    r.find(&Default::default())
        .unwrap()
        .into_iter()
        .filter(|rec| rec.kind == Kind::CccdApplication)
        .filter(|rec| r.get(rec.id).unwrap().unwrap().pending_changes == 0)
        .map(|rec| rec.id)
        .collect()
}

fn application(seed: u8) -> Fields {
    Fields::from([
        ("full_name".into(), Value::from(format!("Người nộp {seed}"))),
        ("request_type".into(), Value::from("first_issue")),
        ("date_of_birth".into(), Value::from("2008-02-01")),
        ("sex".into(), Value::from("female")),
        ("status".into(), Value::from("submitted")),
    ])
}

/// Pushes, as replica `r`'s device but outside its outbox, a change to the k-th application
/// it knows that an officer may not make; asserts the hub refuses it and returns its hash.
fn forbidden_push(
    hub: &mut Hub,
    r: &Replica,
    k: usize,
    concurrent: bool,
    unit: bool,
    now: i64,
) -> Option<Vec<u8>> {
    let apps: Vec<_> = r
        .find(&Default::default())
        .unwrap()
        .into_iter()
        .filter(|rec| rec.kind == Kind::CccdApplication)
        .collect();
    let app = apps.get(k % apps.len().max(1))?;
    let doc = r.document(app.id).unwrap()?;
    let mut base = doc.fork();
    if concurrent {
        let first = doc.changes_since(&[]).first()?.hash();
        let old = doc.automerge().fork_at(&[first]).ok()?;
        base = RecordDoc::load(&old.save()).unwrap();
    }
    let edit = if unit {
        Edit::SetUnit {
            unit: "07135".into(),
        }
    } else {
        Edit::Set {
            field: "status".into(),
            value: "accepted".into(),
        }
    };
    // An actor of its own, so the change never collides with the replica's sequence numbers;
    // the lowest actor id, so that a concurrent change it ties with wins the merge and the
    // forbidden value is left as a losing concurrent candidate.
    let actor = [0u8; 16];
    let mut change = base.edit(&[edit], &Author::new(&actor, now)).unwrap()?;
    let hash = change.hash().0.to_vec();
    let req = SyncRequest {
        v: PROTOCOL_VERSION,
        device_id: r.device_id(),
        cursors: BTreeMap::new(),
        push: vec![PushRecord {
            record: app.id,
            kind: "cccd_application".into(),
            unit: UNIT.into(),
            changes: vec![ByteBuf::from(encode_change(&mut change))],
        }],
        max_bytes: 1 << 20,
        status: DeviceStatus::default(),
        resync: vec![],
    };
    let reply = hub.handle(&req);
    assert!(
        reply.rejected.iter().any(|x| x.record == app.id),
        "a forbidden change was accepted"
    );
    Some(hash)
}

/// No value an officer may not write is anywhere in the document, winner or not.
fn assert_no_forbidden_value(doc: &RecordDoc) {
    let am = doc.automerge();
    for (key, bad) in [("status", "accepted"), ("unit", "07135")] {
        for (value, _) in am.get_all(automerge::ROOT, key).unwrap() {
            let text = match &value {
                automerge::Value::Scalar(s) => sync_core::doc::scalar_value(s),
                automerge::Value::Object(_) => None,
            };
            assert_ne!(
                text.as_ref().and_then(Value::as_text),
                Some(bad),
                "a forbidden `{key}` is stored as a concurrent value"
            );
        }
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
        Op::Apply(i, s) => Op::Apply(i % n, s),
        Op::Forbidden(i, k, c, u) => Op::Forbidden(i % n, k, c, u),
        Op::Withdraw(i, k) => Op::Withdraw(i % n, k),
    }
}
