//! What a cached document costs in memory, to calibrate the server's document cache
//! (`server::doc_cache::COST_BASE`, `COST_PER_SAVED_BYTE`).
//!
//! ```sh
//! cargo run --release -p ferry-tests --bin bench-doc-cost [-- --records 3000]
//! ```
//!
//! For generated records with 0, 10 and 50 edits each, it measures the growth of this
//! process's resident memory (with the server's allocator) while holding: the loaded
//! documents, their readings, and documents built as a push builds them (a fork of the
//! stored document with one change applied). It prints the per-document figures and the
//! cache's estimate for the same saved size.

#[global_allocator]
static ALLOCATOR: ferry_server::Allocator = ferry_server::Allocator;

use ferry_server::doc_cache::cost;
use sync_core::doc::{Author, Edit, RecordDoc};

fn rss() -> usize {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    s.split_whitespace()
        .nth(1)
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(0)
        * 4096
}

fn note(text: String) -> Edit {
    Edit::Set {
        field: "note".into(),
        value: text.into(),
    }
}

fn per(before: usize, after: usize, n: usize) -> usize {
    after.saturating_sub(before) / n.max(1)
}

fn measure(n: usize, edits: usize) -> anyhow::Result<Vec<String>> {
    let records = ferry_tests::r#gen::records(7, n);
    let author = Author::new(&[7u8; 16], 1_700_000_000_000);
    let mut saved = Vec::with_capacity(n);
    for r in &records {
        let (mut d, _) = RecordDoc::create(r, &author)?;
        for i in 0..edits {
            d.edit(&[note(format!("ghi chú {i}"))], &author)?;
        }
        saved.push(d.save_uncompressed());
    }
    let avg = saved.iter().map(Vec::len).sum::<usize>() / n.max(1);
    let r0 = rss();
    let docs = saved
        .iter()
        .map(|s| RecordDoc::load(s))
        .collect::<Result<Vec<_>, _>>()?;
    let r1 = rss();
    let reads = docs
        .iter()
        .map(RecordDoc::read_known_shape)
        .collect::<Result<Vec<_>, _>>()?;
    let r2 = rss();
    let mut changes = Vec::with_capacity(n);
    for d in &docs {
        if let Some(c) = d.fork().edit(&[note("sửa".into())], &author)? {
            changes.push(c);
        }
    }
    let r3 = rss();
    let mut applied = Vec::with_capacity(n);
    for (d, c) in docs.iter().zip(changes) {
        let mut f = d.fork();
        f.apply_changes(vec![c])?;
        applied.push(f);
    }
    let r4 = rss();
    let row = vec![
        edits.to_string(),
        format!("{avg} B"),
        format!("{} B", per(r0, r1, n)),
        format!("{} B", per(r1, r2, n)),
        format!("{} B", per(r3, r4, n)),
        format!("{} B", cost(avg)),
    ];
    drop((docs, reads, applied));
    Ok(row)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n = match args.iter().position(|a| a == "--records") {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("--records N"))?,
        None => 3000,
    };
    println!(
        "| edits per record | saved (uncompressed) | loaded document | reading | fork + one change applied | cache's estimate (document + reading) |"
    );
    println!("|---|---|---|---|---|---|");
    for edits in [0usize, 10, 50] {
        println!("| {} |", measure(n, edits)?.join(" | "));
    }
    Ok(())
}
