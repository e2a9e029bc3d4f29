//! Leadership reports end to end: staff file dossiers with known dates, the report index is
//! kept as they are stored, and a leader of one ward reads the progress report (JSON, CSV,
//! XLSX, console page with charts) with the hand-counted figures, sees no other unit, no
//! queue or record page, cannot sync a device, and every view and download is audited.

use std::time::{Duration, Instant};

use calamine::{Data, Reader, Xlsx};
use ferry_tests::{Device, PASSWORD, Server, application, now_ms};
use sync_core::model::{Kind, Value};

use crate::bin;
use crate::integration::accounts_hardening::console_session;
use crate::integration::review::Http;

const WARD: &str = "07132";
const OTHER: &str = "07135";
const OCTOBER: &str = "period=month&on=2026-10-15";

/// A CCCD application in `status` filed on `filed`, due on `due`, decided on `decided`.
fn dossier(
    staff: &Device,
    unit: &str,
    status: &str,
    filed: &str,
    due: Option<&str>,
    decided: Option<&str>,
) {
    let mut f = application("Trần Thị Hoa", status);
    f.insert("filed_on".into(), filed.into());
    if let Some(d) = due {
        f.insert("due_on".into(), d.into());
    }
    if let Some(d) = decided {
        f.insert("decided_on".into(), d.into());
    }
    if status == "rejected" {
        f.insert("refusal_reason".into(), Value::Text("Thiếu giấy tờ".into()));
    }
    staff
        .create(Kind::CccdApplication, unit, f, now_ms())
        .unwrap_or_else(|e| panic!("{status} {filed}: {e:?}"));
}

/// The seeded data, counted by hand (October 2026, ward 07132):
///
/// | # | status    | filed  | due    | decided | outcome     | overdue | days |
/// |---|-----------|--------|--------|---------|-------------|---------|------|
/// | 1 | submitted | 10-05  | 10-12  |         | in progress | yes     |      |
/// | 2 | submitted | 10-20  | (10-29)|         | in progress | yes     |      |
/// | 3 | card_issued | 10-01 | 10-08 | 10-06   | granted     | no      | 5    |
/// | 4 | card_issued | 10-02 | 10-09 | 10-12   | granted     | yes     | 10   |
/// | 5 | rejected  | 10-10  | (10-21)| 10-11   | refused     | no      | 1    |
///
/// (a due day in brackets is not recorded: the legal limit, 7 working days from filing).
/// plus one granted in September (trend only) and one in progress in ward 07135.
/// October, 07132: received 5, in progress 2, granted 2, refused 1, overdue 3, median 5 days,
/// 3 decided, all 3 with both days (100 % digital).
fn seed(server: &Server) {
    server.add_user("thu", "staff", &[WARD, OTHER]);
    server.add_user("chutich", "leader", &[WARD]);
    let staff = Device::login(&server.url(), "thu");
    dossier(
        &staff,
        WARD,
        "submitted",
        "2026-10-05",
        Some("2026-10-12"),
        None,
    );
    dossier(&staff, WARD, "submitted", "2026-10-20", None, None);
    dossier(
        &staff,
        WARD,
        "card_issued",
        "2026-10-01",
        Some("2026-10-08"),
        Some("2026-10-06"),
    );
    dossier(
        &staff,
        WARD,
        "card_issued",
        "2026-10-02",
        Some("2026-10-09"),
        Some("2026-10-12"),
    );
    dossier(
        &staff,
        WARD,
        "rejected",
        "2026-10-10",
        None,
        Some("2026-10-11"),
    );
    dossier(
        &staff,
        WARD,
        "card_issued",
        "2026-09-20",
        None,
        Some("2026-09-25"),
    );
    dossier(&staff, OTHER, "submitted", "2026-10-15", None, None);
    staff.sync_all();
}

