//! The phone API through its generated Python bindings, against the real `ferry` server:
//! builds the `mobile-ffi` cdylib if needed, generates the Python bindings, starts `ferry`
//! with two officers, and runs `mobile-ffi/tests/python/test_field_day.py` (stdlib
//! `unittest`) as a field day with two phones.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// The workspace root.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root().join(p) })
        .unwrap_or_else(|| root().join("target"))
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Newest modification time of any file under `dirs`.
fn newest_source(dirs: &[PathBuf]) -> SystemTime {
    fn walk(dir: &Path, newest: &mut SystemTime) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, newest);
            } else if let Ok(modified) = entry.metadata().and_then(|m| m.modified()) {
                *newest = (*newest).max(modified);
            }
        }
    }
    let mut newest = SystemTime::UNIX_EPOCH;
    for dir in dirs {
        walk(dir, &mut newest);
    }
    newest
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Runs `cargo build` for `args` unless `artifact` is newer than every source in `sources`.
fn ensure_built(artifact: &Path, sources: &[PathBuf], args: &[&str]) {
    let fresh = modified(artifact).is_some_and(|m| m >= newest_source(sources));
    if fresh {
        return;
    }
    let status = cargo()
        .arg("build")
        .args(args)
        .current_dir(root())
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build {args:?} failed");
    assert!(artifact.exists(), "{} was not built", artifact.display());
}

/// The `mobile-ffi` cdylib, built if missing or older than its sources.
///
/// `cargo test --workspace` builds it into `target/debug/deps/` without copying it up to
/// `target/debug/` (which `cargo build` does), so the newer of the two is used.
pub(crate) fn cdylib() -> PathBuf {
    let name = if cfg!(target_os = "macos") {
        "libmobile_ffi.dylib"
    } else {
        "libmobile_ffi.so"
    };
    let debug = target_dir().join("debug");
    let r = root();
    let sources = [
        r.join("mobile-ffi/src"),
        r.join("mobile-ffi/Cargo.toml"),
        r.join("sync-core/src"),
        r.join("sync-core/data"),
        r.join("sync-core/Cargo.toml"),
    ];
    let newest = [debug.join("deps").join(name), debug.join(name)]
        .into_iter()
        .filter_map(|p| modified(&p).map(|m| (m, p)))
        .max()
        .map(|(_, p)| p);
    match newest {
        Some(lib) if modified(&lib).is_some_and(|m| m >= newest_source(&sources)) => lib,
        _ => {
            let lib = debug.join(name);
            ensure_built(&lib, &sources, &["-p", "mobile-ffi"]);
            lib
        }
    }
}

/// Generates the Python bindings of `lib` into `out` and copies the library next to them.
pub(crate) fn python_bindings(lib: &Path, out: &Path) {
    let bindgen = target_dir().join("debug").join("uniffi-bindgen");
    ensure_built(
        &bindgen,
        // Its settings are mobile-ffi/uniffi.toml, compiled in.
        &[
            root().join("mobile-ffi/uniffi-bindgen"),
            root().join("mobile-ffi/uniffi.toml"),
        ],
        &["-p", "uniffi-bindgen"],
    );
    let output = Command::new(&bindgen)
        .args([
            "generate",
            "--language",
            "python",
            "--no-format",
            "--out-dir",
        ])
        .arg(out)
        .arg(lib)
        .current_dir(root())
        .output()
        .expect("run uniffi-bindgen");
    assert!(
        output.status.success(),
        "uniffi-bindgen failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::copy(lib, out.join(lib.file_name().unwrap())).expect("copy the cdylib");
    assert!(out.join("mobile_ffi.py").exists());
}

/// The `ferry` executable.
pub(crate) fn ferry_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ferry"))
}

fn ferry(data_dir: &Path) -> Command {
    let mut cmd = Command::new(ferry_bin());
    cmd.arg("--data-dir")
        .arg(data_dir)
        .env("FERRY_ADMIN_PASSWORD", "field-day-admin-pw")
        .env("FERRY_LOG", "warn")
        .env("FERRY_METRICS_LISTEN", "127.0.0.1:0");
    cmd
}

