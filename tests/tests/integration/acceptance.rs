//! Accepting a residence registration updates its citizen's residence (and the members
//! moving with them), also when the device
//! that accepts does not hold the citizen (the citizen is in another ward): the server
//! writes the edits then (`server/src/residence.rs`), on both engines.

use ferry_tests::{Device, Server, now_ms};
use sync_core::doc::Edit;
use sync_core::model::{Kind, Value};

use crate::bin;

const HOME: &str = "07132";
const NEW_WARD: &str = "07135";
const NEW_ADDRESS: &str = "Số 9, khu 1, phường Đông Mai";

ferry_tests::both_engines!(
    a_registration_accepted_in_another_ward_moves_the_citizens_permanent_residence_on_the_server
);
fn a_registration_accepted_in_another_ward_moves_the_citizens_permanent_residence_on_the_server() {
    let server = Server::start(bin());
    server.add_user("lan", "officer", &[HOME]);
    server.add_user("hai", "officer", &[NEW_WARD]);
    server.add_user("thu", "staff", &[NEW_WARD]);
    let lan = Device::login(&server.url(), "lan");
    let hai = Device::login(&server.url(), "hai");
    let thu = Device::login(&server.url(), "thu");
    let mut person = ferry_tests::citizen("Vũ Văn Chuyển");
    person.insert(
        "permanent_address".into(),
        Value::Text("Số 2, khu 5, phường Quảng Yên".into()),
    );
    person.insert("permanent_unit".into(), Value::Text(HOME.into()));
    let citizen = lan
        .create(Kind::Citizen, HOME, person.clone(), now_ms())
        .unwrap()
        .record
        .id;
    // Her son moves with her (form CT01's list of members moving together).
    person.insert("full_name".into(), Value::Text("Vũ Văn Theo".into()));
    let son = lan
        .create(Kind::Citizen, HOME, person, now_ms())
        .unwrap()
        .record
        .id;
    lan.sync_all();

    // In the new ward, an officer takes the registration; the police office accepts it on a
    // device that never held the citizen (another ward's record).
    let mut f = sync_core::model::Fields::new();
    for (k, v) in [
        ("procedure", "permanent_registration"),
        ("address", NEW_ADDRESS),
        ("address_unit", NEW_WARD),
        ("from_date", "2026-11-20"),
        ("filed_on", "2026-11-20"),
        ("residence_basis", "owned"),
        ("status", "submitted"),
    ] {
        f.insert(k.into(), Value::Text(v.into()));
    }
    f.insert("citizen_id".into(), Value::Text(citizen.to_string()));
    f.insert(
        "moving_members".into(),
        Value::Map(std::collections::BTreeMap::from([(
            son.to_string(),
            Value::Map(std::collections::BTreeMap::from([(
                "relationship".to_owned(),
                Value::Text("child".into()),
            )])),
        )])),
    );
    let registration = hai
        .create(Kind::ResidenceDeclaration, NEW_WARD, f, now_ms())
        .unwrap()
        .record
        .id;
    hai.sync_all();
    thu.sync_all();
    assert!(
        thu.get(citizen).unwrap().is_none(),
        "the office does not hold the citizen"
    );
    thu.update(
        registration,
        &[Edit::Set {
            field: "status".into(),
            value: Value::Text("accepted".into()),
        }],
        now_ms(),
    )
    .unwrap();
    thu.sync_all();

    // The citizen's record now says where the person lives, and the home ward's phone
    // gets it.
    let view = server
        .admin()
        .get(&format!("/v1/admin/records/{citizen}"))
        .unwrap()
        .json();
    assert_eq!(view["fields"]["permanent_address"], NEW_ADDRESS);
    assert_eq!(view["fields"]["permanent_unit"], NEW_WARD);
    let son_view = server
        .admin()
        .get(&format!("/v1/admin/records/{son}"))
        .unwrap()
        .json();
    assert_eq!(
        son_view["fields"]["permanent_unit"], NEW_WARD,
        "the member who moved with her"
    );
    lan.sync_all();
    let at_home = lan.get(citizen).unwrap().unwrap().record;
    assert_eq!(at_home.text("permanent_unit"), Some(NEW_WARD));
    // Accepted once: a later sync changes nothing more.
    let changes = |server: &Server| {
        server
            .store()
            .read(|c| {
                c.query_value::<i64>(
                    "SELECT count(*) FROM changes WHERE record = ?1",
                    &[&citizen.to_string()],
                )
            })
            .unwrap()
    };
    let before = changes(&server);
    thu.sync_all();
    assert_eq!(changes(&server), before);
}
