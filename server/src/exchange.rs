//! One sync exchange as a domain operation, without HTTP: [`exchange`] takes the engine, the
//! caller and the decoded request and returns the reply and the exchange's audit entry. The
//! route (`routes::sync`) only decodes, checks limits, writes the audit entry and encodes.
//!
//! Life of an exchange (see `docs/ARCHITECTURE.md`, "Life of a sync"):
//! 1. **push** — the push checks run on a reader snapshot ([`crate::sync::check_all`]), in
//!    parallel with other exchanges; then a write job on the group-commit writer
//!    ([`crate::writer`]) stores the verdicts ([`crate::sync::push_checked`]: a record whose
//!    stored heads changed since its check is checked again inside the transaction), queues
//!    the record ids to detect in the same transaction. An exchange without a push skips
//!    this step. The job shares its transaction with other exchanges'
//!    jobs in its own savepoint; it is answered once the batch is committed (durable).
//! 2. **pull** — on a reader connection, in one read transaction. When the checks refused
//!    nothing, the request has no sensitive values and the device holds a cursor for each
//!    of its scopes, it is read while step 1 commits (the device is never sent its own rows,
//!    so an older snapshot only moves them to its next window); it is read again after the
//!    commit when the push wrote rows meant for the device too
//!    ([`PushOutcome::pull_after`]) or refused a record after all. Otherwise it begins after
//!    step 1's commit: its snapshot holds the push, so the pull includes what the push made
//!    visible, and skips the device's own rows by origin as before.
//! 3. **detection** — the review worker is woken; it runs outside the exchange.
//!
//! The device status and the audit entry ([`Epilogue`]) are written by the caller through
//! the writer before the reply is sent.

use std::collections::BTreeSet;
use std::sync::Arc;

use sync_core::protocol::{SyncReply, SyncRequest};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::db::{Sql, Store};
use crate::doc_cache::DocCache;
use crate::feed::{self, PullRequest, PullStats};
use crate::metrics::Metrics;
use crate::sync::{self, Caller, Checked, PushOutcome};
use crate::writer::Writer;
use crate::{AppState, accounts, audit, sensitive};

/// What an exchange runs on.
#[derive(Debug, Clone)]
pub struct Engine {
    /// The group-commit writer.
    pub writer: Writer,
    /// The database: readers for the checks and pulls.
    pub store: Store,
    /// Loaded documents.
    pub cache: Arc<DocCache>,
    /// Wakes the review worker.
    pub review_wake: Arc<Notify>,
    /// Counters.
    pub metrics: Arc<Metrics>,
}

impl Engine {
    /// The engine of the server's state.
    pub fn of(state: &AppState) -> Engine {
        Engine {
            writer: state.writer.clone(),
            store: state.store.clone(),
            cache: state.cache.clone(),
            review_wake: state.review_wake.clone(),
            metrics: state.metrics.clone(),
        }
    }
}

/// Who is syncing.
#[derive(Debug, Clone)]
pub struct Syncer {
    /// The user's name (for the audit trail).
    pub user: String,
    /// The units the user may see, in the order the pull walks them.
    pub units: Vec<String>,
    /// The push checks' view of the caller.
    pub caller: Caller,
}

/// An audit entry to append (owned: it outlives the exchange's transactions).
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// Who.
    pub user: String,
    /// From which device.
    pub device: String,
    /// The action (`sync`, `device_wiped`).
    pub action: &'static str,
    /// Record ids concerned.
    pub records: Vec<String>,
    /// Details.
    pub details: serde_json::Value,
}

impl AuditEntry {
    /// Appends the entry in `tx`.
    pub fn append(&self, tx: &dyn Sql, now_ms: i64) -> anyhow::Result<()> {
        audit::append(
            tx,
            now_ms,
            &audit::Entry {
                user: &self.user,
                device: &self.device,
                action: self.action,
                records: self.records.clone(),
                details: self.details.clone(),
            },
        )?;
        Ok(())
    }
}

