//! The change feed: the append-only change log, the stored records, and the pull builder.
//!
//! Every accepted change is one row of `changes` with a sequence number, the record, the
//! change hash and bytes, the record's unit *after* the change (the feed "scope" the row
//! belongs to) and the device it came from. When a record leaves a unit, a `moved` marker row
//! (no hash, empty bytes) is appended to the old unit's feed so devices scoped to that unit
//! learn to drop it. A device pulls each of its scopes from its cursor (the last sequence
//! number it has applied from that scope).
//!
//! [`build_pull`] fills a reply up to a byte budget; the rules are spelled out in
//! `docs/protocol.md` ("Pull") and restated on the functions below.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_bytes::ByteBuf;
use sync_core::check::limits;
use sync_core::doc::RecordDoc;
use sync_core::protocol::{PullEntry, Purge, Redacted, SyncReply, encode_reply};
use sync_core::store::tables::RecordRow;
use uuid::Uuid;

use crate::db::{DbError, Dialect, Row, Sql};

/// Most log rows looked at per scope in one reply. Rows past the window are left for the
/// next exchange (`more` is set).
pub const ROW_WINDOW: usize = 2_000;

/// Most ids from `resync` answered in one reply.
pub const RESYNC_WINDOW: usize = 500;

/// Largest pull entry ever sent: a record's document is at most
/// [`limits::MAX_RECORD_BYTES`] (refused on push beyond), plus room for the entry's framing
/// and per-change overhead. A larger entry (a record stored before the limits) is not sent:
/// it is answered with `Purge::Record`.
pub const MAX_ENTRY_BYTES: usize = limits::MAX_RECORD_BYTES + 64 * 1024;

/// A stored record: the latest compacted document and what is indexed about it.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    /// Record id.
    pub id: Uuid,
    /// Kind name.
    pub kind: String,
    /// Current unit.
    pub unit: String,
    /// Compact saved Automerge document.
    pub doc: Vec<u8>,
    /// Data-quality findings (JSON text).
    pub findings: String,
    /// Concatenated 32-byte head hashes.
    pub heads: Vec<u8>,
    /// Last accepted write (ms).
    pub updated_ms: i64,
    /// The record's lineage: how many times an admin replaced its document (redaction).
    pub lineage: u64,
    /// A restricted record (`docs/protocol.md` §12.1): its changes are logged in its unit's
    /// restricted scope.
    pub restricted: bool,
}

impl StoredRecord {
    /// The feed scope its changes are logged in: its unit, or the unit's restricted scope.
    pub fn scope(&self) -> String {
        sync_core::model::sensitivity::feed_scope(&self.unit, self.restricted)
    }
}

/// The stored record with this id.
pub fn get_record(conn: &dyn Sql, id: Uuid) -> Result<Option<StoredRecord>, DbError> {
    read_record(conn, id, "")
}

/// [`get_record`], locking the record's row for the rest of the transaction on PostgreSQL
/// (a read-modify-write of its document: an admin's edit, a merge).
pub fn get_record_for_update(tx: &dyn Sql, id: Uuid) -> Result<Option<StoredRecord>, DbError> {
    read_record(tx, id, tx.for_update())
}

fn read_record(conn: &dyn Sql, id: Uuid, lock: &str) -> Result<Option<StoredRecord>, DbError> {
    let sql = format!(
        "SELECT kind, unit, doc, findings, heads, updated_ms, lineage, restricted FROM records \
         WHERE id = ?1{lock}"
    );
    let Some(mut r) = conn.query_opt(&sql, &[&id])? else {
        return Ok(None);
    };
    Ok(Some(StoredRecord {
        id,
        kind: r.take(0)?,
        unit: r.take(1)?,
        doc: r.take(2)?,
        findings: r.take(3)?,
        heads: r.take(4)?,
        updated_ms: r.get(5)?,
        lineage: r.get::<i64>(6)?.max(0) as u64,
        restricted: r.get::<i64>(7)? != 0,
    }))
}

/// The stored heads of a record (concatenated 32-byte hashes), `None` when it does not
/// exist.
pub fn get_heads(conn: &dyn Sql, id: Uuid) -> Result<Option<Vec<u8>>, DbError> {
    conn.query_opt("SELECT heads FROM records WHERE id = ?1", &[&id])?
        .map(|mut r| r.take(0))
        .transpose()
}

/// [`get_heads`] inside a push: on PostgreSQL the record's row stays locked until the
/// transaction ends, so that no other node's push changes the record between this read and
/// the write of its merged document (SQLite's one writer needs no lock).
pub fn lock_heads(tx: &dyn Sql, id: Uuid) -> Result<Option<Vec<u8>>, DbError> {
    let sql = format!("SELECT heads FROM records WHERE id = ?1{}", tx.for_update());
    tx.query_opt(&sql, &[&id])?
        .map(|mut r| r.take(0))
        .transpose()
}

const RECORD_COLUMNS: &str = "INSERT INTO records
         (id, kind, unit, status, doc, heads, name_key, id_number, findings, updated_ms,
          doc_len)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

fn write_record(tx: &dyn Sql, row: &RecordRow, on_conflict: &str) -> Result<u64, DbError> {
    let findings = serde_json::to_string(&row.findings).unwrap_or_else(|_| "[]".into());
    tx.execute(
        &format!("{RECORD_COLUMNS} {on_conflict}"),
        &[
            &row.id,
            &row.kind,
            &row.unit,
            &row.status,
            &row.doc,
            &row.heads,
            &row.name_key,
            &row.id_number,
            &findings,
            &row.updated_ms,
            &(row.doc.len() as i64),
        ],
    )
}

/// Marks a record restricted or not (`docs/protocol.md` §12.1); writes only when it changes.
pub fn set_restricted(tx: &dyn Sql, id: Uuid, restricted: bool) -> Result<(), DbError> {
    tx.execute(
        "UPDATE records SET restricted = ?2 WHERE id = ?1 AND restricted <> ?2",
        &[&id, &i64::from(restricted)],
    )?;
    Ok(())
}

/// Inserts or replaces a record row (document, heads and search columns).
///
/// The indexed search columns (kind, unit, status, name key, ID number) are written by a
/// second statement only when one of them changed: a column named in an UPDATE rewrites
/// its index entries even with the same value, and most accepted changes (a phone number,
/// a note, an appointment day) change none of them. Each index entry rewritten is a page
/// in the WAL of that commit.
pub fn put_record(tx: &dyn Sql, row: &RecordRow) -> Result<(), DbError> {
    write_record(
        tx,
        row,
        "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, heads = excluded.heads,
         findings = excluded.findings, updated_ms = excluded.updated_ms,
         doc_len = excluded.doc_len",
    )?;
    tx.execute(
        "UPDATE records SET kind = ?2, unit = ?3, status = ?4, name_key = ?5, id_number = ?6
          WHERE id = ?1 AND (kind IS DISTINCT FROM ?2 OR unit IS DISTINCT FROM ?3
             OR status IS DISTINCT FROM ?4 OR name_key IS DISTINCT FROM ?5
             OR id_number IS DISTINCT FROM ?6)",
        &[
            &row.id,
            &row.kind,
            &row.unit,
            &row.status,
            &row.name_key,
            &row.id_number,
        ],
    )?;
    Ok(())
}

