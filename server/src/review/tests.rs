//! Detection and resolution, case by case, on an in-memory server database with documents
//! stored exactly as an accepted push stores them.

use std::collections::BTreeMap;

use rusqlite::{Connection, Transaction};
use sync_core::doc::{Author, Edit, RecordDoc};
use sync_core::model::{Fields, Kind, Record, Role, Value};
use sync_core::replica::row_for;
use sync_core::store::schema::migrate;
use uuid::Uuid;

use super::resolve::Resolver;
use super::*;
use crate::{accounts, feed};

const NOW: i64 = 1_767_225_600_000; // 2026-01-01
const A: [u8; 16] = [0xa1; 16];
const B: [u8; 16] = [0xb2; 16];

struct Db {
    conn: Connection,
    dev_a: Uuid,
    dev_b: Uuid,
}

fn db() -> Db {
    let mut conn = Connection::open_in_memory().unwrap();
    migrate(&conn, crate::schema::SERVER_MIGRATIONS).unwrap();
    let has_review: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'review_items')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    if !has_review {
        conn.execute_batch(SCHEMA_SQL).unwrap();
    }
    let (dev_a, dev_b) = (Uuid::now_v7(), Uuid::now_v7());
    let tx = conn.transaction().unwrap();
    let an = accounts::add_user(&tx, "an", "x", Role::Officer, &["07132".into()], 0).unwrap();
    let binh = accounts::add_user(&tx, "binh", "x", Role::Staff, &["07132".into()], 0).unwrap();
    accounts::add_user(&tx, "admin", "x", Role::Admin, &[], 0).unwrap();
    accounts::add_user(&tx, "root", "x", Role::Admin, &[], 0).unwrap();
    accounts::register_device(&tx, an.id, dev_a, &hex::encode(A), "phone A", 0).unwrap();
    accounts::register_device(&tx, binh.id, dev_b, &hex::encode(B), "phone B", 0).unwrap();
    tx.commit().unwrap();
    Db { conn, dev_a, dev_b }
}

fn author(actor: [u8; 16], t: i64) -> Author {
    Author::new(&actor, t)
}

fn set(field: &str, v: &str) -> Edit {
    Edit::Set {
        field: field.into(),
        value: v.into(),
    }
}

fn citizen_fields(name: &str) -> Fields {
    let mut f = Fields::new();
    f.insert("full_name".into(), name.into());
    f.insert("date_of_birth".into(), "1990-05-17".into());
    f.insert("sex".into(), "male".into());
    f.insert("status".into(), "active".into());
    f
}

fn new_doc(kind: Kind, fields: Fields, actor: [u8; 16]) -> RecordDoc {
    let rec = Record {
        id: Uuid::now_v7(),
        kind,
        unit: "07132".into(),
        fields,
    };
    RecordDoc::create(&rec, &author(actor, NOW - 10_000))
        .unwrap()
        .0
}

impl Db {
    /// Stores a document as an accepted push would (every change logged with the device of
    /// its actor) and runs detection.
    fn push(&mut self, doc: &RecordDoc) -> detect::DetectStats {
        let tx = self.conn.transaction().unwrap();
        let stats = store_doc(&tx, doc, self.dev_a, self.dev_b);
        tx.commit().unwrap();
        stats
    }

    fn open(&self) -> Vec<Item> {
        list_items(
            &self.conn,
            &Filter {
                status: Some(ItemStatus::Open),
                ..Filter::default()
            },
            NOW,
        )
        .unwrap()
    }

    fn resolve(&mut self, id: i64, action: Action, admin: &str) -> Result<Item, ReviewError> {
        let tx = self.conn.transaction().unwrap();
        let out = resolve(
            &tx,
            id,
            &action,
            &Resolver {
                admin,
                via: "test",
                device: "",
            },
            NOW,
        );
        if out.is_ok() {
            tx.commit().unwrap();
        }
        out
    }

    fn stored(&self, id: Uuid) -> RecordDoc {
        RecordDoc::load(&feed::get_record(&self.conn, id).unwrap().unwrap().doc).unwrap()
    }
}

fn store_doc(
    tx: &Transaction<'_>,
    doc: &RecordDoc,
    dev_a: Uuid,
    dev_b: Uuid,
) -> detect::DetectStats {
    let record = doc.read().unwrap();
    for mut change in doc.changes_since(&[]) {
        let origin = if change.actor_id().to_bytes() == B {
            dev_b
        } else {
            dev_a
        };
        let hash = change.hash();
        let bytes = sync_core::doc::encode_change(&mut change);
        feed::append_change(tx, record.id, &hash.0, &bytes, &record.unit, origin, NOW).unwrap();
    }
    feed::put_record(tx, &row_for(doc, &record, &[], NOW)).unwrap();
    detect(tx, &[record.id], NOW).unwrap()
}

/// Two replicas of one record that each made `a` and `b` offline, merged.
fn concurrent(doc: &RecordDoc, a: &[Edit], b: &[Edit]) -> RecordDoc {
    let mut left = doc.fork();
    let mut right = doc.fork();
    let ca = left.edit(a, &author(A, NOW - 5_000)).unwrap().unwrap();
    let cb = right.edit(b, &author(B, NOW - 4_000)).unwrap().unwrap();
    left.apply_changes(vec![cb]).unwrap();
    right.apply_changes(vec![ca]).unwrap();
    assert_eq!(left.heads(), right.heads());
    left
}

#[test]
fn a_conflict_on_a_reviewed_field_opens_one_item_with_every_value_and_its_author() {
    let mut db = db();
    let base = new_doc(Kind::Citizen, citizen_fields("Nguyễn Văn An"), A);
    db.push(&base);
    assert!(db.open().is_empty());
    let merged = concurrent(
        &base,
        &[set("date_of_birth", "1990-05-18")],
        &[set("date_of_birth", "1991-05-17")],
    );
    let stats = db.push(&merged);
    assert_eq!(stats.opened, 1);
    let items = db.open();
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert_eq!(item.item_type, ItemType::FieldConflict);
    assert_eq!(item.field.as_deref(), Some("date_of_birth"));
    assert_eq!(item.unit, "07132");
    assert_eq!(item.kind, "citizen");
    assert_eq!(item.candidates.len(), 2);
    let mut who: Vec<(String, String, String)> = item
        .candidates
        .iter()
        .map(|c| {
            (
                c.value.as_text().unwrap().to_owned(),
                c.user.clone().unwrap(),
                c.device_name.clone().unwrap(),
            )
        })
        .collect();
    who.sort();
    assert_eq!(
        who,
        vec![
            ("1990-05-18".into(), "an".into(), "phone A".into()),
            ("1991-05-17".into(), "binh".into(), "phone B".into()),
        ]
    );
    assert_eq!(item.candidates.iter().filter(|c| c.winner).count(), 1);

    // Pushing the same state again changes nothing.
    let stats = db.push(&merged);
    assert_eq!(stats, detect::DetectStats::default());
}

