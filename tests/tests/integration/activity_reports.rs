//! The officers report and the data-use inspection end to end: an officer creates, edits and
//! has an edit refused, two of its records raise a duplicate review item; an admin assigned
//! to one ward reads a record of another; a leader of the ward reads both reports (JSON,
//! CSV, XLSX, console page) with the hand-counted figures, only for the accounts of its ward.

use std::time::{Duration, Instant};

use calamine::{Data, Reader, Xlsx};
use ferry_tests::{Device, PASSWORD, Server, citizen, now_ms};
use sync_core::doc::Edit;
use sync_core::model::{Kind, Value};

use crate::bin;
use crate::integration::accounts_hardening::console_session;
use crate::integration::review::Http;

const WARD: &str = "07132";
const OTHER: &str = "07135";

fn person(name: &str, id_number: &str) -> sync_core::model::Fields {
    let mut f = citizen(name);
    f.insert("id_number".into(), Value::Text(id_number.into()));
    f
}

/// Counted by hand (today):
///
/// | account | what it did                                                  |
/// |---------|--------------------------------------------------------------|
/// | thu     | created 2 citizens of 07132 (same ID number: one duplicate   |
/// |         | review item), 1 of 07135 refused (`out_of_scope`), then      |
/// |         | edited 1: created 2, edited 1, refused 1, review items 1     |
/// | lan     | created 1 citizen of 07135 (not in the leader's ward)        |
/// | admin   | assigned 07132; read thu's record and lan's: read 2, outside 1 |
///
/// The leader (07132) sees admin, chutich and thu — not lan.
fn seed(server: &Server) -> Device {
    server.add_user("thu", "staff", &[WARD]);
    server.add_user("lan", "staff", &[OTHER]);
    server.add_user("chutich", "leader", &[WARD]);
    let url = server.url();
    let thu = Device::login(&url, "thu");
    let a = thu
        .create(
            Kind::Citizen,
            WARD,
            person("Mai Thị Đào", "022190001234"),
            now_ms(),
        )
        .unwrap()
        .record
        .id;
    thu.create(
        Kind::Citizen,
        WARD,
        person("Mai Thị Đào", "022190001234"),
        now_ms(),
    )
    .unwrap();
    thu.create(Kind::Citizen, OTHER, citizen("Lý Văn Phúc"), now_ms())
        .unwrap();
    thu.sync_all();
    assert_eq!(thu.rejected().unwrap().len(), 1);
    thu.update(
        a,
        &[Edit::Set {
            field: "religion".into(),
            value: Value::Text("Không".into()),
        }],
        now_ms(),
    )
    .unwrap();
    thu.sync_all();

    let lan = Device::login(&url, "lan");
    let e = lan
        .create(Kind::Citizen, OTHER, citizen("Hà Văn Sơn"), now_ms())
        .unwrap()
        .record
        .id;
    lan.sync_all();

    let admin = server.admin();
    let r = admin
        .send(
            "PUT",
            "/v1/admin/users/admin/units",
            &[("Content-Type", "application/json")],
            Some(
                serde_json::json!({"units": [WARD]})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    for id in [a, e] {
        let r = admin.get(&format!("/v1/admin/records/{id}")).unwrap();
        assert_eq!(r.status, 200);
    }
    thu
}

fn row<'a>(j: &'a serde_json::Value, user: &str) -> &'a serde_json::Value {
    j["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user"] == user)
        .unwrap_or_else(|| panic!("{user} not listed: {j}"))
}