/// Inserts the row of a record that did not exist; `false` (nothing written) when it exists
/// by now: on PostgreSQL another node's transaction created it after this one looked (the
/// insert waits for that transaction and then finds the key taken).
pub fn insert_new_record(tx: &dyn Sql, row: &RecordRow) -> Result<bool, DbError> {
    Ok(write_record(tx, row, "ON CONFLICT (id) DO NOTHING")? == 1)
}

/// The next sequence number of `unit`'s feed on PostgreSQL, from its `unit_seq` row, which
/// stays locked until the transaction ends: a later transaction taking a number of the same
/// unit waits for this one to commit, so within a unit sequence order is commit order (the
/// feed-gap argument: `docs/ARCHITECTURE.md`, "The change feed across nodes").
fn next_seq(tx: &dyn Sql, unit: &str) -> Result<i64, DbError> {
    tx.query_value(
        "INSERT INTO unit_seq (unit, next) VALUES (?1, 2)
         ON CONFLICT (unit) DO UPDATE SET next = unit_seq.next + 1
         RETURNING next - 1",
        &[&unit],
    )
}

/// [`lock_heads`] of every record in `records`, in one order (sorted by id): at the start
/// of a push, so that on PostgreSQL two pushes naming the same records lock them in the
/// same order. Taken in each request's own order they would deadlock, which PostgreSQL
/// breaks only after `deadlock_timeout` (1 s by default). A record that does not exist yet
/// has no row to lock (a concurrent creation is caught by [`insert_new_record`]).
pub fn lock_heads_in_order(
    tx: &dyn Sql,
    records: BTreeSet<Uuid>,
) -> Result<HashMap<Uuid, Option<Vec<u8>>>, DbError> {
    records
        .into_iter()
        .map(|id| Ok((id, lock_heads(tx, id)?)))
        .collect()
}

/// Locks the `unit_seq` rows of `scopes` on PostgreSQL in one order (sorted by name),
/// before a transaction appends to several feeds; a row that does not exist yet is created
/// with the number [`next_seq`] starts from. Each lock is held to the commit, as
/// [`next_seq`]'s own is (the feed-gap argument), and [`next_seq`] then finds it taken by
/// its own transaction.
///
/// Taken one by one in the order of a push's records, two pushes across the same units
/// deadlocked: PostgreSQL breaks each deadlock after `deadlock_timeout` (1 s) and the writer
/// runs the loser again, so 16 devices pushing 25 records across a district's wards queued a
/// second at a time behind one another until exchanges hit the 60 s request timeout.
pub fn lock_feeds_in_order(tx: &dyn Sql, scopes: &BTreeSet<&str>) -> Result<(), DbError> {
    if tx.dialect() != Dialect::Postgres || scopes.len() < 2 {
        return Ok(());
    }
    for scope in scopes {
        tx.execute(
            "INSERT INTO unit_seq (unit, next) VALUES (?1, 1)
             ON CONFLICT (unit) DO UPDATE SET next = unit_seq.next",
            &[scope],
        )?;
    }
    Ok(())
}

/// Appends one log row; on SQLite `seq` comes from the table's `AUTOINCREMENT` (one writer
/// hands it out in commit order), on PostgreSQL from [`next_seq`].
#[allow(clippy::too_many_arguments)]
fn append_row(
    tx: &dyn Sql,
    record: Uuid,
    kind: &str,
    hash: Option<&[u8]>,
    bytes: &[u8],
    unit: &str,
    origin_device: Uuid,
    now_ms: i64,
) -> Result<u64, DbError> {
    let conflict = if hash.is_some() {
        " ON CONFLICT (hash) DO NOTHING"
    } else {
        ""
    };
    match tx.dialect() {
        Dialect::Sqlite => tx.execute(
            &format!(
                "INSERT INTO changes (record, kind, hash, bytes, unit, origin_device, received_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7){conflict}"
            ),
            &[
                &record,
                &kind,
                &hash,
                &bytes,
                &unit,
                &origin_device,
                &now_ms,
            ],
        ),
        Dialect::Postgres => {
            let seq = next_seq(tx, unit)?;
            tx.execute(
                &format!(
                    "INSERT INTO changes
                     (seq, record, kind, hash, bytes, unit, origin_device, received_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8){conflict}"
                ),
                &[
                    &seq,
                    &record,
                    &kind,
                    &hash,
                    &bytes,
                    &unit,
                    &origin_device,
                    &now_ms,
                ],
            )
        }
    }
}

/// Appends one change to the log; returns `false` when the hash was already logged.
pub fn append_change(
    tx: &dyn Sql,
    record: Uuid,
    hash: &[u8],
    bytes: &[u8],
    unit: &str,
    origin_device: Uuid,
    now_ms: i64,
) -> Result<bool, DbError> {
    let n = append_row(
        tx,
        record,
        "change",
        Some(hash),
        bytes,
        unit,
        origin_device,
        now_ms,
    )?;
    Ok(n == 1)
}

/// Appends a `lineage` row to `unit`'s feed holding `snapshot`, the whole document of a
/// record's new lineage (a redaction, [`crate::redact`]): a device whose cursor is before it
/// gets the record as a snapshot marked `replace`.
pub fn append_lineage(
    tx: &dyn Sql,
    record: Uuid,
    snapshot: &[u8],
    unit: &str,
    origin_device: Uuid,
    now_ms: i64,
) -> Result<(), DbError> {
    append_row(
        tx,
        record,
        "lineage",
        None,
        snapshot,
        unit,
        origin_device,
        now_ms,
    )?;
    Ok(())
}

/// The removed values of a record, as the salted hashes a replacing snapshot carries
/// (`record_redactions`, every lineage: a device may be several behind).
pub fn redactions(conn: &dyn Sql, record: Uuid) -> Result<Vec<Redacted>, DbError> {
    conn.query(
        "SELECT field, salt, hash FROM record_redactions WHERE record = ?1
         ORDER BY lineage, field, hash",
        &[&record],
    )?
    .into_iter()
    .map(|mut r| {
        Ok(Redacted {
            field: r.take(0)?,
            salt: ByteBuf::from(r.take::<Vec<u8>>(1)?),
            hash: ByteBuf::from(r.take::<Vec<u8>>(2)?),
        })
    })
    .collect()
}

/// Appends a `moved` marker to `old_unit`'s feed: the record left that unit.
pub fn append_moved(
    tx: &dyn Sql,
    record: Uuid,
    old_unit: &str,
    origin_device: Uuid,
    now_ms: i64,
) -> Result<(), DbError> {
    append_row(
        tx,
        record,
        "moved",
        None,
        &[],
        old_unit,
        origin_device,
        now_ms,
    )?;
    Ok(())
}

/// The highest sequence number in the log (0 when empty; on PostgreSQL the highest of any
/// unit's feed).
pub fn last_seq(conn: &dyn Sql) -> Result<u64, DbError> {
    let s: i64 = conn.query_value("SELECT coalesce(max(seq), 0) FROM changes", &[])?;
    Ok(s.max(0) as u64)
}

/// What the pull side of one exchange needs to know.
#[derive(Debug, Clone)]
pub struct PullRequest<'a> {
    /// The requesting device: its own changes are not echoed back.
    pub device_id: Uuid,
    /// The units the user may see now.
    pub scopes: &'a [String],
    /// The device's cursors, as sent.
    pub cursors: &'a BTreeMap<String, u64>,
    /// Records the device asks snapshots of.
    pub resync: &'a [Uuid],
    /// The reply budget in encoded bytes (already clamped).
    pub max_bytes: u64,
}

