//! Support for the benchmark programs (`bench-store`, `bench-sync`): a keep-alive HTTP/1.1
//! client, a `ferry` server child process with its CPU time and memory from `/proc`, a device
//! sync loop that counts exchanges, and small formatting helpers.
//!
//! Benchmarks are programs that print figures, not timed tests; see `BENCHMARKS.md`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use sync_core::protocol::{self, Encoding, SyncReply, SyncRequest};
use sync_core::replica::{Replica, Session, SyncOptions};

// --- command line -----------------------------------------------------------------------

/// A tiny `--flag` / `--name value` parser.
#[derive(Debug, Clone)]
pub struct Args(Vec<String>);

impl Args {
    /// The process's arguments (without the program name).
    pub fn from_env() -> Args {
        Args(std::env::args().skip(1).collect())
    }

    /// Whether `--name` is present.
    pub fn flag(&self, name: &str) -> bool {
        self.0.iter().any(|a| a == name)
    }

    /// The value after `--name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        let i = self.0.iter().position(|a| a == name)?;
        self.0.get(i + 1).map(String::as_str)
    }

    /// A comma-separated list of numbers after `--name`, or `default`.
    pub fn list(&self, name: &str, default: &[usize]) -> anyhow::Result<Vec<usize>> {
        match self.value(name) {
            None => Ok(default.to_vec()),
            Some(v) => v
                .split(',')
                .map(|s| {
                    s.trim()
                        .replace('_', "")
                        .parse::<usize>()
                        .map_err(|_| anyhow!("bad {name} `{v}`"))
                })
                .collect(),
        }
    }

    /// A number after `--name`, or `default`.
    pub fn number(&self, name: &str, default: u64) -> anyhow::Result<u64> {
        match self.value(name) {
            None => Ok(default),
            Some(v) => v
                .replace('_', "")
                .parse()
                .map_err(|_| anyhow!("bad {name} `{v}`")),
        }
    }
}

// --- /proc ------------------------------------------------------------------------------

fn clock_ticks() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100)
    })
}

/// CPU time (user + system, all threads, dead ones included) of process `pid`.
pub fn cpu_time(pid: u32) -> Duration {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
        return Duration::ZERO;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
    let total = ticks(11) + ticks(12);
    Duration::from_secs_f64(total as f64 / clock_ticks() as f64)
}

/// Resident memory of process `pid`: (current `VmRSS`, peak `VmHWM`) in bytes.
pub fn memory(pid: u32) -> (u64, u64) {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return (0, 0);
    };
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// What [`run_sampled`] saw of a finished child.
#[derive(Debug, Clone, Default)]
pub struct Sampled {
    /// Whether it exited successfully.
    pub success: bool,
    /// Its standard output.
    pub stdout: String,
    /// Wall time.
    pub wall: Duration,
    /// CPU time (user + system), as last read from `/proc` before it exited.
    pub cpu: Duration,
    /// Largest resident memory seen.
    pub peak_rss: u64,
}

/// Runs `cmd` to its end (stdout captured, stderr inherited), reading its CPU time and
/// memory from `/proc` every 100 ms.
pub fn run_sampled(mut cmd: Command) -> anyhow::Result<Sampled> {
    let t = Instant::now();
    let mut child = cmd.stdout(Stdio::piped()).spawn()?;
    let mut stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let pid = child.id();
    let mut out = Sampled::default();
    loop {
        let cpu = cpu_time(pid);
        let (_, peak) = memory(pid);
        if let Some(status) = child.try_wait()? {
            out.success = status.success();
            break;
        }
        out.cpu = out.cpu.max(cpu);
        out.peak_rss = out.peak_rss.max(peak);
        std::thread::sleep(Duration::from_millis(100));
    }
    out.wall = t.elapsed();
    out.stdout = reader.join().unwrap_or_default();
    Ok(out)
}

// --- HTTP -------------------------------------------------------------------------------

/// An HTTP reply.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body as received.
    pub body: Vec<u8>,
}

