//! Record document loading: load, read, conflicts and history of a snapshot.
#![no_main]

libfuzzer_sys::fuzz_target!(init: ferry_fuzz::judge_panics_by_unwinding(), |data: &[u8]| {
    ferry_fuzz::run(|| sync_core::check::fuzz::document(data));
});
