//! The coverage report end to end: staff store citizens, card applications and temporary
//! registrations dated from today (Vietnam); a leader of the ward reads the hand-counted
//! figures as JSON (with the horizon for cards due moved by `months`), CSV, XLSX (two sheets)
//! and the console page with its chart, no names or ID numbers anywhere, nothing of the
//! other ward, and every view audited.

use std::time::{Duration, Instant};

use calamine::{Data, Reader, Xlsx};
use ferry_tests::{Device, PASSWORD, Server, application, now_ms};
use serde_json::json;
use sync_core::model::{Date, Fields, Kind, Value};
use uuid::Uuid;

use crate::bin;
use crate::integration::accounts_hardening::console_session;
use crate::integration::review::Http;

const WARD: &str = "07132";
const OTHER: &str = "07135";

fn today() -> Date {
    sync_core::time::local_day(now_ms()).unwrap()
}

fn day(offset_days: i64) -> String {
    today().add_days(offset_days).unwrap().to_string()
}

/// Today plus `months` calendar months, minus `years` years (a birth date that makes the
/// citizen reach an age then).
fn born(months: i32, years: i32) -> Date {
    let t = today();
    let idx = t.year() * 12 + i32::from(t.month()) - 1 + months;
    let (y, m) = (idx.div_euclid(12), (idx.rem_euclid(12) + 1) as u8);
    let d = (1..=t.day())
        .rev()
        .find_map(|d| Date::new(y, m, d))
        .unwrap();
    d.add_years(-years).unwrap()
}

struct Person<'a> {
    name: &'a str,
    born: String,
    id_number: Option<&'a str>,
    /// Card issued at this age (years after birth).
    card_at: Option<i32>,
    card_expires: Option<String>,
    status: &'a str,
    /// Told the ID number (`id_number_notified_on`, a year ago).
    notified: bool,
    /// `vneid_level`.
    vneid: Option<&'a str>,
}

fn person<'a>(name: &'a str, born: Date, id_number: Option<&'a str>) -> Person<'a> {
    Person {
        name,
        born: born.to_string(),
        id_number,
        card_at: None,
        card_expires: None,
        status: "active",
        notified: false,
        vneid: None,
    }
}

fn create_citizen(staff: &Device, unit: &str, p: Person<'_>) -> Uuid {
    let mut f = Fields::new();
    f.insert("full_name".into(), Value::Text(p.name.into()));
    f.insert("date_of_birth".into(), p.born.as_str().into());
    f.insert("sex".into(), "female".into());
    f.insert("status".into(), p.status.into());
    if p.status == "deceased" {
        f.insert("date_of_death".into(), day(-30).as_str().into());
    }
    if let Some(n) = p.id_number {
        f.insert("id_number".into(), n.into());
    }
    if p.notified {
        f.insert("id_number_notified_on".into(), day(-365).as_str().into());
    }
    if let Some(level) = p.vneid {
        f.insert("vneid_level".into(), level.into());
        if level != "none" {
            f.insert("vneid_activated_on".into(), day(-200).as_str().into());
        }
    }
    if let Some(age) = p.card_at {
        let b = Date::parse(&p.born[..10]).unwrap();
        let issued = b.add_years(age).unwrap().to_string();
        f.insert("previous_card_issued_on".into(), issued.as_str().into());
    }
    if let Some(e) = &p.card_expires {
        f.insert("previous_card_issued_on".into(), "2015-01-05".into());
        f.insert("previous_card_expires_on".into(), e.as_str().into());
    }
    staff
        .create(Kind::Citizen, unit, f, now_ms())
        .unwrap_or_else(|e| panic!("{}: {e:?}", p.name))
        .record
        .id
}

fn create_application(
    staff: &Device,
    unit: &str,
    citizen: Option<Uuid>,
    request: &str,
    status: &str,
) {
    let mut f = application("Trần Thị Hoa", status);
    f.insert("request_type".into(), request.into());
    if request == "replacement" {
        f.insert("ground".into(), "exchange_age".into());
    }
    f.insert("filed_on".into(), day(0).as_str().into());
    if let Some(c) = citizen {
        f.insert("citizen_id".into(), c.to_string().as_str().into());
    }
    staff
        .create(Kind::CccdApplication, unit, f, now_ms())
        .unwrap_or_else(|e| panic!("{status}: {e:?}"));
}

