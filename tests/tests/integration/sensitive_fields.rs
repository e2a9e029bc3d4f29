//! Sensitive fields (issue 14 item 1; `docs/protocol.md` §12): religion, ethnicity, blood
//! type and the biometrics flags never reach a phone. The real `ferry` binary, real
//! sync-core phones; the bytes each phone stores are searched for the values.

use ferry_tests::{Device, Server, now_ms};
use sync_core::doc::Edit;
use sync_core::model::{Kind, Value};
use uuid::Uuid;

use crate::bin;

const WARD: &str = "07132";
/// Values no other fixture uses, so finding them in a file means this test put them there.
const RELIGION: &str = "Cao Đài Tây Ninh";
const ETHNICITY: &str = "Sán Dìu";
/// A man born in 1990, registered in Quảng Ninh (022).
const ID_NUMBER: &str = "022090007777";

fn holds(bytes: &[u8], value: &str) -> bool {
    bytes.windows(value.len()).any(|w| w == value.as_bytes())
}

/// Whether the phone holds either value anywhere: its files, its copy of the record, the
/// copy's history.
fn phone_holds_a_value(phone: &Device, id: Uuid) -> bool {
    let files = ferry_tests::raw_db_files(phone.pool().path());
    let in_doc = phone.document(id).unwrap().is_some_and(|doc| {
        holds(&doc.save(), RELIGION)
            || doc.history().iter().any(|h| {
                [&h.from, &h.to]
                    .iter()
                    .any(|v| matches!(v, Some(Value::Text(t)) if t == RELIGION || t == ETHNICITY))
            })
    });
    holds(&files, RELIGION) || holds(&files, ETHNICITY) || in_doc
}

fn sensitive_of(phone: &Device, id: Uuid) -> ferry_tests::HttpReply {
    phone
        .client
        .get(&format!("/v1/records/{id}/sensitive"))
        .unwrap()
}

ferry_tests::both_engines!(no_phone_ever_holds_a_sensitive_value_and_staff_read_it_online_audited);
fn no_phone_ever_holds_a_sensitive_value_and_staff_read_it_online_audited() {
    let server = Server::start(bin());
    server.add_user("lan", "officer", &[WARD]);
    server.add_user("minh", "officer", &[WARD]);
    server.add_user("thu", "staff", &[WARD]);
    server.add_user("chutich", "leader", &[WARD]);
    let lan = Device::login(&server.url(), "lan");
    let minh = Device::login(&server.url(), "minh");
    let thu = Device::login(&server.url(), "thu");

    // The intake officer enters religion and ethnicity with the citizen.
    let mut fields = ferry_tests::citizen("Hoàng Văn Sáng");
    fields.insert("religion".into(), Value::Text(RELIGION.into()));
    fields.insert("ethnicity".into(), Value::Text(ETHNICITY.into()));
    let id = lan
        .create(Kind::Citizen, WARD, fields, now_ms())
        .unwrap()
        .record
        .id;
    // Before the sync the officer sees what she entered; it waits in the encrypted queue.
    assert_eq!(
        lan.get(id).unwrap().unwrap().record.text("religion"),
        Some(RELIGION)
    );
    lan.sync_all();
    assert_eq!(lan.pending(), 0, "the values were acknowledged");
    minh.sync_all();
    thu.sync_all();

    // Every phone holds the record, none holds the values: not the author's after the
    // acknowledgement, not the other officer's, not the police office's.
    for phone in [&lan, &minh, &thu] {
        let record = phone.get(id).unwrap().expect("the record synced").record;
        assert_eq!(record.text("full_name"), Some("Hoàng Văn Sáng"));
        assert!(record.text("religion").is_none());
        assert!(
            !phone_holds_a_value(phone, id),
            "a phone's store holds a sensitive value"
        );
    }

    // The police office reads them online, each read audited; officers and leaders may not.
    let read = sensitive_of(&thu, id);
    assert_eq!(read.status, 200, "{}", String::from_utf8_lossy(&read.body));
    let body = read.json();
    assert_eq!(body["fields"]["religion"], RELIGION);
    assert_eq!(body["fields"]["ethnicity"], ETHNICITY);
    let refused = sensitive_of(&lan, id);
    assert_eq!(refused.status, 403);
    assert!(String::from_utf8_lossy(&refused.body).contains("sensitive_not_readable"));
    let leader = Device::login(&server.url(), "chutich");
    assert_eq!(sensitive_of(&leader, id).status, 403);
    // The admin API shows them apart from the document's fields.
    let admin = server
        .admin()
        .get(&format!("/v1/admin/records/{id}"))
        .unwrap()
        .json();
    assert_eq!(admin["sensitive"]["religion"], RELIGION);
    assert!(admin["fields"].get("religion").is_none());

    // A correction made on the staff phone reaches the server the same way.
    thu.update(
        id,
        &[Edit::Set {
            field: "religion".into(),
            value: Value::Text("Không".into()),
        }],
        now_ms(),
    )
    .unwrap();
    thu.sync_all();
    assert_eq!(sensitive_of(&thu, id).json()["fields"]["religion"], "Không");

    // The audit trail names who wrote and who read which field, never a value.
    let audit = server.cli(&["audit", "list", "--json"]);
    let text = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.status.success());
    assert!(text.contains("sensitive_read") && text.contains("sensitive_written"));
    assert!(
        !text.contains(RELIGION) && !text.contains(ETHNICITY),
        "{text}"
    );
}

