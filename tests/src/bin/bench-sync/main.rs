//! `bench-sync`: Ferry's sync protocol against per-document Automerge sync and the zstd-JSON
//! floor, over the link simulator.
//!
//! ```text
//! cargo build --release -p ferry-tests --bin ferry --bin bench-sync
//! target/release/bench-sync [--records 10000,50000] [--profiles unthrottled,2g] [--devices 20]
//!                           [--seed 1] [--real-limit-secs 240] [--no-baseline] [--smoke]
//!                           [--only-throughput] [--throughput 1x1,16x1,16x25]
//!                           [--throughput-apply] [--throughput-changes 2000]
//! ```
//!
//! `FERRY_BIN` names the `ferry` binary to measure (e.g. an older build, for a "before"
//! column); by default the one beside this program.
//!
//! For each record count a fresh `ferry` server (the real binary, a child process with a
//! temporary data directory) is seeded through its own sync endpoint by an admin device, and
//! a baseline server (this program with `--serve-baseline`, a child process) builds the same
//! records as Automerge documents. Then, on each link profile:
//!
//! 1. cold pull: a new phone pulls everything;
//! 2. no-op reconnect: the phone reconnects with nothing new;
//! 3. 1% of records changed by another device, pulled by the phone;
//! 4. 1% of records changed on the phone, pushed;
//! 5. 20 devices come back after a day offline (new households and edits each), all at once,
//!    then sync once more to catch up with each other.
//!
//! For each: bytes up and down (counted by the link simulator: TCP payload, HTTP headers
//! included), round trips, wall time, and the server's CPU time (`/proc/PID/stat`). Side by
//! side the baseline (per-document `automerge::sync`, pipelined) and the floor (the same
//! records as zstd-compressed JSON at the link's rate plus the unavoidable round trips).
//! Runs that would take too long on a slow profile are computed from the unthrottled run:
//! the profile's round trips and transfer time for the measured bytes plus the unthrottled
//! wall time (marked `≈`). The baseline is only run unthrottled and always computed that way
//! on slower links.
//!
//! Then server throughput with N devices pushing small edits concurrently, and server memory
//! against record count.

mod baseline;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use ferry_tests::bench::{
    self, Args, FerryClient, FerryServer, SyncTally, bytes, clone_replica, dur, rate, ratio,
};
use ferry_tests::r#gen::{self, Generator, as_officer};
use ferry_tests::link::{Link, LinkProfile, LinkStats};
use serde_bytes::ByteBuf;
use sync_core::doc::{Edit, RecordDoc};
use sync_core::model::Record;
use sync_core::protocol::{PullEntry, SyncReply};
use sync_core::replica::Replica;
use uuid::Uuid;

/// Edits made to records, by record.
type Edits = Vec<(Uuid, Vec<Edit>)>;

const UNITS: [&str; 6] = ["07132", "07135", "07147", "07168", "07180", "07183"];

#[derive(Debug, Clone)]
struct Cfg {
    sizes: Vec<usize>,
    profiles: Vec<LinkProfile>,
    seed: u64,
    devices: usize,
    real_limit: Duration,
    force_real_cold_upto: usize,
    baseline: bool,
    baseline_devices_upto: usize,
    throughput: Vec<(usize, usize)>,
    throughput_changes: usize,
    /// Skip the link scenarios (seed, then throughput and memory only; for profiling).
    only_throughput: bool,
    /// Throughput devices apply the pulled entries too (`--throughput-apply`).
    throughput_apply: bool,
}

/// One measured (or computed) session.
#[derive(Debug, Clone, Copy, Default)]
struct M {
    up: u64,
    down: u64,
    rt: u64,
    conns: u64,
    cuts: u64,
    wall: Duration,
    cpu: Option<Duration>,
    modeled: bool,
}

impl M {
    fn total(&self) -> u64 {
        self.up + self.down
    }
    fn bytes(&self) -> String {
        format!("↑{} ↓{}", bytes(self.up), bytes(self.down))
    }
    fn wall(&self) -> String {
        format!("{}{}", if self.modeled { "≈" } else { "" }, dur(self.wall))
    }
    fn cpu(&self) -> String {
        self.cpu.map_or("–".into(), |c| {
            format!("{}{}", if self.modeled { "≈" } else { "" }, dur(c))
        })
    }
}

/// The profile's cost of `u`'s traffic plus `u`'s own (unthrottled) time.
fn model(p: &LinkProfile, u: &M) -> M {
    M {
        wall: p.estimate(u.up, u.down, u.rt, u.conns.max(1)) + u.wall,
        modeled: true,
        cuts: 0,
        ..*u
    }
}

fn floor(p: &LinkProfile, up: u64, down: u64) -> M {
    M {
        up,
        down,
        rt: 1,
        conns: 1,
        wall: p.estimate(up, down, 1, 1),
        ..M::default()
    }
}

#[derive(Debug, Clone)]
struct Row {
    scenario: &'static str,
    size: usize,
    profile: String,
    ferry: M,
    base: Option<M>,
    floor: M,
    /// Own bytes of the changes involved (for the delta scenarios).
    change_bytes: Option<u64>,
    note: String,
}

#[derive(Debug, Default)]
struct Report {
    rows: Vec<Row>,
    ingest: Vec<Vec<String>>,
    memory: Vec<Vec<String>>,
    throughput: Vec<Vec<String>>,
    best_throughput: f64,
    rss: Vec<(usize, u64)>,
    /// The server's own figures at the end of each size (`/metrics`: cache, writer).
    server_figures: Vec<String>,
    /// (records, devices, changes per request asked, accepted changes/s, p99 latency).
    rates: Vec<(usize, usize, usize, f64, Duration)>,
}

