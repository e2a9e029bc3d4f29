//! Hostile input against the real server (issue 10): one push must not kill the server or
//! hold it; every value a change writes is checked; replies stay within their budget.
//!
//! Bounds stated in `BENCHMARKS.md` ("Hostile input bounds") are asserted here: the server's
//! resident memory stays under [`RSS_BOUND`] and another device's exchanges under
//! [`LATENCY_BOUND`] while an attack runs.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_tests::hostile::{self, UNIT};
use ferry_tests::{
    Client, Device, PASSWORD, Server, application, citizen, decode_sync_reply, now_ms,
};
use sync_core::doc::{Edit, RecordDoc};
use sync_core::model::{Kind, Value};
use sync_core::protocol::{RejectCode, SyncReply};
use uuid::Uuid;

use crate::bin;

/// Most resident memory of the server process during any attack here (debug build).
const RSS_BOUND: u64 = 256 << 20;
/// Slowest exchange of a bystander device during any attack here (debug build).
const LATENCY_BOUND: Duration = Duration::from_secs(2);

/// An officer's client logged in with a chosen actor id, so that hand-built changes pass the
/// actor check.
fn attacker(server: &Server, user: &str, actor: [u8; 16]) -> (Client, Uuid) {
    let mut c = Client::new(&server.url());
    let device = Uuid::now_v7();
    c.login_as(user, PASSWORD, device, &actor).expect("login");
    (c, device)
}

fn set_status(status: &str) -> Edit {
    Edit::Set {
        field: "status".into(),
        value: Value::from(status),
    }
}

/// POSTs a zstd-compressed sync body.
fn post_sync(c: &Client, body: Vec<u8>) -> ferry_tests::HttpReply {
    c.send(
        "POST",
        "/v1/sync",
        &[
            ("Content-Type", "application/cbor"),
            ("Content-Encoding", "zstd"),
            ("Accept-Encoding", "zstd"),
        ],
        Some(body),
    )
    .expect("transport")
}

fn rejection(reply: &ferry_tests::HttpReply) -> (RejectCode, String) {
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let reply: SyncReply = decode_sync_reply(reply).unwrap();
    assert!(reply.accepted.is_empty(), "nothing is accepted");
    let r = reply.rejected.first().expect("a rejection");
    (r.code, r.message.clone())
}

/// A bystander device syncing in a loop while `attack` runs: returns the attack's result,
/// the slowest bystander exchange and the highest server RSS seen.
fn under_attack<T: Send + 'static>(
    server: &Server,
    bystander: &Device,
    attack: impl FnOnce() -> T + Send + 'static,
) -> (T, Duration, u64) {
    let done = Arc::new(AtomicBool::new(false));
    let flag = done.clone();
    let handle = std::thread::spawn(move || {
        let out = attack();
        flag.store(true, Ordering::SeqCst);
        out
    });
    let mut slowest = Duration::ZERO;
    let mut peak = 0u64;
    let mut rounds = 0;
    while !done.load(Ordering::SeqCst) || rounds < 3 {
        peak = peak.max(server.rss_bytes().unwrap_or(0));
        let started = Instant::now();
        bystander.sync().expect("bystander sync");
        slowest = slowest.max(started.elapsed());
        rounds += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    peak = peak.max(server.rss_bytes().unwrap_or(0));
    eprintln!(
        "under attack: {rounds} bystander exchanges, slowest {slowest:?}, peak server RSS {} MiB",
        peak >> 20
    );
    (handle.join().expect("attack thread"), slowest, peak)
}

fn serving(server: &Server, device: &Device) {
    let health = Client::new(&server.url()).get("/healthz").expect("healthz");
    assert_eq!(health.status, 200, "the server still answers");
    device
        .create(Kind::Citizen, UNIT, citizen("Trần Văn Bình"), now_ms())
        .unwrap();
    device.sync_all();
    assert_eq!(device.pending(), 0, "the server still accepts work");
}

ferry_tests::both_engines!(a_push_nesting_hundreds_of_maps_is_refused_and_the_server_keeps_serving);
fn a_push_nesting_hundreds_of_maps_is_refused_and_the_server_keeps_serving() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &[UNIT]);
    server.add_user("binh", "officer", &[UNIT]);
    let actor = [7u8; 16];
    let (c, device) = attacker(&server, "an", actor);
    for depth in [3, 300, 5_000] {
        let id = Uuid::now_v7();
        let change = hostile::deep_household(id, &actor, depth);
        let reply = post_sync(
            &c,
            hostile::push_body(device, id, "household", vec![change]),
        );
        let (code, message) = rejection(&reply);
        assert_eq!(code, RejectCode::Invalid, "depth {depth}: {message}");
        if depth > 2 {
            assert!(message.contains("nest"), "{message}");
        }
    }
    let b = Device::login(&server.url(), "binh");
    serving(&server, &b);
}

