//! Detection: after an accepted push is committed, look at the records it touched (taken
//! from the durable queue, [`super::queue`]) and their relations, and open, refresh or close
//! review items.
//!
//! Detection is incremental. For each touched record it
//! 1. rewrites the record's [`IndexRow`](super::store::IndexRow) (and household memberships);
//! 2. re-evaluates the items about that record alone (field and status conflicts, edits
//!    concurrent with a withdrawal, household heads): family `rec:<id>:…`;
//! 3. for a citizen, re-evaluates its duplicate pairs (same ID number; same name key, date of
//!    birth and unit): every open duplicate item linked to it, and every pair it forms now;
//! 4. re-evaluates the permanent residences of every citizen concerned: the citizen itself,
//!    the citizen a declaration is about, and the citizens of open residence items linked to
//!    the record (a declaration that moved to another citizen).
//!
//! On PostgreSQL (several nodes) detection runs at SERIALIZABLE isolation: two nodes
//! detecting the two records of one duplicate at once would otherwise each index its record
//! without seeing the other's uncommitted index row, and neither would open the item.
//! PostgreSQL aborts one of them, which runs again and finds the pair; the partial unique
//! index on open keys keeps it at one item when both see it.
//!
//! Within a family, items no longer found are closed automatically, found ones are refreshed
//! (new competing values) or opened; a situation an admin already resolved or dismissed (same
//! key and signature) is not opened again.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use automerge::ChangeHash;
use sync_core::doc::{self, FieldChange, RecordDoc};
use sync_core::model::{Kind, Record, Value, field_spec, rules};
use sync_core::time::local_date;
use uuid::Uuid;

use super::store::{self, Finding, IndexRow};
use super::{Candidate, ItemType};
use crate::db::{DbError, Sql, Store};
use crate::doc_cache::DocCache;
use crate::feed;

/// What one detection pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DetectStats {
    /// Items opened.
    pub opened: usize,
    /// Open items refreshed with new values.
    pub refreshed: usize,
    /// Open items closed because the situation went away.
    pub closed: usize,
}

impl DetectStats {
    fn add(&mut self, (o, r, c): (usize, usize, usize)) {
        self.opened += o;
        self.refreshed += r;
        self.closed += c;
    }
}

const DUPLICATES: [ItemType; 2] = [ItemType::DuplicateIdNumber, ItemType::DuplicateNameDob];

/// Runs detection for `records` (ids of records just written) in the caller's transaction.
///
/// A record whose stored document cannot be read is skipped (and logged); storage errors
/// propagate so the caller's transaction rolls back as a whole.
pub fn detect(tx: &dyn Sql, records: &[Uuid], now_ms: i64) -> anyhow::Result<DetectStats> {
    detect_cached(tx, records, now_ms, None)
}

/// [`detect`], taking loaded documents from `cache` when it holds them.
pub fn detect_cached(
    tx: &dyn Sql,
    records: &[Uuid],
    now_ms: i64,
    cache: Option<&DocCache>,
) -> anyhow::Result<DetectStats> {
    let mut seen = HashSet::new();
    let mut loaded: Vec<(Arc<RecordDoc>, Arc<Record>)> = Vec::new();
    for id in records {
        if !seen.insert(*id) {
            continue;
        }
        let Some(stored) = feed::get_record(tx, *id)? else {
            continue;
        };
        // The push that stored this version may have left its reading in the cache.
        let read = match cache {
            Some(c) => c.reading(*id, &stored.heads, &stored.doc),
            None => RecordDoc::load(&stored.doc).and_then(|d| {
                let r = d.read()?;
                Ok((Arc::new(d), Arc::new(r)))
            }),
        };
        match read {
            Ok(pair) => loaded.push(pair),
            Err(e) => {
                tracing::warn!(record = %id, error = %e, "review: unreadable document skipped")
            }
        }
    }
    detect_loaded(tx, &loaded, now_ms, cache)
}

