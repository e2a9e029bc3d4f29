//! A link simulator: a TCP forwarder on `127.0.0.1:0` that behaves like a slow, dropping
//! mobile link.
//!
//! [`Link`] forwards every accepted connection to a target and shapes both directions:
//!
//! - **one-way latency**: every byte is delivered `latency` after it finished crossing;
//! - **bandwidth caps per direction**: bytes cross one after another at `up_bps`/`down_bps`
//!   (a pacing queue shared by all connections of the link, like one radio), and the reader
//!   stops reading while the link is busy, so the sender feels back-pressure;
//! - **TCP connect cost**: optionally, a new connection's first byte leaves one round trip
//!   after the connect (SYN, SYN-ACK), as on a real link;
//! - **cuts**: a connection is closed both ways once a given number of bytes has passed in
//!   one direction ([`Cut`], exact and deterministic), after a given time, or at random
//!   offsets drawn from a seeded stream (exponential, mean `mean_bytes_between_cuts`
//!   downstream bytes);
//! - **outages**: while the link is down, live connections are cut and new ones are closed at
//!   once; [`Link::outage`] for one outage, [`Outages`] for a seeded random schedule.
//!
//! It counts bytes each way (delivered TCP payload: HTTP headers included, TCP/IP headers
//! not), connections, cuts and refused connections. [`LinkProfile`] has the named profiles
//! used by the benchmarks: `2g`, `3g`, `office_wifi`, `unthrottled`.
//!
//! The tests' fault-injecting proxy ([`crate::proxy::Proxy`]) is this simulator with the
//! `unthrottled` profile and a per-connection fault plan.
//!
//! The simulator runs on its own Tokio runtime thread, so callers can stay synchronous; it
//! stops when the [`Link`] is dropped.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

/// Which way bytes flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Client to server (the request).
    Upstream,
    /// Server to client (the reply).
    Downstream,
}

/// Close a connection after `after_bytes` bytes have passed in `direction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    /// The direction whose bytes are counted.
    pub direction: Direction,
    /// How many bytes pass before the cut (0 cuts before the first byte).
    pub after_bytes: u64,
}

/// What happens to one connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Cut the connection at a byte offset; `None` forwards everything.
    pub cut: Option<Cut>,
    /// Cut the connection this long after it was accepted.
    pub cut_after: Option<Duration>,
}

/// Decides the faults of each new connection (given its index, from 0). `None` means "what
/// the profile says" (random cuts when the profile has them).
pub type FaultPlan = Box<dyn FnMut(u64) -> Option<Faults> + Send>;

/// A seeded random schedule of outages: up for an exponential time of mean `mean_up`, then
/// down for an exponential time of mean `mean_down`, and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outages {
    /// Mean time the link stays up.
    pub mean_up: Duration,
    /// Mean length of an outage.
    pub mean_down: Duration,
}

/// How a link behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkProfile {
    /// Name for reports (`2g`, `3g`, `office_wifi`, `unthrottled`).
    pub name: String,
    /// One-way latency (half the round-trip time).
    pub latency: Duration,
    /// Client-to-server bandwidth in bits per second; `None` is unlimited.
    pub up_bps: Option<u64>,
    /// Server-to-client bandwidth in bits per second; `None` is unlimited.
    pub down_bps: Option<u64>,
    /// Charge one round trip for the TCP connect before a connection's first byte leaves.
    pub handshake: bool,
    /// Random cuts: mean number of downstream bytes between cuts (seeded, exponential).
    pub mean_bytes_between_cuts: Option<u64>,
    /// Random outages.
    pub outages: Option<Outages>,
}

impl LinkProfile {
    /// Rural 2G (EDGE at its usual best): about 100 kbit/s each way, 600 ms round trip, a cut
    /// every 3 MB downstream on average.
    pub fn two_g() -> LinkProfile {
        LinkProfile {
            name: "2g".into(),
            latency: Duration::from_millis(300),
            up_bps: Some(100_000),
            down_bps: Some(100_000),
            handshake: true,
            mean_bytes_between_cuts: Some(3_000_000),
            outages: None,
        }
    }

