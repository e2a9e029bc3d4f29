//! Group commit: one thread owns the server's write path and commits concurrent exchanges'
//! writes together.
//!
//! A caller hands [`Writer::run`] a write job (a closure over the write transaction). The
//! writer thread takes every job queued at that moment (up to [`MAX_BATCH`]), opens one
//! immediate transaction, runs each job inside its own `SAVEPOINT` — a job that fails (or
//! panics) is rolled back to its savepoint alone and its caller gets the error — then commits
//! once and only then answers every waiter. With `synchronous = FULL` on the writer
//! connection, an answer means the job's writes are durable; one fsync covers the batch.
//!
//! While one batch runs, the next one queues up, so the batch size grows with the load on
//! its own; with one client a batch holds one job and costs what a plain transaction did.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Instant;

use anyhow::anyhow;
use rusqlite::Transaction;
use sync_core::store::Pool;
use tokio::sync::oneshot;

use crate::metrics::Metrics;

/// Most jobs committed in one transaction.
pub const MAX_BATCH: usize = 128;

/// What a job leaves to do once its batch is committed (or failed): answer its caller.
type Completion = Box<dyn FnOnce(Result<(), &str>) + Send>;

/// A job: runs in the batch transaction (`None`: the batch failed before the job's turn),
/// returns whether its writes are to be kept and how to answer its caller.
type JobFn = Box<dyn FnOnce(Option<&Transaction<'_>>) -> (bool, Completion) + Send>;

struct Job {
    queued: Instant,
    run: JobFn,
}

/// The handle to the writer thread. Cloning shares the thread; it stops when the last
/// handle is dropped.
#[derive(Debug, Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread over `pool`'s writer connection.
    pub fn start(pool: Arc<Pool>, metrics: Arc<Metrics>) -> std::io::Result<Writer> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("ferry-writer".into())
            .spawn(move || writer_loop(&pool, &metrics, &queue))?;
        Ok(Writer { jobs })
    }

    /// Runs `f` in the next batch; resolves once the batch is committed (durable) with `f`'s
    /// result, or with the error of `f` (its writes rolled back alone) or of the commit.
    pub async fn run<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> anyhow::Result<T> + Send + 'static,
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
        self.jobs
            .send(Job {
                queued: Instant::now(),
                run,
            })
            .map_err(|_| anyhow!("the writer has stopped"))?;
        rx.await
            .map_err(|_| anyhow!("the writer dropped a job unanswered"))?
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
        for job in pending.by_ref() {
            metrics.writer_waited(started.saturating_duration_since(job.queued));
            // Prepared once per connection: parsing these showed up in the profile.
            tx.prepare_cached("SAVEPOINT job")?.execute([])?;
            let (keep, complete) = (job.run)(Some(tx));
            done.push(complete);
            if !keep {
                tx.prepare_cached("ROLLBACK TO job")?.execute([])?;
            }
            tx.prepare_cached("RELEASE job")?.execute([])?;
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
                    tx.execute("INSERT INTO t (x) VALUES (?1)", [i])?;
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
            .run(|tx| Ok(tx.execute("INSERT INTO t (x) VALUES (1)", [])?))
            .await
            .unwrap();
        // A reader (another connection) sees the write as soon as the job is answered.
        assert_eq!(count(&pool), 1);
    }
}
