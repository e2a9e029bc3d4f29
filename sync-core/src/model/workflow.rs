//! Status workflows: who may move a record from one status to another, and which fields are
//! frozen once a status is reached.
//!
//! - `cccd_application`: `draft → collected → submitted → accepted → card_issued → returned`,
//!   with `rejected` and `withdrawn` as ends. Field officers and commune staff work up to
//!   `submitted` and may withdraw before acceptance; police office staff accept, reject and
//!   mark issued; a police field officer may also record a card handed back in the village
//!   (`card_issued → returned`).
//! - `residence_declaration`: `draft → submitted → accepted | rejected`; anyone may withdraw
//!   before acceptance; only police office staff decide.
//! - `citizen`, `household`: `active ↔ withdrawn` and `active → deceased` by any role;
//!   undoing a death (`deceased → active`) by admins only, with a `status_reason`; anything
//!   involving `merged_into` by admins only.
//!
//! Who decides follows the law (`shared/domain/REVIEW.md` §1.3): residence registrations
//! (Residence Law Art. 2(4) ⚠) and card applications (Identification Law) are decided by the
//! police; commune People's Committee staff (`commune_staff`) collect and clean population
//! data but accept, refuse or issue nothing.
//!
//! Staff and admins may also create a record directly in any status (importing the paper
//! backlog); officers and commune staff create in the early statuses only, or in a status
//! they could have moved their own new record to before its first sync (a draft withdrawn
//! offline arrives as a new record in `withdrawn`).

use super::Kind;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A user's role. From `Officer` on, each role may do everything the previous one may;
/// `Leader` stands outside that chain: it writes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Ward chairman, ward police chief, the Project 06 working group: reads the aggregated
    /// reports of its units (console and `/v1/reports/…`), never names, ID numbers or lists;
    /// cannot sync a device and may make no status transition.
    Leader,
    /// Commune or ward People's Committee staff (UBND): collect and clean population data,
    /// file dossiers up to `submitted`; decide nothing.
    CommuneStaff,
    /// Ward/commune police officer working in the field, often offline; may also record a
    /// card handed back in the village.
    Officer,
    /// Police office staff: accept, reject and issue.
    Staff,
    /// Town/province admin: resolves merges and duplicates, manages accounts.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 5] = [
        Role::Leader,
        Role::CommuneStaff,
        Role::Officer,
        Role::Staff,
        Role::Admin,
    ];

    /// The wire name: `leader`, `commune_staff`, `officer`, `staff` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Leader => "leader",
            Role::CommuneStaff => "commune_staff",
            Role::Officer => "officer",
            Role::Staff => "staff",
            Role::Admin => "admin",
        }
    }

    /// Parses a wire name; `None` when unknown.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether this role may edit records at all (every role but `Leader`).
    pub fn writes(self) -> bool {
        self != Role::Leader
    }

    /// Police office staff or an admin: may decide dossiers.
    fn is_office(self) -> bool {
        matches!(self, Role::Staff | Role::Admin)
    }

    /// A police officer (field or office) or an admin, as opposed to commune staff.
    fn is_police(self) -> bool {
        self >= Role::Officer
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const APPLICATION_STEPS: &[&str] = &[
    "draft",
    "collected",
    "submitted",
    "accepted",
    "card_issued",
    "returned",
];
const APPLICATION_ALL: &[&str] = &[
    "draft",
    "collected",
    "submitted",
    "accepted",
    "card_issued",
    "returned",
    "rejected",
    "withdrawn",
];
const DECLARATION_ALL: &[&str] = &["draft", "submitted", "accepted", "rejected", "withdrawn"];
const CITIZEN_ALL: &[&str] = &["active", "deceased", "withdrawn", "merged_into"];
const HOUSEHOLD_ALL: &[&str] = &["active", "withdrawn", "merged_into"];

fn step(status: &str) -> Option<usize> {
    APPLICATION_STEPS.iter().position(|s| *s == status)
}

/// Whether `role` may move a record of `kind` from status `from` to `to`. `from == None`
/// means the record is being created with status `to`. Keeping the same status is always
/// allowed; unknown statuses are never reached.
pub fn transition_allowed(kind: Kind, from: Option<&str>, to: &str, role: Role) -> bool {
    if from == Some(to) {
        return true;
    }
    if !role.writes() {
        return false;
    }
    match from {
        Some(_) => step_allowed(kind, from, to, role),
        None => creatable(kind, to, role),
    }
}

/// Whether `role` may create a record of `kind` in status `to`: directly, or by creating it
/// in an early status and moving it there itself. A record created and moved before its
/// first sync (an officer's draft withdrawn offline) reaches the server as one new record in
/// the status it was moved to, and must be judged as the steps the officer took would be.
fn creatable(kind: Kind, to: &str, role: Role) -> bool {
    let all = statuses(kind);
    let mut reached: Vec<&str> = all
        .iter()
        .copied()
        .filter(|s| step_allowed(kind, None, s, role))
        .collect();
    let mut next = 0;
    while let Some(&from) = reached.get(next) {
        for &s in all {
            if !reached.contains(&s) && step_allowed(kind, Some(from), s, role) {
                reached.push(s);
            }
        }
        next += 1;
    }
    reached.contains(&to)
}

fn statuses(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::CccdApplication => APPLICATION_ALL,
        Kind::ResidenceDeclaration => DECLARATION_ALL,
        Kind::Citizen => CITIZEN_ALL,
        Kind::Household => HOUSEHOLD_ALL,
    }
}

