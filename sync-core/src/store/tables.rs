//! Queries over the replica schema. Reads take `&Connection`, writes `&Transaction`.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::StoreError;
use crate::model::Finding;

/// A record row: the document and what is indexed about it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRow {
    /// Record id.
    pub id: Uuid,
    /// Kind name.
    pub kind: String,
    /// Current unit code.
    pub unit: String,
    /// Status field, if set.
    pub status: Option<String>,
    /// Saved Automerge document.
    pub doc: Vec<u8>,
    /// Concatenated 32-byte head hashes.
    pub heads: Vec<u8>,
    /// Diacritic-free search key of the record's name.
    pub name_key: String,
    /// ID number, if the record has one.
    pub id_number: Option<String>,
    /// The earlier numbers the person carries (old CMND number, earlier ID numbers), found
    /// by a search by number too (phone store only; the server indexes them in review).
    pub other_numbers: Vec<String>,
    /// The citizen a residence declaration is about: a search by that person's name finds
    /// the declaration too (phone store only; [`put_record`] prefixes the citizen's search
    /// key to the row's own).
    pub person: Option<Uuid>,
    /// Data-quality findings as of the last write.
    pub findings: Vec<Finding>,
    /// Last local write, ms since the Unix epoch.
    pub updated_ms: i64,
}

const RECORD_COLUMNS: &str =
    "id, kind, unit, status, doc, heads, name_key, id_number, findings, updated_ms";

fn record_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RecordRow> {
    let id: String = r.get(0)?;
    let findings: String = r.get(8)?;
    Ok(RecordRow {
        id: Uuid::parse_str(&id).unwrap_or(Uuid::nil()),
        kind: r.get(1)?,
        unit: r.get(2)?,
        status: r.get(3)?,
        doc: r.get(4)?,
        heads: r.get(5)?,
        name_key: r.get(6)?,
        id_number: r.get(7)?,
        other_numbers: Vec::new(),
        person: None,
        findings: serde_json::from_str(&findings).unwrap_or_default(),
        updated_ms: r.get(9)?,
    })
}

/// Inserts or replaces a record row.
pub fn put_record(tx: &Transaction<'_>, row: &RecordRow) -> Result<(), StoreError> {
    let findings = serde_json::to_string(&row.findings).unwrap_or_else(|_| "[]".into());
    // A declaration is found by its citizen's name (as this device holds the citizen when
    // the declaration is written) as well as by its own (address, host).
    let person_key: Option<String> = match row.person {
        Some(person) => tx
            .prepare_cached("SELECT name_key FROM records WHERE id = ?1")?
            .query_row([person.to_string()], |r| r.get(0))
            .optional()?,
        None => None,
    };
    let name_key = match person_key.filter(|k: &String| !k.is_empty()) {
        Some(person) => format!("{person} | {}", row.name_key),
        None => row.name_key.clone(),
    };
    tx.prepare_cached(
        "INSERT INTO records (id, kind, unit, status, doc, heads, name_key, id_number, findings, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (id) DO UPDATE SET kind = ?2, unit = ?3, status = ?4, doc = ?5, heads = ?6,
           name_key = ?7, id_number = ?8, findings = ?9, updated_ms = ?10",
    )?
    .execute(params![
        row.id.to_string(),
        row.kind,
        row.unit,
        row.status,
        row.doc,
        row.heads,
        name_key,
        row.id_number,
        findings,
        row.updated_ms
    ])?;
    put_numbers(tx, row)
}

/// Keeps `record_numbers` equal to the row's earlier numbers.
fn put_numbers(tx: &Transaction<'_>, row: &RecordRow) -> Result<(), StoreError> {
    // Only citizens carry earlier numbers: other kinds skip the statements.
    if row.kind != "citizen" && row.other_numbers.is_empty() {
        return Ok(());
    }
    let id = row.id.to_string();
    tx.prepare_cached("DELETE FROM record_numbers WHERE record = ?1")?
        .execute([&id])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO record_numbers (number, record) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    )?;
    for n in &row.other_numbers {
        insert.execute(params![n, id])?;
    }
    Ok(())
}

