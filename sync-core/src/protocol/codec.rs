//! CBOR encoding and content (de)compression of protocol messages.

use std::io::Read;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{PROTOCOL_VERSION, SyncReply, SyncRequest};

/// Why a message could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// Not valid CBOR of the expected shape (garbage, truncated, wrongly typed).
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A version this implementation does not speak.
    #[error("unsupported protocol version {0} (this side speaks {PROTOCOL_VERSION})")]
    UnsupportedVersion(u32),
    /// The decompressed body would exceed the allowed size.
    #[error("message larger than {0} bytes once decompressed")]
    TooLarge(usize),
    /// The compressed stream is corrupt.
    #[error("corrupt compressed body")]
    BadCompression,
    /// A `Content-Encoding` this implementation does not know.
    #[error("unsupported content encoding `{0}`")]
    UnknownEncoding(String),
}

/// Content encoding of a request or reply body (`Content-Encoding` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// No compression.
    Identity,
    /// `gzip`.
    Gzip,
    /// `zstd`.
    Zstd,
}

impl Encoding {
    /// Parses a `Content-Encoding` value; absent or empty means identity.
    pub fn parse(header: Option<&str>) -> Result<Encoding, ProtocolError> {
        match header.map(str::trim).unwrap_or("") {
            "" | "identity" => Ok(Encoding::Identity),
            "gzip" | "x-gzip" => Ok(Encoding::Gzip),
            "zstd" => Ok(Encoding::Zstd),
            other => Err(ProtocolError::UnknownEncoding(
                other.chars().take(32).collect(),
            )),
        }
    }

    /// The header value, or `None` for identity.
    pub fn header(self) -> Option<&'static str> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some("gzip"),
            Encoding::Zstd => Some("zstd"),
        }
    }

    /// Picks the best encoding a client accepts from an `Accept-Encoding` header, honouring
    /// q-values (RFC 9110 §12.5.3): the coding with the highest q wins, `q=0` means "not
    /// acceptable", `*` stands for every coding not named, names are case-insensitive, and
    /// on equal q the server prefers zstd, then gzip, then identity. Identity, when not named,
    /// is acceptable but ranks below any named coding. A malformed q counts as 1.
    pub fn negotiate(accept: Option<&str>) -> Encoding {
        // q in thousandths, so it compares exactly.
        let mut named: Vec<(String, u16)> = Vec::new();
        for part in accept.unwrap_or("").split(',') {
            let mut pieces = part.split(';');
            let name = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            if name.is_empty() {
                continue;
            }
            let q = pieces
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                .map_or(1000, |(_, v)| parse_q(v.trim()));
            named.push((name, q));
        }
        let q_of = |name: &str| -> Option<u16> {
            named
                .iter()
                .find(|(n, _)| n == name)
                .or_else(|| named.iter().find(|(n, _)| n == "*"))
                .map(|(_, q)| *q)
        };
        let candidates = [
            (Encoding::Zstd, q_of("zstd").unwrap_or(0)),
            (Encoding::Gzip, q_of("gzip").unwrap_or(0)),
            // Identity, unless named (or `*`), is acceptable at the lowest rank.
            (Encoding::Identity, q_of("identity").unwrap_or(1)),
        ];
        candidates
            .into_iter()
            .filter(|(_, q)| *q > 0)
            // Stable on ties, and the list is in server preference order.
            .fold(None::<(Encoding, u16)>, |best, c| match best {
                Some(b) if b.1 >= c.1 => Some(b),
                _ => Some(c),
            })
            .map_or(Encoding::Identity, |(e, _)| e)
    }
}

/// A q-value (`0`, `0.5`, `1.000`) in thousandths; malformed values count as 1.
fn parse_q(v: &str) -> u16 {
    let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if !matches!(whole, "0" | "1") || frac.len() > 3 || !digits(frac) {
        return 1000;
    }
    let frac: u16 = format!("{frac:0<3}").parse().unwrap_or(0);
    if whole == "1" { 1000 } else { frac }
}

/// Compresses a body.
pub fn compress(bytes: &[u8], encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Identity => bytes.to_vec(),
        Encoding::Gzip => {
            use std::io::Write;
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            // Writing into a Vec cannot fail.
            let _ = enc.write_all(bytes);
            enc.finish().unwrap_or_default()
        }
        // Level 9 is still fast at these sizes and matters on 2G.
        Encoding::Zstd => zstd::bulk::compress(bytes, 9).unwrap_or_default(),
    }
}

