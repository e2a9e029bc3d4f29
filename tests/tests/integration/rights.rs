//! Citizens' data rights end to end: the subject-access report (CLI, admin API, console page)
//! for one person lists every record held about them and every access the audit trail holds
//! for those records, and is itself audited.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use ferry_server::audit;
use ferry_server::db::Store;
use ferry_tests::{ADMIN_PASSWORD, Device, Server, application, citizen, now_ms};
use sync_core::model::{Kind, Value};
use uuid::Uuid;

use crate::bin;
use crate::integration::accounts_hardening::console_session;
use crate::integration::review::Http;

const WARD: &str = "07132";
const ID_NUMBER: &str = "022308001234";
const NAME: &str = "Trần Thị Hoa";

/// The person's records as a staff phone creates them: the citizen, a CCCD application
/// about her, and the household she heads. Returns (citizen, application, household).
fn seed_person(staff: &Device) -> (Uuid, Uuid, Uuid) {
    let mut c = citizen(NAME);
    c.insert("date_of_birth".into(), "2008-02-01".into());
    c.insert("sex".into(), "female".into());
    c.insert("id_number".into(), ID_NUMBER.into());
    c.insert("religion".into(), Value::Text("Phật giáo".into()));
    let person = staff
        .create(Kind::Citizen, WARD, c, now_ms())
        .unwrap()
        .record
        .id;
    let mut a = application(NAME, "submitted");
    a.insert("citizen_id".into(), person.to_string().as_str().into());
    let app = staff
        .create(Kind::CccdApplication, WARD, a, now_ms())
        .unwrap()
        .record
        .id;
    let mut h = sync_core::model::Fields::new();
    h.insert(
        "address".into(),
        Value::Text("Số 5, khu 3, phường Quảng Yên".into()),
    );
    h.insert("head_id".into(), person.to_string().as_str().into());
    h.insert("status".into(), "active".into());
    let member = BTreeMap::from([("relationship".to_owned(), Value::from("head"))]);
    h.insert(
        "members".into(),
        Value::Map(BTreeMap::from([(person.to_string(), Value::Map(member))])),
    );
    let house = staff
        .create(Kind::Household, WARD, h, now_ms())
        .unwrap()
        .record
        .id;
    (person, app, house)
}

