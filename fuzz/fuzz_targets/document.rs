//! Record document loading: load, read, conflicts and history of a snapshot.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = sync_core::check::fuzz::document(data);
});
