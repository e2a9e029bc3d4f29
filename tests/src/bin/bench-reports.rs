//! `bench-reports`: how long every leadership report takes over a province-size index.
//!
//! ```text
//! cargo run -p ferry-tests --bin bench-reports -- [--records 1000000] [--seed 1] [--smoke]
//! ```
//!
//! Loading a million records through the sync path would take far longer than the reports
//! themselves, so the program fills the report index and the tables the reports read
//! directly, in a fresh SQLite database of the server's schema (through the storage seam):
//! `report_dossiers` (N dossiers over every ward of the district, two years of filing days),
//! `report_findings` (0.3 N), `review_items` with their links (0.05 N), 2,000 accounts with
//! 5,000 devices (some with failures), `report_record_origin` (N), a year of
//! `report_activity` with its monthly rollup, and for the coverage report 0.5 N
//! `report_citizens` with the dossiers' citizen, registration and expiry columns. Then it times each report function — the same calls the console and
//! `/v1/reports/…` make — for the whole district and for one ward, over a month and a year,
//! three runs each, and prints the slowest run.

use std::time::{Duration, Instant};

use ferry_server::db::{DbError, Sql, Store, ToValue};
use ferry_server::reports::coverage::{DEFAULT_MONTHS, coverage};
use ferry_server::reports::devices::{self, HealthConfig};
use ferry_server::reports::officers::{LargePull, activity};
use ferry_server::reports::period::{Period, PeriodKind};
use ferry_server::reports::progress::progress;
use ferry_server::reports::quality::quality;
use ferry_server::reports::{TREND_PERIODS, report_units};
use ferry_tests::bench::{Args, dur, table, timed};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sync_core::model::{Date, Role};

const PROCEDURES: [(&str, &str); 6] = [
    ("cccd_application", "first_issue"),
    ("cccd_application", "replacement"),
    ("cccd_application", "reissue"),
    ("residence_declaration", "permanent_registration"),
    ("residence_declaration", "temporary_registration"),
    ("residence_declaration", "temporary_absence"),
];
const OUTCOMES: [&str; 4] = ["in_progress", "granted", "refused", "withdrawn"];
const CODES: [&str; 8] = [
    "id_number_sex_mismatch",
    "id_number_year_mismatch",
    "old_unit_code",
    "date_in_future",
    "refusal_reason_missing",
    "representative_missing",
    "decided_after_due",
    "household_head_count",
];
const ROWS_PER_INSERT: usize = 200;

/// Inserts `rows` (each `cols` values) into `head` (`INSERT INTO t (…) VALUES`) in
/// multi-row statements.
fn insert_rows(
    tx: &dyn Sql,
    head: &str,
    cols: usize,
    rows: &[Vec<Box<dyn ToValue>>],
) -> Result<(), DbError> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|r| {
                let ps: Vec<String> = (0..cols)
                    .map(|c| format!("?{}", r * cols + c + 1))
                    .collect();
                format!("({})", ps.join(", "))
            })
            .collect();
        let params: Vec<&dyn ToValue> = chunk
            .iter()
            .flat_map(|r| r.iter().map(|b| b.as_ref()))
            .collect();
        tx.execute(&format!("{head} {}", values.join(", ")), &params)?;
    }
    Ok(())
}

fn b<T: ToValue + 'static>(v: T) -> Box<dyn ToValue> {
    Box::new(v)
}

