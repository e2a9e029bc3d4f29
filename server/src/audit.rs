//! The append-only, hash-chained audit trail, keyed with a secret the database does not hold.
//!
//! Each row carries the hash of the row before it: `hash = HMAC-SHA256(key, prev_hash ||
//! canonical)` (`keyed = 1`), where `canonical` is the JSON array `[id, ts_ms, user, device,
//! action, records, details]` with `records` and `details` as their stored JSON text, and the
//! key comes from outside the data directory ([`crate::audit_key`]). The first row's
//! `prev_hash` is 32 zero bytes. Rows written before the key existed (`keyed = 0`) were
//! chained with plain `SHA-256(prev_hash || canonical)`; they are verified as such, but only
//! as a prefix of the chain and only up to the count the first signed checkpoint recorded.
//!
//! Editing, inserting or deleting a row breaks the chain at that row (or the one after it);
//! without the key an edited chain cannot be recomputed; deleting the newest rows (or all)
//! leaves the chain shorter than the last signed checkpoint. [`verify`] reports each. Rows are
//! appended inside the caller's transaction, so an audited action and its audit row commit
//! together.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::audit_key::{AuditKey, Checkpoint};
use crate::db::{DbError, Dialect, Sql};

/// What to append.
#[derive(Debug, Clone, Default)]
pub struct Entry<'a> {
    /// The user who acted (`cli` for the command line, the attempted name for a failed login).
    pub user: &'a str,
    /// The device id the action came from, or empty.
    pub device: &'a str,
    /// What happened: `login`, `login_failed`, `logout`, `sync`, `record_read`,
    /// `record_export`, `review_list`, `review_read`, `user_add`, `user_passwd`,
    /// `user_assign`, `user_set` (display name), `user_disable`, `user_enable`,
    /// `device_revoke`, `device_wiped`,
    /// `report_view`, `report_export`, `record_redact` (field, reason, lineages, counts;
    /// never the value).
    pub action: &'a str,
    /// Record ids concerned.
    pub records: Vec<String>,
    /// Anything else, as a JSON object.
    pub details: serde_json::Value,
}

/// A stored audit row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// Position in the chain (1, 2, …).
    pub id: i64,
    /// When, ms since the Unix epoch.
    pub ts_ms: i64,
    /// Who.
    pub user: String,
    /// From which device.
    pub device: String,
    /// What.
    pub action: String,
    /// Record ids, as stored JSON text.
    pub records: String,
    /// Details, as stored JSON text.
    pub details: String,
    /// Hex of the previous row's hash.
    pub prev_hash: String,
    /// Hex of this row's hash.
    pub hash: String,
}

pub(crate) fn canonical(
    id: i64,
    ts_ms: i64,
    user: &str,
    device: &str,
    action: &str,
    records: &str,
    details: &str,
) -> String {
    serde_json::json!([id, ts_ms, user, device, action, records, details]).to_string()
}

/// [`canonical`] of a row selected as `id, ts_ms, "user", device, action, records, details, …`.
pub(crate) fn canonical_row(r: &crate::db::Row) -> Result<String, DbError> {
    Ok(canonical(
        r.get(0)?,
        r.get(1)?,
        &r.get::<String>(2)?,
        &r.get::<String>(3)?,
        &r.get::<String>(4)?,
        &r.get::<String>(5)?,
        &r.get::<String>(6)?,
    ))
}

/// The legacy (unkeyed) link of rows written before the audit key.
fn legacy_hash(prev: &[u8], canonical: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(canonical.as_bytes());
    h.finalize().to_vec()
}

/// Appends one row in the caller's transaction, keyed with the process's audit key
/// ([`crate::audit_key::install`]); returns its id.
pub fn append(tx: &dyn Sql, ts_ms: i64, e: &Entry<'_>) -> Result<i64, DbError> {
    let files = crate::audit_key::current();
    append_with(tx, files.as_deref().map(|f| &*f.key), ts_ms, e)
}

