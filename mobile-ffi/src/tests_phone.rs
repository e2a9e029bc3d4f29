//! Tests of the phone-API additions: persisted settings, the signed-out store, typed open
//! errors, reset, paging, progress totals, the actor directory and redacted printing.

use std::sync::Arc;

use sync_core::model::Role;
use sync_core::protocol::Hash as ByteBuf;
use sync_core::protocol::{self, ActorInfo, PullEntry, Remaining, SyncReply};
use sync_core::replica::{Replica, Session};

use crate::tests::{KEY, UNIT, citizen, open, text};
use crate::{ApiError, Edit, FerryStore, RecordKind, SignedOutAccess, SyncSettings, UserRole};

fn path_of(dir: &tempfile::TempDir) -> String {
    dir.path().join("ferry.db").to_string_lossy().into()
}

#[test]
fn sync_settings_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let settings = SyncSettings {
        max_push_bytes: 4096,
        max_reply_bytes: 32 * 1024,
        app_version: "ferry-android/2.3.1".into(),
    };
    store.set_sync_settings(settings.clone()).unwrap();
    drop(store);
    let again = open(dir.path());
    assert_eq!(again.sync_settings(), settings);
    let request = protocol::decode_request(&again.prepare_sync().unwrap()).unwrap();
    assert_eq!(request.max_bytes, 32 * 1024);
    assert_eq!(request.status.app_version, "ferry-android/2.3.1");
}

/// A store whose session is an officer's of [`UNIT`] (set directly: no server).
fn officer_store(dir: &tempfile::TempDir) -> Arc<FerryStore> {
    let store = open(dir.path());
    store
        .read(|r| {
            r.set_session(&Session {
                user: "lan".into(),
                role: Role::Officer,
                units: vec![UNIT.into()],
            })?;
            Ok(())
        })
        .unwrap();
    store
}

/// A store whose last session was an officer's, now signed out (no server needed: the
/// logout of a session that never reached a server files the token for later).
fn signed_out_officer_store(dir: &tempfile::TempDir) -> Arc<FerryStore> {
    let store = officer_store(dir);
    // Nothing listens on port 9: the token is filed for the next contact.
    crate::account::fake_session(&store, "http://127.0.0.1:9", "token");
    assert!(
        !store.logout().unwrap(),
        "offline: the server could not end the token"
    );
    store
}

#[test]
fn a_signed_out_store_refuses_an_officers_accept_at_once_and_hides_records() {
    let dir = tempfile::tempdir().unwrap();
    let store = signed_out_officer_store(&dir);
    assert!(store.is_signed_out().unwrap());
    let person = store
        .create(
            RecordKind::Citizen,
            UNIT.into(),
            citizen("Lê Thị Lan", "022190012345", "1990-05-17", "female"),
        )
        .unwrap();
    let app = store
        .create(
            RecordKind::CccdApplication,
            UNIT.into(),
            [
                ("citizen_id".to_string(), text(&person.record.id)),
                ("id_number".to_string(), text("022190012345")),
                ("request_type".to_string(), text("replacement")),
                ("status".to_string(), text("submitted")),
            ]
            .into(),
        )
        .unwrap();
    let err = store
        .update(
            app.record.id.clone(),
            vec![Edit::Set {
                field: "status".into(),
                value: text("accepted"),
            }],
        )
        .unwrap_err();
    assert_eq!(
        err,
        ApiError::StatusNotAllowed {
            role: UserRole::Officer,
            kind: RecordKind::CccdApplication,
            from: "submitted".into(),
            to: "accepted".into(),
        }
    );
    // Personal data is locked by default; counts are not.
    assert_eq!(
        store.get(person.record.id.clone()).unwrap_err(),
        ApiError::SignedOut
    );
    assert_eq!(
        store.search("lan".into(), None, None, None).unwrap_err(),
        ApiError::SignedOut
    );
    assert_eq!(store.count().unwrap(), 2);
    // The app may choose to keep records readable…
    store
        .set_signed_out_access(SignedOutAccess::Readable)
        .unwrap();
    assert!(store.get(person.record.id.clone()).unwrap().is_some());
    store
        .set_signed_out_access(SignedOutAccess::RequireSignIn)
        .unwrap();
    // …or the officer enters the PIN (here the key is not PIN-derived, so no PIN matches).
    assert!(!store.unlock_with_pin("1234".into(), vec![7; 16]).unwrap());
    assert_eq!(
        store.get(person.record.id).unwrap_err(),
        ApiError::SignedOut
    );
}