/// Runs one exchange: push (committed) and pull on a reader snapshot, the pull read while
/// the push commits when it cannot depend on it (module docs). `max_bytes` is the reply
/// budget, already clamped.
pub async fn exchange(
    engine: &Engine,
    who: &Syncer,
    req: SyncRequest,
    max_bytes: u64,
) -> anyhow::Result<(SyncReply, Epilogue)> {
    let now = crate::now_ms();
    let req = Arc::new(req);
    // The checks run first on a reader snapshot, in parallel with other exchanges; the
    // writer re-checks only records that changed since.
    let checked = if req.push.is_empty() {
        Vec::new()
    } else {
        let (store, caller, req, cache) = (
            engine.store.clone(),
            who.caller.clone(),
            req.clone(),
            engine.cache.clone(),
        );
        tokio::task::spawn_blocking(move || {
            store.read(|snapshot| -> anyhow::Result<Vec<Checked>> {
                sync::check_all(snapshot, &caller, &req.push, now, Some(&cache))
            })
        })
        .await??
    };
    // A push whose checks refused nothing and that carries no sensitive values, from a
    // device holding a cursor for each of its scopes, is read into its reply's pull while
    // it commits: the pull does not depend on it unless it turns out to write rows meant
    // for this device too (`PushOutcome::pull_after`) or to refuse something after all, and
    // then the pull is read again after the commit. (A device without a scope's cursor gets
    // it from a pull that sees its push: a cursor is how it later learns the scope was
    // taken away, protocol §6.4.)
    let overlap = !req.push.is_empty()
        && req.sensitive.is_empty()
        && !checked.iter().any(Checked::is_rejection)
        && who.units.iter().all(|u| req.cursors.contains_key(u));
    let pushed_changes: usize = req.push.iter().map(|p| p.changes.len()).sum();
    let push = push_job(engine, who, &req, checked, now);
    let (pushed, sensitive, early) = if overlap {
        // Room for the largest acknowledgement the push can get: a hash per pushed change.
        let mut provisional = SyncReply::empty(now);
        provisional.accepted = vec![serde_bytes::ByteBuf::from(vec![0u8; 32]); pushed_changes];
        let (pushed, pulled) = tokio::join!(push, pull(engine, who, &req, max_bytes, provisional));
        let (pushed, sensitive) = pushed?;
        (pushed, sensitive, Some(pulled?))
    } else {
        let (pushed, sensitive) = push.await?;
        (pushed, sensitive, None)
    };
    engine.metrics.accepted(pushed.new_changes);
    for r in &pushed.rejected {
        engine.metrics.rejected(r.code);
    }
    if pushed.new_changes > 0 {
        engine.review_wake.notify_one();
    }
    let fits = |p: &PushOutcome| {
        p.accepted.len() <= pushed_changes && p.accepted.iter().all(|h| h.len() <= 32)
    };
    let early = early.filter(|_| !pushed.pull_after && pushed.rejected.is_empty() && fits(&pushed));
    let (mut reply, stats) = match early {
        Some((mut pulled, stats)) => {
            pulled.accepted = pushed.accepted.clone();
            (pulled, stats)
        }
        None => {
            let mut reply = SyncReply::empty(now);
            reply.accepted = pushed.accepted.clone();
            reply.rejected = pushed.rejected.clone();
            reply.sensitive_accepted = sensitive.accepted.clone();
            reply.sensitive_rejected = sensitive.rejected.clone();
            pull(engine, who, &req, max_bytes, reply).await?
        }
    };
    // A restricted record (§12.1) pushed by a role that does not read sensitive data: the
    // device drops its copy once the server has it.
    if !sync_core::model::sensitivity::reads_sensitive(who.caller.role) {
        reply.purge.extend(
            pushed
                .restricted
                .iter()
                .map(|id| sync_core::protocol::Purge::Record(*id)),
        );
    }
    let epilogue = Epilogue {
        device: who.caller.device_id,
        status: serde_json::json!({
            "outbox_len": req.status.outbox_len,
            "oldest_pending_ms": req.status.oldest_pending_ms,
            "app_version": req.status.app_version.chars().take(64).collect::<String>(),
            "rejected_held": req.status.rejected_held,
            "attachments_failed": req.status.attachments_failed,
            "attachments_pending": req.status.attachments_pending,
            "pushed": pushed_changes,
        }),
        audit: sync_audit(who, &pushed, &sensitive, &reply, &stats),
    };
    Ok((reply, epilogue))
}

/// Step 1's write job: the push (with its verdicts) and the request's sensitive values, in
/// one transaction; nothing to write for an exchange without either.
async fn push_job(
    engine: &Engine,
    who: &Syncer,
    req: &Arc<SyncRequest>,
    checked: Vec<Checked>,
    now: i64,
) -> anyhow::Result<(PushOutcome, sensitive::Applied)> {
    if req.push.is_empty() && req.sensitive.is_empty() {
        return Ok((PushOutcome::default(), sensitive::Applied::default()));
    }
    let (caller, req, cache) = (who.caller.clone(), req.clone(), engine.cache.clone());
    let user = who.user.clone();
    let mut checked = Some(checked);
    engine
        .writer
        // Run again after a lost race (PostgreSQL) without the verdicts: every record is
        // then checked inside the transaction.
        .run(move |tx| -> anyhow::Result<_> {
            let checked = checked.take().unwrap_or_default();
            let pushed = push_step(tx, &caller, &req, checked, now, &cache)?;
            // After the push: a record created in this request takes its sensitive
            // values in the same transaction.
            let sensitive = sensitive::apply(tx, &caller, &user, &req.sensitive, now)?;
            Ok((pushed, sensitive))
        })
        .await
}

