//! `ferry review list|show|resolve|merge|dismiss|scan`: the review queue from the command
//! line, on the same database as the server (usable while it runs).
//!
//! Decisions are made in the name of an admin account (`--as`, default `admin`), whose
//! server-side actor authors the resulting changes exactly as in the console and the API;
//! every decision, every `show` and every `list --json` (they print personal data: the list
//! carries competing values) is audited with `"via": "cli"`.

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;
use sync_core::model::Value;
use uuid::Uuid;

use crate::cli::format_time;
use crate::config::Config;
use crate::review::resolve::Resolver;
use crate::review::{self, Action, Filter, Item, ItemStatus, ItemType};
use crate::routes::review_api::snapshots;
use crate::{audit, now_ms};

/// `ferry review …`
#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// List review items (open ones by default), oldest first, with counts.
    List {
        /// open, resolved, dismissed or all.
        #[arg(long, default_value = "open")]
        status: String,
        /// Only this unit.
        #[arg(long)]
        unit: Option<String>,
        /// Only this record kind (citizen, household, cccd_application, residence_declaration).
        #[arg(long)]
        kind: Option<String>,
        /// Only this item type (field_conflict, status_conflict, edit_during_withdrawal,
        /// duplicate_id_number, duplicate_name_dob, two_permanent_residences, household_head).
        #[arg(long = "type")]
        item_type: Option<String>,
        /// Only items opened at least this many days ago.
        #[arg(long)]
        older_than_days: Option<u32>,
        /// Only items opened less than this many days ago.
        #[arg(long)]
        newer_than_days: Option<u32>,
        /// Only items about this record.
        #[arg(long)]
        record: Option<Uuid>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// One JSON document: {"items": […], "counts": {…}}.
        #[arg(long)]
        json: bool,
    },
    /// Show one item with its competing values and the records as they are now.
    Show {
        /// Item id.
        id: i64,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Keep one competing value (`--choice N`, from `show`) or write a new one (`--value`).
    Resolve {
        /// Item id.
        id: i64,
        /// Index of the value to keep (0-based, as `show` numbers them).
        #[arg(long, conflicts_with = "value", required_unless_present = "value")]
        choice: Option<usize>,
        /// A new value (text).
        #[arg(long)]
        value: Option<String>,
        /// The admin account deciding.
        #[arg(long = "as", default_value = "admin")]
        admin: String,
    },
    /// Merge two duplicate records: the survivor stays, the other becomes `merged_into` it.
    Merge {
        /// Item id.
        id: i64,
        /// The record that stays.
        #[arg(long)]
        survivor: Uuid,
        /// The admin account deciding.
        #[arg(long = "as", default_value = "admin")]
        admin: String,
    },
    /// Close an item without changing data.
    Dismiss {
        /// Item id.
        id: i64,
        /// Why.
        #[arg(long)]
        reason: String,
        /// The admin account deciding.
        #[arg(long = "as", default_value = "admin")]
        admin: String,
    },
    /// Run detection for records a server left queued (e.g. killed between a commit and
    /// its detection), then index every stored record and run detection over all of them
    /// (for a database that existed before the review queue).
    Scan {
        /// Records per transaction.
        #[arg(long, default_value_t = 500)]
        batch: usize,
    },
}

fn parse_status(status: &str) -> anyhow::Result<Option<ItemStatus>> {
    match status {
        "all" => Ok(None),
        s => Ok(Some(ItemStatus::parse(s).ok_or_else(|| {
            anyhow::anyhow!("`{s}` is not open, resolved, dismissed or all")
        })?)),
    }
}

