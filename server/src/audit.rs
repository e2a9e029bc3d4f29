//! The append-only, hash-chained audit trail.
//!
//! Each row carries the hash of the row before it: `hash = SHA-256(prev_hash || canonical)`,
//! where `canonical` is the JSON array `[id, ts_ms, user, device, action, records, details]`
//! with `records` and `details` as their stored JSON text. The first row's `prev_hash` is 32
//! zero bytes. Editing, inserting or deleting a row breaks the chain at that row (or the one
//! after it), which [`verify`] reports. Rows are appended inside the caller's transaction, so an
//! audited action and its audit row commit together.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// What to append.
#[derive(Debug, Clone, Default)]
pub struct Entry<'a> {
    /// The user who acted (`cli` for the command line, the attempted name for a failed login).
    pub user: &'a str,
    /// The device id the action came from, or empty.
    pub device: &'a str,
    /// What happened: `login`, `login_failed`, `logout`, `sync`, `record_read`,
    /// `record_export`, `user_add`, `user_passwd`, `user_assign`, `user_disable`,
    /// `user_enable`, `device_revoke`, `device_wiped`.
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

fn canonical(
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

fn chain_hash(prev: &[u8], canonical: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(canonical.as_bytes());
    h.finalize().to_vec()
}

/// Appends one row in the caller's transaction; returns its id.
pub fn append(tx: &Transaction<'_>, ts_ms: i64, e: &Entry<'_>) -> rusqlite::Result<i64> {
    let last: Option<(i64, Vec<u8>)> = tx
        .prepare_cached("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (id, prev) = match last {
        Some((id, hash)) => (id + 1, hash),
        None => (1, vec![0u8; 32]),
    };
    let records = serde_json::to_string(&e.records).unwrap_or_else(|_| "[]".into());
    let details = if e.details.is_null() {
        "{}".to_owned()
    } else {
        e.details.to_string()
    };
    let canon = canonical(id, ts_ms, e.user, e.device, e.action, &records, &details);
    let hash = chain_hash(&prev, &canon);
    tx.prepare_cached(
        "INSERT INTO audit (id, ts_ms, user, device, action, records, details, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        id, ts_ms, e.user, e.device, e.action, records, details, prev, hash
    ])?;
    Ok(id)
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every row links to the one before; `rows` rows checked.
    Intact {
        /// Rows checked.
        rows: u64,
    },
    /// The first row whose link or hash does not match.
    Broken {
        /// Its id.
        id: i64,
        /// What is wrong.
        reason: String,
    },
}

/// Walks the chain from the first row.
pub fn verify(conn: &Connection) -> rusqlite::Result<Verdict> {
    let mut stmt = conn.prepare(
        "SELECT id, ts_ms, user, device, action, records, details, prev_hash, hash
         FROM audit ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    let mut prev = vec![0u8; 32];
    let mut expected_id = 1i64;
    let mut count = 0u64;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let prev_hash: Vec<u8> = r.get(7)?;
        let hash: Vec<u8> = r.get(8)?;
        if id != expected_id {
            return Ok(Verdict::Broken {
                id,
                reason: format!("row {expected_id} is missing"),
            });
        }
        if prev_hash != prev {
            return Ok(Verdict::Broken {
                id,
                reason: "does not link to the row before".into(),
            });
        }
        let canon = canonical(
            id,
            r.get(1)?,
            &r.get::<_, String>(2)?,
            &r.get::<_, String>(3)?,
            &r.get::<_, String>(4)?,
            &r.get::<_, String>(5)?,
            &r.get::<_, String>(6)?,
        );
        if chain_hash(&prev, &canon) != hash {
            return Ok(Verdict::Broken {
                id,
                reason: "content does not match its hash".into(),
            });
        }
        prev = hash;
        expected_id += 1;
        count += 1;
    }
    Ok(Verdict::Intact { rows: count })
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
pub fn list(conn: &Connection, f: &Filter) -> rusqlite::Result<Vec<Row>> {
    let mut stmt = conn.prepare(
        "SELECT id, ts_ms, user, device, action, records, details, prev_hash, hash FROM audit
         WHERE (?1 IS NULL OR user = ?1)
           AND (?2 IS NULL OR device = ?2)
           AND (?3 IS NULL OR EXISTS (SELECT 1 FROM json_each(audit.records) WHERE value = ?3))
           AND (?4 IS NULL OR ts_ms >= ?4)
           AND (?5 IS NULL OR ts_ms < ?5)
           AND (?6 IS NULL OR action = ?6)
         ORDER BY id DESC LIMIT ?7",
    )?;
    let limit = f.limit.map_or(i64::MAX, |l| l.min(i64::MAX as u64) as i64);
    let mut out = stmt
        .query_map(
            params![
                f.user, f.device, f.record, f.since_ms, f.until_ms, f.action, limit
            ],
            |r| {
                Ok(Row {
                    id: r.get(0)?,
                    ts_ms: r.get(1)?,
                    user: r.get(2)?,
                    device: r.get(3)?,
                    action: r.get(4)?,
                    records: r.get(5)?,
                    details: r.get(6)?,
                    prev_hash: hex::encode(r.get::<_, Vec<u8>>(7)?),
                    hash: hex::encode(r.get::<_, Vec<u8>>(8)?),
                })
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;
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

    fn add(conn: &mut Connection, n: usize) {
        let tx = conn.transaction().unwrap();
        for i in 0..n {
            append(
                &tx,
                1000 + i as i64,
                &Entry {
                    user: "alice",
                    device: "d1",
                    action: "sync",
                    records: vec![format!("r{i}")],
                    details: serde_json::json!({"pushed": i}),
                },
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let mut conn = db();
        assert_eq!(verify(&conn).unwrap(), Verdict::Intact { rows: 0 });
        add(&mut conn, 5);
        assert_eq!(verify(&conn).unwrap(), Verdict::Intact { rows: 5 });
    }

    #[test]
    fn editing_a_row_breaks_the_chain_at_that_row() {
        let mut conn = db();
        add(&mut conn, 5);
        conn.execute("UPDATE audit SET user = 'mallory' WHERE id = 3", [])
            .unwrap();
        assert!(matches!(
            verify(&conn).unwrap(),
            Verdict::Broken { id: 3, .. }
        ));
    }

    #[test]
    fn deleting_a_row_is_reported_at_the_gap() {
        let mut conn = db();
        add(&mut conn, 5);
        conn.execute("DELETE FROM audit WHERE id = 2", []).unwrap();
        assert!(matches!(
            verify(&conn).unwrap(),
            Verdict::Broken { id: 3, .. }
        ));
    }

    #[test]
    fn rehashing_an_edited_row_still_breaks_the_next_link() {
        let mut conn = db();
        add(&mut conn, 4);
        // An attacker who recomputes row 2's hash after editing it breaks row 3's link.
        let prev: Vec<u8> = conn
            .query_row("SELECT hash FROM audit WHERE id = 1", [], |r| r.get(0))
            .unwrap();
        let canon = canonical(
            2,
            1001,
            "mallory",
            "d1",
            "sync",
            "[\"r1\"]",
            "{\"pushed\":1}",
        );
        conn.execute(
            "UPDATE audit SET user = 'mallory', hash = ?1 WHERE id = 2",
            [chain_hash(&prev, &canon)],
        )
        .unwrap();
        assert!(matches!(
            verify(&conn).unwrap(),
            Verdict::Broken { id: 3, .. }
        ));
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
