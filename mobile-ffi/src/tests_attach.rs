//! Tests of attaching files on the phone: the type comes from the bytes, never from the
//! file's name, and no picture reaches the phone's disk in plaintext.

use crate::ApiError;
use crate::tests::{UNIT, citizen, open, raw_files};
use crate::{AttachmentState, RecordKind};

/// A PNG header and IHDR, then a run of a recognisable pattern (to look for on disk).
fn png_with(marker: &[u8]) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    b.extend_from_slice(&64u32.to_be_bytes());
    b.extend_from_slice(&48u32.to_be_bytes());
    b.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    for _ in 0..200 {
        b.extend_from_slice(marker);
    }
    b
}

#[test]
fn a_file_is_attached_by_what_it_holds_and_never_left_on_disk_in_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let camera = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let saved = store
        .create(
            RecordKind::Citizen,
            UNIT.into(),
            citizen("Lê Văn Tám", "022090012345", "1990-01-02", "male"),
        )
        .unwrap();
    let id = saved.record.id;

    // The camera's file, attached by its path.
    let attach = |name: &str, kind: &str, bytes: &[u8]| {
        let path = camera.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        store.attach_file(id.clone(), kind.into(), path.display().to_string())
    };
    // A script named like a photo is refused, whatever its name says.
    let e = attach("photo.jpg", "portrait", b"#!/bin/sh\necho not a photo\n").unwrap_err();
    assert!(matches!(e, ApiError::Validation { .. }), "{e:?}");

    // A PNG named like a PDF is a PNG.
    let marker = b"FERRY-PLAINTEXT-PHOTO-MARKER";
    let info = attach("scan.pdf", "document_scan", &png_with(marker)).unwrap();
    assert_eq!(
        (info.mime_type.as_str(), info.width, info.height),
        ("image/png", Some(64), Some(48))
    );
    assert_eq!(info.state, AttachmentState::Uploading);
    assert_eq!(store.attachments(id).unwrap().len(), 1);

    // The app deletes the camera's file; the store's files never hold the picture.
    std::fs::remove_file(camera.path().join("scan.pdf")).unwrap();
    for (file, bytes) in raw_files(dir.path()) {
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker),
            "{file} holds the photo in plaintext"
        );
    }
}

/// Hears nothing (the tests look at the results).
struct Quiet;

impl crate::TransferProgress for Quiet {
    fn on_progress(&self, _: String, _: u64, _: u64) {}
}

#[test]
fn a_signature_is_prefetched_the_scan_left_remote_and_the_setting_survives_reopening() {
    use std::sync::Arc;

    use sync_core::attachment::local;
    use sync_core::protocol::{self, PullEntry, SyncReply};
    use sync_core::replica::Replica;

    // Another officer's phone holds the record with a signature and a 600 KiB scan.
    let other = tempfile::tempdir().unwrap();
    let a = Replica::open(&other.path().join("a.db"), None).unwrap();
    let mut fields = std::collections::BTreeMap::new();
    for (k, v) in [
        ("full_name", "Lê Văn Tám"),
        ("id_number", "022090012345"),
        ("date_of_birth", "1990-01-02"),
        ("sex", "male"),
        ("status", "active"),
    ] {
        fields.insert(k.to_owned(), sync_core::model::Value::from(v));
    }
    let id = a
        .create(sync_core::model::Kind::Citizen, UNIT, fields, 1)
        .unwrap()
        .record
        .id;
    let signature = png_with(b"SIGNATURE");
    let mut scan = b"%PDF-1.7\n".to_vec();
    scan.resize(600 * 1024, b'x');
    let sig = local::attach(&a, id, &signature, "signature", "lan", 1).unwrap();
    let doc = local::attach(&a, id, &scan, "document_scan", "lan", 1).unwrap();

    // The server serves the signature's bytes (one chunk) and nothing else.
    let (served, wanted) = (signature.clone(), sig.hash.clone());
    let server = crate::tests::fake_server(Box::new(move |path, _| {
        if path == "/v1/login" {
            (200, vec![], crate::tests::login_json())
        } else if path.ends_with(&wanted) {
            (206, vec![], served.clone())
        } else {
            (404, vec![], br#"{"error":"unknown_attachment"}"#.to_vec())
        }
    }));
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store
        .login(server.url.clone(), "officer1".into(), "pw".into(), None)
        .unwrap();
    assert_eq!(store.attachment_prefetch().unwrap().kinds.len(), 0, "off");
    let e = store
        .set_attachment_prefetch(vec!["signature".into(), "selfie".into()], 1)
        .unwrap_err();
    assert!(
        matches!(&e, ApiError::InvalidArgument { reason } if reason.contains("`selfie`")),
        "{e:?}"
    );
    store
        .set_attachment_prefetch(vec!["signature".into()], 512 * 1024)
        .unwrap();

    // The record arrives in a sync reply (sans-IO here).
    let mut reply = SyncReply::empty(1);
    reply.pull.push(PullEntry {
        record: id,
        kind: "citizen".into(),
        unit: UNIT.into(),
        changes: vec![],
        // `protocol::Hash` is the protocol's byte string (`ByteBuf`).
        snapshot: Some(protocol::Hash::from(
            a.document(id).unwrap().unwrap().save_uncompressed(),
        )),
        lineage: 0,
        replace: false,
        redacted: Vec::new(),
    });
    store
        .apply_sync_reply(protocol::encode_reply(&reply))
        .unwrap();
    let summary = store.prefetch_attachments(Arc::new(Quiet)).unwrap();
    assert_eq!((summary.fetched, summary.failed, summary.left), (1, 0, 0));
    let state = |hash: &str| {
        store
            .attachments(id.to_string())
            .unwrap()
            .into_iter()
            .find(|a| a.hash == hash)
            .unwrap()
            .state
    };
    assert_eq!(state(&sig.hash), AttachmentState::Available);
    assert_eq!(state(&doc.hash), AttachmentState::Remote);
    let kept = store
        .fetch_attachment(id.to_string(), sig.hash.clone(), Arc::new(Quiet))
        .unwrap();
    assert_eq!(kept, signature, "byte-identical, from the store");

    // The app restarts: the setting is still there.
    drop(store);
    let store = open(dir.path());
    let p = store.attachment_prefetch().unwrap();
    assert_eq!(
        (p.kinds, p.max_bytes),
        (vec!["signature".into()], 512 * 1024)
    );
}
