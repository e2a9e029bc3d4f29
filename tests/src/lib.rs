//! Helpers for Ferry's cross-crate integration tests: run the real `ferry` binary on
//! `127.0.0.1:0` with a temporary data directory, log devices in, and drive real sync-core
//! replicas through `POST /v1/sync`.
//!
//! The binary's path comes from the test (`env!("CARGO_BIN_EXE_ferry")` is only defined for
//! integration tests), so [`Server::start`] takes it as an argument.

pub mod attach;
pub mod bench;
pub mod r#gen;
pub mod hostile;
pub mod link;
pub mod pg;
pub mod proxy;

use std::cell::Cell;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use ferry_server::routes::auth::LoginReply;
use sync_core::model::{Fields, Value};
use sync_core::protocol::{self, Encoding};
use sync_core::replica::{ApplyReport, Replica, Session, SyncOptions};
use tempfile::TempDir;

/// The bootstrap admin password every test server gets.
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// The password test users get.
pub const PASSWORD: &str = "officer-password-1";

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    ferry_server::now_ms()
}

/// The database engine a test's servers run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// The SQLite file under the data directory (the embedded default).
    Sqlite,
    /// A PostgreSQL database of its own in the test process's cluster ([`pg::TestDatabase`]).
    Postgres,
}

thread_local! {
    static ENGINE: Cell<Engine> = const { Cell::new(Engine::Sqlite) };
}

/// The engine [`Server::start`] uses on this thread (SQLite unless [`on_engine`] says so).
pub fn engine() -> Engine {
    ENGINE.with(Cell::get)
}

/// Runs `f` with [`Server::start`] and [`Server::start_in`] on `engine`.
pub fn on_engine<T>(engine: Engine, f: impl FnOnce() -> T) -> T {
    struct Restore(Engine);
    impl Drop for Restore {
        fn drop(&mut self) {
            ENGINE.with(|e| e.set(self.0));
        }
    }
    let _restore = Restore(ENGINE.with(|e| e.replace(engine)));
    f()
}

/// `both_engines!(name);` in place of `#[test]` above `fn name()` makes it two tests with the
/// same code, `name::on_sqlite` and `name::on_postgres`: the servers the body starts
/// ([`Server::start`], [`Server::start_in`]) run on that engine.
#[macro_export]
macro_rules! both_engines {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[test]
            fn on_sqlite() {
                $crate::on_engine($crate::Engine::Sqlite, super::$name)
            }

            #[test]
            fn on_postgres() {
                $crate::on_engine($crate::Engine::Postgres, super::$name)
            }
        }
    )+};
}

/// A `ferry serve` child process.
#[derive(Debug)]
pub struct Server {
    bin: PathBuf,
    child: Option<Child>,
    addr: SocketAddr,
    data_dir: PathBuf,
    /// What selects the engine: the PostgreSQL URL and the shared audit key file.
    engine_env: Vec<(String, String)>,
    /// The PostgreSQL database, shared by every node of it ([`Server::node`]).
    database: Option<Arc<pg::TestDatabase>>,
    _tmp: Option<TempDir>,
    /// Everything the server printed on stdout before `listening on`.
    pub banner: Vec<String>,
}

/// A random audit key file at `path` unless one is there (PostgreSQL nodes need it given).
fn audit_key_file(path: &Path) {
    if !path.exists() {
        let key: [u8; 32] = rand::random();
        std::fs::write(path, format!("{}\n", hex::encode(key))).expect("audit key file");
    }
}

impl Server {
    /// Starts the binary at `bin` on a fresh temporary data directory (`<tmp>/data`, so the
    /// audit key and checkpoints the server keeps beside it stay inside `<tmp>`).
    pub fn start(bin: &Path) -> Server {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("data");
        let mut s = Server::start_in(bin, &dir, &[]);
        s._tmp = Some(tmp);
        s
    }

    /// Starts the binary on `data_dir` with extra environment variables, on the thread's
    /// [`engine`]: on PostgreSQL a new database, with the audit key in `<data_dir>.audit-key`
    /// (where a SQLite server keeps it too), and `data_dir` holds only the server's log.
    pub fn start_in(bin: &Path, data_dir: &Path, env: &[(&str, &str)]) -> Server {
        let database = (engine() == Engine::Postgres).then(|| Arc::new(pg::TestDatabase::start()));
        Server::spawn_on(bin, data_dir, env, database)
    }