#[test]
fn the_pin_unlocks_a_signed_out_store() {
    let dir = tempfile::tempdir().unwrap();
    let salt = crate::new_salt();
    let store = FerryStore::open_with_pin(path_of(&dir), "482913".into(), salt.clone()).unwrap();
    let id = store
        .create(
            RecordKind::Citizen,
            UNIT.into(),
            citizen("Lê Thị Lan", "022190012345", "1990-05-17", "female"),
        )
        .unwrap()
        .record
        .id;
    store.logout().unwrap();
    assert!(
        store.get(id.clone()).unwrap().is_some(),
        "opened with the PIN"
    );
    drop(store);
    let key = crate::derive_key_from_pin("482913".into(), salt.clone()).unwrap();
    let store = FerryStore::open(path_of(&dir), key).unwrap();
    assert_eq!(store.get(id.clone()).unwrap_err(), ApiError::SignedOut);
    assert!(store.unlock_with_pin("482913".into(), salt).unwrap());
    assert!(store.get(id).unwrap().is_some());
}

#[test]
fn a_foreign_or_damaged_file_is_not_a_wrong_key() {
    let dir = tempfile::tempdir().unwrap();
    // An unencrypted SQLite database (another app's, or a plain copy).
    let plain = dir.path().join("plain.db");
    drop(Replica::open(&plain, None).unwrap());
    let err = FerryStore::open(plain.to_string_lossy().into(), KEY.to_vec()).unwrap_err();
    assert!(matches!(err, ApiError::CorruptStore { .. }), "{err:?}");
    // A truncated store.
    let store = open(dir.path());
    drop(store);
    let path = dir.path().join("ferry.db");
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.path().join("cut.db");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    let err = FerryStore::open(cut.to_string_lossy().into(), KEY.to_vec()).unwrap_err();
    assert!(matches!(err, ApiError::CorruptStore { .. }), "{err:?}");
    // A zero-filled file.
    let blank = dir.path().join("blank.db");
    std::fs::write(&blank, vec![0u8; 8192]).unwrap();
    let err = FerryStore::open(blank.to_string_lossy().into(), KEY.to_vec()).unwrap_err();
    assert!(matches!(err, ApiError::CorruptStore { .. }), "{err:?}");
    // The real store with another key is a wrong key.
    let err = FerryStore::open(path.to_string_lossy().into(), vec![1; 32]).unwrap_err();
    assert_eq!(err, ApiError::WrongKey);
}

#[test]
fn a_wrong_key_leaves_a_crashed_stores_files_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for i in 0..20 {
        store
            .create(
                RecordKind::Citizen,
                UNIT.into(),
                citizen(
                    &format!("Người {i}"),
                    "022190012345",
                    "1990-05-17",
                    "female",
                ),
            )
            .unwrap();
    }
    // Copy the files while the store is open, as a killed app leaves them (WAL not
    // checkpointed).
    let crashed = tempfile::tempdir().unwrap();
    for suffix in ["", "-wal"] {
        std::fs::copy(
            dir.path().join(format!("ferry.db{suffix}")),
            crashed.path().join(format!("ferry.db{suffix}")),
        )
        .unwrap();
    }
    let before: Vec<Vec<u8>> = ["", "-wal"]
        .iter()
        .map(|s| std::fs::read(crashed.path().join(format!("ferry.db{s}"))).unwrap())
        .collect();
    assert!(!before[1].is_empty(), "the WAL holds the edits");
    let err = FerryStore::open(path_of(&crashed), vec![9; 32]).unwrap_err();
    assert_eq!(err, ApiError::WrongKey);
    let after: Vec<Vec<u8>> = ["", "-wal"]
        .iter()
        .map(|s| std::fs::read(crashed.path().join(format!("ferry.db{s}"))).unwrap_or_default())
        .collect();
    assert!(
        before == after,
        "a wrong key changed the database or its WAL"
    );
    let reopened = open(crashed.path());
    assert_eq!(reopened.count().unwrap(), 20);
}