#[test]
fn a_conflict_on_a_field_without_review_opens_nothing() {
    let mut db = db();
    let base = new_doc(Kind::Citizen, citizen_fields("Trần Thị Bình"), A);
    let merged = concurrent(&base, &[set("phone", "0901")], &[set("phone", "0902")]);
    db.push(&merged);
    assert!(merged.conflicts().iter().any(|c| c.field == "phone"));
    assert!(db.open().is_empty());
}

#[test]
fn a_third_concurrent_value_refreshes_the_item_and_an_officer_rewrite_closes_it() {
    let mut db = db();
    let base = new_doc(Kind::Citizen, citizen_fields("Lê Văn Tám"), A);
    let merged = concurrent(
        &base,
        &[set("sex", "female")],
        &[set("full_name", "Lê Văn Tâm")],
    );
    db.push(&merged);
    assert!(db.open().is_empty(), "different fields do not conflict");

    let merged = concurrent(
        &merged,
        &[set("full_name", "Lê Văn Tấm")],
        &[set("full_name", "Lê Văn Tầm")],
    );
    db.push(&merged);
    let first = db.open();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].candidates.len(), 2);

    // A third device (actor C) wrote concurrently with both.
    let mut third = base.fork();
    third
        .edit(
            &[set("full_name", "Lê Tám")],
            &author([0xc3; 16], NOW - 3_000),
        )
        .unwrap();
    let mut all = merged.fork();
    all.apply_changes(third.changes_since(&base.heads()))
        .unwrap();
    let stats = db.push(&all);
    assert_eq!(stats.refreshed, 1);
    let refreshed = db.open();
    assert_eq!(refreshed.len(), 1);
    assert_eq!(refreshed[0].id, first[0].id);
    assert_eq!(refreshed[0].candidates.len(), 3);

    // An officer who saw every value writes one: the conflict is gone, the item closes.
    let mut settled = all.fork();
    settled
        .edit(&[set("full_name", "Lê Văn Tám")], &author(A, NOW))
        .unwrap();
    let stats = db.push(&settled);
    assert_eq!(stats.closed, 1);
    assert!(db.open().is_empty());
    let closed = get_item(&db.conn, first[0].id).unwrap().unwrap();
    assert_eq!(closed.status, ItemStatus::Resolved);
    assert_eq!(closed.resolved_by, None);
    assert_eq!(closed.resolution.unwrap()["action"], "auto");
}

