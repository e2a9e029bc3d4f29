//! `ferry record redact ID --field F --reason "…" [--keep VALUE | --clear] [--as ADMIN]`,
//! `ferry record scrub [--full]` and `ferry record split-sensitive`.
//!
//! `redact`:
//! removes a wrongly entered value from a record's history ([`crate::redact`],
//! `docs/protocol.md` §13), on either engine, in one transaction, then scrubs the database
//! files. Prints what it did (lineages and counts, never the value), or JSON with `--json`.

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;
use sync_core::model::Value;
use uuid::Uuid;

use crate::config::Config;
use crate::now_ms;
use crate::redact::{self, Admin, Keep, RedactError, Redaction};

/// `ferry record …`
#[derive(Debug, Subcommand)]
pub enum RecordCommand {
    /// Remove every value a field ever held, other than the one it keeps, from the record's
    /// history: the record gets a new document (a new lineage) that phones take on their
    /// next sync, carrying their offline edits over. Audited with the reason, never the value.
    Redact {
        /// The record's id (UUID).
        id: Uuid,
        /// The field whose wrong value is removed.
        #[arg(long)]
        field: String,
        /// Why (required; kept in the audit trail).
        #[arg(long)]
        reason: String,
        /// The value the field keeps (default: its value now). Numbers and flags are read
        /// as the field's type.
        #[arg(long, conflicts_with = "clear")]
        keep: Option<String>,
        /// Clear the field instead (its value now is wrong too).
        #[arg(long)]
        clear: bool,
        /// Print the outcome as JSON.
        #[arg(long)]
        json: bool,
        /// The admin account acting.
        #[arg(long = "as", default_value = "admin")]
        admin: String,
    },
    /// Make sure no removed value is left in the database files: truncate SQLite's WAL (or
    /// vacuum PostgreSQL's record tables), as every redaction does after its commit; with
    /// `--full` also rewrite them (SQLite `VACUUM`, PostgreSQL `VACUUM FULL` and a
    /// checkpoint), which locks the database while it runs: syncs wait.
    Scrub {
        /// Rewrite the database files too.
        #[arg(long)]
        full: bool,
    },
    /// Move the sensitive values (religion, ethnicity, blood type, biometrics flags) out of
    /// record documents written before schema version 17: each such record gets a new
    /// document without them (phones replace their copy on their next sync) and the values
    /// are kept apart, readable only by staff and admins. Safe to run again.
    SplitSensitive {
        /// Print the outcome as JSON.
        #[arg(long)]
        json: bool,
        /// The admin account acting.
        #[arg(long = "as", default_value = "admin")]
        admin: String,
    },
}

/// Runs a `ferry record` command.
pub fn run(config: &Config, cmd: RecordCommand) -> anyhow::Result<ExitCode> {
    let (id, field, reason, keep, clear, json, admin) = match cmd {
        RecordCommand::SplitSensitive { json, admin } => return split(config, json, &admin),
        RecordCommand::Scrub { full } => {
            let store = crate::open_store(config)?;
            if full {
                redact::scrub_full(&store)?;
            } else {
                redact::scrub(&store)?;
            }
            println!(
                "scrubbed{}",
                if full {
                    " and rewrote the database files"
                } else {
                    ""
                }
            );
            return Ok(ExitCode::SUCCESS);
        }
        RecordCommand::Redact {
            id,
            field,
            reason,
            keep,
            clear,
            json,
            admin,
        } => (id, field, reason, keep, clear, json, admin),
    };
    redact_one(config, id, field, reason, keep, clear, json, admin)
}

/// `ferry record split-sensitive`.
fn split(config: &Config, json: bool, admin: &str) -> anyhow::Result<ExitCode> {
    let store = crate::open_store(config)?;
    let outcome = crate::sensitive_split::split_all(&store, admin, |s| {
        eprintln!(
            "ferry: {} record(s) looked at, {} split ({} field(s)), {} restricted",
            s.scanned, s.records, s.fields, s.restricted
        );
    })?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&outcome)?)?;
    } else {
        writeln!(
            out,
            "moved {} sensitive field(s) out of {} record document(s), filed {} restricted \
             record(s) in their restricted scope ({} looked at)",
            outcome.fields, outcome.records, outcome.restricted, outcome.scanned
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::too_many_arguments)]
fn redact_one(
    config: &Config,
    id: Uuid,
    field: String,
    reason: String,
    keep: Option<String>,
    clear: bool,
    json: bool,
    admin: String,
) -> anyhow::Result<ExitCode> {
    let req = Redaction {
        field,
        reason,
        keep: match (keep, clear) {
            (_, true) => Keep::Clear,
            (Some(v), false) => Keep::Value(Value::Text(v)),
            (None, false) => Keep::Current,
        },
    };
    let store = crate::open_store(config)?;
    let result = crate::writer::retrying(|| {
        store.write(|tx| {
            let who = Admin {
                user: &admin,
                via: "cli",
                device: "",
            };
            redact::redact(tx, id, &req, who, now_ms()).map_err(|e| match e {
                RedactError::Internal(e) => e,
                refused => anyhow::Error::new(refused),
            })
        })
    });
    let mut outcome = match result {
        Ok(o) => o,
        Err(e) => match e.downcast::<RedactError>() {
            Ok(refused) => {
                eprintln!("ferry: {refused}");
                return Ok(ExitCode::FAILURE);
            }
            Err(e) => return Err(e),
        },
    };
    outcome.scrubbed = match redact::scrub(&store) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("ferry: warning: {e}; the next checkpoint or vacuum removes the bytes");
            false
        }
    };
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&outcome)?)?;
    } else {
        writeln!(
            out,
            "redacted {} of {}: {} value(s) removed, {} change(s) dropped, lineage {} -> {}",
            outcome.field,
            outcome.record,
            outcome.values_removed,
            outcome.dropped_changes,
            outcome.lineage_from,
            outcome.lineage_to
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
