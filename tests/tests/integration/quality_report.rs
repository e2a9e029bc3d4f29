//! The data-quality report end to end: staff store dossiers and a deceased citizen with a
//! live permanent registration; a leader of the ward reads the hand-counted findings,
//! completeness, open review items and deceased-still-registered figures as JSON, CSV, XLSX
//! (four sheets) and the console page with the findings-by-type chart, and nothing of the
//! other ward.

use std::time::{Duration, Instant};

use calamine::{Data, Reader, Xlsx};
use ferry_tests::{Device, PASSWORD, Server, application, citizen, now_ms};
use sync_core::model::{Fields, Kind, Value};

use crate::bin;
use crate::integration::accounts_hardening::console_session;
use crate::integration::review::Http;

const WARD: &str = "07132";
const OTHER: &str = "07135";

fn today() -> String {
    sync_core::time::local_date(now_ms())
}

fn dossier(staff: &Device, unit: &str, status: &str, filed: bool, reason: bool) {
    let mut f = application("Trần Thị Hoa", status);
    if filed {
        f.insert("filed_on".into(), today().as_str().into());
    }
    if status == "rejected" {
        f.insert("decided_on".into(), today().as_str().into());
        if reason {
            f.insert("refusal_reason".into(), Value::Text("Thiếu giấy tờ".into()));
        }
    }
    staff
        .create(Kind::CccdApplication, unit, f, now_ms())
        .unwrap_or_else(|e| panic!("{status}: {e:?}"));
}

/// A deceased citizen of the ward whose permanent registration was never removed.
fn deceased_still_registered(staff: &Device) {
    let mut person = citizen("Nguyễn Văn Tư");
    person.insert("status".into(), "deceased".into());
    person.insert("date_of_death".into(), "2025-12-20".into());
    person.insert("permanent_unit".into(), WARD.into());
    let id = staff
        .create(Kind::Citizen, WARD, person, now_ms())
        .unwrap()
        .record
        .id;
    let mut reg = Fields::new();
    reg.insert("citizen_id".into(), id.to_string().as_str().into());
    reg.insert("procedure".into(), "permanent_registration".into());
    reg.insert("address".into(), "Số 1 phố Quang Trung".into());
    reg.insert("address_unit".into(), WARD.into());
    reg.insert("from_date".into(), "2020-01-01".into());
    reg.insert("filed_on".into(), today().as_str().into());
    reg.insert("status".into(), "accepted".into());
    staff
        .create(Kind::ResidenceDeclaration, WARD, reg, now_ms())
        .unwrap();
}

/// This month, ward 07132, counted by hand:
///
/// | dossier                       | filing day | missing part          | complete |
/// |-------------------------------|------------|-----------------------|----------|
/// | application, submitted        | today      |                       | yes      |
/// | application, refused, reason  | today      |                       | yes      |
/// | application, refused, no reason | today    | refusal_reason_missing| no       |
/// | application, submitted        | —          |                       | no       |
/// | permanent registration        | today      |                       | yes      |
///
/// 5 dossiers, 1 without filing day, 1 with a missing part, 3 complete (60 %); one finding
/// `refusal_reason_missing`, first seen this month; one deceased person still registered
/// (an open review item). Ward 07135: one refusal without reason (not the leader's).
fn seed(server: &Server) -> Device {
    server.add_user("thu", "staff", &[WARD, OTHER]);
    server.add_user("chutich", "leader", &[WARD]);
    let staff = Device::login(&server.url(), "thu");
    dossier(&staff, WARD, "submitted", true, false);
    dossier(&staff, WARD, "rejected", true, true);
    dossier(&staff, WARD, "rejected", true, false);
    dossier(&staff, WARD, "submitted", false, false);
    deceased_still_registered(&staff);
    dossier(&staff, OTHER, "rejected", true, false);
    staff.sync_all();
    assert_eq!(staff.rejected().unwrap().len(), 0);
    staff
}

