//! Ferry's `uniffi-bindgen`: generates the Kotlin, Swift and Python bindings of a built
//! `mobile-ffi` library, from any folder.
//!
//! UniFFI's own command line finds each crate's `uniffi.toml` by running `cargo metadata`,
//! so it fails outside the Ferry workspace (an app's repository, a CI job holding only the
//! built `.so`). This one is UniFFI 0.32's generator in library mode built without that
//! feature, with `mobile-ffi/uniffi.toml` compiled in: the library alone is enough, and the
//! package and module names (Kotlin `vn.ferry.core`, Swift `FerryCore`) are always Ferry's.
//!
//! ```sh
//! uniffi-bindgen generate path/to/libmobile_ffi.so --language kotlin --out-dir out --no-format
//! ```
//!
//! `--config FILE` replaces the built-in settings with another `uniffi.toml` (for instance
//! one adding `android = true` under `[bindings.kotlin]`). The options are UniFFI's own, so
//! commands written for its `uniffi-bindgen` keep working.

use std::fs;

use anyhow::{Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use clap::{Args, Parser, Subcommand, ValueEnum};
use uniffi_bindgen::bindings::{GenerateOptions, TargetLanguage, generate};

/// `mobile-ffi/uniffi.toml`, as it was when this binary was built.
const MOBILE_FFI_SETTINGS: &str = include_str!("../../uniffi.toml");

/// The crate whose settings those are (the name UniFFI reads from the library's metadata).
const CRATE: &str = "mobile_ffi";

#[derive(Parser)]
#[command(name = "uniffi-bindgen", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate foreign language bindings from a built mobile-ffi library.
    Generate(Generate),
}

#[derive(Args)]
struct Generate {
    /// Language(s) to generate (repeat the option for several).
    #[arg(long, short, value_enum, required = true)]
    language: Vec<Language>,
    /// Folder the generated files go to (created if missing).
    #[arg(long, short)]
    out_dir: Utf8PathBuf,
    /// Do not run a formatter (ktlint, swiftformat, black) over the generated files.
    #[arg(long, short)]
    no_format: bool,
    /// A uniffi.toml to use instead of the built-in mobile-ffi/uniffi.toml.
    #[arg(long, short)]
    config: Option<Utf8PathBuf>,
    /// Accepted for compatibility: the source is always a library.
    #[arg(long = "library", hide = true)]
    _library: bool,
    /// Only generate the bindings of this crate.
    #[arg(long = "crate")]
    crate_name: Option<String>,
    /// The built library: libmobile_ffi.so, .dylib or .a.
    source: Utf8PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum Language {
    Kotlin,
    Swift,
    Python,
}

impl From<Language> for TargetLanguage {
    fn from(language: Language) -> Self {
        match language {
            Language::Kotlin => Self::Kotlin,
            Language::Swift => Self::Swift,
            Language::Python => Self::Python,
        }
    }
}

fn main() -> Result<()> {
    let Command::Generate(args) = Cli::parse().command;
    let settings = match &args.config {
        Some(path) => fs::read_to_string(path).with_context(|| format!("read {path}"))?,
        None => MOBILE_FFI_SETTINGS.to_owned(),
    };
    let scratch = tempfile::tempdir().context("create a scratch folder")?;
    let global = crate_roots(scratch.path(), &settings)?;
    generate(GenerateOptions {
        languages: args
            .language
            .into_iter()
            .map(TargetLanguage::from)
            .collect(),
        out_dir: args.out_dir,
        source: args.source,
        config_override: Some(global),
        format: !args.no_format,
        crate_filter: args.crate_name,
        metadata_no_deps: false,
    })
}

/// Writes `settings` as the `uniffi.toml` of a stand-in crate root for [`CRATE`] and returns
/// a UniFFI global config file pointing at it (`[crate-roots]`): the way UniFFI 0.32 finds a
/// crate's settings when it does not ask cargo.
fn crate_roots(scratch: &std::path::Path, settings: &str) -> Result<Utf8PathBuf> {
    let scratch = Utf8Path::from_path(scratch).context("the temporary folder is not UTF-8")?;
    let root = scratch.join(CRATE);
    fs::create_dir(&root)?;
    fs::write(root.join("uniffi.toml"), settings)?;
    let global = scratch.join("uniffi-global.toml");
    fs::write(&global, format!("[crate-roots]\n{CRATE} = \"{CRATE}\"\n"))?;
    Ok(global)
}