/// One record row.
pub fn get_record(conn: &Connection, id: Uuid) -> Result<Option<RecordRow>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {RECORD_COLUMNS} FROM records WHERE id = ?1"
        ))?
        .query_row([id.to_string()], record_from_row)
        .optional()?)
}

/// A record's kind and unit, without loading its document.
pub fn kind_and_unit(conn: &Connection, id: Uuid) -> Result<Option<(String, String)>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT kind, unit FROM records WHERE id = ?1")?
        .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// Deletes a record and its pending changes (purge, rollback of a refused creation).
pub fn delete_record(tx: &Transaction<'_>, id: Uuid) -> Result<(), StoreError> {
    tx.execute("DELETE FROM records WHERE id = ?1", [id.to_string()])?;
    tx.execute(
        "DELETE FROM record_actors WHERE record = ?1",
        [id.to_string()],
    )?;
    tx.execute("DELETE FROM outbox WHERE record = ?1", [id.to_string()])?;
    tx.execute("DELETE FROM resync WHERE record = ?1", [id.to_string()])?;
    Ok(())
}

/// Deletes every record of a unit with its pending changes, and the unit's cursor.
pub fn delete_unit(tx: &Transaction<'_>, unit: &str) -> Result<usize, StoreError> {
    tx.execute(
        "DELETE FROM outbox WHERE record IN (SELECT id FROM records WHERE unit = ?1)",
        [unit],
    )?;
    tx.execute(
        "DELETE FROM record_actors WHERE record IN (SELECT id FROM records WHERE unit = ?1)",
        [unit],
    )?;
    let n = tx.execute("DELETE FROM records WHERE unit = ?1", [unit])?;
    tx.execute("DELETE FROM cursors WHERE scope = ?1", [unit])?;
    Ok(n)
}

/// Marks a record as needing a full snapshot from the server (its changes cannot apply, or
/// it is not known at all), or clears the mark.
pub fn mark_resync(tx: &Transaction<'_>, id: Uuid, on: bool) -> Result<(), StoreError> {
    let sql = if on {
        "INSERT OR IGNORE INTO resync (record) VALUES (?1)"
    } else {
        "DELETE FROM resync WHERE record = ?1"
    };
    tx.prepare_cached(sql)?.execute([id.to_string()])?;
    Ok(())
}

/// Records waiting for a snapshot.
pub fn resync_records(conn: &Connection) -> Result<Vec<Uuid>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT record FROM resync")?;
    let ids = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .filter_map(|r| r.ok().and_then(|s| Uuid::parse_str(&s).ok()))
        .collect();
    Ok(ids)
}

/// How to look records up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordQuery {
    /// The start of a name's words, with or without diacritics (`"ng v a"` finds
    /// "Nguyễn Văn An"; `"an"` does not find "Lan").
    pub name: Option<String>,
    /// An ID number (exact, or a prefix of at least 3 digits).
    pub id_number: Option<String>,
    /// Unit code.
    pub unit: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// Kind name.
    pub kind: Option<String>,
    /// At most this many rows (default 100).
    pub limit: Option<u32>,
    /// Rows to skip first (paging; default 0).
    pub offset: Option<u32>,
}