#[test]
fn reset_device_starts_over_with_a_new_identity_and_keeps_the_settings() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let settings = SyncSettings {
        app_version: "app/1".into(),
        ..store.sync_settings()
    };
    store.set_sync_settings(settings.clone()).unwrap();
    store
        .create(
            RecordKind::Citizen,
            UNIT.into(),
            citizen("Lê Thị Lan", "022190012345", "1990-05-17", "female"),
        )
        .unwrap();
    let mut wipe = SyncReply::empty(0);
    wipe.wipe = true;
    assert!(
        store
            .apply_sync_reply(protocol::encode_reply(&wipe))
            .unwrap()
            .wiped
    );
    let old = store.device_id().unwrap_or_default();
    assert!(store.is_wiped());
    let new = store.reset_device().unwrap();
    assert!(!store.is_wiped());
    assert_ne!(new, old);
    assert_eq!(store.device_id().unwrap(), new);
    assert_eq!(store.count().unwrap(), 0);
    assert_eq!(store.sync_settings(), settings);
    drop(store);
    assert_eq!(
        open(dir.path()).device_id().unwrap(),
        new,
        "the new identity is kept"
    );
}

#[test]
fn search_pages_through_every_match_with_a_total_and_filters_by_kind() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for i in 0..25 {
        let p = store
            .create(
                RecordKind::Citizen,
                UNIT.into(),
                citizen(
                    &format!("Nguyễn Văn {i}"),
                    "022090001234",
                    "1990-01-02",
                    "male",
                ),
            )
            .unwrap();
        if i % 5 == 0 {
            store
                .create(
                    RecordKind::CccdApplication,
                    UNIT.into(),
                    [
                        ("citizen_id".to_string(), text(&p.record.id)),
                        ("full_name".to_string(), text(&format!("Nguyễn Văn {i}"))),
                        ("status".to_string(), text("draft")),
                    ]
                    .into(),
                )
                .unwrap();
        }
    }
    let all = store.search("nguyen van".into(), None, None, None).unwrap();
    assert_eq!(all.total, 30, "citizens and applications");
    let mut seen = Vec::new();
    let mut offset = Some(0);
    while let Some(o) = offset {
        let page = store
            .search(
                "nguyen van".into(),
                Some(RecordKind::Citizen),
                Some(o),
                Some(10),
            )
            .unwrap();
        assert_eq!(page.total, 25);
        assert!(page.records.iter().all(|r| r.kind == RecordKind::Citizen));
        seen.extend(page.records.into_iter().map(|r| r.id));
        offset = page.next_offset;
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 25, "three pages, every citizen once");
}

#[test]
fn a_reply_refreshes_units_progress_totals_and_names_the_writers() {
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path());
    a.read(|r| {
        r.set_session(&Session {
            user: "lan".into(),
            role: Role::Officer,
            units: vec![UNIT.into(), "07135".into()],
        })?;
        Ok(())
    })
    .unwrap();
    crate::account::fake_session(&a, "http://127.0.0.1:9", "token");
    // Another phone's record, with a conflicting value written by phone A.
    let other = tempfile::tempdir().unwrap();
    let b = Replica::open(&other.path().join("b.db"), None).unwrap();
    let rec = b
        .create(
            sync_core::model::Kind::Citizen,
            UNIT,
            [
                (
                    "full_name".to_string(),
                    sync_core::model::Value::from("Trần Văn Minh"),
                ),
                (
                    "status".to_string(),
                    sync_core::model::Value::from("active"),
                ),
            ]
            .into(),
            0,
        )
        .unwrap();
    let mut reply = SyncReply::empty(0);
    reply.pull.push(PullEntry {
        record: rec.record.id,
        kind: "citizen".into(),
        unit: UNIT.into(),
        changes: vec![],
        snapshot: Some(ByteBuf::from(
            b.document(rec.record.id).unwrap().unwrap().save(),
        )),
        lineage: 0,
        replace: false,
        redacted: Vec::new(),
    });
    reply.more = true;
    reply.units = Some(vec![UNIT.into()]);
    reply.remaining = Some(Remaining {
        records: 40,
        bytes: 90_000,
    });
    reply.actors = vec![ActorInfo {
        actor: ByteBuf::from(b.actor_id().to_vec()),
        user: "minh".into(),
        display_name: Some("Trần Văn Minh".into()),
        device_name: "Phone B".into(),
    }];
    let report = a.apply_sync_reply(protocol::encode_reply(&reply)).unwrap();
    assert!(report.more);
    assert_eq!(report.pulled, 1);
    assert_eq!(report.remaining_records, Some(40));
    assert_eq!(report.remaining_bytes, Some(90_000));
    assert_eq!(a.session().unwrap().unwrap().units, vec![UNIT.to_string()]);
    a.update(
        rec.record.id.to_string(),
        vec![Edit::Set {
            field: "full_name".into(),
            value: text("Trần Văn Minh Anh"),
        }],
    )
    .unwrap();
    let history = a.history(rec.record.id.to_string()).unwrap();
    let minh = history.iter().find(|h| !h.own).unwrap();
    assert_eq!(minh.author.as_ref().unwrap().user, "minh");
    assert_eq!(minh.author.as_ref().unwrap().display_name, "Trần Văn Minh");
    assert_eq!(minh.author.as_ref().unwrap().device_name, "Phone B");
    let mine = history.iter().find(|h| h.own).unwrap();
    assert_eq!(mine.author.as_ref().unwrap().user, "lan");
    // No login told this store a display name or a device name: the account name shows.
    assert_eq!(mine.author.as_ref().unwrap().display_name, "lan");
    assert_eq!(mine.author.as_ref().unwrap().device_name, "");
    // A purge of the unit takes the names with the records.
    let mut purge = SyncReply::empty(0);
    purge.purge.push(protocol::Purge::Unit(UNIT.into()));
    a.apply_sync_reply(protocol::encode_reply(&purge)).unwrap();
    let names = a
        .read(|r| Ok(r.actor_names(&[b.actor_id().to_vec()])?))
        .unwrap();
    assert!(
        names.is_empty(),
        "the directory forgets actors of purged records"
    );
}

