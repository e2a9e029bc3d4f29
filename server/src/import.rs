//! `ferry import`: bulk-loads records (JSON lines, one [`Record`] per line, as `ferry-gen`
//! prints them) into either engine, checked exactly as a push is.
//!
//! Each record becomes a new Automerge document of one change by the import's own actor
//! ([`IMPORT_ACTOR`]) and goes through the push path ([`crate::sync::check_all`] on reader
//! snapshots, in parallel, then [`crate::sync::push_checked`] in the write transaction) as an
//! admin device would push it: decoding, schema, shape, limits, structure, units. So an
//! imported record is stored, logged in the change feed (phones pull it like any other) and
//! queued for review detection exactly like a pushed one. Lines are taken in batches of
//! [`Options::batch`], one write transaction each.
//!
//! Re-running an import is harmless: a record whose id is stored already with the same
//! content is counted `unchanged` and nothing is written; with different content it is
//! refused (an import creates records; edits go through devices or the console). A refused
//! line is reported with its number and a reason that names fields and rules, never values.
//! One audit row (`import`) per run records the counts.

use std::collections::HashMap;
use std::io::BufRead;
use std::time::Instant;

use anyhow::Context;
use automerge::ActorId;
use serde_bytes::ByteBuf;
use sync_core::doc::{self, Author, RecordDoc};
use sync_core::model::{self, Record, Role};
use sync_core::protocol::{PushRecord, SensitiveWrite};
use uuid::Uuid;

use crate::db::Store;
use crate::sync::{Caller, Checked};

/// The Automerge actor of every imported record's creating change (`ferry-import`, padded).
pub const IMPORT_ACTOR: [u8; 16] = *b"ferry-import\0\0\0\0";

/// The account name the sensitive values of imported records are stored under.
pub const IMPORT_USER: &str = "ferry-import";

/// The device id the change log names as the origin of imported changes (no real device
/// has it: device ids are UUIDv7).
pub const IMPORT_DEVICE: Uuid = Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_1e0f_0001);

/// How an import runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Lines per write transaction.
    pub batch: usize,
    /// Print progress to stderr after each batch.
    pub progress: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            batch: 5_000,
            progress: true,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Non-empty lines read.
    pub lines: u64,
    /// Records stored.
    pub imported: u64,
    /// Records already stored with the same content.
    pub unchanged: u64,
    /// Lines refused.
    pub refused: u64,
}

/// One refused line: its number (from 1) and why, without personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Line number in the input, from 1.
    pub line: u64,
    /// The reason (a rejection code and message, or why the line is not a record).
    pub reason: String,
}

/// One parsed line waiting for its batch.
struct Pending {
    line: u64,
    record: Result<Record, String>,
}

/// Imports every line of `input` into `store`; `refused` is called for each refused line.
/// Ends with one audit row holding the counts, also when reading the input fails midway.
pub fn run(
    store: &Store,
    input: impl BufRead,
    opts: &Options,
    refused: &mut dyn FnMut(&Refusal),
) -> anyhow::Result<Counts> {
    let started = Instant::now();
    let mut counts = Counts::default();
    let outcome = import_lines(store, input, opts, &mut counts, refused, started);
    let details = serde_json::json!({
        "lines": counts.lines,
        "imported": counts.imported,
        "unchanged": counts.unchanged,
        "refused": counts.refused,
        "completed": outcome.is_ok(),
    });
    store.write(|tx| -> anyhow::Result<()> {
        crate::audit::append(
            tx,
            crate::now_ms(),
            &crate::audit::Entry {
                user: "cli",
                action: "import",
                details,
                ..crate::audit::Entry::default()
            },
        )?;
        Ok(())
    })?;
    outcome.map(|()| counts)
}