fn parse_type(item_type: Option<String>) -> anyhow::Result<Option<ItemType>> {
    item_type
        .map(|t| {
            ItemType::parse(&t).ok_or_else(|| anyhow::anyhow!("`{t}` is not a review item type"))
        })
        .transpose()
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

fn print_item(out: &mut impl Write, item: &Item) -> std::io::Result<()> {
    writeln!(
        out,
        "item {} · {} · {}",
        item.id, item.item_type, item.status
    )?;
    writeln!(
        out,
        "  kind {} · unit {} · opened {}",
        item.kind,
        item.unit,
        format_time(item.created_ms)
    )?;
    if let Some(f) = &item.field {
        writeln!(out, "  field {f}")?;
    }
    for r in &item.records {
        writeln!(out, "  record {r}")?;
    }
    writeln!(out, "  values:")?;
    for (i, c) in item.candidates.iter().enumerate() {
        writeln!(
            out,
            "    [{i}] {value}{winner}  — {user} on {device} at {time} (change {change})",
            value = value_text(&c.value),
            winner = if c.winner { "  (shown on devices)" } else { "" },
            user = c.user.as_deref().unwrap_or("?"),
            device = c
                .device_name
                .as_deref()
                .or(c.device.as_deref())
                .unwrap_or("?"),
            time = format_time(c.time_ms),
            change = c.change.chars().take(12).collect::<String>(),
        )?;
        if !c.detail.is_null() {
            writeln!(out, "        {}", c.detail)?;
        }
    }
    if item.status != ItemStatus::Open {
        writeln!(
            out,
            "  {} by {} at {}",
            item.status,
            item.resolved_by.as_deref().unwrap_or("(automatically)"),
            item.resolved_ms.map(format_time).unwrap_or_default()
        )?;
        if let Some(r) = &item.resolution {
            writeln!(out, "  resolution: {r}")?;
        }
    }
    Ok(())
}

/// Runs a `ferry review` command.
pub fn run(config: &Config, cmd: ReviewCommand) -> anyhow::Result<ExitCode> {
    let store = crate::open_store(config)?;
    let mut out = std::io::stdout().lock();
    let decide = |id: i64, action: Action, admin: &str| -> anyhow::Result<Item> {
        let item = store.write(|tx| {
            review::resolve(
                tx,
                id,
                &action,
                &Resolver {
                    admin,
                    via: "cli",
                    device: "cli",
                },
                now_ms(),
            )
        })?;
        Ok(item)
    };
    match cmd {
        ReviewCommand::List {
            status,
            unit,
            kind,
            item_type,
            older_than_days,
            newer_than_days,
            record,
            limit,
            json,
        } => {
            let f = Filter {
                status: parse_status(&status)?,
                unit,
                kind,
                item_type: parse_type(item_type)?,
                older_than_days,
                newer_than_days,
                record,
                limit: Some(limit),
                offset: None,
            };
            let now = now_ms();
            // The JSON carries competing values: that listing is audited (`review_list`).
            let (items, counts) = store.write(|tx| -> anyhow::Result<_> {
                let items = review::list_items(tx, &f, now)?;
                let counts = review::count_items(tx, &f, now)?;
                if json {
                    crate::routes::review_api::audit_list(tx, "cli", "cli", "cli", &items)?;
                }
                Ok((items, counts))
            })?;
            if json {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({"items": items, "counts": counts})
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            writeln!(
                out,
                "{:>5}  {:<26} {:<9} {:<22} {:<6} {:<28} {:>6}  opened",
                "id", "type", "status", "kind", "unit", "field", "values"
            )?;
            for i in &items {
                writeln!(
                    out,
                    "{:>5}  {:<26} {:<9} {:<22} {:<6} {:<28} {:>6}  {}",
                    i.id,
                    i.item_type.as_str(),
                    i.status.as_str(),
                    i.kind,
                    i.unit,
                    i.field
                        .as_deref()
                        .unwrap_or("-")
                        .chars()
                        .take(28)
                        .collect::<String>(),
                    i.candidates.len(),
                    format_time(i.created_ms)
                )?;
            }
            let by_type: Vec<String> = counts
                .by_type
                .iter()
                .map(|(t, n)| format!("{t}={n}"))
                .collect();
            writeln!(
                out,
                "{} item(s); by type: {}",
                counts.total,
                by_type.join(", ")
            )?;
        }
        ReviewCommand::Show { id, json } => {
            let shown = store.write(|tx| -> anyhow::Result<Option<_>> {
                let Some(item) = review::get_item(tx, id)? else {
                    return Ok(None);
                };
                let records = snapshots(tx, &item.records)?;
                audit::append(
                    tx,
                    now_ms(),
                    &audit::Entry {
                        user: "cli",
                        device: "cli",
                        action: "review_read",
                        records: records.iter().map(|r| r.id.to_string()).collect(),
                        details: serde_json::json!({"item": id, "via": "cli"}),
                    },
                )?;
                Ok(Some((item, records)))
            })?;
            let Some((item, records)) = shown else {
                anyhow::bail!("no review item {id}");
            };
            if json {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({"item": item, "records": records})
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            print_item(&mut out, &item)?;
            for r in records {
                writeln!(out, "  now {} ({}, unit {}):", r.id, r.kind, r.unit)?;
                for (k, v) in &r.fields {
                    writeln!(out, "    {k}: {}", value_text(v))?;
                }
                for c in &r.conflicts {
                    writeln!(
                        out,
                        "    ! {} has {} concurrent values",
                        c.field,
                        c.values.len()
                    )?;
                }
            }
        }
        ReviewCommand::Resolve {
            id,
            choice,
            value,
            admin,
        } => {
            let action = match (choice, value) {
                (Some(choice), _) => Action::Choose { choice },
                (None, Some(v)) => Action::NewValue {
                    value: Value::Text(v),
                },
                (None, None) => anyhow::bail!("give --choice or --value"),
            };
            let item = decide(id, action, &admin)?;
            print_item(&mut out, &item)?;
        }
        ReviewCommand::Merge {
            id,
            survivor,
            admin,
        } => {
            let item = decide(id, Action::Merge { survivor }, &admin)?;
            print_item(&mut out, &item)?;
        }
        ReviewCommand::Dismiss { id, reason, admin } => {
            let item = decide(id, Action::Dismiss { reason }, &admin)?;
            print_item(&mut out, &item)?;
        }
        ReviewCommand::Scan { batch } => {
            // Records a server left queued for detection first (e.g. it was killed between a
            // commit and its detection), then every record.
            let (queued, _) = review::queue::drain_all(&store, now_ms())?;
            if queued > 0 {
                writeln!(out, "detected {queued} queued record(s)")?;
            }
            let (n, stats) = review::detect::scan_all(&store, batch, now_ms())?;
            writeln!(
                out,
                "scanned {n} record(s): {} item(s) opened, {} refreshed, {} closed",
                stats.opened, stats.refreshed, stats.closed
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
