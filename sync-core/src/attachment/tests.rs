use super::*;

/// A real 3×2 PNG (header and IHDR are what matter for sniffing and pixel size).
pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    b.extend_from_slice(&width.to_be_bytes());
    b.extend_from_slice(&height.to_be_bytes());
    b.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    b
}

#[test]
fn the_type_is_read_from_the_bytes_not_the_name() {
    assert_eq!(sniff(&png(3, 2)), Some("image/png"));
    assert_eq!(sniff(b"%PDF-1.7\n..."), Some("application/pdf"));
    assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some("image/jpeg"));
    assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
    // An executable called photo.jpg is still an executable.
    assert_eq!(sniff(b"MZ\x90\0photo.jpg"), None);
    let e = Meta::describe(b"#!/bin/sh\n", "portrait", 1 << 20, "lan", "d", 0).unwrap_err();
    assert_eq!(e, AttachError::WrongType);
}

#[test]
fn a_photo_is_described_with_its_hash_type_and_pixel_size() {
    let bytes = png(640, 480);
    let m = Meta::describe(&bytes, "portrait", 1 << 20, "lan", "dev", 5).unwrap();
    assert_eq!(m.hash, sha256_hex(&bytes));
    assert!(is_hash(&m.hash));
    assert_eq!(
        (m.mime.as_str(), m.width, m.height),
        ("image/png", Some(640), Some(480))
    );
    assert_eq!(Meta::from_entry(&m.hash, &m.to_entry()), Some(m));
}

#[test]
fn a_kind_has_a_size_limit_and_unknown_kinds_are_refused() {
    let mut big = png(1, 1);
    big.resize(600 * 1024, 0);
    let e = Meta::describe(
        &big,
        "signature",
        default_max_bytes("signature"),
        "a",
        "d",
        0,
    );
    assert!(matches!(e, Err(AttachError::TooLarge { .. })));
    assert!(Meta::describe(&big, "portrait", default_max_bytes("portrait"), "a", "d", 0).is_ok());
    let e = Meta::describe(&big, "selfie", u64::MAX, "a", "d", 0).unwrap_err();
    assert_eq!(e, AttachError::UnknownKind);
}

#[test]
fn malformed_references_are_structural_errors() {
    let good = Meta::describe(
        &png(2, 2),
        "portrait",
        1 << 20,
        "lan",
        &uuid::Uuid::nil().to_string(),
        1,
    )
    .unwrap();
    assert!(entry_problems(&good.hash, &good.to_entry()).is_empty());
    assert_eq!(
        entry_problems("photo.jpg", &good.to_entry())[0].1,
        "malformed_hash"
    );
    let Value::Map(mut m) = good.to_entry() else {
        unreachable!()
    };
    m.insert("mime".into(), Value::from("text/html"));
    m.insert("size".into(), Value::Int(-1));
    m.insert("path".into(), Value::from("/sdcard/x.jpg"));
    let codes: Vec<_> = entry_problems(&good.hash, &Value::Map(m))
        .into_iter()
        .map(|p| p.1)
        .collect();
    assert_eq!(
        codes,
        ["invalid_enum_value", "unknown_field", "out_of_range"]
    );
}

#[test]
fn chunks_cover_the_blob_exactly() {
    use transfer::{chunk_count, chunk_range};
    let size = 3 * CHUNK_BYTES as u64 + 5;
    assert_eq!(chunk_count(size), 4);
    assert_eq!(chunk_range(size, 3), 3 * CHUNK_BYTES as u64..size);
    assert_eq!(chunk_count(CHUNK_BYTES as u64), 1);
}
