//! `bench-attach`: attachments on a slow link that cuts (issue 13 item 7), in three parts:
//!
//! 1. **photo**: one phone uploads a 1.5 MB photo through its upload queue
//!    (`sync_core::attachment::local::upload_due`, backoff included) over the link alone;
//!    printed: the requests per chunk, the most of one chunk that reached the server over
//!    all its requests (the server keeps what arrived of a cut chunk, and the next request
//!    carries only the rest, so this stays near 1× however often a chunk is cut), the bytes
//!    that crossed the link against the photo's size, the cuts; then a second phone fetches
//!    it and compares it byte for byte.
//! 2. **stall**: the same phone uploads a second photo while creating and syncing a record
//!    every 3 s; once a third of the photo is acknowledged the link goes down for
//!    `--outage-secs`. Printed: the record syncs that completed while the upload was
//!    unfinished, and those that completed after the link came back while the upload was
//!    still stalled (waiting out its backoff, before its next acknowledged chunk).
//! 3. **fleet**: `--devices` phones come back after a day offline, each with 15 new
//!    records (generated households) and `--fleet-photos` photos, each on its own link;
//!    all start at once: sync the records, then upload the photos. Printed: times to
//!    records synced and to photos uploaded, chunk re-sends, bytes against the photos, the
//!    server's CPU time and peak memory, and a check of every blob the server holds.
//!
//! ```text
//! cargo build --release -p ferry-tests --bin ferry --bin bench-attach
//! target/release/bench-attach [--parts photo,stall,fleet] [--profile 2g] [--seed 1]
//!     [--mean-cut-bytes 1000000] [--photo-bytes 1500000] [--outage-secs 20]
//!     [--devices 20] [--fleet-photos 3] [--fleet-photo-bytes 1500000]
//! target/release/bench-attach --smoke     # 3g, 200 kB photos, 3 devices: under a minute
//! ```
//!
//! The link is the link simulator (`ferry_tests::link`) with the named profile (`2g`:
//! 100 kbit/s each way, 600 ms round trip, a TCP connect costs a round trip); its own random
//! cuts are replaced by cuts after an exponential number of **upstream** bytes per
//! connection (seeded, mean `--mean-cut-bytes`; 0 for none), since uploads are what crosses
//! it upstream. The harness's HTTP client opens a connection per request, as a phone
//! whose connections do not survive the radio's idle timeout. Phones log in directly (set
//! up in the office), then use the link.
//!
//! Exit status 1 when a photo arrives different from what was attached, an upload or a
//! sync never finishes, or no record sync completed while the upload was stalled; the
//! issue's figures (at most two sends of a chunk, bytes ≤ 1.1× the photo) are printed as
//! met or missed.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use ferry_tests::attach::HttpTransport;
use ferry_tests::bench::{Args, bytes, cpu_time, dur, memory, ratio};
use ferry_tests::r#gen::{Generator, as_officer};
use ferry_tests::link::{Cut, Direction, Faults, Link, LinkProfile, LinkStats};
use ferry_tests::{Device, Server, citizen, now_ms};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sync_core::attachment::local;
use sync_core::attachment::transfer::chunk_count;
use sync_core::attachment::{Meta, sha256_hex};
use sync_core::model::{Kind, Record};

const UNITS: [&str; 6] = ["07132", "07135", "07147", "07168", "07180", "07183"];
const DAY_MS: i64 = 86_400_000;
/// Longest any one upload or sync loop may run before the run is declared failed.
const PATIENCE: Duration = Duration::from_secs(40 * 60);

#[derive(Debug, Clone)]
struct Opts {
    parts: Vec<String>,
    profile: LinkProfile,
    seed: u64,
    mean_cut: f64,
    photo: usize,
    outage: Duration,
    devices: usize,
    fleet_photos: usize,
    fleet_photo: usize,
}