/// [`detect`] over documents the caller already holds: each is the record's stored document
/// (as just written in `tx`) with its reading, one per record.
pub fn detect_loaded(
    tx: &dyn Sql,
    loaded: &[(Arc<RecordDoc>, Arc<Record>)],
    now_ms: i64,
    cache: Option<&DocCache>,
) -> anyhow::Result<DetectStats> {
    let mut stats = DetectStats::default();
    let records = Records::seeded(tx, loaded, cache);
    for (_, record) in loaded {
        store::index_record(tx, record)?;
        crate::reports::index::index_record(tx, record, now_ms)?;
    }
    if loaded.is_empty() {
        return Ok(stats);
    }
    let review_actors: HashSet<String> = store::review_actor_hexes(tx)?.into_iter().collect();
    let today = local_date(now_ms);
    let mut citizens: BTreeSet<Uuid> = BTreeSet::new();
    for (doc, record) in loaded {
        let found = record_findings(tx, doc, record, &review_actors)?;
        let existing = store::open_of_record(tx, "rec", record.id)?;
        stats.add(store::reconcile(tx, &existing, &found, now_ms)?);

        if record.kind == Kind::Citizen {
            let found = duplicate_findings(&records, record)?;
            let existing = store::open_linked(tx, record.id, &DUPLICATES)?;
            stats.add(store::reconcile(tx, &existing, &found, now_ms)?);
            citizens.insert(record.id);
        }
        if let Some(c) = record
            .text("citizen_id")
            .and_then(|s| Uuid::parse_str(s).ok())
            && matches!(
                record.kind,
                Kind::ResidenceDeclaration | Kind::CccdApplication
            )
        {
            // Its citizen's rules see the dossier (registrations; open applications).
            citizens.insert(c);
        }
        for item in store::open_linked(tx, record.id, &[ItemType::TwoPermanentResidences])? {
            if let Some(c) = item
                .key
                .strip_prefix("pr:")
                .and_then(|s| Uuid::parse_str(s).ok())
            {
                citizens.insert(c);
            }
        }
    }
    let mut rule_records: BTreeSet<Uuid> = loaded.iter().map(|(_, r)| r.id).collect();
    for c in &citizens {
        rule_records.insert(*c);
        for row in store::index_where(tx, "citizen_id = ?1", &[&c.to_string()])? {
            rule_records.insert(row.record);
        }
        rule_records.extend(store::households_of(tx, *c)?);
    }
    for c in citizens {
        let found = residence_findings(&records, c, &today)?;
        let existing = store::open_with_key(tx, &format!("pr:{c}"))?;
        stats.add(store::reconcile(tx, &existing, &found, now_ms)?);
    }
    if let Some(day) = sync_core::time::local_day(now_ms) {
        for id in rule_records {
            let found = rule_findings(&records, id, day)?;
            let existing = store::open_of_record(tx, "rule", id)?;
            stats.add(store::reconcile(tx, &existing, &found, now_ms)?);
        }
    }
    Ok(stats)
}

/// The stored records, read once per detection pass: the cross-record rules of neighbouring
/// records look at the same citizens, households and registrations again and again, and
/// loading a document is the expensive part of detection. Records do not change during the
/// pass (it runs in one transaction that writes review items only).
struct Records<'a> {
    conn: &'a dyn Sql,
    cache: Option<&'a DocCache>,
    read: std::cell::RefCell<std::collections::HashMap<Uuid, Option<Arc<Record>>>>,
}

impl<'a> Records<'a> {
    /// Starts with the records the pass has already read.
    fn seeded(
        conn: &'a dyn Sql,
        loaded: &[(Arc<RecordDoc>, Arc<Record>)],
        cache: Option<&'a DocCache>,
    ) -> Records<'a> {
        let read = loaded
            .iter()
            .map(|(_, r)| (r.id, Some(r.clone())))
            .collect();
        Records {
            conn,
            cache,
            read: std::cell::RefCell::new(read),
        }
    }

    fn get(&self, id: Uuid) -> Result<Option<Arc<Record>>, DbError> {
        if let Some(r) = self.read.borrow().get(&id) {
            return Ok(r.clone());
        }
        let r = load_record(self.conn, id, self.cache)?;
        self.read.borrow_mut().insert(id, r.clone());
        Ok(r)
    }
}

/// The stored records, as the source of cross-record rules: complete (a record missing here
/// does not exist).
struct StoredRecords<'a, 'b>(&'b Records<'a>);

impl rules::Related for StoredRecords<'_, '_> {
    fn get(&self, id: Uuid) -> Option<Arc<Record>> {
        self.0.get(id).ok().flatten()
    }
    fn complete(&self) -> bool {
        true
    }
}

