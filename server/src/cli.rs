//! The `ferry` command line: `serve` (the default) and admin subcommands that work on the same
//! database file, also while the server runs (SQLite WAL; writes are short transactions).
//!
//! Adding an area (e.g. `ferry review …`) means one more [`Command`] variant with its own
//! subcommand enum and one more arm in [`run`].

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sync_core::model::Role;
use uuid::Uuid;

use crate::config::{Config, LogFormat};
use crate::db::{Sql, Store};
use crate::{accounts, audit, now_ms};

/// Ferry: offline-first sync server for identity-card and residence data.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about, propagate_version = true)]
pub struct Cli {
    /// Server and database settings.
    #[command(flatten)]
    pub config: Config,
    /// What to do; without one, `serve`.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Top-level subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the sync server (the default).
    Serve,
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage registered devices.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Check and search the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Records: redact a wrongly entered value from a record's history.
    #[command(subcommand)]
    Record(crate::cli_record::RecordCommand),
    /// Work the review queue: conflicts, duplicates and invariant breaks.
    #[command(subcommand)]
    Review(crate::cli_review::ReviewCommand),
    /// Bulk-load records from a file of JSON lines (one record per line, as `ferry-gen`
    /// prints them; `-` reads stdin), each checked as a push is. Refused lines are listed on
    /// stderr with their number and reason; exits 1 when any was refused.
    Import(crate::import::ImportArgs),
    /// Everything held about one person (by ID number) and who accessed it: JSON, or with
    /// `--text` a printable report in Vietnamese. The report itself is audited.
    SubjectReport {
        /// The person's 12-digit personal ID number.
        #[arg(long)]
        id_number: String,
        /// A printable report in Vietnamese instead of JSON.
        #[arg(long)]
        text: bool,
    },
    /// Apply the retention rules now (`ferry serve` also applies them on a schedule).
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Attachment blobs: garbage collection (`ferry serve` also collects on a schedule).
    #[command(subcommand)]
    Attachments(AttachmentsCommand),
    /// Administrative units: adjust stored addresses after the 2025 reorganisation.
    #[command(subcommand)]
    Units(crate::cli_units::UnitsCommand),
    /// Bring the database schema up to date (SQLite under --data-dir, or PostgreSQL with
    /// --database) and print the version before and after.
    Migrate,
    /// Print the record schema: JSON Schema (as served at `GET /v1/schema`), or with
    /// `--markdown` the text of `docs/schema.md`.
    Schema {
        /// Print `docs/schema.md` instead of the JSON Schema.
        #[arg(long)]
        markdown: bool,
    },
}

/// `ferry user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; prints a generated password unless `--password` is given.
    Add {
        /// Login name (a-z, 0-9, `.`, `_`, `-`).
        username: String,
        /// Role: leader, commune_staff, officer, staff or admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// An admin unit the user works in (repeat for several).
        #[arg(long = "unit")]
        units: Vec<String>,
        /// The password (otherwise one is generated and printed).
        #[arg(long)]
        password: Option<String>,
        /// The name people read for the user, e.g. "Nguyễn Thị Lan" (phones show it next to
        /// what the user wrote; without one, the login name shows). At most 100 characters,
        /// no tabs, line breaks or other control characters; stored in Unicode NFC.
        #[arg(long, value_parser = parse_display_name)]
        display_name: Option<String>,
    },
    /// Change a user's details: its display name.
    Set {
        /// Login name.
        username: String,
        /// The new display name (same rules as `user add --display-name`).
        #[arg(
            long,
            value_parser = parse_display_name,
            required_unless_present = "clear_display_name"
        )]
        display_name: Option<String>,
        /// Remove the display name (the login name shows again).
        #[arg(long, conflicts_with = "display_name")]
        clear_display_name: bool,
    },
    /// List users.
    List,
    /// Set a user's password (ends the user's sessions and clears a lockout).
    Passwd {
        /// Login name.
        username: String,
        /// The new password (otherwise one is generated and printed).
        #[arg(long)]
        password: Option<String>,
    },
    /// Replace a user's units (and optionally role); devices drop lost units on next sync.
    Assign {
        /// Login name.
        username: String,
        /// An admin unit (repeat for several; none leaves the user without units).
        #[arg(long = "unit")]
        units: Vec<String>,
        /// A new role.
        #[arg(long, value_parser = parse_role)]
        role: Option<Role>,
    },
    /// Disable a user: no more logins, every session ends.
    Disable {
        /// Login name.
        username: String,
    },
    /// Enable a disabled user again.
    Enable {
        /// Login name.
        username: String,
    },
}