#[test]
fn printed_records_and_conflicts_show_no_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let saved = store
        .create(
            RecordKind::Citizen,
            UNIT.into(),
            citizen("Vũ Thị Quỳnh Hương", "022190012345", "1990-05-17", "female"),
        )
        .unwrap();
    let page = store.search("huong".into(), None, None, None).unwrap();
    let history = store.history(saved.record.id.clone()).unwrap();
    let printed = format!(
        "{saved:?} {saved} {page:?} {history:?} {}",
        history.iter().map(ToString::to_string).collect::<String>()
    );
    for secret in ["Hương", "Huong", "022190012345", "1990-05-17"] {
        assert!(!printed.contains(secret), "{secret} in {printed}");
    }
    assert!(printed.contains("full_name") && printed.contains(&saved.record.id));
}

/// The server's per-field limit, checked when the officer saves: told at once, nothing
/// queued for a sync that would be refused.
#[test]
fn an_over_long_text_is_refused_when_saved_with_the_fields_limit() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let notes = crate::field_specs(RecordKind::Citizen)
        .into_iter()
        .find(|f| f.name == "notes")
        .unwrap();
    assert_eq!(notes.max_chars, 4000);
    let name = crate::field_specs(RecordKind::Citizen)
        .into_iter()
        .find(|f| f.name == "full_name")
        .unwrap();
    assert_eq!(name.max_chars, 200);
    let saved = store
        .create(
            RecordKind::Citizen,
            UNIT.into(),
            citizen("Lý Thị Dài", "022190012345", "1990-05-17", "female"),
        )
        .unwrap();
    let before = store.outbox_status().unwrap();
    let long = "ư".repeat(notes.max_chars as usize + 1);
    let err = store
        .update(
            saved.record.id.clone(),
            vec![Edit::Set {
                field: "notes".into(),
                value: text(&long),
            }],
        )
        .unwrap_err();
    let ApiError::Validation { issues } = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        issues
            .iter()
            .map(|i| (i.field.as_str(), i.code.as_str()))
            .collect::<Vec<_>>(),
        [("notes", "too_long")]
    );
    assert!(issues[0].message.contains("4000"), "{}", issues[0].message);
    let after = store.outbox_status().unwrap();
    assert_eq!(
        (after.pending_records, after.pending_changes),
        (before.pending_records, before.pending_changes),
        "nothing was saved"
    );
    let mut fields = citizen("Lý Thị Dài", "022190012345", "1990-05-17", "female");
    fields.insert("full_name".into(), text(&"A".repeat(201)));
    let err = store
        .create(RecordKind::Citizen, UNIT.into(), fields)
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::Validation { issues } if issues[0].code == "too_long"),
        "{err:?}"
    );
}

#[test]
fn an_officer_may_save_a_new_application_as_withdrawn() {
    let dir = tempfile::tempdir().unwrap();
    let store = officer_store(&dir);
    let app = |status: &str| {
        store.create(
            RecordKind::CccdApplication,
            UNIT.into(),
            [
                ("full_name".to_string(), text("Đỗ Thị Hoa")),
                ("request_type".to_string(), text("first_issue")),
                ("status".to_string(), text(status)),
            ]
            .into(),
        )
    };
    // A draft withdrawn before its first sync reaches the server as a new `withdrawn`
    // record; the phone allows the same directly.
    assert!(app("withdrawn").is_ok());
    assert!(matches!(
        app("rejected"),
        Err(ApiError::StatusNotAllowed { .. })
    ));
}
