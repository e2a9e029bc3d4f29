//! Entry points of the fuzz targets (`fuzz/fuzz_targets/`) and of the corpus replay test
//! (`sync-core/tests/fuzz_corpus.rs`): each takes arbitrary bytes and runs them through the
//! functions the server and the phone use on input from the network. None may panic, abort
//! or allocate without bound, whatever the bytes.

use std::collections::BTreeSet;

use super::limits::MAX_OPS_PER_PUSH;
use super::{Violation, check_changes, count_push_ops, judge};
use crate::doc::{self, RecordDoc};
use crate::model::{self, Kind, Role, ValidationContext};
use crate::protocol::{self, Encoding};

/// Largest decompressed body the request target accepts (the server allows 16 MiB; a fuzzer
/// gains nothing from more than this).
const FUZZ_BODY_LIMIT: usize = 1 << 20;

/// Request decoding, as `POST /v1/sync` runs it: the first byte picks the content encoding
/// (identity, gzip, zstd), the rest is the body; it is decompressed with a limit, decoded
/// as a `SyncRequest`, and its pushed operations are counted from the changes' metadata.
/// Returns the number of pushed records, or `None` when the body is refused.
pub fn request(data: &[u8]) -> Option<usize> {
    let (&selector, body) = data.split_first()?;
    let encoding = match selector % 3 {
        0 => Encoding::Identity,
        1 => Encoding::Gzip,
        _ => Encoding::Zstd,
    };
    let plain = protocol::decompress(body, encoding, FUZZ_BODY_LIMIT).ok()?;
    let req = protocol::decode_request(&plain).ok()?;
    let _ = count_push_ops(&req.push, MAX_OPS_PER_PUSH);
    Some(req.push.len())
}

/// Record document loading, as the phone applies a pulled snapshot: load, read, conflicts
/// and history. Returns whether the bytes read as a record.
pub fn document(data: &[u8]) -> bool {
    let Ok(doc) = RecordDoc::load(data) else {
        return false;
    };
    let read = doc.read().is_ok();
    let _ = doc.conflicts();
    if read {
        let _ = doc.history();
    }
    read
}

/// Pushed-change checking, in the server's order (`server/src/sync.rs`): the first byte
/// picks the record kind, the rest is one change pushed as a new record by an officer of the
/// record's unit. The change is decoded (bounded), checked operation by operation, applied,
/// read, validated and judged. `Ok` means the server would store it.
pub fn push(data: &[u8]) -> Result<(), Violation> {
    let (&selector, bytes) = data
        .split_first()
        .ok_or_else(|| Violation::malformed("empty input"))?;
    let kind = Kind::ALL[selector as usize % Kind::ALL.len()];
    let change =
        doc::decode_change(bytes).map_err(|_| Violation::malformed("not an Automerge change"))?;
    let base = RecordDoc::empty();
    check_changes(kind, &base, std::slice::from_ref(&change))?;
    let mut fork = base.fork();
    fork.apply_changes(vec![change])
        .map_err(|_| Violation::malformed("the change does not apply"))?;
    if !fork.missing_deps().is_empty() {
        return Err(Violation::new(
            crate::protocol::RejectCode::MissingDeps,
            "missing dependencies",
        ));
    }
    if fork.save_uncompressed().len() > super::limits::MAX_RECORD_BYTES {
        return Err(Violation::invalid("the record is too large"));
    }
    let after = fork.read().map_err(|e| Violation::invalid(e.to_string()))?;
    if after.kind != kind {
        return Err(Violation::malformed("the kind does not match"));
    }
    let ctx = ValidationContext::new("2026-11-26");
    model::validate(&after, &ctx).map_err(|_| Violation::invalid("invalid record"))?;
    let units = BTreeSet::from([after.unit.clone()]);
    judge(None, &fork, &after, Role::Officer, &units, &ctx)
}
