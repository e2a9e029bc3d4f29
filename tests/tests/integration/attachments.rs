//! Attachments end to end: a real server, real replicas, the chunked endpoints
//! (`docs/protocol.md` §11).

use ferry_tests::attach::HttpTransport;
use ferry_tests::{Device, Server, citizen, now_ms};
use sync_core::attachment::local::{self, TransferState};
use sync_core::attachment::transfer::{self, TransferError, Transport};
use sync_core::attachment::{self, CHUNK_BYTES, FIELD, Meta};
use sync_core::doc::Edit;
use sync_core::model::Kind;
use uuid::Uuid;

use crate::bin;

/// A JPEG-looking photo of `len` bytes (a JPEG header, then seeded noise: incompressible,
/// like a real photo).
pub fn photo(len: usize, seed: u8) -> Vec<u8> {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    let mut x: u32 = 0x9E37_79B9 ^ u32::from(seed);
    while b.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b.push((x >> 24) as u8);
    }
    b
}

fn officer_with_record(server: &Server, user: &str) -> (Device, Uuid) {
    server.add_user(user, "officer", &["07132"]);
    let d = Device::login(&server.url(), user);
    let id = d
        .create(Kind::Citizen, "07132", citizen("Trần Thị Lan"), now_ms())
        .unwrap()
        .record
        .id;
    (d, id)
}

/// An officer's phone with a record and a `len`-byte photo of `kind` attached to it, the
/// record synced and the upload not started: (phone, record, bytes, reference).
fn synced_photo(
    server: &Server,
    len: usize,
    seed: u8,
    kind: &str,
) -> (Device, Uuid, Vec<u8>, Meta) {
    let (a, id) = officer_with_record(server, "lan");
    let bytes = photo(len, seed);
    let meta = local::attach(&a.replica, id, &bytes, kind, "lan", now_ms()).unwrap();
    a.sync_all();
    (a, id, bytes, meta)
}

fn upload_all(d: &Device) -> local::UploadReport {
    let t = HttpTransport::new(d.client.clone());
    local::upload_due(&d.replica, &t, i64::MAX / 2, &mut |_, _, _| {}).unwrap()
}

ferry_tests::both_engines!(a_photo_attached_offline_reaches_a_second_device_byte_identical);
fn a_photo_attached_offline_reaches_a_second_device_byte_identical() {
    let server = Server::start(bin());
    let (a, id) = officer_with_record(&server, "lan");
    server.add_user("minh", "officer", &["07132"]);
    let b = Device::login(&server.url(), "minh");
    let bytes = photo(200_000, 1);
    let meta = local::attach(&a.replica, id, &bytes, "portrait", "lan", now_ms()).unwrap();
    let listed = local::list(&a.replica, id).unwrap();
    assert_eq!(listed[0].state, TransferState::Uploading);
    assert_eq!(listed[0].meta.mime, "image/jpeg");

    a.sync_all();
    assert_eq!(upload_all(&a).done, 1);
    assert_eq!(
        local::list(&a.replica, id).unwrap()[0].state,
        TransferState::Uploaded
    );

    b.sync_all();
    let seen = local::list(&b.replica, id).unwrap();
    assert_eq!(
        (seen[0].state, seen[0].meta.by.as_str()),
        (TransferState::Remote, "lan")
    );
    let t = HttpTransport::new(b.client.clone());
    let mut steps = Vec::new();
    let got = local::fetch(&b.replica, &t, id, &meta.hash, &mut |d, n| {
        steps.push((d, n))
    })
    .unwrap();
    assert_eq!(got, bytes);
    assert_eq!(
        steps.last(),
        Some(&(200_000, 200_000)),
        "progress reaches the whole"
    );
    assert_eq!(
        local::bytes(&b.replica, id, &meta.hash).unwrap().unwrap(),
        bytes
    );
    assert_eq!(
        local::list(&b.replica, id).unwrap()[0].state,
        TransferState::Available
    );
}