#[test]
fn choosing_a_value_writes_an_admin_change_that_clears_the_conflict_and_records_what_lost() {
    let mut db = db();
    let base = new_doc(Kind::Citizen, citizen_fields("Phạm Văn Cường"), A);
    let merged = concurrent(
        &base,
        &[set("full_name", "Phạm Văn Cương")],
        &[set("full_name", "Phạm Văn Cường Em")],
    );
    db.push(&merged);
    let item = db.open().remove(0);
    let choice = item
        .candidates
        .iter()
        .position(|c| c.value == Value::from("Phạm Văn Cương"))
        .unwrap();
    let done = db
        .resolve(item.id, Action::Choose { choice }, "admin")
        .unwrap();
    assert_eq!(done.status, ItemStatus::Resolved);
    assert_eq!(done.resolved_by.as_deref(), Some("admin"));
    assert_eq!(done.resolved_ms, Some(NOW));
    let res = done.resolution.unwrap();
    assert_eq!(res["chosen"], "Phạm Văn Cương");
    assert_eq!(res["lost"][0]["value"], "Phạm Văn Cường Em");
    assert_eq!(res["lost"][0]["user"], "binh");

    let id = done.records[0];
    let doc = db.stored(id);
    assert!(doc.conflicts().is_empty());
    assert_eq!(
        doc.read().unwrap().text("full_name"),
        Some("Phạm Văn Cương")
    );

    // The resolution is in the change log, from the admin's review device.
    let (origin, count): (String, i64) = db
        .conn
        .query_row(
            "SELECT origin_device, (SELECT count(*) FROM changes WHERE record = ?1)
             FROM changes WHERE record = ?1 ORDER BY seq DESC LIMIT 1",
            [id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(count, 4);
    let w = store::who(&db.conn, res["changes"][0]["change"].as_str().unwrap(), "").unwrap();
    assert_eq!(w.user.as_deref(), Some("admin"));
    assert_eq!(w.device.as_deref(), Some(origin.as_str()));
    // Audited.
    let audited: i64 = db
        .conn
        .query_row(
            "SELECT count(*) FROM audit WHERE action = 'review_resolve' AND user = 'admin'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 1);

    // A second admin gets "already resolved" and nothing is written.
    let err = db
        .resolve(item.id, Action::Choose { choice: 0 }, "root")
        .unwrap_err();
    assert!(
        matches!(
            err,
            ReviewError::AlreadyClosed {
                status: ItemStatus::Resolved,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("already resolved by admin"));
    let after: i64 = db
        .conn
        .query_row(
            "SELECT count(*) FROM changes WHERE record = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(after, 4);
}

#[test]
fn a_new_value_is_validated_and_an_invalid_one_changes_nothing() {
    let mut db = db();
    let base = new_doc(Kind::Citizen, citizen_fields("Đỗ Thị Hoa"), A);
    let merged = concurrent(
        &base,
        &[set("date_of_birth", "1990-05-18")],
        &[set("date_of_birth", "1991-05-17")],
    );
    db.push(&merged);
    let item = db.open().remove(0);
    let err = db
        .resolve(
            item.id,
            Action::NewValue {
                value: "17/05/1990".into(),
            },
            "admin",
        )
        .unwrap_err();
    assert!(matches!(err, ReviewError::Invalid(_)), "{err:?}");
    assert_eq!(db.open().len(), 1, "still open");
    let done = db
        .resolve(
            item.id,
            Action::NewValue {
                value: " 1990-05-19 ".into(),
            },
            "admin",
        )
        .unwrap();
    assert_eq!(done.resolution.unwrap()["chosen"], "1990-05-19");
    let doc = db.stored(item.records[0]);
    assert_eq!(
        doc.read().unwrap().text("date_of_birth"),
        Some("1990-05-19")
    );
    assert!(doc.conflicts().is_empty());
    // Only admins resolve.
    let merged2 = concurrent(&doc, &[set("full_name", "X")], &[set("full_name", "Y")]);
    db.push(&merged2);
    let item2 = db.open().remove(0);
    assert!(matches!(
        db.resolve(item2.id, Action::Choose { choice: 0 }, "an"),
        Err(ReviewError::NotAdmin)
    ));
}

#[test]
fn accepted_versus_withdrawn_is_a_status_conflict() {
    let mut db = db();
    let mut f = Fields::new();
    f.insert("citizen_id".into(), Uuid::now_v7().to_string().into());
    f.insert("procedure".into(), "temporary_registration".into());
    f.insert("status".into(), "submitted".into());
    let base = new_doc(Kind::ResidenceDeclaration, f, A);
    let merged = concurrent(
        &base,
        &[set("status", "withdrawn")],
        &[set("status", "accepted")],
    );
    db.push(&merged);
    let items = db.open();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].item_type, ItemType::StatusConflict);
    assert_eq!(items[0].kind, "residence_declaration");
    let mut values: Vec<&str> = items[0]
        .candidates
        .iter()
        .map(|c| c.value.as_text().unwrap())
        .collect();
    values.sort();
    assert_eq!(values, vec!["accepted", "withdrawn"]);
    // Resolve to accepted; the status conflict is gone on the stored record.
    let choice = items[0]
        .candidates
        .iter()
        .position(|c| c.value == Value::from("accepted"))
        .unwrap();
    db.resolve(items[0].id, Action::Choose { choice }, "admin")
        .unwrap();
    let doc = db.stored(items[0].records[0]);
    assert!(doc.conflicts().is_empty());
    assert_eq!(doc.read().unwrap().status(), Some("accepted"));
    assert!(db.open().is_empty());
}

#[test]
fn an_edit_concurrent_with_a_withdrawal_opens_an_item_until_an_admin_decides() {
    let mut db = db();
    let base = new_doc(Kind::Citizen, citizen_fields("Vũ Văn Dũng"), A);
    let merged = concurrent(
        &base,
        &[set("status", "withdrawn")],
        &[set("permanent_address", "Số 5 đường Trần Hưng Đạo")],
    );
    db.push(&merged);
    let items = db.open();
    assert_eq!(items.len(), 1, "{items:?}");
    let item = &items[0];
    assert_eq!(item.item_type, ItemType::EditDuringWithdrawal);
    assert_eq!(item.candidates.len(), 2);
    assert_eq!(item.candidates[0].value, Value::from("withdrawn"));
    assert_eq!(item.candidates[0].user.as_deref(), Some("an"));
    assert_eq!(item.candidates[1].value, Value::from("active"));
    assert_eq!(item.candidates[1].user.as_deref(), Some("binh"));
    assert!(
        item.candidates[1].detail["fields"]
            .get("permanent_address")
            .is_some()
    );

    // An edit that saw the withdrawal is not concurrent with it.
    let mut later = merged.fork();
    later
        .edit(&[set("notes", "ghi chú")], &author(B, NOW))
        .unwrap();
    db.push(&later);
    assert_eq!(db.open().len(), 1);

    // Restore the record: status back to active.
    db.resolve(item.id, Action::Choose { choice: 1 }, "admin")
        .unwrap();
    let doc = db.stored(item.records[0]);
    assert_eq!(doc.read().unwrap().status(), Some("active"));
    assert!(db.open().is_empty());
}

#[test]
fn keeping_a_withdrawal_writes_nothing_and_the_item_stays_closed() {
    let mut db = db();
    let base = new_doc(Kind::Citizen, citizen_fields("Vũ Thị E"), A);
    let merged = concurrent(
        &base,
        &[set("status", "withdrawn")],
        &[set("full_name", "Vũ Thị Ê")],
    );
    db.push(&merged);
    let item = db.open().remove(0);
    let done = db
        .resolve(item.id, Action::Choose { choice: 0 }, "admin")
        .unwrap();
    assert!(
        done.resolution.unwrap()["changes"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The same situation pushed again does not reopen it.
    db.push(&merged);
    assert!(db.open().is_empty());
}

fn citizen_with_id(name: &str, number: Option<&str>, unit: &str, actor: [u8; 16]) -> RecordDoc {
    let mut f = citizen_fields(name);
    if let Some(n) = number {
        f.insert("id_number".into(), n.into());
    }
    let rec = Record {
        id: Uuid::now_v7(),
        kind: Kind::Citizen,
        unit: unit.into(),
        fields: f,
    };
    RecordDoc::create(&rec, &author(actor, NOW - 10_000))
        .unwrap()
        .0
}

#[test]
fn the_same_id_number_in_two_citizens_is_a_duplicate_and_merging_moves_everything_to_the_survivor()
{
    let mut db = db();
    let mut one = citizen_with_id("Ngô Văn Giang", Some("001090012345"), "07132", A);
    one.edit(&[set("phone", "0912345678")], &author(A, NOW - 9_000))
        .unwrap();
    let mut two = citizen_with_id("Ngô Văn Giang", Some("001090012345"), "07132", B);
    two.edit(
        &[set("hometown", "Quảng Ninh"), set("phone", "0987654321")],
        &author(B, NOW - 9_000),
    )
    .unwrap();
    let (id1, id2) = (one.read().unwrap().id, two.read().unwrap().id);
    db.push(&one);
    assert!(db.open().is_empty());

    // A household lists the second record as its head; a declaration is about it.
    let mut members = BTreeMap::new();
    members.insert(
        id2.to_string(),
        Value::Map(BTreeMap::from([("relationship".into(), "head".into())])),
    );
    let mut hf = Fields::new();
    hf.insert("address".into(), "Tổ 3".into());
    hf.insert("head_id".into(), id2.to_string().into());
    hf.insert("members".into(), Value::Map(members));
    hf.insert("status".into(), "active".into());
    let household = new_doc(Kind::Household, hf, B);
    let hid = household.read().unwrap().id;
    db.push(&household);
    let mut df = Fields::new();
    df.insert("citizen_id".into(), id2.to_string().into());
    df.insert("procedure".into(), "temporary_registration".into());
    df.insert("status".into(), "draft".into());
    let decl = new_doc(Kind::ResidenceDeclaration, df, B);
    let did = decl.read().unwrap().id;
    db.push(&decl);

    db.push(&two);
    let items = db.open();
    assert_eq!(items.len(), 1, "{items:?}");
    let item = &items[0];
    assert_eq!(item.item_type, ItemType::DuplicateIdNumber);
    let mut pair = vec![id1, id2];
    pair.sort();
    assert_eq!(item.records, pair);
    assert_eq!(item.candidates.len(), 2);

    // Choosing a value makes no sense for a duplicate.
    assert!(matches!(
        db.resolve(item.id, Action::Choose { choice: 0 }, "admin"),
        Err(ReviewError::Invalid(_))
    ));
    let done = db
        .resolve(item.id, Action::Merge { survivor: id1 }, "admin")
        .unwrap();
    assert_eq!(done.status, ItemStatus::Resolved);
    let res = done.resolution.unwrap();
    assert_eq!(res["lost"]["merged"], id2.to_string());
    assert_eq!(res["lost"]["differing_values"]["phone"], "0987654321");

    let survivor = db.stored(id1).read().unwrap();
    assert_eq!(
        survivor.text("hometown"),
        Some("Quảng Ninh"),
        "took the field it lacked"
    );
    assert_eq!(
        survivor.text("phone"),
        Some("0912345678"),
        "kept its own value"
    );
    let loser = db.stored(id2).read().unwrap();
    assert_eq!(loser.status(), Some("merged_into"));
    assert_eq!(loser.text("merged_into"), Some(id1.to_string().as_str()));
    let h = db.stored(hid).read().unwrap();
    let members = h.fields["members"].as_map().unwrap();
    assert!(members.contains_key(&id1.to_string()));
    assert!(!members.contains_key(&id2.to_string()));
    assert_eq!(h.text("head_id"), Some(id1.to_string().as_str()));
    assert_eq!(
        db.stored(did).read().unwrap().text("citizen_id"),
        Some(id1.to_string().as_str())
    );
    assert!(db.open().is_empty(), "{:?}", db.open());
    let merged_audit: i64 = db
        .conn
        .query_row(
            "SELECT count(*) FROM audit WHERE action = 'review_merge'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(merged_audit, 1);
}

#[test]
fn the_same_normalised_name_birth_date_and_unit_is_a_duplicate() {
    let mut db = db();
    db.push(&citizen_with_id("Nguyễn Văn An", None, "07132", A));
    db.push(&citizen_with_id("NGUYEN  van an", None, "07135", B));
    assert!(db.open().is_empty(), "another unit is another person");
    db.push(&citizen_with_id(
        "Nguyen Van An",
        Some("001090012345"),
        "07132",
        B,
    ));
    let items = db.open();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].item_type, ItemType::DuplicateNameDob);
    // Two different ID numbers are two people.
    assert!(db_with_two_numbered().open().is_empty());
}

#[test]
fn a_person_captured_twice_under_an_old_cmnd_number_or_an_earlier_id_number_is_a_duplicate() {
    // Captured in 07132 with the CCCD number and the old CMND; in 07135 from old papers with
    // the CMND only, and another name spelling: the same person by the CMND number.
    let mut db = db();
    let mut first = citizen_with_id("Trần Văn Bảy", Some("022090001234"), "07132", A);
    first
        .edit(
            &[set("old_id_number", "100234567")],
            &author(A, NOW - 9_000),
        )
        .unwrap();
    db.push(&first);
    let mut second = citizen_with_id("Tran Van Bay", None, "07135", B);
    second
        .edit(
            &[
                set("old_id_number", "100234567"),
                set("date_of_birth", "1990-01-01"),
            ],
            &author(B, NOW - 8_000),
        )
        .unwrap();
    db.push(&second);
    let items = db.open();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].item_type, ItemType::DuplicateIdNumber);
    let ids = [first.read().unwrap().id, second.read().unwrap().id];
    assert!(ids.iter().all(|i| items[0].records.contains(i)));

    // A number replaced after a sex redetermination, kept as an earlier number, and a second
    // record still carrying it as its current number.
    let mut db = db_fresh();
    let mut renumbered = citizen_with_id("Lê Thị Hoa", Some("022190005555"), "07132", A);
    renumbered
        .edit(
            &[Edit::PutEntry {
                field: "previous_id_numbers".into(),
                key: "022090005555".into(),
                value: Value::Map(Default::default()),
            }],
            &author(A, NOW - 9_000),
        )
        .unwrap();
    db.push(&renumbered);
    db.push(&citizen_with_id(
        "Lê Văn Hoa",
        Some("022090005555"),
        "07147",
        B,
    ));
    let items = db.open();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].item_type, ItemType::DuplicateIdNumber);

    // Two people with different numbers and no shared one: nothing.
    let mut db = db_fresh();
    db.push(&citizen_with_id(
        "Trần Văn Bảy",
        Some("022090001234"),
        "07132",
        A,
    ));
    db.push(&citizen_with_id(
        "Trần Văn Bảy",
        Some("022090009999"),
        "07135",
        B,
    ));
    assert!(db.open().is_empty(), "{:?}", db.open());
}

fn db_with_two_numbered() -> Db {
    let mut db = db();
    db.push(&citizen_with_id(
        "Trần Văn Bảo",
        Some("001090012345"),
        "07132",
        A,
    ));
    db.push(&citizen_with_id(
        "Tran Van Bao",
        Some("001090054321"),
        "07132",
        B,
    ));
    db
}

#[test]
fn a_dismissed_duplicate_is_not_opened_again_and_a_withdrawn_record_is_no_duplicate() {
    let mut db = db();
    let one = citizen_with_id("Hồ Thị Lan", None, "07132", A);
    let two = citizen_with_id("Ho Thi Lan", None, "07132", B);
    db.push(&one);
    db.push(&two);
    let item = db.open().remove(0);
    assert!(matches!(
        db.resolve(
            item.id,
            Action::Dismiss {
                reason: "  ".into()
            },
            "admin"
        ),
        Err(ReviewError::Invalid(_))
    ));
    let done = db
        .resolve(
            item.id,
            Action::Dismiss {
                reason: "hai người khác nhau".into(),
            },
            "admin",
        )
        .unwrap();
    assert_eq!(done.status, ItemStatus::Dismissed);
    assert_eq!(done.resolution.unwrap()["reason"], "hai người khác nhau");
    let mut again = two.fork();
    again.edit(&[set("notes", "x")], &author(B, NOW)).unwrap();
    db.push(&again);
    assert!(db.open().is_empty());

    // A third record for the same person opens a new pair; withdrawing it closes that pair.
    let mut three = citizen_with_id("Hồ Thị Lan", None, "07132", A);
    db.push(&three);
    assert_eq!(db.open().len(), 2);
    three
        .edit(&[set("status", "withdrawn")], &author(A, NOW))
        .unwrap();
    let stats = db.push(&three);
    assert_eq!(stats.closed, 2);
    assert!(db.open().is_empty());
}

fn household(members: &[(Uuid, &str)]) -> RecordDoc {
    let map: BTreeMap<String, Value> = members
        .iter()
        .map(|(id, rel)| {
            (
                id.to_string(),
                Value::Map(BTreeMap::from([("relationship".into(), (*rel).into())])),
            )
        })
        .collect();
    let mut f = Fields::new();
    f.insert("address".into(), "Tổ 5, khu 2".into());
    f.insert("members".into(), Value::Map(map));
    f.insert("status".into(), "active".into());
    new_doc(Kind::Household, f, A)
}

#[test]
fn a_household_with_two_heads_or_none_opens_an_item_and_choosing_a_head_fixes_it() {
    let mut db = db();
    let (x, y, z) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    db.push(&household(&[(x, "head"), (y, "spouse")]));
    assert!(db.open().is_empty());
    let no_head = household(&[(x, "child"), (y, "spouse")]);
    db.push(&no_head);
    let items = db.open();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].item_type, ItemType::HouseholdHead);
    assert_eq!(items[0].details["heads"], 0);
    assert_eq!(items[0].candidates.len(), 2);

    // Two officers each add a head offline.
    let base = household(&[(z, "child")]);
    let entry = |rel: &str| Value::Map(BTreeMap::from([("relationship".into(), rel.into())]));
    let merged = concurrent(
        &base,
        &[Edit::PutEntry {
            field: "members".into(),
            key: x.to_string(),
            value: entry("head"),
        }],
        &[Edit::PutEntry {
            field: "members".into(),
            key: y.to_string(),
            value: entry("head"),
        }],
    );
    db.push(&merged);
    let two = db
        .open()
        .into_iter()
        .find(|i| i.records[0] == merged.read().unwrap().id)
        .unwrap();
    assert_eq!(two.details["heads"], 2);
    assert_eq!(two.candidates.len(), 2);
    let users: Vec<Option<String>> = two.candidates.iter().map(|c| c.user.clone()).collect();
    assert!(users.contains(&Some("an".into())) && users.contains(&Some("binh".into())));
    let choice = two
        .candidates
        .iter()
        .position(|c| c.value == Value::Text(y.to_string()))
        .unwrap();
    db.resolve(two.id, Action::Choose { choice }, "admin")
        .unwrap();
    let h = db.stored(two.records[0]).read().unwrap();
    let m = h.fields["members"].as_map().unwrap();
    assert_eq!(
        m[&y.to_string()].as_map().unwrap()["relationship"],
        Value::from("head")
    );
    assert_eq!(
        m[&x.to_string()].as_map().unwrap()["relationship"],
        Value::from("other")
    );
    assert_eq!(h.text("head_id"), Some(y.to_string().as_str()));
    assert_eq!(db.open().len(), 1, "only the headless household is left");
}

