//! A throwaway PostgreSQL database for tests.
//!
//! [`TestDatabase::start`] gives each test its own database and a `postgres://` URL for it:
//!
//! - With `FERRY_TEST_DATABASE_URL` set (e.g. `postgres://postgres@127.0.0.1:5432/postgres`),
//!   it creates a uniquely named database on that server and drops it again on drop.
//! - Otherwise it starts one private cluster per test process from the Debian binaries
//!   (`initdb`, `postgres` from `/usr/lib/postgresql/<newest>/bin` or `PATH`) in a temporary
//!   directory, on a free port of 127.0.0.1, with its unix socket in that directory (never
//!   touching a system cluster), `fsync=off`, trust authentication; as the `postgres` OS user
//!   when the tests run as root (initdb refuses root). Every test gets its own database in
//!   it, dropped on drop; the cluster itself is started by the first test that needs it
//!   (`initdb` costs seconds, a database milliseconds) and stopped and deleted by a small
//!   watcher process once the test process has exited.
//!
//! When PostgreSQL cannot be found it panics with how to install it: a test that needs
//! PostgreSQL never passes without one.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Points the tests at an existing PostgreSQL server instead of a private cluster.
pub const DATABASE_URL_ENV: &str = "FERRY_TEST_DATABASE_URL";

/// How long a private cluster may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// One test's database; dropped on drop.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    name: String,
    /// The URL of the maintenance database the test database was created from.
    admin_url: String,
}

/// The test process's private cluster, started on first use.
fn shared_cluster() -> &'static Cluster {
    static SHARED: std::sync::OnceLock<Cluster> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let cluster = Cluster::start();
        cluster.stop_after(std::process::id());
        cluster
    })
}

impl TestDatabase {
    /// A new empty database (see the module documentation for where it lives).
    pub fn start() -> TestDatabase {
        let name = format!("ferry_test_{}", uuid::Uuid::new_v4().simple());
        let admin_url = match std::env::var(DATABASE_URL_ENV) {
            Ok(url) if !url.trim().is_empty() => url.trim().to_owned(),
            _ => shared_cluster().url("postgres"),
        };
        execute(&admin_url, &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("cannot create the test database: {e}"));
        TestDatabase {
            url: with_database(&admin_url, &name),
            name,
            admin_url,
        }
    }

    /// `postgres://…` URL of this test's database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The schema of this test's database (its current schema, normally `public`) as sorted,
    /// normalised lines: every column (`information_schema.columns`), every index
    /// (`pg_indexes`) and every constraint but `NOT NULL` (`pg_constraint`; PostgreSQL 18
    /// lists those too, the columns already say it). For comparing with a frozen copy.
    pub fn describe_schema(&self) -> Result<Vec<String>, String> {
        let columns = self.query(
            "SELECT 'column ' || table_name || '.' || column_name || ' #' || ordinal_position
                    || ': ' || data_type
                    || CASE WHEN is_nullable = 'NO' THEN ' not null' ELSE '' END
                    || coalesce(' default ' || column_default, '')
                    || CASE WHEN is_identity = 'YES'
                            THEN ' identity ' || identity_generation ELSE '' END
             FROM information_schema.columns WHERE table_schema = current_schema()",
        )?;
        let indexes = self.query(
            "SELECT 'index ' || tablename || '.' || indexname || ': ' || indexdef
             FROM pg_indexes WHERE schemaname = current_schema()",
        )?;
        let constraints = self.query(
            "SELECT 'constraint ' || conrelid::regclass::text || '.' || conname || ': '
                    || pg_get_constraintdef(oid)
             FROM pg_constraint
             WHERE connamespace = current_schema()::regnamespace AND contype <> 'n'",
        )?;
        let mut out: Vec<String> = columns
            .into_iter()
            .chain(indexes)
            .chain(constraints)
            .filter_map(|row| row.into_iter().next().flatten())
            .collect();
        out.sort();
        Ok(out)
    }

    /// A new connection to this test's database; its connection task runs on the current
    /// tokio runtime.
    pub async fn client(&self) -> Result<tokio_postgres::Client, String> {
        connect(&self.url).await
    }

