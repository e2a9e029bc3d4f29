//! Request decoding: content encoding selector byte + body, as `POST /v1/sync` reads it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = sync_core::check::fuzz::request(data);
});
