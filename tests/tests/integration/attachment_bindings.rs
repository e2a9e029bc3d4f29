//! Attachments through the generated Python bindings, over a link that cuts uploads midway:
//! runs `mobile-ffi/tests/python/test_attachments.py` against a real `ferry` behind the link
//! simulator (`ferry_tests::link`).

use std::process::Command;

use ferry_tests::link::{Cut, Direction, Faults, Link, LinkProfile};

use super::python_bindings::{add_officer, cdylib, python_bindings, root, start_server};

#[test]
fn python_phones_attach_offline_sync_over_a_cutting_link_and_fetch_byte_identical() {
    let work = tempfile::tempdir().unwrap();
    let bindings = work.path().join("bindings");
    std::fs::create_dir_all(&bindings).unwrap();
    python_bindings(&cdylib(), &bindings);
    let data_dir = work.path().join("server");
    add_officer(&data_dir, "lan", "lan-pw-123456", "07132", None);
    add_officer(&data_dir, "minh", "minh-pw-123456", "07132", None);
    let server = start_server(&data_dir);
    let addr = server.url.trim_start_matches("http://").parse().unwrap();
    let link = Link::start(addr, LinkProfile::unthrottled().without_faults(), 13).unwrap();
    // Every connection is cut once 150 kB crossed it: even ones counting upstream (in the
    // middle of an upload's third chunk), odd ones downstream (in the middle of a fetch).
    // Logins and syncs are far smaller and pass; the phones' HTTP clients reconnect.
    link.set_plan(|i| {
        let direction = if i % 2 == 0 {
            Direction::Upstream
        } else {
            Direction::Downstream
        };
        Some(Faults {
            cut: Some(Cut {
                direction,
                after_bytes: 150_000,
            }),
            cut_after: None,
        })
    });
    let output = Command::new(std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into()))
        .args(["-m", "unittest", "-v", "test_attachments"])
        .current_dir(root().join("mobile-ffi/tests/python"))
        .env("PYTHONPATH", &bindings)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("FERRY_LINK_URL", link.url())
        .env("FERRY_OFFICER1", "lan")
        .env("FERRY_PASSWORD1", "lan-pw-123456")
        .env("FERRY_OFFICER2", "minh")
        .env("FERRY_PASSWORD2", "minh-pw-123456")
        .output()
        .expect("run python3");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{report}");
    assert!(
        output.status.success(),
        "the Python attachment test failed:\n{report}"
    );
    assert!(
        !report.contains("skipped"),
        "a Python test was skipped:\n{report}"
    );
    assert!(
        link.stats().cuts >= 1,
        "the link cut at least one upload: {:?}",
        link.stats()
    );
}