    fn spawn_on(
        bin: &Path,
        data_dir: &Path,
        env: &[(&str, &str)],
        database: Option<Arc<pg::TestDatabase>>,
    ) -> Server {
        let mut engine_env = Vec::new();
        if let Some(db) = &database {
            let mut key = data_dir.as_os_str().to_owned();
            key.push(".audit-key");
            let key = PathBuf::from(key);
            if let Some(parent) = key.parent() {
                std::fs::create_dir_all(parent).expect("audit key directory");
            }
            audit_key_file(&key);
            engine_env.push(("FERRY_DATABASE_URL".to_owned(), db.url().to_owned()));
            engine_env.push(("FERRY_AUDIT_KEY_FILE".to_owned(), key.display().to_string()));
        }
        let mut all: Vec<(&str, &str)> = engine_env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        all.extend_from_slice(env);
        let (child, addr, banner) = spawn(bin, data_dir, &all);
        Server {
            bin: bin.to_owned(),
            child: Some(child),
            addr,
            data_dir: data_dir.to_owned(),
            engine_env,
            database,
            _tmp: None,
            banner,
        }
    }

    /// The engine this server runs on.
    pub fn engine(&self) -> Engine {
        if self.database.is_some() {
            Engine::Postgres
        } else {
            Engine::Sqlite
        }
    }

    /// Another node on this server's PostgreSQL database, with the same audit key (its own
    /// directory for the log). Panics on SQLite, whose file has one server.
    pub fn node(&self) -> Server {
        let db = self
            .database
            .clone()
            .expect("several nodes need the PostgreSQL engine");
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("data");
        std::fs::create_dir_all(&dir).expect("data dir");
        std::fs::copy(self.audit_key_path(), {
            let mut k = dir.as_os_str().to_owned();
            k.push(".audit-key");
            PathBuf::from(k)
        })
        .expect("copy the audit key");
        let mut s = Server::spawn_on(&self.bin, &dir, &[], Some(db));
        s._tmp = Some(tmp);
        s
    }

