//! Review tables: items and their links, the per-record index detection reads, and queries
//! for the queue (filters and counts). Every function takes the seam's `&dyn Sql` (a read
//! snapshot or the write transaction).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sync_core::model::{self, Kind, Record, Value};
use uuid::Uuid;

use super::{Candidate, Item, ItemStatus, ItemType};
use crate::db::{DbError, Params, Row, Sql, ToValue, Value as V};

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

const ITEM_COLUMNS: &str = "id, type, status, kind, unit, records, field, candidates, details,
    created_ms, updated_ms, resolved_by, resolved_ms, resolution";

fn item_from_row(r: &Row) -> Result<Item, DbError> {
    let ty: String = r.get(1)?;
    let status: String = r.get(2)?;
    let records: String = r.get(5)?;
    let candidates: String = r.get(7)?;
    let details: String = r.get(8)?;
    let resolution: Option<String> = r.get(13)?;
    Ok(Item {
        id: r.get(0)?,
        item_type: ItemType::parse(&ty).unwrap_or(ItemType::FieldConflict),
        status: ItemStatus::parse(&status).unwrap_or(ItemStatus::Open),
        kind: r.get(3)?,
        unit: r.get(4)?,
        records: serde_json::from_str(&records).unwrap_or_default(),
        field: r.get(6)?,
        candidates: serde_json::from_str(&candidates).unwrap_or_default(),
        details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
        created_ms: r.get(9)?,
        updated_ms: r.get(10)?,
        resolved_by: r.get(11)?,
        resolved_ms: r.get(12)?,
        resolution: resolution.and_then(|s| serde_json::from_str(&s).ok()),
    })
}

/// One item.
pub fn get_item(conn: &dyn Sql, id: i64) -> Result<Option<Item>, DbError> {
    conn.query_opt(
        &format!("SELECT {ITEM_COLUMNS} FROM review_items WHERE id = ?1"),
        &[&id],
    )?
    .map(|r| item_from_row(&r))
    .transpose()
}

/// One item, locked until the transaction ends on PostgreSQL (an admin's decision: a second
/// admin deciding the same item on another node waits, then finds it decided).
pub fn get_item_for_update(tx: &dyn Sql, id: i64) -> Result<Option<Item>, DbError> {
    tx.query_opt(
        &format!(
            "SELECT {ITEM_COLUMNS} FROM review_items WHERE id = ?1{}",
            tx.for_update()
        ),
        &[&id],
    )?
    .map(|r| item_from_row(&r))
    .transpose()
}

fn bind(args: &[V]) -> Vec<&dyn ToValue> {
    args.iter().map(|v| v as &dyn ToValue).collect()
}

/// What to list; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only items in this status.
    pub status: Option<ItemStatus>,
    /// Only items of this unit.
    pub unit: Option<String>,
    /// Only items about this record kind.
    pub kind: Option<String>,
    /// Only items of this type.
    pub item_type: Option<ItemType>,
    /// Only items opened at least this many days ago.
    pub older_than_days: Option<u32>,
    /// Only items opened less than this many days ago.
    pub newer_than_days: Option<u32>,
    /// Only items concerning this record.
    pub record: Option<Uuid>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
    /// Skip this many.
    pub offset: Option<u32>,
}

/// Which part of a filter to leave out (to count along one dimension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Without {
    Nothing,
    Status,
    Unit,
    Kind,
    Type,
}