ferry_tests::both_engines!(an_operation_bomb_is_refused_before_the_writer_and_others_keep_syncing);
fn an_operation_bomb_is_refused_before_the_writer_and_others_keep_syncing() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &[UNIT]);
    server.add_user("binh", "officer", &[UNIT]);
    let actor = [7u8; 16];
    let (c, device) = attacker(&server, "an", actor);
    let id = Uuid::now_v7();
    let bomb = hostile::op_bomb(id, &actor, 3_000_000);
    assert!(
        bomb.len() < 8_000,
        "the bomb is small on the wire: {} bytes",
        bomb.len()
    );
    let raw = hostile::uncompressed(&bomb);
    let b = Device::login(&server.url(), "binh");
    b.sync_all();

    // As Ferry sends changes (uncompressed chunk): counted from the metadata, refused whole.
    let body = hostile::push_body(device, id, "citizen", vec![raw]);
    assert!(body.len() < 64 << 10, "{} bytes on the wire", body.len());
    let c2 = c.clone();
    let (reply, slowest, peak) = under_attack(&server, &b, move || post_sync(&c2, body));
    assert_eq!(
        reply.status,
        413,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.json()["error"], "too_many_operations");
    assert!(slowest < LATENCY_BOUND, "a bystander waited {slowest:?}");
    assert!(peak < RSS_BOUND, "server RSS reached {} MiB", peak >> 20);

    // Deflated inside the change chunk: refused while inflating, before Automerge decodes it.
    let body = hostile::push_body(device, id, "citizen", vec![bomb]);
    let (reply, slowest, peak) = under_attack(&server, &b, move || post_sync(&c, body));
    let (code, _) = rejection(&reply);
    assert_eq!(code, RejectCode::Malformed);
    assert!(slowest < LATENCY_BOUND, "a bystander waited {slowest:?}");
    assert!(peak < RSS_BOUND, "server RSS reached {} MiB", peak >> 20);
    serving(&server, &b);
}

ferry_tests::both_engines!(a_change_over_the_operation_limit_is_refused_as_invalid);
fn a_change_over_the_operation_limit_is_refused_as_invalid() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &[UNIT]);
    let actor = [7u8; 16];
    let (c, device) = attacker(&server, "an", actor);
    let id = Uuid::now_v7();
    let change = hostile::op_bomb(id, &actor, 20_000);
    let reply = post_sync(&c, hostile::push_body(device, id, "citizen", vec![change]));
    let (code, message) = rejection(&reply);
    assert_eq!(code, RejectCode::Invalid);
    assert!(message.contains("operations"), "{message}");
}

