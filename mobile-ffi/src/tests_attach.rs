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
