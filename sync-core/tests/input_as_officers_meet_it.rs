//! Input as officers meet it, through a real replica on a real SQLite file: Vietnam's "today",
//! ID numbers typed with separators, partial dates of birth, names pasted from chat apps, and
//! what is refused outright.

use sync_core::doc::{Edit, RecordDoc};
use sync_core::model::{Fields, Kind, Value};
use sync_core::replica::{Replica, ReplicaError};

/// 2026-03-09T23:00:00Z: 06:00 on 2026-03-10 in Quảng Yên.
const SIX_AM_IN_VIETNAM: i64 = 1_773_097_200_000;

fn replica(dir: &tempfile::TempDir) -> Replica {
    Replica::open(&dir.path().join("phone.db"), None).unwrap()
}

fn fields(pairs: &[(&str, Value)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn codes(r: &Replica, kind: Kind, pairs: &[(&str, Value)]) -> Vec<String> {
    r.create(kind, "07132", fields(pairs), SIX_AM_IN_VIETNAM)
        .unwrap()
        .findings
        .into_iter()
        .map(|f| f.code)
        .collect()
}

fn refusal(r: &Replica, kind: Kind, pairs: &[(&str, Value)]) -> Vec<&'static str> {
    match r.create(kind, "07132", fields(pairs), SIX_AM_IN_VIETNAM) {
        Err(ReplicaError::Invalid(errors)) => errors.into_iter().map(|e| e.code).collect(),
        other => panic!("expected a structural refusal, got {other:?}"),
    }
}

#[test]
fn a_baby_registered_at_six_in_the_morning_vietnam_time_is_not_born_in_the_future() {
    let dir = tempfile::tempdir().unwrap();
    let r = replica(&dir);
    let found = codes(
        &r,
        Kind::Citizen,
        &[
            ("full_name", "Nguyễn Thị Mai".into()),
            ("date_of_birth", "2026-03-10".into()),
            ("sex", "female".into()),
        ],
    );
    assert!(!found.contains(&"date_in_future".to_owned()), "{found:?}");
    // The next day still is in the future.
    let found = codes(&r, Kind::Citizen, &[("date_of_birth", "2026-03-11".into())]);
    assert!(found.contains(&"date_in_future".to_owned()), "{found:?}");
}

#[test]
fn an_id_number_typed_with_spaces_dots_or_dashes_is_saved_as_its_twelve_digits() {
    let dir = tempfile::tempdir().unwrap();
    let r = replica(&dir);
    for typed in [
        "022 085 001234",
        "022.085.001.234",
        "022-085-001-234",
        " 022085001234 ",
    ] {
        let saved = r
            .create(
                Kind::Citizen,
                "07132",
                fields(&[
                    ("id_number", typed.into()),
                    ("old_id_number", "100 234 567".into()),
                ]),
                SIX_AM_IN_VIETNAM,
            )
            .unwrap();
        assert_eq!(
            saved.record.text("id_number"),
            Some("022085001234"),
            "{typed}"
        );
        assert_eq!(saved.record.text("old_id_number"), Some("100234567"));
    }
    // An edit goes through the same normalisation.
    let id = r
        .create(Kind::Citizen, "07132", Fields::new(), SIX_AM_IN_VIETNAM)
        .unwrap()
        .record
        .id;
    let edit = Edit::Set {
        field: "father_id_number".into(),
        value: "022 060 009 876".into(),
    };
    let saved = r.update(id, &[edit], SIX_AM_IN_VIETNAM).unwrap();
    assert_eq!(saved.record.text("father_id_number"), Some("022060009876"));
    // Letters are not separators: still refused, with the reason.
    assert_eq!(
        refusal(&r, Kind::Citizen, &[("id_number", "022 085 00123A".into())]),
        ["invalid_id_number"]
    );
}

#[test]
fn a_date_of_birth_known_only_to_the_year_or_month_is_saved_with_its_precision_and_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    let r = replica(&dir);
    for dob in ["1950", "1950-03"] {
        let saved = r
            .create(
                Kind::Citizen,
                "07132",
                fields(&[
                    ("date_of_birth", dob.into()),
                    ("id_number", "022050001234".into()),
                    ("sex", "male".into()),
                ]),
                SIX_AM_IN_VIETNAM,
            )
            .unwrap();
        assert_eq!(saved.record.text("date_of_birth"), Some(dob));
        let found: Vec<_> = saved.findings.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(found, ["date_of_birth_partial"], "{dob}");
    }
    // The year still has to agree with digits 5–6.
    let found = codes(
        &r,
        Kind::Citizen,
        &[
            ("date_of_birth", "1951".into()),
            ("id_number", "022050001234".into()),
        ],
    );
    assert!(
        found.contains(&"id_number_year_mismatch".to_owned()),
        "{found:?}"
    );
    for bad in ["1950-13", "50", "03/1950", "1950-3"] {
        assert_eq!(
            refusal(&r, Kind::Citizen, &[("date_of_birth", bad.into())]),
            ["malformed_date"],
            "{bad}"
        );
    }
    // Other dates stay full dates.
    assert_eq!(
        refusal(&r, Kind::Citizen, &[("date_of_death", "2020".into())]),
        ["malformed_date"]
    );
}

