//! Scope, roles, frozen fields, actors, revocation, lockout and the audit chain.

use ferry_tests::{ADMIN_PASSWORD, Client, Device, PASSWORD, Server, application, citizen, now_ms};
use serde_bytes::ByteBuf;
use sync_core::doc::{Author, Edit, encode_change};
use sync_core::model::{Kind, Role, Value};
use sync_core::protocol::{self, PushRecord, RejectCode};
use sync_core::replica::Session;
use uuid::Uuid;

use crate::bin;

fn set(field: &str, value: &str) -> Edit {
    Edit::Set {
        field: field.into(),
        value: Value::Text(value.into()),
    }
}

ferry_tests::both_engines!(
    an_out_of_scope_write_is_rejected_and_the_device_rolls_back_and_lists_the_edit
);
fn an_out_of_scope_write_is_rejected_and_the_device_rolls_back_and_lists_the_edit() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &["07132"]);
    let a = Device::login(&server.url(), "an");

    // A new record in a unit that is not the officer's.
    let foreign = a
        .create(Kind::Citizen, "07135", citizen("Lý Văn Phúc"), now_ms())
        .unwrap()
        .record
        .id;
    // An existing record moved out of the officer's unit.
    let mine = a
        .create(Kind::Citizen, "07132", citizen("Mai Thị Đào"), now_ms())
        .unwrap()
        .record
        .id;
    a.sync_all();
    assert_eq!(a.rejected().unwrap().len(), 1);
    a.update(
        mine,
        &[Edit::SetUnit {
            unit: "07135".into(),
        }],
        now_ms(),
    )
    .unwrap();
    let report = a.sync().unwrap();
    assert_eq!(report.rejected, 1);

    assert!(
        a.get(foreign).unwrap().is_none(),
        "the refused new record is dropped"
    );
    let back = a.get(mine).unwrap().unwrap();
    assert_eq!(back.record.unit, "07132", "reset to the server's state");
    assert_eq!(back.pending_changes, 0);
    let rejected = a.rejected().unwrap();
    assert_eq!(rejected.len(), 2);
    assert!(rejected.iter().all(|r| r.code == "out_of_scope"));
    assert!(
        rejected
            .iter()
            .any(|r| r.record == mine && r.edits.iter().any(|e| e.field == "unit"))
    );
    assert_eq!(a.pending(), 0);

    // Nothing of it reached the server.
    let admin = server.admin();
    assert_eq!(
        admin
            .get(&format!("/v1/admin/records/{foreign}"))
            .unwrap()
            .status,
        404
    );
    let json = admin
        .get(&format!("/v1/admin/records/{mine}"))
        .unwrap()
        .json();
    assert_eq!(json["unit"], "07132");
}

ferry_tests::both_engines!(an_officer_cannot_accept_an_application_but_staff_can);
fn an_officer_cannot_accept_an_application_but_staff_can() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &["07132"]);
    server.add_user("chi", "staff", &["07132"]);
    let a = Device::login(&server.url(), "an");
    let id = a
        .create(
            Kind::CccdApplication,
            "07132",
            application("Phan Thị Thu", "submitted"),
            now_ms(),
        )
        .unwrap()
        .record
        .id;
    a.sync_all();

    // The app would refuse locally; pretend to be staff to get the change to the server.
    let real = a.session().unwrap().unwrap();
    a.set_session(&Session {
        role: Role::Staff,
        ..real.clone()
    })
    .unwrap();
    a.update(id, &[set("status", "accepted")], now_ms())
        .unwrap();
    a.set_session(&real).unwrap();
    let report = a.sync().unwrap();
    assert_eq!(report.rejected, 1);
    assert_eq!(
        a.get(id).unwrap().unwrap().record.status(),
        Some("submitted")
    );
    assert_eq!(a.rejected().unwrap()[0].code, "forbidden");

    let c = Device::login(&server.url(), "chi");
    c.sync_all();
    c.update(id, &[set("status", "accepted")], now_ms())
        .unwrap();
    let report = c.sync().unwrap();
    assert_eq!((report.acknowledged, report.rejected), (1, 0));
    a.sync_all();
    assert_eq!(
        a.get(id).unwrap().unwrap().record.status(),
        Some("accepted")
    );
}

/// Pushes one hand-made change of `record` from `device`, bypassing the replica's own checks.
fn raw_push(device: &Device, record: Uuid, edits: &[Edit]) -> protocol::SyncReply {
    let mut doc = device.document(record).unwrap().unwrap();
    let mut change = doc
        .edit(edits, &Author::new(&device.actor_id(), now_ms()))
        .unwrap()
        .unwrap();
    let mut req = device.prepare_sync(&Default::default()).unwrap();
    let kind = device.get(record).unwrap().unwrap().record.kind;
    req.push = vec![PushRecord {
        record,
        kind: kind.as_str().into(),
        unit: "07132".into(),
        changes: vec![ByteBuf::from(encode_change(&mut change))],
    }];
    let reply = device.post_sync(&req);
    assert_eq!(reply.status, 200);
    ferry_tests::decode_sync_reply(&reply).unwrap()
}

