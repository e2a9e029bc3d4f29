//! The storage seam (`ferry_server::db`) behaves the same on SQLite and on PostgreSQL: the
//! same portable SQL, the same values back, the same errors classified the same way.

use std::sync::Arc;

use ferry_server::db::postgres::PgStore;
use ferry_server::db::{DbError, Dialect, Store, Value};
use ferry_tests::pg::TestDatabase;
use sync_core::store::Pool;
use uuid::Uuid;

const SCHEMA_SQLITE: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, \
     flag INTEGER NOT NULL DEFAULT 0, doc BLOB, meta TEXT NOT NULL DEFAULT '{}', score REAL, \
     rec TEXT) STRICT";
const SCHEMA_PG: &str = "CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE, \
     flag BOOLEAN NOT NULL DEFAULT FALSE, doc BYTEA, meta JSONB NOT NULL DEFAULT '{}', \
     score DOUBLE PRECISION, rec TEXT)";

fn sqlite_store(dir: &tempfile::TempDir) -> Store {
    let pool = Pool::open(&dir.path().join("seam.db"), None, &[], 2).expect("open sqlite");
    let store = Store::Sqlite(Arc::new(pool));
    store
        .write(|tx| tx.batch(SCHEMA_SQLITE))
        .expect("create table");
    store
}

fn pg_store(db: &TestDatabase) -> Store {
    let store = Store::Postgres(PgStore::connect(db.url(), 4).expect("connect"));
    store.write(|tx| tx.batch(SCHEMA_PG)).expect("create table");
    store
}

/// The same code, run on each engine.
fn same_behaviour(store: &Store) {
    let rec = Uuid::new_v4();
    store
        .write(|tx| -> Result<(), DbError> {
            tx.execute(
                "INSERT INTO t (id, name, flag, doc, meta, score, rec) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                &[&1i64, &"Nguyễn Văn An", &true, &vec![0u8, 255, 7], &r#"{"a":1}"#, &1.5f64, &rec],
            )?;
            tx.execute(
                "INSERT INTO t (id, name) VALUES (?, ?)",
                &[&2i64, &"Trần Thị Bích ?"],
            )?;
            Ok(())
        })
        .expect("insert");

    let row = store
        .read(|tx| {
            tx.query_one(
                "SELECT name, flag, doc, meta, score, rec FROM t WHERE id = ?1",
                &[&1i64],
            )
        })
        .expect("read back");
    assert_eq!(row.get::<String>(0).unwrap(), "Nguyễn Văn An");
    assert!(row.get::<bool>(1).unwrap());
    assert_eq!(row.get::<Vec<u8>>(2).unwrap(), vec![0u8, 255, 7]);
    let meta: serde_json::Value = serde_json::from_str(&row.get::<String>(3).unwrap()).unwrap();
    assert_eq!(meta, serde_json::json!({"a": 1}));
    assert_eq!(row.get::<f64>(4).unwrap(), 1.5);
    assert_eq!(row.get::<Uuid>(5).unwrap(), rec);

    // NULLs and defaults come back as NULL / the default on both engines.
    let row = store
        .read(|tx| tx.query_one("SELECT doc, flag, score FROM t WHERE id = ?1", &[&2i64]))
        .unwrap();
    assert_eq!(row.get::<Option<Vec<u8>>>(0).unwrap(), None);
    assert!(!row.get::<bool>(1).unwrap());
    assert_eq!(row.0[2], Value::Null);

    // A `?` inside a literal is not a placeholder; counts are integers.
    let n: i64 = store
        .read(|tx| {
            tx.query_value(
                "SELECT COUNT(*) FROM t WHERE name LIKE '%?' AND id > ?1",
                &[&0i64],
            )
        })
        .unwrap();
    assert_eq!(n, 1);
    let sum: i64 = store
        .read(|tx| tx.query_value("SELECT CAST(SUM(id) AS BIGINT) FROM t", &[]))
        .unwrap();
    assert_eq!(sum, 3);

    // A unique violation is recognised as such, and the failed transaction leaves nothing.
    let err = store
        .write(|tx| -> Result<(), DbError> {
            tx.execute(
                "INSERT INTO t (id, name) VALUES (?1, ?2)",
                &[&3i64, &"kept?"],
            )?;
            tx.execute(
                "INSERT INTO t (id, name) VALUES (?1, ?2)",
                &[&4i64, &"Nguyễn Văn An"],
            )?;
            Ok(())
        })
        .unwrap_err();
    assert!(err.is_unique_violation(), "{err}");
    let n: i64 = store
        .read(|tx| tx.query_value("SELECT COUNT(*) FROM t", &[]))
        .unwrap();
    assert_eq!(n, 2, "the failed transaction was rolled back whole");

    // A savepoint rolls back alone; the transaction around it commits.
    store
        .write(|tx| -> Result<(), DbError> {
            let inner = tx.savepoint("job", || -> Result<(), DbError> {
                tx.execute(
                    "INSERT INTO t (id, name) VALUES (?1, ?2)",
                    &[&5i64, &"lost"],
                )?;
                tx.execute(
                    "INSERT INTO t (id, name) VALUES (?1, ?2)",
                    &[&6i64, &"lost"],
                )?;
                Ok(())
            });
            assert!(inner.unwrap_err().is_unique_violation());
            tx.execute(
                "INSERT INTO t (id, name) VALUES (?1, ?2)",
                &[&7i64, &"kept"],
            )?;
            Ok(())
        })
        .unwrap();
    let names: Vec<String> = store
        .read(|tx| tx.query("SELECT name FROM t ORDER BY id", &[]))
        .unwrap()
        .iter()
        .map(|r| r.get(0).unwrap())
        .collect();
    assert_eq!(names, ["Nguyễn Văn An", "Trần Thị Bích ?", "kept"]);

    // Upserts in the portable form; RETURNING gives the row back.
    let flag: bool = store
        .write(|tx| {
            tx.query_value(
                "INSERT INTO t (id, name) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET flag = ?3 \
                 RETURNING flag",
                &[&7i64, &"kept", &1i64],
            )
        })
        .unwrap();
    assert!(flag);

    // A value that does not fit is a conversion error, not a wrong number.
    let small: u8 = store
        .read(|tx| tx.query_value("SELECT id FROM t WHERE id = ?1", &[&7i64]))
        .unwrap();
    assert_eq!(small, 7);
    let err = store
        .read(|tx| tx.query_value::<u8>("SELECT CAST(?1 AS BIGINT)", &[&300i64]))
        .unwrap_err();
    assert!(matches!(err, DbError::Conversion(_)), "{err}");
    let err = store
        .read(|tx| tx.execute("INSERT INTO nowhere VALUES (?1)", &[&u64::MAX]))
        .unwrap_err();
    assert!(matches!(err, DbError::Conversion(_)), "{err}");
}

