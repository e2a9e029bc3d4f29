//! The change feed across real `ferry serve` processes on one PostgreSQL: a phone pulling in a
//! tight loop through node A while phones push concurrently through nodes B and C receives
//! every accepted change, none twice (the feed-gap argument of `docs/ARCHITECTURE.md`: a
//! cursor handed out by A never passes over a change that B or C commits later with a lower
//! sequence number).
//!
//! `pg_sync_path.rs` checks the same in process with several pools; this test runs it over
//! HTTP with three separate processes, as deployed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ferry_tests::{Client, Device, Engine, Server, citizen, decode_sync_reply, now_ms};
use sync_core::doc::{RecordDoc, decode_change};
use sync_core::model::Kind;
use sync_core::protocol::{
    self, DeviceStatus, MIN_MAX_BYTES, PROTOCOL_VERSION, SyncReply, SyncRequest,
};
use uuid::Uuid;

use crate::bin;

const UNIT: &str = "07132";

/// Pushing phones per pushing node, exchanges per phone, new records per exchange.
const PHONES_PER_NODE: usize = 3;
const PUSHES: usize = 10;
const RECORDS_PER_PUSH: usize = 3;

/// The puller: a device that never pushes, sending bare pull requests and counting every
/// change hash it receives (in `changes`, or inside a `snapshot`).
struct Puller {
    client: Client,
    device: Uuid,
    cursor: u64,
    received: HashMap<Vec<u8>, usize>,
}

impl Puller {
    fn login(url: &str) -> Puller {
        let mut client = Client::new(url);
        let device = Uuid::now_v7();
        client
            .login_as(
                "puller",
                ferry_tests::PASSWORD,
                device,
                Uuid::new_v4().as_bytes(),
            )
            .expect("the puller logs in");
        Puller {
            client,
            device,
            cursor: 0,
            received: HashMap::new(),
        }
    }

    /// One pull; the reply.
    fn pull(&mut self) -> SyncReply {
        let req = SyncRequest {
            v: PROTOCOL_VERSION,
            device_id: self.device,
            cursors: BTreeMap::from([(UNIT.to_owned(), self.cursor)]),
            push: Vec::new(),
            // The smallest budget the server grants, so replies page.
            max_bytes: MIN_MAX_BYTES,
            status: DeviceStatus::default(),
            resync: Vec::new(),
            sensitive: Vec::new(),
        };
        let http = self
            .client
            .send(
                "POST",
                "/v1/sync",
                &[("Content-Type", "application/cbor")],
                Some(protocol::encode_request(&req)),
            )
            .expect("node A answers");
        assert_eq!(http.status, 200, "{}", String::from_utf8_lossy(&http.body));
        let reply = decode_sync_reply(&http).expect("a sync reply");
        for entry in &reply.pull {
            for bytes in &entry.changes {
                let hash = decode_change(bytes).expect("a change").hash();
                *self.received.entry(hash.0.to_vec()).or_default() += 1;
            }
            if let Some(snapshot) = &entry.snapshot {
                for (hash, _) in RecordDoc::load(snapshot)
                    .expect("a snapshot")
                    .change_actors()
                {
                    *self.received.entry(hash.0.to_vec()).or_default() += 1;
                }
            }
        }
        if let Some(c) = reply.cursors.get(UNIT) {
            assert!(*c >= self.cursor, "a cursor never goes back");
            self.cursor = *c;
        }
        reply
    }
}

/// A phone on `url` pushing `PUSHES` exchanges of new citizens; returns the change hashes
/// the server acknowledged (its outbox is empty at the end).
fn push_through(url: &str, user: &str) -> Vec<Vec<u8>> {
    let phone = Device::login(url, user);
    for round in 0..PUSHES {
        for j in 0..RECORDS_PER_PUSH {
            let name = format!("Công dân {round}-{j}");
            phone
                .create(Kind::Citizen, UNIT, citizen(&name), now_ms())
                .unwrap();
        }
        let report = phone.sync().expect("the push is answered");
        assert_eq!(report.rejected, 0, "nothing is refused");
    }
    phone.sync_all();
    assert_eq!(phone.pending(), 0, "every change was acknowledged");
    let mut hashes = Vec::new();
    for id in phone.all_heads().unwrap().keys() {
        let doc = phone.document(*id).unwrap().unwrap();
        hashes.extend(doc.change_actors().into_iter().map(|(h, _)| h.0.to_vec()));
    }
    hashes
}

#[test]
fn a_phone_pulling_through_node_a_while_phones_push_through_b_and_c_gets_every_change_once() {
    let [a, b, c] = ferry_tests::on_engine(Engine::Postgres, || {
        let a = Server::start(bin());
        let (b, c) = (a.node(), a.node());
        [a, b, c]
    });
    a.add_user("puller", "officer", &[UNIT]);
    for i in 0..2 * PHONES_PER_NODE {
        a.add_user(&format!("can-bo-{i}"), "officer", &[UNIT]);
    }

    let done = Arc::new(AtomicBool::new(false));
    let puller = {
        let (url, done) = (a.url(), done.clone());
        std::thread::spawn(move || {
            let mut puller = Puller::login(&url);
            let deadline = Instant::now() + Duration::from_secs(240);
            let mut quiet = 0;
            // Replies that brought changes while the others were still pushing.
            let mut during = 0u64;
            while Instant::now() < deadline {
                let finished = done.load(Ordering::SeqCst);
                let reply = puller.pull();
                if !finished && !reply.pull.is_empty() {
                    during += 1;
                }
                // After the pushers finished: until two replies in a row bring nothing more.
                if finished && reply.pull.is_empty() && !reply.more {
                    quiet += 1;
                    if quiet >= 2 {
                        return (puller.received, during);
                    }
                } else {
                    quiet = 0;
                }
            }
            panic!("the puller did not catch up within its bound");
        })
    };

    let mut pushers = Vec::new();
    for (n, node) in [&b, &c].into_iter().enumerate() {
        for p in 0..PHONES_PER_NODE {
            let (url, user) = (node.url(), format!("can-bo-{}", n * PHONES_PER_NODE + p));
            pushers.push(std::thread::spawn(move || push_through(&url, &user)));
        }
    }
    let mut accepted: BTreeSet<Vec<u8>> = BTreeSet::new();
    for p in pushers {
        accepted.extend(p.join().expect("a pusher"));
    }
    assert_eq!(
        accepted.len(),
        2 * PHONES_PER_NODE * PUSHES * RECORDS_PER_PUSH,
        "one change per record"
    );
    done.store(true, Ordering::SeqCst);
    let (received, during) = puller.join().expect("the puller");
    assert!(
        during >= 2,
        "the puller received changes while the others were still pushing"
    );

    let got: BTreeSet<Vec<u8>> = received.keys().cloned().collect();
    let missing = accepted.difference(&got).count();
    assert_eq!(missing, 0, "the feed skipped {missing} accepted change(s)");
    let twice = received.values().filter(|n| **n > 1).count();
    assert_eq!(twice, 0, "{twice} change(s) were received more than once");
    assert_eq!(got, accepted, "nothing but the accepted changes");
}
