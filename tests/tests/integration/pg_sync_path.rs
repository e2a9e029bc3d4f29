//! The server's sync path and review on PostgreSQL with several writers at once, in process:
//! each "node" is its own connection pool and its own [`Writer`] on one throwaway database,
//! running the real push, pull, detection and resolution code (no HTTP).
//!
//! - the change feed never skips a change: a device pulling in a tight loop while three
//!   nodes push concurrently receives every accepted record exactly once;
//! - detection of one situation on two nodes at once opens one item (the partial unique
//!   index on open keys, and the writer running the loser again);
//! - two admins deciding the same item on two nodes: one decision, the other refused as
//!   already closed (the HTTP route answers that with 409).
//! - pushes across the same wards in opposite orders never deadlock (records, then feeds,
//!   locked in one order; a lock wait over 5 s fails the test).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use automerge::ActorId;
use ferry_server::db::postgres::PgStore;
use ferry_server::db::{DbError, Store};
use ferry_server::exchange;
use ferry_server::metrics::Metrics;
use ferry_server::review::resolve::Resolver;
use ferry_server::review::{self, Action, Filter, ReviewError};
use ferry_server::sync::{self, Caller};
use ferry_server::writer::Writer;
use ferry_server::{accounts, now_ms};
use ferry_tests::pg::TestDatabase;
use serde_bytes::ByteBuf;
use sync_core::doc::{Author, RecordDoc, encode_change};
use sync_core::model::{Fields, Kind, Record, Role};
use sync_core::protocol::{DeviceStatus, PROTOCOL_VERSION, PushRecord, SyncReply, SyncRequest};
use uuid::Uuid;

use crate::bin;

const UNIT: &str = "07132";

/// A migrated database and three nodes on it.
struct Nodes {
    _db: TestDatabase,
    _dir: tempfile::TempDir,
    stores: Vec<Store>,
    writers: Vec<Writer>,
}

fn nodes(n: usize) -> Nodes {
    nodes_on(TestDatabase::start(), n)
}