/// Decompresses a body, refusing to produce more than `limit` bytes (zip bombs).
pub fn decompress(
    bytes: &[u8],
    encoding: Encoding,
    limit: usize,
) -> Result<Vec<u8>, ProtocolError> {
    let mut out = Vec::new();
    let read = match encoding {
        Encoding::Identity => {
            if bytes.len() > limit {
                return Err(ProtocolError::TooLarge(limit));
            }
            return Ok(bytes.to_vec());
        }
        // Every member of a multi-member gzip stream (RFC 1952 §2.2), not only the first.
        Encoding::Gzip => flate2::read::MultiGzDecoder::new(bytes)
            .take(limit as u64 + 1)
            .read_to_end(&mut out),
        Encoding::Zstd => {
            if let Some(out) = zstd_small(bytes, limit) {
                return Ok(out);
            }
            match zstd::stream::read::Decoder::new(bytes) {
                Ok(dec) => dec.take(limit as u64 + 1).read_to_end(&mut out),
                Err(e) => Err(e),
            }
        }
    };
    read.map_err(|_| ProtocolError::BadCompression)?;
    if out.len() > limit {
        return Err(ProtocolError::TooLarge(limit));
    }
    Ok(out)
}

/// Bodies that declare a decompressed size up to this are decompressed in one call with a
/// reused context ([`zstd_small`]); others (and any that fail that way) stream.
const ZSTD_ONE_SHOT: u64 = 1 << 20;