impl Reply {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A blocking HTTP/1.1 client over one keep-alive connection, reconnecting when needed.
#[derive(Debug)]
pub struct HttpConn {
    addr: SocketAddr,
    stream: Option<BufReader<TcpStream>>,
    /// Read and write timeout.
    pub timeout: Duration,
    /// Connections opened so far.
    pub connects: u64,
}

impl HttpConn {
    /// A client for `addr` (not connected yet).
    pub fn new(addr: SocketAddr) -> HttpConn {
        HttpConn {
            addr,
            stream: None,
            timeout: Duration::from_secs(120),
            connects: 0,
        }
    }

    /// Drops the connection (the next request opens a new one).
    pub fn close(&mut self) {
        self.stream = None;
    }

    /// Sends one request and reads the reply. On any error the connection is dropped.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Reply> {
        let result = self.request_inner(method, path, headers, body);
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    fn request_inner(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Reply> {
        if self.stream.is_none() {
            let s = TcpStream::connect_timeout(&self.addr, self.timeout)?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(self.timeout))?;
            s.set_write_timeout(Some(self.timeout))?;
            self.connects += 1;
            self.stream = Some(BufReader::with_capacity(64 * 1024, s));
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(std::io::Error::other("not connected"));
        };
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(body);
        stream.get_mut().write_all(&out)?;
        stream.get_mut().flush()?;

        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_owned());
        let mut line = String::new();
        if stream.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed before the reply",
            ));
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("malformed status line"))?;
        let mut headers = Vec::new();
        for _ in 0..200 {
            line.clear();
            if stream.read_line(&mut line)? == 0 {
                return Err(bad("connection closed in the headers"));
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let get = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let mut body = Vec::new();
        let close = get("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if let Some(len) = get("content-length") {
            let len: usize = len.parse().map_err(|_| bad("bad content-length"))?;
            body.resize(len, 0);
            stream.read_exact(&mut body)?;
        } else if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            for _ in 0..1_000_000 {
                line.clear();
                stream.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|_| bad("bad chunk size"))?;
                if size == 0 {
                    line.clear();
                    stream.read_line(&mut line)?;
                    break;
                }
                let start = body.len();
                body.resize(start + size, 0);
                stream.read_exact(&mut body[start..])?;
                let mut crlf = [0u8; 2];
                stream.read_exact(&mut crlf)?;
            }
        } else {
            stream.read_to_end(&mut body)?;
            self.stream = None;
        }
        if close {
            self.stream = None;
        }
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}

// --- the ferry server -------------------------------------------------------------------

/// Password of every benchmark user.
pub const PASSWORD: &str = "bench-password-1";

/// The `ferry` binary: `$FERRY_BIN`, or `ferry` beside the running program.
pub fn ferry_binary() -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var("FERRY_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    let p = exe
        .parent()
        .map(|d| d.join("ferry"))
        .ok_or_else(|| anyhow!("no directory"))?;
    if !p.exists() {
        bail!(
            "{} not found: build it with `cargo build --release -p ferry-tests --bin ferry` or set FERRY_BIN",
            p.display()
        );
    }
    Ok(p)
}

