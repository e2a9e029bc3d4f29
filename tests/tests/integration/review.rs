//! The review queue end to end: phones make conflicting edits offline, the server opens an
//! item, an admin decides (JSON API, CLI, console forms), and the phones converge on the
//! decision with no conflict left.

use std::time::Duration;

use ferry_tests::{ADMIN_PASSWORD, Device, Server, citizen, now_ms};
use sync_core::doc::Edit;
use sync_core::model::{Kind, Value};
use uuid::Uuid;

use crate::bin;

fn set(field: &str, value: &str) -> Edit {
    Edit::Set {
        field: field.into(),
        value: Value::Text(value.into()),
    }
}

fn two_officers(server: &Server) -> (Device, Device) {
    server.add_user("an", "officer", &["07132"]);
    server.add_user("binh", "officer", &["07132"]);
    (
        Device::login(&server.url(), "an"),
        Device::login(&server.url(), "binh"),
    )
}

/// A citizen both phones hold, whose `field` each then changes offline to a different value.
fn conflict(a: &Device, b: &Device, name: &str, field: &str, va: &str, vb: &str) -> Uuid {
    let id = a
        .create(Kind::Citizen, "07132", citizen(name), now_ms())
        .unwrap()
        .record
        .id;
    a.sync_all();
    b.sync_all();
    a.update(id, &[set(field, va)], now_ms()).unwrap();
    b.update(id, &[set(field, vb)], now_ms()).unwrap();
    a.sync_all();
    b.sync_all();
    a.sync_all();
    id
}