/// Waits (up to 15 s) for the detection worker to index everything.
fn settled(c: &ferry_tests::Client, path: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let j = c.get(path).unwrap().json();
        let dossiers: i64 = j["completeness"]
            .as_array()
            .map(|a| a.iter().filter_map(|r| r["dossiers"].as_i64()).sum())
            .unwrap_or(0);
        let dead = j["deceased_registered"][WARD].as_i64().unwrap_or(0);
        if (dossiers >= 5 && dead >= 1) || Instant::now() >= deadline {
            return j;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

ferry_tests::both_engines!(a_leader_reads_the_hand_counted_data_quality_of_its_ward);
fn a_leader_reads_the_hand_counted_data_quality_of_its_ward() {
    let server = Server::start(bin());
    let _staff = seed(&server);
    let leader = Device::login_with(&server.url(), "chutich", PASSWORD).expect("leader login");
    let j = settled(&leader.client, "/v1/reports/quality");
    assert_eq!(j["report"], "quality");
    assert_eq!(j["units"][0]["code"], WARD);
    assert_eq!(j["units"].as_array().unwrap().len(), 1);
    assert_eq!(
        j["completeness"],
        serde_json::json!([{"unit": WARD, "dossiers": 5, "no_filing_day": 1,
            "missing_part": 1, "complete": 3, "complete_share": 60.0}])
    );
    let findings = j["findings"].as_array().unwrap();
    let missing = findings
        .iter()
        .find(|f| f["code"] == "refusal_reason_missing")
        .unwrap_or_else(|| panic!("{findings:?}"));
    assert_eq!(missing["unit"], WARD);
    assert_eq!(missing["open"], 1);
    assert_eq!(
        missing["new_per_period"]
            .as_array()
            .unwrap()
            .last()
            .unwrap(),
        1
    );
    assert!(findings.iter().all(|f| f["unit"] == WARD), "{findings:?}");
    assert_eq!(j["by_code"]["refusal_reason_missing"], 1);
    assert_eq!(j["deceased_registered"], serde_json::json!({WARD: 1}));
    let review = j["review"].as_array().unwrap();
    let rule = review
        .iter()
        .find(|r| r["item_type"] == "rule_finding")
        .unwrap_or_else(|| panic!("{review:?}"));
    assert!(rule["under_7_days"].as_i64().unwrap() >= 1, "{rule}");
    assert_eq!(rule["over_30_days"], 0);
    let text = j.to_string();
    assert!(!text.contains("Nguyễn Văn Tư") && !text.contains("Trần Thị Hoa"));

    let other = leader
        .client
        .get(&format!("/v1/reports/quality?units={OTHER}"))
        .unwrap();
    assert_eq!(other.status, 403);

    // XLSX: four sheets, the completeness row as numbers.
    let xlsx = leader
        .client
        .get("/v1/reports/quality?format=xlsx")
        .unwrap();
    assert_eq!(xlsx.status, 200);
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.body)).unwrap();
    assert_eq!(
        wb.sheet_names(),
        ["Phát hiện", "Độ đầy đủ", "Rà soát", "Người đã mất"]
    );
    let range = wb.worksheet_range("Độ đầy đủ").unwrap();
    let row = range
        .rows()
        .find(|r| r.first() == Some(&Data::String("07132 Phường Quảng Yên".into())))
        .expect("the ward's row");
    assert_eq!(
        row[1..6].to_vec(),
        [5.0, 1.0, 1.0, 3.0, 60.0].map(Data::Float).to_vec()
    );
    let dead = wb.worksheet_range("Người đã mất").unwrap();
    assert!(dead.rows().any(|r| r.get(1) == Some(&Data::Float(1.0))));

    // CSV: the sections one after the other.
    let csv = leader.client.get("/v1/reports/quality?format=csv").unwrap();
    let text = String::from_utf8(csv.body).unwrap();
    assert!(text.starts_with("\u{feff}Phát hiện về chất lượng dữ liệu"));
    assert!(
        text.contains("\r\n07132 Phường Quảng Yên,5,1,1,3,60.0\r\n"),
        "{text}"
    );
    assert!(
        text.contains("\r\nNgười đã mất vẫn còn đăng ký thường trú\r\n"),
        "{text}"
    );
    assert!(text.contains("\r\n07132 Phường Quảng Yên,1\r\n"), "{text}");

    // The page: the findings-by-type chart with its table.
    let h = Http::new(&server.url());
    let session = console_session(&h, "chutich", PASSWORD);
    let page = h.get("/console/reports/quality", &session);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"chart-findings\""));
    assert!(
        page.body
            .contains("<th>Từ chối mà không ghi lý do</th><td class=\"num\">1</td>")
    );
    assert!(page.body.contains("id=\"completeness-table\""));
    assert!(!page.body.contains("Nguyễn Văn Tư"));
    let audit = server.cli(&["audit", "list", "--user", "chutich"]);
    let audit = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.matches("report_export").count() >= 2, "{audit}");
}