fn import_lines(
    store: &Store,
    input: impl BufRead,
    opts: &Options,
    counts: &mut Counts,
    refused: &mut dyn FnMut(&Refusal),
    started: Instant,
) -> anyhow::Result<()> {
    // Batch k is written on a second thread while batch k + 1 is read and checked here: on
    // PostgreSQL the write is bound by statement round trips, the checks by the CPU.
    std::thread::scope(|s| -> anyhow::Result<()> {
        let mut in_flight: Option<std::thread::ScopedJoinHandle<'_, _>> = None;
        let mut previous: HashMap<Uuid, Record> = HashMap::new();
        let mut batch: Vec<Pending> = Vec::with_capacity(opts.batch);
        let mut lines = input.lines().enumerate();
        loop {
            let next = lines.next();
            let last = next.is_none();
            if let Some((i, line)) = next {
                let line_no = i as u64 + 1;
                let text = line.with_context(|| format!("cannot read line {line_no}"))?;
                if text.trim().is_empty() {
                    continue;
                }
                counts.lines += 1;
                batch.push(Pending {
                    line: line_no,
                    record: parse(&text),
                });
                if batch.len() < opts.batch.max(1) {
                    continue;
                }
            }
            if !batch.is_empty() {
                let prepared = prepare_batch(store, std::mem::take(&mut batch), &previous)?;
                if let Some(h) = in_flight.take() {
                    finish(h.join(), counts, refused)?;
                    report_progress(opts, counts, started);
                }
                counts.unchanged += prepared.unchanged;
                counts.refused += prepared.refused.len() as u64;
                for r in &prepared.refused {
                    refused(r);
                }
                previous = prepared.records.clone();
                in_flight = Some(s.spawn(move || write_batch(store, prepared)));
            }
            if last {
                break;
            }
        }
        if let Some(h) = in_flight.take() {
            finish(h.join(), counts, refused)?;
            report_progress(opts, counts, started);
        }
        Ok(())
    })
}

/// Counts a written batch and reports its refusals.
fn finish(
    joined: std::thread::Result<anyhow::Result<Written>>,
    counts: &mut Counts,
    refused: &mut dyn FnMut(&Refusal),
) -> anyhow::Result<()> {
    let written = joined.map_err(|_| anyhow::anyhow!("the import's writer thread panicked"))??;
    for r in &written.refused {
        refused(r);
    }
    counts.refused += written.refused.len() as u64;
    counts.imported += written.imported;
    Ok(())
}

fn report_progress(opts: &Options, c: &Counts, started: Instant) {
    if opts.progress {
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        eprintln!(
            "import: {} lines, {} imported, {} unchanged, {} refused ({:.0} lines/s)",
            c.lines,
            c.imported,
            c.unchanged,
            c.refused,
            c.lines as f64 / secs
        );
    }
}

/// Parses one line. serde's messages can quote the input, so only the kind of error, its
/// column and (for a missing or unknown field) the field name are kept.
fn parse(text: &str) -> Result<Record, String> {
    serde_json::from_str::<Record>(text).map_err(|e| {
        let msg = e.to_string();
        let field = ["missing field", "unknown field"]
            .iter()
            .find(|p| msg.starts_with(*p))
            .and_then(|_| msg.split(" at line").next().map(str::to_owned));
        let what = match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "not valid JSON"
            }
            _ => "not a record",
        };
        match field {
            Some(f) => format!("{what}: {f}"),
            None => format!("{what} (at column {})", e.column()),
        }
    })
}

/// What one line of a batch turned into before the push.
enum Step {
    Push(PushRecord, Vec<SensitiveWrite>),
    Unchanged,
    Refuse(String),
}

/// A batch read, compared with what is stored and checked; nothing written yet.
struct Prepared {
    pushes: Vec<PushRecord>,
    /// The batch's sensitive values, stored apart from the documents (protocol §12).
    sensitive: Vec<SensitiveWrite>,
    checked: Vec<Checked>,
    lines_of: HashMap<Uuid, u64>,
    /// The batch's new records (for the next batch's duplicate check while this one is
    /// being written).
    records: HashMap<Uuid, Record>,
    unchanged: u64,
    refused: Vec<Refusal>,
    now: i64,
}

/// What writing a batch did.
struct Written {
    imported: u64,
    refused: Vec<Refusal>,
}