impl Opts {
    fn from(args: &Args) -> anyhow::Result<Opts> {
        let smoke = args.flag("--smoke");
        let n =
            |name: &str, full: u64, small: u64| args.number(name, if smoke { small } else { full });
        // The smoke run checks the program, not the link: 3g keeps it under half a minute.
        let profile = args
            .value("--profile")
            .unwrap_or(if smoke { "3g" } else { "2g" });
        Ok(Opts {
            parts: args
                .value("--parts")
                .unwrap_or("photo,stall,fleet")
                .split(',')
                .map(str::to_owned)
                .collect(),
            profile: LinkProfile::by_name(profile)
                .with_context(|| format!("unknown --profile {profile}"))?,
            seed: args.number("--seed", 1)?,
            mean_cut: n("--mean-cut-bytes", 1_000_000, 500_000)? as f64,
            photo: n("--photo-bytes", 1_500_000, 200_000)? as usize,
            outage: Duration::from_secs(n("--outage-secs", 20, 3)?),
            devices: n("--devices", 20, 3)? as usize,
            fleet_photos: n("--fleet-photos", 3, 2)? as usize,
            fleet_photo: n("--fleet-photo-bytes", 1_500_000, 100_000)? as usize,
        })
    }

    fn part(&self, name: &str) -> bool {
        self.parts.iter().any(|p| p == name)
    }
}

/// A JPEG-looking photo: a JPEG header, then seeded noise (incompressible like a real one).
fn photo(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    b.resize(len.max(b.len()), 0);
    rng.fill(&mut b[11..]);
    b
}

/// A link of `opts`' profile to `target` that cuts each connection after an exponential
/// number of upstream bytes.
fn cutting_link(target: SocketAddr, opts: &Opts, seed: u64) -> anyhow::Result<Link> {
    let link = Link::start(target, opts.profile.clone().without_faults(), seed)?;
    let mean = opts.mean_cut;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    link.set_plan(move |_| {
        if mean <= 0.0 {
            return Some(Faults::default());
        }
        // Exponential with the given mean: -ln(U) × mean.
        let u: f64 = rng.r#gen::<f64>().max(1e-12);
        Some(Faults {
            cut: Some(Cut {
                direction: Direction::Upstream,
                after_bytes: (-u.ln() * mean) as u64,
            }),
            cut_after: None,
        })
    });
    Ok(link)
}

/// `user`'s phone, logged in directly, then talking through `link`.
fn phone_on(server: &Server, link: &Link, user: &str) -> Device {
    let mut d = Device::login(&server.url(), user);
    d.client = d.client.via(&link.url());
    d
}

/// Syncs until done, retrying a cut exchange (the link simulator cuts); the time taken.
fn sync_retrying(d: &Device) -> anyhow::Result<Duration> {
    let t = Instant::now();
    while t.elapsed() < PATIENCE {
        match d.client.sync_until_done(&d.replica, 50) {
            Ok(_) => return Ok(t.elapsed()),
            Err(_) => std::thread::sleep(Duration::from_millis(250)),
        }
    }
    bail!("record sync kept failing for {}", dur(PATIENCE))
}