/// Waits (up to 10 s) until the report index holds `n` dossiers (it is written by the
/// detection worker shortly after each push is committed).
fn indexed(device: &Device, n: i64) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = device
            .client
            .get(&format!(
                "/v1/reports/progress?period=year&on=2026-06-01&units={WARD},{OTHER}"
            ))
            .unwrap();
        let got = r.json()["total"]["received"].as_i64().unwrap_or(-1);
        if got >= n || Instant::now() >= deadline {
            return r.json();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

ferry_tests::both_engines!(
    a_leader_reads_the_hand_counted_progress_of_its_ward_as_json_csv_and_xlsx
);
fn a_leader_reads_the_hand_counted_progress_of_its_ward_as_json_csv_and_xlsx() {
    let server = Server::start(bin());
    seed(&server);
    let staff_view = Device::login(&server.url(), "thu");
    assert_eq!(indexed(&staff_view, 7)["total"]["received"], 7);

    let leader = Device::login_with(&server.url(), "chutich", PASSWORD).expect("leader login");
    let r = leader
        .client
        .get(&format!("/v1/reports/progress?{OCTOBER}"))
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let j = r.json();
    assert_eq!(j["period"]["from"], "2026-10-01");
    assert_eq!(j["period"]["to"], "2026-10-31");
    assert_eq!(j["period_label"], "Tháng 10/2026");
    assert_eq!(
        j["units"],
        serde_json::json!([{"code": WARD, "name": "Phường Quảng Yên"}])
    );
    let t = &j["total"];
    assert_eq!(
        (
            t["received"].as_i64(),
            t["in_progress"].as_i64(),
            t["granted"].as_i64()
        ),
        (Some(5), Some(2), Some(2))
    );
    assert_eq!(
        (t["refused"].as_i64(), t["withdrawn"].as_i64()),
        (Some(1), Some(0))
    );
    assert_eq!(t["overdue"], 3);
    assert_eq!(t["median_days"], 5.0);
    assert_eq!(
        (t["decided"].as_i64(), t["digital"].as_i64()),
        (Some(3), Some(3))
    );
    assert_eq!(t["digital_share"], 100.0);
    let rows = j["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "one unit × procedure: {rows:?}");
    assert_eq!(rows[0]["unit"], WARD);
    assert_eq!(rows[0]["procedure"], "first_issue");
    // The trend: six months up to October, September has the one granted in September.
    let trend = j["trend"].as_array().unwrap();
    assert_eq!(trend.len(), 6);
    let sept = trend
        .iter()
        .find(|p| p["period"]["from"] == "2026-09-01")
        .unwrap();
    assert_eq!(sept["received"], 1);
    assert_eq!(trend.last().unwrap()["received"], 5);
    // Nothing about people in the answer.
    let text = String::from_utf8_lossy(&r.body);
    assert!(
        !text.contains("Trần Thị Hoa") && !text.contains("022308001234"),
        "{text}"
    );

    // Another ward is not the leader's.
    let other = leader
        .client
        .get(&format!("/v1/reports/progress?{OCTOBER}&units={OTHER}"))
        .unwrap();
    assert_eq!(other.status, 403);
    assert_eq!(other.json()["error"], "unit_out_of_scope");
    let bad = leader
        .client
        .get("/v1/reports/progress?period=fortnight")
        .unwrap();
    assert_eq!(bad.status, 400);

    // CSV: BOM, heading lines, the total row.
    let csv = leader
        .client
        .get(&format!("/v1/reports/progress?{OCTOBER}&format=csv"))
        .unwrap();
    assert_eq!(csv.status, 200);
    let text = String::from_utf8(csv.body.clone()).unwrap();
    assert!(
        text.starts_with("\u{feff}Báo cáo tiến độ giải quyết hồ sơ"),
        "{text}"
    );
    assert!(text.contains("Đơn vị,07132 Phường Quảng Yên\r\n"), "{text}");
    assert!(
        text.contains("Kỳ báo cáo,Tháng 10/2026 (01/10/2026 – 31/10/2026)\r\n"),
        "{text}"
    );
    assert!(text.contains("Thời điểm lập (giờ Việt Nam),"), "{text}");
    assert!(
        text.contains("\r\nTổng cộng,,,5,2,2,1,0,3,5.0,100.0\r\n"),
        "{text}"
    );

    // XLSX, read back: the same figures as the JSON.
    let xlsx = leader
        .client
        .get(&format!("/v1/reports/progress?{OCTOBER}&format=xlsx"))
        .unwrap();
    assert_eq!(xlsx.status, 200);
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.body)).unwrap();
    let sheet = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&sheet).unwrap();
    let total = range
        .rows()
        .find(|r| r.first() == Some(&Data::String("Tổng cộng".into())))
        .expect("a total row");
    let numbers: Vec<f64> = total[3..11]
        .iter()
        .map(|c| match c {
            Data::Float(x) => *x,
            Data::Int(i) => *i as f64,
            other => panic!("not a number: {other:?}"),
        })
        .collect();
    assert_eq!(numbers, [5.0, 2.0, 2.0, 1.0, 0.0, 3.0, 5.0, 100.0]);
    let header = range
        .rows()
        .find(|r| r.get(1) == Some(&Data::String("Loại hồ sơ".into())))
        .expect("the header row");
    assert_eq!(header[8], Data::String("Quá hạn".into()));

    // Every view and download is in the audit trail.
    let out = server.cli(&["audit", "list", "--user", "chutich"]);
    let audit = String::from_utf8_lossy(&out.stdout);
    assert!(audit.contains("report_view"), "{audit}");
    assert_eq!(audit.matches("report_export").count(), 2, "{audit}");
}

