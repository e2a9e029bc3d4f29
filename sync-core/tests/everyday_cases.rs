//! The everyday cases save with no false finding (issue 11, "Done when"), as far as
//! single-record validation reaches (the review queue is checked by the server's tests).

use sync_core::model::{self, Fields, Kind, Record, ValidationContext, Value, rules};
use uuid::Uuid;

fn findings(kind: Kind, unit: &str, pairs: &[(&str, Value)]) -> Vec<String> {
    let fields: Fields = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let mut r = Record {
        id: Uuid::now_v7(),
        kind,
        unit: unit.into(),
        fields,
    };
    model::normalise(&mut r);
    match model::validate(&r, &ValidationContext::new("2026-03-10")) {
        Ok(f) => f.into_iter().map(|f| f.code).collect(),
        Err(e) => panic!("refused: {e:?}"),
    }
}

#[test]
fn a_household_moving_from_old_minh_thành_to_đông_mai_registers_with_no_finding() {
    // 07138 (Minh Thành) was merged into 07135 (Đông Mai) on 2025-07-01: the same ward now.
    assert!(rules::same_commune("07138", "07135"));
    let found = findings(
        Kind::ResidenceDeclaration,
        "07135",
        &[
            ("citizen_id", Uuid::now_v7().to_string().into()),
            ("procedure", "permanent_registration".into()),
            ("address", "Số 12, khu 4, phường Đông Mai".into()),
            ("address_unit", "07135".into()),
            ("from_date", "2026-03-02".into()),
            ("residence_basis", "owned".into()),
            ("filed_on", "2026-03-02".into()),
            ("status", "submitted".into()),
        ],
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn a_migrant_worker_from_thanh_hóa_registers_temporarily_in_phong_cốc_with_no_finding() {
    let found = findings(
        Kind::Citizen,
        "07183",
        &[
            ("full_name", "Lê Văn Thắng".into()),
            ("id_number", "038 096 004 321".into()),
            ("date_of_birth", "1996-08-20".into()),
            ("sex", "male".into()),
            (
                "birth_registration_place",
                "UBND xã Quảng Hợp, Thanh Hóa".into(),
            ),
            (
                "temporary_address",
                "Khu nhà trọ công nhân, phường Phong Cốc".into(),
            ),
            ("temporary_unit", "07183".into()),
        ],
    );
    assert!(found.is_empty(), "{found:?}");
    let found = findings(
        Kind::ResidenceDeclaration,
        "07183",
        &[
            ("procedure", "temporary_registration".into()),
            ("address", "Khu nhà trọ công nhân, phường Phong Cốc".into()),
            ("address_unit", "07183".into()),
            ("from_date", "2026-03-01".into()),
            ("to_date", "2027-02-28".into()),
            ("residence_basis", "rented".into()),
            ("owner_consent", true.into()),
            ("floor_area_m2", "18.5".into()),
            ("persons", Value::Int(2)),
            ("host_name", "Phạm Thị Hoà".into()),
        ],
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn a_ten_year_olds_first_card_with_a_parent_as_representative_saves_with_no_finding() {
    let found = findings(
        Kind::CccdApplication,
        "07132",
        &[
            ("request_type", "first_issue".into()),
            ("full_name", "Nguyễn Minh Khôi".into()),
            ("id_number", "022215001234".into()),
            ("date_of_birth", "2015-09-01".into()),
            ("sex", "male".into()),
            ("filed_on", "2026-03-09".into()),
            ("representative_name", "Nguyễn Văn Hùng".into()),
            ("representative_id_number", "022088004567".into()),
            ("fingerprints_taken", true.into()),
            ("iris_taken", true.into()),
            ("status", "submitted".into()),
        ],
    );
    assert!(found.is_empty(), "{found:?}");
}
