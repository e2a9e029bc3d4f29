//! Tests of the exported API from Rust: encryption at rest, records, search, sans-IO and
//! built-in sync against a scripted HTTP server, wipe.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use sync_core::protocol::{self, Encoding, SyncReply};
use sync_core::replica::Replica;

use crate::{
    ApiError, CancelToken, Edit, FerryStore, FieldValue, RecordKind, RecordQuery, SyncProgress,
    SyncProgressEvent,
};

pub(crate) const KEY: [u8; 32] = [0x5a; 32];
pub(crate) const UNIT: &str = "07132";
/// A distinctive name and an ID number that agrees with it (Quảng Ninh, female, 1990).
const NAME: &str = "Vũ Thị Quỳnh Hương";
const ID_NUMBER: &str = "022190012345";

pub(crate) fn text(s: &str) -> FieldValue {
    FieldValue::Text { value: s.into() }
}

pub(crate) fn citizen(
    name: &str,
    id_number: &str,
    dob: &str,
    sex: &str,
) -> HashMap<String, FieldValue> {
    HashMap::from([
        ("full_name".into(), text(name)),
        ("id_number".into(), text(id_number)),
        ("date_of_birth".into(), text(dob)),
        ("sex".into(), text(sex)),
        ("status".into(), text("active")),
    ])
}

pub(crate) fn open(dir: &Path) -> Arc<FerryStore> {
    FerryStore::open(dir.join("ferry.db").to_string_lossy().into(), KEY.to_vec()).unwrap()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

pub(crate) fn raw_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

#[test]
fn the_database_file_holds_no_plaintext_and_needs_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ferry.db");
    let store = open(dir.path());
    let saved = store
        .create(
            RecordKind::Citizen,
            UNIT.into(),
            citizen(NAME, ID_NUMBER, "1990-05-17", "female"),
        )
        .unwrap();
    let id = saved.record.id.clone();
    // While open (WAL not yet checkpointed) and after closing.
    for (file, bytes) in raw_files(dir.path()) {
        for needle in [
            NAME,
            ID_NUMBER,
            "vu thi quynh huong",
            "full_name",
            "SQLite format 3",
        ] {
            assert!(!contains(&bytes, needle.as_bytes()), "{needle} in {file}");
        }
    }
    drop(store);
    let files = raw_files(dir.path());
    assert!(
        files
            .iter()
            .any(|(f, b)| f.ends_with("ferry.db") && b.len() > 1000)
    );
    for (file, bytes) in &files {
        for needle in [
            NAME,
            ID_NUMBER,
            "vu thi quynh huong",
            "full_name",
            "SQLite format 3",
        ] {
            assert!(!contains(bytes, needle.as_bytes()), "{needle} in {file}");
        }
    }

    // Without a key, with a wrong key, with a short key.
    assert!(Replica::open(&path, None).is_err());
    let wrong = FerryStore::open(path.to_string_lossy().into(), vec![0x5b; 32]);
    assert_eq!(wrong.unwrap_err(), ApiError::WrongKey);
    let short = FerryStore::open(path.to_string_lossy().into(), vec![1, 2, 3]);
    assert!(matches!(short.unwrap_err(), ApiError::InvalidKey { .. }));

    // The right key still opens it, with the record intact; the key never shows in Debug.
    let store = open(dir.path());
    let debug = format!("{store:?}");
    assert!(
        !debug.contains("90, 90") && !debug.contains("5a5a"),
        "{debug}"
    );
    let got = store.get(id).unwrap().unwrap();
    assert_eq!(got.record.fields["full_name"], text(NAME));
}

#[test]
fn a_pin_derived_key_opens_the_store_and_another_pin_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let path: String = dir.path().join("pin.db").to_string_lossy().into();
    let salt = crate::new_salt();
    let key = crate::derive_key_from_pin("246810".into(), salt.clone()).unwrap();
    drop(FerryStore::open(path.clone(), key).unwrap());
    let again = crate::derive_key_from_pin("246810".into(), salt.clone()).unwrap();
    assert!(FerryStore::open(path.clone(), again).is_ok());
    let other = crate::derive_key_from_pin("246811".into(), salt).unwrap();
    assert_eq!(
        FerryStore::open(path, other).unwrap_err(),
        ApiError::WrongKey
    );
}