    /// The server's database through the storage seam, for tests that look at (or tamper
    /// with) what it stored: the SQLite file, or the PostgreSQL database.
    pub fn store(&self) -> ferry_server::db::Store {
        use ferry_server::db::Store;
        match &self.database {
            Some(db) => Store::Postgres(
                ferry_server::db::postgres::PgStore::connect(db.url(), 2)
                    .expect("connect to the test database"),
            ),
            None => Store::Sqlite(Arc::new(
                sync_core::store::Pool::open(
                    &self.db_path(),
                    None,
                    ferry_server::schema::SERVER_MIGRATIONS,
                    1,
                )
                .expect("open the server's database"),
            )),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` of the separate metrics listener, if it runs.
    pub fn metrics_url(&self) -> Option<String> {
        self.banner.iter().find_map(|l| {
            l.strip_prefix("metrics on ")
                .and_then(|u| u.strip_suffix("/metrics"))
                .map(str::to_owned)
        })
    }

    /// The audit key file the server keeps beside its data directory.
    pub fn audit_key_path(&self) -> PathBuf {
        let mut name = self.data_dir.clone().into_os_string();
        name.push(".audit-key");
        PathBuf::from(name)
    }

    /// The server's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The server process's resident memory (`VmRSS` of `/proc/<pid>/status`), in bytes.
    pub fn rss_bytes(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The database file.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("ferry.db")
    }

    /// Kills the server with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and waits (bounded) for the process to exit; returns its success.
    pub fn terminate(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        for _ in 0..200 {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// Starts the server again on the same data directory (after [`Server::kill`]).
    pub fn restart(&mut self) {
        self.kill();
        let env: Vec<(&str, &str)> = self
            .engine_env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (child, addr, banner) = spawn(&self.bin, &self.data_dir, &env);
        self.child = Some(child);
        self.addr = addr;
        self.banner = banner;
    }

    /// Runs `ferry ARGS…` on this server's data directory.
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(&self.bin);
        clean_env(&mut cmd);
        cmd.args(args)
            .env("FERRY_DATA_DIR", &self.data_dir)
            .envs(self.engine_env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("run ferry")
    }

    /// Adds a user through the CLI with [`PASSWORD`].
    pub fn add_user(&self, name: &str, role: &str, units: &[&str]) {
        let mut args = vec!["user", "add", name, "--role", role, "--password", PASSWORD];
        for u in units {
            args.extend(["--unit", u]);
        }
        let out = self.cli(&args);
        assert!(
            out.status.success(),
            "user add failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A client logged in as `admin` on a new device.
    pub fn admin(&self) -> Client {
        let mut c = Client::new(&self.url());
        let id = uuid::Uuid::now_v7();
        let actor = *uuid::Uuid::new_v4().as_bytes();
        c.login_as("admin", ADMIN_PASSWORD, id, &actor)
            .expect("admin login");
        c
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn clean_env(cmd: &mut Command) {
    for (k, _) in std::env::vars() {
        if k.starts_with("FERRY_") {
            cmd.env_remove(k);
        }
    }
}

fn spawn(bin: &Path, data_dir: &Path, env: &[(&str, &str)]) -> (Child, SocketAddr, Vec<String>) {
    std::fs::create_dir_all(data_dir).expect("data dir");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data_dir.join("server.log"))
        .expect("log file");
    let mut cmd = Command::new(bin);
    clean_env(&mut cmd);
    cmd.arg("serve")
        .env("FERRY_BIND", "127.0.0.1:0")
        .env("FERRY_DATA_DIR", data_dir)
        .env("FERRY_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("FERRY_LOG", "info")
        // Tests run many servers at once and log hundreds of devices in from 127.0.0.1: a
        // free metrics port each, and login rate limits out of the way (tests of the limits
        // set their own).
        .env("FERRY_METRICS_LISTEN", "127.0.0.1:0")
        .env("FERRY_LOGIN_PER_ADDRESS_PER_MINUTE", "1000000")
        .env("FERRY_LOGIN_PER_ACCOUNT_PER_MINUTE", "1000000")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn ferry");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut banner = Vec::new();
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !sent {
                banner.push(line.clone());
                if let Some(url) = line.strip_prefix("listening on http://") {
                    let _ = tx.send((url.trim().to_owned(), std::mem::take(&mut banner)));
                    sent = true;
                }
            }
        }
    });
    let (addr, banner) = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(v) => v,
        Err(_) => {
            let _ = child.kill();
            let log = std::fs::read_to_string(data_dir.join("server.log")).unwrap_or_default();
            panic!("ferry did not print its address; log:\n{log}");
        }
    };
    (child, addr.parse().expect("address"), banner)
}

/// What went wrong in one exchange.
#[derive(Debug)]
pub enum SyncError {
    /// The connection failed or dropped.
    Transport(String),
    /// The server answered with an error status.
    Status(u16, String),
    /// The reply did not decode.
    Protocol(String),
    /// The replica refused the reply or the request.
    Replica(String),
}

/// An HTTP reply: status, `Content-Encoding`, body.
#[derive(Debug, Clone)]
pub struct HttpReply {
    /// Status code.
    pub status: u16,
    /// `Content-Encoding`, if any.
    pub encoding: Option<String>,
    /// The body as received (ureq undoes gzip itself).
    pub body: Vec<u8>,
}

impl HttpReply {
    /// The body as JSON (Null when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A blocking HTTP client for the Ferry API.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
    /// The bearer token after login.
    pub token: Option<String>,
    /// The login reply.
    pub session: Option<LoginReply>,
    /// Reply budget requested on sync.
    pub max_reply_bytes: u64,
    /// Request body encoding on sync.
    pub encoding: Encoding,
}

impl Client {
    /// A client for `base` (`http://host:port`). No pooled connections: every request opens
    /// its own, so proxy faults apply per exchange.
    pub fn new(base: &str) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .max_idle_connections(0)
            .build()
            .into();
        Client {
            base: base.trim_end_matches('/').to_owned(),
            agent,
            token: None,
            session: None,
            max_reply_bytes: protocol::DEFAULT_MAX_BYTES,
            encoding: Encoding::Zstd,
        }
    }

    /// The same session against another base URL (e.g. through a proxy).
    pub fn via(&self, base: &str) -> Client {
        let mut c = Client::new(base);
        c.token = self.token.clone();
        c.session = self.session.clone();
        c.max_reply_bytes = self.max_reply_bytes;
        c.encoding = self.encoding;
        c
    }

    /// Sends a request; `Err` only for transport failures.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<HttpReply, String> {
        let url = format!("{}{}", self.base, path);
        let mut builder = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(t) = &self.token {
            builder = builder.header("Authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let result = match body {
            Some(b) => {
                let req = builder.body(b).map_err(|e| e.to_string())?;
                self.agent.run(req)
            }
            None => {
                let req = builder.body(()).map_err(|e| e.to_string())?;
                self.agent.run(req)
            }
        };
        let mut resp = result.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let encoding = resp
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = resp
            .body_mut()
            .with_config()
            .limit(256 << 20)
            .read_to_vec()
            .map_err(|e| e.to_string())?;
        Ok(HttpReply {
            status,
            encoding,
            body,
        })
    }

    /// POSTs JSON.
    pub fn post_json(&self, path: &str, body: &serde_json::Value) -> Result<HttpReply, String> {
        self.send(
            "POST",
            path,
            &[("Content-Type", "application/json")],
            Some(body.to_string().into_bytes()),
        )
    }

    /// GETs a path.
    pub fn get(&self, path: &str) -> Result<HttpReply, String> {
        self.send("GET", path, &[], None)
    }

    /// Logs in with an explicit device id and actor id.
    pub fn login_as(
        &mut self,
        user: &str,
        password: &str,
        device_id: uuid::Uuid,
        actor: &[u8],
    ) -> Result<LoginReply, HttpReply> {
        let reply = self
            .post_json(
                "/v1/login",
                &serde_json::json!({
                    "username": user,
                    "password": password,
                    "device_id": device_id,
                    "actor_id": hex::encode(actor),
                    "device_name": "test device",
                }),
            )
            .map_err(|e| HttpReply {
                status: 0,
                encoding: None,
                body: e.into_bytes(),
            })?;
        if reply.status != 200 {
            return Err(reply);
        }
        let login: LoginReply = serde_json::from_slice(&reply.body).map_err(|_| reply.clone())?;
        self.token = Some(login.token.clone());
        self.session = Some(login.clone());
        Ok(login)
    }

    /// One exchange: `prepare_sync` → `POST /v1/sync` → `apply_reply`.
    pub fn sync_once(&self, replica: &Replica) -> Result<ApplyReport, SyncError> {
        let opts = SyncOptions {
            max_reply_bytes: self.max_reply_bytes,
            ..SyncOptions::default()
        };
        let req = replica
            .prepare_sync(&opts)
            .map_err(|e| SyncError::Replica(e.to_string()))?;
        let body = protocol::compress(&protocol::encode_request(&req), self.encoding);
        let mut headers = vec![
            ("Content-Type", "application/cbor"),
            ("Accept-Encoding", "zstd"),
        ];
        if let Some(enc) = self.encoding.header() {
            headers.push(("Content-Encoding", enc));
        }
        let reply = self
            .send("POST", "/v1/sync", &headers, Some(body))
            .map_err(SyncError::Transport)?;
        if reply.status != 200 {
            return Err(SyncError::Status(
                reply.status,
                String::from_utf8_lossy(&reply.body).into_owned(),
            ));
        }
        let reply = decode_sync_reply(&reply).map_err(SyncError::Protocol)?;
        replica
            .apply_reply(&reply, now_ms())
            .map_err(|e| SyncError::Replica(e.to_string()))
    }

    /// Syncs while sync-core's rule says to sync again ([`ApplyReport::sync_again`]), at
    /// most `max_rounds` exchanges; returns the number of exchanges.
    ///
    /// [`ApplyReport::sync_again`]: sync_core::replica::ApplyReport::sync_again
    pub fn sync_until_done(
        &self,
        replica: &Replica,
        max_rounds: usize,
    ) -> Result<usize, SyncError> {
        for round in 1..=max_rounds {
            // sync-core's shared "sync again?" rule (docs/protocol.md §7).
            if !self.sync_once(replica)?.sync_again() {
                return Ok(round);
            }
        }
        Err(SyncError::Replica(format!(
            "still not done after {max_rounds} exchanges"
        )))
    }
}

/// Decodes a sync reply body according to its `Content-Encoding`.
pub fn decode_sync_reply(reply: &HttpReply) -> Result<protocol::SyncReply, String> {
    let enc = Encoding::parse(reply.encoding.as_deref()).map_err(|e| e.to_string())?;
    // ureq has already undone gzip.
    let enc = if enc == Encoding::Gzip {
        Encoding::Identity
    } else {
        enc
    };
    let plain = protocol::decompress(&reply.body, enc, 512 << 20).map_err(|e| e.to_string())?;
    protocol::decode_reply(&plain).map_err(|e| e.to_string())
}

/// A phone: a replica in a temporary directory and a logged-in client.
#[derive(Debug)]
pub struct Device {
    /// The replica.
    pub replica: Replica,
    /// The client.
    pub client: Client,
    _dir: TempDir,
}

impl Device {
    /// A new phone logged in as `user` with [`PASSWORD`].
    pub fn login(base: &str, user: &str) -> Device {
        Device::login_with(base, user, PASSWORD).expect("login")
    }