/// Waits (up to 15 s) until the duplicate item is detected and credited.
fn settled(leader: &Device) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let j = leader.client.get("/v1/reports/officers").unwrap().json();
        if row(&j, "thu")["review_items"] == 1 || Instant::now() >= deadline {
            return j;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

ferry_tests::both_engines!(a_leader_reads_what_each_officer_of_its_ward_did_and_how_data_was_used);
fn a_leader_reads_what_each_officer_of_its_ward_did_and_how_data_was_used() {
    let server = Server::start(bin());
    let _thu = seed(&server);
    let leader = Device::login_with(&server.url(), "chutich", PASSWORD).expect("leader login");

    let j = settled(&leader);
    assert_eq!(j["report"], "officers");
    let users: Vec<&str> = j["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["user"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["admin", "chutich", "thu"]);
    let thu = row(&j, "thu");
    assert_eq!(
        (
            &thu["created"],
            &thu["edited"],
            &thu["rejected_total"],
            &thu["review_items"]
        ),
        (&2.into(), &1.into(), &1.into(), &1.into()),
        "{thu}"
    );
    assert_eq!(thu["rejected"], serde_json::json!({"out_of_scope": 1}));

    let d = leader.client.get("/v1/reports/data-use").unwrap().json();
    assert_eq!(d["report"], "data_use");
    let admin = row(&d, "admin");
    assert_eq!(
        (&admin["read"], &admin["read_outside"]),
        (&2.into(), &1.into()),
        "{admin}"
    );
    assert_eq!(row(&d, "thu")["read_outside"], 0);
    assert_eq!(row(&d, "thu")["large_pull"], false);
    // A new phone of thu's downloads the ward: the two citizens of 07132 are pulled to it.
    let before = row(&d, "thu")["pulled"].as_i64().unwrap();
    let phone = Device::login(&server.url(), "thu");
    phone.sync_all();
    assert_eq!(phone.count().unwrap(), 2);
    let d = leader.client.get("/v1/reports/data-use").unwrap().json();
    assert_eq!(
        row(&d, "thu")["pulled"].as_i64().unwrap() - before,
        2,
        "{d}"
    );

    let other = leader
        .client
        .get(&format!("/v1/reports/officers?units={OTHER}"))
        .unwrap();
    assert_eq!(other.status, 403);

    // XLSX and CSV: the officer's row.
    let xlsx = leader
        .client
        .get("/v1/reports/officers?format=xlsx")
        .unwrap();
    assert_eq!(xlsx.status, 200);
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.body)).unwrap();
    let sheet = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&sheet).unwrap();
    let r = range
        .rows()
        .find(|r| r.first() == Some(&Data::String("thu".into())))
        .expect("thu's row");
    assert_eq!(r[3..6].to_vec(), [2.0, 1.0, 1.0].map(Data::Float).to_vec());
    assert_eq!(
        r[1],
        Data::String("Cán bộ công an tiếp nhận, giải quyết".into())
    );
    assert_eq!(r[6], Data::String("ngoài đơn vị phụ trách: 1".into()));
    assert_eq!(r[7], Data::Float(1.0));
    let csv = leader
        .client
        .get("/v1/reports/data-use?format=csv")
        .unwrap();
    let text = String::from_utf8(csv.body).unwrap();
    assert!(
        text.starts_with("\u{feff}\"Kiểm tra việc khai thác, sử dụng dữ liệu\"\r\n"),
        "{text}"
    );
    assert!(text.contains("\r\nadmin,Quản trị,07132,2,1,"), "{text}");
    // The data-use workbook reads back with the same figures.
    let xlsx = leader
        .client
        .get("/v1/reports/data-use?format=xlsx")
        .unwrap();
    assert_eq!(xlsx.status, 200);
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.body)).unwrap();
    let sheet = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&sheet).unwrap();
    let r = range
        .rows()
        .find(|r| r.first() == Some(&Data::String("admin".into())))
        .expect("the admin's row");
    assert_eq!(r[1], Data::String("Quản trị".into()));
    assert_eq!(r[3..5].to_vec(), [2.0, 1.0].map(Data::Float).to_vec());

    let h = Http::new(&server.url());
    let session = console_session(&h, "chutich", PASSWORD);
    for (page, id) in [
        ("/console/reports/officers", "officers-table"),
        ("/console/reports/data-use", "data-use-table"),
    ] {
        let r = h.get(page, &session);
        assert_eq!(r.status, 200, "{page}: {}", r.body);
        assert!(r.body.contains(&format!("id=\"{id}\"")), "{}", r.body);
        assert!(!r.body.contains(">lan<") && !r.body.contains("Mai Thị Đào"));
    }
    // The leader's own downloads (officers XLSX, data-use CSV and XLSX) are in its data use.
    let d = leader.client.get("/v1/reports/data-use").unwrap().json();
    assert_eq!(row(&d, "chutich")["exported"], 3);
}

/// The figures the daily rows alone give for `period` (what version 10 read): per user and
/// metric, the sum and the largest day.
fn from_days(
    store: &ferry_server::db::Store,
    from: &str,
    to: &str,
) -> std::collections::BTreeMap<(String, String), (i64, i64)> {
    store
        .read(|c| -> Result<_, ferry_server::db::DbError> {
            c.query(
                "SELECT \"user\", metric, CAST(SUM(n) AS BIGINT), MAX(n) FROM report_activity
                 WHERE day >= ?1 AND day <= ?2 GROUP BY \"user\", metric",
                &[&from, &to],
            )?
            .iter()
            .map(|r| {
                let key: (String, String) = (r.get(0)?, r.get(1)?);
                let value: (i64, i64) = (r.get(2)?, r.get(3)?);
                Ok((key, value))
            })
            .collect()
        })
        .expect("daily figures")
}