fn where_clause(f: &Filter, now_ms: i64, without: Without) -> (String, Vec<V>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<V> = Vec::new();
    let mut push = |clause: &str, v: V| {
        args.push(v);
        clauses.push(clause.replace('?', &format!("?{}", args.len())));
    };
    if without != Without::Status
        && let Some(s) = f.status
    {
        push("status = ?", V::Text(s.as_str().into()));
    }
    if without != Without::Unit
        && let Some(u) = &f.unit
    {
        push("unit = ?", V::Text(u.clone()));
    }
    if without != Without::Kind
        && let Some(k) = &f.kind
    {
        push("kind = ?", V::Text(k.clone()));
    }
    if without != Without::Type
        && let Some(t) = f.item_type
    {
        push("type = ?", V::Text(t.as_str().into()));
    }
    if let Some(d) = f.older_than_days {
        push("created_ms <= ?", V::Int(now_ms - i64::from(d) * DAY_MS));
    }
    if let Some(d) = f.newer_than_days {
        push("created_ms > ?", V::Int(now_ms - i64::from(d) * DAY_MS));
    }
    if let Some(r) = f.record {
        push(
            "id IN (SELECT item FROM review_links WHERE record = ?)",
            V::Text(r.to_string()),
        );
    }
    let sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    (sql, args)
}

/// How the queue is ordered: oldest first (it is worked from the front), except that name
/// duplicates whose names agree only without diacritics (`name_match` `folded`: "Hùng" and
/// "Hưng", most often two people) come after every other item, so exact-name duplicates rank
/// above them. `->>` reads a JSON member on both engines (SQLite ≥ 3.38, PostgreSQL `JSONB`).
const QUEUE_ORDER: &str =
    "CASE WHEN details ->> 'name_match' = 'folded' THEN 1 ELSE 0 END, created_ms, id";

/// Items matching `f`, in queue order ([`QUEUE_ORDER`]).
pub fn list_items(conn: &dyn Sql, f: &Filter, now_ms: i64) -> Result<Vec<Item>, DbError> {
    let (clause, mut args) = where_clause(f, now_ms, Without::Nothing);
    let limit = f.limit.unwrap_or(100).clamp(1, 1000);
    let offset = f.offset.unwrap_or(0);
    args.push(V::Int(i64::from(limit)));
    args.push(V::Int(i64::from(offset)));
    let n = args.len();
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM review_items {clause} ORDER BY {QUEUE_ORDER} LIMIT ?{} OFFSET ?{}",
        n - 1,
        n
    );
    conn.query(&sql, &bind(&args))?
        .iter()
        .map(item_from_row)
        .collect()
}

/// Counts for the queue: the total matching the filter, and for each dimension the counts
/// per value with every *other* filter applied (so a filter panel can show what each choice
/// would give).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Items matching the whole filter.
    pub total: u64,
    /// Per status.
    pub by_status: BTreeMap<String, u64>,
    /// Per type.
    pub by_type: BTreeMap<String, u64>,
    /// Per record kind.
    pub by_kind: BTreeMap<String, u64>,
    /// Per unit.
    pub by_unit: BTreeMap<String, u64>,
}

/// Counts of items matching `f`.
pub fn count_items(conn: &dyn Sql, f: &Filter, now_ms: i64) -> Result<Counts, DbError> {
    let group = |column: &str, without: Without| -> Result<BTreeMap<String, u64>, DbError> {
        let (clause, args) = where_clause(f, now_ms, without);
        let sql = format!("SELECT {column}, count(*) FROM review_items {clause} GROUP BY {column}");
        conn.query(&sql, &bind(&args))?
            .iter()
            .map(|r| Ok((r.get::<String>(0)?, r.get::<i64>(1)?.max(0) as u64)))
            .collect::<Result<BTreeMap<_, _>, DbError>>()
    };
    let (clause, args) = where_clause(f, now_ms, Without::Nothing);
    let total: i64 = conn.query_value(
        &format!("SELECT count(*) FROM review_items {clause}"),
        &bind(&args),
    )?;
    Ok(Counts {
        total: total.max(0) as u64,
        by_status: group("status", Without::Status)?,
        by_type: group("type", Without::Type)?,
        by_kind: group("kind", Without::Kind)?,
        by_unit: group("unit", Without::Unit)?,
    })
}