/// Runs the phone's upload queue as an app would (a pass, a short pause; the queue's own
/// backoff decides what is due) until nothing is left to upload; the passes made.
fn upload_all(
    d: &Device,
    t: &HttpTransport,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> anyhow::Result<u32> {
    let started = Instant::now();
    let mut passes = 0;
    while !local::due_uploads(&d.replica, i64::MAX)?.is_empty() {
        if started.elapsed() > PATIENCE {
            bail!("uploads unfinished after {}", dur(PATIENCE));
        }
        passes += 1;
        local::upload_due(&d.replica, t, now_ms(), progress)?;
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok(passes)
}

/// How often the chunks of one blob were sent: (chunks, sent once, sent twice, sent more,
/// most sends of one chunk).
fn sends_of(t: &HttpTransport, meta: &Meta) -> (u64, u64, u64, u64, u32) {
    let sends = t.chunks_sent(&meta.hash);
    let count = |f: &dyn Fn(u32) -> bool| sends.values().filter(|n| f(**n)).count() as u64;
    (
        chunk_count(meta.size),
        count(&|n| n == 1),
        count(&|n| n == 2),
        count(&|n| n > 2),
        sends.values().copied().max().unwrap_or(0),
    )
}

/// Time to move `n` bytes one way at the profile's upstream rate.
fn floor(opts: &Opts, n: u64) -> Duration {
    LinkProfile::transmit(n, opts.profile.up_bps)
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

/// What the run found wrong (exit status 1) and the targets' verdicts.
#[derive(Default)]
struct Verdicts {
    failures: Vec<String>,
    targets: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    let opts = Opts::from(&Args::from_env())?;
    let bin = ferry_tests::bench::ferry_binary()?;
    let server = Server::start(&bin);
    println!(
        "bench-attach: {} link, upstream cuts every {} on average (exponential, seed {}); server pid {}",
        opts.profile.name,
        if opts.mean_cut > 0.0 {
            bytes(opts.mean_cut as u64)
        } else {
            "∞".into()
        },
        opts.seed,
        server.pid().unwrap_or(0)
    );
    let mut v = Verdicts::default();
    if opts.part("photo") || opts.part("stall") {
        server.add_user("lan", "officer", &["07132"]);
        server.add_user("minh", "officer", &["07132"]);
        let link = cutting_link(server.addr(), &opts, opts.seed)?;
        let phone = phone_on(&server, &link, "lan");
        if opts.part("photo") {
            photo_part(&server, &link, &phone, &opts, &mut v)?;
        }
        if opts.part("stall") {
            stall_part(&link, &phone, &opts, &mut v)?;
        }
    }
    if opts.part("fleet") {
        fleet_part(&server, &opts, &mut v)?;
    }
    println!("targets:");
    for t in &v.targets {
        println!("  {t}");
    }
    if !v.failures.is_empty() {
        bail!("{}", v.failures.join("; "));
    }
    Ok(())
}

/// Part 1: one photo over the link alone.
fn photo_part(
    server: &Server,
    link: &Link,
    phone: &Device,
    opts: &Opts,
    v: &mut Verdicts,
) -> anyhow::Result<()> {
    let id = phone
        .create(Kind::Citizen, "07132", citizen("Trần Thị Lan"), now_ms())?
        .record
        .id;
    let bytes_in = photo(opts.photo, opts.seed);
    let meta = local::attach(&phone.replica, id, &bytes_in, "portrait", "lan", now_ms())?;
    sync_retrying(phone)?;
    let before = link.stats();
    let started = Instant::now();
    let t = HttpTransport::new(phone.client.clone()).measuring_upstream(link.upstream_counter());
    let passes = upload_all(phone, &t, &mut |_, _, _| {})?;
    let took = started.elapsed();
    let s = link.stats().since(&before);
    let (chunks, once, twice, more, most) = sends_of(&t, &meta);
    let on_link = s.bytes_up + s.bytes_down;
    let times = on_link as f64 / meta.size as f64;
    println!(
        "photo: {} ({chunks} chunks of 64 KiB), uploaded through the phone's queue over the link alone",
        bytes(meta.size)
    );
    println!(
        "  uploaded in {} ({} passes of the queue; the photo alone at the link's rate: {}); cuts: {}",
        dur(took),
        passes,
        dur(floor(opts, meta.size)),
        s.cuts
    );
    let crossed = t
        .most_crossings_of_a_chunk(&meta.hash, meta.size)
        .unwrap_or(f64::NAN);
    println!(
        "  requests per chunk: one {once}, two {twice}, more {more} (most {most}; a request after a cut carries only the rest of its chunk)"
    );
    println!(
        "  the most of one chunk that reached the server over all its requests: {crossed:.3}× the chunk (request heads included)"
    );
    println!(
        "  bytes on the link during the upload: ↑{} ↓{} = {:.3}× the photo ({} connections)",
        bytes(s.bytes_up),
        bytes(s.bytes_down),
        times,
        s.connections
    );
    let other = phone_on(server, link, "minh");
    sync_retrying(&other)?;
    let fetcher = HttpTransport::new(other.client.clone());
    let started = Instant::now();
    let got = loop {
        match local::fetch(&other.replica, &fetcher, id, &meta.hash, &mut |_, _| {}) {
            Ok(b) => break b,
            Err(_) if started.elapsed() < PATIENCE => {
                std::thread::sleep(Duration::from_millis(500))
            }
            Err(e) => return Err(e).context("fetch on the second phone"),
        }
    };
    let same = got == bytes_in;
    println!(
        "  a second phone fetched it in {}: byte-identical {}",
        dur(started.elapsed()),
        if same { "yes" } else { "NO" }
    );
    if !same {
        v.failures.push("the fetched photo differs".into());
    }
    v.targets.push(format!(
        "no chunk of the photo sent more than twice (most of one chunk on the link: {crossed:.3}×): {}",
        met(crossed <= 2.0)
    ));
    v.targets.push(format!(
        "bytes on the link ≤ 1.1× the photo ({times:.3}×): {}",
        met(times <= 1.1)
    ));
    Ok(())
}

/// A record sync of the stall part: when it started and finished.
struct Synced {
    started: Instant,
    finished: Instant,
}

/// Part 2: a photo upload stalled by an outage while records keep syncing.
fn stall_part(link: &Link, phone: &Device, opts: &Opts, v: &mut Verdicts) -> anyhow::Result<()> {
    let id = phone
        .create(Kind::Citizen, "07132", citizen("Đỗ Thị Hoa"), now_ms())?
        .record
        .id;
    let bytes_in = photo(opts.photo, opts.seed + 1);
    let meta = local::attach(
        &phone.replica,
        id,
        &bytes_in,
        "document_scan",
        "lan",
        now_ms(),
    )?;
    sync_retrying(phone)?;
    let acks: Mutex<Vec<(Instant, u64)>> = Mutex::new(Vec::new());
    let done = AtomicBool::new(false);
    let t = HttpTransport::new(phone.client.clone());
    let started = Instant::now();
    let (outage_at, syncs) = std::thread::scope(|s| -> anyhow::Result<_> {
        let uploader = s.spawn(|| -> anyhow::Result<()> {
            let r = upload_all(phone, &t, &mut |_, n, _| {
                acks.lock().unwrap().push((Instant::now(), n));
            });
            done.store(true, Ordering::SeqCst);
            r.map(|_| ())
        });
        let mut outage_at = None;
        let mut syncs = Vec::new();
        while !done.load(Ordering::SeqCst) {
            let acked = acks.lock().unwrap().last().map_or(0, |a| a.1);
            if outage_at.is_none() && acked * 3 >= meta.size {
                outage_at = Some(Instant::now());
                link.outage(opts.outage);
            }
            phone.create(Kind::Citizen, "07132", citizen("Phạm Văn Đức"), now_ms())?;
            let began = Instant::now();
            sync_retrying(phone)?;
            syncs.push(Synced {
                started: began,
                finished: Instant::now(),
            });
            std::thread::sleep(Duration::from_secs(3));
        }
        uploader
            .join()
            .map_err(|_| anyhow::anyhow!("the uploader panicked"))??;
        Ok((outage_at, syncs))
    })?;
    let took = started.elapsed();
    let finished = started + took;
    let outage_at = outage_at.context("the upload finished before a third was acknowledged")?;
    let back = outage_at + opts.outage;
    let acks = acks.into_inner().unwrap();
    // The upload moves again at its first acknowledged chunk after the link is back.
    let resumed = acks
        .iter()
        .map(|a| a.0)
        .find(|at| *at > back)
        .unwrap_or(finished);
    let while_unfinished: Vec<&Synced> = syncs.iter().filter(|s| s.finished < finished).collect();
    let in_stall: Vec<&Synced> = while_unfinished
        .iter()
        .copied()
        .filter(|s| s.finished > back && s.finished < resumed)
        .collect();
    let mut times: Vec<Duration> = while_unfinished
        .iter()
        .filter(|s| s.finished < outage_at || s.started > back)
        .map(|s| s.finished - s.started)
        .collect();
    times.sort();
    let median = times.get(times.len() / 2).copied().unwrap_or_default();
    let slowest = times.last().copied().unwrap_or_default();
    let first_back = syncs
        .iter()
        .map(|s| s.finished)
        .find(|f| *f > back)
        .map(|f| f - back);
    let (_, _, twice, more, most) = sends_of(&t, &meta);
    println!(
        "stall: a second photo of {}; the link down {} once a third was acknowledged; a record created and synced every 3 s",
        bytes(meta.size),
        dur(opts.outage)
    );
    println!(
        "  upload: {} in all, stalled {} (the outage, then the queue's backoff until its next chunk was acknowledged); chunks sent twice: {twice}, more often: {more} (most {most})",
        dur(took),
        dur(resumed - outage_at)
    );
    println!(
        "  record syncs completed while the upload was unfinished: {} (median {}, slowest {}, not counting those that waited out the outage)",
        while_unfinished.len(),
        dur(median),
        dur(slowest)
    );
    println!(
        "  after the link came back, while the upload was still stalled: record syncs completed: {}, the first {} after the link returned",
        in_stall.len(),
        first_back.map_or_else(|| "never".into(), dur)
    );
    if in_stall.is_empty() {
        v.failures
            .push("no record sync completed while the upload was stalled".into());
    }
    v.targets.push(format!(
        "record sync keeps completing while the upload is stalled by the outage ({} syncs): {}",
        in_stall.len(),
        met(!in_stall.is_empty())
    ));
    Ok(())
}

/// What one fleet device did.
struct DeviceRun {
    records_synced: Duration,
    photos_uploaded: Duration,
    link: LinkStats,
    twice: u64,
    more: u64,
    most: u32,
    /// The most of one chunk that reached the server, in copies of the chunk.
    crossed: f64,
    photo_bytes: u64,
}

/// Part 3: a fleet back after a day offline, each uploading its photos.
fn fleet_part(server: &Server, opts: &Opts, v: &mut Verdicts) -> anyhow::Result<()> {
    let day_ago = now_ms() - DAY_MS;
    let mut phones = Vec::new();
    for k in 0..opts.devices {
        let user = format!("fleet{k}");
        server.add_user(&user, "officer", &UNITS);
        let link = cutting_link(server.addr(), opts, opts.seed * 1000 + 100 + k as u64)?;
        let phone = phone_on(server, &link, &user);
        // The day's work, offline: households, then photos of some of their people.
        let mut g = Generator::with_seed(opts.seed * 7919 + k as u64);
        let records: Vec<Record> = g.records(15).into_iter().map(as_officer).collect();
        let saved = phone.import(records, day_ago)?;
        let mut metas = Vec::new();
        let people = saved.iter().filter(|s| s.record.kind == Kind::Citizen);
        for (j, s) in people.take(opts.fleet_photos).enumerate() {
            let at = day_ago + (j as i64 + 1) * 3_600_000;
            let b = photo(
                opts.fleet_photo,
                opts.seed * 1_000_000 + (k * 100 + j) as u64,
            );
            metas.push(local::attach(
                &phone.replica,
                s.record.id,
                &b,
                "portrait",
                &user,
                at,
            )?);
        }
        phones.push((phone, link, metas));
    }
    let pid = server.pid().unwrap_or(0);
    let cpu_before = cpu_time(pid);
    let started = Instant::now();
    let runs: Vec<anyhow::Result<DeviceRun>> = std::thread::scope(|s| {
        let handles: Vec<_> = phones
            .iter()
            .map(|(phone, link, metas)| {
                s.spawn(move || -> anyhow::Result<DeviceRun> {
                    let before = link.stats();
                    let t0 = Instant::now();
                    sync_retrying(phone)?;
                    let records_synced = t0.elapsed();
                    // The phone's own link carries nothing else while its photos go.
                    let t = HttpTransport::new(phone.client.clone())
                        .measuring_upstream(link.upstream_counter());
                    upload_all(phone, &t, &mut |_, _, _| {})?;
                    let photos_uploaded = t0.elapsed();
                    let mut run = DeviceRun {
                        records_synced,
                        photos_uploaded,
                        link: link.stats().since(&before),
                        twice: 0,
                        more: 0,
                        most: 0,
                        crossed: 0.0,
                        photo_bytes: metas.iter().map(|m| m.size).sum(),
                    };
                    for m in metas {
                        let (_, _, twice, more, most) = sends_of(&t, m);
                        run.twice += twice;
                        run.more += more;
                        run.most = run.most.max(most);
                        let crossed = t.most_crossings_of_a_chunk(&m.hash, m.size);
                        run.crossed = run.crossed.max(crossed.unwrap_or(f64::NAN));
                    }
                    Ok(run)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a device panicked")))
            })
            .collect()
    });
    let wall = started.elapsed();
    let cpu = cpu_time(pid).saturating_sub(cpu_before);
    let (_, peak) = memory(pid);
    let runs: Vec<DeviceRun> = runs.into_iter().collect::<anyhow::Result<_>>()?;
    let all_metas: Vec<&Meta> = phones.iter().flat_map(|p| &p.2).collect();
    let (checked, bad) = check_blobs(server, &all_metas);
    let mut rec: Vec<Duration> = runs.iter().map(|r| r.records_synced).collect();
    let mut up: Vec<Duration> = runs.iter().map(|r| r.photos_uploaded).collect();
    rec.sort();
    up.sort();
    let median = |d: &[Duration]| d[d.len() / 2];
    let photo_bytes: u64 = runs.iter().map(|r| r.photo_bytes).sum();
    let (bytes_up, bytes_down) = runs.iter().fold((0, 0), |a, r| {
        (a.0 + r.link.bytes_up, a.1 + r.link.bytes_down)
    });
    let cuts: u64 = runs.iter().map(|r| r.link.cuts).sum();
    let twice: u64 = runs.iter().map(|r| r.twice).sum();
    let more: u64 = runs.iter().map(|r| r.more).sum();
    let most = runs.iter().map(|r| r.most).max().unwrap_or(0);
    let crossed = runs.iter().map(|r| r.crossed).fold(0.0, f64::max);
    let chunks: u64 = all_metas.iter().map(|m| chunk_count(m.size)).sum();
    let per_device = photo_bytes / runs.len().max(1) as u64;
    println!(
        "fleet: {} phones back after a day offline, each with 15 new records and {} photos of {}, each on its own {} link; all start at once",
        runs.len(),
        opts.fleet_photos,
        bytes(opts.fleet_photo as u64),
        opts.profile.name
    );
    println!(
        "  records synced: median {}, slowest {} (each phone syncs its records before its photos)",
        dur(median(&rec)),
        dur(rec[rec.len() - 1])
    );
    println!(
        "  photos uploaded: median {}, slowest {}, all in {} (one phone's photos alone at the link's rate: {})",
        dur(median(&up)),
        dur(up[up.len() - 1]),
        dur(wall),
        dur(floor(opts, per_device))
    );
    println!(
        "  chunks: {chunks}; requests per chunk: two {twice}, more {more} (most {most}); cuts: {cuts}; the most of one chunk that reached the server: {crossed:.3}× the chunk"
    );
    println!(
        "  bytes on the links: ↑{} ↓{} = {:.3}× the photos (records included)",
        bytes(bytes_up),
        bytes(bytes_down),
        (bytes_up + bytes_down) as f64 / photo_bytes as f64
    );
    println!(
        "  server: {} CPU for the whole fleet ({} per photo), peak RSS {}; blobs on the server checked: {checked}, wrong or missing: {bad}",
        dur(cpu),
        dur(cpu / all_metas.len().max(1) as u32),
        bytes(peak)
    );
    if bad > 0 || checked != all_metas.len() {
        v.failures.push(format!(
            "{bad} of the fleet's blobs are wrong or missing on the server"
        ));
    }
    v.targets.push(format!(
        "fleet: every photo stored whole and no chunk sent more than twice (most of one chunk on the link: {crossed:.3}×; the links carried {} the photos): {}",
        ratio((bytes_up + bytes_down) as f64, photo_bytes as f64),
        met(bad == 0 && crossed <= 2.0)
    ));
    Ok(())
}

/// Reads every blob from the file store and checks it hashes to its name and has its size:
/// (blobs found, blobs wrong or missing).
fn check_blobs(server: &Server, metas: &[&Meta]) -> (usize, usize) {
    let root = server.data_dir().join("blobs");
    let mut found = 0;
    let mut bad = 0;
    for m in metas {
        match std::fs::read(root.join(&m.hash[..2]).join(&m.hash)) {
            Ok(b) if b.len() as u64 == m.size && sha256_hex(&b) == m.hash => found += 1,
            Ok(_) => {
                found += 1;
                bad += 1;
            }
            Err(_) => bad += 1,
        }
    }
    (found, bad)
}
