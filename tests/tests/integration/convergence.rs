//! Property test: phones that edit concurrently and sync in any order, with lost and
//! duplicated messages, through the **real server code**, end identical to each other and to
//! the server after a final full exchange, lose no edit, and never store a forbidden value.
//!
//! The server is [`ferry_server::exchange::exchange`], the domain operation the HTTP route
//! calls (push checks on a reader, the group-commit writer or PostgreSQL transactions, the
//! document cache, the pull on a reader snapshot), on a real SQLite file or a throwaway
//! PostgreSQL database (`both_engines!`). Only HTTP and login are left out: each phone is an
//! officer of one unit whose device id and actor id the test hands the exchange directly.
//! Every request and reply still crosses an encode/decode, as on the wire.
//!
//! Histories include hostile pushes: a change to an application that an officer may not make
//! (`status = accepted`, or a move to a unit outside theirs), built on an older state of the
//! application (concurrent with what the server holds) or on its current one, pushed by a
//! device of the same unit outside any outbox. Every one must be refused, and none of its
//! values may reach the server's documents or any phone, not even as a losing concurrent value.
//!
//! (This replaces the in-memory "hub" of `sync-core/tests/convergence.rs`, which re-implemented
//! the server's push and pull and so could only show that replicas agree with a copy.)

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::Arc;

use automerge::{ActorId, ReadDoc};
use ferry_server::db::Store;
use ferry_server::db::postgres::PgStore;
use ferry_server::doc_cache::DocCache;
use ferry_server::exchange::{self, Engine, Syncer};
use ferry_server::metrics::Metrics;
use ferry_server::sync::Caller;
use ferry_server::writer::Writer;
use ferry_tests::pg::TestDatabase;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_bytes::ByteBuf;
use sync_core::doc::{Author, Edit, RecordDoc, encode_change};
use sync_core::model::{Fields, Kind, Role, Value};
use sync_core::protocol::{
    DeviceStatus, MIN_MAX_BYTES, PROTOCOL_VERSION, PushRecord, RejectCode, SyncReply, SyncRequest,
    decode_reply, decode_request, encode_reply, encode_request,
};
use sync_core::replica::{Replica, SyncOptions};
use sync_core::store::tables::RecordQuery;
use uuid::Uuid;

use crate::bin;

const UNIT: &str = "07132";

/// The server side: the real exchange on a fresh database of the thread's engine.
struct Server {
    engine: Engine,
    runtime: tokio::runtime::Runtime,
    _db: Option<TestDatabase>,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let (store, db) = match ferry_tests::engine() {
            ferry_tests::Engine::Sqlite => {
                let pool = sync_core::store::Pool::open(
                    &dir.path().join("ferry.db"),
                    None,
                    ferry_server::schema::SERVER_MIGRATIONS,
                    2,
                )
                .unwrap();
                (Store::Sqlite(Arc::new(pool)), None)
            }
            ferry_tests::Engine::Postgres => {
                let db = TestDatabase::start();
                migrate_postgres(db.url(), dir.path());
                let store = Store::Postgres(PgStore::connect(db.url(), 4).unwrap());
                (store, Some(db))
            }
        };
        let metrics = Arc::new(Metrics::default());
        let engine = Engine {
            writer: Writer::for_store(&store, metrics.clone()).unwrap(),
            store,
            // Small, so that documents are evicted and loaded again during a history.
            cache: Arc::new(DocCache::new(16 * 1024, metrics.clone())),
            review_wake: Arc::new(tokio::sync::Notify::new()),
            metrics,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        Server {
            engine,
            runtime,
            _db: db,
            _dir: dir,
        }
    }

    /// One exchange, as the route runs it after decoding.
    fn exchange(&self, who: &Syncer, req: SyncRequest, max_bytes: u64) -> SyncReply {
        let (reply, _epilogue) = self
            .runtime
            .block_on(exchange::exchange(&self.engine, who, req, max_bytes))
            .expect("the exchange succeeds");
        reply
    }

    /// Two exchanges at once (their pushes may share one group commit).
    fn exchange_two(
        &self,
        a: (&Syncer, SyncRequest),
        b: (&Syncer, SyncRequest),
        max_bytes: u64,
    ) -> (SyncReply, SyncReply) {
        let (ra, rb) = self.runtime.block_on(async {
            tokio::join!(
                exchange::exchange(&self.engine, a.0, a.1, max_bytes),
                exchange::exchange(&self.engine, b.0, b.1, max_bytes)
            )
        });
        (ra.expect("exchange").0, rb.expect("exchange").0)
    }

