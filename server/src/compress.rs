//! Reply compression with a reused zstd context per thread and a lower level for small
//! replies (a CPU profile of the sync path showed level-9 compression with a new context per
//! reply at ≈ 10% of the server's CPU; small replies gain almost nothing from level 9).
//! Gzip and identity go through `sync_core::protocol::compress`.

use std::cell::RefCell;

use sync_core::protocol::{self, Encoding};

/// Replies up to this size (encoded CBOR) are compressed at [`SMALL_LEVEL`].
pub const SMALL_REPLY: usize = 64 * 1024;
/// The zstd level of small replies.
pub const SMALL_LEVEL: i32 = 3;
/// The zstd level of larger replies (cold pulls: bytes matter on slow links).
pub const LARGE_LEVEL: i32 = 9;

thread_local! {
    static ZSTD: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
}

/// Compresses a reply body for `encoding`.
pub fn compress(plain: &[u8], encoding: Encoding) -> Vec<u8> {
    if encoding != Encoding::Zstd {
        return protocol::compress(plain, encoding);
    }
    let level = if plain.len() <= SMALL_REPLY {
        SMALL_LEVEL
    } else {
        LARGE_LEVEL
    };
    let reused = ZSTD.with(|slot| -> std::io::Result<Vec<u8>> {
        let mut slot = slot.borrow_mut();
        let c = match slot.as_mut() {
            Some(c) => c,
            None => slot.insert(zstd::bulk::Compressor::new(level)?),
        };
        c.set_compression_level(level)?;
        c.compress(plain)
    });
    // A context that cannot be set up falls back to a one-off compression.
    reused.unwrap_or_else(|_| protocol::compress(plain, encoding))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_replies_round_trip_through_the_reused_context() {
        for len in [10, SMALL_REPLY + 1, 10, 300_000] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let wire = compress(&plain, Encoding::Zstd);
            let back = protocol::decompress(&wire, Encoding::Zstd, 1 << 24).unwrap();
            assert_eq!(back, plain);
        }
    }
}
