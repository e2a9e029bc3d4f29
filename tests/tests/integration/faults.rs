//! Dropped links, a killed server and hostile bodies.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use automerge::ChangeHash;
use ferry_tests::proxy::{Cut, Direction, Faults, Proxy};
use ferry_tests::{Client, Device, Engine, Server, citizen, now_ms};
use rand::{Rng, SeedableRng};
use sync_core::doc::Edit;
use sync_core::model::{Kind, Value};
use sync_core::protocol::{self, Encoding};
use uuid::Uuid;

use crate::bin;

fn note(text: String) -> Edit {
    Edit::Set {
        field: "notes".into(),
        value: Value::Text(text),
    }
}

/// Every change hash in every record document of a replica.
fn all_changes(replica: &sync_core::replica::Replica) -> BTreeSet<ChangeHash> {
    replica
        .all_heads()
        .unwrap()
        .keys()
        .flat_map(|id| {
            replica
                .document(*id)
                .unwrap()
                .unwrap()
                .changes_since(&[])
                .into_iter()
                .map(|c| c.hash())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Hashes still waiting in the outbox.
fn outbox(replica: &sync_core::replica::Replica) -> BTreeSet<Vec<u8>> {
    replica
        .pool()
        .read(|c| -> rusqlite::Result<BTreeSet<Vec<u8>>> {
            let mut stmt = c.prepare("SELECT hash FROM outbox")?;
            stmt.query_map([], |r| r.get(0))?.collect()
        })
        .unwrap()
}

ferry_tests::both_engines!(
    a_connection_cut_after_the_server_committed_is_repaired_by_the_next_sync
);
fn a_connection_cut_after_the_server_committed_is_repaired_by_the_next_sync() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &["07132"]);
    server.add_user("binh", "officer", &["07132"]);
    let proxy = Proxy::start(server.addr()).unwrap();
    let mut a = Device::login(&server.url(), "an");
    a.client = a.client.via(&proxy.url());
    let id = a
        .create(Kind::Citizen, "07132", citizen("Lương Văn Minh"), now_ms())
        .unwrap()
        .record
        .id;

    // The request gets through; the reply is cut before its first byte.
    proxy.cut_next(Cut {
        direction: Direction::Downstream,
        after_bytes: 0,
    });
    assert!(matches!(
        a.sync(),
        Err(ferry_tests::SyncError::Transport(_))
    ));
    assert_eq!(proxy.cuts(), 1);
    assert_eq!(a.pending(), 1, "no reply, so nothing is acknowledged");
    let admin = server.admin();
    assert_eq!(
        admin
            .get(&format!("/v1/admin/records/{id}"))
            .unwrap()
            .status,
        200,
        "the server committed before answering"
    );

    let report = a.sync().unwrap();
    assert_eq!(report.acknowledged, 1);
    assert_eq!(a.pending(), 0);
    let b = Device::login(&server.url(), "binh");
    b.sync_all();
    assert_eq!(b.all_heads().unwrap(), a.all_heads().unwrap());
    let n: i64 = server
        .store()
        .read(|c| c.query_value("SELECT count(*) FROM changes", &[]))
        .unwrap();
    assert_eq!(n, 1, "stored once");
}

ferry_tests::both_engines!(
    a_link_that_cuts_at_random_byte_offsets_over_200_exchanges_loses_nothing
);
fn a_link_that_cuts_at_random_byte_offsets_over_200_exchanges_loses_nothing() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &["07132"]);
    server.add_user("binh", "officer", &["07132"]);
    let proxy = Proxy::start(server.addr()).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(20_250_701);
    let mut plan_rng = rand::rngs::StdRng::seed_from_u64(7);
    proxy.set_plan(move |_| {
        let cut = match plan_rng.gen_range(0..3) {
            0 => None,
            1 => Some(Cut {
                direction: Direction::Upstream,
                after_bytes: plan_rng.gen_range(0..700),
            }),
            _ => Some(Cut {
                direction: Direction::Downstream,
                after_bytes: plan_rng.gen_range(0..700),
            }),
        };
        Faults { cut }
    });
    let mut devices = [
        Device::login(&server.url(), "an"),
        Device::login(&server.url(), "binh"),
    ];
    for d in devices.iter_mut() {
        d.client = d.client.via(&proxy.url());
        d.client.max_reply_bytes = protocol::MIN_MAX_BYTES;
    }
    let mut made: Vec<ChangeHash> = Vec::new();
    let (mut ok, mut failed) = (0, 0);
    for i in 0..200 {
        let d = &devices[i % 2];
        let known: Vec<Uuid> = d.all_heads().unwrap().into_keys().collect();
        let id = if known.is_empty() || rng.gen_bool(0.3) {
            d.create(
                Kind::Citizen,
                "07132",
                citizen(&format!("Người {i}")),
                now_ms(),
            )
            .unwrap()
            .record
            .id
        } else {
            let id = known[rng.gen_range(0..known.len())];
            d.update(id, &[note(format!("sửa {i}"))], now_ms()).unwrap();
            id
        };
        made.extend(d.document(id).unwrap().unwrap().heads());
        match d.sync() {
            Ok(_) => ok += 1,
            Err(_) => failed += 1,
        }
    }
    assert!(
        failed > 50 && ok > 20,
        "the link really dropped: {ok} ok, {failed} failed"
    );
    assert!(proxy.cuts() > 50);

    // Then a good link: everything arrives everywhere.
    for d in devices.iter_mut() {
        d.client = d.client.via(&server.url());
    }
    for _ in 0..2 {
        for d in &devices {
            d.sync_all();
        }
    }
    let [a, b] = &devices;
    assert_eq!(a.pending(), 0);
    assert_eq!(b.pending(), 0);
    assert_eq!(a.all_heads().unwrap(), b.all_heads().unwrap());
    let have = all_changes(a);
    let lost: Vec<_> = made.iter().filter(|h| !have.contains(h)).collect();
    assert!(
        lost.is_empty(),
        "lost {} of {} edits",
        lost.len(),
        made.len()
    );
    let fresh = Device::login(&server.url(), "an");
    fresh.sync_all();
    assert_eq!(fresh.all_heads().unwrap(), a.all_heads().unwrap());
}

