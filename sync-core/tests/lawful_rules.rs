//! The legal rules of `sync_core::model::rules` and the examples of the domain review
//! (`shared/domain/REVIEW.md` §2, the false-accept and false-finding table, and §7), each as a
//! test with the law's or the review's own values. "Today" is 2026-03-10, as in the review.

use sync_core::model::{self, Date, Fields, Kind, Record, ValidationContext, Value, rules};
use uuid::Uuid;

fn record(kind: Kind, pairs: &[(&str, Value)]) -> Record {
    let fields: Fields = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let mut r = Record {
        id: Uuid::now_v7(),
        kind,
        unit: "07132".into(),
        fields,
    };
    model::normalise(&mut r);
    r
}

fn codes(kind: Kind, pairs: &[(&str, Value)]) -> Vec<String> {
    let r = record(kind, pairs);
    match model::validate(&r, &ValidationContext::new("2026-03-10")) {
        Ok(f) => f.into_iter().map(|f| f.code).collect(),
        Err(e) => panic!("refused: {e:?}"),
    }
}

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

// --- REVIEW §2 -----------------------------------------------------------------------------

#[test]
fn id_022485001234_for_a_man_with_no_date_of_birth_is_a_birth_year_impossible_finding() {
    let found = codes(
        Kind::Citizen,
        &[("id_number", "022485001234".into()), ("sex", "male".into())],
    );
    assert_eq!(found, ["id_number_birth_year_impossible"]);
}

#[test]
fn id_022299001234_with_no_date_of_birth_implies_2099_and_is_a_finding() {
    let found = codes(Kind::Citizen, &[("id_number", "022299001234".into())]);
    assert_eq!(found, ["id_number_birth_year_impossible"]);
}

#[test]
fn id_022385001234_for_a_woman_born_1985_is_still_a_century_finding() {
    let found = codes(
        Kind::Citizen,
        &[
            ("id_number", "022385001234".into()),
            ("sex", "female".into()),
            ("date_of_birth", "1985-04-02".into()),
        ],
    );
    assert_eq!(found, ["id_number_century_mismatch"]);
}

#[test]
fn id_022101001234_for_a_woman_born_2001_is_still_a_century_finding() {
    let found = codes(
        Kind::Citizen,
        &[
            ("id_number", "022101001234".into()),
            ("sex", "female".into()),
            ("date_of_birth", "2001-05-05".into()),
        ],
    );
    assert_eq!(found, ["id_number_century_mismatch"]);
}