/// Appends one row keyed with `key` (`None` only in tests and before a key exists: a
/// legacy row).
///
/// On PostgreSQL several nodes append to the one chain: the append first locks the single
/// row of `audit_lock` (held until the transaction ends), so appends take turns and each
/// reads the tail its predecessor committed (the statement after the lock sees it: READ
/// COMMITTED takes a snapshot per statement). The chain is one chain in commit order. On
/// SQLite the one writer already serialises appends.
pub fn append_with(
    tx: &dyn Sql,
    key: Option<&AuditKey>,
    ts_ms: i64,
    e: &Entry<'_>,
) -> Result<i64, DbError> {
    if tx.dialect() == Dialect::Postgres {
        const LOCK: &str = "SELECT id FROM audit_lock WHERE id = 1 FOR UPDATE";
        if tx.query(LOCK, &[])?.is_empty() {
            // A database restored from a schema-only dump lacks the row: make it, once.
            tx.execute(
                "INSERT INTO audit_lock (id) VALUES (1) ON CONFLICT (id) DO NOTHING",
                &[],
            )?;
            tx.query(LOCK, &[])?;
        }
    }
    let last = tx.query_opt("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1", &[])?;
    let (id, prev) = match last {
        Some(mut r) => (r.get::<i64>(0)? + 1, r.take::<Vec<u8>>(1)?),
        None => (1, vec![0u8; 32]),
    };
    let records = serde_json::to_string(&e.records).unwrap_or_else(|_| "[]".into());
    let details = if e.details.is_null() {
        "{}".to_owned()
    } else {
        e.details.to_string()
    };
    let canon = canonical(id, ts_ms, e.user, e.device, e.action, &records, &details);
    let hash = match key {
        Some(k) => k.mac(&[&prev, canon.as_bytes()]),
        None => legacy_hash(&prev, &canon),
    };
    tx.execute(
        "INSERT INTO audit (id, ts_ms, \"user\", device, action, records, details, prev_hash,
                            hash, keyed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        &[
            &id,
            &ts_ms,
            &e.user,
            &e.device,
            &e.action,
            &records,
            &details,
            &prev,
            &hash,
            &key.is_some(),
        ],
    )?;
    // The officers and data-use reports' daily aggregates, kept in the same transaction.
    crate::reports::activity::count(tx, ts_ms, e)?;
    Ok(id)
}

/// A point of the chain: its length, last hash and how many leading rows are legacy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Rows (the last row's id).
    pub rows: i64,
    /// The last row's hash (32 zero bytes for the empty chain).
    pub hash: Vec<u8>,
    /// Leading rows written before the audit key.
    pub legacy: i64,
}

impl Head {
    /// The empty chain.
    pub fn genesis() -> Head {
        Head {
            rows: 0,
            hash: vec![0u8; 32],
            legacy: 0,
        }
    }
}

/// Where and why a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The first row that does not check.
    pub id: i64,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "row {}: {}", self.id, self.reason)
    }
}

/// Checks the rows after `from` (whose last row must still have `from.hash`): ids without
/// gaps, each row linked to the one before, keyed rows' MACs, legacy rows only as a prefix
/// of at most `legacy_limit` rows, and the hash at each checkpoint's row. Returns the head.
pub fn walk(
    conn: &dyn Sql,
    key: &AuditKey,
    from: &Head,
    legacy_limit: Option<i64>,
    checkpoints: &[Checkpoint],
) -> Result<Result<Head, Broken>, DbError> {
    let broken = |id: i64, reason: &str| {
        Ok(Err(Broken {
            id,
            reason: reason.to_owned(),
        }))
    };
    if from.rows > 0 {
        let at: Option<Vec<u8>> = conn
            .query_opt("SELECT hash FROM audit WHERE id = ?1", &[&from.rows])?
            .map(|r| r.get(0))
            .transpose()?;
        match at {
            None => {
                return broken(
                    from.rows,
                    "is missing: the chain was cut below a checkpoint",
                );
            }
            Some(h) if h != from.hash => {
                return broken(from.rows, "differs from the signed checkpoint");
            }
            Some(_) => {}
        }
    }
    let expected: BTreeMap<i64, &Checkpoint> = checkpoints.iter().map(|c| (c.rows, c)).collect();
    let mut head = from.clone();
    let mut keyed_seen = from.rows > from.legacy;
    // In pages, so that a long chain is never held in memory at once.
    let mut page: Vec<crate::db::Row> = Vec::new();
    loop {
        if page.is_empty() {
            page = conn.query(
                "SELECT id, ts_ms, \"user\", device, action, records, details, prev_hash, hash,
                        keyed
                 FROM audit WHERE id > ?1 ORDER BY id LIMIT ?2",
                &[&head.rows, &WALK_PAGE],
            )?;
            if page.is_empty() {
                break;
            }
            page.reverse();
        }
        let Some(mut r) = page.pop() else { break };
        let id: i64 = r.get(0)?;
        let prev_hash: Vec<u8> = r.take(7)?;
        let hash: Vec<u8> = r.take(8)?;
        let keyed: bool = r.get(9)?;
        if id != head.rows + 1 {
            return broken(id, &format!("row {} is missing", head.rows + 1));
        }
        if prev_hash != head.hash {
            return broken(id, "does not link to the row before");
        }
        let canon = canonical_row(&r)?;
        if keyed {
            if !key.verify(&[&head.hash, canon.as_bytes()], &hash) {
                return broken(
                    id,
                    "content does not match its keyed hash (edited, forged, or another audit key)",
                );
            }
            keyed_seen = true;
        } else {
            if keyed_seen || legacy_limit.is_some_and(|l| id > l) {
                return broken(id, "unkeyed row written after the audit key was introduced");
            }
            if legacy_hash(&head.hash, &canon) != hash {
                return broken(id, "content does not match its hash");
            }
            head.legacy += 1;
        }
        if let Some(cp) = expected.get(&id)
            && hex::encode(&hash) != cp.head
        {
            return broken(id, "differs from the signed checkpoint");
        }
        head.rows = id;
        head.hash = hash;
    }
    Ok(Ok(head))
}

