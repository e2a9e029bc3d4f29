//! Attachments: photos and scanned papers of a record (`docs/protocol.md` §11).
//!
//! An attachment is an immutable blob named by the SHA-256 of its bytes. The record's
//! document refers to it from its `attachments` set: a map keyed by the hash (64 lowercase
//! hex digits), each entry a map of [`Meta`] (kind, MIME type, size, pixel size, who, which
//! device, when). The reference is an ordinary record edit, so it syncs with the record, two
//! devices attaching concurrently merge, and a removal is a normal CRDT edit. The bytes
//! travel separately, in chunks of [`CHUNK_BYTES`] ([`transfer`]), and never hold up
//! record sync.
//!
//! The type is read from the bytes ([`sniff`]), never from a file name, and each kind has a
//! size limit ([`default_max_bytes`]; the server's are configurable).

pub mod local;
pub mod prefetch;
pub mod transfer;

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::model::Value;

/// The record field holding the attachment set.
pub const FIELD: &str = "attachments";

/// Bytes of one transfer chunk (the last chunk of a blob may be shorter).
pub const CHUNK_BYTES: usize = 64 * 1024;

/// The kinds of attachment: a portrait photo, a signature, a scanned paper, a consent
/// letter (owner's, head's or a supervising body's written consent), anything else.
pub const KINDS: &[&str] = &[
    "portrait",
    "signature",
    "document_scan",
    "consent_letter",
    "other",
];

/// The accepted types, as read from the bytes.
pub const MIME_TYPES: &[&str] = &["image/jpeg", "image/png", "image/webp", "application/pdf"];

/// No attachment of any kind is larger, whatever a server is configured to allow: the
/// structural limit of a reference's `size`.
pub const HARD_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// The default size limit of a kind: portraits and signatures are small pictures; scans and
/// letters may be multi-page PDFs.
pub fn default_max_bytes(kind: &str) -> u64 {
    match kind {
        "signature" => 512 * 1024,
        "portrait" => 4 * 1024 * 1024,
        _ => 16 * 1024 * 1024,
    }
}

/// The MIME type of `bytes` when it is one of [`MIME_TYPES`], read from the content.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

/// Width and height in pixels of an image (none for a PDF or unreadable header).
pub fn pixel_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let size = imagesize::blob_size(bytes).ok()?;
    Some((
        u32::try_from(size.width).ok()?,
        u32::try_from(size.height).ok()?,
    ))
}

/// The SHA-256 of `bytes` as 64 lowercase hex digits: an attachment's name.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether `s` is a blob name: 64 lowercase hex digits.
pub fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Why bytes cannot become an attachment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttachError {
    /// Not JPEG, PNG, WebP or PDF by content (whatever the file was called).
    #[error("the file is not a JPEG, PNG, WebP or PDF (its content was checked, not its name)")]
    WrongType,
    /// Larger than the kind allows.
    #[error("a {kind} attachment is at most {max} bytes; this one has {size}")]
    TooLarge {
        /// The attachment kind.
        kind: String,
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// Not one of [`KINDS`].
    #[error(
        "unknown attachment kind (use one of portrait, signature, document_scan, consent_letter, other)"
    )]
    UnknownKind,
    /// No bytes at all.
    #[error("an attachment cannot be empty")]
    Empty,
}

impl AttachError {
    /// The error as a structural error of the record's `attachments` field.
    pub fn structural(&self) -> crate::model::StructuralError {
        let code = match self {
            AttachError::WrongType => "wrong_attachment_type",
            AttachError::TooLarge { .. } => "attachment_too_large",
            AttachError::UnknownKind => "invalid_enum_value",
            AttachError::Empty => "empty_attachment",
        };
        crate::model::StructuralError {
            field: FIELD.to_owned(),
            code,
            message: self.to_string(),
        }
    }
}

/// An attachment's metadata, as its record's document holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Meta {
    /// SHA-256 of the bytes, 64 lowercase hex digits (the key in the set).
    pub hash: String,
    /// One of [`KINDS`].
    pub kind: String,
    /// One of [`MIME_TYPES`], read from the bytes.
    pub mime: String,
    /// Size in bytes.
    pub size: u64,
    /// Pixel width and height, for images.
    pub width: Option<u32>,
    /// See `width`.
    pub height: Option<u32>,
    /// The account that attached it.
    pub by: String,
    /// The device it was attached on (UUID text).
    pub device: String,
    /// When, ms since the Unix epoch.
    pub at_ms: i64,
}

impl Meta {
    /// Describes `bytes` as an attachment of `kind`, checking type and size (`max`: the
    /// kind's limit).
    pub fn describe(
        bytes: &[u8],
        kind: &str,
        max: u64,
        by: &str,
        device: &str,
        at_ms: i64,
    ) -> Result<Meta, AttachError> {
        if !KINDS.contains(&kind) {
            return Err(AttachError::UnknownKind);
        }
        if bytes.is_empty() {
            return Err(AttachError::Empty);
        }
        let mime = sniff(bytes).ok_or(AttachError::WrongType)?;
        let size = bytes.len() as u64;
        let max = max.min(HARD_MAX_BYTES);
        if size > max {
            return Err(AttachError::TooLarge {
                kind: kind.to_owned(),
                size,
                max,
            });
        }
        let dims = if mime.starts_with("image/") {
            pixel_size(bytes)
        } else {
            None
        };
        Ok(Meta {
            hash: sha256_hex(bytes),
            kind: kind.to_owned(),
            mime: mime.to_owned(),
            size,
            width: dims.map(|d| d.0),
            height: dims.map(|d| d.1),
            by: by.to_owned(),
            device: device.to_owned(),
            at_ms,
        })
    }