/// What detection found: an item to open or refresh.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// What the item is about (at most one open item per key).
    pub key: String,
    /// The exact situation (change hashes or record ids); a closed item with the same key
    /// and signature is not opened again.
    pub signature: String,
    /// Type.
    pub item_type: ItemType,
    /// Kind of the primary record.
    pub kind: String,
    /// Unit of the primary record.
    pub unit: String,
    /// Records concerned.
    pub records: Vec<Uuid>,
    /// Field path, if any.
    pub field: Option<String>,
    /// Competing values.
    pub candidates: Vec<Candidate>,
    /// Extra facts.
    pub details: serde_json::Value,
}

/// An open item's id and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenItem {
    /// Item id.
    pub id: i64,
    /// Its key.
    pub key: String,
}

/// Open items of one record's family: every open item whose key starts with
/// `<family>:<record>:` (`family` is `rec` or `rule`).
///
/// Read through the item's links, not by matching the key's prefix: a prefix match cannot
/// use an index on either engine (it scanned every open item, once per detected record), and
/// every item of these families is linked to the record its key names (the record is the
/// first of the item's records, and only [`reconcile`] writes links).
pub fn open_of_record(
    conn: &dyn Sql,
    family: &str,
    record: Uuid,
) -> Result<Vec<OpenItem>, DbError> {
    let prefix = format!("{family}:{record}:");
    let rows = conn.query(
        "SELECT i.id, i.key FROM review_items i
         JOIN review_links l ON l.item = i.id
         WHERE l.record = ?1 AND i.status = 'open'
         ORDER BY i.id",
        &[&record],
    )?;
    let mut out = Vec::new();
    for r in rows {
        let key: String = r.get(1)?;
        if key.starts_with(&prefix) {
            out.push(OpenItem { id: r.get(0)?, key });
        }
    }
    Ok(out)
}

/// The open item whose key is exactly `key`, if any (at most one: the open-key index).
pub fn open_with_key(conn: &dyn Sql, key: &str) -> Result<Vec<OpenItem>, DbError> {
    conn.query(
        "SELECT id, key FROM review_items WHERE status = 'open' AND key = ?1",
        &[&key],
    )?
    .iter()
    .map(|r| {
        Ok(OpenItem {
            id: r.get(0)?,
            key: r.get(1)?,
        })
    })
    .collect()
}