    /// The schema of this test's database as SQL that recreates it (`pg_dump --schema-only`,
    /// without owners and privileges, and without the psql `\restrict` lines newer pg_dump
    /// versions add with a random key): the form of a frozen PostgreSQL schema version.
    pub fn dump_schema(&self) -> Result<String, String> {
        let pg_dump = find_tool("pg_dump");
        let out = Command::new(&pg_dump)
            .args(["--schema-only", "--no-owner", "--no-privileges", "--dbname"])
            .arg(&self.url)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", pg_dump.display()))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.starts_with('\\'))
            .map(|l| format!("{l}\n"))
            .collect())
    }

    /// Loads SQL written by [`TestDatabase::dump_schema`] (psql's `\` meta-commands, which
    /// newer pg_dump versions emit, are skipped).
    pub fn load_dump(&self, sql: &str) -> Result<(), String> {
        let statements: String = sql
            .lines()
            .filter(|l| !l.starts_with('\\'))
            .map(|l| format!("{l}\n"))
            .collect();
        self.execute(&statements)
    }

    /// Runs SQL statements (no results) on this test's database.
    pub fn execute(&self, sql: &str) -> Result<(), String> {
        execute(&self.url, sql)
    }

    /// Runs a query on this test's database; every column is read as text (`NULL` as
    /// `None`), so queries should cast what is not text (`x::text`).
    pub fn query(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
        block_on(async {
            let client = connect(&self.url).await?;
            let rows = client.query(sql, &[]).await.map_err(|e| e.to_string())?;
            rows.iter()
                .map(|row| {
                    (0..row.len())
                        .map(|i| row.try_get::<_, Option<String>>(i))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| e.to_string())
                })
                .collect()
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = execute(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// A private PostgreSQL cluster: a `postgres` child process over a temporary directory.
#[derive(Debug)]
struct Cluster {
    child: Child,
    port: u16,
    _dir: TempDir,
}

impl Cluster {
    fn start() -> Cluster {
        let bin = find_bin_dir();
        let dir = tempfile::tempdir().expect("temp dir for PostgreSQL");
        let owner = cluster_owner();
        let data = dir.path().join("data");
        let log_path = dir.path().join("postgres.log");
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .expect("chown the PostgreSQL temp dir to postgres");
        }
        let out = as_owner(Command::new(bin.join("initdb")), owner, dir.path())
            .args(["--auth=trust", "--username=postgres", "--encoding=UTF8"])
            .args(["--no-locale", "--no-sync", "--pgdata"])
            .arg(&data)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.join("initdb").display()));
        assert!(
            out.status.success(),
            "initdb failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let log = std::fs::File::create(&log_path).expect("PostgreSQL log file");
        if let Some((uid, gid)) = owner {
            let _ = std::os::unix::fs::chown(&log_path, Some(uid), Some(gid));
        }
        let mut child = as_owner(Command::new(bin.join("postgres")), owner, dir.path())
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(dir.path())
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .args(["-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
            // Tests run in parallel, each with up to three nodes and their pools.
            .args(["-c", "max_connections=400"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.join("postgres").display()));
        let url = cluster_url(port, "postgres");
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("postgres exited during start-up ({status}):\n{log}");
            }
            match execute(&url, "SELECT 1") {
                Ok(()) => break,
                Err(e) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    panic!("postgres not ready after {READY_TIMEOUT:?} ({e}):\n{log}");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        Cluster {
            child,
            port,
            _dir: dir,
        }
    }

    fn url(&self, database: &str) -> String {
        cluster_url(self.port, database)
    }

    /// Leaves a watcher process that stops the cluster (fast shutdown, then SIGKILL) and
    /// deletes its directory once process `pid` (the test process, whose statics are never
    /// dropped) has exited. Its output goes nowhere, so nothing waits for it.
    fn stop_after(&self, pid: u32) {
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
             kill -INT {pg} 2>/dev/null; \
             for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 {pg} 2>/dev/null || break; sleep 1; done; \
             kill -KILL {pg} 2>/dev/null; rm -rf '{dir}'",
            pg = self.child.id(),
            dir = self._dir.path().display()
        );
        let _ = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // SIGINT is PostgreSQL's "fast shutdown": backends end, the postmaster exits. SIGKILL
        // (Child::kill) would leave the backends running until they notice.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cluster_url(port: u16, database: &str) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/{database}")
}

/// A PostgreSQL program (`pg_dump`, …): from the directory of [`find_bin_dir`] when it is
/// there, else from `PATH`.
fn find_tool(name: &str) -> PathBuf {
    bin_dir()
        .map(|d| d.join(name))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// The directory holding `initdb` and `postgres` (see [`bin_dir`]), or a panic saying how to
/// install PostgreSQL.
fn find_bin_dir() -> PathBuf {
    bin_dir().unwrap_or_else(|| {
        panic!(
            "PostgreSQL is not installed: no initdb/postgres in /usr/lib/postgresql/*/bin or on \
             PATH. Install it (Debian/Ubuntu: `apt-get install postgresql`) or point the tests \
             at a running server with {DATABASE_URL_ENV}=postgres://user@host:port/postgres"
        )
    })
}

/// The newest `/usr/lib/postgresql/*/bin` (Debian's packages), else the directory of `initdb`
/// on `PATH`.
fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("postgres").is_file())
                .then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file())
}

/// The uid and gid to run the cluster as: the `postgres` OS user when we are root (initdb
/// and postgres refuse to run as root), else ourselves (`None`).
fn cluster_owner() -> Option<(u32, u32)> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let entry = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && f[0] == "postgres");
    match entry {
        Some(f) => match (f[2].parse(), f[3].parse()) {
            (Ok(uid), Ok(gid)) => Some((uid, gid)),
            _ => panic!("cannot read the postgres user's ids from /etc/passwd"),
        },
        None => panic!(
            "running as root, but there is no `postgres` OS user to run PostgreSQL as \
             (Debian's `apt-get install postgresql` creates it)"
        ),
    }
}

/// `cmd` set to run in `dir`, as `owner` when given (like `runuser -u postgres --`).
fn as_owner(mut cmd: Command, owner: Option<(u32, u32)>, dir: &Path) -> Command {
    cmd.current_dir(dir).env("LC_ALL", "C");
    if let Some((uid, gid)) = owner {
        cmd.uid(uid).gid(gid);
    }
    cmd
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `url` with its database name replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{database}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

async fn connect(url: &str) -> Result<tokio_postgres::Client, String> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    Ok(client)
}

fn execute(url: &str, sql: &str) -> Result<(), String> {
    block_on(async {
        let client = connect(url).await?;
        client.batch_execute(sql).await.map_err(|e| e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn a_url_gets_the_database_name_replaced_and_keeps_its_parameters() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres?sslmode=disable", "t1"),
            "postgres://u:p@h:5432/t1?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "t1"), "postgres://h/t1");
    }
}
