//! Sync behaviour end to end: convergence, idempotence, budgets, scopes, encodings.

use ferry_tests::{Device, Server, application, citizen, now_ms};
use sync_core::doc::{Edit, RecordDoc};
use sync_core::model::{Kind, Value};
use sync_core::protocol::{self, Encoding, MIN_MAX_BYTES, Purge};
use sync_core::store::tables::RecordQuery;
use uuid::Uuid;

use crate::bin;

fn set(field: &str, value: &str) -> Edit {
    Edit::Set {
        field: field.into(),
        value: Value::Text(value.into()),
    }
}

fn count_rows(server: &Server, sql: &str) -> i64 {
    server.store().read(|c| c.query_value(sql, &[])).unwrap()
}

ferry_tests::both_engines!(two_officers_edit_the_same_records_offline_sync_and_end_identical);
fn two_officers_edit_the_same_records_offline_sync_and_end_identical() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &["07132"]);
    server.add_user("binh", "officer", &["07132"]);
    let a = Device::login(&server.url(), "an");
    let b = Device::login(&server.url(), "binh");

    let ids: Vec<Uuid> = (0..5)
        .map(|i| {
            a.create(
                Kind::Citizen,
                "07132",
                citizen(&format!("Nguyễn Văn {i}")),
                now_ms(),
            )
            .unwrap()
            .record
            .id
        })
        .collect();
    a.sync_all();
    b.sync_all();
    assert_eq!(b.count().unwrap(), 5, "b received a's records as snapshots");

    // Both edit every record offline, some fields concurrently.
    for (i, id) in ids.iter().enumerate() {
        a.update(*id, &[set("notes", &format!("from a {i}"))], now_ms())
            .unwrap();
        b.update(
            *id,
            &[
                set("notes", &format!("from b {i}")),
                set("phone", "0912345678"),
            ],
            now_ms(),
        )
        .unwrap();
    }
    let extra = b
        .create(Kind::Citizen, "07132", citizen("Trần Thị Hoa"), now_ms())
        .unwrap()
        .record
        .id;

    a.sync_all();
    b.sync_all();
    a.sync_all();

    assert_eq!(a.pending(), 0);
    assert_eq!(b.pending(), 0);
    assert_eq!(a.all_heads().unwrap(), b.all_heads().unwrap());
    assert_eq!(a.count().unwrap(), 6);
    for id in ids.iter().chain([&extra]) {
        let (ra, rb) = (a.get(*id).unwrap().unwrap(), b.get(*id).unwrap().unwrap());
        assert_eq!(ra.record, rb.record);
        assert_eq!(ra.conflicts, rb.conflicts);
    }
    let view = a.get(ids[0]).unwrap().unwrap();
    assert_eq!(view.record.text("phone"), Some("0912345678"));
    assert_eq!(view.conflicts.len(), 1, "the concurrent notes stay visible");
    assert_eq!(view.conflicts[0].field, "notes");
}

ferry_tests::both_engines!(the_same_push_sent_twice_stores_nothing_twice);
fn the_same_push_sent_twice_stores_nothing_twice() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &["07132"]);
    let a = Device::login(&server.url(), "an");
    for i in 0..3 {
        a.create(
            Kind::Citizen,
            "07132",
            citizen(&format!("Lê Văn {i}")),
            now_ms(),
        )
        .unwrap();
    }
    let req = a.prepare_sync(&Default::default()).unwrap();
    let body = protocol::encode_request(&req);
    let send = || {
        let reply = a
            .client
            .send(
                "POST",
                "/v1/sync",
                &[("Content-Type", "application/cbor")],
                Some(body.clone()),
            )
            .unwrap();
        assert_eq!(reply.status, 200);
        ferry_tests::decode_sync_reply(&reply).unwrap()
    };
    let first = send();
    let second = send();
    assert_eq!(first.accepted.len(), 3);
    assert_eq!(
        second.accepted, first.accepted,
        "a re-push is acknowledged again"
    );
    assert!(second.rejected.is_empty());
    assert_eq!(count_rows(&server, "SELECT count(*) FROM changes"), 3);
    assert_eq!(count_rows(&server, "SELECT count(*) FROM records"), 3);

    a.apply_reply(&second, now_ms()).unwrap();
    assert_eq!(a.pending(), 0);
    let b = Device::login(&server.url(), "an");
    b.sync_all();
    assert_eq!(b.count().unwrap(), 3);
    assert_eq!(b.all_heads().unwrap(), a.all_heads().unwrap());
}