/// What [`build_pull`] put into the reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullStats {
    /// Records sent as changes.
    pub changes_entries: usize,
    /// Records sent as snapshots.
    pub snapshot_entries: usize,
    /// Ids of every record sent.
    pub sent: Vec<Uuid>,
    /// Records sent whole (a snapshot, or every logged change of a record new to the
    /// device): the actor directory names every writer of their history.
    pub whole: Vec<Uuid>,
    /// The devices that pushed the rows sent as changes (of records the device holds): the
    /// directory names these; the earlier writers came with the earlier changes.
    pub writers: BTreeSet<String>,
}

/// One log row of a scope's window (metadata only; bytes are loaded when sent).
#[derive(Debug, Clone)]
struct LogRow {
    seq: u64,
    record: Uuid,
    moved: bool,
    /// A `lineage` row: the record's document was replaced (redaction).
    lineage: bool,
    len: usize,
    own: bool,
    /// The row belongs to a candidate (else it is skipped: own, marker, or not visible).
    candidate: bool,
}

/// What may be sent about one record.
#[derive(Debug, Clone)]
struct Candidate {
    /// The scope whose rows it covers (`None` for a resync answer).
    scope: Option<usize>,
    record: Uuid,
    /// The rows it covers in its scope's window: sequence number, and the bytes when the
    /// window read them (small rows).
    rows: Vec<(u64, Option<Vec<u8>>)>,
    /// Whether the device must get the record whole (new to it in this scope, or resync).
    must_snapshot: bool,
    /// Total bytes of those rows.
    change_bytes: usize,
    /// The devices that pushed those rows.
    origins: BTreeSet<String>,
}

/// One scope's part of the pull.
#[derive(Debug)]
struct ScopeWindow {
    scope: String,
    cursor: u64,
    rows: Vec<LogRow>,
    /// The window stopped at [`ROW_WINDOW`] rows: more may follow.
    truncated: bool,
}

/// Rows at most this large are read with the window (the bytes of a row the device may be
/// sent); larger ones are read when sent, so a window of big changes never sits in memory.
const INLINE_ROW_BYTES: usize = 4 * 1024;

/// One scope's window: `?1` scope, `?2` cursor, `?3` row limit, `?4` the requesting device,
/// `?5` [`INLINE_ROW_BYTES`]. Per row: the log row, its record's current kind, unit and size
/// (`NULL`s when the record is gone), the kind of the record's latest row in this scope at or
/// below the cursor (`has_seen`: the device holds the record from this scope when that row
/// exists and is not a `moved` marker), and the row's bytes when the device may be sent them
/// as changes (not its own, not a marker, not a first pull, small). The record's columns and
/// `has_seen` come from covering indexes (`records_pull`, `changes_record_unit_seq_kind`,
/// schema version 10), so per row only the log row itself is read from a table.
const WINDOW_SQL: &str = "SELECT c.seq, c.record, c.kind, length(c.bytes), c.origin_device,
        r.kind, r.unit, r.doc_len,
        (SELECT p.kind FROM changes p
          WHERE p.record = c.record AND p.unit = c.unit AND p.seq <= ?2
          ORDER BY p.seq DESC LIMIT 1),
        CASE WHEN ?2 > 0 AND c.kind = 'change' AND length(c.bytes) <= ?5
              AND (c.origin_device IS NULL OR c.origin_device <> ?4)
             THEN c.bytes END,
        r.restricted
   FROM changes c LEFT JOIN records r {RECORDS_PULL} ON r.id = c.record
  WHERE c.unit = ?1 AND c.seq > ?2 ORDER BY c.seq LIMIT ?3";

/// [`WINDOW_SQL`] for `dialect`. SQLite's planner prefers the unique id index (then the
/// table) over the covering `records_pull` unless told; PostgreSQL picks by its statistics.
fn window_sql(dialect: Dialect) -> &'static str {
    static SQLITE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        WINDOW_SQL.replace("{RECORDS_PULL}", "INDEXED BY records_pull")
    });
    static POSTGRES: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| WINDOW_SQL.replace("{RECORDS_PULL}", ""));
    match dialect {
        Dialect::Sqlite => &SQLITE,
        Dialect::Postgres => &POSTGRES,
    }
}

/// A row of [`WINDOW_SQL`].
struct WindowRow {
    log: LogRow,
    origin: Option<String>,
    current: Info,
    /// The device holds the record from this scope (`has_seen`).
    seen: bool,
    bytes: Option<Vec<u8>>,
}

impl WindowRow {
    fn read(mut r: Row, device: &str) -> Result<WindowRow, DbError> {
        let record: String = r.get(1)?;
        let kind: String = r.get(2)?;
        let origin: Option<String> = r.take(4)?;
        let current_kind: Option<String> = r.take(5)?;
        let current_unit: Option<String> = r.take(6)?;
        let doc_len: Option<i64> = r.get(7)?;
        let latest: Option<String> = r.get(8)?;
        let restricted = r.get::<Option<i64>>(10)?.unwrap_or(0) != 0;
        Ok(WindowRow {
            log: LogRow {
                seq: r.get::<i64>(0)? as u64,
                record: Uuid::parse_str(&record).unwrap_or(Uuid::nil()),
                moved: kind == "moved",
                lineage: kind == "lineage",
                len: r.get::<i64>(3)? as usize,
                own: origin.as_deref() == Some(device),
                candidate: false,
            },
            origin,
            current: match (current_kind, current_unit, doc_len) {
                (Some(k), Some(u), Some(n)) => Some((
                    k,
                    sync_core::model::sensitivity::feed_scope(&u, restricted),
                    n.max(0) as usize,
                )),
                _ => None,
            },
            seen: latest.is_some_and(|k| k != "moved"),
            bytes: r.take(9)?,
        })
    }
}