    /// 3G: about 1 Mbit/s each way, 200 ms round trip, no random cuts.
    pub fn three_g() -> LinkProfile {
        LinkProfile {
            name: "3g".into(),
            latency: Duration::from_millis(100),
            up_bps: Some(1_000_000),
            down_bps: Some(1_000_000),
            handshake: true,
            mean_bytes_between_cuts: None,
            outages: None,
        }
    }

    /// Office Wi-Fi behind a DSL line: about 20 Mbit/s, 10 ms round trip.
    pub fn office_wifi() -> LinkProfile {
        LinkProfile {
            name: "office_wifi".into(),
            latency: Duration::from_millis(5),
            up_bps: Some(20_000_000),
            down_bps: Some(20_000_000),
            handshake: true,
            mean_bytes_between_cuts: None,
            outages: None,
        }
    }

    /// No shaping at all: a counting forwarder.
    pub fn unthrottled() -> LinkProfile {
        LinkProfile {
            name: "unthrottled".into(),
            latency: Duration::ZERO,
            up_bps: None,
            down_bps: None,
            handshake: false,
            mean_bytes_between_cuts: None,
            outages: None,
        }
    }

    /// The profile with this name (`2g`, `3g`, `office_wifi`, `unthrottled`).
    pub fn by_name(name: &str) -> Option<LinkProfile> {
        match name {
            "2g" => Some(LinkProfile::two_g()),
            "3g" => Some(LinkProfile::three_g()),
            "office_wifi" | "wifi" => Some(LinkProfile::office_wifi()),
            "unthrottled" | "none" => Some(LinkProfile::unthrottled()),
            _ => None,
        }
    }

    /// The same profile without random cuts or outages.
    pub fn without_faults(mut self) -> LinkProfile {
        self.mean_bytes_between_cuts = None;
        self.outages = None;
        self
    }

    /// Round-trip time.
    pub fn rtt(&self) -> Duration {
        self.latency * 2
    }

    /// Time to move `bytes` at `bps` (zero when unlimited).
    pub fn transmit(bytes: u64, bps: Option<u64>) -> Duration {
        match bps {
            Some(bps) if bps > 0 => Duration::from_secs_f64(bytes as f64 * 8.0 / bps as f64),
            _ => Duration::ZERO,
        }
    }

    /// What the link alone costs for a session of `exchanges` request/reply round trips over
    /// `connections` new connections moving `up` and `down` bytes, without faults: one round
    /// trip per exchange and per connect, plus the bytes at the caps. Processing time at
    /// either end comes on top.
    pub fn estimate(&self, up: u64, down: u64, exchanges: u64, connections: u64) -> Duration {
        let connects = if self.handshake { connections } else { 0 };
        self.rtt() * (exchanges + connects) as u32
            + LinkProfile::transmit(up, self.up_bps)
            + LinkProfile::transmit(down, self.down_bps)
    }
}

/// Counters of a link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Bytes delivered client → server.
    pub bytes_up: u64,
    /// Bytes delivered server → client.
    pub bytes_down: u64,
    /// Connections accepted (including refused ones).
    pub connections: u64,
    /// Connections cut (by a byte offset, a timer, an outage or [`Link::cut_all`]).
    pub cuts: u64,
    /// Connections closed at once because the link was down.
    pub refused: u64,
}

impl LinkStats {
    /// `self - earlier`, counter by counter.
    pub fn since(&self, earlier: &LinkStats) -> LinkStats {
        LinkStats {
            bytes_up: self.bytes_up - earlier.bytes_up,
            bytes_down: self.bytes_down - earlier.bytes_down,
            connections: self.connections - earlier.connections,
            cuts: self.cuts - earlier.cuts,
            refused: self.refused - earlier.refused,
        }
    }
}

struct Shared {
    profile: LinkProfile,
    target: SocketAddr,
    plan: Mutex<FaultPlan>,
    rng: Mutex<ChaCha8Rng>,
    up_free: Mutex<Instant>,
    down_free: Mutex<Instant>,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    connections: AtomicU64,
    cuts: AtomicU64,
    refused: AtomicU64,
    down: watch::Sender<bool>,
    kill: watch::Sender<u64>,
}