ferry_tests::both_engines!(an_upload_cut_midway_resumes_after_the_last_acknowledged_chunk);
fn an_upload_cut_midway_resumes_after_the_last_acknowledged_chunk() {
    let server = Server::start(bin());
    let (a, id, bytes, meta) = synced_photo(&server, 5 * CHUNK_BYTES + 77, 2, "document_scan");
    let t = HttpTransport::new(a.client.clone());
    for i in 0..3 {
        let r = transfer::chunk_range(meta.size, i);
        t.put_chunk(
            &id.to_string(),
            &meta.hash,
            i,
            0,
            &bytes[r.start as usize..r.end as usize],
        )
        .unwrap();
    }
    // The phone lost the answers (it knows nothing acknowledged) and restarts the upload.
    let state = t.upload_state(&id.to_string(), &meta.hash).unwrap();
    assert_eq!(
        (state.received, state.complete),
        (3 * CHUNK_BYTES as u64, false)
    );
    assert_eq!(upload_all(&a).done, 1);
    assert_eq!(t.max_sends(), 1, "no chunk was sent twice");
    let b = HttpTransport::new(a.client.clone());
    let whole = b
        .get_range(&id.to_string(), &meta.hash, 0, meta.size)
        .unwrap();
    assert_eq!(whole, bytes);
}

ferry_tests::both_engines!(a_chunk_sent_twice_changes_nothing);
fn a_chunk_sent_twice_changes_nothing() {
    let server = Server::start(bin());
    let (a, id, bytes, meta) = synced_photo(&server, CHUNK_BYTES + 10, 3, "portrait");
    let t = HttpTransport::new(a.client.clone());
    // A body longer than any chunk is refused before it is stored.
    let mut long = bytes[..CHUNK_BYTES].to_vec();
    long.push(0);
    assert_eq!(
        t.put_chunk(&id.to_string(), &meta.hash, 0, 0, &long),
        Err(TransferError::Refused {
            code: "too_large".into()
        })
    );
    assert_eq!(
        t.upload_state(&id.to_string(), &meta.hash)
            .unwrap()
            .received,
        0
    );
    let first = &bytes[..CHUNK_BYTES];
    let s1 = t
        .put_chunk(&id.to_string(), &meta.hash, 0, 0, first)
        .unwrap();
    let s2 = t
        .put_chunk(&id.to_string(), &meta.hash, 0, 0, first)
        .unwrap();
    assert_eq!(s1, s2);
    let done = t
        .put_chunk(&id.to_string(), &meta.hash, 1, 0, &bytes[CHUNK_BYTES..])
        .unwrap();
    assert!(done.complete);
    let again = t
        .put_chunk(&id.to_string(), &meta.hash, 1, 0, &bytes[CHUNK_BYTES..])
        .unwrap();
    assert!(
        again.complete,
        "a re-send after completion is acknowledged as complete"
    );
}

/// Writes a reference by hand (as a client in another language could), bypassing the
/// phone's own checks: the server must check on its own.
fn reference(d: &Device, id: Uuid, meta: &Meta) {
    let edit = Edit::PutEntry {
        field: FIELD.into(),
        key: meta.hash.clone(),
        value: meta.to_entry(),
    };
    d.update(id, &[edit], now_ms()).unwrap();
    d.sync_all();
}

fn forged(bytes: &[u8], mime: &str, hash: Option<&str>) -> Meta {
    Meta {
        hash: hash.map_or_else(|| attachment::sha256_hex(bytes), str::to_owned),
        kind: "portrait".into(),
        mime: mime.into(),
        size: bytes.len() as u64,
        width: None,
        height: None,
        by: "lan".into(),
        device: Uuid::nil().to_string(),
        at_ms: 1,
    }
}

ferry_tests::both_engines!(bytes_that_do_not_match_their_hash_are_refused_and_dropped);
fn bytes_that_do_not_match_their_hash_are_refused_and_dropped() {
    let server = Server::start(bin());
    let (a, id) = officer_with_record(&server, "lan");
    let real = photo(1000, 4);
    let meta = forged(&real, "image/jpeg", None);
    reference(&a, id, &meta);
    let t = HttpTransport::new(a.client.clone());
    let other = photo(1000, 5);
    let e = t
        .put_chunk(&id.to_string(), &meta.hash, 0, 0, &other)
        .unwrap_err();
    assert_eq!(
        e,
        TransferError::Refused {
            code: "hash_mismatch".into()
        }
    );
    let s = t.upload_state(&id.to_string(), &meta.hash).unwrap();
    assert_eq!(
        (s.received, s.complete),
        (0, false),
        "the bad bytes were dropped"
    );
    assert!(
        t.put_chunk(&id.to_string(), &meta.hash, 0, 0, &real)
            .unwrap()
            .complete
    );
}