/// A temporary registration (or, with `acts_on`, an extension of one) ending `ends_in` days
/// from today.
fn create_registration(
    staff: &Device,
    citizen: Uuid,
    status: &str,
    ends_in: i64,
    acts_on: Option<(Uuid, i64)>,
) -> Uuid {
    let mut f = Fields::new();
    f.insert("citizen_id".into(), citizen.to_string().as_str().into());
    f.insert("address".into(), "Số 5 phố Trần Khánh Dư".into());
    f.insert("address_unit".into(), WARD.into());
    f.insert("filed_on".into(), day(0).as_str().into());
    f.insert("to_date".into(), day(ends_in).as_str().into());
    f.insert("status".into(), status.into());
    match acts_on {
        None => {
            f.insert("procedure".into(), "temporary_registration".into());
            f.insert("from_date".into(), day(-300).as_str().into());
        }
        Some((registration, expires_in)) => {
            f.insert("procedure".into(), "extension".into());
            f.insert(
                "registration_id".into(),
                registration.to_string().as_str().into(),
            );
            f.insert(
                "registration_expires_on".into(),
                day(expires_in).as_str().into(),
            );
            f.insert("from_date".into(), day(expires_in + 1).as_str().into());
        }
    }
    staff
        .create(Kind::ResidenceDeclaration, WARD, f, now_ms())
        .unwrap_or_else(|e| panic!("registration {status} {ends_in}: {e:?}"))
        .record
        .id
}

/// Every name stored, none of which a report may show.
const NAMES: [&str; 13] = [
    "Lê Văn An",
    "Phạm Thị Bình",
    "Hoàng Văn Cường",
    "Đỗ Thị Dung",
    "Vũ Thị Én",
    "Bùi Văn Giang",
    "Ngô Thị Hạnh",
    "Đặng Văn Khoa",
    "Lý Thị Lan",
    "Trịnh Văn Minh",
    "Mai Thị Nga",
    "Tạ Văn Phúc",
    "Trần Thị Hoa",
];

