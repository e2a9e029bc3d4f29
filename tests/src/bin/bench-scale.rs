//! `bench-scale`: Ferry at province size and on several nodes, on SQLite and PostgreSQL.
//!
//! ```text
//! cargo build --release -p ferry-tests --bin ferry --bin bench-scale
//! target/release/bench-scale [--modes scale,nodes,memory] [--engines sqlite,postgres]
//!     [--records 1000000] [--file records.jsonl] [--seed 1]
//!     [--nodes 1,2,3] [--node-records 10000] [--devices 16] [--batch 25] [--changes 20000]
//!     [--memory-records 100000] [--memory-changes 1000000] [--doc-cache-mib 64]
//!     [--reuse-sqlite DIR] [--smoke]
//! ```
//!
//! - `scale`: `ferry import` loads `--records` generated records (the JSON lines `ferry-gen`
//!   prints; `--file` reuses a file of them) into a fresh database; then the server starts
//!   (review detection of the imported records runs first), a phone of one ward pulls that
//!   ward's records cold, reconnects with nothing new, and pulls a 1% delta another device
//!   pushed. Import rate, wall times, bytes (compressed bodies) and server CPU.
//!   `--reuse-sqlite DIR` takes a data directory `ferry import --data-dir DIR` filled
//!   beforehand from `--file` (moved, not copied) instead of importing on SQLite.
//! - `nodes`: devices push small edits concurrently, spread over 1, 2 and 3 `ferry` nodes on
//!   one PostgreSQL database, and the same on one SQLite server in the same run: accepted
//!   changes/s, p50/p99 exchange latency, server CPU per accepted change summed over every
//!   node process.
//! - `memory`: one SQLite server with `--doc-cache-mib`, `--memory-changes` small changes
//!   over `--memory-records` records; the server's RSS is sampled from `/proc` throughout.
//!
//! PostgreSQL is a throwaway cluster of the test harness (`ferry_tests::pg`, `fsync=off`;
//! `FERRY_TEST_DATABASE_URL` points it at an existing server). `--smoke` runs everything
//! small, for CI.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use ferry_tests::bench::{
    self, Args, FerryClient, FerryServer, Sampled, SyncTally, bytes, clone_replica, dur, rate,
};
use ferry_tests::r#gen::{self, Generator};
use ferry_tests::pg::TestDatabase;
use serde_bytes::ByteBuf;
use sync_core::doc::{Author, RecordDoc, encode_change};
use sync_core::model::Record;
use sync_core::protocol::{DeviceStatus, PROTOCOL_VERSION, PushRecord, SyncRequest};
use sync_core::replica::Replica;
use uuid::Uuid;

const UNITS: [&str; 6] = ["07132", "07135", "07147", "07168", "07180", "07183"];

fn progress(msg: &str) {
    eprintln!("[bench-scale] {msg}");
}