/// The two `GLOB` patterns that match a name key whose words start, in order, with the
/// query's words ([`query_tokens`](crate::model::query_tokens): diacritics, case and tone
/// placement folded). The first pattern anchors the first query word at the start of the key,
/// the second after a non-alphanumeric character; each later query word must begin after
/// another such character, so it falls in a later word. "an" finds "An" and "Trần Văn Anh",
/// never "Lan" or "Tuấn" ([`tokens_match`](crate::model::tokens_match) is the reference).
/// `None` when the query holds no word (no name criterion then).
fn word_prefix_patterns(name: &str) -> Option<(String, String)> {
    const BOUNDARY: &str = "[^a-z0-9]";
    // Query words are alphanumeric, so they hold no GLOB metacharacter (`*`, `?`, `[`).
    let tokens = crate::model::query_tokens(name);
    let (first, rest) = tokens.split_first()?;
    let tail: String = rest.iter().map(|t| format!("{BOUNDARY}{t}*")).collect();
    Some((
        format!("{first}*{tail}"),
        format!("*{BOUNDARY}{first}*{tail}"),
    ))
}

/// The `WHERE` clause of a query and its arguments.
fn query_filter(q: &RecordQuery) -> (String, Vec<String>) {
    let mut sql = String::from(" WHERE 1 = 1");
    let mut args: Vec<String> = Vec::new();
    if let Some(name) = &q.name
        && let Some((at_start, later)) = word_prefix_patterns(name)
    {
        args.push(at_start);
        args.push(later);
        sql += &format!(
            " AND (name_key GLOB ?{} OR name_key GLOB ?{})",
            args.len() - 1,
            args.len()
        );
    }
    if let Some(id) = &q.id_number {
        // A prefix range instead of LIKE, so the `id_number` index serves it.
        let prefix = id.trim().to_owned();
        args.push(prefix.clone());
        args.push(format!("{prefix}\u{10FFFF}"));
        let (lo, hi) = (args.len() - 1, args.len());
        // The current number, or an earlier one the person carries (old CMND, earlier ID).
        sql += &format!(
            " AND ((id_number >= ?{lo} AND id_number < ?{hi}) OR id IN \
             (SELECT record FROM record_numbers WHERE number >= ?{lo} AND number < ?{hi}))"
        );
    }
    for (col, val) in [("unit", &q.unit), ("status", &q.status), ("kind", &q.kind)] {
        if let Some(v) = val {
            args.push(v.clone());
            sql += &format!(" AND {col} = ?{}", args.len());
        }
    }
    (sql, args)
}

/// Records matching every given criterion, most recently written first, from `offset` on.
pub fn find_records(conn: &Connection, q: &RecordQuery) -> Result<Vec<RecordRow>, StoreError> {
    let (filter, args) = query_filter(q);
    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM records{filter} ORDER BY updated_ms DESC, id LIMIT {} OFFSET {}",
        q.limit.unwrap_or(100),
        q.offset.unwrap_or(0)
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args.iter()), record_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// How many records match the query (ignoring `limit` and `offset`).
pub fn count_matching(conn: &Connection, q: &RecordQuery) -> Result<u64, StoreError> {
    let (filter, args) = query_filter(q);
    let n: i64 = conn.query_row(
        &format!("SELECT count(*) FROM records{filter}"),
        rusqlite::params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    Ok(n.max(0) as u64)
}

/// Number of records.
pub fn count_records(conn: &Connection) -> Result<u64, StoreError> {
    Ok(conn.query_row("SELECT count(*) FROM records", [], |r| r.get::<_, i64>(0))? as u64)
}

/// A pending local change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Order of creation.
    pub seq: i64,
    /// The record it changes.
    pub record: Uuid,
    /// The change hash (32 bytes).
    pub hash: Vec<u8>,
    /// The change bytes.
    pub change: Vec<u8>,
    /// When the edit was made.
    pub created_ms: i64,
}

/// Queues a local change; queuing the same hash again is a no-op.
pub fn enqueue(
    tx: &Transaction<'_>,
    record: Uuid,
    hash: &[u8],
    change: &[u8],
    created_ms: i64,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO outbox (record, hash, change, created_ms) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![record.to_string(), hash, change, created_ms])?;
    Ok(())
}