#[test]
fn create_update_get_find_conflicts_history() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let a = store
        .create(
            RecordKind::Citizen,
            UNIT.into(),
            citizen("Nguyễn Văn An", "022090001234", "1990-01-02", "male"),
        )
        .unwrap();
    assert!(a.changed);
    assert!(a.findings.is_empty(), "{:?}", a.findings);
    store
        .create(
            RecordKind::Citizen,
            UNIT.into(),
            citizen("Trần Thị Bình", "022185004321", "1985-03-04", "female"),
        )
        .unwrap();

    // Search with and without diacritics, by ID number prefix, by unit/status/kind.
    let found = store.search("nguyen".into(), None, None, None).unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.records[0].id, a.record.id);
    let search = |t: &str| store.search(t.into(), None, None, None).unwrap().records;
    assert_eq!(search("NGUYỄN văn").len(), 1);
    assert_eq!(search("022185").len(), 1);
    // An ID number typed in groups is still an ID number, not a name.
    assert_eq!(search("022 185 004 321").len(), 1);
    assert_eq!(search("022.185.004.321").len(), 1);
    let q = RecordQuery {
        unit: Some(UNIT.into()),
        status: Some("active".into()),
        kind: Some(RecordKind::Citizen),
        ..RecordQuery::default()
    };
    assert_eq!(store.find(q).unwrap().len(), 2);
    assert_eq!(store.find(RecordQuery::default()).unwrap().len(), 2);
    assert_eq!(store.count().unwrap(), 2);

    // An update that yields a finding (ID digit says male, record says female).
    let upd = store
        .update(
            a.record.id.clone(),
            vec![Edit::Set {
                field: "sex".into(),
                value: text("female"),
            }],
        )
        .unwrap();
    assert!(upd.changed);
    assert!(
        upd.findings
            .iter()
            .any(|f| f.code == "id_number_sex_mismatch"),
        "{:?}",
        upd.findings
    );
    let details = store.get(a.record.id.clone()).unwrap().unwrap();
    assert_eq!(details.pending_changes, 2);
    assert_eq!(details.findings, upd.findings);
    assert!(details.conflicts.is_empty());
    let history = store.history(a.record.id.clone()).unwrap();
    assert!(
        history.iter().any(|h| h.field == "sex"
            && h.from == Some(text("male"))
            && h.to == Some(text("female")))
    );
    assert!(store.conflicts(a.record.id.clone()).unwrap().is_empty());

    // Typed validation errors; nothing saved.
    let err = store
        .update(
            a.record.id.clone(),
            vec![
                Edit::Set {
                    field: "date_of_birth".into(),
                    value: text("17/05/1990"),
                },
                Edit::Set {
                    field: "shoe_size".into(),
                    value: FieldValue::Int { value: 42 },
                },
            ],
        )
        .unwrap_err();
    let ApiError::Validation { issues } = err else {
        panic!("{err:?}")
    };
    let mut pairs: Vec<_> = issues
        .iter()
        .map(|i| (i.field.as_str(), i.code.as_str()))
        .collect();
    pairs.sort();
    assert_eq!(
        pairs,
        [
            ("date_of_birth", "malformed_date"),
            ("shoe_size", "unknown_field")
        ]
    );
    assert_eq!(
        store
            .get(a.record.id.clone())
            .unwrap()
            .unwrap()
            .pending_changes,
        2
    );

    // Unknown ids and malformed ids.
    assert_eq!(
        store
            .update(uuid::Uuid::now_v7().to_string(), vec![])
            .unwrap_err(),
        ApiError::NotFound
    );
    assert!(matches!(
        store.get("not-a-uuid".into()).unwrap_err(),
        ApiError::InvalidArgument { .. }
    ));
    let status = store.outbox_status().unwrap();
    assert_eq!(status.pending_changes, 3);
    assert_eq!(status.pending_records, 2, "two records, one edited twice");
    assert!(status.oldest_age_ms.unwrap() >= 0);
}