/// A stored record, read; `None` when absent or unreadable. From the cache's reading
/// when it holds this version (detection of a record just pushed looks at the records it
/// names, which the same evening's pushes have usually just loaded).
fn load_record(
    conn: &dyn Sql,
    id: Uuid,
    cache: Option<&DocCache>,
) -> Result<Option<Arc<Record>>, DbError> {
    if let Some(c) = cache {
        // The heads first: a cached reading then needs no read of the document's bytes.
        let Some(heads) = feed::get_heads(conn, id)? else {
            return Ok(None);
        };
        let mut failed = None;
        let read = c.reading_only(id, &heads, || match feed::get_record(conn, id) {
            Ok(stored) => stored.filter(|s| s.heads == heads).map(|s| s.doc),
            Err(e) => {
                failed = Some(e);
                None
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        return Ok(read.ok().flatten());
    }
    let Some(stored) = feed::get_record(conn, id)? else {
        return Ok(None);
    };
    Ok(RecordDoc::load(&stored.doc)
        .and_then(|d| d.read())
        .ok()
        .map(Arc::new))
}

/// The legal rules across records for one record (family `rule:<record>:<code>:<field>`):
/// [`rules::related_findings`] with every stored record as the source, and for a citizen
/// [`rules::deceased_vs_records`] over the citizen's declarations and applications. Records
/// that are withdrawn or merged raise nothing.
fn rule_findings(
    records: &Records<'_>,
    id: Uuid,
    today: sync_core::model::Date,
) -> Result<Vec<Finding>, DbError> {
    let conn = records.conn;
    let Some(record) = records.get(id)? else {
        return Ok(Vec::new());
    };
    if matches!(record.status(), Some("withdrawn" | "merged_into")) {
        return Ok(Vec::new());
    }
    let mut found = rules::related_findings(&record, &StoredRecords(records), today);
    if record.kind == Kind::Citizen {
        let mut related = Vec::new();
        for row in store::index_where(conn, "citizen_id = ?1", &[&id.to_string()])? {
            if let Some(r) = records.get(row.record)? {
                related.push(r);
            }
        }
        found.extend(rules::deceased_vs_records(&record, &related, today));
        found.extend(rules::open_applications(&record, &related));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for f in found {
        let key = format!("rule:{id}:{}:{}", f.code, f.field);
        if !seen.insert(key.clone()) {
            continue;
        }
        out.push(Finding {
            signature: key.clone(),
            key,
            item_type: ItemType::RuleFinding,
            kind: record.kind.as_str().to_owned(),
            unit: record.unit.clone(),
            records: related_ids(&record),
            field: Some(f.field.clone()),
            candidates: Vec::new(),
            details: serde_json::json!({"code": f.code, "message": f.message}),
        });
    }
    Ok(out)
}

/// The record itself first, then the records it names (citizen, registration).
fn related_ids(record: &Record) -> Vec<Uuid> {
    let mut ids = vec![record.id];
    for field in ["citizen_id", "registration_id", "head_id"] {
        if let Some(id) = record.text(field).and_then(|s| Uuid::parse_str(s).ok())
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    }
    ids
}

/// Indexes every stored record and runs detection over all of them, in batches of `batch`
/// records per transaction (for databases that existed before the review queue, and for
/// `ferry review scan`).
pub fn scan_all(store: &Store, batch: usize, now_ms: i64) -> anyhow::Result<(usize, DetectStats)> {
    let ids: Vec<Uuid> = store.read(|c| -> Result<Vec<Uuid>, DbError> {
        Ok(c.query("SELECT id FROM records ORDER BY id", &[])?
            .iter()
            .filter_map(|r| r.get::<String>(0).ok())
            .filter_map(|s| Uuid::parse_str(&s).ok())
            .collect())
    })?;
    // Index everything first so that pairs across batches are seen from both sides.
    for chunk in ids.chunks(batch.max(1)) {
        crate::writer::retrying(|| {
            store.write_serializable(|tx| -> anyhow::Result<()> {
                for id in chunk {
                    if let Some(stored) = feed::get_record(tx, *id)?
                        && let Ok(record) = RecordDoc::load(&stored.doc).and_then(|d| d.read())
                    {
                        store::index_record(tx, &record)?;
                        crate::reports::index::index_record(tx, &record, now_ms)?;
                    }
                }
                Ok(())
            })
        })?;
    }
    let mut stats = DetectStats::default();
    for chunk in ids.chunks(batch.max(1)) {
        let s =
            crate::writer::retrying(|| store.write_serializable(|tx| detect(tx, chunk, now_ms)))?;
        stats.opened += s.opened;
        stats.refreshed += s.refreshed;
        stats.closed += s.closed;
    }
    Ok((ids.len(), stats))
}

/// Queues for detection every record that was never detected: records that predate the
/// review queue (not in the review index) or the report index (an application, declaration or
/// citizen without its report row), and records loaded by `ferry import` into a stopped server. The
/// review worker detects them in the background once the server serves, so a large database
/// starts at once instead of after detecting everything. Returns how many were queued (0
/// when every record is detected or already queued).
pub fn backfill(store: &Store, now_ms: i64) -> anyhow::Result<u64> {
    Ok(store.write(|tx| -> Result<u64, DbError> {
        tx.execute(
            "INSERT INTO review_queue (record, queued_ms)
             SELECT r.id, ?1 FROM records r
              WHERE NOT EXISTS (SELECT 1 FROM review_index i WHERE i.record = r.id)
                 OR (r.kind IN ('cccd_application', 'residence_declaration')
                     AND NOT EXISTS (SELECT 1 FROM report_dossiers d WHERE d.record = r.id))
                 OR (r.kind = 'citizen'
                     AND NOT EXISTS (SELECT 1 FROM report_citizens c WHERE c.record = r.id))
             ON CONFLICT (record) DO NOTHING",
            &[&now_ms],
        )
    })?)
}

fn candidate(value: Value, actor: &str, change: &str, time_ms: i64) -> Candidate {
    Candidate {
        value,
        record: None,
        winner: false,
        actor: actor.to_owned(),
        change: change.to_owned(),
        time_ms,
        device: None,
        device_name: None,
        user: None,
        detail: serde_json::Value::Null,
    }
}

/// Field and status conflicts, edits concurrent with a withdrawal, household heads.
fn record_findings(
    conn: &dyn Sql,
    doc: &RecordDoc,
    record: &Record,
    review_actors: &HashSet<String>,
) -> Result<Vec<Finding>, DbError> {
    let mut out = Vec::new();
    let mut status_conflicted = false;
    // A stored document passed the shape walk when it was stored (`sync::evaluate`).
    for c in doc.conflicts_known_shape() {
        let top = c.field.split('.').next().unwrap_or("");
        if !field_spec(record.kind, top).is_some_and(|s| s.review) {
            continue;
        }
        // Concurrent writes of one and the same value need no decision.
        if c.values.iter().all(|v| v.value == c.values[0].value) {
            continue;
        }
        let is_status = c.field == "status";
        status_conflicted |= is_status;
        let mut candidates = Vec::with_capacity(c.values.len());
        for (i, v) in c.values.iter().enumerate() {
            let mut cand = candidate(v.value.clone(), &v.actor, &v.change, v.time_ms);
            cand.winner = i == 0;
            store::attribute(conn, &mut cand)?;
            candidates.push(cand);
        }
        let mut signature: Vec<&str> = c.values.iter().map(|v| v.change.as_str()).collect();
        signature.sort_unstable();
        out.push(Finding {
            key: if is_status {
                format!("rec:{}:status", record.id)
            } else {
                format!("rec:{}:field:{}", record.id, c.field)
            },
            signature: signature.join(","),
            item_type: if is_status {
                ItemType::StatusConflict
            } else {
                ItemType::FieldConflict
            },
            kind: record.kind.as_str().to_owned(),
            unit: record.unit.clone(),
            records: vec![record.id],
            field: Some(c.field.clone()),
            candidates,
            details: serde_json::json!({}),
        });
    }
    let mut history: Option<Vec<FieldChange>> = None;
    if record.kind == Kind::Household
        && let Some(f) = household_head(conn, doc, record, &mut history)?
    {
        out.push(f);
    }
    if !status_conflicted
        && record.status() == Some("withdrawn")
        && let Some(f) = edit_during_withdrawal(conn, doc, record, review_actors, &mut history)?
    {
        out.push(f);
    }
    Ok(out)
}

fn history<'a>(doc: &RecordDoc, cache: &'a mut Option<Vec<FieldChange>>) -> &'a [FieldChange] {
    cache.get_or_insert_with(|| doc.history())
}

/// An active household with members must have exactly one member whose relationship is
/// `head`.
fn household_head(
    conn: &dyn Sql,
    doc: &RecordDoc,
    record: &Record,
    cache: &mut Option<Vec<FieldChange>>,
) -> Result<Option<Finding>, DbError> {
    let Some(members) = record.fields.get("members").and_then(Value::as_map) else {
        return Ok(None);
    };
    if members.is_empty() || !matches!(record.status(), None | Some("active")) {
        return Ok(None);
    }
    let relationship = |entry: &Value| -> Option<String> {
        entry
            .as_map()
            .and_then(|m| m.get("relationship"))
            .and_then(Value::as_text)
            .map(str::to_owned)
    };
    let heads: Vec<&String> = members
        .iter()
        .filter(|(_, e)| relationship(e).as_deref() == Some("head"))
        .map(|(k, _)| k)
        .collect();
    if heads.len() == 1 {
        return Ok(None);
    }
    let shown: Vec<&String> = if heads.is_empty() {
        members.keys().collect()
    } else {
        heads.clone()
    };
    let hist = history(doc, cache);
    let mut candidates = Vec::new();
    for cid in &shown {
        let path = format!("members.{cid}");
        let last = hist.iter().rev().find(|h| h.field == path);
        let (actor, change, time) = last
            .map(|h| (h.actor.as_str(), h.change.as_str(), h.time_ms))
            .unwrap_or(("", "", 0));
        let mut cand = candidate(Value::Text((*cid).clone()), actor, change, time);
        cand.record = Uuid::parse_str(cid).ok();
        cand.detail = serde_json::json!({"relationship": members.get(*cid).and_then(relationship)});
        store::attribute(conn, &mut cand)?;
        candidates.push(cand);
    }
    let mut ids: Vec<&str> = shown.iter().map(|s| s.as_str()).collect();
    ids.sort_unstable();
    Ok(Some(Finding {
        key: format!("rec:{}:head", record.id),
        signature: format!("heads={}:{}", heads.len(), ids.join(",")),
        item_type: ItemType::HouseholdHead,
        kind: record.kind.as_str().to_owned(),
        unit: record.unit.clone(),
        records: vec![record.id],
        field: Some("members".into()),
        candidates,
        details: serde_json::json!({
            "heads": heads.len(),
            "members": members.len(),
            "head_id": record.text("head_id"),
        }),
    }))
}

/// A record reads `withdrawn`, and a change made concurrently with the withdrawal (neither
/// saw the other) edited other fields, and no admin has since written a change that saw both.
fn edit_during_withdrawal(
    conn: &dyn Sql,
    doc: &RecordDoc,
    record: &Record,
    review_actors: &HashSet<String>,
    cache: &mut Option<Vec<FieldChange>>,
) -> Result<Option<Finding>, DbError> {
    let metas = doc.automerge().get_changes_meta(&[]);
    let index: HashMap<ChangeHash, usize> =
        metas.iter().enumerate().map(|(i, m)| (m.hash, i)).collect();
    let deps: Vec<Vec<usize>> = metas
        .iter()
        .map(|m| {
            m.deps
                .iter()
                .filter_map(|d| index.get(d).copied())
                .collect()
        })
        .collect();
    let ancestors = ancestor_sets(&deps);
    let by_hex: HashMap<String, usize> = metas
        .iter()
        .enumerate()
        .map(|(i, m)| (m.hash.to_string(), i))
        .collect();
    let hist = history(doc, cache);
    let withdrawals: Vec<&FieldChange> = hist
        .iter()
        .filter(|h| h.field == "status" && h.to == Some(Value::Text("withdrawn".into())))
        .collect();
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut signature: Vec<String> = Vec::new();
    let mut seen_edits: BTreeSet<usize> = BTreeSet::new();
    for w in withdrawals {
        let Some(&wi) = by_hex.get(&w.change) else {
            continue;
        };
        let previous = w.from.clone().unwrap_or(Value::Text("active".into()));
        let mut edits: Vec<(usize, BTreeMap<String, Option<Value>>)> = Vec::new();
        for (ci, meta) in metas.iter().enumerate() {
            if ci == wi || ancestors[wi].contains(&ci) || ancestors[ci].contains(&wi) {
                continue;
            }
            let hex = meta.hash.to_string();
            let fields: BTreeMap<String, Option<Value>> = hist
                .iter()
                .filter(|h| h.change == hex && h.field != "status")
                .map(|h| (h.field.clone(), h.to.clone()))
                .collect();
            if fields.is_empty() {
                continue;
            }
            let settled = metas.iter().enumerate().any(|(si, s)| {
                review_actors.contains(&s.actor.to_hex_string())
                    && ancestors[si].contains(&wi)
                    && ancestors[si].contains(&ci)
            });
            if !settled {
                edits.push((ci, fields));
            }
        }
        if edits.is_empty() {
            continue;
        }
        let mut cand = candidate(
            Value::Text("withdrawn".into()),
            &w.actor,
            &w.change,
            w.time_ms,
        );
        cand.winner = true;
        cand.detail = serde_json::json!({"previous_status": previous});
        store::attribute(conn, &mut cand)?;
        candidates.push(cand);
        signature.push(w.change.clone());
        for (ci, fields) in edits {
            if !seen_edits.insert(ci) {
                continue;
            }
            let m = &metas[ci];
            let hex = m.hash.to_string();
            let mut cand = candidate(
                previous.clone(),
                &m.actor.to_hex_string(),
                &hex,
                sync_core::time::change_time_ms(m.timestamp),
            );
            cand.detail = serde_json::json!({"fields": fields});
            store::attribute(conn, &mut cand)?;
            candidates.push(cand);
            signature.push(hex);
        }
    }
    if candidates.is_empty() {
        return Ok(None);
    }
    signature.sort();
    Ok(Some(Finding {
        key: format!("rec:{}:withdrawal", record.id),
        signature: signature.join(","),
        item_type: ItemType::EditDuringWithdrawal,
        kind: record.kind.as_str().to_owned(),
        unit: record.unit.clone(),
        records: vec![record.id],
        field: Some("status".into()),
        candidates,
        details: serde_json::json!({}),
    }))
}

/// For each change (by index), the set of its transitive dependencies.
fn ancestor_sets(deps: &[Vec<usize>]) -> Vec<HashSet<usize>> {
    let n = deps.len();
    let mut memo: Vec<Option<HashSet<usize>>> = vec![None; n];
    for start in 0..n {
        // Iterative post-order DFS.
        let mut stack = vec![(start, false)];
        while let Some((i, expanded)) = stack.pop() {
            if memo[i].is_some() {
                continue;
            }
            if expanded {
                let mut set = HashSet::new();
                for &d in &deps[i] {
                    set.insert(d);
                    if let Some(s) = &memo[d] {
                        set.extend(s.iter().copied());
                    }
                }
                memo[i] = Some(set);
            } else {
                stack.push((i, true));
                for &d in &deps[i] {
                    if memo[d].is_none() {
                        stack.push((d, false));
                    }
                }
            }
        }
    }
    memo.into_iter().map(Option::unwrap_or_default).collect()
}

/// The first (`first`) or latest logged change of a record, as a candidate without a value.
pub(crate) fn logged_change(
    conn: &dyn Sql,
    record: Uuid,
    first: bool,
) -> Result<Option<Candidate>, DbError> {
    let sql = if first {
        "SELECT bytes FROM changes WHERE record = ?1 AND kind = 'change' ORDER BY seq LIMIT 1"
    } else {
        "SELECT bytes FROM changes WHERE record = ?1 AND kind = 'change' ORDER BY seq DESC LIMIT 1"
    };
    let bytes: Option<Vec<u8>> = conn
        .query_opt(sql, &[&record])?
        .map(|mut r| r.take(0))
        .transpose()?;
    let Some(change) = bytes.and_then(|b| doc::decode_change(&b).ok()) else {
        return Ok(None);
    };
    let mut cand = candidate(
        Value::Text(record.to_string()),
        &change.actor_id().to_hex_string(),
        &change.hash().to_string(),
        sync_core::time::change_time_ms(change.timestamp()),
    );
    cand.record = Some(record);
    store::attribute(conn, &mut cand)?;
    Ok(Some(cand))
}

fn is_live(row: &IndexRow) -> bool {
    !matches!(row.status.as_deref(), Some("merged_into" | "withdrawn"))
}

/// Pairs of live citizen records for the same person.
fn duplicate_findings(records: &Records<'_>, record: &Record) -> Result<Vec<Finding>, DbError> {
    let conn = records.conn;
    let me = IndexRow::of(record);
    if !is_live(&me) {
        return Ok(Vec::new());
    }
    let id = record.id.to_string();
    let live = "kind = 'citizen' AND record != ?1 AND coalesce(status, '') NOT IN ('merged_into', 'withdrawn')";
    let mut pairs: Vec<(ItemType, IndexRow)> = Vec::new();
    // The same person by any number they carry: the ID number, an old CMND number or an
    // earlier ID number equal to one the other record carries (REVIEW §7).
    for other in store::records_with_numbers(conn, record.id, &store::numbers_of(record))? {
        if let Some(row) = store::index_row(conn, other)?
            && row.kind == Kind::Citizen.as_str()
            && is_live(&row)
        {
            pairs.push((ItemType::DuplicateIdNumber, row));
        }
    }
    if let (Some(name), Some(dob)) = (&me.name_key, &me.date_of_birth) {
        for other in store::index_where(
            conn,
            &format!("name_key = ?2 AND date_of_birth = ?3 AND {live}"),
            &[&id, name, dob],
        )? {
            // Two different ID numbers are two people; the same one is the other item type.
            if me.id_number.is_some() && other.id_number.is_some() {
                continue;
            }
            // In another unit (a person captured in two wards, or before and after a move),
            // the parents' names must agree too.
            if other.unit != me.unit
                && !records
                    .get(other.record)?
                    .is_some_and(|o| same_parents(record, &o))
            {
                continue;
            }
            pairs.push((ItemType::DuplicateNameDob, other));
        }
    }
    let mut out = Vec::new();
    for (ty, other) in pairs {
        let (a, b) = if record.id < other.record {
            (record.id, other.record)
        } else {
            (other.record, record.id)
        };
        let mut candidates = Vec::new();
        for r in [a, b] {
            if let Some(mut c) = logged_change(conn, r, true)? {
                let row = if r == record.id {
                    me.clone()
                } else {
                    other.clone()
                };
                c.detail = serde_json::json!({"unit": row.unit, "status": row.status});
                candidates.push(c);
            }
        }
        let short = if ty == ItemType::DuplicateIdNumber {
            "id"
        } else {
            "name"
        };
        let details = if ty == ItemType::DuplicateNameDob {
            name_match_details(record, records.get(other.record)?.as_deref(), &other)
        } else {
            serde_json::json!({})
        };
        out.push(Finding {
            key: format!("dup:{short}:{a}:{b}"),
            signature: format!("{a},{b}"),
            item_type: ty,
            kind: Kind::Citizen.as_str().to_owned(),
            unit: me.unit.clone(),
            records: vec![a, b],
            field: Some(
                if ty == ItemType::DuplicateIdNumber {
                    "id_number"
                } else {
                    "full_name"
                }
                .into(),
            ),
            candidates,
            details,
        });
    }
    Ok(out)
}

/// Both records name at least one parent, and every parent named on both agrees (compared
/// exactly: diacritics kept, case and tone placement folded).
fn same_parents(a: &Record, b: &Record) -> bool {
    let mut compared = 0;
    for field in ["father_name", "mother_name"] {
        if let (Some(x), Some(y)) = (a.text(field), b.text(field)) {
            if sync_core::model::exact_key(x) != sync_core::model::exact_key(y) {
                return false;
            }
            compared += 1;
        }
    }
    compared > 0
}

/// How two names with one folded search key compare: `exact` when they are the same name
/// with diacritics (case and tone placement aside), `folded` when only the diacritic-free
/// forms agree ("Hùng" and "Hưng"), with both names so the admin sees the difference; and
/// whether the pair spans two units (matched on name, date of birth and parents).
fn name_match_details(
    me: &Record,
    other: Option<&Record>,
    other_row: &IndexRow,
) -> serde_json::Value {
    let mine = me.text("full_name").unwrap_or("");
    let theirs = other.and_then(|o| o.text("full_name")).unwrap_or("");
    let exact = sync_core::model::exact_key(mine) == sync_core::model::exact_key(theirs);
    serde_json::json!({
        "name_match": if exact { "exact" } else { "folded" },
        "full_names": {me.id.to_string(): mine, other_row.record.to_string(): theirs},
        "across_units": other_row.unit != me.unit,
    })
}

/// Whether an accepted permanent removal ends a registration: the one it names in
/// `registration_id`, or, when it names none (records from before removals named their
/// registration), any it starts on or after (or either date is unknown).
fn ends(removal: &(IndexRow, Option<Uuid>), registration: &IndexRow) -> bool {
    let (removal, named) = removal;
    if let Some(named) = named {
        return *named == registration.record;
    }
    match (&removal.from_date, &registration.from_date) {
        (Some(r), Some(g)) => r >= g,
        _ => true,
    }
}

/// A citizen's active permanent registration: among the accepted `permanent_registration`
/// declarations whose `to_date` is unset or after today and that no accepted permanent
/// removal ended (a temporary removal never ends one), the one with the latest `from_date`.
/// A newer registration supersedes the older ones: moving house is a new registration at the
/// new address (Residence Law 2020), not two residences. Two or more registrations sharing the
/// latest `from_date` (made concurrently, each without seeing the other) are an item; so is one
/// whose unit is another commune than the citizen's own `permanent_unit`, compared after
/// normalising old unit codes (07138 Minh Thành is today's 07135 Đông Mai).
fn residence_findings(
    records: &Records<'_>,
    citizen: Uuid,
    today: &str,
) -> Result<Vec<Finding>, DbError> {
    let conn = records.conn;
    let c = citizen.to_string();
    let rows = store::index_where(
        conn,
        "citizen_id = ?1 AND kind = 'residence_declaration' AND status = 'accepted'
         AND procedure IN ('permanent_registration', 'removal', 'permanent_removal')",
        &[&c],
    )?;
    let mut removals: Vec<(IndexRow, Option<Uuid>)> = Vec::new();
    for r in rows
        .iter()
        .filter(|r| r.procedure.as_deref() != Some("permanent_registration"))
    {
        let named = records.get(r.record)?.and_then(|d| {
            d.text("registration_id")
                .and_then(|s| Uuid::parse_str(s).ok())
        });
        removals.push((r.clone(), named));
    }
    let standing: Vec<&IndexRow> = rows
        .iter()
        .filter(|r| r.procedure.as_deref() == Some("permanent_registration"))
        .filter(|r| r.to_date.as_deref().is_none_or(|t| t > today))
        .filter(|r| !removals.iter().any(|rem| ends(rem, r)))
        .collect();
    // Undated registrations are older than any dated one.
    let latest = standing
        .iter()
        .map(|r| r.from_date.as_deref())
        .max()
        .flatten();
    let active: Vec<&IndexRow> = standing
        .into_iter()
        .filter(|r| r.from_date.as_deref() == latest)
        .collect();
    let person = store::index_row(conn, citizen)?;
    let person = person.filter(|p| p.kind == "citizen" && is_live(p));
    let mismatch = match (active.as_slice(), &person) {
        ([only], Some(p)) => match (&p.address_unit, &only.address_unit) {
            // Each code read as of its own capture day; a split unit that may be the same
            // commune is no mismatch (nothing a reviewer could act on).
            (Some(own), Some(registered)) => {
                rules::same_commune_between(
                    own,
                    p.captured_on.as_deref(),
                    registered,
                    only.captured_on.as_deref(),
                ) == Some(false)
            }
            _ => false,
        },
        _ => false,
    };
    if active.len() < 2 && !mismatch {
        return Ok(Vec::new());
    }
    let mut candidates = Vec::new();
    let mut records = vec![citizen];
    let mut ids: Vec<String> = Vec::new();
    for decl in &active {
        records.push(decl.record);
        ids.push(decl.record.to_string());
        let mut cand = logged_change(conn, decl.record, false)?.unwrap_or_else(|| {
            let mut c = candidate(Value::Text(decl.record.to_string()), "", "", 0);
            c.record = Some(decl.record);
            c
        });
        cand.detail = serde_json::json!({
            "address": decl.address,
            "address_unit": decl.address_unit,
            "from_date": decl.from_date,
            "to_date": decl.to_date,
        });
        candidates.push(cand);
    }
    if mismatch && let Some(p) = &person {
        let mut cand = logged_change(conn, citizen, false)?.unwrap_or_else(|| {
            let mut c = candidate(Value::Text(c.clone()), "", "", 0);
            c.record = Some(citizen);
            c
        });
        cand.winner = true;
        cand.detail = serde_json::json!({
            "address": p.address,
            "address_unit": p.address_unit,
        });
        candidates.push(cand);
    }
    ids.sort();
    let (kind, unit) = match (&person, active.first()) {
        (Some(p), _) => (p.kind.clone(), p.unit.clone()),
        (None, Some(d)) => (d.kind.clone(), d.unit.clone()),
        (None, None) => (Kind::Citizen.as_str().to_owned(), String::new()),
    };
    let own_unit = person.as_ref().and_then(|p| p.address_unit.clone());
    Ok(vec![Finding {
        key: format!("pr:{citizen}"),
        signature: if mismatch {
            format!("{}|{}", ids.join(","), own_unit.clone().unwrap_or_default())
        } else {
            ids.join(",")
        },
        item_type: ItemType::TwoPermanentResidences,
        kind,
        unit,
        records,
        field: Some("permanent_unit".into()),
        candidates,
        details: serde_json::json!({
            "reason": if mismatch { "unit_mismatch" } else { "two_registrations" },
            "active_registrations": active.len(),
            "today": today,
        }),
    }])
}