ferry_tests::both_engines!(a_reply_stays_within_the_requested_budget_and_more_brings_the_rest);
fn a_reply_stays_within_the_requested_budget_and_more_brings_the_rest() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &["07132"]);
    let a = Device::login(&server.url(), "an");
    let long_note = "ghi chú dài ".repeat(100);
    for i in 0..60 {
        let mut f = citizen(&format!("Phạm Văn {i}"));
        f.insert("notes".into(), Value::Text(format!("{long_note}{i}")));
        a.create(Kind::Citizen, "07132", f, now_ms()).unwrap();
    }
    a.sync_all();

    let b = Device::login(&server.url(), "an");
    let mut rounds = 0;
    loop {
        rounds += 1;
        assert!(rounds < 100, "bounded");
        let opts = sync_core::replica::SyncOptions {
            max_reply_bytes: 1, // raised to the minimum by the server
            ..Default::default()
        };
        let req = b.prepare_sync(&opts).unwrap();
        let reply = b
            .client
            .send(
                "POST",
                "/v1/sync",
                &[
                    ("Content-Type", "application/cbor"),
                    ("Accept-Encoding", "zstd"),
                ],
                Some(protocol::encode_request(&req)),
            )
            .unwrap();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.encoding.as_deref(), Some("zstd"));
        let reply = ferry_tests::decode_sync_reply(&reply).unwrap();
        let size = protocol::encode_reply(&reply).len() as u64;
        assert!(
            size <= MIN_MAX_BYTES || reply.pull.len() == 1,
            "reply of {size} bytes with {} entries",
            reply.pull.len()
        );
        b.apply_reply(&reply, now_ms()).unwrap();
        if !reply.more {
            break;
        }
    }
    assert!(
        rounds > 2,
        "60 records of ~1.3 KiB need several 16 KiB replies"
    );
    assert_eq!(b.count().unwrap(), 60);
    assert_eq!(b.all_heads().unwrap(), a.all_heads().unwrap());

    // A no-op reconnect is one small round trip.
    let req = b.prepare_sync(&Default::default()).unwrap();
    let reply = b.post_sync(&req);
    assert!(
        reply.body.len() < 1024,
        "no-op reply is {} bytes",
        reply.body.len()
    );
    let reply = ferry_tests::decode_sync_reply(&reply).unwrap();
    assert!(reply.pull.is_empty() && !reply.more);
}

ferry_tests::both_engines!(a_device_does_not_get_its_own_changes_back_but_gets_everyone_elses);
fn a_device_does_not_get_its_own_changes_back_but_gets_everyone_elses() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &["07132"]);
    server.add_user("binh", "officer", &["07132"]);
    let a = Device::login(&server.url(), "an");
    let b = Device::login(&server.url(), "binh");
    let id = a
        .create(Kind::Citizen, "07132", citizen("Đỗ Thị Mai"), now_ms())
        .unwrap()
        .record
        .id;
    let report = a.sync().unwrap();
    assert_eq!(report.acknowledged, 1);
    assert_eq!(report.pulled, 0, "own change not echoed");
    b.sync_all();
    b.update(id, &[set("notes", "gặp tại nhà")], now_ms())
        .unwrap();
    b.sync_all();
    let report = a.sync().unwrap();
    assert_eq!(report.pulled, 1);
    assert_eq!(
        a.get(id).unwrap().unwrap().record.text("notes"),
        Some("gặp tại nhà")
    );
}

ferry_tests::both_engines!(a_user_who_loses_a_unit_drops_its_records_on_the_next_sync);
fn a_user_who_loses_a_unit_drops_its_records_on_the_next_sync() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &["07132"]);
    server.add_user("chi", "staff", &["07132", "07135"]);
    let a = Device::login(&server.url(), "an");
    a.create(Kind::Citizen, "07132", citizen("Vũ Văn Nam"), now_ms())
        .unwrap();
    a.sync_all();
    let c = Device::login(&server.url(), "chi");
    c.create(Kind::Citizen, "07135", citizen("Hoàng Thị Lan"), now_ms())
        .unwrap();
    c.sync_all();
    assert_eq!(c.count().unwrap(), 2);

    let out = server.cli(&["user", "assign", "chi", "--unit", "07135"]);
    assert!(out.status.success());
    let report = c.sync().unwrap();
    assert!(report.purged >= 1);
    let left = c.find(&RecordQuery::default()).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].unit, "07135");
}

