//! `ferry migrate` on PostgreSQL (a throwaway cluster or `FERRY_TEST_DATABASE_URL`, see
//! `ferry_tests::pg`) and on SQLite, the PostgreSQL schema compared with its frozen
//! description, and `ferry serve --database` without the deployment's audit key refused
//! (never falling back to SQLite).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ferry_server::pg_schema::PG_MIGRATIONS;
use ferry_tests::pg::TestDatabase;

use crate::bin;

fn latest() -> i64 {
    PG_MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Runs the real `ferry` with `args` and no `FERRY_*` variables from the outside.
fn ferry(args: &[&str]) -> Output {
    let mut cmd = Command::new(bin());
    for (k, _) in std::env::vars() {
        if k.starts_with("FERRY_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(args).output().expect("run ferry")
}

fn stdout_of(out: &Output) -> String {
    assert!(
        out.status.success(),
        "ferry failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn applied_versions(db: &TestDatabase) -> Vec<String> {
    db.query("SELECT version::text FROM schema_migrations ORDER BY schema_migrations.version")
        .unwrap()
        .into_iter()
        .map(|row| row[0].clone().unwrap())
        .collect()
}

/// `server/migrations/postgres/frozen/<name>`.
fn frozen_path(name: &str) -> PathBuf {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = tests.parent().unwrap_or(tests);
    root.join("server/migrations/postgres/frozen").join(name)
}

/// A database `ferry migrate --database` brought to the latest version.
fn migrated() -> TestDatabase {
    let db = TestDatabase::start();
    stdout_of(&ferry(&["migrate", "--database", db.url()]));
    db
}

/// Writes what a freshly migrated database looks like next to the build and panics with
/// the commands that freeze it.
fn freeze_hint(db: &TestDatabase, problem: &str) -> ! {
    let v = latest();
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let (txt, sql) = (
        tmp.join(format!("postgres-schema-v{v}.txt")),
        tmp.join(format!("postgres-schema-v{v}.sql")),
    );
    std::fs::write(&txt, db.describe_schema().unwrap().join("\n") + "\n").unwrap();
    std::fs::write(&sql, db.dump_schema().unwrap()).unwrap();
    panic!(
        "{problem}\nA released migration must not change; add a new one. If version {v} is new \
         and final, review and freeze it:\n  cp {} server/migrations/postgres/frozen/v{v}.txt\n  \
         cp {} server/migrations/postgres/frozen/v{v}.sql",
        txt.display(),
        sql.display()
    );
}

#[test]
fn ferry_migrate_brings_an_empty_postgres_database_to_the_latest_version_once() {
    let db = TestDatabase::start();
    let first = stdout_of(&ferry(&["migrate", "--database", db.url()]));
    assert!(
        first.contains(&format!(
            "PostgreSQL database: schema version 0 -> {}",
            latest()
        )),
        "{first}"
    );
    let all: Vec<String> = (1..=latest()).map(|v| v.to_string()).collect();
    assert_eq!(applied_versions(&db), all);

    let again = stdout_of(&ferry(&["migrate", "--database", db.url()]));
    assert!(
        again.contains(&format!("schema version {}, up to date", latest())),
        "{again}"
    );
    assert_eq!(applied_versions(&db), all, "a second run applies nothing");
}

#[test]
fn three_ferry_migrate_runs_at_once_on_postgres_apply_each_version_exactly_once() {
    let db = TestDatabase::start();
    let children: Vec<_> = (0..3)
        .map(|_| {
            let mut cmd = Command::new(bin());
            cmd.args(["migrate", "--database", db.url()]);
            cmd.spawn().expect("spawn ferry")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("ferry");
        assert!(out.status.success(), "a concurrent migrate failed");
    }
    let all: Vec<String> = (1..=latest()).map(|v| v.to_string()).collect();
    assert_eq!(applied_versions(&db), all);
    let tables = db
        .query("SELECT count(*)::text FROM pg_tables WHERE tablename = 'unit_seq'")
        .unwrap();
    assert_eq!(tables[0][0].as_deref(), Some("1"));
}

#[test]
fn ferry_migrate_on_a_postgres_database_from_newer_code_refuses_it_untouched() {
    let db = TestDatabase::start();
    db.execute(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL);
         INSERT INTO schema_migrations VALUES (99, 0);",
    )
    .unwrap();
    let out = ferry(&["migrate", "--database", db.url()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("version 99, newer than this ferry knows"),
        "{err}"
    );
    let tables = db
        .query("SELECT count(*)::text FROM pg_tables WHERE schemaname = current_schema()")
        .unwrap();
    assert_eq!(tables[0][0].as_deref(), Some("1"), "nothing was created");
}

#[test]
fn the_postgres_schema_ferry_migrate_builds_equals_its_frozen_description() {
    let db = TestDatabase::start();
    let out = Command::new(bin())
        .args(["migrate"])
        .env("FERRY_DATABASE_URL", db.url())
        .output()
        .expect("run ferry");
    stdout_of(&out);
    let actual = db.describe_schema().unwrap().join("\n") + "\n";
    let path = frozen_path(&format!("v{}.txt", latest()));
    let frozen = std::fs::read_to_string(&path).unwrap_or_default();
    if frozen != actual {
        freeze_hint(
            &db,
            &format!(
                "the PostgreSQL schema at version {} differs from its frozen description {}",
                latest(),
                path.display()
            ),
        );
    }
}

#[test]
fn a_postgres_database_at_any_frozen_version_upgrades_to_equal_a_fresh_one() {
    let fresh = migrated();
    let expected = fresh.describe_schema().unwrap();
    let mut versions: Vec<i64> = std::fs::read_dir(frozen_path(""))
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_prefix('v')?.strip_suffix(".sql")?.parse().ok()
        })
        .collect();
    versions.sort();
    if versions.last() != Some(&latest()) {
        freeze_hint(
            &fresh,
            &format!("PostgreSQL schema version {} has no frozen SQL", latest()),
        );
    }
    for v in versions {
        let sql = std::fs::read_to_string(frozen_path(&format!("v{v}.sql"))).unwrap();
        let old = TestDatabase::start();
        old.load_dump(&sql).unwrap();
        old.execute(&format!(
            "INSERT INTO schema_migrations SELECT n, 0 FROM generate_series(1, {v}) AS n"
        ))
        .unwrap();
        let out = stdout_of(&ferry(&["migrate", "--database", old.url()]));
        assert!(out.contains(&format!("schema version {v}")), "{out}");
        assert_eq!(
            old.describe_schema().unwrap(),
            expected,
            "a PostgreSQL database at frozen version {v} upgraded differs from a fresh one"
        );
    }
}

/// Takes `n` sequence numbers of `unit` the way a push transaction does; the first of them.
async fn take_seq(client: &tokio_postgres::Client, unit: &str, n: i64) -> i64 {
    client
        .execute(
            "INSERT INTO unit_seq (unit) VALUES ($1) ON CONFLICT (unit) DO NOTHING",
            &[&unit],
        )
        .await
        .unwrap();
    client
        .query_one(
            "UPDATE unit_seq SET next = next + $2 WHERE unit = $1 RETURNING next - $2",
            &[&unit, &n],
        )
        .await
        .unwrap()
        .get(0)
}

/// The mechanism `0001_accounts_records_changes.sql` describes for a gap-free change feed,
/// checked on a real PostgreSQL: a second push to a unit gets its numbers only after the
/// first push committed, and a push to another unit does not wait.
#[test]
fn a_units_sequence_numbers_are_taken_in_commit_order_and_other_units_do_not_wait() {
    use std::time::Duration;
    let db = TestDatabase::start();
    stdout_of(&ferry(&["migrate", "--database", db.url()]));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let first = db.client().await.unwrap();
        let second = db.client().await.unwrap();
        let other = db.client().await.unwrap();
        first.batch_execute("BEGIN").await.unwrap();
        assert_eq!(take_seq(&first, "07132", 2).await, 1);

        other.batch_execute("BEGIN").await.unwrap();
        let other_unit = tokio::time::timeout(Duration::from_secs(5), take_seq(&other, "07135", 1));
        assert_eq!(other_unit.await.expect("another unit does not wait"), 1);
        other.batch_execute("COMMIT").await.unwrap();

        second.batch_execute("BEGIN").await.unwrap();
        let waiting = tokio::spawn(async move {
            let seq = take_seq(&second, "07132", 1).await;
            (second, seq)
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !waiting.is_finished(),
            "the second push to 07132 waits for the first"
        );
        first
            .batch_execute(
                "INSERT INTO changes (seq, record, bytes, unit, received_ms)
                 VALUES (1, 'r1', '\\x00', '07132', 1), (2, 'r1', '\\x01', '07132', 1);
                 COMMIT;",
            )
            .await
            .unwrap();
        let (second, seq) = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the second push continues once the first committed")
            .unwrap();
        assert_eq!(seq, 3, "numbers after the committed ones");
        second.batch_execute("COMMIT").await.unwrap();
    });
}

#[test]
fn ferry_migrate_without_postgres_reports_the_sqlite_versions_of_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let sqlite_latest = ferry_server::schema::SERVER_MIGRATIONS
        .last()
        .map_or(0, |m| m.version);
    let first = stdout_of(&ferry(&["migrate", "--data-dir", data]));
    assert!(
        first.contains(&format!(
            "SQLite database: schema version 0 -> {sqlite_latest}"
        )),
        "{first}"
    );
    let again = stdout_of(&ferry(&["migrate", "--data-dir", data]));
    assert!(
        again.contains(&format!("schema version {sqlite_latest}, up to date")),
        "{again}"
    );
}

#[test]
fn ferry_with_a_postgres_url_but_no_audit_key_refuses_to_start_instead_of_using_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for args in [vec!["serve", "--bind", "127.0.0.1:0"], vec!["user", "list"]] {
        let mut cmd = Command::new(bin());
        let out = cmd
            .args(&args)
            .env("FERRY_DATA_DIR", &data)
            .env(
                "FERRY_DATABASE_URL",
                "postgres://ferry:secret-pw@127.0.0.1:1/ferry",
            )
            .output()
            .expect("run ferry");
        assert!(!out.status.success(), "{args:?} must fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("every node needs the same audit key"),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("secret-pw"),
            "the URL's password is not printed"
        );
    }
    assert!(!data.join("ferry.db").exists(), "no SQLite file was made");
}