/// One step of the workflow (`from == None`: creation directly in `to`).
fn step_allowed(kind: Kind, from: Option<&str>, to: &str, role: Role) -> bool {
    match kind {
        Kind::CccdApplication => application(from, to, role),
        Kind::ResidenceDeclaration => declaration(from, to, role),
        Kind::Citizen => life(CITIZEN_ALL, from, to, role),
        Kind::Household => life(HOUSEHOLD_ALL, from, to, role),
    }
}

fn application(from: Option<&str>, to: &str, role: Role) -> bool {
    if !APPLICATION_ALL.contains(&to) {
        return false;
    }
    let Some(from) = from else {
        return role.is_office() || matches!(to, "draft" | "collected" | "submitted");
    };
    let before_acceptance = matches!(from, "draft" | "collected" | "submitted");
    match to {
        // Forward through the field steps, skipping allowed.
        "collected" | "submitted" => step(from).zip(step(to)).is_some_and(|(f, t)| f < t),
        "withdrawn" => before_acceptance,
        "accepted" => role.is_office() && from == "submitted",
        "rejected" => role.is_office() && matches!(from, "collected" | "submitted" | "accepted"),
        "card_issued" => role.is_office() && from == "accepted",
        // The hand-over is often in the village (Project 06 campaigns): a field officer may
        // record it.
        "returned" => role.is_police() && from == "card_issued",
        _ => false,
    }
}

fn declaration(from: Option<&str>, to: &str, role: Role) -> bool {
    if !DECLARATION_ALL.contains(&to) {
        return false;
    }
    let Some(from) = from else {
        return role.is_office() || matches!(to, "draft" | "submitted");
    };
    match to {
        "submitted" => from == "draft",
        "accepted" | "rejected" => role.is_office() && from == "submitted",
        "withdrawn" => matches!(from, "draft" | "submitted"),
        _ => false,
    }
}

fn life(all: &[&str], from: Option<&str>, to: &str, role: Role) -> bool {
    if !all.contains(&to) || from.is_some_and(|f| !all.contains(&f)) {
        return false;
    }
    if to == "merged_into" || from == Some("merged_into") {
        return role == Role::Admin;
    }
    match from {
        None => true,
        // Death is a civil-status fact (registered by the People's Committee, or declared by
        // a court): undoing it is an admin's decision, with a reason (`status_reason`).
        Some("deceased") => to == "active" && role == Role::Admin,
        Some(from) => from == "active" || to == "active",
    }
}

