//! The leadership reports over generated data, as a new user would try them: `ferry-gen`'s
//! records loaded with `ferry import`, a leader of the busiest ward signs in to the console,
//! opens the month's progress report with its chart, downloads it as XLSX, and the figures
//! match the JSON API — and both match a count made here from the generated records.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use calamine::{Data, Reader, Xlsx};
use ferry_tests::r#gen;
use ferry_tests::{Device, PASSWORD, Server};
use sync_core::model::{Kind, Record};

use crate::bin;
use crate::integration::accounts_hardening::console_session;
use crate::integration::review::Http;

/// What the progress report counts of one dossier (`server/src/reports/index.rs` `outcome`).
fn outcome(r: &Record) -> &'static str {
    match (r.kind, r.text("status").unwrap_or("draft")) {
        (_, "rejected") => "refused",
        (_, "withdrawn") => "withdrawn",
        (Kind::CccdApplication, "card_issued" | "returned") => "granted",
        (Kind::ResidenceDeclaration, "accepted") => "granted",
        _ => "in_progress",
    }
}

/// The ward with most dossiers, and its busiest filing month (`YYYY-MM`) with the outcome
/// counts of the dossiers filed in it, counted from the records themselves.
fn busiest_ward_month(records: &[Record]) -> (String, String, BTreeMap<&'static str, i64>) {
    let dossiers: Vec<&Record> = records
        .iter()
        .filter(|r| matches!(r.kind, Kind::CccdApplication | Kind::ResidenceDeclaration))
        .filter(|r| r.text("filed_on").is_some_and(|d| d.len() == 10))
        .collect();
    let mut by: BTreeMap<(String, String), Vec<&Record>> = BTreeMap::new();
    for r in dossiers {
        let month = r.text("filed_on").unwrap_or_default()[..7].to_owned();
        by.entry((r.unit.clone(), month)).or_default().push(r);
    }
    let ((unit, month), rs) = by
        .into_iter()
        .max_by_key(|(_, rs)| rs.len())
        .expect("dossiers");
    let mut counts = BTreeMap::new();
    for r in rs {
        *counts.entry(outcome(r)).or_default() += 1;
        *counts.entry("received").or_default() += 1;
    }
    (unit, month, counts)
}

fn xlsx_total(bytes: Vec<u8>) -> Vec<f64> {
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let sheet = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&sheet).unwrap();
    let total = range
        .rows()
        .find(|r| r.first() == Some(&Data::String("Tổng cộng".into())))
        .expect("a total row");
    total[3..8]
        .iter()
        .map(|c| match c {
            Data::Float(x) => *x,
            Data::Int(i) => *i as f64,
            other => panic!("not a number: {other:?}"),
        })
        .collect()
}

ferry_tests::both_engines!(
    a_leader_opens_the_months_progress_of_generated_data_and_the_console_xlsx_matches_the_json
);
fn a_leader_opens_the_months_progress_of_generated_data_and_the_console_xlsx_matches_the_json() {
    let records = r#gen::records(12, 1_500);
    let (ward, month, counts) = busiest_ward_month(&records);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("records.jsonl");
    std::fs::write(&file, r#gen::to_json_lines(&records)).unwrap();
    let server = Server::start(bin());
    let out = server.cli(&["import", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.add_user("chutich", "leader", &[&ward]);
    let leader = Device::login_with(&server.url(), "chutich", PASSWORD).expect("leader login");
    let query = format!("period=month&on={month}-15");

    // The review worker indexes the imported dossiers in the background.
    let want = counts["received"];
    let deadline = Instant::now() + Duration::from_secs(90);
    let json = loop {
        let j = leader
            .client
            .get(&format!("/v1/reports/progress?{query}"))
            .unwrap()
            .json();
        if j["total"]["received"] == want || Instant::now() >= deadline {
            break j;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let t = &json["total"];
    let n = |k: &str| counts.get(k).copied().unwrap_or(0);
    assert_eq!(t["received"], want, "{json}");
    for k in ["in_progress", "granted", "refused", "withdrawn"] {
        assert_eq!(t[k], n(k), "{k}: {json}");
    }
    assert_eq!(json["units"][0]["code"], ward.as_str());

    // The console: the page with its chart, then the XLSX its link downloads.
    let h = Http::new(&server.url());
    let session = console_session(&h, "chutich", PASSWORD);
    let page = h.get(&format!("/console/reports/progress?{query}"), &session);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"chart-status\""), "{}", page.body);
    assert!(page.body.contains("<svg"), "{}", page.body);
    let (status, xlsx) = h.get_bytes(&format!("/console/reports/progress.xlsx?{query}"), &session);
    assert_eq!(status, 200);
    let figures: Vec<f64> = ["received", "in_progress", "granted", "refused", "withdrawn"]
        .iter()
        .map(|k| t[*k].as_f64().unwrap())
        .collect();
    assert_eq!(
        xlsx_total(xlsx),
        figures,
        "the file says what the JSON says"
    );
    let audit = server.cli(&["audit", "list", "--user", "chutich"]);
    let audit = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.contains("report_export"), "{audit}");
}