    /// Whether the server's document of `id` holds every change in `heads`.
    fn has_all(&self, id: Uuid, heads: &[automerge::ChangeHash]) -> bool {
        let stored = self
            .engine
            .store
            .read(|c| ferry_server::feed::get_record(c, id))
            .unwrap();
        stored.is_some_and(|s| {
            let doc = RecordDoc::load(&s.doc).unwrap();
            heads.iter().all(|h| doc.has_change(h))
        })
    }

    /// The server's stored document of every record.
    fn documents(&self) -> BTreeMap<Uuid, RecordDoc> {
        let ids: Vec<String> = self
            .engine
            .store
            .read(|c| c.query("SELECT id FROM records", &[]))
            .unwrap()
            .iter()
            .map(|row| row.get::<String>(0).unwrap())
            .collect();
        ids.iter()
            .map(|id| {
                let id: Uuid = id.parse().unwrap();
                let stored = self
                    .engine
                    .store
                    .read(|c| ferry_server::feed::get_record(c, id))
                    .unwrap()
                    .expect("a listed record");
                (id, RecordDoc::load(&stored.doc).unwrap())
            })
            .collect()
    }
}

fn migrate_postgres(url: &str, dir: &std::path::Path) {
    let out = Command::new(bin())
        .arg("migrate")
        .env("FERRY_DATABASE_URL", url)
        .env("FERRY_DATA_DIR", dir.join("no-sqlite"))
        .output()
        .expect("run ferry migrate");
    assert!(
        out.status.success(),
        "ferry migrate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An officer of [`UNIT`] on the device with this id and actor.
fn officer(device_id: Uuid, actor: &[u8]) -> Syncer {
    Syncer {
        user: "an".into(),
        units: vec![UNIT.into()],
        caller: Caller {
            role: Role::Officer,
            scopes: BTreeSet::from([UNIT.to_owned()]),
            device_id,
            actor: ActorId::from(actor),
        },
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// Replica i creates a citizen.
    Create(usize, u8),
    /// Replica i writes field `date_of_birth` or `full_name` of the k-th citizen it knows.
    SetField(usize, usize, bool, u8),
    /// Replica i adds member m to the household.
    AddMember(usize, u8),
    /// Replica i removes member m from the household.
    RemoveMember(usize, u8),
    /// Replica i moves the k-th citizen's or household's status.
    Status(usize, usize, bool),
    /// Replica i files a CCCD application (as `submitted`).
    Apply(usize, u8),
    /// Replica i withdraws the k-th application it knows that the server already has.
    Withdraw(usize, usize),
    /// A hostile device of the unit pushes, outside any outbox, a change to the k-th
    /// application replica i knows that an officer may not make: `accepted`, or a move to
    /// another unit; built on the application's first state (concurrent with later edits) or
    /// on its current one.
    Forbidden(usize, usize, bool, bool),
    /// Replica i syncs; the request or the reply may be lost or duplicated.
    Sync(usize, Delivery),
    /// Replicas i and j sync at the same time.
    SyncTogether(usize, usize),
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
            r.clone(),
            prop_oneof![
                4 => Just(Delivery::Normal),
                1 => Just(Delivery::RequestLost),
                1 => Just(Delivery::ReplyLost),
                1 => Just(Delivery::ReplyTwice),
                1 => Just(Delivery::RequestTwice),
            ]
        )
            .prop_map(|(i, d)| Op::Sync(i, d)),
        1 => (r.clone(), r).prop_map(|(i, j)| Op::SyncTogether(i, j)),
    ]
}

fn clamp(op: Op, n: usize) -> Op {
    match op {
        Op::Create(i, s) => Op::Create(i % n, s),
        Op::SetField(i, k, f, v) => Op::SetField(i % n, k, f, v),
        Op::AddMember(i, m) => Op::AddMember(i % n, m),
        Op::RemoveMember(i, m) => Op::RemoveMember(i % n, m),
        Op::Status(i, k, w) => Op::Status(i % n, k, w),
        Op::Apply(i, s) => Op::Apply(i % n, s),
        Op::Withdraw(i, k) => Op::Withdraw(i % n, k),
        Op::Forbidden(i, k, c, u) => Op::Forbidden(i % n, k, c, u),
        Op::Sync(i, d) => Op::Sync(i % n, d),
        Op::SyncTogether(i, j) => Op::SyncTogether(i % n, j % n),
    }
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

fn application(seed: u8) -> Fields {
    Fields::from([
        ("full_name".into(), Value::from(format!("Người nộp {seed}"))),
        ("request_type".into(), Value::from("first_issue")),
        ("date_of_birth".into(), Value::from("2008-02-01")),
        ("sex".into(), Value::from("female")),
        ("status".into(), Value::from("submitted")),
    ])
}

/// Member ids are fixed so that two replicas adding "member 3" write the same key.
fn member_key(m: u8) -> String {
    Uuid::from_u128(0x0199_0000_0000_7000_8000_0000_0000_0000 | m as u128).to_string()
}

/// One history: `n` phones, the reply budget, the operations.
struct World {
    server: Server,
    replicas: Vec<Replica>,
    syncers: Vec<Syncer>,
    /// The hostile device: an officer of the unit with an actor of its own, the lowest id,
    /// so that a concurrent change it ties with wins the merge and its forbidden value would
    /// be left as a losing concurrent candidate.
    hostile: Syncer,
    max_bytes: u64,
    household: Uuid,
    /// Every change any replica queued.
    made: BTreeSet<Vec<u8>>,
    /// Every forbidden change pushed.
    forbidden: BTreeSet<Vec<u8>>,
    now: i64,
    _dir: tempfile::TempDir,
}

fn request(replica: &Replica) -> SyncRequest {
    let opts = SyncOptions {
        max_push_bytes: 2048,
        ..SyncOptions::default()
    };
    // Everything crosses the wire encoded, as it would over HTTP.
    decode_request(&encode_request(&replica.prepare_sync(&opts).unwrap())).unwrap()
}

fn wire(reply: &SyncReply) -> SyncReply {
    decode_reply(&encode_reply(reply)).unwrap()
}

impl World {
    fn new(n: usize, max_bytes: u64) -> World {
        let server = Server::start();
        let dir = tempfile::tempdir().unwrap();
        let replicas: Vec<Replica> = (0..n)
            .map(|i| Replica::open(&dir.path().join(format!("r{i}.db")), None).unwrap())
            .collect();
        let syncers = replicas
            .iter()
            .map(|r| officer(r.device_id(), &r.actor_id()))
            .collect();
        let now = ferry_server::now_ms();
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
        let mut world = World {
            server,
            replicas,
            syncers,
            hostile: officer(Uuid::now_v7(), &[0u8; 16]),
            max_bytes,
            household,
            made: BTreeSet::new(),
            forbidden: BTreeSet::new(),
            now,
            _dir: dir,
        };
        world.note_pending();
        for i in 0..n {
            world.sync_until_done(i);
        }
        world
    }

    fn note_pending(&mut self) {
        for r in &self.replicas {
            for e in r.pool().read(sync_core::store::tables::pending).unwrap() {
                self.made.insert(e.hash);
            }
        }
    }

    /// One exchange of replica `i`; whether sync-core's rule says to sync again.
    fn sync(&self, i: usize, delivery: Delivery) -> bool {
        let req = request(&self.replicas[i]);
        if let Delivery::RequestLost = delivery {
            return true;
        }
        let who = &self.syncers[i];
        if let Delivery::RequestTwice = delivery {
            self.server.exchange(who, req.clone(), self.max_bytes);
        }
        let reply = wire(&self.server.exchange(who, req, self.max_bytes));
        match delivery {
            Delivery::ReplyLost => return true,
            Delivery::ReplyTwice => {
                self.replicas[i].apply_reply(&reply, self.now).unwrap();
            }
            _ => {}
        }
        self.replicas[i]
            .apply_reply(&reply, self.now)
            .unwrap()
            .sync_again()
    }

    fn sync_together(&self, i: usize, j: usize) {
        if i == j {
            self.sync(i, Delivery::Normal);
            return;
        }
        let (ra, rb) = self.server.exchange_two(
            (&self.syncers[i], request(&self.replicas[i])),
            (&self.syncers[j], request(&self.replicas[j])),
            self.max_bytes,
        );
        self.replicas[i].apply_reply(&wire(&ra), self.now).unwrap();
        self.replicas[j].apply_reply(&wire(&rb), self.now).unwrap();
    }

    fn sync_until_done(&self, i: usize) {
        for _ in 0..1000 {
            if !self.sync(i, Delivery::Normal) {
                return;
            }
        }
        panic!("the sync loop does not terminate");
    }

    fn citizens_and_households(&self, i: usize, citizens_only: bool) -> Vec<Uuid> {
        self.replicas[i]
            .find(&Default::default())
            .unwrap()
            .into_iter()
            .filter(|r| r.kind != Kind::CccdApplication)
            .filter(|r| !citizens_only || r.kind == Kind::Citizen)
            .map(|r| r.id)
            .collect()
    }

    fn set(&self, i: usize, id: Uuid, field: &str, value: Value) {
        self.replicas[i]
            .update(
                id,
                &[Edit::Set {
                    field: field.into(),
                    value,
                }],
                self.now,
            )
            .unwrap();
    }

    fn apply(&mut self, op: Op) {
        self.now += 1000;
        match op {
            Op::Create(i, seed) => {
                self.replicas[i]
                    .create(Kind::Citizen, UNIT, citizen(seed), self.now)
                    .unwrap();
            }
            Op::SetField(i, k, name, v) => {
                let citizens = self.citizens_and_households(i, true);
                if let Some(id) = citizens.get(k % citizens.len().max(1)) {
                    if name {
                        self.set(i, *id, "full_name", format!("Người {v}").into());
                    } else {
                        let dob = format!("19{:02}-02-0{}", 50 + v % 40, 1 + v % 9);
                        self.set(i, *id, "date_of_birth", dob.into());
                    }
                }
            }
            Op::AddMember(i, m) => {
                let rel = if m == 0 { "head" } else { "child" };
                let edit = Edit::PutEntry {
                    field: "members".into(),
                    key: member_key(m),
                    value: Value::Map(BTreeMap::from([("relationship".into(), rel.into())])),
                };
                self.replicas[i]
                    .update(self.household, &[edit], self.now)
                    .unwrap();
            }
            Op::RemoveMember(i, m) => {
                let edit = Edit::RemoveEntry {
                    field: "members".into(),
                    key: member_key(m),
                };
                self.replicas[i]
                    .update(self.household, &[edit], self.now)
                    .unwrap();
            }
            Op::Status(i, k, withdraw) => {
                let known = self.citizens_and_households(i, false);
                if let Some(id) = known.get(k % known.len().max(1)) {
                    let status = if withdraw { "withdrawn" } else { "active" };
                    self.set(i, *id, "status", status.into());
                }
            }
            Op::Apply(i, seed) => {
                self.replicas[i]
                    .create(Kind::CccdApplication, UNIT, application(seed), self.now)
                    .unwrap();
            }
            Op::Withdraw(i, k) => {
                let apps = synced_applications(&self.replicas[i]);
                if let Some(id) = apps.get(k % apps.len().max(1)) {
                    self.set(i, *id, "status", "withdrawn".into());
                }
            }
            Op::Forbidden(i, k, concurrent, unit) => {
                if let Some(hash) = self.forbidden_push(i, k, concurrent, unit) {
                    self.forbidden.insert(hash);
                }
            }
            Op::Sync(i, delivery) => {
                self.sync(i, delivery);
            }
            Op::SyncTogether(i, j) => self.sync_together(i, j),
        }
        self.note_pending();
    }

    /// Pushes, as the hostile device, a change to the k-th application replica `i` knows
    /// that an officer may not make; asserts the server refuses it for that reason and
    /// returns its hash.
    fn forbidden_push(&self, i: usize, k: usize, concurrent: bool, unit: bool) -> Option<Vec<u8>> {
        let r = &self.replicas[i];
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
        let actor = self.hostile.caller.actor.to_bytes().to_vec();
        let mut change = base
            .edit(&[edit], &Author::new(&actor, self.now))
            .unwrap()?;
        let hash = change.hash().0.to_vec();
        let req = SyncRequest {
            v: PROTOCOL_VERSION,
            device_id: self.hostile.caller.device_id,
            cursors: BTreeMap::new(),
            push: vec![PushRecord {
                record: app.id,
                kind: "cccd_application".into(),
                unit: UNIT.into(),
                changes: vec![ByteBuf::from(encode_change(&mut change))],
            }],
            max_bytes: MIN_MAX_BYTES,
            status: DeviceStatus::default(),
            resync: vec![],
            sensitive: Vec::new(),
        };
        let reply = self.server.exchange(&self.hostile, req, self.max_bytes);
        if reply.accepted.iter().any(|h| h.as_slice() == hash) {
            panic!("a forbidden change was accepted");
        }
        // Refused for what it writes, unless the server lacks the state it was built on (an
        // edit still in a phone's outbox): then it is refused as missing dependencies.
        let server_has_base = self.server.has_all(app.id, &base.automerge().get_heads());
        let code = reply
            .rejected
            .iter()
            .find(|x| x.record == app.id)
            .map(|x| x.code);
        match code {
            // `invalid` too: the structure checks run before the role rules, and an
            // application accepted without what acceptance requires (an ID number) fails
            // those first. Either way it is refused for what it writes.
            Some(RejectCode::Forbidden | RejectCode::OutOfScope | RejectCode::Invalid) => {}
            Some(RejectCode::MissingDeps) if !server_has_base => {}
            other => panic!("a forbidden change was answered with {other:?}"),
        }
        Some(hash)
    }

    /// Final full exchange, two rounds so everything reaches everyone; then the checks.
    fn finish(&self) {
        for _ in 0..2 {
            for i in 0..self.replicas.len() {
                self.sync_until_done(i);
            }
        }
        let reference = self.replicas[0].all_heads().unwrap();
        for r in &self.replicas {
            assert_eq!(
                r.all_heads().unwrap(),
                reference,
                "phones hold different heads"
            );
            assert_eq!(
                r.outbox_status().unwrap().pending,
                0,
                "everything was acknowledged"
            );
            let rejected = r.rejected().unwrap();
            assert!(
                rejected.is_empty(),
                "nothing a phone made may be refused: {:?}",
                rejected
                    .iter()
                    .map(|x| (&x.code, &x.message))
                    .collect::<Vec<_>>()
            );
        }
        let first = contents(&self.replicas[0]);
        for r in &self.replicas[1..] {
            assert_eq!(contents(r), first, "phones read different content");
        }
        self.the_server_holds_the_same(&reference);
        for r in &self.replicas {
            for rec in contents(r) {
                self.nothing_lost_nothing_forbidden(&r.document(rec.id).unwrap().unwrap());
            }
        }
    }

    fn the_server_holds_the_same(&self, phones: &BTreeMap<Uuid, Vec<u8>>) {
        let docs = self.server.documents();
        assert_eq!(
            docs.keys().collect::<Vec<_>>(),
            phones.keys().collect::<Vec<_>>(),
            "the server and the phones hold different records"
        );
        let mut on_server = BTreeSet::new();
        for (id, doc) in &docs {
            let phone = self.replicas[0].document(*id).unwrap().unwrap();
            let (mut a, mut b) = (doc.automerge().get_heads(), phone.automerge().get_heads());
            a.sort();
            b.sort();
            assert_eq!(
                a, b,
                "record {id}: the server's document differs from the phones'"
            );
            assert_no_forbidden_value(doc);
            for (hash, _) in doc.change_actors() {
                on_server.insert(hash.0.to_vec());
            }
        }
        for h in &self.made {
            assert!(on_server.contains(h), "an edit is missing on the server");
        }
        for h in &self.forbidden {
            assert!(!on_server.contains(h), "a forbidden change was stored");
        }
    }

    /// Every change any phone queued is in the document set, and no forbidden change is.
    fn nothing_lost_nothing_forbidden(&self, doc: &RecordDoc) {
        assert_no_forbidden_value(doc);
        for (hash, _) in doc.change_actors() {
            assert!(
                !self.forbidden.contains(hash.0.as_slice()),
                "a forbidden change reached a phone"
            );
        }
    }
}

fn contents(r: &Replica) -> Vec<sync_core::model::Record> {
    let mut all = r
        .find(&RecordQuery {
            limit: Some(10_000),
            ..Default::default()
        })
        .unwrap();
    all.sort_by_key(|rec| rec.id);
    all
}

/// Applications replica `r` knows whose creation the server has acknowledged. (A record
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

/// Histories per engine: enough to vary every operation, few enough to run in seconds in a
/// debug build (each history gets a fresh database).
fn cases() -> u32 {
    match ferry_tests::engine() {
        ferry_tests::Engine::Sqlite => 32,
        ferry_tests::Engine::Postgres => 16,
    }
}

ferry_tests::both_engines!(
    phones_syncing_through_the_real_server_in_any_order_converge_and_never_store_a_forbidden_value
);
fn phones_syncing_through_the_real_server_in_any_order_converge_and_never_store_a_forbidden_value()
{
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let histories = (
        3usize..=5,
        // The route's floor, and budgets below it so that replies page (`more`).
        prop_oneof![Just(MIN_MAX_BYTES), Just(2048u64), Just(512u64)],
        proptest::collection::vec(op(5), 1..40),
    );
    runner
        .run(&histories, |(n, max_bytes, ops)| {
            let mut world = World::new(n, max_bytes);
            for op in ops {
                world.apply(clamp(op, n));
            }
            world.finish();
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}
