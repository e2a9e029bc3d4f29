//! Pushed-change checking: kind selector byte + one change, judged as the server does.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = sync_core::check::fuzz::push(data);
});