fn prepare_batch(
    store: &Store,
    batch: Vec<Pending>,
    previous: &HashMap<Uuid, Record>,
) -> anyhow::Result<Prepared> {
    let now = crate::now_ms();
    let author = Author::new(&IMPORT_ACTOR, now);
    let ids: Vec<Uuid> = batch
        .iter()
        .filter_map(|p| p.record.as_ref().ok().map(|r| r.id))
        .collect();
    let existing = store.read(|conn| stored_records(conn, &ids))?;
    let mut p = Prepared {
        pushes: Vec::new(),
        sensitive: Vec::new(),
        checked: Vec::new(),
        lines_of: HashMap::new(),
        records: HashMap::new(),
        unchanged: 0,
        refused: Vec::new(),
        now,
    };
    for pending in batch {
        let stored = pending
            .record
            .as_ref()
            .ok()
            .and_then(|r| existing.get(&r.id));
        match prepare(pending.record, stored, &author, &mut p.records, previous) {
            Step::Push(push, sensitive) => {
                p.lines_of.insert(push.record, pending.line);
                p.pushes.push(push);
                p.sensitive.extend(sensitive);
            }
            Step::Unchanged => p.unchanged += 1,
            Step::Refuse(reason) => p.refused.push(Refusal {
                line: pending.line,
                reason,
            }),
        }
    }
    p.checked = check_parallel(store, &import_caller(), &p.pushes, now)?;
    Ok(p)
}

fn write_batch(store: &Store, p: Prepared) -> anyhow::Result<Written> {
    let caller = import_caller();
    let mut checked = Some(p.checked);
    // A retry (PostgreSQL: another node created one of these records meanwhile) checks
    // everything again inside the transaction.
    let outcome = crate::writer::retrying(|| {
        let verdicts = checked.take().unwrap_or_default();
        store.write(|tx| -> anyhow::Result<_> {
            let pushed = crate::sync::push_checked(tx, &caller, &p.pushes, verdicts, p.now, None)?;
            // Only the values of records stored now (a refused record's are dropped with it).
            let accepted: std::collections::HashSet<Uuid> =
                pushed.accepted_records.iter().copied().collect();
            let writes: Vec<SensitiveWrite> = p
                .sensitive
                .iter()
                .filter(|w| accepted.contains(&w.record))
                .cloned()
                .collect();
            crate::sensitive::apply(tx, &caller, IMPORT_USER, &writes, p.now)?;
            Ok(pushed)
        })
    })?;
    let mut refused: Vec<Refusal> = outcome
        .rejected
        .iter()
        .map(|r| Refusal {
            line: p.lines_of.get(&r.record).copied().unwrap_or(0),
            reason: format!("{}: {}", r.code.as_str(), r.message),
        })
        .collect();
    refused.sort_by_key(|r| r.line);
    Ok(Written {
        imported: outcome.accepted_records.len() as u64,
        refused,
    })
}

/// The import acts as an admin device with its own actor, allowed in every current unit.
fn import_caller() -> Caller {
    Caller {
        role: Role::Admin,
        scopes: crate::accounts::scopes_of(Role::Admin, &[])
            .into_iter()
            .collect(),
        device_id: IMPORT_DEVICE,
        actor: ActorId::from(&IMPORT_ACTOR[..]),
    }
}

/// Decides what to do with one parsed line: unchanged when stored (or earlier in this
/// batch or the previous one) with the same content, refused when stored with other content, else pushed as a
/// new document.
fn prepare(
    parsed: Result<Record, String>,
    stored: Option<&Record>,
    author: &Author,
    seen: &mut HashMap<Uuid, Record>,
    previous: &HashMap<Uuid, Record>,
) -> Step {
    let mut record = match parsed {
        Ok(r) => r,
        Err(reason) => return Step::Refuse(reason),
    };
    model::normalise(&mut record);
    // Sensitive values never enter the document (protocol §12): they are stored apart, each
    // under a write id made from the record and field, so a re-run stores nothing twice.
    let mut in_doc = record.clone();
    let sensitive: Vec<SensitiveWrite> =
        model::sensitivity::split_off(record.kind, &mut in_doc.fields)
            .into_iter()
            .map(|(field, value)| SensitiveWrite {
                id: Uuid::new_v5(&record.id, field.as_bytes()),
                record: record.id,
                field,
                value: Some(value),
                at_ms: author.time_ms,
            })
            .collect();
    let Ok((created, mut change)) = RecordDoc::create(&in_doc, author) else {
        return Step::Refuse("the record cannot be written as a document".into());
    };
    // The previous batch may still be being written: its records count as stored.
    if let Some(earlier) = seen.get(&record.id).or_else(|| previous.get(&record.id)) {
        return if *earlier == record {
            Step::Unchanged
        } else {
            Step::Refuse("an earlier line of this import has the same id".into())
        };
    }
    if let Some(existing) = stored {
        // Compared as read back from a document, so that what the document adds (empty
        // sets) counts as the same content.
        return if created.read().ok().as_ref() == Some(existing) {
            Step::Unchanged
        } else {
            Step::Refuse(
                "a record with this id is stored already with other content (an import \
                 creates records; change existing ones on a device or in the console)"
                    .into(),
            )
        };
    }
    let push = PushRecord {
        record: record.id,
        kind: record.kind.as_str().to_owned(),
        unit: record.unit.clone(),
        changes: vec![ByteBuf::from(doc::encode_change(&mut change))],
    };
    seen.insert(record.id, record);
    Step::Push(push, sensitive)
}