/// Step 2 on the blocking pool: the pull into `reply` (which already holds what counts
/// against the budget besides the pull).
async fn pull(
    engine: &Engine,
    who: &Syncer,
    req: &Arc<SyncRequest>,
    max_bytes: u64,
    mut reply: SyncReply,
) -> anyhow::Result<(SyncReply, PullStats)> {
    let (store, units, device) = (
        engine.store.clone(),
        who.units.clone(),
        who.caller.device_id,
    );
    let req = req.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<(SyncReply, PullStats)> {
        let stats = store.read(|c| pull_step(c, device, &units, &req, max_bytes, &mut reply))?;
        Ok((reply, stats))
    })
    .await?
}

/// What an exchange writes once its reply is built, in one small writer job committed
/// before the reply is sent: the device's reported status and the audit entry.
#[derive(Debug, Clone)]
pub struct Epilogue {
    /// The device.
    pub device: Uuid,
    /// Its status as reported in the request.
    pub status: serde_json::Value,
    /// The exchange's audit entry.
    pub audit: AuditEntry,
}

impl Epilogue {
    /// Writes the status and the audit entry in `tx`.
    pub fn write(&self, tx: &dyn Sql, now_ms: i64) -> anyhow::Result<()> {
        accounts::touch_device(tx, self.device, &self.status, now_ms)?;
        self.audit.append(tx, now_ms)
    }
}

/// Step 1 in the writer's transaction: the push, with the verdicts checked beforehand.
pub fn push_step(
    tx: &dyn Sql,
    caller: &Caller,
    req: &SyncRequest,
    checked: Vec<Checked>,
    now: i64,
    cache: &DocCache,
) -> anyhow::Result<PushOutcome> {
    sync::push_checked(tx, caller, &req.push, checked, now, Some(cache))
}

/// Step 2 on a reader: the pull and its annotations (units, what remains, the actor
/// directory: [`crate::directory`]), in `snapshot`, one read transaction ([`Store::read`]),
/// so that every statement sees the same snapshot (a prefix of each unit's change log: see
/// `docs/ARCHITECTURE.md`).
pub fn pull_step(
    snapshot: &dyn Sql,
    device_id: Uuid,
    units: &[String],
    req: &SyncRequest,
    max_bytes: u64,
    reply: &mut SyncReply,
) -> anyhow::Result<PullStats> {
    let stats = feed::build_pull(
        snapshot,
        &PullRequest {
            device_id,
            scopes: units,
            cursors: &req.cursors,
            resync: &req.resync,
            max_bytes,
        },
        reply,
    )?;
    crate::directory::annotate(snapshot, units, &req.cursors, device_id, &stats, reply)?;
    Ok(stats)
}

/// The audit entry of a sync exchange: what was pushed, refused and sent.
fn sync_audit(
    who: &Syncer,
    pushed: &PushOutcome,
    sensitive: &sensitive::Applied,
    reply: &SyncReply,
    stats: &PullStats,
) -> AuditEntry {
    let rejected = reply.rejected.iter().map(|r| r.record.to_string());
    let accepted: Vec<String> = pushed
        .accepted_records
        .iter()
        .map(ToString::to_string)
        .collect();
    let sent: Vec<String> = stats.sent.iter().map(ToString::to_string).collect();
    let records: BTreeSet<String> = accepted
        .iter()
        .cloned()
        .chain(rejected)
        .chain(sent.iter().cloned())
        .chain(sensitive.written.iter().map(|(r, _)| r.to_string()))
        .collect();
    AuditEntry {
        user: who.user.clone(),
        device: who.caller.device_id.to_string(),
        action: "sync",
        records: records.into_iter().collect(),
        details: serde_json::json!({
            "pushed": accepted,
            "new_changes": pushed.new_changes,
            "rejected": reply.rejected.iter().map(|r| serde_json::json!({
                "record": r.record.to_string(), "code": r.code.as_str()
            })).collect::<Vec<_>>(),
            "sent": sent,
            // Which sensitive fields were written (never their values).
            "sensitive_written": sensitive.written.iter().map(|(r, f)| serde_json::json!({
                "record": r.to_string(), "field": f
            })).collect::<Vec<_>>(),
            "sensitive_rejected": sensitive.rejected.len(),
            "purged": reply.purge.len(),
            "more": reply.more,
        }),
    }
}

/// A revoked device's exchange: it is told to wipe; the wipe is recorded.
pub async fn wipe(engine: &Engine, user: &str, device: Uuid) -> anyhow::Result<SyncReply> {
    let user = user.to_owned();
    engine
        .writer
        .run(move |tx| -> anyhow::Result<()> {
            accounts::wiped(tx, device)?;
            AuditEntry {
                user: user.clone(),
                device: device.to_string(),
                action: "device_wiped",
                records: Vec::new(),
                details: serde_json::Value::Null,
            }
            .append(tx, crate::now_ms())
        })
        .await?;
    let mut reply = SyncReply::empty(crate::now_ms());
    reply.wipe = true;
    Ok(reply)
}
