//! `ferry units adjust [--dry-run] [--json] [--as ADMIN]`: the Art. 26 bulk adjustment of
//! residence addresses to the current administrative units ([`crate::unit_adjust`]), on
//! either engine, in one transaction. Prints what it adjusted and what it left for a
//! decision (record ids and unit codes only: no personal data), or the report as JSON.

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Config;
use crate::now_ms;
use crate::review::ReviewError;
use crate::unit_adjust::{self, Report};

/// `ferry units …`
#[derive(Debug, Subcommand)]
pub enum UnitsCommand {
    /// Adjust citizens' residence units from before 2025-07-01 to the current units, writing
    /// an Art. 26 adjustment declaration for each; split or dissolved units are listed, not
    /// changed.
    Adjust {
        /// Report what would change without changing it.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// The admin account acting.
        #[arg(long = "as", default_value = "admin")]
        admin: String,
    },
}

/// Runs a `ferry units` command.
pub fn run(config: &Config, cmd: UnitsCommand) -> anyhow::Result<ExitCode> {
    let UnitsCommand::Adjust {
        dry_run,
        json,
        admin,
    } = cmd;
    let store = crate::open_store(config)?;
    let report = crate::writer::retrying(|| {
        store.write(|tx| {
            unit_adjust::adjust(tx, &admin, "cli", dry_run, now_ms()).map_err(|e| match e {
                ReviewError::Internal(e) => e,
                refused => anyhow::Error::new(refused),
            })
        })
    })?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        print_report(&mut out, &report)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    let verb = if r.dry_run {
        "would adjust"
    } else {
        "adjusted"
    };
    writeln!(
        out,
        "{} citizens read; {verb} {} address unit(s); {} left for a decision",
        r.citizens,
        r.adjusted.len(),
        r.undecided.len()
    )?;
    for a in &r.adjusted {
        let declaration = a
            .declaration
            .map(|d| format!("  (adjustment {d})"))
            .unwrap_or_default();
        writeln!(
            out,
            "  {} {}: {} -> {}{declaration}",
            a.record, a.field, a.from, a.to
        )?;
    }
    for u in &r.undecided {
        let candidates = if u.candidates.is_empty() {
            "no current unit".to_owned()
        } else {
            u.candidates.join(" or ")
        };
        writeln!(
            out,
            "  {} {}: {} -> {candidates}  (decide by hand)",
            u.record, u.field, u.code
        )?;
    }
    Ok(())
}
