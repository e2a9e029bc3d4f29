//! The write path of the sync exchanges, on either engine.
//!
//! A caller hands [`Writer::run`] a write job (a closure over the write transaction, as
//! `&dyn Sql`).
//!
//! **SQLite: group commit.** One thread owns the write connection and commits concurrent
//! exchanges' writes together. It takes every job queued at that moment (up to
//! [`MAX_BATCH`]), opens one immediate transaction, runs each job inside its own savepoint —
//! a job that fails (or panics) is rolled back to its savepoint alone and its caller gets the
//! error — then commits once and only then answers every waiter. With `synchronous = FULL`
//! on the writer connection, an answer means the job's writes are durable; one fsync covers
//! the batch. While one batch runs, the next one queues up, so the batch size grows with the
//! load on its own; with one client a batch holds one job and costs what a plain transaction
//! did.
//!
//! **PostgreSQL: one transaction per job.** Each job runs in its own READ COMMITTED
//! transaction on the blocking pool; concurrency comes from the database (row locks taken by
//! the jobs themselves, [`crate::db::Sql::for_update`]), and several nodes write at once.
//! A job that loses a race — a deadlock, a serialization failure, or a unique key another
//! transaction took first (the audit chain's next id, an open review item's key, a record
//! created at the same time) — is rolled back and run again, up to [`PG_ATTEMPTS`] times;
//! that is why a job is `FnMut`. The answer comes after COMMIT.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Instant;

use anyhow::anyhow;
use rusqlite::Transaction;
use sync_core::store::Pool;
use tokio::sync::oneshot;

use crate::db::postgres::PgStore;
use crate::db::{DbError, Sql, Store};
use crate::metrics::Metrics;

/// Most jobs committed in one transaction (SQLite).
pub const MAX_BATCH: usize = 128;

/// Most times a PostgreSQL job is run when it keeps losing races.
pub const PG_ATTEMPTS: usize = 12;

/// What a job leaves to do once its batch is committed (or failed): answer its caller.
type Completion = Box<dyn FnOnce(Result<(), &str>) + Send>;