/// The stored records among `ids`, read from their documents (a few statements per batch
/// rather than one per line).
fn stored_records(
    conn: &dyn crate::db::Sql,
    ids: &[Uuid],
) -> anyhow::Result<HashMap<Uuid, Record>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT id, doc FROM records WHERE id IN ({})",
            crate::db::placeholders(1, chunk.len())
        );
        let params: Vec<&dyn crate::db::ToValue> = chunk
            .iter()
            .map(|id| id as &dyn crate::db::ToValue)
            .collect();
        for row in conn.query(&sql, &params)? {
            let id: Uuid = row.get(0)?;
            let doc: Vec<u8> = row.get(1)?;
            out.insert(id, RecordDoc::load(&doc)?.read()?);
        }
    }
    Ok(out)
}

/// The push checks of a batch on two reader snapshots at once (the reference machine's two
/// cores); the write transaction then only stores.
fn check_parallel(
    store: &Store,
    caller: &Caller,
    pushes: &[PushRecord],
    now: i64,
) -> anyhow::Result<Vec<Checked>> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
    // On PostgreSQL each record's read is a round trip: more threads than cores keep the
    // cores busy while they wait.
    let threads = match store.dialect() {
        crate::db::Dialect::Sqlite => cores,
        crate::db::Dialect::Postgres => cores * 3,
    };
    let chunk = pushes.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = pushes
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    store.read(|conn| crate::sync::check_all(conn, caller, part, now, None))
                })
            })
            .collect();
        let mut all = Vec::with_capacity(pushes.len());
        for h in handles {
            let part = h
                .join()
                .map_err(|_| anyhow::anyhow!("an import check thread panicked"))??;
            all.extend(part);
        }
        Ok(all)
    })
}

/// `ferry import FILE`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// The file of JSON lines (`-`: standard input).
    pub file: std::path::PathBuf,
    /// Lines per write transaction.
    #[arg(long, default_value_t = 5_000)]
    pub batch: usize,
    /// No progress lines on stderr (refused lines are still listed).
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `ferry import` on the configured database; prints the counts on stdout.
pub fn cli(
    config: &crate::config::Config,
    args: &ImportArgs,
) -> anyhow::Result<std::process::ExitCode> {
    let store = crate::open_store(config)?;
    let opts = Options {
        batch: args.batch,
        progress: !args.quiet,
    };
    let mut report = |r: &Refusal| eprintln!("line {}: refused: {}", r.line, r.reason);
    let started = Instant::now();
    let counts = if args.file.as_os_str() == "-" {
        run(&store, std::io::stdin().lock(), &opts, &mut report)?
    } else {
        let file = std::fs::File::open(&args.file)
            .with_context(|| format!("cannot open {}", args.file.display()))?;
        let input = std::io::BufReader::with_capacity(1 << 20, file);
        run(&store, input, &opts, &mut report)?
    };
    println!(
        "imported {} records, {} unchanged, {} refused, of {} lines in {:.1} s",
        counts.imported,
        counts.unchanged,
        counts.refused,
        counts.lines,
        started.elapsed().as_secs_f64()
    );
    Ok(if counts.refused > 0 {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    })
}