/// `ferry retention …`
#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Apply the rules (see `--retain-*`) and print what was deleted, as JSON.
    Run,
}

/// `ferry attachments …`
#[derive(Debug, Subcommand)]
pub enum AttachmentsCommand {
    /// Delete the blobs no record has referred to for `--attachment-gc-grace-days` and the
    /// uploads left unfinished as long; prints what was found and deleted, as JSON.
    Gc,
}

/// `ferry device …`
#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// List devices.
    List {
        /// Only this user's devices.
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a device: its next sync wipes it, then it is refused.
    Revoke {
        /// Device id.
        id: Uuid,
    },
}

/// `ferry audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain; prints OK or the first broken row and exits non-zero.
    Verify,
    /// List audit rows, oldest first.
    List {
        /// Only rows by this user.
        #[arg(long)]
        user: Option<String>,
        /// Only rows from this device id.
        #[arg(long)]
        device: Option<String>,
        /// Only rows concerning this record id.
        #[arg(long)]
        record: Option<String>,
        /// Only this action (login, login_failed, sync, record_read, …).
        #[arg(long)]
        action: Option<String>,
        /// From this time: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SSZ` or ms since the epoch.
        #[arg(long, value_parser = parse_time)]
        since: Option<i64>,
        /// Before this time (same formats).
        #[arg(long, value_parser = parse_time)]
        until: Option<i64>,
        /// At most this many (the newest).
        #[arg(long)]
        limit: Option<u64>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

fn parse_display_name(s: &str) -> Result<String, String> {
    sync_core::model::clean_display_name(s).map_err(|e| e.to_string())
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        format!("`{s}` is not a role (leader, commune_staff, officer, staff, admin)")
    })
}

/// Parses a time given on the command line: ms, `YYYY-MM-DD` (start of that day in Vietnam),
/// `YYYY-MM-DDTHH:MM[:SS]` (Vietnam time) or RFC 3339 with `Z` or an offset.
pub fn parse_time(s: &str) -> Result<i64, String> {
    sync_core::time::parse_time(s)
}

/// `YYYY-MM-DDTHH:MM:SS+07:00`: a time in ms as shown to people, in Vietnam's time.
pub fn format_time(ms: i64) -> String {
    sync_core::time::local_date_time(ms)
}

/// The `ferry` binary: parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.config.log_format);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("FERRY_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info"));
    // Colour codes only on a terminal: log files and collectors get plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).map(|()| ExitCode::SUCCESS),
        Command::User(cmd) => checkpointed(&cli.config, |c| user(c, cmd)),
        Command::Device(cmd) => checkpointed(&cli.config, |c| device(c, cmd)),
        Command::Audit(cmd) => audit_cmd(&cli.config, cmd),
        Command::Review(cmd) => checkpointed(&cli.config, |c| crate::cli_review::run(c, cmd)),
        Command::Record(cmd) => checkpointed(&cli.config, |c| crate::cli_record::run(c, cmd)),
        Command::Import(args) => checkpointed(&cli.config, |c| crate::import::cli(c, &args)),
        Command::SubjectReport { id_number, text } => {
            checkpointed(&cli.config, |c| subject_report(c, &id_number, text))
        }
        Command::Retention(RetentionCommand::Run) => checkpointed(&cli.config, |c| {
            let store = open(c)?;
            let files = crate::audit_key::current();
            let report =
                crate::rights::retention::run(&store, files.as_deref(), &c.retention, now_ms())?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(ExitCode::SUCCESS)
        }),
        Command::Attachments(AttachmentsCommand::Gc) => checkpointed(&cli.config, |c| {
            let store = open(c)?;
            let blobs = crate::blobs::open(c).context("cannot open the blob store")?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            let report = runtime.block_on(crate::blobs::gc::run(
                &store,
                blobs.as_ref(),
                &c.attachment_gc,
                now_ms(),
                CLI_USER,
            ))?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(ExitCode::SUCCESS)
        }),
        Command::Units(cmd) => checkpointed(&cli.config, |c| crate::cli_units::run(c, cmd)),
        Command::Migrate => crate::migrate::run(&cli.config),
        Command::Schema { markdown } => {
            if markdown {
                print!("{}", sync_core::model::schema::markdown());
            } else {
                println!("{:#}", sync_core::model::schema::json_schema());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs a command that may append audit rows, then writes a signed audit checkpoint.
fn checkpointed(
    config: &Config,
    f: impl FnOnce(&Config) -> anyhow::Result<ExitCode>,
) -> anyhow::Result<ExitCode> {
    let code = f(config)?;
    crate::audit_key::checkpoint_quietly(&open(config)?);
    Ok(code)
}

fn serve(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        crate::launch(config, listener, shutdown_signal()).await
    })
}

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

