//! Device sync health end to end: five phones in hand-counted states (one syncing and
//! holding a refused edit, one whose pushes fail, one silent for ten days, one revoked, one
//! in another ward), the admin's own client, and what each role sees of them: the admin
//! every device with its state, the leader of one ward the per-unit roll-up only, as JSON,
//! CSV, XLSX and console page, audited; the Prometheus gauges.

use calamine::{Data, Reader, Xlsx};
use ferry_tests::{Client, Device, PASSWORD, Server, citizen, now_ms};
use sync_core::model::Kind;
use sync_core::protocol;

use crate::bin;
use crate::integration::accounts_hardening::console_session;
use crate::integration::review::Http;

const WARD: &str = "07132";
const OTHER: &str = "07135";
const DAY_MS: i64 = 24 * 3_600_000;

/// A push the server cannot read: the phone's real request, cut in half on the way (as a
/// failing middlebox or a broken app build would send it). The server answers 4xx.
fn failed_push(phone: &Device) -> u16 {
    let req = phone.prepare_sync(&Default::default()).unwrap();
    let body = protocol::encode_request(&req);
    let cut = body[..body.len() / 2].to_vec();
    let r = phone
        .client
        .send(
            "POST",
            "/v1/sync",
            &[("Content-Type", "application/cbor")],
            Some(cut),
        )
        .unwrap();
    assert!((400..500).contains(&r.status), "{}", r.status);
    r.status
}

/// The phones, counted by hand:
///
/// | phone | user | unit  | what happened                                  | state   |
/// |-------|------|-------|------------------------------------------------|---------|
/// | a     | thu  | 07132 | synced; one edit refused (another ward), held  | ok      |
/// | b     | thu  | 07132 | synced once, then 2 edits and 3 failed pushes  | stalled |
/// | c     | thu  | 07132 | last successful sync 10 days ago               | stale   |
/// | d     | thu  | 07132 | revoked, wipe not delivered                    | revoked |
/// | e     | lan  | 07135 | synced                                         | ok      |
///
/// plus the admin's own client (no unit, never synced: ok). Ward 07132: ok 1, stale 1,
/// stalled 1, revoked 1, total 4 — and still 4 once the ward's leader has signed in (a
/// leader's login registers a client that may not sync, so it is no device here).
struct Fleet {
    a: Device,
    b: Device,
    d: Device,
}

fn seed(server: &Server) -> Fleet {
    server.add_user("thu", "staff", &[WARD]);
    server.add_user("lan", "staff", &[OTHER]);
    server.add_user("chutich", "leader", &[WARD]);
    let url = server.url();
    let a = Device::login(&url, "thu");
    a.create(Kind::Citizen, WARD, citizen("Mai Thị Đào"), now_ms())
        .unwrap();
    a.create(Kind::Citizen, OTHER, citizen("Lý Văn Phúc"), now_ms())
        .unwrap();
    a.sync_all();
    assert_eq!(a.rejected().unwrap().len(), 1);
    a.sync_all(); // reports the refused edit it now holds

    let b = Device::login(&url, "thu");
    b.sync_all();
    for name in ["Đinh Văn Quý", "Hà Thị Lan"] {
        b.create(Kind::Citizen, WARD, citizen(name), now_ms())
            .unwrap();
    }
    for _ in 0..3 {
        assert_eq!(failed_push(&b), 400);
    }

    let c = Device::login(&url, "thu");
    c.sync_all();
    let ten_days_ago = now_ms() - 10 * DAY_MS;
    server
        .store()
        .write(|tx| {
            tx.execute(
                "UPDATE devices SET last_seen_ms = ?1, created_ms = ?1 WHERE id = ?2",
                &[&ten_days_ago, &c.device_id()],
            )
        })
        .unwrap();

    let d = Device::login(&url, "thu");
    d.sync_all();
    let out = server.cli(&["device", "revoke", &d.device_id().to_string()]);
    assert!(out.status.success());

    let e = Device::login(&url, "lan");
    e.sync_all();
    Fleet { a, b, d }
}

fn device(j: &serde_json::Value, id: uuid::Uuid) -> &serde_json::Value {
    j["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device"] == id.to_string())
        .unwrap_or_else(|| panic!("{id} not listed: {j}"))
}

fn state_counts(j: &serde_json::Value) -> [i64; 6] {
    let c = &j["counts"];
    let n = |k: &str| c[k].as_i64().unwrap_or(-1);
    let total = ["ok", "stale", "stalled", "revoked", "wiped"]
        .iter()
        .map(|k| n(k))
        .sum();
    [
        n("ok"),
        n("stale"),
        n("stalled"),
        n("revoked"),
        n("wiped"),
        total,
    ]
}

