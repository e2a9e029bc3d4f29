//! Prefetch of small kinds and the upload counts of the device status, on replicas fed by
//! hand-built replies and a transport serving blobs from memory.

use std::cell::Cell;
use std::collections::HashMap;

use serde_bytes::ByteBuf;
use uuid::Uuid;

use super::local::{self, TransferState};
use super::tests::png;
use super::transfer::{TransferError, Transport, UploadState};
use crate::model::{Fields, Kind, Value};
use crate::protocol::{PullEntry, SyncReply};
use crate::replica::{Replica, ReplicaError, SyncOptions};

const NOW: i64 = 1_767_225_600_000;

fn citizen() -> Fields {
    Fields::from([
        ("full_name".into(), Value::from("Trần Thị Lan")),
        ("date_of_birth".into(), Value::from("1985-03-02")),
        ("sex".into(), Value::from("female")),
        ("id_number".into(), Value::from("022085001234")),
        ("status".into(), Value::from("active")),
    ])
}

/// A PDF-looking scan of `len` bytes.
fn scan(len: usize) -> Vec<u8> {
    let mut b = b"%PDF-1.7\n".to_vec();
    b.resize(len, b'x');
    b
}

/// Blobs served from memory; `down` makes every call a link failure, `lie` serves other
/// bytes for one hash.
#[derive(Default)]
struct Served {
    blobs: HashMap<String, Vec<u8>>,
    down: bool,
    lie: Option<String>,
    ranges: Cell<usize>,
}

impl Transport for Served {
    fn upload_state(&self, _: &str, _: &str) -> Result<UploadState, TransferError> {
        Err(TransferError::Unknown)
    }
    fn put_chunk(
        &self,
        _: &str,
        _: &str,
        _: u64,
        _: u64,
        _: &[u8],
    ) -> Result<UploadState, TransferError> {
        Err(TransferError::Unknown)
    }
    fn get_range(&self, _: &str, h: &str, from: u64, to: u64) -> Result<Vec<u8>, TransferError> {
        self.ranges.set(self.ranges.get() + 1);
        if self.down {
            return Err(TransferError::Link("no signal".into()));
        }
        let b = self.blobs.get(h).ok_or(TransferError::Unknown)?;
        let mut out = b[from as usize..to as usize].to_vec();
        if self.lie.as_deref() == Some(h) {
            out[0] ^= 0xFF;
        }
        Ok(out)
    }
}

/// Phone A with a record holding a signature (PNG) and a 600 KiB scan, and the transport
/// serving both: (phone A, record, signature hash, scan hash, transport).
fn phone_a(dir: &tempfile::TempDir) -> (Replica, Uuid, String, String, Served) {
    let a = Replica::open(&dir.path().join("a.db"), None).unwrap();
    let id = a
        .create(Kind::Citizen, "07132", citizen(), NOW)
        .unwrap()
        .record
        .id;
    let (sig, doc) = (png(300, 100), scan(600 * 1024));
    let s = local::attach(&a, id, &sig, "signature", "lan", NOW).unwrap();
    let d = local::attach(&a, id, &doc, "document_scan", "lan", NOW).unwrap();
    let served = Served {
        blobs: HashMap::from([(s.hash.clone(), sig), (d.hash.clone(), doc)]),
        ..Served::default()
    };
    (a, id, s.hash, d.hash, served)
}

/// Merges `from`'s document of `id` into `to`, as a sync reply pulling it would.
fn pull(from: &Replica, to: &Replica, id: Uuid) {
    let mut reply = SyncReply::empty(NOW);
    reply.pull.push(PullEntry {
        record: id,
        kind: "citizen".into(),
        unit: "07132".into(),
        changes: vec![],
        snapshot: Some(ByteBuf::from(
            from.document(id).unwrap().unwrap().save_uncompressed(),
        )),
        lineage: 0,
        replace: false,
        redacted: Vec::new(),
    });
    to.apply_reply(&reply, NOW).unwrap();
}

fn states(r: &Replica, id: Uuid) -> HashMap<String, TransferState> {
    local::list(r, id)
        .unwrap()
        .into_iter()
        .map(|v| (v.meta.hash, v.state))
        .collect()
}