ferry_tests::both_engines!(a_file_disguised_as_a_photo_is_refused_by_its_content);
fn a_file_disguised_as_a_photo_is_refused_by_its_content() {
    let server = Server::start(bin());
    let (a, id) = officer_with_record(&server, "lan");
    // A shell script the reference calls a JPEG (a name like photo.jpg says nothing).
    let script = b"#!/bin/sh\necho not a photo\n".to_vec();
    let meta = forged(&script, "image/jpeg", None);
    reference(&a, id, &meta);
    let t = HttpTransport::new(a.client.clone());
    let e = t
        .put_chunk(&id.to_string(), &meta.hash, 0, 0, &script)
        .unwrap_err();
    assert_eq!(
        e,
        TransferError::Refused {
            code: "wrong_type".into()
        }
    );
    // And the phone refuses it before anything is written.
    let e = local::attach(&a.replica, id, &script, "portrait", "lan", now_ms()).unwrap_err();
    assert!(e.to_string().contains("not a JPEG"), "{e}");
}

#[test]
fn an_attachment_over_the_servers_limit_for_its_kind_is_refused_before_any_byte() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_in(
        bin(),
        dir.path(),
        &[("FERRY_ATTACHMENT_MAX_BYTES", "portrait=100000")],
    );
    let (a, id) = officer_with_record(&server, "lan");
    let bytes = photo(150_000, 6);
    local::attach(&a.replica, id, &bytes, "portrait", "lan", now_ms()).unwrap();
    a.sync_all();
    let report = upload_all(&a);
    assert_eq!(report.refused, 1);
    let listed = local::list(&a.replica, id).unwrap();
    assert_eq!(listed[0].state, TransferState::Failed);
    assert_eq!(listed[0].error.as_deref(), Some("too_large"));
    assert!(
        !dir.path().join("blobs").join("partial").exists(),
        "no chunk was stored"
    );
    // The record itself synced as usual.
    assert_eq!(a.pending(), 0);
}

ferry_tests::both_engines!(another_wards_officer_can_neither_upload_nor_fetch);
fn another_wards_officer_can_neither_upload_nor_fetch() {
    let server = Server::start(bin());
    let (a, id, bytes, meta) = synced_photo(&server, 3000, 7, "portrait");
    upload_all(&a);
    server.add_user("khoa", "officer", &["07135"]);
    let other = Device::login(&server.url(), "khoa");
    let t = HttpTransport::new(other.client.clone());
    let rec = id.to_string();
    assert_eq!(
        t.get_range(&rec, &meta.hash, 0, 10).unwrap_err(),
        TransferError::Unknown
    );
    assert_eq!(
        t.upload_state(&rec, &meta.hash).unwrap_err(),
        TransferError::Unknown
    );
    assert_eq!(
        t.put_chunk(&rec, &meta.hash, 0, 0, &bytes).unwrap_err(),
        TransferError::Unknown
    );
    // A hash the record does not refer to is unknown even in scope.
    let own = HttpTransport::new(a.client.clone());
    let stranger = attachment::sha256_hex(b"x");
    assert_eq!(
        own.get_range(&rec, &stranger, 0, 1).unwrap_err(),
        TransferError::Unknown
    );
}

ferry_tests::both_engines!(a_leader_of_the_ward_can_neither_fetch_nor_upload_an_attachment);
fn a_leader_of_the_ward_can_neither_fetch_nor_upload_an_attachment() {
    let server = Server::start(bin());
    let (a, id, bytes, meta) = synced_photo(&server, 3000, 9, "portrait");
    upload_all(&a);
    server.add_user("chutich", "leader", &["07132"]);
    let leader = Device::login(&server.url(), "chutich");
    let base = format!("/v1/attachments/{id}/{}", meta.hash);
    for (method, path, body) in [
        ("GET", base.clone(), None),
        ("GET", format!("{base}/upload"), None),
        ("PUT", format!("{base}/chunks/0"), Some(bytes.clone())),
    ] {
        let r = leader.client.send(method, &path, &[], body).unwrap();
        assert_eq!(r.status, 403, "{method} {path}");
        assert!(
            String::from_utf8_lossy(&r.body).contains("leader_holds_no_records"),
            "{method} {path}"
        );
    }
    // The officer still fetches it.
    let own = HttpTransport::new(a.client.clone());
    assert_eq!(
        own.get_range(&id.to_string(), &meta.hash, 0, 10).unwrap(),
        bytes[..10].to_vec()
    );
}

