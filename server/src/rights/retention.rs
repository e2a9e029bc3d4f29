//! Retention: how long Ferry keeps what it no longer needs, applied by a scheduled task
//! (every `--retention-every-hours`, default 24) and by `ferry retention run`, and reported
//! (the report is printed, logged and audited as `retention`).
//!
//! | what | rule (flag, default) | why |
//! |---|---|---|
//! | console sessions | deleted `--retain-session-days` (0) days after they expire | an expired session opens nothing |
//! | device tokens | deleted `--retain-token-days` (365, at least 365) days after they expire | a lost phone that comes back is still told to wipe with its old token (`docs/protocol.md` §6.5) |
//! | login failure counters | deleted `--retain-login-attempt-days` (30) days after the last attempt, unless still locked | they only throttle guessing |
//! | audit rows | off by default (`--retain-audit-days` 0); when set, rows older than that are removed from the front of the chain, leaving an `audit_cut` row that keeps `ferry audit verify` working ([`crate::audit::floor`]) | the law asks for a period suited to the purpose; inspections need the trail, so the deployment chooses |
//! | withdrawn, merged and deceased persons' records | listed, never deleted (`--retain-closed-record-days` 0 = not listed) | the Residence and Identification laws keep population records; deleting one on the server would also need every phone to drop it (the redaction design in `docs/ARCHITECTURE.md`) |
//!
//! Cutting the audit chain: the chain is first checkpointed and verified whole (a broken chain
//! is never cut, so a cut cannot hide tampering); then, in one transaction, the rows before the
//! first row to keep are deleted and an `audit_cut` row naming that row and its hash is
//! appended (keyed like every row, so it cannot be forged without the audit key); then a new
//! checkpoint is written. Checkpoints of the removed rows stay in the checkpoint file and are
//! simply never reached again.

use serde::Serialize;

use crate::audit::{self, CUT_ACTION};
use crate::audit_key::{self, AuditFiles};
use crate::db::{DbError, Sql, Store};

const DAY_MS: i64 = 86_400_000;

/// The retention rules (flags and environment variables of `ferry` and `ferry retention`).
#[derive(Debug, Clone, clap::Args)]
pub struct RetentionConfig {
    /// Days an expired console session is kept before it is deleted.
    #[arg(
        long,
        env = "FERRY_RETAIN_SESSION_DAYS",
        default_value_t = 0,
        global = true
    )]
    pub retain_session_days: u32,
    /// Days an expired device token is kept (at least 365: a returning lost phone is still
    /// told to wipe with it).
    #[arg(
        long,
        env = "FERRY_RETAIN_TOKEN_DAYS",
        default_value_t = 365,
        global = true
    )]
    pub retain_token_days: u32,
    /// Days a login failure counter is kept after the last attempt (unless still locked).
    #[arg(
        long,
        env = "FERRY_RETAIN_LOGIN_ATTEMPT_DAYS",
        default_value_t = 30,
        global = true
    )]
    pub retain_login_attempt_days: u32,
    /// Days audit rows are kept; 0 keeps them for ever (the default).
    #[arg(
        long,
        env = "FERRY_RETAIN_AUDIT_DAYS",
        default_value_t = 0,
        global = true
    )]
    pub retain_audit_days: u32,
    /// Days after a withdrawal, merge or death after which a record is listed in the
    /// retention report for a decision; 0 lists none.
    #[arg(
        long,
        env = "FERRY_RETAIN_CLOSED_RECORD_DAYS",
        default_value_t = 0,
        global = true
    )]
    pub retain_closed_record_days: u32,
    /// Hours between two runs of the rules in `ferry serve`; 0 runs them only through
    /// `ferry retention run`.
    #[arg(
        long,
        env = "FERRY_RETENTION_EVERY_HOURS",
        default_value_t = 24,
        global = true
    )]
    pub retention_every_hours: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            retain_session_days: 0,
            retain_token_days: 365,
            retain_login_attempt_days: 30,
            retain_audit_days: 0,
            retain_closed_record_days: 0,
            retention_every_hours: 24,
        }
    }
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// When it ran (ms).
    pub ran_ms: i64,
    /// Console sessions deleted.
    pub sessions: u64,
    /// Device tokens deleted.
    pub tokens: u64,
    /// Login failure counters deleted.
    pub login_attempts: u64,
    /// Audit rows removed from the front of the chain.
    pub audit_rows: u64,
    /// The first audit row kept, when rows were removed.
    pub audit_first_kept: Option<i64>,
    /// Why the audit chain was not cut although a rule asked for it.
    pub audit_skipped: Option<String>,
    /// Withdrawn, merged or deceased records past their retention, by status (kept; listed
    /// for a decision).
    pub closed_records: Vec<(String, i64)>,
}

/// Applies every rule as of `now_ms` and audits the report (`retention`), keyed with `files`'
/// key (the installed one in `ferry`; [`audit_key::current`]). Without a key the audit rows
/// are kept whatever the rule says.
pub fn run(
    store: &Store,
    files: Option<&AuditFiles>,
    rules: &RetentionConfig,
    now_ms: i64,
) -> anyhow::Result<Report> {
    let mut report = Report {
        ran_ms: now_ms,
        ..Report::default()
    };
    store.write(|tx| -> Result<(), DbError> {
        housekeeping(tx, rules, now_ms, &mut report)?;
        report.closed_records = closed_records(tx, rules, now_ms)?;
        Ok(())
    })?;
    if rules.retain_audit_days > 0 {
        let cutoff = now_ms - i64::from(rules.retain_audit_days) * DAY_MS;
        match files {
            Some(files) => cut_audit(store, files, cutoff, now_ms, &mut report)?,
            None => report.audit_skipped = Some("no audit key is installed".into()),
        }
    }
    store.write(|tx| {
        audit::append_with(
            tx,
            files.map(|f| &*f.key),
            now_ms,
            &audit::Entry {
                user: "server",
                action: "retention",
                details: serde_json::to_value(&report).unwrap_or_default(),
                ..audit::Entry::default()
            },
        )
    })?;
    Ok(report)
}