ferry_tests::both_engines!(an_oversized_notes_value_is_refused_and_never_reaches_another_phone);
fn an_oversized_notes_value_is_refused_and_never_reaches_another_phone() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &[UNIT]);
    server.add_user("binh", "officer", &[UNIT]);
    let actor = [7u8; 16];
    let (c, device) = attacker(&server, "an", actor);
    let mut b = Device::login(&server.url(), "binh");
    b.client.max_reply_bytes = 16 * 1024;
    b.sync_all();

    // 40 MiB deflates (inside the change chunk) to a few KiB: the change is refused while
    // it is inflated, before Automerge decodes it.
    let id = Uuid::now_v7();
    let huge = hostile::long_notes(id, &actor, 40 << 20);
    let body = hostile::push_body(device, id, "citizen", vec![huge]);
    assert!(body.len() < 1 << 20, "{} bytes on the wire", body.len());
    let c2 = c.clone();
    let (reply, slowest, peak) = under_attack(&server, &b, move || post_sync(&c2, body));
    let (code, _) = rejection(&reply);
    assert_eq!(code, RejectCode::Malformed);
    assert!(slowest < LATENCY_BOUND, "a bystander waited {slowest:?}");
    assert!(peak < RSS_BOUND, "server RSS reached {} MiB", peak >> 20);

    // Just over the field's limit: refused per record, with the field named.
    let id = Uuid::now_v7();
    let long = hostile::long_notes(id, &actor, sync_core::model::NOTES_MAX_CHARS + 1);
    let reply = post_sync(&c, hostile::push_body(device, id, "citizen", vec![long]));
    let (code, message) = rejection(&reply);
    assert_eq!(code, RejectCode::Invalid);
    assert!(message.contains("`notes`"), "{message}");

    // The other phone gets nothing of either, and every reply it gets is within its budget.
    let raw = b.client.clone();
    let req = b.replica.prepare_sync(&Default::default()).unwrap();
    let mut req = req;
    req.max_bytes = 16 * 1024;
    let body = sync_core::protocol::compress(
        &sync_core::protocol::encode_request(&req),
        sync_core::protocol::Encoding::Zstd,
    );
    let reply = decode_sync_reply(&post_sync(&raw, body)).unwrap();
    assert!(reply.pull.is_empty());
    assert!(sync_core::protocol::encode_reply(&reply).len() <= 16 * 1024);
}

#[test]
fn eight_parallel_60_mib_bodies_are_refused_with_memory_bounded() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &[UNIT]);
    server.add_user("binh", "officer", &[UNIT]);
    let (c, _) = attacker(&server, "an", [7u8; 16]);
    let b = Device::login(&server.url(), "binh");
    b.sync_all();
    let url = format!("{}/v1/sync", server.url());
    let token = c.token.clone().expect("token");
    let statuses = Arc::new(Mutex::new(Vec::new()));
    let seen = statuses.clone();
    let (_, slowest, peak) = under_attack(&server, &b, move || {
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let (url, token, seen) = (url.clone(), token.clone(), seen.clone());
                std::thread::spawn(move || {
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .timeout_global(Some(Duration::from_secs(60)))
                        .build()
                        .into();
                    let mut zeros = std::io::repeat(0).take(60 << 20);
                    let req = agent
                        .post(&url)
                        .header("Authorization", format!("Bearer {token}"))
                        .header("Content-Type", "application/cbor");
                    // Half declare their length, half stream it chunked.
                    let result = if i % 2 == 0 {
                        req.header("Content-Length", (60u64 << 20).to_string())
                            .send(ureq::SendBody::from_reader(&mut zeros))
                    } else {
                        req.send(ureq::SendBody::from_reader(&mut zeros))
                    };
                    // The server may answer 413 and close before the client finished sending.
                    let status = result.map(|r| r.status().as_u16()).unwrap_or(0);
                    seen.lock().unwrap().push(status);
                })
            })
            .collect();
        for t in threads {
            t.join().expect("sender");
        }
    });
    let statuses = statuses.lock().unwrap().clone();
    assert_eq!(statuses.len(), 8);
    assert!(
        statuses.iter().all(|s| *s == 413 || *s == 0),
        "every large body is refused: {statuses:?}"
    );
    assert!(slowest < LATENCY_BOUND, "a bystander waited {slowest:?}");
    assert!(peak < RSS_BOUND, "server RSS reached {} MiB", peak >> 20);
    serving(&server, &b);
}