/// Fills `reply` with pull entries, purges, cursors and `more`.
///
/// - Scopes are the user's units; cursors the device holds for any other scope are answered
///   with `Purge::Unit` (the user lost that unit).
/// - Per scope, rows with `seq > cursor` are read in order, at most [`ROW_WINDOW`]. Rows that
///   came from the requesting device and `moved` markers are skipped (a marker becomes
///   `Purge::Record` when the record is no longer in any of the user's units). Rows of a
///   record whose current unit is outside the user's units are skipped.
/// - Remaining rows are grouped by record, in order of their first row. When the device
///   cannot have the record (no row of it in this scope at or below the cursor, or the latest
///   such row is a `moved` marker), it gets the record whole: every logged change of the
///   record (any unit, `seq` order, no markers) when their total size is at most that of the
///   snapshot (`save_uncompressed` of the stored document) and they are exactly the
///   document's changes, else the snapshot. Otherwise it gets the snapshot when that is
///   smaller than the window's changes, else those changes.
/// - `resync` ids come first, each as a snapshot when the record is in the user's units
///   (else nothing, exactly as for an unknown id).
/// - Entries are added while the encoded reply stays within `max_bytes`; the first entry is
///   always added, even when it alone exceeds the budget, so every exchange makes progress,
///   as long as it is at most [`MAX_ENTRY_BYTES`]; a larger one is not sent but answered
///   with `Purge::Record` (its rows count as covered).
/// - A scope's new cursor is the highest `seq` such that every row up to it was sent,
///   covered by a snapshot, or skipped. `more` is set when rows remain in any scope or
///   candidates were left out.
pub fn build_pull(
    conn: &dyn Sql,
    req: &PullRequest<'_>,
    reply: &mut SyncReply,
) -> Result<PullStats, DbError> {
    let scopes: BTreeSet<&str> = req.scopes.iter().map(String::as_str).collect();
    let device = req.device_id.to_string();

    // Scopes the user lost.
    for scope in req.cursors.keys() {
        if !scopes.contains(scope.as_str()) {
            reply.purge.push(Purge::Unit(scope.clone()));
        }
    }

    // Current kind, unit and size of every record we look at, cached.
    let mut info = RecordInfo::new(conn);

    // Candidates: resync answers first.
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut resync_left_out = false;
    let mut seen_resync = BTreeSet::new();
    for (i, id) in req.resync.iter().enumerate() {
        if i >= RESYNC_WINDOW {
            resync_left_out = true;
            break;
        }
        if !seen_resync.insert(*id) {
            continue;
        }
        match info.get(*id)? {
            Some((_, unit, _)) if scopes.contains(unit.as_str()) => candidates.push(Candidate {
                scope: None,
                record: *id,
                rows: Vec::new(),
                must_snapshot: true,
                change_bytes: 0,
                origins: BTreeSet::new(),
            }),
            // Another unit's record is answered exactly like an unknown id (nothing), so that
            // `resync` cannot tell whether it exists.
            _ => {}
        }
    }

    // Each scope's window and its candidates, in one statement per scope: the log rows with
    // their record's current kind, unit and size, whether the device already holds the
    // record from this scope (`has_seen`), and the bytes of small rows it may be sent (so
    // that sending them needs no statement per row).
    let mut windows: Vec<ScopeWindow> = Vec::new();
    let mut marker_purges: BTreeSet<Uuid> = BTreeSet::new();
    for scope in req.scopes {
        let cursor = req.cursors.get(scope).copied().unwrap_or(0);
        let rows: Vec<WindowRow> = conn
            .query(
                window_sql(conn.dialect()),
                &[
                    scope,
                    &(cursor as i64),
                    &(ROW_WINDOW as i64),
                    &device,
                    &(INLINE_ROW_BYTES as i64),
                ],
            )?
            .into_iter()
            .map(|r| WindowRow::read(r, &device))
            .collect::<Result<_, _>>()?;
        for w in &rows {
            info.seed(w.log.record, &w.current);
        }
        let truncated = rows.len() >= ROW_WINDOW;
        let scope_index = windows.len();
        let mut by_record: HashMap<Uuid, usize> = HashMap::new();
        let mut visible_rows: Vec<LogRow> = Vec::with_capacity(rows.len());
        for WindowRow {
            log: mut row,
            origin,
            current,
            seen,
            bytes,
        } in rows
        {
            let visible = current
                .as_ref()
                .is_some_and(|(_, unit, _)| scopes.contains(unit.as_str()));
            if row.moved {
                if !visible {
                    marker_purges.insert(row.record);
                }
                visible_rows.push(row);
                continue;
            }
            if row.own || !visible {
                visible_rows.push(row);
                continue;
            }
            let slot = match by_record.get(&row.record) {
                Some(&i) => i,
                None => {
                    candidates.push(Candidate {
                        scope: Some(scope_index),
                        record: row.record,
                        rows: Vec::new(),
                        must_snapshot: !seen,
                        change_bytes: 0,
                        origins: BTreeSet::new(),
                    });
                    by_record.insert(row.record, candidates.len() - 1);
                    candidates.len() - 1
                }
            };
            // A device whose cursor is before a lineage row may hold an older lineage,
            // which the new one's changes cannot apply to: it gets the snapshot.
            candidates[slot].must_snapshot |= row.lineage;
            candidates[slot].rows.push((row.seq, bytes));
            candidates[slot].change_bytes += row.len;
            candidates[slot].origins.extend(origin);
            row.candidate = true;
            visible_rows.push(row);
        }
        windows.push(ScopeWindow {
            scope: scope.clone(),
            cursor,
            rows: visible_rows,
            truncated,
        });
    }
    reply
        .purge
        .extend(marker_purges.into_iter().map(Purge::Record));

    // Budget: the reply without entries, with every cursor at its highest possible value.
    let budget = req.max_bytes as usize;
    let mut probe = reply.clone();
    probe.more = true;
    for w in &windows {
        if let Some(last) = w.rows.last() {
            probe.cursors.insert(w.scope.clone(), last.seq);
        }
    }
    // `used` stays an upper bound of the encoded reply: the probe's cursors are the highest
    // the reply can hold, and the 16 bytes cover the `pull` array's longer length header.
    let mut used = encode_reply(&probe).len() + 16;
    let mut purged_large = false;
    let mut entries: Vec<PullEntry> = Vec::new();
    let mut whole: Vec<bool> = Vec::new();
    for cand in &candidates {
        let feed = cand.scope.map(|s| windows[s].scope.as_str());
        let entry = materialise(conn, cand, feed, &mut info)?;
        let Some((entry, is_whole)) = entry else {
            // Vanished under us (cannot happen inside one transaction); skip it.
            whole.push(false);
            entries.push(PullEntry {
                record: cand.record,
                kind: String::new(),
                unit: String::new(),
                changes: Vec::new(),
                snapshot: None,
                lineage: 0,
                replace: false,
                redacted: Vec::new(),
            });
            continue;
        };
        let size = entry_size(&entry);
        if used + size > budget && !entries.is_empty() {
            break;
        }
        if used + size > budget && size > MAX_ENTRY_BYTES {
            // Only a record stored before the push limits can be this large: it is never
            // sent (the device is told to drop it) and its rows count as covered.
            tracing::warn!(record = %cand.record, bytes = size, "record too large to send");
            reply.purge.push(Purge::Record(cand.record));
            purged_large = true;
            whole.push(false);
            entries.push(PullEntry {
                record: cand.record,
                kind: String::new(),
                unit: String::new(),
                changes: Vec::new(),
                snapshot: None,
                lineage: 0,
                replace: false,
                redacted: Vec::new(),
            });
            continue;
        }
        used += size;
        whole.push(is_whole);
        entries.push(entry);
    }

    // Assemble with the first `k` candidates and check the real encoded size, unless the
    // upper bound already fits (then the route encodes the reply once, to send it).
    if used <= budget && !purged_large {
        return Ok(assemble(
            reply,
            &candidates,
            &windows,
            &entries,
            &whole,
            resync_left_out,
        ));
    }
    let base = reply.clone();
    let mut k = entries.len();
    loop {
        let mut out = base.clone();
        let stats = assemble(
            &mut out,
            &candidates,
            &windows,
            &entries[..k],
            &whole[..k],
            resync_left_out,
        );
        if k <= 1 || encode_reply(&out).len() <= budget {
            *reply = out;
            return Ok(stats);
        }
        k -= 1;
    }
}

/// A record's current kind, feed scope (its unit, or the unit's restricted scope: what the
/// caller's scopes must hold for the record to be visible) and stored document size.
type Info = Option<(String, String, usize)>;

/// [`Info`] of the records one pull looks at, each read once.
struct RecordInfo<'a> {
    conn: &'a dyn Sql,
    known: HashMap<Uuid, Info>,
}