/// The `ferry_doc_cache_*` and `ferry_writer_*` summary lines of the server's `/metrics`
/// (absent from a server that does not export them, e.g. an older build).
fn server_figures(server: &FerryServer, n: usize) -> String {
    let addr = server.metrics_addr().unwrap_or(server.addr());
    let text = ureq::get(&format!("http://{addr}/metrics"))
        .call()
        .ok()
        .and_then(|mut r| r.body_mut().read_to_string().ok())
        .unwrap_or_default();
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
    };
    let (Some(hit), Some(miss)) = (
        value("ferry_doc_cache_lookups_total{result=\"hit\"}"),
        value("ferry_doc_cache_lookups_total{result=\"miss\"}"),
    ) else {
        return format!("{n} records: the server exports no cache or writer figures");
    };
    let batches = value("ferry_writer_batch_size_count").unwrap_or(0.0);
    let jobs = value("ferry_writer_batch_size_sum").unwrap_or(0.0);
    let waits = value("ferry_writer_wait_seconds_count").unwrap_or(0.0);
    let waited = value("ferry_writer_wait_seconds_sum").unwrap_or(0.0);
    format!(
        "{n} records: document cache {hit:.0} hits / {miss:.0} misses ({:.0}% hits), {} held (estimated); \
         writer: {batches:.0} batches, {:.1} jobs per batch, mean wait {:.1} ms",
        100.0 * hit / (hit + miss).max(1.0),
        bytes(value("ferry_doc_cache_bytes").unwrap_or(0.0) as u64),
        jobs / batches.max(1.0),
        1e3 * waited / waits.max(1.0),
    )
}

fn zstd9(b: &[u8]) -> u64 {
    zstd::bulk::compress(b, 9)
        .map(|z| z.len() as u64)
        .unwrap_or(b.len() as u64)
}