/// `n` nodes on `db`, migrated.
fn nodes_on(db: TestDatabase, n: usize) -> Nodes {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .arg("migrate")
        .env("FERRY_DATABASE_URL", db.url())
        .env("FERRY_DATA_DIR", dir.path().join("no-sqlite"))
        .output()
        .expect("run ferry migrate");
    assert!(
        out.status.success(),
        "ferry migrate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stores: Vec<Store> = (0..n)
        .map(|_| Store::Postgres(PgStore::connect(db.url(), 6).expect("connect")))
        .collect();
    let writers = stores
        .iter()
        .map(|s| Writer::for_store(s, Arc::new(Metrics::default())).unwrap())
        .collect();
    Nodes {
        _db: db,
        _dir: dir,
        stores,
        writers,
    }
}

struct Device {
    id: Uuid,
    actor: [u8; 16],
}

impl Device {
    fn new() -> Device {
        Device {
            id: Uuid::now_v7(),
            actor: *Uuid::new_v4().as_bytes(),
        }
    }

    fn caller(&self) -> Caller {
        Caller {
            role: Role::Staff,
            scopes: BTreeSet::from([UNIT.to_owned()]),
            device_id: self.id,
            actor: ActorId::from(&self.actor[..]),
        }
    }

    /// A new citizen record as one pushed change.
    fn citizen(&self, name: &str, id_number: Option<&str>) -> PushRecord {
        self.citizen_in(UNIT, name, id_number)
    }

    /// A new citizen record of `unit` as one pushed change.
    fn citizen_in(&self, unit: &str, name: &str, id_number: Option<&str>) -> PushRecord {
        let mut fields = Fields::new();
        fields.insert("full_name".into(), name.into());
        fields.insert("status".into(), "active".into());
        if let Some(n) = id_number {
            fields.insert("id_number".into(), n.into());
        }
        let record = Record {
            id: Uuid::now_v7(),
            kind: Kind::Citizen,
            unit: unit.into(),
            fields,
        };
        let (_, mut change) = RecordDoc::create(&record, &Author::new(&self.actor, now_ms()))
            .expect("a valid citizen");
        PushRecord {
            record: record.id,
            kind: "citizen".into(),
            unit: String::new(),
            changes: vec![ByteBuf::from(encode_change(&mut change))],
        }
    }
}

fn request(device: Uuid, cursors: BTreeMap<String, u64>) -> SyncRequest {
    SyncRequest {
        v: PROTOCOL_VERSION,
        device_id: device,
        cursors,
        push: Vec::new(),
        max_bytes: 64 * 1024,
        status: DeviceStatus::default(),
        resync: Vec::new(),
        sensitive: Vec::new(),
    }
}

/// One pull of `device` from `cursor` on `store`: the reply.
fn pull(store: &Store, device: Uuid, cursor: u64) -> SyncReply {
    let req = request(device, BTreeMap::from([(UNIT.to_owned(), cursor)]));
    let mut reply = SyncReply::empty(now_ms());
    store
        .read(|c| {
            exchange::pull_step(
                c,
                device,
                &[UNIT.to_owned()],
                &req,
                req.max_bytes,
                &mut reply,
            )
        })
        .expect("pull");
    reply
}

/// A runtime for the nodes' writers (the database harness blocks, so it lives outside).
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_device_pulling_while_three_nodes_push_gets_every_accepted_change_once() {
    let nodes = nodes(3);
    runtime().block_on(pull_while_pushing(&nodes));
}

async fn pull_while_pushing(nodes: &Nodes) {
    const PUSHERS_PER_NODE: usize = 3;
    const PUSHES: usize = 12;
    let done = Arc::new(AtomicBool::new(false));

    // The puller: node A, a tight loop, bounded.
    let reader = nodes.stores[0].clone();
    let puller_done = done.clone();
    let puller = tokio::task::spawn_blocking(move || {
        let me = Uuid::now_v7();
        let mut cursor = 0u64;
        let mut received: HashMap<Uuid, usize> = HashMap::new();
        let mut quiet_after_done = 0;
        for _ in 0..20_000 {
            let finished = puller_done.load(Ordering::SeqCst);
            let reply = pull(&reader, me, cursor);
            for e in &reply.pull {
                *received.entry(e.record).or_default() += 1;
            }
            if let Some(c) = reply.cursors.get(UNIT) {
                assert!(*c >= cursor, "a cursor never goes back");
                cursor = *c;
            }
            // After the pushers finished: pull until a reply has nothing more.
            if finished && reply.pull.is_empty() && !reply.more {
                quiet_after_done += 1;
                if quiet_after_done >= 2 {
                    return received;
                }
            }
        }
        panic!("the puller did not catch up within its bound");
    });

    // The pushers: devices on nodes B and C (and A), each pushing one new record at a time.
    let mut pushers = Vec::new();
    for node in 0..3 {
        for _ in 0..PUSHERS_PER_NODE {
            let writer = nodes.writers[node].clone();
            pushers.push(tokio::spawn(async move {
                let dev = Device::new();
                let mut accepted = Vec::new();
                for i in 0..PUSHES {
                    let push = vec![dev.citizen(&format!("Nguyễn Văn {i}"), None)];
                    let caller = dev.caller();
                    let out = writer
                        .run(move |tx| sync::push(tx, &caller, &push, now_ms(), None))
                        .await
                        .expect("push");
                    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
                    accepted.extend(out.accepted_records);
                }
                accepted
            }));
        }
    }
    let mut accepted: BTreeSet<Uuid> = BTreeSet::new();
    for p in pushers {
        accepted.extend(p.await.unwrap());
    }
    assert_eq!(accepted.len(), 3 * PUSHERS_PER_NODE * PUSHES);
    done.store(true, Ordering::SeqCst);
    let received = puller.await.unwrap();

    let got: BTreeSet<Uuid> = received.keys().copied().collect();
    let missing: Vec<_> = accepted.difference(&got).collect();
    assert!(
        missing.is_empty(),
        "the feed skipped {} accepted record(s)",
        missing.len()
    );
    let twice: Vec<_> = received.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "records received more than once: {twice:?}"
    );
    assert_eq!(got, accepted, "nothing but the accepted records");
}

fn open_items(store: &Store) -> u64 {
    store
        .read(|c| review::count_items(c, &Filter::default(), now_ms()))
        .unwrap()
        .by_status
        .get("open")
        .copied()
        .unwrap_or(0)
}

/// Pairs of citizens with one ID number, stored without detection; returns the pairs.
async fn duplicate_pairs(nodes: &Nodes, n: usize) -> Vec<(Uuid, Uuid)> {
    let dev = Device::new();
    let mut pairs = Vec::new();
    for i in 0..n {
        let number = format!("0010900{i:05}");
        let push = vec![
            dev.citizen("Trần Văn Bình", Some(&number)),
            dev.citizen("Tran Van Binh", Some(&number)),
        ];
        let caller = dev.caller();
        let out = nodes.writers[0]
            .run(move |tx| sync::push(tx, &caller, &push, now_ms(), None))
            .await
            .unwrap();
        assert_eq!(out.accepted_records.len(), 2);
        pairs.push((out.accepted_records[0], out.accepted_records[1]));
    }
    pairs
}

