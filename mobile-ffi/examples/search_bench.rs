//! How long a phone search takes on a 50 000-record encrypted store (the figure in
//! `BENCHMARKS.md`, "phone search"):
//!
//!     cargo run -p mobile-ffi --example search_bench [records]
//!
//! Rows are written straight into the store's tables (one real document shared by every
//! row, names and ID numbers varied), so that setting up 50 000 records takes seconds; the
//! search itself runs the library's real query path (`FerryStore::search`: count, page,
//! documents of the page).

use std::time::Instant;

use mobile_ffi::{FerryStore, RecordKind};
use sync_core::doc::{Author, RecordDoc};
use sync_core::model::{Kind, Record, Value, search_key};
use sync_core::replica::Replica;
use sync_core::store::tables::{self, RecordRow};
use uuid::Uuid;

const KEY: [u8; 32] = [0x42; 32];
const FAMILY: [&str; 8] = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi"];
const MIDDLE: [&str; 6] = ["Văn", "Thị", "Đức", "Minh", "Thu", "Quang"];
const GIVEN: [&str; 10] = [
    "An", "Bình", "Chi", "Dũng", "Hà", "Lan", "Minh", "Nam", "Tú", "Yến",
];

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.db");
    let record = Record {
        id: Uuid::now_v7(),
        kind: Kind::Citizen,
        unit: "07132".into(),
        fields: [
            ("full_name".to_string(), Value::from("Nguyễn Văn An")),
            ("status".to_string(), Value::from("active")),
        ]
        .into(),
    };
    let (doc, _) = RecordDoc::create(&record, &Author::new(&[1; 16], 0)).expect("doc");
    let bytes = doc.save();
    let started = Instant::now();
    {
        let replica = Replica::open(&path, Some(&KEY)).expect("open");
        replica
            .pool()
            .write(|tx| -> Result<(), sync_core::store::StoreError> {
                for i in 0..n {
                    let name = format!(
                        "{} {} {} {i}",
                        FAMILY[i % FAMILY.len()],
                        MIDDLE[(i / 8) % MIDDLE.len()],
                        GIVEN[(i / 48) % GIVEN.len()]
                    );
                    let kind = if i % 10 == 0 {
                        "cccd_application"
                    } else {
                        "citizen"
                    };
                    tables::put_record(
                        tx,
                        &RecordRow {
                            id: Uuid::now_v7(),
                            kind: kind.into(),
                            unit: "07132".into(),
                            status: Some("active".into()),
                            doc: bytes.clone(),
                            heads: Vec::new(),
                            name_key: search_key(&name),
                            id_number: Some(format!("0220{:08}", i)),
                            other_numbers: Vec::new(),
                            person: None,
                            findings: Vec::new(),
                            updated_ms: i as i64,
                        },
                    )?;
                }
                Ok(())
            })
            .expect("fill");
    }
    println!("{n} records written in {:.1?}", started.elapsed());
    let store = FerryStore::open(path.to_string_lossy().into(), KEY.to_vec()).expect("open");
    for (label, text, kind) in [
        ("name, every kind", "nguyen van", None),
        (
            "name, citizens only",
            "nguyen van",
            Some(RecordKind::Citizen),
        ),
        ("rare name", "bui quang yen 4", None),
        ("ID number typed in groups", "022 000 012", None),
    ] {
        let mut best = f64::MAX;
        let mut total = 0;
        for _ in 0..5 {
            let t = Instant::now();
            let first = store
                .search(text.into(), kind, None, Some(20))
                .expect("search");
            let last = store
                .search(
                    text.into(),
                    kind,
                    Some(first.total.saturating_sub(20) as u32),
                    Some(20),
                )
                .expect("last page");
            best = best.min(t.elapsed().as_secs_f64() * 500.0);
            total = first.total;
            assert!(last.next_offset.is_none());
        }
        println!("{label:28} {total:6} matches  {best:7.1} ms per page of 20");
    }
}