ferry_tests::both_engines!(
    a_sensitive_write_is_applied_once_and_one_outside_the_users_units_is_refused
);
fn a_sensitive_write_is_applied_once_and_one_outside_the_users_units_is_refused() {
    use sync_core::protocol::{self, Encoding, SensitiveWrite};
    let server = Server::start(bin());
    server.add_user("lan", "officer", &[WARD]);
    server.add_user("hai", "officer", &["07135"]);
    let lan = Device::login(&server.url(), "lan");
    let hai = Device::login(&server.url(), "hai");
    let id = lan
        .create(
            Kind::Citizen,
            WARD,
            ferry_tests::citizen("Đặng Thị Mơ"),
            now_ms(),
        )
        .unwrap()
        .record
        .id;
    lan.sync_all();
    let write = |value: &str| SensitiveWrite {
        id: Uuid::now_v7(),
        record: id,
        field: "blood_type".into(),
        value: Some(Value::Text(value.into())),
        at_ms: now_ms(),
    };
    let exchange = |phone: &Device, writes: Vec<SensitiveWrite>| {
        let mut req = phone
            .prepare_sync(&sync_core::replica::SyncOptions::default())
            .unwrap();
        req.sensitive = writes;
        let reply = phone
            .client
            .send(
                "POST",
                "/v1/sync",
                &[("Content-Type", "application/cbor")],
                Some(protocol::compress(
                    &protocol::encode_request(&req),
                    Encoding::Identity,
                )),
            )
            .unwrap();
        assert_eq!(reply.status, 200);
        let reply = ferry_tests::decode_sync_reply(&reply).unwrap();
        phone.apply_reply(&reply, now_ms()).unwrap();
        reply
    };
    let first = write("AB");
    let reply = exchange(&lan, vec![first.clone()]);
    assert_eq!(reply.sensitive_accepted, [first.id]);
    // A newer value, then the first one re-sent after a "lost" reply: acknowledged again,
    // not applied again.
    let second = write("O");
    exchange(&lan, vec![second.clone()]);
    let again = exchange(&lan, vec![first.clone()]);
    assert_eq!(again.sensitive_accepted, [first.id]);
    let admin = server.admin();
    let view = admin
        .get(&format!("/v1/admin/records/{id}"))
        .unwrap()
        .json();
    assert_eq!(view["sensitive"]["blood_type"], "O");
    // A value the field does not take, a field that is not sensitive, another unit's record.
    let bad = exchange(
        &lan,
        vec![
            write("Z"),
            SensitiveWrite {
                field: "full_name".into(),
                ..write("x")
            },
        ],
    );
    assert_eq!(bad.sensitive_rejected.len(), 2);
    assert!(
        bad.sensitive_rejected
            .iter()
            .all(|r| r.code == protocol::RejectCode::Invalid)
    );
    let foreign = exchange(&hai, vec![write("A")]);
    assert_eq!(
        foreign.sensitive_rejected[0].code,
        protocol::RejectCode::OutOfScope
    );
    assert_eq!(
        admin
            .get(&format!("/v1/admin/records/{id}"))
            .unwrap()
            .json()["sensitive"]["blood_type"],
        "O"
    );
}