/// Open items of `types` linked to `record`.
pub fn open_linked(
    conn: &dyn Sql,
    record: Uuid,
    types: &[ItemType],
) -> Result<Vec<OpenItem>, DbError> {
    let rows = conn
        .query(
            "SELECT i.id, i.key, i.type FROM review_items i
             JOIN review_links l ON l.item = i.id
             WHERE l.record = ?1 AND i.status = 'open'",
            &[&record],
        )?
        .iter()
        .map(|r| {
            Ok((
                OpenItem {
                    id: r.get(0)?,
                    key: r.get(1)?,
                },
                r.get::<String>(2)?,
            ))
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    Ok(rows
        .into_iter()
        .filter(|(_, t)| ItemType::parse(t).is_some_and(|t| types.contains(&t)))
        .map(|(o, _)| o)
        .collect())
}

/// Open items linked to `record`, of any type.
pub fn open_items_of_record(conn: &dyn Sql, record: Uuid) -> Result<Vec<OpenItem>, DbError> {
    open_linked(conn, record, &ItemType::ALL)
}

/// Reconciles the open items of one family (`existing`) with what detection found now:
/// items no longer found are closed automatically, found ones are refreshed or opened
/// (unless a closed item already covers the same key and signature). Returns
/// (opened, refreshed, closed).
pub fn reconcile(
    tx: &dyn Sql,
    existing: &[OpenItem],
    found: &[Finding],
    now_ms: i64,
) -> Result<(usize, usize, usize), DbError> {
    let (mut opened, mut refreshed, mut closed) = (0, 0, 0);
    for old in existing {
        if !found.iter().any(|f| f.key == old.key) {
            tx.execute(
                "UPDATE review_items SET status = 'resolved', resolved_ms = ?2, updated_ms = ?2,
                 resolution = ?3 WHERE id = ?1 AND status = 'open'",
                &[
                    &old.id,
                    &now_ms,
                    &serde_json::json!({
                        "action": "auto",
                        "reason": "the situation no longer exists in the data",
                    })
                    .to_string(),
                ],
            )?;
            closed += 1;
        }
    }
    for f in found {
        let records = serde_json::to_string(&f.records).unwrap_or_else(|_| "[]".into());
        let candidates = serde_json::to_string(&f.candidates).unwrap_or_else(|_| "[]".into());
        let details = if f.details.is_null() {
            "{}".to_owned()
        } else {
            f.details.to_string()
        };
        let open: Option<(i64, String, String)> = tx
            .query_opt(
                "SELECT id, signature, candidates FROM review_items WHERE key = ?1 AND status = 'open'",
                &[&f.key],
            )?
            .map(|r| -> Result<_, DbError> { Ok((r.get(0)?, r.get(1)?, r.get(2)?)) })
            .transpose()?;
        let id = match open {
            Some((id, signature, old_candidates)) => {
                // Compared as JSON values: PostgreSQL's JSONB gives back normalised text.
                if signature == f.signature && same_json(&old_candidates, &candidates) {
                    continue;
                }
                tx.execute(
                    "UPDATE review_items SET signature = ?2, kind = ?3, unit = ?4, records = ?5,
                     field = ?6, candidates = ?7, details = ?8, updated_ms = ?9 WHERE id = ?1",
                    &[
                        &id,
                        &f.signature,
                        &f.kind,
                        &f.unit,
                        &records,
                        &f.field,
                        &candidates,
                        &details,
                        &now_ms,
                    ],
                )?;
                tx.execute("DELETE FROM review_links WHERE item = ?1", &[&id])?;
                refreshed += 1;
                id
            }
            None => {
                let settled: bool = tx.query_value(
                    "SELECT EXISTS (SELECT 1 FROM review_items
                     WHERE key = ?1 AND signature = ?2 AND status <> 'open')",
                    &[&f.key, &f.signature],
                )?;
                if settled {
                    continue;
                }
                // At most one open item per key (a partial unique index): when detection on
                // another node opened this one since the SELECT above, this INSERT waits for
                // it and fails on the key; the writer then runs the job again, and that run
                // finds the item open (PostgreSQL; SQLite has one writer).
                let id: i64 = tx.query_value(
                    "INSERT INTO review_items (type, status, key, signature, kind, unit, records,
                     field, candidates, details, created_ms, updated_ms)
                     VALUES (?1, 'open', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)
                     RETURNING id",
                    &[
                        &f.item_type.as_str(),
                        &f.key,
                        &f.signature,
                        &f.kind,
                        &f.unit,
                        &records,
                        &f.field,
                        &candidates,
                        &details,
                        &now_ms,
                    ],
                )?;
                opened += 1;
                id
            }
        };
        for r in &f.records {
            tx.execute(
                "INSERT INTO review_links (record, item) VALUES (?1, ?2)
                 ON CONFLICT (record, item) DO NOTHING",
                &[r, &id],
            )?;
        }
    }
    Ok((opened, refreshed, closed))
}

/// Whether two JSON texts hold the same value (whatever their spacing and key order).
fn same_json(a: &str, b: &str) -> bool {
    a == b
        || serde_json::from_str::<serde_json::Value>(a).ok()
            == serde_json::from_str::<serde_json::Value>(b).ok()
}

/// Marks an open item resolved or dismissed; returns whether it was still open.
pub fn close_item(
    tx: &dyn Sql,
    id: i64,
    status: ItemStatus,
    by: &str,
    resolution: &serde_json::Value,
    now_ms: i64,
) -> Result<bool, DbError> {
    let n = tx.execute(
        "UPDATE review_items SET status = ?2, resolved_by = ?3, resolved_ms = ?4,
         updated_ms = ?4, resolution = ?5 WHERE id = ?1 AND status = 'open'",
        &[&id, &status.as_str(), &by, &now_ms, &resolution.to_string()],
    )?;
    Ok(n == 1)
}