#[test]
fn detection_of_one_situation_on_two_nodes_opens_one_item_and_two_admins_decide_it_once() {
    let nodes = nodes(2);
    runtime().block_on(detect_and_decide_on_two_nodes(&nodes));
}

async fn detect_and_decide_on_two_nodes(nodes: &Nodes) {
    const PAIRS: usize = 8;
    let pairs = duplicate_pairs(nodes, PAIRS).await;
    assert_eq!(open_items(&nodes.stores[0]), 0, "nothing detected yet");

    // Node A detects one citizen of each pair while node B detects the other, at once: both
    // find the same duplicate.
    let mut jobs = Vec::new();
    for (a, b) in &pairs {
        for (node, id) in [(0, *a), (1, *b)] {
            let writer = nodes.writers[node].clone();
            jobs.push(tokio::spawn(async move {
                writer
                    .run_serializable(move |tx| review::detect(tx, &[id], now_ms()))
                    .await
            }));
        }
    }
    for j in jobs {
        j.await.unwrap().expect("detection succeeds on both nodes");
    }
    assert_eq!(
        open_items(&nodes.stores[1]),
        PAIRS as u64,
        "one open item per duplicate pair, not one per node"
    );

    // Two admins, one per node, dismiss every item at the same time.
    for name in ["lan", "minh"] {
        let hash = accounts::hash_password("correct horse battery staple").unwrap();
        nodes.stores[0]
            .write(|tx| accounts::add_user(tx, name, &hash, Role::Admin, &[], now_ms()))
            .unwrap();
    }
    let items: Vec<i64> = nodes.stores[0]
        .read(|c| review::list_items(c, &Filter::default(), now_ms()))
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(items.len(), PAIRS);
    let mut decisions = Vec::new();
    for id in &items {
        for (node, admin) in [(0, "lan"), (1, "minh")] {
            let (writer, id) = (nodes.writers[node].clone(), *id);
            decisions.push(tokio::spawn(async move {
                writer
                    .run_serializable(move |tx| {
                        review::resolve(
                            tx,
                            id,
                            &Action::Dismiss {
                                reason: "hai hồ sơ của hai người khác nhau".into(),
                            },
                            &Resolver {
                                admin,
                                via: "api",
                                device: "test",
                            },
                            now_ms(),
                        )
                        .map_err(|e| match e {
                            ReviewError::Internal(e) => e,
                            refused => anyhow::Error::new(refused),
                        })
                    })
                    .await
                    .map(|item| (id, item.resolved_by))
                    .map_err(|e| match e.downcast::<ReviewError>() {
                        Ok(ReviewError::AlreadyClosed { .. }) => id,
                        other => panic!("unexpected failure: {other:?}"),
                    })
            }));
        }
    }
    let mut won: BTreeMap<i64, Vec<Option<String>>> = BTreeMap::new();
    let mut refused: BTreeMap<i64, usize> = BTreeMap::new();
    for d in decisions {
        match d.await.unwrap() {
            Ok((id, by)) => won.entry(id).or_default().push(by),
            Err(id) => *refused.entry(id).or_default() += 1,
        }
    }
    for id in &items {
        assert_eq!(
            won.get(id).map(Vec::len),
            Some(1),
            "item {id}: one decision"
        );
        assert_eq!(refused.get(id), Some(&1), "item {id}: the other is refused");
    }
    assert_eq!(open_items(&nodes.stores[0]), 0);
    // Exactly one dismissal per item reached the audit chain.
    let dismissals: i64 = nodes.stores[0]
        .read(|c| {
            c.query_value::<i64>(
                "SELECT count(*) FROM audit WHERE action = 'review_dismiss'",
                &[],
            )
        })
        .map_err(|e: DbError| e)
        .unwrap();
    assert_eq!(dismissals, PAIRS as i64);
}

#[test]
fn two_nodes_merging_edits_of_one_record_at_once_keep_both() {
    let nodes = nodes(3);
    runtime().block_on(concurrent_edits(&nodes));
}

