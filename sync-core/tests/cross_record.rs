//! Rules across records on the phone, at edit time, with the records the device holds
//! (issue 11 items 1–2): an extension or removal names a registration of the right procedure
//! and citizen; a minor's registration carries a guardian's consent; accepting a registration
//! updates the citizen's residence; nothing is filed for a deceased citizen.

use sync_core::doc::Edit;
use sync_core::model::{Fields, Kind, Role, Value};
use sync_core::replica::{Replica, ReplicaError, Session};
use uuid::Uuid;

/// 2026-03-10 12:00 in Vietnam.
const NOW: i64 = 1_773_118_800_000;

fn fields(pairs: &[(&str, Value)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn codes(saved: &sync_core::replica::Saved) -> Vec<String> {
    saved.findings.iter().map(|f| f.code.clone()).collect()
}

struct Phone {
    _dir: tempfile::TempDir,
    r: Replica,
}

fn phone() -> Phone {
    let dir = tempfile::tempdir().unwrap();
    let r = Replica::open(&dir.path().join("phone.db"), None).unwrap();
    Phone { _dir: dir, r }
}

impl Phone {
    fn citizen(&self, name: &str, born: &str) -> Uuid {
        self.r
            .create(
                Kind::Citizen,
                "07183",
                fields(&[
                    ("full_name", name.into()),
                    ("date_of_birth", born.into()),
                    ("sex", "male".into()),
                ]),
                NOW,
            )
            .unwrap()
            .record
            .id
    }

    fn declaration(&self, pairs: &[(&str, Value)]) -> sync_core::replica::Saved {
        self.r
            .create(Kind::ResidenceDeclaration, "07183", fields(pairs), NOW)
            .unwrap()
    }

    fn temporary_registration(&self, citizen: Uuid, status: &str) -> Uuid {
        self.declaration(&[
            ("citizen_id", citizen.to_string().into()),
            ("procedure", "temporary_registration".into()),
            ("address", "Nhà trọ số 3, khu 2, phường Phong Cốc".into()),
            ("address_unit", "07183".into()),
            ("from_date", "2025-03-20".into()),
            ("to_date", "2026-03-20".into()),
            ("residence_basis", "rented".into()),
            ("status", status.into()),
        ])
        .record
        .id
    }

    fn citizen_text(&self, id: Uuid, field: &str) -> Option<String> {
        let view = self.r.get(id).unwrap().unwrap();
        view.record.text(field).map(str::to_owned)
    }
}

fn extension(citizen: Uuid, registration: Uuid) -> Vec<(&'static str, Value)> {
    vec![
        ("citizen_id", citizen.to_string().into()),
        ("procedure", "extension".into()),
        ("registration_id", registration.to_string().into()),
        ("registration_expires_on", "2026-03-20".into()),
        ("filed_on", "2026-03-10".into()),
        ("address", "Nhà trọ số 3, khu 2, phường Phong Cốc".into()),
        ("address_unit", "07183".into()),
        ("from_date", "2026-03-21".into()),
        ("to_date", "2027-03-20".into()),
        ("status", "submitted".into()),
    ]
}

#[test]
fn an_extension_of_the_citizens_accepted_temporary_registration_has_no_reference_finding() {
    let p = phone();
    let worker = p.citizen("Lê Văn Hùng", "1995-04-02");
    let reg = p.temporary_registration(worker, "accepted");
    let found = codes(&p.declaration(&extension(worker, reg)));
    assert!(
        !found.iter().any(|c| c.starts_with("registration_")),
        "{found:?}"
    );
}

#[test]
fn an_extension_naming_a_permanent_registration_is_a_finding() {
    let p = phone();
    let worker = p.citizen("Lê Văn Hùng", "1995-04-02");
    let permanent = p
        .declaration(&[
            ("citizen_id", worker.to_string().into()),
            ("procedure", "permanent_registration".into()),
            ("address", "Thôn 5, xã Quảng Xương, Thanh Hóa".into()),
            ("from_date", "2015-01-01".into()),
            ("status", "accepted".into()),
        ])
        .record
        .id;
    let found = codes(&p.declaration(&extension(worker, permanent)));
    assert!(
        found.contains(&"registration_wrong_procedure".to_owned()),
        "{found:?}"
    );
}

#[test]
fn an_extension_naming_another_citizens_or_an_unaccepted_registration_is_a_finding() {
    let p = phone();
    let worker = p.citizen("Lê Văn Hùng", "1995-04-02");
    let cousin = p.citizen("Lê Văn Hưng", "1996-01-09");
    let theirs = p.temporary_registration(cousin, "accepted");
    let found = codes(&p.declaration(&extension(worker, theirs)));
    assert!(
        found.contains(&"registration_of_another_citizen".to_owned()),
        "{found:?}"
    );
    let draft = p.temporary_registration(worker, "draft");
    let found = codes(&p.declaration(&extension(worker, draft)));
    assert!(
        found.contains(&"registration_not_accepted".to_owned()),
        "{found:?}"
    );
}

#[test]
fn a_registration_the_phone_does_not_hold_is_not_called_missing() {
    // It may be in a unit the officer does not work in; the server decides.
    let p = phone();
    let worker = p.citizen("Lê Văn Hùng", "1995-04-02");
    let found = codes(&p.declaration(&extension(worker, Uuid::now_v7())));
    assert!(
        !found.iter().any(|c| c.starts_with("registration_")),
        "{found:?}"
    );
}

#[test]
fn a_minors_temporary_registration_without_a_guardians_consent_is_a_finding() {
    let p = phone();
    let child = p.citizen("Lê Minh Khang", "2012-06-01");
    let base = [
        ("citizen_id", Value::from(child.to_string())),
        ("procedure", "temporary_registration".into()),
        ("address", "Nhà trọ số 3, khu 2, phường Phong Cốc".into()),
        ("address_unit", "07183".into()),
        ("from_date", "2026-03-10".into()),
        ("to_date", "2027-03-09".into()),
        ("filed_on", "2026-03-10".into()),
    ];
    let found = codes(&p.declaration(&base));
    assert!(
        found.contains(&"guardian_consent_missing".to_owned()),
        "{found:?}"
    );
    let mut with_consent = base.to_vec();
    with_consent.push(("guardian_consent", true.into()));
    assert!(!codes(&p.declaration(&with_consent)).contains(&"guardian_consent_missing".to_owned()));
    // An adult needs no guardian.
    let adult = p.citizen("Lê Văn Hùng", "1995-04-02");
    let mut of_adult = base.to_vec();
    of_adult[0] = ("citizen_id", adult.to_string().into());
    assert!(!codes(&p.declaration(&of_adult)).contains(&"guardian_consent_missing".to_owned()));
}

#[test]
fn accepting_a_permanent_registration_moves_the_citizens_permanent_residence() {
    let p = phone();
    p.r.set_session(&Session {
        user: "chi".into(),
        role: Role::Staff,
        units: vec!["07183".into()],
    })
    .unwrap();
    let person = p.citizen("Phạm Thị Hoa", "1980-02-11");
    let reg = p
        .declaration(&[
            ("citizen_id", person.to_string().into()),
            ("procedure", "permanent_registration".into()),
            ("address", "Số 8, khu 1, phường Phong Cốc".into()),
            ("address_unit", "07183".into()),
            ("from_date", "2026-03-09".into()),
            ("residence_basis", "owned".into()),
            ("status", "submitted".into()),
        ])
        .record
        .id;
    assert_eq!(p.citizen_text(person, "permanent_unit"), None);
    p.r.update(
        reg,
        &[Edit::Set {
            field: "status".into(),
            value: "accepted".into(),
        }],
        NOW,
    )
    .unwrap();
    assert_eq!(
        p.citizen_text(person, "permanent_address").as_deref(),
        Some("Số 8, khu 1, phường Phong Cốc")
    );
    assert_eq!(
        p.citizen_text(person, "permanent_unit").as_deref(),
        Some("07183")
    );
    // Both changes go to the server with the next sync.
    let pending = p.r.prepare_sync(&Default::default()).unwrap();
    assert!(pending.push.iter().any(|e| e.record == person));
}

#[test]
fn accepting_the_removal_of_a_temporary_registration_clears_that_temporary_residence() {
    let p = phone();
    let worker = p.citizen("Lê Văn Hùng", "1995-04-02");
    let reg = p.temporary_registration(worker, "submitted");
    p.r.update(
        reg,
        &[Edit::Set {
            field: "status".into(),
            value: "accepted".into(),
        }],
        NOW,
    )
    .unwrap();
    assert_eq!(
        p.citizen_text(worker, "temporary_unit").as_deref(),
        Some("07183")
    );
    p.declaration(&[
        ("citizen_id", worker.to_string().into()),
        ("procedure", "temporary_removal".into()),
        ("ground", "temp_rental_or_hosting_ended".into()),
        ("registration_id", reg.to_string().into()),
        ("from_date", "2026-03-10".into()),
        ("status", "accepted".into()),
    ]);
    assert_eq!(p.citizen_text(worker, "temporary_unit"), None);
    assert_eq!(p.citizen_text(worker, "temporary_address"), None);
}

#[test]
fn an_application_for_a_deceased_citizen_is_a_finding_and_commune_staff_cannot_accept_it() {
    let p = phone();
    let person = p.citizen("Nguyễn Văn Tư", "1950-01-01");
    p.r.update(
        person,
        &[
            Edit::Set {
                field: "status".into(),
                value: "deceased".into(),
            },
            Edit::Set {
                field: "date_of_death".into(),
                value: "2026-02-01".into(),
            },
        ],
        NOW,
    )
    .unwrap();
    let app =
        p.r.create(
            Kind::CccdApplication,
            "07183",
            fields(&[
                ("citizen_id", person.to_string().into()),
                ("request_type", "reissue".into()),
                ("full_name", "Nguyễn Văn Tư".into()),
                ("id_number", "022050001234".into()),
                ("status", "submitted".into()),
            ]),
            NOW,
        )
        .unwrap();
    assert!(codes(&app).contains(&"filed_for_deceased_citizen".to_owned()));
    p.r.set_session(&Session {
        user: "lan".into(),
        role: Role::CommuneStaff,
        units: vec!["07183".into()],
    })
    .unwrap();
    let err =
        p.r.update(
            app.record.id,
            &[Edit::Set {
                field: "status".into(),
                value: "accepted".into(),
            }],
            NOW,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            ReplicaError::StatusNotAllowed {
                role: Role::CommuneStaff,
                ..
            }
        ),
        "{err:?}"
    );
    // Only an admin undoes a death, and only with a reason.
    let undo = |reason: Option<&str>| {
        let mut edits = vec![
            Edit::Set {
                field: "status".into(),
                value: "active".into(),
            },
            Edit::Clear {
                field: "date_of_death".into(),
            },
        ];
        if let Some(r) = reason {
            edits.push(Edit::Set {
                field: "status_reason".into(),
                value: r.into(),
            });
        }
        p.r.update(person, &edits, NOW)
    };
    assert!(matches!(
        undo(Some("nhập nhầm")),
        Err(ReplicaError::StatusNotAllowed { .. })
    ));
    p.r.set_session(&Session {
        user: "admin".into(),
        role: Role::Admin,
        units: vec!["07183".into()],
    })
    .unwrap();
    assert!(matches!(undo(None), Err(ReplicaError::Forbidden(_))));
    undo(Some("ghi nhầm người: giấy báo tử của người khác")).unwrap();
    assert_eq!(p.citizen_text(person, "status").as_deref(), Some("active"));
}

// --- household membership: the citizen's household_id against the household's members ----

fn member(relationship: &str) -> Value {
    Value::Map([("relationship".to_owned(), Value::from(relationship))].into())
}

impl Phone {
    fn household(&self, members: &[(Uuid, &str)]) -> Uuid {
        let map = members
            .iter()
            .map(|(id, rel)| (id.to_string(), member(rel)))
            .collect();
        let head = members.iter().find(|(_, r)| *r == "head");
        let mut pairs = vec![
            ("address", Value::from("Số 8, khu 1, phường Phong Cốc")),
            ("members", Value::Map(map)),
        ];
        if let Some((id, _)) = head {
            pairs.push(("head_id", id.to_string().into()));
        }
        self.r
            .create(Kind::Household, "07183", fields(&pairs), NOW)
            .unwrap()
            .record
            .id
    }

    fn citizen_in(
        &self,
        name: &str,
        household: Uuid,
        relationship: &str,
    ) -> sync_core::replica::Saved {
        self.r
            .create(
                Kind::Citizen,
                "07183",
                fields(&[
                    ("full_name", name.into()),
                    ("date_of_birth", "1982-07-15".into()),
                    ("sex", "female".into()),
                    ("household_id", household.to_string().into()),
                    ("relationship_to_head", relationship.into()),
                ]),
                NOW,
            )
            .unwrap()
    }
}

#[test]
fn a_citizen_naming_a_household_that_does_not_list_her_is_a_membership_finding() {
    let p = phone();
    let head = p.citizen("Phạm Văn Minh", "1978-09-01");
    let household = p.household(&[(head, "head")]);
    let found = codes(&p.citizen_in("Phạm Thị Hoa", household, "spouse"));
    assert!(
        found.contains(&"household_membership_mismatch".to_owned()),
        "{found:?}"
    );
}

#[test]
fn a_citizen_recorded_as_spouse_whom_the_household_lists_as_head_is_a_relationship_finding() {
    let p = phone();
    let wife = p.citizen("Phạm Thị Hoa", "1982-07-15");
    let household = p.household(&[(wife, "head")]);
    let saved =
        p.r.update(
            wife,
            &[
                Edit::Set {
                    field: "household_id".into(),
                    value: household.to_string().into(),
                },
                Edit::Set {
                    field: "relationship_to_head".into(),
                    value: "spouse".into(),
                },
            ],
            NOW,
        )
        .unwrap();
    let found = codes(&saved);
    assert!(
        found.contains(&"household_relationship_mismatch".to_owned()),
        "{found:?}"
    );
    assert!(!found.contains(&"household_membership_mismatch".to_owned()));
}

#[test]
fn a_citizen_listed_by_her_household_with_her_own_relationship_has_no_membership_finding() {
    let p = phone();
    let wife = p.citizen("Phạm Thị Hoa", "1982-07-15");
    let household = p.household(&[(wife, "head")]);
    let saved =
        p.r.update(
            wife,
            &[
                Edit::Set {
                    field: "household_id".into(),
                    value: household.to_string().into(),
                },
                Edit::Set {
                    field: "relationship_to_head".into(),
                    value: "head".into(),
                },
            ],
            NOW,
        )
        .unwrap();
    let found = codes(&saved);
    assert!(
        !found.iter().any(|c| c.starts_with("household_")),
        "{found:?}"
    );
}

#[test]
fn a_household_listing_a_member_whose_record_names_another_household_is_a_finding() {
    let p = phone();
    let son = p.citizen("Phạm Văn Nam", "2001-03-03");
    let parents = p.household(&[(son, "child")]);
    let own = p.household(&[(son, "head")]);
    p.r.update(
        son,
        &[Edit::Set {
            field: "household_id".into(),
            value: own.to_string().into(),
        }],
        NOW,
    )
    .unwrap();
    // The parents' household still lists him after he separated (tách hộ, Art. 25).
    let saved =
        p.r.update(
            parents,
            &[Edit::Set {
                field: "address".into(),
                value: "Số 10, khu 1, phường Phong Cốc".into(),
            }],
            NOW,
        )
        .unwrap();
    assert!(
        codes(&saved).contains(&"household_membership_mismatch".to_owned()),
        "{:?}",
        codes(&saved)
    );
    let saved =
        p.r.update(
            own,
            &[Edit::Set {
                field: "address".into(),
                value: "Số 12, khu 1, phường Phong Cốc".into(),
            }],
            NOW,
        )
        .unwrap();
    assert!(!codes(&saved).contains(&"household_membership_mismatch".to_owned()));
}

// --- a temporary registration inside the citizen's permanent commune (Art. 27(1)) ----------

impl Phone {
    fn resident_of(&self, permanent_unit: &str, captured_on: &str) -> Uuid {
        self.r
            .create(
                Kind::Citizen,
                "07183",
                fields(&[
                    ("full_name", "Vũ Văn Toàn".into()),
                    ("date_of_birth", "1990-08-20".into()),
                    ("sex", "male".into()),
                    ("id_number", "022090001234".into()),
                    ("permanent_address", "Thôn 2".into()),
                    ("permanent_unit", permanent_unit.into()),
                    ("captured_on", captured_on.into()),
                ]),
                NOW,
            )
            .unwrap()
            .record
            .id
    }

    fn temporary_in(&self, citizen: Uuid, unit: &str, filed_on: &str) -> Vec<String> {
        codes(&self.declaration(&[
            ("citizen_id", citizen.to_string().into()),
            ("procedure", "temporary_registration".into()),
            ("address", "Nhà trọ, khu 3".into()),
            ("address_unit", unit.into()),
            ("from_date", filed_on.into()),
            ("filed_on", filed_on.into()),
            ("status", "submitted".into()),
        ]))
    }
}

#[test]
fn a_temporary_registration_in_old_cong_hoa_07150_for_a_resident_of_old_song_khoai_07144_is_inside_one_ward()
 {
    // Both old units merged into Phường Hiệp Hòa (07147) on 2025-07-01 (REVIEW §3).
    let p = phone();
    let person = p.resident_of("07144", "2024-05-01");
    let found = p.temporary_in(person, "07150", "2024-06-01");
    assert!(
        found.contains(&"temporary_in_permanent_commune".to_owned()),
        "{found:?}"
    );
}

#[test]
fn a_temporary_registration_in_dong_mai_07135_for_a_resident_of_phong_coc_07183_is_no_finding() {
    let p = phone();
    let person = p.resident_of("07183", "2025-09-01");
    let found = p.temporary_in(person, "07135", "2026-03-10");
    assert!(
        !found.contains(&"temporary_in_permanent_commune".to_owned()),
        "{found:?}"
    );
}

#[test]
fn a_temporary_registration_in_ha_an_07168_for_a_2024_resident_of_old_lien_hoa_07180_is_undecided_and_no_finding()
 {
    // Old Xã Liên Hòa may have been split between Liên Hòa and Hà An (disputed).
    let p = phone();
    let person = p.resident_of("07180", "2024-05-01");
    let found = p.temporary_in(person, "07168", "2026-03-10");
    assert!(
        !found.contains(&"temporary_in_permanent_commune".to_owned()),
        "{found:?}"
    );
}

// --- an accepted registration is stored with the ID number (seed 2.1(2)) -------------------

#[test]
fn a_temporary_registration_accepted_for_a_citizen_with_no_id_number_is_a_finding() {
    let p = phone();
    let worker = p.citizen("Lê Văn Hùng", "1995-04-02");
    let reg = p.temporary_registration(worker, "accepted");
    let view = p.r.get(reg).unwrap().unwrap();
    assert!(
        view.findings
            .iter()
            .any(|f| f.code == "id_number_missing_at_acceptance"),
        "{:?}",
        view.findings
    );
}

#[test]
fn a_submitted_registration_or_one_for_a_citizen_with_id_022090001234_has_no_id_number_finding() {
    let p = phone();
    let worker = p.citizen("Lê Văn Hùng", "1995-04-02");
    let found = codes(&p.declaration(&[
        ("citizen_id", worker.to_string().into()),
        ("procedure", "permanent_registration".into()),
        ("address", "Số 8, khu 1, phường Phong Cốc".into()),
        ("address_unit", "07183".into()),
        ("from_date", "2026-03-09".into()),
        ("status", "submitted".into()),
    ]));
    assert!(!found.contains(&"id_number_missing_at_acceptance".to_owned()));
    let numbered = p.resident_of("07135", "2025-09-01");
    let found = codes(&p.declaration(&[
        ("citizen_id", numbered.to_string().into()),
        ("procedure", "permanent_registration".into()),
        ("address", "Số 8, khu 1, phường Phong Cốc".into()),
        ("address_unit", "07183".into()),
        ("from_date", "2026-03-09".into()),
        ("status", "accepted".into()),
    ]));
    assert!(
        !found.contains(&"id_number_missing_at_acceptance".to_owned()),
        "{found:?}"
    );
}

#[test]
fn a_member_registering_into_someone_elses_household_needs_the_heads_consent() {
    let p = phone();
    let household = Uuid::now_v7().to_string();
    let member = |relationship: &str| {
        p.r.create(
            Kind::Citizen,
            "07183",
            fields(&[
                ("full_name", "Lương Văn Rể".into()),
                ("date_of_birth", "1994-05-06".into()),
                ("sex", "male".into()),
                ("household_id", household.as_str().into()),
                ("relationship_to_head", relationship.into()),
            ]),
            NOW,
        )
        .unwrap()
        .record
        .id
    };
    let registration = |citizen: Uuid, consent: bool| {
        let mut pairs = vec![
            ("citizen_id", Value::from(citizen.to_string())),
            ("procedure", "permanent_registration".into()),
            ("address", "Số 7, khu 4, phường Phong Cốc".into()),
            ("address_unit", "07183".into()),
            ("from_date", "2026-03-01".into()),
            ("filed_on", "2026-03-01".into()),
            ("residence_basis", "relative".into()),
        ];
        if consent {
            pairs.push(("head_consent", true.into()));
        }
        codes(&p.declaration(&pairs)).contains(&"head_consent_missing".to_owned())
    };
    let son_in_law = member("other");
    assert!(registration(son_in_law, false));
    assert!(!registration(son_in_law, true));
    // The head registering his own household needs nobody's consent.
    let head = member("head");
    assert!(!registration(head, false));
}

#[test]
fn accepting_a_registration_moves_the_members_listed_as_moving_with_the_citizen() {
    let p = phone();
    let mother = p.citizen("Vũ Thị Mẹ", "1980-02-02");
    let son = p.citizen("Vũ Văn Con", "2010-02-02");
    let stays = p.citizen("Vũ Văn Ở", "1982-02-02");
    let members = Value::Map(std::collections::BTreeMap::from([(
        son.to_string(),
        Value::Map(std::collections::BTreeMap::from([(
            "relationship".to_owned(),
            Value::from("child"),
        )])),
    )]));
    let reg = p
        .declaration(&[
            ("citizen_id", mother.to_string().into()),
            ("procedure", "permanent_registration".into()),
            ("address", "Số 9, khu 1, phường Phong Cốc".into()),
            ("address_unit", "07183".into()),
            ("from_date", "2026-03-01".into()),
            ("residence_basis", "owned".into()),
            ("moving_members", members),
            ("guardian_consent", true.into()),
            ("status", "submitted".into()),
        ])
        .record
        .id;
    p.r.update(
        reg,
        &[Edit::Set {
            field: "status".into(),
            value: "accepted".into(),
        }],
        NOW,
    )
    .unwrap();
    let unit = |id| p.citizen_text(id, "permanent_unit");
    assert_eq!(unit(mother).as_deref(), Some("07183"));
    assert_eq!(
        unit(son).as_deref(),
        Some("07183"),
        "the son moved with her"
    );
    assert_eq!(
        unit(stays),
        None,
        "someone not listed stays where they were"
    );
}