/// What the index knows about a record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexRow {
    /// Record id.
    pub record: Uuid,
    /// Kind name.
    pub kind: String,
    /// Current unit.
    pub unit: String,
    /// Status.
    pub status: Option<String>,
    /// ID number (citizens).
    pub id_number: Option<String>,
    /// Search key of the full name (citizens).
    pub name_key: Option<String>,
    /// Date of birth (citizens).
    pub date_of_birth: Option<String>,
    /// The citizen a declaration or application is about.
    pub citizen_id: Option<String>,
    /// Residence procedure (declarations).
    pub procedure: Option<String>,
    /// Address: a declaration's address, a citizen's permanent address.
    pub address: Option<String>,
    /// Unit of that address: a declaration's `address_unit`, a citizen's `permanent_unit`.
    pub address_unit: Option<String>,
    /// Declaration start.
    pub from_date: Option<String>,
    /// Declaration end.
    pub to_date: Option<String>,
    /// The record this one was merged into.
    pub merged_into: Option<String>,
    /// The day its address unit code was captured (a citizen's `captured_on`, a
    /// declaration's `filed_on`), as which the code is read.
    pub captured_on: Option<String>,
}

impl IndexRow {
    /// The index row of a record.
    pub fn of(record: &Record) -> IndexRow {
        let t = |f: &str| record.text(f).map(str::to_owned).filter(|s| !s.is_empty());
        let mut row = IndexRow {
            record: record.id,
            kind: record.kind.as_str().to_owned(),
            unit: record.unit.clone(),
            status: t("status"),
            merged_into: t("merged_into"),
            captured_on: model::captured_on(record).map(str::to_owned),
            ..IndexRow::default()
        };
        match record.kind {
            Kind::Citizen => {
                row.id_number = t("id_number");
                row.name_key = t("full_name")
                    .map(|n| model::search_key(&n))
                    .filter(|k| !k.is_empty());
                row.date_of_birth = t("date_of_birth");
                row.address = t("permanent_address");
                row.address_unit = t("permanent_unit");
            }
            Kind::ResidenceDeclaration => {
                row.citizen_id = t("citizen_id");
                row.procedure = t("procedure");
                row.address = t("address");
                row.address_unit = t("address_unit");
                row.from_date = t("from_date");
                row.to_date = t("to_date");
            }
            Kind::CccdApplication => {
                row.citizen_id = t("citizen_id");
                row.id_number = None;
            }
            Kind::Household => {
                row.address = t("address");
            }
        }
        row
    }
}

fn index_from_row(r: &Row) -> Result<IndexRow, DbError> {
    let id: String = r.get(0)?;
    Ok(IndexRow {
        record: Uuid::parse_str(&id).unwrap_or(Uuid::nil()),
        kind: r.get(1)?,
        unit: r.get(2)?,
        status: r.get(3)?,
        id_number: r.get(4)?,
        name_key: r.get(5)?,
        date_of_birth: r.get(6)?,
        citizen_id: r.get(7)?,
        procedure: r.get(8)?,
        address: r.get(9)?,
        address_unit: r.get(10)?,
        from_date: r.get(11)?,
        to_date: r.get(12)?,
        merged_into: r.get(13)?,
        captured_on: r.get(14)?,
    })
}

const INDEX_COLUMNS: &str = "record, kind, unit, status, id_number, name_key, date_of_birth,
    citizen_id, procedure, address, address_unit, from_date, to_date, merged_into, captured_on";

/// The upsert of an index row: rewritten only when a column changed
/// ([`crate::db::update_if_changed`]).
static UPSERT_INDEX_ROW: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let columns: Vec<&str> = INDEX_COLUMNS
        .split(',')
        .map(str::trim)
        .filter(|c| *c != "record")
        .collect();
    format!(
        "INSERT INTO review_index ({INDEX_COLUMNS})
         VALUES ({}) ON CONFLICT (record) {}",
        crate::db::placeholders(1, columns.len() + 1),
        crate::db::update_if_changed("review_index", &columns, &[])
    )
});