impl<'a> RecordInfo<'a> {
    fn new(conn: &'a dyn Sql) -> RecordInfo<'a> {
        RecordInfo {
            conn,
            known: HashMap::new(),
        }
    }

    /// Remembers what a window row said of its record (same snapshot).
    fn seed(&mut self, id: Uuid, info: &Info) {
        self.known.entry(id).or_insert_with(|| info.clone());
    }

    fn get(&mut self, id: Uuid) -> Result<Info, DbError> {
        if let Some(v) = self.known.get(&id) {
            return Ok(v.clone());
        }
        let v = self
            .conn
            .query_opt(
                "SELECT kind, unit, doc_len, restricted FROM records WHERE id = ?1",
                &[&id],
            )?
            .map(|mut r| -> Result<_, DbError> {
                let unit: String = r.take(1)?;
                let scope = sync_core::model::sensitivity::feed_scope(&unit, r.get::<i64>(3)? != 0);
                Ok((r.take(0)?, scope, r.get::<i64>(2)? as usize))
            })
            .transpose()?;
        self.known.insert(id, v.clone());
        Ok(v)
    }
}

/// Builds the entry of a candidate: a snapshot or changes, whichever the rules pick. The
/// flag is true when the entry holds the record whole (a snapshot, or every logged change of
/// a record new to the device), so that it covers every row of the record in every window.
/// `feed` is the scope whose rows the candidate covers (`None` for a resync answer).
fn materialise(
    conn: &dyn Sql,
    cand: &Candidate,
    feed: Option<&str>,
    info: &mut RecordInfo<'_>,
) -> Result<Option<(PullEntry, bool)>, DbError> {
    let Some((kind, scope, doc_len)) = info.get(cand.record)? else {
        return Ok(None);
    };
    let unit = sync_core::model::sensitivity::scope_unit(&scope)
        .0
        .to_owned();
    let load = |conn: &dyn Sql| load_with_lineage(conn, cand.record);
    let entry = |changes: Vec<ByteBuf>| PullEntry {
        record: cand.record,
        kind: kind.clone(),
        unit: unit.clone(),
        changes,
        snapshot: None,
        lineage: 0,
        replace: false,
        redacted: Vec::new(),
    };
    let snapshot_entry = |conn: &dyn Sql, snapshot: Vec<u8>, lineage: u64| {
        with_snapshot(conn, entry(Vec::new()), snapshot, lineage)
    };
    if cand.must_snapshot
        && let Some((doc, lineage)) = load(conn)?
    {
        let snapshot = doc.save_uncompressed();
        // A record new to the device (not a resync answer): its whole history from the log
        // when that is no bigger than the snapshot and the log holds every change of the
        // document (else the snapshot). Never for a redacted record: its lineage's first
        // change is logged as the snapshot, not as a change.
        if cand.scope.is_some()
            && lineage == 0
            && let Some(changes) = whole_history(conn, cand.record, &doc, snapshot.len())?
        {
            return Ok(Some((entry(changes), true)));
        }
        return Ok(Some((snapshot_entry(conn, snapshot, lineage)?, true)));
    }
    // The compact document is never larger than the uncompressed snapshot, so changes no
    // larger than it always win without loading the document.
    if cand.change_bytes > doc_len
        && let Some((s, lineage)) = load(conn)?
            .map(|(d, l)| (d.save_uncompressed(), l))
            .filter(|(s, _)| s.len() < cand.change_bytes)
    {
        return Ok(Some((snapshot_entry(conn, s, lineage)?, true)));
    }
    let mut changes = Vec::with_capacity(cand.rows.len());
    // Sequence numbers are per unit on PostgreSQL: a row is (unit, seq).
    let feed = feed.unwrap_or_default();
    for (seq, inline) in &cand.rows {
        let bytes: Vec<u8> = match inline {
            Some(b) => b.clone(),
            None => conn
                .query_one(
                    "SELECT bytes FROM changes WHERE unit = ?1 AND seq = ?2",
                    &[&feed, &(*seq as i64)],
                )?
                .take(0)?,
        };
        changes.push(ByteBuf::from(bytes));
    }
    Ok(Some((entry(changes), false)))
}

/// The stored document of `record` with its lineage (read together: one statement).
fn load_with_lineage(conn: &dyn Sql, record: Uuid) -> Result<Option<(RecordDoc, u64)>, DbError> {
    let row: Option<(Vec<u8>, i64)> = conn
        .query_opt("SELECT doc, lineage FROM records WHERE id = ?1", &[&record])?
        .map(|mut r| -> Result<_, DbError> { Ok((r.take(0)?, r.get(1)?)) })
        .transpose()?;
    Ok(row.and_then(|(d, l)| Some((RecordDoc::load(&d).ok()?, l.max(0) as u64))))
}

/// `entry` holding `snapshot`. Every snapshot of a redacted record (lineage above 0) is
/// marked `replace`, with the removed values' hashes: a device still holding an older
/// lineage must not merge it (the old changes would come back), and one already on this
/// lineage merges it as usual (`docs/protocol.md` §13.3).
fn with_snapshot(
    conn: &dyn Sql,
    entry: PullEntry,
    snapshot: Vec<u8>,
    lineage: u64,
) -> Result<PullEntry, DbError> {
    let redacted = if lineage > 0 {
        redactions(conn, entry.record)?
    } else {
        Vec::new()
    };
    Ok(PullEntry {
        snapshot: Some(ByteBuf::from(snapshot)),
        lineage,
        replace: lineage > 0,
        redacted,
        ..entry
    })
}

/// Every logged change of `record` (any unit, `seq` order, no `moved` markers) when their
/// total size is at most `limit` bytes and they are exactly the changes of `doc`; else
/// `None`.
fn whole_history(
    conn: &dyn Sql,
    record: Uuid,
    doc: &RecordDoc,
    limit: usize,
) -> Result<Option<Vec<ByteBuf>>, DbError> {
    // On PostgreSQL seq is per unit, so for a record that moved between units this order is
    // not causal across them; the device applies the changes as one batch, which Automerge
    // orders by their dependencies.
    let rows = conn.query(
        "SELECT hash, bytes FROM changes WHERE record = ?1 AND kind = 'change' ORDER BY seq",
        &[&record],
    )?;
    let mut hashes: HashSet<[u8; 32]> = HashSet::new();
    let mut changes = Vec::new();
    let mut total = 0usize;
    for mut row in rows {
        let hash: Option<Vec<u8>> = row.take(0)?;
        let bytes: Vec<u8> = row.take(1)?;
        total += bytes.len();
        if total > limit {
            return Ok(None);
        }
        let Some(hash) = hash.and_then(|h| <[u8; 32]>::try_from(h.as_slice()).ok()) else {
            return Ok(None);
        };
        hashes.insert(hash);
        changes.push(ByteBuf::from(bytes));
    }
    // The log must hold exactly the document's changes (a document stored without logging
    // its changes gets a snapshot).
    let in_doc = doc.change_actors();
    let complete = !changes.is_empty()
        && in_doc.len() == hashes.len()
        && hashes.len() == changes.len()
        && in_doc.iter().all(|(h, _)| hashes.contains(&h.0));
    Ok(complete.then_some(changes))
}

/// Encoded size of one entry inside the `pull` array.
fn entry_size(entry: &PullEntry) -> usize {
    let mut count = Count(0);
    let _ = ciborium::into_writer(entry, &mut count);
    count.0
}

/// A writer that only counts what is written to it.
struct Count(usize);

impl std::io::Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Puts the first `entries.len()` candidates into `reply` and computes cursors and `more`.
fn assemble(
    reply: &mut SyncReply,
    candidates: &[Candidate],
    windows: &[ScopeWindow],
    entries: &[PullEntry],
    whole: &[bool],
    resync_left_out: bool,
) -> PullStats {
    let mut stats = PullStats::default();
    let included = &candidates[..entries.len()];
    let mut covered: Vec<BTreeSet<u64>> = vec![BTreeSet::new(); windows.len()];
    let mut sent_records: BTreeSet<Uuid> = BTreeSet::new();
    for ((cand, entry), &whole) in included.iter().zip(entries).zip(whole) {
        if let Some(s) = cand.scope {
            covered[s].extend(cand.rows.iter().map(|(seq, _)| *seq));
        }
        if entry.kind.is_empty() {
            continue;
        }
        // A snapshot, or a record's whole history, covers every row of the record in every
        // scope's window.
        if whole {
            sent_records.insert(entry.record);
            stats.whole.push(entry.record);
        } else {
            stats.writers.extend(cand.origins.iter().cloned());
        }
        if entry.snapshot.is_some() {
            stats.snapshot_entries += 1;
        } else {
            stats.changes_entries += 1;
        }
        stats.sent.push(entry.record);
        reply.pull.push(entry.clone());
    }
    let mut more = resync_left_out || entries.len() < candidates.len();
    for (i, w) in windows.iter().enumerate() {
        let mut cursor = w.cursor;
        let mut complete = true;
        for row in &w.rows {
            let done = !row.candidate
                || covered[i].contains(&row.seq)
                || sent_records.contains(&row.record);
            if !done {
                complete = false;
                break;
            }
            cursor = row.seq;
        }
        if !complete || w.truncated {
            more = true;
        }
        if cursor != w.cursor {
            reply.cursors.insert(w.scope.clone(), cursor);
        }
    }
    reply.more = more;
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::{self, Caller};
    use automerge::ActorId;
    use rusqlite::{Connection, params};
    use sync_core::doc::{Author, Edit, encode_change};
    use sync_core::model::{Fields, Kind, Record, Role, Value};
    use sync_core::protocol::{MIN_MAX_BYTES, PushRecord};
    use sync_core::store::schema::migrate;

    struct Dev {
        id: Uuid,
        actor: [u8; 16],
    }

    impl Dev {
        fn new(n: u8) -> Dev {
            Dev {
                id: Uuid::now_v7(),
                actor: [n; 16],
            }
        }
        fn caller(&self) -> Caller {
            Caller {
                role: Role::Staff,
                scopes: ["07132".to_owned(), "07135".to_owned()].into(),
                device_id: self.id,
                actor: ActorId::from(&self.actor[..]),
            }
        }
    }

    fn db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, crate::schema::SERVER_MIGRATIONS).unwrap();
        conn
    }

    fn push(conn: &mut Connection, dev: &Dev, id: Uuid, kind: &str, mut change: automerge::Change) {
        let tx = conn.transaction().unwrap();
        let out = sync::push(
            &tx,
            &dev.caller(),
            &[PushRecord {
                record: id,
                kind: kind.into(),
                unit: String::new(),
                changes: vec![ByteBuf::from(encode_change(&mut change))],
            }],
            1_000,
            None,
        )
        .unwrap();
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        tx.commit().unwrap();
    }

    /// Creates a citizen with a notes field of `notes_len` bytes (none for 0); returns its id.
    fn create(conn: &mut Connection, dev: &Dev, unit: &str, notes_len: usize) -> Uuid {
        let mut fields = Fields::new();
        fields.insert("full_name".into(), "Nguyễn Văn A".into());
        fields.insert("status".into(), "active".into());
        if notes_len > 0 {
            fields.insert("notes".into(), Value::Text("x".repeat(notes_len)));
        }
        let record = Record {
            id: Uuid::now_v7(),
            kind: Kind::Citizen,
            unit: unit.into(),
            fields,
        };
        let (_, change) = RecordDoc::create(&record, &Author::new(&dev.actor, 1)).unwrap();
        push(conn, dev, record.id, "citizen", change);
        record.id
    }

    fn edit(conn: &mut Connection, dev: &Dev, id: Uuid, edits: &[Edit]) {
        let mut doc = RecordDoc::load(&get_record(conn, id).unwrap().unwrap().doc).unwrap();
        let change = doc
            .edit(edits, &Author::new(&dev.actor, 2))
            .unwrap()
            .unwrap();
        push(conn, dev, id, "citizen", change);
    }

    fn pull(
        conn: &Connection,
        dev: &Dev,
        scopes: &[&str],
        cursors: &[(&str, u64)],
        max_bytes: u64,
    ) -> (SyncReply, PullStats) {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let cursors: BTreeMap<String, u64> =
            cursors.iter().map(|(s, c)| (s.to_string(), *c)).collect();
        let mut reply = SyncReply::empty(0);
        let stats = build_pull(
            conn,
            &PullRequest {
                device_id: dev.id,
                scopes: &scopes,
                cursors: &cursors,
                resync: &[],
                max_bytes,
            },
            &mut reply,
        )
        .unwrap();
        (reply, stats)
    }

    #[test]
    fn the_pull_window_reads_the_record_and_has_seen_from_covering_indexes() {
        let conn = db();
        let plan: Vec<String> = conn
            .prepare(&format!(
                "EXPLAIN QUERY PLAN {}",
                window_sql(Dialect::Sqlite)
            ))
            .unwrap()
            .query_map(params!["07132", 5, 100, "d", 4096], |r| {
                r.get::<_, String>(3)
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(
            plan.iter()
                .any(|p| p.contains("COVERING INDEX records_pull")),
            "{plan:?}"
        );
        assert!(
            plan.iter()
                .any(|p| p.contains("COVERING INDEX changes_record_unit_seq_kind")),
            "{plan:?}"
        );
    }

    #[test]
    fn a_records_indexed_size_follows_every_write_of_its_document() {
        let mut conn = db();
        let a = Dev::new(1);
        let id = create(&mut conn, &a, "07132", 0);
        let sizes = |conn: &Connection| -> (i64, i64) {
            conn.query_row(
                "SELECT doc_len, length(doc) FROM records WHERE id = ?1",
                [id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
        };
        let (len, actual) = sizes(&conn);
        assert!(len > 0);
        assert_eq!(len, actual);
        edit(
            &mut conn,
            &a,
            id,
            &[Edit::Set {
                field: "notes".into(),
                value: "một ghi chú dài hơn trước nhiều".into(),
            }],
        );
        let (len2, actual2) = sizes(&conn);
        assert!(len2 > len);
        assert_eq!(len2, actual2);
    }

    #[test]
    fn a_device_new_to_a_record_gets_its_whole_history_and_later_only_the_new_changes() {
        let mut conn = db();
        let (a, b) = (Dev::new(1), Dev::new(2));
        let id = create(&mut conn, &a, "07132", 0);
        let (reply, stats) = pull(&conn, &b, &["07132"], &[], MIN_MAX_BYTES);
        assert_eq!((stats.changes_entries, stats.snapshot_entries), (1, 0));
        assert_eq!(reply.pull[0].changes.len(), 1, "the creating change");
        assert!(reply.pull[0].snapshot.is_none());
        assert_eq!(reply.cursors["07132"], 1);
        assert!(!reply.more);
        // The history rebuilds the stored document.
        let mut doc = RecordDoc::empty();
        doc.apply_changes(
            reply.pull[0]
                .changes
                .iter()
                .map(|b| sync_core::doc::decode_change(b).unwrap())
                .collect(),
        )
        .unwrap();
        let stored = RecordDoc::load(&get_record(&conn, id).unwrap().unwrap().doc).unwrap();
        assert_eq!(doc.heads(), stored.heads());

        edit(
            &mut conn,
            &a,
            id,
            &[Edit::Set {
                field: "notes".into(),
                value: "z".into(),
            }],
        );
        let (reply, stats) = pull(&conn, &b, &["07132"], &[("07132", 1)], MIN_MAX_BYTES);
        assert_eq!(stats.changes_entries, 1);
        assert_eq!(reply.pull[0].changes.len(), 1);
        assert_eq!(reply.cursors["07132"], 2);
    }

    #[test]
    fn a_push_checked_before_another_write_to_its_record_is_checked_again_and_loses_nothing() {
        let mut conn = db();
        let (a, b) = (Dev::new(1), Dev::new(2));
        let id = create(&mut conn, &a, "07132", 0);
        // Device a's edit is checked against the stored document (outside the writer)…
        let mut doc = RecordDoc::load(&get_record(&conn, id).unwrap().unwrap().doc).unwrap();
        let mut change = doc
            .edit(
                &[Edit::Set {
                    field: "notes".into(),
                    value: "from a".into(),
                }],
                &Author::new(&a.actor, 2),
            )
            .unwrap()
            .unwrap();
        let pushed = [PushRecord {
            record: id,
            kind: "citizen".into(),
            unit: String::new(),
            changes: vec![ByteBuf::from(encode_change(&mut change))],
        }];
        let checked = sync::check_all(&conn, &a.caller(), &pushed, 1_000, None).unwrap();
        // …then device b's edit of another field is stored first.
        edit(
            &mut conn,
            &b,
            id,
            &[Edit::Set {
                field: "full_name".into(),
                value: "Nguyễn Văn B".into(),
            }],
        );
        let tx = conn.transaction().unwrap();
        let out = sync::push_checked(&tx, &a.caller(), &pushed, checked, 1_000, None).unwrap();
        tx.commit().unwrap();
        assert!(out.rejected.is_empty());
        assert_eq!(out.new_changes, 1);
        let stored = RecordDoc::load(&get_record(&conn, id).unwrap().unwrap().doc)
            .unwrap()
            .read()
            .unwrap();
        assert_eq!(stored.text("notes"), Some("from a"));
        assert_eq!(
            stored.text("full_name"),
            Some("Nguyễn Văn B"),
            "b's edit kept"
        );
    }

    #[test]
    fn the_device_that_wrote_a_change_does_not_get_it_back_but_its_cursor_moves() {
        let mut conn = db();
        let a = Dev::new(1);
        create(&mut conn, &a, "07132", 10);
        let (reply, _) = pull(&conn, &a, &["07132"], &[], MIN_MAX_BYTES);
        assert!(reply.pull.is_empty());
        assert_eq!(reply.cursors["07132"], 1);
        assert!(!reply.more);
    }

    #[test]
    fn entries_stop_at_the_budget_and_the_cursor_stops_before_the_first_unsent_row() {
        let mut conn = db();
        let (a, b) = (Dev::new(1), Dev::new(2));
        for _ in 0..10 {
            create(&mut conn, &a, "07132", 4_000);
        }
        let (reply, _) = pull(&conn, &b, &["07132"], &[], MIN_MAX_BYTES);
        let size = encode_reply(&reply).len() as u64;
        assert!(size <= MIN_MAX_BYTES, "{size}");
        let n = reply.pull.len();
        assert!((1..10).contains(&n), "{n} entries");
        assert_eq!(reply.cursors["07132"], n as u64);
        assert!(reply.more);

        // Following the cursor brings the rest, each reply within budget.
        let mut cursor = n as u64;
        let mut total = n;
        for _ in 0..20 {
            let (reply, _) = pull(&conn, &b, &["07132"], &[("07132", cursor)], MIN_MAX_BYTES);
            assert!(encode_reply(&reply).len() as u64 <= MIN_MAX_BYTES);
            total += reply.pull.len();
            cursor = reply.cursors.get("07132").copied().unwrap_or(cursor);
            if !reply.more {
                break;
            }
        }
        assert_eq!(total, 10);
        assert_eq!(cursor, 10);
    }

    #[test]
    fn a_single_entry_larger_than_the_budget_is_still_sent_alone() {
        let mut conn = db();
        let (a, b) = (Dev::new(1), Dev::new(2));
        let big = create(&mut conn, &a, "07132", 3_900);
        for i in 0..10u8 {
            let notes = char::from(b'a' + i).to_string().repeat(3_900);
            edit(
                &mut conn,
                &a,
                big,
                &[Edit::Set {
                    field: "notes".into(),
                    value: notes.into(),
                }],
            );
        }
        create(&mut conn, &a, "07132", 10);
        let (reply, _) = pull(&conn, &b, &["07132"], &[], MIN_MAX_BYTES);
        assert_eq!(reply.pull.len(), 1, "exactly one oversized entry");
        let size = encode_reply(&reply).len();
        assert!(size as u64 > MIN_MAX_BYTES);
        assert!(
            size <= MAX_ENTRY_BYTES,
            "bounded by the largest entry: {size}"
        );
        assert_eq!(reply.cursors["07132"], 11);
        assert!(reply.more);
    }

    #[test]
    fn a_record_too_large_for_any_reply_is_purged_instead_of_sent() {
        let mut conn = db();
        let (a, b) = (Dev::new(1), Dev::new(2));
        let id = create(&mut conn, &a, "07132", 10);
        let small = create(&mut conn, &a, "07132", 10);
        // Stored before the push limits existed: far larger than any entry may be.
        let stored = get_record(&conn, id).unwrap().unwrap();
        let mut doc = RecordDoc::load(&stored.doc).unwrap();
        doc.edit(
            &[Edit::Set {
                field: "notes".into(),
                value: "x".repeat(2 * MAX_ENTRY_BYTES).into(),
            }],
            &Author::new(&a.actor, 2),
        )
        .unwrap()
        .unwrap();
        conn.execute(
            "UPDATE records SET doc = ?1, doc_len = length(?1) WHERE id = ?2",
            params![doc.save(), id.to_string()],
        )
        .unwrap();
        let (reply, _) = pull(&conn, &b, &["07132"], &[], MIN_MAX_BYTES);
        assert!(encode_reply(&reply).len() as u64 <= MIN_MAX_BYTES);
        assert!(reply.pull.iter().all(|e| e.record != id), "never sent");
        assert_eq!(reply.purge, vec![Purge::Record(id)]);
        assert_eq!(reply.pull.len(), 1);
        assert_eq!(reply.pull[0].record, small);
        assert_eq!(reply.cursors["07132"], 2, "its rows are covered");
        assert!(!reply.more);
    }

    #[test]
    fn scopes_the_user_lost_are_purged_and_get_no_cursor() {
        let mut conn = db();
        let (a, b) = (Dev::new(1), Dev::new(2));
        create(&mut conn, &a, "07135", 10);
        let (reply, _) = pull(
            &conn,
            &b,
            &["07132"],
            &[("07135", 1), ("07132", 0)],
            MIN_MAX_BYTES,
        );
        assert_eq!(reply.purge, vec![Purge::Unit("07135".into())]);
        assert!(reply.pull.is_empty());
        assert!(!reply.cursors.contains_key("07135"));
    }

    #[test]
    fn of_a_known_record_the_smaller_of_snapshot_and_changes_is_sent() {
        let mut conn = db();
        let (a, b) = (Dev::new(1), Dev::new(2));
        let id = create(&mut conn, &a, "07132", 2_000);
        let sizes = |conn: &Connection| -> (i64, i64) {
            let changes: i64 = conn
                .query_row(
                    "SELECT sum(length(bytes)) FROM changes WHERE seq > 1",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            let snapshot = RecordDoc::load(&get_record(conn, id).unwrap().unwrap().doc)
                .unwrap()
                .save_uncompressed()
                .len() as i64;
            (changes, snapshot)
        };
        // One small edit of a big record: the change is smaller.
        let note = |i: usize| {
            [Edit::Set {
                field: "notes".into(),
                value: format!("n{i}").into(),
            }]
        };
        edit(&mut conn, &a, id, &note(0));
        let (changes, snapshot) = sizes(&conn);
        assert!(changes < snapshot);
        let (reply, stats) = pull(&conn, &b, &["07132"], &[("07132", 1)], 1 << 20);
        assert_eq!((stats.changes_entries, stats.snapshot_entries), (1, 0));
        assert_eq!(reply.pull[0].changes.len(), 1);

        // Hundreds of edits overwriting each other: the snapshot is smaller, and is chosen.
        for i in 1..300 {
            edit(&mut conn, &a, id, &note(i));
        }
        let (changes, snapshot) = sizes(&conn);
        assert!(snapshot < changes, "{snapshot} vs {changes}");
        let (reply, stats) = pull(&conn, &b, &["07132"], &[("07132", 1)], 1 << 20);
        assert_eq!((stats.changes_entries, stats.snapshot_entries), (0, 1));
        assert_eq!(reply.cursors["07132"], 301);
    }

    #[test]
    fn resync_ids_are_answered_first_with_snapshots() {
        let mut conn = db();
        let (a, b) = (Dev::new(1), Dev::new(2));
        let first = create(&mut conn, &a, "07132", 10);
        let hidden = create(&mut conn, &a, "07135", 10);
        let mut reply = SyncReply::empty(0);
        let scopes = vec!["07132".to_owned()];
        let cursors = BTreeMap::from([("07132".to_owned(), 1)]);
        let resync = [first, hidden, Uuid::now_v7()];
        let stats = build_pull(
            &conn,
            &PullRequest {
                device_id: b.id,
                scopes: &scopes,
                cursors: &cursors,
                resync: &resync,
                max_bytes: MIN_MAX_BYTES,
            },
            &mut reply,
        )
        .unwrap();
        assert_eq!(stats.snapshot_entries, 1);
        assert_eq!(reply.pull[0].record, first);
        assert!(reply.pull[0].snapshot.is_some());
        assert!(
            reply.purge.is_empty(),
            "a record the user may not see is answered like an unknown id"
        );
        assert_eq!(reply.pull.len(), 1);
    }

    #[test]
    fn a_record_that_moved_away_is_purged_from_the_old_scope_and_not_sent() {
        let mut conn = db();
        let (a, b) = (Dev::new(1), Dev::new(2));
        let id = create(&mut conn, &a, "07132", 0);
        let (reply, _) = pull(&conn, &b, &["07132"], &[], MIN_MAX_BYTES);
        assert_eq!(reply.pull.len(), 1);
        edit(
            &mut conn,
            &a,
            id,
            &[Edit::SetUnit {
                unit: "07135".into(),
            }],
        );
        let (reply, _) = pull(&conn, &b, &["07132"], &[("07132", 1)], MIN_MAX_BYTES);
        assert!(reply.pull.is_empty());
        assert_eq!(reply.purge, vec![Purge::Record(id)]);
        assert_eq!(reply.cursors["07132"], 3, "the marker row is covered");
        // A device of the new unit gets it whole. Its history spans both units' feeds (the
        // creating change is in 07132's) but, at 2 changes, is bigger than the snapshot.
        let doc = RecordDoc::load(&get_record(&conn, id).unwrap().unwrap().doc).unwrap();
        let history = whole_history(&conn, id, &doc, usize::MAX).unwrap().unwrap();
        assert_eq!(history.len(), 2);
        let history_len: usize = history.iter().map(|c| c.len()).sum();
        assert!(history_len > doc.save_uncompressed().len());
        let (reply, stats) = pull(&conn, &b, &["07135"], &[], MIN_MAX_BYTES);
        assert_eq!((stats.changes_entries, stats.snapshot_entries), (0, 1));
        assert_eq!(reply.pull[0].unit, "07135");
        // With a limit it fits, the history is taken from every unit.
        assert!(
            whole_history(&conn, id, &doc, history_len - 1)
                .unwrap()
                .is_none()
        );
        assert_eq!(
            whole_history(&conn, id, &doc, history_len)
                .unwrap()
                .unwrap(),
            history
        );
    }

    #[test]
    fn a_record_that_left_a_scope_twice_in_one_window_is_purged_once() {
        let mut conn = db();
        let (a, b) = (Dev::new(1), Dev::new(2));
        let id = create(&mut conn, &a, "07132", 0);
        let (reply, _) = pull(&conn, &b, &["07132"], &[], MIN_MAX_BYTES);
        assert_eq!(reply.pull.len(), 1);
        let cursor = reply.cursors["07132"];
        // Away, back, and away again while the device was offline: two markers in 07132.
        for unit in ["07135", "07132", "07135"] {
            edit(&mut conn, &a, id, &[Edit::SetUnit { unit: unit.into() }]);
        }
        let (reply, _) = pull(&conn, &b, &["07132"], &[("07132", cursor)], MIN_MAX_BYTES);
        assert!(reply.pull.is_empty(), "{:?}", reply.pull);
        assert_eq!(reply.purge, vec![Purge::Record(id)], "listed once");
    }

    #[test]
    fn a_new_record_whose_history_is_bigger_than_its_snapshot_comes_as_a_snapshot() {
        let mut conn = db();
        let (a, b) = (Dev::new(1), Dev::new(2));
        let id = create(&mut conn, &a, "07132", 2_000);
        for i in 0..300 {
            edit(
                &mut conn,
                &a,
                id,
                &[Edit::Set {
                    field: "notes".into(),
                    value: format!("n{i}").into(),
                }],
            );
        }
        let (reply, stats) = pull(&conn, &b, &["07132"], &[], 1 << 20);
        assert_eq!((stats.changes_entries, stats.snapshot_entries), (0, 1));
        assert!(reply.pull[0].snapshot.is_some());
        assert_eq!(reply.cursors["07132"], 301);
        assert!(!reply.more);
    }

    #[test]
    fn a_new_record_whose_log_lacks_a_change_of_its_document_comes_as_a_snapshot() {
        let mut conn = db();
        let (a, b) = (Dev::new(1), Dev::new(2));
        let id = create(&mut conn, &a, "07132", 10);
        // Store an edited document without logging its change.
        let stored = get_record(&conn, id).unwrap().unwrap();
        let mut doc = RecordDoc::load(&stored.doc).unwrap();
        doc.edit(
            &[Edit::Set {
                field: "notes".into(),
                value: "unlogged".into(),
            }],
            &Author::new(&a.actor, 2),
        )
        .unwrap()
        .unwrap();
        conn.execute(
            "UPDATE records SET doc = ?1, doc_len = length(?1) WHERE id = ?2",
            params![doc.save(), id.to_string()],
        )
        .unwrap();
        let (reply, stats) = pull(&conn, &b, &["07132"], &[], MIN_MAX_BYTES);
        assert_eq!((stats.changes_entries, stats.snapshot_entries), (0, 1));
        assert!(reply.pull[0].snapshot.is_some());
        assert_eq!(reply.cursors["07132"], 1);
    }
}
