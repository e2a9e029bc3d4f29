//! Request decoding: content encoding selector byte + body, as `POST /v1/sync` reads it.
#![no_main]

libfuzzer_sys::fuzz_target!(init: ferry_fuzz::judge_panics_by_unwinding(), |data: &[u8]| {
    ferry_fuzz::run(|| sync_core::check::fuzz::request(data));
});
