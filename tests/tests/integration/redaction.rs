//! Redaction of a wrongly entered value by a new document lineage (issue 14 item 3;
//! `docs/protocol.md` §13): the real `ferry` binary, its admin API and CLI, and real
//! sync-core phones that were offline while an admin redacted.

use ferry_tests::{Device, Engine, Server, now_ms};
use sync_core::doc::Edit;
use sync_core::model::{Kind, Value, search_key};
use sync_core::protocol::{self, Encoding, RejectCode};
use sync_core::replica::SyncOptions;
use uuid::Uuid;

use crate::bin;

/// The value typed into the wrong record, and the name that belongs there.
const WRONG: &str = "Trịnh Thị Nhầm Lẫn";
const RIGHT: &str = "Nguyễn Thị Lan";

fn set(field: &str, value: &str) -> Edit {
    Edit::Set {
        field: field.into(),
        value: Value::Text(value.into()),
    }
}

/// A server with two officers' phones that both hold a citizen whose name was first saved
/// wrong and then corrected (so the wrong name is in the record's history only).
fn town() -> (Server, Device, Device, Uuid) {
    let server = Server::start(bin());
    server.add_user("lan", "officer", &["07132"]);
    server.add_user("minh", "officer", &["07132"]);
    let a = Device::login(&server.url(), "lan");
    let b = Device::login(&server.url(), "minh");
    let saved = a
        .create(
            Kind::Citizen,
            "07132",
            ferry_tests::citizen(WRONG),
            now_ms(),
        )
        .unwrap();
    let id = saved.record.id;
    a.sync_all();
    a.update(id, &[set("full_name", RIGHT)], now_ms()).unwrap();
    a.sync_all();
    b.sync_all();
    (server, a, b, id)
}

