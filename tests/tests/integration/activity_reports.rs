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
    assert!(row(&d, "thu")["pulled"].as_i64().unwrap() >= 0);
    assert_eq!(row(&d, "thu")["large_pull"], false);

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
    assert_eq!(r[6], Data::String("out_of_scope: 1".into()));
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
    assert!(text.contains("\r\nadmin,admin,07132,2,1,"), "{text}");

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
    // The leader's own downloads are in its data use.
    let d = leader.client.get("/v1/reports/data-use").unwrap().json();
    assert_eq!(row(&d, "chutich")["exported"], 2);
}
