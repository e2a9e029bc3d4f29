//! Tests of the lost-phone rules: a store out of contact too long locks its records until
//! the officer logs in online; the PIN has a minimum length and wrong PINs make the next try
//! wait longer and longer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use crate::tests::{UNIT, citizen, open};
use crate::{ApiError, FerryStore, RecordKind};

const DAY_MS: i64 = 86_400_000;

fn now() -> i64 {
    sync_core::time::now_ms()
}

/// A one-route server that accepts every login for an officer of [`UNIT`].
fn login_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let reply = serde_json::json!({
                "token": "tok-1", "expires_at": 1_900_000_000_000i64,
                "user": "lan", "role": "officer", "units": [UNIT],
            })
            .to_string();
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                reply.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    url
}

fn last_contact(store: &FerryStore, ms: i64) {
    store
        .with_replica(|r| {
            crate::offline_lock::set_last_online(r, ms);
            Ok(())
        })
        .unwrap();
}

fn empty_reply() -> Vec<u8> {
    sync_core::protocol::encode_reply(&sync_core::protocol::SyncReply::empty(now()))
}

#[test]
fn a_phone_out_of_contact_too_long_refuses_records_until_the_officer_logs_in_online() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let id = store
        .create(
            RecordKind::Citizen,
            UNIT.into(),
            citizen("Lê Văn Tám", "022090012345", "1990-01-01", "male"),
        )
        .unwrap()
        .record
        .id;
    assert!(store.get(id.clone()).unwrap().is_some());
    last_contact(&store, now() - 15 * DAY_MS);
    let locked = ApiError::OfflineTooLong { limit_days: 14 };
    assert_eq!(store.get(id.clone()).unwrap_err(), locked);
    assert_eq!(
        store.search("tam".into(), None, None, None).unwrap_err(),
        locked
    );
    // A sync with the token the phone holds does not reopen it; edits can still be saved
    // and counted, so nothing waiting to be sent is lost.
    store.apply_sync_reply(empty_reply()).unwrap();
    assert_eq!(store.get(id.clone()).unwrap_err(), locked);
    assert_eq!(store.count().unwrap(), 1);
    // Closing and reopening the store does not help either: the lock is kept in the store.
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.get(id.clone()).unwrap_err(), locked);
    assert!(store.offline_status().unwrap().locked);
    store
        .login(login_server(), "lan".into(), "password-1".into(), None)
        .unwrap();
    assert!(store.get(id).unwrap().is_some());
    assert!(!store.offline_status().unwrap().locked);
}

#[test]
fn the_offline_limit_is_configurable_and_a_clock_set_back_locks_too() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(store.offline_status().unwrap().limit_days, 14);
    store.set_offline_limit_days(30).unwrap();
    assert!(matches!(
        store.set_offline_limit_days(0),
        Err(ApiError::InvalidArgument { .. })
    ));
    last_contact(&store, now() - 20 * DAY_MS);
    assert!(
        store.find(Default::default()).is_ok(),
        "20 days is within 30"
    );
    last_contact(&store, now() - 31 * DAY_MS);
    assert_eq!(
        store.find(Default::default()).unwrap_err(),
        ApiError::OfflineTooLong { limit_days: 30 }
    );

    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // The last contact lies two days in the device's future: its clock was set back.
    last_contact(&store, now() + 2 * DAY_MS);
    assert!(matches!(
        store.find(Default::default()),
        Err(ApiError::OfflineTooLong { .. })
    ));
}

#[test]
fn a_pin_shorter_than_six_characters_is_refused() {
    let salt = crate::new_salt();
    assert!(matches!(
        crate::derive_key_from_pin("12345".into(), salt.clone()),
        Err(ApiError::InvalidKey { .. })
    ));
    assert!(crate::derive_key_from_pin("123456".into(), salt).is_ok());
}

#[test]
fn wrong_pins_make_the_next_try_wait_and_even_the_right_pin_waits_its_turn() {
    let dir = tempfile::tempdir().unwrap();
    let path: String = dir.path().join("ferry.db").to_string_lossy().into();
    let salt = crate::new_salt();
    drop(FerryStore::open_with_pin(path.clone(), "482913".into(), salt.clone()).unwrap());
    for _ in 0..crate::pin_guard::FREE_TRIES + 1 {
        let e = FerryStore::open_with_pin(path.clone(), "000000".into(), salt.clone());
        assert_eq!(e.unwrap_err(), ApiError::WrongKey);
    }
    // The fourth wrong PIN started a 30 s wait: the right PIN is refused meanwhile.
    match FerryStore::open_with_pin(path.clone(), "482913".into(), salt.clone()) {
        Err(ApiError::PinWait { retry_secs }) => assert!((1..=30).contains(&retry_secs)),
        other => panic!("expected a wait, got {other:?}"),
    }
    // Once the wait is over (moved into the past here), the right PIN opens and resets it.
    let attempts = std::path::PathBuf::from(format!("{path}.pin-attempts"));
    let mut a: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&attempts).unwrap()).unwrap();
    assert_eq!(a["failures"], 4);
    a["next_ms"] = serde_json::json!(now() - 1);
    std::fs::write(&attempts, a.to_string()).unwrap();
    let store = FerryStore::open_with_pin(path.clone(), "482913".into(), salt.clone()).unwrap();
    assert!(!attempts.exists(), "a right PIN clears the count");
    // unlockWithPin counts wrong PINs the same way.
    for _ in 0..crate::pin_guard::FREE_TRIES + 1 {
        assert!(
            !store
                .unlock_with_pin("999999".into(), salt.clone())
                .unwrap()
        );
    }
    assert!(matches!(
        store.unlock_with_pin("482913".into(), salt),
        Err(ApiError::PinWait { .. })
    ));
}