/// A phone of `an` pushes 20 new records per exchange through `url` until `kill` pulls the
/// plug while a push is on the wire (after a hundred records were acknowledged). Returns the
/// phone and the changes it holds as acknowledged (they left its outbox).
fn push_until_killed(url: &str, kill: impl FnOnce()) -> (Device, Vec<ChangeHash>) {
    let a = Arc::new(Device::login(url, "an"));
    let stop = Arc::new(AtomicBool::new(false));
    let in_flight = Arc::new(AtomicBool::new(false));
    let pusher = {
        let (a, stop, in_flight) = (a.clone(), stop.clone(), in_flight.clone());
        std::thread::spawn(move || {
            let mut synced = 0;
            for round in 0..400 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                for j in 0..20 {
                    a.create(
                        Kind::Citizen,
                        "07132",
                        citizen(&format!("Công dân {round}-{j}")),
                        now_ms(),
                    )
                    .unwrap();
                }
                in_flight.store(true, Ordering::SeqCst);
                let result = a.sync();
                in_flight.store(false, Ordering::SeqCst);
                if result.is_ok() {
                    synced += 1;
                }
            }
            synced
        })
    };
    // Let a hundred records land, then pull the plug while a push is on the wire.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        let acked = (a.all_heads().unwrap().len() as u64).saturating_sub(a.pending());
        if acked >= 100 && in_flight.load(Ordering::SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(3));
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    kill();
    stop.store(true, Ordering::SeqCst);
    let synced = pusher.join().unwrap();
    assert!(synced >= 1, "some pushes were acknowledged before the kill");

    // What left the outbox was acknowledged.
    let pending = outbox(&a);
    let acknowledged: Vec<ChangeHash> = all_changes(&a)
        .into_iter()
        .filter(|h| !pending.contains(h.0.as_slice()))
        .collect();
    assert!(!acknowledged.is_empty());
    (Arc::try_unwrap(a).expect("pusher finished"), acknowledged)
}