/// `ferry` with a clean environment (no `FERRY_*` of the caller's but `FERRY_BIN`) on
/// `data_dir` with `env` (e.g. `FERRY_DATABASE_URL` and `FERRY_AUDIT_KEY_FILE` for
/// PostgreSQL), logging only warnings.
pub fn ferry_command(bin: &Path, data_dir: &Path, env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(bin);
    for (k, _) in std::env::vars() {
        if k.starts_with("FERRY_") && k != "FERRY_BIN" {
            cmd.env_remove(k);
        }
    }
    cmd.env("FERRY_DATA_DIR", data_dir)
        .env("FERRY_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (k, v)));
    cmd
}

/// A `ferry serve` child on `127.0.0.1:0` with a temporary data directory.
#[derive(Debug)]
pub struct FerryServer {
    bin: PathBuf,
    child: Child,
    addr: SocketAddr,
    metrics: Option<SocketAddr>,
    env: Vec<(String, String)>,
    dir: tempfile::TempDir,
}

impl FerryServer {
    /// Starts the server (logging only warnings, to keep log I/O out of the figures).
    pub fn start(bin: &Path) -> anyhow::Result<FerryServer> {
        FerryServer::start_with(bin, tempfile::tempdir()?, &[])
    }

    /// Starts the server on `dir` with extra environment `env` (see [`ferry_command`]).
    pub fn start_with(
        bin: &Path,
        dir: tempfile::TempDir,
        env: &[(String, String)],
    ) -> anyhow::Result<FerryServer> {
        let log = std::fs::File::create(dir.path().join("server.log"))?;
        let mut child = ferry_command(bin, dir.path(), env)
            .arg("serve")
            .env("FERRY_BIND", "127.0.0.1:0")
            .env("FERRY_ADMIN_PASSWORD", PASSWORD)
            .env("FERRY_METRICS_LISTEN", "127.0.0.1:0")
            .env("FERRY_LOGIN_PER_ADDRESS_PER_MINUTE", "1000000")
            .env("FERRY_LOGIN_PER_ACCOUNT_PER_MINUTE", "1000000")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        // The server prints its metrics listener (unless disabled), then its address.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut metrics = None;
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sent {
                    continue;
                }
                if let Some(m) = line.strip_prefix("metrics on http://") {
                    metrics = m.trim().strip_suffix("/metrics").map(str::to_owned);
                } else if let Some(url) = line.strip_prefix("listening on http://") {
                    let _ = tx.send((url.trim().to_owned(), metrics.take()));
                    sent = true;
                }
            }
        });
        // Long enough for a start that first runs review detection over a bulk import.
        let (addr, metrics) = match rx.recv_timeout(Duration::from_secs(3600)) {
            Ok((a, m)) => (a.parse()?, m.and_then(|m| m.parse().ok())),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let log =
                    std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
                bail!("ferry did not start; log:\n{log}");
            }
        };
        Ok(FerryServer {
            bin: bin.to_owned(),
            child,
            addr,
            metrics,
            env: env.to_vec(),
            dir,
        })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address of the separate `/metrics` listener (`None`: the server printed none;
    /// an older build serves `/metrics` on [`Self::addr`]).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time used so far.
    pub fn cpu(&self) -> Duration {
        cpu_time(self.pid())
    }

    /// (RSS, peak RSS) in bytes.
    pub fn memory(&self) -> (u64, u64) {
        memory(self.pid())
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Size of the database files (main + WAL) in bytes.
    pub fn db_bytes(&self) -> u64 {
        ["ferry.db", "ferry.db-wal"]
            .iter()
            .filter_map(|f| std::fs::metadata(self.dir.path().join(f)).ok())
            .map(|m| m.len())
            .sum()
    }

    /// Adds a user through the CLI (password [`PASSWORD`]).
    pub fn add_user(&self, name: &str, role: &str, units: &[&str]) -> anyhow::Result<()> {
        let mut cmd = ferry_command(&self.bin, self.dir.path(), &self.env);
        cmd.args(["user", "add", name, "--role", role, "--password", PASSWORD]);
        for u in units {
            cmd.args(["--unit", u]);
        }
        let out = cmd.output()?;
        if !out.status.success() {
            bail!("user add: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }
}

impl Drop for FerryServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// --- sync client ------------------------------------------------------------------------

/// What a run of exchanges did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncTally {
    /// Exchanges that got a reply.
    pub exchanges: u64,
    /// Exchanges that failed in transport (and were repeated).
    pub failures: u64,
    /// Changes acknowledged.
    pub acknowledged: u64,
    /// Records pulled.
    pub pulled: u64,
    /// Records rejected.
    pub rejected: u64,
    /// Request bodies as sent (compressed).
    pub body_up: u64,
    /// Reply bodies as received (compressed).
    pub body_down: u64,
}

impl std::ops::AddAssign for SyncTally {
    fn add_assign(&mut self, o: SyncTally) {
        self.exchanges += o.exchanges;
        self.failures += o.failures;
        self.acknowledged += o.acknowledged;
        self.pulled += o.pulled;
        self.rejected += o.rejected;
        self.body_up += o.body_up;
        self.body_down += o.body_down;
    }
}

/// A device's connection to the Ferry server (through a link or not).
#[derive(Debug)]
pub struct FerryClient {
    /// The HTTP connection.
    pub http: HttpConn,
    token: String,
    /// Budgets of each exchange.
    pub options: SyncOptions,
}

impl FerryClient {
    /// Logs `user` in as the device of `replica` and stores the session in the replica.
    pub fn login(addr: SocketAddr, user: &str, replica: &Replica) -> anyhow::Result<FerryClient> {
        let mut http = HttpConn::new(addr);
        let body = serde_json::json!({
            "username": user,
            "password": PASSWORD,
            "device_id": replica.device_id(),
            "actor_id": hex::encode(replica.actor_id()),
            "device_name": "bench",
        })
        .to_string();
        let mut reply = None;
        for _ in 0..20 {
            match http.request(
                "POST",
                "/v1/login",
                &[("Content-Type", "application/json")],
                body.as_bytes(),
            ) {
                Ok(r) => {
                    reply = Some(r);
                    break;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
        let reply = reply.ok_or_else(|| anyhow!("login: no reply"))?;
        if reply.status != 200 {
            bail!(
                "login {}: {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            );
        }
        let v: serde_json::Value = serde_json::from_slice(&reply.body)?;
        let token = v["token"]
            .as_str()
            .ok_or_else(|| anyhow!("no token"))?
            .to_owned();
        let session: Session = Session {
            user: user.to_owned(),
            role: serde_json::from_value(v["role"].clone())?,
            units: serde_json::from_value(v["units"].clone())?,
        };
        replica.set_session(&session)?;
        Ok(FerryClient {
            http,
            token,
            options: SyncOptions::default(),
        })
    }

    /// One exchange with an already built request; transport errors are `Err`.
    pub fn exchange(&mut self, req: &SyncRequest) -> anyhow::Result<(SyncReply, u64, u64)> {
        let body = protocol::compress(&protocol::encode_request(req), Encoding::Zstd);
        let auth = format!("Bearer {}", self.token);
        let reply = self.http.request(
            "POST",
            "/v1/sync",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/cbor"),
                ("Content-Encoding", "zstd"),
                ("Accept-Encoding", "zstd"),
            ],
            &body,
        )?;
        if reply.status != 200 {
            bail!(
                "sync {}: {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            );
        }
        let enc = Encoding::parse(reply.header("content-encoding"))?;
        let plain = protocol::decompress(&reply.body, enc, 1 << 30)?;
        Ok((
            protocol::decode_reply(&plain)?,
            body.len() as u64,
            reply.body.len() as u64,
        ))
    }

    /// Exchanges until the server has nothing more and the outbox is empty, repeating
    /// exchanges that fail in transport; at most `max_exchanges` attempts.
    pub fn sync(&mut self, replica: &Replica, max_exchanges: u64) -> anyhow::Result<SyncTally> {
        let mut t = SyncTally::default();
        for _ in 0..max_exchanges {
            let req = replica.prepare_sync(&self.options)?;
            let (reply, up, down) = match self.exchange(&req) {
                Ok(v) => v,
                Err(e) if e.downcast_ref::<std::io::Error>().is_some() => {
                    t.failures += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let report = replica.apply_reply(&reply, crate::now_ms())?;
            t.exchanges += 1;
            t.body_up += up;
            t.body_down += down;
            t.acknowledged += report.acknowledged as u64;
            t.pulled += report.pulled as u64;
            t.rejected += report.rejected as u64;
            // sync-core's shared "sync again?" rule (docs/protocol.md §7).
            if !report.sync_again() {
                return Ok(t);
            }
        }
        bail!("not done after {max_exchanges} attempts ({t:?})")
    }
}

/// A copy of `replica`'s store at `path` with a new device id and actor id (a second phone
/// that had synced the same data), opened as a replica.
pub fn clone_replica(replica: &Replica, path: &Path) -> anyhow::Result<Replica> {
    let target = path.to_string_lossy().into_owned();
    replica
        .pool()
        .read(|c| c.execute("VACUUM INTO ?1", [&target]))
        .context("VACUUM INTO")?;
    {
        let c = rusqlite::Connection::open(path)?;
        let device = uuid::Uuid::now_v7().to_string();
        let actor = hex::encode(uuid::Uuid::new_v4().as_bytes());
        c.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'device_id'",
            [&device],
        )?;
        c.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'actor_id'",
            [&actor],
        )?;
    }
    Ok(Replica::open(path, None)?)
}

// --- formatting -------------------------------------------------------------------------

/// `1.23 MB`, `456 kB`, `789 B` (decimal units).
pub fn bytes(n: u64) -> String {
    let f = n as f64;
    if f >= 1e6 {
        format!("{:.2} MB", f / 1e6)
    } else if f >= 1e4 {
        format!("{:.1} kB", f / 1e3)
    } else {
        format!("{n} B")
    }
}

/// `1.23 s`, `45 ms`, `2 min 5 s`.
pub fn dur(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 120.0 {
        format!("{} min {:.0} s", (s / 60.0) as u64, s % 60.0)
    } else if s >= 1.0 {
        format!("{s:.2} s")
    } else {
        format!("{:.0} ms", s * 1000.0)
    }
}

/// A ratio `a / b` as `1.23×`, or `n/a` when `b` is zero.
pub fn ratio(a: f64, b: f64) -> String {
    if b <= 0.0 {
        "n/a".into()
    } else {
        format!("{:.2}×", a / b)
    }
}

/// Records (or anything) per second.
pub fn rate(n: u64, d: Duration) -> String {
    let s = d.as_secs_f64();
    if s <= 0.0 {
        return "n/a".into();
    }
    let r = n as f64 / s;
    if r >= 100.0 {
        format!("{:.0}/s", r)
    } else {
        format!("{r:.1}/s")
    }
}

/// Times a closure.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let v = f();
    (v, t.elapsed())
}

/// Prints a Markdown table.
pub fn table(title: &str, header: &[&str], rows: &[Vec<String>]) {
    println!("\n### {title}\n");
    println!("| {} |", header.join(" | "));
    println!("|{}", header.iter().map(|_| "---|").collect::<String>());
    for r in rows {
        println!("| {} |", r.join(" | "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_cpu_time_and_memory_in_proc() {
        let me = std::process::id();
        let mut x = 0u64;
        for i in 0..3_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        let (rss, peak) = memory(me);
        assert!(rss > 0 && peak >= rss);
        let _ = cpu_time(me);
    }

    #[test]
    fn args_parse_flags_values_and_lists() {
        let a = Args(vec![
            "--smoke".into(),
            "--records".into(),
            "10_000,50000".into(),
        ]);
        assert!(a.flag("--smoke"));
        assert_eq!(a.list("--records", &[1]).expect("list"), [10_000, 50_000]);
        assert_eq!(a.list("--other", &[1]).expect("default"), [1]);
        assert!(a.number("--records", 0).is_err());
    }

    #[test]
    fn figures_are_formatted_for_tables() {
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(12_345), "12.3 kB");
        assert_eq!(bytes(2_500_000), "2.50 MB");
        assert_eq!(dur(Duration::from_millis(45)), "45 ms");
        assert_eq!(ratio(3.0, 2.0), "1.50×");
        assert_eq!(ratio(1.0, 0.0), "n/a");
    }

    #[test]
    fn the_http_client_reads_content_length_and_chunked_replies_on_one_connection() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        std::thread::spawn(move || {
            let Ok((s, _)) = l.accept() else { return };
            let mut r = BufReader::new(s);
            for reply in [
                "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello".to_owned(),
                "HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n".to_owned(),
            ] {
                let mut len = 0usize;
                let mut line = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0u8; len];
                let _ = r.read_exact(&mut body);
                let _ = r.get_mut().write_all(reply.as_bytes());
            }
        });
        let mut c = HttpConn::new(addr);
        let a = c.request("POST", "/x", &[], b"body").expect("first");
        assert_eq!((a.status, a.body.as_slice()), (200, &b"hello"[..]));
        let b = c
            .request("POST", "/y", &[("X-A", "1")], b"")
            .expect("second");
        assert_eq!((b.status, b.body.as_slice()), (201, &b"abcde"[..]));
        assert_eq!(c.connects, 1);
    }
}