/// Sessions, tokens and login counters past their time.
fn housekeeping(
    tx: &dyn Sql,
    rules: &RetentionConfig,
    now_ms: i64,
    report: &mut Report,
) -> Result<(), DbError> {
    let before = |days: u32| now_ms - i64::from(days) * DAY_MS;
    report.sessions = tx.execute(
        "DELETE FROM console_sessions WHERE expires_ms <= ?1",
        &[&before(rules.retain_session_days)],
    )?;
    report.tokens = tx.execute(
        "DELETE FROM tokens WHERE expires_ms <= ?1",
        &[&before(rules.retain_token_days.max(365))],
    )?;
    report.login_attempts = tx.execute(
        "DELETE FROM login_attempts WHERE updated_ms <= ?1 AND locked_until_ms <= ?2",
        &[&before(rules.retain_login_attempt_days), &now_ms],
    )?;
    Ok(())
}

/// Closed records (withdrawn, merged, deceased) unchanged for longer than the rule, counted
/// by status.
fn closed_records(
    conn: &dyn Sql,
    rules: &RetentionConfig,
    now_ms: i64,
) -> Result<Vec<(String, i64)>, DbError> {
    if rules.retain_closed_record_days == 0 {
        return Ok(Vec::new());
    }
    let before = now_ms - i64::from(rules.retain_closed_record_days) * DAY_MS;
    conn.query(
        "SELECT status, CAST(COUNT(*) AS BIGINT) FROM records
         WHERE status IN ('withdrawn', 'merged_into', 'deceased') AND updated_ms <= ?1
         GROUP BY status ORDER BY status",
        &[&before],
    )?
    .into_iter()
    .map(|r| Ok((r.get(0)?, r.get(1)?)))
    .collect()
}

/// Removes the audit rows older than `cutoff_ms` from the front of the chain (see the module
/// docs), unless the chain does not verify.
fn cut_audit(
    store: &Store,
    files: &AuditFiles,
    cutoff_ms: i64,
    now_ms: i64,
    report: &mut Report,
) -> anyhow::Result<()> {
    if let audit_key::Written::Refused(why) = audit_key::checkpoint(store, files)? {
        report.audit_skipped = Some(format!("the chain does not continue its checkpoint: {why}"));
        return Ok(());
    }
    let checkpoints = match audit_key::read_checkpoints(&files.checkpoints, &files.key)? {
        Ok(c) => c,
        Err(why) => {
            report.audit_skipped = Some(why);
            return Ok(());
        }
    };
    let legacy = match store.read(|c| audit::verify(c, &files.key, &checkpoints))? {
        audit::Verdict::Intact { legacy, .. } => legacy as i64,
        other => {
            report.audit_skipped = Some(format!("the chain does not verify: {other:?}"));
            return Ok(());
        }
    };
    let cut = store.write(|tx| -> Result<Option<(i64, u64)>, DbError> {
        // The first row at or after the cutoff, or the newest row when all are older.
        let Some(mut r) = tx.query_opt(
            "SELECT id, hash, keyed FROM audit
             WHERE ts_ms >= ?1 OR id = (SELECT MAX(id) FROM audit)
             ORDER BY id LIMIT 1",
            &[&cutoff_ms],
        )?
        else {
            return Ok(None);
        };
        let (first, hash, keyed): (i64, Vec<u8>, bool) = (r.get(0)?, r.take(1)?, r.get(2)?);
        if !keyed {
            return Ok(None);
        }
        let removed = tx.execute("DELETE FROM audit WHERE id < ?1", &[&first])?;
        if removed == 0 {
            return Ok(None);
        }
        audit::append_with(
            tx,
            Some(&*files.key),
            now_ms,
            &audit::Entry {
                user: "server",
                action: CUT_ACTION,
                details: serde_json::json!({
                    "first_kept": first, "first_hash": hex::encode(&hash),
                    "legacy": legacy.min(first), "removed": removed, "before_ms": cutoff_ms,
                }),
                ..audit::Entry::default()
            },
        )?;
        Ok(Some((first, removed)))
    })?;
    if let Some((first, removed)) = cut {
        report.audit_rows = removed;
        report.audit_first_kept = Some(first);
        audit_key::checkpoint(store, files)?;
    }
    Ok(())
}

/// Applies the rules every `--retention-every-hours` while the server runs (the first run
/// an interval after the start), logging each report.
pub async fn scheduled(state: crate::AppState) {
    let hours = state.config.retention.retention_every_hours;
    if hours == 0 {
        return;
    }
    let every = std::time::Duration::from_secs(hours.saturating_mul(3600));
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let (store, rules) = (state.store.clone(), state.config.retention.clone());
        let ran = tokio::task::spawn_blocking(move || {
            let files = audit_key::current();
            run(&store, files.as_deref(), &rules, crate::now_ms())
        })
        .await;
        match ran {
            Ok(Ok(r)) => tracing::info!(
                sessions = r.sessions,
                tokens = r.tokens,
                login_attempts = r.login_attempts,
                audit_rows = r.audit_rows,
                "retention rules applied"
            ),
            Ok(Err(e)) => tracing::error!(error = %format!("{e:#}"), "retention run failed"),
            Err(e) => tracing::error!(error = %e, "retention run panicked"),
        }
    }
}
