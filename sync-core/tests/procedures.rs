//! Typed residence and identity procedures (issue 11 item 1/2): grounds, dates in working
//! days, consents, boat dwellers, embedded stay-notice guests, and old records read compatibly.

use sync_core::model::{
    self, Date, Fields, Kind, Record, ValidationContext, Value, rules, working_days,
};
use uuid::Uuid;

fn record(kind: Kind, pairs: &[(&str, Value)]) -> Record {
    let fields: Fields = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    Record {
        id: Uuid::now_v7(),
        kind,
        unit: "07135".into(),
        fields,
    }
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

#[test]
fn an_old_removal_record_reads_as_a_permanent_removal_with_an_unknown_ground() {
    let old = record(
        Kind::ResidenceDeclaration,
        &[
            ("citizen_id", Uuid::now_v7().to_string().into()),
            ("procedure", "removal".into()),
            ("from_date", "2024-05-01".into()),
            ("status", "accepted".into()),
        ],
    );
    assert_eq!(
        rules::effective_procedure(&old),
        ("permanent_removal", "unknown")
    );
    assert_eq!(
        model::validate(&old, &ValidationContext::new("2026-03-10"))
            .unwrap()
            .into_iter()
            .map(|f| f.code)
            .collect::<Vec<_>>(),
        // Still readable and valid, with no finding: records from before `registration_id`
        // could never name the registration they removed.
        Vec::<String>::new()
    );
}

#[test]
fn a_temporary_registration_filed_on_the_friday_before_tết_2026_is_due_three_working_days_after_it()
{
    // 16–20 February 2026 are Tết holidays (data, ⚠ to confirm each year).
    assert!(!working_days::is_working_day(d("2026-02-16")));
    assert!(!working_days::is_working_day(d("2026-02-21")));
    assert_eq!(
        working_days::due_on("temporary_registration", d("2026-02-13")),
        Some(d("2026-02-25"))
    );
    assert_eq!(
        working_days::due_on("cmnd_confirmation", d("2026-03-02")),
        Some(d("2026-03-11"))
    );
    assert_eq!(working_days::due_on("stay_notice", d("2026-03-02")), None);
}

#[test]
fn a_dossier_decided_after_its_due_date_or_refused_without_a_reason_is_a_finding() {
    let late = codes(
        Kind::ResidenceDeclaration,
        &[
            ("procedure", "temporary_registration".into()),
            ("filed_on", "2026-02-13".into()),
            ("decided_on", "2026-02-26".into()),
            ("status", "accepted".into()),
        ],
    );
    assert_eq!(late, ["decided_after_due"]);
    let on_time = codes(
        Kind::ResidenceDeclaration,
        &[
            ("procedure", "temporary_registration".into()),
            ("filed_on", "2026-02-13".into()),
            ("decided_on", "2026-02-25".into()),
            ("status", "accepted".into()),
        ],
    );
    assert!(on_time.is_empty(), "{on_time:?}");
    let refused = codes(
        Kind::CccdApplication,
        &[
            ("request_type", "reissue".into()),
            ("status", "rejected".into()),
        ],
    );
    assert_eq!(refused, ["refusal_reason_missing"]);
    let refused = codes(
        Kind::CccdApplication,
        &[
            ("request_type", "reissue".into()),
            ("ground", "reissue_lost_or_damaged".into()),
            ("status", "rejected".into()),
            ("refusal_reason", "Chưa có đơn trình báo mất thẻ".into()),
        ],
    );
    assert!(refused.is_empty(), "{refused:?}");
}

#[test]
fn a_household_separation_needs_the_heads_consent() {
    let base = [
        ("procedure", Value::from("household_separation")),
        ("address", "Tổ 3, khu Đông Mai".into()),
        ("address_unit", "07135".into()),
    ];
    assert_eq!(
        codes(Kind::ResidenceDeclaration, &base),
        ["head_consent_missing"]
    );
    let mut with = base.to_vec();
    with.push(("head_consent", true.into()));
    assert!(codes(Kind::ResidenceDeclaration, &with).is_empty());
}

#[test]
fn a_boat_family_registered_at_their_mooring_saves_with_no_finding_and_names_the_vessel() {
    let boat = [
        ("procedure", Value::from("permanent_registration")),
        ("residence_basis", "vessel".into()),
        ("address", "Bến neo đậu Cửa Lục, phường Phong Cốc".into()),
        ("address_unit", "07183".into()),
        ("from_date", "2026-03-01".into()),
    ];
    assert_eq!(
        codes(Kind::ResidenceDeclaration, &boat),
        ["vessel_number_missing"]
    );
    let mut named = boat.to_vec();
    named.push(("vessel_registration_number", "QN-90123-TS".into()));
    assert!(codes(Kind::ResidenceDeclaration, &named).is_empty());
    let mut declared = named.clone();
    declared[0] = ("procedure", "residence_information".into());
    assert!(codes(Kind::ResidenceDeclaration, &declared).is_empty());
}

#[test]
fn a_temporary_absence_on_bail_needs_the_supervising_bodys_consent() {
    let absence = |consent: bool| {
        let mut f = vec![
            ("procedure", Value::from("temporary_absence")),
            ("ground", "absence_a_accused_or_on_bail".into()),
        ];
        if consent {
            f.push(("supervisor_consent", true.into()));
        }
        codes(Kind::ResidenceDeclaration, &f)
    };
    assert_eq!(absence(false), ["supervisor_consent_missing"]);
    assert!(absence(true).is_empty());
}

#[test]
fn a_removal_with_a_ground_of_another_procedure_is_a_finding() {
    let found = codes(
        Kind::ResidenceDeclaration,
        &[
            ("procedure", "temporary_removal".into()),
            (
                "registration_id",
                "0190f5a0-0000-7000-8000-0000000000aa".into(),
            ),
            ("ground", "perm_b_emigrated".into()),
        ],
    );
    assert_eq!(found, ["ground_not_of_procedure"]);
    let found = codes(
        Kind::ResidenceDeclaration,
        &[
            ("procedure", "temporary_removal".into()),
            (
                "registration_id",
                "0190f5a0-0000-7000-8000-0000000000aa".into(),
            ),
            ("ground", "temp_absent_6_months".into()),
        ],
    );
    assert!(found.is_empty());
    assert!(
        model::validate(
            &record(Kind::ResidenceDeclaration, &[("ground", "because".into())]),
            &ValidationContext::new("2026-03-10")
        )
        .is_err()
    );
}

#[test]
fn a_stay_notice_names_its_guest_and_is_given_before_23_00_or_before_08_00_after_a_late_arrival() {
    let notice = |arrival: &str, notified: &str| {
        codes(
            Kind::ResidenceDeclaration,
            &[
                ("procedure", "stay_notice".into()),
                ("guest_name", "Kim Min-jun".into()),
                ("guest_id_number", "M12345678".into()),
                ("host_name", "Nguyễn Văn Hải".into()),
                ("arrival_time", arrival.into()),
                ("notified_time", notified.into()),
            ],
        )
    };
    assert!(notice("2026-03-09T20:15", "2026-03-09T22:59").is_empty());
    assert_eq!(
        notice("2026-03-09T22:30", "2026-03-09T23:10"),
        ["stay_notice_late"]
    );
    assert!(notice("2026-03-09T23:30", "2026-03-10T07:45").is_empty());
    assert_eq!(
        notice("2026-03-09T23:30", "2026-03-10T08:15"),
        ["stay_notice_late"]
    );
    let r = record(
        Kind::ResidenceDeclaration,
        &[("arrival_time", "2026-03-09 23:30".into())],
    );
    assert!(model::validate(&r, &ValidationContext::new("2026-03-10")).is_err());
}

#[test]
fn confirming_an_old_9_digit_cmnd_is_its_own_request_type() {
    let found = codes(
        Kind::CccdApplication,
        &[
            ("request_type", "cmnd_confirmation".into()),
            ("id_number", "022085001234".into()),
            ("cmnd_number", "100234567".into()),
            ("filed_on", "2026-03-02".into()),
            ("due_on", "2026-03-11".into()),
        ],
    );
    assert!(found.is_empty(), "{found:?}");
    let found = codes(
        Kind::CccdApplication,
        &[
            ("request_type", "cmnd_confirmation".into()),
            ("cmnd_number", "100234567".into()),
            ("filed_on", "2026-03-02".into()),
            ("due_on", "2026-03-20".into()),
        ],
    );
    assert_eq!(found, ["due_after_legal_limit"]);
}

#[test]
fn an_adjustment_after_the_2025_reorganisation_names_its_sub_type() {
    let base = [("procedure", Value::from("adjustment"))];
    assert_eq!(
        codes(Kind::ResidenceDeclaration, &base),
        ["adjustment_type_missing"]
    );
    let mut typed = base.to_vec();
    typed.push(("adjustment_type", "address_renamed".into()));
    typed.push(("address_unit", "07135".into()));
    assert!(codes(Kind::ResidenceDeclaration, &typed).is_empty());
}

#[test]
fn a_card_requests_ground_must_fit_its_type() {
    let request = |request_type: &str, ground: &str| {
        codes(
            Kind::CccdApplication,
            &[
                ("request_type", request_type.into()),
                ("ground", ground.into()),
            ],
        )
        .contains(&"card_ground_mismatch".to_owned())
    };
    assert!(!request("replacement", "exchange_age"));
    assert!(!request("reissue", "reissue_lost_or_damaged"));
    assert!(request("replacement", "reissue_lost_or_damaged"));
    assert!(request("reissue", "exchange_printing_error"));
    assert!(request("first_issue", "exchange_age"));
    assert!(request("cmnd_confirmation", "reissue_nationality_regained"));
    // No ground given: nothing to compare.
    assert!(
        !codes(
            Kind::CccdApplication,
            &[("request_type", "replacement".into())]
        )
        .contains(&"card_ground_mismatch".to_owned())
    );
}

#[test]
fn confirming_an_old_cmnd_names_the_number_confirmed() {
    let found = |pairs: &[(&str, Value)]| {
        codes(Kind::CccdApplication, pairs).contains(&"cmnd_number_missing".to_owned())
    };
    assert!(found(&[("request_type", "cmnd_confirmation".into())]));
    assert!(!found(&[
        ("request_type", "cmnd_confirmation".into()),
        ("cmnd_number", "100234567".into()),
    ]));
    assert!(!found(&[("request_type", "replacement".into())]));
}