fn registration(citizen: Uuid, unit: &str, address: &str, from: &str) -> RecordDoc {
    let mut f = Fields::new();
    f.insert("citizen_id".into(), citizen.to_string().into());
    f.insert("procedure".into(), "permanent_registration".into());
    f.insert("address".into(), address.into());
    f.insert("address_unit".into(), unit.into());
    f.insert("from_date".into(), from.into());
    f.insert("status".into(), "accepted".into());
    new_doc(Kind::ResidenceDeclaration, f, B)
}

#[test]
fn two_concurrent_permanent_registrations_open_an_item_and_choosing_one_ends_the_other() {
    let mut db = db();
    let mut person = citizen_with_id("Đinh Văn Hùng", Some("022085000124"), "07132", A);
    person
        .edit(&[set("permanent_unit", "07132")], &author(A, NOW - 9_000))
        .unwrap();
    let pid = person.read().unwrap().id;
    db.push(&person);
    let first = registration(pid, "07132", "Số 1 phố Quang Trung", "2020-01-01");
    db.push(&first);
    assert!(
        db.open().is_empty(),
        "one registration in the citizen's own unit is fine"
    );
    // Filed the same day on another device, without seeing the first: concurrent.
    let second = registration(pid, "07135", "Số 9 đường Đông Mai", "2020-01-01");
    db.push(&second);
    let items = db.open();
    assert_eq!(items.len(), 1, "{items:?}");
    let item = &items[0];
    assert_eq!(item.item_type, ItemType::TwoPermanentResidences);
    assert_eq!(item.records[0], pid);
    assert_eq!(item.details["reason"], "two_registrations");
    assert_eq!(item.candidates.len(), 2);

    let second_id = second.read().unwrap().id;
    let choice = item
        .candidates
        .iter()
        .position(|c| c.record == Some(second_id))
        .unwrap();
    db.resolve(item.id, Action::Choose { choice }, "admin")
        .unwrap();
    let ended = db.stored(first.read().unwrap().id).read().unwrap();
    assert_eq!(ended.text("to_date"), Some("2026-01-01"));
    let p = db.stored(pid).read().unwrap();
    assert_eq!(p.text("permanent_unit"), Some("07135"));
    assert_eq!(p.text("permanent_address"), Some("Số 9 đường Đông Mai"));
    assert!(db.open().is_empty(), "{:?}", db.open());
}