/// The ward's row of `code` in the quality report's findings, once `done` holds (up to 15 s).
fn finding_row(
    c: &ferry_tests::Client,
    code: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let j = c.get("/v1/reports/quality").unwrap().json();
        let row = j["findings"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["code"] == code).cloned())
            .unwrap_or_default();
        if done(&row) || Instant::now() >= deadline {
            return row;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

ferry_tests::both_engines!(
    a_finding_fixed_this_month_shows_in_the_trend_as_fixed_and_no_longer_open
);
fn a_finding_fixed_this_month_shows_in_the_trend_as_fixed_and_no_longer_open() {
    let server = Server::start(bin());
    server.add_user("thu", "staff", &[WARD]);
    server.add_user("chutich", "leader", &[WARD]);
    let staff = Device::login(&server.url(), "thu");
    let mut f = application("Trần Thị Hoa", "rejected");
    f.insert("filed_on".into(), today().as_str().into());
    f.insert("decided_on".into(), today().as_str().into());
    let id = staff
        .create(Kind::CccdApplication, WARD, f, now_ms())
        .unwrap()
        .record
        .id;
    staff.sync_all();
    let leader = Device::login_with(&server.url(), "chutich", PASSWORD).expect("leader login");
    let before = finding_row(&leader.client, "refusal_reason_missing", |r| r["open"] == 1);
    let last = |r: &serde_json::Value, k: &str| r[k].as_array().and_then(|a| a.last().cloned());
    assert_eq!(before["open"], 1, "{before}");
    assert_eq!(last(&before, "open_per_period"), Some(1.into()), "{before}");
    assert_eq!(
        last(&before, "fixed_per_period"),
        Some(0.into()),
        "{before}"
    );

    // The officer writes the reason: the finding goes, and the trend says it was fixed.
    staff
        .update(
            id,
            &[sync_core::doc::Edit::Set {
                field: "refusal_reason".into(),
                value: Value::Text("Thiếu giấy khai sinh".into()),
            }],
            now_ms(),
        )
        .unwrap();
    staff.sync_all();
    let after = finding_row(&leader.client, "refusal_reason_missing", |r| r["open"] == 0);
    assert_eq!(after["open"], 0, "{after}");
    assert_eq!(last(&after, "new_per_period"), Some(1.into()), "{after}");
    assert_eq!(last(&after, "fixed_per_period"), Some(1.into()), "{after}");
    assert_eq!(last(&after, "open_per_period"), Some(0.into()), "{after}");
    let j = leader.client.get("/v1/reports/quality").unwrap().json();
    assert_eq!(j["by_code"].get("refusal_reason_missing"), None, "{j}");
    assert_eq!(j["completeness"][0]["missing_part"], 0, "{j}");
    // The file shows the three trend columns.
    let xlsx = leader
        .client
        .get("/v1/reports/quality?format=xlsx")
        .unwrap();
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.body)).unwrap();
    let sheet = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&sheet).unwrap();
    let header: Vec<String> = range
        .rows()
        .find(|r| r.get(1) == Some(&Data::String("Loại phát hiện".into())))
        .expect("the header row")
        .iter()
        .map(|c| c.to_string())
        .collect();
    for what in ["Cuối kỳ", "Mới", "Đã khắc phục"] {
        assert!(header.iter().any(|h| h.starts_with(what)), "{header:?}");
    }
}