impl Shared {
    /// The profile's own faults for a new connection: a random downstream cut offset.
    fn random_faults(&self) -> Faults {
        let Some(mean) = self.profile.mean_bytes_between_cuts else {
            return Faults::default();
        };
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        let u: f64 = rng.gen_range(f64::EPSILON..1.0);
        let offset = (-(u.ln()) * mean as f64) as u64;
        Faults {
            cut: Some(Cut {
                direction: Direction::Downstream,
                after_bytes: offset,
            }),
            cut_after: None,
        }
    }

    fn faults_for(&self, index: u64) -> Faults {
        let planned = {
            let mut plan = self.plan.lock().unwrap_or_else(|p| p.into_inner());
            plan(index)
        };
        planned.unwrap_or_else(|| self.random_faults())
    }
}

/// A running link simulator; stops when dropped.
pub struct Link {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    handle: tokio::runtime::Handle,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("addr", &self.addr)
            .field("profile", &self.shared.profile.name)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Link {
    /// Starts a link to `target` with `profile`; `seed` drives random cuts and outages.
    pub fn start(target: SocketAddr, profile: LinkProfile, seed: u64) -> std::io::Result<Link> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let now = {
            let _guard = runtime.enter();
            Instant::now()
        };
        let outages = profile.outages;
        let shared = Arc::new(Shared {
            profile,
            target,
            plan: Mutex::new(Box::new(|_| None)),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
            up_free: Mutex::new(now),
            down_free: Mutex::new(now),
            bytes_up: AtomicU64::new(0),
            bytes_down: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            cuts: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            down: watch::Sender::new(false),
            kill: watch::Sender::new(0),
        });
        let (stop_tx, stop_rx) = oneshot::channel();
        let shared2 = shared.clone();
        let thread = std::thread::Builder::new()
            .name("link-sim".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(std_listener) else {
                        return;
                    };
                    if let Some(o) = outages {
                        tokio::spawn(outage_schedule(shared2.clone(), o, seed ^ 0x5eed));
                    }
                    tokio::select! {
                        () = accept_loop(listener, shared2) => {},
                        _ = stop_rx => {},
                    }
                });
            })?;
        Ok(Link {
            addr,
            shared,
            stop: Some(stop_tx),
            thread: Some(thread),
            handle,
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://` URL of the link.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The profile.
    pub fn profile(&self) -> &LinkProfile {
        &self.shared.profile
    }

    /// A reading of the bytes delivered client → server so far, to be called from anywhere
    /// (e.g. around one request, on a link nothing else uses).
    pub fn upstream_counter(&self) -> impl Fn() -> u64 + Send + Sync + 'static {
        let shared = self.shared.clone();
        move || shared.bytes_up.load(Ordering::SeqCst)
    }

    /// The counters so far.
    pub fn stats(&self) -> LinkStats {
        let s = &self.shared;
        LinkStats {
            bytes_up: s.bytes_up.load(Ordering::SeqCst),
            bytes_down: s.bytes_down.load(Ordering::SeqCst),
            connections: s.connections.load(Ordering::SeqCst),
            cuts: s.cuts.load(Ordering::SeqCst),
            refused: s.refused.load(Ordering::SeqCst),
        }
    }

    /// Replaces the fault plan for connections accepted from now on. Returning `None` for a
    /// connection leaves it to the profile's random cuts.
    pub fn set_plan(&self, plan: impl FnMut(u64) -> Option<Faults> + Send + 'static) {
        *self.shared.plan.lock().unwrap_or_else(|p| p.into_inner()) = Box::new(plan);
    }

    /// Cuts only the next connection as given; later ones follow the profile again.
    pub fn cut_next(&self, cut: Cut) {
        let mut once = Some(cut);
        self.set_plan(move |_| {
            once.take().map(|c| Faults {
                cut: Some(c),
                cut_after: None,
            })
        });
    }

    /// Takes the link down (cutting every live connection) or brings it back up.
    pub fn set_down(&self, down: bool) {
        self.shared.down.send_replace(down);
    }

    /// Whether the link is down.
    pub fn is_down(&self) -> bool {
        *self.shared.down.borrow()
    }

    /// Takes the link down now and brings it back after `length`.
    pub fn outage(&self, length: Duration) {
        self.set_down(true);
        let shared = self.shared.clone();
        self.handle.spawn(async move {
            tokio::time::sleep(length).await;
            shared.down.send_replace(false);
        });
    }

    /// Cuts every live connection (the link stays up).
    pub fn cut_all(&self) {
        self.shared.kill.send_modify(|g| *g += 1);
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of descriptors or similar: back off briefly, then go on.
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let index = shared.connections.fetch_add(1, Ordering::SeqCst);
        if *shared.down.borrow() {
            shared.refused.fetch_add(1, Ordering::SeqCst);
            drop(client);
            continue;
        }
        let faults = shared.faults_for(index);
        tokio::spawn(connection(shared.clone(), client, faults));
    }
}