/// Rows [`walk`] reads per query.
const WALK_PAGE: i64 = 10_000;

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every row checks and the chain is at least as long as every checkpoint.
    Intact {
        /// Rows checked.
        rows: u64,
        /// Of which written before the audit key (legacy chain).
        legacy: u64,
        /// The latest checkpoint's row count, if there is one.
        checkpoint_rows: Option<i64>,
    },
    /// The first row whose link, MAC or checkpoint does not match.
    Broken(Broken),
    /// The chain is shorter than a signed checkpoint recorded: newest rows were deleted.
    Truncated {
        /// Rows now.
        rows: u64,
        /// Rows the checkpoint recorded.
        checkpoint_rows: i64,
        /// When that checkpoint was written (ms).
        checkpoint_ms: i64,
    },
}

/// Walks the whole chain with `key` against the signed `checkpoints`: from the first row, or,
/// when the retention rule removed the oldest rows ([`crate::rights::retention`]), from the
/// first row kept, as the `audit_cut` row that recorded the removal names it ([`floor`]).
pub fn verify(
    conn: &dyn Sql,
    key: &AuditKey,
    checkpoints: &[Checkpoint],
) -> Result<Verdict, DbError> {
    let legacy_limit = checkpoints.iter().map(|c| c.legacy).min();
    let start = match floor(conn, key)? {
        Ok(start) => start,
        Err(b) => return Ok(Verdict::Broken(b)),
    };
    let head = match walk(conn, key, &start, legacy_limit, checkpoints)? {
        Ok(h) => h,
        Err(b) => return Ok(Verdict::Broken(b)),
    };
    let latest = crate::audit_key::latest(checkpoints);
    if let Some(cp) = latest
        && cp.rows > head.rows
    {
        return Ok(Verdict::Truncated {
            rows: head.rows as u64,
            checkpoint_rows: cp.rows,
            checkpoint_ms: cp.ts_ms,
        });
    }
    Ok(Verdict::Intact {
        rows: head.rows as u64,
        legacy: head.legacy as u64,
        checkpoint_rows: latest.map(|c| c.rows),
    })
}

/// The action of the row that records a removal of the oldest rows. Its details name the
/// first row kept: `{"first_kept": id, "first_hash": hex, "legacy": n, "removed": n,
/// "before_ms": ms}`.
pub const CUT_ACTION: &str = "audit_cut";

