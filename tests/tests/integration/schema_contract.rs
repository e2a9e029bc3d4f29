//! The record schema as a contract: the JSON Schema served at `GET /v1/schema` accepts every
//! record the generator makes, and a record written by hand from `docs/schema.md` alone (raw
//! Automerge, no Ferry model code) is accepted by the server.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ObjType, ROOT};
use ferry_tests::r#gen::generate;
use ferry_tests::{Client, Device, Server};
use serde_bytes::ByteBuf;
use sync_core::protocol::PushRecord;
use uuid::Uuid;

use crate::bin;

/// A record's root map as JSON, the shape the JSON Schema describes.
fn as_json(r: &sync_core::model::Record) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    m.insert("id".into(), r.id.to_string().into());
    m.insert("kind".into(), r.kind.as_str().into());
    m.insert("schema".into(), sync_core::model::SCHEMA_VERSION.into());
    m.insert("unit".into(), r.unit.clone().into());
    for (k, v) in &r.fields {
        m.insert(k.clone(), serde_json::to_value(v).unwrap());
    }
    serde_json::Value::Object(m)
}

#[test]
fn the_schema_served_at_v1_schema_accepts_every_generated_record_and_refuses_broken_ones() {
    let server = Server::start(bin());
    let reply = Client::new(&server.url()).get("/v1/schema").unwrap();
    assert_eq!(reply.status, 200);
    let schema = reply.json();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let validator = jsonschema::draft202012::new(&schema).expect("a valid JSON Schema");
    // `ferry schema` prints the same schema, and `--markdown` the committed docs/schema.md.
    let printed = server.cli(&["schema"]);
    assert!(printed.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&printed.stdout).expect("JSON");
    assert_eq!(printed, schema, "the CLI and the API give one schema");
    let markdown = server.cli(&["schema", "--markdown"]);
    let committed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schema.md"),
    )
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&markdown.stdout), committed);
    let data = generate(11, 1500);
    let mut kinds = std::collections::BTreeSet::new();
    for r in &data.records {
        let json = as_json(r);
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{} {}: {errors:?}", r.kind, r.id);
        kinds.insert(r.kind);
    }
    assert_eq!(kinds.len(), 4);
    // The schema is not vacuous: a wrong type, an unknown field and a bad schema number fail.
    let mut bad = as_json(&data.records[1]);
    bad["schema"] = 2.into();
    assert!(!validator.is_valid(&bad));
    let mut bad = as_json(&data.records[1]);
    bad["religon"] = "Không".into();
    assert!(!validator.is_valid(&bad));
    let mut bad = as_json(&data.records[1]);
    bad["date_of_birth"] = 1985.into();
    assert!(!validator.is_valid(&bad));
}

#[test]
fn a_record_written_from_docs_schema_md_alone_with_times_in_seconds_is_accepted_by_the_server() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &["07132"]);
    let phone = Device::login(&server.url(), "an");

    // What an independent JavaScript client does, from docs/schema.md §1 and §3: a root map
    // of scalar strings, `schema` as int 1, members as a map object; the change stamped in
    // seconds as JavaScript Automerge's stable API does.
    let id = Uuid::now_v7();
    let mut doc = AutoCommit::new().with_actor(ActorId::from(phone.actor_id().to_vec()));
    doc.put(ROOT, "id", id.to_string()).unwrap();
    doc.put(ROOT, "kind", "citizen").unwrap();
    doc.put(ROOT, "schema", 1_i64).unwrap();
    doc.put(ROOT, "unit", "07132").unwrap();
    doc.put(ROOT, "full_name", "Phạm Thị Hòa").unwrap();
    doc.put(ROOT, "date_of_birth", "1948").unwrap();
    doc.put(ROOT, "sex", "female").unwrap();
    doc.put(ROOT, "id_number", "022148001234").unwrap();
    doc.put(ROOT, "status", "active").unwrap();
    let earlier = doc
        .put_object(ROOT, "previous_id_numbers", ObjType::Map)
        .unwrap();
    let entry = doc.put_object(&earlier, "100234567", ObjType::Map).unwrap();
    doc.put(&entry, "reason", "CMND 9 số").unwrap();
    let secs = ferry_tests::now_ms() / 1000;
    doc.commit_with(CommitOptions::default().with_time(secs));
    let change = doc.get_last_local_change().unwrap();

    let mut req = phone.prepare_sync(&Default::default()).unwrap();
    req.push = vec![PushRecord {
        record: id,
        kind: "citizen".into(),
        unit: "07132".into(),
        changes: vec![ByteBuf::from(change.raw_bytes().to_vec())],
    }];
    let reply = phone.post_sync(&req);
    assert_eq!(reply.status, 200);
    let reply = ferry_tests::decode_sync_reply(&reply).unwrap();
    assert!(reply.rejected.is_empty(), "{:?}", reply.rejected);
    assert_eq!(
        reply.accepted,
        vec![ByteBuf::from(change.hash().0.to_vec())]
    );

    // Another phone receives it as a record like any other, dated today, not 1970.
    let other = Device::login(&server.url(), "an");
    other.sync_all();
    let got = other.get(id).unwrap().expect("pulled").record;
    assert_eq!(got.text("date_of_birth"), Some("1948"));
    let history = other.history(id).unwrap();
    assert!(
        history.iter().all(|c| c.time_ms == secs * 1000),
        "{history:?}"
    );
}
