//! What a sync reply tells the device besides records: the caller's current units, an
//! estimate of what is still to come, and the actor directory (who wrote the records it
//! receives). All three are additive reply fields (`docs/protocol.md` §4.2, `SyncReply`).
//!
//! [`annotate`] runs inside the exchange's transaction after the pull was built, so the
//! three describe exactly the state the reply's cursors point at.

use std::collections::{BTreeMap, BTreeSet};

use serde_bytes::ByteBuf;
use sync_core::protocol::{ActorInfo, Remaining, SyncReply};
use uuid::Uuid;

use crate::db::{DbError, Sql};
use crate::feed::PullStats;

/// Fills `units`, `remaining` and `actors` of a reply whose pull is built.
///
/// - `units`: the caller's scopes now.
/// - `remaining`: per scope, the distinct records and the bytes of the logged changes after
///   the reply's cursor (the request's cursor when the reply does not move it), not counting
///   rows the device itself sent. Zero when `more` is false (nothing else is waiting).
/// - `actors`: the account/device behind each logged change the reply carries, by the
///   device that pushed the change (its registered actor id), with the account's display
///   name (the account name when it has none) and the device's name: for a record sent
///   whole (`stats.whole`), every writer of its history; for a record sent as changes, the
///   devices that pushed those changes (`stats.writers`) — the device holds the record, so
///   it got the earlier writers with the earlier changes or the snapshot.
pub fn annotate(
    conn: &dyn Sql,
    scopes: &[String],
    request_cursors: &BTreeMap<String, u64>,
    device_id: Uuid,
    stats: &PullStats,
    reply: &mut SyncReply,
) -> Result<(), DbError> {
    // The user's units, not the restricted scopes among the feed scopes (§12.1).
    reply.units = Some(
        scopes
            .iter()
            .filter(|s| !sync_core::model::sensitivity::scope_unit(s).1)
            .cloned()
            .collect(),
    );
    reply.remaining = Some(if reply.more {
        remaining(conn, scopes, request_cursors, device_id, &reply.cursors)?
    } else {
        Remaining::default()
    });
    reply.actors = actors_of(conn, &stats.whole, &stats.writers)?;
    Ok(())
}

fn remaining(
    conn: &dyn Sql,
    scopes: &[String],
    request_cursors: &BTreeMap<String, u64>,
    device_id: Uuid,
    reply_cursors: &BTreeMap<String, u64>,
) -> Result<Remaining, DbError> {
    let mut total = Remaining::default();
    for scope in scopes {
        let cursor = reply_cursors
            .get(scope)
            .or_else(|| request_cursors.get(scope))
            .copied()
            .unwrap_or(0);
        let r = conn.query_one(
            "SELECT count(DISTINCT record), CAST(coalesce(sum(length(bytes)), 0) AS BIGINT)
             FROM changes
             WHERE unit = ?1 AND seq > ?2 AND kind <> 'moved'
               AND origin_device IS DISTINCT FROM ?3",
            &[scope, &(cursor as i64), &device_id],
        )?;
        let (records, bytes): (i64, i64) = (r.get(0)?, r.get(1)?);
        total.records += records.max(0) as u64;
        total.bytes += bytes.max(0) as u64;
    }
    Ok(total)
}

/// Ids bound per statement by [`actors_of`] (well under SQLite's and PostgreSQL's limits on
/// parameters).
const IN_CHUNK: usize = 200;