ferry_tests::both_engines!(an_officer_cannot_slip_an_acceptance_in_as_a_losing_concurrent_value);
fn an_officer_cannot_slip_an_acceptance_in_as_a_losing_concurrent_value() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &[UNIT]);
    server.add_user("binh", "officer", &[UNIT]);
    // Actor ids chosen so that Bình's write wins the merge (same counter, higher actor).
    let (c, device) = attacker(&server, "an", [0x01; 16]);
    let mut a_doc = {
        let (doc, change) = RecordDoc::create(
            &sync_core::model::Record {
                id: Uuid::now_v7(),
                kind: Kind::CccdApplication,
                unit: UNIT.into(),
                fields: application("Đỗ Thị Hoa", "submitted"),
            },
            &sync_core::doc::Author::new(&[0x01; 16], now_ms()),
        )
        .unwrap();
        let id = doc.read().unwrap().id;
        let mut change = change;
        let reply = post_sync(
            &c,
            hostile::push_body(
                device,
                id,
                "cccd_application",
                vec![sync_core::doc::encode_change(&mut change)],
            ),
        );
        let reply = decode_sync_reply(&reply).unwrap();
        assert!(reply.rejected.is_empty(), "{:?}", reply.rejected);
        doc
    };
    let id = a_doc.read().unwrap().id;

    // Bình, whose actor id sorts above, withdraws it.
    let dir = tempfile::tempdir().unwrap();
    let b_replica = sync_core::replica::Replica::open_as(
        &dir.path().join("b.db"),
        None,
        Some((Uuid::now_v7(), [0xff; 16])),
    )
    .unwrap();
    let mut b_client = Client::new(&server.url());
    let login = b_client
        .login_as(
            "binh",
            PASSWORD,
            b_replica.device_id(),
            &b_replica.actor_id(),
        )
        .unwrap();
    b_replica
        .set_session(&sync_core::replica::Session {
            user: login.user,
            role: login.role,
            units: login.units,
        })
        .unwrap();
    b_client.sync_until_done(&b_replica, 20).unwrap();
    b_replica
        .update(id, &[set_status("withdrawn")], now_ms())
        .unwrap();
    b_client.sync_until_done(&b_replica, 20).unwrap();

    // An, built on the state before the withdrawal, writes `accepted`: it loses the merge,
    // so the winning status does not change, but the value would sit in the document.
    let mut change = a_doc
        .edit(
            &[Edit::Set {
                field: "status".into(),
                value: Value::from("accepted"),
            }],
            &sync_core::doc::Author::new(&[0x01; 16], now_ms()),
        )
        .unwrap()
        .unwrap();
    let reply = post_sync(
        &c,
        hostile::push_body(
            device,
            id,
            "cccd_application",
            vec![sync_core::doc::encode_change(&mut change)],
        ),
    );
    let (code, message) = rejection(&reply);
    assert_eq!(code, RejectCode::Forbidden, "{message}");
    let stored = stored_record(&server, id);
    assert_eq!(stored["fields"]["status"], "withdrawn");
    assert!(
        !stored.to_string().contains("accepted"),
        "the forbidden value is nowhere in the stored record: {stored}"
    );
}

ferry_tests::both_engines!(a_stored_change_of_another_units_record_re_pushed_is_out_of_scope);
fn a_stored_change_of_another_units_record_re_pushed_is_out_of_scope() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &[UNIT]);
    server.add_user("chi", "officer", &["07135"]);
    let a = Device::login(&server.url(), "an");
    let id = a
        .create(Kind::Citizen, UNIT, citizen("Vũ Văn Khải"), now_ms())
        .unwrap()
        .record
        .id;
    let mut changes: Vec<Vec<u8>> = a
        .document(id)
        .unwrap()
        .unwrap()
        .changes_since(&[])
        .into_iter()
        .map(|mut c| sync_core::doc::encode_change(&mut c))
        .collect();
    a.sync_all();
    let (c, device) = attacker(&server, "chi", [9u8; 16]);
    let reply = post_sync(
        &c,
        hostile::push_body(device, id, "citizen", std::mem::take(&mut changes)),
    );
    let (code, _) = rejection(&reply);
    assert_eq!(code, RejectCode::OutOfScope);
    let reply: SyncReply = decode_sync_reply(&reply).unwrap();
    assert!(
        reply.rejected[0].reset.is_none(),
        "nothing of the record is revealed"
    );
}