/// Pending changes in creation order.
pub fn pending(conn: &Connection) -> Result<Vec<OutboxEntry>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT seq, record, hash, change, created_ms FROM outbox ORDER BY seq")?;
    let rows = stmt
        .query_map([], |r| {
            let record: String = r.get(1)?;
            Ok(OutboxEntry {
                seq: r.get(0)?,
                record: Uuid::parse_str(&record).unwrap_or(Uuid::nil()),
                hash: r.get(2)?,
                change: r.get(3)?,
                created_ms: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Drops acknowledged changes.
pub fn acknowledge(tx: &Transaction<'_>, hash: &[u8]) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM outbox WHERE hash = ?1")?
        .execute([hash])?;
    Ok(())
}

/// Drops every pending change of one record.
pub fn drop_pending(tx: &Transaction<'_>, record: Uuid) -> Result<(), StoreError> {
    tx.execute("DELETE FROM outbox WHERE record = ?1", [record.to_string()])?;
    Ok(())
}

/// Outbox size and the time of its oldest edit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxStatus {
    /// Pending changes (every save is one) and sensitive values waiting to be sent.
    pub pending: u64,
    /// Records with at least one pending change or sensitive value.
    #[serde(default)]
    pub records: u64,
    /// When the oldest pending edit was made (ms since the Unix epoch).
    pub oldest_ms: Option<i64>,
}

/// The outbox status.
pub fn outbox_status(conn: &Connection) -> Result<OutboxStatus, StoreError> {
    // Sensitive values waiting (protocol §12) count as pending edits too: the device has
    // something to send.
    Ok(conn.query_row(
        "SELECT (SELECT count(*) FROM outbox) + (SELECT count(*) FROM sensitive_outbox),
                (SELECT count(*) FROM (SELECT record FROM outbox
                                       UNION SELECT record FROM sensitive_outbox)),
                (SELECT min(m) FROM (SELECT min(created_ms) AS m FROM outbox
                                     UNION ALL SELECT min(at_ms) FROM sensitive_outbox))",
        [],
        |r| {
            Ok(OutboxStatus {
                pending: r.get::<_, i64>(0)? as u64,
                records: r.get::<_, i64>(1)? as u64,
                oldest_ms: r.get(2)?,
            })
        },
    )?)
}

/// All cursors.
pub fn cursors(conn: &Connection) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT scope, seq FROM cursors")?;
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Sets one cursor.
pub fn set_cursor(tx: &Transaction<'_>, scope: &str, seq: u64) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO cursors (scope, seq) VALUES (?1, ?2) ON CONFLICT (scope) DO UPDATE SET seq = ?2",
    )?
    .execute(params![scope, seq as i64])?;
    Ok(())
}

/// An edit the server refused, kept for the officer to see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedEdit {
    /// Row id.
    pub id: i64,
    /// The record.
    pub record: Uuid,
    /// Its kind.
    pub kind: String,
    /// Rejection code (`out_of_scope`, …).
    pub code: String,
    /// The server's reason.
    pub message: String,
    /// What the refused changes did, field by field.
    pub edits: Vec<crate::doc::FieldChange>,
    /// When the rejection arrived.
    pub rejected_ms: i64,
}

/// Files a rejected edit.
pub fn add_rejected(tx: &Transaction<'_>, r: &RejectedEdit) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO rejected (record, kind, code, message, edits, rejected_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            r.record.to_string(),
            r.kind,
            r.code,
            r.message,
            serde_json::to_string(&r.edits).unwrap_or_else(|_| "[]".into()),
            r.rejected_ms
        ],
    )?;
    Ok(())
}

/// Replaces the edits of a rejected-edit entry (a redaction hides a removed value in them).
pub fn set_rejected_edits(
    tx: &Transaction<'_>,
    id: i64,
    edits: &[crate::doc::FieldChange],
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE rejected SET edits = ?2 WHERE id = ?1",
        params![
            id,
            serde_json::to_string(edits).unwrap_or_else(|_| "[]".into())
        ],
    )?;
    Ok(())
}