/// Fills the dossier and finding index: `n` dossiers over `units`, filing days over the two
/// years before `today`.
fn fill_index(
    store: &Store,
    rng: &mut ChaCha8Rng,
    cov: &mut ChaCha8Rng,
    units: &[String],
    n: usize,
    today: Date,
) -> anyhow::Result<()> {
    let batch = 50_000;
    for start in (0..n).step_by(batch) {
        let mut dossiers = Vec::new();
        let mut findings = Vec::new();
        let mut origins = Vec::new();
        for i in start..(start + batch).min(n) {
            let unit = units[rng.gen_range(0..units.len())].clone();
            let (kind, procedure) = PROCEDURES[rng.gen_range(0..PROCEDURES.len())];
            let outcome = OUTCOMES[rng.gen_range(0..4usize)];
            let filed = today.add_days(-rng.gen_range(0..730i64)).unwrap_or(today);
            let due = filed.add_days(rng.gen_range(5..16i64)).unwrap_or(filed);
            let decided = (outcome != "in_progress")
                .then(|| filed.add_days(rng.gen_range(0..20i64)).unwrap_or(filed));
            let record = format!("{i:032x}");
            let filed_on = (rng.gen_range(0..10) > 0).then(|| filed.to_string());
            let c = coverage_columns(cov, n, kind, procedure, outcome, filed);
            dossiers.push(vec![
                b(record.clone()),
                b(kind.to_owned()),
                b(procedure.to_owned()),
                b(unit.clone()),
                b(c.status.to_owned()),
                b(outcome.to_owned()),
                b(filed.to_string()),
                b(filed_on),
                b(Some(due.to_string())),
                b(decided.map(|d| d.to_string())),
                b(decided.map(|d| filed.days_until(d))),
                b(0i64),
                b(0i64),
                b(c.citizen),
                b(c.registration),
                b(c.expires_on),
            ]);
            if rng.gen_range(0..10) < 3 {
                let code = CODES[rng.gen_range(0..CODES.len())];
                findings.push(vec![
                    b(record.clone()),
                    b(code.to_owned()),
                    b(kind.to_owned()),
                    b(unit.clone()),
                    b(filed.to_string()),
                ]);
            }
            let editor = format!("canbo{:04}", rng.gen_range(0..2_000));
            origins.push(vec![b(record), b(editor.clone()), b(editor)]);
        }
        store.write(|tx| -> Result<(), DbError> {
            insert_rows(
                tx,
                "INSERT INTO report_dossiers (record, kind, procedure, unit, status, outcome, period_on,
                     filed_on, due_on, decided_on, decision_days, first_seen_ms, updated_ms,
                     citizen, registration, expires_on) VALUES",
                16,
                &dossiers,
            )?;
            insert_rows(
                tx,
                "INSERT INTO report_findings (record, code, kind, unit, first_seen_on) VALUES",
                5,
                &findings,
            )?;
            insert_rows(
                tx,
                "INSERT INTO report_record_origin (record, creator, last_editor) VALUES",
                3,
                &origins,
            )
        })?;
    }
    Ok(())
}

/// What the coverage report reads of a dossier (schema version 9).
struct CoverageColumns {
    status: &'static str,
    citizen: Option<String>,
    registration: Option<String>,
    expires_on: Option<String>,
}

/// A dossier's coverage columns, drawn from `cov` (not the main generator, so the other
/// tables hold what the benchmark of schema version 10 filled): an application is for one of
/// the `n / 2` citizens and a granted one is `card_issued` (one in five) or `returned`; a
/// temporary registration ends 30 days to two years after filing; one declaration in ten
/// acts on an earlier dossier.
fn coverage_columns(
    cov: &mut ChaCha8Rng,
    n: usize,
    kind: &str,
    procedure: &str,
    outcome: &str,
    filed: Date,
) -> CoverageColumns {
    let application = kind == "cccd_application";
    let status = match outcome {
        "granted" if application && cov.gen_range(0..5) == 0 => "card_issued",
        "granted" if application => "returned",
        _ => "submitted",
    };
    let citizen = application.then(|| format!("c{:031x}", cov.gen_range(0..(n / 2).max(1))));
    let registration = (!application && cov.gen_range(0..10) == 0)
        .then(|| format!("{:032x}", cov.gen_range(0..n.max(1))));
    let expires_on = (procedure == "temporary_registration")
        .then(|| filed.add_days(cov.gen_range(30..730i64)))
        .flatten()
        .map(|d| d.to_string());
    CoverageColumns {
        status,
        citizen,
        registration,
        expires_on,
    }
}

/// `n` citizens over `units` for the coverage report: 95% active, ages up to 90, nine in ten
/// with a personal ID number, seven in ten with a card recorded (six with its end), nine in
/// ten told their number, six in ten with a VNeID account.
fn fill_citizens(
    store: &Store,
    cov: &mut ChaCha8Rng,
    units: &[String],
    n: usize,
    today: Date,
) -> anyhow::Result<()> {
    let batch = 50_000;
    for start in (0..n).step_by(batch) {
        let mut rows = Vec::new();
        for i in start..(start + batch).min(n) {
            let born = today
                .add_days(-cov.gen_range(0..32_850i64))
                .unwrap_or(today);
            let card = cov.gen_range(0..10);
            let issued = today.add_days(-cov.gen_range(0..3_650i64));
            let expires = issued.and_then(|d| d.add_years(10)).filter(|_| card < 6);
            let age = [Some(14i64), Some(25), Some(40), Some(60), None][cov.gen_range(0..5)];
            rows.push(vec![
                b(format!("c{i:031x}")),
                b(units[cov.gen_range(0..units.len())].clone()),
                b(if cov.gen_range(0..100) < 95 {
                    "active"
                } else {
                    "deceased"
                }
                .to_owned()),
                b(born.add_years(14).map(|d| d.to_string())),
                b(i64::from(cov.gen_range(0..10) < 9)),
                b(issued.filter(|_| card < 7).map(|d| d.to_string())),
                b(expires.map(|d| d.to_string())),
                b(age.filter(|_| expires.is_some())),
                b(0i64),
                b(i64::from(cov.gen_range(0..10) < 9)),
                b(i64::from(cov.gen_range(0..10) < 6)),
            ]);
        }
        store.write(|tx| {
            insert_rows(
                tx,
                "INSERT INTO report_citizens (record, unit, status, turns_14_on, has_id_number,
                     card_issued_on, card_expires_on, card_due_age, updated_ms, id_notified,
                     vneid_active) VALUES",
                11,
                &rows,
            )
        })?;
    }
    Ok(())
}