#[test]
fn every_kind_can_be_created_including_household_members() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let head = store
        .create(
            RecordKind::Citizen,
            UNIT.into(),
            citizen("Lê Văn Cường", "022070001111", "1970-06-01", "male"),
        )
        .unwrap()
        .record
        .id;
    let members = FieldValue::Entries {
        entries: HashMap::from([(
            head.clone(),
            FieldValue::Entries {
                entries: HashMap::from([("relationship".into(), text("head"))]),
            },
        )]),
    };
    let household = store
        .create(
            RecordKind::Household,
            UNIT.into(),
            HashMap::from([
                ("address".into(), text("Số 5, tổ 3, khu 1")),
                ("head_id".into(), text(&head)),
                ("members".into(), members.clone()),
                ("status".into(), text("active")),
            ]),
        )
        .unwrap();
    assert_eq!(household.record.fields["members"], members);
    let child = uuid::Uuid::now_v7().to_string();
    let upd = store
        .update(
            household.record.id.clone(),
            vec![Edit::PutEntry {
                field: "members".into(),
                key: child.clone(),
                value: FieldValue::Entries {
                    entries: HashMap::from([("relationship".into(), text("child"))]),
                },
            }],
        )
        .unwrap();
    let FieldValue::Entries { entries } = &upd.record.fields["members"] else {
        panic!()
    };
    assert!(entries.contains_key(&child));
    store
        .create(
            RecordKind::CccdApplication,
            UNIT.into(),
            HashMap::from([
                ("citizen_id".into(), text(&head)),
                ("request_type".into(), text("replacement")),
                ("fee_paid".into(), FieldValue::Bool { value: true }),
                ("status".into(), text("draft")),
            ]),
        )
        .unwrap();
    store
        .create(
            RecordKind::ResidenceDeclaration,
            UNIT.into(),
            HashMap::from([
                ("citizen_id".into(), text(&head)),
                ("procedure".into(), text("temporary_registration")),
                ("from_date".into(), text("2025-08-01")),
                ("to_date".into(), text("2028-08-01")),
                ("persons".into(), FieldValue::Int { value: 2 }),
                ("status".into(), text("draft")),
            ]),
        )
        .map(|s| {
            assert!(
                s.findings
                    .iter()
                    .any(|f| f.code == "temporary_stay_too_long")
            )
        })
        .unwrap();
    assert_eq!(store.count().unwrap(), 4);
    assert_eq!(crate::field_specs(RecordKind::Citizen).len(), 44);
}

#[test]
fn sans_io_prepare_and_apply() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let saved = store
        .create(
            RecordKind::Citizen,
            UNIT.into(),
            citizen(NAME, ID_NUMBER, "1990-05-17", "female"),
        )
        .unwrap();
    let request = protocol::decode_request(&store.prepare_sync().unwrap()).unwrap();
    assert_eq!(request.device_id.to_string(), store.device_id().unwrap());
    assert_eq!(request.push.len(), 1);
    assert_eq!(request.push[0].record.to_string(), saved.record.id);
    let hashes: Vec<_> = request.push[0]
        .changes
        .iter()
        .map(|c| {
            let change = sync_core::doc::decode_change(c).unwrap();
            sync_core::protocol::Hash::from(change.hash().0.to_vec())
        })
        .collect();
    let mut reply = SyncReply::empty(0);
    reply.accepted = hashes;
    reply.cursors.insert(UNIT.into(), 7);
    let report = store
        .apply_sync_reply(protocol::encode_reply(&reply))
        .unwrap();
    assert_eq!(report.acknowledged, 1);
    assert_eq!(report.pending_changes, 0);
    assert!(!report.more);
    assert_eq!(store.outbox_status().unwrap().pending_changes, 0);
    let next = protocol::decode_request(&store.prepare_sync().unwrap()).unwrap();
    assert!(next.push.is_empty());
    assert_eq!(next.cursors.get(UNIT), Some(&7));
    assert!(matches!(
        store.apply_sync_reply(vec![0xff, 0x00]).unwrap_err(),
        ApiError::Protocol { .. }
    ));
    assert_eq!(store.bearer_token().unwrap_err(), ApiError::NotLoggedIn);
}