#[test]
fn the_seam_behaves_the_same_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir);
    assert_eq!(store.dialect(), Dialect::Sqlite);
    same_behaviour(&store);
}

#[test]
fn the_seam_behaves_the_same_on_postgres() {
    let db = TestDatabase::start();
    let store = pg_store(&db);
    assert_eq!(store.dialect(), Dialect::Postgres);
    same_behaviour(&store);
}

#[test]
fn a_postgres_read_sees_one_snapshot_for_all_its_statements() {
    let db = TestDatabase::start();
    let store = pg_store(&db);
    let writer = store.clone();
    let (before, after) = store
        .read(|tx| -> Result<(i64, i64), DbError> {
            let before = tx.query_value("SELECT COUNT(*) FROM t", &[])?;
            // Committed by another connection while the read is open.
            writer
                .write(|w| w.execute("INSERT INTO t (id, name) VALUES (?1, ?2)", &[&1i64, &"x"]))?;
            let after = tx.query_value("SELECT COUNT(*) FROM t", &[])?;
            Ok((before, after))
        })
        .unwrap();
    assert_eq!((before, after), (0, 0));
    let now: i64 = store
        .read(|tx| tx.query_value("SELECT COUNT(*) FROM t", &[]))
        .unwrap();
    assert_eq!(now, 1);
}

#[test]
fn a_wrong_postgres_url_is_refused_without_echoing_it() {
    let err = PgStore::connect("mysql://secret@host/db", 1).unwrap_err();
    assert!(!err.to_string().contains("secret"), "{err}");
    let err = PgStore::connect("postgres://ferry:secret@127.0.0.1:1/none", 1).unwrap_err();
    assert!(!err.to_string().contains("secret"), "{err}");
}

#[test]
fn the_postgres_engine_works_from_inside_an_async_runtime() {
    let db = TestDatabase::start();
    let store = pg_store(&db);
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    server.block_on(async move {
        // From an async worker (discouraged, but it must not panic) and from the blocking pool.
        let n: i64 = store
            .read(|tx| tx.query_value("SELECT COUNT(*) FROM t", &[]))
            .unwrap();
        assert_eq!(n, 0);
        let s = store.clone();
        let n = tokio::task::spawn_blocking(move || {
            s.write(|tx| tx.execute("INSERT INTO t (id, name) VALUES (?1, ?2)", &[&1i64, &"a"]))
        })
        .await
        .unwrap()
        .unwrap();
        assert_eq!(n, 1);
        // The last handle is dropped here, on an async worker: that must not panic either.
        drop(store);
    });
}