/// Writes a record's index row and (for households) its membership rows.
pub fn index_record(tx: &dyn Sql, record: &Record) -> Result<IndexRow, DbError> {
    let row = IndexRow::of(record);
    tx.execute(
        &UPSERT_INDEX_ROW,
        &[
            &row.record,
            &row.kind,
            &row.unit,
            &row.status,
            &row.id_number,
            &row.name_key,
            &row.date_of_birth,
            &row.citizen_id,
            &row.procedure,
            &row.address,
            &row.address_unit,
            &row.from_date,
            &row.to_date,
            &row.merged_into,
            &row.captured_on,
        ],
    )?;
    if record.kind == Kind::Citizen {
        index_numbers(tx, record)?;
    }
    if record.kind == Kind::Household {
        index_members(tx, record)?;
    }
    Ok(row)
}

/// A household's member rows, rewritten only when its members or their relationships
/// changed.
fn index_members(tx: &dyn Sql, record: &Record) -> Result<(), DbError> {
    let id = record.id.to_string();
    let mut now: Vec<(String, Option<String>)> = record
        .fields
        .get("members")
        .and_then(Value::as_map)
        .map(|members| {
            members
                .iter()
                .map(|(citizen, entry)| {
                    let rel = entry
                        .as_map()
                        .and_then(|m| m.get("relationship"))
                        .and_then(Value::as_text)
                        .map(str::to_owned);
                    (citizen.clone(), rel)
                })
                .collect()
        })
        .unwrap_or_default();
    now.sort();
    let mut had: Vec<(String, Option<String>)> = tx
        .query(
            "SELECT citizen, relationship FROM review_members WHERE household = ?1",
            &[&id],
        )?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect::<Result<_, DbError>>()?;
    had.sort();
    if had == now {
        return Ok(());
    }
    tx.execute("DELETE FROM review_members WHERE household = ?1", &[&id])?;
    for (citizen, rel) in &now {
        tx.execute(
            "INSERT INTO review_members (household, citizen, relationship)
             VALUES (?1, ?2, ?3)
             ON CONFLICT (citizen, household)
             DO UPDATE SET relationship = excluded.relationship",
            &[&id, citizen, rel],
        )?;
    }
    Ok(())
}

/// Every number a citizen carries: the personal ID number, the old CMND number and each
/// earlier ID number (`previous_id_numbers`), as stored (normalised at save).
pub fn numbers_of(record: &Record) -> Vec<String> {
    let mut out: Vec<String> = ["id_number", "old_id_number"]
        .iter()
        .filter_map(|f| record.text(f))
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(earlier) = record
        .fields
        .get("previous_id_numbers")
        .and_then(Value::as_map)
    {
        out.extend(earlier.keys().filter(|n| !n.is_empty()).cloned());
    }
    out.sort();
    out.dedup();
    out
}