#[test]
fn a_wipe_destroys_local_data_and_blocks_further_calls() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let id = store
        .create(
            RecordKind::Citizen,
            UNIT.into(),
            citizen(NAME, ID_NUMBER, "1990-05-17", "female"),
        )
        .unwrap()
        .record
        .id;
    let device = store.device_id().unwrap();
    let mut reply = SyncReply::empty(0);
    reply.wipe = true;
    let report = store
        .apply_sync_reply(protocol::encode_reply(&reply))
        .unwrap();
    assert!(report.wiped);
    assert!(store.is_wiped());
    assert_eq!(store.get(id).unwrap_err(), ApiError::Wiped);
    assert_eq!(store.count().unwrap_err(), ApiError::Wiped);
    assert_eq!(store.prepare_sync().unwrap_err(), ApiError::Wiped);
    assert_eq!(
        store
            .create(RecordKind::Citizen, UNIT.into(), HashMap::new())
            .unwrap_err(),
        ApiError::Wiped
    );
    drop(store);
    // Reopening: still wiped, and the files hold nothing of the record.
    let store = open(dir.path());
    assert!(store.is_wiped());
    assert_eq!(store.count().unwrap_err(), ApiError::Wiped);
    drop(store);
    let replica = Replica::open(&dir.path().join("ferry.db"), Some(&KEY)).unwrap();
    assert_eq!(replica.count().unwrap(), 0);
    assert!(replica.is_wiped().unwrap());
    // Same identity: the server keeps refusing this device.
    assert_eq!(replica.device_id().to_string(), device);
    for (file, bytes) in raw_files(dir.path()) {
        assert!(!contains(&bytes, NAME.as_bytes()), "{file}");
    }
}

// ---- Built-in sync against a scripted HTTP server ----

/// One received request: path, headers (lowercase names), body.
type Logged = (String, HashMap<String, String>, Vec<u8>);

/// Answers each request with the next scripted reply; records what it received.
pub(crate) struct FakeServer {
    pub(crate) url: String,
    requests: Arc<Mutex<Vec<Logged>>>,
}

pub(crate) type Responder =
    Box<dyn FnMut(&str, &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) + Send>;

pub(crate) fn fake_server(mut respond: Responder) -> FakeServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
                let mut headers = HashMap::new();
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap();
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                    }
                }
                let len: usize = headers
                    .get("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; len];
                reader.read_exact(&mut body).unwrap();
                let (status, extra, reply) = respond(&path, &body);
                log.lock().unwrap().push((path, headers, body));
                let mut head =
                    format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", reply.len());
                for (k, v) in extra {
                    head += &format!("{k}: {v}\r\n");
                }
                head += "\r\n";
                writer.write_all(head.as_bytes()).unwrap();
                writer.write_all(&reply).unwrap();
            }
        }
    });
    FakeServer { url, requests }
}

#[derive(Default)]
struct Recorder(Mutex<Vec<SyncProgressEvent>>);

impl SyncProgress for Recorder {
    fn on_round_trip(&self, event: SyncProgressEvent) {
        self.0.lock().unwrap().push(event);
    }
}

pub(crate) fn login_json() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "token": "tok-123",
        "expires_at": 1_900_000_000_000i64,
        "user": "officer1",
        "role": "officer",
        "units": [UNIT],
    }))
    .unwrap()
}