/// Open review items with their links: `n` items over the last 90 days.
fn fill_review(
    store: &Store,
    rng: &mut ChaCha8Rng,
    units: &[String],
    records: usize,
    n: usize,
    now: i64,
) -> anyhow::Result<()> {
    let types = [
        "duplicate_id_number",
        "duplicate_name_dob",
        "field_conflict",
        "rule_finding",
    ];
    let mut items = Vec::new();
    let mut links = Vec::new();
    for i in 0..n {
        let t = types[rng.gen_range(0..types.len())];
        let record = format!("{:032x}", rng.gen_range(0..records.max(1)));
        let key = if t == "rule_finding" && i % 2 == 0 {
            format!("rule:{record}:deceased_still_registered:status-{i}")
        } else {
            format!("{t}:{i}")
        };
        let created = now - rng.gen_range(0..90 * 86_400_000i64);
        let unit = units[rng.gen_range(0..units.len())].clone();
        items.push(vec![
            b(i as i64 + 1),
            b(t.to_owned()),
            b(key.clone()),
            b(key),
            b("citizen".to_owned()),
            b(unit),
            b(created),
            b(created),
        ]);
        links.push(vec![b(record), b(i as i64 + 1)]);
    }
    store.write(|tx| -> Result<(), DbError> {
        insert_rows(
            tx,
            "INSERT INTO review_items (id, type, key, signature, kind, unit, created_ms, updated_ms) VALUES",
            8,
            &items,
        )?;
        insert_rows(tx, "INSERT INTO review_links (record, item) VALUES", 2, &links)
    })?;
    Ok(())
}

/// 2,000 accounts (one or two wards each), 5,000 devices, and a year of daily activity.
fn fill_people(
    store: &Store,
    rng: &mut ChaCha8Rng,
    units: &[String],
    now: i64,
    today: Date,
) -> anyhow::Result<()> {
    let mut users = Vec::new();
    let mut devs = Vec::new();
    let mut health = Vec::new();
    let mut act = Vec::new();
    for u in 0..2_000usize {
        let name = format!("canbo{u:04}");
        let unit = units[u % units.len()].clone();
        users.push(vec![
            b(u as i64 + 10),
            b(name.clone()),
            b("x".to_owned()),
            b("officer".to_owned()),
            b(serde_json::json!([unit]).to_string()),
            b(now),
        ]);
        for d in 0..(2 + u % 2) {
            let id = format!("00000000-0000-7000-8000-{:06x}{:06x}", u, d);
            let seen = now - rng.gen_range(0..20 * 86_400_000i64);
            let status = serde_json::json!({"outbox_len": rng.gen_range(0..5), "pushed": 0,
                "oldest_pending_ms": seen - 3_600_000, "app_version": "1.4.2", "rejected_held": 0});
            devs.push(vec![
                b(id.clone()),
                b(u as i64 + 10),
                b(format!("{u:06x}{d:06x}")),
                b(status.to_string()),
                b(seen - 86_400_000),
                b(seen),
            ]);
            if rng.gen_range(0..25) == 0 {
                health.push(vec![
                    b(id),
                    b(rng.gen_range(1..6i64)),
                    b(seen),
                    b(seen),
                    b(400i64),
                ]);
            }
        }
        for day in 0..365 {
            let day = today.add_days(-day).unwrap_or(today).to_string();
            for metric in ["edited", "pulled", "read"] {
                act.push(vec![
                    b(day.clone()),
                    b(name.clone()),
                    b(metric.to_owned()),
                    b(rng.gen_range(0..50i64)),
                ]);
            }
        }
    }
    store.write(|tx| -> Result<(), DbError> {
        insert_rows(tx, "INSERT INTO users (id, username, password_hash, role, units, created_ms) VALUES", 6, &users)?;
        insert_rows(tx, "INSERT INTO devices (id, user_id, actor, status, created_ms, last_seen_ms) VALUES", 6, &devs)?;
        insert_rows(tx, "INSERT INTO device_health (device_id, failures, first_failure_ms, last_failure_ms, last_failure_status) VALUES", 5, &health)?;
        insert_rows(tx, "INSERT INTO report_activity (day, \"user\", metric, n) VALUES", 4, &act)?;
        // The monthly rollup as the server keeps it (and migration 0011 backfills it).
        tx.batch(
            "INSERT INTO report_activity_month (month, \"user\", metric, n, max_day)
             SELECT substr(day, 1, 7), \"user\", metric, SUM(n), MAX(n) FROM report_activity
              GROUP BY substr(day, 1, 7), \"user\", metric",
        )
    })?;
    Ok(())
}