/// A running server, killed on drop.
pub(crate) struct Server {
    child: Child,
    pub(crate) url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start_server(data_dir: &Path) -> Server {
    let mut child = ferry(data_dir)
        .args(["--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start ferry");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("listening on ") {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("ferry did not print `listening on …`");
    Server { child, url }
}

/// Adds an officer of `unit` through the CLI, with a display name when given.
pub(crate) fn add_officer(
    data_dir: &Path,
    name: &str,
    password: &str,
    unit: &str,
    display_name: Option<&str>,
) {
    add_user(data_dir, name, "officer", password, unit, display_name);
}

/// Adds a user of `role` and `unit` through the CLI, with a display name when given.
pub(crate) fn add_user(
    data_dir: &Path,
    name: &str,
    role: &str,
    password: &str,
    unit: &str,
    display_name: Option<&str>,
) {
    let output = ferry(data_dir)
        .args(["user", "add", name, "--role", role, "--unit", unit])
        .args(["--password", password])
        .args(
            display_name
                .map(|d| ["--display-name", d])
                .into_iter()
                .flatten(),
        )
        .output()
        .expect("run ferry user add");
    assert!(
        output.status.success(),
        "ferry user add failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn python_field_day_with_two_phones_against_a_real_server() {
    let started = Instant::now();
    let work = tempfile::tempdir().unwrap();
    let bindings = work.path().join("bindings");
    std::fs::create_dir_all(&bindings).unwrap();
    python_bindings(&cdylib(), &bindings);

    let data_dir = work.path().join("server");
    // The officers' display names; Lan's typed decomposed, as some keyboards send it (the
    // server stores NFC, and the phones must show it so).
    let (lan, minh) = ("Nguyễn Thị Lan", "Trần Văn Minh");
    let lan_typed = "Nguye\u{0302}\u{0303}n Thi\u{0323} Lan";
    add_officer(
        &data_dir,
        "officer1",
        "officer1-pw-123",
        "07132",
        Some(lan_typed),
    );
    add_officer(
        &data_dir,
        "officer2",
        "officer2-pw-456",
        "07132",
        Some(minh),
    );
    add_officer(&data_dir, "officer3", "officer3-pw-789", "07132", None);
    add_officer(&data_dir, "officer4", "officer4-pw-012", "07132", None);
    add_user(&data_dir, "staff1", "staff", "staff1-pw-345", "07132", None);
    let server = start_server(&data_dir);

    let tests_dir = root().join("mobile-ffi/tests/python");
    let output = Command::new(std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into()))
        .args(["-m", "unittest", "-v", "test_field_day"])
        .current_dir(&tests_dir)
        .env("PYTHONPATH", &bindings)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("FERRY_URL", &server.url)
        .env("FERRY_OFFICER1", "officer1")
        .env("FERRY_PASSWORD1", "officer1-pw-123")
        .env("FERRY_OFFICER2", "officer2")
        .env("FERRY_PASSWORD2", "officer2-pw-456")
        .env("FERRY_DISPLAY1", lan)
        .env("FERRY_DISPLAY2", minh)
        .env("FERRY_OFFICER3", "officer3")
        .env("FERRY_PASSWORD3", "officer3-pw-789")
        .env("FERRY_OFFICER4", "officer4")
        .env("FERRY_PASSWORD4", "officer4-pw-012")
        .env("FERRY_STAFF", "staff1")
        .env("FERRY_STAFF_PASSWORD", "staff1-pw-345")
        .env("FERRY_BIN", ferry_bin())
        .env("FERRY_DATA_DIR", &data_dir)
        .output()
        .expect("run python3 (is it installed?)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{report}");
    drop(server);
    assert!(
        output.status.success(),
        "the Python field day failed:\n{report}"
    );
    assert!(
        !report.contains("skipped"),
        "a Python test was skipped:\n{report}"
    );
    eprintln!("python field day took {:?}", started.elapsed());
}

/// The shell block of `mobile-ffi/README.md` that follows the `bindgen-outside-workspace`
/// marker, exactly as written there.
fn readme_bindgen_block() -> String {
    let readme = std::fs::read_to_string(root().join("mobile-ffi/README.md")).expect("README");
    let after = readme
        .split_once("<!-- bindgen-outside-workspace")
        .expect("the README marks its binding-generation block")
        .1;
    let body = after
        .split_once("```sh\n")
        .expect("a sh block follows the marker")
        .1;
    body.split_once("```").expect("the block ends").0.to_owned()
}

#[test]
fn the_readmes_binding_generation_commands_work_from_a_folder_outside_the_workspace() {
    let app = tempfile::tempdir().unwrap();
    // No Cargo project anywhere above the app's folder: `cargo metadata` would fail there.
    assert!(
        app.path()
            .ancestors()
            .all(|dir| !dir.join("Cargo.toml").exists()),
        "{} is inside a Cargo project",
        app.path().display()
    );
    let block = readme_bindgen_block();
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &block])
        .current_dir(app.path())
        .env("FERRY", root())
        .env("APP", app.path())
        // The README's paths are the default target folder's.
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("run bash");
    assert!(
        output.status.success(),
        "the README's commands failed:\n{block}\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let out = app.path().join("ferry-bindings");
    let kotlin = std::fs::read_to_string(out.join("vn/ferry/core/mobile_ffi.kt")).expect("Kotlin");
    assert!(
        kotlin.contains("package vn.ferry.core"),
        "uniffi.toml's package"
    );
    assert!(kotlin.contains("class FerryStore"));
    let swift = std::fs::read_to_string(out.join("FerryCore.swift")).expect("Swift");
    assert!(
        swift.contains("FerryCoreFFI"),
        "uniffi.toml's Swift FFI module"
    );
    assert!(out.join("FerryCoreFFI.h").exists() && out.join("FerryCoreFFI.modulemap").exists());
    let python = std::fs::read_to_string(out.join("mobile_ffi.py")).expect("Python");
    assert!(python.contains("class FerryStore"));
}