fn rows(r: &Replica) -> i64 {
    r.pool()
        .read(|c| c.query_row("SELECT count(*) FROM attachment_blobs", [], |r| r.get(0)))
        .unwrap()
}

fn signatures() -> Vec<String> {
    vec!["signature".to_owned()]
}

#[test]
fn a_pulled_records_small_signature_is_prefetched_and_its_large_scan_left_remote() {
    let dir = tempfile::tempdir().unwrap();
    let (a, id, sig, doc, served) = phone_a(&dir);
    let b = Replica::open(&dir.path().join("b.db"), None).unwrap();
    assert!(!local::prefetch(&b).unwrap().is_on(), "off by default");
    assert_eq!(
        local::set_prefetch(&b, &signatures(), 512 * 1024).unwrap(),
        0
    );
    pull(&a, &b, id);
    assert_eq!(rows(&b), 1, "the signature is queued, the scan is not");
    assert_eq!(
        states(&b, id)[&sig],
        TransferState::Remote,
        "queued reads Remote"
    );
    assert!(
        local::due_uploads(&b, i64::MAX).unwrap().is_empty(),
        "never uploaded"
    );

    let mut seen = Vec::new();
    let report = local::prefetch_due(&b, &served, &mut |h, done, size| {
        seen.push((h.to_owned(), done, size))
    })
    .unwrap();
    assert_eq!((report.fetched, report.failed, report.left), (1, 0, 0));
    assert_eq!(seen.last().map(|s| s.0.as_str()), Some(sig.as_str()));
    assert_eq!(
        local::bytes(&b, id, &sig).unwrap().as_deref(),
        served.blobs.get(&sig).map(Vec::as_slice),
        "byte-identical"
    );
    let now = states(&b, id);
    assert_eq!(
        (now[&sig], now[&doc]),
        (TransferState::Available, TransferState::Remote)
    );
    // A second run has nothing left to do and asks the server nothing.
    let asked = served.ranges.get();
    let again = local::prefetch_due(&b, &served, &mut |_, _, _| {}).unwrap();
    assert_eq!(
        (again.fetched, again.left, served.ranges.get()),
        (0, 0, asked)
    );
}

#[test]
fn setting_prefetch_queues_the_records_already_on_the_phone_and_narrowing_it_unqueues() {
    let dir = tempfile::tempdir().unwrap();
    let (a, id, _, doc, served) = phone_a(&dir);
    let b = Replica::open(&dir.path().join("b.db"), None).unwrap();
    pull(&a, &b, id);
    assert_eq!(rows(&b), 0, "prefetch off: nothing is queued on merge");
    let all = vec!["signature".to_owned(), "document_scan".to_owned()];
    assert_eq!(local::set_prefetch(&b, &all, 1 << 20).unwrap(), 2);
    assert_eq!(
        local::prefetch(&b).unwrap(),
        local::Prefetch {
            kinds: vec!["document_scan".into(), "signature".into()],
            max_bytes: 1 << 20
        }
    );
    assert_eq!(local::set_prefetch(&b, &signatures(), 1 << 20).unwrap(), 1);
    let report = local::prefetch_due(&b, &served, &mut |_, _, _| {}).unwrap();
    assert_eq!(report.fetched, 1);
    assert_eq!(states(&b, id)[&doc], TransferState::Remote);
    // Off: the queue is emptied, what was fetched stays.
    assert_eq!(local::set_prefetch(&b, &[], 0).unwrap(), 0);
    assert_eq!(rows(&b), 1);
    // An unknown kind is refused and the setting is kept as it was.
    let e = local::set_prefetch(&b, &["selfie".to_owned()], 1).unwrap_err();
    assert!(matches!(e, ReplicaError::Invalid(_)), "{e:?}");
    assert!(!local::prefetch(&b).unwrap().is_on());
}