    /// The set entry written to the document (`attachments.<hash>`).
    pub fn to_entry(&self) -> Value {
        let mut m = BTreeMap::from([
            ("kind".to_owned(), Value::from(self.kind.as_str())),
            ("mime".to_owned(), Value::from(self.mime.as_str())),
            ("size".to_owned(), Value::Int(self.size as i64)),
            ("by".to_owned(), Value::from(self.by.as_str())),
            ("device".to_owned(), Value::from(self.device.as_str())),
            ("at".to_owned(), Value::Int(self.at_ms)),
        ]);
        if let (Some(w), Some(h)) = (self.width, self.height) {
            m.insert("width".to_owned(), Value::Int(i64::from(w)));
            m.insert("height".to_owned(), Value::Int(i64::from(h)));
        }
        Value::Map(m)
    }

    /// Reads one entry of the set (none when it does not have the required keys).
    pub fn from_entry(hash: &str, entry: &Value) -> Option<Meta> {
        let Value::Map(m) = entry else { return None };
        let text = |k: &str| m.get(k).and_then(Value::as_text).map(str::to_owned);
        let int = |k: &str| match m.get(k) {
            Some(Value::Int(i)) => Some(*i),
            _ => None,
        };
        Some(Meta {
            hash: hash.to_owned(),
            kind: text("kind")?,
            mime: text("mime")?,
            size: u64::try_from(int("size")?).ok()?,
            width: int("width").and_then(|w| u32::try_from(w).ok()),
            height: int("height").and_then(|h| u32::try_from(h).ok()),
            by: text("by").unwrap_or_default(),
            device: text("device").unwrap_or_default(),
            at_ms: int("at").unwrap_or(0),
        })
    }
}

/// The attachments a record's fields refer to, in hash order.
pub fn of_fields(fields: &BTreeMap<String, Value>) -> Vec<Meta> {
    let Some(Value::Map(set)) = fields.get(FIELD) else {
        return Vec::new();
    };
    set.iter()
        .filter_map(|(hash, entry)| Meta::from_entry(hash, entry))
        .collect()
}

/// The entry keys of an attachment reference and whether each holds an integer (else
/// text), with the most characters of a text value: for the operation checks
/// (`check::ops`), which judge values before a document exists.
pub fn entry_key(key: &str) -> Option<(bool, usize)> {
    Some(match key {
        "kind" | "mime" => (false, 32),
        "by" => (false, 64),
        "device" => (false, 36),
        "size" | "width" | "height" | "at" => (true, 0),
        _ => return None,
    })
}

/// Structural problems of one attachment entry, as `(path suffix, code, message)`; empty
/// when it is well formed. Used by `model::validate`.
pub fn entry_problems(hash: &str, entry: &Value) -> Vec<(String, &'static str, String)> {
    let mut out = Vec::new();
    if !is_hash(hash) {
        out.push((
            String::new(),
            "malformed_hash",
            "keys are SHA-256 hashes: 64 lowercase hex digits".to_owned(),
        ));
    }
    let Value::Map(m) = entry else {
        out.push((
            String::new(),
            "wrong_type",
            "an attachment entry is a map".to_owned(),
        ));
        return out;
    };
    for (k, v) in m {
        entry_problem(k, v, &mut out);
    }
    for required in ["kind", "mime", "size"] {
        if !m.contains_key(required) {
            out.push((
                format!(".{required}"),
                "missing_field",
                format!("an attachment entry needs `{required}`"),
            ));
        }
    }
    out
}

/// Pushes the problem of one key of an entry, if any.
fn entry_problem(k: &str, v: &Value, out: &mut Vec<(String, &'static str, String)>) {
    let path = format!(".{k}");
    let problem: Option<(&'static str, String)> = match (k, v) {
        ("kind", Value::Text(s)) if !KINDS.contains(&s.as_str()) => Some((
            "invalid_enum_value",
            format!("kind is one of {}", KINDS.join(", ")),
        )),
        ("mime", Value::Text(s)) if !MIME_TYPES.contains(&s.as_str()) => Some((
            "invalid_enum_value",
            format!("mime is one of {}", MIME_TYPES.join(", ")),
        )),
        ("size", Value::Int(n)) if *n <= 0 || *n as u64 > HARD_MAX_BYTES => Some((
            "out_of_range",
            format!("size is 1 to {HARD_MAX_BYTES} bytes"),
        )),
        ("width" | "height", Value::Int(n)) if *n <= 0 || *n > 1 << 20 => {
            Some(("out_of_range", "a pixel size is 1 to 1048576".to_owned()))
        }
        ("device", Value::Text(s)) if uuid::Uuid::try_parse(s).is_err() => {
            Some(("malformed_uuid", "device is a UUID".to_owned()))
        }
        ("by", Value::Text(s)) if s.chars().count() > 64 => {
            Some(("too_long", "by is at most 64 characters".to_owned()))
        }
        ("kind" | "mime" | "by" | "device", Value::Text(_)) => None,
        ("size" | "width" | "height" | "at", Value::Int(_)) => None,
        _ if entry_key(k).is_none() => Some((
            "unknown_field",
            "an attachment entry has kind, mime, size, width, height, by, device and at".to_owned(),
        )),
        _ => Some(("wrong_type", format!("`{k}` has the wrong type"))),
    };
    if let Some((code, message)) = problem {
        out.push((path, code, message));
    }
}

#[cfg(test)]
mod prefetch_tests;
#[cfg(test)]
mod tests;