ferry_tests::both_engines!(
    weeks_start_on_monday_and_quarters_halves_and_ranges_count_the_dossiers_filed_in_them
);
fn weeks_start_on_monday_and_quarters_halves_and_ranges_count_the_dossiers_filed_in_them() {
    let server = Server::start(bin());
    seed(&server);
    let staff_view = Device::login(&server.url(), "thu");
    assert_eq!(indexed(&staff_view, 7)["total"]["received"], 7);
    let leader = Device::login_with(&server.url(), "chutich", PASSWORD).expect("leader login");
    // Ward 07132 filed 09-20, 10-01, 10-02, 10-05, 10-10, 10-20.
    for (query, from, to, label, received) in [
        (
            "period=week&on=2026-10-07",
            "2026-10-05",
            "2026-10-11",
            "Tuần 05/10–11/10/2026",
            2,
        ),
        (
            "period=week&on=2026-10-01",
            "2026-09-28",
            "2026-10-04",
            "Tuần 28/09–04/10/2026",
            2,
        ),
        (
            "period=quarter&on=2026-11-30",
            "2026-10-01",
            "2026-12-31",
            "Quý IV/2026",
            5,
        ),
        (
            "period=quarter&on=2026-09-01",
            "2026-07-01",
            "2026-09-30",
            "Quý III/2026",
            1,
        ),
        (
            "period=half&on=2026-08-01",
            "2026-07-01",
            "2026-12-31",
            "6 tháng cuối năm 2026",
            6,
        ),
        (
            "period=range&on=2026-10-01&to=2026-10-05",
            "2026-10-01",
            "2026-10-05",
            "01/10/2026–05/10/2026",
            3,
        ),
    ] {
        let r = leader
            .client
            .get(&format!("/v1/reports/progress?{query}"))
            .unwrap();
        assert_eq!(
            r.status,
            200,
            "{query}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let j = r.json();
        assert_eq!(
            (&j["period"]["from"], &j["period"]["to"], &j["period_label"]),
            (&from.into(), &to.into(), &label.into()),
            "{query}"
        );
        assert_eq!(j["total"]["received"], received, "{query}: {j}");
    }
    let bad = leader
        .client
        .get("/v1/reports/progress?period=range&on=2026-10-05&to=2026-10-01")
        .unwrap();
    assert_eq!(bad.status, 400, "a range that ends before it starts");
}

ferry_tests::both_engines!(
    a_leader_assigned_the_province_reads_every_ward_under_it_and_several_at_once
);
fn a_leader_assigned_the_province_reads_every_ward_under_it_and_several_at_once() {
    let server = Server::start(bin());
    seed(&server);
    let staff_view = Device::login(&server.url(), "thu");
    assert_eq!(indexed(&staff_view, 7)["total"]["received"], 7);
    // The working group: a leader of province 22 (Quảng Ninh), whose wards are under it.
    server.add_user("totruong", "leader", &["22"]);
    let group = Device::login_with(&server.url(), "totruong", PASSWORD).expect("leader login");
    let year = "period=year&on=2026-06-01";
    let all = group
        .client
        .get(&format!("/v1/reports/progress?{year}"))
        .unwrap()
        .json();
    let codes: Vec<&str> = all["units"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["code"].as_str())
        .collect();
    assert!(codes.contains(&WARD) && codes.contains(&OTHER), "{codes:?}");
    assert_eq!(all["total"]["received"], 7, "{all}");
    let both = group
        .client
        .get(&format!("/v1/reports/progress?{year}&units={WARD},{OTHER}"))
        .unwrap()
        .json();
    assert_eq!(both["units"].as_array().unwrap().len(), 2);
    assert_eq!(both["total"]["received"], 7);
    let one = group
        .client
        .get(&format!("/v1/reports/progress?{year}&units={OTHER}"))
        .unwrap()
        .json();
    assert_eq!(one["total"]["received"], 1);
    // The console's unit filter chooses several wards (a multiple select sends the key twice).
    let h = Http::new(&server.url());
    let session = console_session(&h, "totruong", PASSWORD);
    let two = format!("{year}&units={WARD}&units={OTHER}");
    let page = h.get(&format!("/console/reports/progress?{two}"), &session);
    assert_eq!(page.status, 200, "{}", page.body);
    for code in [WARD, OTHER] {
        assert!(
            page.body
                .contains(&format!("<option value=\"{code}\" selected>")),
            "{code} chosen: {}",
            page.body
        );
    }
    let (status, xlsx) = h.get_bytes(&format!("/console/reports/progress.xlsx?{two}"), &session);
    assert_eq!(status, 200);
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).unwrap();
    let sheet = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&sheet).unwrap();
    let total = range
        .rows()
        .find(|r| r.first() == Some(&Data::String("Tổng cộng".into())))
        .expect("a total row");
    assert_eq!(total[3], Data::Float(7.0), "both wards' dossiers");
    // A ward's leader asking for two wards is refused the one it does not lead.
    let ward_leader = Device::login_with(&server.url(), "chutich", PASSWORD).unwrap();
    let r = ward_leader
        .client
        .get(&format!("/v1/reports/progress?{year}&units={WARD},{OTHER}"))
        .unwrap();
    assert_eq!(r.status, 403);
}