/// Whether `bytes` hold the value, as typed or as its folded search key.
fn holds_value(bytes: &[u8]) -> bool {
    [WRONG.to_owned(), search_key(WRONG)]
        .iter()
        .any(|needle| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
}

/// Whether a phone's copy of the record, or its history, still holds the value.
fn phone_copy_holds_value(phone: &Device, id: Uuid) -> bool {
    let doc = phone.document(id).unwrap().unwrap();
    let wrong = Some(Value::Text(WRONG.into()));
    holds_value(&doc.save())
        || doc
            .history()
            .iter()
            .any(|h| h.from == wrong || h.to == wrong)
}

fn redact_via_api(server: &Server, id: Uuid) -> serde_json::Value {
    let reply = server
        .admin()
        .post_json(
            &format!("/v1/admin/records/{id}/redact"),
            &serde_json::json!({"field": "full_name", "reason": "tên của người khác, nhập nhầm"}),
        )
        .unwrap();
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()
}

fn two_phones_offline_during_a_redaction_keep_their_edits_and_no_store_keeps_the_value() {
    let (server, a, b, id) = town();
    // The server's files are searched: SQLite's database and WAL, PostgreSQL's files of
    // this test's database (`base/<oid>/` of the test cluster, after the full scrub of the
    // operations guide; the cluster's WAL keeps the value until it is recycled,
    // `docs/protocol.md` §13.5).
    let sqlite = server.engine() == Engine::Sqlite;
    let server_files = || {
        if sqlite {
            ferry_tests::raw_db_files(&server.db_path())
        } else {
            postgres_database_files(&server)
        }
    };
    // The search finds the value where it is (so its absence later means something).
    assert!(holds_value(&server_files()));
    assert!(phone_copy_holds_value(&b, id));
    assert!(holds_value(&ferry_tests::raw_db_files(b.pool().path())));

    // Both phones offline: each edits another field.
    a.update(id, &[set("notes", "gặp tại nhà")], now_ms())
        .unwrap();
    b.update(id, &[set("phone", "0912 345 678")], now_ms())
        .unwrap();
    let out = redact_via_api(&server, id);
    assert_eq!(out["lineage_to"], 1);
    assert_eq!(out["scrubbed"], true);

    a.sync_all();
    b.sync_all();
    a.sync_all();
    for phone in [&a, &b] {
        let record = phone.get(id).unwrap().unwrap().record;
        assert_eq!(record.text("full_name"), Some(RIGHT));
        assert_eq!(record.text("notes"), Some("gặp tại nhà"));
        assert_eq!(record.text("phone"), Some("0912 345 678"));
        assert_eq!(phone.pending(), 0);
        assert!(!phone_copy_holds_value(phone, id));
        assert!(
            !holds_value(&ferry_tests::raw_db_files(phone.pool().path())),
            "a phone's store file holds the value"
        );
    }
    if !sqlite {
        let out = server.cli(&["record", "scrub", "--full"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        !holds_value(&server_files()),
        "the server's database files hold the value"
    );
}

/// The bytes of every file of the server's PostgreSQL database (`base/<its oid>/` under
/// the cluster's data directory), after a checkpoint. The test cluster is local and its
/// files readable here; a server given by `FERRY_TEST_DATABASE_URL` may not be, and then the
/// test fails saying so.
fn postgres_database_files(server: &Server) -> Vec<u8> {
    let (dir, oid): (String, i64) = server
        .store()
        .read(|c| -> anyhow::Result<(String, i64)> {
            c.batch("CHECKPOINT")?;
            let dir = c.query_value::<String>("SELECT current_setting('data_directory')", &[])?;
            let oid = c.query_value::<i64>(
                "SELECT oid::bigint FROM pg_database WHERE datname = current_database()",
                &[],
            )?;
            Ok((dir, oid))
        })
        .unwrap();
    let base = std::path::Path::new(&dir)
        .join("base")
        .join(oid.to_string());
    let entries = std::fs::read_dir(&base).unwrap_or_else(|e| {
        panic!(
            "cannot read the PostgreSQL database files in {} ({e}): run the tests with their own \
             cluster (unset FERRY_TEST_DATABASE_URL) or as a user who can read them",
            base.display()
        )
    });
    let mut bytes = Vec::new();
    for entry in entries.flatten() {
        if let Ok(b) = std::fs::read(entry.path()) {
            bytes.extend(b);
        }
    }
    bytes
}

ferry_tests::both_engines!(
    two_phones_offline_during_a_redaction_keep_their_edits_and_no_store_keeps_the_value,
    an_old_lineage_push_is_refused_lineage_replaced_then_accepted_after_carry_over,
);

fn an_old_lineage_push_is_refused_lineage_replaced_then_accepted_after_carry_over() {
    let (server, a, _b, id) = town();
    a.update(id, &[set("notes", "ghi chú ngoại tuyến")], now_ms())
        .unwrap();
    let out = server.cli(&[
        "record",
        "redact",
        &id.to_string(),
        "--field",
        "full_name",
        "--reason",
        "nhập nhầm hồ sơ",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(WRONG));

    // One exchange by hand, to see the refusal itself.
    let req = a.prepare_sync(&SyncOptions::default()).unwrap();
    let body = protocol::compress(&protocol::encode_request(&req), Encoding::Identity);
    let reply = a
        .client
        .send(
            "POST",
            "/v1/sync",
            &[("Content-Type", "application/cbor")],
            Some(body),
        )
        .unwrap();
    let reply = ferry_tests::decode_sync_reply(&reply).unwrap();
    let refusal = &reply.rejected[0];
    assert_eq!(refusal.code, RejectCode::LineageReplaced);
    assert!(refusal.reset.is_some());
    assert!(refusal.redacted[0].matches("full_name", &Value::Text(WRONG.into())));
    let report = a.apply_reply(&reply, now_ms()).unwrap();
    assert!(
        report.sync_again(),
        "the carried-over edit waits to be pushed"
    );
    assert_eq!(a.pending(), 1);
    assert!(
        a.rejected().unwrap().is_empty(),
        "nothing is filed as refused"
    );

    a.sync_all();
    assert_eq!(a.pending(), 0);
    let fresh = Device::login(&server.url(), "minh");
    fresh.sync_all();
    let record = fresh.get(id).unwrap().unwrap().record;
    assert_eq!(record.text("notes"), Some("ghi chú ngoại tuyến"));
    assert_eq!(record.text("full_name"), Some(RIGHT));
}

fn a_redaction_is_for_admins_and_its_audit_row_holds_no_value() {
    let server = Server::start(bin());
    server.add_user("lan", "officer", &["07132"]);
    server.add_user("hoa", "staff", &["07132"]);
    let phone = Device::login(&server.url(), "lan");
    let id = phone
        .create(
            Kind::Citizen,
            "07132",
            ferry_tests::citizen(WRONG),
            now_ms(),
        )
        .unwrap()
        .record
        .id;
    phone.sync_all();
    phone
        .update(id, &[set("full_name", RIGHT)], now_ms())
        .unwrap();
    phone.sync_all();
    let path = format!("/v1/admin/records/{id}/redact");
    let body = serde_json::json!({"field": "full_name", "reason": "nhập nhầm"});

    let staff = Device::login(&server.url(), "hoa");
    assert_eq!(staff.client.post_json(&path, &body).unwrap().status, 403);

    let admin = server.admin();
    let no_reason = serde_json::json!({"field": "full_name", "reason": " "});
    assert_eq!(admin.post_json(&path, &no_reason).unwrap().status, 400);
    let no_field = serde_json::json!({"field": "shoe_size", "reason": "x"});
    assert_eq!(admin.post_json(&path, &no_field).unwrap().status, 400);
    let unknown = format!("/v1/admin/records/{}/redact", Uuid::now_v7());
    assert_eq!(admin.post_json(&unknown, &body).unwrap().status, 404);

    let reply = admin.post_json(&path, &body).unwrap();
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let audit = server.cli(&["audit", "list", "--action", "record_redact", "--json"]);
    let text = String::from_utf8_lossy(&audit.stdout);
    assert!(
        audit.status.success(),
        "{}",
        String::from_utf8_lossy(&audit.stderr)
    );
    assert!(
        text.contains("record_redact") && text.contains("nhập nhầm"),
        "{text}"
    );
    assert!(
        text.contains("lineage_to") && text.contains("dropped_changes"),
        "{text}"
    );
    assert!(
        !text.contains(WRONG) && !text.contains(&search_key(WRONG)),
        "{text}"
    );
}

ferry_tests::both_engines!(a_redaction_is_for_admins_and_its_audit_row_holds_no_value);