#[test]
fn id_022085001234_registered_in_hai_phong_disagrees_with_quang_ninh_in_digits_1_to_3() {
    let found = codes(
        Kind::Citizen,
        &[
            ("id_number", "022085001234".into()),
            (
                "birth_registration_place",
                "UBND phường Lê Chân, TP Hải Phòng".into(),
            ),
        ],
    );
    assert_eq!(found, ["birth_registration_province_mismatch"]);
    // The right province, or a place that names no province, is no finding.
    let found = codes(
        Kind::Citizen,
        &[
            ("id_number", "022085001234".into()),
            (
                "birth_registration_place",
                "UBND xã Liên Hòa, Quảng Ninh".into(),
            ),
        ],
    );
    assert!(found.is_empty(), "{found:?}");
    let found = codes(
        Kind::Citizen,
        &[
            ("id_number", "022085001234".into()),
            ("birth_registration_place", "UBND xã Liên Hòa".into()),
        ],
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn id_003085001234_is_an_unknown_province_code_finding_that_may_be_a_country_code() {
    let found = codes(Kind::Citizen, &[("id_number", "003085001234".into())]);
    assert_eq!(found, ["unknown_province_code"]);
    let r = record(Kind::Citizen, &[("id_number", "003085001234".into())]);
    let message = model::validate(&r, &ValidationContext::new("2026-03-10"))
        .unwrap()
        .into_iter()
        .find(|f| f.code == "unknown_province_code")
        .map(|f| f.message)
        .unwrap();
    assert!(message.contains("not a province code"), "{message}");
    assert!(message.contains("country code"), "{message}");
    assert!(message.contains("place of birth registration"), "{message}");
}

#[test]
fn id_022_085_001234_with_spaces_as_read_off_a_printout_is_saved_not_refused() {
    let r = record(Kind::Citizen, &[("id_number", "022 085 001234".into())]);
    assert_eq!(r.text("id_number"), Some("022085001234"));
    assert!(model::validate(&r, &ValidationContext::new("2026-03-10")).is_ok());
}

#[test]
fn an_application_numbered_022185001234_for_a_citizen_numbered_022185009999_is_a_finding() {
    let citizen = record(
        Kind::Citizen,
        &[
            ("id_number", "022185009999".into()),
            ("full_name", "Trần Thị Hoà".into()),
        ],
    );
    let app = record(
        Kind::CccdApplication,
        &[
            ("citizen_id", citizen.id.to_string().into()),
            ("id_number", "022185001234".into()),
            ("full_name", "Trần Thị Hòa".into()),
        ],
    );
    let found = rules::application_vs_citizen(&app, &citizen);
    let fields: Vec<_> = found.iter().map(|f| f.field.as_str()).collect();
    // The name differs only in tone-mark placement: the same name.
    assert_eq!(fields, ["id_number"]);
    assert_eq!(found[0].code, "application_disagrees_with_citizen");
}

#[test]
fn a_citizen_whose_id_number_equals_the_fathers_is_a_finding() {
    let found = codes(
        Kind::Citizen,
        &[
            ("id_number", "022085001234".into()),
            ("father_id_number", "022085001234".into()),
        ],
    );
    assert_eq!(found, ["id_number_same_as_parent"]);
}

#[test]
fn a_citizen_whose_sex_was_redetermined_keeps_the_earlier_number() {
    let earlier = Value::Map([("022085001234".to_owned(), Value::Map(Default::default()))].into());
    let r = record(
        Kind::Citizen,
        &[
            ("id_number", "022185001234".into()),
            ("sex", "female".into()),
            ("date_of_birth", "1985-01-01".into()),
            ("previous_id_numbers", earlier),
        ],
    );
    assert_eq!(
        model::validate(&r, &ValidationContext::new("2026-03-10")).unwrap(),
        Vec::new()
    );
    let tokens = model::search_tokens("", &["022085001234"]);
    assert!(model::tokens_match(
        &model::query_tokens("022 085"),
        &tokens
    ));
}

#[test]
fn a_first_issue_for_a_child_born_2012_03_11_filed_2026_03_10_with_a_parent_as_representative_has_no_finding()
 {
    let found = codes(
        Kind::CccdApplication,
        &[
            ("request_type", "first_issue".into()),
            ("date_of_birth", "2012-03-11".into()),
            ("filed_on", "2026-03-10".into()),
            ("representative_name", "Nguyễn Văn Bình".into()),
            ("representative_id_number", "022080001234".into()),
        ],
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn a_child_born_2012_02_29_is_14_on_2026_02_28_and_files_alone() {
    let found = codes(
        Kind::CccdApplication,
        &[
            ("request_type", "first_issue".into()),
            ("date_of_birth", "2012-02-29".into()),
            ("filed_on", "2026-02-28".into()),
        ],
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn a_card_issued_2024_03_01_to_someone_born_2001_01_10_is_valid_until_40_not_25() {
    assert_eq!(
        rules::card_valid_until(d("2001-01-10"), d("2024-03-01")),
        Some(d("2041-01-10"))
    );
    let found = codes(
        Kind::Citizen,
        &[
            ("date_of_birth", "2001-01-10".into()),
            ("previous_card_issued_on", "2024-03-01".into()),
            ("previous_card_expires_on", "2026-01-10".into()),
        ],
    );
    assert_eq!(found, ["card_expiry_mismatch"]);
    let found = codes(
        Kind::Citizen,
        &[
            ("date_of_birth", "2001-01-10".into()),
            ("previous_card_issued_on", "2024-03-01".into()),
            ("previous_card_expires_on", "2041-01-10".into()),
        ],
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn a_card_of_someone_born_1950_06_01_issued_after_58_has_no_expiry_and_an_expiry_date_is_a_finding()
{
    assert_eq!(
        rules::card_valid_until(d("1950-06-01"), d("2021-04-01")),
        None
    );
    let found = codes(
        Kind::Citizen,
        &[
            ("date_of_birth", "1950-06-01".into()),
            ("previous_card_issued_on", "2021-04-01".into()),
            ("previous_card_expires_on", "2030-06-01".into()),
        ],
    );
    assert_eq!(found, ["card_expiry_mismatch"]);
}

#[test]
fn cards_are_exchanged_at_14_25_40_and_60() {
    let born = d("1990-05-17");
    assert_eq!(
        rules::card_valid_until(born, d("2000-01-01")),
        Some(d("2004-05-17"))
    );
    assert_eq!(
        rules::card_valid_until(born, d("2010-01-01")),
        Some(d("2015-05-17"))
    );
    assert_eq!(
        rules::card_valid_until(born, d("2016-01-01")),
        Some(d("2030-05-17"))
    );
    // Issued 2028-06-01, within two years of 40 (2030-05-17): valid until 60.
    assert_eq!(
        rules::card_valid_until(born, d("2028-06-01")),
        Some(d("2050-05-17"))
    );
}

// --- residence -----------------------------------------------------------------------------

#[test]
fn a_permanent_registration_in_a_rented_home_of_7_5_m2_per_person_is_a_finding_and_8_is_fine() {
    let reg = |area: Value, persons: i64| {
        codes(
            Kind::ResidenceDeclaration,
            &[
                ("procedure", "permanent_registration".into()),
                ("residence_basis", "rented".into()),
                ("floor_area_m2", area),
                ("persons", Value::Int(persons)),
            ],
        )
    };
    assert_eq!(reg("30".into(), 4), ["floor_area_per_person_below_8"]);
    assert_eq!(reg("31.99".into(), 4), ["floor_area_per_person_below_8"]);
    assert!(reg("32".into(), 4).is_empty());
    assert!(reg(Value::Int(32), 4).is_empty());
    assert!(reg("7.5".into(), 1).len() == 1);
    // An owned home has no per-person minimum.
    let own = codes(
        Kind::ResidenceDeclaration,
        &[
            ("procedure", "permanent_registration".into()),
            ("residence_basis", "owned".into()),
            ("floor_area_m2", "12.5".into()),
            ("persons", Value::Int(4)),
        ],
    );
    assert!(own.is_empty(), "{own:?}");
}

#[test]
fn a_floor_area_is_a_decimal_with_at_most_two_places() {
    for bad in ["7,5", "7.", ".5", "7.555", "-3", "bảy"] {
        let r = record(Kind::ResidenceDeclaration, &[("floor_area_m2", bad.into())]);
        let errs = model::validate(&r, &ValidationContext::new("2026-03-10")).unwrap_err();
        assert_eq!(errs[0].code, "invalid_decimal", "{bad}");
    }
}

#[test]
fn an_extension_filed_within_the_15_days_before_expiry_is_fine_earlier_or_later_is_a_finding() {
    let ext = |filed: &str| {
        codes(
            Kind::ResidenceDeclaration,
            &[
                ("procedure", "extension".into()),
                (
                    "registration_id",
                    "0190f5a0-0000-7000-8000-0000000000aa".into(),
                ),
                ("filed_on", filed.into()),
                ("registration_expires_on", "2026-04-30".into()),
            ],
        )
    };
    assert!(ext("2026-04-15").is_empty());
    assert!(ext("2026-04-30").is_empty());
    assert_eq!(ext("2026-04-14"), ["extension_too_early"]);
    assert_eq!(ext("2026-05-01"), ["extension_after_expiry"]);
}

#[test]
fn a_temporary_registration_for_20_days_should_be_a_stay_notice() {
    let found = codes(
        Kind::ResidenceDeclaration,
        &[
            ("procedure", "temporary_registration".into()),
            ("from_date", "2026-03-01".into()),
            ("to_date", "2026-03-21".into()),
        ],
    );
    assert_eq!(found, ["stay_under_30_days"]);
    let found = codes(
        Kind::ResidenceDeclaration,
        &[
            ("procedure", "stay_notice".into()),
            ("from_date", "2026-03-01".into()),
            ("to_date", "2026-04-15".into()),
        ],
    );
    assert_eq!(found, ["stay_notice_30_days_or_more"]);
}

#[test]
fn a_temporary_residence_in_old_cong_hoa_with_permanent_residence_in_old_song_khoai_is_inside_one_ward()
 {
    // Both merged into Hiệp Hòa (07147) on 2025-07-01 (REVIEW §3).
    let found = codes(
        Kind::Citizen,
        &[
            ("permanent_unit", "07144".into()),
            ("temporary_unit", "07150".into()),
        ],
    );
    assert!(
        found.contains(&"temporary_in_permanent_commune".to_owned()),
        "{found:?}"
    );
    // A migrant worker from Thanh Hóa registered in Phong Cốc is outside.
    assert!(!rules::same_commune("07183", "07132"));
    let found = codes(
        Kind::Citizen,
        &[
            ("permanent_unit", "07132".into()),
            ("temporary_unit", "07183".into()),
        ],
    );
    assert!(found.is_empty(), "{found:?}");
}

// --- deceased, households, dates (REVIEW §7) -------------------------------------------------

#[test]
fn a_deceased_citizen_without_a_date_of_death_or_still_head_is_a_finding() {
    let found = codes(
        Kind::Citizen,
        &[
            ("status", "deceased".into()),
            ("relationship_to_head", "head".into()),
        ],
    );
    assert_eq!(found, ["death_status_mismatch", "deceased_household_head"]);
    let found = codes(Kind::Citizen, &[("date_of_death", "2025-01-01".into())]);
    assert_eq!(found, ["death_status_mismatch"]);
}

#[test]
fn a_deceased_citizen_with_an_active_permanent_registration_or_an_open_application_is_a_finding() {
    let citizen = record(
        Kind::Citizen,
        &[
            ("status", "deceased".into()),
            ("date_of_death", "2026-01-05".into()),
        ],
    );
    let cid = citizen.id.to_string();
    let reg = record(
        Kind::ResidenceDeclaration,
        &[
            ("citizen_id", cid.clone().into()),
            ("procedure", "permanent_registration".into()),
            ("status", "accepted".into()),
        ],
    );
    let app = record(
        Kind::CccdApplication,
        &[
            ("citizen_id", cid.clone().into()),
            ("status", "submitted".into()),
        ],
    );
    let codes: Vec<_> = rules::deceased_vs_records(&citizen, &[reg.clone(), app], d("2026-03-10"))
        .into_iter()
        .map(|f| f.code)
        .collect();
    assert_eq!(
        codes,
        [
            "deceased_still_registered",
            "deceased_with_open_application"
        ]
    );
    let removal = record(
        Kind::ResidenceDeclaration,
        &[
            ("citizen_id", cid.into()),
            ("procedure", "removal".into()),
            ("status", "accepted".into()),
        ],
    );
    assert!(rules::deceased_vs_records(&citizen, &[reg, removal], d("2026-03-10")).is_empty());
}

#[test]
fn head_id_a_with_members_a_spouse_and_b_head_is_a_finding() {
    const A: &str = "0190f5a0-0000-7000-8000-00000000000a";
    const B: &str = "0190f5a0-0000-7000-8000-00000000000b";
    let rel = |r: &str| Value::Map([("relationship".to_owned(), Value::from(r))].into());
    let members = Value::Map([(A.to_owned(), rel("spouse")), (B.to_owned(), rel("head"))].into());
    let found = codes(
        Kind::Household,
        &[("head_id", A.into()), ("members", members.clone())],
    );
    assert_eq!(found, ["head_id_disagrees_with_members"]);
    let found = codes(
        Kind::Household,
        &[("head_id", B.into()), ("members", members)],
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn a_16_year_old_head_while_his_25_year_old_sister_lives_there_is_a_finding() {
    let head = record(Kind::Citizen, &[("date_of_birth", "2010-01-01".into())]);
    let sister = record(Kind::Citizen, &[("date_of_birth", "2001-01-01".into())]);
    let household = record(Kind::Household, &[("head_id", head.id.to_string().into())]);
    let codes: Vec<_> =
        rules::household_vs_members(&household, &[head.clone(), sister], d("2026-03-10"))
            .into_iter()
            .map(|f| f.code)
            .collect();
    assert_eq!(codes, ["minor_head_with_adult_member"]);
    let brother = record(Kind::Citizen, &[("date_of_birth", "2012-01-01".into())]);
    assert!(rules::household_vs_members(&household, &[head, brother], d("2026-03-10")).is_empty());
}

#[test]
fn a_death_before_birth_or_a_card_issued_before_birth_is_a_finding() {
    let found = codes(
        Kind::Citizen,
        &[
            ("status", "deceased".into()),
            ("date_of_birth", "1990-05-17".into()),
            ("date_of_death", "1989-01-01".into()),
            ("previous_card_issued_on", "1980-01-01".into()),
        ],
    );
    assert_eq!(found, ["death_before_birth", "card_issued_before_birth"]);
}

#[test]
fn a_citizen_notified_of_the_id_number_with_a_level_2_vneid_account_has_no_finding() {
    let found = codes(
        Kind::Citizen,
        &[
            ("date_of_birth", "1990-05-17".into()),
            ("id_number", "022190001234".into()),
            ("sex", "female".into()),
            ("id_number_notified_on", "2023-04-02".into()),
            ("vneid_level", "level_2".into()),
            ("vneid_activated_on", "2023-06-20".into()),
        ],
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn a_notice_or_a_vneid_account_without_an_id_number_is_a_finding_and_so_is_an_activation_with_no_level()
 {
    let found = codes(
        Kind::Citizen,
        &[
            ("date_of_birth", "1990-05-17".into()),
            ("id_number_notified_on", "2023-04-02".into()),
            ("vneid_level", "level_1".into()),
        ],
    );
    assert_eq!(
        found,
        [
            "id_number_notified_without_number",
            "vneid_without_id_number"
        ]
    );
    let found = codes(
        Kind::Citizen,
        &[
            ("date_of_birth", "1990-05-17".into()),
            ("id_number", "022190001234".into()),
            ("sex", "female".into()),
            ("vneid_level", "none".into()),
            ("vneid_activated_on", "2023-06-20".into()),
        ],
    );
    assert_eq!(found, ["vneid_activation_without_level"]);
}

#[test]
fn a_notice_or_a_vneid_activation_dated_before_birth_is_a_finding() {
    let found = codes(
        Kind::Citizen,
        &[
            ("date_of_birth", "1990-05-17".into()),
            ("id_number", "022190001234".into()),
            ("sex", "female".into()),
            ("id_number_notified_on", "1989-04-02".into()),
            ("vneid_level", "level_2".into()),
            ("vneid_activated_on", "1989-06-20".into()),
        ],
    );
    assert_eq!(
        found,
        [
            "id_number_notified_before_birth",
            "vneid_activated_before_birth"
        ]
    );
}

#[test]
fn an_unknown_vneid_level_is_refused() {
    let r = record(
        Kind::Citizen,
        &[
            ("date_of_birth", "1990-05-17".into()),
            ("vneid_level", "level_3".into()),
        ],
    );
    assert!(model::validate(&r, &ValidationContext::new("2026-03-10")).is_err());
}

#[test]
fn unit_codes_captured_on_different_days_are_compared_each_as_of_its_own_day() {
    use rules::same_commune_between as same;
    // Old Liên Vị (2024) is part of the ward Liên Hòa (07180 since 2025-07-01).
    assert_eq!(
        same("07180", Some("2025-09-01"), "07186", Some("2024-05-01")),
        Some(true)
    );
    // 07180 on a 2024 form: old Xã Liên Hòa, part of which may be in Hà An now.
    assert_eq!(same("07180", Some("2024-03-01"), "07168", None), None);
    assert_eq!(
        same("07180", Some("2025-09-01"), "07168", Some("2026-01-05")),
        Some(false)
    );
    // Old Minh Thành and Đông Mai, whatever the days.
    assert_eq!(same("07138", Some("2024-01-01"), "07135", None), Some(true));
    assert_eq!(same("99999", None, "99999", None), Some(true));
    assert_eq!(same("99999", None, "07135", None), Some(false));
}

#[test]
fn a_father_whose_id_number_says_born_1995_for_a_child_born_1990_is_a_finding() {
    let found = codes(
        Kind::Citizen,
        &[
            ("date_of_birth", "1990-05-17".into()),
            ("id_number", "022090001234".into()),
            ("sex", "male".into()),
            ("father_id_number", "022095004321".into()),
        ],
    );
    assert_eq!(found, ["parent_born_after_child"]);
}

#[test]
fn an_appointment_before_the_filing_date_is_a_finding() {
    let found = codes(
        Kind::CccdApplication,
        &[
            ("filed_on", "2026-03-10".into()),
            ("appointment_on", "2026-03-01".into()),
        ],
    );
    assert_eq!(found, ["appointment_before_filing"]);
}

#[test]
fn fingerprints_of_a_5_year_old_are_a_finding_and_iris_from_6_is_fine() {
    let app = |dob: &str, iris: bool| {
        codes(
            Kind::CccdApplication,
            &[
                ("request_type", "first_issue".into()),
                ("date_of_birth", dob.into()),
                ("filed_on", "2026-03-10".into()),
                ("representative_name", "Nguyễn Thị Mẹ".into()),
                ("representative_id_number", "022190001234".into()),
                ("fingerprints_taken", true.into()),
                ("iris_taken", iris.into()),
            ],
        )
    };
    assert_eq!(app("2021-01-01", false), ["biometrics_under_6"]);
    assert!(app("2020-01-01", true).is_empty());
}

// --- marriage age (Marriage and Family Law 2014 Art. 8(1)(a); REVIEW §7, unconfirmed) ------

fn married(sex: &str, born: &str) -> Vec<String> {
    codes(
        Kind::Citizen,
        &[
            ("sex", sex.into()),
            ("date_of_birth", born.into()),
            ("marital_status", "married".into()),
        ],
    )
}

#[test]
fn a_man_born_2006_03_11_recorded_married_on_2026_03_10_is_under_20_and_a_finding() {
    assert_eq!(married("male", "2006-03-11"), ["married_under_legal_age"]);
}

#[test]
fn a_man_who_turns_20_on_2026_03_10_may_be_recorded_married() {
    assert!(married("male", "2006-03-10").is_empty());
}

#[test]
fn a_woman_born_2008_03_11_recorded_married_on_2026_03_10_is_under_18_and_a_finding() {
    assert_eq!(married("female", "2008-03-11"), ["married_under_legal_age"]);
}

#[test]
fn a_woman_of_19_born_2007_01_05_may_be_recorded_married_though_a_man_of_19_may_not() {
    assert!(married("female", "2007-01-05").is_empty());
    assert_eq!(married("male", "2007-01-05"), ["married_under_legal_age"]);
}

#[test]
fn a_man_born_in_2006_known_only_to_the_year_is_not_certainly_under_20_and_no_finding() {
    // 2006-01-01 is already 20 on 2026-03-10; the finding waits for certainty.
    assert_eq!(married("male", "2006"), ["date_of_birth_partial"]);
}

#[test]
fn a_single_girl_of_16_has_no_marriage_finding() {
    let found = codes(
        Kind::Citizen,
        &[
            ("sex", "female".into()),
            ("date_of_birth", "2010-02-01".into()),
            ("marital_status", "single".into()),
        ],
    );
    assert!(found.is_empty(), "{found:?}");
}

// --- extensions and removals name their registration (Residence Law Arts. 24, 28, 29) -----

fn declaration_codes(procedure: &str, registration: Option<&str>) -> Vec<String> {
    let mut pairs = vec![
        ("procedure", Value::from(procedure)),
        ("from_date", "2026-03-10".into()),
    ];
    if let Some(id) = registration {
        pairs.push(("registration_id", id.into()));
    }
    codes(Kind::ResidenceDeclaration, &pairs)
}

#[test]
fn an_extension_temporary_removal_or_permanent_removal_naming_no_registration_is_a_finding_a_legacy_removal_is_not()
 {
    for procedure in ["extension", "temporary_removal", "permanent_removal"] {
        let found = declaration_codes(procedure, None);
        assert!(
            found.contains(&"registration_not_named".to_owned()),
            "{procedure}: {found:?}"
        );
    }
    let legacy = declaration_codes("removal", None);
    assert!(
        !legacy.contains(&"registration_not_named".to_owned()),
        "{legacy:?}"
    );
}

#[test]
fn a_removal_naming_its_registration_or_a_registration_itself_has_no_registration_not_named() {
    let named = "0190f5a0-0000-7000-8000-0000000000aa";
    let found = declaration_codes("temporary_removal", Some(named));
    assert!(
        !found.contains(&"registration_not_named".to_owned()),
        "{found:?}"
    );
    for procedure in [
        "temporary_registration",
        "permanent_registration",
        "stay_notice",
    ] {
        let found = declaration_codes(procedure, None);
        assert!(
            !found.contains(&"registration_not_named".to_owned()),
            "{procedure}: {found:?}"
        );
    }
}

// --- a deceased citizen's temporary registration (Residence Law Art. 29; seed App. 2 #12) --

fn deceased_citizen() -> Record {
    record(
        Kind::Citizen,
        &[
            ("status", "deceased".into()),
            ("date_of_death", "2026-01-05".into()),
        ],
    )
}

fn accepted(citizen: &Record, procedure: &str, extra: &[(&str, Value)]) -> Record {
    let mut pairs = vec![
        ("citizen_id", Value::from(citizen.id.to_string())),
        ("procedure", procedure.into()),
        ("status", "accepted".into()),
    ];
    pairs.extend(extra.iter().cloned());
    record(Kind::ResidenceDeclaration, &pairs)
}

fn deceased_codes(citizen: &Record, related: &[Record]) -> Vec<String> {
    rules::deceased_vs_records(citizen, related, d("2026-03-10"))
        .into_iter()
        .map(|f| f.code)
        .collect()
}

#[test]
fn a_deceased_citizen_with_a_temporary_registration_until_2026_09_30_still_in_force_is_a_finding() {
    let citizen = deceased_citizen();
    let reg = accepted(
        &citizen,
        "temporary_registration",
        &[
            ("from_date", "2025-10-01".into()),
            ("to_date", "2026-09-30".into()),
        ],
    );
    assert_eq!(
        deceased_codes(&citizen, std::slice::from_ref(&reg)),
        ["deceased_still_temporarily_registered"]
    );
    // A permanent removal does not end a temporary registration (REVIEW §7, item 2).
    let permanent_removal = accepted(&citizen, "permanent_removal", &[]);
    assert_eq!(
        deceased_codes(&citizen, &[reg, permanent_removal]),
        ["deceased_still_temporarily_registered"]
    );
}

#[test]
fn a_deceased_citizens_temporary_registration_that_ended_on_2026_02_28_is_no_finding() {
    let citizen = deceased_citizen();
    let reg = accepted(
        &citizen,
        "temporary_registration",
        &[
            ("from_date", "2025-03-01".into()),
            ("to_date", "2026-02-28".into()),
        ],
    );
    assert!(deceased_codes(&citizen, &[reg]).is_empty());
}

#[test]
fn a_deceased_citizens_temporary_registration_removed_by_an_accepted_removal_naming_it_is_no_finding()
 {
    let citizen = deceased_citizen();
    let reg = accepted(
        &citizen,
        "temporary_registration",
        &[("to_date", "2026-09-30".into())],
    );
    let removal = accepted(
        &citizen,
        "temporary_removal",
        &[
            ("ground", "temp_dead_or_missing".into()),
            ("registration_id", reg.id.to_string().into()),
        ],
    );
    assert!(deceased_codes(&citizen, &[reg.clone(), removal]).is_empty());
    // A removal naming another registration does not end this one.
    let other = accepted(
        &citizen,
        "temporary_removal",
        &[("registration_id", Uuid::now_v7().to_string().into())],
    );
    assert_eq!(
        deceased_codes(&citizen, &[reg, other]),
        ["deceased_still_temporarily_registered"]
    );
}

#[test]
fn a_deceased_citizens_extension_until_2027_03_20_ends_with_the_removal_of_the_registration_it_extends()
 {
    let citizen = deceased_citizen();
    let reg = accepted(
        &citizen,
        "temporary_registration",
        &[("to_date", "2026-03-20".into())],
    );
    let ext = accepted(
        &citizen,
        "extension",
        &[
            ("registration_id", reg.id.to_string().into()),
            ("to_date", "2027-03-20".into()),
        ],
    );
    assert_eq!(
        deceased_codes(&citizen, &[reg.clone(), ext.clone()]),
        [
            "deceased_still_temporarily_registered",
            "deceased_still_temporarily_registered"
        ]
    );
    let removal = accepted(
        &citizen,
        "temporary_removal",
        &[("registration_id", reg.id.to_string().into())],
    );
    assert!(deceased_codes(&citizen, &[reg.clone(), ext.clone(), removal]).is_empty());
    // Removing the extension ends the registration it extended too.
    let removal = accepted(
        &citizen,
        "temporary_removal",
        &[("registration_id", ext.id.to_string().into())],
    );
    assert!(deceased_codes(&citizen, &[reg, ext, removal]).is_empty());
}