/// Stores a citizen whose document holds `religion`, as servers before schema version 17
/// stored what phones pushed (the push check now refuses such a change).
fn store_old_style_citizen(server: &Server, name: &str, religion: &str) -> Uuid {
    use sync_core::doc::{Author, RecordDoc, encode_change};
    let mut fields = ferry_tests::citizen(name);
    fields.insert("religion".into(), Value::Text(religion.into()));
    let record = sync_core::model::Record {
        id: Uuid::now_v7(),
        kind: Kind::Citizen,
        unit: WARD.into(),
        fields,
    };
    let (doc, mut change) = RecordDoc::create(&record, &Author::new(&[7; 16], now_ms())).unwrap();
    let bytes = encode_change(&mut change);
    let row = sync_core::replica::row_for(&doc, &record, &[], now_ms());
    server
        .store()
        .write(|tx| -> anyhow::Result<()> {
            ferry_server::feed::put_record(tx, &row)?;
            ferry_server::feed::append_change(
                tx,
                record.id,
                &change.hash().0,
                &bytes,
                WARD,
                Uuid::nil(),
                now_ms(),
            )?;
            Ok(())
        })
        .unwrap();
    record.id
}

ferry_tests::both_engines!(
    splitting_an_old_document_moves_its_religion_apart_and_phones_drop_their_copy_of_it
);
fn splitting_an_old_document_moves_its_religion_apart_and_phones_drop_their_copy_of_it() {
    let server = Server::start(bin());
    server.add_user("lan", "officer", &[WARD]);
    let id = store_old_style_citizen(&server, "Triệu Văn Cũ", RELIGION);
    let lan = Device::login(&server.url(), "lan");
    lan.sync_all();
    // The phone got the old document, value and history included (what the split undoes).
    assert!(phone_holds_a_value(&lan, id));
    // Offline, the officer corrects the phone number meanwhile.
    lan.update(
        id,
        &[Edit::Set {
            field: "phone".into(),
            value: Value::Text("0904 111 222".into()),
        }],
        now_ms(),
    )
    .unwrap();

    let out = server.cli(&["record", "split-sensitive", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let split: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (split["records"].as_u64(), split["fields"].as_u64()),
        (Some(1), Some(1))
    );
    // Run again: nothing left to move.
    let again: serde_json::Value =
        serde_json::from_slice(&server.cli(&["record", "split-sensitive", "--json"]).stdout)
            .unwrap();
    assert_eq!(again["records"], 0);

    let admin = server.admin();
    let view = admin
        .get(&format!("/v1/admin/records/{id}"))
        .unwrap()
        .json();
    assert_eq!(view["sensitive"]["religion"], RELIGION);
    assert!(view["fields"].get("religion").is_none());
    let doc = admin
        .get(&format!("/v1/admin/records/{id}/doc"))
        .unwrap()
        .body;
    assert!(!holds(&doc, RELIGION), "the stored document still holds it");

    lan.sync_all();
    lan.sync_all();
    assert!(
        !phone_holds_a_value(&lan, id),
        "the phone still holds the value after the split"
    );
    let record = lan.get(id).unwrap().unwrap().record;
    assert_eq!(
        record.text("phone"),
        Some("0904 111 222"),
        "the offline edit survived"
    );
    assert_eq!(
        admin
            .get(&format!("/v1/admin/records/{id}"))
            .unwrap()
            .json()["fields"]["phone"],
        "0904 111 222"
    );
}

ferry_tests::both_engines!(redacting_a_sensitive_value_removes_it_from_the_stored_writes);
fn redacting_a_sensitive_value_removes_it_from_the_stored_writes() {
    let server = Server::start(bin());
    server.add_user("lan", "officer", &[WARD]);
    let lan = Device::login(&server.url(), "lan");
    let mut fields = ferry_tests::citizen("Lục Văn Nhầm");
    fields.insert("id_number".into(), Value::Text(ID_NUMBER.into()));
    fields.insert("religion".into(), Value::Text(RELIGION.into()));
    let id = lan
        .create(Kind::Citizen, WARD, fields, now_ms())
        .unwrap()
        .record
        .id;
    lan.sync_all();
    lan.update(
        id,
        &[Edit::Set {
            field: "religion".into(),
            value: Value::Text("Không".into()),
        }],
        now_ms(),
    )
    .unwrap();
    lan.sync_all();
    let admin = server.admin();
    let report = |admin: &ferry_tests::Client| {
        admin
            .post_json(
                "/v1/admin/subject-report",
                &serde_json::json!({ "id_number": ID_NUMBER }),
            )
            .unwrap()
    };
    // The subject-access report shows both writes, by whom.
    let before = report(&admin);
    assert_eq!(before.status, 200);
    assert!(holds(&before.body, RELIGION));
    let reply = admin
        .post_json(
            &format!("/v1/admin/records/{id}/redact"),
            &serde_json::json!({"field": "religion", "reason": "nhập nhầm tôn giáo"}),
        )
        .unwrap();
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.json()["values_removed"], 1);
    let view = admin
        .get(&format!("/v1/admin/records/{id}"))
        .unwrap()
        .json();
    assert_eq!(view["sensitive"]["religion"], "Không");
    let after = report(&admin);
    assert!(!holds(&after.body, RELIGION), "the report still shows it");
    assert!(holds(&after.body, "lan"), "the write's author is kept");
    if server.engine() == ferry_tests::Engine::Sqlite {
        assert!(
            !holds(&ferry_tests::raw_db_files(&server.db_path()), RELIGION),
            "the server's database files still hold it"
        );
    }
}