#[test]
fn a_registration_in_another_unit_than_the_citizens_permanent_unit_is_flagged() {
    let mut db = db();
    let mut person = citizen_with_id("Mai Văn Khoa", Some("022085000166"), "07132", A);
    person
        .edit(&[set("permanent_unit", "07147")], &author(A, NOW - 9_000))
        .unwrap();
    let pid = person.read().unwrap().id;
    db.push(&person);
    db.push(&registration(
        pid,
        "07132",
        "Số 2 phố Quang Trung",
        "2021-01-01",
    ));
    let items = db.open();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].details["reason"], "unit_mismatch");
    assert_eq!(items[0].candidates.len(), 2);
    // Correcting the citizen's unit closes the item.
    person
        .edit(&[set("permanent_unit", "07132")], &author(A, NOW))
        .unwrap();
    db.push(&person);
    assert!(db.open().is_empty());
}

#[test]
fn filters_and_counts_cover_unit_kind_type_and_age() {
    let mut db = db();
    let base = new_doc(Kind::Citizen, citizen_fields("Lý Văn Minh"), A);
    db.push(&concurrent(
        &base,
        &[set("full_name", "Lý Minh")],
        &[set("full_name", "Lý Văn Mình")],
    ));
    db.push(&household(&[(Uuid::now_v7(), "child")]));
    let all = Filter {
        status: Some(ItemStatus::Open),
        ..Filter::default()
    };
    let counts = count_items(&db.conn, &all, NOW).unwrap();
    assert_eq!(counts.total, 2);
    assert_eq!(counts.by_type.get("field_conflict"), Some(&1));
    assert_eq!(counts.by_type.get("household_head"), Some(&1));
    assert_eq!(counts.by_kind.get("citizen"), Some(&1));
    assert_eq!(counts.by_unit.get("07132"), Some(&2));
    let only = Filter {
        item_type: Some(ItemType::HouseholdHead),
        ..all.clone()
    };
    assert_eq!(list_items(&db.conn, &only, NOW).unwrap().len(), 1);
    let c = count_items(&db.conn, &only, NOW).unwrap();
    assert_eq!(c.total, 1);
    assert_eq!(c.by_type.len(), 2, "the type facet ignores the type filter");
    let old = Filter {
        older_than_days: Some(1),
        ..all.clone()
    };
    assert!(list_items(&db.conn, &old, NOW).unwrap().is_empty());
    assert_eq!(
        list_items(&db.conn, &old, NOW + 2 * store::DAY_MS)
            .unwrap()
            .len(),
        2
    );
    let other_unit = Filter {
        unit: Some("07135".into()),
        ..all
    };
    assert!(list_items(&db.conn, &other_unit, NOW).unwrap().is_empty());
}