/// The directory entries of `writers` and of every device that logged a change of one of
/// `whole`: one statement per [`IN_CHUNK`] records and per [`IN_CHUNK`] devices (a pull
/// holds hundreds of records; a statement each was ≈ 5% of the server's CPU with 16 devices
/// pushing, and reading every record's whole history again 5% more).
fn actors_of(
    conn: &dyn Sql,
    whole: &[Uuid],
    writers: &BTreeSet<String>,
) -> Result<Vec<ActorInfo>, DbError> {
    let records: Vec<String> = whole
        .iter()
        .collect::<BTreeSet<&Uuid>>()
        .into_iter()
        .map(|r| r.to_string())
        .collect();
    let mut devices: BTreeSet<String> = writers.clone();
    for chunk in records.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT DISTINCT origin_device FROM changes
             WHERE kind <> 'moved' AND record IN ({})",
            crate::db::placeholders(1, chunk.len())
        );
        let params: Vec<&dyn crate::db::ToValue> =
            chunk.iter().map(|r| r as &dyn crate::db::ToValue).collect();
        for r in conn.query(&sql, &params)? {
            devices.extend(r.get::<Option<String>>(0)?);
        }
    }
    let devices: Vec<String> = devices.into_iter().collect();
    let mut out = Vec::with_capacity(devices.len());
    for chunk in devices.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT d.actor, u.username, u.display_name, d.name
             FROM devices d JOIN users u ON u.id = d.user_id
             WHERE d.id IN ({}) ORDER BY d.id",
            crate::db::placeholders(1, chunk.len())
        );
        let params: Vec<&dyn crate::db::ToValue> =
            chunk.iter().map(|d| d as &dyn crate::db::ToValue).collect();
        for r in conn.query(&sql, &params)? {
            let (actor, user, display_name, device_name): (String, String, Option<String>, String) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
            let Ok(actor) = hex::decode(&actor) else {
                continue;
            };
            out.push(ActorInfo {
                actor: ByteBuf::from(actor),
                display_name: Some(display_name.unwrap_or_else(|| user.clone())),
                user,
                device_name,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, params};
    use sync_core::protocol::PullEntry;
    use sync_core::store::schema::migrate;

    const D1: &str = "00000000-0000-7000-8000-000000000001";
    const D2: &str = "00000000-0000-7000-8000-000000000002";

    fn db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, crate::schema::SERVER_MIGRATIONS).unwrap();
        conn.execute_batch(
            "INSERT INTO users (id, username, display_name, password_hash, role, created_ms)
               VALUES (1, 'lan', 'Nguyễn Thị Lan', 'x', 'officer', 0),
                      (2, 'minh', NULL, 'x', 'officer', 0);
             INSERT INTO devices (id, user_id, actor, name, created_ms) VALUES
               ('00000000-0000-7000-8000-000000000001', 1,
                '01010101010101010101010101010101', 'Phone A', 0),
               ('00000000-0000-7000-8000-000000000002', 2,
                '02020202020202020202020202020202', 'Phone B', 0);",
        )
        .unwrap();
        conn
    }

    fn log(conn: &Connection, record: Uuid, device: &str, unit: &str, len: usize) {
        conn.execute(
            "INSERT INTO changes (record, kind, hash, bytes, unit, origin_device, received_ms)
             VALUES (?1, 'change', randomblob(32), zeroblob(?2), ?3, ?4, 0)",
            params![record.to_string(), len as i64, unit, device],
        )
        .unwrap();
    }

    fn entry(record: Uuid) -> PullEntry {
        PullEntry {
            record,
            kind: "citizen".into(),
            unit: "07132".into(),
            changes: vec![],
            snapshot: None,
            lineage: 0,
            replace: false,
            redacted: Vec::new(),
        }
    }

    #[test]
    fn the_reply_names_every_writer_of_the_records_it_carries_by_display_name() {
        let conn = db();
        let r = Uuid::now_v7();
        log(&conn, r, D1, "07132", 10);
        log(&conn, r, D2, "07132", 10);
        log(&conn, Uuid::now_v7(), D2, "07132", 10);
        let mut reply = SyncReply::empty(0);
        reply.pull.push(entry(r));
        let stats = PullStats {
            whole: vec![r],
            ..PullStats::default()
        };
        annotate(
            &conn,
            &["07132".into()],
            &BTreeMap::new(),
            Uuid::nil(),
            &stats,
            &mut reply,
        )
        .unwrap();
        let names: Vec<(&str, Option<&str>, &str)> = reply
            .actors
            .iter()
            .map(|a| {
                let display = a.display_name.as_deref();
                (a.user.as_str(), display, a.device_name.as_str())
            })
            .collect();
        // Minh has no display name: the account name stands in for it.
        assert_eq!(
            names,
            [
                ("lan", Some("Nguyễn Thị Lan"), "Phone A"),
                ("minh", Some("minh"), "Phone B")
            ]
        );
        assert_eq!(reply.actors[0].actor.as_ref(), &[1u8; 16]);
        assert_eq!(reply.units, Some(vec!["07132".to_string()]));
    }

    #[test]
    fn a_record_sent_as_changes_names_only_the_writers_of_those_changes() {
        let conn = db();
        let r = Uuid::now_v7();
        log(&conn, r, D1, "07132", 10);
        log(&conn, r, D2, "07132", 10);
        let mut reply = SyncReply::empty(0);
        reply.pull.push(entry(r));
        let stats = PullStats {
            writers: [D2.to_string()].into(),
            ..PullStats::default()
        };
        annotate(
            &conn,
            &[],
            &BTreeMap::new(),
            Uuid::nil(),
            &stats,
            &mut reply,
        )
        .unwrap();
        let names: Vec<&str> = reply.actors.iter().map(|a| a.user.as_str()).collect();
        assert_eq!(names, ["minh"]);
    }

    #[test]
    fn remaining_counts_records_and_bytes_after_the_new_cursor_without_own_rows() {
        let conn = db();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        log(&conn, a, D1, "07132", 100); // seq 1: sent in this reply
        log(&conn, b, D1, "07132", 30); // seq 2
        log(&conn, b, D1, "07132", 20); // seq 3
        log(&conn, a, D2, "07132", 1000); // seq 4: the caller's own
        let mut reply = SyncReply::empty(0);
        reply.more = true;
        reply.cursors.insert("07132".into(), 1);
        annotate(
            &conn,
            &["07132".into()],
            &BTreeMap::new(),
            Uuid::parse_str(D2).unwrap(),
            &PullStats::default(),
            &mut reply,
        )
        .unwrap();
        // After seq 1: b's two rows; the caller's own row of `a` does not count.
        assert_eq!(
            reply.remaining,
            Some(Remaining {
                records: 1,
                bytes: 50
            })
        );
        let mut reply = SyncReply::empty(0);
        reply.more = false;
        annotate(
            &conn,
            &["07132".into()],
            &BTreeMap::new(),
            Uuid::nil(),
            &PullStats::default(),
            &mut reply,
        )
        .unwrap();
        assert_eq!(reply.remaining, Some(Remaining::default()));
    }
}