ferry_tests::both_engines!(the_monthly_activity_rollup_gives_the_figures_of_the_daily_counts);
/// Schema version 11 keeps `report_activity_month` next to the daily rows: audit entries over
/// days of three months, counted one by one (a day's pulls growing, then a larger day later in
/// the month), give the same officers and data-use figures for whole months, partial months
/// and a range across them as the daily rows summed.
fn the_monthly_activity_rollup_gives_the_figures_of_the_daily_counts() {
    use ferry_server::audit::Entry;
    use ferry_server::reports::officers::{LargePull, activity, day_start_ms};
    use ferry_server::reports::period::{Period, PeriodKind};
    use sync_core::model::Date;

    let mut server = Server::start(bin());
    server.add_user("thu", "staff", &[WARD]);
    server.add_user("lan", "staff", &[OTHER]);
    server.terminate();
    let store = server.store();
    let day = |s: &str| Date::parse(s).expect("day");
    // (day, user, records pulled): 2026-01-31 twice, a larger day in February, March.
    let pulls = [
        ("2026-01-30", "thu", 3),
        ("2026-01-31", "thu", 4),
        ("2026-01-31", "thu", 5),
        ("2026-02-01", "thu", 2),
        ("2026-02-14", "thu", 11),
        ("2026-02-14", "lan", 1),
        ("2026-03-01", "lan", 7),
        ("2026-03-31", "thu", 6),
    ];
    store
        .write(|tx| -> Result<(), ferry_server::db::DbError> {
            for (i, (d, user, n)) in pulls.iter().enumerate() {
                let sent: Vec<String> = (0..*n).map(|k| format!("r{i}-{k}")).collect();
                let e = Entry {
                    user,
                    device: "",
                    action: "sync",
                    records: Vec::new(),
                    details: serde_json::json!({"pushed": [], "rejected": [], "sent": sent}),
                };
                ferry_server::reports::activity::count(tx, day_start_ms(day(d)) + 3_600_000, &e)?;
                let read = Entry {
                    action: "report_export",
                    details: serde_json::json!({}),
                    ..e
                };
                ferry_server::reports::activity::count(
                    tx,
                    day_start_ms(day(d)) + 7_200_000,
                    &read,
                )?;
            }
            Ok(())
        })
        .expect("count");
    let rollup: i64 = store
        .read(|c| c.query_value::<i64>("SELECT COUNT(*) FROM report_activity_month", &[]))
        .expect("rollup rows");
    assert_eq!(
        rollup, 10,
        "3 months × (pulled, exported), thu and lan where they acted"
    );
    for (from, to) in [
        ("2026-01-01", "2026-03-31"),
        ("2026-02-01", "2026-02-28"),
        ("2026-01-31", "2026-03-01"),
        ("2026-01-15", "2026-02-14"),
        ("2026-02-02", "2026-03-31"),
        ("2026-02-14", "2026-02-14"),
        ("2026-04-01", "2026-12-31"),
    ] {
        let period = Period {
            kind: PeriodKind::Range,
            from: day(from),
            to: day(to),
        };
        let got = store
            .read(|c| activity(c, &[], true, period, LargePull { large_pull: 11 }))
            .expect("activity");
        let want = from_days(&store, from, to);
        for a in &got {
            let pulled = want
                .get(&(a.user.clone(), "pulled".to_owned()))
                .copied()
                .unwrap_or((0, 0));
            let exported = want
                .get(&(a.user.clone(), "exported".to_owned()))
                .map_or(0, |w| w.0);
            assert_eq!(
                (a.pulled, a.max_pulled_day),
                pulled,
                "{} {from}..{to}",
                a.user
            );
            assert_eq!(a.exported, exported, "{} {from}..{to}", a.user);
            assert_eq!(a.large_pull, pulled.1 >= 11, "{} {from}..{to}", a.user);
        }
    }
    // The hand count for the quarter: thu pulled 3 + 9 + 2 + 11 + 6 = 31, most on 2026-02-14.
    let quarter = Period {
        kind: PeriodKind::Quarter,
        from: day("2026-01-01"),
        to: day("2026-03-31"),
    };
    let all = store
        .read(|c| activity(c, &[], true, quarter, LargePull::default()))
        .expect("quarter");
    let thu = all.iter().find(|a| a.user == "thu").expect("thu");
    assert_eq!((thu.pulled, thu.max_pulled_day, thu.exported), (31, 11, 6));
}
