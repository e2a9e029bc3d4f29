//! Address unit codes are read as of the day they were captured (issue 11 item 3): a
//! citizen's `captured_on`, a declaration's `filed_on`. Codes from before the 2025-07-01
//! reorganisation, anywhere in the country, are findings that name the current unit(s),
//! never refusals.

use sync_core::model::{self, Fields, Kind, Record, ValidationContext, Value, rules};
use uuid::Uuid;

fn validate(kind: Kind, pairs: &[(&str, Value)]) -> Vec<model::Finding> {
    let fields: Fields = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let mut r = Record {
        id: Uuid::now_v7(),
        kind,
        unit: "07180".into(),
        fields,
    };
    model::normalise(&mut r);
    model::validate(&r, &ValidationContext::new("2026-03-10"))
        .unwrap_or_else(|e| panic!("refused: {e:?}"))
}

fn declaration_in(unit: &str, filed_on: Option<&str>) -> Vec<model::Finding> {
    let mut pairs: Vec<(&str, Value)> = vec![
        ("procedure", "permanent_registration".into()),
        ("address", "Thôn 2".into()),
        ("address_unit", unit.into()),
        ("from_date", "2024-03-01".into()),
        ("residence_basis", "owned".into()),
    ];
    if let Some(d) = filed_on {
        pairs.push(("filed_on", d.into()));
    }
    validate(Kind::ResidenceDeclaration, &pairs)
}

#[test]
fn code_07180_on_a_form_filed_in_2024_is_old_xã_liên_hòa_and_names_both_current_candidates() {
    let found = declaration_in("07180", Some("2024-03-01"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].code, "old_unit_code");
    assert_eq!(found[0].field, "address_unit");
    let m = &found[0].message;
    assert!(
        m.contains("as captured on 2024-03-01 is Xã Liên Hòa"),
        "{m}"
    );
    assert!(
        m.contains("07180 (Phường Liên Hòa) or 07168 (Phường Hà An)"),
        "{m}"
    );
}

#[test]
fn code_07180_on_a_form_filed_since_july_2025_or_without_a_date_is_today_s_ward() {
    assert!(declaration_in("07180", Some("2025-07-01")).is_empty());
    assert!(declaration_in("07180", Some("2026-03-02")).is_empty());
    assert!(declaration_in("07180", None).is_empty());
}

#[test]
fn an_old_only_code_is_a_finding_whatever_the_date() {
    for date in [Some("2024-03-01"), Some("2026-03-02"), None] {
        let found = declaration_in("07138", date);
        assert_eq!(found.len(), 1, "{date:?}: {found:?}");
        assert!(found[0].message.contains("07135 (Phường Đông Mai)"));
    }
}

#[test]
fn a_reused_code_whose_old_unit_lies_wholly_in_the_new_one_is_no_finding() {
    // 07147 was Xã Hiệp Hòa until 2025-06-30; it is wholly inside Phường Hiệp Hòa (07147).
    let citizen = |unit: &str| {
        validate(
            Kind::Citizen,
            &[
                ("full_name", "Vũ Thị Mai".into()),
                ("permanent_unit", unit.into()),
                ("captured_on", "2024-11-20".into()),
            ],
        )
    };
    assert!(citizen("07147").is_empty());
    // Its neighbour Cộng Hòa (07150) merged into it too: that code is old.
    let found = citizen("07150");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].message.contains("is Phường Cộng Hòa"),
        "{}",
        found[0].message
    );
    assert!(found[0].message.contains("07147 (Phường Hiệp Hòa)"));
}

#[test]
fn a_pre_2025_commune_of_another_province_is_saved_with_a_finding_not_refused() {
    // A migrant worker's permanent residence on a 2023 paper: Xã Quảng Hợp (Quảng Xương,
    // Thanh Hóa), now part of Xã Quảng Ngọc.
    let found = validate(
        Kind::Citizen,
        &[
            ("full_name", "Lê Văn Thắng".into()),
            ("permanent_unit", "16471".into()),
            ("temporary_unit", "07183".into()),
            ("captured_on", "2023-06-15".into()),
        ],
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].field, "permanent_unit");
    assert!(
        found[0].message.contains("16498 (Xã Quảng Ngọc)"),
        "{}",
        found[0].message
    );
}

#[test]
fn a_temporary_residence_in_an_old_unit_merged_into_the_permanent_ward_is_inside_the_commune() {
    // Permanent in old Sông Khoai, temporary in old Cộng Hòa: both Phường Hiệp Hòa now.
    let found = validate(
        Kind::Citizen,
        &[
            ("full_name", "Đỗ Văn Nam".into()),
            ("permanent_unit", "07144".into()),
            ("temporary_unit", "07150".into()),
        ],
    );
    let codes: Vec<&str> = found.iter().map(|f| f.code.as_str()).collect();
    assert!(
        codes.contains(&"temporary_in_permanent_commune"),
        "{codes:?}"
    );
    // 07180 captured in 2024 may be Hà An now: undecided, so no finding against Hà An.
    assert!(!rules::same_commune_on(
        "07180",
        "07168",
        Some("2024-01-01")
    ));
    assert!(rules::same_commune_on("07180", "07180", Some("2026-01-01")));
    assert!(rules::same_commune_on("07186", "07180", Some("2026-01-01")));
}

#[test]
fn an_unknown_unit_code_is_still_refused() {
    let fields: Fields = [("address_unit".to_owned(), Value::from("99999"))].into();
    let r = Record {
        id: Uuid::now_v7(),
        kind: Kind::ResidenceDeclaration,
        unit: "07180".into(),
        fields,
    };
    let errors = model::validate(&r, &ValidationContext::new("2026-03-10")).unwrap_err();
    assert_eq!(errors[0].code, "unknown_unit");
}
