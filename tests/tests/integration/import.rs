//! `ferry import` with the real binary on real files, on both engines: generated records are
//! loaded, checked as a push is, pulled by a phone, queued for review detection, audited once
//! per run, and a second run adds nothing.

use std::path::Path;
use std::process::Output;

use ferry_tests::r#gen;
use ferry_tests::{Device, Server};
use sync_core::model::Record;

use crate::bin;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn import(server: &Server, file: &Path) -> Output {
    server.cli(&[
        "import",
        file.to_str().expect("utf-8 path"),
        "--batch",
        "100",
    ])
}

fn count(server: &Server, sql: &str) -> i64 {
    server
        .store()
        .read(|c| c.query_value::<i64>(sql, &[]))
        .expect("count")
}

/// The unit holding most of `records`, and how many records it holds.
fn busiest_unit(records: &[Record]) -> (String, usize) {
    let mut by_unit = std::collections::BTreeMap::<&str, usize>::new();
    for r in records {
        *by_unit.entry(&r.unit).or_default() += 1;
    }
    let (u, n) = by_unit
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .expect("records");
    (u.to_owned(), n)
}

fn imported_records_reach_a_phone_are_queued_for_review_and_audited_once() {
    let records = r#gen::records(5, 400);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("records.jsonl");
    std::fs::write(&file, r#gen::to_json_lines(&records)).unwrap();
    let mut server = Server::start(bin());
    // Stopped, so that the queued detections are still there to count.
    server.kill();

    let out = import(&server, &file);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("imported 400 records, 0 unchanged, 0 refused"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("import: 400 lines"),
        "progress on stderr"
    );
    assert_eq!(count(&server, "SELECT count(*) FROM records"), 400);
    assert_eq!(count(&server, "SELECT count(*) FROM review_queue"), 400);
    // Religion, ethnicity and blood type are stored apart, one value per generated one, and
    // no stored document holds them (docs/protocol.md §12).
    let generated: usize = records
        .iter()
        .map(|r| {
            sync_core::model::sensitivity::sensitive_fields(r.kind)
                .filter(|f| r.fields.contains_key(*f))
                .count()
        })
        .sum();
    assert!(generated > 0, "the generator fills sensitive fields");
    assert_eq!(
        count(&server, "SELECT count(*) FROM sensitive_values") as usize,
        generated
    );
    let docs: Vec<Vec<u8>> = server
        .store()
        .read(|c| -> anyhow::Result<Vec<Vec<u8>>> {
            Ok(c.query("SELECT doc FROM records", &[])?
                .into_iter()
                .map(|mut r| r.take::<Vec<u8>>(0))
                .collect::<Result<_, _>>()?)
        })
        .unwrap();
    for doc in docs {
        let doc = sync_core::doc::RecordDoc::load(&doc).unwrap();
        assert!(
            doc.history()
                .iter()
                .all(|h| !sync_core::model::sensitivity::is_sensitive(
                    sync_core::model::Kind::Citizen,
                    &h.field
                ))
        );
    }
    let audit = server.cli(&["audit", "list", "--action", "import", "--json"]);
    let rows = text(&audit.stdout);
    assert_eq!(rows.lines().count(), 1, "{rows}");
    assert!(rows.contains("\\\"imported\\\":400"), "{rows}");

    // The server serves at once; its review worker drains the queue in the background, and
    // the records are served like pushed ones.
    server.restart();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while count(&server, "SELECT count(*) FROM review_queue") > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the review worker drained the imported records within a minute"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let (unit, in_unit) = busiest_unit(&records);
    server.add_user("an", "officer", &[&unit]);
    let phone = Device::login(&server.url(), "an");
    phone.sync_all();
    assert_eq!(phone.count().unwrap() as usize, in_unit);
    let verify = server.cli(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify.stdout));
}
ferry_tests::both_engines!(imported_records_reach_a_phone_are_queued_for_review_and_audited_once);

fn a_second_import_adds_nothing_and_refused_lines_say_which_and_why_without_personal_data() {
    let mut records = r#gen::records(6, 30);
    let mut bad_unit = records[3].clone();
    bad_unit.id = uuid::Uuid::now_v7();
    bad_unit.unit = "99999".into();
    let name = bad_unit
        .text("full_name")
        .unwrap_or("Nguyễn Văn An")
        .to_owned();
    let mut changed = records[0].clone();
    changed
        .fields
        .insert("full_name".into(), "Trần Thị Bích".into());
    let mut lines = r#gen::to_json_lines(&records);
    lines.push_str("{\"id\": \"not json\n");
    lines.push_str(&r#gen::to_json_lines(std::slice::from_ref(&bad_unit)));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("records.jsonl");
    std::fs::write(&file, &lines).unwrap();
    let server = Server::start(bin());

    let first = import(&server, &file);
    let err = text(&first.stderr);
    assert!(
        !first.status.success(),
        "refused lines make the exit status 1"
    );
    assert!(err.contains("line 31: refused: not valid JSON"), "{err}");
    assert!(err.contains("line 32: refused: "), "{err}");
    assert!(!err.contains(&name), "{err}");
    assert!(text(&first.stdout).contains("imported 30 records, 0 unchanged, 2 refused"));
    let changes = count(&server, "SELECT count(*) FROM changes");

    // Again, with one record's content changed: nothing new, that one refused.
    records[0] = changed;
    let mut lines = r#gen::to_json_lines(&records);
    lines.push_str("\n\n");
    std::fs::write(&file, &lines).unwrap();
    let second = import(&server, &file);
    assert!(
        text(&second.stdout).contains("imported 0 records, 29 unchanged, 1 refused"),
        "{}",
        text(&second.stdout)
    );
    assert!(text(&second.stderr).contains("line 1: refused: a record with this id is stored"));
    assert_eq!(count(&server, "SELECT count(*) FROM changes"), changes);
    assert_eq!(count(&server, "SELECT count(*) FROM records"), 30);
    let audit = server.cli(&["audit", "list", "--action", "import"]);
    assert_eq!(
        text(&audit.stdout).lines().count(),
        2,
        "one audit row per run"
    );
}
ferry_tests::both_engines!(
    a_second_import_adds_nothing_and_refused_lines_say_which_and_why_without_personal_data
);
