//! `bench-store`: how fast the replica store takes in, reloads and applies records.
//!
//! ```text
//! cargo run --release -p ferry-tests --bin bench-store -- [--records 10000] [--seed 1] [--smoke]
//! ```
//!
//! For N generated records (see `ferry_tests::gen`) it prints:
//! - bulk insert: `Replica::import` (one transaction for all) against the baseline of one
//!   `Replica::create` (one transaction) per record;
//! - reload: open the store and read every record back (rows only, and decoded from their
//!   Automerge documents);
//! - phone-side apply: pulled snapshots, in replies of the default reply budget, through
//!   `Replica::apply_reply` (with and without decoding the compressed CBOR reply), and small
//!   pulled changes to 1% of the records.

use std::time::Duration;

use ferry_tests::bench::{self, Args, bytes, dur, rate, timed};
use ferry_tests::r#gen::{self, Generator};
use rand::Rng;
use serde_bytes::ByteBuf;
use sync_core::doc::{self, Author, RecordDoc};
use sync_core::protocol::{self, Encoding, PullEntry, SyncReply};
use sync_core::replica::Replica;
use sync_core::store::tables::RecordQuery;
use uuid::Uuid;

fn main() -> anyhow::Result<()> {
    let args = Args::from_env();
    let smoke = args.flag("--smoke");
    let n = args.number("--records", if smoke { 500 } else { 10_000 })? as usize;
    let seed = args.number("--seed", 1)?;
    let dir = tempfile::tempdir()?;
    let now = ferry_tests::now_ms();

    println!("## bench-store: {n} generated records (seed {seed})");
    let (records, t_gen) = timed(|| r#gen::records(seed, n));
    let json = r#gen::to_json_lines(&records);
    println!(
        "\ngenerated in {}; JSON {} ({} per record)",
        dur(t_gen),
        bytes(json.len() as u64),
        bytes(json.len() as u64 / n.max(1) as u64)
    );

    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut row = |what: &str, count: usize, t: Duration, note: String| {
        rows.push(vec![
            what.to_owned(),
            count.to_string(),
            dur(t),
            rate(count as u64, t),
            note,
        ]);
    };

    // Bulk insert: one transaction for the batch.
    let import_path = dir.path().join("import.db");
    let replica = Replica::open(&import_path, None)?;
    let (saved, t_import) = timed(|| replica.import(records.clone(), now));
    let saved = saved?;
    assert_eq!(saved.len(), n);
    let size = file_size(&import_path);
    row(
        "bulk insert: `Replica::import`, one transaction",
        n,
        t_import,
        format!("store {}", bytes(size)),
    );

    // Baseline: one transaction per record.
    let single_path = dir.path().join("single.db");
    let single = Replica::open(&single_path, None)?;
    let (created, t_single) = timed(|| -> anyhow::Result<usize> {
        for r in &records {
            single.create(r.kind, &r.unit, r.fields.clone(), now)?;
        }
        Ok(records.len())
    });
    created?;
    row(
        "baseline: `Replica::create`, one transaction per record",
        n,
        t_single,
        format!(
            "import is {:.1}× faster",
            t_single.as_secs_f64() / t_import.as_secs_f64()
        ),
    );
    drop(single);

    // Reload.
    let query = RecordQuery {
        limit: Some(u32::MAX),
        ..RecordQuery::default()
    };
    drop(replica);
    let (count, t_rows) = timed(|| -> anyhow::Result<u64> {
        let r = Replica::open(&import_path, None)?;
        let rows = r
            .pool()
            .read(|c| sync_core::store::tables::find_records(c, &query))?;
        Ok(rows.len() as u64)
    });
    row(
        "reload: open + read every row (no Automerge)",
        count? as usize,
        t_rows,
        String::new(),
    );
    let (loaded, t_reload) = timed(|| -> anyhow::Result<usize> {
        let r = Replica::open(&import_path, None)?;
        Ok(r.find(&query)?.len())
    });
    row(
        "reload: open + read every record (documents loaded and read)",
        loaded?,
        t_reload,
        String::new(),
    );

    // Phone-side apply of pulled snapshots, in replies of the default budget.
    let replica = Replica::open(&import_path, None)?;
    let docs: Vec<(Uuid, String, String, Vec<u8>)> =
        replica.pool().read(|c| -> anyhow::Result<_> {
            let mut stmt = c.prepare("SELECT id, kind, unit, doc FROM records")?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows
                .into_iter()
                .filter_map(|(id, k, u, d)| Uuid::parse_str(&id).ok().map(|id| (id, k, u, d)))
                .collect())
        })?;
    let mut replies: Vec<Vec<u8>> = Vec::new();
    let mut current = SyncReply::empty(now);
    let mut size = 0usize;
    for (id, kind, unit, d) in &docs {
        let snapshot = RecordDoc::load(d)?.save_uncompressed();
        size += snapshot.len() + 120;
        current.pull.push(PullEntry {
            record: *id,
            kind: kind.clone(),
            unit: unit.clone(),
            changes: Vec::new(),
            snapshot: Some(ByteBuf::from(snapshot)),
            lineage: 0,
            replace: false,
            redacted: Vec::new(),
        });
        if size as u64 >= protocol::DEFAULT_MAX_BYTES {
            replies.push(protocol::compress(
                &protocol::encode_reply(&current),
                Encoding::Zstd,
            ));
            current = SyncReply::empty(now);
            size = 0;
        }
    }
    if !current.pull.is_empty() {
        replies.push(protocol::compress(
            &protocol::encode_reply(&current),
            Encoding::Zstd,
        ));
    }
    let wire: u64 = replies.iter().map(|r| r.len() as u64).sum();
    let decoded: Vec<SyncReply> = replies
        .iter()
        .map(|r| -> anyhow::Result<SyncReply> {
            let plain = protocol::decompress(r, Encoding::Zstd, 1 << 30)?;
            Ok(protocol::decode_reply(&plain)?)
        })
        .collect::<anyhow::Result<_>>()?;
    let phone_path = dir.path().join("phone.db");
    let phone = Replica::open(&phone_path, None)?;
    let (applied, t_apply) = timed(|| -> anyhow::Result<usize> {
        let mut n = 0;
        for r in &decoded {
            n += phone.apply_reply(r, now)?.pulled;
        }
        Ok(n)
    });
    let applied = applied?;
    row(
        "phone apply: pulled snapshots via `apply_reply`",
        applied,
        t_apply,
        format!("{} replies, {} on the wire", replies.len(), bytes(wire)),
    );
    drop(phone);
    let _ = std::fs::remove_file(&phone_path);
    let phone = Replica::open(&phone_path, None)?;
    let (applied2, t_apply2) = timed(|| -> anyhow::Result<usize> {
        let mut n = 0;
        for r in &replies {
            let plain = protocol::decompress(r, Encoding::Zstd, 1 << 30)?;
            let reply = protocol::decode_reply(&plain)?;
            n += phone.apply_reply(&reply, now)?.pulled;
        }
        Ok(n)
    });
    row(
        "phone apply incl. zstd + CBOR decoding of the replies",
        applied2?,
        t_apply2,
        String::new(),
    );

    // Small pulled changes (another device edited 1% of the records).
    let mut g = Generator::with_seed(seed ^ 0xde1a);
    let author = Author::new(&[9u8; 16], now);
    let mut delta = SyncReply::empty(now);
    let step = 100usize;
    for (i, r) in records.iter().enumerate() {
        if i % step != 0 {
            continue;
        }
        let Some((_, kind, unit, d)) = docs.iter().find(|(id, ..)| *id == r.id) else {
            continue;
        };
        let mut document = RecordDoc::load(d)?;
        let edits = g.small_edit(r);
        if let Some(mut change) = document.edit(&edits, &author)? {
            delta.pull.push(PullEntry {
                record: r.id,
                kind: kind.clone(),
                unit: unit.clone(),
                changes: vec![ByteBuf::from(doc::encode_change(&mut change))],
                snapshot: None,
                lineage: 0,
                replace: false,
                redacted: Vec::new(),
            });
        }
        let _ = g.rng().r#gen::<u8>();
    }
    let changes = delta.pull.len();
    let (done, t_delta) = timed(|| phone.apply_reply(&delta, now));
    done?;
    row(
        "phone apply: one small pulled change to 1% of records",
        changes,
        t_delta,
        String::new(),
    );

    // Where the time goes, per record (single-threaded, on the same records).
    let mut parts: Vec<Vec<String>> = Vec::new();
    let per = |t: Duration| format!("{:.1} µs", t.as_secs_f64() * 1e6 / n.max(1) as f64);
    let author = Author::new(&[7u8; 16], now);
    let ctx = sync_core::model::ValidationContext::new(sync_core::time::local_date(now));
    let (_, t) = timed(|| {
        for r in &records {
            let _ = sync_core::model::validate(r, &ctx);
        }
    });
    parts.push(vec!["`model::validate`".into(), per(t)]);
    let (docs_changes, t) = timed(|| {
        records
            .iter()
            .filter_map(|r| RecordDoc::create(r, &author).ok())
            .collect::<Vec<_>>()
    });
    parts.push(vec![
        "`RecordDoc::create` (hydrate, one change)".into(),
        per(t),
    ]);
    let (mut changes, t) = timed(|| {
        docs_changes
            .iter()
            .map(|(_, c)| c.clone())
            .collect::<Vec<_>>()
    });
    let _ = t;
    let (_, t) = timed(|| {
        for c in &mut changes {
            let _ = doc::encode_change(c);
        }
    });
    parts.push(vec![
        "`doc::encode_change` (the outbox bytes)".into(),
        per(t),
    ]);
    let (saved, t) = timed(|| {
        docs_changes
            .iter()
            .map(|(d, _)| d.save())
            .collect::<Vec<_>>()
    });
    parts.push(vec![
        "`RecordDoc::save` (compressed: what the store keeps)".into(),
        per(t),
    ]);
    let (_, t) = timed(|| {
        for (d, _) in &docs_changes {
            let _ = d.save_uncompressed();
        }
    });
    parts.push(vec![
        "`RecordDoc::save_uncompressed` (snapshots on the wire)".into(),
        per(t),
    ]);
    let (loaded, t) = timed(|| {
        saved
            .iter()
            .filter_map(|b| RecordDoc::load(b).ok())
            .collect::<Vec<_>>()
    });
    parts.push(vec![
        "`RecordDoc::load` of a stored document".into(),
        per(t),
    ]);
    let (_, t) = timed(|| {
        for d in &loaded {
            let _ = d.read();
        }
    });
    parts.push(vec![
        "`RecordDoc::read` (hydrate to a Record)".into(),
        per(t),
    ]);
    let (_, t) = timed(|| {
        for d in &loaded {
            let _ = d.heads();
        }
    });
    parts.push(vec!["`RecordDoc::heads`".into(), per(t)]);
    let avg = |v: &[Vec<u8>]| v.iter().map(Vec::len).sum::<usize>() / v.len().max(1);
    let uncompressed: Vec<Vec<u8>> = docs_changes
        .iter()
        .map(|(d, _)| d.save_uncompressed())
        .collect();
    println!(
        "\naverage sizes: saved document {} B, uncompressed snapshot {} B, JSON {} B",
        avg(&saved),
        avg(&uncompressed),
        json.len() / n.max(1)
    );
    // What a cold pull could cost on the wire with other encodings of the same records.
    let z = |b: &[u8], level: i32| zstd::bulk::compress(b, level).map_or(0, |c| c.len());
    let chunked = |items: &[Vec<u8>], level: i32| -> usize {
        // Replies of the default budget, each compressed on its own (as on the wire).
        let mut total = 0;
        let mut buf = Vec::new();
        for it in items {
            buf.extend_from_slice(it);
            if buf.len() as u64 >= protocol::DEFAULT_MAX_BYTES {
                total += z(&buf, level);
                buf.clear();
            }
        }
        total + if buf.is_empty() { 0 } else { z(&buf, level) }
    };
    let json_lines: Vec<Vec<u8>> = records
        .iter()
        .map(|r| serde_json::to_vec(r).unwrap_or_default())
        .collect();
    let per_rec = |total: usize| format!("{} B", total / n.max(1));
    let mut enc: Vec<Vec<String>> = vec![
        vec![
            "JSON lines, zstd-9, one stream (the floor)".into(),
            per_rec(z(json.as_bytes(), 9)),
        ],
        vec![
            "JSON lines, zstd-9, in replies of the default budget".into(),
            per_rec(chunked(&json_lines, 9)),
        ],
        vec![
            "uncompressed snapshots, zstd-9, in replies (what Ferry sends, without CBOR framing)"
                .into(),
            per_rec(chunked(&uncompressed, 9)),
        ],
        vec![
            "uncompressed snapshots, zstd-19, in replies".into(),
            per_rec(chunked(&uncompressed, 19)),
        ],
        vec![
            "uncompressed snapshots, zstd-9, one stream".into(),
            per_rec(z(&uncompressed.concat(), 9)),
        ],
        vec![
            "compressed saves (`save`), zstd-9, in replies".into(),
            per_rec(chunked(&saved, 9)),
        ],
    ];
    let changes_bytes: Vec<Vec<u8>> = docs_changes
        .iter()
        .map(|(_, c)| c.raw_bytes().to_vec())
        .collect();
    enc.push(vec![
        "the creating change of each record (raw), zstd-9, in replies".into(),
        per_rec(chunked(&changes_bytes, 9)),
    ]);
    bench::table(
        &format!("Cold-pull bytes per record with other encodings ({n} records)"),
        &["encoding", "bytes per record"],
        &enc,
    );

    bench::table(
        &format!("Per-record costs behind these rates ({n} records, one thread)"),
        &["step", "time per record"],
        &parts,
    );

    bench::table(
        &format!("Replica store, {n} records"),
        &["measure", "records", "time", "rate", "note"],
        &rows,
    );
    println!(
        "\nstore sizes: import {}, one-by-one {}, phone after apply {}",
        bytes(file_size(&import_path)),
        bytes(file_size(&single_path)),
        bytes(file_size(&phone_path))
    );
    Ok(())
}

fn file_size(p: &std::path::Path) -> u64 {
    let wal = p.with_extension("db-wal");
    [p.to_owned(), wal]
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum()
}
