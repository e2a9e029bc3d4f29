//! Issue 11's everyday cases through a real server: each is pushed by a phone, indexed by the
//! review worker, and leaves no finding on any record and no item in the review queue —
//! a household moving from old Minh Thành (07138) to Đông Mai (07135), a boat family
//! registered at their mooring, a migrant worker from Thanh Hóa registered temporarily in
//! Phong Cốc, and a 10-year-old's first card with a parent as representative.

use std::time::{Duration, Instant};

use ferry_tests::{Device, Server, now_ms};
use sync_core::model::{Fields, Kind, Value};
use uuid::Uuid;

use crate::bin;

fn fields(pairs: &[(&str, Value)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn create(phone: &Device, kind: Kind, unit: &str, pairs: &[(&str, Value)]) -> Uuid {
    phone
        .create(kind, unit, fields(pairs), now_ms())
        .unwrap_or_else(|e| panic!("{kind:?} in {unit}: {e:?}"))
        .record
        .id
}

fn id(u: Uuid) -> Value {
    u.to_string().into()
}

/// A citizen of `unit` with the usual identity fields and the given extra ones.
fn citizen(
    phone: &Device,
    unit: &str,
    name: &str,
    number: &str,
    born: &str,
    sex: &str,
    extra: &[(&str, Value)],
) -> Uuid {
    let mut pairs = vec![
        ("full_name", Value::from(name)),
        ("id_number", number.into()),
        ("date_of_birth", born.into()),
        ("sex", sex.into()),
        ("status", "active".into()),
    ];
    pairs.extend(extra.iter().cloned());
    create(phone, Kind::Citizen, unit, &pairs)
}

/// An accepted residence declaration of `procedure` for `citizen`.
fn declaration(
    phone: &Device,
    unit: &str,
    citizen: Uuid,
    procedure: &str,
    extra: &[(&str, Value)],
) -> Uuid {
    let mut pairs = vec![
        ("citizen_id", id(citizen)),
        ("procedure", Value::from(procedure)),
        ("status", "accepted".into()),
    ];
    pairs.extend(extra.iter().cloned());
    create(phone, Kind::ResidenceDeclaration, unit, &pairs)
}

fn moving_household(phone: &Device) {
    // Registered in Minh Thành in 2015, captured in 2024 with its old code; moving to Đông
    // Mai in 2026 is a newer registration that supersedes the old one.
    let head = citizen(
        phone,
        "07135",
        "Phạm Văn Đức",
        "022080001111",
        "1980-04-02",
        "male",
        &[
            ("permanent_address", "Số 3, khu 2, phường Minh Thành".into()),
            ("permanent_unit", "07138".into()),
            ("captured_on", "2024-05-10".into()),
        ],
    );
    declaration(
        phone,
        "07135",
        head,
        "permanent_registration",
        &[
            ("address", "Số 3, khu 2, phường Minh Thành".into()),
            ("address_unit", "07138".into()),
            ("from_date", "2015-06-01".into()),
            ("filed_on", "2015-06-01".into()),
            ("decided_on", "2015-06-05".into()),
            ("residence_basis", "owned".into()),
        ],
    );
    declaration(
        phone,
        "07135",
        head,
        "permanent_registration",
        &[
            ("address", "Số 12, khu 4, phường Đông Mai".into()),
            ("address_unit", "07135".into()),
            ("from_date", "2026-03-02".into()),
            ("filed_on", "2026-03-02".into()),
            ("decided_on", "2026-03-04".into()),
            ("residence_basis", "owned".into()),
        ],
    );
}

fn boat_family(phone: &Device) {
    let fisher = citizen(
        phone,
        "07183",
        "Trần Văn Biển",
        "022085002222",
        "1985-01-20",
        "male",
        &[],
    );
    declaration(
        phone,
        "07183",
        fisher,
        "permanent_registration",
        &[
            ("residence_basis", "vessel".into()),
            ("vessel_registration_number", "QN-90123-TS".into()),
            ("address", "Bến neo đậu Cửa Lục, phường Phong Cốc".into()),
            ("address_unit", "07183".into()),
            ("from_date", "2026-03-01".into()),
            ("filed_on", "2026-03-01".into()),
            ("decided_on", "2026-03-03".into()),
        ],
    );
}

fn migrant_worker(phone: &Device) {
    // Permanent residence in Phường Hạc Thành, Thanh Hóa (14797): another province is valid.
    let worker = citizen(
        phone,
        "07183",
        "Lê Văn Thắng",
        "038096004321",
        "1996-08-20",
        "male",
        &[
            (
                "birth_registration_place",
                "UBND xã Quảng Hợp, Thanh Hóa".into(),
            ),
            (
                "permanent_address",
                "Số 8 phố Lê Lợi, phường Hạc Thành, Thanh Hóa".into(),
            ),
            ("permanent_unit", "14797".into()),
            (
                "temporary_address",
                "Khu nhà trọ công nhân, phường Phong Cốc".into(),
            ),
            ("temporary_unit", "07183".into()),
        ],
    );
    declaration(
        phone,
        "07183",
        worker,
        "temporary_registration",
        &[
            ("address", "Khu nhà trọ công nhân, phường Phong Cốc".into()),
            ("address_unit", "07183".into()),
            ("from_date", "2026-03-01".into()),
            ("to_date", "2027-02-28".into()),
            ("filed_on", "2026-03-01".into()),
            ("decided_on", "2026-03-03".into()),
            ("residence_basis", "rented".into()),
            ("owner_consent", true.into()),
            ("floor_area_m2", "18.5".into()),
            ("persons", Value::Int(2)),
            ("host_name", "Phạm Thị Hoà".into()),
        ],
    );
}

fn first_card_at_ten(phone: &Device) {
    let parent = citizen(
        phone,
        "07132",
        "Nguyễn Văn Hùng",
        "022088004567",
        "1988-02-14",
        "male",
        &[],
    );
    let born = sync_core::time::local_day(now_ms())
        .and_then(|d| d.add_years(-10))
        .and_then(|d| d.add_days(-30))
        .unwrap()
        .to_string();
    let today = sync_core::time::local_date(now_ms());
    let number = format!("0222{}001234", &born[2..4]);
    let child = citizen(
        phone,
        "07132",
        "Nguyễn Minh Khôi",
        &number,
        &born,
        "male",
        &[
            ("father_name", "Nguyễn Văn Hùng".into()),
            ("father_id_number", "022088004567".into()),
            ("representative_name", "Nguyễn Văn Hùng".into()),
            ("representative_id_number", "022088004567".into()),
        ],
    );
    let _ = parent;
    create(
        phone,
        Kind::CccdApplication,
        "07132",
        &[
            ("citizen_id", id(child)),
            ("request_type", "first_issue".into()),
            ("full_name", "Nguyễn Minh Khôi".into()),
            ("id_number", number.as_str().into()),
            ("date_of_birth", born.as_str().into()),
            ("sex", "male".into()),
            ("filed_on", today.as_str().into()),
            ("representative_name", "Nguyễn Văn Hùng".into()),
            ("representative_id_number", "022088004567".into()),
            ("fingerprints_taken", true.into()),
            ("iris_taken", true.into()),
            ("status", "submitted".into()),
        ],
    );
}

ferry_tests::both_engines!(
    the_issues_everyday_cases_leave_no_finding_and_no_review_item_on_the_server
);
fn the_issues_everyday_cases_leave_no_finding_and_no_review_item_on_the_server() {
    let server = Server::start(bin());
    server.add_user("canbo", "staff", &["07132", "07135", "07183"]);
    let phone = Device::login(&server.url(), "canbo");
    moving_household(&phone);
    boat_family(&phone);
    migrant_worker(&phone);
    first_card_at_ten(&phone);
    phone.sync_all();
    assert_eq!(phone.rejected().unwrap().len(), 0, "{:?}", phone.rejected());
    // The review worker drains the queue; then every stored record has been judged.
    let count = |sql: &str| {
        server
            .store()
            .read(|c| c.query_value::<i64>(sql, &[]))
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while count("SELECT COUNT(*) FROM review_queue") > 0 {
        assert!(
            Instant::now() < deadline,
            "the review worker drained the queue"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(count("SELECT COUNT(*) FROM records"), 10);
    let findings: Vec<String> = server
        .store()
        .read(|c| -> Result<Vec<String>, ferry_server::db::DbError> {
            c.query("SELECT kind, findings FROM records", &[])?
                .into_iter()
                .map(|r| Ok(format!("{}: {}", r.get::<String>(0)?, r.get::<String>(1)?)))
                .collect()
        })
        .unwrap();
    // The one finding is the 2015 registration's old code, which is true: it is the prompt
    // for the Art. 26 adjustment to the new ward (`ferry units adjust`), not an alarm.
    let (old_code, rest): (Vec<&String>, Vec<&String>) = findings
        .iter()
        .partition(|f| f.contains("\"old_unit_code\""));
    assert_eq!(old_code.len(), 1, "{old_code:?}");
    assert!(
        old_code[0].contains("07138") && !old_code[0].contains("},{"),
        "{old_code:?}"
    );
    for f in rest {
        assert!(f.ends_with(": []"), "a false finding: {f}");
    }
    let review = server.admin().get("/v1/admin/review").unwrap().json();
    assert_eq!(review["counts"]["total"], 0, "no review item: {review}");
}
