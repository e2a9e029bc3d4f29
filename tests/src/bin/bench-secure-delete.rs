//! `bench-secure-delete`: what SQLite's `secure_delete` (on for every writer, server and
//! phone, so that no freed page keeps a redacted or sent value: `docs/protocol.md` §12, §13)
//! costs, side by side with it off, in one run.
//!
//! ```text
//! cargo run --release -p ferry-tests --bin bench-secure-delete -- [--records 2000] [--rounds 3] [--smoke]
//! ```
//!
//! Two workloads, each on a fresh SQLite file per run, alternating on/off `--rounds` times
//! (the best run of each is printed, so a noisy neighbour hurts both alike):
//! - **server**: `sync::push` of N new generated records (one push per record), then one edit
//!   to each (the stored document row is rewritten: its old cell is freed);
//! - **phone**: `Replica::create` of N records, the server's acknowledgement applied (the
//!   outbox rows are deleted), then one edit to each and its acknowledgement.

use std::time::{Duration, Instant};

use automerge::ActorId;
use ferry_tests::bench::{Args, dur, rate};
use ferry_tests::r#gen;
use serde_bytes::ByteBuf;
use sync_core::doc::{self, Author, Edit, RecordDoc};
use sync_core::model::{Record, Role, Value};
use sync_core::protocol::{PushRecord, SyncReply};
use sync_core::replica::{Replica, SyncOptions};
use sync_core::store::Pool;
use uuid::Uuid;

const ACTOR: [u8; 16] = *b"bench-secure-del";

fn set_secure_delete(pool: &Pool, on: bool) -> anyhow::Result<()> {
    pool.configure_writer(|c| {
        c.pragma_update(None, "secure_delete", if on { "ON" } else { "OFF" })
    })?;
    Ok(())
}

fn edit_of(i: usize) -> Edit {
    Edit::Set {
        field: "notes".into(),
        value: Value::Text(format!("đã kiểm tra lần {i}")),
    }
}

/// The server workload; returns its wall time.
fn server_run(records: &[Record], secure: bool) -> anyhow::Result<Duration> {
    let dir = tempfile::tempdir()?;
    let pool = Pool::open(
        &dir.path().join("server.db"),
        None,
        ferry_server::schema::SERVER_MIGRATIONS,
        2,
    )?;
    set_secure_delete(&pool, secure)?;
    let caller = ferry_server::sync::Caller {
        role: Role::Admin,
        scopes: ferry_server::accounts::scopes_of(Role::Admin, &[])
            .into_iter()
            .collect(),
        device_id: Uuid::from_bytes(ACTOR),
        actor: ActorId::from(&ACTOR[..]),
    };
    let now = ferry_tests::now_ms();
    let author = Author::new(&ACTOR, now);
    let mut docs = Vec::with_capacity(records.len());
    let started = Instant::now();
    for r in records {
        let mut stored = r.clone();
        sync_core::model::sensitivity::split_off(r.kind, &mut stored.fields);
        let (d, mut change) = RecordDoc::create(&stored, &author)?;
        push_one(
            &pool,
            &caller,
            &stored,
            doc::encode_change(&mut change),
            now,
        )?;
        docs.push((stored, d));
    }
    for (i, (r, d)) in docs.iter_mut().enumerate() {
        if let Some(mut change) = d.edit(&[edit_of(i)], &author)? {
            push_one(&pool, &caller, r, doc::encode_change(&mut change), now)?;
        }
    }
    Ok(started.elapsed())
}

fn push_one(
    pool: &Pool,
    caller: &ferry_server::sync::Caller,
    r: &Record,
    change: Vec<u8>,
    now: i64,
) -> anyhow::Result<()> {
    let push = PushRecord {
        record: r.id,
        kind: r.kind.as_str().to_owned(),
        unit: r.unit.clone(),
        changes: vec![ByteBuf::from(change)],
    };
    let out = pool.write(|tx| ferry_server::sync::push(tx, caller, &[push], now, None))?;
    anyhow::ensure!(out.rejected.is_empty(), "a generated record was refused");
    Ok(())
}

/// Acknowledges everything the phone would push.
fn acknowledge(phone: &Replica) -> anyhow::Result<()> {
    let req = phone.prepare_sync(&SyncOptions {
        max_push_bytes: usize::MAX,
        ..SyncOptions::default()
    })?;
    let mut reply = SyncReply::empty(ferry_tests::now_ms());
    for p in &req.push {
        for c in &p.changes {
            reply
                .accepted
                .push(ByteBuf::from(doc::decode_change(c)?.hash().0.to_vec()));
        }
    }
    reply.sensitive_accepted = req.sensitive.iter().map(|w| w.id).collect();
    phone.apply_reply(&reply, ferry_tests::now_ms())?;
    Ok(())
}

/// The phone workload; returns its wall time.
fn phone_run(records: &[Record], secure: bool) -> anyhow::Result<Duration> {
    let dir = tempfile::tempdir()?;
    let phone = Replica::open(&dir.path().join("phone.db"), None)?;
    set_secure_delete(phone.pool(), secure)?;
    let now = ferry_tests::now_ms();
    let started = Instant::now();
    let mut ids = Vec::with_capacity(records.len());
    for r in records {
        ids.push(
            phone
                .create(r.kind, &r.unit, r.fields.clone(), now)?
                .record
                .id,
        );
    }
    acknowledge(&phone)?;
    for (i, id) in ids.iter().enumerate() {
        phone.update(*id, &[edit_of(i)], now)?;
    }
    acknowledge(&phone)?;
    Ok(started.elapsed())
}

fn main() -> anyhow::Result<()> {
    let args = Args::from_env();
    let smoke = args.flag("--smoke");
    let n = args.number("--records", if smoke { 100 } else { 2_000 })? as usize;
    let rounds = args.number("--rounds", if smoke { 1 } else { 3 })?.max(1);
    let records: Vec<Record> = r#gen::records(1, n);
    println!("## bench-secure-delete: {n} generated records, best of {rounds} runs each");
    println!("\n| workload | secure_delete | best | writes | on ÷ off |");
    println!("|---|---|---|---|---|");
    for (name, run) in [
        (
            "server: push N new, then N edits",
            server_run as fn(&[Record], bool) -> _,
        ),
        ("phone: N saves + ack, N edits + ack", phone_run),
    ] {
        let (mut on, mut off) = (Duration::MAX, Duration::MAX);
        for _ in 0..rounds {
            on = on.min(run(&records, true)?);
            off = off.min(run(&records, false)?);
        }
        let ops = 2 * n as u64;
        for (label, t) in [("on (as shipped)", on), ("off", off)] {
            println!("| {name} | {label} | {} | {} | |", dur(t), rate(ops, t));
        }
        println!(
            "| {name} | | | | **{:.2}×** |",
            on.as_secs_f64() / off.as_secs_f64().max(1e-9)
        );
    }
    Ok(())
}