fn metric(server: &Server, state: &str) -> Option<i64> {
    let url = server.metrics_url()?;
    let body = Client::new(&url).get("/metrics").ok()?;
    let text = String::from_utf8_lossy(&body.body).into_owned();
    let key = format!("ferry_devices{{state=\"{state}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&key))
        .and_then(|v| v.trim().parse().ok())
}

ferry_tests::both_engines!(
    an_admin_sees_a_phone_marked_stalled_after_its_pushes_failed_and_ok_once_it_syncs
);
fn an_admin_sees_a_phone_marked_stalled_after_its_pushes_failed_and_ok_once_it_syncs() {
    let server = Server::start(bin());
    let fleet = seed(&server);
    let admin = server.admin();

    let r = admin.get("/v1/reports/devices").unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let j = r.json();
    assert_eq!(state_counts(&j), [3, 1, 1, 1, 0, 6], "{j}");
    let b = device(&j, fleet.b.device_id());
    assert_eq!(b["state"], "stalled");
    assert_eq!(b["reasons"], serde_json::json!(["failures"]));
    assert_eq!(b["failures"], 3);
    assert_eq!(b["last_failure_status"], 400);
    assert_eq!(b["user"], "thu");
    assert_eq!(b["units"], serde_json::json!([WARD]));
    assert!(b["last_sync_ms"].as_i64().is_some());
    let a = device(&j, fleet.a.device_id());
    assert_eq!(
        (&a["state"], &a["rejected_held"], &a["outbox_len"]),
        (&"ok".into(), &1.into(), &0.into())
    );
    assert!(a["app_version"].as_str().unwrap().starts_with("sync-core/"));
    assert_eq!(device(&j, fleet.d.device_id())["state"], "revoked");
    let rollup = j["rollup"].as_array().unwrap();
    let ward = rollup.iter().find(|r| r["unit"] == WARD).unwrap();
    assert_eq!(ward["total"], 4);
    assert_eq!(ward["states"]["stalled"], 1);
    assert!(rollup.iter().any(|r| r["unit"] == "" && r["total"] == 1));
    assert_eq!(metric(&server, "stalled"), Some(1));
    assert_eq!(metric(&server, "stale"), Some(1));

    // The stalled phone gets through: its two edits go up, the failures are forgotten.
    fleet.b.sync_all();
    assert_eq!(fleet.b.pending(), 0);
    // The revoked phone receives its wipe.
    assert!(fleet.d.sync().unwrap().wiped);
    let j = admin.get("/v1/reports/devices").unwrap().json();
    let b = device(&j, fleet.b.device_id());
    assert_eq!((&b["state"], &b["failures"]), (&"ok".into(), &0.into()));
    assert_eq!(device(&j, fleet.d.device_id())["state"], "wiped");
    assert_eq!(state_counts(&j), [4, 1, 0, 0, 1, 6], "{j}");
    assert_eq!(metric(&server, "stalled"), Some(0));

    // The console page marks the row; the CSV and XLSX carry the same states.
    let h = Http::new(&server.url());
    let session = console_session(&h, "admin", ferry_tests::ADMIN_PASSWORD);
    let page = h.get("/console/reports/devices", &session);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"device-list\""));
    assert!(
        page.body
            .contains("class=\"state-stale\" data-state=\"stale\"")
    );
    assert!(page.body.contains("id=\"chart-states\""));
    let csv = admin.get("/v1/reports/devices?format=csv").unwrap();
    let text = String::from_utf8(csv.body).unwrap();
    assert!(text.starts_with("\u{feff}Báo cáo tình trạng đồng bộ thiết bị"));
    assert_eq!(
        text.matches(",Lâu không đồng bộ,stale\r\n").count(),
        1,
        "{text}"
    );
    assert_eq!(
        text.matches(",Đã thu hồi và xóa dữ liệu,wiped\r\n").count(),
        1
    );
}

ferry_tests::both_engines!(
    a_leader_sees_only_the_roll_up_of_its_own_ward_as_json_csv_xlsx_and_page
);
fn a_leader_sees_only_the_roll_up_of_its_own_ward_as_json_csv_xlsx_and_page() {
    let server = Server::start(bin());
    let _fleet = seed(&server);
    let leader = Device::login_with(&server.url(), "chutich", PASSWORD).expect("leader login");

    let r = leader.client.get("/v1/reports/devices").unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let j = r.json();
    assert!(
        j.get("devices").is_none(),
        "no device list for leaders: {j}"
    );
    assert_eq!(state_counts(&j), [1, 1, 1, 1, 0, 4], "{j}");
    assert_eq!(
        j["rollup"],
        serde_json::json!([{"unit": WARD, "total": 4,
            "states": {"ok": 1, "stale": 1, "stalled": 1, "revoked": 1, "wiped": 0}}])
    );
    let text = String::from_utf8_lossy(&r.body);
    assert!(!text.contains("thu") && !text.contains("lan"), "{text}");
    let other = leader
        .client
        .get(&format!("/v1/reports/devices?units={OTHER}"))
        .unwrap();
    assert_eq!(other.status, 403);

    let xlsx = leader
        .client
        .get("/v1/reports/devices?format=xlsx")
        .unwrap();
    assert_eq!(xlsx.status, 200);
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.body)).unwrap();
    let sheet = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&sheet).unwrap();
    let row = range
        .rows()
        .find(|r| r.first() == Some(&Data::String("07132 Phường Quảng Yên".into())))
        .expect("the ward's row");
    let numbers: Vec<f64> = row[1..7]
        .iter()
        .map(|c| match c {
            Data::Float(x) => *x,
            other => panic!("not a number: {other:?}"),
        })
        .collect();
    assert_eq!(numbers, [1.0, 1.0, 1.0, 1.0, 0.0, 4.0]);
    let csv = leader.client.get("/v1/reports/devices?format=csv").unwrap();
    let text = String::from_utf8(csv.body).unwrap();
    assert!(
        text.contains("\r\n07132 Phường Quảng Yên,1,1,1,1,0,4\r\n"),
        "{text}"
    );
    assert!(!text.contains("thu,"), "{text}");

    let h = Http::new(&server.url());
    let session = console_session(&h, "chutich", PASSWORD);
    let page = h.get("/console/reports/devices", &session);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"no-list\"") && !page.body.contains("id=\"device-list\""));
    assert!(!page.body.contains(">thu<"));
    let other = h.get(&format!("/console/reports/devices?units={OTHER}"), &session);
    assert_eq!(other.status, 403);

    let out = server.cli(&["audit", "list", "--user", "chutich"]);
    let audit = String::from_utf8_lossy(&out.stdout);
    assert_eq!(audit.matches("report_view").count(), 2, "{audit}");
    assert_eq!(audit.matches("report_export").count(), 2, "{audit}");
}