    /// A new phone logged in as `user` with `password`.
    pub fn login_with(base: &str, user: &str, password: &str) -> Result<Device, HttpReply> {
        let dir = tempfile::tempdir().expect("temp dir");
        let replica = Replica::open(&dir.path().join("phone.db"), None).expect("replica");
        let mut client = Client::new(base);
        let login = client.login_as(user, password, replica.device_id(), &replica.actor_id())?;
        replica
            .set_session(&Session {
                user: login.user.clone(),
                role: login.role,
                units: login.units.clone(),
            })
            .expect("session");
        Ok(Device {
            replica,
            client,
            _dir: dir,
        })
    }

    /// One exchange.
    pub fn sync(&self) -> Result<ApplyReport, SyncError> {
        self.client.sync_once(&self.replica)
    }

    /// Sends `req` as one exchange (`POST /v1/sync`), returning the raw HTTP reply.
    pub fn post_sync(&self, req: &protocol::SyncRequest) -> HttpReply {
        self.client
            .send("POST", "/v1/sync", &[], Some(protocol::encode_request(req)))
            .expect("sync request")
    }

    /// One exchange of this phone's prepared request, answered with the decoded reply
    /// (status 200 asserted) and not applied: for tests that look at the reply itself.
    pub fn exchange_raw(&self) -> protocol::SyncReply {
        let req = self
            .replica
            .prepare_sync(&Default::default())
            .expect("prepare");
        let reply = self.post_sync(&req);
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        decode_sync_reply(&reply).expect("reply")
    }