/// Waits (up to 15 s) for the detection worker to index the application's citizen and the
/// household's member, which is how the report finds them.
fn indexed(store: &Store, person: Uuid) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let count = |sql: &str| -> i64 {
        store
            .read(|c| c.query_opt(sql, &[&person.to_string()]))
            .unwrap()
            .map(|r| r.get::<i64>(0).unwrap())
            .unwrap_or(0)
    };
    while count("SELECT COUNT(*) FROM review_index WHERE citizen_id = ?1") < 1
        || count("SELECT COUNT(*) FROM review_members WHERE citizen = ?1") < 1
    {
        assert!(
            Instant::now() < deadline,
            "detection did not index the person"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The audit ids of every row that lists `record`, straight from the trail.
fn audited(store: &Store, record: &str) -> BTreeSet<i64> {
    let f = audit::Filter {
        record: Some(record.to_owned()),
        ..audit::Filter::default()
    };
    store
        .read(|c| audit::list(c, &f))
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect()
}

/// `(user, access)` pairs the report lists for the record `id`.
fn accesses(report: &serde_json::Value, id: Uuid) -> (BTreeSet<i64>, BTreeSet<(String, String)>) {
    let rec = report["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.to_string())
        .unwrap_or_else(|| panic!("record {id} missing from the report"));
    let mut ids = BTreeSet::new();
    let mut what = BTreeSet::new();
    for a in rec["accesses"].as_array().unwrap() {
        ids.insert(a["audit_id"].as_i64().unwrap());
        for x in a["access"].as_array().unwrap() {
            what.insert((
                a["user"].as_str().unwrap().to_owned(),
                x.as_str().unwrap().to_owned(),
            ));
        }
    }
    (ids, what)
}

/// The audit rows of subject-access reports.
fn reports_audited(server: &Server) -> Vec<audit::Row> {
    let f = audit::Filter {
        action: Some("subject_report".into()),
        ..audit::Filter::default()
    };
    server.store().read(|c| audit::list(c, &f)).unwrap()
}

fn pair(user: &str, access: &str) -> (String, String) {
    (user.to_owned(), access.to_owned())
}

ferry_tests::both_engines!(the_subject_report_lists_every_record_and_every_access_the_audit_holds);
fn the_subject_report_lists_every_record_and_every_access_the_audit_holds() {
    let server = Server::start(bin());
    server.add_user("thu", "staff", &[WARD]);
    server.add_user("lan", "officer", &[WARD]);
    let staff = Device::login(&server.url(), "thu");
    let (person, app, house) = seed_person(&staff);
    staff.sync_all();
    let officer = Device::login(&server.url(), "lan");
    officer.sync_all();
    let admin = server.admin();
    assert_eq!(
        admin
            .get(&format!("/v1/admin/records/{person}"))
            .unwrap()
            .status,
        200
    );
    assert_eq!(
        admin
            .get(&format!("/v1/admin/records/{app}/doc"))
            .unwrap()
            .status,
        200
    );
    let store = server.store();
    indexed(&store, person);

    let out = server.cli(&["subject-report", "--id-number", "0223 0800 1234"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["id_number"], ID_NUMBER);
    let listed: BTreeSet<String> = report["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let expected: BTreeSet<String> = [person, app, house].iter().map(Uuid::to_string).collect();
    assert_eq!(listed, expected);
    let citizen_rec = report["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == person.to_string())
        .unwrap();
    assert_eq!(citizen_rec["fields"]["full_name"], NAME);
    assert!(
        citizen_rec["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["field"] == "religion" && h["user"] == "thu"),
        "the history names who wrote each value"
    );

    // Every audit row that lists a record is in the report, and nothing else is.
    for id in [person, app, house] {
        let (ids, what) = accesses(&report, id);
        assert_eq!(ids, audited(&store, &id.to_string()), "record {id}");
        assert!(what.contains(&pair("thu", "changed")), "{what:?}");
        assert!(what.contains(&pair("lan", "pulled")), "{what:?}");
        assert!(what.contains(&pair("cli", "subject_report")), "{what:?}");
    }
    assert!(accesses(&report, person).1.contains(&pair("admin", "read")));
    assert!(
        accesses(&report, app)
            .1
            .contains(&pair("admin", "exported"))
    );

    // The report itself is audited, listing every record it reported.
    let own = report["audit_id"].as_i64().unwrap();
    let row = store
        .read(|c| audit::list(c, &audit::Filter::default()))
        .unwrap()
        .into_iter()
        .find(|r| r.id == own)
        .unwrap();
    assert_eq!(row.action, "subject_report");
    let rows_records: BTreeSet<String> = serde_json::from_str(&row.records).unwrap();
    assert_eq!(rows_records, expected);

    // The admin API answers the same records, and lists the CLI's report as an access.
    let api = admin
        .post_json(
            "/v1/admin/subject-report",
            &serde_json::json!({"id_number": ID_NUMBER}),
        )
        .unwrap();
    assert_eq!(api.status, 200);
    let api = api.json();
    assert_eq!(api["records"].as_array().unwrap().len(), 3);
    assert!(accesses(&api, person).0.contains(&own));
    let (ids, _) = accesses(&api, house);
    assert_eq!(ids, audited(&store, &house.to_string()));

    // The printable text is Vietnamese and names the person and the accesses.
    let out = server.cli(&["subject-report", "--id-number", ID_NUMBER, "--text"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("BÁO CÁO DỮ LIỆU CÁ NHÂN ĐANG LƯU GIỮ"),
        "{text}"
    );
    assert!(
        text.contains(NAME) && text.contains("tải về thiết bị"),
        "{text}"
    );
}

ferry_tests::both_engines!(only_admins_get_a_subject_report_and_a_malformed_number_is_refused);
fn only_admins_get_a_subject_report_and_a_malformed_number_is_refused() {
    let server = Server::start(bin());
    server.add_user("thu", "staff", &[WARD]);
    let staff = Device::login(&server.url(), "thu");
    let body = serde_json::json!({"id_number": ID_NUMBER});
    let r = staff
        .client
        .post_json("/v1/admin/subject-report", &body)
        .unwrap();
    assert_eq!(r.status, 403);
    let admin = server.admin();
    let r = admin
        .post_json(
            "/v1/admin/subject-report",
            &serde_json::json!({"id_number": "12345"}),
        )
        .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_id_number");
    // An unknown number gives an empty report, still audited.
    let r = admin.post_json("/v1/admin/subject-report", &body).unwrap();
    assert_eq!(r.status, 200);
    assert!(r.json()["records"].as_array().unwrap().is_empty());
    let rows = reports_audited(&server);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].user, "admin");
}

ferry_tests::both_engines!(the_console_shows_an_admin_the_printable_subject_report);
fn the_console_shows_an_admin_the_printable_subject_report() {
    let server = Server::start(bin());
    server.add_user("thu", "staff", &[WARD]);
    let staff = Device::login(&server.url(), "thu");
    let (person, _, _) = seed_person(&staff);
    staff.sync_all();
    indexed(&server.store(), person);
    let h = Http::new(&server.url());
    let session = console_session(&h, "admin", ADMIN_PASSWORD);
    let form = h.get("/console/subject", &session);
    assert_eq!(form.status, 200);
    let csrf = form.csrf();
    let page = h.post(
        "/console/subject",
        &session,
        &[("csrf", &csrf), ("id_number", ID_NUMBER)],
    );
    assert_eq!(page.status, 200, "{}", page.body);
    for text in [
        NAME,
        "Phật giáo",
        "Hồ sơ cấp CCCD",
        "Hộ gia đình",
        "thay đổi",
    ] {
        assert!(page.body.contains(text), "{text} missing");
    }
    let stale = h.post(
        "/console/subject",
        &session,
        &[("csrf", "x"), ("id_number", ID_NUMBER)],
    );
    assert_eq!(stale.status, 403);
    let rows = reports_audited(&server);
    assert_eq!(rows.len(), 1, "one report made, one audited");
    assert!(rows[0].details.contains("console"));
}

/// The server's audit key and checkpoint file, as `ferry` loads them.
fn audit_files(server: &Server) -> ferry_server::audit_key::AuditFiles {
    let path = server.audit_key_path();
    let key = ferry_server::audit_key::AuditKey::from_hex(&std::fs::read_to_string(&path).unwrap())
        .unwrap();
    let mut checkpoints = path.clone().into_os_string();
    checkpoints.push(".checkpoints");
    ferry_server::audit_key::AuditFiles {
        key: std::sync::Arc::new(key),
        key_source: path.display().to_string(),
        checkpoints: checkpoints.into(),
        created: false,
    }
}

fn verify_says(server: &Server) -> String {
    String::from_utf8(server.cli(&["audit", "verify"]).stdout).unwrap()
}

ferry_tests::both_engines!(retention_cuts_old_audit_rows_and_the_chain_still_verifies);
fn retention_cuts_old_audit_rows_and_the_chain_still_verifies() {
    use ferry_server::rights::retention::{RetentionConfig, run};
    let server = Server::start(bin());
    server.add_user("thu", "staff", &[WARD]);
    let staff = Device::login(&server.url(), "thu");
    seed_person(&staff);
    staff.sync_all();
    let _admin = server.admin();
    // The default rules keep the whole trail; the run is audited and the chain verifies.
    let out = server.cli(&["retention", "run"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["audit_rows"], 0);
    assert!(
        verify_says(&server).starts_with("OK"),
        "{}",
        verify_says(&server)
    );

    // Ten days on, with audit rows kept for five, every row so far is old: all but the
    // newest go, and an `audit_cut` row records the cut.
    let store = server.store();
    let files = audit_files(&server);
    let newest: i64 = store
        .read(|c| c.query_value("SELECT CAST(MAX(id) AS BIGINT) FROM audit", &[]))
        .unwrap();
    let rules = RetentionConfig {
        retain_audit_days: 5,
        ..RetentionConfig::default()
    };
    let report = run(&store, Some(&files), &rules, now_ms() + 10 * 86_400_000).unwrap();
    assert_eq!(report.audit_first_kept, Some(newest));
    assert_eq!(report.audit_rows, (newest - 1) as u64);
    let first: i64 = store
        .read(|c| c.query_value("SELECT CAST(MIN(id) AS BIGINT) FROM audit", &[]))
        .unwrap();
    assert_eq!(first, newest);
    let said = verify_says(&server);
    assert!(said.starts_with("OK"), "{said}");
    // The server goes on appending to the shortened chain.
    let _again = server.admin();
    assert!(verify_says(&server).starts_with("OK"));

    // Removing more rows below the cut's record, without the key, is caught.
    store
        .write(|tx| tx.execute("DELETE FROM audit WHERE id = ?1", &[&newest]))
        .unwrap();
    let said = verify_says(&server);
    assert!(said.starts_with("BROKEN"), "{said}");
}