#[test]
fn a_name_pasted_with_zero_width_characters_and_double_spaces_is_saved_clean() {
    let dir = tempfile::tempdir().unwrap();
    let r = replica(&dir);
    let saved = r
        .create(
            Kind::Citizen,
            "07132",
            fields(&[(
                "full_name",
                " Nguyễn\u{00A0}\u{00A0}Văn\u{200B}  An\u{FEFF} ".into(),
            )]),
            SIX_AM_IN_VIETNAM,
        )
        .unwrap();
    assert_eq!(saved.record.text("full_name"), Some("Nguyễn Văn An"));
}

#[test]
fn a_name_with_nul_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r = replica(&dir);
    assert_eq!(
        refusal(
            &r,
            Kind::Citizen,
            &[("full_name", "Nguyễn\u{0}Văn An".into())]
        ),
        ["control_character"]
    );
}

#[test]
fn a_name_with_a_right_to_left_override_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r = replica(&dir);
    for c in ['\u{202E}', '\u{2067}', '\u{200F}'] {
        assert_eq!(
            refusal(
                &r,
                Kind::Citizen,
                &[("full_name", format!("Nguyễn{c}Văn An").into())]
            ),
            ["control_character"],
            "U+{:04X}",
            c as u32
        );
    }
    // Any text field refuses NUL and overrides, not only names.
    assert_eq!(
        refusal(&r, Kind::Citizen, &[("notes", "ghi chú\u{202E}".into())]),
        ["control_character"]
    );
}

#[test]
fn a_whitespace_only_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r = replica(&dir);
    for name in ["   ", "\u{00A0}\u{200B}", ""] {
        assert_eq!(
            refusal(&r, Kind::Citizen, &[("full_name", name.into())]),
            ["empty_name"],
            "{name:?}"
        );
    }
}

#[test]
fn a_document_with_any_schema_number_but_1_is_refused() {
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT, ScalarValue};
    for schema in [
        ScalarValue::Int(2),
        ScalarValue::Int(0),
        ScalarValue::Str("1".into()),
    ] {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "id", "0190f5a0-0000-7000-8000-000000000001")
            .unwrap();
        doc.put(ROOT, "kind", "citizen").unwrap();
        doc.put(ROOT, "unit", "07132").unwrap();
        doc.put(ROOT, "schema", schema.clone()).unwrap();
        let loaded = RecordDoc::load(&doc.save()).unwrap();
        assert!(loaded.read().is_err(), "{schema:?}");
    }
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "id", "0190f5a0-0000-7000-8000-000000000001")
        .unwrap();
    doc.put(ROOT, "kind", "citizen").unwrap();
    doc.put(ROOT, "unit", "07132").unwrap();
    assert!(
        RecordDoc::load(&doc.save()).unwrap().read().is_err(),
        "absent"
    );
    doc.put(ROOT, "schema", 1_i64).unwrap();
    assert!(RecordDoc::load(&doc.save()).unwrap().read().is_ok());
}

#[test]
fn an_application_is_accepted_only_with_an_id_number_or_a_reason_why_there_is_none_yet() {
    let dir = tempfile::tempdir().unwrap();
    let r = replica(&dir);
    let base = [
        ("request_type", Value::from("replacement")),
        ("status", "accepted".into()),
    ];
    assert_eq!(
        refusal(&r, Kind::CccdApplication, &base),
        ["id_number_required"]
    );
    let mut with_id = base.to_vec();
    with_id.push(("id_number", "022085001234".into()));
    assert!(
        r.create(Kind::CccdApplication, "07132", fields(&with_id), 0)
            .is_ok()
    );
    let mut with_reason = base.to_vec();
    with_reason.push((
        "no_id_number_reason",
        "Khai sinh trước 2016, chưa được cấp số".into(),
    ));
    assert!(
        r.create(Kind::CccdApplication, "07132", fields(&with_reason), 0)
            .is_ok()
    );
    // Drafts stay free.
    assert!(
        r.create(
            Kind::CccdApplication,
            "07132",
            fields(&[("status", "draft".into())]),
            0
        )
        .is_ok()
    );
}

#[test]
fn earlier_id_numbers_are_kept_in_their_own_field() {
    let dir = tempfile::tempdir().unwrap();
    let r = replica(&dir);
    let mut earlier = std::collections::BTreeMap::new();
    earlier.insert(
        "022 185 001234".to_owned(),
        Value::Map(
            [
                ("replaced_on".to_owned(), Value::from("2025-05-02")),
                ("reason".to_owned(), Value::from("Xác định lại giới tính")),
            ]
            .into(),
        ),
    );
    let saved = r
        .create(
            Kind::Citizen,
            "07132",
            fields(&[
                ("id_number", "022085001234".into()),
                ("previous_id_numbers", Value::Map(earlier)),
            ]),
            SIX_AM_IN_VIETNAM,
        )
        .unwrap();
    let kept = saved.record.fields["previous_id_numbers"].as_map().unwrap();
    assert!(kept.contains_key("022185001234"));
    let mut bad = std::collections::BTreeMap::new();
    bad.insert("12345".to_owned(), Value::Map(Default::default()));
    assert_eq!(
        refusal(
            &r,
            Kind::Citizen,
            &[("previous_id_numbers", Value::Map(bad))]
        ),
        ["invalid_id_number"]
    );
}