/// Waits (up to 5 s) until the review queue holds at least `n` open items. Detection runs
/// after the push is committed, from the server's durable queue, so an item appears shortly
/// after the sync that caused it rather than within it.
pub(crate) fn detected(server: &Server, n: i64) {
    let admin = server.admin();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let total = admin.get("/v1/admin/review").unwrap().json()["counts"]["total"]
            .as_i64()
            .unwrap_or(0);
        if total >= n {
            return;
        }
        if std::time::Instant::now() >= deadline {
            let log =
                std::fs::read_to_string(server.data_dir().join("server.log")).unwrap_or_default();
            panic!("{n} review item(s) expected, {total} opened within 15 s; server log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

ferry_tests::both_engines!(
    conflicting_offline_edits_become_an_item_the_admin_resolves_and_both_phones_converge
);
fn conflicting_offline_edits_become_an_item_the_admin_resolves_and_both_phones_converge() {
    let server = Server::start(bin());
    let (a, b) = two_officers(&server);
    let id = conflict(
        &a,
        &b,
        "Nguyễn Thị Ánh",
        "date_of_birth",
        "1990-05-18",
        "1991-05-17",
    );
    assert_eq!(a.conflicts(id).unwrap().len(), 1);
    assert_eq!(b.conflicts(id).unwrap().len(), 1);

    detected(&server, 1);
    let admin = server.admin();
    let list = admin.get("/v1/admin/review").unwrap();
    assert_eq!(list.status, 200);
    let list = list.json();
    assert_eq!(list["counts"]["total"], 1);
    assert_eq!(list["counts"]["by_type"]["field_conflict"], 1);
    let item = &list["items"][0];
    assert_eq!(item["type"], "field_conflict");
    assert_eq!(item["field"], "date_of_birth");
    assert_eq!(item["records"][0], id.to_string());
    let candidates = item["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 2);
    let mut users: Vec<&str> = candidates
        .iter()
        .map(|c| c["user"].as_str().unwrap())
        .collect();
    users.sort_unstable();
    assert_eq!(users, ["an", "binh"]);
    for c in candidates {
        assert!(
            c["device"]
                .as_str()
                .is_some_and(|d| Uuid::parse_str(d).is_ok())
        );
        assert!(c["time_ms"].as_i64().unwrap() > 0);
    }
    let item_id = item["id"].as_i64().unwrap();

    let detail = admin
        .get(&format!("/v1/admin/review/{item_id}"))
        .unwrap()
        .json();
    assert_eq!(
        detail["records"][0]["conflicts"][0]["field"],
        "date_of_birth"
    );

    let choice = candidates
        .iter()
        .position(|c| c["value"] == "1991-05-17")
        .unwrap();
    let path = format!("/v1/admin/review/{item_id}/resolve");
    let done = admin
        .post_json(&path, &serde_json::json!({"choice": choice}))
        .unwrap();
    assert_eq!(done.status, 200, "{}", String::from_utf8_lossy(&done.body));
    let done = done.json();
    assert_eq!(done["status"], "resolved");
    assert_eq!(done["resolved_by"], "admin");
    assert_eq!(done["resolution"]["chosen"], "1991-05-17");
    assert_eq!(done["resolution"]["lost"][0]["value"], "1990-05-18");
    assert_eq!(done["resolution"]["lost"][0]["user"], "an");

    // A second decision on the same item is refused and writes nothing.
    let again = admin
        .post_json(&path, &serde_json::json!({"choice": 0}))
        .unwrap();
    assert_eq!(again.status, 409);
    assert_eq!(again.json()["error"], "already_resolved");

    a.sync_all();
    b.sync_all();
    for phone in [&a, &b] {
        let view = phone.get(id).unwrap().unwrap();
        assert_eq!(view.record.text("date_of_birth"), Some("1991-05-17"));
        assert!(view.conflicts.is_empty(), "{:?}", view.conflicts);
    }
    assert_eq!(a.all_heads().unwrap(), b.all_heads().unwrap());

    let open = admin.get("/v1/admin/review").unwrap().json();
    assert_eq!(open["counts"]["total"], 0);
    let resolved = admin
        .get("/v1/admin/review?status=resolved")
        .unwrap()
        .json();
    assert_eq!(resolved["counts"]["total"], 1);

    let audit = server.cli(&["audit", "list", "--action", "review_resolve", "--json"]);
    let text = String::from_utf8_lossy(&audit.stdout);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("\"user\":\"admin\""), "{text}");
    assert!(text.contains(&id.to_string()));
}

ferry_tests::both_engines!(bad_decisions_through_the_api_get_clear_4xx_answers);
fn bad_decisions_through_the_api_get_clear_4xx_answers() {
    let server = Server::start(bin());
    let (a, b) = two_officers(&server);
    conflict(
        &a,
        &b,
        "Phan Văn Lộc",
        "full_name",
        "Phan Văn Lộc A",
        "Phan Văn Lộc B",
    );
    detected(&server, 1);
    let admin = server.admin();
    let id = admin.get("/v1/admin/review").unwrap().json()["items"][0]["id"]
        .as_i64()
        .unwrap();
    let post = |suffix: &str, body: serde_json::Value| {
        admin
            .post_json(&format!("/v1/admin/review/{id}/{suffix}"), &body)
            .unwrap()
    };
    assert_eq!(
        post("resolve", serde_json::json!({"choice": 7})).status,
        400
    );
    assert_eq!(post("resolve", serde_json::json!({})).status, 400);
    assert_eq!(
        post("merge", serde_json::json!({"survivor": Uuid::now_v7()})).status,
        400
    );
    assert_eq!(
        post("dismiss", serde_json::json!({"reason": " "})).status,
        400
    );
    assert_eq!(
        admin
            .post_json(
                "/v1/admin/review/999/dismiss",
                &serde_json::json!({"reason": "x"})
            )
            .unwrap()
            .status,
        404
    );
    assert_eq!(
        admin.get("/v1/admin/review?type=nonsense").unwrap().status,
        400
    );
    // Officers may not use the review API.
    assert_eq!(a.client.get("/v1/admin/review").unwrap().status, 403);
    // Still open after all that.
    assert_eq!(
        admin.get("/v1/admin/review").unwrap().json()["counts"]["total"],
        1
    );
    let ok = post(
        "dismiss",
        serde_json::json!({"reason": "đã xác minh với công dân"}),
    );
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["status"], "dismissed");
}

ferry_tests::both_engines!(duplicates_are_merged_from_the_cli_and_a_second_decision_is_refused);
fn duplicates_are_merged_from_the_cli_and_a_second_decision_is_refused() {
    let server = Server::start(bin());
    let (a, b) = two_officers(&server);
    let mut fields = citizen("Trần Văn Bình");
    fields.insert("id_number".into(), "001090012345".into());
    let x = a
        .create(Kind::Citizen, "07132", fields.clone(), now_ms())
        .unwrap()
        .record
        .id;
    fields.insert("hometown".into(), "Quảng Ninh".into());
    let y = b
        .create(Kind::Citizen, "07132", fields, now_ms())
        .unwrap()
        .record
        .id;
    a.sync_all();
    b.sync_all();
    a.sync_all();
    detected(&server, 1);

    let out = server.cli(&["review", "list", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let item = &list["items"][0];
    assert_eq!(item["type"], "duplicate_id_number");
    let id = item["id"].as_i64().unwrap().to_string();

    let show = server.cli(&["review", "show", &id]);
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(text.contains("duplicate_id_number"), "{text}");
    assert!(text.contains(&x.to_string()) && text.contains(&y.to_string()));

    let merge = server.cli(&["review", "merge", &id, "--survivor", &x.to_string()]);
    assert!(
        merge.status.success(),
        "{}",
        String::from_utf8_lossy(&merge.stderr)
    );
    let again = server.cli(&["review", "merge", &id, "--survivor", &y.to_string()]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already resolved"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    a.sync_all();
    b.sync_all();
    for phone in [&a, &b] {
        let loser = phone.get(y).unwrap().unwrap().record;
        assert_eq!(loser.status(), Some("merged_into"));
        assert_eq!(loser.text("merged_into"), Some(x.to_string().as_str()));
        let survivor = phone.get(x).unwrap().unwrap().record;
        assert_eq!(survivor.text("hometown"), Some("Quảng Ninh"));
    }
    assert_eq!(a.all_heads().unwrap(), b.all_heads().unwrap());
    let audit = server.cli(&["audit", "list", "--action", "review_merge", "--json"]);
    assert!(String::from_utf8_lossy(&audit.stdout).contains("\\\"via\\\":\\\"cli\\\""));
}

/// A bare HTTP client that keeps headers and does not follow redirects.
pub(crate) struct Http {
    base: String,
    agent: ureq::Agent,
}

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn cookies(&self) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The value of cookie `name` set by this reply.
    pub(crate) fn cookie(&self, name: &str) -> Option<String> {
        self.cookies().into_iter().find_map(|c| {
            let first = c.split(';').next()?;
            let (k, v) = first.split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
    }

    /// The first hidden `csrf` input of the page.
    pub(crate) fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a csrf field")
            + 19;
        self.body[at..].split('"').next().unwrap().to_owned()
    }
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let enc = |s: &str| {
                s.bytes()
                    .map(|b| match b {
                        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                            (b as char).to_string()
                        }
                        _ => format!("%{b:02X}"),
                    })
                    .collect::<String>()
            };
            format!("{}={}", enc(k), enc(v))
        })
        .collect::<Vec<_>>()
        .join("&")
}

impl Http {
    pub(crate) fn new(base: &str) -> Http {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Http {
            base: base.to_owned(),
            agent,
        }
    }

    fn send(&self, method: &str, path: &str, cookie: &str, form: Option<&[(&str, &str)]>) -> Reply {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{}", self.base, path));
        if !cookie.is_empty() {
            req = req.header("Cookie", cookie);
        }
        let mut resp = match form {
            Some(f) => {
                let req = req
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(form_encode(f))
                    .unwrap();
                self.agent.run(req).unwrap()
            }
            None => self.agent.run(req.body(()).unwrap()).unwrap(),
        };
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        Reply {
            status: resp.status().as_u16(),
            headers,
            body: resp.body_mut().read_to_string().unwrap_or_default(),
        }
    }

    pub(crate) fn get(&self, path: &str, cookie: &str) -> Reply {
        self.send("GET", path, cookie, None)
    }

    /// A GET whose body is bytes (a downloaded file): (status, body).
    pub(crate) fn get_bytes(&self, path: &str, cookie: &str) -> (u16, Vec<u8>) {
        let req = ureq::http::Request::builder()
            .method("GET")
            .uri(format!("{}{}", self.base, path))
            .header("Cookie", cookie)
            .body(())
            .unwrap();
        let mut resp = self.agent.run(req).unwrap();
        let status = resp.status().as_u16();
        (status, resp.body_mut().read_to_vec().unwrap_or_default())
    }

    pub(crate) fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> Reply {
        self.send("POST", path, cookie, Some(form))
    }
}

ferry_tests::both_engines!(
    the_console_signs_in_with_a_strict_cookie_checks_csrf_and_escapes_what_it_shows
);
fn the_console_signs_in_with_a_strict_cookie_checks_csrf_and_escapes_what_it_shows() {
    let server = Server::start(bin());
    let (a, b) = two_officers(&server);
    let record = conflict(
        &a,
        &b,
        "Võ Thị Hạnh",
        "full_name",
        "<b>Hạnh</b>",
        "Hạnh & \"Co\"",
    );
    detected(&server, 1);
    let h = Http::new(&server.url());

    // Not signed in: sent to the login page, which sets its own form token.
    let r = h.get("/console/queue?type=field_conflict", "");
    assert_eq!(r.status, 303);
    assert!(
        r.header("location")
            .unwrap()
            .starts_with("/console/login?next=")
    );
    let login = h.get("/console/login", "");
    assert_eq!(login.status, 200);
    let login_token = login.cookie("ferry_console_login").unwrap();
    assert_eq!(login.csrf(), login_token);
    let pre = format!("ferry_console_login={login_token}");

    let creds = |csrf: &str, password: &str| {
        vec![
            ("username".to_owned(), "admin".to_owned()),
            ("password".to_owned(), password.to_owned()),
            ("csrf".to_owned(), csrf.to_owned()),
            ("next".to_owned(), "/console/queue".to_owned()),
        ]
    };
    let post_login = |cookie: &str, form: Vec<(String, String)>| {
        let refs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        h.post("/console/login", cookie, &refs)
    };
    let wrong_token = post_login(&pre, creds("0000", ADMIN_PASSWORD));
    assert_eq!(wrong_token.status, 403);
    assert!(wrong_token.cookie("ferry_console").is_none());
    let wrong_password = post_login(&pre, creds(&login_token, "nope-nope-nope"));
    assert_eq!(wrong_password.status, 401);
    let ok = post_login(&pre, creds(&login_token, ADMIN_PASSWORD));
    assert_eq!(ok.status, 303);
    assert_eq!(ok.header("location"), Some("/console/queue"));
    let set = ok
        .cookies()
        .into_iter()
        .find(|c| c.starts_with("ferry_console="))
        .unwrap()
        .to_owned();
    assert!(
        set.contains("HttpOnly")
            && set.contains("SameSite=Strict")
            && set.contains("Path=/console"),
        "{set}"
    );
    let session = format!("ferry_console={}", ok.cookie("ferry_console").unwrap());

    // The queue, in Vietnamese by default and in English on request.
    let q = h.get("/console/queue", &session);
    assert_eq!(q.status, 200);
    assert!(q.body.contains("Hàng đợi rà soát") && q.body.contains("Xung đột dữ liệu"));
    assert!(
        q.header("content-security-policy")
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(q.header("cache-control"), Some("no-store"));
    assert!(!q.body.contains("Hạnh"), "the queue shows no personal data");
    let en = h.get("/console/queue?lang=en", &session);
    assert!(en.body.contains("Review queue") && en.body.contains("Field conflict"));
    assert!(en.cookie("ferry_lang").is_some_and(|l| l == "en"));

    let admin = server.admin();
    let item = admin.get("/v1/admin/review").unwrap().json()["items"][0]["id"]
        .as_i64()
        .unwrap();
    let page = h.get(&format!("/console/items/{item}"), &session);
    assert_eq!(page.status, 200);
    assert!(
        shows_escaped(&page.body, "<b>Hạnh</b>"),
        "values are escaped"
    );
    assert!(shows_escaped(&page.body, "Hạnh & \"Co\""));
    assert!(!page.body.contains("<b>Hạnh</b>"));
    assert!(
        page.body.contains(">an<") && page.body.contains(">binh<"),
        "officers are shown"
    );
    let csrf = page.csrf();

    // Forms without the session's token are refused and change nothing.
    let path = format!("/console/items/{item}/resolve");
    let no_token = h.post(&path, &session, &[("mode", "choose"), ("choice", "0")]);
    assert_eq!(no_token.status, 403);
    let bad_token = h.post(
        &path,
        &session,
        &[("csrf", "x"), ("mode", "choose"), ("choice", "0")],
    );
    assert_eq!(bad_token.status, 403);
    let no_session = h.post(
        &path,
        "",
        &[("csrf", &csrf), ("mode", "choose"), ("choice", "0")],
    );
    assert_eq!(no_session.status, 303);
    assert_eq!(
        admin.get("/v1/admin/review").unwrap().json()["counts"]["total"],
        1
    );

    let done = h.post(
        &path,
        &session,
        &[("csrf", &csrf), ("mode", "new"), ("value", "Võ Thị Hạnh")],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        done.header("location"),
        Some(format!("/console/items/{item}?done=1").as_str())
    );
    let after = h.get(&format!("/console/items/{item}?done=1"), &session);
    assert!(after.body.contains("Đã xử lý"));
    assert!(after.body.contains("id=\"resolved-by\">admin<"));
    let twice = h.post(
        &path,
        &session,
        &[("csrf", &csrf), ("mode", "choose"), ("choice", "0")],
    );
    assert_eq!(twice.status, 409);
    assert!(twice.body.contains("đã được xử lý"));

    // The record page shows the decision in the field history.
    let rec = h.get(&format!("/console/records/{record}"), &session);
    assert_eq!(rec.status, 200);
    assert!(rec.body.contains("Lịch sử thay đổi"));
    assert!(shows_escaped(&rec.body, "<b>Hạnh</b>"));
    assert!(rec.body.contains(">admin<"));
    assert!(!rec.body.contains("class=\"conflict\""));

    // Reads of personal data are audited.
    let audit = server.cli(&["audit", "list", "--action", "record_read", "--json"]);
    assert!(String::from_utf8_lossy(&audit.stdout).contains(&record.to_string()));
    let audit = server.cli(&["audit", "list", "--action", "review_read", "--json"]);
    assert!(String::from_utf8_lossy(&audit.stdout).contains("console"));

    // Signing out ends the session.
    let out = h.post("/console/logout", &session, &[("csrf", &csrf)]);
    assert_eq!(out.status, 303);
    assert_eq!(h.get("/console/queue", &session).status, 303);

    // Officers cannot sign in to the console.
    let login = h.get("/console/login", "");
    let token = login.cookie("ferry_console_login").unwrap();
    let officer = h.post(
        "/console/login",
        &format!("ferry_console_login={token}"),
        &[
            ("username", "an"),
            ("password", ferry_tests::PASSWORD),
            ("csrf", &token),
        ],
    );
    assert_eq!(officer.status, 401);
}

/// Whether `body` shows `text` HTML-escaped (named or numeric character references) and
/// never raw.
fn shows_escaped(body: &str, text: &str) -> bool {
    let with = |refs: [&str; 4]| {
        text.replace('&', refs[0])
            .replace('<', refs[1])
            .replace('>', refs[2])
            .replace('"', refs[3])
    };
    let named = with(["&amp;", "&lt;", "&gt;", "&quot;"]);
    let numeric = with(["&#38;", "&#60;", "&#62;", "&#34;"]);
    !body.contains(text) && (body.contains(&named) || body.contains(&numeric))
}