/// A job: runs in the batch transaction (`None`: the batch failed before the job's turn),
/// returns whether its writes are to be kept and how to answer its caller.
type JobFn = Box<dyn FnOnce(Option<&Transaction<'_>>) -> (bool, Completion) + Send>;

struct Job {
    queued: Instant,
    run: JobFn,
}

/// A job's error that says "run me again": the job saw that another transaction got in
/// first (on PostgreSQL) and that a fresh attempt will see its outcome.
#[derive(Debug, thiserror::Error)]
#[error("lost a race with another transaction: {0}")]
pub struct Contended(pub &'static str);

/// Whether a failed job may simply be run again (PostgreSQL).
pub fn is_retryable(e: &anyhow::Error) -> bool {
    use tokio_postgres::error::SqlState;
    e.chain().any(|c| {
        c.downcast_ref::<Contended>().is_some()
            || c
                .downcast_ref::<DbError>()
                .is_some_and(|d| d.is_retryable() || d.is_unique_violation())
            // A DbError wrapped transparently (an error enum's `#[error(transparent)]`
            // variant) shows only its source in the chain.
            || c
                .downcast_ref::<tokio_postgres::Error>()
                .and_then(|p| p.code())
                .is_some_and(|code| {
                    *code == SqlState::T_R_SERIALIZATION_FAILURE
                        || *code == SqlState::T_R_DEADLOCK_DETECTED
                        || *code == SqlState::UNIQUE_VIOLATION
                })
    })
}

/// The handle to the write path. Cloning shares it; the SQLite writer thread stops when the
/// last handle is dropped.
#[derive(Debug, Clone)]
pub struct Writer {
    engine: Engine,
}

#[derive(Debug, Clone)]
enum Engine {
    Sqlite(mpsc::Sender<Job>),
    Postgres(PgStore, Arc<Metrics>),
}

impl Writer {
    /// Starts the SQLite writer thread over `pool`'s writer connection.
    pub fn start(pool: Arc<Pool>, metrics: Arc<Metrics>) -> std::io::Result<Writer> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("ferry-writer".into())
            .spawn(move || writer_loop(&pool, &metrics, &queue))?;
        Ok(Writer {
            engine: Engine::Sqlite(jobs),
        })
    }

    /// The write path of `store`: the group-commit thread on SQLite, one transaction per job
    /// on PostgreSQL.
    pub fn for_store(store: &Store, metrics: Arc<Metrics>) -> std::io::Result<Writer> {
        match store {
            Store::Sqlite(pool) => Writer::start(pool.clone(), metrics),
            Store::Postgres(pg) => Ok(Writer {
                engine: Engine::Postgres(pg.clone(), metrics),
            }),
        }
    }

    /// Runs `f` in a write transaction; resolves once that transaction is committed
    /// (durable) with `f`'s result, or with the error of `f` (its writes rolled back) or of
    /// the commit. On SQLite `f` runs once, in the next batch; on PostgreSQL it may run again
    /// after a lost race ([`is_retryable`]), each time in a fresh transaction.
    pub async fn run<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnMut(&dyn Sql) -> anyhow::Result<T> + Send + 'static,
    {
        match &self.engine {
            Engine::Sqlite(jobs) => run_sqlite(jobs, f).await,
            Engine::Postgres(pg, metrics) => {
                let (pg, metrics) = (pg.clone(), metrics.clone());
                let queued = Instant::now();
                tokio::task::spawn_blocking(move || run_postgres(&pg, &metrics, queued, f))
                    .await
                    .map_err(|e| anyhow!("a write job panicked: {e}"))?
            }
        }
    }
}

async fn run_sqlite<T, F>(jobs: &mpsc::Sender<Job>, mut f: F) -> anyhow::Result<T>
where
    T: Send + 'static,
    F: FnMut(&dyn Sql) -> anyhow::Result<T> + Send + 'static,
{
    let (tx, rx) = oneshot::channel::<anyhow::Result<T>>();
    let run: JobFn = Box::new(move |t: Option<&Transaction<'_>>| {
        let out = match t {
            None => Err(anyhow!("the write batch failed before this job ran")),
            Some(t) => match catch_unwind(AssertUnwindSafe(|| f(t))) {
                Ok(out) => out,
                Err(panic) => Err(anyhow!("a write job panicked: {}", panic_text(&panic))),
            },
        };
        let keep = out.is_ok();
        let done: Completion = Box::new(move |batch: Result<(), &str>| {
            let answer = match batch {
                Ok(()) => out,
                Err(e) => out.and(Err(anyhow!("the write transaction failed: {e}"))),
            };
            // The caller may have gone away (request timeout); nothing to do then.
            let _ = tx.send(answer);
        });
        (keep, done)
    });
    jobs.send(Job {
        queued: Instant::now(),
        run,
    })
    .map_err(|_| anyhow!("the writer has stopped"))?;
    rx.await
        .map_err(|_| anyhow!("the writer dropped a job unanswered"))?
}

/// One PostgreSQL job: its own transaction, run again while it loses races.
fn run_postgres<T>(
    pg: &PgStore,
    metrics: &Metrics,
    queued: Instant,
    mut f: impl FnMut(&dyn Sql) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    metrics.writer_waited(queued.elapsed());
    let mut attempt = 1;
    loop {
        match pg.write(|tx| f(tx)) {
            Ok(v) => {
                metrics.batch_committed(1);
                return Ok(v);
            }
            Err(e) if attempt < PG_ATTEMPTS && is_retryable(&e) => {
                tracing::debug!(error = %e, attempt, "write job lost a race; running it again");
                attempt += 1;
                // A short, growing pause lets the winner commit.
                std::thread::sleep(std::time::Duration::from_millis(
                    (attempt as u64 * 3).min(50),
                ));
            }
            Err(e) => return Err(e),
        }
    }
}

fn panic_text(panic: &Box<dyn Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

fn writer_loop(pool: &Pool, metrics: &Metrics, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(pool, metrics, batch);
    }
}

