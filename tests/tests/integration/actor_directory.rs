//! Who wrote which value, end to end on both engines: officers get display names from
//! `ferry user add --display-name`, `ferry user set` and the admin API (stored in NFC, bad
//! input refused with a clear error), and the sync reply's actor directory carries them to
//! the phones with each writer's device name, the account name standing in where the office
//! set none.

use std::process::Output;

use ferry_tests::{Device, PASSWORD, Server, citizen, now_ms};
use sync_core::doc::Edit;
use sync_core::model::{Kind, Value};
use sync_core::store::tables::ActorName;

use crate::bin;

const WARD: &str = "07132";

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "ferry failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts that `phone`'s directory names the writer of `other`'s changes: account `user`,
/// shown as `display`, on the device every test login names "test device".
fn assert_names(phone: &Device, other: &Device, user: &str, display: &str) {
    let actor = other.actor_id().to_vec();
    let name: ActorName = phone
        .actor_names(std::slice::from_ref(&actor))
        .unwrap()
        .remove(&actor)
        .unwrap_or_else(|| panic!("the directory does not name {user}"));
    assert_eq!(
        (
            name.user.as_str(),
            name.display_name.as_deref(),
            name.device_name.as_str()
        ),
        (user, Some(display), "test device")
    );
}

fn put_display_name(
    server: &Server,
    user: &str,
    name: serde_json::Value,
) -> (u16, serde_json::Value) {
    let r = server
        .admin()
        .send(
            "PUT",
            &format!("/v1/admin/users/{user}/display-name"),
            &[("Content-Type", "application/json")],
            Some(
                serde_json::json!({ "display_name": name })
                    .to_string()
                    .into_bytes(),
            ),
        )
        .unwrap();
    (r.status, r.json())
}

fn a_sync_reply_names_each_writer_by_display_name_and_device_name() {
    let server = Server::start(bin());
    // Lan's name typed decomposed (e + circumflex + tilde), as some keyboards send it.
    let added = ok(server.cli(&[
        "user",
        "add",
        "lan",
        "--role",
        "officer",
        "--unit",
        WARD,
        "--password",
        PASSWORD,
        "--display-name",
        "Nguye\u{0302}\u{0303}n  Thị Lan",
    ]));
    assert!(added.contains("lan \"Nguyễn Thị Lan\""), "{added}");
    server.add_user("minh", "officer", &[WARD]);
    server.add_user("tam", "officer", &[WARD]);
    let url = server.url();
    let (lan, minh, tam) = (
        Device::login(&url, "lan"),
        Device::login(&url, "minh"),
        Device::login(&url, "tam"),
    );
    let login = lan.client.session.clone().unwrap();
    assert_eq!(
        (login.display_name.as_str(), login.device_name.as_str()),
        ("Nguyễn Thị Lan", "test device")
    );
    let record = lan
        .create(Kind::Citizen, WARD, citizen("Đỗ Văn Hải"), now_ms())
        .unwrap()
        .record
        .id;
    lan.sync_all();
    tam.create(Kind::Citizen, WARD, citizen("Phí Thị Nga"), now_ms())
        .unwrap();
    tam.sync_all();

    // Minh's phone receives both records: Lan by her display name, Tám (none set) by his
    // account name.
    minh.sync_all();
    assert_names(&minh, &lan, "lan", "Nguyễn Thị Lan");
    assert_names(&minh, &tam, "tam", "tam");

    // The office names Minh from the command line and Tám through the admin API.
    let set = ok(server.cli(&["user", "set", "minh", "--display-name", "Trần Văn Minh"]));
    assert!(set.contains("Trần Văn Minh"), "{set}");
    let (status, user) = put_display_name(&server, "tam", "Lê Văn Tám".into());
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["display_name"], "Lê Văn Tám");
    // Both correct Lan's record; her phone learns their names with their changes.
    for (phone, phone_number) in [(&minh, "0912 000 111"), (&tam, "0912 000 222")] {
        phone.sync_all();
        phone
            .update(
                record,
                &[Edit::Set {
                    field: "phone".into(),
                    value: Value::from(phone_number),
                }],
                now_ms(),
            )
            .unwrap();
        phone.sync_all();
    }
    lan.sync_all();
    assert_names(&lan, &minh, "minh", "Trần Văn Minh");
    assert_names(&lan, &tam, "tam", "Lê Văn Tám");

    let listed = ok(server.cli(&["user", "list"]));
    for (user, name) in [("lan", "Nguyễn Thị Lan"), ("minh", "Trần Văn Minh")] {
        assert!(
            listed
                .lines()
                .any(|l| l.starts_with(&format!("{user} ")) && l.contains(name)),
            "{listed}"
        );
    }
    // Cleared, the account name shows again.
    ok(server.cli(&["user", "set", "tam", "--clear-display-name"]));
    let users = server.admin().get("/v1/admin/users").unwrap().json();
    let tam_now = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "tam")
        .unwrap()
        .clone();
    assert_eq!(
        tam_now["display_name"],
        serde_json::Value::Null,
        "{tam_now}"
    );
    let audit = ok(server.cli(&["audit", "list", "--action", "user_set"]));
    assert_eq!(audit.lines().count(), 3, "{audit}");
}

ferry_tests::both_engines!(a_sync_reply_names_each_writer_by_display_name_and_device_name);

fn a_display_name_with_control_characters_or_too_long_is_refused_and_changes_nothing() {
    let server = Server::start(bin());
    server.add_user("lan", "officer", &[WARD]);
    ok(server.cli(&["user", "set", "lan", "--display-name", "Nguyễn Thị Lan"]));
    let long = "ư".repeat(101);
    for (bad, why) in [
        ("Nguyễn Thị\nLan", "control characters"),
        ("Lan\u{202E}", "control characters"),
        ("   ", "may not be empty"),
        (long.as_str(), "at most 100 characters"),
    ] {
        let out = server.cli(&["user", "set", "lan", "--display-name", bad]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(why), "{bad:?}: {err}");
        let (status, body) = put_display_name(&server, "lan", bad.into());
        assert_eq!(status, 400, "{bad:?}: {body}");
        assert_eq!(body["error"], "invalid_account");
        assert!(body["message"].as_str().unwrap().contains(why), "{body}");
    }
    // Neither a name nor --clear-display-name: nothing to do, said so.
    let out = server.cli(&["user", "set", "lan"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--display-name"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = server.cli(&[
        "user",
        "add",
        "minh",
        "--role",
        "officer",
        "--display-name",
        "Minh\t",
    ]);
    assert!(!out.status.success(), "a bad name refuses the whole user");
    let r = server
        .admin()
        .post_json(
            "/v1/admin/users",
            &serde_json::json!({"username": "minh", "role": "officer", "display_name": "Minh\t"}),
        )
        .unwrap();
    assert_eq!(r.status, 400, "{}", r.json());
    let listed = ok(server.cli(&["user", "list"]));
    assert!(!listed.contains("minh"), "{listed}");
    assert!(listed.contains("Nguyễn Thị Lan"), "{listed}");
    let (status, _) = put_display_name(&server, "nobody", "Ai Đó".into());
    assert_eq!(status, 404);
}

ferry_tests::both_engines!(
    a_display_name_with_control_characters_or_too_long_is_refused_and_changes_nothing
);