#[test]
fn built_in_sync_loops_while_more_reports_progress_and_can_be_cancelled() {
    let mut round = 0;
    let server = fake_server(Box::new(move |path, body| {
        if path == "/v1/login" {
            return (200, vec![], login_json());
        }
        round += 1;
        let raw = protocol::decompress(body, Encoding::Zstd, 1 << 24).unwrap();
        let request = protocol::decode_request(&raw).unwrap();
        let mut reply = SyncReply::empty(0);
        for push in &request.push {
            for c in &push.changes {
                let hash = sync_core::doc::decode_change(c).unwrap().hash();
                reply
                    .accepted
                    .push(sync_core::protocol::Hash::from(hash.0.to_vec()));
            }
        }
        reply.cursors.insert(UNIT.into(), round);
        reply.more = round < 3;
        let bytes = protocol::compress(&protocol::encode_reply(&reply), Encoding::Zstd);
        (200, vec![("content-encoding".into(), "zstd".into())], bytes)
    }));
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let recorder = Arc::new(Recorder::default());
    assert_eq!(
        store
            .sync(recorder.clone(), CancelToken::new())
            .unwrap_err(),
        ApiError::NotLoggedIn
    );
    let session = store
        .login(server.url.clone(), "officer1".into(), "pw".into(), None)
        .unwrap();
    assert_eq!(session.units, [UNIT]);
    assert_eq!(session.role, crate::UserRole::Officer);
    assert_eq!(session.expires_at_ms, 1_900_000_000_000);
    assert_eq!(store.session().unwrap().unwrap().username, "officer1");
    // A server before display names: the account name stands in.
    assert_eq!(session.display_name, "officer1");
    store
        .create(
            RecordKind::Citizen,
            UNIT.into(),
            citizen(NAME, ID_NUMBER, "1990-05-17", "female"),
        )
        .unwrap();
    let report = store.sync(recorder.clone(), CancelToken::new()).unwrap();
    assert_eq!(report.round_trips, 3);
    assert_eq!(report.acknowledged, 1);
    assert_eq!(report.pending_changes, 0);
    assert!(!report.more && !report.cancelled && !report.wiped);
    let events = recorder.0.lock().unwrap().clone();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0].pushed, 1);
    assert!(events[0].more && events[1].more && !events[2].more);
    assert!(
        events
            .iter()
            .all(|e| e.bytes_sent > 0 && e.bytes_received > 0)
    );

    {
        let requests = server.requests.lock().unwrap();
        let (_, login_headers, login_body) = &requests[0];
        assert_eq!(login_headers["content-type"], "application/json");
        let login: serde_json::Value = serde_json::from_slice(login_body).unwrap();
        assert_eq!(login["device_id"], store.device_id().unwrap());
        assert_eq!(login["actor_id"].as_str().unwrap().len(), 32);
        let (path, headers, _) = &requests[1];
        assert_eq!(path, "/v1/sync");
        assert_eq!(headers["authorization"], "Bearer tok-123");
        assert_eq!(headers["content-encoding"], "zstd");
    }

    // Cancelled before the first round trip: nothing is sent.
    let cancel = CancelToken::new();
    cancel.cancel();
    let sent_before = server.requests.lock().unwrap().len();
    let report = store.sync(recorder, cancel).unwrap();
    assert!(report.cancelled);
    assert_eq!(report.round_trips, 0);
    assert_eq!(server.requests.lock().unwrap().len(), sent_before);
}

/// A pull entry carrying phone B's whole document of `id`, and the directory entry of B.
fn reply_from_phone_b(b: &Replica, id: uuid::Uuid) -> Vec<u8> {
    let mut reply = SyncReply::empty(0);
    reply.pull.push(protocol::PullEntry {
        record: id,
        kind: "citizen".into(),
        unit: UNIT.into(),
        changes: vec![],
        snapshot: Some(protocol::Hash::from(
            b.document(id).unwrap().unwrap().save(),
        )),
        lineage: 0,
        replace: false,
        redacted: Vec::new(),
    });
    reply.actors.push(protocol::ActorInfo {
        actor: protocol::Hash::from(b.actor_id().to_vec()),
        user: "minh".into(),
        display_name: Some("Trần Văn Minh".into()),
        device_name: "Phone B".into(),
    });
    protocol::compress(&protocol::encode_reply(&reply), Encoding::Zstd)
}