fn shell(c: &str, a: &[&str]) -> String {
    std::process::Command::new(c)
        .args(a)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Where a run's servers keep their data: a SQLite data directory, or a PostgreSQL database
/// with the audit key file every node shares.
struct Engine {
    name: &'static str,
    env: Vec<(String, String)>,
    _db: Option<TestDatabase>,
    keys: tempfile::TempDir,
}

impl Engine {
    fn new(name: &str) -> anyhow::Result<Engine> {
        let keys = tempfile::tempdir()?;
        match name {
            "sqlite" => Ok(Engine {
                name: "SQLite",
                env: Vec::new(),
                _db: None,
                keys,
            }),
            "postgres" => {
                let db = TestDatabase::start();
                let key = keys.path().join("audit-key");
                let k: [u8; 32] = rand::random();
                std::fs::write(&key, hex::encode(k))?;
                Ok(Engine {
                    name: "PostgreSQL",
                    env: vec![
                        ("FERRY_DATABASE_URL".into(), db.url().to_owned()),
                        ("FERRY_AUDIT_KEY_FILE".into(), key.display().to_string()),
                    ],
                    _db: Some(db),
                    keys,
                })
            }
            other => bail!("unknown engine `{other}` (sqlite, postgres)"),
        }
    }

    /// A data directory for one node (the SQLite file, or only logs on PostgreSQL).
    fn data_dir(&self, node: usize) -> anyhow::Result<tempfile::TempDir> {
        tempfile::tempdir_in(self.keys.path()).map_err(|e| anyhow!("node {node}: {e}"))
    }
}

/// Writes `n` generated records (seed `seed`) as JSON lines, in chunks (a million records
/// would not fit in memory as one string next to the records).
fn write_records(path: &Path, seed: u64, n: usize) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut g = Generator::with_seed(seed);
    let mut left = n;
    while left > 0 {
        let chunk = g.records(left.min(50_000));
        left -= chunk.len();
        out.write_all(r#gen::to_json_lines(&chunk).as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

/// Reads the records of a JSON-lines file.
fn read_records(path: &Path) -> anyhow::Result<Vec<Record>> {
    use std::io::BufRead;
    let f = std::io::BufReader::new(std::fs::File::open(path)?);
    f.lines().map(|l| Ok(serde_json::from_str(&l?)?)).collect()
}

/// Runs `ferry import FILE` into `dir` on `engine`, measured.
fn import(
    bin: &Path,
    engine: &Engine,
    dir: &Path,
    file: &Path,
    lines: usize,
) -> anyhow::Result<Sampled> {
    let mut cmd = bench::ferry_command(bin, dir, &engine.env);
    cmd.arg("import").arg(file).args(["--batch", "5000"]);
    let s = bench::run_sampled(cmd)?;
    if !s.success {
        bail!("ferry import failed: {}", s.stdout);
    }
    let want = format!("imported {lines} records");
    if !s.stdout.contains(&want) {
        bail!("ferry import: expected `{want}`, got `{}`", s.stdout.trim());
    }
    Ok(s)
}

/// One measured phone session: wall, server CPU, compressed bytes, tally.
fn session(
    servers: &[&FerryServer],
    f: impl FnOnce() -> anyhow::Result<SyncTally>,
) -> anyhow::Result<(Duration, Duration, SyncTally)> {
    let c0: Duration = servers.iter().map(|s| s.cpu()).sum();
    let t = Instant::now();
    let tally = f()?;
    let wall = t.elapsed();
    let cpu = servers
        .iter()
        .map(|s| s.cpu())
        .sum::<Duration>()
        .saturating_sub(c0);
    Ok((wall, cpu, tally))
}

fn session_cells(name: &str, (wall, cpu, t): &(Duration, Duration, SyncTally)) -> Vec<String> {
    vec![
        name.to_owned(),
        t.pulled.to_string(),
        t.exchanges.to_string(),
        format!("↑{} ↓{}", bytes(t.body_up), bytes(t.body_down)),
        dur(*wall),
        dur(*cpu),
    ]
}

/// The `scale` mode on one engine: import, start, cold pull, no-op, 1% delta.
fn scale(
    bin: &Path,
    engine: &Engine,
    file: &Path,
    records: &[Record],
    seed: u64,
    reuse: Option<&Path>,
) -> anyhow::Result<(Vec<String>, Vec<Vec<String>>)> {
    let n = records.len();
    let dir = engine.data_dir(0)?;
    let imp = match reuse {
        Some(from) => {
            adopt_sqlite(from, dir.path())?;
            Sampled::default()
        }
        None => {
            progress(&format!("{}: importing {n} records", engine.name));
            import(bin, engine, dir.path(), file, n)?
        }
    };
    progress(&format!("{}: imported in {}", engine.name, dur(imp.wall)));
    let t = Instant::now();
    let server = FerryServer::start_with(bin, dir, &engine.env)?;
    let start = t.elapsed();
    let start_cpu = server.cpu();
    let ward = UNITS[0];
    let in_ward: Vec<&Record> = records.iter().filter(|r| r.unit == ward).collect();
    server.add_user("phone", "officer", &[ward])?;
    server.add_user("other", "officer", &[ward])?;
    let work = tempfile::tempdir()?;
    let phone = Replica::open(&work.path().join("phone.db"), None)?;
    let mut pc = FerryClient::login(server.addr(), "phone", &phone)?;
    progress(&format!("{}: cold pull of {ward}", engine.name));
    let cold = session(&[&server], || pc.sync(&phone, 1_000_000))?;
    if cold.2.pulled as usize != in_ward.len() {
        bail!(
            "cold pull: {} records, expected {}",
            cold.2.pulled,
            in_ward.len()
        );
    }
    let noop = session(&[&server], || pc.sync(&phone, 100))?;
    let other = clone_replica(&phone, &work.path().join("other.db"))?;
    let mut oc = FerryClient::login(server.addr(), "other", &other)?;
    let k = (in_ward.len() / 100).max(1);
    let mut g = Generator::with_seed(seed * 17 + 1);
    for r in in_ward.iter().step_by((in_ward.len() / k).max(1)).take(k) {
        let edits = g.small_edit(r);
        other.update(r.id, &edits, ferry_tests::now_ms())?;
    }
    oc.sync(&other, 1000)?;
    progress(&format!(
        "{}: 1% delta ({k} records) pushed; pulling",
        engine.name
    ));
    let delta = session(&[&server], || pc.sync(&phone, 1000))?;
    let head = vec![
        engine.name.to_owned(),
        n.to_string(),
        dur(imp.wall),
        rate(n as u64, imp.wall),
        dur(imp.cpu),
        bytes(imp.peak_rss),
        format!("{} ({} CPU)", dur(start), dur(start_cpu)),
        bytes(server.memory().0),
    ];
    let rows = vec![
        session_cells(&format!("{}: cold pull of ward {ward}", engine.name), &cold),
        session_cells(&format!("{}: no-op reconnect", engine.name), &noop),
        session_cells(&format!("{}: 1% delta ({k} records)", engine.name), &delta),
    ];
    Ok((head, rows))
}

/// Moves a SQLite data directory that `ferry import` filled beforehand (and its audit key
/// and checkpoints beside it) to `to` (an empty directory on the same file system).
fn adopt_sqlite(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::rename(from, to).with_context(|| format!("cannot move {}", from.display()))?;
    for suffix in [".audit-key", ".audit-checkpoints"] {
        let beside = |p: &Path| {
            let mut s = p.as_os_str().to_owned();
            s.push(suffix);
            PathBuf::from(s)
        };
        if beside(from).exists() {
            std::fs::rename(beside(from), beside(to))?;
        }
    }
    Ok(())
}

/// A pushing device: its own identity, its share of the records as documents, its cursors.
struct Pusher {
    client: FerryClient,
    device_id: Uuid,
    author: Vec<u8>,
    docs: Vec<(Record, RecordDoc)>,
    cursors: BTreeMap<String, u64>,
    next: usize,
    edits: Generator,
    _dir: tempfile::TempDir,
}

impl Pusher {
    /// The next request: one small edit of each of the next `batch` records.
    fn request(&mut self, batch: usize) -> anyhow::Result<SyncRequest> {
        let mut push = Vec::with_capacity(batch);
        let author = Author::new(&self.author, ferry_tests::now_ms());
        for _ in 0..batch.min(self.docs.len()) {
            let i = self.next % self.docs.len();
            self.next += 1;
            let (record, doc) = &mut self.docs[i];
            let edits = self.edits.small_edit(record);
            let Some(mut change) = doc.edit(&edits, &author)? else {
                continue;
            };
            push.push(PushRecord {
                record: record.id,
                kind: record.kind.as_str().to_owned(),
                unit: record.unit.clone(),
                changes: vec![ByteBuf::from(encode_change(&mut change))],
            });
        }
        Ok(SyncRequest {
            v: PROTOCOL_VERSION,
            device_id: self.device_id,
            cursors: self.cursors.clone(),
            push,
            max_bytes: 256 * 1024,
            status: DeviceStatus::default(),
            resync: Vec::new(),
            sensitive: Vec::new(),
        })
    }
}

/// Pulls every record once (an officer of every unit) and returns the documents by id and
/// the cursors reached.
fn pull_all(
    server: &FerryServer,
    work: &Path,
) -> anyhow::Result<(BTreeMap<Uuid, RecordDoc>, BTreeMap<String, u64>)> {
    let phone = Replica::open(&work.join("puller.db"), None)?;
    FerryClient::login(server.addr(), "field", &phone)?.sync(&phone, 1_000_000)?;
    let heads = phone.all_heads()?;
    let mut docs = BTreeMap::new();
    for id in heads.keys() {
        if let Some(d) = phone.document(*id)? {
            docs.insert(*id, d);
        }
    }
    let cursors = phone.pool().read(sync_core::store::tables::cursors)?;
    Ok((docs, cursors))
}

/// `devices` pushers over `servers` (device d on server d mod N), the records split
/// between them so that no two devices edit the same record.
fn pushers(
    servers: &[FerryServer],
    records: &[Record],
    mut docs: BTreeMap<Uuid, RecordDoc>,
    cursors: &BTreeMap<String, u64>,
    devices: usize,
) -> anyhow::Result<Vec<Pusher>> {
    let mut out = Vec::new();
    for d in 0..devices {
        let dir = tempfile::tempdir()?;
        let id = Replica::open(&dir.path().join("identity.db"), None)?;
        let client = FerryClient::login(servers[d % servers.len()].addr(), "field", &id)?;
        let mine: Vec<(Record, RecordDoc)> = records
            .iter()
            .skip(d)
            .step_by(devices)
            .filter_map(|r| docs.remove(&r.id).map(|doc| (r.clone(), doc)))
            .collect();
        out.push(Pusher {
            client,
            device_id: id.device_id(),
            author: id.actor_id().to_vec(),
            docs: mine,
            cursors: cursors.clone(),
            next: 0,
            edits: Generator::with_seed(1000 + d as u64),
            _dir: dir,
        });
    }
    Ok(out)
}

/// What a throughput run measured.
struct Throughput {
    accepted: u64,
    wall: Duration,
    cpu: Duration,
    p50: Duration,
    p99: Duration,
}

/// Every pusher sends `per_device` changes, `batch` per request, concurrently.
fn push_all(
    servers: &[FerryServer],
    pushers: &mut [Pusher],
    batch: usize,
    per_device: usize,
    accepted_so_far: &AtomicU64,
) -> anyhow::Result<Throughput> {
    let c0: Duration = servers.iter().map(FerryServer::cpu).sum();
    let t = Instant::now();
    let results: Vec<anyhow::Result<(u64, Vec<Duration>)>> = std::thread::scope(|s| {
        let hs: Vec<_> = pushers
            .iter_mut()
            .map(|p| {
                s.spawn(move || -> anyhow::Result<(u64, Vec<Duration>)> {
                    let mut lat = Vec::new();
                    let mut acked = 0u64;
                    while (acked as usize) < per_device {
                        let req = p.request(batch.min(per_device - acked as usize))?;
                        let sent = req.push.len() as u64;
                        let t = Instant::now();
                        let (reply, _, _) = p.client.exchange(&req)?;
                        lat.push(t.elapsed());
                        if !reply.rejected.is_empty() {
                            bail!(
                                "{} changes rejected: {:?}",
                                reply.rejected.len(),
                                reply.rejected[0].code
                            );
                        }
                        p.cursors = reply.cursors;
                        acked += reply.accepted.len() as u64;
                        accepted_so_far.fetch_add(sent, Ordering::Relaxed);
                    }
                    Ok((acked, lat))
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
    let cpu = servers
        .iter()
        .map(FerryServer::cpu)
        .sum::<Duration>()
        .saturating_sub(c0);
    let mut accepted = 0;
    let mut lat = Vec::new();
    for r in results {
        let (a, l) = r?;
        accepted += a;
        lat.extend(l);
    }
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Ok(Throughput {
        accepted,
        wall,
        cpu,
        p50: pct(0.5),
        p99: pct(0.99),
    })
}

/// Imports `file` on `engine`, starts `nodes` servers on it and an officer `field` of
/// every unit; returns the servers.
fn servers_with_records(
    bin: &Path,
    engine: &Engine,
    file: &Path,
    n: usize,
    nodes: usize,
    extra: &[(String, String)],
) -> anyhow::Result<Vec<FerryServer>> {
    let mut env = engine.env.clone();
    env.extend_from_slice(extra);
    // Started first and imported into while it runs: a server started after the import
    // would first run review detection over every imported record (see BENCHMARKS.md).
    let mut servers = vec![FerryServer::start_with(bin, engine.data_dir(0)?, &env)?];
    import(bin, engine, servers[0].data_dir(), file, n)?;
    for i in 1..nodes {
        servers.push(FerryServer::start_with(bin, engine.data_dir(i)?, &env)?);
    }
    servers[0].add_user("field", "officer", &UNITS)?;
    Ok(servers)
}

/// The `nodes` mode: one throughput run on `engine` with `nodes` servers.
fn nodes_run(
    bin: &Path,
    engine: &Engine,
    file: &Path,
    records: &[Record],
    nodes: usize,
    (devices, batch, changes): (usize, usize, usize),
) -> anyhow::Result<Vec<String>> {
    let servers = servers_with_records(bin, engine, file, records.len(), nodes, &[])?;
    let work = tempfile::tempdir()?;
    let (docs, cursors) = pull_all(&servers[0], work.path())?;
    let mut ps = pushers(&servers, records, docs, &cursors, devices)?;
    progress(&format!(
        "{}: {nodes} node(s), {devices} devices × {batch}: pushing",
        engine.name
    ));
    let counter = AtomicU64::new(0);
    let m = push_all(&servers, &mut ps, batch, changes / devices, &counter)?;
    Ok(vec![
        engine.name.to_owned(),
        nodes.to_string(),
        format!("{devices} × {batch}"),
        m.accepted.to_string(),
        dur(m.wall),
        format!("{:.0}/s", m.accepted as f64 / m.wall.as_secs_f64()),
        dur(m.p50),
        dur(m.p99),
        format!(
            "{:.0} µs",
            m.cpu.as_secs_f64() * 1e6 / m.accepted.max(1) as f64
        ),
    ])
}

/// The `memory` mode: RSS of one SQLite server while `changes` small changes land on the
/// records of `file`.
fn memory_run(
    bin: &Path,
    file: &Path,
    records: &[Record],
    changes: usize,
    cache_mib: u64,
) -> anyhow::Result<Vec<Vec<String>>> {
    let engine = Engine::new("sqlite")?;
    let extra = [("FERRY_DOC_CACHE_MIB".to_owned(), cache_mib.to_string())];
    let servers = servers_with_records(bin, &engine, file, records.len(), 1, &extra)?;
    let work = tempfile::tempdir()?;
    let (docs, cursors) = pull_all(&servers[0], work.path())?;
    let (rss_start, _) = servers[0].memory();
    let devices = 4;
    let mut ps = pushers(&servers, records, docs, &cursors, devices)?;
    let pid = servers[0].pid();
    let done = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (done, counter) = (done.clone(), counter.clone());
        std::thread::spawn(move || {
            let mut samples = Vec::new();
            let started = Instant::now();
            while !done.load(Ordering::Relaxed) {
                let sample = (counter.load(Ordering::Relaxed), bench::memory(pid).0);
                // Every 20 s on stderr too, so that a run cut short still says something.
                if samples.len() % 40 == 0 {
                    progress(&format!(
                        "memory: {} s, {} changes sent, RSS {}",
                        started.elapsed().as_secs(),
                        sample.0,
                        bytes(sample.1)
                    ));
                }
                samples.push(sample);
                std::thread::sleep(Duration::from_millis(500));
            }
            samples
        })
    };
    progress(&format!(
        "memory: pushing {changes} changes over {} records",
        records.len()
    ));
    let m = push_all(&servers, &mut ps, 100, changes / devices, &counter)?;
    done.store(true, Ordering::Relaxed);
    let samples = sampler.join().map_err(|_| anyhow!("sampler panicked"))?;
    let (rss_end, hwm) = servers[0].memory();
    let mut rows = Vec::new();
    for tenth in 1..=10 {
        let at = m.accepted * tenth / 10;
        let rss = samples
            .iter()
            .filter(|(c, _)| *c <= at)
            .map(|(_, r)| *r)
            .max()
            .unwrap_or(0);
        rows.push(vec![at.to_string(), bytes(rss)]);
    }
    rows.push(vec![
        "after the pull, before pushing".into(),
        bytes(rss_start),
    ]);
    rows.push(vec![
        format!(
            "end ({} accepted, {})",
            m.accepted,
            rate(m.accepted, m.wall)
        ),
        bytes(rss_end),
    ]);
    rows.push(vec!["peak (VmHWM)".into(), bytes(hwm)]);
    Ok(rows)
}

fn records_file(
    args: &Args,
    dir: &Path,
    name: &str,
    n: usize,
    seed: u64,
) -> anyhow::Result<PathBuf> {
    if let Some(f) = args.value("--file").filter(|_| name == "scale") {
        return Ok(PathBuf::from(f));
    }
    let path = dir.join(format!("{name}-{n}.jsonl"));
    progress(&format!("generating {n} records for {name}"));
    write_records(&path, seed, n)?;
    Ok(path)
}

fn main() -> anyhow::Result<()> {
    let args = Args::from_env();
    let smoke = args.flag("--smoke");
    let modes = args
        .value("--modes")
        .unwrap_or("scale,nodes,memory")
        .to_owned();
    let engines: Vec<String> = args
        .value("--engines")
        .unwrap_or("sqlite,postgres")
        .split(',')
        .map(str::to_owned)
        .collect();
    let seed = args.number("--seed", 1)?;
    let bin = bench::ferry_binary()?;
    let tmp = tempfile::tempdir()?;
    println!("## bench-scale\n");
    println!(
        "machine: {} cores; load at start: `{}`",
        shell("nproc", &[]),
        shell("uptime", &[])
    );
    let started = Instant::now();
    if modes.contains("scale") {
        let n = args.number("--records", if smoke { 2_000 } else { 1_000_000 })? as usize;
        let file = records_file(&args, tmp.path(), "scale", n, seed)?;
        let records = read_records(&file)?;
        let reuse = args.value("--reuse-sqlite").map(PathBuf::from);
        scale_report(&bin, &engines, &file, &records, seed, reuse.as_deref())?;
    }
    if modes.contains("nodes") {
        let n = args.number("--node-records", if smoke { 1_000 } else { 10_000 })? as usize;
        let file = records_file(&args, tmp.path(), "nodes", n, seed)?;
        let records = read_records(&file)?;
        let shape = (
            args.number("--devices", if smoke { 3 } else { 16 })? as usize,
            args.number("--batch", 25)? as usize,
            args.number("--changes", if smoke { 150 } else { 20_000 })? as usize,
        );
        let nodes = args.list("--nodes", &[1, 2, 3])?;
        nodes_report(&bin, &engines, &file, &records, &nodes, shape)?;
    }
    if modes.contains("memory") {
        let n = args.number("--memory-records", if smoke { 1_000 } else { 100_000 })? as usize;
        let changes =
            args.number("--memory-changes", if smoke { 2_000 } else { 1_000_000 })? as usize;
        let cache = args.number("--doc-cache-mib", 64)?;
        let file = records_file(&args, tmp.path(), "memory", n, seed)?;
        let records = read_records(&file)?;
        let rows = memory_run(&bin, &file, &records, changes, cache)?;
        bench::table(
            &format!(
                "Server RSS: {changes} small changes over {n} records, --doc-cache-mib {cache} (SQLite)"
            ),
            &["accepted changes", "RSS (largest sample so far)"],
            &rows,
        );
    }
    println!("\nload at the end: `{}`", shell("uptime", &[]));
    println!("total benchmark time: {}", dur(started.elapsed()));
    Ok(())
}

fn scale_report(
    bin: &Path,
    engines: &[String],
    file: &Path,
    records: &[Record],
    seed: u64,
    reuse: Option<&Path>,
) -> anyhow::Result<()> {
    let mut heads = Vec::new();
    let mut rows = Vec::new();
    for e in engines {
        let engine = Engine::new(e)?;
        let reuse = reuse.filter(|_| e == "sqlite");
        let (head, r) =
            scale(bin, &engine, file, records, seed, reuse).with_context(|| e.clone())?;
        heads.push(head);
        rows.extend(r);
    }
    bench::table(
        &format!("Bulk import of {} records (`ferry import`)", records.len()),
        &[
            "engine",
            "records",
            "import wall",
            "rate",
            "import CPU",
            "import peak RSS",
            "server start (detection)",
            "server RSS after start",
        ],
        &heads,
    );
    bench::table(
        "A phone of one ward at that size (direct connection; bytes are compressed bodies)",
        &[
            "session",
            "records pulled",
            "exchanges",
            "bytes",
            "wall",
            "server CPU",
        ],
        &rows,
    );
    Ok(())
}

fn nodes_report(
    bin: &Path,
    engines: &[String],
    file: &Path,
    records: &[Record],
    nodes: &[usize],
    shape: (usize, usize, usize),
) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for e in engines {
        let counts: &[usize] = if e == "sqlite" { &[1] } else { nodes };
        for &k in counts {
            let engine = Engine::new(e)?;
            rows.push(
                nodes_run(bin, &engine, file, records, k, shape)
                    .with_context(|| format!("{e}, {k} nodes"))?,
            );
        }
    }
    bench::table(
        &format!(
            "Throughput on several nodes ({} records; server CPU summed over every node)",
            records.len()
        ),
        &[
            "engine",
            "nodes",
            "devices × changes per request",
            "accepted",
            "wall",
            "changes/s",
            "p50",
            "p99",
            "server CPU per change",
        ],
        &rows,
    );
    Ok(())
}