ferry_tests::both_engines!(a_record_moved_to_another_unit_is_purged_from_devices_of_the_old_unit);
fn a_record_moved_to_another_unit_is_purged_from_devices_of_the_old_unit() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &["07132"]);
    server.add_user("chi", "staff", &["07132", "07135"]);
    server.add_user("dung", "officer", &["07135"]);
    let a = Device::login(&server.url(), "an");
    let id = a
        .create(Kind::Citizen, "07132", citizen("Ngô Văn Tú"), now_ms())
        .unwrap()
        .record
        .id;
    a.sync_all();
    let c = Device::login(&server.url(), "chi");
    c.sync_all();
    let d = Device::login(&server.url(), "dung");
    d.sync_all();
    assert_eq!(d.count().unwrap(), 0);

    c.update(
        id,
        &[Edit::SetUnit {
            unit: "07135".into(),
        }],
        now_ms(),
    )
    .unwrap();
    c.sync_all();

    // The old unit's officer is told to drop it; the new unit's officer gets a snapshot.
    let reply = a.exchange_raw();
    assert!(
        reply.purge.contains(&Purge::Record(id)),
        "{:?}",
        reply.purge
    );
    assert!(reply.pull.is_empty(), "nothing of the moved record is sent");
    a.apply_reply(&reply, now_ms()).unwrap();
    assert_eq!(a.count().unwrap(), 0);
    d.sync_all();
    assert_eq!(d.get(id).unwrap().unwrap().record.unit, "07135");
    assert_eq!(
        d.all_heads().unwrap(),
        c.all_heads()
            .unwrap()
            .into_iter()
            .filter(|(k, _)| *k == id)
            .collect()
    );
}

ferry_tests::both_engines!(gzip_zstd_and_plain_bodies_all_sync);
fn gzip_zstd_and_plain_bodies_all_sync() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &["07132"]);
    for enc in [Encoding::Gzip, Encoding::Zstd, Encoding::Identity] {
        let mut a = Device::login(&server.url(), "an");
        a.client.encoding = enc;
        a.create(Kind::Citizen, "07132", citizen("Bùi Văn Hải"), now_ms())
            .unwrap();
        let report = a.sync().unwrap();
        assert_eq!(report.acknowledged, 1, "{enc:?}");
    }
    // Accept-Encoding decides the reply's encoding.
    let a = Device::login(&server.url(), "an");
    for (accept, expected) in [("gzip", "gzip"), ("zstd", "zstd"), ("identity", "")] {
        let req = a.prepare_sync(&Default::default()).unwrap();
        let reply = a
            .client
            .send(
                "POST",
                "/v1/sync",
                &[("Accept-Encoding", accept)],
                Some(protocol::encode_request(&req)),
            )
            .unwrap();
        assert_eq!(reply.status, 200);
        // ureq undoes gzip itself and drops the header; zstd is ours to undo.
        if expected == "zstd" {
            assert_eq!(reply.encoding.as_deref(), Some("zstd"));
        }
        let reply = ferry_tests::decode_sync_reply(&reply).unwrap();
        assert_eq!(reply.pull.len(), 3, "{accept}");
    }
}

ferry_tests::both_engines!(an_admin_reads_a_record_and_its_raw_document_and_both_reads_are_audited);
fn an_admin_reads_a_record_and_its_raw_document_and_both_reads_are_audited() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &["07132"]);
    let a = Device::login(&server.url(), "an");
    let id = a
        .create(
            Kind::CccdApplication,
            "07132",
            application("Trịnh Thu Hà", "draft"),
            now_ms(),
        )
        .unwrap()
        .record
        .id;
    a.sync_all();

    let admin = server.admin();
    let reply = admin.get(&format!("/v1/admin/records/{id}")).unwrap();
    assert_eq!(reply.status, 200);
    let json = reply.json();
    assert_eq!(json["fields"]["full_name"], "Trịnh Thu Hà");
    assert_eq!(json["unit"], "07132");
    assert_eq!(json["kind"], "cccd_application");
    assert_eq!(json["heads"].as_array().unwrap().len(), 1);

    let reply = admin.get(&format!("/v1/admin/records/{id}/doc")).unwrap();
    assert_eq!(reply.status, 200);
    let doc = automerge::Automerge::load(&reply.body).expect("a plain Automerge document");
    assert_eq!(doc.get_heads().len(), 1);
    assert_eq!(RecordDoc::load(&reply.body).unwrap().read().unwrap().id, id);
    assert_eq!(
        admin
            .get(&format!("/v1/admin/records/{}", Uuid::now_v7()))
            .unwrap()
            .status,
        404
    );

    // An officer may not use the admin API.
    assert_eq!(
        a.client
            .get(&format!("/v1/admin/records/{id}"))
            .unwrap()
            .status,
        403
    );

    let out = server.cli(&["audit", "list", "--record", &id.to_string()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("record_read"), "{text}");
    assert!(text.contains("record_export"), "{text}");
    assert!(text.contains("sync"), "{text}");
}