#[test]
fn a_conflict_names_both_officers_by_display_name_and_marks_the_phones_own_with_its_device_name() {
    // Phone B registers a citizen; phone A receives it, then both correct the date of birth
    // offline, differently.
    let other = tempfile::tempdir().unwrap();
    let b = Replica::open(&other.path().join("b.db"), None).unwrap();
    let id = b
        .create(
            sync_core::model::Kind::Citizen,
            UNIT,
            sync_core::model::Fields::from([
                ("full_name".into(), "Lê Văn Tám".into()),
                ("date_of_birth".into(), "1985-01-01".into()),
                ("status".into(), "active".into()),
            ]),
            0,
        )
        .unwrap()
        .record
        .id;
    let first = reply_from_phone_b(&b, id);
    let dob = |value: &str| sync_core::doc::Edit::Set {
        field: "date_of_birth".into(),
        value: value.into(),
    };
    b.update(id, &[dob("1985-02-03")], 1).unwrap();
    let second = reply_from_phone_b(&b, id);
    let mut replies = vec![second, first];
    let server = fake_server(Box::new(move |path, _| {
        if path == "/v1/login" {
            let login = serde_json::json!({
                "token": "tok-123", "expires_at": 1_900_000_000_000i64, "user": "lan",
                "display_name": "Nguyễn Thị Lan", "device_name": "Phone A",
                "role": "officer", "units": [UNIT],
            });
            return (200, vec![], serde_json::to_vec(&login).unwrap());
        }
        let reply = replies.pop().expect("two syncs");
        (200, vec![("content-encoding".into(), "zstd".into())], reply)
    }));
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path());
    let session = a
        .login(
            server.url.clone(),
            "lan".into(),
            "pw".into(),
            Some("Phone A".into()),
        )
        .unwrap();
    assert_eq!(
        (session.username.as_str(), session.display_name.as_str()),
        ("lan", "Nguyễn Thị Lan")
    );
    a.sync(Arc::new(Recorder::default()), CancelToken::new())
        .unwrap();
    a.update(
        id.to_string(),
        vec![Edit::Set {
            field: "date_of_birth".into(),
            value: text("1985-03-12"),
        }],
    )
    .unwrap();
    a.sync(Arc::new(Recorder::default()), CancelToken::new())
        .unwrap();

    let conflicts = a.conflicts(id.to_string()).unwrap();
    let [conflict] = conflicts.as_slice() else {
        panic!("one conflicting field: {conflicts:?}")
    };
    let mut said: Vec<String> = conflict
        .values
        .iter()
        .map(|v| {
            let who = v.author.as_ref().expect("every writer is named");
            let FieldValue::Text { value } = &v.value else {
                panic!("{v:?}")
            };
            format!(
                "{} ({}{}) wrote {value}",
                who.display_name,
                who.device_name,
                if v.own { ", this phone" } else { "" }
            )
        })
        .collect();
    said.sort();
    assert_eq!(
        said,
        [
            "Nguyễn Thị Lan (Phone A, this phone) wrote 1985-03-12",
            "Trần Văn Minh (Phone B) wrote 1985-02-03",
        ]
    );
    let history = a.history(id.to_string()).unwrap();
    let mine = history.iter().find(|h| h.own).unwrap().author.clone();
    let theirs = history.iter().find(|h| !h.own).unwrap().author.clone();
    assert_eq!(mine.map(|m| m.user), Some("lan".to_string()));
    assert_eq!(theirs.map(|t| t.user), Some("minh".to_string()));
}

#[test]
fn http_failures_map_to_typed_errors() {
    let server = fake_server(Box::new(|path, _| match path {
        "/v1/login" => (401, vec![], br#"{"error":"invalid_credentials"}"#.to_vec()),
        _ => (500, vec![], vec![]),
    }));
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(
        store
            .login(server.url.clone(), "officer1".into(), "bad".into(), None)
            .unwrap_err(),
        ApiError::AuthFailed
    );
    let locked = fake_server(Box::new(|_, _| {
        (429, vec![], br#"{"error":"account_locked"}"#.to_vec())
    }));
    assert_eq!(
        store
            .login(locked.url.clone(), "officer1".into(), "bad".into(), None)
            .unwrap_err(),
        ApiError::AccountLocked
    );
    let revoked = fake_server(Box::new(|_, _| {
        (
            403,
            vec![],
            br#"{"error":"device_revoked","message":"x"}"#.to_vec(),
        )
    }));
    assert_eq!(
        store
            .login(revoked.url.clone(), "officer1".into(), "pw".into(), None)
            .unwrap_err(),
        ApiError::LoginRefused {
            code: "device_revoked".into()
        }
    );
    // Nothing listens on this port any more.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert!(matches!(
        store
            .login(
                format!("http://127.0.0.1:{port}"),
                "a".into(),
                "b".into(),
                None
            )
            .unwrap_err(),
        ApiError::Network { .. }
    ));
    assert!(matches!(
        store
            .login("ftp://x".into(), "a".into(), "b".into(), None)
            .unwrap_err(),
        ApiError::InvalidArgument { .. }
    ));
}