/// The slowest of three runs of `f`.
fn slowest(mut f: impl FnMut() -> anyhow::Result<usize>) -> anyhow::Result<(Duration, usize)> {
    let mut worst = Duration::ZERO;
    let mut rows = 0;
    for _ in 0..3 {
        let t = Instant::now();
        rows = f()?;
        worst = worst.max(t.elapsed());
    }
    Ok((worst, rows))
}

/// One report query to time: returns how many rows it produced.
type Query<'a> = Box<dyn Fn() -> anyhow::Result<usize> + 'a>;

fn main() -> anyhow::Result<()> {
    let args = Args::from_env();
    let smoke = args.flag("--smoke");
    let n = args.number("--records", if smoke { 20_000 } else { 1_000_000 })? as usize;
    let seed = args.number("--seed", 1)?;
    let dir = tempfile::tempdir()?;
    let pool = sync_core::store::Pool::open(
        &dir.path().join("ferry.db"),
        None,
        ferry_server::schema::SERVER_MIGRATIONS,
        2,
    )?;
    let store = Store::Sqlite(std::sync::Arc::new(pool));
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let now = ferry_tests::now_ms();
    let today = sync_core::time::local_day(now).ok_or_else(|| anyhow::anyhow!("clock"))?;
    let all = report_units(Role::Admin, &[]);
    let wards: Vec<String> = all.iter().filter(|u| u.len() == 5).cloned().collect();
    println!(
        "## bench-reports: {n} dossiers over {} wards (seed {seed}), SQLite",
        wards.len()
    );
    let mut cov = ChaCha8Rng::seed_from_u64(seed.wrapping_add(1));
    let (filled, t_fill) = timed(|| -> anyhow::Result<()> {
        fill_index(&store, &mut rng, &mut cov, &wards, n, today)?;
        fill_citizens(&store, &mut cov, &wards, n / 2, today)
    });
    filled?;
    fill_review(&store, &mut rng, &wards, n, n / 20, now)?;
    fill_people(&store, &mut rng, &wards, now, today)?;
    store.read(|c| {
        c.query_value::<i64>("SELECT COUNT(*) FROM report_dossiers", &[])
            .map(drop)
    })?;
    store.write(|tx| tx.batch("ANALYZE"))?;
    println!(
        "\nindex filled in {} (direct inserts, not the sync path)",
        dur(t_fill)
    );

    let month = Period::containing(PeriodKind::Month, today, None)
        .ok_or_else(|| anyhow::anyhow!("period"))?;
    let year = Period::containing(PeriodKind::Year, today, None)
        .ok_or_else(|| anyhow::anyhow!("period"))?;
    let one = vec![wards[0].clone()];
    let t = HealthConfig::default();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (scope, units) in [("district", &wards), ("one ward", &one)] {
        for (label, period) in [("month", month), ("year", year)] {
            let mut cases: Vec<(&str, Query<'_>)> = vec![
                (
                    "progress",
                    Box::new(|| {
                        Ok(store
                            .read(|c| progress(c, units, period, today, TREND_PERIODS))?
                            .rows
                            .len())
                    }),
                ),
                (
                    "quality",
                    Box::new(|| {
                        Ok(store
                            .read(|c| quality(c, units, period, TREND_PERIODS, now))?
                            .findings
                            .len())
                    }),
                ),
                (
                    "officers / data use",
                    Box::new(|| {
                        Ok(store
                            .read(|c| activity(c, units, false, period, LargePull::default()))?
                            .len())
                    }),
                ),
                (
                    "devices",
                    Box::new(|| {
                        Ok(devices::in_units(
                            store.read(|c| devices::load(c, &t, now))?,
                            units,
                            false,
                        )
                        .len())
                    }),
                ),
            ];
            if label == "year" {
                // Coverage is as of today, whatever the period: timed once per scope.
                cases.push((
                    "coverage (today, 6 months)",
                    Box::new(|| {
                        Ok(store
                            .read(|c| coverage(c, units, today, DEFAULT_MONTHS))?
                            .rows
                            .len())
                    }),
                ));
            }
            for (name, f) in cases {
                let (worst, out) = slowest(f)?;
                rows.push(vec![
                    name.to_owned(),
                    scope.to_owned(),
                    label.to_owned(),
                    out.to_string(),
                    dur(worst),
                ]);
            }
        }
    }
    table(
        "report answers (slowest of 3 runs)",
        &["report", "units", "period", "rows out", "time"],
        &rows,
    );
    Ok(())
}
