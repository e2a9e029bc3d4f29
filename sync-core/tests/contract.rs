//! The published contract beyond the record fields: change timestamps in either unit, and
//! `null` read as absent in the sync messages (docs/protocol.md §4.2).

use ciborium::value::Value as Cbor;
use sync_core::doc::{Author, Edit, RecordDoc};
use sync_core::model::{Fields, Kind, Record, Value};
use sync_core::protocol;

/// 2026-03-10T06:00:00+07:00.
const SECS: i64 = 1_773_097_200;

#[test]
fn an_edit_stamped_in_seconds_by_javascript_automerge_shows_its_real_date_not_1970() {
    let mut fields = Fields::new();
    fields.insert("full_name".into(), Value::from("Lê Văn Tám"));
    let record = Record {
        id: uuid::Uuid::now_v7(),
        kind: Kind::Citizen,
        unit: "07132".into(),
        fields,
    };
    // One writer in seconds (JS stable API), one in milliseconds (Rust, JS next).
    let (mut doc, _) = RecordDoc::create(&record, &Author::new(&[1; 16], SECS)).unwrap();
    let mut other = doc.fork();
    let set = |v: &str| Edit::Set {
        field: "full_name".into(),
        value: v.into(),
    };
    doc.edit(&[set("Lê Văn Tâm")], &Author::new(&[1; 16], SECS + 60))
        .unwrap();
    other
        .edit(
            &[set("Lê Văn Tấm")],
            &Author::new(&[2; 16], SECS * 1000 + 90_000),
        )
        .unwrap();
    doc.merge_snapshot(&other.save()).unwrap();
    let history = doc.history();
    assert!(
        history.iter().all(|c| c.time_ms >= SECS * 1000),
        "{history:?}"
    );
    assert_eq!(history[0].time_ms, SECS * 1000);
    let conflict = &doc.conflicts()[0];
    let mut times: Vec<i64> = conflict.values.iter().map(|v| v.time_ms).collect();
    times.sort_unstable();
    assert_eq!(times, [SECS * 1000 + 60_000, SECS * 1000 + 90_000]);
    assert_eq!(
        sync_core::time::local_date_time(times[0]),
        "2026-03-10T06:01:00+07:00"
    );
}

fn request(resync: Option<Cbor>, oldest: Option<Cbor>) -> Vec<u8> {
    let mut status = vec![
        (Cbor::Text("outbox_len".into()), Cbor::Integer(0.into())),
        (
            Cbor::Text("app_version".into()),
            Cbor::Text("js-0.1".into()),
        ),
    ];
    if let Some(o) = oldest {
        status.push((Cbor::Text("oldest_pending_ms".into()), o));
    }
    let mut map = vec![
        (Cbor::Text("v".into()), Cbor::Integer(1.into())),
        (
            Cbor::Text("device_id".into()),
            Cbor::Bytes(uuid::Uuid::nil().as_bytes().to_vec()),
        ),
        (Cbor::Text("cursors".into()), Cbor::Map(vec![])),
        (Cbor::Text("push".into()), Cbor::Array(vec![])),
        (Cbor::Text("max_bytes".into()), Cbor::Integer(65_536.into())),
        (Cbor::Text("status".into()), Cbor::Map(status)),
    ];
    if let Some(r) = resync {
        map.push((Cbor::Text("resync".into()), r));
    }
    let mut out = Vec::new();
    ciborium::into_writer(&Cbor::Map(map), &mut out).unwrap();
    out
}

#[test]
fn optional_request_fields_sent_as_null_mean_the_same_as_absent() {
    let absent = protocol::decode_request(&request(None, None)).unwrap();
    let null = protocol::decode_request(&request(Some(Cbor::Null), Some(Cbor::Null))).unwrap();
    assert_eq!(absent, null);
    assert!(null.resync.is_empty());
    assert_eq!(null.status.oldest_pending_ms, None);
}

#[test]
fn the_device_status_counts_sent_as_null_mean_zero_as_absent_does() {
    let with = |v: Cbor| {
        let mut status = vec![
            (Cbor::Text("outbox_len".into()), Cbor::Integer(0.into())),
            (Cbor::Text("app_version".into()), Cbor::Text("js/1".into())),
        ];
        for k in ["rejected_held", "attachments_failed", "attachments_pending"] {
            status.push((Cbor::Text(k.into()), v.clone()));
        }
        let map = vec![
            (Cbor::Text("v".into()), Cbor::Integer(1.into())),
            (
                Cbor::Text("device_id".into()),
                Cbor::Bytes(uuid::Uuid::nil().as_bytes().to_vec()),
            ),
            (Cbor::Text("cursors".into()), Cbor::Map(vec![])),
            (Cbor::Text("push".into()), Cbor::Array(vec![])),
            (Cbor::Text("max_bytes".into()), Cbor::Integer(65_536.into())),
            (Cbor::Text("status".into()), Cbor::Map(status)),
        ];
        let mut out = Vec::new();
        ciborium::into_writer(&Cbor::Map(map), &mut out).unwrap();
        protocol::decode_request(&out).unwrap()
    };
    let null = with(Cbor::Null);
    assert_eq!(null.status.rejected_held, 0);
    assert_eq!(null.status.attachments_failed, 0);
    assert_eq!(null.status.attachments_pending, 0);
    assert_eq!(with(Cbor::Integer(3.into())).status.attachments_pending, 3);
}