async fn outage_schedule(shared: Arc<Shared>, o: Outages, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut draw = |mean: Duration| {
        let u: f64 = rng.gen_range(f64::EPSILON..1.0);
        Duration::from_secs_f64((-(u.ln()) * mean.as_secs_f64()).min(3600.0))
    };
    // Bounded by the link's lifetime: this task dies with the runtime.
    loop {
        tokio::time::sleep(draw(o.mean_up)).await;
        shared.down.send_replace(true);
        tokio::time::sleep(draw(o.mean_down)).await;
        shared.down.send_replace(false);
    }
}

/// One forwarded connection; returns when both directions are done or the connection is cut.
async fn connection(shared: Arc<Shared>, client: TcpStream, faults: Faults) {
    let accepted = Instant::now();
    let Ok(server) = TcpStream::connect(shared.target).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let (cut_tx, cut_rx) = watch::channel(false);
    let was_cut = Arc::new(AtomicBool::new(false));
    let not_before = if shared.profile.handshake {
        accepted + shared.profile.rtt()
    } else {
        accepted
    };
    let limit = |d: Direction| {
        faults
            .cut
            .filter(|c| c.direction == d)
            .map(|c| c.after_bytes)
    };
    let ends = Ends {
        cut_tx: cut_tx.clone(),
        cut_rx: cut_rx.clone(),
        was_cut,
        shared: shared.clone(),
    };
    let up = pipe(
        shared.clone(),
        Direction::Upstream,
        cr,
        sw,
        limit(Direction::Upstream),
        not_before,
        ends.clone(),
    );
    let down = pipe(
        shared.clone(),
        Direction::Downstream,
        sr,
        cw,
        limit(Direction::Downstream),
        not_before,
        ends.clone(),
    );
    // Outages, cut_all and timed cuts.
    let mut down_rx = shared.down.subscribe();
    let mut kill_rx = shared.kill.subscribe();
    let mut done_rx = cut_rx.clone();
    let cut_after = faults.cut_after;
    let watcher = async move {
        let timer = async {
            match cut_after {
                Some(d) => tokio::time::sleep_until(accepted + d).await,
                None => std::future::pending::<()>().await,
            }
        };
        let outage = async {
            loop {
                if *down_rx.borrow_and_update() {
                    return;
                }
                if down_rx.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            () = timer => ends.cut(),
            () = outage => ends.cut(),
            _ = kill_rx.changed() => ends.cut(),
            _ = done_rx.changed() => {},
        }
    };
    let both = async {
        tokio::join!(up, down);
        // Tell the watcher the connection is over.
        let _ = cut_tx.send(true);
    };
    tokio::join!(both, watcher);
    // Every half is dropped by now: both sockets are closed.
}

/// The connection-wide stop signal.
#[derive(Clone)]
struct Ends {
    cut_tx: watch::Sender<bool>,
    cut_rx: watch::Receiver<bool>,
    was_cut: Arc<AtomicBool>,
    shared: Arc<Shared>,
}

impl Ends {
    /// Cuts the connection (counted once, before any socket closes).
    fn cut(&self) {
        if !self.was_cut.swap(true, Ordering::SeqCst) {
            self.shared.cuts.fetch_add(1, Ordering::SeqCst);
        }
        let _ = self.cut_tx.send(true);
    }
    async fn stopped(&self) {
        let mut rx = self.cut_rx.clone();
        loop {
            if *rx.borrow_and_update() {
                return;
            }
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Depth of the bandwidth token bucket, in time at the cap.
const BURST: Duration = Duration::from_millis(50);

enum Piece {
    Bytes(Instant, Vec<u8>),
    Eof(Instant),
}

/// Forwards one direction through latency and the bandwidth cap, cutting after `limit` bytes.
async fn pipe(
    shared: Arc<Shared>,
    dir: Direction,
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    limit: Option<u64>,
    not_before: Instant,
    ends: Ends,
) {
    let profile = &shared.profile;
    let bps = match dir {
        Direction::Upstream => profile.up_bps,
        Direction::Downstream => profile.down_bps,
    };
    // About 20 ms of the cap per read, so pacing is smooth.
    let chunk = match bps {
        Some(bps) => ((bps / 8 / 50) as usize).clamp(512, 16 * 1024),
        None => 16 * 1024,
    };
    let latency = profile.latency;
    let (tx, mut rx) = mpsc::channel::<Piece>(64);

    let reader = {
        let shared = shared.clone();
        let ends = ends.clone();
        async move {
            let mut buf = vec![0u8; chunk];
            let mut last_delivery = not_before;
            loop {
                let n = tokio::select! {
                    r = from.read(&mut buf) => r.unwrap_or(0),
                    () = ends.stopped() => return,
                };
                let now = Instant::now().max(not_before);
                if n == 0 {
                    let _ = tx.send(Piece::Eof(last_delivery.max(now + latency))).await;
                    return;
                }
                let (deliver, busy_until) = match bps {
                    Some(bps) => {
                        let bucket = match dir {
                            Direction::Upstream => &shared.up_free,
                            Direction::Downstream => &shared.down_free,
                        };
                        let mut free = bucket.lock().unwrap_or_else(|p| p.into_inner());
                        // A token bucket of BURST depth: a reader woken late by the
                        // scheduler catches up instead of losing link time.
                        let start = (*free)
                            .max(now.checked_sub(BURST).unwrap_or(now))
                            .max(not_before);
                        let end = start + LinkProfile::transmit(n as u64, Some(bps));
                        *free = end;
                        (end + latency, Some(end))
                    }
                    None => (now + latency, None),
                };
                last_delivery = deliver;
                tokio::select! {
                    r = tx.send(Piece::Bytes(deliver, buf[..n].to_vec())) => if r.is_err() { return },
                    () = ends.stopped() => return,
                }
                if let Some(until) = busy_until {
                    tokio::select! {
                        () = tokio::time::sleep_until(until) => {},
                        () = ends.stopped() => return,
                    }
                }
            }
        }
    };

    let writer = async move {
        let counter = match dir {
            Direction::Upstream => &shared.bytes_up,
            Direction::Downstream => &shared.bytes_down,
        };
        let mut passed = 0u64;
        // A cut at offset 0 happens when the first bytes arrive (the other direction has
        // done its part by then: e.g. the server committed before answering).
        loop {
            let piece = tokio::select! {
                p = rx.recv() => p,
                () = ends.stopped() => return,
            };
            let Some(piece) = piece else { return };
            let at = match &piece {
                Piece::Bytes(at, _) | Piece::Eof(at) => *at,
            };
            tokio::select! {
                () = tokio::time::sleep_until(at) => {},
                () = ends.stopped() => return,
            }
            match piece {
                Piece::Eof(_) => {
                    let _ = to.shutdown().await;
                    return;
                }
                Piece::Bytes(_, bytes) => {
                    let allowed = match limit {
                        Some(l) => bytes.len().min((l - passed) as usize),
                        None => bytes.len(),
                    };
                    // Counted before the write, so a reader that has the bytes also sees
                    // them counted.
                    counter.fetch_add(allowed as u64, Ordering::SeqCst);
                    if to.write_all(&bytes[..allowed]).await.is_err() {
                        counter.fetch_sub(allowed as u64, Ordering::SeqCst);
                        ends.cut_quietly();
                        return;
                    }
                    passed += allowed as u64;
                    if limit.is_some_and(|l| passed >= l) {
                        let _ = to.flush().await;
                        ends.cut();
                        return;
                    }
                }
            }
        }
    };
    tokio::join!(reader, writer);
}

impl Ends {
    /// Stops the connection because one end went away (not counted as a cut).
    fn cut_quietly(&self) {
        let _ = self.cut_tx.send(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener as StdListener, TcpStream as StdStream};
    use std::time::Instant as StdInstant;

    /// A target that, per connection, reads `expect` bytes, then writes `send` bytes and
    /// closes. Returns its address.
    fn target(expect: usize, send: usize) -> SocketAddr {
        let l = StdListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        std::thread::spawn(move || {
            for s in l.incoming().take(16) {
                let Ok(mut s) = s else { continue };
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; expect];
                    if s.read_exact(&mut buf).is_err() {
                        return;
                    }
                    let data = vec![7u8; send];
                    let _ = s.write_all(&data);
                });
            }
        });
        addr
    }

    /// An echo target.
    fn echo() -> SocketAddr {
        let l = StdListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        std::thread::spawn(move || {
            for s in l.incoming().take(16) {
                let Ok(mut s) = s else { continue };
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    loop {
                        match s.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => {
                                if s.write_all(&buf[..n]).is_err() {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        addr
    }

    fn connect(link: &Link) -> StdStream {
        let s = StdStream::connect(link.addr()).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        s
    }

    fn shaped(up: Option<u64>, down: Option<u64>, latency_ms: u64) -> LinkProfile {
        LinkProfile {
            name: "test".into(),
            latency: Duration::from_millis(latency_ms),
            up_bps: up,
            down_bps: down,
            handshake: false,
            mean_bytes_between_cuts: None,
            outages: None,
        }
    }

    #[test]
    fn downstream_bandwidth_stays_within_twenty_percent_of_the_cap() {
        let link =
            Link::start(target(1, 125_000), shaped(None, Some(1_000_000), 0), 1).expect("link");
        let mut s = connect(&link);
        let t = StdInstant::now();
        s.write_all(b"x").expect("write");
        let mut got = Vec::new();
        s.read_to_end(&mut got).expect("read");
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(got.len(), 125_000);
        // 125 kB at 1 Mbit/s is 1.0 s.
        assert!((0.8..1.2).contains(&secs), "took {secs:.3} s");
        assert_eq!(link.stats().bytes_down, 125_000);
        assert_eq!(link.stats().bytes_up, 1);
    }

    #[test]
    fn upstream_bandwidth_stays_within_twenty_percent_of_the_cap() {
        let link =
            Link::start(target(100_000, 1), shaped(Some(800_000), None, 0), 1).expect("link");
        let mut s = connect(&link);
        let t = StdInstant::now();
        s.write_all(&vec![1u8; 100_000]).expect("write");
        let mut one = [0u8; 1];
        s.read_exact(&mut one).expect("reply");
        let secs = t.elapsed().as_secs_f64();
        // 100 kB at 800 kbit/s is 1.0 s.
        assert!((0.8..1.2).contains(&secs), "took {secs:.3} s");
        assert_eq!(link.stats().bytes_up, 100_000);
    }

    #[test]
    fn latency_adds_at_least_the_configured_delay_each_way() {
        let link = Link::start(echo(), shaped(None, None, 150), 1).expect("link");
        let mut s = connect(&link);
        let mut one = [0u8; 1];
        for _ in 0..2 {
            let t = StdInstant::now();
            s.write_all(b"p").expect("write");
            s.read_exact(&mut one).expect("echo");
            let ms = t.elapsed().as_millis();
            assert!((300..450).contains(&ms), "round trip {ms} ms");
        }
    }

    #[test]
    fn a_new_connection_pays_one_round_trip_for_the_handshake() {
        let mut p = shaped(None, None, 100);
        p.handshake = true;
        let link = Link::start(echo(), p, 1).expect("link");
        let t = StdInstant::now();
        let mut s = connect(&link);
        s.write_all(b"p").expect("write");
        let mut one = [0u8; 1];
        s.read_exact(&mut one).expect("echo");
        let ms = t.elapsed().as_millis();
        assert!((400..550).contains(&ms), "first exchange {ms} ms");
    }

    #[test]
    fn a_cut_at_a_byte_offset_delivers_exactly_that_many_bytes_then_closes() {
        let link = Link::start(target(1, 50_000), LinkProfile::unthrottled(), 1).expect("link");
        link.cut_next(Cut {
            direction: Direction::Downstream,
            after_bytes: 1000,
        });
        let mut s = connect(&link);
        s.write_all(b"x").expect("write");
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        assert_eq!(got.len(), 1000);
        // The next connection is not cut.
        let mut s = connect(&link);
        s.write_all(b"x").expect("write");
        let mut got = Vec::new();
        s.read_to_end(&mut got).expect("read");
        assert_eq!(got.len(), 50_000);
        let stats = link.stats();
        assert_eq!((stats.cuts, stats.connections), (1, 2));
    }

    #[test]
    fn a_downstream_cut_at_offset_zero_lets_the_request_through_and_drops_the_whole_reply() {
        let l = StdListener::bind("127.0.0.1:0").expect("bind");
        let target_addr = l.local_addr().expect("addr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = l.accept() {
                let mut buf = [0u8; 5];
                if s.read_exact(&mut buf).is_ok() {
                    let _ = tx.send(buf);
                    let _ = s.write_all(b"reply");
                }
            }
        });
        let link = Link::start(target_addr, LinkProfile::unthrottled(), 1).expect("link");
        link.cut_next(Cut {
            direction: Direction::Downstream,
            after_bytes: 0,
        });
        let mut s = connect(&link);
        s.write_all(b"hello").expect("write");
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        assert!(got.is_empty());
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)).ok(),
            Some(*b"hello")
        );
        assert_eq!(link.stats().cuts, 1);
    }

    #[test]
    fn random_cuts_happen_mid_stream_at_offsets_fixed_by_the_seed() {
        let run = |seed| {
            let mut p = LinkProfile::unthrottled();
            p.mean_bytes_between_cuts = Some(20_000);
            let link = Link::start(target(1, 200_000), p, seed).expect("link");
            let mut lens = Vec::new();
            for _ in 0..4 {
                let mut s = connect(&link);
                s.write_all(b"x").expect("write");
                let mut got = Vec::new();
                let _ = s.read_to_end(&mut got);
                lens.push(got.len());
            }
            (lens, link.stats().cuts)
        };
        let (a, cuts) = run(5);
        assert!(cuts >= 3, "cuts {cuts} {a:?}");
        assert!(a.iter().any(|&n| n > 0 && n < 200_000), "{a:?}");
        assert_eq!(run(5).0, a, "same seed, same offsets");
        assert_ne!(run(6).0, a, "another seed, other offsets");
    }

    #[test]
    fn an_outage_cuts_live_connections_and_refuses_new_ones_until_it_ends() {
        let link = Link::start(echo(), LinkProfile::unthrottled(), 1).expect("link");
        let mut live = connect(&link);
        live.write_all(b"a").expect("write");
        let mut one = [0u8; 1];
        live.read_exact(&mut one).expect("echo");
        link.outage(Duration::from_millis(300));
        std::thread::sleep(Duration::from_millis(50));
        let mut buf = [0u8; 1];
        let _ = live.write_all(b"b");
        assert!(
            matches!(live.read(&mut buf), Ok(0) | Err(_)),
            "live connection cut"
        );
        let mut refused = connect(&link);
        let _ = refused.write_all(b"c");
        assert!(
            matches!(refused.read(&mut buf), Ok(0) | Err(_)),
            "new connection refused"
        );
        std::thread::sleep(Duration::from_millis(400));
        assert!(!link.is_down());
        let mut after = connect(&link);
        after.write_all(b"d").expect("write");
        after.read_exact(&mut one).expect("echo after the outage");
        let stats = link.stats();
        assert_eq!(stats.cuts, 1);
        assert_eq!(stats.refused, 1);
    }

    #[test]
    fn the_named_profiles_have_the_documented_shape() {
        let g2 = LinkProfile::by_name("2g").expect("2g");
        assert_eq!(g2.rtt(), Duration::from_millis(600));
        assert_eq!((g2.up_bps, g2.down_bps), (Some(100_000), Some(100_000)));
        assert!(g2.mean_bytes_between_cuts.is_some());
        assert_eq!(
            LinkProfile::by_name("3g").expect("3g").rtt(),
            Duration::from_millis(200)
        );
        assert_eq!(
            LinkProfile::by_name("office_wifi").expect("wifi").down_bps,
            Some(20_000_000)
        );
        assert_eq!(
            LinkProfile::by_name("unthrottled").expect("none").rtt(),
            Duration::ZERO
        );
        assert!(LinkProfile::by_name("5g").is_none());
        // 12.5 kB down at 100 kbit/s is 1 s, plus an exchange and a connect.
        let t = g2.estimate(0, 12_500, 1, 1);
        assert_eq!(t, Duration::from_millis(2200));
    }
}