ferry_tests::both_engines!(identity_fields_of_an_accepted_application_are_frozen);
fn identity_fields_of_an_accepted_application_are_frozen() {
    let server = Server::start(bin());
    server.add_user("chi", "staff", &["07132"]);
    let c = Device::login(&server.url(), "chi");
    let id = c
        .create(
            Kind::CccdApplication,
            "07132",
            application("Phan Thị Thu", "submitted"),
            now_ms(),
        )
        .unwrap()
        .record
        .id;
    c.update(id, &[set("status", "accepted")], now_ms())
        .unwrap();
    c.sync_all();
    let reply = raw_push(&c, id, &[set("full_name", "Phan Thị Thủy")]);
    assert_eq!(reply.rejected.len(), 1);
    assert_eq!(reply.rejected[0].code, RejectCode::FrozenField);
    assert!(
        reply.rejected[0].reset.is_some(),
        "the server's state comes back"
    );
    // A non-frozen field is fine.
    let reply = raw_push(&c, id, &[set("notes", "đã gọi điện")]);
    assert!(reply.rejected.is_empty());
    assert_eq!(reply.accepted.len(), 1);
}

ferry_tests::both_engines!(a_change_signed_with_another_devices_actor_is_refused);
fn a_change_signed_with_another_devices_actor_is_refused() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &["07132"]);
    let a = Device::login(&server.url(), "an");
    let b = Device::login(&server.url(), "an");
    a.create(Kind::Citizen, "07132", citizen("Tạ Văn Long"), now_ms())
        .unwrap();
    let mut req = a.prepare_sync(&Default::default()).unwrap();
    req.device_id = b.device_id();
    let reply = b.post_sync(&req);
    let reply = ferry_tests::decode_sync_reply(&reply).unwrap();
    assert_eq!(reply.rejected.len(), 1);
    assert_eq!(reply.rejected[0].code, RejectCode::WrongActor);
    assert!(reply.accepted.is_empty());

    // A's own device id with b's token is refused outright.
    let req = a.prepare_sync(&Default::default()).unwrap();
    let reply = b.post_sync(&req);
    assert_eq!(reply.status, 403);

    // An actor id registered to another device is refused at login.
    let mut c = Client::new(&server.url());
    let err = c
        .login_as("an", PASSWORD, Uuid::now_v7(), &a.actor_id())
        .unwrap_err();
    assert_eq!(err.status, 409);
}

ferry_tests::both_engines!(a_revoked_device_gets_wipe_then_401);
fn a_revoked_device_gets_wipe_then_401() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &["07132"]);
    let a = Device::login(&server.url(), "an");
    a.create(Kind::Citizen, "07132", citizen("Đinh Văn Quý"), now_ms())
        .unwrap();
    a.sync_all();
    let out = server.cli(&["device", "list", "--user", "an"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&a.device_id().to_string()));

    let out = server.cli(&["device", "revoke", &a.device_id().to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = a.sync().unwrap();
    assert!(report.wiped);
    assert!(a.is_wiped().unwrap());
    assert_eq!(a.count().unwrap(), 0);

    // The same token again: 401.
    let req = protocol::SyncRequest {
        v: protocol::PROTOCOL_VERSION,
        device_id: a.device_id(),
        cursors: Default::default(),
        push: vec![],
        max_bytes: protocol::DEFAULT_MAX_BYTES,
        status: Default::default(),
        resync: vec![],
        sensitive: Vec::new(),
    };
    let reply = a.post_sync(&req);
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json()["error"], "unauthorized");
    // And the device cannot log in again.
    let mut c = Client::new(&server.url());
    let err = c
        .login_as("an", PASSWORD, a.device_id(), &a.actor_id())
        .unwrap_err();
    assert_eq!(err.status, 403);
}

ferry_tests::both_engines!(a_disabled_user_and_a_logged_out_token_get_401);
fn a_disabled_user_and_a_logged_out_token_get_401() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &["07132"]);
    server.add_user("binh", "officer", &["07132"]);
    let a = Device::login(&server.url(), "an");
    let b = Device::login(&server.url(), "binh");
    a.sync_all();
    assert!(server.cli(&["user", "disable", "an"]).status.success());
    assert!(matches!(
        a.sync(),
        Err(ferry_tests::SyncError::Status(401, _))
    ));
    let err = Device::login_with(&server.url(), "an", PASSWORD).unwrap_err();
    assert_eq!(err.status, 403);

    assert_eq!(
        b.client
            .post_json("/v1/logout", &serde_json::json!({}))
            .unwrap()
            .status,
        204
    );
    assert!(matches!(
        b.sync(),
        Err(ferry_tests::SyncError::Status(401, _))
    ));
    let anonymous = Client::new(&server.url());
    assert_eq!(
        anonymous
            .send("POST", "/v1/sync", &[], Some(vec![0xa0]))
            .unwrap()
            .status,
        401
    );
}