/// Ward 07132, counted by hand (T = today, Vietnam):
///
/// | citizen            | born              | card                          | 14+ | no app | due ≤6 mo (age) | expired | no ID |
/// |--------------------|-------------------|-------------------------------|-----|--------|-----------------|---------|-------|
/// | Lê Văn An          | T − 20 y          | —                             | yes | yes    |                 |         | yes   |
/// | Phạm Thị Bình      | T − 30 y          | — (application submitted)     | yes |        |                 |         |       |
/// | Hoàng Văn Cường    | T − 10 y          | —                             |     |        |                 |         | yes   |
/// | Đỗ Thị Dung        | year T.year − 15  | —                             | yes | yes    |                 |         |       |
/// | Vũ Thị Én          | T + 2 mo − 25 y   | issued at 16 → ends at 25     | yes |        | yes (25)        |         |       |
/// | Bùi Văn Giang      | T + 5 mo − 40 y   | issued at 30 → ends at 40     | yes |        | yes (40)        |         |       |
/// | Ngô Thị Hạnh       | T + 8 mo − 60 y   | issued at 45 → ends at 60     | yes |        | (within 12 mo)  |         |       |
/// | Đặng Văn Khoa      | T − 1 mo − 25 y   | issued at 16 → ended at 25    | yes |        |                 | yes     |       |
/// | Lý Thị Lan         | T + 3 mo − 25 y   | issued at 16, replacement filed today | yes |  |                 |         |       |
/// | Trịnh Văn Minh     | 1950, deceased    | —                             |     |        |                 |         | (not active) |
/// | Mai Thị Nga        | T + 1 mo − 14 y   | issued at 10 → ends at 14     |     |        | yes (14)        |         |       |
/// | Tạ Văn Phúc        | month (T.year − 40)-06 | recorded end T + 4 mo    | yes |        | yes (unknown)   |         |       |
///
/// 14+: 9; without card or application: 2; cards due within 6 months: 4 (14, 25, 40, unknown:
/// one each), within 12 months: 5 (and 60); expired: 1; without ID number: 2.
/// Told the ID number: Bình, Én, Giang (of the 9 active citizens with one: 6 not told).
/// VNeID: Bình level 2, Én level 1, Nga (13) level 2, Giang `none`: 3 activated; of the 9
/// residents aged 14+, 7 without one.
/// Applications: two `card_issued` (not handed back), one `returned`, two submitted.
/// Temporary registrations (all accepted unless said): ending T + 10 (expiring); T + 20 (not);
/// T + 5 with an extension submitted (expiring, extension filed); T + 3 extended by an
/// accepted extension to T + 400 (superseded, not expiring); submitted ending T + 7 (not
/// granted); ended T − 1 (past). 2 expiring, 1 with an extension filed.
/// Ward 07135: a citizen 14+ without card or ID number and a card issued, not the leader's.
fn seed(server: &Server) -> Device {
    server.add_user("canbo", "staff", &[WARD, OTHER]);
    server.add_user("truongcongan", "leader", &[WARD]);
    let s = Device::login(&server.url(), "canbo");
    let t = today();
    let an = create_citizen(&s, WARD, person(NAMES[0], born(0, 20), None));
    let mut binh = person(NAMES[1], born(0, 30), Some("022195000001"));
    (binh.notified, binh.vneid) = (true, Some("level_2"));
    let binh = create_citizen(&s, WARD, binh);
    create_citizen(&s, WARD, person(NAMES[2], born(0, 10), None));
    let mut dung = person(NAMES[3], t, Some("022195000002"));
    dung.born = format!("{:04}", t.year() - 15);
    create_citizen(&s, WARD, dung);
    for (name, b, at, id) in [
        (NAMES[4], born(2, 25), 16, "022195000003"),
        (NAMES[5], born(5, 40), 30, "022195000004"),
        (NAMES[6], born(8, 60), 45, "022195000005"),
        (NAMES[7], born(-1, 25), 16, "022195000006"),
        (NAMES[10], born(1, 14), 10, "022195000008"),
    ] {
        let mut p = person(name, b, Some(id));
        p.card_at = Some(at);
        (p.notified, p.vneid) = match name {
            n if n == NAMES[4] => (true, Some("level_1")),
            n if n == NAMES[5] => (true, Some("none")),
            n if n == NAMES[10] => (false, Some("level_2")),
            _ => (false, None),
        };
        create_citizen(&s, WARD, p);
    }
    let mut lan = person(NAMES[8], born(3, 25), Some("022195000007"));
    lan.card_at = Some(16);
    let lan = create_citizen(&s, WARD, lan);
    let mut minh = person(NAMES[9], t, None);
    minh.born = "1950".into();
    minh.status = "deceased";
    create_citizen(&s, WARD, minh);
    let mut phuc = person(NAMES[11], t, Some("022195000009"));
    phuc.born = format!("{:04}-06", t.year() - 40);
    phuc.card_expires = Some(born(4, 0).to_string());
    create_citizen(&s, WARD, phuc);

    create_application(&s, WARD, Some(binh), "first_issue", "submitted");
    create_application(&s, WARD, Some(lan), "replacement", "submitted");
    create_application(&s, WARD, None, "first_issue", "card_issued");
    create_application(&s, WARD, None, "first_issue", "card_issued");
    create_application(&s, WARD, None, "first_issue", "returned");

    create_registration(&s, an, "accepted", 10, None);
    create_registration(&s, an, "accepted", 20, None);
    let r3 = create_registration(&s, an, "accepted", 5, None);
    create_registration(&s, an, "submitted", 60, Some((r3, 5)));
    let r4 = create_registration(&s, an, "accepted", 3, None);
    create_registration(&s, an, "accepted", 400, Some((r4, 3)));
    create_registration(&s, an, "submitted", 7, None);
    create_registration(&s, an, "accepted", -1, None);

    create_citizen(&s, OTHER, person("Lò Văn Sáng", born(0, 40), None));
    create_application(&s, OTHER, None, "first_issue", "card_issued");
    s.sync_all();
    assert_eq!(s.rejected().unwrap().len(), 0, "{:?}", s.rejected());
    s
}