thread_local! {
    static ZSTD_D: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// A single zstd frame that declares its size (what `zstd` writes, and the phone sends),
/// decompressed with this thread's reused context: a new streaming decoder allocates its
/// window buffers on every request, which a CPU profile of the server showed at ≈ 4% of
/// its CPU. `None` when the frame declares no size, more than [`ZSTD_ONE_SHOT`] or more
/// than `limit`, or does not decompress to exactly that size (several frames, corruption):
/// the caller then streams it, with the limit enforced as it goes.
fn zstd_small(bytes: &[u8], limit: usize) -> Option<Vec<u8>> {
    let declared = zstd::zstd_safe::get_frame_content_size(bytes).ok()??;
    if declared > ZSTD_ONE_SHOT || declared > limit as u64 {
        return None;
    }
    let out = ZSTD_D.with(|slot| {
        let mut slot = slot.borrow_mut();
        let d = match slot.as_mut() {
            Some(d) => d,
            None => slot.insert(zstd::bulk::Decompressor::new().ok()?),
        };
        d.decompress(bytes, declared as usize).ok()
    })?;
    (out.len() as u64 == declared).then_some(out)
}

fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // Serialising plain structs into a Vec cannot fail.
    let _ = ciborium::into_writer(msg, &mut out);
    out
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ProtocolError> {
    ciborium::from_reader(bytes).map_err(|e| ProtocolError::Malformed(short(&e.to_string())))
}

fn short(s: &str) -> String {
    s.chars().take(120).collect()
}

/// Encodes a request as CBOR.
pub fn encode_request(req: &SyncRequest) -> Vec<u8> {
    encode(req)
}

/// Decodes a CBOR request and checks its version.
pub fn decode_request(bytes: &[u8]) -> Result<SyncRequest, ProtocolError> {
    let req: SyncRequest = decode(bytes)?;
    if req.v != PROTOCOL_VERSION {
        return Err(ProtocolError::UnsupportedVersion(req.v));
    }
    Ok(req)
}

/// Encodes a reply as CBOR.
pub fn encode_reply(reply: &SyncReply) -> Vec<u8> {
    encode(reply)
}

/// Decodes a CBOR reply and checks its version.
pub fn decode_reply(bytes: &[u8]) -> Result<SyncReply, ProtocolError> {
    let reply: SyncReply = decode(bytes)?;
    if reply.v != PROTOCOL_VERSION {
        return Err(ProtocolError::UnsupportedVersion(reply.v));
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_q_values_are_honoured() {
        let n = |h: &str| Encoding::negotiate(Some(h));
        assert_eq!(n("zstd, gzip"), Encoding::Zstd);
        assert_eq!(n("zstd;q=0, gzip"), Encoding::Gzip);
        assert_eq!(n("zstd;q=0.1, gzip;q=0.8"), Encoding::Gzip);
        assert_eq!(n("gzip;q=0.5, zstd;q=0.5"), Encoding::Zstd);
        assert_eq!(n("GZIP"), Encoding::Gzip);
        assert_eq!(n("*"), Encoding::Zstd);
        assert_eq!(n("*;q=0.2, zstd;q=0"), Encoding::Gzip);
        assert_eq!(n("identity, zstd;q=0.5"), Encoding::Identity);
        assert_eq!(n("gzip;q=0, zstd;q=0"), Encoding::Identity);
        assert_eq!(n("br"), Encoding::Identity);
        assert_eq!(Encoding::negotiate(None), Encoding::Identity);
        assert_eq!(n("gzip; q=0.9 , zstd ; q=1.0"), Encoding::Zstd);
        assert_eq!(n("zstd;q=abc"), Encoding::Zstd);
    }
    use crate::protocol::{DeviceStatus, PullEntry, PushRecord, SensitiveWrite, SyncReply};
    use proptest::prelude::*;
    use serde_bytes::ByteBuf;
    use std::collections::BTreeMap;
    use uuid::Uuid;

    fn request() -> SyncRequest {
        SyncRequest {
            v: PROTOCOL_VERSION,
            device_id: Uuid::now_v7(),
            cursors: BTreeMap::from([("07132".into(), 42)]),
            push: vec![PushRecord {
                record: Uuid::now_v7(),
                kind: "citizen".into(),
                unit: "07132".into(),
                changes: vec![ByteBuf::from(vec![1, 2, 3])],
            }],
            max_bytes: 65536,
            status: DeviceStatus::default(),
            resync: vec![],
            sensitive: Vec::new(),
        }
    }

    #[test]
    fn a_sensitive_write_survives_encoding_and_a_value_nested_too_deep_is_refused_not_a_crash() {
        let mut req = request();
        req.sensitive = vec![SensitiveWrite {
            id: Uuid::now_v7(),
            record: Uuid::now_v7(),
            field: "religion".into(),
            value: Some(crate::model::Value::Text("PLACEHOLDER".into())),
            at_ms: 1,
        }];
        let bytes = encode_request(&req);
        assert_eq!(decode_request(&bytes).unwrap(), req);
        // The value replaced by 100 000 nested one-entry maps: a hostile device's request.
        let marker = [&[0x6b][..], b"PLACEHOLDER"].concat();
        let at = bytes
            .windows(marker.len())
            .position(|w| w == marker)
            .unwrap();
        let mut nested = Vec::new();
        for _ in 0..100_000 {
            nested.extend([0xa1, 0x61, b'a']);
        }
        nested.push(0x01);
        let hostile = [&bytes[..at], &nested[..], &bytes[at + marker.len()..]].concat();
        assert!(decode_request(&hostile).is_err());
    }

    #[test]
    fn a_request_survives_encoding_and_every_compression() {
        let req = request();
        for enc in [Encoding::Identity, Encoding::Gzip, Encoding::Zstd] {
            let wire = compress(&encode_request(&req), enc);
            let back = decode_request(&decompress(&wire, enc, 1 << 20).unwrap()).unwrap();
            assert_eq!(back, req);
        }
    }

    #[test]
    fn a_reply_survives_encoding() {
        let mut reply = SyncReply::empty(7);
        reply.pull.push(PullEntry {
            record: Uuid::now_v7(),
            kind: "household".into(),
            unit: "07135".into(),
            changes: vec![],
            snapshot: Some(ByteBuf::from(vec![9; 10])),
            lineage: 0,
            replace: false,
            redacted: Vec::new(),
        });
        reply.more = true;
        assert_eq!(decode_reply(&encode_reply(&reply)).unwrap(), reply);
    }

    /// `ActorInfo` as servers and clients before display names had it.
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct ActorInfoBeforeDisplayNames {
        actor: ByteBuf,
        user: String,
        device_name: String,
    }

    #[test]
    fn actor_entries_with_and_without_display_names_interoperate_with_older_peers() {
        let new = crate::protocol::ActorInfo {
            actor: ByteBuf::from(vec![1; 16]),
            user: "lan".into(),
            display_name: Some("Nguyễn Thị Lan".into()),
            device_name: "Phone A".into(),
        };
        // An older client reads a new server's entry, ignoring the display name.
        let old: ActorInfoBeforeDisplayNames = decode(&encode(&new)).unwrap();
        assert_eq!(
            (old.user.as_str(), old.device_name.as_str()),
            ("lan", "Phone A")
        );
        // A new client reads an older server's entry: no display name (it shows `user`).
        let back: crate::protocol::ActorInfo = decode(&encode(&old)).unwrap();
        assert_eq!(back.display_name, None);
        assert_eq!(back.user, "lan");
        let mut reply = SyncReply::empty(1);
        reply.actors.push(new);
        assert_eq!(decode_reply(&encode_reply(&reply)).unwrap(), reply);
    }

    #[test]
    fn another_protocol_version_is_refused_clearly() {
        let mut req = request();
        req.v = 2;
        let err = decode_request(&encode_request(&req)).unwrap_err();
        assert!(matches!(err, ProtocolError::UnsupportedVersion(2)));
    }

    #[test]
    fn every_truncation_of_a_valid_request_is_an_error() {
        let bytes = encode_request(&request());
        for cut in 0..bytes.len() {
            assert!(decode_request(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn a_gzip_body_of_several_members_is_read_whole() {
        let req = request();
        let plain = encode_request(&req);
        let (head, tail) = plain.split_at(plain.len() / 2);
        let mut wire = compress(head, Encoding::Gzip);
        wire.extend(compress(tail, Encoding::Gzip));
        let back = decompress(&wire, Encoding::Gzip, 1 << 20).unwrap();
        assert_eq!(back, plain);
        assert_eq!(decode_request(&back).unwrap(), req);
    }

    #[test]
    fn a_zstd_body_of_several_frames_is_read_whole_not_only_its_declared_first_frame() {
        let plain: Vec<u8> = (0..50_000u32).map(|i| (i % 97) as u8).collect();
        let (head, tail) = plain.split_at(20_000);
        let mut wire = compress(head, Encoding::Zstd);
        wire.extend(compress(tail, Encoding::Zstd));
        assert_eq!(decompress(&wire, Encoding::Zstd, 1 << 20).unwrap(), plain);
        // One frame, decompressed with the reused context, twice on the same thread.
        for _ in 0..2 {
            let one = compress(&plain, Encoding::Zstd);
            assert_eq!(decompress(&one, Encoding::Zstd, 1 << 20).unwrap(), plain);
        }
    }

    #[test]
    fn a_zstd_frame_declaring_more_than_the_limit_is_refused() {
        let wire = compress(&vec![7u8; 100_000], Encoding::Zstd);
        assert!(matches!(
            decompress(&wire, Encoding::Zstd, 99_999),
            Err(ProtocolError::TooLarge(99_999))
        ));
        assert_eq!(
            decompress(&wire, Encoding::Zstd, 100_000).unwrap().len(),
            100_000
        );
    }

    #[test]
    fn a_multi_member_gzip_bomb_is_stopped_at_the_limit() {
        let member = compress(&vec![0u8; 1 << 20], Encoding::Gzip);
        let wire: Vec<u8> = std::iter::repeat_n(member, 3).flatten().collect();
        assert!(matches!(
            decompress(&wire, Encoding::Gzip, 2 << 20),
            Err(ProtocolError::TooLarge(_))
        ));
    }

    #[test]
    fn a_decompression_bomb_is_stopped_at_the_limit() {
        let big = vec![0u8; 10 << 20];
        for enc in [Encoding::Gzip, Encoding::Zstd, Encoding::Identity] {
            let wire = compress(&big, enc);
            assert!(matches!(
                decompress(&wire, enc, 1 << 20),
                Err(ProtocolError::TooLarge(_))
            ));
        }
    }

    #[test]
    fn unknown_content_encodings_are_named_in_the_error() {
        assert!(matches!(
            Encoding::parse(Some("br")),
            Err(ProtocolError::UnknownEncoding(e)) if e == "br"
        ));
        // The client prefers gzip (q=1) to zstd (q=0.9): honoured.
        assert_eq!(
            Encoding::negotiate(Some("gzip, zstd;q=0.9")),
            Encoding::Gzip
        );
        assert_eq!(Encoding::negotiate(None), Encoding::Identity);
    }

    proptest! {
        #[test]
        fn garbage_never_panics_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_request(&bytes);
            let _ = decode_reply(&bytes);
            let _ = decompress(&bytes, Encoding::Gzip, 4096);
            let _ = decompress(&bytes, Encoding::Zstd, 4096);
        }

        #[test]
        fn flipped_bytes_in_a_valid_request_never_panic(pos in 0usize..200, val in any::<u8>()) {
            let mut bytes = encode_request(&request());
            let i = pos % bytes.len();
            bytes[i] = val;
            let _ = decode_request(&bytes);
        }
    }
}