    /// Exchanges until done (at most 50).
    pub fn sync_all(&self) -> usize {
        self.client
            .sync_until_done(&self.replica, 50)
            .unwrap_or_else(|e| panic!("sync failed: {e:?}"))
    }

    /// The same phone after its app was killed and started again: the replica closed and
    /// opened again from its file (the client and its token kept, as the app keeps them).
    pub fn reopen(self) -> Device {
        let Device {
            replica,
            client,
            _dir,
        } = self;
        drop(replica);
        let replica = Replica::open(&_dir.path().join("phone.db"), None).expect("replica");
        Device {
            replica,
            client,
            _dir,
        }
    }

    /// Pending outbox changes.
    pub fn pending(&self) -> u64 {
        self.replica.outbox_status().expect("outbox").pending
    }
}

impl Deref for Device {
    type Target = Replica;
    fn deref(&self) -> &Replica {
        &self.replica
    }
}

/// Fields of a valid citizen.
pub fn citizen(name: &str) -> Fields {
    let mut f = Fields::new();
    f.insert("full_name".into(), Value::Text(name.into()));
    f.insert("date_of_birth".into(), "1990-05-17".into());
    f.insert("sex".into(), "male".into());
    f.insert("status".into(), "active".into());
    f
}

/// Fields of a CCCD application in `status`.
pub fn application(name: &str, status: &str) -> Fields {
    let mut f = Fields::new();
    f.insert("full_name".into(), Value::Text(name.into()));
    f.insert("request_type".into(), "first_issue".into());
    f.insert("date_of_birth".into(), "2008-02-01".into());
    f.insert("sex".into(), "female".into());
    // Accepted applications carry the ID number (seed plan 2.1(2)).
    f.insert("id_number".into(), "022308001234".into());
    f.insert("status".into(), status.into());
    f
}

/// The bytes of a SQLite database and its WAL, shared-memory and journal files, as on disk:
/// what a search for a value that must be gone has to look through.
pub fn raw_db_files(db: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut path = db.as_os_str().to_owned();
        path.push(suffix);
        if let Ok(b) = std::fs::read(&path) {
            bytes.extend(b);
        }
    }
    bytes
}
