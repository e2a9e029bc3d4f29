//! The review queue ranks name duplicates whose names agree exactly above those whose names
//! agree only without diacritics ("Hùng" and "Hưng": most often two people), whatever their
//! age (issue 11 item 5), in the admin API, the CLI and the console, which all list
//! through one query.

use ferry_tests::{Device, Server, citizen, now_ms};
use sync_core::model::Kind;

use crate::bin;
use crate::integration::review::detected;

ferry_tests::both_engines!(exact_name_duplicates_rank_above_older_diacritic_folded_ones);
fn exact_name_duplicates_rank_above_older_diacritic_folded_ones() {
    let server = Server::start(bin());
    server.add_user("an", "officer", &["07132"]);
    let phone = Device::login(&server.url(), "an");
    let push = |names: &[&str]| {
        for name in names {
            phone
                .create(Kind::Citizen, "07132", citizen(name), now_ms())
                .unwrap();
        }
        phone.sync_all();
    };
    // First a pair that folds to one key (one born the same day), then an exact pair.
    push(&["Nguyễn Văn Hùng", "Nguyễn Văn Hưng"]);
    detected(&server, 1);
    push(&["Trần Thị Lan", "TRẦN THỊ LAN"]);
    detected(&server, 2);

    let listed = server.admin().get("/v1/admin/review").unwrap().json();
    let items = listed["items"].as_array().expect("items");
    let matches: Vec<&str> = items
        .iter()
        .map(|i| i["details"]["name_match"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(matches, ["exact", "folded"], "{listed}");
    assert!(
        items[0]["created_ms"].as_i64() > items[1]["created_ms"].as_i64(),
        "the exact pair is the newer item"
    );
    // The admin sees the difference the folded match hides.
    let names = items[1]["details"]["full_names"].as_object().unwrap();
    let mut names: Vec<&str> = names.values().filter_map(|v| v.as_str()).collect();
    names.sort();
    assert_eq!(names, ["Nguyễn Văn Hùng", "Nguyễn Văn Hưng"]);

    // The CLI lists in the same order.
    let out = server.cli(&["review", "list", "--json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let (exact, folded) = (text.find("\"exact\""), text.find("\"folded\""));
    assert!(exact.is_some() && exact < folded, "{text}");
}