ferry_tests::both_engines!(losing_the_unit_purges_the_phones_attachments);
fn losing_the_unit_purges_the_phones_attachments() {
    let server = Server::start(bin());
    let (a, id, _, meta) = synced_photo(&server, 3000, 8, "portrait");
    upload_all(&a);
    assert!(local::bytes(&a.replica, id, &meta.hash).unwrap().is_some());
    let admin = server.admin();
    let r = admin
        .send(
            "PUT",
            "/v1/admin/users/lan/units",
            &[("Content-Type", "application/json")],
            Some(br#"{"units": ["07135"]}"#.to_vec()),
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    a.sync_all();
    assert!(a.replica.get(id).unwrap().is_none());
    assert!(local::bytes(&a.replica, id, &meta.hash).unwrap().is_none());
    let left: i64 = a
        .replica
        .pool()
        .read(|c| c.query_row("SELECT count(*) FROM attachment_blobs", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(left, 0);
}

ferry_tests::both_engines!(an_admins_fetch_is_audited_before_the_bytes_leave);
fn an_admins_fetch_is_audited_before_the_bytes_leave() {
    let server = Server::start(bin());
    let (a, id, bytes, meta) = synced_photo(&server, 3000, 9, "portrait");
    upload_all(&a);
    let admin = server.admin();
    let r = admin
        .get(&format!("/v1/attachments/{id}/{}", meta.hash))
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, bytes);
    let rows: i64 = server
        .store()
        .read(|c| {
            c.query_value(
                "SELECT count(*) FROM audit WHERE action = 'attachment_read'",
                &[],
            )
        })
        .unwrap();
    assert_eq!(rows, 1);
}

#[test]
fn an_upload_survives_a_server_restart_between_chunks() {
    let mut server = Server::start(bin());
    let (a, id, bytes, meta) = synced_photo(&server, 3 * CHUNK_BYTES, 10, "portrait");
    let t = HttpTransport::new(a.client.clone());
    t.put_chunk(&id.to_string(), &meta.hash, 0, 0, &bytes[..CHUNK_BYTES])
        .unwrap();
    server.restart();
    let t = HttpTransport::new(a.client.via(&server.url()));
    let s = t.upload_state(&id.to_string(), &meta.hash).unwrap();
    assert_eq!(
        s.received, CHUNK_BYTES as u64,
        "the acknowledged chunk survived"
    );
    let report = local::upload_due(&a.replica, &t, i64::MAX / 2, &mut |_, _, _| {}).unwrap();
    assert_eq!(report.done, 1);
    assert_eq!(t.max_sends(), 1);
}

#[test]
fn the_object_store_backend_keeps_and_serves_blobs_like_the_file_store() {
    let store_dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let url = format!("file://{}", store_dir.path().display());
    let server = Server::start_in(bin(), data.path(), &[("FERRY_BLOB_STORE", &url)]);
    let (a, id, bytes, meta) = synced_photo(&server, 2 * CHUNK_BYTES + 5, 11, "portrait");
    assert_eq!(upload_all(&a).done, 1);
    assert!(store_dir.path().join("blobs").join(&meta.hash).exists());
    assert!(!data.path().join("blobs").join(&meta.hash[..2]).exists());
    let t = HttpTransport::new(a.client.clone());
    let tail = t
        .get_range(&id.to_string(), &meta.hash, 100, meta.size)
        .unwrap();
    assert_eq!(tail, bytes[100..]);
}

/// `ferry attachments gc` with extra arguments; its JSON report.
fn gc(server: &Server, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["attachments", "gc"];
    all.extend_from_slice(args);
    let out = server.cli(&all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

ferry_tests::both_engines!(
    a_removed_attachments_blob_and_an_abandoned_upload_are_collected_after_the_grace_period
);
fn a_removed_attachments_blob_and_an_abandoned_upload_are_collected_after_the_grace_period() {
    let server = Server::start(bin());
    let (a, id) = officer_with_record(&server, "lan");
    let (kept, removed, half) = (photo(3000, 12), photo(4000, 13), photo(3 * CHUNK_BYTES, 14));
    let kept_meta = local::attach(&a.replica, id, &kept, "portrait", "lan", now_ms()).unwrap();
    let removed_meta =
        local::attach(&a.replica, id, &removed, "document_scan", "lan", now_ms()).unwrap();
    a.sync_all();
    assert_eq!(upload_all(&a).done, 2);
    // A third one is left after its first chunk (the phone was lost on the way).
    let half_meta = local::attach(&a.replica, id, &half, "other", "lan", now_ms()).unwrap();
    a.sync_all();
    let t = HttpTransport::new(a.client.clone());
    t.put_chunk(&id.to_string(), &half_meta.hash, 0, 0, &half[..CHUNK_BYTES])
        .unwrap();
    let blobs = server.data_dir().join("blobs");
    let blob_file = |h: &str| blobs.join(&h[..2]).join(h);
    assert!(blob_file(&removed_meta.hash).exists());

    // The officer removes one attachment; the record syncs as usual.
    let edit = Edit::RemoveEntry {
        field: FIELD.into(),
        key: removed_meta.hash.clone(),
    };
    a.update(id, &[edit], now_ms()).unwrap();
    a.sync_all();

    // Within the default grace period (7 days) nothing goes; the blob is marked.
    let first = gc(&server, &[]);
    assert_eq!(first["grace_days"], 7);
    assert_eq!(
        (
            &first["blobs"],
            &first["referenced"],
            &first["newly_unreferenced"]
        ),
        (&2.into(), &1.into(), &1.into())
    );
    assert_eq!(
        (&first["deleted"], &first["uploads_dropped"]),
        (&0.into(), &0.into())
    );
    assert!(blob_file(&removed_meta.hash).exists());
    assert!(blobs.join("partial").join(&half_meta.hash).exists());

    // Past the grace period (here 0 days): the removed blob and the abandoned upload go.
    let second = gc(&server, &["--attachment-gc-grace-days", "0"]);
    assert_eq!(
        (&second["deleted"], &second["deleted_bytes"]),
        (&1.into(), &4000.into())
    );
    assert_eq!(
        (&second["uploads_dropped"], &second["upload_bytes_dropped"]),
        (&1.into(), &(CHUNK_BYTES as u64).into())
    );
    assert!(!blob_file(&removed_meta.hash).exists());
    assert!(!blobs.join("partial").join(&half_meta.hash).exists());
    // The attachment still referred to is kept and served whole.
    let whole = t
        .get_range(&id.to_string(), &kept_meta.hash, 0, kept_meta.size)
        .unwrap();
    assert_eq!(whole, kept);
    // The dropped upload starts again from its first chunk and completes.
    assert_eq!(
        t.upload_state(&id.to_string(), &half_meta.hash)
            .unwrap()
            .received,
        0
    );
    assert_eq!(upload_all(&a).done, 1);

    let runs: i64 = server
        .store()
        .read(|c| {
            c.query_value(
                "SELECT count(*) FROM audit WHERE action = 'attachment_gc'",
                &[],
            )
        })
        .unwrap();
    assert_eq!(runs, 2, "each run is audited");
}

#[test]
fn an_upload_cut_at_a_random_byte_resumes_with_no_chunk_sent_more_than_twice() {
    use ferry_tests::proxy::{Cut, Direction, Faults, Proxy};
    use rand::{Rng, SeedableRng};

    let server = Server::start(bin());
    let proxy = Proxy::start(server.addr()).unwrap();
    let (a, id) = officer_with_record(&server, "lan");
    let phone = a.client.via(&proxy.url());
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
    let mut directions = Vec::new();
    for round in 0..6u8 {
        let bytes = photo(4 * CHUNK_BYTES + 1000, 20 + round);
        let meta = local::attach(&a.replica, id, &bytes, "document_scan", "lan", now_ms()).unwrap();
        a.sync_all();
        // One of the full chunks' connections is cut at a random byte: of the request
        // (the chunk lost on the way) or of the answer (stored, its acknowledgement lost).
        let chunk = rng.gen_range(0..4u64);
        let cut = if rng.gen_bool(0.5) {
            Cut {
                direction: Direction::Upstream,
                after_bytes: rng.gen_range(0..CHUNK_BYTES as u64),
            }
        } else {
            Cut {
                direction: Direction::Downstream,
                after_bytes: rng.gen_range(0..100),
            }
        };
        // Connection 0 of the upload asks for its state; chunk i is connection i + 1.
        let target = proxy.connections() + 1 + chunk;
        let cuts_before = proxy.cuts();
        proxy.set_plan(move |i| Faults {
            cut: (i == target).then_some(cut),
        });
        let t = HttpTransport::new(phone.clone());
        let first = local::upload_due(&a.replica, &t, now_ms(), &mut |_, _, _| {}).unwrap();
        assert_eq!(first.deferred, 1, "round {round}: {cut:?} on chunk {chunk}");
        assert_eq!(
            proxy.cuts(),
            cuts_before + 1,
            "round {round}: the cut happened"
        );
        let later = local::upload_due(&a.replica, &t, i64::MAX / 2, &mut |_, _, _| {}).unwrap();
        assert_eq!(later.done, 1, "round {round}");
        let sends = t.chunks_sent(&meta.hash);
        assert!(t.max_sends() <= 2, "round {round}: {sends:?}");
        let resent: Vec<u64> = sends
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(i, _)| *i)
            .collect();
        directions.push(cut.direction);
        match cut.direction {
            Direction::Upstream => {
                assert_eq!(resent, [chunk], "round {round}");
                // The server kept what passed before the cut: the second send carried only
                // the rest (the request's head, a few hundred bytes, passed first).
                let sent = t.bytes_sent.lock().unwrap()[&(meta.hash.clone(), chunk)];
                let rest = (CHUNK_BYTES as u64).saturating_sub(cut.after_bytes);
                assert!(
                    sent <= CHUNK_BYTES as u64 + rest + 1024,
                    "round {round}: {sent} bytes of chunk {chunk} sent for a cut at {}",
                    cut.after_bytes
                );
            }
            Direction::Downstream => assert!(resent.is_empty(), "round {round}: {sends:?}"),
        }
        let whole = HttpTransport::new(a.client.clone())
            .get_range(&id.to_string(), &meta.hash, 0, meta.size)
            .unwrap();
        assert!(whole == bytes, "round {round}: byte-identical");
    }
    assert!(
        directions.contains(&Direction::Upstream) && directions.contains(&Direction::Downstream),
        "both kinds of cut were tried: {directions:?}"
    );
}

ferry_tests::both_engines!(a_revoked_phones_wipe_deletes_every_attachment_it_held);
fn a_revoked_phones_wipe_deletes_every_attachment_it_held() {
    use ferry_tests::proxy::{Cut, Direction, Faults, Proxy};

    let server = Server::start(bin());
    let (a, id) = officer_with_record(&server, "lan");
    let (b, other) = officer_with_record(&server, "minh");
    // An uploaded photo, one waiting in the queue, and half of another device's photo.
    let uploaded = photo(3000, 30);
    let uploaded_meta =
        local::attach(&a.replica, id, &uploaded, "portrait", "lan", now_ms()).unwrap();
    a.sync_all();
    upload_all(&a);
    local::attach(
        &a.replica,
        id,
        &photo(5000, 31),
        "signature",
        "lan",
        now_ms(),
    )
    .unwrap();
    let remote = photo(2 * CHUNK_BYTES + 9, 32);
    let remote_meta =
        local::attach(&b.replica, other, &remote, "portrait", "minh", now_ms()).unwrap();
    b.sync_all();
    upload_all(&b);
    a.sync_all();
    let proxy = Proxy::start(server.addr()).unwrap();
    let second = proxy.connections() + 1;
    proxy.set_plan(move |i| Faults {
        cut: (i == second).then_some(Cut {
            direction: Direction::Downstream,
            after_bytes: 0,
        }),
    });
    let t = HttpTransport::new(a.client.via(&proxy.url()));
    assert!(local::fetch(&a.replica, &t, other, &remote_meta.hash, &mut |_, _| {}).is_err());
    let count = |table: &str| -> i64 {
        a.replica
            .pool()
            .read(|c| c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)))
            .unwrap()
    };
    assert_eq!(
        (count("attachment_blobs"), count("attachment_pieces")),
        (2, 1)
    );

    let out = server.cli(&["device", "revoke", &a.replica.device_id().to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(a.sync().unwrap().wiped);
    assert_eq!(
        (count("attachment_blobs"), count("attachment_pieces")),
        (0, 0),
        "no photo is left on the wiped phone"
    );
    assert!(
        local::bytes(&a.replica, id, &uploaded_meta.hash)
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_phone_restarted_mid_upload_resumes_its_queue_after_the_last_acknowledged_chunk() {
    let server = Server::start(bin());
    let (a, id, bytes, meta) = synced_photo(&server, 5 * CHUNK_BYTES + 123, 40, "document_scan");
    // The app is killed once the server has acknowledged two chunks (the progress callback
    // runs after each acknowledgement is kept).
    let before = HttpTransport::new(a.client.clone());
    let killed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        local::upload_due(&a.replica, &before, now_ms(), &mut |_, done, _| {
            if done == 2 * CHUNK_BYTES as u64 {
                std::panic::panic_any("the app was killed mid-upload");
            }
        })
    }));
    assert!(killed.is_err());
    let sent: Vec<u64> = before.chunks_sent(&meta.hash).into_keys().collect();
    assert_eq!(sent, [0, 1]);

    // The app starts again on the same store: the queue still holds the upload, with the
    // two chunks whose answers arrived.
    let a = a.reopen();
    let listed = local::list(&a.replica, id).unwrap();
    assert_eq!(
        (listed[0].state, listed[0].transferred),
        (TransferState::Uploading, 2 * CHUNK_BYTES as u64)
    );
    assert_eq!(local::due_uploads(&a.replica, now_ms()).unwrap().len(), 1);
    let after = HttpTransport::new(a.client.clone());
    let report = local::upload_due(&a.replica, &after, now_ms(), &mut |_, _, _| {}).unwrap();
    assert_eq!(report.done, 1);
    let resumed: Vec<u64> = after.chunks_sent(&meta.hash).into_keys().collect();
    assert_eq!(resumed, [2, 3, 4, 5], "chunks 0 and 1 were not sent again");
    assert_eq!(
        local::list(&a.replica, id).unwrap()[0].state,
        TransferState::Uploaded
    );
    let whole = after
        .get_range(&id.to_string(), &meta.hash, 0, meta.size)
        .unwrap();
    assert_eq!(whole, bytes);
}

#[test]
fn two_officers_attaching_offline_to_one_record_both_keep_their_photos() {
    let server = Server::start(bin());
    let (a, id) = officer_with_record(&server, "lan");
    a.sync_all();
    server.add_user("minh", "officer", &["07132"]);
    let b = Device::login(&server.url(), "minh");
    b.sync_all();
    // Both offline: each makes the record's first attachment, so each creates the set.
    let from_a = photo(70_000, 11);
    let from_b = photo(90_000, 12);
    let meta_a = local::attach(&a.replica, id, &from_a, "portrait", "lan", now_ms()).unwrap();
    let meta_b = local::attach(&b.replica, id, &from_b, "document_scan", "minh", now_ms()).unwrap();
    a.sync_all();
    b.sync_all();
    a.sync_all();
    for d in [&a, &b] {
        let mut hashes: Vec<String> = local::list(&d.replica, id)
            .unwrap()
            .into_iter()
            .map(|l| l.meta.hash)
            .collect();
        hashes.sort();
        let mut want = vec![meta_a.hash.clone(), meta_b.hash.clone()];
        want.sort();
        assert_eq!(hashes, want, "both photos are listed on each phone");
        assert!(
            d.replica.conflicts(id).unwrap().is_empty(),
            "two sets merged are no conflict to resolve"
        );
    }
    assert_eq!(upload_all(&a).done, 1);
    assert_eq!(upload_all(&b).done, 1);
    let fetch = |d: &Device, hash: &str| {
        let t = HttpTransport::new(d.client.clone());
        local::fetch(&d.replica, &t, id, hash, &mut |_, _| {}).unwrap()
    };
    assert_eq!(fetch(&a, &meta_b.hash), from_b);
    assert_eq!(fetch(&b, &meta_a.hash), from_a);
}

/// The value of one line of the server's `/metrics` (`name{labels}` as written there).
fn metric(server: &Server, series: &str) -> Option<u64> {
    let url = server.metrics_url()?;
    let body = ferry_tests::Client::new(&url).get("/metrics").ok()?;
    let text = String::from_utf8_lossy(&body.body).into_owned();
    let key = format!("{series} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&key))
        .and_then(|v| v.trim().parse().ok())
}

fn refused(server: &Server, reason: &str) -> Option<u64> {
    metric(
        server,
        &format!("ferry_attachment_uploads_refused_total{{reason=\"{reason}\"}}"),
    )
}

ferry_tests::both_engines!(a_phone_with_prefetch_fetches_the_signature_ahead_and_leaves_the_scan);
fn a_phone_with_prefetch_fetches_the_signature_ahead_and_leaves_the_scan() {
    let server = Server::start(bin());
    let (a, id) = officer_with_record(&server, "lan");
    let signature = photo(20_000, 50);
    let scan = photo(700_000, 51);
    let sig = local::attach(&a.replica, id, &signature, "signature", "lan", now_ms()).unwrap();
    let doc = local::attach(&a.replica, id, &scan, "document_scan", "lan", now_ms()).unwrap();
    a.sync_all();
    assert_eq!(upload_all(&a).done, 2);

    server.add_user("minh", "officer", &["07132"]);
    let b = Device::login(&server.url(), "minh");
    local::set_prefetch(&b.replica, &["signature".to_owned()], 512 * 1024).unwrap();
    b.sync_all();
    let t = HttpTransport::new(b.client.clone());
    let mut moved: Vec<String> = Vec::new();
    let report =
        local::prefetch_due(&b.replica, &t, &mut |h, _, _| moved.push(h.to_owned())).unwrap();
    assert_eq!((report.fetched, report.failed, report.left), (1, 0, 0));
    assert!(
        !moved.is_empty() && moved.iter().all(|h| *h == sig.hash),
        "only the signature moved"
    );
    assert_eq!(
        local::bytes(&b.replica, id, &sig.hash).unwrap().unwrap(),
        signature,
        "byte-identical"
    );
    let state = |d: &Device, hash: &str| {
        local::list(&d.replica, id)
            .unwrap()
            .into_iter()
            .find(|v| v.meta.hash == hash)
            .unwrap()
            .state
    };
    assert_eq!(state(&b, &sig.hash), TransferState::Available);
    assert_eq!(state(&b, &doc.hash), TransferState::Remote);

    // The app restarts: the setting is kept and nothing is fetched twice.
    let b = b.reopen();
    assert_eq!(
        local::prefetch(&b.replica).unwrap(),
        local::Prefetch {
            kinds: vec!["signature".into()],
            max_bytes: 512 * 1024
        }
    );
    let t = HttpTransport::new(b.client.clone());
    let again = local::prefetch_due(&b.replica, &t, &mut |_, _, _| {}).unwrap();
    assert_eq!((again.fetched, again.left), (0, 0));
    // The scan is still there on demand.
    let got = local::fetch(&b.replica, &t, id, &doc.hash, &mut |_, _| {}).unwrap();
    assert_eq!(got, scan);
}

ferry_tests::both_engines!(
    refused_uploads_are_counted_in_metrics_and_the_device_health_while_the_rest_goes_through
);
fn refused_uploads_are_counted_in_metrics_and_the_device_health_while_the_rest_goes_through() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_in(
        bin(),
        dir.path(),
        &[("FERRY_ATTACHMENT_MAX_BYTES", "portrait=100000")],
    );
    assert_eq!(
        refused(&server, "too_large"),
        Some(0),
        "the series shows from the start"
    );
    let (a, id) = officer_with_record(&server, "lan");
    let big = photo(150_000, 60);
    let small = photo(30_000, 61);
    local::attach(&a.replica, id, &big, "portrait", "lan", now_ms()).unwrap();
    let kept = local::attach(&a.replica, id, &small, "signature", "lan", now_ms()).unwrap();
    a.sync_all();
    let report = upload_all(&a);
    assert_eq!(
        (report.done, report.refused),
        (1, 1),
        "one refusal blocks no other blob"
    );
    assert_eq!(refused(&server, "too_large"), Some(1));
    assert_eq!(
        metric(&server, "ferry_attachment_blobs_completed_total"),
        Some(1)
    );

    // Bytes that are not what the reference says (sent by hand, as a faulty client would).
    let script = b"#!/bin/sh\necho not a photo\n".to_vec();
    reference(&a, id, &forged(&script, "image/jpeg", None));
    let t = HttpTransport::new(a.client.clone());
    let hash = attachment::sha256_hex(&script);
    assert!(t.put_chunk(&id.to_string(), &hash, 0, 0, &script).is_err());
    assert_eq!(refused(&server, "wrong_type"), Some(1));
    assert_eq!(refused(&server, "hash_mismatch"), Some(0));

    // The record keeps syncing; the next sync reports the refusal to the device view.
    let edit = Edit::Set {
        field: "full_name".into(),
        value: sync_core::model::Value::from("Trần Thị Lan Anh"),
    };
    a.update(id, &[edit], now_ms()).unwrap();
    a.sync_all();
    assert_eq!(a.pending(), 0);
    let j = server.admin().get("/v1/reports/devices").unwrap().json();
    let me = j["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device"] == a.replica.device_id().to_string())
        .unwrap_or_else(|| panic!("not listed: {j}"));
    assert_eq!(
        (&me["attachments_failed"], &me["attachments_pending"]),
        (&1.into(), &0.into()),
        "{me}"
    );
    assert_eq!(
        me["state"], "ok",
        "a refused blob does not stall the device"
    );
    let csv = server
        .admin()
        .get("/v1/reports/devices?format=csv")
        .unwrap();
    let text = String::from_utf8(csv.body).unwrap();
    assert!(text.contains("Tệp đính kèm bị từ chối"), "{text}");
    // And the blob that went through is served whole.
    let whole = t
        .get_range(&id.to_string(), &kept.hash, 0, kept.size)
        .unwrap();
    assert_eq!(whole, small);
}