#[test]
fn a_leader_cannot_sync_a_device_nor_open_the_queue_but_sees_the_report_page_with_charts() {
    let server = Server::start(bin());
    seed(&server);
    let staff_view = Device::login(&server.url(), "thu");
    indexed(&staff_view, 7);

    let leader = Device::login_with(&server.url(), "chutich", PASSWORD).expect("leader login");
    let err = leader.sync().unwrap_err();
    assert!(format!("{err:?}").contains("leader_cannot_sync"), "{err:?}");

    let h = Http::new(&server.url());
    let session = console_session(&h, "chutich", PASSWORD);
    let start = h.get("/console", &session);
    assert_eq!(start.header("location"), Some("/console/reports"));
    for page in [
        "/console/queue",
        "/console/items/1",
        "/console/records/01a2318e-32f9-723a-91b0-0135bda12707",
    ] {
        let r = h.get(page, &session);
        assert_eq!(r.status, 403, "{page}: {}", r.body);
    }
    let r = h.get(&format!("/console/reports/progress?{OCTOBER}"), &session);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{}",
        r.body
    );
    assert!(r.body.contains("id=\"chart-trend\"") && r.body.contains("id=\"chart-status\""));
    assert!(
        r.body
            .contains("<td>Tổng cộng</td><td></td><td></td><td class=\"num\">5</td>"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("Trần Thị Hoa"));
    let other = h.get(
        &format!("/console/reports/progress?{OCTOBER}&units={OTHER}"),
        &session,
    );
    assert_eq!(other.status, 403);
    let csv = h.get(
        &format!("/console/reports/progress.csv?{OCTOBER}"),
        &session,
    );
    assert_eq!(csv.status, 200);
    assert!(
        csv.body.contains("Tổng cộng,,,5,2,2,1,0,3,5.0,100.0"),
        "{}",
        csv.body
    );
    assert_eq!(
        csv.header("content-disposition"),
        Some("attachment; filename=\"bao-cao-tien-do-2026-10-01-2026-10-31.csv\"")
    );
}
