//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the same functions the
//! fuzz targets drive (`sync_core::check::fuzz`), so every input ever found interesting —
//! and every hostile input of issue 10 — runs on every `cargo test`, on the stable toolchain.
//!
//! Inputs named `attack-*` must be refused; inputs named `valid-*` must pass; inputs named
//! `found-*` (found by a fuzzer, see `fuzz/README.md`) must come back without a panic, and
//! pushed ones refused.

use std::path::{Path, PathBuf};

use sync_core::check::fuzz;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("corpus entry").path();
            (name(&path), std::fs::read(&path).expect("corpus file"))
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the {target} corpus is empty");
    files
}

fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Runs `f` on a thread with the stack of a tokio blocking thread (2 MiB), as on the server.
fn on_server_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .expect("thread")
        .join()
        .expect("no panic")
}

#[test]
fn every_request_in_the_corpus_decodes_or_is_refused_without_panicking() {
    for (name, data) in corpus("request") {
        let pushed = on_server_stack(move || fuzz::request(&data));
        // Attacks may decode (their records are refused later) or be refused here.
        if name.starts_with("valid-") || name == "multi-member-gzip" {
            assert_eq!(pushed, Some(1), "{name} decodes as a one-record push");
        }
    }
}

#[test]
fn every_document_in_the_corpus_loads_or_is_refused_without_panicking() {
    for (name, data) in corpus("document") {
        let read = on_server_stack(move || fuzz::document(&data));
        if name.starts_with("valid-") {
            assert!(read, "{name} reads as a record");
        }
        if name.starts_with("attack-") || name.starts_with("found-") {
            assert!(!read, "{name} is refused");
        }
    }
}

#[test]
fn every_pushed_change_in_the_corpus_is_judged_and_every_attack_refused() {
    let mut attacks = 0;
    for (name, data) in corpus("push") {
        let label = name.clone();
        let verdict = on_server_stack(move || fuzz::push(&data));
        if name.starts_with("valid-") {
            assert!(verdict.is_ok(), "{label}: {verdict:?}");
        }
        if name.starts_with("attack-") {
            attacks += 1;
            assert!(verdict.is_err(), "{label} must be refused");
        }
        // Inputs a fuzzer found (each made Automerge panic): refused, not a crash.
        if name.starts_with("found-") {
            assert!(verdict.is_err(), "{label} must be refused");
        }
    }
    assert!(attacks >= 5, "the issue's attacks are in the corpus");
}

#[test]
fn a_change_naming_an_actor_it_does_not_list_is_refused_as_malformed() {
    // Found by the `push` target in CI: Automerge's `Change::try_from` accepts an operation
    // whose object names actor 5 of a change listing one actor, and `Change::decode` then
    // panics on the lookup. The push checks expand changes under `catch_unwind`.
    let data = corpus("push")
        .into_iter()
        .find(|(name, _)| name == "found-automerge-decode-unlisted-actor-panic")
        .map(|(_, data)| data)
        .expect("the input is in the corpus");
    let verdict = on_server_stack(move || fuzz::push(&data));
    let violation = verdict.expect_err("refused");
    assert_eq!(
        violation.code,
        sync_core::protocol::RejectCode::Malformed,
        "{violation:?}"
    );
}