#[test]
fn two_admins_resolving_at_once_apply_exactly_one_resolution() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ferry.db");
    // Build the database through the normal pool.
    let mut migrations: Vec<sync_core::store::schema::Migration> =
        crate::schema::SERVER_MIGRATIONS.to_vec();
    if !migrations.iter().any(|m| m.sql.contains("review_items")) {
        migrations.push(sync_core::store::schema::Migration {
            version: migrations.len() as i64 + 1,
            sql: SCHEMA_SQL,
        });
    }
    let pool =
        std::sync::Arc::new(sync_core::store::Pool::open(&path, None, &migrations, 2).unwrap());
    let (dev_a, dev_b) = (Uuid::now_v7(), Uuid::now_v7());
    pool.write(|tx| -> anyhow::Result<()> {
        let an = accounts::add_user(tx, "an", "x", Role::Officer, &[], 0)?;
        let binh = accounts::add_user(tx, "binh", "x", Role::Officer, &[], 0)?;
        accounts::add_user(tx, "admin", "x", Role::Admin, &[], 0)?;
        accounts::add_user(tx, "root", "x", Role::Admin, &[], 0)?;
        accounts::register_device(tx, an.id, dev_a, &hex::encode(A), "", 0)?;
        accounts::register_device(tx, binh.id, dev_b, &hex::encode(B), "", 0)?;
        let base = new_doc(Kind::Citizen, citizen_fields("Quách Văn Phúc"), A);
        let merged = concurrent(
            &base,
            &[set("full_name", "Quách Phúc")],
            &[set("full_name", "Quách Văn Phước")],
        );
        store_doc(tx, &merged, dev_a, dev_b);
        Ok(())
    })
    .unwrap();
    let id: i64 = pool
        .read(|c| c.query_row("SELECT id FROM review_items", [], |r| r.get(0)))
        .unwrap();
    let handles: Vec<_> = ["admin", "root"]
        .into_iter()
        .enumerate()
        .map(|(i, who)| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                pool.write(|tx| {
                    resolve(
                        tx,
                        id,
                        &Action::Choose { choice: i },
                        &Resolver {
                            admin: who,
                            via: "test",
                            device: "",
                        },
                        NOW,
                    )
                })
            })
        })
        .collect();
    let results: Vec<Result<Item, ReviewError>> =
        handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(ReviewError::AlreadyClosed { .. })))
    );
    let admin_changes: i64 = pool
        .read(|c| {
            c.query_row(
                "SELECT count(*) FROM changes WHERE origin_device IN (SELECT device_id FROM review_actors)",
                [],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert_eq!(admin_changes, 1);
}

#[test]
fn scanning_an_existing_database_finds_what_detection_would_have() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ferry.db");
    let mut migrations: Vec<sync_core::store::schema::Migration> =
        crate::schema::SERVER_MIGRATIONS.to_vec();
    if !migrations.iter().any(|m| m.sql.contains("review_items")) {
        migrations.push(sync_core::store::schema::Migration {
            version: migrations.len() as i64 + 1,
            sql: SCHEMA_SQL,
        });
    }
    let pool = sync_core::store::Pool::open(&path, None, &migrations, 1).unwrap();
    pool.write(|tx| -> anyhow::Result<()> {
        for doc in [
            citizen_with_id("Tạ Văn Quý", Some("001090012345"), "07132", A),
            citizen_with_id("Ta Van Quy", Some("001090012345"), "07135", B),
        ] {
            let r = doc.read().unwrap();
            feed::put_record(tx, &row_for(&doc, &r, &[], NOW))?;
        }
        Ok(())
    })
    .unwrap();
    let store = crate::db::Store::Sqlite(std::sync::Arc::new(pool));
    let (n, stats) = detect::scan_all(&store, 1, NOW).unwrap();
    assert_eq!(n, 2);
    assert_eq!(stats.opened, 1);
}

fn declaration(citizen: Uuid, pairs: &[(&str, &str)]) -> RecordDoc {
    let mut f = Fields::new();
    f.insert("citizen_id".into(), citizen.to_string().into());
    for (k, v) in pairs {
        f.insert((*k).into(), (*v).into());
    }
    new_doc(Kind::ResidenceDeclaration, f, B)
}

fn rule_codes(db: &Db) -> Vec<String> {
    let mut v: Vec<String> = db
        .open()
        .iter()
        .filter(|i| i.item_type == ItemType::RuleFinding)
        .map(|i| i.details["code"].as_str().unwrap_or("").to_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn moving_house_is_a_newer_registration_that_supersedes_the_old_one_not_two_residences() {
    let mut db = db();
    let mut person = citizen_with_id("Đinh Văn Hùng", Some("022085000173"), "07132", A);
    person
        .edit(&[set("permanent_unit", "07132")], &author(A, NOW - 9_000))
        .unwrap();
    let pid = person.read().unwrap().id;
    db.push(&person);
    db.push(&registration(
        pid,
        "07132",
        "Số 1 phố Quang Trung",
        "2020-01-01",
    ));
    db.push(&registration(
        pid,
        "07135",
        "Số 9 đường Đông Mai",
        "2025-09-01",
    ));
    // The phone that accepted the move updated the citizen's residence with it.
    person
        .edit(
            &[
                set("permanent_unit", "07135"),
                set("permanent_address", "Số 9 đường Đông Mai"),
            ],
            &author(A, NOW - 8_000),
        )
        .unwrap();
    db.push(&person);
    assert!(db.open().is_empty(), "{:?}", db.open());
}

#[test]
fn an_old_unit_code_merged_into_the_registered_ward_is_no_unit_mismatch() {
    // 07138 (Minh Thành) has been part of 07135 (Đông Mai) since 2025-07-01.
    let mut db = db();
    let mut person = citizen_with_id("Vũ Thị Thu", Some("022085000112"), "07132", A);
    person
        .edit(&[set("permanent_unit", "07138")], &author(A, NOW - 9_000))
        .unwrap();
    let pid = person.read().unwrap().id;
    db.push(&person);
    db.push(&registration(
        pid,
        "07135",
        "Số 4 khu 2, Đông Mai",
        "2025-09-01",
    ));
    assert!(db.open().is_empty(), "{:?}", db.open());
    // A unit that really differs is still flagged.
    person
        .edit(&[set("permanent_unit", "07183")], &author(A, NOW - 8_000))
        .unwrap();
    db.push(&person);
    assert_eq!(db.open()[0].details["reason"], "unit_mismatch");
}

/// The open residence items' reasons.
fn residence_reasons(db: &Db) -> Vec<String> {
    db.open()
        .iter()
        .filter(|i| i.item_type == ItemType::TwoPermanentResidences)
        .map(|i| i.details["reason"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// A citizen whose permanent unit `unit` was captured on `captured`, and an accepted
/// permanent registration in `registered` filed on `filed`.
fn captured_and_registered(db: &mut Db, unit: &str, captured: &str, registered: &str, filed: &str) {
    let mut person = citizen_with_id("Phạm Văn Lộc", Some("022085000145"), "07180", A);
    person
        .edit(
            &[set("permanent_unit", unit), set("captured_on", captured)],
            &author(A, NOW - 9_000),
        )
        .unwrap();
    let pid = person.read().unwrap().id;
    db.push(&person);
    let mut reg = registration(pid, registered, "Thôn 3", filed);
    reg.edit(&[set("filed_on", filed)], &author(B, NOW - 8_000))
        .unwrap();
    db.push(&reg);
}

#[test]
fn unit_codes_are_compared_each_as_of_the_day_it_was_captured() {
    // 07186 (Xã Liên Vị) has been part of 07180 (Phường Liên Hòa) since 2025-07-01: a citizen
    // captured in 2025-09 in the ward and a registration filed in 2024 in old Liên Vị are one
    // commune. Read without dates, 07180 could be old Liên Hòa (part of it now in Hà An), and
    // this was flagged.
    let mut db = db();
    captured_and_registered(&mut db, "07180", "2025-09-01", "07186", "2024-05-01");
    assert!(residence_reasons(&db).is_empty(), "{:?}", db.open());

    // 07180 on a 2024 form is old Xã Liên Hòa, part of which may now be in Hà An (07168): a
    // split unit cannot be decided, so it is no mismatch.
    let mut db = db_fresh();
    captured_and_registered(&mut db, "07180", "2024-03-01", "07168", "2026-02-01");
    assert!(residence_reasons(&db).is_empty(), "{:?}", db.open());

    // The ward Liên Hòa (07180 captured in 2025-09) and Hà An are two communes.
    let mut db = db_fresh();
    captured_and_registered(&mut db, "07180", "2025-09-01", "07168", "2026-02-01");
    assert_eq!(residence_reasons(&db), ["unit_mismatch"]);
}

#[test]
fn a_temporary_removal_never_ends_a_permanent_registration() {
    let mut db = db();
    let mut person = citizen_with_id("Hà Văn Nam", Some("022085000185"), "07132", A);
    person
        .edit(&[set("permanent_unit", "07132")], &author(A, NOW - 9_000))
        .unwrap();
    let pid = person.read().unwrap().id;
    db.push(&person);
    let a = registration(pid, "07132", "Số 1 phố Quang Trung", "2020-01-01");
    let b = registration(pid, "07132", "Số 3 phố Quang Trung", "2020-01-01");
    db.push(&a);
    db.push(&b);
    assert_eq!(db.open().len(), 1, "two concurrent registrations");
    db.push(&declaration(
        pid,
        &[
            ("procedure", "temporary_removal"),
            ("ground", "temp_rental_or_hosting_ended"),
            ("from_date", "2025-12-01"),
            ("status", "accepted"),
        ],
    ));
    let open: Vec<ItemType> = db.open().iter().map(|i| i.item_type).collect();
    assert!(open.contains(&ItemType::TwoPermanentResidences), "{open:?}");
    // A permanent removal naming one of them ends exactly that one.
    let a_id = a.read().unwrap().id;
    db.push(&declaration(
        pid,
        &[
            ("procedure", "permanent_removal"),
            ("ground", "perm_c_cancelled"),
            ("registration_id", &a_id.to_string()),
            ("from_date", "2025-12-01"),
            ("status", "accepted"),
        ],
    ));
    assert!(db.open().is_empty(), "{:?}", db.open());
}

#[test]
fn an_extension_naming_a_registration_that_does_not_exist_or_of_the_wrong_procedure_is_a_rule_item()
{
    let mut db = db();
    let person = citizen_with_id("Lê Văn Hùng", Some("022085000129"), "07132", A);
    let pid = person.read().unwrap().id;
    db.push(&person);
    let ext = |reg: &str| {
        declaration(
            pid,
            &[
                ("procedure", "extension"),
                ("registration_id", reg),
                ("from_date", "2026-01-01"),
                ("to_date", "2027-01-01"),
                ("status", "submitted"),
            ],
        )
    };
    db.push(&ext(&Uuid::now_v7().to_string()));
    assert_eq!(rule_codes(&db), ["registration_not_found"]);
    let permanent = registration(pid, "07132", "Số 1 phố Quang Trung", "2020-01-01");
    db.push(&permanent);
    let mut wrong = ext(&permanent.read().unwrap().id.to_string());
    db.push(&wrong);
    assert_eq!(
        rule_codes(&db),
        ["registration_not_found", "registration_wrong_procedure"]
    );
    // Withdrawing the wrong one closes its item.
    wrong
        .edit(&[set("status", "withdrawn")], &author(B, NOW))
        .unwrap();
    db.push(&wrong);
    assert_eq!(rule_codes(&db), ["registration_not_found"]);
}

#[test]
fn a_deceased_citizen_still_registered_is_a_rule_item_until_the_registration_is_removed() {
    let mut db = db();
    let mut person = citizen_with_id("Nguyễn Văn Tư", Some("022085000165"), "07132", A);
    person
        .edit(&[set("permanent_unit", "07132")], &author(A, NOW - 9_000))
        .unwrap();
    let pid = person.read().unwrap().id;
    db.push(&person);
    db.push(&registration(
        pid,
        "07132",
        "Số 1 phố Quang Trung",
        "2020-01-01",
    ));
    assert!(rule_codes(&db).is_empty());
    person
        .edit(
            &[
                set("status", "deceased"),
                set("date_of_death", "2025-12-20"),
            ],
            &author(A, NOW - 8_000),
        )
        .unwrap();
    db.push(&person);
    assert_eq!(rule_codes(&db), ["deceased_still_registered"]);
    db.push(&declaration(
        pid,
        &[
            ("procedure", "permanent_removal"),
            ("ground", "perm_a_dead_or_missing"),
            ("from_date", "2025-12-25"),
            ("status", "accepted"),
        ],
    ));
    assert!(rule_codes(&db).is_empty(), "{:?}", rule_codes(&db));
}

fn card_application(citizen: Uuid, status: &str) -> RecordDoc {
    let mut f = citizen_fields("Đỗ Văn Tâm");
    f.insert("citizen_id".into(), citizen.to_string().into());
    f.insert("request_type".into(), "first_issue".into());
    f.insert("id_number".into(), "022090007777".into());
    f.insert("status".into(), status.into());
    new_doc(Kind::CccdApplication, f, B)
}

#[test]
fn a_citizen_with_two_open_card_applications_is_a_rule_item_until_one_is_withdrawn() {
    let mut db = db();
    let person = citizen_with_id("Đỗ Văn Tâm", Some("022090007777"), "07132", A);
    let pid = person.read().unwrap().id;
    db.push(&person);
    let first = card_application(pid, "submitted");
    db.push(&first);
    db.push(&card_application(pid, "returned"));
    assert!(
        rule_codes(&db).is_empty(),
        "a card handed back is no open dossier"
    );
    let mut second = card_application(pid, "collected");
    db.push(&second);
    assert_eq!(rule_codes(&db), ["two_open_applications"]);
    second
        .edit(&[set("status", "withdrawn")], &author(B, NOW))
        .unwrap();
    db.push(&second);
    assert!(rule_codes(&db).is_empty(), "{:?}", rule_codes(&db));
}

#[test]
fn names_folding_to_one_key_are_told_apart_and_the_same_person_is_found_across_wards() {
    let mut db = db();
    let hung = citizen_with_id("Nguyễn Văn Hùng", None, "07132", A);
    db.push(&hung);
    db.push(&citizen_with_id("Nguyễn Văn Hưng", None, "07132", A));
    let items = db.open();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].details["name_match"], "folded");
    let names = items[0].details["full_names"].as_object().unwrap();
    assert!(names.values().any(|n| n == "Nguyễn Văn Hưng"));

    // Across wards, the parents' names must agree as well.
    let mut db = db_fresh();
    let with_parents = |unit: &str, mother: &str| {
        let mut d = citizen_with_id("Trần Thị Mai", None, unit, A);
        d.edit(
            &[
                set("father_name", "Trần Văn Bình"),
                set("mother_name", mother),
            ],
            &author(A, NOW - 9_500),
        )
        .unwrap();
        d
    };
    db.push(&with_parents("07132", "Phạm Thị Lụa"));
    db.push(&with_parents("07135", "Đỗ Thị Hằng"));
    assert!(db.open().is_empty(), "other parents: two people");
    db.push(&with_parents("07147", "Phạm Thị Lụa"));
    let items = db.open();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].details["across_units"], true);
    assert_eq!(items[0].details["name_match"], "exact");
}

fn db_fresh() -> Db {
    db()
}

/// Rows written to the search and report indexes when `doc` is stored and detected.
fn index_writes(db: &mut Db, doc: &RecordDoc) -> i64 {
    let tx = db.conn.transaction().unwrap();
    let record = doc.read().unwrap();
    feed::put_record(&tx, &row_for(doc, &record, &[], NOW)).unwrap();
    let before = tx.total_changes();
    super::store::index_record(&tx, &record).unwrap();
    crate::reports::index::index_record(&tx, &record, NOW).unwrap();
    let writes = (tx.total_changes() - before) as i64;
    tx.commit().unwrap();
    writes
}

#[test]
fn an_edit_that_changes_no_indexed_field_rewrites_no_index_row_and_one_that_does_rewrites_it() {
    let mut db = db();
    let base = new_doc(Kind::Citizen, citizen_fields("Nguyễn Văn An"), A);
    db.push(&base);
    let id = base.read().unwrap().id;
    // A phone number is in neither the review index nor the reports.
    let mut phone = base.fork();
    phone
        .edit(&[set("phone", "0912345678")], &author(A, NOW - 1_000))
        .unwrap();
    assert_eq!(index_writes(&mut db, &phone), 0);
    // A new name is: its index row is rewritten, and duplicates are found by the new name.
    let mut renamed = phone.fork();
    renamed
        .edit(&[set("full_name", "Trần Thị Bình")], &author(A, NOW - 500))
        .unwrap();
    assert!(index_writes(&mut db, &renamed) >= 1);
    let key: String = db
        .conn
        .query_row(
            "SELECT name_key FROM review_index WHERE record = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(key, sync_core::model::search_key("Trần Thị Bình"));
    // And the record's own search column follows the name.
    let stored: String = db
        .conn
        .query_row(
            "SELECT name_key FROM records WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, key);
}
