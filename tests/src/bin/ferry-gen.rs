//! `ferry-gen`: prints seeded, realistic Quảng Yên records as JSON lines.
//!
//! ```text
//! ferry-gen [--seed N] [--citizens N | --records N] [--out FILE] [--stats]
//! ```
//!
//! `--citizens N` generates whole households until at least N citizens exist (with their
//! households, applications and declarations); `--records N` gives exactly N records.
//! Output goes to `--out FILE`, or stdout when absent or `-`. `--stats` prints a summary to
//! stderr.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use ferry_tests::r#gen::{Generator, to_json_lines};

const USAGE: &str =
    "usage: ferry-gen [--seed N] [--citizens N | --records N] [--out FILE|-] [--stats]";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ferry-gen: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut seed = 1u64;
    let mut citizens: Option<usize> = None;
    let mut records: Option<usize> = None;
    let mut out: Option<String> = None;
    let mut stats = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--seed" => seed = value("--seed")?.parse().map_err(|_| "bad --seed")?,
            "--citizens" => {
                citizens = Some(value("--citizens")?.parse().map_err(|_| "bad --citizens")?);
            }
            "--records" => {
                records = Some(value("--records")?.parse().map_err(|_| "bad --records")?);
            }
            "--out" => out = Some(value("--out")?),
            "--stats" => stats = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let mut generator = Generator::with_seed(seed);
    let (recs, problems) = match (citizens, records) {
        (Some(_), Some(_)) => return Err("give --citizens or --records, not both".into()),
        (_, Some(n)) => (generator.records(n), generator.problems().len()),
        (c, None) => {
            let d = generator.dataset(c.unwrap_or(1000));
            let p = d.problems.len();
            (d.records, p)
        }
    };
    let text = to_json_lines(&recs);
    match out.as_deref() {
        None | Some("-") => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = stdout.write_all(text.as_bytes());
        }
        Some(path) => {
            std::fs::write(path, &text).map_err(|e| format!("cannot write {path}: {e}"))?
        }
    }
    if stats {
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        for r in &recs {
            *kinds.entry(r.kind.to_string()).or_default() += 1;
        }
        let zstd = zstd::bulk::compress(text.as_bytes(), 9)
            .map(|z| z.len())
            .unwrap_or(0);
        eprintln!(
            "{} records {kinds:?}; {problems} with planted problems; JSON {} B, zstd-9 {} B",
            recs.len(),
            text.len(),
            zstd
        );
    }
    Ok(())
}