fn ward_row(j: &serde_json::Value) -> serde_json::Value {
    j["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["unit"] == WARD).cloned())
        .unwrap_or_default()
}

/// Waits (up to 20 s) for the detection worker to index everything seeded.
fn settled(c: &ferry_tests::Client, path: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let j = c.get(path).unwrap().json();
        let r = ward_row(&j);
        let done = r["residents_14_plus"] == 9
            && r["issued_not_returned"] == 2
            && r["registrations_expiring"] == 2
            && r["extension_filed"] == 1
            && r["vneid_activated"] == 3
            && r["cards_due"].as_i64() >= Some(4);
        if done || Instant::now() >= deadline {
            return j;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn no_names(text: &str) {
    for n in NAMES.iter().chain(&["Lò Văn Sáng"]) {
        assert!(!text.contains(n), "{n} shown: {text}");
    }
    assert!(!text.contains("022195000"), "an ID number shown: {text}");
}

ferry_tests::both_engines!(a_leader_reads_the_hand_counted_coverage_of_its_ward_without_names);
fn a_leader_reads_the_hand_counted_coverage_of_its_ward_without_names() {
    let server = Server::start(bin());
    let _staff = seed(&server);
    let leader = Device::login_with(&server.url(), "truongcongan", PASSWORD).expect("leader");
    let j = settled(&leader.client, "/v1/reports/coverage");
    assert_eq!(j["report"], "coverage");
    assert_eq!(j["today"], today().to_string());
    assert_eq!(j["months"], 6);
    assert_eq!(j["registrations_expiring_until"], day(15));
    assert_eq!(j["units"].as_array().unwrap().len(), 1, "{j}");
    assert_eq!(j["rows"].as_array().unwrap().len(), 1, "{j}");
    assert_eq!(
        ward_row(&j),
        json!({"unit": WARD, "residents_14_plus": 9, "without_application": 2,
            "cards_due": 4, "cards_due_by_age": [1, 1, 1, 0, 1], "cards_expired": 1,
            "issued_not_returned": 2, "registrations_expiring": 2, "extension_filed": 1,
            "without_id_number": 2, "id_number_not_told": 6, "vneid_activated": 3,
            "vneid_not_activated": 7})
    );
    assert_eq!(j["total"]["without_application"], 2);
    assert!(
        j.get("not_recorded").is_none(),
        "every figure is counted: {j}"
    );
    no_names(&j.to_string());

    // A year ahead the card ending at 60 is due too.
    let year = leader
        .client
        .get("/v1/reports/coverage?months=12")
        .unwrap()
        .json();
    assert_eq!(ward_row(&year)["cards_due"], 5);
    assert_eq!(ward_row(&year)["cards_due_by_age"], json!([1, 1, 1, 1, 1]));
    let bad = leader.client.get("/v1/reports/coverage?months=0").unwrap();
    assert_eq!(bad.status, 400);
    let other = leader
        .client
        .get(&format!("/v1/reports/coverage?units={OTHER}"))
        .unwrap();
    assert_eq!(other.status, 403);

    // Staff of both wards see the other ward too, in the total.
    let staff = Device::login_with(&server.url(), "canbo", PASSWORD).unwrap();
    let both = staff.client.get("/v1/reports/coverage").unwrap().json();
    assert_eq!(both["total"]["without_application"], 3, "{both}");
    assert_eq!(both["total"]["issued_not_returned"], 3, "{both}");
    no_names(&both.to_string());

    // XLSX: two sheets, the ward's row as numbers.
    let xlsx = leader
        .client
        .get("/v1/reports/coverage?format=xlsx")
        .unwrap();
    assert_eq!(xlsx.status, 200);
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.body)).unwrap();
    assert_eq!(wb.sheet_names(), ["Độ phủ", "Thẻ đến hạn đổi"]);
    let range = wb.worksheet_range("Độ phủ").unwrap();
    assert!(
        range
            .rows()
            .any(|r| r.get(3) == Some(&Data::String("Thẻ đến hạn đổi trong 6 tháng".into())))
    );
    let row = range
        .rows()
        .find(|r| r.first() == Some(&Data::String("07132 Phường Quảng Yên".into())))
        .expect("the ward's row");
    assert_eq!(
        row[1..12].to_vec(),
        [9.0, 2.0, 4.0, 1.0, 2.0, 2.0, 1.0, 2.0, 6.0, 3.0, 7.0]
            .map(Data::Float)
            .to_vec()
    );
    let ages = wb.worksheet_range("Thẻ đến hạn đổi").unwrap();
    let row = ages
        .rows()
        .find(|r| r.first() == Some(&Data::String("07132 Phường Quảng Yên".into())))
        .expect("the ward's row by age");
    assert_eq!(
        row[1..7].to_vec(),
        [1.0, 1.0, 1.0, 0.0, 1.0, 4.0].map(Data::Float).to_vec()
    );
    let all: String = range
        .rows()
        .chain(ages.rows())
        .flatten()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join("|");
    assert!(all.contains("VNeID"), "{all}");
    no_names(&all);

    // CSV: the two sections one after the other.
    let csv = leader
        .client
        .get("/v1/reports/coverage?format=csv&months=12")
        .unwrap();
    let text = String::from_utf8(csv.body).unwrap();
    assert!(text.starts_with("\u{feff}Báo cáo độ phủ căn cước và cư trú\r\n"));
    assert!(text.contains(",Thẻ đến hạn đổi trong 12 tháng,"), "{text}");
    assert!(
        text.contains("\r\n07132 Phường Quảng Yên,9,2,5,1,2,2,1,2,6,3,7\r\n"),
        "{text}"
    );
    assert!(
        text.contains("\r\n07132 Phường Quảng Yên,1,1,1,1,1,5\r\n"),
        "{text}"
    );
    no_names(&text);

    // The page: the chart with its table, the figures, what the model cannot count.
    let h = Http::new(&server.url());
    let session = console_session(&h, "truongcongan", PASSWORD);
    let page = h.get("/console/reports/coverage", &session);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"chart-coverage\""));
    assert!(page.body.contains("<svg"), "{}", page.body);
    assert!(
        page.body
            .contains("<th>Tạm trú hết hạn trong 15 ngày</th><td class=\"num\">2</td>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"coverage-table\""));
    assert!(
        page.body.contains(
            "<th>Đã kích hoạt tài khoản định danh điện tử (VNeID)</th><td class=\"num\">3</td>"
        ),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<th>Chưa được thông báo số định danh cá nhân</th><td class=\"num\">6</td>"),
        "{}",
        page.body
    );
    no_names(&page.body);
    let index = h.get("/console/reports", &session);
    assert!(index.body.contains("href=\"/console/reports/coverage\""));

    let audit = server.cli(&["audit", "list", "--user", "truongcongan"]);
    let audit = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.contains("\"coverage\""), "{audit}");
    assert!(audit.matches("report_export").count() >= 2, "{audit}");
    assert!(audit.matches("report_view").count() >= 3, "{audit}");
}