/// Where verification starts: the empty chain when row 1 is there; otherwise the first row
/// kept, which must be the one an `audit_cut` row names (that row is itself checked by the
/// walk that follows, so it cannot be forged without the key), with the hash it recorded and
/// its own MAC intact. Rows missing below without such a row are a broken chain.
pub fn floor(conn: &dyn Sql, key: &AuditKey) -> Result<Result<Head, Broken>, DbError> {
    let first = conn.query_opt(
        "SELECT id, ts_ms, \"user\", device, action, records, details, prev_hash, hash, keyed
         FROM audit ORDER BY id LIMIT 1",
        &[],
    )?;
    let Some(mut r) = first else {
        return Ok(Ok(Head::genesis()));
    };
    let id: i64 = r.get(0)?;
    if id == 1 {
        return Ok(Ok(Head::genesis()));
    }
    let broken = |reason: String| Ok(Err(Broken { id, reason }));
    let prev: Vec<u8> = r.take(7)?;
    let hash: Vec<u8> = r.take(8)?;
    let canon = canonical_row(&r)?;
    if !r.get::<bool>(9)? || !key.verify(&[&prev, canon.as_bytes()], &hash) {
        return broken("the first row kept does not match its keyed hash".into());
    }
    for cut in conn.query(
        "SELECT details FROM audit WHERE action = ?1 ORDER BY id",
        &[&CUT_ACTION],
    )? {
        let details: serde_json::Value =
            serde_json::from_str(&cut.get::<String>(0)?).unwrap_or_default();
        if details["first_kept"].as_i64() == Some(id)
            && details["first_hash"].as_str() == Some(hex::encode(&hash).as_str())
        {
            return Ok(Ok(Head {
                rows: id,
                hash,
                legacy: details["legacy"].as_i64().unwrap_or(0),
            }));
        }
    }
    broken(format!(
        "rows 1 to {} are missing and no {CUT_ACTION} row records their removal",
        id - 1
    ))
}

/// Filters for [`list`]; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only rows by this user.
    pub user: Option<String>,
    /// Only rows from this device.
    pub device: Option<String>,
    /// Only rows concerning this record id.
    pub record: Option<String>,
    /// Only rows at or after this time (ms).
    pub since_ms: Option<i64>,
    /// Only rows before this time (ms).
    pub until_ms: Option<i64>,
    /// Only this action.
    pub action: Option<String>,
    /// At most this many rows (newest last).
    pub limit: Option<u64>,
}