/// One exchange of `phone` that reports what it holds but sends none of it: the silent upload
/// stall (a queue that never drains while pulls still work).
fn sync_without_sending(phone: &Device, oldest_pending_ms: i64) {
    let mut req = phone.prepare_sync(&Default::default()).unwrap();
    let held: u64 = req.push.iter().map(|r| r.changes.len() as u64).sum();
    assert!(held > 0, "the phone holds changes");
    req.push.clear();
    req.status.outbox_len = held;
    req.status.oldest_pending_ms = Some(oldest_pending_ms);
    let r = phone
        .client
        .send(
            "POST",
            "/v1/sync",
            &[("Content-Type", "application/cbor")],
            Some(protocol::encode_request(&req)),
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

ferry_tests::both_engines!(
    a_phone_that_syncs_but_never_sends_what_it_has_held_for_a_day_is_stalled_with_its_outbox_shown
);
fn a_phone_that_syncs_but_never_sends_what_it_has_held_for_a_day_is_stalled_with_its_outbox_shown()
{
    let server = Server::start(bin());
    server.add_user("thu", "staff", &[WARD]);
    let phone = Device::login(&server.url(), "thu");
    phone.sync_all();
    for name in ["Đinh Văn Quý", "Hà Thị Lan"] {
        phone
            .create(Kind::Citizen, WARD, citizen(name), now_ms())
            .unwrap();
    }
    // Held for 2 hours: pending, not yet stalled (default 24 h).
    sync_without_sending(&phone, now_ms() - 2 * 3_600_000);
    let admin = server.admin();
    let j = admin.get("/v1/reports/devices").unwrap().json();
    let d = device(&j, phone.device_id());
    assert_eq!(d["state"], "ok", "{d}");
    assert_eq!(d["outbox_len"], 2, "{d}");
    let age = d["oldest_pending_age_ms"].as_i64().unwrap();
    assert!((2 * 3_600_000..3 * 3_600_000).contains(&age), "{d}");

    // Held for 30 hours and still not sent, though the phone syncs: stalled.
    sync_without_sending(&phone, now_ms() - 30 * 3_600_000);
    let j = admin.get("/v1/reports/devices").unwrap().json();
    let d = device(&j, phone.device_id());
    assert_eq!(d["state"], "stalled", "{d}");
    assert_eq!(d["reasons"], serde_json::json!(["outbox_not_draining"]));
    assert_eq!(metric(&server, "stalled"), Some(1));

    // Once it sends them, it is ok again: its last exchange left nothing behind.
    phone.sync_all();
    assert_eq!(phone.pending(), 0);
    let j = admin.get("/v1/reports/devices").unwrap().json();
    let d = device(&j, phone.device_id());
    assert_eq!(
        (&d["state"], &d["left_behind"]),
        (&"ok".into(), &0.into()),
        "{d}"
    );
}

ferry_tests::both_engines!(a_shorter_stall_time_set_on_the_command_line_stalls_a_phone_sooner);
fn a_shorter_stall_time_set_on_the_command_line_stalls_a_phone_sooner() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_in(bin(), dir.path(), &[("FERRY_DEVICE_STALL_HOURS", "1")]);
    server.add_user("thu", "staff", &[WARD]);
    let phone = Device::login(&server.url(), "thu");
    phone.sync_all();
    phone
        .create(Kind::Citizen, WARD, citizen("Đinh Văn Quý"), now_ms())
        .unwrap();
    sync_without_sending(&phone, now_ms() - 2 * 3_600_000);
    let j = server.admin().get("/v1/reports/devices").unwrap().json();
    assert_eq!(device(&j, phone.device_id())["state"], "stalled", "{j}");
}