const APPLICATION_FROZEN: &[&str] = &[
    "citizen_id",
    "request_type",
    "full_name",
    "id_number",
    "date_of_birth",
    "sex",
];
const DECLARATION_FROZEN: &[&str] = &[
    "citizen_id",
    "procedure",
    "address",
    "address_unit",
    "from_date",
    "to_date",
];

/// Fields that may no longer change while a record of `kind` has `status`: the identity
/// fields of an accepted (or issued, or returned) card application, and the substance of an
/// accepted residence declaration. Empty otherwise.
pub fn frozen_fields(kind: Kind, status: Option<&str>) -> &'static [&'static str] {
    match (kind, status) {
        (Kind::CccdApplication, Some("accepted" | "card_issued" | "returned")) => {
            APPLICATION_FROZEN
        }
        (Kind::ResidenceDeclaration, Some("accepted")) => DECLARATION_FROZEN,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FieldType, field_spec};

    const ROLES: [Role; 5] = Role::ALL;

    fn allowed(kind: Kind, from: Option<&str>, to: &str) -> Vec<Role> {
        ROLES
            .into_iter()
            .filter(|r| transition_allowed(kind, from, to, *r))
            .collect()
    }

    /// Every role that writes (a leader moves nothing).
    const ALL: [Role; 4] = [Role::CommuneStaff, Role::Officer, Role::Staff, Role::Admin];
    const POLICE: [Role; 3] = [Role::Officer, Role::Staff, Role::Admin];
    const OFFICE: [Role; 2] = [Role::Staff, Role::Admin];
    const ADMIN: [Role; 1] = [Role::Admin];
    const NOBODY: [Role; 0] = [];

    #[test]
    fn a_leader_moves_no_record_anywhere() {
        for kind in Kind::ALL {
            for to in [
                "draft",
                "collected",
                "submitted",
                "accepted",
                "active",
                "withdrawn",
            ] {
                assert!(
                    !transition_allowed(kind, None, to, Role::Leader),
                    "{kind:?} {to}"
                );
                assert!(
                    !transition_allowed(kind, Some("draft"), to, Role::Leader) || to == "draft"
                );
            }
        }
        assert!(!Role::Leader.writes() && Role::Officer.writes());
    }

    #[test]
    fn roles_round_trip_through_their_names_and_serde() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::to_string(&r).ok(), Some(format!("\"{r}\"")));
        }
        assert_eq!(Role::parse("Admin"), None);
    }

    #[test]
    fn officers_create_applications_only_in_field_statuses() {
        for s in ["draft", "collected", "submitted"] {
            assert_eq!(allowed(Kind::CccdApplication, None, s), ALL, "{s}");
        }
        for s in ["accepted", "card_issued", "returned", "rejected"] {
            assert_eq!(allowed(Kind::CccdApplication, None, s), OFFICE, "{s}");
        }
        assert_eq!(allowed(Kind::CccdApplication, None, "lost"), NOBODY);
    }

    #[test]
    fn a_record_withdrawn_before_its_first_sync_may_be_created_withdrawn_by_whoever_may_withdraw_it()
     {
        // Created as a draft and withdrawn offline: one new record in status `withdrawn`.
        assert_eq!(allowed(Kind::CccdApplication, None, "withdrawn"), ALL);
        assert_eq!(allowed(Kind::ResidenceDeclaration, None, "withdrawn"), ALL);
        // Steps the role may not take itself stay closed at creation too.
        assert_eq!(
            allowed(Kind::ResidenceDeclaration, None, "accepted"),
            OFFICE
        );
        assert_eq!(allowed(Kind::Household, None, "merged_into"), ADMIN);
    }

    #[test]
    fn officers_move_applications_forward_up_to_submitted() {
        assert_eq!(
            allowed(Kind::CccdApplication, Some("draft"), "collected"),
            ALL
        );
        assert_eq!(
            allowed(Kind::CccdApplication, Some("collected"), "submitted"),
            ALL
        );
        assert_eq!(
            allowed(Kind::CccdApplication, Some("draft"), "submitted"),
            ALL
        );
        assert_eq!(
            allowed(Kind::CccdApplication, Some("submitted"), "collected"),
            NOBODY
        );
        assert_eq!(
            allowed(Kind::CccdApplication, Some("accepted"), "submitted"),
            NOBODY
        );
    }

    #[test]
    fn only_police_office_staff_accept_reject_and_issue_and_any_police_officer_records_the_return()
    {
        assert_eq!(
            allowed(Kind::CccdApplication, Some("submitted"), "accepted"),
            OFFICE
        );
        assert_eq!(
            allowed(Kind::CccdApplication, Some("submitted"), "rejected"),
            OFFICE
        );
        assert_eq!(
            allowed(Kind::CccdApplication, Some("accepted"), "rejected"),
            OFFICE
        );
        assert_eq!(
            allowed(Kind::CccdApplication, Some("accepted"), "card_issued"),
            OFFICE
        );
        assert_eq!(
            allowed(Kind::CccdApplication, Some("card_issued"), "returned"),
            POLICE
        );
        assert_eq!(
            allowed(Kind::CccdApplication, Some("draft"), "accepted"),
            NOBODY
        );
        assert_eq!(
            allowed(Kind::CccdApplication, Some("submitted"), "card_issued"),
            NOBODY
        );
    }

    #[test]
    fn applications_can_be_withdrawn_only_before_acceptance() {
        for s in ["draft", "collected", "submitted"] {
            assert_eq!(
                allowed(Kind::CccdApplication, Some(s), "withdrawn"),
                ALL,
                "{s}"
            );
        }
        for s in ["accepted", "card_issued", "returned", "rejected"] {
            assert_eq!(
                allowed(Kind::CccdApplication, Some(s), "withdrawn"),
                NOBODY,
                "{s}"
            );
        }
    }

    #[test]
    fn ended_applications_stay_ended() {
        for end in ["returned", "rejected", "withdrawn"] {
            for to in APPLICATION_ALL.iter().filter(|s| **s != end) {
                assert_eq!(
                    allowed(Kind::CccdApplication, Some(end), to),
                    NOBODY,
                    "{end} -> {to}"
                );
            }
        }
    }

    #[test]
    fn commune_staff_collect_and_file_but_decide_nothing() {
        let c = Role::CommuneStaff;
        for kind in [Kind::CccdApplication, Kind::ResidenceDeclaration] {
            assert!(transition_allowed(kind, None, "draft", c), "{kind}");
            assert!(
                transition_allowed(kind, Some("draft"), "submitted", c),
                "{kind}"
            );
            assert!(
                transition_allowed(kind, Some("submitted"), "withdrawn", c),
                "{kind}"
            );
            for to in ["accepted", "rejected"] {
                assert!(
                    !transition_allowed(kind, Some("submitted"), to, c),
                    "{kind} {to}"
                );
                assert!(!transition_allowed(kind, None, to, c), "{kind} {to}");
            }
        }
        assert!(!transition_allowed(
            Kind::CccdApplication,
            Some("card_issued"),
            "returned",
            c
        ));
        assert!(transition_allowed(
            Kind::Citizen,
            Some("active"),
            "withdrawn",
            c
        ));
        assert_eq!(Role::parse("commune_staff"), Some(c));
    }

    #[test]
    fn keeping_the_same_status_is_always_allowed() {
        for kind in Kind::ALL {
            let Some(FieldType::Enum(statuses)) = field_spec(kind, "status").map(|s| s.ty) else {
                panic!("{kind} has no status enum");
            };
            for s in statuses.iter().copied() {
                assert_eq!(allowed(kind, Some(s), s), ROLES, "{kind} {s}");
            }
        }
    }

    #[test]
    fn workflow_statuses_match_the_status_field_of_each_kind() {
        for (kind, all) in [
            (Kind::CccdApplication, APPLICATION_ALL),
            (Kind::ResidenceDeclaration, DECLARATION_ALL),
            (Kind::Citizen, CITIZEN_ALL),
            (Kind::Household, HOUSEHOLD_ALL),
        ] {
            assert_eq!(
                field_spec(kind, "status").map(|s| s.ty),
                Some(FieldType::Enum(all)),
                "{kind}"
            );
        }
    }

    #[test]
    fn residence_declarations_are_submitted_by_anyone_and_decided_by_the_office() {
        let k = Kind::ResidenceDeclaration;
        assert_eq!(allowed(k, None, "draft"), ALL);
        assert_eq!(allowed(k, None, "submitted"), ALL);
        assert_eq!(allowed(k, None, "accepted"), OFFICE);
        assert_eq!(allowed(k, Some("draft"), "submitted"), ALL);
        assert_eq!(allowed(k, Some("submitted"), "accepted"), OFFICE);
        assert_eq!(allowed(k, Some("submitted"), "rejected"), OFFICE);
        assert_eq!(allowed(k, Some("draft"), "accepted"), NOBODY);
        assert_eq!(allowed(k, Some("submitted"), "withdrawn"), ALL);
        assert_eq!(allowed(k, Some("accepted"), "withdrawn"), NOBODY);
        assert_eq!(allowed(k, Some("rejected"), "submitted"), NOBODY);
    }

    #[test]
    fn citizens_go_between_active_and_withdrawn_and_die_by_any_role_but_only_admins_undo_a_death() {
        let k = Kind::Citizen;
        assert_eq!(allowed(k, None, "active"), ALL);
        assert_eq!(allowed(k, Some("active"), "deceased"), ALL);
        assert_eq!(allowed(k, Some("deceased"), "active"), ADMIN);
        assert_eq!(allowed(k, Some("deceased"), "withdrawn"), NOBODY);
        assert_eq!(allowed(k, Some("active"), "withdrawn"), ALL);
        assert_eq!(allowed(k, Some("withdrawn"), "active"), ALL);
        assert_eq!(allowed(k, Some("withdrawn"), "deceased"), NOBODY);
        assert_eq!(allowed(k, Some("active"), "draft"), NOBODY);
    }

    #[test]
    fn only_admins_merge_citizens_and_households_or_undo_a_merge() {
        for k in [Kind::Citizen, Kind::Household] {
            assert_eq!(allowed(k, Some("active"), "merged_into"), ADMIN, "{k}");
            assert_eq!(allowed(k, Some("withdrawn"), "merged_into"), ADMIN, "{k}");
            assert_eq!(allowed(k, Some("merged_into"), "active"), ADMIN, "{k}");
            assert_eq!(allowed(k, None, "merged_into"), ADMIN, "{k}");
        }
        assert_eq!(allowed(Kind::Household, Some("active"), "deceased"), NOBODY);
    }

    #[test]
    fn accepted_and_later_applications_freeze_their_identity_fields() {
        for s in ["accepted", "card_issued", "returned"] {
            let frozen = frozen_fields(Kind::CccdApplication, Some(s));
            assert!(
                frozen.contains(&"id_number") && frozen.contains(&"citizen_id"),
                "{s}"
            );
            assert_eq!(frozen.len(), 6);
        }
        for s in [None, Some("draft"), Some("submitted"), Some("rejected")] {
            assert!(frozen_fields(Kind::CccdApplication, s).is_empty(), "{s:?}");
        }
    }

    #[test]
    fn accepted_declarations_freeze_their_substance_and_nothing_else_is_frozen() {
        assert!(frozen_fields(Kind::ResidenceDeclaration, Some("accepted")).contains(&"to_date"));
        assert!(frozen_fields(Kind::ResidenceDeclaration, Some("submitted")).is_empty());
        assert!(frozen_fields(Kind::Citizen, Some("active")).is_empty());
        assert!(frozen_fields(Kind::Household, Some("merged_into")).is_empty());
    }

    #[test]
    fn frozen_fields_are_real_fields_of_their_kind() {
        for (k, s) in [
            (Kind::CccdApplication, "accepted"),
            (Kind::ResidenceDeclaration, "accepted"),
        ] {
            for name in frozen_fields(k, Some(s)) {
                assert!(field_spec(k, name).is_some_and(|f| f.review), "{k}.{name}");
            }
        }
    }
}