/// Rewrites a citizen's `review_numbers` rows when its numbers changed (most edits leave
/// them: then one read, no write).
fn index_numbers(tx: &dyn Sql, record: &Record) -> Result<(), DbError> {
    let id = record.id.to_string();
    let now = numbers_of(record);
    let mut had: Vec<String> = tx
        .query(
            "SELECT number FROM review_numbers WHERE record = ?1",
            &[&id],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect::<Result<_, _>>()?;
    had.sort();
    if had == now {
        return Ok(());
    }
    tx.execute("DELETE FROM review_numbers WHERE record = ?1", &[&id])?;
    for number in &now {
        tx.execute(
            "INSERT INTO review_numbers (number, record) VALUES (?1, ?2)",
            &[number, &id],
        )?;
    }
    Ok(())
}

/// Citizens other than `record` carrying one of `numbers` (any of their numbers).
pub fn records_with_numbers(
    conn: &dyn Sql,
    record: Uuid,
    numbers: &[String],
) -> Result<Vec<Uuid>, DbError> {
    let mut out = Vec::new();
    let me = record.to_string();
    for number in numbers {
        for r in conn.query(
            "SELECT record FROM review_numbers WHERE number = ?1 AND record != ?2",
            &[number, &me],
        )? {
            if let Ok(id) = Uuid::parse_str(&r.get::<String>(0)?) {
                out.push(id);
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The index row of a record.
pub fn index_row(conn: &dyn Sql, record: Uuid) -> Result<Option<IndexRow>, DbError> {
    conn.query_opt(
        &format!("SELECT {INDEX_COLUMNS} FROM review_index WHERE record = ?1"),
        &[&record],
    )?
    .map(|r| index_from_row(&r))
    .transpose()
}

/// Index rows matching a SQL condition on `review_index` with the given arguments.
pub fn index_where(
    conn: &dyn Sql,
    condition: &str,
    args: Params<'_>,
) -> Result<Vec<IndexRow>, DbError> {
    conn.query(
        &format!("SELECT {INDEX_COLUMNS} FROM review_index WHERE {condition} ORDER BY record"),
        args,
    )?
    .iter()
    .map(index_from_row)
    .collect()
}

/// Households that list `citizen` as a member.
pub fn households_of(conn: &dyn Sql, citizen: Uuid) -> Result<Vec<Uuid>, DbError> {
    Ok(conn
        .query(
            "SELECT household FROM review_members WHERE citizen = ?1 ORDER BY household",
            &[&citizen],
        )?
        .iter()
        .filter_map(|r| r.get::<String>(0).ok())
        .filter_map(|s| Uuid::parse_str(&s).ok())
        .collect())
}

/// Who is behind a change: device id, device name and user, looked up through the change
/// log (the device that sent the change) and, failing that, the actor registered to a device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Who {
    /// Device id.
    pub device: Option<String>,
    /// Device name.
    pub device_name: Option<String>,
    /// User name.
    pub user: Option<String>,
}

/// Resolves the device and user behind a change (hash hex) written by an actor (hex).
pub fn who(conn: &dyn Sql, change_hex: &str, actor_hex: &str) -> Result<Who, DbError> {
    let mut device: Option<String> = None;
    if let Ok(hash) = hex::decode(change_hex) {
        device = conn
            .query_opt(
                "SELECT origin_device FROM changes WHERE hash = ?1",
                &[&hash],
            )?
            .map(|r| r.get::<Option<String>>(0))
            .transpose()?
            .flatten();
    }
    let row = |sql: &str, key: &str| -> Result<Option<(String, String, String)>, DbError> {
        conn.query_opt(sql, &[&key])?
            .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .transpose()
    };
    let found = match &device {
        Some(d) => row(
            "SELECT d.id, d.name, u.username FROM devices d JOIN users u ON u.id = d.user_id
             WHERE d.id = ?1",
            d,
        )?,
        None => row(
            "SELECT d.id, d.name, u.username FROM devices d JOIN users u ON u.id = d.user_id
             WHERE d.actor = ?1",
            actor_hex,
        )?,
    };
    Ok(match found {
        Some((id, name, user)) => Who {
            device: Some(id),
            device_name: Some(name).filter(|n| !n.is_empty()),
            user: Some(user),
        },
        None => Who {
            device,
            ..Who::default()
        },
    })
}

/// Hex actor ids of every admin's server-side review device.
pub fn review_actor_hexes(conn: &dyn Sql) -> Result<Vec<String>, DbError> {
    conn.query(
        "SELECT d.actor FROM review_actors r JOIN devices d ON d.id = r.device_id",
        &[],
    )?
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// Fills a candidate's device, device name and user.
pub fn attribute(conn: &dyn Sql, c: &mut Candidate) -> Result<(), DbError> {
    let w = who(conn, &c.change, &c.actor)?;
    c.device = w.device;
    c.device_name = w.device_name;
    c.user = w.user;
    Ok(())
}