/// Runs one batch in one transaction and answers every job.
fn run_batch(pool: &Pool, metrics: &Metrics, batch: Vec<Job>) {
    let started = Instant::now();
    let size = batch.len();
    let mut done: Vec<Completion> = Vec::with_capacity(size);
    let mut pending = batch.into_iter();
    let result = pool.write(|tx| -> anyhow::Result<()> {
        let sql: &dyn Sql = tx;
        for job in pending.by_ref() {
            metrics.writer_waited(started.saturating_duration_since(job.queued));
            // Statements of the seam are prepared once per connection: parsing these
            // showed up in the profile.
            sql.execute("SAVEPOINT job", &[])?;
            let (keep, complete) = (job.run)(Some(tx));
            done.push(complete);
            if !keep {
                sql.execute("ROLLBACK TO job", &[])?;
            }
            sql.execute("RELEASE job", &[])?;
        }
        Ok(())
    });
    match result {
        Ok(()) => {
            metrics.batch_committed(size);
            for complete in done {
                complete(Ok(()));
            }
        }
        Err(e) => {
            let msg = e.to_string();
            tracing::error!(error = %msg, jobs = size, "write batch failed; rolled back");
            for complete in done {
                complete(Err(&msg));
            }
            // Jobs the failure kept from running: answer them too, so no caller hangs.
            for job in pending {
                let (_, complete) = (job.run)(None);
                complete(Err(&msg));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(dir: &tempfile::TempDir) -> Arc<Pool> {
        let pool = Pool::open(&dir.path().join("w.db"), None, &[], 1).unwrap();
        pool.write(|tx| -> anyhow::Result<()> {
            tx.execute_batch("CREATE TABLE t (x INTEGER PRIMARY KEY)")?;
            Ok(())
        })
        .unwrap();
        Arc::new(pool)
    }

    fn count(pool: &Pool) -> i64 {
        pool.read(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)))
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_jobs_share_batches_and_a_failing_one_rolls_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(&dir);
        let metrics = Arc::new(Metrics::default());
        let writer = Writer::start(pool.clone(), metrics.clone()).unwrap();
        let mut tasks = Vec::new();
        for i in 0..64i64 {
            let w = writer.clone();
            tasks.push(tokio::spawn(async move {
                w.run(move |tx| {
                    if i == 0 {
                        // Holds the writer so that the other jobs queue up behind it.
                        std::thread::sleep(std::time::Duration::from_millis(300));
                    }
                    tx.execute("INSERT INTO t (x) VALUES (?1)", &[&i])?;
                    if i == 17 {
                        anyhow::bail!("job 17 refuses after writing");
                    }
                    if i == 23 {
                        panic!("job 23 panics after writing");
                    }
                    Ok(i)
                })
                .await
            }));
        }
        let mut failed = Vec::new();
        for (i, t) in tasks.into_iter().enumerate() {
            match t.await.unwrap() {
                Ok(v) => assert_eq!(v, i as i64),
                Err(_) => failed.push(i),
            }
        }
        assert_eq!(failed, [17, 23]);
        assert_eq!(count(&pool), 62, "every other job's write is committed");
        let gone: i64 = pool
            .read(|c| {
                c.query_row("SELECT count(*) FROM t WHERE x IN (17, 23)", [], |r| {
                    r.get(0)
                })
            })
            .unwrap();
        assert_eq!(gone, 0, "the failing jobs' writes are rolled back");
        let text = metrics.render();
        let batches: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("ferry_writer_batch_size_count "))
            .unwrap()
            .parse()
            .unwrap();
        assert!(batches <= 4.0, "jobs were batched ({batches} batches)");
    }

    #[tokio::test]
    async fn an_answer_comes_only_after_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(&dir);
        let writer = Writer::start(pool.clone(), Arc::new(Metrics::default())).unwrap();
        writer
            .run(|tx| Ok(tx.execute("INSERT INTO t (x) VALUES (1)", &[])?))
            .await
            .unwrap();
        // A reader (another connection) sees the write as soon as the job is answered.
        assert_eq!(count(&pool), 1);
    }
}