async fn concurrent_edits(nodes: &Nodes) {
    const RECORDS: usize = 10;
    let creator = Device::new();
    let (lan, minh) = (Device::new(), Device::new());
    let mut expected = Vec::new();
    let mut edits = Vec::new();
    for i in 0..RECORDS {
        let push = creator.citizen(&format!("Lê Thị {i}"), None);
        let (id, created) = (push.record, push.changes[0].clone());
        let caller = creator.caller();
        nodes.writers[0]
            .run(move |tx| sync::push(tx, &caller, std::slice::from_ref(&push), now_ms(), None))
            .await
            .unwrap();
        // Both devices edit the created state: concurrent changes of one record.
        for (dev, field, value) in [
            (&lan, "full_name", "Lê Thị Lan"),
            (&minh, "notes", "ghi chú"),
        ] {
            let mut doc = RecordDoc::empty();
            doc.apply_changes(vec![sync_core::doc::decode_change(&created).unwrap()])
                .unwrap();
            let mut change = doc
                .edit(
                    &[sync_core::doc::Edit::Set {
                        field: field.into(),
                        value: value.into(),
                    }],
                    &Author::new(&dev.actor, now_ms()),
                )
                .unwrap()
                .expect("an edit");
            expected.push((id, change.hash()));
            edits.push((
                dev.caller(),
                PushRecord {
                    record: id,
                    kind: "citizen".into(),
                    unit: String::new(),
                    changes: vec![ByteBuf::from(encode_change(&mut change))],
                },
            ));
        }
    }
    let mut jobs = Vec::new();
    for (i, (caller, push)) in edits.into_iter().enumerate() {
        // Lan's edits through node B, Minh's through node C.
        let writer = nodes.writers[1 + i % 2].clone();
        jobs.push(tokio::spawn(async move {
            writer
                .run(move |tx| sync::push(tx, &caller, std::slice::from_ref(&push), now_ms(), None))
                .await
        }));
    }
    for j in jobs {
        let out = j.await.unwrap().expect("push");
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        assert_eq!(out.new_changes, 1);
    }
    for (id, hash) in expected {
        let stored = nodes.stores[0]
            .read(|c| ferry_server::feed::get_record(c, id))
            .unwrap()
            .unwrap();
        let doc = RecordDoc::load(&stored.doc).unwrap();
        assert!(
            doc.has_change(&hash),
            "record {id}: a concurrent edit was lost from the stored document"
        );
    }
}

#[test]
fn pushes_across_the_same_wards_in_opposite_orders_never_deadlock() {
    let db = TestDatabase::start();
    // PostgreSQL breaks a deadlock only after `deadlock_timeout`: set that far out and cap
    // every lock wait at 5 s, so that a deadlock fails a push instead of costing a second.
    // Each push locks its feeds in one order (sorted) and only for its inserts and commit,
    // so no wait here comes near 5 s.
    db.execute(
        "DO $$ BEGIN
           EXECUTE format('ALTER DATABASE %I SET deadlock_timeout = ''10min''', current_database());
           EXECUTE format('ALTER DATABASE %I SET lock_timeout = ''5s''', current_database());
         END $$",
    )
    .expect("set the database's lock settings");
    let nodes = nodes_on(db, 2);
    let lock_timeout = nodes.stores[1]
        .read(|c| {
            c.query_value::<String>("SELECT current_setting('lock_timeout')", &[])
                .map_err(anyhow::Error::from)
        })
        .unwrap();
    assert_eq!(
        lock_timeout, "5s",
        "the nodes' connections have the setting"
    );
    runtime().block_on(opposite_orders(&nodes));
}

async fn opposite_orders(nodes: &Nodes) {
    const ROUNDS: usize = 25;
    const WARDS: [&str; 2] = ["07132", "07135"];
    let mut jobs = Vec::new();
    for d in 0..4 {
        let writer = nodes.writers[d % 2].clone();
        jobs.push(tokio::spawn(async move {
            let dev = Device::new();
            let mut caller = dev.caller();
            caller.scopes = WARDS.iter().map(|w| w.to_string()).collect();
            let mut accepted = 0;
            for round in 0..ROUNDS {
                // Devices 0 and 2 push ward A's record first, 1 and 3 ward B's.
                let mut push: Vec<PushRecord> = WARDS
                    .iter()
                    .map(|w| dev.citizen_in(w, &format!("Trần Văn {d} {round}"), None))
                    .collect();
                if d % 2 == 1 {
                    push.reverse();
                }
                let caller = caller.clone();
                let out = writer
                    .run(move |tx| sync::push(tx, &caller, &push, now_ms(), None))
                    .await
                    .expect("a push never waits 5 s for a lock");
                assert!(out.rejected.is_empty(), "{:?}", out.rejected);
                accepted += out.accepted_records.len();
            }
            accepted
        }));
    }
    let mut total = 0;
    for j in jobs {
        total += j.await.unwrap();
    }
    assert_eq!(total, 4 * ROUNDS * 2, "every pushed record accepted");
}