fn json_zstd(records: &[Record]) -> u64 {
    zstd9(r#gen::to_json_lines(records).as_bytes())
}

fn main() -> anyhow::Result<()> {
    let args = Args::from_env();
    if args.flag("--serve-baseline") {
        return baseline::serve(
            args.number("--records", 1000)? as usize,
            args.number("--seed", 1)?,
        );
    }
    let smoke = args.flag("--smoke");
    let profiles: Vec<LinkProfile> = match args.value("--profiles") {
        Some(v) => v
            .split(',')
            .map(|n| LinkProfile::by_name(n.trim()).ok_or_else(|| anyhow!("unknown profile `{n}`")))
            .collect::<anyhow::Result<_>>()?,
        None if smoke => vec![LinkProfile::unthrottled()],
        None => vec![LinkProfile::unthrottled(), LinkProfile::two_g()],
    };
    // Unthrottled first: slower profiles are computed from it when a real run is too long.
    let mut profiles = profiles;
    profiles.sort_by_key(|p| p.down_bps.is_some());
    let cfg = Cfg {
        sizes: args.list("--records", if smoke { &[200] } else { &[10_000, 50_000] })?,
        profiles,
        seed: args.number("--seed", 1)?,
        devices: args.number("--devices", if smoke { 3 } else { 20 })? as usize,
        real_limit: Duration::from_secs(args.number("--real-limit-secs", 240)?),
        force_real_cold_upto: 10_000,
        baseline: !args.flag("--no-baseline"),
        baseline_devices_upto: 10_000,
        throughput: match args.value("--throughput") {
            Some("none") => Vec::new(),
            Some(v) => v
                .split(',')
                .map(|c| {
                    let (d, b) = c
                        .split_once('x')
                        .ok_or_else(|| anyhow!("--throughput DEVICESxBATCH,…"))?;
                    Ok((d.trim().parse()?, b.trim().parse()?))
                })
                .collect::<anyhow::Result<_>>()?,
            None if smoke => vec![(1, 1), (2, 5)],
            None => vec![(1, 1), (4, 1), (16, 1), (4, 25), (16, 25)],
        },
        throughput_changes: args.number("--throughput-changes", if smoke { 40 } else { 2000 })?
            as usize,
        only_throughput: args.flag("--only-throughput"),
        throughput_apply: args.flag("--throughput-apply"),
    };
    machine();
    let bin = bench::ferry_binary()?;
    let started = Instant::now();
    let mut report = Report::default();
    for &n in &cfg.sizes {
        run_size(&cfg, &bin, n, &mut report).with_context(|| format!("{n} records"))?;
    }
    print_report(&cfg, &report);
    let up = std::process::Command::new("uptime")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    println!("\nload at the end: `{up}`");
    println!("\ntotal benchmark time: {}", dur(started.elapsed()));
    Ok(())
}

fn machine() {
    let cmd = |c: &str, a: &[&str]| {
        std::process::Command::new(c)
            .args(a)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().map(str::to_owned))
        .unwrap_or_default();
    println!("## bench-sync");
    println!(
        "\nmachine: `{}`; {} cores; {}",
        cmd("uname", &["-a"]),
        cmd("nproc", &[]),
        mem.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    println!("rustc: `{}`", cmd("rustc", &["-V"]));
    println!("load at start: `{}`", cmd("uptime", &[]));
}

fn progress(msg: &str) {
    eprintln!("[bench-sync] {msg}");
}

/// Measures one Ferry session: link counters, wall time, server CPU.
fn measure(
    server: &FerryServer,
    links: &[&Link],
    f: impl FnOnce() -> anyhow::Result<SyncTally>,
) -> anyhow::Result<(M, SyncTally)> {
    let s0: Vec<LinkStats> = links.iter().map(|l| l.stats()).collect();
    let c0 = server.cpu();
    let t = Instant::now();
    let tally = f()?;
    let wall = t.elapsed();
    let cpu = server.cpu().saturating_sub(c0);
    let mut m = M {
        rt: tally.exchanges + tally.failures,
        wall,
        cpu: Some(cpu),
        ..M::default()
    };
    for (l, s) in links.iter().zip(s0) {
        let d = l.stats().since(&s);
        m.up += d.bytes_up;
        m.down += d.bytes_down;
        m.conns += d.connections;
        m.cuts += d.cuts;
    }
    Ok((m, tally))
}

/// Measures one baseline session.
fn measure_base(
    pid: u32,
    links: &[&Link],
    f: impl FnOnce() -> anyhow::Result<baseline::Session>,
) -> anyhow::Result<M> {
    let s0: Vec<LinkStats> = links.iter().map(|l| l.stats()).collect();
    let c0 = bench::cpu_time(pid);
    let t = Instant::now();
    let s = f()?;
    let wall = t.elapsed();
    let cpu = bench::cpu_time(pid).saturating_sub(c0);
    let mut m = M {
        rt: s.rounds,
        wall,
        cpu: Some(cpu),
        ..M::default()
    };
    for (l, s0) in links.iter().zip(s0) {
        let d = l.stats().since(&s0);
        m.up += d.bytes_up;
        m.down += d.bytes_down;
        m.conns += d.connections;
        m.cuts += d.cuts;
    }
    Ok(m)
}

/// Outbox bytes of a replica (the changes' own size).
fn pending_bytes(r: &Replica) -> anyhow::Result<u64> {
    let req = r.prepare_sync(&sync_core::replica::SyncOptions {
        max_push_bytes: usize::MAX,
        ..Default::default()
    })?;
    Ok(req
        .push
        .iter()
        .flat_map(|p| &p.changes)
        .map(|c| c.len() as u64)
        .sum())
}

/// `k` distinct record indexes for a scenario, spread over the data set.
fn pick_indexes(n: usize, k: usize, salt: usize) -> Vec<usize> {
    let stride = 7919usize; // prime, so the walk visits every index before repeating
    let mut out: Vec<usize> = (0..k.min(n))
        .map(|i| (salt * 104_729 + i * stride) % n)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn edit_ferry(
    replica: &Replica,
    g: &mut Generator,
    ids: &[Uuid],
    now: i64,
) -> anyhow::Result<(Edits, Vec<Record>)> {
    let mut edits = Vec::new();
    let mut after = Vec::new();
    for id in ids {
        let view = replica
            .get(*id)?
            .ok_or_else(|| anyhow!("record missing on the device"))?;
        let e = g.small_edit(&view.record);
        let saved = replica.update(*id, &e, now)?;
        after.push(saved.record);
        edits.push((*id, e));
    }
    Ok((edits, after))
}

#[allow(clippy::too_many_lines)]
fn run_size(cfg: &Cfg, bin: &Path, n: usize, report: &mut Report) -> anyhow::Result<()> {
    let now = ferry_tests::now_ms();
    let dir = tempfile::tempdir()?;
    let server = FerryServer::start(bin)?;
    server.add_user("seeder", "admin", &[])?;
    for u in ["phone", "other", "field"] {
        server.add_user(u, "officer", &UNITS)?;
    }
    progress(&format!("{n} records: generating"));
    let records = r#gen::records(cfg.seed, n);
    let floor_cold = json_zstd(&records);

    // Seed the server through its sync endpoint (admin device, direct connection).
    let seeder = Replica::open(&dir.path().join("seeder.db"), None)?;
    seeder.import(records.clone(), now)?;
    let mut sc = FerryClient::login(server.addr(), "seeder", &seeder)?;
    sc.options.max_push_bytes = 1 << 20;
    let c0 = server.cpu();
    let (tally, t_seed) = bench::timed(|| sc.sync(&seeder, 10_000));
    let tally = tally?;
    let seed_cpu = server.cpu().saturating_sub(c0);
    progress(&format!("{n} records: seeded in {}", dur(t_seed)));
    report.ingest.push(vec![
        n.to_string(),
        tally.exchanges.to_string(),
        dur(t_seed),
        rate(tally.acknowledged, t_seed),
        dur(seed_cpu),
        rate(tally.acknowledged, seed_cpu),
        bytes(server.db_bytes()),
    ]);
    let (rss_seeded, _) = server.memory();

    let base = if cfg.baseline {
        progress(&format!("{n} records: starting the baseline server"));
        Some(baseline::BaselineServer::start(n, cfg.seed)?)
    } else {
        None
    };
    let base_rss_built = base.as_ref().map(|b| bench::memory(b.pid()).0);

    let other = clone_replica(&seeder, &dir.path().join("other.db"))?;
    let mut other_client = FerryClient::login(server.addr(), "other", &other)?;
    other_client.sync(&other, 100)?;
    let mut bl_phone: Option<baseline::Client> = None;
    let mut bl_other = baseline::Client::new();

    let mut unthr: HashMap<&'static str, M> = HashMap::new();
    let mut base_unthr: HashMap<&'static str, M> = HashMap::new();
    let mut unthr_phone: Option<Replica> = None;
    let mut rss_cold = 0u64;
    let k = (n / 100).max(1);

    if cfg.only_throughput {
        let phone = Replica::open(&dir.path().join("phone-direct.db"), None)?;
        FerryClient::login(server.addr(), "phone", &phone)?.sync(&phone, 100_000)?;
        unthr_phone = Some(phone);
    }
    let profiles: &[LinkProfile] = if cfg.only_throughput {
        &[]
    } else {
        &cfg.profiles
    };
    for (pi, p) in profiles.iter().enumerate() {
        let pname = p.name.clone();
        let throttled = p.down_bps.is_some() || p.latency > Duration::ZERO;
        let link = Link::start(server.addr(), p.clone(), cfg.seed + pi as u64)?;
        let base_link = match &base {
            Some(b) if !throttled => Some(Link::start(b.addr, p.clone(), cfg.seed + pi as u64)?),
            _ => None,
        };
        let mut push_row = |scenario: &'static str,
                            ferry: M,
                            base: Option<M>,
                            floor: M,
                            change_bytes: Option<u64>,
                            note: String| {
            report.rows.push(Row {
                scenario,
                size: n,
                profile: pname.clone(),
                ferry,
                base,
                floor,
                change_bytes,
                note,
            });
        };
        let base_model = |base_unthr: &HashMap<&'static str, M>, key: &'static str| -> Option<M> {
            base_unthr.get(key).map(|u| model(p, u))
        };

        // 1. Cold pull.
        progress(&format!("{n} records, {pname}: cold pull"));
        let phone_path = dir.path().join(format!("phone-{pname}.db"));
        let predicted = unthr.get("cold").map(|u| model(p, u).wall);
        let real = !throttled
            || n <= cfg.force_real_cold_upto
            || predicted.is_none_or(|t| t <= cfg.real_limit);
        let (phone, mut client, cold) = if real {
            let phone = Replica::open(&phone_path, None)?;
            let mut client = FerryClient::login(link.addr(), "phone", &phone)?;
            let (m, _) = measure(&server, &[&link], || client.sync(&phone, 100_000))?;
            (phone, client, m)
        } else {
            let src = unthr_phone
                .as_ref()
                .ok_or_else(|| anyhow!("no unthrottled phone to copy"))?;
            let phone = clone_replica(src, &phone_path)?;
            // Catch up (unmeasured, direct) with what happened since, as a phone that had
            // just finished its cold pull would have.
            FerryClient::login(server.addr(), "phone", &phone)?.sync(&phone, 1000)?;
            let client = FerryClient::login(link.addr(), "phone", &phone)?;
            (phone, client, model(p, &unthr["cold"]))
        };
        let got = phone.count()?;
        if got < n as u64 {
            progress(&format!(
                "WARNING: the phone holds {got} records, expected at least {n}"
            ));
        }
        if !throttled {
            let (rss, _) = server.memory();
            rss_cold = rss_cold.max(rss);
        }

        if !throttled {
            unthr.insert("cold", cold);
        }
        let base_cold = if let (Some(b), Some(bl)) = (&base, &base_link) {
            let mut c = baseline::Client::new();
            let m = measure_base(b.pid(), &[bl], || c.sync(bl.addr(), true, None))?;
            if c.docs.len() != n {
                progress(&format!(
                    "WARNING: the baseline phone holds {} documents",
                    c.docs.len()
                ));
            }
            base_unthr.insert("cold", m);
            bl_phone = Some(c);
            Some(m)
        } else {
            base_model(&base_unthr, "cold")
        };
        let mut note = Vec::new();
        if cold.cuts > 0 {
            note.push(format!("{} cut(s) survived", cold.cuts));
        }
        if throttled
            && !cold.modeled
            && let Some(u) = unthr.get("cold")
        {
            note.push(format!(
                "computed from the unthrottled run it would be ≈{}",
                dur(model(p, u).wall)
            ));
        }
        if !throttled {
            note.push(format!(
                "{} B per record on the wire vs {} B zstd-JSON",
                cold.down / n.max(1) as u64,
                floor_cold / n.max(1) as u64
            ));
        }
        push_row(
            "cold pull",
            cold,
            base_cold,
            floor(p, 0, floor_cold),
            None,
            note.join("; "),
        );

        // 2. No-op reconnect.
        progress(&format!("{n} records, {pname}: no-op reconnect"));
        client.http.close();
        let (noop, _) = measure(&server, &[&link], || client.sync(&phone, 10))?;
        if !throttled {
            unthr.insert("noop", noop);
        }
        let base_noop = match (&base, &base_link, bl_phone.as_mut()) {
            (Some(b), Some(bl), Some(c)) => {
                let m = measure_base(b.pid(), &[bl], || c.sync(bl.addr(), true, None))?;
                base_unthr.insert("noop", m);
                Some(m)
            }
            _ => base_model(&base_unthr, "noop"),
        };
        push_row(
            "no-op reconnect",
            noop,
            base_noop,
            floor(p, 0, 0),
            None,
            String::new(),
        );

        // 3. 1% changed by another device, pulled.
        progress(&format!(
            "{n} records, {pname}: 1% changed elsewhere, pulled"
        ));
        let ids: Vec<Uuid> = pick_indexes(n, k, 2 * pi + 1)
            .into_iter()
            .map(|i| records[i].id)
            .collect();
        let mut g = Generator::with_seed(cfg.seed ^ (0x0e1 + pi as u64));
        let (edits, after) = edit_ferry(&other, &mut g, &ids, now)?;
        let change_bytes = pending_bytes(&other)?;
        other_client.sync(&other, 100)?;
        client.http.close();
        let (pulled, _) = measure(&server, &[&link], || client.sync(&phone, 100))?;
        if !throttled {
            unthr.insert("pull1", pulled);
        }
        let base_pull = match (&base, &base_link, bl_phone.as_mut()) {
            (Some(b), Some(bl), Some(c)) => {
                bl_other.sync(b.addr, false, Some(&ids))?;
                for (id, e) in &edits {
                    bl_other.edit(*id, e, now)?;
                }
                bl_other.sync(b.addr, false, Some(&ids))?;
                let m = measure_base(b.pid(), &[bl], || c.sync(bl.addr(), true, None))?;
                base_unthr.insert("pull1", m);
                Some(m)
            }
            _ => base_model(&base_unthr, "pull1"),
        };
        push_row(
            "1% changed elsewhere, pulled",
            pulled,
            base_pull,
            floor(p, 0, json_zstd(&after)),
            Some(change_bytes),
            format!("{} records", ids.len()),
        );

        // 4. 1% changed on the phone, pushed.
        progress(&format!(
            "{n} records, {pname}: 1% changed on the phone, pushed"
        ));
        let ids: Vec<Uuid> = pick_indexes(n, k, 2 * pi + 2)
            .into_iter()
            .map(|i| records[i].id)
            .collect();
        let mut g = Generator::with_seed(cfg.seed ^ (0x0f2 + pi as u64));
        let (edits, after) = edit_ferry(&phone, &mut g, &ids, now)?;
        let change_bytes = pending_bytes(&phone)?;
        client.http.close();
        let (pushed, tally) = measure(&server, &[&link], || client.sync(&phone, 100))?;
        if tally.rejected > 0 {
            progress(&format!("WARNING: {} records rejected", tally.rejected));
        }
        if !throttled {
            unthr.insert("push1", pushed);
        }
        let base_push = match (&base, &base_link, bl_phone.as_mut()) {
            (Some(b), Some(bl), Some(c)) => {
                for (id, e) in &edits {
                    c.edit(*id, e, now)?;
                }
                let m = measure_base(b.pid(), &[bl], || c.sync(bl.addr(), true, None))?;
                base_unthr.insert("push1", m);
                Some(m)
            }
            _ => base_model(&base_unthr, "push1"),
        };
        push_row(
            "1% changed on the phone, pushed",
            pushed,
            base_push,
            floor(p, json_zstd(&after), 0),
            Some(change_bytes),
            format!("{} records", ids.len()),
        );

        // 5. Devices back after a day offline.
        progress(&format!(
            "{n} records, {pname}: {} devices after a day offline",
            cfg.devices
        ));
        let mut devices: Vec<(Replica, FerryClient)> = Vec::new();
        let mut dlinks: Vec<Link> = Vec::new();
        let mut work: Vec<(Vec<Record>, Edits)> = Vec::new();
        let mut own_floor = Vec::new();
        for i in 0..cfg.devices {
            let rep = clone_replica(&phone, &dir.path().join(format!("dev-{pname}-{i}.db")))?;
            let dlink = Link::start(
                server.addr(),
                p.clone(),
                cfg.seed * 1000 + (pi * 100 + i) as u64,
            )?;
            let dc = FerryClient::login(dlink.addr(), "field", &rep)?;
            let mut g = Generator::with_seed(cfg.seed * 7919 + (pi * 100 + i) as u64);
            let new: Vec<Record> = g.records(15).into_iter().map(as_officer).collect();
            rep.import(new.clone(), now)?;
            let ids: Vec<Uuid> = pick_indexes(n, 20.min(n), 1000 + pi * 100 + i)
                .into_iter()
                .map(|j| records[j].id)
                .collect();
            let (edits, after) = edit_ferry(&rep, &mut g, &ids, now)?;
            let mut own = new.clone();
            own.extend(after);
            own_floor.push(json_zstd(&own));
            work.push((new, edits));
            devices.push((rep, dc));
            dlinks.push(dlink);
        }
        let links: Vec<&Link> = dlinks.iter().collect();
        let (m_devices, dt) = {
            let s0: Vec<LinkStats> = links.iter().map(|l| l.stats()).collect();
            let c0 = server.cpu();
            let t = Instant::now();
            let mut slowest = Duration::ZERO;
            let mut total = SyncTally::default();
            let results: Vec<anyhow::Result<(SyncTally, Duration)>> = std::thread::scope(|s| {
                let handles: Vec<_> = devices
                    .iter_mut()
                    .map(|(rep, dc)| {
                        s.spawn(move || -> anyhow::Result<(SyncTally, Duration)> {
                            let t = Instant::now();
                            let tally = dc.sync(rep, 1000)?;
                            Ok((tally, t.elapsed()))
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(anyhow!("device thread panicked")))
                    })
                    .collect()
            });
            for r in results {
                let (tally, d) = r?;
                total += tally;
                slowest = slowest.max(d);
            }
            // Everyone syncs once more to get what the others pushed after them.
            let results: Vec<anyhow::Result<SyncTally>> = std::thread::scope(|s| {
                let handles: Vec<_> = devices
                    .iter_mut()
                    .map(|(rep, dc)| {
                        s.spawn(move || -> anyhow::Result<SyncTally> {
                            dc.http.close();
                            dc.sync(rep, 1000)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(anyhow!("device thread panicked")))
                    })
                    .collect()
            });
            for r in results {
                total += r?;
            }
            let wall = t.elapsed();
            let mut m = M {
                rt: total.exchanges + total.failures,
                wall,
                cpu: Some(server.cpu().saturating_sub(c0)),
                ..M::default()
            };
            for (l, s) in links.iter().zip(s0) {
                let d = l.stats().since(&s);
                m.up += d.bytes_up;
                m.down += d.bytes_down;
                m.conns += d.connections;
                m.cuts += d.cuts;
            }
            if total.rejected > 0 {
                progress(&format!("WARNING: {} records rejected", total.rejected));
            }
            (m, slowest)
        };
        drop(links);
        if !throttled {
            unthr.insert("devices", m_devices);
        }
        let all_own: u64 = own_floor.iter().sum();
        let floor_devices = {
            let mut f = M {
                rt: cfg.devices as u64,
                conns: cfg.devices as u64,
                ..M::default()
            };
            for own in &own_floor {
                let down = all_own - own;
                f.up += own;
                f.down += down;
                f.wall = f.wall.max(p.estimate(*own, down, 1, 1));
            }
            f
        };
        let base_devices = match (&base, bl_phone.as_ref()) {
            (Some(b), Some(c)) if !throttled && n <= cfg.baseline_devices_upto => {
                let mut clients = Vec::new();
                let mut blinks = Vec::new();
                for (i, (new, edits)) in work.iter().enumerate() {
                    let mut d = c.clone_device();
                    d.register_clone(b.addr, c.peer)?;
                    for r in new {
                        d.create(r, now)?;
                    }
                    for (id, e) in edits {
                        d.edit(*id, e, now)?;
                    }
                    clients.push(d);
                    blinks.push(Link::start(b.addr, p.clone(), cfg.seed * 3000 + i as u64)?);
                }
                let lrefs: Vec<&Link> = blinks.iter().collect();
                let m = measure_base(b.pid(), &lrefs, || {
                    let mut total = baseline::Session::default();
                    for phase in 0..2 {
                        let results: Vec<anyhow::Result<baseline::Session>> =
                            std::thread::scope(|s| {
                                let hs: Vec<_> = clients
                                    .iter_mut()
                                    .zip(&blinks)
                                    .map(|(d, l)| s.spawn(move || d.sync(l.addr(), true, None)))
                                    .collect();
                                hs.into_iter()
                                    .map(|h| {
                                        h.join().unwrap_or_else(|_| {
                                            Err(anyhow!("baseline thread panicked"))
                                        })
                                    })
                                    .collect()
                            });
                        for r in results {
                            total += r?;
                        }
                        let _ = phase;
                    }
                    Ok(total)
                })?;
                base_unthr.insert("devices", m);
                Some(m)
            }
            // Each device has its own link: the slowest device's share decides the time.
            _ => base_unthr.get("devices").map(|u| {
                let d = cfg.devices.max(1) as u64;
                let each = M {
                    up: u.up / d,
                    down: u.down / d,
                    rt: u.rt / d,
                    conns: u.conns / d,
                    ..*u
                };
                M {
                    modeled: true,
                    cuts: 0,
                    wall: model(p, &each).wall,
                    ..*u
                }
            }),
        };
        push_row(
            "devices back after a day offline",
            m_devices,
            base_devices,
            floor_devices,
            None,
            format!(
                "{} devices × (15 new records + 20 edits), then a catch-up sync; slowest device's first sync {}",
                cfg.devices,
                dur(dt)
            ),
        );
        drop(devices);
        drop(dlinks);

        if !throttled && unthr_phone.is_none() {
            unthr_phone = Some(phone);
        }
    }

    // Throughput: devices pushing small edits concurrently (direct connections).
    if let Some(phone) = &unthr_phone {
        let mut next = 0usize;
        for &(devs, batch) in &cfg.throughput {
            progress(&format!(
                "{n} records: throughput, {devs} devices × {batch} changes per request"
            ));
            // Catch the phone up so the pushing devices start from today's cursors, before
            // each run: from an earlier run's cursors each device would first pull every
            // change of the runs before (16 × 5 000 entries after a 16 × 25 run), and the
            // figure would measure that catch-up, not the devices pushing.
            FerryClient::login(server.addr(), "phone", phone)?.sync(phone, 1000)?;
            let cursors = phone.pool().read(sync_core::store::tables::cursors)?;
            let per_device = (cfg.throughput_changes / devs)
                .max(batch)
                .min(n / (2 * devs).max(1));
            let mut devices = Vec::new();
            for d in 0..devs {
                let rep =
                    Replica::open(&dir.path().join(format!("tp-{devs}-{batch}-{d}.db")), None)?;
                let mut seed_reply = SyncReply::empty(now);
                seed_reply.cursors = cursors.clone();
                let mut mine = Vec::new();
                for _ in 0..per_device {
                    let r = &records[(next * 7919) % n];
                    next += 1;
                    let row = phone
                        .pool()
                        .read(|c| sync_core::store::tables::get_record(c, r.id))?;
                    let Some(row) = row else { continue };
                    seed_reply.pull.push(PullEntry {
                        record: r.id,
                        kind: row.kind.clone(),
                        unit: row.unit.clone(),
                        changes: Vec::new(),
                        snapshot: Some(ByteBuf::from(
                            RecordDoc::load(&row.doc)?.save_uncompressed(),
                        )),
                        lineage: 0,
                        replace: false,
                        redacted: Vec::new(),
                    });
                    mine.push(r.id);
                }
                rep.apply_reply(&seed_reply, now)?;
                let mut dc = FerryClient::login(server.addr(), "field", &rep)?;
                let mut g = Generator::with_seed(cfg.seed * 31 + d as u64);
                edit_ferry(&rep, &mut g, &mine, now)?;
                let avg = pending_bytes(&rep)? as f64 / mine.len().max(1) as f64;
                dc.options.max_push_bytes = ((batch.saturating_sub(1)) as f64 * avg + 1.0) as usize;
                devices.push((rep, dc));
            }
            progress(&format!(
                "{n} records: throughput, {devs} devices × {batch}: devices ready, measuring"
            ));
            let c0 = server.cpu();
            // The devices share the machine's cores with the server: their CPU says how much
            // of the machine was left to it.
            let d0 = bench::cpu_time(std::process::id());
            let t = Instant::now();
            let apply_pulls = cfg.throughput_apply;
            let results: Vec<anyhow::Result<(u64, u64, Vec<Duration>)>> = std::thread::scope(|s| {
                let hs: Vec<_> = devices
                    .iter_mut()
                    .map(|(rep, dc)| {
                        s.spawn(move || -> anyhow::Result<(u64, u64, Vec<Duration>)> {
                            let mut lat = Vec::new();
                            let mut acked = 0u64;
                            let mut requests = 0u64;
                            for _ in 0..100_000 {
                                if rep.outbox_status()?.pending == 0 {
                                    break;
                                }
                                let req = rep.prepare_sync(&dc.options)?;
                                let t = Instant::now();
                                let (reply, _, _) = dc.exchange(&req)?;
                                lat.push(t.elapsed());
                                requests += 1;
                                // The server built and sent the whole pull; unless asked,
                                // the device keeps only its acknowledgements and cursors, so
                                // that applying the other devices' changes does not take the
                                // shared cores from the server being measured.
                                let mut reply = reply;
                                if !apply_pulls {
                                    reply.pull.clear();
                                    reply.purge.clear();
                                }
                                acked += rep
                                    .apply_reply(&reply, ferry_tests::now_ms())?
                                    .acknowledged as u64;
                            }
                            Ok((acked, requests, lat))
                        })
                    })
                    .collect();
                hs.into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(anyhow!("device thread panicked")))
                    })
                    .collect()
            });
            let wall = t.elapsed();
            let cpu = server.cpu().saturating_sub(c0);
            let device_cpu = bench::cpu_time(std::process::id()).saturating_sub(d0);
            let mut acked = 0;
            let mut requests = 0;
            let mut lat = Vec::new();
            for r in results {
                let (a, q, l) = r?;
                acked += a;
                requests += q;
                lat.extend(l);
            }
            lat.sort();
            let pct = |p: f64| {
                lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
                    .copied()
                    .unwrap_or_default()
            };
            let per_s = acked as f64 / wall.as_secs_f64();
            report.best_throughput = report.best_throughput.max(per_s);
            report.rates.push((n, devs, batch, per_s, pct(0.99)));
            report.throughput.push(vec![
                n.to_string(),
                devs.to_string(),
                format!("{:.1}", acked as f64 / requests.max(1) as f64),
                acked.to_string(),
                dur(wall),
                format!("{per_s:.0}/s"),
                dur(pct(0.5)),
                dur(pct(0.99)),
                format!("{:.0} µs", cpu.as_secs_f64() * 1e6 / acked.max(1) as f64),
                format!("{:.0}/s", acked as f64 / cpu.as_secs_f64().max(1e-9)),
                format!(
                    "{:.0} µs",
                    device_cpu.as_secs_f64() * 1e6 / acked.max(1) as f64
                ),
            ]);
        }
    }

    let (rss_end, hwm) = server.memory();
    report.server_figures.push(server_figures(&server, n));
    report.rss.push((n, rss_seeded));
    report.memory.push(vec![
        n.to_string(),
        bytes(rss_seeded),
        bytes(rss_cold),
        bytes(rss_end),
        bytes(hwm),
        bytes(server.db_bytes()),
        base_rss_built.map_or("–".into(), bytes),
        base.as_ref()
            .map_or("–".into(), |b| bytes(bench::memory(b.pid()).1)),
    ]);
    Ok(())
}

fn print_report(cfg: &Cfg, r: &Report) {
    bench::table(
        "Seeding the server (admin device pushes every record through `POST /v1/sync`, direct)",
        &[
            "records",
            "exchanges",
            "wall",
            "accepted changes/s (wall)",
            "server CPU",
            "changes per CPU-second",
            "database",
        ],
        &r.ingest,
    );
    let scenarios = [
        "cold pull",
        "no-op reconnect",
        "1% changed elsewhere, pulled",
        "1% changed on the phone, pushed",
        "devices back after a day offline",
    ];
    for s in scenarios {
        let rows: Vec<Vec<String>> = r
            .rows
            .iter()
            .filter(|row| row.scenario == s)
            .map(|row| {
                let f = &row.ferry;
                let b = row.base.as_ref();
                let mut cells = vec![
                    row.size.to_string(),
                    row.profile.clone(),
                    f.bytes(),
                    f.rt.to_string(),
                    f.wall(),
                    f.cpu(),
                    b.map_or("–".into(), M::bytes),
                    b.map_or("–".into(), |b| b.rt.to_string()),
                    b.map_or("–".into(), M::wall),
                    b.map_or("–".into(), M::cpu),
                    format!("{} / {}", bytes(row.floor.total()), dur(row.floor.wall)),
                    ratio(f.total() as f64, row.floor.total() as f64),
                    ratio(f.wall.as_secs_f64(), row.floor.wall.as_secs_f64()),
                    b.map_or("–".into(), |b| ratio(b.total() as f64, f.total() as f64)),
                ];
                let mut note = row.note.clone();
                if let Some(c) = row.change_bytes {
                    let moved = if s.contains("pushed") { f.up } else { f.down };
                    note = format!(
                        "{note}; changes' own bytes {} → {} of that",
                        bytes(c),
                        ratio(moved as f64, c as f64)
                    );
                }
                cells.push(note);
                cells
            })
            .collect();
        bench::table(
            s,
            &[
                "records",
                "link",
                "Ferry bytes",
                "Ferry RT",
                "Ferry wall",
                "Ferry server CPU",
                "Automerge bytes",
                "Automerge RT",
                "Automerge wall",
                "Automerge server CPU",
                "floor bytes / time",
                "Ferry ÷ floor bytes",
                "Ferry ÷ floor time",
                "Automerge ÷ Ferry bytes",
                "notes",
            ],
            &rows,
        );
    }
    bench::table(
        "Server throughput: devices pushing small edits concurrently (direct connections)",
        &[
            "records",
            "devices",
            "changes per request",
            "accepted",
            "wall",
            "accepted changes/s",
            "p50 latency",
            "p99 latency",
            "server CPU per change",
            "changes per server CPU-second",
            "devices' CPU per change (same machine)",
        ],
        &r.throughput,
    );
    bench::table(
        "Server memory against record count",
        &[
            "records",
            "Ferry RSS after seeding",
            "Ferry RSS after a cold pull",
            "Ferry RSS at the end (after the throughput runs)",
            "Ferry peak RSS",
            "Ferry database",
            "Automerge baseline RSS (documents in memory)",
            "baseline peak RSS",
        ],
        &r.memory,
    );

    println!("\n### Server figures (`/metrics` at the end)\n");
    for line in &r.server_figures {
        println!("- {line}");
    }

    // Targets.
    println!("\n### Targets (issue 6)\n");
    let find = |s: &str, size: usize, profile: &str| {
        r.rows
            .iter()
            .find(|row| row.scenario == s && row.size == size && row.profile == profile)
    };
    let yes = |b: bool| if b { "met" } else { "MISSED" };
    let largest = cfg.sizes.iter().copied().max().unwrap_or(0);
    for p in cfg.profiles.iter().map(|p| p.name.as_str()) {
        if let Some(row) = find("no-op reconnect", largest, p) {
            println!(
                "- no-op reconnect at {largest} records ({p}): {} round trip(s), {} B → {}",
                row.ferry.rt,
                row.ferry.total(),
                yes(row.ferry.rt == 1 && row.ferry.total() < 1024)
            );
        }
    }
    for &size in &cfg.sizes {
        if let Some(row) = find("cold pull", size, "unthrottled") {
            let q = row.ferry.total() as f64 / row.floor.total() as f64;
            println!(
                "- cold pull bytes at {size}: {q:.2}× the zstd-JSON floor (target ≤ 1.3×) → {}",
                yes(q <= 1.3)
            );
        }
        if let Some(row) = find("cold pull", size, "2g") {
            let q = row.ferry.wall.as_secs_f64() / row.floor.wall.as_secs_f64();
            println!(
                "- cold pull time at {size} on 2g{}: {q:.2}× the floor time (target ≤ 1.3× at 10k) → {}",
                if row.ferry.modeled { " (computed)" } else { "" },
                yes(q <= 1.3)
            );
        }
        for s in [
            "1% changed elsewhere, pulled",
            "1% changed on the phone, pushed",
        ] {
            if let Some(row) = find(s, size, "unthrottled")
                && let Some(c) = row.change_bytes
            {
                let moved = if s.contains("pushed") {
                    row.ferry.up
                } else {
                    row.ferry.down
                };
                let q = moved as f64 / c as f64;
                println!(
                    "- {s} at {size}: {q:.2}× the changes' own bytes (target ≤ 2×) → {}",
                    yes(q <= 2.0)
                );
            }
        }
        if let Some(row) = find("no-op reconnect", size, "unthrottled")
            && let Some(b) = row.base
        {
            let q = b.total() as f64 / row.ferry.total().max(1) as f64;
            println!(
                "- no-op reconnect at {size} vs per-document Automerge: {q:.0}× fewer bytes (target ≥ 20× at 10k) → {}",
                yes(q >= 20.0)
            );
        }
    }
    println!(
        "- server accepted changes/s, best configuration: {:.0}/s (target ≥ 5000) → {}",
        r.best_throughput,
        yes(r.best_throughput >= 5000.0)
    );
    // Issue 9's throughput targets, per record count.
    let rate = |n: usize, d: usize, b: usize| {
        r.rates
            .iter()
            .find(|x| x.0 == n && x.1 == d && x.2 == b)
            .map(|x| (x.3, x.4))
    };
    for &n in &cfg.sizes {
        if let Some((per_s, _)) = rate(n, 16, 25) {
            println!(
                "- {n} records, 16 devices × 25 changes: {per_s:.0}/s (target ≥ 5000, aim 10000) → {}",
                yes(per_s >= 5000.0)
            );
        }
        if let (Some((one, _)), Some((sixteen, p99))) = (rate(n, 1, 1), rate(n, 16, 1)) {
            println!(
                "- {n} records, 16 devices × 1 change: {sixteen:.0}/s vs {one:.0}/s with one device (target: no less) → {}",
                yes(sixteen >= one)
            );
            println!(
                "- {n} records, 16 devices × 1 change: p99 {} (target < 250 ms) → {}",
                dur(p99),
                yes(p99 < Duration::from_millis(250))
            );
        }
    }
    if let (Some(first), Some(last)) = (r.rss.first(), r.rss.last())
        && last.0 > first.0
    {
        let grow = last.1 as f64 / first.1.max(1) as f64;
        println!(
            "- server RSS after seeding: {} at {} records, {} at {} records ({grow:.2}× for {:.0}× the records)",
            bytes(first.1),
            first.0,
            bytes(last.1),
            last.0,
            last.0 as f64 / first.0 as f64
        );
    }
    println!("- phone-side apply rate: see `bench-store`");
}