const CLI_USER: &str = "cli";

fn log(tx: &dyn Sql, action: &str, details: serde_json::Value) -> anyhow::Result<()> {
    audit::append(
        tx,
        now_ms(),
        &audit::Entry {
            user: CLI_USER,
            action,
            details,
            ..audit::Entry::default()
        },
    )?;
    Ok(())
}

/// The database of `--database` (PostgreSQL) or `--data-dir` (SQLite), with the audit key.
fn open(config: &Config) -> anyhow::Result<Store> {
    crate::open_store(config)
}

fn password_or_generate(password: Option<String>) -> anyhow::Result<(String, bool)> {
    match password {
        Some(p) => {
            accounts::check_password(&p)?;
            Ok((p, false))
        }
        None => Ok((accounts::random_password(), true)),
    }
}

fn user(config: &Config, cmd: UserCommand) -> anyhow::Result<ExitCode> {
    let store = open(config)?;
    let mut out = std::io::stdout().lock();
    match cmd {
        UserCommand::Add {
            username,
            role,
            units,
            password,
            display_name,
        } => {
            let (password, generated) = password_or_generate(password)?;
            let hash = accounts::hash_password(&password)?;
            let user = store.write(|tx| -> anyhow::Result<_> {
                let mut user = accounts::add_user(tx, &username, &hash, role, &units, now_ms())?;
                if display_name.is_some() {
                    user = accounts::set_display_name(tx, &username, display_name.as_deref())?;
                }
                log(
                    tx,
                    "user_add",
                    serde_json::json!({"username": user.username, "role": role, "units": user.units,
                                       "display_name": user.display_name}),
                )?;
                Ok(user)
            })?;
            writeln!(
                out,
                "added user {}{} ({}; units: {})",
                user.username,
                shown_name_text(&user),
                user.role.as_str(),
                units_text(&user)
            )?;
            if generated {
                writeln!(out, "password: {password}")?;
            }
        }
        // Without `--display-name` (clap requires `--clear-display-name` then) the name goes.
        UserCommand::Set {
            username,
            display_name,
            ..
        } => {
            let user = store.write(|tx| -> anyhow::Result<_> {
                let user = accounts::set_display_name(tx, &username, display_name.as_deref())?;
                log(
                    tx,
                    "user_set",
                    serde_json::json!({"username": username, "display_name": user.display_name}),
                )?;
                Ok(user)
            })?;
            match &user.display_name {
                Some(name) => writeln!(out, "display name of {} is now {name}", user.username)?,
                None => writeln!(
                    out,
                    "{} has no display name now (its login name shows)",
                    user.username
                )?,
            }
        }
        UserCommand::List => {
            let users = store.read(|c| accounts::list_users(c))?;
            writeln!(
                out,
                "{:<24} {:<8} {:<10} {:<32} units",
                "user", "role", "state", "display name"
            )?;
            let now = now_ms();
            for u in users {
                let state = if u.disabled {
                    "disabled"
                } else if u.is_locked(now)
                    || store.read(|c| accounts::locked_anywhere(c, &u.username, now))?
                {
                    "locked"
                } else {
                    "active"
                };
                writeln!(
                    out,
                    "{:<24} {:<8} {:<10} {:<32} {}",
                    u.username,
                    u.role.as_str(),
                    state,
                    u.display_name.as_deref().unwrap_or("-"),
                    units_text(&u)
                )?;
            }
        }
        UserCommand::Passwd { username, password } => {
            let (password, generated) = password_or_generate(password)?;
            let hash = accounts::hash_password(&password)?;
            store.write(|tx| -> anyhow::Result<()> {
                accounts::set_password(tx, &username, &hash)?;
                log(tx, "user_passwd", serde_json::json!({"username": username}))
            })?;
            writeln!(out, "password of {username} changed; its sessions ended")?;
            if generated {
                writeln!(out, "password: {password}")?;
            }
        }
        UserCommand::Assign {
            username,
            units,
            role,
        } => {
            let user = store.write(|tx| -> anyhow::Result<_> {
                let user = accounts::set_units(tx, &username, &units, role)?;
                log(
                    tx,
                    "user_assign",
                    serde_json::json!({"username": username, "units": user.units, "role": user.role}),
                )?;
                Ok(user)
            })?;
            writeln!(
                out,
                "{} is now {} with units: {}",
                user.username,
                user.role.as_str(),
                units_text(&user)
            )?;
        }
        UserCommand::Disable { username } => {
            store.write(|tx| -> anyhow::Result<()> {
                accounts::set_disabled(tx, &username, true)?;
                log(
                    tx,
                    "user_disable",
                    serde_json::json!({"username": username}),
                )
            })?;
            writeln!(out, "disabled {username}; its sessions ended")?;
        }
        UserCommand::Enable { username } => {
            store.write(|tx| -> anyhow::Result<()> {
                accounts::set_disabled(tx, &username, false)?;
                log(tx, "user_enable", serde_json::json!({"username": username}))
            })?;
            writeln!(out, "enabled {username}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `ferry subject-report`: the report, audited as made by `cli`.
fn subject_report(config: &Config, id_number: &str, text: bool) -> anyhow::Result<ExitCode> {
    let store = open(config)?;
    let by = crate::rights::subject::Requester {
        user: CLI_USER,
        device: "",
        via: "cli",
    };
    let report = store.write(|tx| crate::rights::subject::report(tx, id_number, &by, now_ms()))?;
    let mut out = std::io::stdout().lock();
    if text {
        write!(out, "{}", crate::rights::printable::vietnamese(&report))?;
    } else {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// ` "Nguyễn Thị Lan"` after a user's login name when it has a display name.
fn shown_name_text(u: &accounts::User) -> String {
    u.display_name
        .as_deref()
        .map(|n| format!(" \"{n}\""))
        .unwrap_or_default()
}

fn units_text(u: &accounts::User) -> String {
    if u.role == Role::Admin {
        "all".into()
    } else if u.units.is_empty() {
        "-".into()
    } else {
        u.units.join(",")
    }
}

fn device(config: &Config, cmd: DeviceCommand) -> anyhow::Result<ExitCode> {
    let store = open(config)?;
    let mut out = std::io::stdout().lock();
    match cmd {
        DeviceCommand::List { user } => {
            let devices = store.read(|c| accounts::list_devices(c, user.as_deref()))?;
            writeln!(
                out,
                "{:<36} {:<16} {:<9} {:<20} name",
                "device", "user", "state", "last sync"
            )?;
            for d in devices {
                let state = match (d.revoked, d.wipe_pending) {
                    (true, true) => "wiping",
                    (true, false) => "revoked",
                    _ => "active",
                };
                let seen = if d.last_seen_ms == 0 {
                    "never".to_owned()
                } else {
                    format_time(d.last_seen_ms)
                };
                writeln!(
                    out,
                    "{:<36} {:<16} {:<9} {:<20} {}",
                    d.id.to_string(),
                    d.user,
                    state,
                    seen,
                    d.name
                )?;
            }
        }
        DeviceCommand::Revoke { id } => {
            let device = store.write(|tx| -> anyhow::Result<_> {
                let device = accounts::revoke_device(tx, id)?;
                log(
                    tx,
                    "device_revoke",
                    serde_json::json!({"device": id.to_string(), "user": device.user}),
                )?;
                Ok(device)
            })?;
            writeln!(
                out,
                "revoked device {} of {}: its next sync wipes it",
                device.id, device.user
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `ferry audit verify`: the whole chain with the audit key, against every signed checkpoint.
fn verify(store: &Store, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let files = crate::audit_key::current().context("no audit key is installed")?;
    let checkpoints = match crate::audit_key::read_checkpoints(&files.checkpoints, &files.key)? {
        Ok(c) => c,
        Err(why) => {
            writeln!(out, "BROKEN: {why} ({})", files.checkpoints.display())?;
            return Ok(ExitCode::FAILURE);
        }
    };
    match store.read(|c| audit::verify(c, &files.key, &checkpoints))? {
        audit::Verdict::Intact {
            rows,
            legacy,
            checkpoint_rows,
        } => {
            let legacy = if legacy > 0 {
                format!(" ({legacy} legacy rows from before the audit key)")
            } else {
                String::new()
            };
            let cp = match checkpoint_rows {
                Some(n) => format!("; last signed checkpoint at {n} rows"),
                None => format!(
                    "; no checkpoints yet in {}: truncation cannot be checked",
                    files.checkpoints.display()
                ),
            };
            let first: i64 = store.read(|c| {
                c.query_value(
                    "SELECT CAST(COALESCE(MIN(id), 1) AS BIGINT) FROM audit",
                    &[],
                )
            })?;
            let cut = if first > 1 {
                format!("; rows before {first} were removed by the retention rule (audit_cut)")
            } else {
                String::new()
            };
            writeln!(out, "OK: {rows} audit rows, chain intact{legacy}{cp}{cut}")?;
            Ok(ExitCode::SUCCESS)
        }
        audit::Verdict::Broken(b) => {
            writeln!(out, "BROKEN at row {}: {}", b.id, b.reason)?;
            Ok(ExitCode::FAILURE)
        }
        audit::Verdict::Truncated {
            rows,
            checkpoint_rows,
            checkpoint_ms,
        } => {
            writeln!(
                out,
                "TRUNCATED: the chain has {rows} rows but the signed checkpoint of {} recorded {checkpoint_rows}",
                format_time(checkpoint_ms)
            )?;
            Ok(ExitCode::FAILURE)
        }
    }
}

fn audit_cmd(config: &Config, cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    let store = open(config)?;
    let mut out = std::io::stdout().lock();
    match cmd {
        AuditCommand::Verify => verify(&store, &mut out),
        AuditCommand::List {
            user,
            device,
            record,
            action,
            since,
            until,
            limit,
            json,
        } => {
            let filter = audit::Filter {
                user,
                device,
                record,
                since_ms: since,
                until_ms: until,
                action,
                limit,
            };
            for row in store.read(|c| audit::list(c, &filter))? {
                if json {
                    writeln!(out, "{}", serde_json::to_string(&row)?)?;
                } else {
                    writeln!(
                        out,
                        "{:>6} {} {:<16} {:<36} {:<14} records={} {}",
                        row.id,
                        format_time(row.ts_ms),
                        row.user,
                        if row.device.is_empty() {
                            "-"
                        } else {
                            &row.device
                        },
                        row.action,
                        row.records,
                        row.details
                    )?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_every_documented_form() {
        // A day is the start of that day in Vietnam: UTC+7 today, UTC+8 in 1970 (Saigon
        // time until 1975), which the zone database knows and a fixed offset would not.
        assert_eq!(
            parse_time("1970-01-02").unwrap(),
            86_400_000 - 8 * 3_600_000
        );
        assert_eq!(
            parse_time("2026-01-01").unwrap(),
            1_767_225_600_000 - 7 * 3_600_000
        );
        assert_eq!(
            parse_time("2026-01-01T01:02:03Z").unwrap(),
            1_767_229_323_000
        );
        assert_eq!(
            parse_time("2026-01-01T08:02:03").unwrap(),
            1_767_229_323_000
        );
        assert_eq!(parse_time("12345").unwrap(), 12345);
        assert!(parse_time("yesterday").is_err());
        assert_eq!(format_time(1_767_229_323_000), "2026-01-01T08:02:03+07:00");
    }

    #[test]
    fn the_command_line_parses_with_serve_as_default() {
        let cli = Cli::try_parse_from(["ferry", "--bind", "127.0.0.1:0"]).unwrap();
        assert!(cli.command.is_none());
        let cli = Cli::try_parse_from([
            "ferry",
            "user",
            "add",
            "an",
            "--role",
            "officer",
            "--unit",
            "07132",
            "--data-dir",
            "/tmp/x",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::User(UserCommand::Add { .. }))
        ));
        assert_eq!(cli.config.data_dir, std::path::PathBuf::from("/tmp/x"));
    }
}