ferry_tests::both_engines!(first_start_prints_the_url_and_a_generated_admin_password_once);
fn first_start_prints_the_url_and_a_generated_admin_password_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_in(bin(), dir.path(), &[("FERRY_ADMIN_PASSWORD", "")]);
    let banner = server.banner.join("\n");
    let password = banner
        .lines()
        .find_map(|l| l.strip_prefix("created user `admin` with password: "))
        .unwrap_or_else(|| panic!("no password in {banner}"))
        .trim()
        .to_owned();
    let health = ferry_tests::Client::new(&server.url())
        .get("/healthz")
        .unwrap();
    assert_eq!(health.status, 200);
    let mut c = ferry_tests::Client::new(&server.url());
    c.login_as("admin", &password, Uuid::now_v7(), &[9u8; 16])
        .expect("the printed password works");

    server.restart();
    assert!(
        !server.banner.join("\n").contains("password"),
        "the password is printed only once"
    );
    assert!(
        server
            .banner
            .iter()
            .any(|l| l.starts_with("listening on http://127.0.0.1:"))
    );
}

/// One raw exchange of `d`, applied to its replica.
fn raw_exchange(d: &Device) -> protocol::SyncReply {
    let reply = d.exchange_raw();
    d.apply_reply(&reply, now_ms()).unwrap();
    reply
}

ferry_tests::both_engines!(
    a_device_holding_its_cursors_never_gets_its_own_pushes_back_and_its_cursor_moves_past_them
);
fn a_device_holding_its_cursors_never_gets_its_own_pushes_back_and_its_cursor_moves_past_them() {
    // A device with a cursor for each of its units may have its reply's pull read while its
    // push commits (docs/protocol.md §6.1): the push is acknowledged whole, and the device's
    // own rows are skipped by a later window, never sent.
    let server = Server::start(bin());
    server.add_user("an", "officer", &["07132"]);
    server.add_user("binh", "officer", &["07132"]);
    let a = Device::login(&server.url(), "an");
    let b = Device::login(&server.url(), "binh");
    b.create(Kind::Citizen, "07132", citizen("Trần Thị Bích"), now_ms())
        .unwrap();
    b.sync_all();
    a.sync_all();
    let cursor = |d: &Device| d.pool().read(sync_core::store::tables::cursors).unwrap()["07132"];
    let before = cursor(&a);
    let ids: Vec<Uuid> = (0..5)
        .map(|i| {
            a.create(
                Kind::Citizen,
                "07132",
                citizen(&format!("Ngô Văn Tú {i}")),
                now_ms(),
            )
            .unwrap()
            .record
            .id
        })
        .collect();
    let first = raw_exchange(&a);
    assert!(first.rejected.is_empty(), "{:?}", first.rejected);
    assert_eq!(a.pending(), 0, "every pushed change is acknowledged");
    assert!(
        first.pull.iter().all(|e| !ids.contains(&e.record)),
        "the device is not sent its own records"
    );
    let second = raw_exchange(&a);
    assert!(
        second.pull.is_empty(),
        "nothing new, and nothing of its own"
    );
    let last = count_rows(&server, "SELECT max(seq) FROM changes WHERE unit = '07132'");
    assert!(cursor(&a) > before);
    assert_eq!(
        cursor(&a),
        last as u64,
        "the cursor moved past the device's own rows"
    );
    // The other device gets every record.
    b.sync_all();
    for id in ids {
        assert!(b.get(id).unwrap().is_some());
    }
}

ferry_tests::both_engines!(a_first_push_into_a_unit_brings_that_units_cursor_in_the_same_reply);
fn a_first_push_into_a_unit_brings_that_units_cursor_in_the_same_reply() {
    // The cursor is how a device later learns it lost the unit (§6.4), so a device without
    // one gets its reply's pull read after its push.
    let server = Server::start(bin());
    server.add_user("an", "officer", &["07132"]);
    let a = Device::login(&server.url(), "an");
    a.create(Kind::Citizen, "07132", citizen("Ngô Văn Tú"), now_ms())
        .unwrap();
    let reply = raw_exchange(&a);
    assert!(reply.cursors.contains_key("07132"), "{:?}", reply.cursors);
}