ferry_tests::both_engines!(repeated_wrong_passwords_lock_the_account);
fn repeated_wrong_passwords_lock_the_account() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &["07132"]);
    let device = Uuid::now_v7();
    let actor = [7u8; 16];
    let mut c = Client::new(&server.url());
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            c.login_as("an", "wrong-password", device, &actor)
                .unwrap_err()
                .status,
        );
    }
    assert_eq!(statuses, vec![401, 401, 401, 401, 429]);
    let err = c.login_as("an", PASSWORD, device, &actor).unwrap_err();
    assert_eq!(
        err.status, 429,
        "even the right password is refused while locked"
    );
    assert_eq!(err.json()["error"], "account_locked");
    let out = server.cli(&["user", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("locked"));
    let out = server.cli(&["audit", "list", "--user", "an", "--action", "login_failed"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 6);

    // An admin resetting the password lifts the lock.
    assert!(
        server
            .cli(&["user", "passwd", "an", "--password", PASSWORD])
            .status
            .success()
    );
    c.login_as("an", PASSWORD, device, &actor)
        .expect("unlocked");
    // Other accounts were never affected.
    let mut admin = Client::new(&server.url());
    admin
        .login_as("admin", ADMIN_PASSWORD, Uuid::now_v7(), &[8u8; 16])
        .unwrap();
}

ferry_tests::both_engines!(editing_one_audit_row_makes_audit_verify_fail_at_that_row);
fn editing_one_audit_row_makes_audit_verify_fail_at_that_row() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &["07132"]);
    let a = Device::login(&server.url(), "an");
    a.create(Kind::Citizen, "07132", citizen("Kiều Văn Sơn"), now_ms())
        .unwrap();
    a.sync_all();
    let out = server.cli(&["audit", "verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("OK"));

    let store = server.store();
    let rows: i64 = store
        .read(|c| c.query_value("SELECT count(*) FROM audit", &[]))
        .unwrap();
    assert!(rows >= 4);
    store
        .write(|c| {
            c.execute(
                "UPDATE audit SET \"user\" = 'someone-else' WHERE id = 3",
                &[],
            )
        })
        .unwrap();
    drop(store);
    let out = server.cli(&["audit", "verify"]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("row 3"), "{text}");
}

ferry_tests::both_engines!(an_admin_manages_users_and_devices_over_the_json_api);
fn an_admin_manages_users_and_devices_over_the_json_api() {
    let server = Server::start(bin());
    let admin = server.admin();
    let reply = admin
        .post_json(
            "/v1/admin/users",
            &serde_json::json!({"username": "dao", "role": "officer", "units": ["07132"]}),
        )
        .unwrap();
    assert_eq!(reply.status, 201, "{:?}", reply.json());
    let password = reply.json()["password"].as_str().unwrap().to_owned();
    let d = Device::login_with(&server.url(), "dao", &password).expect("generated password works");
    d.sync().unwrap();

    let again = admin
        .post_json(
            "/v1/admin/users",
            &serde_json::json!({"username": "dao", "role": "officer", "units": []}),
        )
        .unwrap();
    assert_eq!(again.status, 409);
    let bad_unit = admin
        .post_json(
            "/v1/admin/users",
            &serde_json::json!({"username": "em", "role": "officer", "units": ["07138"]}),
        )
        .unwrap();
    assert_eq!(bad_unit.status, 400);
    assert_eq!(bad_unit.json()["error"], "invalid_account");

    let reply = admin
        .send(
            "PUT",
            "/v1/admin/users/dao/units",
            &[("Content-Type", "application/json")],
            Some(br#"{"units": ["07132", "07135"]}"#.to_vec()),
        )
        .unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["units"], serde_json::json!(["07132", "07135"]));
    let users = admin.get("/v1/admin/users").unwrap().json();
    assert!(
        users
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "dao")
    );
    assert!(
        users.to_string().find("password").is_none(),
        "hashes never leave the server"
    );

    let devices = admin.get("/v1/admin/devices?user=dao").unwrap().json();
    assert_eq!(devices.as_array().unwrap().len(), 1);
    assert_eq!(devices[0]["id"], d.device_id().to_string());
    let reply = admin
        .post_json(
            &format!("/v1/admin/devices/{}/revoke", d.device_id()),
            &serde_json::json!({}),
        )
        .unwrap();
    assert_eq!(reply.status, 200);
    assert!(d.sync().unwrap().wiped);

    let reply = admin
        .post_json("/v1/admin/users/dao/disable", &serde_json::json!({}))
        .unwrap();
    assert_eq!(reply.status, 204);
    assert_eq!(
        Device::login_with(&server.url(), "dao", &password)
            .unwrap_err()
            .status,
        403
    );
    let out = server.cli(&["audit", "list", "--user", "admin"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for action in ["user_add", "user_assign", "device_revoke", "user_disable"] {
        assert!(text.contains(action), "{action} audited:\n{text}");
    }
}