ferry_tests::both_engines!(resync_of_another_units_record_answers_like_an_unknown_id);
fn resync_of_another_units_record_answers_like_an_unknown_id() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &[UNIT]);
    server.add_user("chi", "officer", &["07135"]);
    let a = Device::login(&server.url(), "an");
    let id = a
        .create(Kind::Citizen, UNIT, citizen("Vũ Văn Khải"), now_ms())
        .unwrap()
        .record
        .id;
    a.sync_all();
    let (c, device) = attacker(&server, "chi", [9u8; 16]);
    let ask = |record: Uuid| {
        let req = sync_core::protocol::SyncRequest {
            v: sync_core::protocol::PROTOCOL_VERSION,
            device_id: device,
            cursors: Default::default(),
            push: vec![],
            max_bytes: sync_core::protocol::DEFAULT_MAX_BYTES,
            status: Default::default(),
            resync: vec![record],
            sensitive: Vec::new(),
        };
        let body = sync_core::protocol::compress(
            &sync_core::protocol::encode_request(&req),
            sync_core::protocol::Encoding::Zstd,
        );
        let mut reply = decode_sync_reply(&post_sync(&c, body)).unwrap();
        reply.server_time_ms = 0;
        reply
    };
    let existing = ask(id);
    let unknown = ask(Uuid::now_v7());
    assert_eq!(existing, unknown);
    assert!(existing.purge.is_empty() && existing.pull.is_empty());
}

/// The record as the server stores it (the admin API's JSON).
fn stored_record(server: &Server, id: Uuid) -> serde_json::Value {
    server
        .admin()
        .get(&format!("/v1/admin/records/{id}"))
        .unwrap()
        .json()
}

/// A server with one officer of [`UNIT`], and that officer's logged-in phone.
fn officers_phone() -> (Server, Device) {
    let server = Server::start(bin());
    server.add_user("an", "officer", &[UNIT]);
    let phone = Device::login(&server.url(), "an");
    (server, phone)
}

ferry_tests::both_engines!(
    an_officers_application_withdrawn_before_its_first_sync_is_stored_withdrawn
);
fn an_officers_application_withdrawn_before_its_first_sync_is_stored_withdrawn() {
    let (server, phone) = officers_phone();
    let saved = phone
        .create(
            Kind::CccdApplication,
            UNIT,
            application("Đỗ Thị Hoa", "draft"),
            now_ms(),
        )
        .unwrap();
    let id = saved.record.id;
    phone
        .update(id, &[set_status("withdrawn")], now_ms())
        .unwrap();
    // Both edits reach the server in one push, as a new record in status `withdrawn`.
    let report = phone.sync().unwrap();
    // Acknowledged counts changes: the creation and the withdrawal.
    assert_eq!((report.acknowledged, report.rejected), (2, 0), "{report:?}");
    assert_eq!(phone.pending(), 0);
    let stored = stored_record(&server, id);
    assert_eq!(stored["fields"]["status"], "withdrawn");

    // What the officer could not have done themselves stays refused at creation.
    let refused = phone
        .create(
            Kind::CccdApplication,
            UNIT,
            application("Đỗ Thị Hoa", "accepted"),
            now_ms(),
        )
        .unwrap_err();
    assert!(
        matches!(
            refused,
            sync_core::replica::ReplicaError::StatusNotAllowed { from: None, .. }
        ),
        "{refused:?}"
    );
}

ferry_tests::both_engines!(
    an_over_long_text_is_refused_by_the_phone_when_typed_with_the_servers_limit
);
fn an_over_long_text_is_refused_by_the_phone_when_typed_with_the_servers_limit() {
    let (_server, phone) = officers_phone();
    let saved = phone
        .create(Kind::Citizen, UNIT, citizen("Lê Văn Minh"), now_ms())
        .unwrap();
    phone.sync_all();
    let max = sync_core::model::NOTES_MAX_CHARS;
    let notes = |n: usize| Edit::Set {
        field: "notes".into(),
        value: Value::from("ghi chú ".repeat(n).chars().take(n).collect::<String>()),
    };
    let err = phone
        .update(saved.record.id, &[notes(max + 1)], now_ms())
        .unwrap_err();
    let sync_core::replica::ReplicaError::Invalid(errors) = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        errors
            .iter()
            .map(|e| (e.field.as_str(), e.code))
            .collect::<Vec<_>>(),
        [("notes", "too_long")]
    );
    assert_eq!(phone.pending(), 0, "nothing was saved");
    // At the limit it is saved, and the server takes it.
    phone
        .update(saved.record.id, &[notes(max)], now_ms())
        .unwrap();
    let report = phone.sync().unwrap();
    assert_eq!((report.acknowledged, report.rejected), (1, 0), "{report:?}");
}
