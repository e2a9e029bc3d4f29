//! Pushed-change checking: kind selector byte + one change, judged as the server does.
#![no_main]

libfuzzer_sys::fuzz_target!(init: ferry_fuzz::judge_panics_by_unwinding(), |data: &[u8]| {
    ferry_fuzz::run(|| sync_core::check::fuzz::push(data));
});