/// Rows matching `f`, oldest first.
pub fn list(conn: &dyn Sql, f: &Filter) -> Result<Vec<Row>, DbError> {
    // The one engine-specific clause: membership in the records' JSON array.
    let record = match conn.dialect() {
        Dialect::Sqlite => "EXISTS (SELECT 1 FROM json_each(audit.records) WHERE value = ?3)",
        Dialect::Postgres => {
            "EXISTS (SELECT 1 FROM jsonb_array_elements_text(audit.records::jsonb) AS r (value)
                     WHERE r.value = ?3)"
        }
    };
    let limit = f.limit.map_or(i64::MAX, |l| l.min(i64::MAX as u64) as i64);
    let rows = conn.query(
        &format!(
            "SELECT id, ts_ms, \"user\", device, action, records, details, prev_hash, hash
             FROM audit
             WHERE (CAST(?1 AS TEXT) IS NULL OR \"user\" = ?1)
               AND (CAST(?2 AS TEXT) IS NULL OR device = ?2)
               AND (CAST(?3 AS TEXT) IS NULL OR {record})
               AND (CAST(?4 AS BIGINT) IS NULL OR ts_ms >= ?4)
               AND (CAST(?5 AS BIGINT) IS NULL OR ts_ms < ?5)
               AND (CAST(?6 AS TEXT) IS NULL OR action = ?6)
             ORDER BY id DESC LIMIT ?7"
        ),
        &[
            &f.user,
            &f.device,
            &f.record,
            &f.since_ms,
            &f.until_ms,
            &f.action,
            &limit,
        ],
    )?;
    let mut out = rows
        .into_iter()
        .map(|r| {
            Ok(Row {
                id: r.get(0)?,
                ts_ms: r.get(1)?,
                user: r.get(2)?,
                device: r.get(3)?,
                action: r.get(4)?,
                records: r.get(5)?,
                details: r.get(6)?,
                prev_hash: hex::encode(r.get::<Vec<u8>>(7)?),
                hash: hex::encode(r.get::<Vec<u8>>(8)?),
            })
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    out.reverse();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;
    use sync_core::store::schema::migrate;

    fn db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, crate::schema::SERVER_MIGRATIONS).unwrap();
        conn
    }

    fn key() -> AuditKey {
        AuditKey::from_bytes([7u8; 32])
    }

    fn add_with(conn: &mut Connection, k: Option<&AuditKey>, n: usize) {
        let tx = conn.transaction().unwrap();
        for i in 0..n {
            append_with(
                &tx,
                k,
                1000 + i as i64,
                &Entry {
                    user: "alice",
                    device: "d1",
                    action: if i % 2 == 0 { "sync" } else { "record_read" },
                    records: vec![format!("r{i}")],
                    details: serde_json::json!({"pushed": i}),
                },
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }

    fn add(conn: &mut Connection, n: usize) {
        add_with(conn, Some(&key()), n);
    }

    fn head(conn: &Connection) -> Checkpoint {
        let h = walk(conn, &key(), &Head::genesis(), None, &[])
            .unwrap()
            .unwrap();
        Checkpoint::sign(&key(), &h, 5000)
    }

    fn intact(v: &Verdict) -> bool {
        matches!(v, Verdict::Intact { .. })
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let mut conn = db();
        assert!(intact(&verify(&conn, &key(), &[]).unwrap()));
        add(&mut conn, 5);
        let cp = head(&conn);
        assert_eq!(
            verify(&conn, &key(), &[cp]).unwrap(),
            Verdict::Intact {
                rows: 5,
                legacy: 0,
                checkpoint_rows: Some(5)
            }
        );
    }

    #[test]
    fn editing_a_row_breaks_the_chain_at_that_row() {
        let mut conn = db();
        add(&mut conn, 5);
        conn.execute("UPDATE audit SET user = 'mallory' WHERE id = 3", [])
            .unwrap();
        assert!(matches!(
            verify(&conn, &key(), &[]).unwrap(),
            Verdict::Broken(Broken { id: 3, .. })
        ));
    }

    #[test]
    fn deleting_a_row_is_reported_at_the_gap() {
        let mut conn = db();
        add(&mut conn, 5);
        conn.execute("DELETE FROM audit WHERE id = 2", []).unwrap();
        assert!(matches!(
            verify(&conn, &key(), &[]).unwrap(),
            Verdict::Broken(Broken { id: 3, .. })
        ));
    }

    #[test]
    fn deleting_the_newest_rows_or_every_row_is_reported_against_the_checkpoint() {
        for delete in ["DELETE FROM audit WHERE id > 3", "DELETE FROM audit"] {
            let mut conn = db();
            add(&mut conn, 5);
            let cp = head(&conn);
            conn.execute(delete, []).unwrap();
            assert!(
                matches!(
                    verify(&conn, &key(), std::slice::from_ref(&cp)).unwrap(),
                    Verdict::Truncated {
                        checkpoint_rows: 5,
                        ..
                    }
                ),
                "{delete}"
            );
        }
    }

    /// Rewrites the whole chain from its rows as an attacker without the key would.
    fn recompute_unkeyed(conn: &mut Connection) {
        let rows = list(conn, &Filter::default()).unwrap();
        conn.execute("DELETE FROM audit", []).unwrap();
        let tx = conn.transaction().unwrap();
        for r in rows {
            let e = Entry {
                user: &r.user,
                device: &r.device,
                action: &r.action,
                records: serde_json::from_str(&r.records).unwrap(),
                details: serde_json::from_str(&r.details).unwrap(),
            };
            append_with(&tx, None, r.ts_ms, &e).unwrap();
        }
        tx.commit().unwrap();
    }

    #[test]
    fn a_chain_edited_and_recomputed_without_the_key_does_not_verify() {
        let mut conn = db();
        add(&mut conn, 5);
        let cp = head(&conn);
        conn.execute("UPDATE audit SET user = 'mallory' WHERE id = 2", [])
            .unwrap();
        recompute_unkeyed(&mut conn);
        assert!(matches!(
            verify(&conn, &key(), std::slice::from_ref(&cp)).unwrap(),
            Verdict::Broken(Broken { id: 1, .. })
        ));
        // Rows marked keyed but hashed without the key fail their MAC.
        conn.execute("UPDATE audit SET keyed = 1", []).unwrap();
        assert!(matches!(
            verify(&conn, &key(), &[]).unwrap(),
            Verdict::Broken(Broken { id: 1, .. })
        ));
    }

    #[test]
    fn removing_every_record_read_row_and_renumbering_does_not_verify() {
        let mut conn = db();
        add(&mut conn, 6);
        let cp = head(&conn);
        conn.execute("DELETE FROM audit WHERE action = 'record_read'", [])
            .unwrap();
        assert!(!intact(&verify(&conn, &key(), &[]).unwrap()));
        recompute_unkeyed(&mut conn);
        assert!(!intact(
            &verify(&conn, &key(), std::slice::from_ref(&cp)).unwrap()
        ));
    }

    #[test]
    fn a_forged_row_appended_without_the_key_does_not_verify() {
        let mut conn = db();
        add(&mut conn, 3);
        let tx = conn.transaction().unwrap();
        let wrong = AuditKey::from_bytes([9u8; 32]);
        append_with(&tx, Some(&wrong), 9, &Entry::default()).unwrap();
        tx.commit().unwrap();
        assert!(matches!(
            verify(&conn, &key(), &[]).unwrap(),
            Verdict::Broken(Broken { id: 4, .. })
        ));
    }

    #[test]
    fn legacy_rows_verify_as_a_prefix_up_to_the_first_checkpoints_count() {
        let mut conn = db();
        add_with(&mut conn, None, 3);
        let genesis = {
            let h = walk(&conn, &key(), &Head::genesis(), None, &[])
                .unwrap()
                .unwrap();
            assert_eq!(h.legacy, 3);
            Checkpoint::sign(&key(), &h, 1)
        };
        add(&mut conn, 2);
        assert_eq!(
            verify(&conn, &key(), std::slice::from_ref(&genesis)).unwrap(),
            Verdict::Intact {
                rows: 5,
                legacy: 3,
                checkpoint_rows: Some(3)
            }
        );
        // An unkeyed row after keyed ones is refused.
        add_with(&mut conn, None, 1);
        assert!(matches!(
            verify(&conn, &key(), &[]).unwrap(),
            Verdict::Broken(Broken { id: 6, .. })
        ));
    }

    /// Removes rows before `first` as the retention rule does, recording the cut in a keyed
    /// `audit_cut` row when `record` names a first row kept.
    fn cut(conn: &mut Connection, first: i64, record: Option<i64>) {
        let hash: Vec<u8> = conn
            .query_row("SELECT hash FROM audit WHERE id = ?1", [first], |r| {
                r.get(0)
            })
            .unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute_batch(&format!("DELETE FROM audit WHERE id < {first}"))
            .unwrap();
        if let Some(names) = record {
            let e = Entry {
                action: CUT_ACTION,
                details: serde_json::json!({"first_kept": names, "first_hash": hex::encode(&hash), "legacy": 0}),
                ..Entry::default()
            };
            append_with(&tx, Some(&key()), 9000, &e).unwrap();
        }
        tx.commit().unwrap();
    }

    #[test]
    fn a_chain_cut_at_the_front_verifies_only_with_its_audit_cut_row() {
        let mut conn = db();
        add(&mut conn, 6);
        let cp = head(&conn);
        cut(&mut conn, 4, Some(4));
        add(&mut conn, 2);
        assert_eq!(
            verify(&conn, &key(), std::slice::from_ref(&cp)).unwrap(),
            Verdict::Intact {
                rows: 9,
                legacy: 0,
                checkpoint_rows: Some(6)
            }
        );
        // Deleting the first row kept as well: nothing records that cut.
        conn.execute("DELETE FROM audit WHERE id = 4", []).unwrap();
        assert!(matches!(
            verify(&conn, &key(), &[]).unwrap(),
            Verdict::Broken(Broken { id: 5, .. })
        ));
        // Rows deleted at the front without a cut row, or with one naming another row.
        for record in [None, Some(2)] {
            let mut conn = db();
            add(&mut conn, 6);
            cut(&mut conn, 4, record);
            assert!(
                matches!(
                    verify(&conn, &key(), &[]).unwrap(),
                    Verdict::Broken(Broken { id: 4, .. })
                ),
                "{record:?}"
            );
        }
    }

    #[test]
    fn listing_filters_by_record_user_and_time() {
        let mut conn = db();
        add(&mut conn, 5);
        let rows = list(
            &conn,
            &Filter {
                record: Some("r3".into()),
                ..Filter::default()
            },
        )
        .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].id, 4);
        let rows = list(
            &conn,
            &Filter {
                since_ms: Some(1001),
                until_ms: Some(1003),
                user: Some("alice".into()),
                ..Filter::default()
            },
        )
        .unwrap();
        assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), vec![2, 3]);
    }
}