/// Every rejected edit, newest first.
pub fn rejected(conn: &Connection) -> Result<Vec<RejectedEdit>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, record, kind, code, message, edits, rejected_ms FROM rejected ORDER BY id DESC",
    )?;
    let rows = stmt
        .query_map([], |r| {
            let record: String = r.get(1)?;
            let edits: String = r.get(5)?;
            Ok(RejectedEdit {
                id: r.get(0)?,
                record: Uuid::parse_str(&record).unwrap_or(Uuid::nil()),
                kind: r.get(2)?,
                code: r.get(3)?,
                message: r.get(4)?,
                edits: serde_json::from_str(&edits).unwrap_or_default(),
                rejected_ms: r.get(6)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Removes a rejected edit once the officer has seen it.
pub fn dismiss_rejected(tx: &Transaction<'_>, id: i64) -> Result<bool, StoreError> {
    Ok(tx.execute("DELETE FROM rejected WHERE id = ?1", [id])? > 0)
}

/// A metadata value.
pub fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

/// Sets a metadata value.
pub fn set_meta(tx: &Transaction<'_>, key: &str, value: &str) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
    )?
    .execute([key, value])?;
    Ok(())
}

/// Empties every table (remote wipe), keeping the schema.
pub fn wipe_all(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(
        "DELETE FROM outbox; DELETE FROM records; DELETE FROM cursors; DELETE FROM rejected;
         DELETE FROM resync; DELETE FROM meta; DELETE FROM actors; DELETE FROM record_actors;
         DELETE FROM attachment_blobs; DELETE FROM attachment_pieces;
         DELETE FROM sensitive_outbox; DELETE FROM record_numbers;",
    )?;
    Ok(())
}

/// Who an actor id stands for (the actor directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorName {
    /// The account's name.
    pub user: String,
    /// The account's display name, as the server sent it; `None` from servers that send
    /// none (show `user`).
    pub display_name: Option<String>,
    /// The device's name (may be empty).
    pub device_name: String,
}

/// Adds or refreshes one directory entry.
pub fn put_actor(tx: &Transaction<'_>, actor: &[u8], name: &ActorName) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO actors (actor, user, display_name, device_name) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (actor) DO UPDATE SET user = ?2, display_name = ?3, device_name = ?4",
    )?
    .execute(params![
        actor,
        name.user,
        name.display_name,
        name.device_name
    ])?;
    Ok(())
}

/// Notes that `actors` wrote changes of `record`.
pub fn note_record_actors<'a>(
    tx: &Transaction<'_>,
    record: Uuid,
    actors: impl IntoIterator<Item = &'a [u8]>,
) -> Result<(), StoreError> {
    let mut stmt =
        tx.prepare_cached("INSERT OR IGNORE INTO record_actors (record, actor) VALUES (?1, ?2)")?;
    let id = record.to_string();
    for actor in actors {
        stmt.execute(params![id, actor])?;
    }
    Ok(())
}

/// Drops directory entries of actors that no record on the device mentions any more.
pub fn forget_unused_actors(tx: &Transaction<'_>) -> Result<usize, StoreError> {
    Ok(tx.execute(
        "DELETE FROM actors WHERE actor NOT IN (SELECT actor FROM record_actors)",
        [],
    )?)
}

/// The directory entries of the given actors (those the device knows).
pub fn actor_names(
    conn: &Connection,
    actors: &[Vec<u8>],
) -> Result<std::collections::HashMap<Vec<u8>, ActorName>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT user, display_name, device_name FROM actors WHERE actor = ?1")?;
    let mut out = std::collections::HashMap::new();
    for actor in actors {
        if let Some(name) = stmt
            .query_row([actor], |r| {
                Ok(ActorName {
                    user: r.get(0)?,
                    display_name: r.get(1)?,
                    device_name: r.get(2)?,
                })
            })
            .optional()?
        {
            out.insert(actor.clone(), name);
        }
    }
    Ok(out)
}