/// Takes the stopped server's database back to version 8: the coverage index gone, nothing
/// queued, as a database made before this version was.
fn back_to_version_8(server: &Server) {
    use ferry_server::db::{DbError, Dialect};
    let store = server.store();
    let dialect = store.dialect();
    store
        .write(|tx| -> Result<(), DbError> {
            // Version 15's index and column, 14's column (its tables are made IF NOT
            // EXISTS), 13's column; version 12's columns and index go with `report_citizens`
            // (dropped below).
            tx.execute("DROP INDEX report_findings_unit_code_days", &[])?;
            tx.execute("ALTER TABLE report_findings DROP COLUMN resolved_on", &[])?;
            tx.execute("ALTER TABLE records DROP COLUMN lineage", &[])?;
            tx.execute("ALTER TABLE review_index DROP COLUMN captured_on", &[])?;
            // Versions 11 and 10 first (a version-8 database has neither, and both run again):
            // 11's index on `citizen` goes before the column, 10's `doc_len` and indexes.
            for sql in [
                "DROP INDEX report_dossiers_citizen_applied",
                "DROP INDEX records_pull",
                // Version 18's column (its index is records_pull again).
                "ALTER TABLE records DROP COLUMN restricted",
                "ALTER TABLE records DROP COLUMN doc_len",
                "CREATE INDEX changes_record_unit_seq ON changes (record, unit, seq)",
                "DROP INDEX changes_record_unit_seq_kind",
            ] {
                tx.execute(sql, &[])?;
            }
            for index in [
                "report_dossiers_citizen",
                "report_dossiers_registration",
                "report_dossiers_expiry",
            ] {
                tx.execute(&format!("DROP INDEX {index}"), &[])?;
            }
            for column in ["citizen", "registration", "expires_on"] {
                tx.execute(
                    &format!("ALTER TABLE report_dossiers DROP COLUMN {column}"),
                    &[],
                )?;
            }
            tx.execute("DROP TABLE report_citizens", &[])?;
            tx.execute("DELETE FROM review_queue", &[])?;
            match dialect {
                Dialect::Sqlite => tx.execute("PRAGMA user_version = 8", &[])?,
                Dialect::Postgres => {
                    tx.execute("DELETE FROM schema_migrations WHERE version >= 9", &[])?
                }
            };
            Ok(())
        })
        .expect("rewind to version 8");
}

ferry_tests::both_engines!(
    a_database_from_before_the_coverage_index_gets_its_figures_after_the_upgrade
);
fn a_database_from_before_the_coverage_index_gets_its_figures_after_the_upgrade() {
    let mut server = Server::start(bin());
    let _staff = seed(&server);
    let leader = Device::login_with(&server.url(), "truongcongan", PASSWORD).expect("leader");
    let before = ward_row(&settled(&leader.client, "/v1/reports/coverage"));
    assert_eq!(before["residents_14_plus"], 9, "{before}");
    server.kill();
    back_to_version_8(&server);
    server.restart();
    let leader = Device::login_with(&server.url(), "truongcongan", PASSWORD).expect("leader");
    let after = ward_row(&settled(&leader.client, "/v1/reports/coverage"));
    assert_eq!(after, before);
}