/// Every `acknowledged` change is on the server at `url`, and the phone `a` then finishes its
/// push there and converges with a fresh phone.
fn nothing_acknowledged_is_lost(url: &str, mut a: Device, acknowledged: &[ChangeHash]) {
    let fresh = Device::login(url, "an");
    fresh.sync_all();
    let on_server = all_changes(&fresh);
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|h| !on_server.contains(h))
        .collect();
    assert!(lost.is_empty(), "lost {} acknowledged changes", lost.len());

    // The phone then finishes its push against the server that serves now.
    a.client = a.client.via(url);
    a.sync_all();
    fresh.sync_all();
    assert_eq!(a.pending(), 0);
    assert_eq!(fresh.all_heads().unwrap(), a.all_heads().unwrap());
}

ferry_tests::both_engines!(
    the_server_killed_with_sigkill_mid_push_and_restarted_loses_no_acknowledged_change
);
fn the_server_killed_with_sigkill_mid_push_and_restarted_loses_no_acknowledged_change() {
    let mut server = Server::start(bin());
    server.add_user("an", "officer", &["07132"]);
    let url = server.url();
    let (a, acknowledged) = push_until_killed(&url, || server.kill());
    server.restart();
    nothing_acknowledged_is_lost(&server.url(), a, &acknowledged);
}

