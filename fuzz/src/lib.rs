//! What the three fuzz targets share: how a panic is judged.
//!
//! libFuzzer's Rust glue (`libfuzzer_sys::initialize`) installs a panic hook that aborts the
//! process at once, before unwinding. Ferry, though, deliberately catches the panics that
//! Automerge 0.12 raises on some crafted input (`sync_core::doc::decode_change` and
//! `RecordDoc::apply_changes` wrap it in `catch_unwind` and answer a refusal), so with that
//! hook every such input would be reported as a crash although the server refuses it
//! cleanly. [`judge_panics_by_unwinding`] replaces the hook with one that only remembers the
//! message; [`run`] then reports as a crash exactly the panics that reach the fuzz target,
//! i.e. the ones no Ferry code caught — which in the server would end a request thread or,
//! on the phone, the app.

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};

thread_local! {
    /// Message and location of the latest panic on this thread.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Replaces libFuzzer's aborting panic hook (call it from the target's `init:` block, which
/// runs after `libfuzzer_sys::initialize` has installed that hook). Nothing is printed for a
/// panic that Ferry catches: it is a normal outcome, like any other refusal.
pub fn judge_panics_by_unwinding() {
    panic::set_hook(Box::new(|info| {
        let message = info.to_string();
        LAST_PANIC.with(|last| *last.borrow_mut() = Some(message));
    }));
}

/// Runs one input. A panic that unwinds out of `input` was caught by no Ferry code: its
/// message is printed and the process aborts, so libFuzzer records the input as a crash.
pub fn run<T>(input: impl FnOnce() -> T) {
    if panic::catch_unwind(AssertUnwindSafe(input)).is_err() {
        let message = LAST_PANIC
            .with(|last| last.borrow_mut().take())
            .unwrap_or_else(|| "(no message)".to_owned());
        eprintln!("ferry-fuzz: a panic escaped Ferry's code: {message}");
        std::process::abort();
    }
}