#[test]
fn a_link_failure_stops_the_run_and_a_mismatch_fails_only_its_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (a, id, sig, doc, mut served) = phone_a(&dir);
    let b = Replica::open(&dir.path().join("b.db"), None).unwrap();
    let both = vec!["signature".to_owned(), "document_scan".to_owned()];
    local::set_prefetch(&b, &both, 1 << 20).unwrap();
    pull(&a, &b, id);

    served.down = true;
    let cut = local::prefetch_due(&b, &served, &mut |_, _, _| {}).unwrap();
    assert_eq!((cut.fetched, cut.failed, cut.left), (0, 0, 2));
    assert_eq!(
        served.ranges.get(),
        1,
        "the run stopped at the first link failure"
    );

    // The smaller one (the signature) comes first; its bytes arrive corrupted.
    served.down = false;
    served.lie = Some(sig.clone());
    let r = local::prefetch_due(&b, &served, &mut |_, _, _| {}).unwrap();
    assert_eq!((r.fetched, r.failed, r.left), (1, 1, 0));
    let now = states(&b, id);
    assert_eq!(
        (now[&sig], now[&doc]),
        (TransferState::Remote, TransferState::Available)
    );
    // A failed entry is not tried again by the next run, but on demand it still can be.
    served.lie = None;
    let next = local::prefetch_due(&b, &served, &mut |_, _, _| {}).unwrap();
    assert_eq!((next.fetched, next.failed, next.left), (0, 0, 0));
    local::fetch(&b, &served, id, &sig, &mut |_, _| {}).unwrap();
    assert_eq!(states(&b, id)[&sig], TransferState::Available);
}

#[test]
fn a_queued_prefetch_leaves_with_its_reference_or_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let (a, id, sig, _, served) = phone_a(&dir);
    let b = Replica::open(&dir.path().join("b.db"), None).unwrap();
    local::set_prefetch(&b, &signatures(), 1 << 20).unwrap();
    pull(&a, &b, id);
    assert_eq!(rows(&b), 1);
    // The reference is removed on A and the edit pulled: the queued row is swept.
    let edit = crate::doc::Edit::RemoveEntry {
        field: super::FIELD.into(),
        key: sig.clone(),
    };
    a.update(id, &[edit], NOW).unwrap();
    pull(&a, &b, id);
    assert_eq!(rows(&b), 1, "kept until the sweep");
    let report = local::prefetch_due(&b, &served, &mut |_, _, _| {}).unwrap();
    assert_eq!(
        (report.fetched, report.left),
        (0, 0),
        "an unreferenced entry is dropped"
    );
    assert_eq!(rows(&b), 0);

    // A record purged from the phone takes its queued prefetches along.
    let c = Replica::open(&dir.path().join("c.db"), None).unwrap();
    local::set_prefetch(&c, &["document_scan".to_owned()], 1 << 20).unwrap();
    pull(&a, &c, id);
    assert_eq!(rows(&c), 1);
    let mut purge = SyncReply::empty(NOW);
    purge.purge.push(crate::protocol::Purge::Record(id));
    c.apply_reply(&purge, NOW).unwrap();
    assert_eq!(rows(&c), 0);
}

#[test]
fn the_device_status_counts_refused_and_unfinished_uploads() {
    let dir = tempfile::tempdir().unwrap();
    let (a, id, sig, _, _) = phone_a(&dir);
    let status = |r: &Replica| r.prepare_sync(&SyncOptions::default()).unwrap().status;
    let s = status(&a);
    assert_eq!((s.attachments_failed, s.attachments_pending), (0, 2));
    a.pool()
        .write(|tx| -> Result<_, crate::store::StoreError> {
            Ok(tx.execute(
                "UPDATE attachment_blobs SET error = 'too_large' WHERE hash = ?1",
                [&sig],
            )?)
        })
        .unwrap();
    let s = status(&a);
    assert_eq!((s.attachments_failed, s.attachments_pending), (1, 1));
    assert_eq!(local::list(&a, id).unwrap().len(), 2);
    // Prefetched and fetched blobs are not uploads: another phone reports none.
    let b = Replica::open(&dir.path().join("b.db"), None).unwrap();
    local::set_prefetch(&b, &signatures(), 1 << 20).unwrap();
    pull(&a, &b, id);
    let s = status(&b);
    assert_eq!((s.attachments_failed, s.attachments_pending), (0, 0));
    // Both are omitted from the request when 0 (older servers never see them).
    let json = serde_json::to_value(&s).unwrap();
    assert!(json.get("attachments_failed").is_none(), "{json}");
}
