//! `bench-attach`: a 1.5 MB photo uploaded over the `2g` link with random cuts, while the
//! same phone keeps syncing records; then a second phone fetches it.
//!
//! ```text
//! cargo build -p ferry-tests --bin ferry --bin bench-attach
//! target/debug/bench-attach [--seed 1] [--mean-cut-bytes 1000000] [--photo-bytes 1500000]
//! ```
//!
//! The link simulator (`ferry_tests::link`, profile `2g`: 100 kbit/s each way, 600 ms round
//! trip, TCP connect cost) cuts each connection after an exponential number of upstream
//! bytes (seeded, mean `--mean-cut-bytes`), and takes the link down for 8 s once the upload
//! is a third done. The upload runs on its own thread through the phone's queue
//! (`sync_core::attachment::local::upload_due`, backoff included); the main thread creates
//! a record every few seconds and syncs it, timing each sync. Printed: chunk sends, bytes on
//! the link against the photo, cuts, and the record syncs completed while the upload was
//! unfinished.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use ferry_tests::attach::HttpTransport;
use ferry_tests::link::{Cut, Direction, Faults, Link, LinkProfile};
use ferry_tests::{Device, Server, citizen, now_ms};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sync_core::attachment::local::{self, TransferState};
use sync_core::model::Kind;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A JPEG-looking photo: a JPEG header, then seeded noise (incompressible like a real one).
fn photo(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    b.resize(len, 0);
    rng.fill(&mut b[11..]);
    b
}

fn main() -> anyhow::Result<()> {
    let seed = arg("--seed", 1);
    let mean_cut = arg("--mean-cut-bytes", 1_000_000) as f64;
    let size = arg("--photo-bytes", 1_500_000) as usize;
    let bin = ferry_tests::bench::ferry_binary()?;
    let server = Server::start(&bin);
    server.add_user("lan", "officer", &["07132"]);
    server.add_user("minh", "officer", &["07132"]);
    let link = Link::start(server.addr(), LinkProfile::two_g().without_faults(), seed)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    link.set_plan(move |_| {
        // Exponential with the given mean: -ln(U) × mean.
        let u: f64 = rng.r#gen::<f64>().max(1e-12);
        let after = (-u.ln() * mean_cut) as u64;
        Some(Faults {
            cut: Some(Cut {
                direction: Direction::Upstream,
                after_bytes: after,
            }),
            cut_after: None,
        })
    });
    let phone = Device::login(&link.url(), "lan");
    let id = phone
        .create(Kind::Citizen, "07132", citizen("Trần Thị Lan"), now_ms())?
        .record
        .id;
    let bytes = photo(size, seed);
    let meta = local::attach(&phone.replica, id, &bytes, "portrait", "lan", now_ms())?;
    sync_retrying(&phone)?;
    let before = link.stats();
    let started = Instant::now();
    let done = AtomicBool::new(false);
    let transport = HttpTransport::new(phone.client.clone());
    let (rounds, syncs) = std::thread::scope(|s| -> anyhow::Result<(u32, Vec<Duration>)> {
        let uploader = s.spawn(|| -> anyhow::Result<u32> {
            let mut rounds = 0;
            while local::list(&phone.replica, id)?[0].state != TransferState::Uploaded {
                rounds += 1;
                local::upload_due(&phone.replica, &transport, now_ms(), &mut |_, _, _| {})?;
                std::thread::sleep(Duration::from_millis(250));
            }
            done.store(true, Ordering::SeqCst);
            Ok(rounds)
        });
        let syncs = keep_syncing(&phone, &link, &done, meta.size, id)?;
        let rounds = uploader
            .join()
            .map_err(|_| anyhow::anyhow!("uploader panicked"))??;
        Ok((rounds, syncs))
    })?;
    let upload_time = started.elapsed();
    let stats = link.stats().since(&before);
    let sends = transport.sends.lock().unwrap().clone();
    let resent = sends.values().filter(|n| **n > 1).count();
    let max = sends.values().copied().max().unwrap_or(0);
    let other = Device::login(&link.url(), "minh");
    sync_retrying(&other)?;
    let fetcher = HttpTransport::new(other.client.clone());
    let got = loop {
        match local::fetch(&other.replica, &fetcher, id, &meta.hash, &mut |_, _| {}) {
            Ok(b) => break b,
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    };
    println!(
        "bench-attach: seed {seed}, photo {size} bytes, 2g, upstream cuts mean {mean_cut} bytes, one 8 s outage"
    );
    println!(
        "  upload: {:.1} s, {rounds} queue passes, {} chunks, {resent} sent twice, most sends of one chunk {max}",
        upload_time.as_secs_f64(),
        sends.len()
    );
    println!(
        "  link during upload (records syncing too): {} up + {} down = {:.3}× the photo; {} cuts, {} refused",
        stats.bytes_up,
        stats.bytes_down,
        (stats.bytes_up + stats.bytes_down) as f64 / size as f64,
        stats.cuts,
        stats.refused
    );
    let worst = syncs.iter().max().copied().unwrap_or_default();
    println!(
        "  record syncs completed while the upload was unfinished: {} (slowest {:.1} s)",
        syncs.len(),
        worst.as_secs_f64()
    );
    println!("  second phone fetched it byte-identical: {}", got == bytes);
    if got != bytes {
        bail!("the fetched photo differs");
    }
    Ok(())
}

/// While the upload runs: takes the link down once a third is acknowledged, and creates
/// and syncs a record every 3 s; the durations of the syncs that finished before the upload.
fn keep_syncing(
    phone: &Device,
    link: &Link,
    done: &AtomicBool,
    size: u64,
    id: uuid::Uuid,
) -> anyhow::Result<Vec<Duration>> {
    let started = Instant::now();
    let mut outage_done = false;
    let mut syncs = Vec::new();
    while !done.load(Ordering::SeqCst) {
        if started.elapsed() > Duration::from_secs(900) {
            bail!("the upload did not finish in 15 minutes");
        }
        let acked = local::list(&phone.replica, id)?[0].transferred;
        if !outage_done && acked * 3 >= size {
            outage_done = true;
            link.outage(Duration::from_secs(8));
            std::thread::sleep(Duration::from_secs(9));
        }
        phone.create(Kind::Citizen, "07132", citizen("Phạm Văn Đức"), now_ms())?;
        let t = Instant::now();
        sync_retrying(phone)?;
        if !done.load(Ordering::SeqCst) {
            syncs.push(t.elapsed());
        }
        std::thread::sleep(Duration::from_secs(3));
    }
    Ok(syncs)
}

/// Syncs until done, retrying a cut exchange (the link simulator cuts).
fn sync_retrying(d: &Device) -> anyhow::Result<()> {
    for _ in 0..30 {
        match d.client.sync_until_done(&d.replica, 20) {
            Ok(_) => return Ok(()),
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
    Err(anyhow::anyhow!("sync kept failing")).context("record sync")
}