/// A temporary absence of a citizen on bail (Residence Law Art. 31(1)(a)).
fn absence_on_bail(citizen: Uuid) -> sync_core::model::Fields {
    let mut f = sync_core::model::Fields::new();
    for (k, v) in [
        ("procedure", "temporary_absence"),
        ("ground", "absence_a_accused_or_on_bail"),
        ("from_date", "2026-12-10"),
        ("to_date", "2027-02-10"),
        ("reason", REASON_ON_BAIL),
        ("status", "submitted"),
    ] {
        f.insert(k.into(), Value::Text(v.into()));
    }
    f.insert("citizen_id".into(), Value::Text(citizen.to_string()));
    f.insert("supervisor_consent".into(), Value::Bool(true));
    f
}

const REASON_ON_BAIL: &str = "Đi làm ăn tại Hải Phòng, có văn bản đồng ý của cơ quan điều tra";

ferry_tests::both_engines!(
    a_temporary_absence_on_bail_reaches_only_the_police_office_and_leaves_the_filing_phone
);
fn a_temporary_absence_on_bail_reaches_only_the_police_office_and_leaves_the_filing_phone() {
    let server = Server::start(bin());
    server.add_user("lan", "officer", &[WARD]);
    server.add_user("minh", "officer", &[WARD]);
    server.add_user("thu", "staff", &[WARD]);
    let lan = Device::login(&server.url(), "lan");
    let minh = Device::login(&server.url(), "minh");
    let thu = Device::login(&server.url(), "thu");
    let person = lan
        .create(
            Kind::Citizen,
            WARD,
            ferry_tests::citizen("Phùng Văn Tại"),
            now_ms(),
        )
        .unwrap()
        .record
        .id;
    let absence = lan
        .create(
            Kind::ResidenceDeclaration,
            WARD,
            absence_on_bail(person),
            now_ms(),
        )
        .unwrap()
        .record
        .id;
    lan.sync_all();
    minh.sync_all();
    thu.sync_all();

    // The filing officer's phone dropped it once the server had it; the other officer's
    // never got it; the police office's has it. The citizen is on every phone.
    assert!(lan.get(absence).unwrap().is_none());
    assert_eq!(lan.pending(), 0);
    assert!(minh.get(absence).unwrap().is_none());
    for officer in [&lan, &minh] {
        assert!(officer.get(person).unwrap().is_some());
        assert!(
            !holds(
                &ferry_tests::raw_db_files(officer.pool().path()),
                REASON_ON_BAIL
            ),
            "an officer's phone holds the restricted record"
        );
    }
    let at_office = thu.get(absence).unwrap().expect("staff hold it").record;
    assert_eq!(at_office.text("reason"), Some(REASON_ON_BAIL));

    // The police office accepts it on its device; the officers still never see it.
    thu.update(
        absence,
        &[Edit::Set {
            field: "status".into(),
            value: Value::Text("accepted".into()),
        }],
        now_ms(),
    )
    .unwrap();
    thu.sync_all();
    minh.sync_all();
    assert!(minh.get(absence).unwrap().is_none());
    let admin = server.admin();
    let view = admin
        .get(&format!("/v1/admin/records/{absence}"))
        .unwrap()
        .json();
    assert_eq!(view["fields"]["status"], "accepted");

    // Filed on another ground, it is an ordinary declaration again: the officers get it.
    thu.update(
        absence,
        &[Edit::Set {
            field: "ground".into(),
            value: Value::Text("absence_d_12_months".into()),
        }],
        now_ms(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    thu.sync_all();
    minh.sync_all();
    assert!(minh.get(absence).unwrap().is_some());
    // And restricted again: the officer's phone drops it.
    thu.update(
        absence,
        &[Edit::Set {
            field: "ground".into(),
            value: Value::Text("absence_b_probation_or_similar".into()),
        }],
        now_ms(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    thu.sync_all();
    minh.sync_all();
    assert!(minh.get(absence).unwrap().is_none());
    assert!(thu.get(absence).unwrap().is_some());
}

ferry_tests::both_engines!(
    fingerprints_taken_from_a_child_under_6_are_a_finding_on_the_server_though_no_document_holds_the_flag
);
fn fingerprints_taken_from_a_child_under_6_are_a_finding_on_the_server_though_no_document_holds_the_flag()
 {
    let server = Server::start(bin());
    server.add_user("lan", "officer", &[WARD]);
    let lan = Device::login(&server.url(), "lan");
    let mut fields = ferry_tests::application("Hà Thị Na", "collected");
    fields.insert("date_of_birth".into(), Value::Text("2022-03-01".into()));
    fields.insert("id_number".into(), Value::Text("022322001234".into()));
    fields.insert(
        "representative_name".into(),
        Value::Text("Hà Văn Bố".into()),
    );
    fields.insert(
        "representative_id_number".into(),
        Value::Text("022090001111".into()),
    );
    fields.insert("fingerprints_taken".into(), Value::Bool(true));
    let saved = lan
        .create(Kind::CccdApplication, WARD, fields, now_ms())
        .unwrap();
    // The officer is warned at once, on the phone.
    assert!(
        saved
            .findings
            .iter()
            .any(|f| f.code == "biometrics_under_6")
    );
    let id = saved.record.id;
    lan.sync_all();
    let doc = lan.document(id).unwrap().unwrap();
    assert!(
        doc.history()
            .iter()
            .all(|h| h.field != "fingerprints_taken")
    );
    let codes = |server: &Server| -> Vec<String> {
        server
            .admin()
            .get(&format!("/v1/admin/records/{id}"))
            .unwrap()
            .json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(codes(&server).contains(&"biometrics_under_6".to_owned()));
    // A later edit of the document keeps the finding (judged with the flag kept apart)…
    lan.update(
        id,
        &[Edit::Set {
            field: "notes".into(),
            value: Value::Text("hẹn lấy ảnh lại".into()),
        }],
        now_ms(),
    )
    .unwrap();
    lan.sync_all();
    assert!(codes(&server).contains(&"biometrics_under_6".to_owned()));
    // …and clearing the flag clears it.
    lan.update(
        id,
        &[Edit::Clear {
            field: "fingerprints_taken".into(),
        }],
        now_ms(),
    )
    .unwrap();
    lan.sync_all();
    assert!(!codes(&server).contains(&"biometrics_under_6".to_owned()));
}