/// Several nodes on one PostgreSQL: one is killed with SIGKILL while a phone pushes through
/// it; another node, never restarted, has every acknowledged change and keeps serving, and
/// the audit trail the dead node wrote into still verifies.
#[test]
fn a_postgres_node_killed_with_sigkill_mid_push_loses_nothing_and_another_node_keeps_serving() {
    ferry_tests::on_engine(Engine::Postgres, || {
        let mut doomed = Server::start(bin());
        let survivor = doomed.node();
        doomed.add_user("an", "officer", &["07132"]);
        let url = doomed.url();
        let (a, acknowledged) = push_until_killed(&url, || doomed.kill());
        assert!(
            Client::new(&url).get("/healthz").is_err(),
            "the killed node is gone"
        );
        nothing_acknowledged_is_lost(&survivor.url(), a, &acknowledged);
        let out = survivor.cli(&["audit", "verify"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    });
}

ferry_tests::both_engines!(
    garbage_truncated_oversized_and_wrongly_typed_bodies_get_4xx_and_the_server_stays_healthy
);
fn garbage_truncated_oversized_and_wrongly_typed_bodies_get_4xx_and_the_server_stays_healthy() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &["07132"]);
    let a = Device::login(&server.url(), "an");
    a.create(Kind::Citizen, "07132", citizen("Hà Văn Tâm"), now_ms())
        .unwrap();
    let c = &a.client;
    let valid = protocol::encode_request(&a.prepare_sync(&Default::default()).unwrap());
    let post =
        |headers: &[(&str, &str)], body: Vec<u8>| c.send("POST", "/v1/sync", headers, Some(body));
    let expect = |reply: Result<ferry_tests::HttpReply, String>, status: u16, what: &str| {
        let reply = reply.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            reply.status,
            status,
            "{what}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        assert!(reply.json()["error"].is_string(), "{what}: JSON error body");
    };

    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let garbage: Vec<u8> = (0..2_000).map(|_| rng.r#gen()).collect();
    expect(post(&[], garbage.clone()), 400, "garbage");
    expect(post(&[], Vec::new()), 400, "empty");
    for cut in [1, valid.len() / 3, valid.len() / 2, valid.len() - 1] {
        expect(post(&[], valid[..cut].to_vec()), 400, "truncated");
    }
    let zstd_truncated = protocol::compress(&valid, Encoding::Zstd);
    expect(
        post(
            &[("Content-Encoding", "zstd")],
            zstd_truncated[..zstd_truncated.len() / 2].to_vec(),
        ),
        400,
        "truncated zstd",
    );
    expect(
        post(&[("Content-Encoding", "gzip")], garbage.clone()),
        400,
        "corrupt gzip",
    );
    expect(
        post(&[("Content-Encoding", "br")], valid.clone()),
        415,
        "unknown encoding",
    );

    // Wrongly typed: valid CBOR of the wrong shape, JSON, another protocol version.
    let mut wrong = Vec::new();
    ciborium::into_writer(
        &serde_json::json!({"v": "one", "device_id": 5, "cursors": [], "push": {}}),
        &mut wrong,
    )
    .unwrap();
    expect(post(&[], wrong), 400, "wrong types");
    expect(post(&[], br#"{"v":1}"#.to_vec()), 400, "json");
    let mut v2 = a.prepare_sync(&Default::default()).unwrap();
    v2.v = 2;
    expect(post(&[], protocol::encode_request(&v2)), 400, "version 2");

    // Oversized: a decompression bomb, and a body above the wire limit.
    let bomb = protocol::compress(&vec![0u8; 70 << 20], Encoding::Zstd);
    expect(post(&[("Content-Encoding", "zstd")], bomb), 413, "bomb");
    // The server may answer 413 and close before the client finishes sending: then the
    // client sees a transport error instead.
    if let Ok(reply) = post(&[], vec![0u8; 17 << 20]) {
        assert_eq!(reply.status, 413);
    }

    // Bad change bytes inside a valid request: a per-record rejection, not a failure.
    let mut req = a.prepare_sync(&Default::default()).unwrap();
    req.push[0].changes[0] = serde_bytes::ByteBuf::from(vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3]);
    let reply = post(&[], protocol::encode_request(&req)).unwrap();
    assert_eq!(reply.status, 200);
    let reply = ferry_tests::decode_sync_reply(&reply).unwrap();
    assert_eq!(reply.rejected[0].code, protocol::RejectCode::Malformed);

    // Login bodies.
    let anon = Client::new(&server.url());
    expect(
        anon.send(
            "POST",
            "/v1/login",
            &[("Content-Type", "application/json")],
            Some(garbage),
        ),
        400,
        "login garbage",
    );
    expect(
        anon.post_json(
            "/v1/login",
            &serde_json::json!({"username": 1, "password": []}),
        ),
        400,
        "login wrong types",
    );
    expect(
        anon.post_json(
            "/v1/login",
            &serde_json::json!({"username": "an", "password": "x", "device_id": Uuid::now_v7(), "actor_id": "zz"}),
        ),
        400,
        "login bad actor",
    );
    expect(
        anon.send("POST", "/v1/login", &[], Some(b"{}".to_vec())),
        415,
        "login without content type",
    );
    expect(anon.get("/no/such/path"), 404, "unknown path");

    // Still healthy, and a real sync works.
    assert_eq!(anon.get("/healthz").unwrap().status, 200);
    let report = a.sync().unwrap();
    assert_eq!(report.acknowledged, 1);
    assert_eq!(
        anon.get("/metrics").unwrap().status,
        404,
        "not on the public address"
    );
    let metrics = Client::new(&server.metrics_url().expect("metrics listener"))
        .get("/metrics")
        .unwrap();
    let text = String::from_utf8_lossy(&metrics.body);
    assert!(text.contains("ferry_sync_errors_total"));
    assert!(
        text.contains("ferry_rejections_total{code=\"malformed\"} 1"),
        "{text}"
    );
}

ferry_tests::both_engines!(sigterm_stops_the_server_cleanly);
fn sigterm_stops_the_server_cleanly() {
    let mut server = Server::start(bin());
    server.add_user("an", "officer", &["07132"]);
    let a = Device::login(&server.url(), "an");
    a.create(Kind::Citizen, "07132", citizen("Quách Văn Kiên"), now_ms())
        .unwrap();
    a.sync_all();
    assert!(server.terminate(), "exit status 0 after SIGTERM");
    server.restart();
    let b = Device::login(&server.url(), "an");
    b.sync_all();
    assert_eq!(b.count().unwrap(), 1);
}
